"""Study 22: the main-sequence height term beside rotation, scored on saved LOCO folds.

Pre-registered in benchmarks/candidates/PREREGISTRATION.md. No retraining: each fold's
rotation likelihoods are the saved ones; the term is fitted per fold to the other
clusters' stars (``gyroage.build.main_sequence``) and multiplies them.

    PYTHONPATH=$PWD python benchmarks/cmd_term.py --describe
    PYTHONPATH=$PWD python benchmarks/cmd_term.py --loco /work/loco/v4 [--json out.json]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

from gyroage.build.catalogue import load_catalogue, quality_select
from gyroage.build.loco import AGE_BINS, ValidateSettings, cluster_medians, judge_stars, load_folds, star_posteriors
from gyroage.build.main_sequence import PARALLAX, fit_main_sequence_term, main_sequence
from gyroage.core.calibration import Calibration
from gyroage.core.groups import group_log_likelihood
from gyroage.core.main_sequence import absolute_g
from gyroage.core.modelcard import outlier_log_density
from gyroage.core.posterior import normalise, quantiles
from gyroage.defaults import OUTLIER_WEIGHT

CATALOGUE = "../shared/data/open_cluster_rotators.csv"
CARD = Path(__file__).resolve().parents[1] / "models" / "gyroage-model.json"


def describe(frame: pd.DataFrame) -> None:
    """Cluster median heights above the main sequence per colour band (the study's motivation)."""
    colour = frame["BPRP_0"].to_numpy(dtype=float)
    age = frame["fiducial_age_Myr"].to_numpy(dtype=float)
    mg = absolute_g(frame["G_0"].to_numpy(dtype=float), frame[PARALLAX].to_numpy(dtype=float))
    ms_c, ms_m = main_sequence(colour, mg, age)
    d = pd.DataFrame({"cluster": frame["cluster"], "age_myr": age, "band": pd.cut(colour, [1.0, 1.5, 2.0, 2.5, 3.0, 3.6]),
                      "height": np.interp(colour, ms_c, ms_m) - mg})
    t = d.dropna().groupby(["cluster", "band"], observed=True).agg(age_myr=("age_myr", "median"), n=("height", "size"),
                                                                   height=("height", "median"))
    t = t[t["n"] >= 5].reset_index().pivot(index="cluster", columns="band", values="height")
    order = d.groupby("cluster")["age_myr"].median().sort_values()
    print(t.reindex([c for c in order.index if c in t.index]).round(2).to_string())


def score_seed(frame: pd.DataFrame, folds: dict[str, dict], terms: dict, calib: Calibration | None,
               outlier_weight: float) -> dict[str, dict]:
    """Per variant ("v4", "cmd"): the cluster columns, star median, log score and coverage by age bin."""
    out: dict[str, dict] = {}
    for variant in ("v4", "cmd"):
        stars, clusters = [], []
        for c, f in folds.items():
            grid, ll = f["grid"], f["loglike"].astype(np.float64)
            m = frame.iloc[f["source_row"]]
            colour = m["BPRP_0"].to_numpy(dtype=float)
            term = np.zeros_like(ll)
            if variant == "cmd":
                mg = absolute_g(m["G_0"].to_numpy(dtype=float), m[PARALLAX].to_numpy(dtype=float))
                term = terms[c].log_likelihood(colour, mg, grid)
            truth_star = np.log10(m["fiducial_age_Myr"].to_numpy(dtype=float) * 1e6)
            truth = float(np.median(truth_star))
            raw = judge_stars(star_posteriors(ll + term, grid), grid, truth_star)
            cal = judge_stars(star_posteriors(ll + term, grid, calib, colour=colour), grid, truth_star)
            stars.append(pd.DataFrame({"age": 10 ** (truth_star - 6), "err": raw["error_dex"], "score": raw["log_score"],
                                       "in68_raw": raw["in_68"], "in68_cal": cal["in_68"], "score_cal": cal["log_score"],
                                       "used": np.any(term != 0, axis=1)}))
            lp = group_log_likelihood(ll, np.zeros(len(ll), dtype=int), 1, np.ones(len(ll)), outlier_weight,
                                      outlier_log_density())[0] + term.sum(axis=0)
            jq = quantiles(normalise(lp[None, :], grid), grid)[0]
            clusters.append({"cluster": c, "age_myr": 10 ** (truth - 6), "error_dex": jq[2] - truth})
        s, t = pd.concat(stars, ignore_index=True), pd.DataFrame(clusters)
        all25, ge30 = cluster_medians(t["error_dex"], t["age_myr"])
        cov = {label: float(s.loc[(s["age"] >= lo) & (s["age"] < hi), "in68_cal"].mean()) for label, lo, hi in AGE_BINS}
        med = {label: float(s.loc[(s["age"] >= lo) & (s["age"] < hi), "err"].abs().median()) for label, lo, hi in AGE_BINS}
        out[variant] = {"all25": all25, "ge30": ge30, "star_median": float(s["err"].abs().median()),
                        "log_score": float(s["score"].mean()), "log_score_cal": float(s["score_cal"].mean()),
                        "coverage_68_cal": cov, "star_median_by_age": med, "n_used": int(s["used"].sum()),
                        "per_cluster": dict(zip(t["cluster"], t["error_dex"].round(3)))}
    return out


def complete_fold_sets(loco: Path, n_clusters: int = 25):
    """(seed, folds) of every fold directory under ``loco/folds`` holding all ``n_clusters`` folds, by seed: a
    seed is scored as soon as its folds exist, before validate writes its tables."""
    sets = []
    for d in sorted((loco / "folds").iterdir()):
        names = sorted(p.stem for p in d.glob("*.npz"))
        if len(names) == n_clusters:
            settings = json.loads((d / "settings.json").read_text())
            sets.append((settings["train"]["seed"], load_folds(loco, ValidateSettings(
                train=settings["train"], grid=tuple(settings["grid"])), names)))
    return sorted(sets, key=lambda s: s[0])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--catalogue", default=CATALOGUE)
    ap.add_argument("--loco", type=Path, help="a gyroage validate --out directory (every seed in it is scored)")
    ap.add_argument("--describe", action="store_true", help="print the cluster median heights and stop")
    ap.add_argument("--json", type=Path, help="write the per-seed results here")
    args = ap.parse_args()
    frame = quality_select(load_catalogue(args.catalogue))
    if args.describe or args.loco is None:
        describe(frame)
        return
    card = json.loads(CARD.read_text())
    calib = Calibration.from_dict(card["validation"]["calibration"])
    weight = float(card["validation"].get("outlier_weight_group", OUTLIER_WEIGHT))
    terms: dict = {}
    results = {}
    for seed, folds in complete_fold_sets(args.loco):
        for c in folds:
            if c not in terms:
                terms[c] = fit_main_sequence_term(frame[frame["cluster"] != c])
        r = score_seed(frame, folds, terms, calib, weight)
        results[seed] = r
        a, b = r["v4"], r["cmd"]
        print(f"seed {seed}: all-25 {a['all25']:.4f} -> {b['all25']:.4f}  >=30 {a['ge30']:.4f} -> {b['ge30']:.4f}  "
              f"stars {a['star_median']:.3f} -> {b['star_median']:.3f}  log score {a['log_score']:.3f} -> "
              f"{b['log_score']:.3f}  (cal {a['log_score_cal']:.3f} -> {b['log_score_cal']:.3f})  "
              f"coverage(cal) {[round(v, 3) for v in a['coverage_68_cal'].values()]} -> "
              f"{[round(v, 3) for v in b['coverage_68_cal'].values()]}  by age {[round(v, 3) for v in a['star_median_by_age'].values()]}"
              f" -> {[round(v, 3) for v in b['star_median_by_age'].values()]}  stars with the term {b['n_used']}",
              flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
