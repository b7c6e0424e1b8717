"""Table formats: which one a file is (suffix, first bytes, or the user's choice), and the astropy readers and writers.

CSV and Parquet stream in chunks (:mod:`gyroage.io`); FITS binary tables,
VOTable, ECSV and whitespace-delimited ASCII go through astropy, which reads
and writes a table whole. astropy is imported inside the functions, so a CSV
or Parquet run never loads it.
"""

from __future__ import annotations

import io as _io
import itertools
import re
import sys
import warnings
import zlib
from pathlib import Path

import numpy as np
import pandas as pd

from gyroage.columns import COLUMN_KINDS, KINDS, column_role  # noqa: F401 (the units each column is read in)
from gyroage.errors import UserError
from gyroage.files import require_input_file

FORMATS = ("csv", "parquet", "fits", "votable", "ecsv", "ascii")
STREAMING = ("csv", "parquet")  # read chunk by chunk; the others are read whole into memory
# Written gzip-compressed under a name ending in .gz: CSV by gyroage.writers, FITS and VOTable by astropy.
GZIP_OUTPUTS = ("csv", "fits", "votable")
# Our name -> astropy's (Table.read/write format=).
ASTROPY = {"fits": "fits", "votable": "votable", "ecsv": "ascii.ecsv", "ascii": "ascii"}
SUFFIXES = {".csv": "csv", ".tsv": "csv", ".parquet": "parquet", ".pq": "parquet",
            ".fits": "fits", ".fit": "fits", ".fts": "fits", ".vot": "votable", ".votable": "votable", ".xml": "votable",
            ".ecsv": "ecsv", ".txt": "ascii", ".dat": "ascii"}


def check_format(fmt: str | None, option: str) -> str | None:
    """``fmt`` lower-cased, or a one-line error naming ``option`` when it is not one of :data:`FORMATS`."""
    if fmt is None or fmt.lower() == "auto":
        return None
    if fmt.lower() not in FORMATS:
        raise UserError(f"unknown {option} {fmt!r} (choose {', '.join(FORMATS)})")
    return fmt.lower()


def by_suffix(path: str | Path) -> str | None:
    """The format a file name's suffix names (``.fits.gz`` counts as ``.fits``), or ``None``."""
    name = str(path).lower()
    if name.endswith(".gz"):
        name = name[:-3]
    return SUFFIXES.get(Path(name).suffix)


def sniff(head: bytes, whole: bool = False) -> str | None:
    """The format the first bytes of a file give away, or ``None`` (then the suffix decides, else CSV).

    ``whole``: ``head`` is the whole file (its last line is whole even without a line break).
    """
    if head.startswith(b"\x1f\x8b"):  # gzip: what it holds decides (CSV is read decompressed, as astropy reads its own)
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
    return _whitespace_ascii(text.decode("utf-8", errors="replace"), whole)


def _whitespace_ascii(text: str, whole: bool = False) -> str | None:
    """``ascii`` for text whose header has no CSV delimiter and splits, like its first data row, on blanks.

    Leading ``#`` lines are comments, a CSV's too (:func:`gyroage.csv_layout.header_start`): a header after them
    with a CSV delimiter is CSV; one without is left to astropy, which reads commented headers. ``whole``:
    ``text`` is the whole file.
    """
    lines = text.splitlines()
    if not (whole or text.endswith(("\n", "\r"))):  # the head's last line may be cut off
        lines = lines[:-1]
    lines = [ln for ln in lines if ln.strip()]
    comments = len(list(itertools.takewhile(lambda ln: ln.lstrip().startswith("#"), lines)))
    lines = lines[comments:]
    if lines and re.search(r"[,;\t|]", lines[0]):
        return None
    if comments:
        return "ascii"
    if len(lines) < 2:
        return None
    n = len(lines[0].split())
    return "ascii" if n > 1 and len(lines[1].split()) == n else None


def input_format(source: str | Path, fmt: str | None = None) -> str:
    """The format to read ``source`` as: ``fmt`` if given, else its first bytes, else its suffix, else CSV."""
    if fmt is not None:
        return fmt
    if str(source) == "-":
        peek = getattr(sys.stdin.buffer, "peek", None) if hasattr(sys.stdin, "buffer") else None
        try:
            return (sniff(peek(4096)[:4096]) if peek is not None else None) or "csv"
        except (OSError, ValueError):
            return "csv"
    try:
        with open(source, "rb") as fh:
            head = fh.read(4096)
            found = sniff(head, whole=len(head) < 4096)
    except OSError:
        found = None  # the reader says why, in one line
    return found or by_suffix(source) or "csv"


def output_format(target: str | Path | None, fmt: str | None = None) -> str:
    """The format to write ``target`` in: ``fmt`` if given, else its suffix, else CSV (always CSV on stdout)."""
    if target in (None, "-"):
        if fmt not in (None, "csv"):
            raise UserError(f"--output-format {fmt} needs an output file (-o); stdout gets CSV")
        return "csv"
    out = fmt or by_suffix(target) or "csv"
    if is_gzip_name(target) and out not in GZIP_OUTPUTS:  # it would be written uncompressed under a .gz name
        raise UserError(f"cannot write {out} gzip-compressed ({target}): drop the .gz, or write "
                        f"{', '.join(GZIP_OUTPUTS)}")
    return out


def is_gzip_name(target: str | Path | None) -> bool:
    """Whether an output's name ends in ``.gz`` (case-insensitive): it is then written gzip-compressed."""
    return target not in (None, "-") and str(target).lower().endswith(".gz")


def read_table(source: str | Path, fmt: str):
    """An astropy Table of ``source`` (a path, or '-' for stdin) in the astropy format ``fmt``; one-line errors."""
    from astropy.table import Table

    if str(source) == "-":
        data = sys.stdin.buffer.read()
        src = data.decode("utf-8", errors="replace") if fmt in ("ecsv", "ascii") else _io.BytesIO(data)
    else:
        src = str(require_input_file(source))
    kwargs = {"guess": True} if fmt == "ascii" else {}
    try:
        with warnings.catch_warnings():  # e.g. FITS "several tables, reading the first": the first is what we want
            warnings.simplefilter("ignore")
            return Table.read(src, format=ASTROPY[fmt], **kwargs)
    except Exception as exc:  # astropy raises many types for a malformed file; each is the user's file, not a bug
        raise UserError(f"cannot read {source} as {fmt}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
                        ) from None


def convert_units(table, roles: dict[str, str]) -> None:
    """Every column the tool reads to the tool's unit, in place, from the unit it carries (:data:`COLUMN_KINDS`).

    ``roles`` maps canonical names (:data:`gyroage.io.ALIASES`) to column names. A column without a unit, or
    a dimensionless one, is taken as it is. Periods go to days, colours, magnitudes, reddenings and extinctions
    (and their errors) to mag, parallaxes to mas, temperatures to K (an error in deg_C is a difference: as
    in K). A unit that cannot be converted, or a logarithmic one, is refused in one line. The conversions
    are logged on stderr, in one line.
    """
    import astropy.units as u

    done = []
    for role, name in roles.items():
        col = table[name]
        if col.unit is None or role not in COLUMN_KINDS:
            continue
        kind = COLUMN_KINDS[role]
        target, short, what, noun = KINDS[kind]
        want = u.Unit(target)
        unit = _parse_unit(col.unit)
        if unit is not None and unit == u.dimensionless_unscaled:
            continue
        if _logarithmic(unit, want):
            raise UserError(f"column '{name}' has a logarithmic unit '{col.unit}': give it in {what}, not its log")
        if unit is None or not unit.is_equivalent(want, u.temperature()):
            raise UserError(f"column '{name}' has unit '{col.unit}': {noun} must be in {what}")
        named = column_role(name)
        if named is not None and named.unit is not None:  # "Prot [h]": gyroage.io.numeric reads it in the name's unit
            if not (unit.is_equivalent(want) and abs(unit.to(want) / named.scale - 1) < 1e-9):
                raise UserError(f"column '{name}' has unit '{col.unit}', but its name says '{named.unit}'")
            continue  # converted here too, it would be converted twice
        values = _numbers(col)  # masked cells: NaN, their row's status
        offset = unit.to(want, 0.0, u.temperature())  # only a temperature's scale starts elsewhere
        if offset == 0 or kind == "temperature difference":  # a difference (an error) scales, never shifts
            scale = unit.to(want) if offset == 0 else _slope(unit, want, offset)
            table[name] = values * scale if scale != 1 else values
        else:
            table[name] = unit.to(want, values, u.temperature())
        if unit != want:
            done.append(f"'{name}' from {unit} to {short}")
    if done:
        print(f"gyroage: converted column {', '.join(done)}", file=sys.stderr, flush=True)


def _slope(unit, want, offset: float) -> float:
    """How many ``want`` one ``unit`` is as a difference (deg_C: 1 K), rounded off the offset's float error."""
    import astropy.units as u

    return float(f"{(unit.to(want, 1e3, u.temperature()) - offset) / 1e3:.12g}")


def _numbers(col) -> np.ndarray:
    """``col`` as float64: masked cells, and text that is no number, NaN."""
    if col.dtype.kind in "fiub":
        return np.ma.filled(np.ma.asarray(col, dtype=float), np.nan)
    cells = pd.Series(np.ma.filled(np.ma.asarray(col, dtype=object), None))
    return pd.to_numeric(cells, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _logarithmic(unit, want) -> bool:
    """Whether ``unit`` is a log of a quantity (``dex(d)``, ``mag(AB)``) or a log scale other than mag (dex, dB).

    astropy calls ``dex(d)`` equivalent to days, and dex -2.5 mag: a linear factor would turn log10 P into 10 log10 P.
    """
    import astropy.units as u

    if isinstance(unit, u.FunctionUnitBase):
        return True
    return unit is not None and unit.is_equivalent(want) and unit.to(want) <= 0


def _parse_unit(unit):
    """An astropy unit, or ``None`` if it names none (``days`` and ``hours`` are read as ``day`` and ``hour``;
    imperial ``deg_F`` too)."""
    import astropy.units as u
    from astropy.units import imperial

    if not isinstance(unit, u.UnrecognizedUnit):
        return unit
    with imperial.enable():
        for text in (str(unit), str(unit).rstrip("s")):
            try:
                return u.Unit(text)
            except ValueError:
                pass
    return None


def table_frame(table) -> pd.DataFrame:
    """``table`` as a DataFrame: masked cells missing (NaN), byte strings as text, array cells as their text."""
    table.convert_bytestring_to_unicode()
    for name in table.colnames:
        col = table[name]
        if getattr(col, "ndim", 1) > 1:  # pandas holds scalars: keep each array cell, as text, rather than drop it
            table[name] = [str(np.asarray(v).tolist()) for v in col]
    try:
        return table.to_pandas(index=False)
    except Exception as exc:
        raise UserError(f"cannot convert the input table: {str(exc).splitlines()[0]}") from None


def write_table(frame: pd.DataFrame, path: str | Path, fmt: str) -> None:
    """``frame`` into ``path`` (overwritten) as ``fmt`` with astropy; missing cells masked."""
    from astropy.table import MaskedColumn, Table

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
        table[str(name)] = MaskedColumn(values, mask=missing) if missing.any() and col.dtype.kind != "f" else values
    try:
        with warnings.catch_warnings():  # VOTable and FITS note names they adapt; the table still reads back
            warnings.simplefilter("ignore")
            table.write(str(path), format=ASTROPY[fmt], overwrite=True)
    except (ValueError, TypeError, UnicodeError) as exc:  # what the data cannot be in this format, e.g. a column name
        raise UserError(f"cannot write the output as {fmt}: {str(exc).splitlines()[0]}") from None
