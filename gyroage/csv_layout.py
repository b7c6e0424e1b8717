"""How a CSV is read: its delimiter, its first rows checked against the header, trailing delimiters.

pandas is told the layout (:class:`CsvLayout`) by :func:`detect`, which reads the header and the first
data row with the csv module: pandas alone cuts a first row longer than the header short without an error.
Used by :func:`gyroage.io.read_chunks` and the Dask engine.
"""

from __future__ import annotations

import csv
import io as _io
import itertools
import re
from collections import Counter
from collections.abc import Container, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from gyroage import notices
from gyroage.columns import COLUMN_KINDS, OPTION_KINDS, column_role, is_number, read_roles
from gyroage.errors import UserError
from gyroage.file_kinds import foreign_input
from gyroage.units import log_unit_text

# How every CSV is read (the local reader and the Dask engine): all text, so nothing is lost or
# reinterpreted; index_col=False, so rows with a trailing delimiter do not shift every column by one.
# pandas then cuts a first row longer than the header short, silently: detect checks that row itself.
CSV_OPTIONS = {"dtype": str, "keep_default_na": False, "skipinitialspace": True, "index_col": False}
# Cells that mean "no value" in an optional column (compared stripped and lower-cased; gyroage.io.NA_TOKENS).
NA_TOKENS = frozenset({"", "nan", "na", "n/a", "null", "none", "--"})
# A number with a decimal comma (European Excel's ';' and tab files), and the integers such a column also holds.
_DECIMAL_COMMA = r"\s*[+-]?\d+,\d+(?:[eE][+-]?\d+)?\s*"  # a pattern string: pandas hands it to Arrow
_INTEGER = r"\s*[+-]?\d+\s*"
_DECIMAL_COMMA_RE, _INTEGER_RE = re.compile(_DECIMAL_COMMA), re.compile(_INTEGER)
# A decimal point (12.5, 1,234.5) or commas grouping thousands (1,234,567): in a cell of a column of decimal commas,
# a sign the column is not written with them (searched in the cell).
_NOT_DECIMAL_COMMA = re.compile(r"\.\d|\d,\d+,\d")
# The field a trailing delimiter leaves after the header's last name is read under this name, then dropped.
_SPARE = "\x00trailing delimiter"
# A line break as the csv module and pandas count one: a lone \r (old Mac files) too, which str.split("\n") misses.
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True)
class CsvLayout:
    """How a CSV is read: its delimiter, and whether its lines end with a delimiter (an empty last field to drop).

    ``names`` (pandas' header names and :data:`_SPARE`) is set when the first data row ends with one the
    header lacks: pandas would expect that field on every row and drop whatever a later row holds there.
    ``unnamed_last``: the header ends with one, so its last column has no name (pandas: ``Unnamed: N``).
    ``skip``: lines before the header (leading ``#`` comments, :func:`header_start`); ``hashed``: the header is
    itself the last of them (``#name,prot,...``), its first name read without the ``#``. ``drop``: the lines
    (0-based) of a units row and a row of dashes under the header (VizieR's layout, :func:`_units_and_dashes`);
    ``units``: (name, unit) of every header column when there is a units row (a blank unit: none); ``roles``: the
    canonical name each column is read as, or ``""`` (set by :func:`gyroage.io.read_chunks`, which knows the names), so
    :meth:`trim` converts those columns as astropy's units are (:func:`gyroage.units.convert_text_units`).
    ``commas``: (position, name) of the columns of a ``;`` or tab file written with decimal commas
    (:func:`_decimal_comma_columns`), whose ``7,0`` :meth:`trim` reads as ``7.0``. ``cr``: lines end with a lone
    ``\r`` (old Mac files), which pandas is told: its ``skiprows`` list skips the wrong lines otherwise.
    ``repeats``: the names the header holds more than once, sorted: pandas reads the second X as X.1, which the API
    refuses as a repeat only for these (a real ``X.1`` column is no repeat, review V34, 2). ``header``: the header's
    names as read (the Dask engine compares its files' by name and order: it reads every block by the first's).
    """

    sep: str
    names: tuple[str, ...] | None = None
    unnamed_last: bool = False
    skip: int = 0
    hashed: bool = False
    drop: tuple[int, ...] = ()
    units: tuple[tuple[str, str], ...] = ()
    roles: tuple[str, ...] = ()
    commas: tuple[tuple[int, str], ...] = ()
    cr: bool = False
    repeats: tuple[str, ...] = field(default=(), compare=False)  # out of ==: the dask engine compares files as before
    header: tuple[str, ...] = field(default=(), compare=False)

    @property
    def converts(self) -> bool:
        """Whether :meth:`converted` changes a chunk."""
        return bool(self.commas) or any(self.roles)

    @property
    def trims(self) -> bool:
        """Whether :meth:`trim` changes a chunk (drops a last column, renames the first, or converts cells)."""
        return bool(self.names) or self.unnamed_last or self.hashed or self.converts

    def read_options(self) -> dict:
        """Keywords for ``pandas.read_csv`` (and ``dask.dataframe.read_csv``)."""
        extra = {"names": list(self.names), "header": 0} if self.names else {}
        if self.drop:  # line numbers: Dask takes a list too, and applies it to each file's first block only
            extra["skiprows"] = [*range(self.skip), *self.drop]
        elif self.skip:  # a count, not pandas' comment=: a data row may start with '#' (a star named #1)
            extra["skiprows"] = self.skip
        if self.cr:
            extra["lineterminator"] = "\r"
        return {**CSV_OPTIONS, "sep": self.sep, **extra}

    def converted(self, chunk: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
        """(``chunk`` with decimal commas read as points (:attr:`commas`), then the columns of :attr:`roles`
        converted from their units, the log notes); a one-line :class:`UserError` for a unit that cannot be
        converted."""
        from gyroage.units import convert_text_units

        if self.commas:
            chunk = chunk.copy()
            for i, _ in self.commas:  # by position: pandas renames a repeated name
                if i < len(chunk.columns):  # a whole-cell match, then a plain replace: 5x a regex replace's speed
                    col = chunk.iloc[:, i]
                    point = col.str.replace(",", ".", n=1, regex=False)
                    chunk.isetitem(i, point.where(col.str.fullmatch(_DECIMAL_COMMA, na=False), col))
        if not any(self.roles):
            return chunk, []

        todo = [(chunk.columns[i], role, unit) for i, ((_, unit), role) in enumerate(zip(self.units, self.roles))
                if role and unit and i < len(chunk.columns)]
        return convert_text_units(chunk, todo)

    def trim(self, chunk: pd.DataFrame, source, first_row: int | None = None) -> pd.DataFrame:
        """``chunk`` without the trailing delimiter's field and its first name's ``#`` (:attr:`hashed`), its units
        converted (:meth:`converted`); a one-line :class:`UserError` if a row has a value in that field.

        ``first_row``: the chunk's first data row, 0-based, to name the row (unknown under Dask).
        """
        if self.hashed:
            chunk = _unhash(chunk)
        if not (self.names or self.unnamed_last):
            return self.converted(chunk)[0] if self.converts else chunk
        spare = chunk.iloc[:, -1]
        filled = (spare.notna() & spare.astype(str).str.strip().ne("")).to_numpy(dtype=bool)
        if filled.any():
            row = "a data row" if first_row is None else f"data row {first_row + int(np.argmax(filled)) + 1}"
            why = ("in the header's last column, which has no name (the header ends with a delimiter)"
                   if self.unnamed_last else
                   "after the header's last column (the first row ends with a delimiter, this one has one more field)")
            raise UserError(f"cannot parse {source}: {row} has a value {why}")
        chunk = chunk.iloc[:, :-1]
        return self.converted(chunk)[0] if self.converts else chunk


def _unhash(chunk: pd.DataFrame) -> pd.DataFrame:
    """``chunk`` with its first column's name without the ``#`` of a commented header (unless another has that name)."""
    first = str(chunk.columns[0]) if len(chunk.columns) else ""
    name = first.lstrip("#").strip()
    if not name or name in map(str, chunk.columns):
        return chunk
    return chunk.rename(columns={chunk.columns[0]: name})


def _is_comment(line: str) -> bool:
    return line.lstrip().startswith("#")


def header_start(head: str, sep: str | None = None) -> tuple[int, bool]:
    """(lines before the header, whether the header is a commented one) of the CSV that starts with ``head``.

    Lines are counted as pandas' ``skiprows`` counts them (:data:`_LINE_BREAK`). Only lines *before* the header may be
    comments (``#`` first, after blanks): a data row that starts with ``#`` is a row. Without a comment line this is
    ``(0, False)``, so blank lines before the header are skipped by pandas, as ever. The last comment line is the
    header (a commented header, ``#name,prot,bp_rp0``) when it splits on ``sep`` into as many fields as the next
    line, none a number, while that line holds a number: then that line is data, not a header.
    """
    lines = _LINE_BREAK.split(head)
    start = next((i for i, ln in enumerate(lines) if ln.strip() and not _is_comment(ln)), len(lines))
    comments = [i for i in range(start) if _is_comment(lines[i])]
    if not comments:
        return 0, False
    if sep is not None and start < len(lines):
        last = comments[-1]
        names = _fields(lines[last].lstrip()[1:], sep)
        row = _fields(lines[start], sep)
        if len(names) == len(row) >= 2 and not any(map(is_number, names)) and any(map(is_number, row)):
            return last, True
    return start, False


def _fields(line: str, sep: str) -> list[str]:
    return next(csv.reader([line.rstrip("\r")], delimiter=sep, skipinitialspace=True), [])


def _title(header: list[str], line: str) -> bool:
    """Whether ``header`` (the first line, split) is a title over the real header ``line``: one name (trailing
    delimiters allowed) over a line of several names (by its own delimiter) and no number."""
    if not header or not header[0].strip() or any(c.strip() for c in header[1:]):
        return False
    names = [c.strip() for c in _fields(line, sniff_separator(line)) if c.strip()]
    return len(names) > 1 and not any(map(is_number, names))


def _decimal_comma_columns(records: list[tuple[list[str], int]], header: list[str],
                           read: Container[int] = ()) -> tuple[tuple[int, str], ...]:
    """(position, name) of the columns of ``records`` (the first, whole, data rows) written with decimal commas. Asked
    of ``;`` and tab files only: there a comma is no delimiter, so ``7,0`` is seven.

    Decided once, on these rows, so every chunk of a file is read alike. A column the tool reads (``read``: positions,
    :func:`_read_kinds`) is when one cell at least is a number with a decimal comma and such numbers and integers are at
    least 90% of its cells that say how it writes decimals: those and the cells with a decimal point (``12.5``,
    ``1,234.5``) or commas grouping thousands (``1,234,567``). Any other cell (``-``, ``#N/A``, ``<0,5``, ``inf``,
    ``1e300``) is a bad cell however the column is read: it is its own row's, and must not switch the column off for
    every star. Any other column (a name, a note: text passed through) is only when all its cells are such numbers,
    integers or missing.
    """
    cells = [r for r, _ in records if len(r) <= len(header) + 1]
    out = []
    for i, name in enumerate(header):
        column = [r[i].strip() for r in cells if i < len(r) and r[i].strip().lower() not in NA_TOKENS]
        commas = sum(bool(_DECIMAL_COMMA_RE.fullmatch(c)) for c in column)
        if not commas:
            continue
        numbers = commas + sum(bool(_INTEGER_RE.fullmatch(c)) for c in column)
        if i in read:
            against = sum(bool(_NOT_DECIMAL_COMMA.search(c)) for c in column)
            decided = 10 * numbers >= 9 * (numbers + against)
        else:
            decided = numbers == len(column)
        if decided:
            out.append((i, name.strip()))
    return tuple(out)


def _dashes(record: list[str]) -> bool:
    """Whether ``record`` is a rule under a header: runs of ``-`` or ``=`` (blank cells allowed)."""
    cells = [c.strip() for c in record if c.strip()]
    return bool(cells) and all(re.fullmatch(r"[-=]+", c) for c in cells)


_RDB_TYPE = re.compile(r"\d*[NS]", re.IGNORECASE)  # an RDB column type: N(umber) or S(tring), a width before it


def rdb_types(header: list[str], row: list[str], kinds: dict[int, str] | None = None) -> bool:
    """Whether ``row``, the first under ``header``, is an RDB table's line of column types (``S N N``, ``10S 8N``):
    one type for every column, N for each the tool reads as a number (``kinds``: :func:`_read_kinds`'s). No cell
    holds a number: a star's period does, so no star that could be dated is taken for one."""
    cells = [c.strip() for c in row]
    if len(cells) != len(header) or not all(_RDB_TYPE.fullmatch(c) for c in cells):
        return False
    kinds = _read_kinds(header) if kinds is None else kinds
    return bool(kinds) and all(cells[i][-1] in "Nn" for i in kinds)


def _units_and_dashes(records: list[tuple[list[str], int]], kinds: dict[int, str]) -> tuple[int, list[str] | None]:
    """(how many records under the header are a units row and a row of dashes, or an RDB types line, the units row
    or ``None``).

    VizieR's TSV and ``|`` outputs put both under the header; a CSV may have a units row alone. A units row holds
    no number (a data row does: its period). Over a row of dashes that is enough: a cell that is no unit, in a column
    the tool reads, is then refused. Alone, every cell must be blank, ``---`` or a unit, and the columns the tool reads
    (``kinds``: position -> :data:`gyroage.columns.KINDS` key, :func:`_read_kinds`) must hold units of their own
    kind, one at least: else it is a data row (a star ``X`` with the flag ``N``, ``StarA,---,---``), which
    comes out as every row does.
    """
    rest = [r for r, _ in records[1:3]]
    if not rest or _dashes(rest[0]) or rdb_types(records[0][0], rest[0], kinds):
        return len(rest[:1]), None
    cells = {i: c.strip() for i, c in enumerate(rest[0]) if c.strip().lower() not in NA_TOKENS}
    if not any(c.strip() for c in rest[0]) and len(rest) > 1 and _dashes(rest[1]):
        return 2, None  # a units row with no unit in it: blank delimiters, as VizieR writes one for unitless columns
    if not cells or any(is_number(c) or is_number(c.replace(",", ".", 1)) for c in cells.values()):
        return 0, None
    if len(rest) > 1 and _dashes(rest[1]):
        return 2, rest[0]
    from gyroage.units import unit_of_kind  # astropy: only for a first row without a number

    # CDS's '---' (no unit) says what a blank says: it neither makes the row units nor data
    fits = {i: unit_of_kind(c, kinds.get(i)) for i, c in cells.items() if not re.fullmatch(r"-+", c)}
    read = [fits[i] for i in fits if i in kinds]
    if None not in fits.values() and read and all(read):
        return 1, rest[0]
    return 0, None


# A units cell gyroage cannot apply however the row is read: a log (gyroage.units.log_unit_text); and a
# column type (a types row: VOTable's, IPAC's, numpy's). Neither is ever a period's or a colour's value.
_TYPE_WORD = re.compile(r"u?int(?:8|16|32|64)?|integer|long|short|(?:unsigned)?byte|double|float(?:16|32|64)?|real"
                        r"|(?:float|double)complex|string|str|text|char|unicodechar|bool(?:ean)?", re.IGNORECASE)


def _no_star(records: list[tuple[list[str], int]], header: list[str], kinds: dict[int, str]) -> str | None:
    """Why the first row under the header, read as data (:func:`_units_and_dashes`), is a units or types row
    gyroage cannot apply, or ``None`` (it is a star).

    Such a row has no number in the columns the tool reads and, in one of them, a log unit or a column type: dated
    as a star, it would leave the rows under it read as if in the tool's units (log10 periods as days). A row
    the tool cannot tell from a star (``Pleiades,d,,``, ``,mag,d``: tests/test_literature_tables.py) stays data.
    """
    if len(records) < 2:
        return None
    row = records[1][0]
    cells = [(i, row[i].strip()) for i in sorted(kinds) if i < len(row)]
    cells = [(i, c) for i, c in cells if c.lower() not in NA_TOKENS and not re.fullmatch(r"-+", c)]
    if any(is_number(c) or is_number(c.replace(",", ".", 1)) for _, c in cells):
        return None
    from gyroage.columns import KINDS

    for i, cell in cells:
        name = header[i].strip().lstrip("#").strip() if i < len(header) else str(i + 1)
        if _TYPE_WORD.fullmatch(cell):
            return (f"'{cell}' in column '{name}' names a column type, not a value: delete that line (a units row "
                    "under it is then read)")
        if log_unit_text(cell):
            what = KINDS[kinds[i]][2]
            return (f"'{cell}' in column '{name}' is a log unit, which gyroage does not convert: give the column in "
                    f"{what}, not its log, with its unit in that line")
    return None


def _read_kinds(header: list[str], roles: dict[str, str] | None = None) -> dict[int, str]:
    """Position -> the kind of unit (:data:`gyroage.columns.KINDS`) of each ``header`` column the tool reads: by its
    name, or as an option names it (``roles``: role -> the name given, e.g. ``{"membership": "Mem"}``)."""
    names = [name.strip().lstrip("#") for name in header]
    found = read_roles(names, {role: name for role, name in (roles or {}).items() if role in OPTION_KINDS})
    named = {col: OPTION_KINDS[role] for role, col in found.items() if role in OPTION_KINDS}  # --membership PMem: PMem (%)
    out = {}
    for i, name in enumerate(names):
        role = column_role(name)
        kind = named.get(name) or (COLUMN_KINDS.get(role.name) if role is not None else None)
        if kind is not None:
            out[i] = kind
    return out


def _from_header(head: str, sep: str | None = None) -> str:
    """``head`` from its header line on (:func:`header_start`), the ``#`` of a commented header kept."""
    skip = header_start(head, sep)[0]
    if not skip:
        return head
    breaks = list(itertools.islice(_LINE_BREAK.finditer(head), skip))
    return head[breaks[-1].end() :] if len(breaks) == skip else ""


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
            if sep is None and _first_line_ends(_from_header(head)):
                sep = sniff_separator(head)
            # a fifth record, even cut short, ends the fourth: a header, units and dashes rows, the first data row
            if sep is not None and len(_records(head, sep, 5)) >= 5:
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
    if not head:  # nothing past the comments yet: read on
        return False
    first = head.splitlines(keepends=True)[0]
    return first.splitlines() != [first]


def detect(head: str, source, sep: str | None = None, roles: dict[str, str] | None = None) -> CsvLayout:
    """How to read the CSV that starts with ``head`` (:func:`read_head`, which gives ``sep``; sniffed here if ``None``);
    a one-line :class:`UserError` if its first data row has more fields than the header, beyond one empty field
    (a trailing delimiter). ``roles``: columns an option names, read too (:func:`_read_kinds`); a repeat of one in the
    header is refused in one line."""
    if sep is None:
        sep = sniff_separator(head)
    cr = "\r" in head and "\n" not in head
    skip, hashed = header_start(head, sep)
    head = _from_header(head, sep)
    records = _records(head, sep, 4)
    header = records[0][0] if records else []
    if roles:  # a repeat of a column an option names, refused as a VOTable's or a Parquet file's: pandas reads the first
        from gyroage.parquet_input import refuse_repeated_names

        refuse_repeated_names(header, source, roles, "options")
    if len(records) > 1 and _title(header, _LINE_BREAK.split(head)[records[1][1] - 1]):
        raise UserError(f"cannot parse {source}: line {skip + records[0][1]} ('{header[0].strip()[:40]}') looks like "
                        "a title, not a header: remove it or start it with #")
    kinds = _read_kinds(header, roles)
    under, units_row = _units_and_dashes(records, kinds)
    why = None if under else _no_star(records, header, kinds)
    if why is not None:
        text = _LINE_BREAK.split(head)[records[1][1] - 1].strip()
        text = text if len(text) <= 60 else text[:57] + "..."
        raise UserError(f"cannot parse {source}: line {skip + records[1][1]} ('{text}') under the header is no star "
                        f"and no units row gyroage can apply: {why}")
    drop = tuple(skip + line - 1 for _, line in records[1 : 1 + under])  # pandas counts the lines skipped, too
    units = tuple((name.strip(), cell.strip()) for name, cell in itertools.zip_longest(header, units_row, fillvalue="")
                  ) if units_row else ()
    records = records[:1] + records[1 + under :]
    commas: tuple[tuple[int, str], ...] = ()
    if sep in ";\t":
        sample = _records(head, sep, 1001)[1 + under :]
        if len(sample) > 1 and not head.endswith(("\n", "\r")):  # the head's last line may be cut short
            sample = sample[:-1]
        commas = _decimal_comma_columns(sample, header, set(kinds))
    unnamed_last = len(header) > 1 and not header[-1].strip()  # a trailing delimiter: README says it is ignored
    stripped = [n.strip() for n in header]
    if hashed and stripped:  # a commented header's first name is read without its '#'
        stripped[0] = stripped[0].lstrip("#").strip()
    repeats = tuple(sorted(n for n, k in Counter(stripped).items() if k > 1))
    # the names as pandas reads them: _records' csv reader already skipped the spaces after each delimiter, as
    # pandas' skipinitialspace does; a blank inside quotes or a tab is kept by both (review V66, 2)
    read = tuple(stripped[:1]) + tuple(header[1:]) if hashed else tuple(header)
    if len(records) < 2 or len(records[1][0]) <= len(header):
        return CsvLayout(sep, unnamed_last=unnamed_last, skip=skip, hashed=hashed, drop=drop, units=units,
                         commas=commas, cr=cr, repeats=repeats, header=read)
    row, line = records[1]
    if len(row) > len(header) + 1 or row[-1].strip() or unnamed_last:  # two trailing delimiters are not one
        raise UserError(f"cannot parse {source}: Expected {len(header)} fields in line {line}, saw {len(row)}")
    lines = _io.StringIO(head, newline="")
    header_text = "".join(next(lines) for _ in range(line - 1))  # the header (and the lines under it): pandas' names
    names = pd.read_csv(_io.StringIO(header_text), sep=sep, nrows=0, **CSV_OPTIONS).columns
    return CsvLayout(sep, (*map(str, names), _SPARE), skip=skip, hashed=hashed, drop=drop, units=units,
                     commas=commas, cr=cr, repeats=repeats, header=read)


def lines_under_header(head: str) -> int:
    """How many lines under the CSV header that ``head`` starts are no data (a units row, a row of dashes): for a row
    count; 0 when the head cannot tell (the reader then says what is wrong)."""
    try:
        return len(detect(head, "input").drop)
    except UserError:
        return 0


def sniff_separator(head: str) -> str:
    """The delimiter of ``head``'s header line (after any leading comment lines): the most frequent of , ; tab |."""
    head = _from_header(head)
    first = head.splitlines()[0] if head else ""
    first = re.sub(r'"[^"]*"', "", first)  # a delimiter inside a quoted column name does not count
    counts = {sep: first.count(sep) for sep in (",", ";", "\t", "|")}
    sep = max(counts, key=counts.get)
    return sep if counts[sep] > 0 else ","


def not_utf8(source, exc: UnicodeDecodeError) -> UserError:
    # gzip's magic at the start of the text: the reader has decompressed it once already (a .gz of a .gz)
    if exc.start == 1 and bytes(exc.object[:2]) == b"\x1f\x8b":
        return UserError(f"input {source} is gzip-compressed twice: gunzip it once (one layer is read)")
    kind = foreign_input(bytes(exc.object[:16]))  # the text's start: the file's, or what its gzip layer holds
    if kind is not None:
        return UserError(f"input {source} is {kind}")
    return UserError(f"input {source} is not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset {exc.start}); "
                     "re-save it as UTF-8")


@contextmanager
def strict_parse(source) -> Iterator[None]:
    """Inside, pandas' warning that a first row longer than the header was cut short is a one-line :class:`UserError`.

    :func:`detect` checks the file's first row; this catches what its csv module splits otherwise than
    pandas, and under Dask each block's first row. The filter is on inside only (:func:`gyroage.notices.filter_inside`).
    """
    with notices.filter_inside("error", "Length of header or names does not match", pd.errors.ParserWarning):
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
