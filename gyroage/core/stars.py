"""Input stars: canonical arrays and one status per row, checked against the model's domain.

Shared by ``gyroage estimate``, ``group-age`` and the Python API, so a star gets
the same status wherever it is dated.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from gyroage import io, statuses
from gyroage.column_notes import limit_column
from gyroage.columns import REDDENING_NAMES, UPPER, reads_observed, unit_splits
from gyroage.core.colours import (
    COLUMNS,
    FROM_BP_RP0,
    Reddening,
    conversion_columns,
    fill_colour_err,
    input_colours,
    required_colour,
)
from gyroage.core.main_sequence import absolute_g, absolute_g_error
from gyroage.core.modelcard import ModelCard
from gyroage.core.photometry import SEQUENCE_COLUMN
from gyroage.errors import UserError


@dataclass(frozen=True)
class StarArrays:
    """Validated inputs of a chunk: canonical arrays and a status per row."""

    prot: np.ndarray
    bp_rp0: np.ndarray
    bp_rp0_err: np.ndarray
    prot_err: np.ndarray
    status: np.ndarray
    ebprp: np.ndarray | None = None  # the reddening behind bp_rp0 and its uncertainty (None: not known)
    ebprp_err: np.ndarray | None = None
    colour_columns: dict[str, np.ndarray] = field(default_factory=dict)  # which colour was used (colours.COLUMNS)
    abs_g: np.ndarray | None = None  # de-reddened absolute G (NaN: unknown; None: no such columns)
    abs_g_err: np.ndarray | None = None  # its error, mag (NaN: unknown; None: no such column)
    # where the colour error as given lay above the trained range, so bp_rp0_err holds the range's upper end: the
    # age rests on that, not on the error given (flag colour_err_beyond_training; None: no star)
    colour_err_beyond: np.ndarray | None = None

    @property
    def ok(self) -> np.ndarray:
        return self.status == statuses.OK


def check_stars(frame: pd.DataFrame, card: ModelCard, columns: dict[str, str] | None = None,
                reddening: Reddening | None = None, zero_colour_err: bool = False) -> StarArrays:
    """Canonical arrays and per-row statuses; defaults fill missing uncertainties.

    ``columns`` maps canonical names to the frame's (``io.require_columns``
    finds them when ``None``). The colour is the input's (BP-RP)0, or one converted
    from an observed BP-RP and a reddening (``reddening``: the ``--ebprp``/``--av``
    options) or from Teff, (V-Ks)0 or (B-V)0 (:func:`gyroage.core.colours.input_colours`).
    ``zero_colour_err``: a colour error of exactly 0 (a table rounded to 0.1 mag) is below the trained range and
    clipped up as a small one is, not ``invalid_colour_err`` (group-age, whose members are in no output row that
    would show their status).
    """
    cols = columns if columns is not None else io.require_columns(list(frame.columns))
    prot = io.numeric(frame, cols.get("prot"), durations=True)
    colours = input_colours(frame, cols, reddening)
    refuse_ambiguous_error(cols, reddening)  # the API's frames too: by the names, as check_input_columns
    colour, err = colours.bp_rp0, colours.bp_rp0_err
    # VizieR's e_Prot (lower) with E_Prot (upper): their mean, as a colour's (gyroage.columns.UPPER_ERRORS)
    perr, perr_text = io.mean_error(frame, cols.get("prot_err"), cols.get(f"prot_err{UPPER}"), durations=True)
    n = len(frame)
    status = np.full(n, statuses.OK, dtype=object)
    # Later checks must not overwrite earlier, more basic ones: apply in reverse order of priority.
    lp = np.log10(np.where(prot > 0, prot, np.nan))
    status[~period_in_domain(lp, card)] = statuses.PERIOD_OUT_OF_DOMAIN
    status[~colour_in_domain(colour, card)] = statuses.COLOUR_OUT_OF_DOMAIN
    # Text in an optional column is a bad value, not a missing one (which would take the default).
    bad_perr = io.bad_error(perr)  # 0: a period known exactly
    status[bad_perr | perr_text] = statuses.INVALID_PERIOD_ERR
    bad_err = bad_colour_err(err, zero_colour_err)
    status[bad_err | colours.err_unparsed] = statuses.INVALID_COLOUR_ERR
    status[~np.isfinite(colour)] = statuses.INVALID_COLOUR
    converted = colours.problem != ""  # a Teff or dwarf colour out of range, or no usable reddening: NaN colour
    status[converted] = colours.problem[converted]
    status[period_limits(frame, cols.get("prot"))] = statuses.PERIOD_LIMIT
    status[~(np.isfinite(prot) & (prot > 0))] = statuses.INVALID_PERIOD
    beyond = err > card.domain["bp_rp0_err"][1]  # before the clip (NaN: not given, the default: False)
    err = fill_colour_err(err, card)
    perr = np.where(np.isnan(perr), 0.0, perr)
    used = np.where(bad_err | colours.err_unparsed, np.nan, err)
    return StarArrays(prot, colour, err, perr, status, colours.ebprp, colours.ebprp_err,
                      conversion_columns(colours, used), *input_abs_g(frame, cols), colour_err_beyond=beyond)


def period_limits(frame: pd.DataFrame, prot: str | None) -> np.ndarray:
    """Rows whose period is a limit: ``<``, ``>``, ``≤`` or ``≥`` (VizieR's ``l_Prot``) in :func:`limit_column`.
    Dated, an upper or lower limit was taken for the period itself (review V35, 4); a blank or any other flag is a measured period."""
    col = limit_column(frame.columns, prot)
    return np.zeros(len(frame), dtype=bool) if col is None else limit_flags(frame[col])


def limit_flags(flags: pd.Series) -> np.ndarray:
    """Which cells of a limit-flag column (``l_Prot``) mark a limit: ``<``, ``>``, ``≤``, ``≥`` (a Unicode sign was
    dated as a measured period, review V39a, 3)."""
    signs = ("<", ">", "\u2264", "\u2265", "\u2a7d", "\u2a7e")
    return flags.astype(str).str.strip().str.startswith(signs).to_numpy()


def unreddened_rows(frame: pd.DataFrame, cols: dict[str, str], reddening: Reddening | None = None,
                    stars: StarArrays | None = None) -> np.ndarray:
    """Rows with a usable period and an observed ``bp_rp`` but no usable reddening (``invalid_reddening``) although a
    ``teff``, ``v_ks0`` or ``b_v0`` column has a value in them: such a row is never dated from those (README, Input
    columns), which the reading line's "else 'Teff' where 'bp_rp' is blank" may leave unclear; the run counts them
    (:func:`unreddened_note`). Counts per :data:`SEQUENCE_COLUMN` key, each row under the first with a value (the one
    it would be dated from). A row without a usable period is ``invalid_period`` whatever its colour: not counted.
    ``stars``: the frame's :func:`check_stars` under the same ``reddening``, before any later status (what
    :func:`gyroage.core.estimate.estimate_chunk` hands its ``on_unreddened``), whose colours are counted; without it
    they are worked out again (a resumed run's finished chunk), only for an input that has both kinds of column."""
    counts = np.zeros(len(SEQUENCE_COLUMN), dtype=int)
    sequence = [k for k in SEQUENCE_COLUMN if k in cols]
    if not sequence or not reads_observed(cols, (reddening or Reddening()).given):
        return counts
    if stars is None:
        colours = input_colours(frame, cols, reddening)
        prot = io.numeric(frame, cols.get("prot"), durations=True)
        left = (colours.problem == statuses.INVALID_REDDENING) & np.isfinite(prot) & (prot > 0)
        left &= ~period_limits(frame, cols.get("prot"))  # check_stars' period_limit overrides the colour's problem
        source = colours.source
    else:  # check_stars' status is the colour's problem where the period is usable (invalid_period overrides it)
        left, source = stars.status == statuses.INVALID_REDDENING, stars.colour_columns[COLUMNS[0]]
    left &= ~np.isin(source, [FROM_BP_RP0, *sequence])
    for i, key in enumerate(SEQUENCE_COLUMN):
        if key in cols and left.any():  # no row left: the other columns need not be parsed
            has = left & ~np.isnan(io.numeric(frame, cols[key]))
            counts[i], left = int(has.sum()), left & ~has
    return counts


def unreddened_note(cols: dict[str, str], chunks: Iterable[np.ndarray]) -> str | None:
    """What the run says of :func:`unreddened_rows`' rows, its ``chunks``' counts summed, at its end (``None`` for
    none)."""
    counts = sum(chunks, np.zeros(len(SEQUENCE_COLUMN), dtype=int))
    n = int(counts.sum())
    if not n:
        return None
    obs = cols["bp_rp"]
    alt = " or ".join(f"'{cols[k]}'" for k, c in zip(SEQUENCE_COLUMN, counts) if c)  # the columns with the values
    one = n == 1
    return (f"{n} row{'' if one else 's'} with '{obs}' but no usable reddening {'is' if one else 'are'} "
            f"invalid_reddening although {alt} has a value in {'it' if one else 'them'}: a row with '{obs}' is "
            f"dated from it or not at all; blank {'its' if one else 'their'} '{obs}' (or fill "
            f"{'its' if one else 'their'} reddening) to date {'it' if one else 'them'} from {alt}")


def input_abs_g(frame: pd.DataFrame, cols: dict[str, str]) -> tuple[np.ndarray | None, np.ndarray | None]:
    """(de-reddened absolute G, its error): from ``abs_g0`` and ``abs_g0_err``, else from ``g0`` and ``parallax``
    (mas) with ``parallax_err``; None without the columns.

    A bad or missing magnitude is NaN: that star is dated from rotation alone, never refused. So is a magnitude whose
    error is given but not a number >= 0; a missing error is NaN (none known).
    """
    if "abs_g0" in cols:
        err_col = cols.get("abs_g0_err")
        given = io.numeric(frame, err_col)  # all NaN without the column
        mag, err = io.numeric(frame, cols["abs_g0"]), given
    elif "g0" in cols and "parallax" in cols:
        err_col = cols.get("parallax_err")
        given, plx = io.numeric(frame, err_col), io.numeric(frame, cols["parallax"])
        mag, err = absolute_g(io.numeric(frame, cols["g0"]), plx), absolute_g_error(plx, given)
    else:
        return None, None
    if err_col is None:
        return mag, None
    bad = io.unparsed(frame, err_col, given) | io.bad_error(given)
    return np.where(bad, np.nan, mag), np.where(bad, np.nan, err)


def colour_in_domain(colour: np.ndarray, card: ModelCard) -> np.ndarray:
    """Whether each (BP-RP)0 lies in the colour range the model was trained on (False for NaN)."""
    lo, hi = card.domain["bp_rp0"]
    return (colour >= lo) & (colour <= hi)


def period_in_domain(log10_prot: np.ndarray, card: ModelCard) -> np.ndarray:
    """Whether each log10 period (days) lies in the range the model was trained on (False for NaN)."""
    lo, hi = card.domain["log10_prot"]
    return (log10_prot >= lo) & (log10_prot <= hi)


def bad_colour_err(err: np.ndarray, zero_colour_err: bool = False) -> np.ndarray:
    """Where a colour error is given but unusable: not a finite number > 0 (``zero_colour_err``: >= 0, a table
    rounded to 0 clipped up as a small error is). NaN is "not given" (the default fills it), never bad.

    :func:`gyroage.io.bad_error`'s rule, except that a 0 is refused by default: unlike a period's or a reddening's,
    a colour error of 0 is no exact colour (the training colours all carried noise) and lies below the trained range.
    """
    return io.bad_error(err, zero_ok=zero_colour_err)


# Observed (reddened) apparent G as tables name it (compared by io.column_key): not read as g0, but worth naming when
# --main-sequence finds no magnitude it can use.
OBSERVED_G = frozenset(io.column_key(n) for n in ("g", "gmag", "g_mag", "phot_g_mean_mag", "gaia_g", "gaiag",
                                                   "gaia_gmag", "gmag_dr3", "g_dr3", "mag_g"))


def check_input_columns(columns, reddening: Reddening | None = None, magnitudes: bool = False,
                        options: bool = True) -> dict[str, str]:
    """The columns every command checks before it reads a row: a period and a way to (BP-RP)0
    (:func:`gyroage.core.colours.required_colour`; ``options``: whether the command has reddening options), and with
    ``magnitudes`` (``--main-sequence``) those of the height term (:func:`require_magnitudes`); a refusal is one
    line. Returns :func:`gyroage.io.require_columns`'s match."""
    columns = list(columns)
    found = io.require_columns(columns)
    refuse_ambiguous_error(found, reddening)
    required_colour(found, reddening, options)
    if magnitudes:
        require_magnitudes(columns, found)
    return found


def refuse_ambiguous_error(found: dict[str, str], reddening: Reddening | None = None) -> None:
    """Refuse, in one line, a table whose reddening read is named ``E_`` and the observed colour read (``E_BP_RP``
    beside ``BP_RP``, compared as names are, any case, a unit part left out) while another reddening is given too (a
    reddening column, ``EBV``, ``AV``, ``A0``, or ``reddening``, an option): ``E_BP_RP`` may be an upper-cased
    ``e_BP_RP``, the colour's error, and taking it first left the other reddening unread (the colour's error became the
    whole de-reddening). Alone, it stays the reddening (the reading line names it). Decided by the names, never by
    rows, so no run stops mid-way; a ``BP_RP0`` on every row is refused too, one rename away (review V67, 1-4, 9).
    ``found``: :func:`gyroage.io.match_columns`."""
    given = [found[k] for k in REDDENING_NAMES if k in found]
    option = reddening is not None and reddening.given
    if not given or "bp_rp" not in found or (len(given) < 2 and not option):
        return
    rest = _e_prefixed(str(given[0]), str(found["bp_rp"]))
    if rest is None:
        return
    name, bare, unit = rest
    other = f"'{given[1]}'" if len(given) > 1 else next(f"--{k}" for k in REDDENING_NAMES
                                                         if getattr(reddening, k) is not None)
    colour = bare.replace("_", "-")
    colour = colour[1:-1] if colour.startswith("(") and colour.endswith(")") else colour  # '(BP-RP)': E(BP-RP)
    tail = (f" (refused by the names, whatever '{found['bp_rp0']}' holds: renaming one column is all it takes)"
            if "bp_rp0" in found else "")
    raise UserError(f"'{given[0]}' may be the error of {found['bp_rp']} (an upper-cased e_{bare}) or the reddening "
                    f"E({colour}), and {other} is a reddening too: rename it e_{name[2:]} (an error) or "
                    f"E{bare.replace('_', '').replace('-', '')}{unit} (the reddening){tail}")


def _e_prefixed(red: str, colour: str) -> tuple[str, str, str] | None:
    """(the reddening's name, its colour part, its unit part) when ``red`` is ``E_`` and ``colour``'s name, each with
    or without a unit part (:func:`gyroage.columns.unit_splits`), compared by :func:`gyroage.io.column_key`."""
    red = red.lstrip("\ufeff").strip()
    keys = {io.column_key(c) for c in [colour] + [rest for rest, _, _ in unit_splits(colour.strip())]}
    for rest in [rest for rest, _, _ in unit_splits(red)] + [red]:  # its unit apart first: E(BP-RP), not E(BP-RP [mag])
        rest = rest.strip()
        if rest[:2].lower() == "e_" and io.column_key(rest[2:]) in keys:
            return red, rest[2:], red[len(rest):]
    return None


def require_magnitudes(columns, found: dict[str, str]) -> None:
    """Refuse, in one line, an input without ``abs_g0``, or ``g0`` with ``parallax``, when ``--main-sequence`` is
    asked for: it would be dated from rotation alone without a word. ``found``: :func:`gyroage.io.match_columns`."""
    if "abs_g0" in found or ("g0" in found and "parallax" in found):
        return
    seen = {found[k] for k in ("g0", "parallax") if k in found}
    observed = [c for c in columns if io.column_key(c) in OBSERVED_G]
    names = [c for c in columns if c in seen or c in observed]
    hint = f"; an observed {observed[0]} needs its extinction: give g0 = {observed[0]} - A_G" if observed else ""
    raise UserError(f"--main-sequence needs abs_g0, or g0 and parallax (found: {', '.join(map(str, names)) or 'none'}"
                    f"{hint})")


def clipped_note(card: ModelCard, n: int) -> str | None:
    """What estimate says at its end of its ``n`` stars whose colour error exceeds the card's trained range (flagged
    ``colour_err_beyond_training`` one by one; ``None`` for none): a retrained card's range is its catalogue's, 0.03
    mag for well-measured clusters, and the clip dated a 0.2 mag error as 0.03 with nothing but the flag to say so."""
    if not n:
        return None
    hi = card.domain["bp_rp0_err"][1]
    one = n == 1
    whose = "star's" if one else "stars'"
    return (f"{n} {whose} colour error{'' if one else 's'} exceed{'s' if one else ''} the model's "
            f"trained range (its catalogue's largest, {hi:.4g} mag) and {'was' if one else 'were'} dated as "
            f"{hi:.4g} mag (flagged {statuses.COLOUR_ERR_BEYOND_TRAINING}): if {'it is' if one else 'one is'} a "
            "sentinel (99) for a missing colour, that star has no colour to date")  # a real 0.9 mag error is none


# prot_err / Prot from which a star is flagged period_err_uninformative: an sd of log10 Prot of 0.43 dex, ten times the
# flow's period spread at fixed colour and age and half a dex of its 3.9 dex of trained periods, so the period says
# little: a 12 d, 1.2 mag star's 68% interval is 11-2485 Myr at 100%, against the prior's 4-2283 (its period
# alone: 253-1357); at 8x (99 d) it is the prior's. A sentinel (99, 999) for "no error" on a period under 99 d is one.
PERIOD_ERR_UNINFORMATIVE_MIN = 1.0


def period_err_wide(prot, prot_err) -> np.ndarray:
    """Which stars' period error is at least :data:`PERIOD_ERR_UNINFORMATIVE_MIN` times the period (NaN: none)."""
    prot, err = (np.asarray(a, dtype=float) for a in (prot, prot_err))
    with np.errstate(invalid="ignore"):
        return err >= PERIOD_ERR_UNINFORMATIVE_MIN * prot


def uninformative_note(n: int) -> str | None:
    """What estimate says at its end of its ``n`` stars flagged ``period_err_uninformative`` (``None`` for none)."""
    if not n:
        return None
    one = n == 1
    return (f"{n} star{'' if one else 's'} ha{'s' if one else 've'} a period error at least the period "
            f"(flagged {statuses.PERIOD_ERR_UNINFORMATIVE}): such a period says little or nothing and the age is "
            "near the prior's; a sentinel error (99) for an unknown error: leave it blank")


def flagged_rows(flags, flag: str) -> np.ndarray:
    """Which of an output's ``age_flags`` (a column, or any array of them; ``;``-joined, blank or NaN for none) carry
    ``flag``, vectorised (a Python lambda splitting every row's flags was slow)."""
    flags = pd.Series(np.ravel(np.asarray(flags, dtype=object)), dtype=object).fillna("").astype(str)
    return (";" + flags + ";").str.contains(f";{flag};", regex=False).to_numpy(bool)


def clipped_rows(flags) -> int:
    """How many of ``age_flags`` (:func:`flagged_rows`) carry ``colour_err_beyond_training``: :func:`clipped_note`'s
    count."""
    return int(flagged_rows(flags, statuses.COLOUR_ERR_BEYOND_TRAINING).sum())


@dataclass(frozen=True)
class ChunkCounts:
    """A dated chunk's two end-of-run counts, as :func:`gyroage.core.estimate.estimate_chunk` hands them to its
    ``on_counts`` from the flags it writes, before they join the input's columns (a clashing column, ``age_flags`` or
    ``Status``, cannot change them), so no engine reads them back from its output: ``clipped``, rows whose colour
    error was clipped to the card's trained range (:func:`clipped_note`); ``grid_error``, under mcmc, rows that took
    the grid's posterior with a period error above 0 (:func:`gyroage.core.grid_fallback.grid_error_note`);
    ``uninformative``, rows flagged ``period_err_uninformative`` (:func:`uninformative_note`)."""

    clipped: int = 0
    grid_error: int = 0
    uninformative: int = 0

    @classmethod
    def of(cls, flags, prot_err: np.ndarray, mcmc: bool) -> ChunkCounts:
        """The counts of a chunk's ``age_flags`` and its rows' period errors (NaN or 0: none); ``mcmc``: the method."""
        took = flagged_rows(flags, statuses.GRID_POSTERIOR) & (np.nan_to_num(prot_err) > 0) if mcmc else ()
        wide = int(flagged_rows(flags, statuses.PERIOD_ERR_UNINFORMATIVE).sum())
        return cls(clipped_rows(flags), int(np.count_nonzero(took)), wide)
