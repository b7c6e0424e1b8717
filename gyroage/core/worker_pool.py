"""The ``--processes`` worker pool's process handling: workers that die with the run that forked them, and a pool
stopped at once when the run stops.

Split from :mod:`gyroage.core.sampler`, which runs its blocks on the pool.
"""

from __future__ import annotations

import os
import signal
import sys


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
    """Have the kernel kill this process when its parent ``parent`` ends (Linux's ``PR_SET_PDEATHSIG``).

    A worker forked by a run that is SIGKILLed (or crashes) is otherwise left idle forever, holding memory and a
    core's model session. Other platforms go without.
    """
    if not sys.platform.startswith("linux"):
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
