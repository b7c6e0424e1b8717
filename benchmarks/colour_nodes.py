"""How closely the grid method's colour nodes (``COLOUR_NODE_TIERS``: 1, 3 or 5 Gauss-Hermite nodes, 9, 11 or 15
evenly spaced) average the flow over a large colour uncertainty, against a dense reference (201 nodes, trapezoid over
+-5 sigma)::

    python benchmarks/colour_nodes.py            # about 6-20 s; prints a markdown table

Stars: 150 synthetic ones on a rough spin-down sequence, (BP-RP)0 0.75-3.0, 30 Myr-4 Gyr (seed 3), every star given
the same colour error. Figures: |shipped - reference| of the median age (dex) over the stars both date (``ok`` or
``extrapolated``: 28-32 of them are extrapolated at each error).
Above 0.12 mag (14% of the synthetic throughput stars) the tiers are evenly spaced since fix-W1 (README, Posterior);
the README quotes this table.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

import gyroage
from gyroage.core import likelihood

REFERENCE_NODES = 201


def _trapezoid(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes t and weights for the weight function exp(-t^2), equally spaced over +-5 sigma (t = u / sqrt 2)."""
    t = np.linspace(-5.0, 5.0, n) / np.sqrt(2.0)
    w = np.exp(-t**2)
    return t, w / w.sum() * np.sqrt(np.pi)


def stars(n: int = 150, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    colour = rng.uniform(0.75, 3.0, n)
    age_gyr = 10 ** rng.uniform(7.5, 9.6, n) / 1e9
    prot = np.clip(10 ** (0.5 * np.log10(age_gyr) + np.log10(8 * (colour - 0.4))), 0.3, 60)
    return pd.DataFrame({"prot_days": prot, "bp_rp0": colour})


def main() -> None:
    model = gyroage.AgeModel.load()
    base = stars()
    shipped, nodes = likelihood.COLOUR_NODE_TIERS, likelihood.tier_nodes
    print("| colour error (mag) | excess sigma (mag) | stars | median | 95th percentile | largest | reference 68% half-width "
          "(median) |")
    print("|---|---|---|---|---|---|---|")
    for err in (0.1, 0.15, 0.2, 0.25, 0.3, 0.45):
        frame = base.assign(bp_rp0_err=err)
        try:
            likelihood.COLOUR_NODE_TIERS = shipped
            ours = model.estimate(frame)
            likelihood.COLOUR_NODE_TIERS = ((np.inf, REFERENCE_NODES),)
            likelihood.tier_nodes = lambda n: _trapezoid(n) if n == REFERENCE_NODES else nodes(n)
            ref = model.estimate(frame)
        finally:
            likelihood.COLOUR_NODE_TIERS, likelihood.tier_nodes = shipped, nodes
        dated = ("ok", "extrapolated")
        ok = ours.status.isin(dated) & ref.status.isin(dated)
        d = np.abs(np.log10(ours.age_p50_myr[ok]) - np.log10(ref.age_p50_myr[ok]))
        sigma = np.sqrt(err**2 - model.card.default_bp_rp0_err**2)
        half = np.median(np.log10(ref.age_p84_myr[ok] / ref.age_p16_myr[ok])) / 2
        print(f"| {err} | {sigma:.3f} | {int(ok.sum())} | {np.median(d):.4f} | {np.quantile(d, 0.95):.4f} | {d.max():.4f} | {half:.2f} |")


if __name__ == "__main__":
    main()
