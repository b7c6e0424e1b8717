"""Engines schedule ``estimate_chunk`` over a catalogue; they compute nothing themselves."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pandas as pd

from gyroage import io
from gyroage.density import FlowDensity
from gyroage.estimate import EstimateSettings, attach, estimate_chunk
from gyroage.posterior import SUMMARY_COLUMNS
from gyroage.progress import Progress


def run_local(source: str | Path, target: str | Path | None, density: FlowDensity,
              settings: EstimateSettings, chunksize: int = 20_000, quiet: bool = False) -> Counter:
    """Stream ``source`` through ``estimate_chunk`` into ``target`` (atomic); returns status counts."""
    columns: dict[str, str] | None = None
    counts: Counter = Counter()
    writer = io.AtomicWriter(target)
    progress = Progress("estimate", unit="stars", quiet=quiet)
    try:
        wrote = False
        for chunk in io.read_chunks(source, chunksize):
            if columns is None:
                columns = io.require_columns(list(chunk.columns))
            out = estimate_chunk(chunk, density, settings, columns)
            writer.write(out)
            wrote = True
            counts.update(out["status"].tolist())
            progress.update(len(chunk))
        if not wrote:  # header-only input: still write the header with the result columns
            header = io.read_header(source)
            columns = io.require_columns(header)
            empty = pd.DataFrame({c: pd.Series(dtype=str) for c in header})
            writer.write(attach(empty, {c: [] for c in SUMMARY_COLUMNS}, []))
        writer.commit()
    except BaseException:
        writer.abort()
        raise
    progress.close(extra=", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    return counts
