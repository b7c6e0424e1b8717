"""Text to float64 exactly under every pandas that pyproject allows (2.0 and later).

Before pandas 3.1, ``pd.to_numeric`` and ``pd.read_csv``'s default float parser round some decimals to a neighbouring
float (0.028575905433749466 came out 0.0285759054337494), which can flip a star's status at a domain edge and makes
ages depend on the pandas version. Python's ``float`` (and read_csv's ``float_precision="round_trip"``) is correctly
rounded; pandas 3.1 is exact and deprecates ``float_precision``, so neither is used there.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction

import numpy as np
import pandas as pd


def _version(text: str) -> tuple[int, int]:
    """(major, minor) of a version string such as ``2.0.3`` or ``3.1.0rc0``."""
    parts = [int(re.match(r"\d*", p).group() or 0) for p in text.split(".")[:2]]
    return (parts + [0, 0])[0], (parts + [0, 0])[1]


# to_numeric and read_csv's default float parser are not correctly rounded before pandas 3.1
PANDAS_BEFORE_3_1 = _version(pd.__version__) < (3, 1)
# Keywords for every pd.read_csv that parses numbers itself (gyroage's own CSV inputs are read as text).
CSV_FLOAT_OPTIONS: dict = {"float_precision": "round_trip"} if PANDAS_BEFORE_3_1 else {}


# Cells pandas reads as numbers that are no measurement: a flag (True 1.0), a complex number (its real part).
_NOT_NUMBERS = (bool, np.bool_, complex, np.complexfloating)
# What infer_dtype calls an object column that can hold no such cell (text from a CSV: "string", checked in C)
_ONLY_NUMBERS_OR_TEXT = frozenset({"string", "bytes", "empty", "floating", "integer", "mixed-integer-float",
                                   "decimal", "datetime", "date", "timedelta"})


def no_numbers(dtype) -> bool:
    """Whether a column of ``dtype`` holds no measurement although pandas reads it as numbers: flags (bool, pandas'
    boolean, Arrow's), dates (nanoseconds since 1970), complex numbers (their real part), Periods (their ordinal);
    a categorical column as its categories (``astype("category")`` of flags: category dtype, kind "O")."""
    if isinstance(dtype, pd.CategoricalDtype) and dtype.categories is not None:
        return no_numbers(dtype.categories.dtype)
    return dtype.kind in "bMc" or isinstance(dtype, pd.PeriodDtype)


def not_number_cells(col: pd.Series) -> np.ndarray:
    """True where an object column (or a categorical one's categories) holds a Python or numpy bool or complex
    (:data:`_NOT_NUMBERS`)."""
    if isinstance(col.dtype, pd.CategoricalDtype):  # each category looked at once, then mapped to the rows
        odd = not_number_cells(pd.Series(col.cat.categories))
        codes = col.cat.codes.to_numpy()
        return odd[codes] & (codes >= 0) if odd.any() else np.zeros(len(col), dtype=bool)  # -1: a missing cell
    if col.dtype != object or pd.api.types.infer_dtype(col, skipna=True) in _ONLY_NUMBERS_OR_TEXT:
        return np.zeros(len(col), dtype=bool)
    # a column of mixed Python objects (never a CSV's text): each cell's type, in Python
    return np.fromiter((isinstance(v, _NOT_NUMBERS) for v in col.to_numpy(dtype=object)), bool, len(col))


def to_floats(col) -> np.ndarray:
    """``col`` (a Series, or cells) as float64, as ``pd.to_numeric(col, errors="coerce")``: what is no number NaN,
    flags, dates and complex numbers too (:func:`no_numbers`, :func:`not_number_cells`), as their text in a CSV is;
    a Fraction as its float, as a Decimal is."""
    col = col if isinstance(col, pd.Series) else pd.Series(col, dtype=object)
    if no_numbers(col.dtype):
        return np.full(len(col), np.nan)
    odd = not_number_cells(col)
    col = col.mask(odd) if odd.any() else col  # masked before to_numeric, which warns of a complex's imaginary part
    col = _fractions_as_floats(col)
    values = pd.to_numeric(col, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    if col.dtype.kind not in "fium":
        col, values = _stripped(col, values)
    if not PANDAS_BEFORE_3_1 or col.dtype.kind in "fium":
        return values  # numbers are already floats; text is parsed exactly from pandas 3.1 on
    ok = ~np.isnan(values)
    if not ok.any():
        return values
    try:  # the cells pandas read as numbers, again through Python's correctly rounded float (in C, no loop here)
        exact = col.to_numpy(dtype=object)[ok].astype(np.float64)
    except (TypeError, ValueError):  # a cell only pandas reads (none known): keep pandas' values
        return values
    values = values.copy()  # to_numpy may give a read-only view of the column
    values[ok] = exact
    return values


def _fractions_as_floats(col: pd.Series) -> pd.Series:
    """``col`` with each ``fractions.Fraction`` cell as its float (correctly rounded, as ``float(Decimal)``):
    ``pd.to_numeric`` reads a Decimal as a number, but a Fraction as none (a categorical's too)."""
    given = col
    if isinstance(col.dtype, pd.CategoricalDtype):  # its categories looked at, then its cells as objects
        col = col.cat.categories
    if col.dtype != object or pd.api.types.infer_dtype(col, skipna=True) in _ONLY_NUMBERS_OR_TEXT:
        return given  # a CSV's text (checked in C): no Fraction
    col = given.astype(object) if col is not given else col
    cells = col.to_numpy(dtype=object)
    exact = np.fromiter((isinstance(v, Fraction) for v in cells), bool, len(cells))
    if not exact.any():
        return given
    cells = cells.copy()
    cells[exact] = [_float(v) for v in cells[exact]]
    return pd.Series(cells, index=col.index, dtype=object)


def _float(value: Fraction) -> float:
    """``float(value)``, or an infinity beyond float64 (a Decimal's float is; a Fraction's raises OverflowError)."""
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


def _stripped(col: pd.Series, values: np.ndarray) -> tuple[pd.Series, np.ndarray]:
    """(``col``, ``values``) with the cells that are numbers once stripped of Unicode blanks read as those numbers.

    pandas strips ASCII blanks only, Python's ``float`` every Unicode one: a cell copied from a PDF or HTML table
    (``5.2\\u00a0``, a thin space ``\\u2009``) was no number. Only cells that are no number are looked at again, so
    every other cell's value is as before.
    """
    bad = np.isnan(values)
    if not bad.any():
        return col, values
    try:
        text = col[bad].str.strip()
    except AttributeError:  # no text among them (NaN, None): nothing to strip
        return col, values
    again = pd.to_numeric(text, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    now = ~np.isnan(again)
    if not now.any():
        return col, values
    col = col.astype(object)  # a copy, which takes the stripped cells for the exact parse of pandas < 3.1
    col.iloc[np.flatnonzero(bad)[now]] = text.to_numpy(dtype=object)[now]
    values = values.copy()
    values[np.flatnonzero(bad)[now]] = again[now]
    return col, values
