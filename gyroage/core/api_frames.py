"""What :meth:`gyroage.AgeModel.estimate` does around :func:`gyroage.core.estimate.estimate_chunk`: the frame it
reads (a file read as ``gyroage estimate`` reads it, :func:`read_stars`; an astropy Table with its units), the warnings
the command line prints on stderr, and the rows that key mcmc draws; and the stars of the array methods
(:func:`array_stars`). Kept apart so that :mod:`gyroage.core.api` stays
short.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gyroage import io, notices
from gyroage.column_notes import no_term_note, unread_column_notes
from gyroage.columns import duplicate_notes, find_column, name_conversions
from gyroage.core.arguments import cells, warn_caller
from gyroage.core.estimate import EstimateSettings, narrow_prior_note
from gyroage.core.grid_fallback import grid_error_note
from gyroage.core.main_sequence import magnitude_use
from gyroage.core.priors import grid_step_note
from gyroage.core.stars import (
    ChunkCounts,
    StarArrays,
    check_stars,
    clipped_note,
    uninformative_note,
    unreddened_note,
)
from gyroage.errors import UserError

_COLUMNS = ("prot", "bp_rp0", "bp_rp0_err")  # canonical names, so check_stars needs no alias matching


def warn_column_notes(columns, magnitudes: bool, given: bool = False, no_term: str | None = None,
                      rows: pd.DataFrame | None = None) -> None:
    """Warn the caller what the command line says on stderr about a frame's ``columns`` (even with ``-q``, but for the
    duplicates): which of several columns of one quantity is read (the others' values are silently not used), a value
    changed on reading (``Prot [h]``), and with ``magnitudes`` how the magnitudes are read (an absolute G from a name
    without a 0, ``M_G``, read as de-reddened: :func:`gyroage.column_notes.magnitude_notes`), and an observed colour's
    error left unread beside a bp_rp0 (``given``: a reddening option), magnitudes a model without a main-sequence term
    leaves unread (``no_term``: the model, :func:`gyroage.core.main_sequence.magnitude_use`):
    :func:`unread_column_notes`, as stderr's (``rows``: the frame, whose colours tell a GSP-Phot reddening's use)."""
    names = list(columns)
    for line in [*duplicate_notes(names), name_conversions(names),
                 *unread_column_notes(names, magnitudes, given, no_term, rows)]:
        if line:
            warn_caller(f"gyroage: {line}")


def warn_grid_step(settings: EstimateSettings, narrow: list[tuple[int, float]] | None = None,
                   grid_error: int | None = None) -> None:
    """A UserWarning where the grid cannot resolve the prior (:func:`grid_step_note`; the command line says it on
    stderr); per-star widths as :func:`estimate_chunk`'s ``on_prior_widths`` gave them (``narrow``). Not for the
    sampler's chains, which are not on the grid; but for its stars that took the grid's posterior (grid_posterior),
    counted in ``narrow`` as the engines count them, and the ``grid_error`` of them with a period error the grid
    ignores (:class:`gyroage.core.stars.ChunkCounts`; :func:`gyroage.core.grid_fallback.grid_error_note`)."""
    if settings.prior.sigma_column is not None or settings.method == "mcmc":  # counted as the engines count them
        note = narrow_prior_note(settings, narrow) if narrow is not None else None
        if settings.method == "mcmc" and grid_error is not None:
            note = grid_error_note([grid_error], note, settings.sampler.n_walkers)
    else:
        note = grid_step_note(settings.prior, settings.n_grid) if settings.method == "grid" else None
    if note:
        warn_caller(f"gyroage: {note}")


def warn_unreddened(columns, counts: list[np.ndarray]) -> None:
    """A UserWarning of the rows with bp_rp, no usable reddening and a Teff (V-Ks0, B-V0) value, as
    :func:`estimate_chunk`'s ``on_unreddened`` counted them: the text the command line ends its run with on stderr
    (:func:`gyroage.core.stars.unreddened_note`)."""
    note = unreddened_note(io.require_columns(list(columns)), counts) if counts else None
    if note:
        warn_caller(f"gyroage: {note}")


def warn_run_end(settings: EstimateSettings, card, columns, narrow: list[tuple[int, float]],
                 unreddened: list[np.ndarray], counted: ChunkCounts) -> None:
    """The lines the command line ends an estimate run with on stderr, in its order, as UserWarnings: from what
    :func:`estimate_chunk` handed its ``on_prior_widths``, ``on_unreddened`` and ``on_counts`` (:func:`warn_grid_step`,
    :func:`warn_unreddened`, :func:`warn_clipped`, :func:`gyroage.core.stars.uninformative_note`)."""
    warn_grid_step(settings, narrow, counted.grid_error)
    warn_unreddened(columns, unreddened)
    warn_clipped(card, counted.clipped)
    note = uninformative_note(counted.uninformative)
    if note:
        warn_caller(f"gyroage: {note}")


def warn_no_term(arrays: dict[str, Any], density) -> None:
    """:meth:`gyroage.AgeModel.posterior`'s part of :func:`warn_column_notes`: its magnitude ``arrays`` given (not
    None) that ``density``'s model leaves unread for want of a main-sequence term (posterior always uses the card's
    term, as estimate by default)."""
    no_term = magnitude_use(density.card, True, density.onnx_path.parent)[1]
    note = no_term and no_term_note([k for k, v in arrays.items() if v is not None], no_term)
    if note:
        warn_caller(f"gyroage: {note}")


def warn_clipped(card, n: int) -> None:
    """A UserWarning of the ``n`` stars whose colour error was clipped to ``card``'s trained range: the line the
    command line ends its run with on stderr (:func:`gyroage.core.stars.clipped_note`)."""
    note = clipped_note(card, n)
    if note:
        warn_caller(f"gyroage: {note}")


def index_rows(index: pd.Index) -> np.ndarray | None:
    """``index`` as the rows keying mcmc draws when it holds whole numbers >= 0, all different; else None (by position:
    labels that are no row numbers, or shared by two stars, which would then share their draws; a nullable Int64
    index with a missing label, which has no row number to give)."""
    if not (pd.api.types.is_integer_dtype(index) and not index.hasnans and index.is_unique
            and (len(index) == 0 or 0 <= index.min() <= index.max() <= np.iinfo(np.int64).max)):
        return None
    return index.to_numpy(dtype=np.int64)


def _warned(read: Callable[[], pd.DataFrame]) -> pd.DataFrame:
    """``read()``, what it says on stderr given as UserWarnings instead (those said before an error too), given after
    the read (no lock held: reads on other threads go on; the readers' filter changes take turns themselves,
    :func:`gyroage.notices.quiet`)."""
    with notices.collected() as lines:
        try:
            return read()
        finally:
            for line in lines:
                warn_caller(line)


def read_stars(source: str | Path, fmt: str | None = None, membership: str | None = None) -> pd.DataFrame:
    """The stars of a table file as one DataFrame, read exactly as ``gyroage estimate`` reads it.

    Parameters
    ----------
    source : the file (any format ``estimate`` reads: CSV of any delimiter, gzip-compressed or not; Parquet; FITS,
        VOTable, ECSV, whitespace ASCII), or '-' for stdin; an in-memory buffer is a UserError.
    fmt : a format name overriding what the file says, as ``--input-format`` (any case; None or 'auto': from its
        bytes and suffix); one that is not a format is a UserError.
    membership : the column of membership probabilities, as ``group-age --membership`` reads it (its unit, a ``%``
        in a units row too, converted to a fraction): for :func:`gyroage.group_ages`.

    Returns
    -------
    Every row, in order, for :meth:`gyroage.AgeModel.estimate`: columns carrying a unit (FITS TUNIT, a CSV's units
    row, Parquet field units) converted to gyroage's (days, mag, mas, K; a ``membership`` in % to a fraction), a
    CSV's units row read as units (not as a star), masked cells missing, CSV cells as text (as estimate reads them).
    What the command line says on stderr while reading (a unit converted, decimal commas, which of several tables is
    read) comes as a ``UserWarning``; a file it refuses raises its one-line :class:`gyroage.errors.UserError`. A
    frame read otherwise (``pd.read_csv``, ``Table.read(...).to_pandas()``) must hold days, mag and Myr already.
    Threads may call it, each read giving its own warnings (only the readers' short changes to the process-wide
    warning filters take turns, never a whole read); so may a forked child, whatever the parent's threads were doing.
    """
    from gyroage import formats

    if not isinstance(source, (str, bytes, os.PathLike)):  # a buffer failed deep in the sniffing, in Python's words
        raise UserError(f"read_stars takes a path (str or Path, or '-' for stdin as gyroage estimate reads it), not "
                        f"{type(source).__name__}: write it to a file, or pass a frame to model.estimate(frame)")
    source = os.fsdecode(source) if isinstance(source, bytes) else source  # pathlib takes no bytes (V42)
    fmt = formats.check_format(fmt, "fmt")  # as --input-format: any case, 'auto', a bad name in one line
    roles = None if membership is None else {"membership": membership}  # as group-age passes them
    return _warned(lambda: io.read_table(source, fmt, roles, repeats=True))  # X.N: a repeat?


def _is_astropy_table(obj: Any) -> bool:
    """Whether ``obj`` is an astropy Table (QTable too), told without importing astropy."""
    return any(c.__module__.startswith("astropy.table") and c.__name__ == "Table" for c in type(obj).__mro__)


def refuse_repeated_columns(frame: pd.DataFrame, reads: Iterable[str | None]) -> None:
    """A one-line :class:`UserError` where a column read for an option (``reads``: the names as given, ``None`` for
    none; found as the command line finds them) is repeated: two labels X, or X with pandas' X.1 after it where the
    header repeated X (a CSV's repeated header as :func:`read_stars` reads it, which records the repeats in
    ``frame.attrs``). The first copy was read without a word, where the command line refuses the file (review V30, 2);
    a real ``X.1`` column, or a DataFrame's distinct labels, are no repeat (review V34, 2)."""
    names = [str(c) for c in frame.columns]
    mangled = set(frame.attrs.get("gyroage_repeats", ()))
    for name in reads:
        col = None if name is None else find_column(names, name)
        if col is not None:
            dot = re.compile(rf"{re.escape(col)}\.\d+") if col in mangled else None
            n = sum(c == col or (dot is not None and dot.fullmatch(c) is not None) for c in names[names.index(col):])
            if n > 1:
                raise UserError(f"the frame has {n} columns named '{col}': rename all but one (the first would be read)")


def star_frame(frame: Any, roles: dict[str, str] | None = None, caller: str = "estimate") -> pd.DataFrame:
    """What :meth:`gyroage.AgeModel.estimate` (or :func:`gyroage.group_ages`, ``caller``) reads: a DataFrame as it
    is; an astropy Table (or QTable) as :func:`read_stars` reads a FITS file, mixin columns (Time, SkyCoord) as plain
    ones and units converted (``roles``: more columns to convert, e.g. ``{"membership": name}``; a copy: the caller's
    table is left alone), the conversions as UserWarnings; anything else a TypeError naming :func:`read_stars`."""
    if isinstance(frame, pd.DataFrame):
        return frame
    if _is_astropy_table(frame):
        from astropy.table import Table

        # a copy (Quantity columns become Columns with their unit), converted in place as a file's table is
        return _warned(lambda: io.astropy_frame(Table(frame, copy=True), roles, "the table"))  # names all differ
    arrays = "posterior(prot, bp_rp0, ...)" if caller == "estimate" else "group_posterior(...)"
    raise TypeError(f"{caller} takes a pandas DataFrame of stars, not {type(frame).__name__} (or an astropy Table; "
                    f"a file: gyroage.read_stars(path); arrays: {arrays})")


def with_record(out: pd.DataFrame, columns, density, settings: EstimateSettings) -> pd.DataFrame:
    """``out`` with the record a typed output of ``gyroage estimate`` carries (:mod:`gyroage.provenance`: version,
    model and card SHA-256, settings, ``columns`` read) in ``out.attrs["gyroage"]``, less the command, engine and
    chunksize, which a call has not (it dates its frame as one chunk); a new attrs dict, so the caller's frame's attrs stay as they were."""
    from gyroage.provenance import KEY, estimate_provenance

    meta = estimate_provenance(density.card, density.onnx_path.parent, settings, io.require_columns(list(columns)),
                               engine=None)
    out.attrs = {**out.attrs, KEY: meta}
    return out


def array_stars(card, prot, bp_rp0, bp_rp0_err=None, *extra,
                colours: dict | None = None) -> tuple[StarArrays, tuple[int, ...], list[np.ndarray]]:
    """The stars of :meth:`gyroage.AgeModel.posterior` and :meth:`~gyroage.AgeModel.log_likelihood`'s arrays:
    broadcast, ravelled and validated against ``card`` exactly as ``gyroage estimate`` does.

    ``colours``: other colour inputs by canonical name (``bp_rp``, ``ebprp``, ``av``, ``teff``, ``v_ks0``, ``b_v0``
    and their ``_err``; see :mod:`gyroage.core.colours`), None values left out. ``extra``: arrays broadcast with the
    stars and returned so (an age per star).
    """
    given = {k: v for k, v in zip(_COLUMNS, (prot, bp_rp0, bp_rp0_err)) if v is not None}
    given.update({k: v for k, v in (colours or {}).items() if v is not None})
    arrays = np.broadcast_arrays(*(np.atleast_1d(cells(a, k)) for k, a in given.items()),
                                 *(np.atleast_1d(a) for a in extra))
    shape = arrays[0].shape
    frame = pd.DataFrame({name: a.reshape(-1) for name, a in zip(given, arrays)})
    return check_stars(frame, card, {k: k for k in frame.columns}), shape, arrays[len(given):]
