"""The ``--processes`` worker pool's process handling: workers that die with the run that started them, a pool
stopped at once when the run stops, and a broken pool said in one line.

Split from :mod:`gyroage.core.sampler`, which runs its blocks on the pool.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from gyroage.errors import UserError

# How often (s) a worker off Linux looks whether its run still lives: the longest an orphan lingers.
WATCH_EVERY = 1.0


def stop_pool(pool) -> None:
    """End ``pool`` now: its pending blocks cancelled and its workers killed (their blocks' results are not wanted;
    a worker holds no file of the run). ``shutdown`` alone waits for every block already queued to a worker.

    Only the pool's own workers: its process table and manager thread are read before ``shutdown`` drops them (the
    table stays the one the manager thread fills), and looked at until no worker of it is alive and the thread has
    ended. Another pool's workers or a user's processes are never touched.
    """
    procs = getattr(pool, "_processes", None)  # private: without it, nothing to kill beyond shutdown's own
    manager = getattr(pool, "_executor_manager_thread", None)
    pool.shutdown(wait=False, cancel_futures=True)
    for _ in range(20):
        workers = [p for p in list((procs or {}).values()) if p.is_alive()]
        if not workers and (manager is None or not manager.is_alive()):
            return
        for p in workers:
            try:
                p.kill()
            except (OSError, ValueError):  # ended already, or closed
                pass
        for p in workers:
            p.join(5)
        if manager is not None:  # with its workers gone it sees a broken pool and ends
            manager.join(0.5)


def die_with_parent(parent: int) -> None:
    """End this worker when its run ``parent`` ends, even killed outright (``kill -9``, the out-of-memory killer).

    A worker left behind is idle forever, holding memory and a core's model session. On Linux the kernel kills it
    (``PR_SET_PDEATHSIG``); elsewhere (macOS, Windows), or where that call fails, a daemon thread watches the run
    (:func:`_watch_parent`) and ends the worker within :data:`WATCH_EVERY` seconds of it.
    """
    if sys.platform.startswith("linux") and _kernel_kills_orphan():
        if os.getppid() != parent:  # the parent ended before the call: no signal will come
            os.kill(os.getpid(), signal.SIGKILL)
        return
    threading.Thread(target=_watch_parent, args=(parent,), name="gyroage-watch-run", daemon=True).start()


def _kernel_kills_orphan() -> bool:
    """Ask Linux to SIGKILL this process when its parent ends; whether it agreed."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(1, signal.SIGKILL, 0, 0, 0) == 0  # 1: PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # no libc to call, or no prctl in it
        return False


def _watch_parent(parent: int) -> None:
    """Wait for the run ``parent`` to end, then end this process at once (``os._exit``: its block is not wanted).

    Two signs, either enough: multiprocessing's sentinel of the parent becomes ready (a pipe from the parent that
    closes with it on macOS, the parent's process handle on Windows, where a parent's pid is never reparented), or
    ``os.getppid()`` changes (an orphan is adopted: macOS, and Linux without prctl).
    """
    import multiprocessing
    from multiprocessing.connection import wait

    first = os.getppid()
    mp_parent = multiprocessing.parent_process()
    sentinel = [mp_parent.sentinel] if mp_parent is not None and mp_parent.pid == parent else []
    while True:
        if sentinel:
            gone = bool(wait(sentinel, timeout=WATCH_EVERY))
        else:
            time.sleep(WATCH_EVERY)
            gone = False
        if gone or os.getppid() != first:
            os._exit(1)


def leave_if_starting() -> None:
    """End this process quietly when it is a worker still importing its run's script (a spawn start method: macOS,
    Windows) and that import reached a pool of workers.

    The script calls gyroage at its top level, without ``if __name__ == "__main__":``: each worker would start a
    pool of its own, which multiprocessing refuses with a RuntimeError traceback per worker. The run, seeing its
    workers gone, says what to do in one line (:func:`broken_pool`).
    """
    import multiprocessing

    if getattr(multiprocessing.current_process(), "_inheriting", False):  # multiprocessing's own test for this
        raise SystemExit(1)


def broken_pool(start_method: str | None, exit_codes: Iterable[int | None] = ()) -> UserError:
    """The one-line error for a pool whose worker ended before its block was done (``BrokenProcessPool``).

    ``exit_codes``: the pool's workers' (``None`` while alive). The pool terminates the others (SIGTERM) once one
    is gone, so killing or memory is blamed only when no worker ended by itself (an exit code, not a signal).
    """
    ended = [c for c in exit_codes if c is not None and c >= 0]
    why = "it was killed, or ran out of memory (fewer --processes use less)"
    if ended:
        why = f"it ended by itself (exit code {ended[0]})"
    if start_method != "fork":  # a spawned worker imports the calling script, running its top level again
        why = ("under the spawn start method (macOS, Windows) each worker imports the calling script, so a script "
               f'with processes > 1 must call gyroage under `if __name__ == "__main__":`; or {why}')
    return UserError(f"a --processes worker process ended before its block was done: {why}")


def exit_codes(pool) -> list[int | None]:
    """The exit codes of ``pool``'s workers (read before ``shutdown``, which drops its process table)."""
    return [p.exitcode for p in list((getattr(pool, "_processes", None) or {}).values())]


# Why this worker's start failed (its model unreadable), or None: said by its first block (see start_failed).
_START_ERROR: str | None = None


@contextmanager
def start_failed() -> Iterator[None]:
    """Keep an error raised in a worker's start for its first block to raise (:func:`check_started`).

    Raised from the pool's initializer, it is a traceback of the pool's logger on stderr and a broken pool, which
    the run could only call killed; kept, the run stops on its first block with the worker's own error.
    """
    global _START_ERROR
    try:
        yield
    except Exception as exc:  # noqa: BLE001 -- any failure to start is the user's to read, in one line
        _START_ERROR = str(exc) or type(exc).__name__


def check_started() -> None:
    """Raise, in a worker, the error its start kept (:func:`start_failed`), if any."""
    if _START_ERROR is not None:
        raise UserError(f"a --processes worker failed to start: {_START_ERROR}")
