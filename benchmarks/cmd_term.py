"""Study 22: the main-sequence height term beside rotation, scored on saved LOCO folds.

Pre-registered in benchmarks/candidates/PREREGISTRATION.md. No retraining: each fold's
rotation likelihoods are the saved ones; the term is fitted per fold to the other
clusters' stars (``gyroage.build.main_sequence``) and multiplies them.

    PYTHONPATH=$PWD python benchmarks/cmd_term.py --describe
    PYTHONPATH=$PWD python benchmarks/cmd_term.py --loco /work/loco/v4 [--json out.json]
    PYTHONPATH=$PWD python benchmarks/cmd_term.py --write-above-flag models   # then gyroage export --rebuild
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any, NoReturn

import numpy as np
import pandas as pd
from fold_checks import card_differences, fold_catalogue  # beside this script

from gyroage.build.calibration import inside
from gyroage.build.catalogue import PARALLAX, default_catalogue_path, load_catalogue, main_sequence_curve, quality_select
from gyroage.build.loco import ValidateSettings, load_folds, star_posteriors
from gyroage.build.loco_figures import AGE_BINS, cluster_medians, judge_stars
from gyroage.build.main_sequence import NO_MAIN_SEQUENCE, above_flag, fit_main_sequence_term, why_no_term
from gyroage.core.calibration import Calibration
from gyroage.core.groups import joint_age
from gyroage.core.main_sequence import MainSequenceTerm, absolute_g
from gyroage.core.posterior import calibrate
from gyroage.defaults import OUTLIER_WEIGHT
from gyroage.files import json_text

CARD = Path(__file__).resolve().parents[1] / "models" / "gyroage-model.json"
TERM_COLOUR_KNOTS = (1.2, 1.9, 2.6)


def describe(frame: pd.DataFrame) -> None:
    """Cluster median heights above the main sequence per colour band (the study's motivation)."""
    colour = frame["BPRP_0"].to_numpy(dtype=float)
    age = frame["fiducial_age_Myr"].to_numpy(dtype=float)
    mg = absolute_g(frame["G_0"].to_numpy(dtype=float), frame[PARALLAX].to_numpy(dtype=float))
    ms_c, ms_m = main_sequence_curve(colour, mg, np.log10(age * 1e6))
    if not len(ms_c):  # np.interp's "array of sample points is empty" named nothing
        raise ValueError(NO_MAIN_SEQUENCE)
    d = pd.DataFrame({"cluster": frame["cluster"], "age_myr": age, "band": pd.cut(colour, [1.0, 1.5, 2.0, 2.5, 3.0, 3.6]),
                      "height": np.interp(colour, ms_c, ms_m) - mg})
    t = d.dropna().groupby(["cluster", "band"], observed=True).agg(age_myr=("age_myr", "median"), n=("height", "size"),
                                                                   height=("height", "median"))
    t = t[t["n"] >= 5].reset_index().pivot(index="cluster", columns="band", values="height")
    order = d.groupby("cluster")["age_myr"].median().sort_values()
    print(t.reindex([c for c in order.index if c in t.index]).round(2).to_string())


def score_seed(frame: pd.DataFrame, folds: dict[str, dict], terms: dict, calib: Calibration | None,
               outlier_weight: float, term_calib: Calibration | dict | None = None, jitter_mag: float = 0.0,
               jitter_seed: int = 0, declared_err: float | None = None) -> dict[str, dict]:
    """Per variant ("v4", "cmd"): the cluster columns, star median, log score and coverage by age bin.

    ``term_calib``: the informed stars' widths, or per held-out cluster its own (nested, study 23).

    ``jitter_mag``: held-out stars' magnitudes moved by N(0, jitter_mag) before the term reads them (the
    term is fitted to the unmoved training clusters): field stars scatter about a cluster's sequence more
    than cluster members do (metallicity, distance errors), and this asks what that costs. ``declared_err``: the
    magnitude error every held-out star declares (``abs_g0_err``; None: none)"""
    rng = np.random.default_rng(jitter_seed)
    out: dict[str, dict] = {}
    for variant in ("v4", "cmd"):
        stars, clusters = [], []
        for c, f in folds.items():
            grid, ll = f["grid"], f["loglike"].astype(np.float64)
            m = frame.iloc[f["source_row"]]
            colour = m["BPRP_0"].to_numpy(dtype=float)
            term, informed = np.zeros_like(ll), np.zeros(len(ll), dtype=bool)
            if variant == "cmd":
                mg = absolute_g(m["G_0"].to_numpy(dtype=float), m[PARALLAX].to_numpy(dtype=float))
                if jitter_mag:
                    mg = mg + rng.normal(0.0, jitter_mag, len(mg))
                term = terms[c].log_likelihood(colour, mg, grid, declared_err)  # a scalar error broadcasts
                informed = terms[c].informs(colour, mg, declared_err)
            truth_star = np.log10(m["fiducial_age_Myr"].to_numpy(dtype=float) * 1e6)
            truth = float(np.median(truth_star))
            post = star_posteriors(ll + term, grid)
            raw = judge_stars(post, grid, truth_star)
            tc = term_calib[c] if isinstance(term_calib, dict) else term_calib
            cal = judge_stars(calibrate(post, grid, colour, calib, tc, informed), grid, truth_star)
            stars.append(pd.DataFrame({"age": 10 ** (truth_star - 6), "err": raw["error_dex"], "score": raw["log_score"],
                                       "in68_raw": raw["in_68"], "in68_cal": cal["in_68"], "score_cal": cal["log_score"],
                                       "in95_cal": inside(cal["pit"], 0.95),
                                       "err_cal": cal["error_dex"], "used": informed}))
            # validate's joint age; the members' summed terms enter where a flat prior would
            _, jq = joint_age(ll, grid, outlier_weight, log_prior=term.sum(axis=0))
            clusters.append({"cluster": c, "age_myr": 10 ** (truth - 6), "error_dex": jq[2] - truth})
        s, t = pd.concat(stars, ignore_index=True), pd.DataFrame(clusters)
        all25, ge30 = cluster_medians(t["error_dex"], t["age_myr"])
        cov = {label: float(s.loc[(s["age"] >= lo) & (s["age"] < hi), "in68_cal"].mean()) for label, lo, hi in AGE_BINS}
        cov95 = {label: float(s.loc[(s["age"] >= lo) & (s["age"] < hi), "in95_cal"].mean()) for label, lo, hi in AGE_BINS}
        med = {label: float(s.loc[(s["age"] >= lo) & (s["age"] < hi), "err"].abs().median()) for label, lo, hi in AGE_BINS}
        out[variant] = {"all25": all25, "ge30": ge30, "star_median": float(s["err"].abs().median()),
                        "log_score": float(s["score"].mean()), "log_score_cal": float(s["score_cal"].mean()),
                        "coverage_68_cal": cov, "coverage_95_cal": cov95,
                        "star_median_cal": float(s["err_cal"].abs().median()),
                        "star_median_by_age": med, "n_used": int(s["used"].sum()),
                        "per_cluster": dict(zip(t["cluster"], t["error_dex"].round(3)))}
    return out


def complete_fold_sets(loco: Path, clusters: list[str], keep: set[str] | None = None):
    """(fold directory name, seed, folds of ``clusters``) of every fold directory under ``loco/folds`` (of ``keep``'s
    names, when given) holding all their folds, by seed: a seed is scored as soon as its folds exist, before validate
    writes its tables."""
    sets = []
    for d, names in fold_dirs(loco):
        if set(clusters) <= names and (keep is None or d.name in keep):
            settings = json.loads((d / "settings.json").read_text())
            sets.append((d.name, settings["train"]["seed"], load_folds(loco, ValidateSettings(
                train=settings["train"], grid=tuple(settings["grid"])), sorted(clusters))))
    return sorted(sets, key=lambda s: (s[1], s[0]))


def fold_dirs(loco: Path) -> list[tuple[Path, set[str]]]:
    """Each fold directory under ``loco/folds`` (one per training seed) with the held-out clusters it has folds of."""
    return [(d, {p.stem for p in d.glob("*.npz")}) for d in sorted((loco / "folds").iterdir())
            if (d / "settings.json").is_file()]


def _setting_differences(a: dict, b: dict) -> list[str]:
    """The training settings (seed and thread count aside) and grid in which two settings.json dicts differ."""
    from gyroage.build.loco_card import settings_differences

    return [p.split(":")[0] for p in settings_differences(a["train"], b["train"])] + (
        ["grid"] if list(a["grid"]) != list(b["grid"]) else [])


def runs_fold_dirs(ap: argparse.ArgumentParser, loco: Path) -> set[str]:
    """The fold directories under ``loco/folds`` trained as the ``--loco`` run's loco_summary.json says (training
    settings, seed aside, and grid); the others (one --out may hold two configs', docs/validation.md "Rerun") are
    named and not scored. Without a summary yet, a folds/ holding two settings is refused in one line."""
    found = {d.name: json.loads((d / "settings.json").read_text()) for d, _ in fold_dirs(loco)}
    summary = loco / "loco_summary.json"
    s = json.loads(summary.read_text()) if summary.is_file() else {}
    if "train_settings" in s and "age_grid" in s:
        run = {"train": s["train_settings"], "grid": s["age_grid"]}
        other = {k: _setting_differences(run, v) for k, v in found.items() if _setting_differences(run, v)}
        if found and len(other) == len(found):
            refuse(ap, f"no folds under {loco / 'folds'} were trained as {summary} says its run was (the first, "
                       f"{next(iter(other))}, differs in {', '.join(next(iter(other.values())))})")
        for k, diff in other.items():
            print(f"not scored: {loco / 'folds' / k}, trained otherwise than {summary} ({', '.join(diff)})", flush=True)
        return set(found) - set(other)
    first = next(iter(found.values()), None)
    for k, v in found.items():
        diff = _setting_differences(first, v)
        if diff:
            refuse(ap, f"--loco {loco / 'folds'} holds folds of two trainings, {next(iter(found))} and {k} (differing "
                       f"in {', '.join(diff)}), and no loco_summary.json to say which is the run's: score one "
                       "validate --out of one config")
    return set(found)


def expected_clusters(loco: Path, card: Any, written: Path | None) -> tuple[list[str], str]:
    """(the held-out clusters every seed's folds must hold, where that list comes from): the validated clusters of
    the card ``--write-card`` writes (``validation.per_cluster``), else those of the ``--loco`` run's own summary
    (a model trained with ``train --exclude`` or on another catalogue has other clusters than the shipped one),
    else the shipped card's."""
    summary = loco / "loco_summary.json"
    if written is None and summary.is_file():
        return list(json.loads(summary.read_text()).get("per_cluster", {})), f"{summary}"
    whose = f"the card in {written}" if written is not None else "the shipped card"
    return list((card.validation or {}).get("per_cluster", {})), f"{whose}'s validation"


def refuse_incomplete(ap: argparse.ArgumentParser, loco: Path, clusters: list[str], source: str) -> NoReturn:
    """One line: no seed's folds hold every one of ``clusters``; the closest seed's missing ones named."""
    dirs = fold_dirs(loco)
    if not clusters:
        refuse(ap, f"{source} names no validated clusters to score: run gyroage validate (README, Retraining)")
    if not dirs:
        refuse(ap, f"--loco {loco / 'folds'} holds no seed's folds (gyroage validate --out {loco} writes them)")
    d, names = min(dirs, key=lambda dn: len(set(clusters) - dn[1]))
    missing = sorted(set(clusters) - names)
    shown = ", ".join(missing[:8]) + (f" and {len(missing) - 8} more" if len(missing) > 8 else "")
    refuse(ap, f"no seed under {loco / 'folds'} has the folds of all {len(clusters)} clusters {source} names: the "
               f"most complete, {d.name}, lacks {shown} (a validate run still going, or folds of another model)")


def term_problem(frame: pd.DataFrame, fold_sets, terms: dict, start: Calibration, level_scale: float | None = None):
    """(calibration_widths.Problem over the informed stars' held-out posteriors with the term, the start vector):
    22c's objective, colour knots 1.2 / 1.9 / 2.6, widths <= 0.7 dex, the level scale held at ``start``'s (or at
    ``level_scale``); the start vector is ``start``'s widths at those knots."""
    from calibration_widths import Problem

    runs = []
    for *_, folds in fold_sets:
        pdfs, rows = [], []
        for c, f in folds.items():
            m = frame.iloc[f["source_row"]]
            colour = m["BPRP_0"].to_numpy(dtype=float)
            mg = absolute_g(m["G_0"].to_numpy(dtype=float), m[PARALLAX].to_numpy(dtype=float))
            use = terms[c].informs(colour, mg)
            ll = f["loglike"].astype(np.float64)[use]
            pdfs.append(star_posteriors(ll + terms[c].log_likelihood(colour[use], mg[use], f["grid"]), f["grid"]))
            rows.append(f["source_row"][use])
        runs.append((np.concatenate(pdfs), f["grid"], np.concatenate(rows)))
    rows = start.width_rows
    knots = list(start.colour_knots)
    x0 = np.array([w for k in TERM_COLOUR_KNOTS for w in rows[knots.index(k)][1:-1]])
    problem = Problem(runs, frame, TERM_COLOUR_KNOTS, wmax=0.7,
                      level_scale=start.level_scale if level_scale is None else level_scale)
    return problem, x0


def refit_term_calibration(frame: pd.DataFrame, fold_sets, terms: dict, start: Calibration,
                           level_scale: float | None = None) -> Calibration:
    """The informed stars' own widths (pre-registered): calibration_widths.py's objective on their held-out
    posteriors with the term, over the given seeds (:func:`term_problem`); started from v4's widths."""
    problem, x0 = term_problem(frame, fold_sets, terms, start, level_scale)
    theta = problem.fit(x0)
    cal = problem.calibration(theta)
    m, _ = problem.metrics(problem.scores(theta))
    print(f"refit on {len(problem.runs)} seeds, informed stars only: widths {[list(r) for r in cal.width_rows]}; "
          f"cov68 {m[:3].round(3).tolist()}", flush=True)
    return cal


def nested_term_calibrations(frame: pd.DataFrame, fold_sets, terms: dict, start: Calibration,
                             maxfev: int = 60) -> dict[str, Calibration]:
    """Study 23: per held-out cluster, the informed stars' widths refitted without that cluster's stars (the other
    clusters', pooled over ``fold_sets``), warm-started from ``start`` (the shipped widths) and holding its level
    scale: the term's widths nested in leave-one-cluster-out, as v4's own are."""
    problem, x0 = term_problem(frame, fold_sets, terms, start)
    names = sorted({c for *_, folds in fold_sets for c in folds})
    out = {}
    for c in names:
        theta = problem.fit(x0, [n for n in names if n != c], maxfev=maxfev)
        out[c] = problem.calibration(theta)
        print(f"nested widths without {c}: {[list(np.round(r, 3)) for r in out[c].width_rows]}", flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--catalogue", default=str(default_catalogue_path()))
    ap.add_argument("--loco", type=Path, help="a gyroage validate --out directory (every seed of its run's training "
                                              "settings in it is scored)")
    ap.add_argument("--describe", action="store_true", help="print the cluster median heights and stop")
    ap.add_argument("--json", type=Path, help="write the results here, by fold directory (each with its seed)")
    ap.add_argument("--fit-calibration", type=int, default=0, metavar="N",
                    help="refit the informed stars' widths on the first N seeds, then score every seed with them")
    ap.add_argument("--calibration-json", type=Path, help="with --fit-calibration: write the widths here")
    ap.add_argument("--term-calibration", type=Path, metavar="JSON",
                    help="score with these frozen widths for the informed stars (e.g. "
                         "benchmarks/candidates/main-sequence-calibration.json, study 22c) instead of refitting")
    ap.add_argument("--write-card", type=Path, metavar="MODEL_DIR",
                    help="with --fit-calibration or --term-calibration: write the term (fitted to every cluster), "
                         "its stars' calibration and "
                         "these per-seed figures into MODEL_DIR's card (then: gyroage export --rebuild --out MODEL_DIR)")
    ap.add_argument("--write-above-flag", type=Path, metavar="MODEL_DIR",
                    help="write only the above_main_sequence flag's bounds, from the catalogue and MODEL_DIR's term, "
                         "into its card's main_sequence section (then: gyroage export --rebuild --out MODEL_DIR)")
    ap.add_argument("--term-level-scale", type=float, default=None, metavar="S",
                    help="with --fit-calibration: hold the informed stars' level scale at S instead of the card's "
                         "(study 22d)")
    ap.add_argument("--nested", action="store_true",
                    help="with --term-calibration: refit those widths without each held-out cluster in turn and score "
                         "its stars with its own (study 23); --nested-json writes them")
    ap.add_argument("--nested-json", type=Path, help="with --nested: write the per-cluster widths here")
    ap.add_argument("--declare-err", type=float, default=None, metavar="MAG",
                    help="give every held-out star this magnitude error (abs_g0_err), as a user who knows the "
                         "scatter would (with --jitter-mag: does declaring it restore the coverage?)")
    ap.add_argument("--jitter-mag", type=float, default=0.0, metavar="MAG",
                    help="move held-out stars' magnitudes by N(0, MAG) before the term reads them (a field-star "
                         "stress test; never with --write-card)")
    args = ap.parse_args()
    # each of these scores or writes what --loco's folds give: without them the script described the catalogue and
    # exited 0 having written nothing
    needs_loco = [f"--{k.replace('_', '-')}" for k in ("write_card", "term_calibration", "fit_calibration", "nested",
                                                        "json", "calibration_json", "nested_json", "term_level_scale",
                                                        "declare_err", "jitter_mag") if getattr(args, k)]
    only = [f"--{k.replace('_', '-')}" for k in ("describe", "write_above_flag") if getattr(args, k)]
    scoring_options = (["--loco"] if args.loco is not None else []) + needs_loco
    if only and scoring_options:  # it described (or wrote the flag) and exited 0, having scored nothing
        refuse(ap, f"{only[0]} does only that and scores nothing: give {', '.join(scoring_options)} in a run of their own")
    if needs_loco and args.loco is None:
        refuse(ap, f"{' '.join(needs_loco)} {'scores' if len(needs_loco) == 1 else 'score'} the saved folds: "
                   "give --loco DIR, a gyroage validate --out directory")
    if args.nested and (args.term_calibration is None or args.write_card or args.fit_calibration):
        ap.error("--nested checks frozen widths: it needs --term-calibration, and never refits or writes a card")
    if args.jitter_mag and args.write_card:
        ap.error("--jitter-mag is a stress test: it never writes a card")
    if args.write_card and not (args.term_calibration or args.fit_calibration):  # it scored, then wrote nothing
        refuse(ap, "--write-card writes the informed stars' widths too: give them (--term-calibration JSON) or fit "
                   "them (--fit-calibration N)")
    scoring = args.loco is not None and not (args.describe or args.write_above_flag)
    if scoring:  # refused before the catalogue is read and the folds are scored, not after
        calib, weight, card = scoring_calibration(ap, args.write_card)
        if not (args.loco / "folds").is_dir():
            refuse(ap, f"--loco {args.loco} holds no folds/: name a gyroage validate --out directory")
        if args.write_card:  # the figures it writes are the card's own flow's only on folds of its settings
            check_fold_settings(ap, args.loco, args.write_card, card)
        check_fold_catalogue(ap, args.loco, Path(args.catalogue))
        # --write-card's check above refuses folds of other settings; without it, the run's own are kept
        keep = None if args.write_card else runs_fold_dirs(ap, args.loco)
        clusters, source = expected_clusters(args.loco, card, args.write_card)
        fold_sets = complete_fold_sets(args.loco, clusters, keep) if clusters else []
        if not fold_sets:
            refuse_incomplete(ap, args.loco, clusters, source)
    frame = quality_select(load_catalogue(args.catalogue))
    missing = [c for c in ("G_0", PARALLAX) if c not in frame.columns]
    # present but blank (a merge with a table without photometry): np.interp's ValueError traceback (review V44, 6)
    blank = [c for c in ("G_0", PARALLAX) if c in frame.columns and len(frame) and not frame[c].notna().any()]
    # both filled but never on one row with a positive parallax: the same traceback (review V45, 5)
    unpaired = not (missing or blank) and len(frame) and not np.isfinite(absolute_g(
        frame["G_0"].to_numpy(dtype=float), frame[PARALLAX].to_numpy(dtype=float))).any()
    if (missing or blank or unpaired) and not scoring:  # --describe, --write-above-flag: a traceback; the fits say it
        lacks = ([f"column {', '.join(missing)}"] if missing else []) + (
            [f"value in column {', '.join(blank)}"] if blank else []) + (
            [f"row with both a G_0 and a positive {PARALLAX}"] if unpaired else [])
        refuse(ap, f"rotator catalogue {args.catalogue}: the main-sequence term cannot be fitted (the catalogue has no "
                   f"{'; no '.join(lacks)})")
    if args.write_above_flag or not scoring:
        try:
            write_above_flag(args.write_above_flag, frame) if args.write_above_flag else describe(frame)
        except ValueError as exc:  # too few stars to draw the main sequence or bound the flag: gyroage's words
            refuse(ap, f"rotator catalogue {args.catalogue}: {exc}")
        return
    terms: dict = {}
    results = {}
    # each fold's term, fitted without its cluster into terms, or validate's words why it cannot be (no G_0 column,
    # too few clusters left), not a KeyError traceback
    why = why_no_term(frame, list(dict.fromkeys(c for *_, folds in fold_sets for c in folds)), terms)
    if why is not None:
        refuse(ap, f"rotator catalogue {args.catalogue}: the main-sequence term cannot be fitted ({why})")
    term_calib = Calibration.from_dict(json.loads(args.term_calibration.read_text())) if args.term_calibration else None
    if args.fit_calibration:
        term_calib = refit_term_calibration(frame, fold_sets[: args.fit_calibration], terms, calib, args.term_level_scale)
        if args.calibration_json:
            args.calibration_json.write_text(json_text(term_calib.to_dict(), indent=1) + "\n")
    if args.nested:
        term_calib = nested_term_calibrations(frame, fold_sets, terms, term_calib)
        if args.nested_json:
            args.nested_json.write_text(json_text({c: v.to_dict() for c, v in term_calib.items()}, indent=1) + "\n")
    for name, seed, folds in fold_sets:
        r = score_seed(frame, folds, terms, calib, weight, term_calib, args.jitter_mag, jitter_seed=seed,
                       declared_err=args.declare_err)
        results[name] = {"seed": seed, **r}  # by fold directory: two of one seed would overwrite each other
        a, b = r["v4"], r["cmd"]
        ge30 = [f"{v['ge30']:.4f}" if v["ge30"] is not None else "none" for v in (a, b)]  # None: no cluster >= 30 Myr
        # the count scored, not the shipped model's 25 (the results' key "all25" is kept for their readers)
        print(f"seed {seed}: all-{len(folds)} {a['all25']:.4f} -> {b['all25']:.4f}  >=30 {ge30[0]} -> {ge30[1]}  "
              f"stars {a['star_median']:.3f} -> {b['star_median']:.3f}  log score {a['log_score']:.3f} -> "
              f"{b['log_score']:.3f}  (cal {a['log_score_cal']:.3f} -> {b['log_score_cal']:.3f})  "
              f"coverage(cal) {[round(v, 3) for v in a['coverage_68_cal'].values()]} -> "
              f"{[round(v, 3) for v in b['coverage_68_cal'].values()]}  cov95(cal) "
              f"{[round(v, 3) for v in a['coverage_95_cal'].values()]} -> {[round(v, 3) for v in b['coverage_95_cal'].values()]}"
              f"  stars(cal) {a['star_median_cal']:.3f} -> {b['star_median_cal']:.3f}  "
              f"by age {[round(v, 3) for v in a['star_median_by_age'].values()]}"
              f" -> {[round(v, 3) for v in b['star_median_by_age'].values()]}  stars with the term {b['n_used']}",
              flush=True)
    if args.json:
        args.json.write_text(json_text(results, indent=1) + "\n")  # strict JSON: NaN is null
    if args.write_card and term_calib is not None:
        write_card(args.write_card, frame, term_calib, results)


def refuse(ap: argparse.ArgumentParser, message: str) -> NoReturn:
    """One line on stderr and exit 2: a user's mistake, without argparse's usage lines."""
    ap.exit(2, f"{ap.prog}: error: {message}\n")


def scoring_calibration(ap: argparse.ArgumentParser, model_dir: Path | None) -> tuple[Calibration, float, Any]:
    """The rotation calibration and joint-age outlier weight the figures are scored with, and their card: the card
    ``--write-card`` writes (its figures must be its own model's, not the shipped one's), else the shipped card.
    A card without calibration (as ``train --export`` writes it) is refused."""
    from gyroage.core.modelcard import load_card
    from gyroage.errors import ModelError

    model_dir = CARD.parent if model_dir is None else model_dir
    try:
        card, _ = load_card(model_dir, verify=False)
    except ModelError as exc:
        refuse(ap, str(exc))
    calib = Calibration.from_dict(card.calibration)
    if calib is None:
        refuse(ap, f"{model_dir}'s card has no calibration to score the figures with: run gyroage validate "
                   f"--out DIR --write-card {model_dir} --fit-calibration first (README, Retraining)")
    # validate's own joint-age weight when it has run, else the card's (which validate takes by default)
    weight = float((card.validation or {}).get("outlier_weight_group", card.outlier.get("weight", OUTLIER_WEIGHT)))
    return calib, weight, card


def check_fold_settings(ap: argparse.ArgumentParser, loco: Path, model_dir: Path, card: Any) -> None:
    """Refuse in one line folds under ``loco/folds`` not trained as ``model_dir``'s card was validated: training
    settings other than the seed and thread count (:func:`gyroage.build.loco_card.settings_differences`), another
    age grid, or, for the validated seed itself, a folds directory other than the card's ``validation.settings_key``
    (the key of the settings and grid, :meth:`gyroage.build.loco.ValidateSettings.key`). A card never validated is
    compared with its training settings."""
    validation = card.validation or {}
    train = validation.get("train_settings") or card.training.get("settings", {})
    for d in sorted((loco / "folds").iterdir()):
        if not (d / "settings.json").is_file():
            continue
        folds = json.loads((d / "settings.json").read_text())
        problems = card_differences(card, folds["train"], folds["grid"])  # shared with group_calibration.py
        same_seed = all(folds["train"].get(k) == train.get(k) for k in ("seed", "threads"))
        if not problems and same_seed and validation.get("settings_key") not in (None, d.name):
            problems.append(f"settings_key: card {validation['settings_key']}, these folds {d.name}")
        if problems:
            refuse(ap, f"--loco {d} was not trained as {model_dir}'s card was validated ({'; '.join(problems)}): "
                       f"its figures would not be this card's flow's; give the folds of gyroage validate --write-card "
                       f"{model_dir}'s run")


def check_fold_catalogue(ap: argparse.ArgumentParser, loco: Path, catalogue: Path) -> None:
    """Refuse in one line folds under ``loco/folds`` trained on another catalogue than ``catalogue``: scoring joins
    their held-out stars to its rows by row number. Each fold's own ``catalog_sha256`` (its meta, which validate's
    stale-fold check reads) is checked, not only the directory's settings.json: validate rewrites that before it
    retrains the stale folds, so an interrupted run leaves old folds under the new hash. Folds written before
    validate recorded it are taken as they are."""
    from gyroage.core.modelcard import sha256

    if not catalogue.is_file():
        return  # the catalogue's own reading says what is wrong with it
    digest = sha256(catalogue)
    for d in sorted((loco / "folds").iterdir()):
        recorded = json.loads((d / "settings.json").read_text()).get("catalog_sha256") \
            if (d / "settings.json").is_file() else None
        for where, sha in [(d, recorded), *((f, fold_catalogue(f)) for f in sorted(d.glob("*.npz")))]:
            if sha not in (None, digest):
                refuse(ap, f"--loco {where} was trained on another catalogue than {catalogue} (SHA-256 {sha[:12]}..., "
                           f"this file {digest[:12]}...): its stars would be joined to other rows; give the catalogue "
                           "it was validated on (or let gyroage validate finish retraining its folds)")


def write_card(model_dir: Path, frame: pd.DataFrame, term_calib: Calibration, results: dict) -> None:
    """The card's ``main_sequence``: the term fitted to every cluster, its stars' calibration, and the LOCO
    figures with and without it, per seed and as five-seed means."""
    from gyroage.core.modelcard import load_card
    from gyroage.core.modelcard import write_card as save

    card, _ = load_card(model_dir, verify=False)
    keys = ("all25", "ge30", "star_median", "log_score", "log_score_cal")
    runs = sorted(results, key=lambda d: results[d]["seed"])  # fold directories, one per seed (check_fold_settings)
    seeds = [results[d]["seed"] for d in runs]
    figures = {variant: {k: {"per_seed": [round(results[d][variant][k], 4) for d in runs],
                             "mean": round(float(np.mean([results[d][variant][k] for d in runs])), 4)} for k in keys}
               for variant in ("v4", "cmd")}
    for variant in ("v4", "cmd"):
        figures[variant]["coverage_68_cal"] = {b: [round(results[d][variant]["coverage_68_cal"][b], 3) for d in runs]
                                               for b in results[runs[0]][variant]["coverage_68_cal"]}
    term = fit_main_sequence_term(frame)
    card.main_sequence = {
        "term": term.to_dict(),
        "calibration": term_calib.to_dict(),
        "above_flag": above_flag_entry(frame, term),
        "validation": {"seeds": seeds, "rotation_alone": figures["v4"], "with_term": figures["cmd"],
                       "note": "leave-one-cluster-out on the validate folds given (--loco: this card's flow, this machine's), "
                               "the term fitted in "
                               "each fold without the held-out cluster (study 22, benchmarks/cmd_term.py); star "
                               "figures uncalibrated, coverage with each star's own calibration; with_term's all25 "
                               "and ge30 put the term in joint ages too (group-age --main-sequence), which "
                               "group-age leaves off by default, so its cluster figures are rotation_alone's"},
    }
    save(card, model_dir)
    print(f"wrote the main_sequence section of {model_dir}'s card", flush=True)


def above_flag_entry(frame: pd.DataFrame, term: MainSequenceTerm) -> dict:
    """The card's ``main_sequence.above_flag``: the bounds (:func:`gyroage.build.main_sequence.above_flag`), noted."""
    return {**above_flag(frame, term).to_dict(),
            "note": "above_main_sequence flag: a star with magnitudes flagged when its median age >= age_min_myr "
                    "and its height exceeds the term's expected height at its colour and median age (0 bluer than "
                    "colour_max) by more than height_mag, or, at any age, when its height exceeds young_height_mag "
                    "in its young_colour_edges bin; from members of clusters with median parallax >= 1.5 mas: "
                    "height_mag is the 99.5% excess of 0.1-1 Gyr members at 0.5 to the term's red end, "
                    "young_height_mag the highest < 100 Myr member in the bin or its neighbours + 0.5 mag "
                    "(gyroage.build.main_sequence.above_flag)"}


def write_above_flag(model_dir: Path, frame: pd.DataFrame) -> None:
    """Only the flag's bounds into ``model_dir``'s card, measured from the term the card already holds."""
    from gyroage.core.modelcard import load_card
    from gyroage.core.modelcard import write_card as save

    card, _ = load_card(model_dir, verify=False)
    term = MainSequenceTerm.from_card(card)
    if term is None:
        raise SystemExit(f"{model_dir}'s card has no main-sequence term")
    card.main_sequence = {**card.main_sequence, "above_flag": above_flag_entry(frame, term)}
    save(card, model_dir)
    print(f"wrote main_sequence.above_flag into {model_dir}'s card: {card.main_sequence['above_flag']}", flush=True)


if __name__ == "__main__":
    main()
