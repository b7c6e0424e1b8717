"""How a CSV is read: its delimiter, its first rows checked against the header, trailing delimiters.

pandas is told the layout (:class:`CsvLayout`) by :func:`detect`, which reads the header and the first
data row with the csv module: pandas alone cuts a first row longer than the header short without an error.
Used by :func:`gyroage.io.read_chunks` and the Dask engine.
"""

from __future__ import annotations

import csv
import io as _io
import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import pandas as pd

from gyroage.errors import UserError

# How every CSV is read (the local reader and the Dask engine): all text, so nothing is lost or
# reinterpreted; index_col=False, so rows with a trailing delimiter do not shift every column by one.
# pandas then cuts a first row longer than the header short, silently: detect checks that row itself.
CSV_OPTIONS = {"dtype": str, "keep_default_na": False, "skipinitialspace": True, "index_col": False}
# The field a trailing delimiter leaves after the header's last name is read under this name, then dropped.
_SPARE = "\x00trailing delimiter"


@dataclass(frozen=True)
class CsvLayout:
    """How a CSV is read: its delimiter, and whether its lines end with a delimiter (an empty last field to drop).

    ``names`` (pandas' header names and :data:`_SPARE`) is set when the first data row ends with one the
    header lacks: pandas would expect that field on every row and drop whatever a later row holds there.
    ``unnamed_last``: the header ends with one, so its last column has no name (pandas: ``Unnamed: N``).
    """

    sep: str
    names: tuple[str, ...] | None = None
    unnamed_last: bool = False

    @property
    def trims(self) -> bool:
        """Whether :meth:`trim` drops a last column."""
        return bool(self.names) or self.unnamed_last

    def read_options(self) -> dict:
        """Keywords for ``pandas.read_csv`` (and ``dask.dataframe.read_csv``)."""
        extra = {"names": list(self.names), "header": 0} if self.names else {}
        return {**CSV_OPTIONS, "sep": self.sep, **extra}

    def trim(self, chunk: pd.DataFrame, source, first_row: int | None = None) -> pd.DataFrame:
        """``chunk`` without the trailing delimiter's field; a one-line :class:`UserError` if a row has a value there.

        ``first_row``: the chunk's first data row, 0-based, to name the row (unknown under Dask).
        """
        if not self.trims:
            return chunk
        spare = chunk.iloc[:, -1]
        filled = (spare.notna() & spare.astype(str).str.strip().ne("")).to_numpy(dtype=bool)
        if filled.any():
            row = "a data row" if first_row is None else f"data row {first_row + int(np.argmax(filled)) + 1}"
            why = ("in the header's last column, which has no name (the header ends with a delimiter)"
                   if self.unnamed_last else
                   "after the header's last column (the first row ends with a delimiter, this one has one more field)")
            raise UserError(f"cannot parse {source}: {row} has a value {why}")
        return chunk.iloc[:, :-1]


def _records(head: str, sep: str, n: int) -> list[tuple[list[str], int]]:
    """The first ``n`` non-blank records of ``head`` as the csv module splits them, each with its first line (1-based).

    Fewer when ``head`` ends first, or inside a quoted field.
    """
    reader = csv.reader(_io.StringIO(head, newline=""), delimiter=sep, skipinitialspace=True)
    out: list[tuple[list[str], int]] = []
    start = 1
    try:
        for record in reader:
            if len(record) > 1 or any(f.strip() for f in record):  # pandas skips blank and all-space lines
                out.append((record, start))
                if len(out) == n:
                    break
            start = reader.line_num + 1
    except csv.Error:
        pass
    return out


def read_head(fh, source) -> tuple[str, str]:
    """(the start of ``fh``, its delimiter): at least 64 KiB, and more until it holds the header and the first data row
    whole. The delimiter is sniffed once, when the header line is whole (:func:`sniff_separator` reads only that line)."""
    try:
        head, sep = fh.read(65536), None
        while True:
            if sep is None and _first_line_ends(head):
                sep = sniff_separator(head)
            if sep is not None and len(_records(head, sep, 3)) >= 3:  # a third record, even cut short, ends the second
                break
            more = fh.read(1 << 20)
            if not more:
                break
            head += more
    except UnicodeDecodeError as exc:
        raise not_utf8(source, exc) from None
    return head, sniff_separator(head) if sep is None else sep


def _first_line_ends(head: str) -> bool:
    """Whether ``head``'s first line has its line break (by :meth:`str.splitlines`' reckoning, as sniffing reads it)."""
    first = head.splitlines(keepends=True)[0] if head else ""
    return first.splitlines() != [first]


def detect(head: str, source, sep: str | None = None) -> CsvLayout:
    """How to read the CSV that starts with ``head`` (:func:`read_head`, which gives ``sep``; sniffed here if ``None``);
    a one-line :class:`UserError` if its first data row has more fields than the header, beyond one empty field
    (a trailing delimiter)."""
    if sep is None:
        sep = sniff_separator(head)
    records = _records(head, sep, 2)
    header = records[0][0] if records else []
    unnamed_last = len(header) > 1 and not header[-1].strip()  # a trailing delimiter: README says it is ignored
    if len(records) < 2 or len(records[1][0]) <= len(header):
        return CsvLayout(sep, unnamed_last=unnamed_last)
    row, line = records[1]
    if len(row) > len(header) + 1 or row[-1].strip() or unnamed_last:  # two trailing delimiters are not one
        raise UserError(f"cannot parse {source}: Expected {len(header)} fields in line {line}, saw {len(row)}")
    lines = _io.StringIO(head, newline="")
    header_text = "".join(next(lines) for _ in range(line - 1))  # the header (and blank lines): pandas' names
    names = pd.read_csv(_io.StringIO(header_text), sep=sep, nrows=0, **CSV_OPTIONS).columns
    return CsvLayout(sep, (*map(str, names), _SPARE))


def sniff_separator(head: str) -> str:
    first = head.splitlines()[0] if head else ""
    first = re.sub(r'"[^"]*"', "", first)  # a delimiter inside a quoted column name does not count
    counts = {sep: first.count(sep) for sep in (",", ";", "\t", "|")}
    sep = max(counts, key=counts.get)
    return sep if counts[sep] > 0 else ","


def not_utf8(source, exc: UnicodeDecodeError) -> UserError:
    # gzip's magic at the start of the text: the reader has decompressed it once already (a .gz of a .gz)
    if exc.start == 1 and bytes(exc.object[:2]) == b"\x1f\x8b":
        return UserError(f"input {source} is gzip-compressed twice: gunzip it once (one layer is read)")
    return UserError(f"input {source} is not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset {exc.start}); "
                     "re-save it as UTF-8")


@contextmanager
def strict_parse(source) -> Iterator[None]:
    """Inside, pandas' warning that a first row longer than the header was cut short is a one-line :class:`UserError`.

    :func:`detect` checks the file's first row; this catches what its csv module splits otherwise than
    pandas, and under Dask each block's first row. The filter holds inside only, never process-wide.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message="Length of header or names does not match",
                                category=pd.errors.ParserWarning)
        try:
            yield
        except pd.errors.ParserWarning:
            raise UserError(f"cannot parse {source}: a row has more fields than the header") from None


def strict_chunks(reader, source) -> Iterator[pd.DataFrame]:
    """Chunks of a pandas CSV reader, each read under :func:`strict_parse` (not while the caller holds it)."""
    while True:
        with strict_parse(source):
            chunk = next(reader, None)
        if chunk is None:
            return
        yield chunk
