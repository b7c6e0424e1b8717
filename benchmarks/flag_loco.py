"""The domain flags on held-out stars: are the stars ``gyroage estimate`` would call ``extrapolated`` the ones whose
held-out ages are worse? (docs/validation.md, thirtieth session)

    python benchmarks/flag_loco.py DIR [--catalogue PATH] [--model models]

``DIR``: a ``gyroage validate`` output (its ``folds/*/CLUSTER.npz``). Each held-out star's posterior is rebuilt as
``estimate`` makes it (rotation alone, the model's calibration: fitted on all clusters, so slightly optimistic), and
flagged with the sequence domain derived from its fold's training stars (the catalogue without its cluster, literature
ages: the relabelling the flow trained on is not redone), by the rules of ``gyroage.core.estimate.star_flags``.
Prints, by the cluster's age: stars, the share flagged, and 68% coverage and median |error| of the ``ok`` and the
``extrapolated`` stars.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from gyroage.build.catalogue import default_catalogue_path, load_catalogue, quality_select, training_set
from gyroage.build.loco import star_posteriors
from gyroage.build.sequence_domain import sequence_domain
from gyroage.core.calibration import Calibration
from gyroage.core.domain import AGE_OUTSIDE_MAX, MAP_BEYOND_DEX, OUTLIER_FLAG_MIN, SequenceDomain
from gyroage.core.grid_cdf import cdf
from gyroage.core.modelcard import load_card, outlier_log_density
from gyroage.core.posterior import log_evidence, map_estimate, outlier_probability, quantiles
from gyroage.defaults import OUTLIER_WEIGHT

AGE_BINS = ((0.0, 8.0, "< 100 Myr"), (8.0, 9.0, "0.1-1 Gyr"), (9.0, 99.0, ">= 1 Gyr"))


def held_out_flags(frame: pd.DataFrame, fold: dict, cluster: str, card) -> pd.DataFrame:
    """One fold's held-out stars: truth, quantiles, whether the 68% interval holds the truth, and the flags."""
    grid, ll = fold["grid"], np.asarray(fold["loglike"], dtype=np.float64)
    members = frame.iloc[fold["source_row"]]
    colour = members["BPRP_0"].to_numpy(float)
    lp = np.log10(members["Prot"].to_numpy(float))
    truth = np.log10(members["fiducial_age_Myr"].to_numpy(float) * 1e6)
    post = star_posteriors(ll, grid, Calibration.from_card(card), colour=colour)
    q = quantiles(post, grid, (0.16, 0.5, 0.84))
    dom = SequenceDomain(sequence_domain(training_set(frame[frame["cluster"] != cluster])))
    blue, period_out = dom.input_flags(colour, lp)
    lo, hi = dom.age_range(colour)
    c = cdf(post, grid)
    inside = np.array([np.interp(h, grid, ci) - np.interp(lw, grid, ci) if np.isfinite(lw) and np.isfinite(h) else 0.0
                       for ci, lw, h in zip(c, lo, hi)])  # analysis script: a few hundred stars a fold
    age_out = (1.0 - inside > AGE_OUTSIDE_MAX) | (map_estimate(post, grid) > hi + MAP_BEYOND_DEX)
    p_out = outlier_probability(log_evidence(ll, np.zeros((1, len(grid))), grid), OUTLIER_WEIGHT,
                                outlier_log_density())
    return pd.DataFrame({"cluster": cluster, "bp_rp0": colour, "truth": truth, "median": q[:, 1], "err": q[:, 1] - truth,
                         "in68": (q[:, 0] <= truth) & (truth <= q[:, 2]), "blue": blue, "period_out": period_out,
                         "age_out": age_out, "likely_outlier": p_out > OUTLIER_FLAG_MIN,
                         "extrapolated": blue | period_out | age_out})


def held_out_table(loco: Path, frame: pd.DataFrame, card) -> pd.DataFrame:
    """:func:`held_out_flags` of every fold saved under ``loco`` (a ``gyroage validate`` output)."""
    files = sorted(loco.glob("folds/*/*.npz"))
    return pd.concat([held_out_flags(frame, dict(np.load(f, allow_pickle=True)), f.stem, card) for f in files],
                     ignore_index=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("loco", type=Path)
    ap.add_argument("--catalogue", type=Path, default=None)
    ap.add_argument("--model", type=Path, default=None)
    a = ap.parse_args()
    card, _ = load_card(a.model)
    frame = quality_select(load_catalogue(a.catalogue or default_catalogue_path(), notices=False))
    t = held_out_table(a.loco, frame, card)
    print(f"{len(t)} held-out stars in {t.cluster.nunique()} folds ({a.loco})")
    print("| cluster age | stars | extrapolated | ok: 68% coverage | ok: median abs. error | extrapolated: 68% "
          "coverage | extrapolated: median abs. error | likely_outlier: coverage |")
    print("|---|---|---|---|---|---|---|---|")
    for lo, hi, name in AGE_BINS:
        b = t[(t.truth >= lo) & (t.truth < hi)]  # log10 yr
        ok, ex, lk = b[~b.extrapolated], b[b.extrapolated], b[b.likely_outlier]
        print(f"| {name} | {len(b)} | {len(ex) / max(len(b), 1):.1%} | {ok.in68.mean():.3f} | {ok.err.abs().median():.3f} | "
              f"{ex.in68.mean():.3f} | {ex.err.abs().median():.3f} | {lk.in68.mean():.3f} (n {len(lk)}) |")
    print("\nby reason (every age): stars flagged, 68% coverage, median abs. error")
    for k in ("blue", "period_out", "age_out"):
        s = t[t[k]]
        print(f"| {k} | {len(s)} | {s.in68.mean():.3f} | {s.err.abs().median():.3f} |")
    print("\nclusters with the most flagged stars:")
    print(t.groupby("cluster").agg(n=("err", "size"), flagged=("extrapolated", "mean"),
                                   age_out=("age_out", "mean")).sort_values("flagged", ascending=False).head(8))


if __name__ == "__main__":
    main()
