"""Engines schedule ``estimate_chunk`` over a catalogue; they compute nothing themselves.

``run_local`` streams the input chunk by chunk (memory does not grow with the
catalogue). With a file target, every finished chunk is first written to a
sidecar directory beside it (``.<name>.resume/``) with a manifest holding the
input's fingerprint and a hash of the settings; the final output is assembled
from the chunks and renamed into place atomically. A killed run leaves the
sidecar behind, and ``resume=True`` skips the chunks it already holds.

``run_dask`` maps the same ``estimate_chunk`` over the partitions of a Dask
DataFrame (see :func:`run_dask`).
"""

from __future__ import annotations

import hashlib
import json
import os
import queue
import shutil
import tempfile
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, replace
from pathlib import Path

import pandas as pd

from gyroage import __version__, io
from gyroage.core.density import FlowDensity
from gyroage.core.estimate import EstimateSettings, estimate_chunk
from gyroage.errors import UserError
from gyroage.progress import Progress, counts_text

MANIFEST = "manifest.json"


def settings_hash(density: FlowDensity, settings: EstimateSettings, chunksize: int) -> str:
    """Everything that changes the rows written: settings, model files, chunking, version."""
    blob = json.dumps({"settings": asdict(settings), "model": density.card.files, "chunksize": int(chunksize),
                       "gyroage": __version__}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def scan_input(source: str | Path, fingerprint: bool = True) -> tuple[str | None, int | None]:
    """(SHA-256, data rows) of an input file in one read; rows for the ETA, ``None`` if unknown.

    CSV rows are newlines minus the header; Parquet rows come from its metadata.
    """
    p = Path(str(source))
    if str(source) == "-" or not p.is_file():
        return None, None
    parquet = p.suffix.lower() in (".parquet", ".pq")
    h = hashlib.sha256() if fingerprint else None
    n, last = 0, b"\n"
    if h is not None or not parquet:
        with open(p, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                if h is not None:
                    h.update(block)
                if not parquet:
                    n += block.count(b"\n")
                    last = block[-1:]
    rows = max(n - 1 + (last != b"\n"), 0)
    if parquet:
        import pyarrow.parquet as pq

        try:
            rows = pq.ParquetFile(p).metadata.num_rows
        except Exception:
            rows = None
    return (h.hexdigest() if h is not None else None), rows


def sidecar_dir(target: str | Path) -> Path:
    t = Path(target)
    return t.parent / f".{t.name}.resume"


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


class _Sidecar:
    """Finished chunks of one run, each in its own file, and a manifest."""

    def __init__(self, target: Path, fingerprint: str, shash: str, resume: bool) -> None:
        io.prepare_target(target)
        self.target = target
        self.dir = sidecar_dir(target)
        self.ext = ".parquet" if target.suffix.lower() in (".parquet", ".pq") else ".csv"
        self.manifest = {"fingerprint": fingerprint, "settings": shash, "chunks": {}}
        old = self._read()
        if resume and old is not None:
            if old.get("fingerprint") != fingerprint:
                raise UserError(f"cannot resume: the input differs from the interrupted run's (remove {self.dir} "
                                "or run without --resume)")
            if old.get("settings") != shash:
                raise UserError("cannot resume: settings, model or --chunksize differ from the interrupted run's "
                                "(run without --resume to start again)")
            self.manifest["chunks"] = {k: v for k, v in old.get("chunks", {}).items() if self.path(int(k)).is_file()}
        elif self.dir.exists():
            shutil.rmtree(self.dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self._write_manifest()

    def _read(self) -> dict | None:
        try:
            return json.loads((self.dir / MANIFEST).read_text())
        except (OSError, ValueError):
            return None

    def _write_manifest(self) -> None:
        tmp = self.dir / (MANIFEST + ".tmp")
        tmp.write_text(json.dumps(self.manifest, sort_keys=True))
        os.replace(tmp, self.dir / MANIFEST)

    def path(self, i: int) -> Path:
        return self.dir / f"chunk-{i:07d}{self.ext}"

    def post_path(self, i: int) -> Path:
        return self.dir / f"posteriors-{i:07d}.parquet"

    def done(self, i: int, rows: int) -> dict | None:
        """Status counts of chunk ``i`` if the interrupted run finished it (with ``rows`` rows)."""
        prev = self.manifest["chunks"].get(str(i))
        return prev["counts"] if prev is not None and prev["rows"] == rows else None

    def add(self, i: int, frame: pd.DataFrame, counts: Counter, posteriors: pd.DataFrame | None = None) -> None:
        if posteriors is not None and len(posteriors):  # written before the chunk, so a listed chunk has both
            posteriors.to_parquet(self.post_path(i), index=False)
        tmp = self.dir / f".chunk-{i:07d}.tmp"
        with open(tmp, "wb") as fh:  # one handle writes and syncs: a listed chunk survives a crash whole
            if self.ext == ".parquet":
                frame.to_parquet(fh, index=False)
            else:
                fh.write(io.csv_text(frame).encode("utf-8"))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path(i))  # the chunk exists whole or not at all
        self.manifest["chunks"][str(i)] = {"rows": len(frame), "counts": dict(counts)}
        self._write_manifest()

    def finish(self, n_chunks: int, posteriors: str | Path | None = None) -> None:
        """Concatenate the chunk files into the target (atomic rename), then drop the sidecar."""
        if posteriors is not None:
            _write_posteriors([p for i in range(n_chunks) if (p := self.post_path(i)).is_file()], Path(posteriors))
        if self.ext == ".parquet":
            _concat_parquet([self.path(i) for i in range(n_chunks)], self.target)
        else:
            tmp = self.target.parent / f".{self.target.name}.assembling"
            with open(tmp, "wb") as out:
                for i in range(n_chunks):
                    with open(self.path(i), "rb") as fh:
                        if i > 0:
                            fh.readline()  # the header, already written by chunk 0
                        shutil.copyfileobj(fh, out, 1 << 20)
            os.replace(tmp, self.target)
        shutil.rmtree(self.dir, ignore_errors=True)

    def abort(self) -> None:
        if not self.manifest["chunks"]:  # nothing worth resuming: leave no trace
            shutil.rmtree(self.dir, ignore_errors=True)


class _Stream:
    """Chunks straight into ``target`` (stdout for ``None`` or ``-``) through an :class:`io.AtomicWriter`.

    Same interface as :class:`_Sidecar`; nothing to resume, so ``done`` is always ``None``.
    """

    def __init__(self, target: str | Path | None, posteriors: str | Path | None) -> None:
        self.writer = io.AtomicWriter(target)
        self.post_dir = Path(tempfile.mkdtemp(prefix="gyroage-post-")) if posteriors is not None else None
        self.post_parts: list[Path] = []

    def done(self, i: int, rows: int) -> None:
        return None

    def add(self, i: int, frame: pd.DataFrame, counts: Counter, posteriors: pd.DataFrame | None = None) -> None:
        if posteriors is not None and len(posteriors):  # an empty table has no list types for Parquet to agree on
            self.post_parts.append(self.post_dir / f"{i:07d}.parquet")
            posteriors.to_parquet(self.post_parts[-1], index=False)
        self.writer.write(frame)

    def finish(self, n_chunks: int, posteriors: str | Path | None = None) -> None:
        self.writer.commit()
        if posteriors is not None:
            _write_posteriors(self.post_parts, Path(posteriors))
        self._drop_posteriors()

    def abort(self) -> None:
        self.writer.abort()
        self._drop_posteriors()

    def _drop_posteriors(self) -> None:
        if self.post_dir is not None:
            shutil.rmtree(self.post_dir, ignore_errors=True)


def _concat_parquet(parts: list[Path], target: Path) -> None:
    """Parquet files (at least one) into one, in order, renamed into place atomically."""
    import pyarrow.parquet as pq

    tmp = target.parent / f".{target.name}.assembling"
    writer = None
    try:
        for p in parts:
            table = pq.read_table(p)
            if writer is None:
                writer = pq.ParquetWriter(tmp, table.schema)
            writer.write_table(table.cast(writer.schema))
    finally:
        if writer is not None:
            writer.close()
    os.replace(tmp, target)


def _write_posteriors(parts: list[Path], target: Path) -> None:
    """All chunks' posterior tables into ``target``; an empty table when no star had one."""
    if parts:
        _concat_parquet(parts, target)
    else:
        from gyroage.core.posterior import write_empty_posteriors

        write_empty_posteriors(target)


def run_local(source: str | Path, target: str | Path | None, density: FlowDensity,
              settings: EstimateSettings, chunksize: int = 10_000, quiet: bool = False,
              resume: bool = False, total: int | None = None, posteriors: str | Path | None = None) -> Counter:
    """Stream ``source`` through ``estimate_chunk`` into ``target`` (atomic); returns status counts.

    ``resume`` continues a killed run into the same ``target`` (file input and
    output only); ``total`` (rows; counted from the input when not given) lets progress show an ETA;
    ``posteriors`` also writes per-star posteriors (Parquet, keyed by 0-based input row).
    """
    if posteriors is not None:
        if Path(posteriors).suffix.lower() not in (".parquet", ".pq"):
            raise UserError(f"--posteriors must be a .parquet file: {posteriors}")
        settings = replace(settings, keep_posteriors=True)
    to_file = target not in (None, "-")
    stdin = str(source) == "-"
    if resume and (not to_file or stdin):
        raise UserError("--resume needs a file input and an output file (-o)")
    if not stdin and not Path(source).is_file():  # before a sidecar is made for it
        raise UserError(f"input file not found: {source}")
    fingerprint = None
    if to_file or (total is None and not quiet):  # one read gives the sidecar's fingerprint and the ETA's rows
        fingerprint, rows = scan_input(source, fingerprint=to_file)
        total = rows if total is None else total
    if to_file:
        sink = _Sidecar(Path(target), fingerprint or "stdin", settings_hash(density, settings, chunksize), resume)
    else:
        sink = _Stream(target, posteriors)
    try:
        return _run(source, sink, density, settings, chunksize, quiet, total, posteriors)
    except BaseException:
        sink.abort()
        raise


def _run(source: str | Path, sink: _Sidecar | _Stream, density: FlowDensity, settings: EstimateSettings,
         chunksize: int, quiet: bool, total: int | None, posteriors: str | Path | None) -> Counter:
    """Every chunk of ``source`` not already ``sink.done`` through ``estimate_chunk`` into ``sink``."""
    columns: dict[str, str] | None = None
    counts: Counter = Counter()
    progress = Progress("estimate", total=total, unit="stars", quiet=quiet)
    n_chunks = offset = skipped = 0
    # read_chunks yields at least one chunk, empty for a header-only input: its output is the header.
    for i, chunk in enumerate(_prefetch(io.read_chunks(source, chunksize))):
        n_chunks, offset, rows = i + 1, offset + len(chunk), len(chunk)
        if columns is None:
            columns = io.require_columns(list(chunk.columns))
        prev = sink.done(i, rows)
        if prev is not None:
            counts.update(prev)
            skipped += rows
            if progress.total:  # rate and ETA are for the rows this run computes
                progress.total -= rows
            continue
        out = estimate_chunk(chunk, density, settings, columns)
        post = _take_posteriors(out, offset - rows) if posteriors is not None else None
        c = Counter(out["status"].tolist())
        sink.add(i, out, c, post)
        counts.update(c)
        progress.update(rows)
    sink.finish(n_chunks, posteriors)
    if skipped:
        progress.log(f"resumed: {skipped} rows taken from the interrupted run")
    progress.close(extra=counts_text(counts))
    return counts


def _take_posteriors(out: pd.DataFrame, offset: int) -> pd.DataFrame:
    """The per-star posterior table ``estimate_chunk`` attached, keyed by 0-based input row."""
    table = out.attrs.pop("posteriors")
    table["row"] += offset
    return table


# --------------------------------------------------------------------------- Dask


def _partition_task(frame: pd.DataFrame, spec: tuple, settings: EstimateSettings, columns: dict[str, str],
                    chunksize: int, path: str) -> tuple[int, dict]:
    """Worker side: estimate one partition in cache-sized chunks and write it as one Parquet file."""
    from gyroage.core.density import cached_density

    density = cached_density(*spec)  # one onnxruntime session per worker process, loaded on first use
    parts = [estimate_chunk(frame.iloc[i : i + chunksize], density, settings, columns)
             for i in range(0, max(len(frame), 1), chunksize)]
    out = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    tmp = f"{path}.tmp"
    out.to_parquet(tmp, index=False)
    os.replace(tmp, path)
    return len(out), dict(Counter(out["status"].tolist()))


def read_dask(source: str | list[str], blocksize: str | int | None = None, n_workers: int = 2):
    """A Dask DataFrame of the input (CSV read as text, like the local engine; or Parquet); globs allowed."""
    import dask.dataframe as dd

    paths = [source] if isinstance(source, (str, Path)) else list(source)
    paths = [str(p) for p in paths]
    if any(p == "-" for p in paths):
        raise UserError("the dask engine reads files, not stdin")
    if all(p.lower().endswith((".parquet", ".pq")) or Path(p).is_dir() for p in paths):
        return dd.read_parquet(paths if len(paths) > 1 else paths[0])
    import glob

    files = sorted(f for p in paths for f in (glob.glob(p) or [p]))
    for f in files:
        if not Path(f).is_file():
            raise UserError(f"input file not found: {f}")
    if blocksize is None:
        # Enough partitions to keep every worker busy, none over 16 MB of text (~300k rows).
        total = sum(Path(f).stat().st_size for f in files)
        blocksize = int(min(16 << 20, max(256 << 10, total // (4 * max(n_workers, 1)) + 1)))
    with open(files[0], encoding="utf-8-sig", newline="") as fh:
        sep = io.sniff_separator(fh.read(65536))
    return dd.read_csv(files, sep=sep, dtype=str, keep_default_na=False, skipinitialspace=True,
                       blocksize=blocksize, encoding="utf-8-sig")


def run_dask(source: str | list[str], target: str | Path, settings: EstimateSettings, model: str | Path | None = None,
             workers: int | None = None, scheduler: str | None = None, chunksize: int = 20_000,
             blocksize: str | int | None = None, quiet: bool = False, client=None) -> Counter:
    """``estimate`` on dask.distributed: partitions in, one Parquet file per partition out.

    ``target`` becomes a directory of ``part.NNNNN.parquet`` files, in input
    order (``pandas.read_parquet(target)`` reads them back as one table); it is
    assembled beside the target and renamed into place when every partition is
    done. Connects to ``scheduler`` (e.g. ``tcp://host:8786``, a
    dask-jobqueue or Kubernetes cluster) or starts a LocalCluster of
    ``workers`` single-threaded processes. Every worker loads its own
    onnxruntime session once (:func:`gyroage.core.density.cached_density`).
    """
    try:
        from dask import delayed
        from distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise UserError("the dask engine needs dask.distributed: pip install 'gyroage[dask]'") from None

    target = Path(target)
    if target.suffix.lower() not in (".parquet", ".pq"):
        raise UserError("the dask engine writes Parquet: give -o a name ending in .parquet (a directory)")
    own = None
    if client is None:
        if scheduler:
            try:
                client = Client(scheduler, timeout="20s")
            except OSError as exc:
                raise UserError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
        else:
            own = LocalCluster(n_workers=workers or 2, threads_per_worker=1, processes=True,
                               dashboard_address=None)
            client = Client(own)
    tmp = target.parent / f".{target.name}.dask-tmp"
    try:
        n_workers = max(1, len(client.scheduler_info().get("workers", {})))
        ddf = read_dask(source, blocksize, n_workers)
        columns = io.require_columns(list(ddf.columns))
        if ddf.npartitions < n_workers:  # e.g. one Parquet row group: split it so every worker has work
            ddf = ddf.repartition(npartitions=2 * n_workers)
        spec = (str(model) if model is not None else None, 1, 8192, True)
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir(parents=True)
        progress = Progress("estimate", unit="stars", quiet=quiet)
        counts: Counter = Counter()
        try:
            task = delayed(_partition_task, pure=True)
            jobs = [task(p, spec, settings, columns, chunksize, str(tmp / f"part.{i:05d}.parquet"))
                    for i, p in enumerate(ddf.to_delayed())]
            progress.log(f"{len(jobs)} partitions on {n_workers} workers")
            for fut in as_completed(client.compute(jobs)):
                rows, c = fut.result()
                counts.update(c)
                progress.update(rows)
            if target.exists():
                shutil.rmtree(target) if target.is_dir() else target.unlink()
            os.replace(tmp, target)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    finally:
        if own is not None:  # a cluster we started; a caller's client stays open
            client.close()
            own.close()
    progress.close(extra=counts_text(counts))
    return counts
