"""The figures of a leave-one-cluster-out run: how held-out stars and joint ages are scored and summarised.

Pure numpy over posteriors and tables (:mod:`gyroage.build.loco` runs the folds and calls these): each
star's quantiles, PIT and log score against its cluster's age, coverage and errors by age bin and colour
band, the issue's two cluster columns, what the height term changed, and the spread over seeds.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from gyroage.build import calibration
from gyroage.core.posterior import SUMMARY_COLUMNS, cdf_at, cdf_value, quantiles

LEVELS = (0.5, 0.68, 0.8, 0.9, 0.95)
# Age bins of the calibration summary, by the held-out cluster's fiducial age (Myr): (label, lower, upper).
OLD_MYR = 30.0  # the second cluster column: clusters this old or older (past the pre-main sequence)
_EDGES_MYR = tuple(10 ** (e - 6) for e in calibration.AGE_EDGES)  # the calibration's bins, in Myr
AGE_BINS = ((f"<{_EDGES_MYR[0]:.0f} Myr", 0.0, _EDGES_MYR[0]), (f"{_EDGES_MYR[0]:.0f}-{_EDGES_MYR[1]:.0f} Myr", *_EDGES_MYR),
            (f">={_EDGES_MYR[1]:.0f} Myr", _EDGES_MYR[1], np.inf))
# (BP-RP)0 bands of the by-colour summary: F, G, G/K, K, late K, M dwarfs (edges in mag).
COLOUR_EDGES = (0.5, 0.8, 1.0, 1.3, 1.8, 2.5)
COLOUR_BANDS = (f"<{COLOUR_EDGES[0]}", *(f"{a}-{b}" for a, b in zip(COLOUR_EDGES, COLOUR_EDGES[1:])),
                f">={COLOUR_EDGES[-1]}")


def judge_stars(post: np.ndarray, grid: np.ndarray, truth: np.ndarray) -> dict[str, np.ndarray]:
    """Star posteriors ``post`` on ``grid`` against their true log10 ages: the columns of ``loco_stars.csv`` that
    :func:`by_age_bin` reads (true age, quantiles, error of the median, PIT, 68% hit, log score)."""
    q, p = quantiles(post, grid), cdf_at(post, grid, truth)
    return {"true_age_myr": 10 ** (truth - 6),
            **{name: 10 ** (q[:, i] - 6) for i, name in enumerate(SUMMARY_COLUMNS[:-1])},  # no MAP here
            "error_dex": q[:, 2] - truth, "pit": p, "in_68": calibration.inside(p, 0.68),
            "log_score": log_score(post, grid, truth)}


def log_score(pdf: np.ndarray, grid: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """A proper score beside coverage: ln of each posterior's density (per dex) at its truth (floored at 1e-300)."""
    return np.log(np.maximum(cdf_value(pdf, grid, truth), 1e-300))


def coverage(pit_values: np.ndarray, level: float) -> float:
    """Fraction of stars whose central ``level`` interval holds the truth."""
    return float(np.mean(calibration.inside(pit_values, level))) if len(pit_values) else float("nan")


def interval_sides(pit_values: np.ndarray, level: float = 0.68) -> tuple[float, float, float]:
    """Shares of truths inside the central ``level`` interval, below it and above it (of a non-empty set)."""
    p = np.asarray(pit_values, dtype=float)
    lo = 0.5 - level / 2
    return coverage(p, level), float(np.mean(p < lo)), float(np.mean(p > 1.0 - lo))


def by_age_bin(stars: pd.DataFrame) -> dict[str, dict[str, float | None]]:
    """Held-out star coverage (68%), the sides it misses on, median |error| and median error, median 68% half-width
    and mean log score per :data:`AGE_BINS` bin of the star's cluster age (empty bins: None)."""
    age = stars["true_age_myr"].to_numpy(dtype=float)
    pit = stars["pit"].to_numpy(dtype=float)
    signed = stars["error_dex"].to_numpy(dtype=float)
    err = np.abs(signed)
    half = 0.5 * np.log10(stars["age_p84_myr"].to_numpy(dtype=float) / stars["age_p16_myr"].to_numpy(dtype=float))
    score = stars["log_score"].to_numpy(dtype=float)
    out: dict[str, dict] = {"coverage_68": {}, "below_68": {}, "above_68": {}, "median_abs_dex": {},
                            "median_error_dex": {}, "median_half_width_68_dex": {}, "mean_log_score": {}, "n_stars": {}}
    for label, lo, hi in AGE_BINS:
        m = (age >= lo) & (age < hi)
        # A bin's coverage can sit in range while every miss falls on one side (truth older than p84):
        # the shares of truths below p16 and above p84 say which way its ages lean.
        sides = interval_sides(pit[m]) if m.any() else (None, None, None)
        out["coverage_68"][label], out["below_68"][label], out["above_68"][label] = sides
        out["median_abs_dex"][label] = float(np.median(err[m])) if m.any() else None
        out["median_error_dex"][label] = float(np.median(signed[m])) if m.any() else None  # < 0: dated too young
        out["median_half_width_68_dex"][label] = float(np.median(half[m])) if m.any() else None
        out["mean_log_score"][label] = float(np.mean(score[m])) if m.any() else None
        out["n_stars"][label] = int(m.sum())
    return out


def by_age_and_colour(stars: pd.DataFrame) -> dict[str, dict]:
    """Held-out star 68% coverage and mean log score per age bin and (BP-RP)0 band (:data:`COLOUR_BANDS`;
    empty cells: None): where the age bins' averages hide the colours' opposite errors."""
    age = stars["true_age_myr"].to_numpy(dtype=float)
    band = np.digitize(stars["bp_rp0"].to_numpy(dtype=float), COLOUR_EDGES)
    pit, score = stars["pit"].to_numpy(dtype=float), stars["log_score"].to_numpy(dtype=float)
    out: dict[str, dict] = {"coverage_68": {}, "mean_log_score": {}, "n_stars": {}}
    for label, lo, hi in AGE_BINS:
        for key in out:
            out[key][label] = {}
        for k, name in enumerate(COLOUR_BANDS):
            m = (age >= lo) & (age < hi) & (band == k)
            out["coverage_68"][label][name] = round(coverage(pit[m], 0.68), 3) if m.any() else None
            out["mean_log_score"][label][name] = round(float(np.mean(score[m])), 3) if m.any() else None
            out["n_stars"][label][name] = int(m.sum())
    return out


def cluster_medians(error_dex, age_myr) -> tuple[float, float | None]:
    """The issue's two cluster columns: median |joint-age error| over every cluster and over those of
    :data:`OLD_MYR` and older (None without any)."""
    err, old = np.abs(np.asarray(error_dex, dtype=float)), np.asarray(age_myr, dtype=float) >= OLD_MYR
    return float(np.median(err)), float(np.median(err[old])) if old.any() else None


def main_sequence_summary(stars: pd.DataFrame, alone: pd.DataFrame) -> dict:
    """What the height term changed: how many stars it informed, and the star figures of rotation alone on the
    same folds (the summary's own star figures are with the term)."""
    bins = by_age_bin(alone)
    informed = stars["ms_informed"].to_numpy(dtype=bool)
    return {
        "n_informed": int(informed.sum()),
        "star_median_abs_dex_informed": float(np.median(np.abs(stars.loc[informed, "error_dex"])))
        if informed.any() else None,
        "rotation_alone": {
            "loco_star_median_abs_dex": float(np.median(np.abs(alone["error_dex"]))),
            "loco_star_mean_log_score": float(np.mean(alone["log_score"])),
            "loco_star_coverage_68_by_age": bins["coverage_68"],
            "loco_star_median_abs_dex_by_age": bins["median_abs_dex"],
        },
    }


# Figures whose spread over training seeds the summary reports: the cluster medians' sd over seeds is
# 0.013-0.019 dex for the shipped settings (docs/validation.md), as much as most candidates differ.
SEED_FIGURES = ("loco_cluster_median_abs_dex", "loco_cluster_median_abs_dex_ge30myr", "loco_star_median_abs_dex",
                "loco_star_mean_log_score")
SEED_BIN_FIGURES = ("loco_star_coverage_68_by_age", "loco_star_below_68_by_age", "loco_star_above_68_by_age",
                    "loco_star_median_abs_dex_by_age")


def _spread(values: list) -> dict:
    v = np.array([x for x in values if x is not None], dtype=float)
    return {"per_seed": values, "mean": float(v.mean()) if v.size else None,
            "sd": float(v.std(ddof=1)) if v.size > 1 else None}


def seed_spread(summaries: dict[int, dict], top: int | None = None) -> dict:
    """:data:`SEED_FIGURES` and :data:`SEED_BIN_FIGURES` of LOCO summaries by training seed: per seed, mean and sd;
    ``top``: the seed whose tables are the run's top level (``--seed``; :func:`seed_table_dirs` reads it)."""
    seeds = sorted(summaries)
    out: dict = {"seeds": seeds, **({} if top is None else {"top_level_seed": top})}
    for k in SEED_FIGURES:
        out[k] = _spread([summaries[sd].get(k) for sd in seeds])
    for k in SEED_BIN_FIGURES:
        out[k] = {b: _spread([summaries[sd][k].get(b) for sd in seeds]) for b in summaries[seeds[0]][k]}
    return out


def seed_table_dirs(out_dir: str | Path) -> list[Path]:
    """A ``gyroage validate --out`` directory's table directories, one per training seed its summary names: the
    top level's are ``--seed``'s (``top_level_seed``; a summary written before it was recorded: its
    ``train_settings.seed``), every other seed's ``seed_<n>/``, whatever their order (stale ``seed_<n>/`` of earlier
    runs are not). The first seed in order was taken for the top level's: ``--seed 2 --extra-seeds 1`` read seed 2
    twice and never seed 1 (review V46, 2)."""
    out = Path(out_dir)
    summary = json.loads((out / "loco_summary.json").read_text())
    by_seed = summary.get("loco_by_seed", {})
    top = by_seed.get("top_level_seed", summary.get("train_settings", {}).get("seed", 0))
    return [out, *(out / f"seed_{s}" for s in by_seed.get("seeds", []) if s != top)]
