"""The dask engine's input patterns: the files a glob names, one expansion for the count, the check and the read."""

from __future__ import annotations

import glob
import os
from pathlib import Path

from gyroage import formats
from gyroage.errors import UserError


def expand(paths: list[str], parquet: bool = False) -> list[str]:
    """The files ``paths`` name, sorted: a path naming a file is that file, whatever its name holds (``real[1].csv``
    was read as ``real1.csv`` beside it, review V49, 7); any other is a pattern (itself when it matches none), its
    ``**`` at any depth as Dask (fsspec) expands a Parquet one; ``parquet``: see :func:`matches`."""
    return sorted(f for p in paths for f in ([p] if Path(p).is_file() else matches(p, parquet) or [p]))


def matches(pattern: str, parquet: bool = False) -> list[str]:
    """The files ``pattern`` matches, as Dask (fsspec) expands a Parquet one: no folder, so a Parquet folder that
    ``**/*.parquet`` matches beside its parts was counted twice (review V59, 2); a folder itself is no pattern.
    ``parquet``: without names starting ``_`` or ``.`` (unless all are), as pyarrow skips them in a folder: a
    ``_metadata`` summary was a traceback, Spark's ``_SUCCESS`` made the parts CSV (review V60, 2-4)."""
    return _kept(glob.glob(pattern, recursive=True), pattern, parquet)


def _kept(found: list[str], pattern: str, parquet: bool) -> list[str]:
    """Of the paths ``pattern`` globbed to, those :func:`matches` keeps."""
    found = found if found == [pattern] else [f for f in found if not Path(f).is_dir()]
    return ([f for f in found if not os.path.basename(f).startswith(("_", "."))] or found) if parquet else found


def pattern_is_parquet(path: str, local: str) -> bool:
    """Whether the local pattern ``local`` (``path`` as typed) names Parquet files, by their contents; a one-line
    :class:`UserError` when it matches only folders (was "input file not found") or Parquet and other files both
    (was "not UTF-8 text; re-save it", review V60, 6-7)."""
    found = glob.glob(local, recursive=True)
    if found and found != [local] and all(Path(f).is_dir() for f in found):
        shown = ", ".join(os.path.basename(f) for f in sorted(found)[:3]) + (", ..." if len(found) > 3 else "")
        raise UserError(f"pattern {path} matches only folders ({shown}): give them as folders, or their files as "
                        f"{path}/*")
    # the one glob for both questions: a pattern over thousands of parts was walked twice
    files = [local] if Path(local).is_file() else [f for f in _kept(found, local, True) if Path(f).is_file()]
    kinds = {f: formats.input_format(f) == "parquet" for f in files}
    if len(set(kinds.values())) > 1:
        def some(parquet: bool) -> str:
            return next(os.path.basename(f) for f, k in kinds.items() if k == parquet)

        raise UserError(f"pattern {path} matches Parquet ({some(True)}) and other (CSV) files ({some(False)}): "
                        "date them apart")
    return bool(files) and all(kinds.values())
