"""Column types of typed outputs (Parquet, FITS, ...): numbers read as CSV text become numbers again, and the
chunks' Arrow schemas merge into one.

CSV input is read as text, so nothing is reinterpreted on the way through;
a CSV output writes that text back unchanged. A typed output would store it
as strings, so :func:`numbers_from_text` turns a text column whose every
cell is a number (or a missing-value token) into a number column. The
choice is made per chunk, and :func:`merge_schemas` reconciles the chunks
from their values: ints and fractions give floats, a chunk with no value in
a column (blank: empty, missing-value tokens or NaN) takes the column's
type, and a column that is text in any chunk is text in all (numbers are
written as their shortest text, never dropped).
Deciding from the first chunk alone would turn a later chunk's text cell
into a missing value, or fail; deciding from a column's name would miss
every column we do not know. pyarrow is imported inside the functions.
Also pandas' types for what a reader or writer hands on: nullable integers for Arrow's (:func:`nullable_int`), text
for an empty output's text columns (:func:`text_types`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

import numpy as np
import pandas as pd

_INT = re.compile(r"[+-]?[0-9]+")
_PADDED = re.compile(r"[+-]?0[0-9]")  # a leading zero (an identifier like 007) keeps the column text


def numbers_from_text(frame: pd.DataFrame, na_tokens: Iterable[str]) -> pd.DataFrame:
    """``frame`` with each text column of only numbers and ``na_tokens`` as numbers (Int64 or float64).

    Integers that fit int64 stay integers (nullable where a cell is missing);
    a column with any other text, or with no value at all, is left as it is
    (a blank chunk takes the other chunks' type in :func:`merge_schemas`).
    """
    tokens = frozenset(na_tokens)
    out = {}
    for i in range(frame.shape[1]):
        col = frame.iloc[:, i]
        if pd.api.types.is_object_dtype(col.dtype) or pd.api.types.is_string_dtype(col.dtype):
            out[i] = _number_column(col, tokens)
    if not any(c is not None for c in out.values()):
        return frame
    frame = frame.copy()
    for i, col in out.items():
        if col is not None:
            frame.isetitem(i, col)
    return frame


def _number_column(col: pd.Series, tokens: frozenset[str]) -> pd.Series | None:
    """The column as numbers, or ``None`` if a cell is neither a number nor a missing-value token, or none is a number."""
    if not all(isinstance(v, str) for v in col.dropna().head(100)):
        return None  # Python objects other than text: not ours to reinterpret
    text = col.astype(object).where(col.notna(), "").astype(str).str.strip()
    missing = text.str.lower().isin(tokens).to_numpy(dtype=bool)
    given = text[~missing]
    if given.empty or given.str.match(_PADDED).any():
        return None
    if given.str.fullmatch(_INT).all():
        try:
            values = given.astype(np.int64)
        except (OverflowError, ValueError):  # beyond int64: keep the digits exactly, as text
            return None
        out = pd.Series(pd.NA, index=col.index, dtype="Int64")
        out[~missing] = values.to_numpy()
        return out
    values = pd.to_numeric(given, errors="coerce")
    if values.isna().any():
        return None
    out = np.full(len(col), np.nan)
    out[~missing] = values.to_numpy(dtype=float)
    return pd.Series(out, index=col.index)


def cast_errors() -> tuple[type[Exception], ...]:
    """What :func:`conform` raises when a value does not fit the schema (pyarrow is imported on first use)."""
    import pyarrow as pa

    return (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError)


def _is_text(t) -> bool:
    import pyarrow as pa

    return pa.types.is_string(t) or pa.types.is_large_string(t)


def is_blank(values, tokens: frozenset[str]) -> bool:
    """Whether an Arrow column holds no value: null, NaN, or text that is only missing-value tokens."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_null(values.type) or values.null_count == len(values):
        return True
    if pa.types.is_floating(values.type):
        return bool(pc.all(pc.is_nan(values.drop_null())).as_py())
    if _is_text(values.type):
        text = pc.utf8_lower(pc.utf8_trim_whitespace(values.drop_null()))
        return bool(pc.all(pc.is_in(text, value_set=pa.array(sorted(tokens), pa.string()))).as_py())
    return False


def _cast(values, to, tokens: frozenset[str]):
    """``values`` cast to ``to`` without changing any value; a blank column becomes nulls, text stays text (else
    pyarrow's ``ArrowInvalid``)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if values.type == to:
        return values
    if not (_is_text(values.type) and _is_text(to)) and is_blank(values, tokens):
        return pa.chunked_array([pa.nulls(len(values), to)], type=to)
    if _is_text(values.type) and not _is_text(to):
        # numbers_from_text left it text for a reason: Arrow would read 007 as 7, and 27 digits as a rounded float
        raise pa.ArrowInvalid(f"text is not cast to {to}: a column that is text in any chunk is text in all")
    if pa.types.is_floating(values.type) and not pa.types.is_floating(to) and len(values):
        values = pc.if_else(pc.is_nan(values), pa.scalar(None, values.type), values)
    return values.cast(to, safe=True)


def _merged_type(earlier, later, tokens: frozenset[str], earlier_blank: bool, later_blank: bool):
    """The type that holds both columns' values exactly: the earlier one's, the later one's, else text.

    ``*_blank``: :func:`is_blank` of each, computed once by the caller (``earlier`` grows chunk by chunk).
    """
    import pyarrow as pa

    if later_blank and not pa.types.is_null(earlier.type):
        return earlier.type
    if earlier_blank:
        return later.type
    for into, values in ((earlier, later), (later, earlier)):  # prefer the type already written
        try:
            _cast(values, into.type, tokens)
            return into.type
        except cast_errors():
            pass
    return pa.string()  # every number has an exact text; e.g. ints beyond 2**53 beside fractions


def fits(schema, blank: list[bool], table, tokens: frozenset[str]) -> bool:
    """Whether ``table`` can be written in ``schema`` (whose columns ``blank`` held no value so far) unchanged."""
    for j, field in enumerate(schema):
        col = table.column(j)
        if col.type == field.type or is_blank(col, tokens):
            continue
        if blank[j]:
            return False  # the column takes this chunk's type: what is written must be rewritten
        try:
            _cast(col, field.type, tokens)
        except cast_errors():
            return False
    return True


def merge_schemas(schemas: list, values: Callable[[int], list], tokens: Iterable[str] = ()):
    """One Arrow schema for chunks whose column types may differ (same columns, in order).

    ``values(j)`` gives every chunk's column ``j``; it is asked only for
    columns whose types differ. A blank chunk (:func:`is_blank`, with the
    missing-value ``tokens``) takes the others' type; otherwise a column takes
    the first chunk's type if every later value casts to it unchanged, else
    the later chunk's, else text. The first schema's pandas metadata is kept,
    corrected for the columns whose type changed.
    """
    import pyarrow as pa

    tokens = frozenset(tokens)
    first = schemas[0]
    fields = []
    for j, field in enumerate(first):
        if len({s.field(j).type for s in schemas}) == 1:
            fields.append(field)
            continue
        chunks = [c if isinstance(c, pa.ChunkedArray) else pa.chunked_array([c]) for c in values(j)]
        # Linear in the chunks: what is merged so far is scanned again only when its type changes.
        acc, acc_blank = chunks[0], is_blank(chunks[0], tokens)
        for nxt in chunks[1:]:
            nxt_blank = is_blank(nxt, tokens)
            t = _merged_type(acc, nxt, tokens, acc_blank, nxt_blank)
            if acc.type != t:
                acc = _cast(acc, t, tokens)
            acc = pa.chunked_array([*acc.chunks, *_cast(nxt, t, tokens).chunks], type=t)
            acc_blank = acc_blank and nxt_blank
        fields.append(pa.field(field.name, acc.type))
    merged = pa.schema(fields)
    if merged.types == first.types:
        return first
    return merged.with_metadata(_pandas_metadata(first.metadata, merged))


def _pandas_metadata(metadata: dict | None, schema) -> dict:
    """The first chunk's pandas metadata, with the dtype of every column whose type changed made to match.

    Kept so pandas reads back what it wrote (e.g. a nullable Int64 column stays Int64), and
    corrected so it does not turn a column that became text or float back into its old dtype.
    """
    import json

    import pyarrow as pa

    if not metadata or b"pandas" not in metadata:
        return metadata or {}
    meta = json.loads(metadata[b"pandas"])
    for col in meta.get("columns", []):
        if col.get("name") not in schema.names:
            continue
        t = schema.field(col["name"]).type
        if pa.types.is_floating(t):
            col["pandas_type"], col["numpy_type"] = "float64", "float64"
        elif pa.types.is_string(t) or pa.types.is_large_string(t):
            col["pandas_type"], col["numpy_type"] = "unicode", "object"
    return {**metadata, b"pandas": json.dumps(meta).encode()}


def conform(table, schema, tokens: Iterable[str] = ()):
    """``table`` cast to ``schema`` without changing a value; raises pyarrow's error where a value does not fit."""
    import pyarrow as pa

    if table.schema.equals(schema, check_metadata=False):
        return table.replace_schema_metadata(schema.metadata)
    tokens = frozenset(tokens)
    columns = [col if col.type == f.type else _cast(col, f.type, tokens) for col, f in zip(table.columns, schema)]
    return pa.Table.from_arrays(columns, schema=schema)


def nullable_dtype(name: str):
    """pandas' nullable integer dtype for a numpy or Arrow integer type's name (``int64`` -> ``Int64``)."""
    return pd.api.types.pandas_dtype(name.replace("int", "Int").replace("uInt", "UInt"))


def nullable_int(arrow_type):
    """pandas' nullable integer dtype for an Arrow integer type: a null in an integer column
    would otherwise turn it into float64, and a 19-digit Gaia source_id would lose digits."""
    import pyarrow as pa

    if pa.types.is_integer(arrow_type):
        return nullable_dtype(str(arrow_type))
    return None


def text_types(frame: pd.DataFrame, columns) -> pd.DataFrame:
    """``frame`` (no rows) with its object ``columns`` in the type pandas gives a column of text: with no cell to
    infer it from, status and age_flags were object (Parquet: null), strings when a row came out."""
    text = pd.Series([""]).dtype
    for name in columns:
        if frame[name].dtype == object:
            frame[name] = frame[name].astype(text)
    return frame
