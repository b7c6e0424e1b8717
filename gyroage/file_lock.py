"""Exclusive locks on an open file, for :class:`gyroage.files.TargetLock` on every platform: ``flock`` where there
is ``fcntl`` (Linux, macOS), ``msvcrt.locking`` on Windows, none elsewhere (the run then goes on unlocked).

Dependency-free, as :mod:`gyroage.files` is. Windows has neither ``fcntl`` nor ``os.O_ACCMODE``: a top-level
``import fcntl`` made ``import gyroage`` fail there.
"""

from __future__ import annotations

import errno
import os

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None
try:
    import msvcrt
except ImportError:  # Linux, macOS
    msvcrt = None

# Windows cannot remove a file that is open (Python opens without FILE_SHARE_DELETE): there the lock file is
# unlocked and closed before it is removed, elsewhere removed while still held (no run takes a file about to vanish).
UNLINK_WHILE_OPEN = os.name != "nt"

# msvcrt.locking's "already locked": EACCES; EDEADLOCK (an alias of EDEADLK) after LK_LOCK's retries
_HELD_ERRNOS = (errno.EACCES, errno.EDEADLK)


def lock(fd: int) -> None:
    """Lock ``fd`` exclusively, without waiting.

    Raises
    ------
    BlockingIOError
        Another process holds the lock.
    OSError
        Any other: this file system or platform cannot lock (the caller runs unlocked).
    """
    if fcntl is not None:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    elif msvcrt is not None:
        os.lseek(fd, 0, os.SEEK_SET)  # msvcrt locks bytes from the file position: always the first byte
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError as exc:
            if exc.errno in _HELD_ERRNOS:
                raise BlockingIOError(errno.EAGAIN, "locked by another process") from None
            raise
    else:
        raise OSError(errno.ENOLCK, "no file locking on this platform")


def unlock(fd: int) -> None:
    """Unlock ``fd`` before it is closed where closing does not free the lock at once (Windows frees a closed file's
    locks "when the system has the resources"); ``flock``'s lock goes with the last descriptor, and a forked copy
    must not unlock the parent's (:func:`gyroage.files._close_held_locks`): nothing to do there."""
    if fcntl is None and msvcrt is not None:
        os.lseek(fd, 0, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        except OSError:  # not locked after all: closing is all that is left to do
            pass


def opened_read_only(fd: int) -> bool:
    """Whether ``fd`` was opened read-only (NFS's ``flock`` then fails with EBADF); False where that cannot be read
    (Windows, whose ``msvcrt.locking`` locks a read-only descriptor all the same)."""
    if fcntl is None or not hasattr(os, "O_ACCMODE"):
        return False
    return (fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE) == os.O_RDONLY
