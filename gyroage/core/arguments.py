"""Reading the API's array arguments as ``gyroage estimate`` reads a table's cells.

Numbers, text (a number, a missing-value token or a bad value), masked cells (missing), astropy quantities
(converted to the unit each argument takes), durations (periods in days); quantile levels; and the API's wording
of the errors it shares with the command line. Used by :mod:`gyroage.core.api`.
"""

from __future__ import annotations

import contextlib
import os
import sys
import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import numpy as np
import pandas as pd

from gyroage import io, notices
from gyroage.errors import UserError
from gyroage.pandas_compat import not_number_cells


def unmasked(values) -> tuple[object, np.ndarray | None]:
    """(``values`` without its mask, the mask or None) for a numpy masked array (astropy's MaskedColumn is one) or an
    astropy ``Masked`` quantity: ``np.asarray`` would keep the hidden numbers under a mask and date them."""
    if np.ma.isMaskedArray(values):
        return np.ma.getdata(values), np.ma.getmaskarray(values)
    if hasattr(values, "unmasked") and hasattr(values, "mask"):  # astropy.utils.masked.Masked (no ndarray mask)
        return values.unmasked, np.asarray(values.mask, dtype=bool)
    return values, None


# gyroage's own files, and contextlib's (a @contextmanager used as a decorator runs the method in one of its frames)
_OWN_FILES = (os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep, contextlib.__file__)


def warn_caller(message: str, category: type[Warning] = UserWarning) -> None:
    """``warnings.warn`` pointed at the caller's line: the first frame outside gyroage and contextlib.

    A fixed ``stacklevel`` breaks whenever a decorator adds a frame (``@underflow_ignored @in_keywords()`` moved
    it into contextlib); ``skip_file_prefixes`` would do this, but only from Python 3.12.
    Waits for the readers' quiet sections on other threads (:func:`gyroage.notices.quiet`: a process-wide "ignore"
    would swallow it), but does not hold their lock while it warns: the caller's ``showwarning`` may take a lock of
    its own that the caller holds around a gyroage read.
    """
    frame, level = sys._getframe(0), 1
    while frame is not None and frame.f_code.co_filename.startswith(_OWN_FILES):
        frame, level = frame.f_back, level + 1
    with notices.warnings_lock():
        pass
    warnings.warn(message, category, stacklevel=level)


# The command line's words for the options the API takes as keywords, and the API's
OPTION_WORDS = (("--outlier-weight ", "outlier_weight "), ("--grid ", "n_grid "))

# The command line's words in the errors the API shares with it, and the API's: its keywords for the options.
KEYWORD_WORDS = (
    *OPTION_WORDS,
    ("give --ebprp, --av or --ebv, or an E(BP-RP)/A_V/E(B-V) column", "give ebprp=, av= or ebv="),
    ("(or name the column bp_rp0 if it is already de-reddened)", "(or pass it as bp_rp0= if it is already de-reddened)"),
)


def frame_words(reddening: str, given: str) -> tuple[tuple[str, str], ...]:
    """The words of a caller that passes a frame (not a file) and a Reddening (not --ebprp/--av/--ebv):
    ``reddening`` names the argument (``reddening=``), ``given`` a value for it (``reddening=Reddening(...)``)."""
    return (("--ebprp/--av/--ebv de-redden an observed colour, but the input has",
             f"{reddening} de-reddens an observed colour, but the frame has"),
            ("give --ebprp, --av or --ebv, or an E(BP-RP)/A_V/E(B-V) column",
             f"give {given}, or an E(BP-RP)/A_V/E(B-V) column"),
            ("; the file has: ", "; the frame has: "))


# group_ages' keywords (it takes a frame and a Reddening, so estimate's words for the colour columns would mislead),
# and what it reads: a frame, not a file
GROUP_KEYWORD_WORDS = (*OPTION_WORDS, ("--systematic-dex ", "systematic_dex "), ("--membership ", "membership "),
                       ("(without --by, all rows are one group)", "(with by=None, all rows are one group)"),
                       ("--main-sequence needs ", "main_sequence=True needs "),
                       ("--main-sequence: ", "main_sequence=True: "),
                       *frame_words("reddening=", "reddening=Reddening(...)"))

# AgeModel.estimate's: a frame and EstimateSettings (whose reddening is a Reddening), not a file and options
FRAME_KEYWORD_WORDS = (*OPTION_WORDS,
                       *frame_words("EstimateSettings(reddening=)", "EstimateSettings(reddening=Reddening(...))"))


def reworded(text: str, words: tuple[tuple[str, str], ...]) -> str:
    """``text`` with each pair's first words replaced by its second (:func:`in_keywords`' tables)."""
    for cli, api in words:
        text = text.replace(cli, api)
    return text


@contextmanager
def in_keywords(words: tuple[tuple[str, str], ...] = KEYWORD_WORDS) -> Iterator[None]:
    """A :class:`UserError` raised inside, in the API's words (``outlier_weight``, not ``--outlier-weight``, which
    a Python caller has no way to give; ``words``: command line -> API, or, for the command line building the API's
    settings, their fields -> its options: cli_options.FIELD_OPTIONS); any other exception as it is."""
    try:
        yield
    except UserError as exc:
        text = reworded(str(exc), words)
        if text == str(exc):
            raise
        raise type(exc)(text) from None


def quantile_levels(q) -> np.ndarray:
    """Quantile levels as floats, of ``q``'s shape: a TypeError for text, a ValueError outside [0, 1] (or NaN)."""
    a = np.asarray(q)
    if a.dtype.kind not in "iuf":  # "0.5" was read as 0.5 by one method and an IndexError in the other
        raise TypeError(f"quantile levels must be numbers in [0, 1], not {q!r}")
    a = a.astype(float)
    if not np.all((a >= 0) & (a <= 1)):
        raise ValueError("quantile levels must be in [0, 1]")
    return a


def in_units(values, unit, name: str) -> np.ndarray:
    """The numbers of ``values`` (carrying astropy ``unit``) in the unit ``name`` takes: days, mag, mas, K (as a
    table's column of that name is converted: :func:`gyroage.units.unit_conversion`), Myr for an age. A unit that
    does not convert is a one-line ValueError naming it: the bare number (hours read as days) is never taken.
    """
    a = np.asarray(getattr(values, "value", values))
    if a.dtype.kind not in "biuf":
        raise TypeError(f"{name} carries the unit '{unit}' but holds no numbers")
    if a.dtype.kind == "b":  # a flag is no number in any unit (True is no 1 h): its unit checked, its cells kept
        in_units(np.zeros(0), unit, name)
        return a
    a = a.astype(float)
    if name == "age_myr":
        import astropy.units as u

        try:
            unit = u.Unit(unit)
            return a if unit == u.dimensionless_unscaled else (a * unit).to_value(u.Myr)
        except (ValueError, TypeError, u.UnitsError):  # a UnitConversionError is a UnitsError, a ValueError too
            raise ValueError(f"age_myr has unit '{unit}': an age must be in Myr (or another time unit)") from None
    from gyroage.columns import COLUMN_KINDS
    from gyroage.units import unit_conversion

    if name not in COLUMN_KINDS:  # log10 grids, quantile levels: numbers without a unit
        raise ValueError(f"{name} takes plain numbers (no unit), not a quantity in '{unit}'")
    try:
        conversion = unit_conversion(name, name, unit)
    except UserError as exc:  # the column's refusal, in the keyword's words
        raise ValueError(str(exc).replace(f"column '{name}'", name, 1)) from None
    return a if conversion is None else np.asarray(conversion.convert(a), dtype=float)


def same_index(**named) -> pd.Index | None:
    """Refuse (ValueError) pandas Series among the per-star arguments ``named`` whose indexes differ: numpy pairs
    them by position, where a pandas user expects labels, so the same stars in two orders would date one star's
    period with another's colour, silently. Arrays, lists and scalars pair by position, as they always did, and so
    does a one-element Series (a scalar to numpy). A DataFrame (``df[["bp_rp0"]]``) is refused (TypeError): it
    broadcast as a column against the stars, n x n results. Returns the index the Series share (None: no Series),
    that of the longer ones beside one-element Series, for a caller to label its stars with."""
    for k, v in named.items():
        if isinstance(v, pd.DataFrame):  # the advice names the frame's own column: df["<argument>"] was a KeyError
            cols = list(v.columns)  # repr: an integer label 0 is df[0], df["0"] a KeyError (review V29)
            if not cols:
                raise TypeError(f"{k} is a pandas DataFrame with no column: give one column, not a frame")
            more = "" if len(cols) == 1 else f" (it has {', '.join(map(repr, cols[:3]))}{', ...' if len(cols) > 3 else ''})"
            key = f'"{cols[0]}"' if isinstance(cols[0], str) else repr(cols[0])
            raise TypeError(f"{k} is a pandas DataFrame: give one column, df[{key}]{more}, not a frame")
    series = [(k, v) for k, v in named.items() if isinstance(v, pd.Series)]
    series = [(k, v) for k, v in series if len(v) != 1] or series
    for k, v in series[1:]:
        first, index = series[0][0], series[0][1].index
        if v.index.equals(index):
            continue
        if v.index.is_unique and index.is_unique and len(v) == len(index) and v.index.isin(index).all():
            advice = f"align them ({k}.reindex({first}.index)) or pass .to_numpy()"
        else:  # reindex would pair labels that name other stars, and give NaN for the rest
            odd, other = v.index[~v.index.isin(index)].tolist(), index[~index.isin(v.index)].tolist()  # plain ints
            why = (f"{k} has {odd[0]!r}, {first} has not" if odd else
                   f"{first} has {other[0]!r}, {k} has not" if other else "labels repeated, in another order")
            advice = "pass .to_numpy() if that is what is meant, or give both columns of one table"
            raise ValueError(f"{first} and {k} are pandas Series with different indexes ({why}), which gyroage "
                             f"would pair by position: {advice}")
        raise ValueError(f"{first} and {k} are pandas Series with different indexes, which gyroage would pair by "
                         f"position: {advice}")
    return series[0][1].index if series else None


def cells(values, name: str) -> np.ndarray:
    """``values`` (the argument ``name``) as an array: numbers as float64, anything else (text, None, pd.NA) as
    objects; a masked cell as a missing one (NaN, or None among objects), as a masked cell of a FITS table is read;
    an astropy quantity (or a column with a unit) in the unit ``name`` takes (:func:`in_units`).

    Objects keep their text for :func:`gyroage.io.numeric` and :func:`gyroage.io.unparsed`, so an array cell is
    read as a CSV cell is: "12" a number, "NA" not given, "abc" a bad value (a status, not an exception).
    """
    unit = getattr(values, "unit", None)  # astropy is imported only for a value that carries one
    values, mask = unmasked(values)
    a = np.asarray(values) if unit is None else in_units(values, unit, name)
    if isinstance(values, (list, tuple)) and a.dtype.kind in "iufc":
        a = _flags_kept(values, a)
    if a.dtype.kind == "m":  # a numpy duration: a period in days (its cells were read as nanoseconds)
        if name not in ("prot", "prot_err"):
            raise TypeError(f"{name} takes numbers, not durations ({a.dtype})")
        a = a / np.timedelta64(1, "D")  # NaT: NaN, a missing period
    if a.dtype == object and a.ndim == 0 and isinstance(a.item(), Iterable) and not isinstance(a.item(), (str, bytes)):
        # a generator, set or dict is one object to numpy: it was one bad star, not the error the README promises
        raise TypeError(f"{name} must be a number or an array of them (a list, tuple, array or Series), "
                        f"not a {type(a.item()).__name__}")
    if a.dtype.kind == "M":  # dates as their text (a date's objects can be nanoseconds), NaT not given
        # a year's own text is a number ("1971" a 1971-day period): a year reads as its month, 1971-01
        year = np.datetime_data(a.dtype)[0] == "Y"
        a = np.where(np.isnat(a), None, np.datetime_as_string(a, unit="M") if year else a.astype(str))
    # flags and complex numbers as objects (True, not 1.0), read as their text is (no number)
    a = a.astype(float) if a.dtype.kind in "iuf" else a.astype(object)  # a copy: the caller's array is left alone
    if mask is not None and mask.any():
        a[np.broadcast_to(mask, a.shape)] = np.nan if a.dtype != object else None
    return a


def _flags_kept(values: list | tuple, a: np.ndarray) -> np.ndarray:
    """``a`` (numpy's array of the list ``values``), or the list's own cells as objects where one of them is a flag or
    a complex number: numpy made ``[True, 12.0]`` the floats [1.0, 12.0] (True dated as a 1-day period) and
    ``[12 + 1j, 12.0]`` complex (12.0 no number), where a bool or complex array is no measurement."""
    cells = np.asarray(values, dtype=object)
    if cells.shape != a.shape or not not_number_cells(pd.Series(cells.reshape(-1))).any():
        return a  # numbers only (checked in C unless the cells are of mixed types)
    return cells


def numbers_of(values, name: str) -> tuple[np.ndarray, np.ndarray]:
    """(``values`` as float64, NaN where not a number; True where a cell is text that is neither a number nor a
    missing-value token), both of ``values``' shape (``name``: the argument, for :func:`cells`)."""
    a = cells(values, name)
    if a.dtype != object:
        return a, np.zeros(a.shape, dtype=bool)
    frame = pd.DataFrame({"v": a.reshape(-1)})
    v = io.numeric(frame, "v")
    return v.reshape(a.shape), io.unparsed(frame, "v", v).reshape(a.shape)
