"""Study 34: are held-out ages that fall between training clusters worse than those near one? (docs/validation.md)

    python benchmarks/cluster_gaps.py DIR/loco_stars.csv [--catalogue PATH]

``DIR`` is a ``gyroage validate`` output. For each held-out star, d = the distance (dex) from its posterior median to
the nearest literature age of a cluster with at least ``SEQUENCE_MIN_MEMBERS`` members in the star's colour window
(the card's colour bins and window, as ``gyroage.build.sequence_domain`` counts them), its own cluster left out, as
the fold's model saw them. Stars whose median lies outside the fold's padded span are left out (the span rule flags
them). Prints coverage and errors by d, the pre-registered rule's two groups (d > 0.25 dex against the rest) and, for
contrast, the same by the distance of the *true* age.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from gyroage.build.catalogue import default_catalogue_path, load_catalogue, quality_select, training_set
from gyroage.build.sequence_domain import SEQUENCE_AGE_PAD_DEX, SEQUENCE_AGE_WINDOW_MAG, SEQUENCE_MIN_MEMBERS
from gyroage.core.modelcard import load_card

RULE_DEX = 0.25  # fixed before any result (benchmarks/candidates/PREREGISTRATION.md, study 34)


def cluster_ages_by_bin(edges: np.ndarray, catalogue: Path) -> list[dict[str, float]]:
    """Per colour bin: {cluster: median log10 age} of the clusters with enough members in the bin's window."""
    d = training_set(quality_select(load_catalogue(catalogue, notices=False)))
    half = SEQUENCE_AGE_WINDOW_MAG / 2
    out = []
    for a, z in zip(edges[:-1], edges[1:]):  # ~70 bins
        c = (a + z) / 2
        win = (d.bp_rp0 >= min(a, c - half)) & (d.bp_rp0 < max(z, c + half))
        names, counts = np.unique(d.cluster[win], return_counts=True)
        out.append({n: float(np.median(d.log10_age[win & (d.cluster == n)]))
                    for n in names[counts >= SEQUENCE_MIN_MEMBERS]})
    return out


def distances(stars: pd.DataFrame, edges: np.ndarray, ages: list[dict[str, float]]) -> pd.DataFrame:
    """``stars`` with d (median), d_true (true age) and inspan, each star's own cluster left out."""
    b = np.clip(np.searchsorted(edges, stars.bp_rp0, side="right") - 1, 0, len(edges) - 2)
    med = np.log10(stars.age_p50_myr.to_numpy()) + 6
    true = np.log10(stars.true_age_myr.to_numpy()) + 6
    d, d_true, inspan = np.full(len(stars), np.nan), np.full(len(stars), np.nan), np.zeros(len(stars), bool)
    for i, (k, own) in enumerate(zip(b, stars.cluster)):  # analysis script, ~7,000 stars
        rest = np.array([v for name, v in ages[k].items() if name != own])
        if len(rest):
            d[i], d_true[i] = np.abs(med[i] - rest).min(), np.abs(true[i] - rest).min()
            inspan[i] = rest.min() - SEQUENCE_AGE_PAD_DEX <= med[i] <= rest.max() + SEQUENCE_AGE_PAD_DEX
    return stars.assign(d=d, d_true=d_true, inspan=inspan, abs_err=stars.error_dex.abs())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("loco_stars", type=Path)
    ap.add_argument("--catalogue", type=Path, default=None)
    ap.add_argument("--model", type=Path, default=None)
    a = ap.parse_args()
    card, _ = load_card(a.model)
    edges = np.array(card.domain["sequence"]["colour_edges"], dtype=float)
    s = distances(pd.read_csv(a.loco_stars), edges, cluster_ages_by_bin(edges, a.catalogue or default_catalogue_path()))
    kraft = float(card.domain["sequence"]["kraft_break_bp_rp0"])
    x = s[s.inspan & (s.bp_rp0 >= kraft)]
    print(f"{len(x)} of {len(s)} held-out stars red of the Kraft break with a median inside the fold's span")
    print("| d (dex) | stars | 68% coverage | median abs. error (dex) |\n|---|---|---|---|")
    for lo, hi in [(0, 0.1), (0.1, 0.2), (0.2, 0.25), (0.25, 0.35), (0.35, 0.5), (0.5, 9)]:
        y = x[(x.d > lo) & (x.d <= hi)]
        print(f"| {lo}-{hi} | {len(y)} | {y.in_68.mean():.3f} | {y.abs_err.median():.3f} |")
    for name, g in ((f"d > {RULE_DEX}", x.d > RULE_DEX), (f"d <= {RULE_DEX}", x.d <= RULE_DEX)):
        print(f"| **{name}** | {g.sum()} | {x.in_68[g].mean():.3f} | {x.abs_err[g].median():.3f} |")
    print("\nby the distance of the true age (every star red of the break):")
    y0 = s[s.bp_rp0 >= kraft]
    for lo, hi in [(0, 0.1), (0.1, 0.2), (0.2, 0.3), (0.3, 0.5), (0.5, 9)]:
        y = y0[(y0.d_true > lo) & (y0.d_true <= hi)]
        print(f"| {lo}-{hi} | {len(y)} | {y.in_68.mean():.3f} | {y.abs_err.median():.3f} |")


if __name__ == "__main__":
    main()
