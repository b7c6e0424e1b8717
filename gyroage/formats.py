"""Table formats: which one a file is (suffix, first bytes, or the user's choice), and the astropy readers and writers.

CSV and Parquet stream in chunks (:mod:`gyroage.io`); FITS binary tables,
VOTable, ECSV and whitespace-delimited ASCII go through astropy, which reads
and writes a table whole. astropy is imported inside the functions, so a CSV
or Parquet run never loads it.
"""

from __future__ import annotations

import gzip
import io as _io
import itertools
import re
import sys
import zlib
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from gyroage import notices
from gyroage.astropy_tables import (
    ascii_layout,
    bom_free_text,
    check_fits_names,
    portable_ints,
    read_fits,
    read_votable,
    refuse_repeated_header,
    set_units,
    with_null,
)
from gyroage.columns import COLUMN_KINDS, OPTION_KINDS, is_number  # noqa: F401 (re-exported: the units columns)
from gyroage.csv_layout import not_utf8
from gyroage.errors import GZIP_ERRORS, UserError, gzip_error
from gyroage.file_kinds import foreign_input, foreign_output
from gyroage.files import GZIP_MAGIC, is_gzip_file, require_input_file
from gyroage.units import (  # noqa: F401 (readers look for the unit functions here)
    convert_frame_units,
    convert_text_units,
    convert_units,
    parse_unit_text,
    unit_conversion,
    unit_of_kind,
)

FORMATS = ("csv", "parquet", "fits", "votable", "ecsv", "ascii")
STREAMING = ("csv", "parquet")  # read chunk by chunk; the others are read whole into memory
# Written gzip-compressed under a name ending in .gz: CSV by gyroage.writers, FITS and VOTable by astropy.
GZIP_OUTPUTS = ("csv", "fits", "votable")
# Our name -> astropy's (Table.read/write format=).
ASTROPY = {"fits": "fits", "votable": "votable", "ecsv": "ascii.ecsv", "ascii": "ascii"}
SUFFIXES = {".csv": "csv", ".tsv": "csv", ".tab": "csv", ".parquet": "parquet", ".pq": "parquet",
            ".fits": "fits", ".fit": "fits", ".fts": "fits", ".vot": "votable", ".votable": "votable", ".xml": "votable",
            ".ecsv": "ecsv", ".txt": "ascii", ".dat": "ascii"}
# Read (by astropy; IPAC, IRSA's, by its guessing), never written: gyroage would write whitespace ASCII or CSV.
UNWRITABLE = {".mrt": "an AAS machine-readable table", ".cds": "a CDS table", ".tbl": "an IPAC table",
              ".ipac": "an IPAC table"}
INPUT_SUFFIXES = {**SUFFIXES, **dict.fromkeys(UNWRITABLE, "ascii")}
# gyroage's own age columns (Myr): gyroage.core.posterior.SUMMARY_COLUMNS, which this module cannot import (the core
# imports the readers: a cycle); tests/test_typed_tables.py checks they agree.
AGE_COLUMNS = ("age_p2.5_myr", "age_p16_myr", "age_p50_myr", "age_p84_myr", "age_p97.5_myr", "age_map_myr")
# The unit of each of estimate's and group-age's own columns whose name gives one (ms_height_mag:
# gyroage.core.estimate.HEIGHT_COLUMN), for unit-aware readers of typed outputs
COLUMN_UNITS = {**dict.fromkeys(AGE_COLUMNS, "Myr"), "ms_height_mag": "mag"}
# CSV written with tabs under these names (unless --output-format csv says commas): what a .tsv or .tab reader
# expects, and what such a name is read as (its delimiter is sniffed).
TAB_SUFFIXES = (".tsv", ".tab")


def check_format(fmt: str | None, option: str) -> str | None:
    """``fmt`` lower-cased, or a one-line error naming ``option`` when it is not one of :data:`FORMATS` (or no text:
    the API's ``fmt=123`` was an AttributeError traceback)."""
    if fmt is not None and not isinstance(fmt, str):
        raise UserError(f"{option} must be a format name ({', '.join(FORMATS)}), not {type(fmt).__name__} {fmt!r}")
    if fmt is None or fmt.lower() == "auto":
        return None
    if fmt.lower() not in FORMATS:
        raise UserError(f"unknown {option} {fmt!r} (choose {', '.join(FORMATS)})")
    return fmt.lower()


def _suffix(path: str | Path) -> str:
    """A file name's suffix, lower-cased, a ``.gz`` looked through (``.fits.gz`` is ``.fits``)."""
    name = str(path).lower()
    return Path(name[:-3] if name.endswith(".gz") else name).suffix


def by_suffix(path: str | Path, read: bool = False) -> str | None:
    """The format a file name's suffix names (``.fits.gz`` counts as ``.fits``), or ``None``; ``read``: for an
    input (:data:`INPUT_SUFFIXES`)."""
    return (INPUT_SUFFIXES if read else SUFFIXES).get(_suffix(path))


def sniff(head: bytes, whole: bool = False) -> str | None:
    """The format the first bytes of a file give away, or ``None`` (then the suffix decides, else CSV).

    ``whole``: ``head`` is the whole file (its last line is whole even without a line break).
    """
    if head.startswith(GZIP_MAGIC):  # gzip: what it holds decides (CSV is read decompressed, as astropy reads its own)
        try:  # as much text as a plain file's head gives; a head cut short mid-stream is no error here
            unzip = zlib.decompressobj(zlib.MAX_WBITS | 16)
            head = unzip.decompress(head, len(head))
            whole = whole and unzip.eof and not unzip.unconsumed_tail
        except zlib.error:
            return None  # the reader says what is wrong, in one line
    if head.startswith(b"SIMPLE  ="):
        return "fits"
    if head.startswith(b"PAR1"):
        return "parquet"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(b"# %ECSV"):
        return "ecsv"
    if text.startswith((b"<?xml", b"<VOTABLE")):
        return "votable"
    if text.startswith(b"Title:") or b"Byte-by-byte Description" in text:  # AAS MRT, CDS: astropy reads them
        return "ascii"
    decoded = text.decode("utf-8", errors="replace")
    if _ipac(decoded, whole):
        return "ascii"
    return "csv" if _delimited(decoded, whole) else _whitespace_ascii(decoded, whole)


def _ipac(text: str, whole: bool = False) -> bool:
    """Whether ``text`` is an IPAC table: ``\\`` keyword lines or not, then header lines in ``|`` (names, and
    types, units, nulls), then data rows without ``|`` (a table whose rows are in ``|`` too is ``|``-delimited
    text, read as CSV)."""
    lines, comments = _text_lines(text, whole)
    keywords = [ln for ln in lines[comments:] if ln.startswith("\\")]
    lines = [ln for ln in lines[comments:] if not ln.startswith("\\")]
    head = list(itertools.takewhile(lambda ln: ln.strip().startswith("|") and ln.strip().endswith("|"), lines))
    if not head or (len(head) < 2 and not keywords):
        return False
    if len(lines) == len(head):  # no rows: IPAC only by its keywords ('|a|b|' lines alone are '|'-delimited)
        return bool(keywords)
    return "|" not in lines[len(head)]


def _text_lines(text: str, whole: bool) -> tuple[list[str], int]:
    """(the non-blank lines of ``text``, how many of them lead as ``#`` comments); the last line dropped unless
    ``whole`` or ended (a head may cut it off)."""
    lines = text.splitlines()
    if not (whole or text.endswith(("\n", "\r"))):
        lines = lines[:-1]
    lines = [ln for ln in lines if ln.strip()]
    return lines, len(list(itertools.takewhile(lambda ln: ln.lstrip().startswith("#"), lines)))


def _delimited(text: str, whole: bool = False) -> bool:
    """Whether ``text``'s header (after ``#`` comments) and the lines under it (up to three) split on tab, ``|`` or
    ``;`` into as many fields each: a VizieR TSV or ``|`` download, or a spreadsheet's ``;`` export (decimal commas
    too), whatever its name (``.txt``, ``.dat``), read as CSV so its units and dashes rows, and decimal commas, are
    what :mod:`gyroage.csv_layout` makes of them. A header that starts with ``|`` (astropy's fixed-width and IPAC
    tables) is not one."""
    lines, comments = _text_lines(text, whole)
    lines = lines[comments : comments + 4]
    if len(lines) < 2 or lines[0].strip(" ").startswith("|"):
        return False
    return any(lines[0].count(sep) and all(ln.count(sep) == lines[0].count(sep) for ln in lines[1:])
               for sep in ("\t", "|", ";"))


def _whitespace_ascii(text: str, whole: bool = False) -> str | None:
    """``ascii`` for text whose header has no CSV delimiter and splits, like its first data row, on blanks.

    Leading ``#`` lines are comments, a CSV's too (:func:`gyroage.csv_layout.header_start`): a header after them
    with a CSV delimiter is CSV; one without is left to astropy, which reads commented headers. ``whole``:
    ``text`` is the whole file.
    """
    lines, comments = _text_lines(text, whole)
    lines = lines[comments:]
    if lines and re.search(r"[,;\t|]", lines[0]):
        return None
    if comments:  # unless a title sits over a CSV header: the CSV reader then says so
        return None if len(lines) > 1 and re.search(r"[,;\t|]", lines[1]) else "ascii"
    if len(lines) < 2:
        return None
    n = len(lines[0].split())
    return "ascii" if n > 1 and len(lines[1].split()) == n else None


def input_format(source: str | Path, fmt: str | None = None) -> str:
    """The format to read ``source`` as: ``fmt`` if given, else its first bytes, else its suffix, else CSV.

    gzip-compressed Parquet is refused in one line (Parquet compresses inside; its reader says only "magic bytes
    not found"). Comma-separated text under a typed name (``.fits``, ``.vot``, ``.ecsv``, ``.parquet``) is CSV: the
    first bytes win, as they do for a FITS file named ``.csv``.
    """
    if fmt is not None and fmt != "parquet":
        return fmt
    if str(source) == "-":
        peek = getattr(sys.stdin.buffer, "peek", None) if hasattr(sys.stdin, "buffer") else None
        try:
            head = peek(4096)[:4096] if peek is not None else b""
        except (OSError, ValueError):
            head = b""
        found, whole = (sniff(head) if head else None), False
    else:
        try:
            with open(source, "rb") as fh:  # 64 KiB: a VizieR download's # lines (one a column) may fill the first KiB
                head = fh.read(65536)
                whole = len(head) < 65536
                found = sniff(head, whole=whole)
        except OSError:
            head, found, whole = b"", None, False  # the reader says why, in one line
    if (kind := foreign_input(head)) is not None:  # read as CSV, a workbook would be "not UTF-8 text"
        raise UserError(f"input {source} is {kind}")
    if found == "parquet" and head.startswith(GZIP_MAGIC):
        raise UserError(f"input {source} is gzip-compressed Parquet, which gyroage does not read (Parquet compresses "
                        "inside): gunzip it first")
    if fmt is not None:
        return fmt
    claimed = None if str(source) == "-" else by_suffix(source, read=True)
    if found is None and claimed in ("fits", "votable", "ecsv", "parquet") and _comma_csv(head, whole):
        return "csv"
    return found or claimed or "csv"


def _comma_csv(head: bytes, whole: bool) -> bool:
    """Whether ``head`` (plain or gzip-compressed) is comma-separated text: a header with commas, and as many in
    each line under it (up to three)."""
    if head.startswith(GZIP_MAGIC):
        try:
            unzip = zlib.decompressobj(zlib.MAX_WBITS | 16)
            head = unzip.decompress(head, 65536)
            whole = whole and unzip.eof
        except zlib.error:
            return False
    if b"\0" in head:
        return False  # binary
    lines, comments = _text_lines(head.decode("utf-8", errors="replace").lstrip("\ufeff"), whole)
    lines = lines[comments : comments + 4]
    return bool(lines) and lines[0].count(",") > 0 and all(ln.count(",") == lines[0].count(",") for ln in lines[1:])


def output_format(target: str | Path | None, fmt: str | None = None) -> str:
    """The format to write ``target`` in: ``fmt`` if given, else its suffix, else CSV (always CSV on stdout).

    A name claiming a format gyroage reads but cannot write (:data:`UNWRITABLE`) is refused in one line, whatever
    ``fmt`` says: the file would not be what its name promises; so is one naming a format it does not write
    (``.xlsx``: :mod:`gyroage.file_kinds`) unless ``fmt`` is given. A suffix that names nothing (``.out``) is CSV."""
    if target in (None, "-"):
        if fmt not in (None, "csv"):
            raise UserError(f"--output-format {fmt} needs an output file (-o); stdout gets CSV")
        return "csv"
    claimed = UNWRITABLE.get(_suffix(target))
    if claimed is not None:
        raise UserError(f"cannot write {target}: {claimed} ({_suffix(target)}) is read, never written; name the "
                        "output .csv, .tsv, .tab, .parquet, .fits, .vot, .ecsv or .txt")
    foreign = None if fmt is not None else foreign_output(_suffix(target))
    if foreign is not None:
        raise UserError(f"cannot write {target}: {foreign} (or give --output-format csv to write CSV under this name)")
    out = fmt or by_suffix(target) or "csv"
    if is_gzip_name(target) and out not in GZIP_OUTPUTS:  # it would be written uncompressed under a .gz name
        raise UserError(f"cannot write {out} gzip-compressed ({target}): drop the .gz, or write "
                        f"{', '.join(GZIP_OUTPUTS)}")
    return out


def output_delimiter(target: str | Path | None, fmt: str | None = None) -> str:
    """The delimiter of a CSV output: a tab under a ``.tsv`` or ``.tab`` name (``.gz`` too), else a comma (stdout, and an
    explicit ``--output-format csv``, which ``fmt`` is)."""
    if target in (None, "-") or fmt is not None:
        return ","
    return "\t" if _suffix(target) in TAB_SUFFIXES else ","


def is_gzip_name(target: str | Path | None) -> bool:
    """Whether an output's name ends in ``.gz`` (case-insensitive): it is then written gzip-compressed."""
    return target not in (None, "-") and str(target).lower().endswith(".gz")


def read_table(source: str | Path, fmt: str, roles: dict[str, str] | None = None):
    """An astropy Table of ``source`` (a path, or '-' for stdin) in the astropy format ``fmt``, mixin columns (Time,
    SkyCoord) as astropy reads them (:func:`gyroage.io.astropy_frame` makes them plain); ``roles``: read_votable's."""
    from astropy.table import Table

    if str(source) == "-":
        data = sys.stdin.buffer.read()
        if data[:2] == GZIP_MAGIC:  # gzip-compressed: decompressed as a file of these formats is (astropy opens it)
            try:
                data = gzip.decompress(data)
            except GZIP_ERRORS as exc:
                raise gzip_error(source, exc) from None
        src = _stdin_text(data, source) if fmt in ("ecsv", "ascii") else _io.BytesIO(data)
    else:
        src = str(require_input_file(source))
    astropy_fmt, kwargs, units = ASTROPY[fmt], {}, None
    if fmt == "ascii":
        astropy_fmt, kwargs, units = ascii_layout(src, source)
    try:
        with notices.quiet():  # e.g. FITS "several tables, reading the first": the first is what we want
            if fmt in ("fits", "votable"):  # files that may hold several tables: gyroage chooses, and says so
                table = read_fits(src, source) if fmt == "fits" else read_votable(src, source, roles)
            elif "readme" in kwargs and src.lower().endswith(".gz"):
                table = _read_gzip_cds(src, kwargs["readme"])
            else:  # a file's BOM dropped as stdin's
                text = None if str(source) == "-" or "readme" in kwargs else bom_free_text(src)
                table = Table.read(src if text is None else text, format=astropy_fmt, **kwargs)
    except Exception as exc:  # astropy raises many types for a malformed file; each is the user's file, not a bug
        if isinstance(exc, UnicodeDecodeError):  # Latin-1, UTF-16, a second gzip layer: as the CSV reader says it
            raise not_utf8(source, exc) from None
        # a .gz cut short, said as stdin's (whose gzip errors are said where it is decompressed)
        if str(source) != "-" and is_gzip_file(source) and (fault := _gzip_fault(source)) is not None:
            raise gzip_error(source, fault) from None  # (astropy reads a cut .fits.gz as 'No table found')
        raise exc if isinstance(exc, UserError) else UserError(f"cannot read {source} as {fmt}: {_reason(exc)}") from None
    if units:
        set_units(table, *units)
    if fmt in ("ascii", "ecsv") and roles and astropy_fmt != "ascii.cds":  # astropy renamed a repeated X to X_1
        refuse_repeated_header(table.colnames, src, source, roles)
    # astropy names a headerless table's columns col1, col2, ... (or takes a first row of numbers for the names)
    if astropy_fmt == "ascii" and (any(map(is_number, table.colnames))
                                   or table.colnames == [f"col{i + 1}" for i in range(len(table.colnames))]):
        raise UserError(f"cannot read {source} as ascii: it has no header line naming its columns: add one (a CDS "
                        "table's .dat: put its ReadMe beside it)")
    return table


def _stdin_text(data: bytes, source) -> str:
    """stdin's (decompressed) ``data`` as the text of a text table: not UTF-8 or empty refused in one line, as the CSV
    reader refuses them (astropy took a text without a line break for a path: 'Is a directory: '.'')."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise not_utf8(source, exc) from None
    if not text.strip():
        raise UserError(f"input {source} is empty (no header line)")
    return text if "\n" in text or "\r" in text else text + "\n"


def _gzip_fault(path) -> BaseException | None:
    """The error decompressing the gzip file ``path`` whole raises (truncated, corrupt), or ``None``: asked only once
    its reader has failed, so a good file is decompressed once."""
    try:
        with gzip.open(path, "rb") as fh:
            while fh.read(1 << 22):
                pass
    except GZIP_ERRORS as exc:
        return exc
    return None


def _read_gzip_cds(path: str, readme: str):
    """The CDS table ``path`` (``table1.dat.gz``) read with its ``readme``, under the name the ReadMe gives it.

    astropy < 7 looks the table up in the ReadMe by the file's own name, ``.gz`` included, and does not find it: the
    table is decompressed into a temporary folder as ``table1.dat`` and read from there (CDS tables are small).
    """
    import gzip
    import shutil
    import tempfile

    from astropy.table import Table

    with tempfile.TemporaryDirectory(prefix="gyroage-cds-") as tmp:
        plain = Path(tmp) / Path(path).name[:-3]
        with gzip.open(path, "rb") as src, open(plain, "wb") as dst:
            shutil.copyfileobj(src, dst)
        return Table.read(str(plain), format="ascii.cds", readme=readme)


def plain_columns(table, source):
    """``table`` with astropy's mixin columns as plain ones: a Time as its values in the format it was read in (from
    ECSV its ISO text; from FITS the (jd1, jd2) pair astropy stores, an array cell that comes out as its text,
    ``[2458850.0, -0.5]``), a SkyCoord (or any other object) as the columns astropy stores it in (``coord.ra``,
    ``coord.dec``)."""
    from astropy.table import Column, MaskedColumn
    from astropy.table.serialize import represent_mixins_as_columns
    from astropy.time import Time

    mixins = [name for name in table.colnames if not isinstance(table[name], Column)]
    if not mixins:
        return table
    try:
        for name in mixins:
            if isinstance(table[name], Time):
                value = table[name].value
                table[name] = (MaskedColumn(value.unmasked, mask=value.mask) if hasattr(value, "unmasked")
                               else Column(value))
        return represent_mixins_as_columns(table)
    except Exception as exc:  # an object astropy cannot split into columns: the user's table, in one line
        raise UserError(f"cannot read column(s) {', '.join(mixins)} of {source} as plain columns: "
                        f"{_reason(exc)}") from None


def _reason(exc: Exception) -> str:
    """astropy's reason for not reading a table, in one line, never empty."""
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    first = lines[0].removeprefix("ERROR: ") if lines else type(exc).__name__
    if first.startswith("Unable to guess table format"):  # then a page of the readers it tried
        return ("no table layout astropy knows (columns split on blanks with a header naming each, fixed-width with "
                "a row of dashes, CDS/MRT): give it as CSV, or check its rows have as many fields as its header")
    return first


def table_frame(table) -> pd.DataFrame:
    """``table`` as a DataFrame: masked cells missing (NaN), byte strings as text, array cells as their text."""
    table.convert_bytestring_to_unicode()
    for name in table.colnames:
        col = table[name]
        if getattr(col, "ndim", 1) > 1:  # pandas holds scalars: keep each array cell, as text, rather than drop it
            table[name] = [str(np.asarray(v).tolist()) for v in col]
    try:
        return exact_to_pandas(table, index=False)
    except Exception as exc:
        raise UserError(f"cannot convert the input table: {str(exc).splitlines()[0]}") from None


def exact_to_pandas(table, **kwargs) -> pd.DataFrame:
    """``table.to_pandas(**kwargs)`` with each masked integer column with a null as a nullable Int64 (UInt64, ...)
    built from its values and mask.

    astropy 5.3-6.1's to_pandas passes such a column through float64: a Gaia DR3 source_id loses its last digits
    (6917528997577384320 -> ...383936, a neighbouring source) and a uint64 near 2**64 cannot be converted at all. The
    column goes to to_pandas unmasked and is masked after, whatever the astropy version; ``table`` is left as it is.
    """
    from astropy.table import Column, MaskedColumn

    exact = {}
    for name in getattr(table, "colnames", ()):
        col = table[name]
        if isinstance(col, MaskedColumn) and col.dtype.kind in "iu":
            mask = np.ma.getmaskarray(col)
            if mask.any():  # without a null, to_pandas keeps plain int64 exactly
                values = np.asarray(col.data.data, dtype=col.dtype.newbyteorder("="))  # FITS is big-endian
                exact[name] = (values, mask.copy())
    if exact:
        table = table.copy(copy_data=False)
        for name, (values, _) in exact.items():
            table[name] = Column(values, name=name)
    frame = table.to_pandas(**kwargs)
    for name, (values, mask) in exact.items():
        frame[name] = pd.arrays.IntegerArray(values, mask)
    return frame


def write_table(frame: pd.DataFrame, path: str | Path, fmt: str, units: Mapping[str, str] | None = None,
                meta: dict[str, str] | None = None) -> None:
    """``frame`` into ``path`` (overwritten) as ``fmt`` with astropy; missing cells masked; ``meta``: the run's
    record (:mod:`gyroage.provenance`: FITS cards, ECSV meta, VOTable INFO; none in plain ASCII).

    ``units``: gyroage's own columns and their units (Myr, mag), for unit-aware readers (``None``:
    :data:`COLUMN_UNITS`, estimate's and group-age's). Not any name ending in ``_myr``: an input column passed through
    (an isochrone age, perhaps in Gyr) keeps no unit, as it came in none.
    """
    from astropy.table import MaskedColumn, Table

    from gyroage import provenance

    units = COLUMN_UNITS if units is None else units
    if fmt == "fits":
        check_fits_names(frame.columns)

    table = Table()
    for name in frame.columns:
        col = frame[name]
        missing = col.isna().to_numpy(dtype=bool)
        if isinstance(col.dtype, pd.api.extensions.ExtensionDtype) and col.dtype.kind in "iub":  # nullable: masked
            values = col.to_numpy(dtype=col.dtype.numpy_dtype, na_value=0)
        elif col.dtype.kind in "fiub":
            values = col.to_numpy()
        else:  # text (object or string dtype): FITS and VOTable hold fixed-width str, not Python objects
            values = col.astype(object).where(~missing, "").astype(str).to_numpy(dtype=str)
            if values.dtype.itemsize == 0:
                values = values.astype("U1")
            if fmt == "fits":  # FITS text is bytes: a non-ASCII cell is kept as UTF-8
                try:
                    values.astype("S")  # ASCII check in C, not a Python loop over the cells
                except UnicodeEncodeError:
                    values = np.char.encode(values, "utf-8")
        if fmt == "fits" and values.dtype.kind == "b" and missing.any():
            values = values.astype(np.uint8)  # a FITS logical holds no null astropy writes (it writes True): 1/0, TNULL
        if values.dtype.kind in "iu":
            values = portable_ints(values, missing, fmt)
        if missing.any() and values.dtype.kind in "iu":  # TNULL: a value absent from the column, never a real one
            values, null = with_null(values, missing)
            table[str(name)] = MaskedColumn(values, mask=missing, fill_value=null)
        elif missing.any() and col.dtype.kind != "f":
            table[str(name)] = MaskedColumn(values, mask=missing)
        else:
            table[str(name)] = values
    for name in table.colnames:  # gyroage's own (age_p50_myr, ...): the unit their names give, for unit-aware readers
        if name in units and table[name].dtype.kind == "f":
            table[name].unit = units[name]
    try:
        with notices.quiet():  # VOTable and FITS note names they adapt; the table still reads back
            if meta and fmt == "votable":  # astropy's VOTable writer drops a table's meta
                provenance.votable(table, meta).to_xml(str(path))
            else:
                table.meta.update(provenance.astropy_meta(fmt, meta))
                table.write(str(path), format=ASTROPY[fmt], overwrite=True)
    except (ValueError, TypeError, UnicodeError) as exc:  # what the data cannot be in this format, e.g. a column name
        raise UserError(f"cannot write the output as {fmt}: {str(exc).splitlines()[0]}") from None
