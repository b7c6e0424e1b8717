"""Errors a user can cause: reported as one line with exit code 2, never a traceback."""

from __future__ import annotations

import numbers
from collections.abc import Iterable


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
