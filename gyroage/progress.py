"""Progress lines on stderr: rate and ETA, throttled, silenced by ``--quiet``."""

from __future__ import annotations

import errno
import os
import sys
import time
from collections.abc import Iterable, Iterator, Mapping
from typing import TypeVar

T = TypeVar("T")


class Progress:
    """Report ``done/total`` with rate and ETA at most every ``every`` seconds.

    Shared by every long command (estimate, train, validate, crossmatch)::

        with Progress("validate", total=len(clusters), unit="clusters", quiet=quiet) as p:
            for c in p.track(clusters):
                ...

    ``quiet=True`` silences everything, including :meth:`log`.
    """

    def __init__(self, label: str, total: int | None = None, unit: str = "", quiet: bool = False,
                 every: float = 1.0) -> None:
        self.label, self.total, self.unit, self.quiet, self.every = label, total, unit, quiet, every
        self.start = self._last = time.perf_counter()
        self.done = 0
        self.skipped = 0  # of done: taken over (a resumed run's finished rows), not in the rate

    def skip(self, n: int) -> None:
        """Count ``n`` as done without doing them (rows a resumed run takes over): in ``done``, not in the rate."""
        self.done += n
        self.skipped += n

    def update(self, n: int = 1, extra: str = "", force: bool = False) -> None:
        self.done += n
        now = time.perf_counter()
        if self.quiet or (not force and (now - self._last < self.every or (self.total and self.done >= self.total))):
            return  # the last line is close()'s, with its summary
        self._last = now
        elapsed = max(now - self.start, 1e-9)
        rate = (self.done - self.skipped) / elapsed
        parts = [f"{self.label}: {self.done}"]
        if self.total:
            parts[0] += f"/{self.total}"
            if rate > 0 and self.done < self.total:
                parts.append(f"ETA {(self.total - self.done) / rate:.0f} s")
        # a resume that only took rows over computed none: a rate of 0 would read as a stall
        parts.append(f"{rate:.3g} {self.unit}/s".strip() if self.done > self.skipped or not self.skipped
                     else "taken over from the interrupted run")
        if extra:
            parts.append(extra)
        print(" | ".join(parts), file=sys.stderr, flush=True)

    def log(self, message: str) -> None:
        if not self.quiet:
            print(f"{self.label}: {message}", file=sys.stderr, flush=True)

    def close(self, extra: str = "") -> None:
        self.update(0, extra=extra, force=True)

    def track(self, items: Iterable[T], weight=None) -> Iterator[T]:
        """Yield ``items``, counting each (or ``weight(item)``) as done after its body ran."""
        for item in items:
            yield item
            self.update(weight(item) if weight else 1)

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()


class QuietStderr:
    """A stand-in for ``sys.stderr`` that goes quiet, not down, when it cannot be written.

    ``gyroage estimate big.csv -o out.csv 2>&1 | head -2`` (the reader of the progress lines stops) or
    ``2>/dev/full`` (stderr on a full disk): the notices are lost, the table is still wanted. The first write or
    flush that fails with any ``OSError`` points file descriptor 2 at ``os.devnull`` (so the text still buffered,
    C libraries and worker processes write there too) and every later line is dropped; the run goes on to its
    normal end. A failing stdout or output file still raises, so an ``OSError`` that reaches the command line
    (a broken pipe, a full disk) is always the table's.
    """

    def __init__(self, stream) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except OSError:  # EPIPE, ENOSPC, EIO...: a notice is never worth the run
            self._silence()
            return len(text)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except OSError:
            self._silence()

    def _silence(self) -> None:
        try:
            fd = self._stream.fileno()
        except (AttributeError, OSError, ValueError):
            fd = None
        if fd is not None:  # the stream's buffered text now drains into /dev/null
            _devnull_onto(fd)
        if fd is None:
            self._stream = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 - lives as long as the process
        else:
            try:
                self._stream.flush()
            except OSError:
                pass

    def __getattr__(self, name: str):  # encoding, fileno, isatty...: the stream's own
        return getattr(self._stream, name)


def guard_stderr() -> None:
    """Make ``sys.stderr`` safe for a command-line run: never ``None``, never a reason to stop.

    With stderr closed (``2>&-``) Python sets ``sys.stderr`` to ``None``, and ``print(file=None)`` writes to
    stdout: progress lines would land in the table. Notices then go to ``os.devnull``, which also takes file
    descriptor 2 when it is free, so no output file opened later is given it. A stderr whose reader stops
    (``2>&1 | head``) or whose disk is full (``2>/dev/full``) goes quiet (:class:`QuietStderr`).
    """
    if sys.stderr is None:
        _hold(2)
        sys.stderr = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 - lives as long as the process
    elif not isinstance(sys.stderr, QuietStderr):
        sys.stderr = QuietStderr(sys.stderr)


CLOSED_STDOUT = "stdout is closed, so nothing can be written to it (give -o FILE for the {what})"

# Standard file descriptors that now hold os.devnull: closed at the start (_hold) or silenced when they could not be
# written (QuietStderr): a table sent to them by a path (-o /dev/stderr) would vanish with exit 0.
SILENCED: set[int] = set()
_STREAM_NAMES = {1: "stdout", 2: "stderr"}


def names_stream(target: str | os.PathLike, fd: int) -> bool:
    """Whether the path ``target`` (symbolic links followed one by one) names this process's file descriptor ``fd``:
    ``/dev/stdout`` or ``/dev/stderr``, ``/dev/fd/N``, ``/proc/self|thread-self|PID[/task/TID]/fd/N`` (PID: this
    process's)."""
    import re

    rule = re.compile(rf"/dev/{_STREAM_NAMES.get(fd, '-')}|/dev/fd/{fd}"  # another process's /proc/PID is not ours
                      rf"|/proc/(self|thread-self|{os.getpid()})(/task/\d+)?/fd/{fd}")
    p = os.path.abspath(str(target))
    try:
        for _ in range(40):  # a chain of links; a loop ends here
            # the folders resolved (a link to /proc/self/fd, /proc/self/root/...), the last name kept: resolving it
            # too would give the file fd 1 holds (/dev/null), not that it is fd 1
            p = os.path.join(os.path.realpath(os.path.dirname(p)), os.path.basename(p))
            if rule.fullmatch(p):
                return True
            if not os.path.islink(p):
                return False
            p = os.path.normpath(os.path.join(os.path.dirname(p), os.readlink(p)))
    except OSError:  # a link we may not read (another process's /proc entry): not ours
        return False
    return False


def refuse_silenced_stream(target: str | os.PathLike) -> None:
    """Refuse, in one line, an output path that names stdout or stderr once that stream holds ``os.devnull``
    (closed by the shell, or silenced when it could not be written): the table would be lost with exit 0."""
    for fd in sorted(SILENCED):
        if names_stream(target, fd):
            from gyroage.errors import UserError

            raise UserError(f"{target} is this run's {_STREAM_NAMES[fd]}, which is closed or cannot be written (its "
                            "notices go nowhere), so the table cannot go to it: give -o FILE")


class ClosedStdout:
    """``sys.stdout`` when the shell closed it (``>&-``): a table written there is a one-line error, not a
    traceback; a run with ``-o`` never writes to it."""

    encoding, errors = "utf-8", "strict"

    def write(self, text: str) -> int:
        if text:
            from gyroage.errors import UserError

            raise UserError(CLOSED_STDOUT.format(what="table"))
        return 0

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False


def guard_stdout() -> None:
    """With stdout closed (``>&-``), file descriptor 1 is held by ``os.devnull`` (so no output file opened later is
    given it) and ``sys.stdout`` becomes a :class:`ClosedStdout`."""
    if sys.stdout is None:
        _hold(1)
        sys.stdout = ClosedStdout()


def check_stdout_open(*targets: str | None, what: str = "table") -> None:
    """Refuse, in one line before any work, a table for a stdout the shell closed (``>&-``): ``-o -``, no ``-o``,
    or a path naming stdout (``-o /dev/stdout``, ``/dev/fd/1``, ``/proc/self/fd/1``), which would otherwise open the
    ``os.devnull`` holding file descriptor 1 and lose the table with exit 0. ``what``: the output, as the line
    names it (a plot's "figure")."""
    if not isinstance(sys.stdout, ClosedStdout):
        return
    for target in targets:
        if target is None or target == "-" or names_stream(target, 1):
            from gyroage.errors import UserError

            raise UserError(CLOSED_STDOUT.format(what=what))


def _hold(fd: int) -> None:
    """Open ``os.devnull`` on the file descriptor ``fd`` if it is free (a closed standard stream)."""
    try:
        os.fstat(fd)
    except OSError as exc:
        if exc.errno == errno.EBADF:
            _devnull_onto(fd)


def _devnull_onto(fd: int) -> None:
    """Put ``os.devnull`` on the file descriptor ``fd`` (free or not) and record a standard stream's as
    :data:`SILENCED` (a notebook's stream may be a copy of fd 2 under another number: not recorded)."""
    null = os.open(os.devnull, os.O_WRONLY)
    if null != fd:
        try:
            os.dup2(null, fd)
        finally:
            os.close(null)
    if fd in _STREAM_NAMES:
        SILENCED.add(fd)


def counts_text(counts: Mapping[str, int]) -> str:
    """Status counts for a closing progress line: ``name count, ...`` in name order."""
    return ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
