"""Where the local engine's finished chunks go: a resumable sidecar beside an output file, or a stream.

With a file target, every finished chunk is first written to a sidecar
directory beside it (``.<name>.resume/``) with a manifest holding the input's
fingerprint and a hash of the settings; the final output is assembled from
the chunks and renamed into place atomically. A killed run leaves the sidecar
behind, and a resumed run skips the chunks it already holds.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections import Counter
from pathlib import Path

import pandas as pd

from gyroage import io
from gyroage.errors import UserError
from gyroage.files import atomic_path, atomic_write_text, is_parquet

MANIFEST = "manifest.json"


def sidecar_dir(target: str | Path) -> Path:
    t = Path(target)
    return t.parent / f".{t.name}.resume"


class Sidecar:
    """Finished chunks of one run, each in its own file, and a manifest."""

    def __init__(self, target: Path, fingerprint: str, shash: str, resume: bool) -> None:
        io.prepare_target(target)
        self.target = target
        self.dir = sidecar_dir(target)
        self.ext = ".parquet" if is_parquet(target) else ".csv"
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
        atomic_write_text(self.dir / MANIFEST, json.dumps(self.manifest, sort_keys=True))

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
            with atomic_path(self.post_path(i)) as tmp:
                posteriors.to_parquet(tmp, index=False)
        with atomic_path(self.path(i)) as tmp:  # the chunk exists whole or not at all, and survives a crash
            if self.ext == ".parquet":
                frame.to_parquet(tmp, index=False)
            else:
                tmp.write_bytes(io.csv_text(frame).encode("utf-8"))
        self.manifest["chunks"][str(i)] = {"rows": len(frame), "counts": dict(counts)}
        self._write_manifest()

    def finish(self, n_chunks: int, posteriors: str | Path | None = None, ids: pd.DataFrame | None = None) -> None:
        """Concatenate the chunk files into the target (atomic rename), then drop the sidecar."""
        if posteriors is not None:
            _write_posteriors([p for i in range(n_chunks) if (p := self.post_path(i)).is_file()], Path(posteriors),
                              ids)
        if self.ext == ".parquet":
            _concat_parquet([self.path(i) for i in range(n_chunks)], self.target)
        else:
            with atomic_path(self.target) as tmp, open(tmp, "wb") as out:
                for i in range(n_chunks):
                    with open(self.path(i), "rb") as fh:
                        if i > 0:
                            fh.readline()  # the header, already written by chunk 0
                        shutil.copyfileobj(fh, out, 1 << 20)
        shutil.rmtree(self.dir, ignore_errors=True)

    def abort(self) -> None:
        if not self.manifest["chunks"]:  # nothing worth resuming: leave no trace
            shutil.rmtree(self.dir, ignore_errors=True)


class Stream:
    """Chunks straight into ``target`` (stdout for ``None`` or ``-``) through an :class:`io.AtomicWriter`.

    Same interface as :class:`Sidecar`; nothing to resume, so ``done`` is always ``None``.
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

    def finish(self, n_chunks: int, posteriors: str | Path | None = None, ids: pd.DataFrame | None = None) -> None:
        self.writer.commit()
        if posteriors is not None:
            _write_posteriors(self.post_parts, Path(posteriors), ids)
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

    with atomic_path(target) as tmp:
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


def _write_posteriors(parts: list[Path], target: Path, ids: pd.DataFrame | None = None) -> None:
    """All chunks' posterior tables into ``target``; an empty table (with the ``ids`` columns) when no star had one."""
    if parts:
        _concat_parquet(parts, target)
    else:
        from gyroage.core.posterior import write_empty_posteriors

        write_empty_posteriors(target, ids)
