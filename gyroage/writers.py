"""Output tables: the atomic table writer (every format) and fast CSV text.

Readers and column names live in :mod:`gyroage.io`; formats in :mod:`gyroage.formats`.
"""

from __future__ import annotations

import csv
import gzip
import io as _io
import os
import shutil
import sys
import tempfile
from collections.abc import Collection
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pandas as pd

from gyroage import io, together
from gyroage.errors import UserError
from gyroage.files import AtomicFile, TargetLock, is_special, open_output, output_path, same_file, temp_prefix


def csv_text(frame: pd.DataFrame, header: bool = True, sep: str = ",", exact: Collection = ()) -> str:
    """``frame`` as CSV text: what ``to_csv(index=False, float_format="%.6g")`` writes, 5-7x faster; ``sep``: the
    delimiter (a tab for a ``.tsv``: :func:`gyroage.formats.output_delimiter`).

    ``exact``: names of columns passed through from a typed input (Parquet, FITS, ...) whose floats are written
    shortest round-trip, every digit they hold: 6 digits are gyroage's choice for its own results, not for a
    user's RA/Dec (0.0001 deg is 0.36 arcsec).

    Input columns are kept as the text read (strings); result columns are
    floats, rounded here to 6 significant digits and written by Arrow's CSV
    writer (a value exactly halfway in its 7th digit may round the other way).
    Anything Arrow would write differently (a value needing quotes, numbers
    "%.6g" puts in exponent form, other column types) takes pandas' path.
    """
    frame = exact_text(frame, exact)
    try:
        text = _arrow_csv(frame, sep)
    except (TypeError, ValueError, ImportError):
        text = None
    if text is None:
        return _pandas_csv(frame, header, sep)
    if not header:
        return text
    head = _io.StringIO()
    # "\r\n" so that a name holding a lone "\r" is quoted too (_pandas_csv); the one line's own end becomes "\n"
    csv.writer(head, delimiter=sep, lineterminator="\r\n").writerow([str(c) for c in frame.columns])
    return head.getvalue()[:-2] + "\n" + text


def _pandas_csv(frame: pd.DataFrame, header: bool, sep: str) -> str:
    r"""``frame.to_csv`` text with "\n" line ends and every cell holding a "\r" or "\n" quoted.

    The csv module quotes a cell holding a character of its line terminator, and no other line break: with "\n" a
    lone "\r" (a CR-only file's quoted line break) went out unquoted, and every reader split the row there, shifting
    the ages of the rest into other columns. Rows are ended with "\r", a noncharacter and "\n" instead, then each
    row's end becomes "\n": the same text for cells without a "\r" (or that noncharacter, which Unicode keeps out of
    interchanged text). The sequence is made longer while the text holds it (a quoted cell could): each row writes
    exactly one end, so a count above the rows means a cell holds it.
    """
    rows = len(frame) + bool(header)
    end = "\r\ufdd0\n"
    while True:
        text = frame.to_csv(index=False, header=header, sep=sep, lineterminator=end, float_format="%.6g")
        if text.count(end) == rows:
            return text.replace(end, "\n")
        end = end[:-1] + "\ufdd0\n"


def exact_text(frame: pd.DataFrame, exact: Collection) -> pd.DataFrame:
    """``frame`` with its float columns named in ``exact`` as text, shortest round-trip (missing: empty)."""
    names = [c for c in frame.columns if c in set(exact) and frame[c].dtype.kind == "f"]
    if not names:
        return frame
    import pyarrow as pa

    frame = frame.copy(deep=False)
    for c in names:  # Arrow's cast is vectorised and gives the shortest text that reads back to the same value,
        # in the column's own precision (a float32 widened to double would print digits it never held)
        text = pa.array(frame[c], from_pandas=True).cast(pa.string())
        frame[c] = pd.Series(text.to_numpy(zero_copy_only=False), index=frame.index, dtype=object)
    return frame


def _arrow_csv(frame: pd.DataFrame, sep: str = ",") -> str | None:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    cols = {}
    for i in range(frame.shape[1]):
        v = frame.iloc[:, i]
        if v.dtype.kind == "f":
            x = v.to_numpy(dtype=np.float64)
            finite = x[np.isfinite(x) & (x != 0)]
            if finite.size and not ((np.abs(finite) >= 1e-4) & (np.abs(finite) < 1e6)).all():
                return None  # "%.6g" writes these with an exponent
            r = _round_significant(x, 6)
            cols[f"c{i}"] = pa.array(r, mask=np.isnan(r))
        elif v.dtype.kind in "OUT" or pd.api.types.is_string_dtype(v.dtype):
            a = v.to_numpy(dtype=object, na_value=None)
            cols[f"c{i}"] = pa.array(a, type=pa.string())  # raises on non-strings: pandas' path
        else:
            return None
    buf = pa.BufferOutputStream()
    try:  # quoting "none" refuses values holding a delimiter, quote or newline: pandas quotes those
        pacsv.write_csv(pa.table(cols), buf, pacsv.WriteOptions(include_header=False, delimiter=sep,
                                                                       quoting_style="none"))
    except pa.ArrowInvalid:
        return None
    return buf.getvalue().to_pybytes().decode("utf-8")


def _round_significant(x: np.ndarray, digits: int) -> np.ndarray:
    """``float(f"{v:.{digits}g}")`` for every value, vectorised (dividing by an exact power of ten)."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        e = np.floor(np.log10(np.abs(x)))
        k = np.where(np.isfinite(e), digits - 1 - e, 0.0)
        scale = 10.0 ** np.abs(k)
        r = np.where(k >= 0, np.round(x * scale) / scale, np.round(x / scale) * scale)
    return np.where(np.isfinite(x) & (x != 0), r, x)


def check_outputs(source: str | Path | list, target: str | Path | None, posteriors: str | Path | None = None) -> None:
    """Refuse, in one line, an output that is the input or the other output.

    Each is renamed into place when complete, so the input would be replaced, or one output
    silently lost to the other. ``source`` may be a list of inputs (the dask engine's).
    """
    if target is not None and str(target) == "":  # Path("") is ".", which would be reported as a directory
        raise UserError("-o needs a file name")
    for out in (target, posteriors):
        try:
            if out not in (None, "-"):
                os.stat(out)
        except PermissionError as exc:  # a path we may not even look at (another process's /proc/PID/fd/1)
            raise UserError(f"cannot write {out}: {exc.strerror}") from None
        except OSError:  # not there yet, or a folder on the way missing: prepare_target says what it needs
            pass
    if target not in (None, "-") and posteriors is not None and same_file(target, posteriors):
        raise UserError(f"-o and --posteriors name the same file ({target}): give each its own")
    sources = [s for s in (source if isinstance(source, (list, tuple)) else [source]) if str(s) != "-"]
    for out, option in ((target, "-o"), (posteriors, "--posteriors")):
        if out in (None, "-") or is_special(out):  # a device or FIFO is written into, not replaced
            continue
        for s in sources:
            if same_file(s, out):
                raise UserError(f"{option} {out} is the input file, which it would replace: write the output elsewhere")


def prepare_target(target: Path, directory: bool = False, probe: bool = True) -> list[Path]:
    """Fail early, in one line, on an output path that cannot be written; create its folder. Returns the folders
    it made, deepest first, for :func:`remove_made` to take back if the run fails (a typo'd path leaves nothing).

    ``directory``: the output is a directory (the dask engine's), so an existing one is no mistake.
    ``probe``: make and remove a file in the folder; False where the caller makes its own temporary file there at
    once (:class:`AtomicWriter`), which then is the probe.
    """
    target = Path(target)
    if target.is_dir() and not directory:
        raise UserError(f"output {target} is a directory")
    where = output_path(target)  # a symlink's target, where the temp file goes
    if is_special(where):  # a device or FIFO: written into, nothing is made beside it (AtomicFile)
        if directory:
            raise UserError(f"cannot write {target}: a device or FIFO, not a directory")
        if not os.access(where, os.W_OK):
            raise UserError(f"cannot write {target}: permission denied")
        return []
    if where.parent.exists() and not where.parent.is_dir():
        raise UserError(f"cannot write {target}: {where.parent} is not a directory")
    made = []
    folder = where.parent.absolute()
    while not os.path.lexists(folder) and folder != folder.parent:
        made.append(folder)
        folder = folder.parent
    try:
        where.parent.mkdir(parents=True, exist_ok=True)
        if probe:
            # Make and remove a file where the temp file and the sidecar will go: os.access says yes to root
            # where the file system still refuses (/sys, a read-only mount), and it cannot see a name too long.
            fd, name = tempfile.mkstemp(dir=where.parent, prefix=temp_prefix(where), suffix=".resume")
            os.close(fd)
            os.unlink(name)
    except OSError as exc:
        remove_made(made)
        raise UserError(f"cannot write {target}: {exc.strerror or exc}") from None
    return made


def remove_made(folders: list[Path]) -> None:
    """Remove the folders :func:`prepare_target` made (deepest first) that are still empty: a failed run's."""
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:  # something is in it (another run's output, or ours after all): it and those above stay
            return


def locked_target(target: Path) -> tuple[list[Path], TargetLock]:
    """:func:`prepare_target` and then :class:`~gyroage.files.TargetLock` for ``target``: (the folders made, the lock,
    held until the caller releases it, before its :func:`remove_made` if the run fails: the lock file is in them).
    A lock that cannot be taken (another run's) takes the folders back at once."""
    made = prepare_target(target)  # now, not after every star is computed
    try:
        return made, TargetLock(target, file_only=True)
    except BaseException:
        remove_made(made)
        raise


class _GzipInto(gzip.GzipFile):
    """A gzip stream that also closes the file it writes into (GzipFile leaves a ``fileobj`` open)."""

    def close(self) -> None:
        raw = self.fileobj
        try:
            super().close()
        finally:
            if raw is not None:
                raw.close()


def open_bytes(path: str | Path, gz: bool = False) -> BinaryIO:
    """``path`` opened for writing bytes, gzip-compressed when ``gz``.

    The gzip header holds no file name or time (those of a temporary file would be meaningless),
    so the same table always gives the same bytes, resumed or not.
    """
    raw = open_output(path)
    return _GzipInto(filename="", mode="wb", fileobj=raw, compresslevel=6, mtime=0) if gz else raw


def write_astropy(frame: pd.DataFrame, path: Path, fmt: str, target: Path, meta: dict | None = None, units: dict | None = None) -> None:
    """``frame`` into ``path`` as ``fmt`` (:func:`gyroage.formats.write_table`, ``meta``: the run's
    :mod:`gyroage.provenance`, ``units`` its own columns'), gzip-compressed when ``target``'s name ends in ``.gz``.

    Written plain, then compressed by :func:`open_bytes`: astropy compresses by the name it is given, which put the
    temporary file's name and the time into the gzip header (``gunzip -N`` made a hidden file, two runs differed).
    """
    from gyroage.formats import is_gzip_name, write_table

    if not is_gzip_name(target):
        write_table(frame, path, fmt, units, meta=meta)
        return
    # named as the target's temporary files are, so a killed run's is found and removed (files.remove_stale)
    fd, name = tempfile.mkstemp(dir=Path(path).parent, prefix=temp_prefix(target), suffix=".part")
    os.close(fd)
    try:
        write_table(frame, name, fmt, units, meta=meta)
        with open(name, "rb") as src, open_bytes(path, gz=True) as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
    finally:
        os.unlink(name)


def write_stdout(text: str) -> None:
    """``text`` to stdout as UTF-8, every byte of it or an OSError.

    UTF-8 whatever stdout's own encoding, as ``-o`` files are: Windows gives a redirected stdout the ANSI code page
    (cp1252), where a Unicode minus in a column name was a UnicodeEncodeError traceback and an ``É`` came out in
    bytes gyroage itself refuses to read back (not UTF-8). A Windows console takes UTF-8 bytes too.

    sys.stdout drops the rest of a short write (a disk filling up under a redirect) without a word:
    its byte buffer returns the count written and TextIOWrapper ignores it. Here the rest is written
    again, so a full disk raises (ENOSPC) instead of leaving a truncated output and exit code 0.
    """
    out = sys.stdout
    if getattr(out, "buffer", None) is None:  # a text-only stream (some test harnesses)
        out.write(text)
        return
    write_stdout_bytes(text.encode("utf-8"))


def write_stdout_bytes(data: bytes) -> None:
    """``data`` to stdout's byte buffer, every byte of it or an OSError (:func:`write_stdout`); a text-only stdout
    (some test harnesses) is a :class:`UserError`."""
    out = sys.stdout
    raw = getattr(out, "buffer", None)
    if raw is None:
        raise UserError("stdout takes no bytes here: give -o FILE")
    out.flush()  # anything written as text before stays in front
    view = memoryview(data)
    while view:
        view = view[raw.write(view):]
    raw.flush()


def write_parquet(path: str | Path, schema, tables, meta: dict[str, str] | None) -> None:
    """Arrow ``tables`` (an iterable, read as written) into one Parquet file at ``path`` under ``schema``, with the
    run's record ``meta`` (:func:`gyroage.provenance.with_provenance`)."""
    import pyarrow.parquet as pq

    from gyroage.provenance import with_provenance

    with pq.ParquetWriter(path, with_provenance(schema, meta)) as writer:
        for table in tables:
            writer.write_table(table)


class AtomicWriter:
    """Write chunks to a temp file beside the target, then rename on ``commit``.

    CSV goes to stdout when ``target`` is ``None`` or ``-``. The format is
    ``fmt`` or the target's suffix (:func:`gyroage.formats.output_format`):
    CSV and Parquet are written chunk by chunk (CSV gzip-compressed under a ``.gz``
    name, tab-separated under a ``.tsv`` one); FITS, VOTable, ECSV and ASCII hold the chunks until ``commit`` (astropy
    writes a table whole).
    ``text_columns``: the input was read as CSV text, so text columns holding
    only numbers become numbers in typed outputs (:mod:`gyroage.column_types`), decided from every chunk: Parquet
    is written as text into a second temp file, and into the target's on ``commit``.
    As a context manager it commits on success and aborts (removing the temp
    file) on any exception. CSV into a device or FIFO (``-o /dev/stdout``, a
    named pipe) is written straight into it, chunk by chunk, as to stdout: it
    cannot be replaced, so a temp file would only hold the rows back. Parquet
    still goes through one (a later chunk may make it rewrite what it wrote).
    ``hold``: CSV for stdout, a device or a FIFO is spooled to a temporary file and written out only on ``commit``
    (the same bytes), so a run failing part-way leaves nothing there, never a shorter table the next command of a
    pipe takes as whole (crossmatch, whose services may fail between chunks).
    ``lock``: a file target is held under :class:`gyroage.files.TargetLock` until commit or abort (another run
    writing it is refused; a killed run's temporary files are removed).
    ``meta``: the run's record (:mod:`gyroage.provenance`), written into a typed output (set before the first chunk:
    a Parquet file's metadata is fixed when its writer opens); CSV carries none. ``units``: write_astropy's.
    """

    def __init__(self, target: str | Path | None, fmt: str | None = None, text_columns: bool = False,
                 hold: bool = False, lock: bool = False, meta: dict[str, str] | None = None) -> None:
        from gyroage import formats

        self.stdout = target in (None, "-")
        self.target = None if self.stdout else Path(target)
        self.format = formats.output_format(target, fmt)
        self.parquet = self.format == "parquet"
        self.gzip_csv = self.format == "csv" and formats.is_gzip_name(target)
        self.sep = formats.output_delimiter(target, fmt)
        self.text_columns = text_columns
        self.meta, self.units = meta, None  # units: gyroage's own columns' (None: estimate's and group-age's)
        self._file: AtomicFile | None = None
        self._fh = None
        self._pq = None
        self._text: AtomicFile | None = None  # Parquet of CSV text: the chunks as read, until commit
        self._frames: list[pd.DataFrame] = []
        self._blank: list[bool] = []  # Parquet: columns without a value so far (their type is not settled)
        self._header_done = False
        self.direct = self.target is not None and self.format == "csv" and is_special(output_path(self.target))
        # stdout, a device or a FIFO cannot be replaced: held, its CSV waits in a temporary file for commit
        self.hold = hold and (self.stdout or self.direct)
        self._held = None
        self._made: list[Path] = []  # folders made for the target, removed again on abort
        if self.direct:
            prepare_target(self.target)  # a device or FIFO: its checks make no file
        elif self.target is not None:
            self._made = prepare_target(self.target, probe=False)  # the temp file made next is the probe
            try:
                self._file = AtomicFile(self.target, lock=lock)
            except BaseException as exc:  # unwritable, or another run holds the target (TargetLock)
                remove_made(self._made)
                if isinstance(exc, OSError):
                    raise UserError(f"cannot write {self.target}: {exc.strerror or exc}") from None
                raise

    def write(self, frame: pd.DataFrame, exact: Collection = ()) -> None:
        """Add ``frame``; ``exact``: its columns written with every digit in CSV (:func:`csv_text`)."""
        if self.parquet:
            self._write_parquet(frame)
            return
        if self.format != "csv":
            self._frames.append(frame)
            return
        if self.hold and self._held is None:
            self._held = tempfile.TemporaryFile("w+", encoding="utf-8", newline="")
        elif self._fh is None and not self.hold:
            self._fh = sys.stdout if self.stdout else _io.TextIOWrapper(
                open_bytes(self.target if self.direct else self._file.path, self.gzip_csv), encoding="utf-8",
                newline="")
        text = csv_text(frame, header=not self._header_done, sep=self.sep, exact=exact)
        if self._held is not None:
            self._held.write(text)
        elif self.stdout:
            write_stdout(text)
        else:
            self._fh.write(text)
            if self.direct and not self.gzip_csv:  # the reader gets each chunk now (a gzip flush would change bytes)
                self._fh.flush()
        self._header_done = True

    def _write_parquet(self, frame: pd.DataFrame) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        from gyroage.column_types import conform, fits, is_blank, merge_schemas
        from gyroage.provenance import with_provenance

        table = pa.Table.from_pandas(frame, preserve_index=False)
        if self._pq is None:
            # CSV text is written as it is, beside the target, and its numbers settled from every chunk on commit
            self._text = AtomicFile(self.target, lock=False) if self.text_columns else None
            # the record goes on the target's schema only (_settle_text stamps it there)
            record = None if self._text else self.meta
            self._pq = pq.ParquetWriter((self._text or self._file).path, with_provenance(table.schema, record))
            self._blank = [True] * table.num_columns
        if not fits(self._pq.schema, self._blank, table, io.NA_TOKENS):
            # A value that does not fit the types written so far (numbers in a column that was blank,
            # text where earlier chunks held numbers, a fraction in an int column): rewrite what is
            # written in types that hold both. Rare, and costs one read of the output so far.
            self._pq.close()
            path = (self._text or self._file).path
            done = pq.read_table(path)
            schema = merge_schemas([done.schema, table.schema], lambda j: [done.column(j), table.column(j)], io.NA_TOKENS)
            self._pq = pq.ParquetWriter(path, with_provenance(schema, None if self._text else self.meta))
            self._pq.write_table(conform(done, self._pq.schema, io.NA_TOKENS))
        self._pq.write_table(conform(table, self._pq.schema, io.NA_TOKENS))
        self._blank = [b and is_blank(c, io.NA_TOKENS) for b, c in zip(self._blank, table.columns)]

    def commit(self, along: list[AtomicFile] | tuple = (), then=None) -> None:
        """``along``: staged files renamed in right after the output, ``then`` called, signals held (together.commit_together)."""
        if self._pq is not None:
            self._pq.close()
        if self._text is not None:
            self._settle_text()
        if self.format not in ("csv", "parquet"):
            frame = pd.concat(self._frames, ignore_index=True) if self._frames else pd.DataFrame()
            if self.text_columns:  # the whole table at once: one type per column, no merging needed
                from gyroage.column_types import numbers_from_text

                frame = numbers_from_text(frame, io.NA_TOKENS)
            write_astropy(frame, self._file.path, self.format, self.target, self.meta, self.units)
        if self._held is not None:
            self._release()
        elif self._fh is not None and not self.stdout:
            self._fh.close()
        elif self.stdout and self._fh is not None:
            self._fh.flush()
        elif self.direct:  # nothing written: opened and closed, as the empty temp file would be copied in
            open_output(self.target).close()
        together.commit_together([f for f in (self._file, *along) if f is not None], then)

    def _settle_text(self) -> None:
        """The CSV text written so far into the target's temp file, its number columns as numbers
        (:func:`gyroage.column_types.typed_chunks`: one row group is one chunk or more, read one at a time)."""
        import pyarrow.parquet as pq

        from gyroage.column_types import typed_chunks

        with pq.ParquetFile(self._text.path) as source:
            schema, tables = typed_chunks(source.schema_arrow, lambda names: (
                source.read_row_group(i, columns=names) for i in range(source.num_row_groups)), io.NA_TOKENS, True)
            write_parquet(self._file.path, schema, tables, self.meta)
        self._text.abort()  # removed: the target's temp file holds it all
        self._text = None

    def _release(self) -> None:
        """The held CSV into stdout or the device, in blocks, by the paths an unheld run writes it."""
        self._held.seek(0)
        try:
            if self.stdout:
                while block := self._held.read(1 << 20):
                    write_stdout(block)
                sys.stdout.flush()
                return
            with _io.TextIOWrapper(open_bytes(self.target, self.gzip_csv), encoding="utf-8", newline="") as fh:
                while block := self._held.read(1 << 20):
                    fh.write(block)
        finally:
            self._held.close()
            self._held = None

    def abort(self) -> None:
        if self._held is not None:  # nothing reaches stdout or the device
            self._held.close()
            self._held = None
        if self._pq is not None:
            self._pq.close()
        if self._text is not None:
            self._text.abort()
        if self._fh is not None and not self.stdout:
            try:
                self._fh.close()
            except OSError:  # a reader of the device or FIFO gone (broken pipe): the error raised already says so
                if not self.direct:
                    raise
        if self._file is not None:
            self._file.abort()
        remove_made(self._made)

    def __enter__(self) -> AtomicWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self.abort()
            return
        try:
            self.commit()
        except BaseException:
            self.abort()
            raise
