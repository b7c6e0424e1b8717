"""Engines schedule ``estimate_chunk`` over a catalogue; they compute nothing themselves.

:func:`run_local` streams the input chunk by chunk into one output (resumable
with a file target); :func:`run_dask` maps the same function over the
partitions of a Dask DataFrame on dask.distributed.
"""

from __future__ import annotations

from gyroage.engines.dask_engine import run_dask  # imports dask only when run (dask is optional)
from gyroage.engines.local import run_local, sidecar_dir

__all__ = ["run_dask", "run_local", "sidecar_dir"]
