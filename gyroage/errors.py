"""Errors a user can cause: reported as one line with exit code 2, never a traceback."""

from __future__ import annotations

import errno
import gzip
import numbers
import zlib
from collections.abc import Iterable

# The disk (or a quota, or a file-size limit) refused an output's bytes: the user's to fix, not a bug.
DISK_FULL = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
# A folder (or file system) that refused a new file: made read-only while a run went on, also by root's chattr +i.
NOT_WRITABLE = (errno.EACCES, errno.EPERM, errno.EROFS)
# What reading a damaged gzip stream raises: its end cut off; a bad header, CRC or length; bad deflate data.
GZIP_ERRORS = (EOFError, gzip.BadGzipFile, zlib.error)


def close_names(name: str, known: Iterable[str], n: int = 3) -> list[str]:
    """Up to ``n`` of the ``known`` names closest to a misspelt ``name``, closest first (difflib, similarity >= 0.6):
    an error's "did you mean"."""
    import difflib

    return difflib.get_close_matches(name, list(known), n=n, cutoff=0.6)


def whole_number(value, name: str) -> None:
    """A TypeError, one line, for a count or seed that is not a whole number (``int(1.7)`` would quietly be 1).

    numpy integers pass; a bool, Python's or numpy's, does not.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be a whole number, not {value!r}")


def check_grid(n_grid, name: str = "--grid") -> None:
    """Refuse an age grid (``--grid``, ``n_grid``) that is not a whole number from :data:`gyroage.defaults.MIN_GRID`
    to :data:`gyroage.defaults.MAX_GRID`, in one line: estimate, group-age and plot posterior alike (``name``: the
    option, or the field, the caller gave)."""
    from gyroage.defaults import MAX_GRID, MIN_GRID

    whole_number(n_grid, "n_grid")  # int(60.7) would quietly make it 60
    if int(n_grid) < MIN_GRID:  # fewer points put a summary between far-apart ages
        raise UserError(f"{name} must be at least {MIN_GRID}")
    if int(n_grid) > MAX_GRID:  # memory grows as the square (gyroage.defaults)
        raise UserError(f"{name} must be at most {MAX_GRID} (memory grows as its square: {MAX_GRID} points step the "
                        "age grid in under 0.001 dex)")


class UserError(Exception):
    """A problem with the user's input, options or files (exit code 2)."""

    exit_code = 2


class ModelError(UserError):
    """A model file that is missing, corrupted or does not match its card."""


class BuildError(UserError):
    """A build step (training, export) that ran on valid settings but gave no usable model, such as a loss that is
    not finite (exit code 1): one line, no traceback, and nothing written."""

    exit_code = 1


class NothingPiped(UserError):
    """Standard input came from a pipe and held nothing at all, not even a header line (exit code 3).

    Every gyroage command that succeeds writes at least a header, so a pipe with no
    bytes means the command before it failed, and that command has printed why:
    the CLI exits with this code and prints nothing, so one failure gives one error
    line, not two. (A header-only input is a valid empty table; an empty file given
    by name, or redirected with ``<``, is still reported as empty.)
    """

    exit_code = 3


def gzip_error(source, exc: BaseException) -> UserError:
    """The one-line error for a damaged gzip-compressed input (``exc``: one of :data:`GZIP_ERRORS`)."""
    if isinstance(exc, EOFError):
        why = "truncated gzip file (it ends before its end-of-stream marker)"
    else:
        why = f"corrupt gzip file ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})"
    return UserError(f"input {source} is a {why}: download or compress it again")
