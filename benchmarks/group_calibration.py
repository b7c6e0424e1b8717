"""Study 29: `gyroage group-age`'s systematic width as a function of age, fitted by leave-one-cluster-out.

Each held-out cluster's joint posterior (as ``gyroage validate`` dates it: outlier weight 0.05, flat prior in log
age) from stored folds, over every training seed of the given runs. A colour-free :class:`Calibration` (the stars'
balanced kernel, width linear in log age between ``KNOTS``) is fitted by maximising the mean log density of the
labels under the smeared posteriors. Judged nested: each cluster's figures come from widths fitted without it.
Printed beside the single width ``group-age`` used before (the card's >= 30 Myr LOCO median / 0.6745), taken from
the ``--loco`` runs themselves (the mean over their seeds), the model they validated; each nested fit's floor and
start are that width computed without the held-out cluster.

    PYTHONPATH=$PWD python benchmarks/group_calibration.py --loco DIR [DIR ...] [--floor-at-single-width] \
        [--figure docs/figures/group_calibration.png] [--write-card models]

(``--loco``: ``gyroage validate --out`` directories; their ``seed_<n>`` tables are read too.) ``--write-card`` carries
the runs' ``folds_of_other_gyroage`` records (folds another gyroage trained, kept by ``validate --keep-folds``) into
``validation.group_calibration_fit``, by run, and says so: the widths are partly that code's flows'.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from fold_checks import checked_folds, read_summary, refuse, summary_card_differences, table_dirs  # beside this
from scipy.optimize import minimize

from gyroage.build.calibration import inside
from gyroage.build.loco_figures import OLD_MYR
from gyroage.core.calibration import Calibration
from gyroage.core.groups import joint_age
from gyroage.core.modelcard import load_card, write_card
from gyroage.core.posterior import cdf, cdf_quantiles, cdf_value
from gyroage.defaults import OUTLIER_WEIGHT

KNOTS = (7.0, 8.0, 9.0, 9.6)  # log10 yr: the star calibration's age knots
MAX_WIDTH = 1.0  # dex
DENSITY_FLOOR = 1e-12  # per dex: a label the posterior gives no mass still scores, finitely
MAD_TO_SIGMA = 0.6745  # a median |error| over a Gaussian's sigma (gyroage.core.groups.default_systematic_dex)
BINS = (("< 30 Myr", 0, 30), ("30-100 Myr", 30, 100), ("0.1-1 Gyr", 100, 1000), (">= 1 Gyr", 1000, np.inf),
        ("< 100 Myr", 0, 100))


def held_out(dirs: list[Path]) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """(cluster, training seed, label) rows, their joint posteriors (rows x grid, per dex) and the grid."""
    rows, pdfs, grid = [], [], None
    for d in dirs:
        table = pd.read_csv(d / "loco_clusters.csv").set_index("cluster")
        seed = read_summary(d)["train_settings"]["seed"]
        for c, f in checked_folds(d).items():
            pdf, _ = joint_age(f["loglike"], f["grid"], OUTLIER_WEIGHT)
            grid = f["grid"]
            rows.append({"cluster": c, "seed": seed, "age_myr": float(table.loc[c, "fiducial_age_myr"]),
                         "error_dex": float(table.loc[c, "error_dex"])})
            pdfs.append(pdf)
    t = pd.DataFrame(rows)
    t["truth"] = np.log10(t["age_myr"] * 1e6)
    return t, np.array(pdfs), np.asarray(grid)


def single_width(dirs: list[Path]) -> float:
    """The single width group-age takes from a card validated as these runs were
    (:func:`gyroage.core.groups.default_systematic_dex`): their summaries' >= 30 Myr median |error|, mean over
    the seeds, / 0.6745. Refused in one line when a run has no cluster of 30 Myr or older (its figure is null)."""
    v = [read_summary(d)["loco_cluster_median_abs_dex_ge30myr"] for d in dirs]
    if any(x is None for x in v):
        refuse(f"--loco {dirs[v.index(None)]} has no held-out cluster of {OLD_MYR:g} Myr or older: the single width "
               "(their median |error| / 0.6745) is undefined")
    return float(np.mean(v)) / MAD_TO_SIGMA


def single_width_without(t: pd.DataFrame, cluster: str) -> float:
    """:func:`single_width` from the cluster tables with ``cluster`` left out: each seed's median |error| over the
    other clusters >= 30 Myr, mean over the seeds, / 0.6745 (a nested fit's floor holds nothing of its cluster).
    Refused in one line when ``cluster`` is the runs' only one of 30 Myr or older."""
    old = t[(t["cluster"] != cluster) & (t["age_myr"] >= OLD_MYR)]
    if old.empty:
        refuse(f"no held-out cluster of {OLD_MYR:g} Myr or older once {cluster} is left out: its nested fit's single "
               "width is undefined (give runs holding at least two such clusters)")
    return float(old.groupby("seed")["error_dex"].apply(lambda e: np.median(np.abs(e))).mean()) / MAD_TO_SIGMA


def calibration(widths) -> Calibration:
    return Calibration(KNOTS, tuple(float(w) for w in widths))


def scores(cal: Calibration, pdfs: np.ndarray, grid: np.ndarray, truth: np.ndarray) -> pd.DataFrame:
    """Per row: log density of the label, its PIT, whether the 68% and 95% intervals hold it, and the median."""
    out = cal.apply(pdfs, grid)
    c = cdf(out, grid)
    pit = cdf_value(c, grid, truth)
    return pd.DataFrame({"log_score": np.log(np.maximum(cdf_value(out, grid, truth), DENSITY_FLOOR)), "pit": pit,
                         "in68": inside(pit, 0.68), "in95": inside(pit, 0.95),
                         "p50": cdf_quantiles(c, grid, [0.5])[:, 0]})


def fit(pdfs: np.ndarray, grid: np.ndarray, truth: np.ndarray, start, min_width: float = 0.0) -> np.ndarray:
    """Widths at KNOTS in [min_width, MAX_WIDTH] maximising the mean log score (bounded Powell: the objective is
    piecewise smooth)."""
    def loss(w: np.ndarray) -> float:
        # Powell may evaluate a point a rounding error outside its bounds (-8e-25 at a width of 0, review V49, 13),
        # which Calibration refuses: score the nearest width inside them (the same point wherever it was inside)
        return -scores(calibration(np.clip(w, min_width, MAX_WIDTH)), pdfs, grid, truth)["log_score"].mean()

    res = minimize(loss, np.asarray(start, float), method="Powell", bounds=[(min_width, MAX_WIDTH)] * len(KNOTS),
                   options={"xtol": 1e-3, "ftol": 1e-6})
    return np.clip(res.x, min_width, MAX_WIDTH)


def by_bin(t: pd.DataFrame, s: pd.DataFrame) -> dict[str, dict]:
    """Coverage, log score and number of clusters per label-age bin and overall."""
    out = {}
    for name, lo, hi in (("all", 0, np.inf), *BINS):
        k = ((t["age_myr"] >= lo) & (t["age_myr"] < hi)).to_numpy()
        out[name] = {"clusters": int(t["cluster"][k].nunique()), "coverage_68": round(float(s["in68"][k].mean()), 3),
                     "coverage_95": round(float(s["in95"][k].mean()), 3),
                     "mean_log_score": round(float(s["log_score"][k].mean()), 3)}
    return out


def figure(t: pd.DataFrame, before: pd.DataFrame, nested: pd.DataFrame, path: Path) -> None:
    """Nominal against actual coverage of held-out clusters' group intervals by age: one width (dashed) and widths
    by age fitted without each cluster (solid)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from validation_figures import coverage_by_age  # beside this script

    def curve(s: pd.DataFrame, style: str, what: str):
        frame = pd.DataFrame({"true_age_myr": t["age_myr"], "pit": s["pit"]})
        return frame, style, lambda label, m: f"{label}, {t['cluster'][m].nunique()} clusters ({what})"

    coverage_by_age([curve(nested, "o-", "widths by age, nested"), curve(before, "--", "one width")], path,
                    "group-age intervals, leave-one-cluster-out", "fraction of held-out cluster-seeds holding the label",
                    plt, legend_size=6.5)


def check_runs_against_card(dirs: list[Path], model_dir: Path) -> None:
    """Refuse in one line, before any fit, ``--loco`` runs not validated as ``model_dir``'s card was (training
    settings but the seed, age grid, catalogue, minimum membership, held-out clusters): their widths would be
    another model's, written beside the card's own validation (as validate's and cmd_term.py's --write-card)."""
    from gyroage.errors import ModelError

    try:
        card, _ = load_card(model_dir, verify=False)
    except ModelError as exc:
        refuse(str(exc))
    for d in dirs:
        problems = summary_card_differences(read_summary(d), card)
        if problems:
            refuse(f"--loco {d} was not validated as {model_dir}'s card was ({'; '.join(problems)}): its widths "
                   f"would be another model's; give the runs of gyroage validate --write-card {model_dir}")


def other_gyroage(outs: list[Path]) -> dict:
    """``{"folds_of_other_gyroage": {run: record}}`` of the ``--loco`` runs whose summary holds validate's record of
    folds another gyroage trained (its top level's covers every seed), said on stderr; ``{}`` if none. It was
    dropped: widths fitted partly from another code's folds went into the card without it (review V49)."""
    kept = {str(out): r for out in outs if (r := read_summary(out).get("folds_of_other_gyroage"))}
    if kept:
        n = sum(r.get("n_folds", 0) for r in kept.values() if isinstance(r, dict))
        print(f"{Path(sys.argv[0]).name}: {n} of the runs' folds were trained by another gyroage (validate "
              "--keep-folds): recorded as validation.group_calibration_fit.folds_of_other_gyroage", file=sys.stderr)
    return {"folds_of_other_gyroage": kept} if kept else {}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--loco", required=True, nargs="+", type=Path)
    ap.add_argument("--floor-at-single-width", action="store_true",
                    help="no width below the single width (study 29b; study 29 allowed 0)")
    ap.add_argument("--figure", type=Path, metavar="PNG", help="draw nominal against actual coverage by age here")
    ap.add_argument("--write-card", type=Path, metavar="MODEL_DIR",
                    help="write the all-cluster widths and the nested figures into MODEL_DIR's card")
    a = ap.parse_args(argv)
    dirs = table_dirs(a.loco)
    if a.write_card:
        check_runs_against_card(dirs, a.write_card)
    t, pdfs, grid = held_out(dirs)
    # the runs' own model's, not the shipped card's: the widths go into --write-card's card
    scalar = single_width(dirs)  # the single width group-age used before
    start = [scalar] * len(KNOTS)
    min_width = scalar if a.floor_at_single_width else 0.0
    before = scores(calibration(start), pdfs, grid, t["truth"].to_numpy())
    nested = pd.DataFrame(index=t.index, columns=before.columns)
    fold_widths = {}
    # nested: neither floor nor start holds c's own error (all computed first: a run without one is refused unfitted)
    owns = {c: single_width_without(t, c) for c in t["cluster"].unique()}
    for c, own in owns.items():
        k = (t["cluster"] == c).to_numpy()
        w = fit(pdfs[~k], grid, t["truth"].to_numpy()[~k], [own] * len(KNOTS), own if a.floor_at_single_width else 0.0)
        fold_widths[c] = w
        nested.loc[k] = scores(calibration(w), pdfs[k], grid, t["truth"].to_numpy()[k]).to_numpy()
        print(f"  without {c}: widths {np.round(w, 3).tolist()}", file=sys.stderr)
    nested = nested.astype({"log_score": float, "pit": float, "in68": bool, "in95": bool, "p50": float})
    full = fit(pdfs, grid, t["truth"].to_numpy(), start, min_width)
    after = scores(calibration(full), pdfs, grid, t["truth"].to_numpy())
    figures = {"single width": by_bin(t, before), "by age, nested": by_bin(t, nested),
               "by age, fitted on all (in-sample)": by_bin(t, after)}
    print(f"{len(dirs)} seeds, {t['cluster'].nunique()} clusters; single width {scalar:.4f} dex; widths in "
          f"[{min_width:.4f}, {MAX_WIDTH}] fitted on all clusters at log10 ages {KNOTS}: {np.round(full, 3).tolist()} dex")
    print("\n| group intervals | " + " | ".join(f"{n} ({v['clusters']})" for n, v in figures['single width'].items())
          + " |")
    print("|---|" + "---|" * len(figures["single width"]))
    for name, fig in figures.items():
        print(f"| {name}: 68% / 95% / log score | "
              + " | ".join(f"{v['coverage_68']:.2f} / {v['coverage_95']:.2f} / {v['mean_log_score']:+.2f}"
                           for v in fig.values()) + " |")
    shift = np.abs(after["p50"] - before["p50"])
    print(f"\njoint-age medians, by age against the single width: |shift| median {np.median(shift):.4f}, "
          f"max {shift.max():.4f} dex")
    w = np.array(list(fold_widths.values()))
    print("nested widths, lowest-highest per knot: "
          + ", ".join(f"{x:g}: {lo:.3f}-{hi:.3f}" for x, lo, hi in zip(KNOTS, w.min(axis=0), w.max(axis=0))))
    if a.figure:
        figure(t, before, nested, a.figure)
        print(f"wrote {a.figure}")
    if a.write_card:
        card, _ = load_card(a.write_card, verify=False)
        g = calibration(full).to_dict()
        fit_record = {
            "method": "benchmarks/group_calibration.py: widths maximising the mean log density of held-out clusters' "
                      "labels under their smeared joint posteriors; figures nested (each cluster's from widths fitted "
                      "without it)",
            "seeds": [int(s) for s in t["seed"].unique()],
            "single_width_dex": round(scalar, 4),
            "nested": figures["by age, nested"],
            "single_width": figures["single width"], **other_gyroage(a.loco)}
        card.validation = {**card.validation, "group_calibration": {k: g[k] for k in ("log10_age_knots", "sigma_dex")},
                           "group_calibration_fit": fit_record}
        write_card(card, a.write_card)
        print(f"wrote validation.group_calibration into {a.write_card}'s card")
    return 0


if __name__ == "__main__":
    sys.exit(main())
