"""Colours as users have them: the de-reddened Gaia (BP-RP)0 the model needs, from one of three inputs.

Per row, the first source the input gives a value for is used:

1. ``bp_rp0``, already de-reddened (with an optional E(BP-RP) and its error, used
   only for the reddening uncertainty, as before);
2. the observed ``bp_rp`` minus a reddening: an E(BP-RP) or an A_V column, or the
   ``--ebprp`` / ``--av`` options (A_V converted with :data:`EBPRP_PER_AV`);
3. ``teff``, through the dwarf sequence :data:`DWARF_TEFF_BP_RP0`.

Vectorised over stars; the chosen source is recorded per row (``colour_source``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from gyroage import io, statuses
from gyroage.errors import UserError

EBPRP_PER_AV = 1.002 - 0.589
"""E(BP-RP) / A_V = A_BP/A_V - A_RP/A_V = 1.002 - 0.589 = 0.413 (Wang & Chen 2019, ApJ 877, 116, Table 3).

Their average Milky Way extinction law (R_V = 3.16) for Gaia DR2 passbands, measured
on red-clump stars; the small dependence on the star's own colour (e.g. Casagrande et
al. 2021, MNRAS 507, 2684) is neglected: it is below 10% of E(BP-RP) for FGK stars.
"""

AG_PER_EBPRP = 0.789 / EBPRP_PER_AV
"""A_G / E(BP-RP) = 0.789 / 0.413 = 1.91 (A_G/A_V = 0.789, the same law as :data:`EBPRP_PER_AV`): de-reddens G where
only E(BP-RP) is known (``gyroage crossmatch``'s ``g0``), so that colour and magnitude share one reddening."""

DWARF_TEFF_BP_RP0 = np.array([
    # Teff [K], (BP-RP)0 [mag]: A0V ... M6V
    (9700, -0.037), (9300, 0.005), (8840, 0.068), (8600, 0.110), (8250, 0.166), (8100, 0.194),
    (7910, 0.222), (7760, 0.263), (7590, 0.320), (7400, 0.327), (7220, 0.377), (7020, 0.434),
    (6820, 0.490), (6750, 0.518), (6670, 0.546), (6550, 0.587), (6350, 0.640), (6280, 0.670),
    (6180, 0.694), (6050, 0.719), (5990, 0.767), (5930, 0.784), (5860, 0.803), (5770, 0.823),
    (5720, 0.832), (5680, 0.841), (5660, 0.850), (5600, 0.869), (5550, 0.880), (5480, 0.900),
    (5380, 0.950), (5290, 0.983), (5170, 1.01), (5100, 1.10), (4870, 1.19), (4600, 1.34),
    (4440, 1.43), (4300, 1.53), (4090, 1.70), (3990, 1.73), (3930, 1.79), (3850, 1.84),
    (3770, 1.97), (3660, 2.09), (3620, 2.13), (3560, 2.23), (3470, 2.39), (3430, 2.50),
    (3270, 2.78), (3210, 2.94), (3110, 3.16), (3060, 3.35), (2930, 3.71), (2810, 4.16),
])[::-1]
"""Mean main-sequence dwarf Teff and Gaia Bp-Rp, A0V to M6V (ascending Teff).

From E. Mamajek's "A Modern Mean Dwarf Stellar Color and Effective Temperature
Sequence" (http://www.pas.rochester.edu/~emamajek/EEM_dwarf_UBVIJHK_colors_Teff.txt,
version 2024.05.15; Pecaut & Mamajek 2013, ApJS 208, 9): intrinsic colours of
unreddened dwarfs, so the result is (BP-RP)0. Valid for dwarfs only (giants and
pre-main-sequence stars of the same Teff have other colours), over :data:`TEFF_RANGE_K`.
"""

TEFF_RANGE_K = (float(DWARF_TEFF_BP_RP0[0, 0]), float(DWARF_TEFF_BP_RP0[-1, 0]))
"""Teff range of :data:`DWARF_TEFF_BP_RP0`: outside it a row gets status ``teff_out_of_range``."""

# Values of the ``colour_source`` column.
FROM_BP_RP0, FROM_EBPRP, FROM_AV, FROM_TEFF = "bp_rp0", "bp_rp-ebprp", "bp_rp-av", "teff"
# Output columns recording the conversion (only when the input can need one: a bp_rp or teff column).
COLUMNS = ("colour_source", "bp_rp0_used", "bp_rp0_err_used", "ebprp_used", "ebprp_err_used")

MISSING_COLOUR = io.MISSING_COLOUR
NO_REDDENING = ("found BP-RP but no reddening: give --ebprp or --av, or an E(BP-RP)/A_V column "
                "(or name the column bp_rp0 if it is already de-reddened)")


def _check(name: str, value: float | None, minimum: float = 0.0) -> None:
    if value is not None and not (math.isfinite(value) and value >= minimum):
        raise UserError(f"{name} must be a finite number >= {minimum:g}")


@dataclass(frozen=True)
class Reddening:
    """One reddening for every star whose colour is the observed ``bp_rp`` (``--ebprp``/``--av``), mag.

    Columns of the input (E(BP-RP), A_V and their errors) take precedence row by row.
    """

    ebprp: float | None = None
    ebprp_err: float | None = None
    av: float | None = None
    av_err: float | None = None

    def __post_init__(self) -> None:
        # Checked here, so the library refuses what the command line refuses, in the same words.
        if self.ebprp is not None and self.av is not None:
            raise UserError("give --ebprp or --av, not both")
        for name, value in (("--ebprp", self.ebprp), ("--ebprp-err", self.ebprp_err), ("--av", self.av),
                            ("--av-err", self.av_err)):
            _check(name, value)
        if self.ebprp_err is not None and self.ebprp is None:
            raise UserError("--ebprp-err needs --ebprp")
        if self.av_err is not None and self.av is None:
            raise UserError("--av-err needs --av")

    @property
    def given(self) -> bool:
        return self.ebprp is not None or self.av is not None

    def values(self) -> tuple[float, float, str]:
        """(E(BP-RP), its error (NaN: not known), colour_source) of the option given."""
        if self.ebprp is not None:
            return self.ebprp, _or_nan(self.ebprp_err), FROM_EBPRP
        return EBPRP_PER_AV * self.av, EBPRP_PER_AV * _or_nan(self.av_err), FROM_AV


def _or_nan(v: float | None) -> float:
    return np.nan if v is None else float(v)


def teff_to_bp_rp0(teff, teff_err=None) -> tuple[np.ndarray, np.ndarray]:
    """(BP-RP)0 of main-sequence dwarfs and its error from Teff [K] (:data:`DWARF_TEFF_BP_RP0`).

    Linear in log Teff between the table's knots; the error is the Teff error times
    the local slope. NaN outside :data:`TEFF_RANGE_K` (and for NaN inputs).
    """
    t = np.asarray(teff, dtype=float)
    x, y = np.log10(DWARF_TEFF_BP_RP0[:, 0]), DWARF_TEFF_BP_RP0[:, 1]
    inside = (t >= TEFF_RANGE_K[0]) & (t <= TEFF_RANGE_K[1])
    with np.errstate(divide="ignore", invalid="ignore"):
        lt = np.log10(np.where(inside, t, TEFF_RANGE_K[0]))
        colour = np.where(inside, np.interp(lt, x, y), np.nan)
        seg = np.clip(np.searchsorted(x, lt) - 1, 0, len(x) - 2)
        slope = (y[seg + 1] - y[seg]) / (x[seg + 1] - x[seg]) / (np.where(inside, t, np.nan) * np.log(10.0))
        err = np.abs(slope) * (np.nan if teff_err is None else np.asarray(teff_err, dtype=float))
    return colour, err


@dataclass(frozen=True)
class Colours:
    """The (BP-RP)0 of every row, where it came from, and what went wrong converting it."""

    bp_rp0: np.ndarray
    bp_rp0_err: np.ndarray  # NaN: not given (the card's default is used)
    err_unparsed: np.ndarray  # text in the error column behind bp_rp0_err
    ebprp: np.ndarray | None  # the reddening behind bp_rp0 and its error (None: none known)
    ebprp_err: np.ndarray | None
    source: np.ndarray | None  # colour_source per row; None when the input can only be bp_rp0
    problem: np.ndarray  # a conversion status per row ('' if none)


def required_colour(found: dict[str, str], reddening: Reddening | None = None) -> None:
    """A one-line :class:`UserError` when the matched columns (and options) give no way to a (BP-RP)0."""
    red = reddening or Reddening()
    if not any(c in found for c in io.COLOUR_SOURCES):
        raise UserError(MISSING_COLOUR)
    has_reddening = red.given or "ebprp" in found or "av" in found
    if "bp_rp" in found and not has_reddening and "bp_rp0" not in found:
        raise UserError(NO_REDDENING)
    if red.given and "bp_rp" not in found:
        raise UserError("--ebprp/--av de-redden an observed colour, but the input has no bp_rp column")


def input_colours(frame: pd.DataFrame, cols: dict[str, str], reddening: Reddening | None = None) -> Colours:
    """Every row's (BP-RP)0 from the first of ``bp_rp0``, ``bp_rp`` + reddening, ``teff`` it has a value for.

    ``cols`` maps canonical names to the frame's columns (:func:`gyroage.io.match_columns`).
    """
    red = reddening or Reddening()
    required_colour(cols, red)
    n = len(frame)

    def read(name: str) -> tuple[np.ndarray, np.ndarray]:
        values = io.numeric(frame, cols.get(name))
        return values, io.unparsed(frame, cols.get(name), values)

    c0, bad0 = read("bp_rp0")
    err0, bad_err0 = read("bp_rp0_err")
    if "ebprp" in cols and "ebprp_err" in cols:  # a de-reddened colour's reddening: only its error is used
        e_col, se_col = read("ebprp")[0], read("ebprp_err")[0]
    else:
        e_col = se_col = None
    use_obs = "bp_rp" in cols and (red.given or "ebprp" in cols or "av" in cols)
    if not (use_obs or "teff" in cols):
        return Colours(c0, err0, bad_err0, e_col, se_col, None, np.full(n, "", dtype=object))

    # Which source each row uses: the first that has a value (a number or text) in the row.
    given0 = ("bp_rp0" in cols) & (~np.isnan(c0) | bad0)
    obs, bad_obs = read("bp_rp") if use_obs else (np.full(n, np.nan), np.zeros(n, dtype=bool))
    given_obs = ~given0 & (~np.isnan(obs) | bad_obs) if use_obs else np.zeros(n, dtype=bool)
    from_teff = ~given0 & ~given_obs & ("teff" in cols)
    from_obs = given_obs | (~given0 & ~from_teff & use_obs)  # no value anywhere: the first column present
    problem = np.full(n, "", dtype=object)
    colour, err, err_bad = c0.copy(), err0.copy(), bad_err0.copy()
    ebprp = np.full(n, np.nan) if e_col is None else np.where(from_obs | from_teff, np.nan, e_col)
    ebprp_err = np.full(n, np.nan) if se_col is None else np.where(from_obs | from_teff, np.nan, se_col)
    source = np.where(from_obs, "", np.where(from_teff, FROM_TEFF, FROM_BP_RP0)).astype(object)

    if use_obs:
        e, se, src, bad_red = _reddening(frame, cols, red, n)
        obs_err, bad_obs_err = read("bp_rp_err")
        m = from_obs
        colour[m], err[m], err_bad[m] = obs[m] - e[m], obs_err[m], bad_obs_err[m]
        ebprp[m], ebprp_err[m], source[m] = e[m], se[m], src[m]
        problem[m & np.isfinite(obs) & bad_red] = statuses.INVALID_REDDENING
        colour[m & bad_red] = np.nan
    if "teff" in cols:
        teff, _ = read("teff")
        teff_err, bad_teff_err = read("teff_err")
        m = from_teff
        c_t, e_t = teff_to_bp_rp0(teff[m], teff_err[m])
        colour[m], err[m] = c_t, e_t
        # the slope keeps a zero, negative or infinite Teff error one: check_stars refuses it as a colour error
        err_bad[m] = bad_teff_err[m]
        out = m & np.isfinite(teff) & (teff > 0) & ~((teff >= TEFF_RANGE_K[0]) & (teff <= TEFF_RANGE_K[1]))
        problem[out] = statuses.TEFF_OUT_OF_RANGE
    return Colours(colour, err, err_bad, ebprp, ebprp_err, source, problem)


def _reddening(frame: pd.DataFrame, cols: dict[str, str], red: Reddening,
               n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(E(BP-RP), its error, colour_source, unusable) per row: E(BP-RP) column, else A_V column, else the option."""
    e, se = np.full(n, np.nan), np.full(n, np.nan)
    src = np.full(n, "", dtype=object)
    bad = np.zeros(n, dtype=bool)
    for name, scale, label in (("ebprp", 1.0, FROM_EBPRP), ("av", EBPRP_PER_AV, FROM_AV)):
        if name not in cols:
            continue
        v = io.numeric(frame, cols[name])
        ve = io.numeric(frame, cols.get(f"{name}_err"))
        text = io.unparsed(frame, cols[name], v) | io.unparsed(frame, cols.get(f"{name}_err"), ve)
        take = (src == "") & (~np.isnan(v) | text)  # the first column with something in the row
        e[take], se[take], src[take] = scale * v[take], scale * ve[take], label
        bad |= take & (text | ~(np.isfinite(v) & (v >= 0)) | ~(np.isnan(ve) | (np.isfinite(ve) & (ve >= 0))))
    if red.given:
        opt_e, opt_se, label = red.values()
        rest = src == ""
        e[rest], se[rest], src[rest] = opt_e, opt_se, label
    bad |= src == ""  # no reddening for this row
    src[src == ""] = FROM_EBPRP if "ebprp" in cols else FROM_AV
    return e, se, src, bad


def conversion_columns(colours: Colours, bp_rp0_err_used: np.ndarray) -> dict[str, np.ndarray]:
    """The output columns recording which colour each row used (empty when no conversion could happen).

    ``bp_rp0_err_used`` is the colour's error as the flow used it (default filled,
    clipped); ``bp_rp0_err_used`` in the output adds the reddening error in quadrature.
    """
    if colours.source is None:
        return {}
    e, se = colours.ebprp, colours.ebprp_err  # arrays whenever a source is recorded (input_colours)
    total = np.where(np.isfinite(se), np.hypot(bp_rp0_err_used, np.nan_to_num(se)), bp_rp0_err_used)
    ok = np.isfinite(colours.bp_rp0)
    return dict(zip(COLUMNS, (colours.source, colours.bp_rp0, np.where(ok, total, np.nan), e, se)))


def excess_colour_sigma(bp_rp0_err: np.ndarray, ebprp_err: np.ndarray | None, card) -> np.ndarray:
    """Colour uncertainty beyond the training colours' typical one (the card's default), in quadrature.

    The flow learnt periods against observed colours, noise included, so only
    the excess (and any reddening uncertainty) is left to marginalise over.
    """
    var = np.maximum(np.asarray(bp_rp0_err, float) ** 2 - card.default_bp_rp0_err ** 2, 0.0)
    if ebprp_err is not None:
        var = var + np.nan_to_num(np.asarray(ebprp_err, float)) ** 2
    return np.sqrt(var)
