"""Reading identifiers: the prefixes each kind may carry, float cells and exponent text read only while exact, and
the notes that say why a column's ids are unreadable (a narrow float type, a Gaia DR2 name)."""

from __future__ import annotations

import math
import re
from decimal import Decimal

import numpy as np
import pandas as pd

from gyroage.crossmatch.queries import FLOAT_EXACT_LIMIT, float_id

# A Gaia id named as a DR2 one ('Gaia DR2 nnn', 'GaiaDR2_nnn': a Gaia prefix's separators): no DR3 id (DR3 renumbered
# some), so the row is invalid_id. Not \b: '_' is a word character.
DR2_RE = re.compile(r"^\s*(?:gaia[\s_:-]*)?dr2(?![0-9])", re.IGNORECASE)


# The prefixes each kind of id may carry (EDR3 and DR3 share their source_ids; kplr is Kepler's name for a KIC).
_PREFIXES = {"gaia": r"gaia\s*e?dr3|gaia|dr3", "tic": r"tic", "kic": r"kic|kplr"}


def _id_re(prefixes: str) -> re.Pattern:
    # "2000002.0": an id that went through a float column on its way to CSV text; read only while exact (below 2**53)
    return re.compile(rf"^\s*(?:(?:{prefixes})[\s_:-]*)?(\d+)(\.0*)?\s*$", re.IGNORECASE)


_ID_RE = {kind: _id_re(p) for kind, p in _PREFIXES.items()} | {None: _id_re("|".join(_PREFIXES.values()))}


# A float written with an exponent (Excel's 1.00000048E+08): digits before and after the point, the exponent
_EXPONENT_RE = re.compile(r"^\s*(\d+)(?:\.(\d*))?[eE]([+-]?\d{1,3})\s*$")


def _exponent_id(text: str) -> int | None:
    """The id exponent ``text`` holds, read as a float cell is (whole, below 2**53), and only when its digits spell
    every digit of the id: %g's 6 digits write TIC 100000048 as 1e+08, another star's id."""
    m = _EXPONENT_RE.match(text)
    if not m:
        return None
    value = Decimal(text.strip())
    if not 0 < value < FLOAT_EXACT_LIMIT or value != value.to_integral_value():
        return None
    i = int(value)
    return i if len((m.group(1) + (m.group(2) or "")).lstrip("0")) >= len(str(i)) else None


def numpy_dtype(dtype) -> np.dtype:
    """The numpy type under ``dtype``: pandas' nullable Float32/Int64 carry it as ``numpy_dtype``."""
    return getattr(dtype, "numpy_dtype", dtype)


def _exact_limit(dtype) -> float:
    """The bound below which a float of ``dtype`` holds every integer: 2**53 for float64, 2**24 for float32."""
    return 2.0 ** (np.finfo(dtype).nmant + 1)


# A number written by a float (exponent, or a point: 3.0427513008874015e+18, 3042751300887401416.0), as CSV has them
_FLOAT_TEXT_RE = r"\s*(?:\d+\.\d*|\d+(?:\.\d*)?[eE][+-]?\d{1,3})\s*"


def float_column_note(values: pd.Series, column: str) -> str | None:
    """The note naming a float column (or one of float text) whose ids reach its exact-integer limit (2**53 for
    float64 and text, 2**24 for float32): those rows are invalid_id, and only the column's type says why."""
    dtype = numpy_dtype(values.dtype)
    if dtype.kind == "f":
        limit = _exact_limit(dtype)
        v = pd.to_numeric(values, errors="coerce").astype("float64").to_numpy(na_value=np.nan)
        if not ((np.abs(v) >= limit) & np.isfinite(v)).any():  # an inf cell is invalid_id, no rounded id
            return None
        what = f"is a {dtype} column, which holds every integer only below {limit:.0f}"
    else:
        text = values.dropna().astype(str)
        floats = pd.to_numeric(text[text.str.fullmatch(_FLOAT_TEXT_RE)], errors="coerce")
        floats = floats[np.isfinite(floats.astype("float64"))]  # '1e999': inf, no rounded id
        if not (floats >= FLOAT_EXACT_LIMIT).any():
            return None
        example = text[floats.index[floats >= FLOAT_EXACT_LIMIT][0]].strip()
        what = (f"holds ids written as floats (such as '{example}'), which hold every integer only below "
                f"{FLOAT_EXACT_LIMIT:.0f}")
    return (f"note: '{column}' {what}: its ids at or above that have been rounded to other stars' ids, so those "
            "rows are invalid_id; store ids as integers or text")


def parse_ids(values: pd.Series, kind: str | None = None) -> np.ndarray:
    """Integer ids as Int64 (nullable); prefixes like 'TIC ', 'Gaia DR3 ', 'KIC' are accepted.

    With ``kind`` (gaia, tic or kic), only a prefix naming that catalogue: 'KIC 2000002' in a TIC column is
    another star's number, so the row is ``invalid_id``, never looked up as TIC 2000002.
    A float id is taken only below the float type's exact-integer limit (2**53 for float64, 2**24 for float32, read
    on the column, as its cells come out as Python floats): a 19-digit Gaia id stored as a float64, or a TIC id as a
    float32, has been rounded to some other star's id, so it is missing (the row's ``invalid_id``), never matched.
    """
    pattern = _ID_RE[kind]
    dtype = numpy_dtype(values.dtype)
    column_limit = _exact_limit(dtype) if dtype.kind == "f" else FLOAT_EXACT_LIMIT

    def one(v) -> int | None:
        if v is None or (isinstance(v, (float, np.floating)) and not math.isfinite(v)):
            return None
        if isinstance(v, (int, np.integer)):
            return int(v) if v > 0 else None
        if isinstance(v, (float, np.floating)):
            i = float_id(v)
            limit = min(column_limit, _exact_limit(type(v)) if isinstance(v, np.floating) else column_limit)
            return i if i is not None and 0 < i < limit else None
        m = pattern.match(str(v))
        if not m:
            return _exponent_id(str(v))
        if int(m.group(1)) <= 0 or (m.group(2) is not None and int(m.group(1)) >= FLOAT_EXACT_LIMIT):
            return None
        return int(m.group(1))

    return np.array([one(v) for v in values], dtype=object)
