"""Reading notices (a unit converted, decimal commas, which of a file's tables is read): one line each on stderr, as
the command line says them even with ``-q``, or collected (:func:`collected`) for the Python API to give as warnings;
and what happens to a resumable run's kept rows (:func:`say_kept`), on stderr only.
"""

from __future__ import annotations

import os
import sys
import threading
import warnings
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


def say_kept(line: str) -> None:
    """``gyroage: line`` on stderr, even under ``-q`` and never collected (what happens to a run's kept rows, said by
    :mod:`gyroage.engines.sinks`); nowhere when stderr is closed."""
    try:
        if sys.stderr is not None:
            print(f"gyroage: {line}", file=sys.stderr, flush=True)
    except OSError:  # a closed pipe: the run goes on
        pass


@contextmanager
def collected() -> Iterator[list[str]]:
    """Inside, :func:`say` appends its lines to the list yielded instead of printing them."""
    lines: list[str] = []
    token = _COLLECTED.set(lines)
    try:
        yield lines
    finally:
        _COLLECTED.reset(token)


# Held while a reader changes the process-wide warning filters (:func:`quiet`, :func:`filter_inside`): two overlapping
# ``catch_warnings()`` could leave one's filter in place for good, and gyroage's warnings to a caller
# (:func:`gyroage.core.arguments.warn_caller`) wait for it so that another thread's "ignore" does not swallow them.
# Held only around those sections (a quiet() one spans an astropy read or write: a long FITS read delays other
# threads' warnings), never while a CSV stream is read or while a caller's showwarning runs. Looked up
# at call time (:func:`warnings_lock`): a forked child gets a new one (:func:`_after_fork`).
_LOCK = threading.RLock()
# The sections open now: (thread id, their catch_warnings or the filter they added), undone in a forked child.
_OPEN: list[tuple[int, object]] = []
# The filters of open filter_inside sections that the caller already held, and where (their index, and the filter
# that followed them, None at the end): filterwarnings moves such a filter to the top, and the last section to leave
# puts it back above that neighbour (the caller's filters keep their order, whatever it added meanwhile).
_HELD: dict[object, tuple[int, object]] = {}


def warnings_lock() -> threading.RLock:
    """The lock the readers hold while they change the warning filters (a new one in a forked child)."""
    return _LOCK


@contextmanager
def quiet() -> Iterator[None]:
    """Inside, warnings are ignored (astropy's notes on a file gyroage reads or writes), the filters changed under
    :func:`warnings_lock` and restored as they were, whatever other threads read meanwhile; the filters of
    :func:`filter_inside` sections open on other threads stay on top (their stream's errors are still raised)."""
    with _LOCK:
        section = warnings.catch_warnings()
        section.__enter__()
        _OPEN.append((threading.get_ident(), section))
        try:
            warnings.simplefilter("ignore")
            for _, entry in list(_OPEN):  # another read's strict filter (a CSV streaming meanwhile) stays on top
                if isinstance(entry, tuple):
                    action, message, category, module, _ = entry
                    warnings.filterwarnings(action, message=message.pattern if message else "", category=category,
                                            module=module.pattern if module else "")
            yield
        finally:
            _OPEN.remove((threading.get_ident(), section))
            section.__exit__(None, None, None)


@contextmanager
def filter_inside(action: str, message: str, category: type[Warning], module: str = "") -> Iterator[None]:
    """Inside, the filter ``(action, message, category, module)`` is on top (e.g. pandas' ParserWarning as an error;
    ``module``: a regular expression the warning's module must match, as in ``filterwarnings``); the lock
    is held only to add and remove it, not between (the section may read a slow stream: stdin). A filter several
    threads add at once is one entry (``filterwarnings`` adds it once), removed when the last one leaves; or, if the
    caller held the same filter already (``simplefilter("ignore", AstropyWarning)``), put back where it was."""
    with _LOCK:
        before = list(warnings.filters)
        warnings.filterwarnings(action, message=message, category=category, module=module)
        entry = warnings.filters[0]
        if entry in before and entry not in (e for _, e in _OPEN):  # the caller's own, not another section's
            at = before.index(entry)
            _HELD[entry] = (at, before[at + 1] if at + 1 < len(before) else None)
        _OPEN.append((threading.get_ident(), entry))
    try:
        yield
    finally:
        with _LOCK:
            _OPEN.remove((threading.get_ident(), entry))
            _drop_filter(entry)


def _drop_filter(entry: object) -> None:
    """Remove ``entry`` from the warning filters unless an open section still needs it; one the caller held before
    the first section added it goes back to its place instead."""
    if entry in (e for _, e in _OPEN):
        return
    held = _HELD.pop(entry, None)
    if entry in warnings.filters:
        warnings.filters.remove(entry)
        if held is not None:
            at, after = held
            if after is None:
                at = len(warnings.filters)
            elif after in warnings.filters:  # above its neighbour: a filter added meanwhile stays above it
                at = warnings.filters.index(after)
            warnings.filters.insert(at, entry)
        getattr(warnings, "_filters_mutated", lambda: None)()  # the modules' warning registries cache the filters


def _after_fork() -> None:
    """In a forked child: a new lock (a parent thread holding it at the fork would hold it for ever: every later read
    and warning hung) and the sections of the parent's other threads undone (they do not exist here to undo them)."""
    global _LOCK
    _LOCK = threading.RLock()
    me = threading.get_ident()
    for owner, section in reversed(list(_OPEN)):
        if owner != me:
            _OPEN.remove((owner, section))
            if isinstance(section, warnings.catch_warnings):
                section.__exit__(None, None, None)
            else:
                _drop_filter(section)


if hasattr(os, "register_at_fork"):  # POSIX; elsewhere there is no fork to recover from
    os.register_at_fork(after_in_child=_after_fork)
