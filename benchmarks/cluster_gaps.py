"""Study 34: are held-out ages that fall between training clusters worse than those near one? (docs/validation.md)

    python benchmarks/cluster_gaps.py DIR [--as-validated] [--catalogue PATH] [--model models]

``DIR`` is a ``gyroage validate`` output. Each held-out star's posterior is rebuilt from its fold as ``estimate``
makes it, rotation alone (:func:`flag_loco.held_out_table`); ``--as-validated`` reads validate's own
``loco_stars.csv`` instead (the height term where it applies), the table the study was pre-registered on.
d = the distance (dex) from a star's median to the nearest literature age of a cluster with at least
``SEQUENCE_MIN_MEMBERS`` members in its colour window (the card's colour bins and window, as
``gyroage.build.sequence_domain`` counts them), its own cluster left out, as the fold's model saw them. Stars whose
median lies outside the fold's padded span are left out (the span rule flags them). Prints coverage and errors by d,
the pre-registered rule's two groups (d > 0.25 dex against the rest) and, for
contrast, the same by the distance of the *true* age.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from flag_loco import held_out_table

from gyroage.build.catalogue import default_catalogue_path, load_catalogue, quality_select, training_set
from gyroage.build.sequence_domain import SEQUENCE_AGE_PAD_DEX, SEQUENCE_AGE_WINDOW_MAG, SEQUENCE_MIN_MEMBERS
from gyroage.core.modelcard import load_card

RULE_DEX = 0.25  # fixed before any result (benchmarks/candidates/PREREGISTRATION.md, study 34)


def cluster_ages_by_bin(edges: np.ndarray, frame: pd.DataFrame) -> list[dict[str, float]]:
    """Per colour bin: {cluster: median log10 age} of the clusters with enough members in the bin's window."""
    d = training_set(frame)
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
    """``stars`` (median and truth in log10 yr) with d, d_true and inspan, each star's own cluster left out."""
    b = np.clip(np.searchsorted(edges, stars.bp_rp0, side="right") - 1, 0, len(edges) - 2)
    med, true = stars["median"].to_numpy(), stars.truth.to_numpy()
    d, d_true, inspan = np.full(len(stars), np.nan), np.full(len(stars), np.nan), np.zeros(len(stars), bool)
    for i, (k, own) in enumerate(zip(b, stars.cluster)):  # analysis script, ~7,000 stars
        rest = np.array([v for name, v in ages[k].items() if name != own])
        if len(rest):
            d[i], d_true[i] = np.abs(med[i] - rest).min(), np.abs(true[i] - rest).min()
            inspan[i] = rest.min() - SEQUENCE_AGE_PAD_DEX <= med[i] <= rest.max() + SEQUENCE_AGE_PAD_DEX
    return stars.assign(d=d, d_true=d_true, inspan=inspan, abs_err=stars.err.abs())


def _row(name: str, y: pd.DataFrame) -> str:
    return f"| {name} | {len(y)} | {y.in68.mean():.3f} | {y.abs_err.median():.3f} |"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("loco", type=Path)
    ap.add_argument("--catalogue", type=Path, default=None)
    ap.add_argument("--model", type=Path, default=None)
    ap.add_argument("--as-validated", action="store_true",
                    help="read DIR/loco_stars.csv as validate wrote it (the height term where it applies, as the "
                         "study was pre-registered) instead of rebuilding rotation-alone posteriors")
    a = ap.parse_args()
    card, _ = load_card(a.model)
    frame = quality_select(load_catalogue(a.catalogue or default_catalogue_path(), notices=False))
    edges = np.array(card.domain["sequence"]["colour_edges"], dtype=float)
    if a.as_validated:
        v = pd.read_csv(a.loco / "loco_stars.csv", dtype={"GaiaDR3_ID": str})
        stars = pd.DataFrame({"cluster": v.cluster, "bp_rp0": v.bp_rp0, "median": np.log10(v.age_p50_myr) + 6,
                              "truth": np.log10(v.true_age_myr) + 6, "in68": v.in_68.astype(bool), "err": v.error_dex})
    else:
        stars = held_out_table(a.loco, frame, card)
    s = distances(stars, edges, cluster_ages_by_bin(edges, frame))
    kraft = float(card.domain["sequence"]["kraft_break_bp_rp0"])
    x = s[s.inspan & (s.bp_rp0 >= kraft)]
    print(f"{len(x)} of {len(s)} held-out stars red of the Kraft break with a median inside the fold's span")
    print("| d (dex) | stars | 68% coverage | median abs. error (dex) |\n|---|---|---|---|")
    for lo, hi in [(0, 0.1), (0.1, 0.2), (0.2, 0.25), (0.25, 0.35), (0.35, 0.5), (0.5, 9)]:
        print(_row(f"{lo}-{hi}", x[(x.d > lo) & (x.d <= hi)]))
    print(_row(f"**d > {RULE_DEX}**", x[x.d > RULE_DEX]))
    print(_row(f"d <= {RULE_DEX}", x[x.d <= RULE_DEX]))
    print("\nby the distance of the true age (every star red of the break):")
    y0 = s[s.bp_rp0 >= kraft]
    for lo, hi in [(0, 0.1), (0.1, 0.2), (0.2, 0.3), (0.3, 0.5), (0.5, 9)]:
        print(_row(f"{lo}-{hi}", y0[(y0.d_true > lo) & (y0.d_true <= hi)]))


if __name__ == "__main__":
    main()
