"""Engines schedule ``estimate_chunk`` over a catalogue; they compute nothing themselves."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pandas as pd

from gyroage import io
from gyroage.density import FlowDensity
from gyroage.errors import UserError
from gyroage.estimate import EstimateSettings, attach, estimate_chunk
from gyroage.posterior import SUMMARY_COLUMNS
from gyroage.progress import Progress


def run_local(source: str | Path, target: str | Path | None, density: FlowDensity,
              settings: EstimateSettings, chunksize: int = 20_000, quiet: bool = False,
              posteriors: str | Path | None = None) -> Counter:
    """Stream ``source`` through ``estimate_chunk`` into ``target`` (atomic); returns status counts.

    ``posteriors``: also write per-star posteriors (Parquet, keyed by 0-based input row).
    """
    columns: dict[str, str] | None = None
    counts: Counter = Counter()
    writer = io.AtomicWriter(target)
    post_writer = _posterior_writer(posteriors)
    if post_writer is not None:
        from dataclasses import replace

        settings = replace(settings, keep_posteriors=True)
    offset = 0
    wrote_post = False
    progress = Progress("estimate", unit="stars", quiet=quiet)
    try:
        wrote = False
        for chunk in io.read_chunks(source, chunksize):
            if columns is None:
                columns = io.require_columns(list(chunk.columns))
            out = estimate_chunk(chunk, density, settings, columns)
            if post_writer is not None:
                table = out.attrs.pop("posteriors")
                table["row"] += offset
                if len(table):  # an empty table has no list types for Parquet to agree on
                    post_writer.write(table)
                    wrote_post = True
            offset += len(chunk)
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
        if post_writer is not None:
            post_writer.commit()
            if not wrote_post:
                from gyroage.posterior import write_empty_posteriors

                write_empty_posteriors(posteriors)
    except BaseException:
        writer.abort()
        if post_writer is not None:
            post_writer.abort()
        raise
    progress.close(extra=", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    return counts


def _posterior_writer(path: str | Path | None) -> io.AtomicWriter | None:
    if path is None:
        return None
    if Path(path).suffix.lower() not in (".parquet", ".pq"):
        raise UserError(f"--posteriors must be a .parquet file: {path}")
    return io.AtomicWriter(path)
