"""A model folder's files replaced as one set: an export stopped part-way leaves the old model or the new one.

Each graph and the card are written atomically, but the card hashes the graphs: a new density graph beside the old
card (Ctrl-C, SIGTERM or a full disk while the posterior graph was written) loaded as neither model. Everything is
now written into a staging folder first and renamed in afterwards, the card last, with Ctrl-C and SIGTERM held back
for the renames (a rename cannot run out of space).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from gyroage.core.modelcard import CARD_FILE, DENSITY_FILE, POSTERIOR_GRAPHS
from gyroage.swaps import signals_held

# the files a model's card describes: one not staged is removed after the card (a stale magnitude graph)
GRAPH_FILES = (DENSITY_FILE, *POSTERIOR_GRAPHS)
# a staging folder gyroage made: this prefix, and a marker file holding the pid of the process writing it
STAGE_PREFIX = ".gyroage-staging-"
OWNER_FILE = ".gyroage-owner-pid"
# how old a staging folder's marker must be before a dead owner's folder is removed (an export takes seconds)
ABANDONED_AFTER_S = 3600.0


def owner_alive(pid: int) -> bool:
    """Whether process ``pid`` still runs (signal 0 only checks); off POSIX, assumed alive (never removed)."""
    if os.name != "posix" or pid <= 0:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (OSError, OverflowError):  # another user's process (PermissionError), or no pid at all: left alone
        return True
    return True


def remove_abandoned(model_dir: Path) -> None:
    """Remove the staging folders in ``model_dir`` that gyroage made and whose owner process is gone; anything
    else (a user's folder, one without a readable marker, a live export's) is left alone."""
    for old in model_dir.glob(STAGE_PREFIX + "*"):
        marker = old / OWNER_FILE
        if old.is_symlink() or not old.is_dir() or marker.is_symlink() or not marker.is_file():
            continue
        try:
            pid = int(marker.read_text().strip())
        except (OSError, ValueError):
            continue
        # a pid is only this machine's, this namespace's: another container's or host's live export, sharing the
        # folder, looks gone (review V45); it has written its marker within the hour
        if not owner_alive(pid) and time.time() - marker.stat().st_mtime > ABANDONED_AFTER_S:
            shutil.rmtree(old, ignore_errors=True)


@contextmanager
def staged(model_dir: str | Path) -> Iterator[Path]:
    """Yield a staging folder inside ``model_dir`` (made if need be); when the block ends without error its files
    replace ``model_dir``'s, the card (which must be among them) last. The staging folder is removed either way, and
    any an earlier export left (killed before it could remove its own)."""
    model_dir = Path(model_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    # one left by an export killed outright (SIGKILL, power loss: no finally ran) stayed for good, a model's size
    # (review V43, 11); but only ours whose owner is gone: a concurrent export's live one, or a user's own
    # .staging-notes, was deleted too (review V44, 5)
    remove_abandoned(model_dir)
    # inside the model folder: the same file system, so each move is a rename
    stage = Path(tempfile.mkdtemp(prefix=STAGE_PREFIX, dir=model_dir))
    (stage / OWNER_FILE).write_text(str(os.getpid()))
    try:
        yield stage
        move_in(stage, model_dir)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def move_in(stage: Path, model_dir: Path) -> None:
    """Rename every file of ``stage`` into ``model_dir``, the card last; then remove the graphs the new card does
    not list."""
    if not (stage / CARD_FILE).is_file():
        raise FileNotFoundError(f"no {CARD_FILE} staged in {stage}")
    names = sorted(p.name for p in stage.iterdir() if p.name not in (CARD_FILE, OWNER_FILE))
    with signals_held():
        for name in names:
            os.replace(stage / name, model_dir / name)
        os.replace(stage / CARD_FILE, model_dir / CARD_FILE)
        for name in GRAPH_FILES:
            if name not in names:
                (model_dir / name).unlink(missing_ok=True)
