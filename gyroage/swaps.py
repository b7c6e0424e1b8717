"""Renames that must not be cut apart: Ctrl-C and SIGTERM held back over them (:func:`signals_held`), and a folder
replaced by renames only (:func:`replace_dir`), so that a failure or a kill at any step leaves the old folder whole
or the new one whole under the target's name, never a half-removed one (review V69); and the permissions a
replacement gets (:func:`new_mode`).

Dependency-free, below :mod:`gyroage.files`: it is given the temporary names' prefix, never imports it.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import stat
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# An old target renamed aside while its replacement is renamed in: PREFIX + 8 random characters + this. Only a
# whole copy carries it: one to remove is first renamed to REMNANT_SUFFIX, so what a removal cut short (a file
# that cannot be removed, a kill) is never taken for the last whole table and put back (review V71 #1)
ASIDE_SUFFIX = ".old"
REMNANT_SUFFIX = ".del"


@contextmanager
def signals_held(called_only: bool = False) -> Iterator[list[int]]:
    """Hold Ctrl-C and SIGTERM back for the block; one that came meanwhile is raised again after it (its usual
    handler then runs). Yields the signals that came, so far. ``called_only``: hold only those whose handler Python
    calls (KeyboardInterrupt's, gyroage's on_sigterm): an ignored or default signal is left as it is. Python's
    handlers run in the main thread only: elsewhere the block runs as it is."""
    came: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield came
        return
    kinds = [s for s in (signal.SIGINT, getattr(signal, "SIGTERM", None)) if s is not None]
    before = {s: signal.getsignal(s) for s in kinds}
    # None: a handler not set from Python, left alone
    kinds = [s for s in kinds if before[s] is not None and (callable(before[s]) or not called_only)]
    for s in kinds:
        signal.signal(s, lambda signum, frame: came.append(signum))
    try:
        yield came
    finally:
        for s in kinds:
            signal.signal(s, before[s])
        if came:
            signal.raise_signal(came[0])


def uninterrupted(step) -> None:
    """Run ``step`` to its end, again after each Ctrl-C or SIGTERM that cut it short: clean-up after a run's output is
    in place (a sidecar or a chunk folder half-removed, the run reported interrupted, were both wrong then)."""
    while True:
        try:
            step()
            return
        except KeyboardInterrupt:
            continue


def umask() -> int:
    """The process's umask: from /proc where Linux gives it, else by setting it and putting it back (no call only
    reads it; a file another thread made in between would get 022)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def new_mode(target: str | os.PathLike, directory: bool = False) -> int:
    """Permissions for a file (or ``directory``) written to ``target``: the mode of the one it replaces, else
    ``0o666`` (``0o777``) less the umask, as ``open`` (``mkdir``) would make it."""
    try:
        st = os.stat(target)
        if stat.S_ISDIR(st.st_mode) == directory:
            return stat.S_IMODE(st.st_mode)
    except OSError:
        pass
    return (0o777 if directory else 0o666) & ~umask()


def replace_dir(new: Path, target: Path, prefix: str, rename=os.replace) -> None:
    """Put the folder ``new`` in place of ``target`` (a folder or a file): ``target`` renamed aside (``prefix`` + 8
    random characters + ``.old``), ``new`` renamed in, then the aside copy removed. A failed rename in puts the
    aside copy back and raises. No rename can undo another's half: a folder cannot be replaced in one step, and
    removing the old one first left an empty or truncated table under its name when a file in it could not be
    removed or the run was stopped. An aside copy that could not be removed whole is left as a remnant (``.del``),
    named on stderr."""
    aside = target.parent / f"{prefix}{secrets.token_hex(4)}{ASIDE_SUFFIX}"
    with signals_held():  # no Ctrl-C between the two renames: the target is missing only for that moment
        os.replace(target, aside)
        try:
            rename(new, target)
        except BaseException:
            os.replace(aside, target)
            raise
        # still held: a signal raised between the renames and the removal left the old table's whole copy (V71 #3)
        aside = _remove(aside)
    if aside is not None:
        # a file of the old output that cannot be removed (chattr +i, another user's) no longer stops the run: said
        print(f"gyroage: {target} replaced, but the old one's files could not all be removed: they are left in "
              f"{aside}", file=sys.stderr, flush=True)


def settle_aside(aside: Path, target: Path) -> bool:
    """A killed run's aside copy of ``target`` (:func:`replace_dir`): renamed back when ``target`` is missing (the
    kill came between the two renames, so it is the last whole table), else removed. True if it is gone."""
    if not os.path.lexists(target):
        os.replace(aside, target)
        print(f"gyroage: put back {target}: a run stopped while it replaced it had renamed it to {aside.name}",
              file=sys.stderr, flush=True)
        return True
    return _remove(aside) is None


def settle_asides(asides: list[Path], target: Path) -> list[str]:
    """:func:`settle_aside` for each of the killed runs' aside copies of ``target``; the names of those gone. With
    ``target`` missing and more than one, which is the last whole table is not known: all are left, said."""
    if len(asides) > 1 and not os.path.lexists(target):
        print(f"gyroage: {target} is missing and {len(asides)} copies of it that stopped runs renamed aside are "
              f"left: {', '.join(a.name for a in asides)}; rename the whole one back by hand", file=sys.stderr,
              flush=True)
        return []
    gone = []
    for aside in asides:
        try:
            if settle_aside(aside, target):
                gone.append(aside.name)
        except OSError:  # not ours to remove after all (another user's, read-only): left as it is
            pass
    return gone


def _remove(aside: Path) -> Path | None:
    """Remove an aside copy, renamed to its remnant's name first; None if it is gone, else where it is left."""
    try:
        remnant = aside.with_name(aside.name[:-len(ASIDE_SUFFIX)] + REMNANT_SUFFIX)
        os.replace(aside, remnant)
    except OSError:  # left whole under its own name: a later run into the output removes it
        return aside
    if remnant.is_dir() and not remnant.is_symlink():
        shutil.rmtree(remnant, ignore_errors=True)
    else:
        remnant.unlink(missing_ok=True)
    return remnant if os.path.lexists(remnant) else None
