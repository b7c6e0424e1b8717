"""How far LOCO cluster ages can fall: each cluster's in-sample group age (the shipped model trained WITH it,
docs/group_ages.md) beside its leave-one-cluster-out joint age over training seeds (docs/validation.md,
"Seventh session"). A cluster the model cannot date even when trained on it has a label that the rest of the
catalogue's rotation sequences do not support; no held-out run can be expected to do better there.

    PYTHONPATH=$PWD python benchmarks/label_floor.py --loco validation [DIR ...] [--group-ages docs/group_ages.md] \
        [--catalogue ../shared/data/open_cluster_rotators.csv [--split M67 [--split-colour 1.5]] [--height-clock]]

With ``--catalogue`` it also prints the shipped model on its own training stars (an optimistic reference for any
held-out star figure) and a model-free check: the median period of the quality-selected members of
the 50-800 Myr clusters in (BP-RP)0 bands, in label order (after the ZAMS, K dwarfs only spin down).

(``--loco``: ``gyroage validate --out`` directories; their ``seed_<n>`` tables from ``--extra-seeds`` are read too,
so several runs of five seeds can be judged together.) The LOCO median of the clusters' mean errors beside the mean
of the per-seed medians tells a bias that every seed shares (which averaging seeds cannot remove) from seed scatter.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from gyroage.build.loco_figures import AGE_BINS, OLD_MYR, by_age_bin, cluster_medians

FLOOR_DEX = 0.10  # in-sample |error| beyond which a cluster counts as unsupported by the rest
TARGETS = (0.07, 0.05)  # issue #11's cluster medians: all clusters, >= 30 Myr (dex)
BANDS = ((0.6, 0.8), (0.8, 1.0), (1.0, 1.3), (1.3, 1.8))
MIN_IN_BAND = 5
# Older, the stars the height term reads have reached the main sequence, where it only bounds the age from below
# (the Pleiades' M dwarfs: its joint age is pushed old by construction).
HEIGHT_CLOCK_MAX_MYR = 70


def in_sample(path: Path) -> pd.Series:
    """log_ratio_dex by cluster from the group-ages table (a name may hold spaces or hyphens: "NGC 2516")."""
    rows = {}
    for line in path.read_text().splitlines():
        m = re.match(r"\|\s*([^|]+?)\s*\|.*\|\s*([+-]?[0-9.]+)\s*\|$", line.strip())
        if m and m.group(1) != "cluster":
            rows[m.group(1)] = float(m.group(2))
    return pd.Series(rows, name="in_sample_dex")


def loco(tables: list[pd.DataFrame]) -> pd.DataFrame:
    """Each cluster's LOCO error over the seeds' ``loco_clusters.csv`` tables: mean, sd and count."""
    g = pd.concat(tables).groupby("cluster").agg(age_myr=("fiducial_age_myr", "first"),
                                                 loco_mean_dex=("error_dex", "mean"),
                                                 loco_sd_dex=("error_dex", "std"), seeds=("error_dex", "size"))
    return g.sort_values("age_myr")


def medians(error_dex, age_myr) -> tuple[float | None, float | None]:
    """:func:`cluster_medians`, (None, None) over no cluster (every cluster unsupported, say)."""
    return cluster_medians(error_dex, age_myr) if len(error_dex) else (None, None)


def dex(v: float | None, digits: int = 3) -> str:
    """A median in dex, or "none" where no cluster gives one (none >= 30 Myr: a 2-cluster run, say)."""
    return "none" if v is None or not np.isfinite(v) else f"{v:.{digits}f}"


def seed_medians(dirs: list[Path], tables: list[pd.DataFrame], unsupported: set[str]) -> None:
    """Each seed's cluster medians (all / >= 30 Myr), over every cluster and over the supported ones, and their means."""
    print("\n| clusters | " + " | ".join(f"seed table {d.name}" for d in dirs) + " | mean |")
    print("|---|" + "---|" * (len(tables) + 1))
    for name, keep in (("all", lambda k: k), ("supported", lambda k: k[~k.cluster.isin(unsupported)])):
        m = np.array([medians(k.error_dex, k.fiducial_age_myr) for k in map(keep, tables)], dtype=float)  # None: NaN
        cells = [f"{dex(a, 4)} / {dex(b, 4)}" for a, b in m] + [f"{dex(m[:, 0].mean(), 4)} / {dex(m[:, 1].mean(), 4)}"]
        print(f"| {name}: all / >= 30 Myr | " + " | ".join(cells) + " |")
        if len(m) > 1:
            sd, meet = m.std(axis=0, ddof=1), (m <= np.array(TARGETS)).sum(axis=0)
            print(f"  {name}: sd over seeds {sd[0]:.4f} / {sd[1]:.4f}; seeds meeting {TARGETS[0]} / {TARGETS[1]}: "
                  f"{meet[0]} / {meet[1]} of {len(m)}")


def star_table(dirs: list[Path], unsupported: set[str]) -> None:
    """Held-out stars (the validate tables, as calibrated there), all clusters against the supported ones:
    median |error| and, by age bin, 68% coverage with the shares of truths below p16 and above p84."""
    print("\n| held-out stars, mean over seeds | median abs. error (dex) | "
          + " | ".join(f"{b}: in 68% / below / above" for b, _, _ in AGE_BINS) + " |")
    print("|---|---|" + "---|" * len(AGE_BINS))
    tables = [pd.read_csv(d / "loco_stars.csv") for d in dirs]
    for name, keep in (("all clusters", lambda s: s), ("supported clusters", lambda s: s[~s.cluster.isin(unsupported)])):
        rows = []
        for s in map(keep, tables):
            b = by_age_bin(s)
            rows.append([np.median(np.abs(s.error_dex)) if len(s) else None]
                        + [b[k][label] for label, _, _ in AGE_BINS for k in ("coverage_68", "below_68", "above_68")])
        m = np.mean(np.array(rows, dtype=float), axis=0)  # an empty bin's None: NaN, said "none"
        cells = [" / ".join(dex(v) for v in m[1 + 3 * i:4 + 3 * i]) for i in range(len(AGE_BINS))]
        print(f"| {name} ({len(tables)} seeds) | {dex(m[0])} | " + " | ".join(cells) + " |")


def in_sample_stars(d: pd.DataFrame) -> None:
    """The shipped model on its own training stars (flow only, uncalibrated, flat prior in log age): what a held-out
    star median can hope for, since LOCO sees these stars with less information, never more."""
    from gyroage.build.loco import ValidateSettings, star_posteriors
    from gyroage.build.loco_figures import judge_stars
    from gyroage.core.api import AgeModel
    from gyroage.core.posterior import age_grid

    grid = age_grid(*ValidateSettings().grid)  # validate's grid
    ll = AgeModel.load().density.log_prob_grid(np.log10(d.Prot.to_numpy(float)), d.BPRP_0.to_numpy(float),
                                               d.e_BPRP_0.to_numpy(float), grid, outlier_weight=0.0)
    stars = pd.DataFrame(judge_stars(star_posteriors(ll, grid), grid, np.log10(d.fiducial_age_Myr.to_numpy(float) * 1e6)))
    b = by_age_bin(stars)
    cells = [" / ".join(f"{b[k][label]:.3f}" for k in ("coverage_68", "below_68", "above_68"))
             + f", median abs. error {b['median_abs_dex'][label]:.3f}" for label, _, _ in AGE_BINS]
    print(f"| in-sample, the shipped model on its {len(d)} training stars | {np.median(np.abs(stars.error_dex)):.3f} | "
          + " | ".join(cells) + " |")


def period_table(d: pd.DataFrame) -> None:
    d = d[(d.fiducial_age_Myr >= 50) & (d.fiducial_age_Myr <= 800)]
    print("\n| cluster | age (Myr) | " + " | ".join(f"median Prot (d), {lo}-{hi} (n)" for lo, hi in BANDS) + " |")
    print("|---|---|" + "---|" * len(BANDS))
    for c, g in sorted(d.groupby("cluster"), key=lambda kv: kv[1].fiducial_age_Myr.median()):
        cells = []
        for lo, hi in BANDS:
            x = g.Prot[(g.BPRP_0 >= lo) & (g.BPRP_0 < hi)]
            cells.append(f"{np.median(x):.2f} ({len(x)})" if len(x) >= MIN_IN_BAND else "-")
        print(f"| {c} | {g.fiducial_age_Myr.median():g} | " + " | ".join(cells) + " |")


def split_by_colour(dirs: list[Path], frame: pd.DataFrame, cluster: str, colour: float) -> None:
    """A held-out cluster's joint age per seed from all its members, those bluer than ``colour`` and the rest: which
    of its stars carry its LOCO error (M67's: its M dwarfs, extrapolated past the oldest training M dwarfs)."""
    from fold_checks import checked_folds  # beside this script

    from gyroage.core.groups import joint_age
    from gyroage.defaults import OUTLIER_WEIGHT

    print(f"\n| {cluster} held out: joint age error (dex) | all | (BP-RP)0 < {colour} | >= {colour} |")
    print("|---|---|---|---|")
    rows = []
    for d in dirs:
        f = checked_folds(d)[cluster]
        members = frame.iloc[f["source_row"]]
        bluer = members["BPRP_0"].to_numpy(dtype=float) < colour
        truth = np.log10(members["fiducial_age_Myr"].median() * 1e6)
        rows.append([joint_age(f["loglike"][k], f["grid"], OUTLIER_WEIGHT)[1][2] - truth if k.any() else np.nan
                     for k in (bluer | ~bluer, bluer, ~bluer)])
        print(f"| {d.name} | " + " | ".join(f"{v:+.3f}" for v in rows[-1]) + " |")
    r = np.array(rows)
    print(f"| mean +- sd ({int(bluer.sum())} / {int((~bluer).sum())} stars) | "
          + " | ".join(f"{m:+.3f} +- {s:.3f}" for m, s in zip(np.nanmean(r, axis=0), np.nanstd(r, axis=0, ddof=1))) + " |")


def height_clock(t: pd.DataFrame, frame: pd.DataFrame) -> None:
    """Beside each young cluster's LOCO rotation error, its age from a second clock: the main-sequence height term
    (pre-main-sequence contraction) fitted without it, on its members alone. Both are calibrated on the other
    clusters' labels; where two clocks built from different physics date a cluster off its label the same way, the
    label, not the flow, is the likelier cause. The height term's product over members treats their heights as
    independent (a cluster's distance is shared), so its joint age is read for its sign and size, not its width."""
    from gyroage.build.main_sequence import held_out_height_term
    from gyroage.core.posterior import age_grid, normalise, quantiles

    grid = age_grid(6.0, 10.0, 401)
    print(f"\n| cluster (< {HEIGHT_CLOCK_MAX_MYR} Myr) | age (Myr) | rotation, LOCO mean error (dex) | stars the height "
          "term informs | height alone, held out: joint age error (dex) |")
    print("|---|---|---|---|---|")
    for c, r in t[t.age_myr < HEIGHT_CLOCK_MAX_MYR].iterrows():
        members = frame[frame["cluster"] == c]
        truth = np.log10(members["fiducial_age_Myr"].median() * 1e6)
        ll, informs, _ = held_out_height_term(frame, c, members, grid)
        if informs.sum() < MIN_IN_BAND:
            print(f"| {c} | {r.age_myr:g} | {r.loco_mean_dex:+.3f} | {int(informs.sum())} | - |")
            continue
        joint = quantiles(normalise(ll[informs].sum(axis=0)[None, :], grid), grid)[0][2]
        print(f"| {c} | {r.age_myr:g} | {r.loco_mean_dex:+.3f} | {int(informs.sum())} | {joint - truth:+.3f} |")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--loco", required=True, nargs="+", type=Path)
    ap.add_argument("--group-ages", default="docs/group_ages.md")
    ap.add_argument("--catalogue", help="also print the model-free period table")
    ap.add_argument("--split", metavar="CLUSTER", help="with --catalogue: CLUSTER's held-out joint age from its members "
                    "bluer and redder than --split-colour, per seed")
    ap.add_argument("--split-colour", type=float, default=1.5)
    ap.add_argument("--height-clock", action="store_true", help="with --catalogue: the young clusters' ages from the "
                    "main-sequence height term alone, held out, beside their LOCO rotation errors")
    a = ap.parse_args(argv)
    if (a.split or a.height_clock) and not a.catalogue:
        ap.error("--split and --height-clock read the members from --catalogue")
    from fold_checks import table_dirs  # beside this script

    dirs = table_dirs(a.loco, ("loco_clusters.csv", "loco_stars.csv"))
    tables = [pd.read_csv(d / "loco_clusters.csv") for d in dirs]
    if len({frozenset(t.cluster) for t in tables}) > 1:  # a subset run beside full ones: medians would not compare
        raise SystemExit("the runs did not all date the same clusters")
    t = loco(tables).join(in_sample(Path(a.group_ages)), how="left")
    unknown = t.index[t.in_sample_dex.isna()]
    if len(unknown):  # abs(NaN) > FLOOR_DEX is False: each would count as supported, without a word
        ap.exit(2, f"{ap.prog}: error: no in-sample age in {a.group_ages} for {len(unknown)} of the {len(t)} LOCO "
                   f"clusters: {', '.join(unknown)} (run gyroage group-age on the catalogue the runs were validated "
                   "on)\n")
    print("| cluster | age (Myr) | in-sample error (dex) | LOCO error, mean +- sd over seeds (dex) |")
    print("|---|---|---|---|")
    for c, r in t.iterrows():
        flag = " **(unsupported)**" if abs(r.in_sample_dex) > FLOOR_DEX else ""
        print(f"| {c} | {r.age_myr:g} | {r.in_sample_dex:+.3f}{flag} | {r.loco_mean_dex:+.3f} +- {r.loco_sd_dex:.3f} |")
    bad = np.abs(t.in_sample_dex) > FLOOR_DEX
    old = t.age_myr >= OLD_MYR
    every, sup = medians(t.loco_mean_dex, t.age_myr), medians(t.loco_mean_dex[~bad], t.age_myr[~bad])
    print(f"\n{int(bad.sum())} of {len(t)} clusters ({int((bad & old).sum())} of {int(old.sum())} >= 30 Myr) miss by more "
          f"than {FLOOR_DEX} dex in-sample. LOCO median |error| of the mean errors: {dex(every[0])} / {dex(every[1])}; "
          f"over the supported clusters alone: {dex(sup[0])} / {dex(sup[1])}.")
    seed_medians(dirs, tables, set(t.index[bad]))
    star_table(dirs, set(t.index[bad]))
    if not a.catalogue:
        return 0
    from gyroage.build.catalogue import load_catalogue, quality_select

    frame = quality_select(load_catalogue(a.catalogue))  # read once, for every table below
    if a.height_clock:
        height_clock(t, frame)
    if a.split:
        split_by_colour(dirs, frame, a.split, a.split_colour)
    elif not a.height_clock:
        in_sample_stars(frame)
        period_table(frame)
    return 0


if __name__ == "__main__":
    sys.exit(main())
