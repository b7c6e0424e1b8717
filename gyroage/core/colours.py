"""Colours as users have them: the de-reddened Gaia (BP-RP)0 the model needs, from one of five inputs.

Per row, the first source the input gives a value for is used:

1. ``bp_rp0``, already de-reddened (with an optional E(BP-RP), A_V or E(B-V) error, with or without its value,
   added to the colour's uncertainty: :func:`_reddening_beside`);
2. the observed ``bp_rp`` minus a reddening: an E(BP-RP), A_V or E(B-V) column, or the
   ``--ebprp`` / ``--av`` / ``--ebv`` options (A_V and E(B-V) converted with the colour-dependent
   E(BP-RP)/A_0 of the Gaia EDR3 extinction law: :func:`ebprp_per_a0`, :func:`deredden`);
3. ``teff``, through the dwarf sequence :data:`DWARF_TEFF_BP_RP0`;
4. ``v_ks0``, a de-reddened (V-Ks)0, and
5. ``b_v0``, a de-reddened (B-V)0, through the same sequence's colours (:data:`DWARF_SEQUENCE`).

Vectorised over stars; the chosen source is recorded per row (``colour_source``).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from gyroage import io, statuses
from gyroage.column_notes import unread_column_notes
from gyroage.columns import (
    REDDENING_NAMES,
    UPPER,
    describe,
    duplicate_notes,
    name_conversions,
    option_notes,
    reads_observed,
)
from gyroage.core.arguments import same_index
from gyroage.core.photometry import (
    DWARF_SEQUENCE,
    DWARF_TEFF_BP_RP0,
    FITZ19_COLOUR_MAX,
    R_V,
    SEQUENCE_COLUMN,
    SEQUENCE_RANGE,
    SUN_BP_RP0,
    deredden,
    ebprp_per_a0,
)
from gyroage.errors import UserError

# Values of the ``colour_source`` column (a dwarf-sequence input's is its own name: teff, b_v0, v_ks0).
FROM_BP_RP0, FROM_EBPRP, FROM_AV, FROM_EBV = "bp_rp0", "bp_rp-ebprp", "bp_rp-av", "bp_rp-ebv"
# The reddening columns, in the order a row takes them, with their A_0 per unit (None: an E(BP-RP), used as it is;
# the others become E(BP-RP) through ebprp_per_a0) and colour_source label (E(B-V) last: inputs with A_V beside an
# E(B-V) that earlier versions ignored keep their ages).
REDDENINGS = tuple(zip(REDDENING_NAMES, (None, 1.0, R_V), (FROM_EBPRP, FROM_AV, FROM_EBV), strict=True))
# How the reading line names the colour-dependent ratio (input_notes)
K_NOTE = (f"k = E(BP-RP)/A_0 of the Gaia EDR3 extinction law at the star's (BP-RP)0 and A_0: "
          f"{float(ebprp_per_a0(SUN_BP_RP0, 0.0)):.3f} at the Sun's colour, "
          f"{float(ebprp_per_a0(FITZ19_COLOUR_MAX, 0.0)):.3f} for M dwarfs, at A_0 -> 0")
# Output columns recording the conversion (only when the input can need one: a bp_rp or dwarf-sequence column).
COLUMNS = ("colour_source", "bp_rp0_used", "bp_rp0_err_used", "ebprp_used", "ebprp_err_used")

MISSING_COLOUR = io.MISSING_COLOUR
NO_REDDENING = ("found BP-RP but no reddening: give --ebprp, --av or --ebv, or an E(BP-RP)/A_V/E(B-V) column "
                "(or name the column bp_rp0 if it is already de-reddened)")
# The same for a command that takes no reddening options (plot sequence): only the file can give one.
NO_REDDENING_COLUMN = ("found BP-RP but no reddening: add an E(BP-RP), A_V or E(B-V) column "
                       "(or name the column bp_rp0 if it is already de-reddened)")


def _check(name: str, value: float | None, minimum: float = 0.0) -> None:
    if value is not None and not (math.isfinite(value) and value >= minimum):
        raise UserError(f"{name} must be a finite number >= {minimum:g}")


@dataclass(frozen=True)
class Reddening:
    """One reddening for every star whose colour is the observed ``bp_rp`` (``--ebprp``/``--av``/``--ebv``), mag.

    Columns of the input (E(BP-RP), A_V, E(B-V) and their errors) take precedence row by row.
    """

    ebprp: float | None = None
    ebprp_err: float | None = None
    av: float | None = None
    av_err: float | None = None
    ebv: float | None = None
    ebv_err: float | None = None

    def __post_init__(self) -> None:
        # Checked here, so the library refuses what the command line refuses, in the same words.
        given = [f"--{name}" for name, _, _ in REDDENINGS if getattr(self, name) is not None]
        if len(given) > 1:
            raise UserError(f"give one of --ebprp, --av and --ebv, not {' and '.join(given)}")
        for name, _, _ in REDDENINGS:
            _check(f"--{name}", getattr(self, name))
            _check(f"--{name}-err", getattr(self, f"{name}_err"))
            if getattr(self, f"{name}_err") is not None and getattr(self, name) is None:
                raise UserError(f"--{name}-err needs --{name}")

    @property
    def given(self) -> bool:
        return any(getattr(self, name) is not None for name, _, _ in REDDENINGS)

    def values(self) -> tuple[float, float, str, float | None]:
        """(value, its error (NaN: not known), colour_source, A_0 per unit (None: an E(BP-RP))) of the option given,
        in the option's own unit: :func:`_to_ebprp` converts it star by star."""
        for name, a0_per, label in REDDENINGS:
            if getattr(self, name) is not None:
                return float(getattr(self, name)), _or_nan(getattr(self, f"{name}_err")), label, a0_per
        raise ValueError("no reddening option given")


def _or_nan(v: float | None) -> float:
    return np.nan if v is None else float(v)


def teff_to_bp_rp0(teff, teff_err=None) -> tuple[np.ndarray, np.ndarray]:
    """(BP-RP)0 of main-sequence dwarfs and its error from Teff [K] (:func:`sequence_to_bp_rp0`)."""
    return sequence_to_bp_rp0("teff", teff, teff_err)


def sequence_to_bp_rp0(source: str, value, err=None) -> tuple[np.ndarray, np.ndarray]:
    """(BP-RP)0 of main-sequence dwarfs and its error from ``teff`` [K], ``b_v0`` or ``v_ks0`` [mag].

    Read off :data:`DWARF_SEQUENCE` between its knots: linear in log Teff for Teff, linear in the colour for the
    colours. The error is ``err`` times the local slope (NaN without ``err``). NaN outside
    :data:`SEQUENCE_RANGE` (and for NaN inputs).
    """
    log = source == "teff"
    table = DWARF_TEFF_BP_RP0 if log else DWARF_SEQUENCE[:, [SEQUENCE_COLUMN[source], 2]]  # ascending input
    x, y = (np.log10(table[:, 0]) if log else table[:, 0]), table[:, 1]
    lo, hi = SEQUENCE_RANGE[source]
    v = np.asarray(value, dtype=float)
    inside = (v >= lo) & (v <= hi)
    with np.errstate(divide="ignore", invalid="ignore"):
        xv = np.log10(np.where(inside, v, lo)) if log else np.where(inside, v, lo)
        colour = np.where(inside, np.interp(xv, x, y), np.nan)
        seg = np.clip(np.searchsorted(x, xv) - 1, 0, len(x) - 2)
        slope = (y[seg + 1] - y[seg]) / (x[seg + 1] - x[seg])
        # d colour / d Teff = slope in log Teff / (Teff ln 10)
        slope = slope / (np.where(inside, v, np.nan) * np.log(10.0)) if log else np.where(inside, slope, np.nan)
        out_err = np.abs(slope) * (np.nan if err is None else np.asarray(err, dtype=float))
    return colour, out_err


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


def required_colour(found: dict[str, str], reddening: Reddening | None = None, options: bool = True) -> None:
    """A one-line :class:`UserError` when the matched columns (and options) give no way to a (BP-RP)0.

    ``options``: whether the command has ``--ebprp``/``--av``/``--ebv`` (else the message names only columns).
    """
    red = reddening or Reddening()
    if not any(c in found for c in io.COLOUR_SOURCES):
        raise UserError(MISSING_COLOUR)
    if "bp_rp" in found and not reads_observed(found, red.given) and "bp_rp0" not in found:
        raise UserError((NO_REDDENING if options else NO_REDDENING_COLUMN) + _no_reddening_hints(found))
    if red.given and "bp_rp" not in found:
        raise UserError("--ebprp/--av/--ebv de-redden an observed colour, but the input has no bp_rp column")


def _no_reddening_hints(found: dict[str, str]) -> str:
    """What :data:`NO_REDDENING` adds for this input: an error column that once meant a reddening, the colour a
    Teff, (V-Ks)0 or (B-V)0 column would give. The user chooses: the run does not quietly take another colour."""
    hints = []
    err = found.get("bp_rp_err")
    if err is not None and str(err).lstrip("\ufeff").strip().startswith("e_"):
        hints.append(f"'{err}' is the error of BP-RP (VizieR's e_ prefix), not the reddening E(BP-RP)")
    alt = next((name for name in SEQUENCE_COLUMN if name in found), None)
    if alt is not None:
        hints.append(f"or leave out '{found['bp_rp']}' to take the colour from '{found[alt]}'")
    return "".join(f"; {h}" for h in hints)


def say_input_notes(columns, reddening: Reddening | None, magnitudes: bool, log,
                    options: Iterable[tuple[str, str | None]] = (), period_error: bool = True,
                    no_term: str | None = None, rows: pd.DataFrame | None = None) -> None:
    """Hand ``log`` each line of :func:`input_notes`; with ``log`` None (``-q``), print only what ``-q`` leaves of
    them: a conversion the column's name asks for (``Per [h]``), as a units row's is printed
    (:func:`gyroage.columns.name_conversions`). An absolute G read from a name without a 0 is said either way
    (:func:`gyroage.column_notes.magnitude_notes`, which also says g0 and parallax beside abs_g0 are not read), and so is
    an observed colour's error beside a bp_rp0 (:func:`gyroage.column_notes.unread_column_notes`, as the API). Every
    command that reads stars says its columns through this.
    ``options``: (option, the column it names) pairs, ``("--by", "cluster")``, said when several columns match one
    (:func:`gyroage.columns.option_notes`). ``period_error``: whether the run reads the period's error (group-age
    does not). ``columns``: the input's names, or its rows (a frame: its first chunk, or all), which the magnitudes'
    part of the reading line is checked against (:func:`input_notes`). ``no_term``: the model whose card has no
    main-sequence term, where the run would otherwise read magnitudes (:func:`gyroage.column_notes.no_term_note`).
    ``rows``: the input's rows when ``columns`` are names (whether a GSP-Phot reddening de-reddens any)."""
    names = list(columns)
    # how the magnitudes are read (an absolute G without a 0 in its name, g0 and parallax beside abs_g0 unread), an
    # observed colour's error unread: said even with -q, as a conversion is (its ages depend on it)
    unread = unread_column_notes(names, magnitudes, reddening is not None and reddening.given, no_term,
                                 columns if isinstance(columns, pd.DataFrame) else rows)
    if log is not None:
        for line in [*option_notes(names, options), *input_notes(columns, reddening, magnitudes, period_error)]:
            log(line)
    else:
        line = name_conversions(names)
        if line:
            print(f"gyroage: {line}", file=sys.stderr, flush=True)
    for line in unread:
        print(f"gyroage: {line}", file=sys.stderr, flush=True)


def input_notes(columns, reddening: Reddening | None = None, magnitudes: bool = False,
                period_error: bool = True) -> list[str]:
    """Lines telling which input columns a run reads (printed once on stderr, ``-q`` silences them).

    Several columns of one quantity (the first is used, the others named), then which columns give the period
    and the colour: ``reading prot from 'Per' (d), colour from 'BP-RP' - 3.16k x 'E(B-V)' (k = ...)``.
    ``group-age`` has no ``colour_source`` column: this line is where its user sees it. ``magnitudes``: the run uses
    the card's main-sequence term (:func:`gyroage.core.main_sequence.magnitude_use`), so the line also names its columns, as
    :func:`gyroage.core.stars.input_abs_g` picks them: ``, magnitudes from 'G0' and 'plx' (main-sequence term)``.
    ``period_error``: name the period's error column (False where the run never reads it: group-age's joint age).
    ``columns`` may be the rows (a frame): then a magnitude column with no number in them is not named as read,
    ``no magnitudes ('plx' holds no number in its first 2 rows)``, as no star of them is dated with it.
    """
    red = reddening or Reddening()
    frame = columns if isinstance(columns, pd.DataFrame) else None
    found = io.match_columns(list(columns))

    def note(text: str, extra: str) -> str:
        return f"{text[:-1]}; {extra})" if text.endswith(")") else f"{text} ({extra})"

    def col(name: str, unit: str | None = None) -> str:
        text = describe(found[name], unit)
        err, upper = found.get(f"{name}_err"), found.get(f"{name}_err{UPPER}")
        if err is None:
            return text
        plain = describe(found[name])  # "'Prot [h]' (h, converted to days)": an error whose name gives no unit is in days
        unit = plain.rsplit("converted to ", 1)[-1][:-1] if plain != f"'{found[name]}'" else None
        if upper is not None:  # VizieR's lower and upper errors (input_colours)
            return note(text, f"error mean of {describe(err, unit)} and {describe(upper, unit)}")
        return note(text, f"error {describe(err, unit)}")

    def reddening_text(name: str) -> str:  # not `reddening`: that is the parameter, the --ebprp/--av/--ebv given
        text = col(name)
        if name == "ebprp" and str(found[name]).lstrip("\ufeff").strip().startswith("E_"):
            # E_X is VizieR's upper error when its e_X is beside it (gyroage.columns): say which this one was taken as
            lower = "e_" + str(found[name]).lstrip("\ufeff").strip()[2:]
            text = note(text, f"taken as the reddening E(BP-RP): no '{lower}' beside it")
        return text

    sources, blank = [], None  # blank: the observed colour a later source is read only without (input_colours)
    for name in io.COLOUR_SOURCES:
        if name not in found:
            continue
        if name == "bp_rp0":  # the reddening errors added to a de-reddened colour's (input_colours), in row order
            errs = [_factor(a0_per) + describe(found[f"{r}_err"]) for r, a0_per, _ in REDDENINGS if f"{r}_err" in found]
            k = any(a0_per is not None for r, a0_per, _ in REDDENINGS if f"{r}_err" in found)
            text = "reddening error " + " else ".join(errs) + (f"; {K_NOTE}" if k else "")
            sources.append(note(col(name), text) if errs else col(name))
            continue
        if name != "bp_rp":  # a row with bp_rp but no usable reddening is invalid_reddening, never dated from these
            sources.append(col(name) + (f" where '{blank}' is blank" if blank else ""))
            blank = None  # said once, at the first of them
            continue
        terms = [reddening_text(r) if a0_per is None else f"{_factor(a0_per)}{col(r)}"
                 for r, a0_per, _ in REDDENINGS if r in found]
        k = any(a0_per is not None for r, a0_per, _ in REDDENINGS if r in found)
        opt = next((r for r, _, _ in REDDENINGS if getattr(red, r) is not None), None)
        if opt is not None:
            a0_per = dict((r, a) for r, a, _ in REDDENINGS)[opt]
            terms.append(_factor(a0_per) + f"--{opt} {getattr(red, opt):g}")
            k = k or a0_per is not None
        if terms:  # without a reddening the observed colour is not read (required_colour)
            text = f"{col('bp_rp')} - " + " else ".join(terms)
            sources.append(note(text, K_NOTE) if k else text)
            blank = found["bp_rp"]
    period = col("prot", "d") if period_error else describe(found.get("prot", ""), "d")
    read = [f"prot from {period}"] if "prot" in found else []
    if sources:
        read.append("colour from " + ", else ".join(sources))
    if magnitudes and ("abs_g0" in found or ("g0" in found and "parallax" in found)):
        mags = col("abs_g0") if "abs_g0" in found else f"{col('g0')} and {col('parallax')}"
        term = "main-sequence term"
        # the names alone would claim a column whose cells are all text or missing ('-', a ',' file's "5,3")
        empty = [] if frame is None or not len(frame) else [
            found[name] for name in (("abs_g0",) if "abs_g0" in found else ("g0", "parallax"))
            if np.isnan(io.numeric(frame, found[name])).all()]
        if empty:
            holds = "holds no number in its" if len(empty) == 1 else "hold no number in their"
            rows = f"{len(frame)} rows" if len(frame) > 1 else "row"
            read.append(f"no magnitudes ({' and '.join(map(describe, empty))} {holds} first {rows})")
        else:
            read.append(f"magnitudes from {mags[:-1]}; {term})" if mags.endswith(")")
                        else f"magnitudes from {mags} ({term})")
    return duplicate_notes(columns) + ([f"reading {', '.join(read)}"] if read else [])


def _factor(a0_per: float | None) -> str:
    """How the reading line writes a reddening's conversion to E(BP-RP): none, ``k x `` (A_V), ``3.16k x `` (E(B-V))."""
    if a0_per is None:
        return ""
    return "k x " if a0_per == 1 else f"{a0_per:.3g}k x "


def input_colours(frame: pd.DataFrame, cols: dict[str, str], reddening: Reddening | None = None) -> Colours:
    """Every row's (BP-RP)0 from the first of ``bp_rp0``, ``bp_rp`` + reddening, ``teff``, ``v_ks0``, ``b_v0`` it has a
    value for.

    ``cols`` maps canonical names to the frame's columns (:func:`gyroage.io.match_columns`).
    """
    red = reddening or Reddening()
    required_colour(cols, red)
    n = len(frame)

    def read(name: str) -> tuple[np.ndarray, np.ndarray]:  # an error: with VizieR's upper one, their mean
        return io.mean_error(frame, cols.get(name), cols.get(f"{name}{UPPER}") if name.endswith("_err") else None)

    c0, bad0 = read("bp_rp0")
    err0, bad_err0 = read("bp_rp0_err")
    # a de-reddened colour's reddening: its error widens the colour; its value only bounds E >= 0 (both methods)
    e_col, se_col, bad_beside = _reddening_beside(frame, cols, n, c0)
    bad_beside &= np.isfinite(c0)  # a missing or bad colour is invalid_colour, the more basic status
    use_obs = reads_observed(cols, red.given)
    sequence = [k for k in SEQUENCE_COLUMN if k in cols]
    if not (use_obs or sequence):
        problem = np.where(bad_beside, statuses.INVALID_REDDENING, "").astype(object)
        return Colours(c0, err0, bad_err0, e_col, se_col, None, problem)

    # Which source each row uses: the first that has a value (a number or text) in the row.
    given0 = ("bp_rp0" in cols) & (~np.isnan(c0) | bad0)
    obs, bad_obs = read("bp_rp") if use_obs else (np.full(n, np.nan), np.zeros(n, dtype=bool))
    given_obs = ~given0 & (~np.isnan(obs) | bad_obs) if use_obs else np.zeros(n, dtype=bool)
    taken = given0 | given_obs
    from_seq = {}
    for name in sequence:
        values = read(name)
        from_seq[name] = (~taken & (~np.isnan(values[0]) | values[1]), values[0])
        taken = taken | from_seq[name][0]
    if sequence:  # no value anywhere: the first dwarf-sequence column present (its NaN colour is invalid_colour)
        first = from_seq[sequence[0]]
        from_seq[sequence[0]] = (first[0] | ~taken, first[1])
    from_any_seq = np.zeros(n, dtype=bool)
    for m, _ in from_seq.values():
        from_any_seq |= m
    from_obs = given_obs | (~given0 & ~from_any_seq & use_obs)  # else the observed colour, else bp_rp0
    problem = np.full(n, "", dtype=object)
    problem[bad_beside & ~(from_obs | from_any_seq)] = statuses.INVALID_REDDENING
    colour, err, err_bad = c0.copy(), err0.copy(), bad_err0.copy()
    ebprp = np.full(n, np.nan) if e_col is None else np.where(from_obs | from_any_seq, np.nan, e_col)
    ebprp_err = np.full(n, np.nan) if se_col is None else np.where(from_obs | from_any_seq, np.nan, se_col)
    source = np.where(from_obs, "", FROM_BP_RP0).astype(object)
    for name, (m, _) in from_seq.items():
        source[m] = name

    if use_obs:
        e, se, src, bad_red = _reddening(frame, cols, red, n, obs)
        obs_err, bad_obs_err = read("bp_rp_err")
        m = from_obs
        colour[m], err[m], err_bad[m] = obs[m] - e[m], obs_err[m], bad_obs_err[m]
        ebprp[m], ebprp_err[m], source[m] = e[m], se[m], src[m]
        problem[m & np.isfinite(obs) & bad_red] = statuses.INVALID_REDDENING
        colour[m & bad_red] = np.nan
    for name, (m, value) in from_seq.items():
        value_err, bad_value_err = read(f"{name}_err")
        colour[m], err[m] = sequence_to_bp_rp0(name, value[m], value_err[m])
        # the slope keeps a zero, negative or infinite error one: check_stars refuses it as a colour error
        err_bad[m] = bad_value_err[m]
        lo, hi = SEQUENCE_RANGE[name]
        out = m & np.isfinite(value) & ~((value >= lo) & (value <= hi))
        if name == "teff":  # a zero or negative Teff is no temperature: invalid_colour
            out &= value > 0
        problem[out] = statuses.TEFF_OUT_OF_RANGE if name == "teff" else statuses.DWARF_COLOUR_OUT_OF_RANGE
    return Colours(colour, err, err_bad, ebprp, ebprp_err, source, problem)


def _reddening_beside(frame: pd.DataFrame, cols: dict[str, str], n: int,
                      bp_rp0: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray]:
    """(E(BP-RP), its error, error unusable) per row beside a de-reddened ``bp_rp0``; (None, None, all False) without
    any reddening column.

    A row's reddening is the first of :data:`REDDENINGS` it has a value or an error for (converted to E(BP-RP)), as
    :func:`_reddening` takes them for ``bp_rp``, except that an error counts without its value: the colour is already
    de-reddened, and only the error is needed (README: added in quadrature, 0 without one). An error given but not a
    number >= 0 is unusable (status ``invalid_reddening``): dropping it, or squaring a negative one, changed the age
    without a word. A_V and E(B-V) convert at the row's ``bp_rp0`` (:func:`ebprp_per_a0`; A_0 of 0 without a value).
    """
    bad = np.zeros(n, dtype=bool)
    present = [(name, a0_per) for name, a0_per, _ in REDDENINGS if name in cols or f"{name}_err" in cols]
    if not present:
        return None, None, bad
    value, err, per = np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan)
    taken = np.zeros(n, dtype=bool)
    for name, a0_per in present:
        v, ve = io.numeric(frame, cols.get(name)), io.numeric(frame, cols.get(f"{name}_err"))
        text_v, text_e = io.unparsed(frame, cols.get(name), v), io.unparsed(frame, cols.get(f"{name}_err"), ve)
        take = ~taken & (~np.isnan(v) | ~np.isnan(ve) | text_v | text_e)  # the first with something in the row
        value[take], err[take], per[take] = v[take], ve[take], np.nan if a0_per is None else a0_per
        bad |= take & (text_e | io.bad_error(ve))
        taken |= take
    a0 = np.nan_to_num(value * per, nan=0.0, posinf=0.0, neginf=0.0)  # the error alone: its ratio at A_0 = 0
    e, se = _to_ebprp(value, err, per, ebprp_per_a0(bp_rp0, a0))
    return e, se, bad


def _to_ebprp(value: np.ndarray, err: np.ndarray, a0_per: np.ndarray,
              ratio: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """E(BP-RP) and its error from reddenings in their own units: as they are where ``a0_per`` is NaN (an
    E(BP-RP)), else ``ratio`` (E(BP-RP)/A_0) x ``a0_per`` (A_0 per unit: 1 for A_V, R_V for E(B-V)) x the value."""
    direct = np.isnan(a0_per)
    scale = np.where(direct, np.nan, ratio * a0_per)
    return np.where(direct, value, scale * value), np.where(direct, err, scale * err)


def _reddening(frame: pd.DataFrame, cols: dict[str, str], red: Reddening, n: int,
               bp_rp: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(E(BP-RP), its error, colour_source, unusable) per row: the first of :data:`REDDENINGS`' columns with a value,
    else the option. An A_V or E(B-V) becomes E(BP-RP) at the intrinsic colour it leaves of the observed ``bp_rp``
    (:func:`deredden`); an E(BP-RP) is used as it is."""
    value, err, per = np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan)
    src = np.full(n, "", dtype=object)
    bad = np.zeros(n, dtype=bool)
    for name, a0_per, label in REDDENINGS:
        if name not in cols:
            continue
        v = io.numeric(frame, cols[name])
        ve = io.numeric(frame, cols.get(f"{name}_err"))
        text = io.unparsed(frame, cols[name], v) | io.unparsed(frame, cols.get(f"{name}_err"), ve)
        take = (src == "") & (~np.isnan(v) | text)  # the first column with something in the row
        value[take], err[take], src[take] = v[take], ve[take], label
        per[take] = np.nan if a0_per is None else a0_per
        bad |= take & (text | ~(np.isfinite(v) & (v >= 0)) | io.bad_error(ve))
    if red.given:
        opt_v, opt_se, label, a0_per = red.values()
        rest = src == ""
        value[rest], err[rest], src[rest] = opt_v, opt_se, label
        per[rest] = np.nan if a0_per is None else a0_per
    bad |= src == ""  # no reddening for this row
    with np.errstate(invalid="ignore", over="ignore"):  # unusable rows (bad) may hold inf or NaN: not used
        ratio = deredden(bp_rp, np.nan_to_num(value * per, nan=0.0))[1]
    e, se = _to_ebprp(value, err, per, ratio)
    src[src == ""] = next(label for name, _, label in REDDENINGS if name in cols or name == "ebv")
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
    # a reddening given without its error is used as exact (README: the error defaults to 0): say 0, not blank
    se = np.where(ok & np.isfinite(e) & np.isnan(se), 0.0, se)
    return dict(zip(COLUMNS, (colours.source, colours.bp_rp0, np.where(ok, total, np.nan), e, se)))


# mag: an excess colour error this wide leaves the colour unknown over the few mag the model was trained on
MAX_COLOUR_SIGMA = 1e6


def fill_colour_err(err: np.ndarray, card) -> np.ndarray:
    """Colour errors with NaN replaced by the card's default, clipped to the trained range.

    The flow saw colour errors only within its training range: clip, don't extrapolate.
    """
    lo, hi = card.domain["bp_rp0_err"]
    return np.clip(np.where(np.isnan(err), card.default_bp_rp0_err, err), lo, hi)


def excess_colour_sigma(bp_rp0_err: np.ndarray, ebprp_err: np.ndarray | None, card) -> np.ndarray:
    """Colour uncertainty beyond the training colours' typical one (the card's default), in quadrature.

    The flow learnt periods against observed colours, noise included, so only
    the excess (and any reddening uncertainty, NaN: none) is left to marginalise over. ``bp_rp0_err`` is taken as
    estimate and group-age use it (:func:`fill_colour_err`: a missing one the default, so no excess; clipped to the
    trained range), so errors as given and as used give the same widths.
    """
    same_index(bp_rp0_err=bp_rp0_err, ebprp_err=ebprp_err)
    err = fill_colour_err(np.asarray(bp_rp0_err, float), card)  # errors already filled: unchanged
    var = np.maximum(err ** 2 - card.default_bp_rp0_err ** 2, 0.0)
    if ebprp_err is not None:
        with np.errstate(over="ignore"):  # a reddening error of 1e160 mag squares to inf: capped below
            var = var + np.nan_to_num(np.asarray(ebprp_err, float)) ** 2
    # An inf sigma fits no node tier (its middle node is inf x 0); any sigma past the cap already puts every node
    # but the middle one at an edge of the trained colours, so capping changes no likelihood
    return np.minimum(np.sqrt(var), MAX_COLOUR_SIGMA)
