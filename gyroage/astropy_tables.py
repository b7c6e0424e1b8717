"""FITS and VOTable tables as astropy reads and writes them, with what it leaves out.

Reading: which of a file's tables to read (the first with stars, said on stderr), the TNULL cells of scaled
FITS integer columns and null FITS logicals (astropy reads them as values). Writing: integer columns in types the
format holds, their null a value no cell has (astropy's default TNULL, 999999, can be a real id), and a column name
too long for a FITS card refused in one line (:func:`check_fits_names`: astropy asserts it, a traceback). Text
tables (whitespace ASCII, ECSV): how to read one (:func:`ascii_layout`: CDS, fixed-width, an RDB types line), a BOM
dropped, the units of a fixed-width table's units line, and a repeated header name an option reads refused in one
line (astropy renames it X_1).
"""

from __future__ import annotations

import csv
import gzip
import re
import zlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from gyroage import notices
from gyroage.columns import is_number
from gyroage.csv_layout import _read_kinds, _units_and_dashes, rdb_types
from gyroage.errors import UserError
from gyroage.files import is_gzip_file


def read_fits(src, source):
    """The table of the FITS file ``src`` (a path or bytes) that :func:`_choose_table` picks, as astropy reads it,
    with the TNULL cells of its scaled integer columns masked (astropy scales them like any other: a null colour
    stored as 255 with TSCAL 0.01 would be read as 2.55)."""
    from astropy.io import fits
    from astropy.table import Table

    with fits.open(src, memmap=False, character_as_bytes=True) as hdul:  # as astropy's Table.read opens it
        found = [i for i, hdu in enumerate(hdul) if isinstance(hdu, (fits.BinTableHDU, fits.TableHDU))]
        if not found:  # astropy says there is no table, in its words
            return Table.read(hdul)
        described = [(f"HDU {i}" + (f" '{hdul[i].name}'" if hdul[i].name else ""), hdul[i].columns.names,
                      hdul[i].header.get("NAXIS2", 0)) for i in found]
        index = found[_choose_table(described, source)]
        table = Table.read(hdul, hdu=index)
        _mask_raw_nulls(table, hdul[index])
    return table


def read_votable(src, source, roles: dict[str, str] | None = None):
    """The table of the VOTable ``src`` that :func:`_choose_table` picks, as astropy's Table.read makes it (which
    refuses a file of several tables unless told which); a repeated name of a column read (``roles``: the options')
    refused in one line, any other repeat read as X, X_2. Columns are named by the FIELD names, not their IDs."""
    from astropy.io import votable
    from astropy.table import Table

    vot = votable.parse(src)
    tables = list(vot.iter_tables())
    if not tables:  # astropy says there is none, in its words
        if hasattr(src, "seek"):
            src.seek(0)
        return Table.read(src, format="votable")
    described = [(f"table {i + 1}" + (f" '{t.name or t.ID}'" if t.name or t.ID else ""),
                  [f.name for f in t.fields] + [f.ID for f in t.fields if f.ID], len(t.array)) for i, t in enumerate(tables)]
    results = {id(t) for t in results_tables(vot)}
    chosen = tables[_choose_table(described, source, [i for i, t in enumerate(tables) if id(t) in results])]
    from gyroage.parquet_input import refuse_repeated_names

    for i, f in enumerate(chosen.fields):  # name="": astropy's to_table fails (KeyError ''); its ID, else its place
        if not (f.name or "").strip():
            f.name = f.ID or f"col{i + 1}"
    names = [f.name for f in chosen.fields]
    refuse_repeated_names(names, source, roles, "read")
    # by the FIELD names VizieR shows (E(BP-RP)), not astropy's IDs made of them (E_BP-RP_: read as BP-RP's upper
    # error); a repeat renamed X_2 as astropy renames a repeated ID (its names' X2 could be read as a quantity)
    table = chosen.to_table(use_names_over_ids=True)
    if len(set(names)) < len(names):
        table.rename_columns(table.colnames, [f"\0{i}" for i in range(len(names))])
        table.rename_columns(table.colnames, _astropy_renamed(names, first=2, taken=set(names)))
    return table


_RENAMED = re.compile(r"^(.+)_\d+$")  # astropy's name for a repeated header: "A_V_1" beside "A_V"


def refuse_repeated_header(colnames, src: str, source, roles: dict[str, str]) -> None:
    """A repeat of a column ``roles`` names (the options') in a whitespace table's or an ECSV file's header refused in
    one line, as a CSV's: astropy renames the second X to X_1, and the option read the first copy without a word.

    ``src``: the file's path, or stdin's text (``source`` '-'). The first line neither blank nor a ``#`` comment names
    the columns (an ECSV file's too); its names are taken only when, renamed as astropy renames them, they are the
    table's ``colnames`` (a header split otherwise, CDS or IPAC, is not checked, never misread). A table with no
    X_N beside an X (astropy's only renaming) repeated nothing: its file is not read again."""
    names = set(colnames)
    if not any((m := _RENAMED.match(name)) and m.group(1) in names for name in colnames):
        return
    if str(source) == "-":
        line = next((ln for ln in src.splitlines() if ln.strip() and not ln.lstrip().startswith("#")), "")
    else:
        with _open_text(src, "utf-8-sig", "replace") as fh:  # a BOM is no part of the first name (bom_free_text)
            line = next((ln for ln in fh if ln.strip() and not ln.lstrip().startswith("#")), "")
    # split on blanks, commas or bars, or as quoted text (astropy's "my cluster"), blank- or comma-separated
    for names in ([n for n in re.split(r"[\s,|]+", line) if n],
                  *([n.strip() for n in next(csv.reader([line.strip()], delimiter=sep, skipinitialspace=True)) if n.strip()]
                    for sep in " ,")):
        if _astropy_renamed(names) != names and _astropy_renamed(names) == list(colnames):
            break
    else:
        return
    from gyroage.parquet_input import refuse_repeated_names

    refuse_repeated_names(names, source, roles, "options")


def bom_free_text(path: str) -> str | None:
    """The text of the (plain or gzip-compressed) file ``path`` without its UTF-8 BOM, or ``None`` if it has none.

    astropy keeps a BOM in the first column's name ('\\ufeffstar': no repeat of a later 'star', and so written out),
    shifts a fixed-width header's names by it and refuses an ECSV file with it; pandas drops it from a CSV's."""
    with _open_text(path, "utf-8", "strict") as fh:  # strict: an undecodable file is astropy's to refuse, as ever
        if fh.read(1) != "\ufeff":
            return None
        text = fh.read()
    return text if "\n" in text or "\r" in text else text + "\n"  # astropy takes text with no line break for a path


def _open_text(path: str, encoding: str, errors: str):
    """``path`` (gzip-compressed or not) opened as text."""
    return (gzip.open if is_gzip_file(path) else open)(path, "rt", encoding=encoding, errors=errors)


def _astropy_renamed(names: list[str], first: int = 1, taken: set[str] | frozenset = frozenset()) -> list[str]:
    """``names`` as astropy.io.ascii renames a repeat: X, X_1, X_2, ... (a name already given skipped; from X_``first``,
    never a new name in ``taken``: read_votable's X_2, clear of every FIELD name)."""
    seen: set[str] = set()
    renamed = []
    for name in names:
        new, i = name, first
        while new in seen or (new != name and new in taken):
            new, i = f"{name}_{i}", i + 1
        seen.add(new)
        renamed.append(new)
    return renamed


def set_units(table, rule: str, units: str) -> None:
    """Each column of a fixed-width ``table`` given the unit written in ``units`` over its run of dashes in ``rule``
    (VizieR right-aligns it in the column; a blank or ``---``: none)."""
    import astropy.units as u

    from gyroage.units import parse_unit_text

    start = 0
    for name, run in zip(table.colnames, re.finditer(r"[-=]+", rule)):
        text = units[start : run.end()].strip()
        start = run.end()
        if text and text.strip("-"):
            table[name].unit = parse_unit_text(text) or u.Unit(text, parse_strict="silent")


def results_tables(vot) -> list:
    """The tables of the parsed VOTable ``vot`` that hold results: those under a RESOURCE of type "results" (the
    default type), or, with none marked so, all of them. Other RESOURCEs (type="meta", a service's descriptors)
    may come first with tables of their own. A table's own (innermost) RESOURCE decides: a nested one's tables
    were read as their parent's type (review V53, 3). The one rule for a VOTable file and a service's answer."""
    def walk(resources) -> Iterator:  # a RESOURCE's own tables first, as astropy's iter_tables orders them
        for r in resources:
            if r.type == "results":
                yield from r.tables
            yield from walk(r.resources)

    return list(walk(vot.resources)) or list(vot.iter_tables())


def _choose_table(tables: list[tuple[str, list, int]], source, among: list[int] | None = None) -> int:
    """Which of a file's ``tables`` (label, column names, rows) to read: the first with a period and a colour column,
    else the first, of those ``among`` names (a VOTable's results tables; default: all); when there are several,
    one line on stderr names the one read and the others."""
    from gyroage.columns import COLOUR_SOURCES, match_columns

    def stars(names) -> bool:
        found = match_columns([str(n) for n in names])
        return "prot" in found and any(c in found for c in COLOUR_SOURCES)

    among = among or list(range(len(tables)))
    chosen = next((i for i in among if stars(tables[i][1])), None)
    pick = among[0] if chosen is None else chosen
    if len(tables) > 1:
        said = [f"{label} ({rows} row{'' if rows == 1 else 's'})" for label, _, rows in tables]
        why = "" if chosen is not None else ", none with a period and a colour column: the first"
        name = "stdin" if str(source) == "-" else source
        notices.say(f"gyroage: {name} holds {len(tables)} tables{why}: reading {said[pick]}; not read: "
                    f"{', '.join(s for i, s in enumerate(said) if i != pick)}")
    return pick


def _mask_raw_nulls(table, hdu) -> None:
    """Mask, in ``table`` read from the binary table ``hdu``, every cell whose stored integer is its column's TNULL
    (the standard compares TNULL with the stored value, before TSCAL and TZERO), and every null logical."""
    from astropy.table import MaskedColumn

    raw = getattr(hdu.data, "base", None)
    names = getattr(getattr(raw, "dtype", None), "names", None) or ()
    for col in hdu.columns:
        if col.name not in names or col.name not in table.colnames:
            continue
        stored = np.asarray(raw[col.name])
        if stored.dtype.kind not in "iu" or stored.ndim != 1:
            continue  # text (an ASCII table's cells), or an array column: astropy's reading stands
        if str(col.format) == "L":  # a logical's null is a stored 0 (astropy reads it as False)
            null = stored == 0
        elif col.null is None:
            continue
        else:
            try:
                null = stored == int(col.null)
            except (TypeError, ValueError, OverflowError):
                continue  # a TNULL that is no integer of the column's type matches no cell
        if null.any():
            have = table[col.name]
            table[col.name] = MaskedColumn(have, mask=np.ma.getmaskarray(have) | null)


def portable_ints(values: np.ndarray, missing: np.ndarray, fmt: str) -> np.ndarray:
    """Integers in a type ``fmt`` holds as integers, values unchanged.

    astropy writes int8 to FITS as logical (every non-zero cell True) and VOTable has no int8 or unsigned type
    above 8 bits: those are widened to the next signed type. A masked unsigned FITS column (stored with TZERO) is
    widened too: astropy would write its TNULL as the value, not as the stored integer the standard compares it with.
    Unsigned 64-bit values above int64's range there are written as text, every digit kept (no integer type of
    the format holds them), rather than refused once every age is computed.
    """
    kind, size = values.dtype.kind, values.dtype.itemsize
    if kind == "i" and size == 1 and fmt in ("fits", "votable"):
        return values.astype(np.int16)
    if kind == "u" and size > 1 and (fmt == "votable" or (fmt == "fits" and missing.any())):
        if size < 8:
            return values.astype(f"i{2 * size}")
        if not values[~missing].size or values[~missing].max() <= np.iinfo(np.int64).max:
            return values.astype(np.int64)
        return values.astype(str)  # the caller masks the missing cells, as for any text column
    return values


def with_null(values: np.ndarray, missing: np.ndarray) -> tuple[np.ndarray, int]:
    """(``values``, the null of their masked cells, :func:`null_value`): widened to the next signed type when every
    value of its own is a real cell (none is left for the null). One search of the cells, not one to check and one
    to find."""
    null = null_value(values, missing)
    if null is None:
        values = values.astype(np.int64 if values.dtype.itemsize >= 4 else f"i{2 * values.dtype.itemsize}")
        null = null_value(values, missing)  # the wider type's lowest: no cell of the narrower one holds it
    return values, null


def null_value(values: np.ndarray, missing: np.ndarray) -> int | None:
    """An integer of ``values``' type that no unmasked cell holds (the type's lowest for signed, highest for
    unsigned, the usual TNULLs, else the first gap), or ``None`` if every one is used."""
    info = np.iinfo(values.dtype)
    present = np.unique(values[~missing])  # sorted
    ends = (info.max, info.min) if values.dtype.kind == "u" else (info.min, info.max)
    for end in ends:
        if not present.size or (present[0] > end if end == info.min else present[-1] < end):
            return int(end)
    gaps = np.flatnonzero(present[1:] - 1 > present[:-1])  # not np.diff: int64's extremes would overflow it
    return int(present[gaps[0]]) + 1 if gaps.size else None


def check_fits_names(names) -> None:
    """Refuse, in one line, a column name longer than a FITS card holds (68 characters, a quote counted twice, as
    the card doubles it): astropy asserts it, a traceback."""
    for name in map(str, names):
        if len(name.replace("'", "''")) > 68:
            shown = name if len(name) <= 30 else f"{name[:30]}..."
            raise UserError(f"cannot write the output as FITS: column name {shown!r} is longer than a FITS card holds "
                            "(68 characters, a quote counts twice)")


_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")


def ascii_layout(src: str, source) -> tuple[str, dict, tuple[str, str] | None]:
    """(astropy format, its keywords, (row of dashes, units line) or ``None``) to read the text table ``src`` (a path,
    or stdin's text; ``source`` as the user named it).

    A CDS ``.dat`` with a ``ReadMe`` beside it that describes it is read with that ReadMe; a table whose header has
    a row of dashes under it (VizieR's fixed-width text, with a units line between them or not) as fixed-width
    columns, the units line giving their units; anything else as astropy guesses it. An RDB types line (``S N N``)
    or a units row (``- h mag``, :func:`_units_row`) under the header is skipped and the rows split on blanks. A
    row of dashes whose gaps some row overruns (``A 10.0 1.0`` under ``---- ---- ------``) sets no columns: the rows
    are split on blanks if every one of them then gives a cell to each column, else the table is refused.
    """
    text = src if str(source) == "-" else _text(src, 65536)
    if "Byte-by-byte Description" in text:
        return "ascii.cds", {}, None
    readme = None if str(source) == "-" else _cds_readme(Path(src))
    if readme is not None:
        return "ascii.cds", {"readme": str(readme)}, None
    lines = [ln for _, ln in _content_lines(text)[:12]]
    # astropy's own fixed-width text (every line between pipes, with a number in a row: an IPAC table's rows are not
    # between pipes, its header lines hold none) and reStructuredText (a rule of = above the names): read as astropy
    # wrote them, where its guess found no header (V40), a units row's units applied, a Markdown rule skipped (V42)
    if (pipes := _pipe_layout(lines)) is not None:
        _pipes_line_up(_whole(text, src, source), source)
        return "ascii.fixed_width", pipes, None
    if len(lines) > 2 and re.fullmatch(r"=+( +=+)*", lines[0].strip()):
        if lines[2].strip() == lines[0].strip():
            return "ascii.rst", {}, None
        if len(lines) > 3 and lines[3].strip() == lines[0].strip():  # two header lines: the names and their units
            spans = [m.span() for m in re.finditer(r"=+", lines[0])]  # rst's columns: the rule's runs of =
            names, units = ([ln[a:b].strip() or "-" for a, b in spans] for ln in lines[1:3])
            if not _is_units_row(names, units):
                raise UserError(f"cannot read {source} as ascii: its second header line ({lines[2].strip()!r}) is no "
                                "units row: keep one line of names, or give the table as CSV")
            return "ascii.rst", {"header_rows": ["name", "unit"]}, None
    rule = next((i for i in (1, 2) if i < len(lines) and re.fullmatch(r"[-=]+( +[-=]+)*", lines[i].strip())), None)
    if rule is None:
        if (names := _commented_header(text)) is not None:  # under a '#' title: astropy's guess took the title
            return "ascii.commented_header", {"header_start": names}, None
        if len(lines) > 1 and rdb_types(_names(lines[0]), lines[1].split()):  # no star: the rows split on blanks
            return "ascii.basic", {"data_start": 2}, None
        units = _units_row(lines)
        return ("ascii.basic", {"data_start": 2}, units) if units else ("ascii", {"guess": True}, None)
    units = (lines[2], lines[1]) if rule == 2 else None
    if not _overrun(_whole(text, src, source), lines[rule], rule, len(_names(lines[0])), source):
        options = {"header_start": 0, "position_line": rule, "data_start": rule + 1,
                   "position_char": lines[rule].strip()[0]}
        return "ascii.fixed_width_two_line", options, units
    return "ascii.basic", {"data_start": rule + 1}, units


def _commented_header(text: str) -> int | None:
    """Which of ``text``'s ``#`` lines before its first row names the columns, counted among them as astropy's
    ``commented_header`` counts (blank lines not): the last, when there are two or more (a title, then a commented
    header, as VizieR and TSV exports write; one alone astropy's guess reads) and it splits on blanks into as many
    names as the line below has fields, none a number, while that line holds one (data), as the CSV reader decides
    (:func:`gyroage.csv_layout.header_start`); None otherwise."""
    comments: list[str] = []
    for line in text.lstrip("\ufeff").splitlines():
        if not line.strip():
            continue
        if line.lstrip().startswith("#"):
            comments.append(line)
            continue
        if len(comments) < 2:
            return None
        names, row = comments[-1].lstrip()[1:].split(), line.split()
        data = len(names) == len(row) >= 2 and not any(map(is_number, names)) and any(map(is_number, row))
        return len(comments) - 1 if data else None
    return None


def _content_lines(text: str) -> list[tuple[int, str]]:
    """(line number, line) of ``text``'s lines that are neither blank nor a ``#`` comment, right-stripped, a BOM
    dropped: what the layout rules look at."""
    return [(k, ln.rstrip()) for k, ln in enumerate(text.lstrip("\ufeff").splitlines(), 1)
            if ln.strip() and not ln.lstrip().startswith("#")]


def _whole(text: str, src: str, source) -> str:
    """The whole table: ``text`` when :func:`ascii_layout` read all of it already (stdin, a file under 64 KiB), else
    the file read now."""
    return text if str(source) == "-" or len(text) < 65536 else _text(src)


def _pipe_layout(lines: list[str]) -> dict | None:
    """astropy's keywords to read ``lines`` (the first lines that are no comment) as its ``ascii.fixed_width``, or
    None when they are not every one between ``|`` or no row under the header holds a number. A Markdown rule
    (``|---|:--:|``) under the header is skipped; a units row (``| d | mag |``, :func:`_units_row`'s rule) applied."""
    lines = [ln.strip() for ln in lines]
    if len(lines) < 2 or not all(ln.startswith("|") and ln.endswith("|") and len(ln) > 1 for ln in lines):
        return None
    cells = [[c.strip() for c in ln[1:-1].split("|")] for ln in lines]
    if not any(_NUMBER.fullmatch(c) for row in cells[1:] for c in row):
        return None
    if all(re.fullmatch(r":?-+:?", c) for c in cells[1]):
        return {"data_start": 2}
    header = [c or "-" for c in cells[0]]
    units = [c or "-" for c in cells[1]]
    if _is_units_row(header, units):
        return {"header_rows": ["name", "unit"]}
    return {}


def _pipes_line_up(text: str, source) -> None:
    """Refuse a '|'-delimited table in one line unless every row's '|' stand where the header's do: astropy cuts its
    cells at the header's, so a row whose '|' stand elsewhere would be read with '|' or a neighbour's text inside."""
    rows = _content_lines(text)
    at = [m.start() for m in re.finditer(r"\|", rows[0][1])]
    for k, ln in rows[1:]:
        if [m.start() for m in re.finditer(r"\|", ln)] != at:
            tabs = " (its tabs: expand them to spaces)" if "\t" in ln or "\t" in rows[0][1] else ""
            raise UserError(f"cannot read {source} as ascii: line {k}'s '|' do not stand under the header's{tabs}: line "
                            "them up, or give the table as CSV")


def _names(header: str) -> list[str]:
    """The names of a whitespace ``header`` line as astropy reads them: a quoted name (``"my star"``) is one."""
    if '"' not in header:
        return header.split()
    return [n for n in next(csv.reader([header.replace("\t", " ").strip()], delimiter=" ", skipinitialspace=True)) if n]


def _units_row(lines: list[str]) -> tuple[str, str] | None:
    """(a row of dashes, the units) for :func:`set_units` when ``lines[1]``, under the header, is a units row with a
    cell for each column (``- h mag``), by the CSV reader's rule (no number; blank, ``-`` or a unit in each cell,
    the columns gyroage reads in units of their kind): a star (``A 7.0 1.1``) never is one."""
    if len(lines) < 2:
        return None
    cells = lines[1].split()
    if not _is_units_row(_names(lines[0]), cells):
        return None
    return " ".join("-" * len(c) for c in cells), " ".join(cells)


def _is_units_row(header: list[str], cells: list[str]) -> bool:
    """Whether ``cells`` under the column names ``header`` are a units row, by :func:`_units_row`'s rule; the pipe and
    rst layouts pass their cells as cut (a name with a blank, ``my star``, stays one: review RD38B, 1)."""
    return len(cells) == len(header) and _units_and_dashes([(header, 1), (cells, 2)], _read_kinds(header))[0] == 1


def _overrun(text: str, rule: str, at: int, fields: int, source) -> bool:
    """Whether a row of ``text`` under its row of dashes ``rule`` (``at``: its place among the lines that are no
    comment) has a character where the rule has a blank between two runs: the rule then marks no columns, and the
    rows are to be split on blanks. Every row is looked at (one regular expression over the text). A table that
    neither fits its rule nor splits on blanks into ``fields`` cells a row, every cell filled where the rule has
    dashes and each cell starting within its own column's dashes (a blank cell or a blank in a name, ``HII 22`` with
    no period, would move cells into the wrong columns), is refused in one line. Text right of the last run is a gap."""
    seen, start, first = -1, 0, 1
    for match in re.finditer(r"(?m)^.*$", text):  # the data start after the rule
        if match.group().strip() and not match.group().lstrip().startswith("#"):
            seen += 1
            if seen == at:
                start = match.end()
                first = text.count("\n", 0, start) + 2
                break
    runs = [m.span() for m in re.finditer(r"[-=]+", rule)]
    if len(runs) < 2:
        return False
    # past the last run is a gap too: 10.25 under '----' was read as 10.2, an extra field dropped unsaid
    gaps = [*((a, b) for (_, a), (b, _) in zip(runs, runs[1:])), (runs[-1][1], None)]
    pattern = "|".join(f".{{{a},{'' if b is None else b - 1}}}" for a, b in gaps)
    over = re.compile(rf"(?m)^(?![ \t]*#)(?:{pattern})[^ \r\n]").search(text, start)
    if over is None:
        return False
    where = first - 1 + text.count("\n", start, over.start())
    # one regular expression a row: ``fields`` cells (a blank name makes one more), each starting under its run
    cells = re.compile(r"\s*(\S+)" + r"\s+(\S+)" * (fields - 1) + r"\s*")
    ranges = runs[:fields]
    for number, line in enumerate(text[start + 1 :].splitlines(), first):  # rare: a rule some row overruns
        row = cells.fullmatch(line)
        if row is not None and all(a <= row.start(k) < b and line[a:b].strip() for k, (a, b) in
                                   enumerate(ranges, 1)) and all(line[a:b].strip() for a, b in runs[fields:]):
            continue
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        which = "and does not split" if number == where else f"and line {number} does not split"
        raise UserError(f"cannot read {source} as ascii: line {where} runs past the dashes under the header, "
                        f"{which} on blanks into its {fields} columns, each starting under its dashes (a blank "
                        "cell, or a blank in a name): align the rows to the dashes, or give the table as CSV")
    return True


def _text(path: str, limit: int = -1) -> str:
    """The text of the file ``path`` (its first ``limit`` characters if ``limit`` >= 0), gzip-compressed or not
    (empty if it cannot be read: astropy then says why)."""
    try:
        with _open_text(path, "utf-8", "replace") as fh:
            return fh.read(limit)
    except (OSError, EOFError, zlib.error):  # a gzip file cut short or damaged: astropy says so
        return ""


def _cds_readme(path: Path) -> Path | None:
    """The CDS ``ReadMe`` beside ``path`` that describes it (``Byte-by-byte Description of file: table1.dat``; of
    ``table1.dat.gz`` too, which astropy decompresses)."""
    stem = path.name[:-3] if path.name.lower().endswith(".gz") else path.name
    for name in ("ReadMe", "README", "readme", "ReadMe.txt", "README.txt", "readme.txt"):  # not a directory's listing
        other = path.parent / name
        if other.is_file():
            text = _text(str(other), 65536)
            if re.search(rf"Byte-by-byte Description of file:.*\b{re.escape(stem)}\b", text):
                return other
    return None
