"""How a command's process meets signals and pipes: SIGTERM (a batch system's walltime) stops a run as Ctrl-C does,
and a named pipe given as the input (process substitution) is read as stdin.

Split from :mod:`gyroage.cli`, which installs the handler and maps :class:`Terminated` to its exit code.
"""

from __future__ import annotations

import os
import signal
import sys

from gyroage.errors import UserError


class Terminated(KeyboardInterrupt):
    """SIGTERM (a batch system's walltime, ``kill``), raised in the main process where Ctrl-C's interrupt would be:
    the run stops the same way, its temporaries removed and its finished chunks kept for ``--resume``."""


TERMINATED_EXIT = 128 + signal.SIGTERM  # 143, as a shell reports a process SIGTERM ended


def on_sigterm(signum: int, frame) -> None:
    """SIGTERM's handler: :class:`Terminated` in the command's own process; a forked worker (``--processes``)
    that inherited it ends as SIGTERM ends it, leaving the stopping to the main process."""
    if os.getpid() != MAIN_PID:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)
        return
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second SIGTERM must not cut the clean-up short
    raise Terminated()


def on_sigint(signum: int, frame) -> None:
    """Ctrl-C's handler: KeyboardInterrupt, as Python's own, once. Pressed again while the run cleans up (a reader
    thread joined, a cluster closed) it landed in the clean-up: "Exception ignored in ..." and a traceback, or
    multiprocessing's leaked semaphores; so the command's own process ignores it from then on, as a second SIGTERM."""
    if os.getpid() == MAIN_PID:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise KeyboardInterrupt


def interrupted(exc: KeyboardInterrupt) -> int:
    """Say why the run stopped, in one line on stderr, and give its exit code: Ctrl-C "interrupted", 130 (a
    resumable run's engine puts how many rows are kept in the interrupt: :func:`gyroage.engines.local.run_local`);
    SIGTERM "terminated (SIGTERM)", 143."""
    text = exc.args[0] if exc.args and isinstance(exc.args[0], str) else "interrupted"
    if isinstance(exc, Terminated):
        text = text.replace("interrupted", "terminated (SIGTERM)", 1)
    print(f"gyroage: {text}", file=sys.stderr)
    return TERMINATED_EXIT if isinstance(exc, Terminated) else 130


MAIN_PID = os.getpid()  # the process that imported the command line: forked workers have other ids


def pipe_as_stdin(source: str) -> str:
    """``source``, or ``'-'`` when it names a pipe (process substitution: ``estimate <(zcat s.csv.gz)`` gives
    ``/dev/fd/63``), which then becomes this process's stdin: a pipe can be read only once, so it is read as '-' is
    (its first bytes peeked, not consumed, to tell its format)."""
    from gyroage.files import is_pipe

    if source == "-" or not is_pipe(source):
        return source
    try:
        fd = os.open(source, os.O_RDONLY)
    except OSError as exc:
        raise UserError(f"cannot read {source}: {exc.strerror}") from None
    os.dup2(fd, 0)  # nothing has read sys.stdin yet: its buffer is empty, so it reads the pipe from its start
    os.close(fd)
    return "-"
