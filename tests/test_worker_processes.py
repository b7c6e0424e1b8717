"""--processes worker pools: killed or stopped with their run, never holding its output."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, run_cli
from tests.test_engines import stars

# The CLI with every sampler block held in its worker for two minutes (no CPU spent): a kill always lands while the
# pool's workers are busy. Each worker leaves a file named by its pid in $GYROAGE_TEST_MARKS when it takes a block.
HELD = ("import os, time\n"
        "from gyroage.core import sampler\n"
        "def held(args):\n"
        "    open(os.path.join(os.environ['GYROAGE_TEST_MARKS'], str(os.getpid())), 'w').close()\n"
        "    time.sleep(120)\n"
        "sampler._worker_run = held\n"
        "from gyroage.cli import main\n"
        "main()\n")


def alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie waiting for its reaper does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def held_run(tmp_path: Path, out: Path) -> tuple[subprocess.Popen, list[int]]:
    """A --processes mcmc run into ``out`` whose two workers are both holding a block; (process, worker pids)."""
    src, marks = tmp_path / "in.csv", tmp_path / "marks"
    marks.mkdir()
    stars(600).to_csv(src, index=False)
    env = dict(os.environ, PYTHONPATH=str(ROOT), GYROAGE_TEST_MARKS=str(marks))
    proc = subprocess.Popen([sys.executable, "-c", HELD, "estimate", str(src), "-o", str(out), "--method", "mcmc",
                             "--processes", "2", "--threads", "1", "--chunksize", "600", "-q"], cwd=ROOT, env=env,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while len(list(marks.iterdir())) < 2 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    workers = [int(p.name) for p in marks.iterdir()]
    if len(workers) < 2:
        proc.kill()
        pytest.fail(f"the workers never took a block: {proc.communicate()[1]}")
    return proc, workers


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="workers die with their parent through Linux's prctl")
def test_a_killed_processes_run_leaves_no_worker_holding_its_output(tmp_path):
    """A SIGKILLed --processes run left its forked workers alive (parent 1, idle forever), each holding the output's
    lock, so every later run into it was refused ("another gyroage run is writing") until someone killed them. The
    workers now die with the run, and hold no lock even while they live: the rerun goes ahead at once."""
    out = tmp_path / "mk.csv"
    proc, workers = held_run(tmp_path, out)
    try:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        deadline = time.monotonic() + 5
        while any(map(alive, workers)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(map(alive, workers)), "a worker outlived its killed run"
        res = run_cli("estimate", str(tmp_path / "in.csv"), "-o", str(out), "--threads", "1", "-q")
        assert res.returncode == 0, res.stderr
    finally:
        for pid in filter(alive, workers):
            os.kill(pid, signal.SIGKILL)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="lists descriptors in /proc")
def test_a_forked_child_closes_the_locks_its_parent_holds(tmp_path):
    """A child forked while a lock is held (a pool's worker) kept the lock's descriptor: the lock outlived the
    parent as long as the child did. The child now closes it at fork, and never unlocks or removes the parent's."""
    from gyroage.files import TargetLock

    out = tmp_path / "x.csv"
    lock = TargetLock(out)
    try:
        pid = os.fork()
        if pid == 0:  # the child: no descriptor of the lock file left open, and the lock still the parent's
            try:
                held = lock.fd is not None
                for fd in os.listdir("/proc/self/fd"):
                    try:
                        held = held or os.readlink(f"/proc/self/fd/{fd}").endswith("/.x.csv.lock")
                    except OSError:  # the descriptor that listed them, closed since
                        pass
                lock.release()  # a no-op here: the parent's lock file stays
                os._exit(3 if held else 0)
            except BaseException:
                os._exit(4)
        assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0
        assert (tmp_path / ".x.csv.lock").exists()
        from gyroage.errors import UserError

        with pytest.raises(UserError, match="another gyroage run is writing"):  # still held by this process
            TargetLock(out)
    finally:
        lock.release()
    assert not (tmp_path / ".x.csv.lock").exists()
