"""Regenerate the example inputs in catalogs/examples/ (synthetic; no catalogue rows).

    python catalogs/make_examples.py

Synthetic stars are drawn from the shipped flow at known ages, so they test
the machinery end to end; they are not independent evidence of accuracy.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from gyroage import AgeModel

HERE = Path(__file__).resolve().parent / "examples"


def synthetic(n: int = 200, seed: int = 42) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    model = AgeModel.load()
    age = 10 ** rng.uniform(np.log10(20), np.log10(4000), n)
    colour = rng.uniform(0.6, 3.0, n)
    err = np.full(n, 0.02)
    prot = model.sample_periods(age, colour, n=1, bp_rp0_err=err, seed=seed)[:, 0]
    return pd.DataFrame({
        "star_id": [f"synth-{i:04d}" for i in range(n)],
        "Prot": np.round(prot, 4),
        "e_Prot": np.round(0.05 * prot, 4),
        "BPRP_0": np.round(colour, 4),
        "e_BPRP_0": err,
        "true_age_myr": np.round(age, 2),
    })


if __name__ == "__main__":
    HERE.mkdir(exist_ok=True)
    synthetic().to_csv(HERE / "synthetic_stars.csv", index=False)
    print(f"wrote {HERE / 'synthetic_stars.csv'}")
