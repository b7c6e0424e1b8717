"""Files on disk: the one atomic writer (fsync, then rename) and format detection, for every module that writes.

Dependency-free (no numpy, no pandas), so the model card and the build tools
can use it without importing the tabular front end.
"""

from __future__ import annotations

import errno
import functools
import glob
import json
import math
import os
import re
import shutil
import stat
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from gyroage import file_lock
from gyroage.errors import UserError
from gyroage.progress import refuse_silenced_stream
from gyroage.swaps import ASIDE_SUFFIX, REMNANT_SUFFIX, new_mode, replace_dir, settle_asides

PARQUET_SUFFIXES = (".parquet", ".pq")
GZIP_MAGIC = b"\x1f\x8b"


def is_parquet(path: str | os.PathLike) -> bool:
    """Whether ``path`` names a Parquet file (by its suffix, case-insensitive)."""
    return str(path).lower().endswith(PARQUET_SUFFIXES)


def is_gzip_file(path: str | os.PathLike) -> bool:
    """Whether the file ``path`` starts with gzip's magic bytes (``False`` when it cannot be read: its reader says why)."""
    try:
        with open(path, "rb") as fh:
            return fh.read(2) == GZIP_MAGIC
    except OSError:
        return False


def require_input_file(source: str | os.PathLike) -> Path:
    """``source`` as a path, or a one-line error saying why it is no input table (missing, a directory, a pipe)."""
    path = Path(source)
    # a partitioned export (part-*.parquet, as --engine dask writes one) is read whole only by that engine
    # (estimate's alone: group-age and crossmatch users were sent to it too; review V49, 12)
    parts = " (only `gyroage estimate --engine dask` reads a folder or a pattern of Parquet parts; otherwise " \
            "concatenate them)"
    if path.is_dir():  # "not found" would send the user looking for a file that is there
        raise UserError(f"input {path} is a directory, not a table{parts if any(path.glob('*.parquet')) else ''}")
    if not path.is_file():
        if is_pipe(path):  # process substitution, <(zcat x.gz): /dev/fd/63 is there, but can be read only once
            raise UserError(f"input {path} is a pipe: use '-' and pipe it in")
        pattern = any(c in str(path) for c in "*?[")
        # Parquet parts only: `*.csv`, or a typo `stars[1].csv` matching stars1.csv, is no partitioned export (V49, 8)
        of_parts = pattern and any(is_parquet(f) for f in glob.iglob(str(path)))
        raise UserError(f"input file not found: {path}{parts if of_parts else ''}")
    return path


def is_pipe(path: str | os.PathLike) -> bool:
    """Whether ``path`` (links followed) is a pipe or socket: read once, as stdin, never sniffed and then read again."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)


def fsync_file(path: str | os.PathLike) -> None:
    """Flush the file ``path``'s data to disk, so a rename after it never exposes an empty file after a crash.

    Opened for writing (nothing is written): Windows syncs only a writable descriptor (EBADF on a read-only one).
    """
    try:
        fd = os.open(path, os.O_RDWR)
    except PermissionError:  # a file we may not write: Linux and macOS sync a read-only descriptor too
        fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


WINDOWS = os.name == "nt"
# Unix devices a Windows user may still type (-o /dev/null): there they would be files, C:\dev\null
_UNIX_DEVICE = re.compile(r"/dev/(null|zero|full|tty|std(in|out|err)|fd/\d+)\Z")


def output_path(target: str | os.PathLike) -> Path:
    """Where an output named ``target`` goes: the file a symbolic link points to (the link stays), else ``target``.

    A link to a device or FIFO is kept as it is, to be opened through: ``/dev/stdout`` resolves to
    ``/proc/<pid>/fd/pipe:[n]`` when stdout is a pipe, a name that does not exist. On Windows a Unix device, or any
    ``/dev/`` name where there is no ``\\dev`` folder, is a one-line error (it would be a new file and folder).
    """
    name = os.fspath(target).replace("\\", "/")
    if WINDOWS and name.startswith("/dev/") and (_UNIX_DEVICE.match(name) or not os.path.isdir("/dev")):
        raise UserError(f"cannot write {target}: Windows has no {name}: use '-o -' for standard output, or NUL to "
                        "discard the output")
    p = Path(target)
    return Path(os.path.realpath(p)) if p.is_symlink() and not is_special(p) else p


def open_output(path: str | os.PathLike) -> BinaryIO:
    """``path`` opened for writing bytes; a device or FIFO that names a standard stream holding ``os.devnull``
    (closed, or silenced: :func:`gyroage.progress.refuse_silenced_stream`) is a one-line error, not a lost table."""
    if is_special(path):
        refuse_silenced_stream(path)
        try:  # /dev/tty with no controlling terminal (cron, setsid): ENXIO was a traceback (review V53, 6)
            return open(path, "wb")
        except OSError as exc:
            why = " (no terminal)" if exc.errno == errno.ENXIO else ""
            raise UserError(f"cannot write {path}: {(exc.strerror or str(exc)).lower()}{why}") from None
    return open(path, "wb")


def is_special(path: str | os.PathLike) -> bool:
    """Whether ``path`` exists (links followed) and is neither a regular file nor a directory: a device, FIFO or socket."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def same_file(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """Whether ``a`` and ``b`` name one file: links followed, and by resolved name where one does not exist yet
    (whatever its case where the file system ignores it: ``Post.parquet`` is ``post.parquet`` on macOS and Windows)."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        pass
    try:
        ra, rb = os.path.realpath(a), os.path.realpath(b)
    except OSError:  # a link that cannot be read (another user's /proc/PID/fd/1): by name, as given
        ra, rb = os.path.abspath(a), os.path.abspath(b)
    return ra == rb or (ra.casefold() == rb.casefold() and ignores_case(ra))


def ignores_case(path: str | os.PathLike) -> bool:
    """Whether the file system finds ``path``'s folder's names whatever their case (macOS and Windows by default; a
    casefolded Linux folder): probed in the nearest folder that exists."""
    folder = os.path.abspath(path)
    while True:
        folder = os.path.dirname(folder)
        if os.path.isdir(folder) or os.path.dirname(folder) == folder:
            return _ignores_case(os.path.realpath(folder))


@functools.lru_cache(maxsize=64)
def _ignores_case(folder: str) -> bool:
    """:func:`ignores_case` for an existing ``folder``: does a name, case swapped, find the same file? Probed with the
    first cased name in it, else with the nearest cased name on its path (the folder's own, in its parent): no file
    is made for it (False where no name has case)."""
    try:
        with os.scandir(folder) as entries:
            name = next((e.name for e in entries if e.name != e.name.swapcase()), None)
    except OSError:
        name = None
    here = folder
    while name is None:
        parent, base = os.path.split(here)
        if not base or parent == here:
            return False
        if base != base.swapcase():
            folder, name = parent, base
        here = parent
    try:
        swapped = os.path.join(folder, name.swapcase())
        return os.path.exists(swapped) and os.path.samefile(os.path.join(folder, name), swapped)
    except OSError:
        return False


# What gyroage names its temporary files and folders beside a target NAME: temp_prefix(NAME) + mkstemp's 8 random
# characters + a suffix. Those with one of these suffixes are a killed run's to remove (remove_stale); the marker
# keeps a user's own ".NAME.20261204.part" out of it. (prepare_target's probe, ".resume", is made and removed at
# once: left alone.)
TEMP_MARKER = "gyroage-"
TEMP_SUFFIXES = (".part", ".part.gz", ".dask-tmp", ASIDE_SUFFIX, REMNANT_SUFFIX)


def temp_prefix(target: str | os.PathLike) -> str:
    """The name of every temporary file or folder gyroage makes beside ``target`` starts with this (then mkstemp's
    8 random characters and a suffix): ``.NAME.gyroage-``, which no user's file is named by chance."""
    return f".{Path(target).name}.{TEMP_MARKER}"


class TargetLock:
    """One gyroage run writes an output at a time: an exclusive lock on ``.<name>.lock`` beside it (``flock``;
    ``msvcrt.locking`` on Windows: :mod:`gyroage.file_lock`).

    Taken, it removes the temporary files and folders a killed run left for the same target
    (:func:`remove_stale`): no live run can be writing them. Another run holding it is a one-line error.
    The lock file is removed on :meth:`release`; the kernel frees the lock of a killed run, and its file
    is taken over. Where the file system (some network mounts) or the platform cannot lock, the run goes on
    unlocked and removes nothing. ``file_only``: the output is a file, so a folder under its name once the
    leftovers are settled (a dask run's put back) is a one-line error.
    """

    def __init__(self, target: str | os.PathLike, file_only: bool = False) -> None:
        self.target = output_path(target)
        self.path = self.target.parent / f".{self.target.name}.lock"
        self.fd: int | None = None
        while True:
            try:
                fd, created = _open_lock_file(self.path)
            except OSError as exc:
                raise UserError(f"cannot write {target}: {exc.strerror or exc}") from None
            read_only = file_lock.opened_read_only(fd)
            try:
                file_lock.lock(fd)
            except BlockingIOError:
                os.close(fd)
                raise UserError(f"another gyroage run is writing {target}") from None
            except OSError as exc:  # no flock here: unlocked, and nothing is removed that a live run might hold
                if read_only and exc.errno == errno.EBADF:  # NFS locks only files open for writing: not "no flock"
                    os.close(fd)
                    raise UserError(f"cannot lock {target}: its lock file {self.path} belongs to another user and this "
                                    f"file system locks only files it can write: remove {self.path.name} or write "
                                    "elsewhere") from None
                os.close(fd)  # first: Windows cannot remove an open file
                if created:  # nor is a lock file left that locks nothing (another's stays: it may lock elsewhere)
                    try:
                        os.unlink(self.path)
                    except OSError:
                        pass
                return
            try:  # the run that held it may have removed the file between our open and flock: lock the new one
                if os.path.samestat(os.fstat(fd), os.stat(self.path)):
                    break
            except FileNotFoundError:
                pass
            os.close(fd)
        self.fd = fd
        _HELD.add(self)
        remove_stale(self.target)
        if file_only and self.target.is_dir():  # a dask run's folder put back (V71 #4): refused, not computed into
            self.release()
            raise UserError(f"output {target} is a directory")

    def release(self) -> None:
        """Remove the lock file (while still holding it, so no run takes a file about to vanish) and unlock. On
        Windows, which cannot remove an open file, unlock and close first; a run that opened it in between keeps it."""
        if self.fd is None:
            return
        held = file_lock.UNLINK_WHILE_OPEN
        if not held:
            file_lock.unlock(self.fd)
            os.close(self.fd)
        try:
            os.unlink(self.path)
        except OSError:
            pass
        _HELD.discard(self)
        if held:
            os.close(self.fd)
        self.fd = None


def _open_lock_file(path: Path) -> tuple[int, bool]:
    """(A descriptor of the lock file ``path``, made if missing; whether this call made it). One another user's run
    left (0644 in a shared folder) is opened read-only: ``flock`` needs no write access, and it is still the one
    file every run locks."""
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o666), True
    except (FileExistsError, PermissionError):  # there already (held, or left by a killed run), or not ours
        pass
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT, 0o666), False
    except PermissionError as exc:
        try:
            return os.open(path, os.O_RDONLY), False
        except OSError:  # not there (a folder we cannot write) or not readable either: the first refusal says why
            raise exc from None


# The locks this process holds. A forked child (a --processes pool's worker) gets a copy of each descriptor, which
# would hold the lock as long as it lives: a worker outliving a killed run kept every later run out of its output.
_HELD: set[TargetLock] = set()


def _close_held_locks() -> None:
    """In a forked child: close the copies of the parent's lock descriptors. Closed only, never unlocked (the lock
    is the parent's, on the open file both share) and never released (that would remove the parent's lock file)."""
    for lock in list(_HELD):
        if lock.fd is not None:
            try:
                os.close(lock.fd)
            except OSError:
                pass
            lock.fd = None  # release() in the child is then a no-op
    _HELD.clear()


if hasattr(os, "register_at_fork"):  # not on Windows, which does not fork
    os.register_at_fork(after_in_child=_close_held_locks)


def remove_stale(target: str | os.PathLike) -> list[str]:
    """Remove the temporary files and folders killed runs left beside ``target`` (``.NAME.gyroage-xxxxxxxx.part``,
    ``.NAME.gyroage-xxxxxxxx.dask-tmp/``); their names.
    Only under :class:`TargetLock`: a live run's are the same names. Names without the marker (an older gyroage's,
    or the user's own files) are left alone."""
    target = Path(target)
    prefix = re.escape(temp_prefix(target))
    if ignores_case(target):  # -o Out.csv writes the file a killed run of -o out.csv was writing
        prefix = f"(?i:{prefix})"
    pattern = re.compile(prefix + "[a-z0-9_]{8}(" + "|".join(map(re.escape, TEMP_SUFFIXES)) + r")\Z")
    removed, asides = [], []  # asides: a replaced output's copies, the last whole table if its target is gone
    try:
        entries = list(os.scandir(target.parent))
    except OSError:
        return removed
    for entry in entries:
        if not pattern.match(entry.name):
            continue
        try:
            if entry.name.endswith(ASIDE_SUFFIX):  # settled together, not in directory order (review V71 #1)
                asides.append(Path(entry.path))
                continue
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path)
            else:
                os.unlink(entry.path)
            removed.append(entry.name)
        except OSError:  # not ours to remove after all (another user's, read-only): left as it is
            pass
    return removed + settle_asides(asides, target)


class TargetBusy(UserError):
    """:meth:`AtomicFile.commit` could not replace its target (open in another program on Windows; on POSIX another
    user's file in a sticky folder, or a read-only folder):
    the message ends in "close it and rerun", which a caller keeping the rows may extend."""


class AtomicFile:
    """A temporary path beside ``target`` that becomes ``target`` on :meth:`commit` or vanishes on :meth:`abort`.

    Readers see the old target or the complete new one, never a partial write. ``directory``: the temporary path
    is a directory (its files are synced one by one on commit; an existing target directory is replaced).
    ``mode``: the result's permissions; ``None``: those of the target it replaces, else what ``open`` would give a
    new file under the umask (mkstemp and mkdtemp make private ones, which a group sharing the folder could not
    read). A symbolic link is followed: its target is replaced, the link stays. A target that is a device or FIFO
    (``/dev/null``, a named pipe) cannot be replaced: the temporary file is then in the system's temp folder and
    :meth:`commit` copies it into the target. ``lock``: hold the target's :class:`TargetLock` until commit or abort
    (``None``: for a directory, the dask engine's); a file's refuses a folder there.
    """

    def __init__(self, target: str | os.PathLike, suffix: str = ".part", mode: int | None = None,
                 directory: bool = False, lock: bool | None = None) -> None:
        self.target = output_path(target)
        self.directory = directory
        self.mode = new_mode(self.target, directory) if mode is None else mode
        self.special = is_special(self.target)
        self.synced = False
        if self.special and directory:
            raise FileExistsError(errno.EEXIST, "a device or FIFO, not a directory", str(target))
        # taken before the temporary file is made: it removes a killed run's, which are named as ours
        self.lock = TargetLock(target, not directory) if (directory if lock is None else lock) and not self.special else None
        # a device's folder (/dev) is no place for temp files; a regular file's is, so the rename stays on one disk
        where = {"dir": None if self.special else self.target.parent, "prefix": temp_prefix(self.target),
                 "suffix": suffix}
        try:
            if directory:
                self.path = Path(tempfile.mkdtemp(**where))
            else:
                fd, name = tempfile.mkstemp(**where)
                os.close(fd)
                self.path = Path(name)
        except BaseException:
            self._unlock()
            raise

    def commit(self) -> Path:
        """Sync the temporary file (or every file in the directory) and rename it onto the target."""
        if self.special:  # written into, never replaced (a rename would turn /dev/null into a regular file)
            with open(self.path, "rb") as src, open_output(self.target) as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
            self.path.unlink()
            return self.target
        self.sync()
        try:
            if self.directory and os.path.lexists(self.target):  # renamed aside, never removed first (review V69)
                replace_dir(self.path, self.target, temp_prefix(self.target), _replace)
            else:
                _replace(self.path, self.target)
        except PermissionError:
            if WINDOWS:  # another program (Excel) holds the target open
                raise TargetBusy(f"cannot replace {self.target}: it is open in another program (or read-only); "
                                 "close it and rerun") from None
            # POSIX renames onto a read-only file: refused only in a sticky folder (/tmp) holding another user's
            # file, or in a folder made read-only since the run began
            raise TargetBusy(f"cannot replace {self.target}: permission denied (another user's file in a sticky "
                             "folder, or a read-only folder); have it removed or the folder made writable, and "
                             "rerun") from None
        self._unlock()
        return self.target

    def sync(self) -> None:
        """The data on disk (every file of a directory) and the mode set: all of :meth:`commit` but the rename."""
        if self.special or self.synced:
            return
        data = [f for f in self.path.iterdir() if f.is_file()] if self.directory else [self.path] * self.path.is_file()
        for f in data:
            fsync_file(f)
        if data or self.directory:  # a temporary file someone removed: the rename says so
            os.chmod(self.path, self.mode)
        self.synced = True

    def abort(self) -> None:
        """Remove the temporary file or directory; the target is left as it was."""
        try:
            if self.path.is_dir():
                shutil.rmtree(self.path, ignore_errors=True)
            elif self.path.exists():
                self.path.unlink()
        finally:
            self._unlock()

    def _unlock(self) -> None:
        if self.lock is not None:
            self.lock.release()


def _replace(src: Path, dst: Path) -> None:
    """``os.replace``, tried again for about a second on Windows, where an antivirus scanner or the indexer holds a
    newly written file open for a moment (PermissionError)."""
    for wait in (0.1, 0.2, 0.3, 0.4, None):
        try:
            os.replace(src, dst)
            return
        except PermissionError:
            if not WINDOWS or wait is None:
                raise
            time.sleep(wait)


@contextmanager
def atomic_path(target: str | os.PathLike, suffix: str = ".part", mode: int | None = None,
                directory: bool = False) -> Iterator[Path]:
    """:class:`AtomicFile` as a block: write to the yielded path; it becomes ``target`` when the block ends without error."""
    f = AtomicFile(target, suffix, mode, directory)
    try:
        yield f.path
        f.commit()
    except BaseException:
        f.abort()
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_path(path, suffix=".tmp") as tmp:
        tmp.write_text(text, encoding="utf-8")


def json_text(obj, **kwargs) -> str:
    """``json.dumps(obj, **kwargs)`` with every non-finite float written as ``null``.

    Python's json writes them as ``Infinity`` and ``NaN``, which are no JSON: strict readers (JavaScript's
    JSON.parse, jq) refuse the whole file. Finite values come out exactly as ``json.dumps`` writes them.
    """
    return json.dumps(_finite(obj), allow_nan=False, **kwargs)


def _finite(v):
    if isinstance(v, float):  # numpy's float64 too
        return v if math.isfinite(v) else None
    if isinstance(v, dict):
        return {k: _finite(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_finite(x) for x in v]
    return v
