"""The ``--processes`` worker pool's process handling: workers that die with the run that forked them, and a pool
stopped at once when the run stops.

Split from :mod:`gyroage.core.sampler`, which runs its blocks on the pool.
"""

from __future__ import annotations

import os
import signal
import sys


def stop_pool(pool, before: set) -> None:
    """End ``pool`` now: its pending blocks cancelled and its workers killed (their blocks' results are not wanted;
    a worker holds no file of the run). ``shutdown`` alone waits for every block already queued to a worker.

    ``before``: this process's children when the pool was made. The pool starts its workers as blocks come, and
    can start one while it is being shut down, after any list of its own was read; so every child not in
    ``before`` is a worker, killed until none is left.
    """
    import multiprocessing

    pool.shutdown(wait=False, cancel_futures=True)
    manager = getattr(pool, "_executor_manager_thread", None)  # private: without it, the workers alone
    for _ in range(20):  # a worker the pool was starting as it shut down appears late: looked for again
        workers = [p for p in multiprocessing.active_children() if p not in before]
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


def die_with_parent(parent: int | None) -> None:
    """Have the kernel kill this process when its parent ``parent`` ends (Linux's ``PR_SET_PDEATHSIG``; None: the
    worker's parent is not the run, a fork server's, which ends with it: nothing to do).

    A worker forked by a run that is SIGKILLed (or crashes) is otherwise left idle forever, holding memory and a
    core's model session. Other platforms go without.
    """
    if parent is None or not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(1, signal.SIGKILL, 0, 0, 0) != 0:  # 1: PR_SET_PDEATHSIG
            return
    except (OSError, AttributeError):  # no libc to call, or no prctl in it
        return
    if os.getppid() != parent:  # the parent ended before the call above: no signal will come
        os.kill(os.getpid(), signal.SIGKILL)
