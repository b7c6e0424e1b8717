"""Column types of typed outputs (Parquet, FITS, ...): numbers read as CSV text become numbers again, and the
chunks' Arrow schemas merge into one.

CSV input is read as text, so nothing is reinterpreted on the way through;
a CSV output writes that text back unchanged. A typed output would store it
as strings, so a text column whose every cell is a number (or a
missing-value token) becomes a number column. Chunks are written as the text
they hold; the choice is made once from every chunk (:func:`text_kinds` of
each, :func:`number_columns` of all) and applied when the output is
assembled (:func:`typed_chunks`): a column with text in any chunk keeps each
cell's own text in all (``1e1``, ``76.0``, ``NA``), whatever ``--chunksize``;
ints and fractions give floats; a chunk with no value takes the column's type.
Deciding per chunk turned a numbers-only chunk's cells into floats written
back as their shortest text (``1e1`` as ``10``, ``NA`` as null) beside chunks
that kept theirs; deciding from a column's name would miss every column we do
not know. :func:`merge_schemas` reconciles what else differs between chunks
(a Parquet input's, or a blank one). pyarrow is imported inside the functions.
Also pandas' types for what a reader or writer hands on: nullable integers for Arrow's (:func:`nullable_int`), text
for an empty output's text columns (:func:`text_types`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

import numpy as np
import pandas as pd

from gyroage.pandas_compat import to_floats

_INT = re.compile(r"[+-]?[0-9]+")
_PADDED = re.compile(r"[+-]?0[0-9]")  # a leading zero (an identifier like 007) keeps the column text


def numbers_from_text(frame: pd.DataFrame, na_tokens: Iterable[str]) -> pd.DataFrame:
    """``frame`` with each text column of only numbers and ``na_tokens`` as numbers (Int64 or float64).

    Integers that fit int64 stay integers (nullable where a cell is missing);
    a column with any other text, or with no value at all, is left as it is.
    The whole table at once: chunks are settled together by :func:`number_columns` and :func:`table_numbers`.
    """
    tokens = frozenset(na_tokens)
    out = {}
    for i in range(frame.shape[1]):
        if _is_text_dtype(frame.iloc[:, i].dtype):
            kind, values = _parse(frame.iloc[:, i], tokens)
            if kind in _NUMBERS:
                out[i] = values
    if not out:
        return frame
    frame = frame.copy()
    for i, col in out.items():
        frame.isetitem(i, col)
    return frame


# What a chunk's text column holds (text_kinds), and the type each kind of number column is written in. "wide" is
# looked up by numbers_from_text, whose _parse gives it (number_columns makes it "int" for the chunked path).
_NUMBERS = {"int": "Int64", "wide": "Int64", "float": "float64"}
_EXACT = 2**53  # the largest integer up to which every integer is exact in a float64


def _is_text_dtype(dtype) -> bool:
    return pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype)


def text_kinds(frame: pd.DataFrame, na_tokens: Iterable[str]) -> dict[str, str]:
    """What each text column of one chunk holds, for :func:`number_columns`.

    ``int`` (integers that fit int64), ``wide`` (such integers, one beyond
    2**53 among them: a float would round it), ``float`` (numbers, some not
    integers), ``blank`` (only missing-value tokens), ``big`` (numbers, an
    integer beyond int64 among them, or beyond 2**53 beside a fraction) or
    ``text`` (anything else, an identifier like 007 included).
    """
    tokens = frozenset(na_tokens)
    return {name: _parse(frame[name], tokens, convert=False)[0] for name in frame.columns
            if _is_text_dtype(frame[name].dtype)}


def number_columns(kinds: Iterable[dict[str, str]]) -> dict[str, str]:
    """The columns that become numbers (``int`` or ``float``), from every chunk's :func:`text_kinds`.

    Decided from all chunks together, as :func:`numbers_from_text` decides on
    the whole table: a column with text in any chunk keeps every cell's own text
    in all (``1e1`` stays ``1e1``, ``NA`` stays ``NA``), whatever ``--chunksize``.
    """
    seen: dict[str, set[str]] = {}
    for chunk in kinds:
        for name, kind in chunk.items():
            seen.setdefault(name, set()).add(kind)
    out = {}
    for name, found in seen.items():
        if "text" in found or "big" in found:  # an integer beyond int64 keeps every digit, as text
            continue
        if "float" in found and "wide" in found:  # a float would round an integer beyond 2**53: text keeps it
            continue
        if "float" in found:  # integers beside fractions are floats
            out[name] = "float"
        elif "int" in found or "wide" in found:
            out[name] = "int"
    return out


def _parse(col: pd.Series, tokens: frozenset[str], convert: bool | str = True) -> tuple[str, pd.Series | None]:
    """(The column's kind, as :func:`text_kinds` names it; its numbers, or ``None``).

    ``convert``: ``True`` for the numbers of a column whose kind is ``int`` or
    ``float``, ``False`` for none, or the kind to convert it as (settled by :func:`number_columns`).
    """
    if not all(isinstance(v, str) for v in col.dropna().head(100)):
        return "text", None  # Python objects other than text: not ours to reinterpret
    text = col.astype(object).where(col.notna(), "").astype(str).str.strip()
    missing = text.str.lower().isin(tokens).to_numpy(dtype=bool)
    given = text[~missing]
    if isinstance(convert, str):
        kind = convert
    elif given.empty:
        return "blank", None
    elif given.str.match(_PADDED).any():
        return "text", None
    else:
        ints = given.str.fullmatch(_INT).to_numpy(dtype=bool)
        try:
            values = given[ints].astype(np.int64)
        except (OverflowError, ValueError):  # beyond int64: keep the digits exactly, as text (a float would round)
            return "big", None
        # beyond 2**53 a float64 rounds an integer (Gaia source_ids ~2**62 collide): exact as int64, text beside a float
        wide = bool(((values > _EXACT) | (values < -_EXACT)).any())
        kind = "wide" if wide else "int"
        if not ints.all():
            if wide:
                return "big", None
            rest = given[~ints]
            # the integers parsed already; a text column (names, ids) fails on its first cells: no full parse
            if pd.to_numeric(rest.head(64), errors="coerce").isna().any() or \
                    pd.to_numeric(rest, errors="coerce").isna().any():
                return "text", None
            kind = "float"
            if convert:
                values = to_floats(given)  # correctly rounded: pandas < 3.1's to_numeric can be a float off
    if not convert:
        return kind, None
    if kind in ("int", "wide"):
        out = pd.Series(pd.NA, index=col.index, dtype="Int64")
        out[~missing] = (given.astype(np.int64) if isinstance(convert, str) else values).to_numpy()
        return kind, out
    if isinstance(convert, str):
        values = to_floats(given)
    floats = np.full(len(col), np.nan)
    floats[~missing] = values
    return kind, pd.Series(floats, index=col.index)


def numbers_schema(schema, numbers: dict[str, str]):
    """``schema`` (of chunks holding CSV text) with the columns of ``numbers`` (:func:`number_columns`) as numbers,
    their pandas metadata too (an ``int`` column reads back as pandas' nullable Int64, as the local engine wrote it)."""
    import json

    import pyarrow as pa

    if not numbers:
        return schema
    types = {"int": pa.int64(), "float": pa.float64()}
    out = pa.schema([pa.field(f.name, types[numbers[f.name]]) if f.name in numbers else f for f in schema])
    metadata = dict(schema.metadata or {})
    if b"pandas" in metadata:
        meta = json.loads(metadata[b"pandas"])
        for col in meta.get("columns", []):
            if col.get("name") in numbers:
                t = _NUMBERS[numbers[col["name"]]]
                col.update(pandas_type=t.lower(), numpy_type=t, metadata=None)
        metadata[b"pandas"] = json.dumps(meta).encode()
    return out.with_metadata(metadata)


def table_numbers(table, numbers: dict[str, str], na_tokens: Iterable[str]):
    """An Arrow ``table`` (one chunk, CSV text) with its text columns named in ``numbers`` as numbers."""
    import pyarrow as pa

    tokens = frozenset(na_tokens)
    for name, kind in numbers.items():
        j = table.schema.get_field_index(name)
        if j < 0 or not (_is_text(table.schema.field(j).type) or pa.types.is_null(table.schema.field(j).type)):
            continue  # not text here: conform casts it
        values = _parse(table.column(j).to_pandas(), tokens, kind)[1]
        if values is None:
            continue
        # from_pandas: a missing cell is null, as pandas' to_parquet writes it (NaN included)
        arr = pa.array(values, type=pa.int64() if kind == "int" else pa.float64(), from_pandas=True)
        table = table.set_column(j, pa.field(name, arr.type), arr)
    return table


def typed_chunks(schema, read: Callable, na_tokens: Iterable[str], text: bool) -> tuple:
    """(The output's schema, its chunks as Arrow tables in it) for chunks of one table, written as they came.

    ``schema``: the chunks' merged schema (:func:`merge_schemas`); ``read(columns)``: the chunks, in order, as
    Arrow tables of those columns (``None``: all). ``text``: the chunks hold CSV text, whose number columns are
    settled from every chunk (:func:`number_columns`; read once more, text columns only) and then written as numbers.
    A value that fits no settled type is a one-line UserError when the chunks are iterated.
    """
    numbers: dict[str, str] = {}
    if text:
        names = [f.name for f in schema if _is_text(f.type)]
        numbers = number_columns(_chunk_kinds(t, na_tokens) for t in read(names)) if names else {}
        schema = numbers_schema(schema, numbers)
    return schema, _conformed((table_numbers(t, numbers, na_tokens) for t in read(None)), schema, na_tokens)


def _chunk_kinds(table, na_tokens: Iterable[str]) -> dict[str, str]:
    """:func:`text_kinds` of one chunk's text columns, and the kind of its other columns' own type.

    A chunk that holds numbers where the others hold text (an older run's, resumed) counts: its float column
    makes the column float, else the others' integers would settle it as ``int`` and its 1.5 fail to cast.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    kinds = text_kinds(table.select([f.name for f in table.schema if _is_text(f.type)]).to_pandas(), na_tokens)
    for f, col in zip(table.schema, table.columns):
        if _is_text(f.type) or is_blank(col, frozenset(na_tokens)):
            continue
        if pa.types.is_floating(f.type):
            kinds[f.name] = "float"
        elif pa.types.is_integer(f.type):
            # as a (rounded) float: abs of int64's minimum overflows; past 2**53 by any rounding is still past it
            big = pc.max(pc.abs(col.cast(pa.float64(), safe=False))).as_py() or 0
            kinds[f.name] = "wide" if big > _EXACT else "int"
        else:  # booleans, dates, ...: written as the text they hold
            kinds[f.name] = "text"
    return kinds


def _conformed(tables: Iterable, schema, na_tokens: Iterable[str]):
    """Each of ``tables`` :func:`conform`-ed to ``schema``; a value that does not fit is a one-line UserError."""
    from gyroage.errors import UserError

    for table in tables:
        try:
            yield conform(table, schema, na_tokens)
        except cast_errors() as exc:
            bad = [f.name for f, col in zip(schema, table.columns) if col.type != f.type]
            why = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            # the merge settles a type every chunk fits, and --resume refuses an older gyroage's chunks (another
            # chunk format) and any chunk changed on disk: what still reaches here is a gap in the merge
            raise UserError(f"column {', '.join(bad)} of the output's chunks cannot be written as one type ({why}): "
                            "a gyroage bug, please report it; a CSV output keeps every cell as its text") from None


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
    """``values`` cast to ``to`` without changing any value; a blank column becomes nulls, text stays text, a float
    is not narrowed (else pyarrow's ``ArrowInvalid``)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if values.type == to:
        return values
    if not (_is_text(values.type) and _is_text(to)) and is_blank(values, tokens):
        return pa.chunked_array([pa.nulls(len(values), to)], type=to)
    if _is_text(values.type) and not _is_text(to):
        # numbers_from_text left it text for a reason: Arrow would read 007 as 7, and 27 digits as a rounded float
        raise pa.ArrowInvalid(f"text is not cast to {to}: a column that is text in any chunk is text in all")
    if pa.types.is_floating(values.type) and pa.types.is_floating(to) and to.bit_width < values.type.bit_width:
        # Arrow's safe cast rounds 0.1 and makes 1e300 inf: a narrower float is refused (the caller widens instead)
        raise pa.ArrowInvalid(f"{values.type} is not narrowed to {to}: it would round its values")
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
