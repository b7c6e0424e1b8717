"""Files on disk: atomic writes and format detection, for every module that writes.

Dependency-free (no numpy, no pandas), so the model card and the build tools
can use it without importing the tabular front end.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PARQUET_SUFFIXES = (".parquet", ".pq")


def is_parquet(path: str | os.PathLike) -> bool:
    """Whether ``path`` names a Parquet file (by its suffix, case-insensitive)."""
    return str(path).lower().endswith(PARQUET_SUFFIXES)


def fsync_file(path: str | os.PathLike) -> None:
    """Flush ``path``'s data to disk, so a rename after it never exposes an empty file after a crash."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def atomic_path(target: str | os.PathLike, suffix: str = ".part", mode: int | None = 0o644) -> Iterator[Path]:
    """A temporary path beside ``target``, fsynced and renamed onto it when the block ends without error.

    Readers see the old file or the complete new one, never a partial write; on
    an error the temporary file is removed and ``target`` is left as it was.
    ``mode``: permissions of the result (mkstemp makes files private).
    """
    target = Path(target)
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=suffix)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        if tmp.is_file():
            fsync_file(tmp)
            if mode is not None:
                os.chmod(tmp, mode)
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_path(path, suffix=".tmp") as tmp:
        tmp.write_text(text, encoding="utf-8")
