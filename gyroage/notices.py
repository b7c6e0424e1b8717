"""Reading notices (a unit converted, decimal commas, which of a file's tables is read): one line each on stderr, as
the command line says them even with ``-q``, or collected (:func:`collected`) for the Python API to give as warnings.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

# The lines said inside collected() in this thread (or task); None: print them. A context variable, not a global:
# a reader running on another thread (the local engine's prefetch) still prints its own.
_COLLECTED: ContextVar[list[str] | None] = ContextVar("gyroage_notices", default=None)


def say(line: str) -> None:
    """``line`` on stderr (flushed, so it comes before a traceback or the progress line), or collected."""
    lines = _COLLECTED.get()
    if lines is None:
        print(line, file=sys.stderr, flush=True)
    else:
        lines.append(line)


@contextmanager
def collected() -> Iterator[list[str]]:
    """Inside, :func:`say` appends its lines to the list yielded instead of printing them."""
    lines: list[str] = []
    token = _COLLECTED.set(lines)
    try:
        yield lines
    finally:
        _COLLECTED.reset(token)
