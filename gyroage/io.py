"""Input: column aliases, numeric columns and the chunked readers of every table format.

The status vocabulary lives in :mod:`gyroage.statuses`.
"""

from __future__ import annotations

import gzip
import io as _io
import os
import stat
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pandas as pd

from gyroage import csv_layout, notices, parquet_input

# Which column holds which quantity: gyroage.columns, re-exported here, where readers have always looked for it.
from gyroage.columns import (  # noqa: F401
    ALIASES,
    COLOUR_SOURCES,
    MISSING_COLOUR,
    REQUIRED,
    column_key,
    column_role,
    file_has,
    find_column,
    match_columns,
    name_key,
    option_notes,
    read_roles,
    require_columns,
)
from gyroage.errors import GZIP_ERRORS, NothingPiped, UserError, gzip_error
from gyroage.files import GZIP_MAGIC, is_gzip_file, require_input_file  # noqa: F401 (readers look for them here)
from gyroage.pandas_compat import no_numbers, to_floats


def require_column(columns, name: str) -> str:
    """Like :func:`find_column` for one user-named column; a one-line :class:`UserError` if absent, listing the
    file's columns (as a required column's error does)."""
    columns = list(columns)
    col = find_column(columns, name)
    if col is None:
        raise UserError(f"missing column '{name}'{file_has(columns)}")
    return col


# Columns that name a star, carried into the --posteriors file (matched by name_key, in input order).
ID_NAMES = ("id", "name", "star", "star_id", "star_name", "starname", "object", "object_id", "target",
            "designation", "main_id", "source_id", "gaia_dr3_source_id", "dr3_source_id", "gaiadr3_source_id",
            "gaia_dr3_id", "dr3_id", "gaia_dr2_source_id", "dr2_source_id", "gaia_source_id", "gaia_id", "gaia_dr3",
            "gaiadr3", "tic", "tic_id", "ticid", "tess_id", "kic", "kic_id", "kicid", "kepid", "kepler_id", "epic",
            "epic_id", "epicid", "k2_id", "2mass", "2mass_id", "tmass", "twomass", "hip", "hd")


def id_columns(columns, chosen=None) -> list[str]:
    """The input columns naming each star: ``chosen`` ones (``--id``), else those with an :data:`ID_NAMES` name.

    A chosen name that is not a column is a one-line :class:`UserError` naming it.
    """
    columns = list(columns)
    if chosen is None:
        keys = {name_key(n) for n in ID_NAMES}
        return [c for c in columns if name_key(c) in keys]
    found: list[str] = []
    for name in chosen:
        col = find_column(columns, name)
        if col is None:
            raise UserError(f"--id column '{name}' is not a column of the input")
        if col not in found:
            found.append(col)
    return found


def prefix_clashes(frame: pd.DataFrame, reserved, fold_case: bool = False) -> pd.DataFrame:
    """``frame`` (index reset) with each column named in ``reserved`` renamed ``input_<name>``.

    ``input_<name>`` always holds the input's ``<name>``: an input column already called
    ``input_<name>`` moves on to ``input_input_<name>`` (and so on), rather than the clashing
    column taking a name the user could not tell from their own. The result never holds a
    duplicate name (Parquet refuses them). The caller then adds its own columns under the reserved names.
    ``fold_case``: names are compared ignoring case (:func:`case_blind_clashes`).
    """
    key = (lambda name: str(name).casefold()) if fold_case else str
    out = frame.reset_index(drop=True)  # already a new frame: renaming leaves the input alone
    reserved = {key(r) for r in reserved}
    moved = [c for c in out.columns if key(c) in reserved]
    for c in moved:  # grows while it runs: each renamed column pushes on the input column whose name it takes
        moved.extend(o for o in out.columns if key(o) == key(f"input_{c}") and o not in moved)
    taken = reserved | {key(c) for c in out.columns if c not in moved}  # the caller's names, the inputs that stay
    clashes = {}
    for c in moved:
        new = f"input_{c}"
        while key(new) in taken:  # only when the caller itself writes an input_ name: never a duplicate
            new = f"input_{new}"
        clashes[c] = new
        taken.add(key(new))
    return out.rename(columns=clashes)


# Output formats whose column names are compared ignoring case (FITS TTYPEn, VOTable FIELD names as tools read them).
CASE_BLIND = ("fits", "votable")


def case_blind_clashes(out: pd.DataFrame, inputs: int, fmt: str) -> pd.DataFrame:
    """``out`` (its first ``inputs`` columns the input's, the rest gyroage's) with each input column whose name equals
    one of gyroage's ignoring case (``Status``, ``P_Outlier``) renamed ``input_<name>``, when ``fmt`` is one of
    :data:`CASE_BLIND`: there both names would be one (``data['STATUS']`` ambiguous). Else ``out`` itself.
    """
    if fmt not in CASE_BLIND or not 0 < inputs < out.shape[1]:
        return out
    ours = list(out.columns[inputs:])
    head = prefix_clashes(out.iloc[:, :inputs], ours, fold_case=True)
    if list(head.columns) == list(out.columns[:inputs]):
        return out
    return out.set_axis([*head.columns, *ours], axis=1)


def first_column(frame: pd.DataFrame, column: str) -> pd.Series:
    """``frame[column]`` as one Series: under a duplicated header pandas gives a frame, and its first column is used."""
    col = frame[column]
    return col.iloc[:, 0] if isinstance(col, pd.DataFrame) else col


def numeric(frame: pd.DataFrame, column: str | None, durations: bool = False) -> np.ndarray:
    """A column as float64; text, flags, dates and empty cells become NaN (never an exception); durations in days
    where the column holds a period or its error (``durations``), else no number, as their text ("1 days") is; a
    categorical column of durations as the durations.

    A column whose name gives a unit (``Prot [h]``: :func:`gyroage.columns.column_role`) comes in the tool's unit.
    """
    if column is None:
        return np.full(len(frame), np.nan)
    col = first_column(frame, column)
    if isinstance(col.dtype, pd.CategoricalDtype) and col.dtype.categories.dtype.kind == "m":
        col = col.astype(col.dtype.categories.dtype)  # .astype("category") of durations: the durations (missing: NaT)
    arrow = str(getattr(col.dtype, "pyarrow_dtype", ""))  # "" unless an arrow-backed column
    if arrow.startswith("decimal"):  # to_numeric fails on them with a null
        # Decimals go through Python's Decimal, as Parquet's reader gives them: float(Decimal) is correctly rounded,
        # Arrow's decimal-to-double cast is not (decimal 25.40 came out 25.400000000000002, not the float 25.4)
        col = col.astype(object)
    if arrow == "halffloat":  # through numpy's float16 (exact as a double): pyarrow < 15 has no half-float cast
        import pyarrow as pa

        values = pa.array(col).to_numpy(zero_copy_only=False).astype(np.float64)  # a null is NaN
    elif col.dtype.kind == "m" and not durations:  # "1 days" was a 1.0 mag colour, dated ok
        values = np.full(len(col), np.nan)
    elif col.dtype.kind == "m":  # a duration (numpy, arrow) in days, the tool's time unit (to_numeric gave ns, NaT -9e18)
        values = (col / pd.Timedelta(days=1)).to_numpy(dtype=float, na_value=np.nan)
    else:
        values = to_floats(col)
    role = column_role(column)
    return values * role.scale if role is not None and role.scale != 1.0 else values


# Cells that mean "no value" in an optional column (compared stripped and lower-cased).
NA_TOKENS = csv_layout.NA_TOKENS


def mean_error(frame: pd.DataFrame, lower: str | None, upper: str | None,
               durations: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """An error column's :func:`numeric` values and where it holds text (:func:`unparsed`); with VizieR's upper error
    ``upper`` beside the lower ``lower`` (``e_X``, ``E_X``), the symmetric error the model takes: their mean (either
    alone where the other is blank), unusable where either holds text or is no number >= 0 (:func:`bad_error`).

    Each part is checked before the mean: a signed lower error (-0.2 beside 3.0) or a 99/-99 sentinel pair averaged
    into a "valid" error, so whether the row was dated hung on the other part's size. ``durations``: a period's
    error, which may be a duration (:func:`numeric`)."""
    values = numeric(frame, lower, durations)
    bad = unparsed(frame, lower, values)
    if upper is None:
        return values, bad
    up = numeric(frame, upper, durations)
    bad = bad | unparsed(frame, upper, up) | bad_error(values) | bad_error(up)
    return np.where(np.isnan(values), up, np.where(np.isnan(up), values, 0.5 * (values + up))), bad


def unparsed(frame: pd.DataFrame, column: str | None, values: np.ndarray | None = None) -> np.ndarray:
    """True where a cell holds text that is neither a number nor a missing-value token.

    Lets an optional column tell "given but garbage" (a bad row) from "not given" (use the default).
    ``values`` is the column's :func:`numeric` when the caller has it already (not parsed again).
    """
    if column is None:
        return np.zeros(len(frame), dtype=bool)
    col = first_column(frame, column)
    if no_numbers(col.dtype):  # a flag, a date: what its text in a CSV is (True, 2020-01-01), a blank one not given
        return col.notna().to_numpy(dtype=bool)
    if col.dtype.kind == "m":  # a duration outside a period's slots: no number (numeric's ``durations``)
        values = numeric(frame, column) if values is None else values
        return np.isnan(values) & col.notna().to_numpy(dtype=bool)
    if not (pd.api.types.is_object_dtype(col) or pd.api.types.is_string_dtype(col)
            or isinstance(col.dtype, pd.CategoricalDtype)):  # a category of a flag among text is no string dtype
        return np.zeros(len(frame), dtype=bool)
    if values is None:
        values = numeric(frame, column)
    out = np.isnan(values) & col.notna().to_numpy(dtype=bool)
    if out.any():  # only cells that are not numbers need their text looked at
        text = pd.Series(col.to_numpy(dtype=object)[out]).astype(str).str.strip().str.lower()
        out[out] = ~text.isin(NA_TOKENS).to_numpy(dtype=bool)
    return out


def bad_error(err: np.ndarray, zero_ok: bool = True, missing_ok: bool = True) -> np.ndarray:
    """Where an uncertainty is given but unusable: not a finite number >= 0 (> 0 without ``zero_ok``).

    NaN is "not given" (a default fills it), never bad, unless ``missing_ok`` is False. The one rule of every error
    column (periods, colours, reddenings, magnitudes): text in one is :func:`unparsed`'s.
    """
    err = np.asarray(err, dtype=float)
    usable = np.isfinite(err) & ((err > 0) | ((err == 0) & zero_ok))
    return ~usable if not missing_ok else ~np.isnan(err) & ~usable


def option_roles(options) -> dict[str, str] | None:
    """The ``roles`` of :func:`read_table` (a repeat of one refused) from (option, column) pairs, ``("--id", "KIC")``
    (a column None: not given); None when no option names a column."""
    return {f"{option} {name}": name for option, name in options if name} or None


def open_binary(source: str | Path) -> BinaryIO:
    """``source`` (a path, or '-' for stdin) opened for reading bytes, decompressed when its first bytes are gzip's magic
    (whatever its name says: a plain CSV named ``.gz`` is read as it is)."""
    if str(source) == "-":
        raw = sys.stdin.buffer
        if not hasattr(raw, "peek"):  # a test runner's BytesIO: peeking must not consume the magic
            raw = _io.BufferedReader(raw)
        return gzip.GzipFile(fileobj=raw, mode="rb") if raw.peek(2)[:2] == GZIP_MAGIC else raw
    path = require_input_file(source)
    try:
        return gzip.open(path, "rb") if is_gzip_file(path) else open(path, "rb")
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror or exc}") from None


def _open_text(source: str | Path) -> _io.TextIOBase:
    return _io.TextIOWrapper(open_binary(source), encoding="utf-8-sig", newline="")


def _sniff_csv(fh, source, roles: dict[str, str] | None = None) -> tuple[str, csv_layout.CsvLayout]:
    """(the head of an open CSV, how to read it); one-line errors for an empty input (exit 3 for an empty pipe).
    ``roles``: more columns a units row converts (:func:`read_chunks`)."""
    head, sep = csv_layout.read_head(fh, source)
    if not head and str(source) == "-" and _stdin_is_pipe():
        raise NothingPiped("input - is empty: nothing came through the pipe (did the command before it fail?)")
    if not head.strip():
        raise UserError(f"input {source} is empty (no header line)")
    layout = csv_layout.detect(head, source, sep, roles)
    if layout.commas:
        names = ", ".join(f"'{name}'" for _, name in layout.commas)
        which = "columns" if len(layout.commas) > 1 else "column"
        notices.say(f"gyroage: reading decimal commas (as in 7,0 for 7.0) in {which} {names}")
    return head, _with_unit_roles(layout, roles) if layout.units else layout


def _with_unit_roles(layout: csv_layout.CsvLayout, roles: dict[str, str] | None = None) -> csv_layout.CsvLayout:
    """``layout`` with the role of each column its units row gives a unit to; its units checked (a one-line
    :class:`UserError` for one that does not convert) and the conversions logged, once, before any row is read."""
    import dataclasses

    names = [name for name, _ in layout.units]
    found = {names.index(col): role for role, col in read_roles(names, roles).items()}  # e.g. --membership's too
    layout = dataclasses.replace(layout, roles=tuple(found.get(i, "") for i in range(len(names))))
    notes = layout.converted(pd.DataFrame(columns=names))[1]
    if notes:
        notices.say(f"gyroage: converted column {', '.join(notes)}")
    return layout


def csv_file_layout(path: str | Path, roles: dict[str, str] | None = None) -> csv_layout.CsvLayout:
    """How to read the CSV file ``path`` (the Dask engine's files), with :func:`read_chunks`' checks and errors
    (``roles`` as it takes them)."""
    with _open_text(path) as fh:
        try:
            return _sniff_csv(fh, path, roles)[1]
        except GZIP_ERRORS as exc:
            raise gzip_error(path, exc) from None


def _stdin_is_pipe() -> bool:
    try:
        mode = os.fstat(sys.stdin.fileno()).st_mode
    except (AttributeError, OSError, ValueError, _io.UnsupportedOperation):
        return False  # no file descriptor (a test runner's stand-in): report emptiness as usual
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)


def read_chunks(source: str | Path, chunksize: int = 50_000, fmt: str | None = None,
                roles: dict[str, str] | None = None, repeats: bool = False) -> Iterator[pd.DataFrame]:
    """Yield the input in chunks of rows, in order: CSV (any common delimiter; gzip-compressed or not), Parquet, or an
    astropy format.

    ``fmt`` (a :data:`gyroage.formats.FORMATS` name) overrides what the file's
    first bytes and suffix say (:func:`gyroage.formats.input_format`). CSV
    columns are read as text so nothing is lost or reinterpreted on the way
    through; numeric conversion happens per column when needed. FITS,
    VOTable, ECSV and whitespace-delimited ASCII are read whole by astropy,
    with the columns read converted from their units and masked cells missing
    (:func:`read_astropy`; ``roles``: more columns to convert, e.g. ``{"membership": name}``). There is always at
    least one chunk: a header-only input gives one empty chunk that still carries the columns. ``repeats``: a CSV
    header's repeated names in each chunk's ``attrs["gyroage_repeats"]`` (:func:`gyroage.read_stars`; not written
    out: Parquet keeps a frame's attrs).
    """
    from gyroage import formats

    kind = formats.input_format(source, fmt)
    if kind == "parquet":
        yield from parquet_input.read_parquet(source, chunksize, roles)
        return
    if kind != "csv":
        frame = read_astropy(source, kind, roles)
        for i in range(0, max(len(frame), 1), chunksize):
            yield frame.iloc[i : i + chunksize].reset_index(drop=True)
        return
    fh = _open_text(source)  # gzip-compressed or not: the text is the same
    with fh:
        try:
            head, layout = _sniff_csv(fh, source, roles)
            if str(source) == "-":
                stream = _Prefixed(head, fh)  # stdin cannot seek: replay the sniffed head, then stream the rest
            else:
                fh.seek(0)
                stream = fh
            reader = pd.read_csv(stream, chunksize=chunksize, **layout.read_options())
            repeats, done = layout.repeats if repeats else (), 0
            for chunk in csv_layout.strict_chunks(reader, source):
                chunk = layout.trim(chunk, source, done)
                if repeats:  # which X.N are pandas' renames (api_frames); other frames as ever
                    chunk.attrs["gyroage_repeats"] = repeats
                yield chunk
                done += len(chunk)
        except pd.errors.EmptyDataError:
            raise UserError(f"input {source} is empty (no header line)") from None
        except pd.errors.ParserError as exc:
            raise UserError(f"cannot parse {source}: {str(exc).splitlines()[0]}") from None
        except UnicodeDecodeError as exc:
            raise csv_layout.not_utf8(source, exc) from None
        except GZIP_ERRORS as exc:  # found where the damage is: the chunks before it were whole
            raise gzip_error(source, exc) from None


def read_table(source: str | Path, fmt: str | None = None, roles: dict[str, str] | None = None,
               repeats: bool = False) -> pd.DataFrame:
    """The whole input as one frame (:func:`read_chunks`, joined): for commands that need every row at once."""
    chunks = list(read_chunks(source, 200_000, fmt, roles, repeats))  # never empty: a header gives a chunk
    frame = pd.concat(chunks, ignore_index=True)
    frame.attrs = dict(chunks[0].attrs)  # a CSV header's repeats (read_chunks), whatever concat keeps
    return frame


class _Prefixed(_io.TextIOBase):
    """A read-only text stream: ``head`` first, then the rest of ``fh``, never all in memory."""

    def __init__(self, head: str, fh) -> None:
        self._head, self._fh = head, fh

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> str:
        if size is None or size < 0:
            out, self._head = self._head + self._fh.read(), ""
            return out
        if self._head:
            out, self._head = self._head[:size], self._head[size:]
            return out
        return self._fh.read(size)

    def readline(self, size: int | None = -1) -> str:
        if self._head:
            i = self._head.find("\n")
            if i >= 0 and (size is None or size < 0 or i < size):
                out, self._head = self._head[: i + 1], self._head[i + 1 :]
                return out
            out, self._head = self._head, ""
            return out + self._fh.readline()
        return self._fh.readline(size)

    def __iter__(self):
        return self

    def __next__(self) -> str:
        line = self.readline()
        if not line:
            raise StopIteration
        return line


def read_astropy(source: str | Path, fmt: str, roles: dict[str, str] | None = None) -> pd.DataFrame:
    """The whole of ``source`` read by astropy as ``fmt``, units honoured (:func:`gyroage.formats.convert_units`);
    ``roles`` (role -> a user-given column name, :data:`gyroage.formats.OPTION_KINDS`) are converted too."""
    from gyroage import formats

    return astropy_frame(formats.read_table(source, fmt, roles), roles, source)


def astropy_frame(table, roles: dict[str, str] | None, source) -> pd.DataFrame:
    """An astropy ``table`` (changed in place) as the DataFrame a file's readers give: mixin columns (Time, SkyCoord)
    as plain ones, units converted (``roles`` too, as :func:`read_astropy`); ``source`` names it in errors."""
    from gyroage import formats

    table = formats.plain_columns(table, source)  # a Time or SkyCoord has no dtype to convert or hand to pandas
    formats.convert_units(table, read_roles(table.colnames, roles))
    return formats.table_frame(table)
