"""The local engine's sink without a sidecar (:mod:`gyroage.engines.sinks` has the resumable one): chunks go straight
to stdout, a device or FIFO, or a file fed from stdin, where nothing resumes."""

from __future__ import annotations

import shutil
import tempfile
from collections import Counter
from collections.abc import Collection
from pathlib import Path

import pandas as pd

from gyroage import writers
from gyroage.engines.sinks import write_posteriors
from gyroage.files import AtomicFile, is_special, output_path, temp_prefix
from gyroage.swaps import uninterrupted


class Stream:
    """Chunks straight into ``target`` through an :class:`writers.AtomicWriter`: stdout (``None`` or ``-``), a device
    or FIFO, or a file fed from stdin (no sidecar: nothing resumes). As :class:`Sidecar`, but ``done`` is ``None``.
    """

    def __init__(self, target: str | Path | None, posteriors: str | Path | None, fmt: str | None = None,
                 text_columns: bool = False) -> None:
        self.writer = writers.AtomicWriter(target, fmt, text_columns, lock=True)
        self.meta: dict[str, str] | None = None  # the run's record (gyroage.provenance), set by the engine
        # the chunks' folder beside -o when it is a file, else beside the --posteriors file, named as its temporaries
        # are: the next run into it removes one a killed run (SIGKILL, OOM) left (remove_stale, under its lock), as
        # none did in the system's temp folder; -o's first, so a rerun without --posteriors removes it too (V71 #7)
        where = output_path(posteriors) if posteriors is not None else None
        if where is not None and self.writer.target is not None and not is_special(out := output_path(target)):
            where = out
        self.post_dir = (Path(tempfile.mkdtemp(suffix=".part", prefix=temp_prefix(where), dir=where.parent))
                         if where is not None else None)
        self.post_parts: list[Path] = []
        self.finished = False  # -o (and --posteriors) in place: nothing of the run is left to stop

    def done(self, i: int, rows: int) -> None:
        return None

    def kept(self) -> int:
        return 0

    def earlier(self) -> int:
        return 0

    def add(self, i: int, frame: pd.DataFrame, counts: Counter, posteriors: pd.DataFrame | None = None,
            exact: Collection = (), notes: dict | None = None) -> None:
        if posteriors is not None and len(posteriors):  # an empty table has no list types for Parquet to agree on
            self.post_parts.append(self.post_dir / f"{i:07d}.parquet")
            posteriors.to_parquet(self.post_parts[-1], index=False)
        self.writer.meta = self.meta  # set from the first chunk's columns, before its add: a Parquet writer opens on it
        self.writer.write(frame, exact)

    def finish(self, n_chunks: int, posteriors: str | Path | None = None, ids: pd.DataFrame | None = None) -> None:
        """The posteriors written to their temporary file, then renamed in right after the table (review V69 #2: the
        table went in before the posteriors were written, so a stop in between left two runs' outputs)."""
        post = AtomicFile(posteriors) if posteriors is not None else None
        try:
            if post is not None:
                write_posteriors(self.post_parts, post.path, ids, self.meta)
            self.writer.commit([post] if post is not None else (), then=self._done)
        except BaseException as exc:  # an interrupt held over the renames is taken in once -o is in place (V69 #5)
            if not (self.finished and isinstance(exc, KeyboardInterrupt)):
                if post is not None:
                    post.abort()
                raise
        self._drop_posteriors()

    def _done(self) -> None:
        self.finished = True  # the output is in place: an interrupt now is not the run's (local._run_into)

    def abort(self) -> None:
        self.writer.abort()
        self._drop_posteriors()

    def _drop_posteriors(self) -> None:
        if self.post_dir is not None:  # a Ctrl-C must not leave it half-removed (the run is over either way)
            uninterrupted(lambda: shutil.rmtree(self.post_dir, ignore_errors=True))
