"""Fit the main-sequence height term (:class:`gyroage.core.main_sequence.MainSequenceTerm`) to cluster members.

Everything comes from the training clusters' own stars and labels: the main sequence
is :func:`gyroage.build.catalogue.main_sequence_curve` of their stars (M_G from each
star's own parallax, as a field star has it), and the fall of the
height with age is fitted per colour bin to the clusters' median heights.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from gyroage.build.catalogue import MAIN_SEQUENCE_AGES, PARALLAX, main_sequence_curve
from gyroage.core.main_sequence import HEIGHT_RANGE, AboveFlag, MainSequenceTerm, absolute_g, mean_height

KNOT_EDGES = tuple(float(v) for v in np.round(np.arange(1.2, 3.7001, 0.25), 2))  # ten 0.25-mag bins, 1.2-3.7
LOG_T_ZAMS_GRID = np.round(np.arange(7.0, 8.7001, 0.01), 2)
MIN_STARS_PER_CLUSTER = 5
MIN_CLUSTERS = 4
YOUNG_MYR = 50.0
SIGMA_FLOOR = 0.10
# Why a catalogue draws no main sequence (main_sequence_curve empty), for whatever would read heights from it.
NO_MAIN_SEQUENCE = "no star of a 100 Myr-1 Gyr cluster with G_0 and a parallax to draw the main sequence from"
# The above_main_sequence flag (AboveFlag): from this median age on, stars bluer than the term's colours sit on the
# main sequence (in the catalogue, 1% of the 30-100 Myr members at 0.5-1.2 mag lie over 1 mag above it, against
# 10-50% of the < 30 Myr ones); its height bound is the ABOVE_FLAG_QUANTILE of the heights of the stars the main
# sequence is drawn from (MAIN_SEQUENCE_AGES: dwarfs and unresolved binaries; the >= 1 Gyr clusters hold the
# subgiants the flag is for).
ABOVE_FLAG_AGE_MIN_MYR = 100.0
ABOVE_FLAG_QUANTILE = 0.995
ABOVE_FLAG_BLUE = 0.5  # mag of (BP-RP)0: bluer, the main sequence is steep and the Kraft break flag already speaks
# The clusters whose members' heights bound the flag: median parallax at least this (mas, within ~670 pc), where a
# G ~ 19 member's parallax error moves its height by under ~0.3 mag: beyond, parallax errors alone would move heights.
ABOVE_FLAG_MIN_PARALLAX = 1.5
# The flag whatever the age (giants): 0.25-mag colour bins from ABOVE_FLAG_BLUE to YOUNG_RED (held beyond); the
# highest young member there (Sco-Cen, 3.7 Myr, 5.16 mag at 1.40) plus a margin.
YOUNG_BIN_MAG = 0.25
YOUNG_RED = 4.5
YOUNG_MARGIN_MAG = 0.5


def fit_law(log_age: np.ndarray, height: np.ndarray) -> tuple[float, float]:
    """(slope, log10 t_z) minimising the squared misfit of ``height`` = s max(0, log10 t_z - ``log_age``).

    log10 t_z is scanned over :data:`LOG_T_ZAMS_GRID`; s >= 0 has a closed form for each.
    """
    x = np.maximum(LOG_T_ZAMS_GRID[:, None] - log_age[None, :], 0.0)
    sxx = (x * x).sum(axis=1)
    slope = np.where(sxx > 0, np.maximum((x * height[None, :]).sum(axis=1), 0.0) / np.where(sxx > 0, sxx, 1.0), 0.0)
    sse = ((height[None, :] - slope[:, None] * x) ** 2).sum(axis=1)
    best = int(np.argmin(sse))
    return float(slope[best]), float(LOG_T_ZAMS_GRID[best])


def fit_main_sequence_term(frame: pd.DataFrame) -> MainSequenceTerm:
    """The term fitted to a quality-selected catalogue's stars (``G_0``, the parallax, ``BPRP_0``, labels)."""
    colour = frame["BPRP_0"].to_numpy(dtype=float)
    age_myr = frame["fiducial_age_Myr"].to_numpy(dtype=float)
    abs_g = absolute_g(frame["G_0"].to_numpy(dtype=float), frame[PARALLAX].to_numpy(dtype=float))
    log_age = np.log10(age_myr * 1e6)
    ms_colour, ms_mag = main_sequence_curve(colour, abs_g, log_age)
    if not len(ms_colour):  # np.interp's "array of sample points is empty" named nothing
        raise ValueError(NO_MAIN_SEQUENCE)
    height = np.interp(colour, ms_colour, ms_mag) - abs_g
    cluster = frame["cluster"].to_numpy()
    with np.errstate(invalid="ignore"):
        usable = np.isfinite(height) & (height >= HEIGHT_RANGE[0]) & (height <= HEIGHT_RANGE[1])
    knots, slopes, tzs, sigmas, last_hi = [], [], [], [], KNOT_EDGES[0]
    for lo, hi in zip(KNOT_EDGES[:-1], KNOT_EDGES[1:]):
        in_bin = usable & (colour >= lo) & (colour < hi)
        per = pd.DataFrame({"c": cluster[in_bin], "d": height[in_bin], "a": log_age[in_bin]}).groupby("c")
        table = per.agg(n=("d", "size"), d=("d", "median"), a=("a", "median"))
        table = table[table["n"] >= MIN_STARS_PER_CLUSTER]
        if len(table) < MIN_CLUSTERS or not (table["a"] < np.log10(YOUNG_MYR * 1e6)).any():
            continue
        slope, log_tz = fit_law(table["a"].to_numpy(), table["d"].to_numpy())
        resid = height[in_bin] - mean_height(slope, log_tz, log_age[in_bin])
        mad = float(np.median(np.abs(resid - np.median(resid))))
        knots.append((lo + hi) / 2)
        slopes.append(slope)
        tzs.append(log_tz)
        sigmas.append(max(1.4826 * mad, SIGMA_FLOOR))
        last_hi = hi
    if not knots:
        raise ValueError("no colour bin has enough clusters to fit the main-sequence term")
    return MainSequenceTerm(
        ms_colour=tuple(float(v) for v in ms_colour), ms_mag=tuple(float(v) for v in ms_mag),
        knot_colour=tuple(float(v) for v in knots), slope=tuple(slopes), log10_t_zams=tuple(tzs),
        sigma=tuple(sigmas), colour_range=(float(KNOT_EDGES[0]), float(last_hi)), height_range=HEIGHT_RANGE)


def why_no_term(frame: pd.DataFrame, held_out: list[str] | None = None,
                fitted: dict[str, MainSequenceTerm] | None = None) -> str | None:
    """Why the term cannot be fitted to a quality-selected catalogue ``frame`` (one phrase), or None: a catalogue of
    the required columns alone has no magnitudes or parallaxes, and a small one too few clusters per colour bin.
    ``held_out``: also fit it as each fold does, without each of these clusters (without its only 100 Myr-1 Gyr
    cluster the main sequence cannot be drawn), keeping the fits in ``fitted`` (as :func:`held_out_height_term` does).
    Validation asks before any fold trains; :func:`held_out_height_term` would fail only once all had."""
    missing = [c for c in ("G_0", PARALLAX) if c not in frame.columns]
    if missing:
        return f"the catalogue has no column {', '.join(missing)}"
    try:  # the whole catalogue's reason first: it holds for every fold
        fit_main_sequence_term(frame)
    except ValueError as exc:
        return str(exc)
    for cluster in held_out or ():
        try:
            term_without(frame, cluster, fitted)
        except ValueError as exc:
            return f"without {cluster}, {exc}"
    return None


def term_without(frame: pd.DataFrame, cluster: str, fitted: dict[str, MainSequenceTerm] | None = None
                 ) -> MainSequenceTerm:
    """The main-sequence term fitted to ``frame`` without ``cluster``: ``fitted``'s when it holds one, else a new fit,
    added to ``fitted`` (the fit does not depend on the flow, so every training seed of a run shares it)."""
    term = None if fitted is None else fitted.get(cluster)
    if term is None:
        term = fit_main_sequence_term(frame[frame["cluster"] != cluster])
        if fitted is not None:
            fitted[cluster] = term
    return term


def held_out_height_term(frame: pd.DataFrame, cluster: str, members: pd.DataFrame, grid: np.ndarray,
                         fitted: dict[str, MainSequenceTerm] | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The main-sequence term of a held-out cluster's stars, fitted without that cluster: (log-likelihood on
    ``grid``, which stars it informs, their heights above the main sequence, mag).

    ``fitted``: terms already fitted to this ``frame``, by held-out cluster (:func:`term_without`).
    """
    term = term_without(frame, cluster, fitted)
    colour = members["BPRP_0"].to_numpy(dtype=float)
    abs_g = absolute_g(members["G_0"].to_numpy(dtype=float), members[PARALLAX].to_numpy(dtype=float))
    return term.log_likelihood(colour, abs_g, grid), term.informs(colour, abs_g), term.height(colour, abs_g)


def above_flag(frame: pd.DataFrame, term: MainSequenceTerm) -> AboveFlag:
    """The ``above_main_sequence`` flag's bounds from a quality-selected catalogue and the card's ``term`` (whose
    main sequence the heights are measured from, as at run time).

    Both come from the members of clusters near enough (median parallax >= :data:`ABOVE_FLAG_MIN_PARALLAX`) that
    their heights are measured, not scattered by parallax errors: the catalogue carries none, and the members of the
    1-2 kpc clusters (M50, M37, h Per) reach 2-20 mag "above" the sequence at G ~ 19. ``height_mag``: the
    :data:`ABOVE_FLAG_QUANTILE` of 0.1-1 Gyr members' heights over the term's expected height at their cluster's age,
    (BP-RP)0 :data:`ABOVE_FLAG_BLUE` to the term's red end. ``young_height_mag``: per :data:`YOUNG_BIN_MAG` bin, the
    highest member younger than ``age_min_myr`` in the bin or its neighbours, plus :data:`YOUNG_MARGIN_MAG`.
    """
    colour = frame["BPRP_0"].to_numpy(dtype=float)
    age_myr = frame["fiducial_age_Myr"].to_numpy(dtype=float)
    log_age = np.log10(age_myr * 1e6)
    plx = frame[PARALLAX].to_numpy(dtype=float)
    height = term.height(colour, absolute_g(frame["G_0"].to_numpy(dtype=float), plx))
    near = frame.groupby("cluster")[PARALLAX].transform("median").to_numpy(dtype=float) >= ABOVE_FLAG_MIN_PARALLAX
    colour_max = float(term.colour_range[0])
    flag = AboveFlag(height_mag=0.0, colour_max=colour_max, age_min_myr=ABOVE_FLAG_AGE_MIN_MYR)
    lo, hi = MAIN_SEQUENCE_AGES
    dwarfs = (near & (log_age >= lo) & (log_age <= hi) & (colour >= ABOVE_FLAG_BLUE) & (colour < term.colour_range[1])
              & np.isfinite(height))
    if dwarfs.sum() < 100:
        raise ValueError(f"{int(dwarfs.sum())} members of near 0.1-1 Gyr clusters at {ABOVE_FLAG_BLUE}-"
                         f"{term.colour_range[1]}: too few to bound the above_main_sequence flag")
    excess = height[dwarfs] - flag.expected_height(term, colour[dwarfs], age_myr[dwarfs])
    edges = np.round(np.arange(ABOVE_FLAG_BLUE, YOUNG_RED + 1e-9, YOUNG_BIN_MAG), 2)
    young = near & (age_myr < ABOVE_FLAG_AGE_MIN_MYR) & np.isfinite(height)
    b = np.searchsorted(edges, colour[young], side="right") - 1
    inside = (b >= 0) & (b < len(edges) - 1)
    top = np.full(len(edges) - 1, -np.inf)
    np.maximum.at(top, b[inside], height[young][inside])
    top = np.maximum(top, np.maximum(np.r_[-np.inf, top[:-1]], np.r_[top[1:], -np.inf]))  # a bin and its neighbours
    if not np.isfinite(top).any():
        raise ValueError("no young members near enough: no young bound for the above_main_sequence flag")
    # a bin with no young member near it (a catalogue without M-dwarf members, say) takes the loosest bound of the
    # others: the data do not bound it, and a flag it cannot support is worse than one it misses
    top = np.where(np.isfinite(top), top, top[np.isfinite(top)].max())
    return AboveFlag(height_mag=round(float(np.quantile(excess, ABOVE_FLAG_QUANTILE)), 2), colour_max=colour_max,
                     age_min_myr=ABOVE_FLAG_AGE_MIN_MYR, young_colour_edges=tuple(float(v) for v in edges),
                     young_height_mag=tuple(round(float(v) + YOUNG_MARGIN_MAG, 2) for v in top))
