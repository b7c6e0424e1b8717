"""Outputs that belong together (a table and its ``--posteriors`` file) renamed in together: both the new run's, or,
when a rename is refused, both as they were (review V71 #2), and Ctrl-C held back over the renames (review V69 #2).

Dependency-free, above :mod:`gyroage.files` (whose :class:`~gyroage.files.AtomicFile` it commits).
"""

from __future__ import annotations

import os
import secrets
import stat
import sys
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path

from gyroage.files import AtomicFile, temp_prefix
from gyroage.swaps import signals_held


def commit_together(staged: list[AtomicFile], then: Callable[[], None] | None = None) -> None:
    """Commit ``staged`` in turn, so that outputs that belong together (a table, its posteriors) change together: all
    synced, then Ctrl-C and SIGTERM held back over the renames and ``then`` (a sink's "finished"), one that came raised
    after them (one file without ``then`` is not held). Each target but the last is kept aside (a hard link) until
    the last is in: a refused later rename puts the earlier ones back, so a failed run leaves no mixed outputs."""
    try:
        for f in staged:
            f.sync()
        with signals_held() if len(staged) > 1 or then else nullcontext():
            done: list[tuple[AtomicFile, Path | None, bool]] = []
            for f in staged:
                existed = os.path.lexists(f.target)
                old = _keep_old(f) if f is not staged[-1] else None
                try:
                    f.commit()
                except BaseException:
                    _discard(old)
                    _put_back(done, f)
                    raise
                done.append((f, old, existed))
            for _, old, _ in done:
                _discard(old)
            if then is not None:
                then()
    except BaseException:
        for f in staged:
            f.abort()  # a committed one's temporary is gone: nothing to remove
        raise


def _keep_old(f: AtomicFile) -> Path | None:
    """A second name for ``f``'s regular target file beside it (a ``.part``, which the next run into it removes if
    a kill leaves it), so that it can be put back; None where there is none to keep or no link can be made."""
    try:
        if f.special or f.directory or not stat.S_ISREG(os.lstat(f.target).st_mode):
            return None
        old = f.target.parent / f"{temp_prefix(f.target)}{secrets.token_hex(4)}.part"
        os.link(f.target, old)
        return old
    except OSError:  # missing (a new output), or a file system without hard links
        return None


def _discard(old: Path | None) -> None:
    if old is not None:
        try:
            old.unlink()
        except OSError:
            pass


def _put_back(done: list[tuple[AtomicFile, Path | None, bool]], failed: AtomicFile) -> None:
    """Undo the renames that came before ``failed``'s: each earlier target as it was (its old copy renamed back, or
    the new file removed where there was none), or a line saying which output is whose."""
    for f, old, existed in done:
        try:
            if old is not None:
                os.replace(old, f.target)
                continue
            if not existed:
                os.unlink(f.target)
                continue
        except OSError:
            pass
        if not f.special:
            where = f" (the earlier one is in {old.name})" if old is not None and os.path.lexists(old) else ""
            print(f"gyroage: {f.target} is already this run's new output{where}; {failed.target} is still the "
                  "earlier run's", file=sys.stderr, flush=True)
