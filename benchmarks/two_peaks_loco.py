"""Study 35: are held-out stars with two-peaked posteriors the ones whose ages are worse? (PREREGISTRATION.md,
docs/validation.md, thirty-first session)

    PYTHONPATH=$PWD python benchmarks/two_peaks_loco.py DIR [--catalogue PATH] [--model models]

``DIR``: a ``gyroage validate`` output (its ``folds/*/CLUSTER.npz``; the study's is /work/loco/v4_s0). Each held-out
star's posterior is rebuilt as ``estimate`` makes it (rotation alone, the model card's calibration: fitted on all
clusters, so slightly optimistic), as benchmarks/flag_loco.py does, and judged by
:func:`gyroage.core.peaks.two_peaked`. Prints, by the cluster's age: stars, the share flagged, and the 68% coverage
and median |error| of the median age (dex) of the flagged and the unflagged stars; then the pre-registered decision.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from gyroage.build.catalogue import default_catalogue_path, load_catalogue, quality_select
from gyroage.build.loco import star_posteriors
from gyroage.core.calibration import Calibration
from gyroage.core.modelcard import load_card
from gyroage.core.peaks import two_peaked
from gyroage.core.posterior import quantiles

AGE_BINS = ((0.0, 8.0, "< 100 Myr"), (8.0, 9.0, "0.1-1 Gyr"), (9.0, 99.0, ">= 1 Gyr"))  # log10 yr, as flag_loco
# The pre-registered decision (PREREGISTRATION.md, study 35), fixed before any held-out star was judged.
SHARE_MAX = 0.30  # (a) at most this share of all held-out stars flagged
BIN_MIN_FLAGGED = 50  # (b) judged in the age bins holding at least this many flagged stars...
BINS_NEEDED = 2  # ...of which at least this many must show
ERROR_RATIO = 1.25  # flagged median |error| >= this x the unflagged's
COVERAGE_DROP = 0.10  # or flagged 68% coverage lower by at least this


def held_out_peaks(frame: pd.DataFrame, fold: dict, cluster: str, calibration: Calibration) -> pd.DataFrame:
    """One fold's held-out stars: truth, median, whether the 68% interval holds the truth, and the flag."""
    grid, ll = fold["grid"], np.asarray(fold["loglike"], dtype=np.float64)
    members = frame.iloc[fold["source_row"]]
    colour = members["BPRP_0"].to_numpy(float)
    truth = np.log10(members["fiducial_age_Myr"].to_numpy(float) * 1e6)
    post = star_posteriors(ll, grid, calibration, colour=colour)
    q = quantiles(post, grid, (0.16, 0.5, 0.84))
    return pd.DataFrame({"cluster": cluster, "bp_rp0": colour, "truth": truth, "median": q[:, 1],
                         "err": q[:, 1] - truth, "in68": (q[:, 0] <= truth) & (truth <= q[:, 2]),
                         "two_peaked": two_peaked(post, grid)})


def held_out_table(loco: Path, frame: pd.DataFrame, card) -> pd.DataFrame:
    """:func:`held_out_peaks` of every fold saved under ``loco`` (a ``gyroage validate`` output)."""
    files = sorted(loco.glob("folds/*/*.npz"))
    if not files:
        raise SystemExit(f"no folds/*/*.npz under {loco}")
    calibration = Calibration.from_card(card)
    return pd.concat([held_out_peaks(frame, dict(np.load(f, allow_pickle=True)), f.stem, calibration)
                      for f in files], ignore_index=True)


def by_age(t: pd.DataFrame) -> pd.DataFrame:
    """Per age bin: stars, share flagged, and the flagged and unflagged stars' 68% coverage and median |error|."""
    rows = []
    for lo, hi, name in AGE_BINS:
        b = t[(t.truth >= lo) & (t.truth < hi)]
        f, u = b[b.two_peaked], b[~b.two_peaked]
        rows.append({"bin": name, "stars": len(b), "flagged": len(f), "share": len(f) / max(len(b), 1),
                     "cov_flagged": f.in68.mean(), "err_flagged": f.err.abs().median(),
                     "cov_unflagged": u.in68.mean(), "err_unflagged": u.err.abs().median()})
    return pd.DataFrame(rows)


def decision(t: pd.DataFrame, bins: pd.DataFrame) -> tuple[bool, str]:
    """(ship the caution, why), by the pre-registered rule."""
    share = t.two_peaked.mean()
    judged = bins[bins.flagged >= BIN_MIN_FLAGGED]
    worse = (judged.err_flagged >= ERROR_RATIO * judged.err_unflagged) \
        | (judged.cov_flagged <= judged.cov_unflagged - COVERAGE_DROP)
    a, b = share <= SHARE_MAX, int(worse.sum()) >= BINS_NEEDED
    why = (f"(a) {share:.1%} of all held-out stars flagged ({'<=' if a else '>'} {SHARE_MAX:.0%}): "
           f"{'passes' if a else 'fails'}; (b) {len(judged)} age bin(s) hold >= {BIN_MIN_FLAGGED} flagged stars "
           f"({', '.join(judged.bin) or 'none'}), worse in {int(worse.sum())} "
           f"({', '.join(judged.bin[worse]) or 'none'}; needed {BINS_NEEDED}): {'passes' if b else 'fails'}")
    return a and b, why


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("loco", type=Path)
    ap.add_argument("--catalogue", type=Path, default=None)
    ap.add_argument("--model", type=Path, default=None)
    a = ap.parse_args()
    card, _ = load_card(a.model)
    frame = quality_select(load_catalogue(a.catalogue or default_catalogue_path(), notices=False))
    t = held_out_table(a.loco, frame, card)
    bins = by_age(t)
    print(f"{len(t)} held-out stars in {t.cluster.nunique()} folds ({a.loco}); two_peaked: {t.two_peaked.sum()} "
          f"({t.two_peaked.mean():.1%})")
    print("| cluster age | stars | two-peaked | flagged: 68% coverage | flagged: median abs. error (dex) | "
          "unflagged: 68% coverage | unflagged: median abs. error (dex) |")
    print("|---|---|---|---|---|---|---|")
    for r in bins.itertuples():
        print(f"| {r.bin} | {r.stars} | {r.flagged} ({r.share:.1%}) | {r.cov_flagged:.3f} | {r.err_flagged:.3f} | "
              f"{r.cov_unflagged:.3f} | {r.err_unflagged:.3f} |")
    ship, why = decision(t, bins)
    print(f"\ndecision: {'ship the caution two_peaked_posterior' if ship else 'no flag'}: {why}")
    print("\nclusters with the most two-peaked stars:")
    print(t.groupby("cluster").agg(n=("err", "size"), two_peaked=("two_peaked", "mean"),
                                   median_colour=("bp_rp0", "median")).sort_values("two_peaked",
                                                                                  ascending=False).head(8))


if __name__ == "__main__":
    main()
