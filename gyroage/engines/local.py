"""The local engine: stream a catalogue through ``estimate_chunk``, chunk by chunk, into one output.

Memory does not grow with the catalogue; with a file target the run is
resumable (:mod:`gyroage.engines.sinks`). The engine computes nothing itself.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import queue
import sys
import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd

from gyroage import __version__, csv_layout, io
from gyroage.core.colours import say_input_notes
from gyroage.core.density import FlowDensity, as_density
from gyroage.core.estimate import (
    EstimateSettings,
    estimate_chunk,
    estimate_with_posteriors,
    narrow_prior_note,
    narrow_prior_rows,
)
from gyroage.core.grid_fallback import grid_error_note
from gyroage.core.main_sequence import magnitude_use
from gyroage.core.posterior import posterior_ids
from gyroage.core.stars import ChunkCounts, check_input_columns, clipped_note, uninformative_note, unreddened_note
from gyroage.defaults import CHUNK_ROWS
from gyroage.engines.manifest import kept_unreddened
from gyroage.engines.sinks import CHUNK_FORMAT, Sidecar, earlier_rows, sidecar_dir
from gyroage.engines.stream import Stream
from gyroage.errors import NOT_WRITABLE, UserError
from gyroage.files import TEMP_MARKER, TargetLock, is_parquet, is_special
from gyroage.formats import input_format, output_format
from gyroage.progress import Progress, counts_text
from gyroage.provenance import estimate_provenance
from gyroage.writers import check_outputs, locked_target, remove_made

__all__ = ["run_local", "scan_input", "settings_hash", "sidecar_dir"]


def settings_hash(density: FlowDensity, settings: EstimateSettings, chunksize: int, posteriors: bool = False,
                  ids: Sequence[str] | None = None) -> str:
    """Everything that changes what a run writes: settings, model (files and card), chunking, posteriors kept,
    version."""
    blob = json.dumps(settings_record(density, settings, chunksize, posteriors, ids), sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def settings_record(density: FlowDensity, settings: EstimateSettings, chunksize: int, posteriors: bool = False,
                    ids: Sequence[str] | None = None) -> dict:
    """What :func:`settings_hash` hashes; kept in the sidecar's manifest, so a refused --resume names what changed."""
    kept = {"keep_posteriors": bool(posteriors)}
    if posteriors:  # the posteriors' id columns (None: found by name)
        kept["posterior_ids"] = None if ids is None else list(ids)
    used = asdict(settings)
    if settings.method == "grid":  # the grid draws nothing: its rows do not depend on the seed or the sampler
        del used["seed"], used["sampler"]
    else:  # worker processes share out the blocks, each star's stream keyed by the seed and its input row: no bit of
        # a row depends on their number
        del used["sampler"]["processes"]
    return {"settings": {**used, **kept},
            # the whole card, not only its files' SHA-256: a calibration refitted into the card
            # (validate --fit-calibration --write-card) leaves the ONNX files as they were
            "model": density.card.files, "card": density.card.to_dict(), "chunksize": int(chunksize),
            "gyroage": __version__, "chunk_format": CHUNK_FORMAT}


def scan_input(source: str | Path, fingerprint: bool = True, fmt: str | None = None) -> tuple[str | None, int | None]:
    """(SHA-256, data rows) of an input file in one read; rows for the ETA, ``None`` if unknown.

    CSV rows are newlines minus the header: of the decompressed text for a gzip-compressed CSV (its SHA-256 is
    of the file as stored), so a damaged one is a one-line error here, before any row is computed. Parquet rows
    come from its metadata; other formats (``fmt``, as :func:`gyroage.formats.input_format` gives it) are not counted.
    """
    p = Path(str(source))
    if str(source) == "-" or not p.is_file():
        return None, None
    fmt = input_format(p, fmt)
    csv = fmt == "csv"
    h = hashlib.sha256() if fingerprint else None
    n, n_cr, last, first = 0, 0, b"\n", b""
    breaks = _RowBreaks()  # the same count, less the line breaks inside quoted fields
    if h is not None or csv:
        with open(p, "rb") as raw:
            gz = csv and raw.peek(2)[:2] == io.GZIP_MAGIC  # as io.open_binary tells it
            fh = gzip.GzipFile(fileobj=_Hashed(raw, h), mode="rb") if gz else _Hashed(raw, h)
            try:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    if csv:
                        if not first:  # the delimiter tells where a quoted field may open
                            first = block[:65536]
                            breaks.set_sep(csv_layout.sniff_separator(first.decode("utf-8-sig", errors="replace")))
                        n += block.count(b"\n")
                        n_cr += block.count(b"\r")
                        breaks.add(block)
                        last = block[-1:]
            except io.GZIP_ERRORS as exc:
                raise io.gzip_error(source, exc) from None
            rest = _Hashed(raw, h)
            for _ in iter(lambda: rest.read(1 << 20), b""):  # whatever gzip left unread is fingerprinted too
                pass
    breaks.end()
    if csv and not breaks.inside:  # quotes balanced: a quoted field's line breaks end no row (pandas reads them so)
        n, n_cr = breaks.lf, breaks.cr
    if csv and n == 0 and n_cr:  # an old Mac file: its lines end in CR alone
        n, last = n_cr, (b"\n" if last == b"\r" else last)
    if first:  # comment lines before the header, and units and dashes rows under it, are no rows
        text = first.decode("utf-8-sig", errors="replace")
        n -= csv_layout.header_start(text)[0] + csv_layout.lines_under_header(text)
    rows = max(n - 1 + (last != b"\n"), 0) if csv else None
    if fmt == "parquet":
        import pyarrow.parquet as pq

        try:
            rows = pq.ParquetFile(p).metadata.num_rows
        except Exception:
            rows = None
    return (h.hexdigest() if h is not None else None), rows


class _RowBreaks:
    """Line breaks (LF, and CR) outside double-quoted fields, block by block: a CSV field in quotes may hold line
    breaks (a note over two lines), which end no row. ``inside``: whether the bytes so far end inside quotes (at the
    end of a file, quotes that do not pair up: then the plain count is kept).

    As pandas reads it, a quote opens a quoted field only at a field's start (after the delimiter, spaces skipped,
    or at a line's start); elsewhere (``seeing 2" poor``) it is a character. Inside, ``""`` is a quote and a lone
    ``"`` closes the field. Each run of quotes then leaves the state as it was (even length), flips it (odd, at a
    field's start) or ends outside (odd, elsewhere), so the state at every line break is a cumulative count, not a
    loop over the bytes. ``sep``: the delimiter (``None``: any of , ; tab |). Call :meth:`end` after the last block.
    """

    def __init__(self, sep: str | None = None) -> None:
        self.lf = self.cr = 0
        self.inside = False
        self.at_start = True  # whether a quote here would open a field: after a delimiter or line break, or at BOF
        self.held = b""  # a run of quotes at a block's end, which may go on in the next block
        self.first = True
        self.set_sep(sep)

    def set_sep(self, sep: str | None) -> None:
        """Take ``sep`` as the delimiter (before the block its first line ends in)."""
        self.starts = np.frombuffer((sep or ",;\t|").encode() + b"\n\r", np.uint8)

    def add(self, block: bytes, last: bool = False) -> None:
        """Count ``block``, the next bytes of the file (``last``: its end, so no run of quotes is held back)."""
        if self.first and block:
            self.first = False
            block = block.removeprefix(b"\xef\xbb\xbf")  # a BOM: the first field starts after it, as pandas reads it
        if self.held:
            block, self.held = self.held + block, b""
        if not self.inside and b'"' not in block:  # most files: no quotes, the plain count (fast)
            self.lf += block.count(b"\n")
            self.cr += block.count(b"\r")
            self._last_start(block)
            return
        kept = block if last else block.rstrip(b'"')
        self.held = block[len(kept):]  # a run's length decides what it does: wait for its end
        if not kept:
            return
        a = np.frombuffer(kept, np.uint8)
        quote = a == ord('"')
        runs = np.flatnonzero(quote & ~np.concatenate(([False], quote[:-1])))  # first quote of each run
        ends = np.flatnonzero(quote & ~np.concatenate((quote[1:], [False])))  # and its last
        odd = ((ends - runs) & 1) == 0
        # the byte before each run, spaces skipped (skipinitialspace): a delimiter or line break opens a field
        before = runs - 1
        spaced = a[np.maximum(before, 0)] == ord(" ")
        spaced &= before >= 0
        if spaced.any():  # only then the last byte that is not a space (few files)
            solid = np.flatnonzero(a != ord(" "))
            at = np.searchsorted(solid, runs[spaced]) - 1
            before[spaced] = np.where(at >= 0, solid[np.maximum(at, 0)], -1)
        opens = np.where(before < 0, self.at_start, np.isin(a[np.maximum(before, 0)], self.starts))
        flips, ends_out = opens & odd, ~opens & odd
        n = np.arange(runs.size)
        reset = np.maximum.accumulate(np.where(ends_out, n, -1))  # the last run that ended outside, up to each
        flipped = np.cumsum(flips)
        state = np.where(reset >= 0, flipped - flipped[np.maximum(reset, 0)], flipped + self.inside) & 1
        state = np.concatenate(([self.inside], state.astype(bool)))
        for byte in (b"\n", b"\r"):
            at = np.flatnonzero(a == ord(byte))
            outside = int(np.count_nonzero(~state[np.searchsorted(ends, at)]))
            if byte == b"\n":
                self.lf += outside
            else:
                self.cr += outside
        self.inside = bool(state[-1])
        self._last_start(kept)

    def _last_start(self, block: bytes) -> None:
        text = block.rstrip(b" ")
        if text:
            self.at_start = text[-1] in self.starts

    def end(self) -> None:
        """The file's end: a run of quotes held back from the last block is read."""
        if self.held:
            self.add(b"", last=True)


class _Hashed:
    """A binary file whose bytes also go into ``h`` (when not ``None``) as they are read."""

    def __init__(self, fh, h) -> None:
        self.fh, self.h = fh, h

    def read(self, size: int = -1) -> bytes:
        data = self.fh.read(size)
        if self.h is not None:
            self.h.update(data)
        return data


def _prefetch(chunks: Iterator[pd.DataFrame], depth: int = 1) -> Iterator[pd.DataFrame]:
    """Parse the next chunk on a thread while the current one is computed."""
    q: queue.Queue = queue.Queue(maxsize=depth)
    done = object()
    stop = threading.Event()

    def work() -> None:
        try:
            for c in chunks:
                if stop.is_set():
                    return
                q.put(c)
            q.put(done)
        except BaseException as exc:  # re-raised in the consumer
            q.put(exc)

    t = threading.Thread(target=work, daemon=True, name="gyroage-reader")
    t.start()
    try:
        while True:
            item = q.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while t.is_alive():  # unblock a reader waiting on a full queue
            try:
                q.get_nowait()
            except queue.Empty:
                t.join(0.05)


def run_local(source: str | Path, target: str | Path | None, density: FlowDensity,
              settings: EstimateSettings, chunksize: int = CHUNK_ROWS, quiet: bool = False,
              resume: bool = False, total: int | None = None, posteriors: str | Path | None = None,
              ids: Sequence[str] | None = None, input_fmt: str | None = None,
              output_fmt: str | None = None, command: str | None = None) -> Counter:
    """Stream ``source`` through ``estimate_chunk`` into ``target`` (atomic); returns status counts.

    ``resume`` continues a killed run into the same ``target`` (file input and
    output only); ``total`` (rows; counted from the input when not given) lets progress show an ETA;
    ``posteriors`` also writes per-star posteriors (Parquet, keyed by 0-based input row and carrying
    the input's ``ids`` columns, or those with an id-like name when ``None``: :func:`gyroage.io.id_columns`).
    ``input_fmt`` and ``output_fmt`` (:data:`gyroage.formats.FORMATS` names) override the formats
    the files' contents and suffixes give. ``density``: a :class:`FlowDensity`, or an :class:`~gyroage.AgeModel`.
    ``quiet``: as ``--quiet``, no progress and no line naming the columns read; a value converted on reading (a
    ``Prot [h]`` name, a units row) is still said on stderr, as ``-q`` says it.
    ``command``: the command line, for the record every typed output carries (:mod:`gyroage.provenance`).
    """
    density = as_density(density)
    made: list[Path] = []
    held: TargetLock | None = None
    if posteriors is not None:
        if not is_parquet(posteriors):
            raise UserError(f"--posteriors must be a .parquet file: {posteriors}")
        # now, not after every star is computed; locked as -o is: another run's pdfs must not replace these beside
        # this run's table
        made, held = locked_target(Path(posteriors))
    elif ids is not None:
        raise UserError("--id names the id columns of the --posteriors file: add --posteriors PATH.parquet")
    try:
        try:
            return _run_into(source, target, density, settings, chunksize, quiet, resume, total, posteriors, ids,
                             input_fmt, output_fmt, command)
        finally:
            if held is not None:  # once, and before remove_made: its lock file is in the folders
                held.release()
    except BaseException:  # the folders made for --posteriors go too (a typo'd path leaves nothing), if still empty
        remove_made(made)
        raise


def _run_into(source: str | Path, target: str | Path | None, density: FlowDensity, settings: EstimateSettings,
              chunksize: int, quiet: bool, resume: bool, total: int | None, posteriors: str | Path | None,
              ids: Sequence[str] | None, input_fmt: str | None, output_fmt: str | None,
              command: str | None = None) -> Counter:
    """:func:`run_local` once ``posteriors`` has its folder: the output's sink (a sidecar or a stream), then the run."""
    # a device or FIFO (-o /dev/null) is streamed into like stdout: no sidecar beside it, nothing to resume
    to_file = target not in (None, "-") and not is_special(target)
    check_outputs(source, target, posteriors)
    stdin = str(source) == "-"
    if resume and stdin:  # process substitution too (the command line reads a pipe as stdin), -o or not
        raise UserError("--resume needs an input file: it cannot resume from stdin or a pipe")
    if resume and not to_file:
        where = "stdout" if target in (None, "-") else f"{target}, a device or FIFO,"
        raise UserError(f"--resume needs an output file (-o): {where} cannot be resumed into")
    if not stdin:  # before a sidecar is made for it
        io.require_input_file(source)
    out_fmt = output_format(target, output_fmt)  # a format stdout cannot take fails before any work
    fmt = input_format(source, input_fmt)
    # stdin cannot be resumed (nothing to check a rerun's input against): a sidecar would only be left behind
    resumable = to_file and not stdin
    fingerprint = None
    try:
        # one read gives the sidecar's fingerprint, the ETA's rows, and checks a gzip file whole before any star is computed
        if resumable or (total is None and not quiet) or (not stdin and fmt == "csv" and io.is_gzip_file(source)):
            fingerprint, rows = scan_input(source, fingerprint=resumable, fmt=fmt)
            total = rows if total is None else total
        if resumable:
            shash = settings_hash(density, settings, chunksize, posteriors is not None, ids)
            existed = Path(target).exists()
            sink = Sidecar(Path(target), fingerprint or "", shash, resume, output_fmt, text_columns=fmt == "csv",
                           settings=settings_record(density, settings, chunksize, posteriors is not None, ids))
            if resume and not sink.manifest["chunks"] and not sink.rejected:  # rejected ones: said already
                _nothing_to_resume(target, existed)
        else:
            sink = Stream(target, posteriors, output_fmt, text_columns=fmt == "csv")
    except KeyboardInterrupt as exc:  # before the sidecar is open (the input's scan: seconds for a large one)
        if to_file and not exc.args and (n := earlier_rows(target)):  # an earlier run's rows stay as they are
            exc.args = (f"interrupted: an earlier run's {n} finished rows of {target} are kept for --resume",)
        raise
    try:
        return _run(source, sink, density, settings, chunksize, quiet, total, posteriors, ids, fmt, out_fmt, command)
    except BrokenPipeError:
        sink.abort()
        if posteriors is None:  # the reader stopped early (`| head`): as quiet as any Unix filter
            raise
        # the posteriors need every row; a file the user asked for must not go missing without a word
        raise UserError(f"the output closed before the table was written (broken pipe): --posteriors {posteriors} "
                        "not written") from None
    except KeyboardInterrupt as exc:
        if sink.finished:  # the outputs in place a moment before (_run takes in a stop after that): finished
            return Counter()
        sink.abort()
        kept, earlier = sink.kept(), sink.earlier()
        if kept and not exc.args:  # the CLI's one line (gyroage.cli.user_errors) says what the rerun takes over
            exc.args = (f"interrupted: {kept} rows of {target} kept; run the same command with --resume to "
                        "continue",)
        elif earlier and not exc.args:  # stopped before its first chunk replaced an earlier run's: those stay
            differs, made_by = getattr(sink, "earlier_differs", None), getattr(sink, "earlier_made_by", None)
            how = ("run the same command with --resume to continue" if differs is None else
                   f"only that run's own command takes them with --resume ({differs} in this one)")
            exc.args = (f"interrupted: the earlier run of {target} was made by {made_by} gyroage: its {earlier} "
                        "finished rows cannot be resumed" if made_by else
                        f"interrupted: the earlier run's {earlier} finished rows of {target} are kept; {how}",)
        raise
    except OSError as exc:  # the table's temporary file refused in a folder made read-only since the start: one line
        sink.abort()
        # one of our temporaries (an input made unreadable is another matter, and keeps its traceback)
        if not isinstance(sink, Sidecar) or exc.errno not in NOT_WRITABLE or TEMP_MARKER not in str(exc.filename):
            raise
        raise sink.unwritable(exc, f"all {sink.kept()} rows are") from None
    except BaseException:
        sink.abort()
        raise


def _nothing_to_resume(target: str | Path, existed: bool) -> None:
    """Say, even under ``-q``, that ``--resume`` found no finished chunk and every row is computed again.

    A finished run drops its sidecar, so its output carries no fingerprint of the input and settings: skipping it
    could keep a stale table. Recomputing is correct, and the output is replaced atomically as on any run.
    """
    why = (f"{target} exists but a finished run keeps no resume state" if existed
           else f"no interrupted run of {target} left finished chunks")
    print(f"gyroage: --resume: nothing to resume ({why}): computing every row", file=sys.stderr, flush=True)


def _run(source: str | Path, sink: Sidecar | Stream, density: FlowDensity, settings: EstimateSettings,
         chunksize: int, quiet: bool, total: int | None, posteriors: str | Path | None,
         ids: Sequence[str] | None = None, fmt: str | None = None, out_fmt: str = "csv",
         command: str | None = None) -> Counter:
    """Every chunk of ``source`` not already ``sink.done`` through ``estimate_chunk`` into ``sink`` (written as
    ``out_fmt``, with the run's :mod:`gyroage.provenance`)."""
    columns: dict[str, str] | None = None
    counts: Counter = Counter()
    progress = Progress("estimate", total=total, unit="stars", quiet=quiet)
    sampled = _BlockProgress(progress)
    n_chunks = offset = 0
    id_cols: list[str] = []
    id_template = None
    narrow: list[tuple[int, float]] = []  # per-star prior widths the grid cannot resolve, said once at the end
    unreddened: list[np.ndarray] = []  # per chunk, rows with bp_rp, no usable reddening and a Teff (v_ks0, b_v0) value
    # per chunk, its stars whose colour error was clipped to the trained range (flagged), and under mcmc its rows with
    # a period error that took the grid's posterior (V38): each said once at the end, summed
    counted: list[ChunkCounts] = []
    if sink.kept():  # said before progress starts: the count it starts from is explained
        progress.log(f"resumed: {sink.kept()} rows taken from the interrupted run")
    # read_chunks yields at least one chunk, empty for a header-only input: its output is the header.
    # a file's repeat of a column an option names is refused as read (review V29: the prior's columns too), and so
    # is one of the id-like columns --posteriors reads without --id (a TAP join's two source_id), as --id's
    options = settings.prior.options()
    id_options = [("--id", n) for n in ids or ()]
    default_ids = [("--posteriors id", n) for n in io.ID_NAMES] if posteriors is not None and ids is None else []
    named = io.option_roles(options + id_options + default_ids)
    for i, chunk in enumerate(_prefetch(io.read_chunks(source, chunksize, fmt, named))):
        n_chunks, offset, rows = i + 1, offset + len(chunk), len(chunk)
        if columns is None:
            # a refusal is the run's one line: checked before the notes
            columns = check_input_columns(chunk.columns, settings.reddening, settings.require_magnitudes)
            # before the first chunk is added: a Parquet file's metadata is fixed when its writer opens
            sink.meta = estimate_provenance(density.card, density.onnx_path.parent, settings, columns, command,
                                            chunksize)
            if posteriors is not None:
                id_cols = io.id_columns(chunk.columns, ids)
                id_template = posterior_ids(chunk, id_cols, [])  # the id columns' types, for an empty file
            magnitudes, no_term = magnitude_use(density.card, settings.main_sequence, density.onnx_path.parent)
            say_input_notes(chunk, settings.reddening, magnitudes, None if progress.quiet else progress.log,
                            options + (id_options if posteriors is not None else []), no_term=no_term)
        prev = sink.done(i, rows)
        if prev is not None:  # a chunk dated by the interrupted run: its notes' counts worked out here or kept
            # under mcmc the count is of the chains that fell back, kept in the manifest (review V34, 1)
            # [stars, smallest width, with a period error] (sink.add below), None when all are 0; a width of null:
            # inf (files.json_text), a prior of no width; its clipped colour errors and unreddened rows likewise
            # (absent: none), so a chunk not dated again has no colours worked out again
            k, width, n_err = prev.get("narrow") or (0, None, 0)
            narrow.append(narrow_prior_rows(chunk, settings) if settings.method != "mcmc"
                          else (int(k), float("inf") if width is None else float(width)))
            unreddened.append(np.asarray(kept_unreddened(prev), dtype=int))
            counts.update(prev["counts"])
            counted.append(ChunkCounts(prev.get("clipped", 0), int(n_err), prev.get("uninformative", 0)))
            progress.skip(rows)  # shown as done, so the count reaches the total; rate and ETA are of computed rows
            continue
        before = len(narrow)
        if posteriors is None:
            out, post = estimate_chunk(chunk, density, settings, columns, on_block=sampled.update,
                                       first_row=offset - rows, on_prior_widths=narrow.append,
                                       on_unreddened=unreddened.append, on_counts=counted.append), None
        else:
            out, post = estimate_with_posteriors(chunk, density, settings, columns, id_cols, on_block=sampled.update,
                                                 first_row=offset - rows, on_prior_widths=narrow.append,
                                                 on_unreddened=unreddened.append, on_counts=counted.append)
        made = counted[-1]
        out = io.case_blind_clashes(out, chunk.shape[1], out_fmt)  # FITS, VOTable: Status beside status
        c = Counter(out["status"].tolist())
        # attach() keeps the input's columns first: from a typed input they keep every digit (CSV input is text)
        fell = [(k, w) for k, w in narrow[before:] if k] if settings.method == "mcmc" else []
        narrowed = [sum(k for k, _ in fell), min((w for _, w in fell), default=None), made.grid_error]
        sink.add(i, out, c, post, exact=() if fmt == "csv" else out.columns[:chunk.shape[1]],
                 notes={**({"narrow": narrowed} if fell or made.grid_error else {}),
                        **({"clipped": made.clipped} if made.clipped else {}),
                        **({"uninformative": made.uninformative} if made.uninformative else {}),
                        **({"unreddened": unreddened[-1].tolist()} if unreddened[-1].any() else {})})
        counts.update(c)
        progress.update(rows - sampled.take())  # the rows the sampler's blocks have not counted yet
    try:
        sink.finish(n_chunks, posteriors, id_template)
        for note in (grid_error_note([c.grid_error for c in counted], narrow_prior_note(settings, narrow),
                                     settings.sampler.n_walkers),
                     unreddened_note(columns or {}, unreddened),
                     clipped_note(density.card, sum(c.clipped for c in counted)),
                     uninformative_note(sum(c.uninformative for c in counted))):
            if note:  # any other note was said at the start
                progress.log(note)
        progress.close(extra=counts_text(counts))
    except KeyboardInterrupt:  # (and SIGTERM) once -o and --posteriors are in place the run has succeeded (V71 #6):
        if not sink.finished:  # its closing notes are cut short, no more
            raise
    return counts


class _BlockProgress:
    """Counts the stars of the sampler's finished blocks into ``progress`` as they finish (``--method mcmc``).

    A chunk of many thousand stars takes minutes to sample; this way progress moves within it.
    """

    def __init__(self, progress: Progress) -> None:
        self.progress, self.counted = progress, 0

    def update(self, n_stars: int) -> None:
        self.counted += n_stars
        self.progress.update(n_stars)

    def take(self) -> int:
        """Stars counted since the last call (the chunk's), and start again from zero."""
        n, self.counted = self.counted, 0
        return n
