"""Parquet input: the chunked reader, and what a file's metadata says about its cells (astropy's masks, units).

Split from :mod:`gyroage.io`, which reads every other format and calls :func:`read_parquet`.
"""

from __future__ import annotations

import io as _io
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from gyroage import notices
from gyroage.column_types import nullable_dtype, nullable_int
from gyroage.columns import read_roles
from gyroage.errors import UserError
from gyroage.files import require_input_file


def read_parquet(source: str | Path, chunksize: int, roles: dict[str, str] | None = None) -> Iterator[pd.DataFrame]:
    import pyarrow.parquet as pq

    path = _io.BytesIO(sys.stdin.buffer.read()) if str(source) == "-" else require_input_file(source)
    try:
        pf = pq.ParquetFile(path)
    except Exception as exc:
        raise UserError(f"cannot read Parquet {source}: {str(exc).splitlines()[0]}") from None
    meta = parquet_meta(pf.schema_arrow, source, roles)
    meta.log()
    say_index_clashes(index_clashes(pf.schema_arrow), source)
    ranged, done = range_index(pf.schema_arrow, pf.metadata.num_rows), 0
    any_batch = False
    for batch in pf.iter_batches(batch_size=chunksize):
        any_batch = True
        yield meta.apply(index_as_columns(batch.to_pandas(types_mapper=nullable_int), ranged, done))
        done += batch.num_rows
    if not any_batch:  # zero rows: still hand on the columns, as the CSV reader does
        empty = pf.schema_arrow.empty_table().to_pandas(types_mapper=nullable_int)
        yield meta.apply(index_as_columns(empty, ranged))


def range_index(schema, num_rows: int) -> tuple[str, int, int] | None:
    """(name, start, step) of the named RangeIndex a Parquet file of ``schema`` (an Arrow schema) and ``num_rows``
    rows keeps in its pandas metadata only; None for none, an unnamed one (row labels), one named like a column, or
    one whose length is not the file's rows (a ParquetWriter's appended tables keep the first's range: the others'
    labels were made up past its stop, review V53, 7; pyarrow and pandas then leave it out too).

    pandas 3 makes ``set_index`` of evenly spaced ids (two consecutive Gaia ids, an empty frame) a RangeIndex, so it
    can hold data; pyarrow rebuilds it only for a chunk holding the whole file, which made the columns depend on
    the chunking (review V52, 3): :func:`index_as_columns` computes its cells for every chunk instead.
    """
    found = [c for c in (schema.pandas_metadata or {}).get("index_columns") or []
             if isinstance(c, dict) and c.get("kind") == "range"]
    if not found or found[0].get("name") is None or found[0]["name"] in schema.names:
        return None
    if len(range(int(found[0]["start"]), int(found[0]["stop"]), int(found[0]["step"]))) != num_rows:
        return None
    return str(found[0]["name"]), int(found[0]["start"]), int(found[0]["step"])


def _pandas_index(schema) -> tuple[dict, list, set]:
    """What pandas' metadata in a Parquet file of ``schema`` says of its index: each stored field's pandas name, the
    index columns (a stored level's field name, or a range's description), and the data columns' names."""
    pandas = schema.pandas_metadata or {}
    stored = {c.get("field_name"): c.get("name") for c in pandas.get("columns") or [] if isinstance(c, dict)}
    index = pandas.get("index_columns") or []
    return stored, index, set(schema.names) - {c for c in index if isinstance(c, str)}


def index_names(schema, num_rows: int) -> tuple[str, ...]:
    """The columns a Parquet file of ``schema`` and ``num_rows`` rows gains from its pandas index as :func:`index_as_columns` adds them: its
    named RangeIndex and its named stored levels not named like a column (the dask engine's check that files agree)."""
    stored, index, data = _pandas_index(schema)
    ranged = range_index(schema, num_rows)
    levels = [str(stored.get(c)) for c in index if isinstance(c, str) and stored.get(c) is not None
              and stored.get(c) not in data]
    return ((ranged[0],) if ranged else ()) + tuple(levels)


def data_columns(schema, meta: ParquetMeta) -> tuple[str, ...]:
    """The columns a Parquet file of ``schema`` gives as data, in its order: not pandas' stored index levels
    (:func:`index_names` names those a reader keeps) nor astropy's mask columns (``meta``'s, dropped on reading)."""
    index = {c for c in _pandas_index(schema)[1] if isinstance(c, str)}
    masks = {m for _, m in meta.masks}
    return tuple(n for n in schema.names if n not in index and n not in masks)


def refuse_other_columns(columns: dict[str, tuple[str, ...]], ordered: bool = False) -> None:
    """A one-line :class:`UserError` naming the first file of ``columns`` (each file as shown: its
    :func:`data_columns`, or a CSV file's header) whose columns are not the first file's, and those it lacks and
    adds: dask read a later file lacking one as a KeyError traceback, and dropped one it adds without a word (review
    V63, 2). The same columns in another order are accepted (dask reads Parquet columns by name) unless
    ``ordered``: dask reads a CSV file's later blocks under the first file's header, by position (review V64, 12)."""
    if not columns:
        return
    (first, names), *rest = columns.items()
    for other, these in rest:
        lacks, adds = [n for n in names if n not in these], [n for n in these if n not in names]
        if lacks or adds:
            def listed(cols: list[str]) -> str:  # a few: a file of another table may differ in hundreds
                # quoted where a blank would hide the difference ("lacks name  and adds name", review V66, 4)
                shown = [repr(c) if c != c.strip() or not c else c for c in map(str, cols[:5])]
                return ", ".join(shown) + (f", ... ({len(cols)} in all)" if len(cols) > 5 else "")

            said = " and ".join(f"{word} {listed(c)}" for word, c in (("lacks", lacks), ("adds", adds)) if c)
            raise UserError(f"the input files differ from {first} in their columns: {other} {said}; write them "
                            "alike, or date them apart")
        if ordered and tuple(these) != tuple(names):
            i = next(i for i, (a, b) in enumerate(zip(these, names)) if a != b)
            raise UserError(f"the input files differ from {first} in their columns' order: {other} has {these[i]} "
                            f"where {first} has {names[i]} (column {i + 1}); the dask engine reads CSV columns by "
                            "position: write them in one order, or date them apart")


def index_clashes(schema) -> tuple[str, ...]:
    """The pandas index levels of a Parquet file of ``schema`` named like one of its columns: not read (the column
    is; the level may hold other values: it was dropped without a word, review V52, 10), and dask's
    ``read_parquet`` fails on them."""
    stored, index, data = _pandas_index(schema)
    names = [c.get("name") if isinstance(c, dict) else stored.get(c) for c in index]
    return tuple(str(n) for n in names if n is not None and n in data)


def say_index_clashes(clashes: tuple[str, ...], source, files: int = 1) -> bool:
    """Say, in one line, the :func:`index_clashes` of ``source`` (the first of ``files`` files sharing them: a
    folder's parts said once, not a line each); whether there were any."""
    if clashes:
        where = "stdin" if str(source) == "-" else source
        level = f"pandas index {', '.join(repr(n) for n in clashes)}"
        whose = f"{where}'s {level}" if files == 1 else f"the {level} of {files} files (the first: {where})"
        notices.say(f"gyroage: note: {whose} {'is' if len(clashes) == 1 else 'are'} not read: a column has its name "
                    "(if it holds other values, write it under another name)")
    return bool(clashes)


def index_as_columns(frame: pd.DataFrame, ranged: tuple[str, int, int] | None = None, offset: int = 0) \
        -> pd.DataFrame:
    """``frame`` with its named index levels as ordinary columns (first, as ``reset_index`` puts them), its unnamed
    ones dropped, and a RangeIndex.

    pandas' metadata makes a column written as the DataFrame's index (``df.set_index("source_id").to_parquet``, the
    usual way to keep a Gaia id) the index again, which every reader throws away. An unnamed index holds row
    labels (a filtered frame's), no data; a level named as a column is that column's copy. ``ranged``: the file's
    named RangeIndex (:func:`range_index`), whose cells for the chunk starting at row ``offset`` become its column.
    """
    if ranged is not None:
        name, start, step = ranged
        frame = frame.reset_index(drop=True)
        frame.insert(0, name, start + step * (offset + np.arange(len(frame), dtype=np.int64)))
        return frame
    if isinstance(frame.index, pd.RangeIndex):
        # only pandas' range metadata gives one, and range_index found it no data: pyarrow rebuilds one not covering
        # the file for a chunk of its length (review V53, 7)
        return frame if frame.index.name is None else frame.reset_index(drop=True)
    named = [n for n in frame.index.names if n is not None and n not in frame.columns]
    if named:
        frame = frame.reset_index(level=named)
    return frame.reset_index(drop=True)


def read_row_group(piece: tuple, empty: bool = False) -> pd.DataFrame:
    """Consecutive row groups of a Parquet file, its named RangeIndex (:func:`range_index`) as a column: a dask
    partition.

    ``piece``: (filesystem, path, row groups, the first's first row, the file's range index); ``empty``: no rows,
    the meta.
    """
    import pyarrow.parquet as pq

    fs, path, groups, offset, ranged = piece
    with fs.open(path, "rb") as fh:
        pf = pq.ParquetFile(fh)
        table = pf.schema_arrow.empty_table() if empty or not groups else pf.read_row_groups(list(groups))
        # nullable_int, as the local reader: a null in an int64 id column made it float64, rounding 19-digit ids
        return index_as_columns(table.to_pandas(types_mapper=nullable_int), ranged, offset)


@dataclass(frozen=True)
class ParquetMeta:
    """What a Parquet file's metadata says about its cells: astropy's masks and the units of the columns read.

    ``masks``: (column, its mask column): astropy writes a masked column's stored values (stale under the mask) and
    a ``<col>.mask`` bool column beside it, described in its ``table_meta_yaml``. ``units``: (column, role, unit
    text) of each column the tool reads whose unit changes its values (:func:`gyroage.units.unit_conversion`);
    ``notes``: the conversions' log notes (a unit equal to the tool's in other words, ``86400 s``, only logged).
    Equal for files that are read alike (the Dask engine's check).
    """

    masks: tuple[tuple[str, str], ...] = ()
    units: tuple[tuple[str, str, str], ...] = ()
    notes: tuple[str, ...] = field(default=(), compare=False)

    def __bool__(self) -> bool:
        return bool(self.masks or self.units)

    def log(self) -> None:
        """The conversions on stderr, in one line, as for FITS and a CSV's units row (once per input)."""
        if self.notes:
            notices.say(f"gyroage: converted column {', '.join(self.notes)}")

    def apply(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``frame`` (a chunk) with its masked cells missing, its mask columns dropped and its units converted."""
        if not self:
            return frame
        masked = {data: frame[mask].to_numpy(dtype=bool, na_value=False)  # a null mask cell: not masked
                  for data, mask in self.masks if data in frame.columns and mask in frame.columns}
        frame = frame.drop(columns=[mask for _, mask in self.masks if mask in frame.columns])  # a new frame
        for data, mask in masked.items():
            col = frame[data]
            if not isinstance(col.dtype, pd.api.extensions.ExtensionDtype) and col.dtype.kind in "iub":
                # a missing cell needs pandas' nullable type: NaN would turn int64 ids into floats
                col = col.astype("boolean" if col.dtype.kind == "b" else nullable_dtype(col.dtype.name))
            frame[data] = col.mask(mask)
        if self.units:  # numbers as a FITS column's, text as a CSV's units row converts it
            from gyroage.units import convert_frame_units

            frame = convert_frame_units(frame, list(self.units))[0]
        return frame


def merged_meta(metas: dict[str, ParquetMeta]) -> tuple[ParquetMeta, bool]:
    """(one :class:`ParquetMeta` for the files ``metas`` (each as shown: its own), whether their masks differ); a
    one-line :class:`UserError` naming the first file whose units differ from the first's, which one conversion of
    every partition could not honour. astropy writes a mask column only for a column with a masked cell, so the
    parts of one table differ in their masks (review V64, 9): all of them are applied, each where its file has it."""
    (first, meta), *rest = metas.items()
    for other, m in rest:
        if m.units != meta.units:
            raise UserError(f"the input files differ from {first} in their units (Parquet metadata): {other} does; "
                            "convert them alike, or date them apart")
    masks = tuple(dict.fromkeys(pair for m in metas.values() for pair in m.masks))
    return ParquetMeta(masks, meta.units, meta.notes), any(m.masks != masks for m in metas.values())


def refuse_repeated_names(names: list[str], source, roles: dict[str, str] | None = None,
                          scope: Literal["any", "read", "options"] = "any") -> None:
    """A one-line :class:`UserError` for a name ``names`` repeat in ``source`` (a path, or '-': stdin): a Parquet
    file's or a VOTable's FIELDs, which astropy renames A_V, A_V_2 (the second then matched no quantity, unsaid, where
    a CSV's A_V.1 is named as a repeat).

    ``scope``: the repeats refused. ``"any"``: a Parquet file's (pandas fails on one). ``"read"``: of a column the
    tool reads (``roles``: the options' too); a VOTable's other repeats (a TAP join's two source_id) are read as
    astropy renames them. ``"options"``: of a column ``roles`` names (a CSV header's: pandas reads the first, the
    option's lookup found it silently; a repeated quantity's column is named by :func:`gyroage.columns.duplicate_notes`)."""
    counts = Counter(names)
    if max(counts.values(), default=0) < 2:
        return
    # the columns the tool reads; the others only copied
    found = read_roles(names, roles)
    read_names = {c for r, c in found.items() if scope != "options" or r in (roles or {})}
    if scope != "options":  # the period's limit flags are read too: two refused in one line (review V37, 6)
        from gyroage.column_notes import limit_column

        limit_column(names, found.get("prot"))
    repeated = next((n for n in names if counts[n] > 1 and (scope == "any" or n in read_names)), None)
    if repeated is not None:
        # --posteriors' default ids: no option the user typed names the column, so the line says what reads it
        why = ", which --posteriors reads as an id: give --id another column, or" if any(
            c == repeated and r.startswith("--posteriors id") for r, c in found.items()) else ":"
        where = "stdin" if str(source) == "-" else source
        raise UserError(f"{where} has {counts[repeated]} columns named '{repeated}'{why} rename all but one "
                        f"({'the first would be read' if repeated in read_names else 'columns must have distinct names'})")


def parquet_meta(schema, source, roles: dict[str, str] | None = None) -> ParquetMeta:
    """The masks and units of a Parquet file of ``schema`` (an Arrow schema): astropy's ``table_meta_yaml`` and a
    field's ``unit`` metadata; a one-line :class:`UserError` for a unit that does not convert (as for FITS).

    ``roles``: more columns to convert (:func:`read_chunks`). astropy is imported only for a file that has either.
    A repeated column name (Arrow allows it; a CSV's is read as ``name.1``) is refused in one line: pandas gave a
    two-column frame where one column was read, a traceback.
    """
    refuse_repeated_names(schema.names, source, roles)
    units = {f.name: f.metadata[b"unit"].decode("utf-8", "replace") for f in schema
             if f.metadata and f.metadata.get(b"unit", b"").strip()}
    masks: list[tuple[str, str]] = []
    text = (schema.metadata or {}).get(b"table_meta_yaml")
    if text is not None:
        from astropy.table.meta import get_header_from_yaml

        try:
            header = get_header_from_yaml(text.decode("utf-8").splitlines())
        except Exception as exc:  # noqa: BLE001 - whatever the YAML's fault, it is the file's
            raise UserError(f"cannot read Parquet {source}: its astropy metadata (table_meta_yaml) is damaged: "
                            f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
        for entry in header.get("datatype") or []:
            if isinstance(entry, dict) and entry.get("unit") is not None and str(entry["unit"]).strip():
                units[str(entry.get("name"))] = str(entry["unit"])  # astropy's own record wins over a field's
        names = set(schema.names)
        masks = [(d, m) for d, m in _mask_pairs((header.get("meta") or {}).get("__serialized_columns__"))
                 if d in names and m in names]
    if not units:
        return ParquetMeta(tuple(masks))
    gone = {m for _, m in masks}
    from gyroage.units import unit_conversion

    todo, notes = [], []
    for role, name in read_roles([n for n in schema.names if n not in gone], roles).items():
        conversion = unit_conversion(role, name, units.get(name))
        if conversion is None:
            continue
        if conversion.note:
            notes.append(conversion.note)
        if not conversion.unchanged:  # d, mag: the cells as they are
            todo.append((name, role, units[name]))
    return ParquetMeta(tuple(masks), tuple(todo), tuple(notes))


def _mask_pairs(serialized) -> Iterator[tuple[str, str]]:
    """(column, mask column) of each masked column in astropy's ``__serialized_columns__`` (a Quantity's nested)."""
    if not isinstance(serialized, dict):
        return
    data, mask = serialized.get("data"), serialized.get("mask")
    if isinstance(data, dict) and isinstance(mask, dict) and isinstance(data.get("name"), str) \
            and isinstance(mask.get("name"), str):
        yield data["name"], mask["name"]
        return
    for value in serialized.values():
        yield from _mask_pairs(value)
