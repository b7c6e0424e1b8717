"""Grid against MCMC under the priors other than the default: medians and 68% widths, side by side.

Since the calibration widens the likelihood and not the prior, the two methods reach prior x calibrated likelihood
by different roads (the grid evaluates it; the sampler calibrates its likelihood samples' histogram), so their agreement is worth a
number. Stars: the first 60 of the throughput benchmark's 10,000 (drawn from the quality-selected catalogue, written
to a temporary directory only).

Rerun:  PYTHONPATH=$PWD python benchmarks/mcmc_priors.py [--stars 60] [--seed 0]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_throughput import make_stars  # noqa: E402

from gyroage import AgeModel  # noqa: E402
from gyroage.core.estimate import EstimateSettings, estimate_chunk  # noqa: E402
from gyroage.core.priors import Prior  # noqa: E402

PRIORS = {
    "uniform_age": Prior("uniform_age", 6.0, 10.0),
    "gaussian_log_age 8.7 +- 0.2": Prior("gaussian_log_age", 6.0, 10.0, mean=8.7, sigma=0.2),
    "tabulated, flat over 8-9": Prior("tabulated", 6.0, 10.0, table=((8.0, 9.0), (0.0, 0.0))),
}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stars", type=int, default=60)
    ap.add_argument("--seed", type=int, default=0, help="the sampler's seed")
    a = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "stars.csv"
        make_stars(10000, path)
        stars = pd.read_csv(path).iloc[: a.stars]
    model = AgeModel.load()
    print("| prior | stars | grid - MCMC median, abs. (dex): median / max | MCMC / grid 68% width, median |")
    print("|---|---|---|---|")
    for name, prior in PRIORS.items():
        g = estimate_chunk(stars, model.density, EstimateSettings(prior=prior, n_grid=401))
        c = estimate_chunk(stars, model.density, EstimateSettings(prior=prior, method="mcmc", seed=a.seed))
        ok = (g["status"].isin(["ok", "extrapolated"]) & c["status"].isin(["ok", "extrapolated"])).to_numpy()
        d = np.abs(np.log10(g.loc[ok, "age_p50_myr"] / c.loc[ok, "age_p50_myr"]))
        width = [np.log10(t.loc[ok, "age_p84_myr"] / t.loc[ok, "age_p16_myr"]) for t in (g, c)]
        print(f"| {name} | {ok.sum()} | {np.median(d):.4f} / {d.max():.4f} | {np.median(width[1] / width[0]):.3f} |",
              flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
