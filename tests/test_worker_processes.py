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


def held_run(tmp_path: Path, out: Path, script: Path | None = None) -> tuple[subprocess.Popen, list[int]]:
    """A --processes mcmc run into ``out`` whose two workers are both holding a block; (process, worker pids).
    ``script``: the file run in place of :data:`HELD` (a spawned worker imports its run's script: a file)."""
    src, marks = tmp_path / "in.csv", tmp_path / "marks"
    marks.mkdir()
    stars(600).to_csv(src, index=False)
    env = dict(os.environ, PYTHONPATH=str(ROOT), GYROAGE_TEST_MARKS=str(marks))
    run = [str(script)] if script else ["-c", HELD]
    proc = subprocess.Popen([sys.executable, *run, "estimate", str(src), "-o", str(out), "--method", "mcmc",
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


def kill_run_and_wait(proc, workers, within: float = 5.0) -> None:
    """SIGKILL the run ``proc``, then give its ``workers`` up to ``within`` seconds to end."""
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + within
    while any(map(alive, workers)) and time.monotonic() < deadline:
        time.sleep(0.05)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="workers die with their parent through Linux's prctl")
def test_a_killed_processes_run_leaves_no_worker_holding_its_output(tmp_path):
    """A SIGKILLed --processes run left its forked workers alive (parent 1, idle forever), each holding the output's
    lock, so every later run into it was refused ("another gyroage run is writing") until someone killed them. The
    workers now die with the run, and hold no lock even while they live: the rerun goes ahead at once."""
    out = tmp_path / "mk.csv"
    proc, workers = held_run(tmp_path, out)
    try:
        kill_run_and_wait(proc, workers)
        assert not any(map(alive, workers)), "a worker outlived its killed run"
        res = run_cli("estimate", str(tmp_path / "in.csv"), "-o", str(out), "--threads", "1", "-q")
        assert res.returncode == 0, res.stderr
    finally:
        for pid in filter(alive, workers):
            os.kill(pid, signal.SIGKILL)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc (the run is made to act as on macOS)")
def test_a_killed_processes_run_leaves_no_worker_without_the_kernels_help(tmp_path):
    """Review A2 #8: off Linux (no PR_SET_PDEATHSIG) the workers of a SIGKILLed --processes run lived on, idle
    forever. Run as on macOS (spawned workers, no prctl: the platform worker_pool sees is darwin, patched at the
    script's top level, which each spawned worker imports too), a worker now watches its run and ends within
    seconds of it."""
    script = tmp_path / "as_macos.py"
    script.write_text(HELD.replace("from gyroage.cli import main\nmain()\n", "")
                      + "import multiprocessing, sys\n"
                        "import gyroage.core.worker_pool as wp\n"
                        "wp.sys = type(sys)('sys_as_darwin')\n"
                        "wp.sys.platform = 'darwin'\n"
                        "_get_context = multiprocessing.get_context\n"
                        "multiprocessing.get_context = lambda method=None: _get_context('spawn')\n"
                        "if __name__ == '__main__':\n"
                        "    from gyroage.cli import main\n"
                        "    main()\n")
    proc, workers = held_run(tmp_path, tmp_path / "mac.csv", script)
    try:
        time.sleep(1.5)  # alive while their run is: the watch never ends a worker of a live run
        assert all(map(alive, workers)) and proc.poll() is None
        kill_run_and_wait(proc, workers)
        assert not any(map(alive, workers)), "a worker outlived its killed run"
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


def _slow_block(args):
    """A sampler block that takes 3 s (sleeping, no CPU): the pool's stand-in for a busy worker. The block of the
    first star fails after 0.5 s when ``fails`` is set (the test's other case)."""
    if _slow_block.fails and args[5][0] == 0:
        time.sleep(0.5)
        raise ValueError("this block failed")
    time.sleep(3)
    raise AssertionError("a block of a stopped run was computed to its end")


@pytest.mark.parametrize("stop", ["interrupt", "failed block"])
def test_a_stopped_pool_ends_at_once(model, monkeypatch, stop):
    """Stopping a --processes run (Ctrl-C, SIGTERM) waited for every pending block of the pool: 9.6 s of an 18.4 s
    run, minutes with the default chunk size; a failed block waited likewise. The pending blocks are now cancelled
    and the workers killed: the error leaves the pool at once, and no worker is left."""
    import multiprocessing

    import numpy as np

    from gyroage.core import sampler
    from gyroage.core.mcmc_target import StarInputs
    from gyroage.core.priors import Prior

    n = 10  # ten blocks of one star, 3 s each on two workers: 15 s if the pool waits for them
    stars = StarInputs(np.log10(np.full(n, 8.0)), np.full(n, 1e-3), np.full(n, 1.2), np.full(n, 0.015))
    settings = sampler.SamplerSettings(block=1, processes=2, max_steps=100)
    monkeypatch.setattr(sampler, "_worker_run", _slow_block)
    monkeypatch.setattr(_slow_block, "fails", stop == "failed block", raising=False)  # seen by the forked workers
    if stop == "interrupt":
        def interrupt(signum, frame):
            raise KeyboardInterrupt

        previous = signal.signal(signal.SIGALRM, interrupt)
        signal.setitimer(signal.ITIMER_REAL, 1.0)  # the workers are up and each holds a block
        error = KeyboardInterrupt
    else:
        error = ValueError
    t0 = time.monotonic()
    try:
        with pytest.raises(error):
            sampler.sample_stars(model.density, Prior(), stars, settings, seed=1)
    finally:
        if stop == "interrupt":
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
    waited = time.monotonic() - t0
    assert waited < 3.0, f"the pool took {waited:.1f} s to stop"  # 1 s to the interrupt, 0.5 s to the failure
    # a worker the pool's manager thread was starting as it shut down can appear just after: it finds the pool
    # gone and ends by itself within a fraction of a second; none may still be there 2 s on (the blocks take 3 s)
    deadline = time.monotonic() + 2.0
    while multiprocessing.active_children() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert multiprocessing.active_children() == []


@pytest.mark.parametrize("method", ["forkserver", "spawn", "unset"])
def test_processes_work_whatever_the_start_method(tmp_path, method):
    """Review V3: a worker started by a fork server has the server, not the run, as its parent, so the check that
    the run had already ended killed every worker (BrokenProcessPool): --processes failed under Python 3.14's
    default start method. Each start method gives the same ages as one process."""
    script = tmp_path / "run.py"
    script.write_text(
        "import sys, multiprocessing as mp\n"
        "import numpy as np\n"
        "from gyroage import AgeModel\n"
        "from gyroage.core.mcmc_target import StarInputs\n"
        "from gyroage.core.priors import Prior\n"
        "from gyroage.core.sampler import SamplerSettings, sample_stars\n"
        "if __name__ == '__main__':\n"
        "    if sys.argv[1] != 'unset':\n"
        "        mp.set_start_method(sys.argv[1])\n"
        "    m = AgeModel.load()\n"
        "    stars = StarInputs(np.log10([8.0, 12.0]), np.full(2, 1e-3), np.array([1.2, 1.4]), np.full(2, 0.015))\n"
        "    ages = [sample_stars(m.density, Prior(), stars, SamplerSettings(block=1, processes=p, max_steps=100),\n"
        "                         seed=1).summaries['age_p50_myr'] for p in (1, 2)]\n"
        "    if sys.argv[1] == 'unset':  # a run must not fix the process's start method for its caller\n"
        "        mp.set_start_method('spawn')\n"
        "    print(repr(ages[0].tolist()) + '|' + repr(ages[1].tolist()))\n")
    res = subprocess.run([sys.executable, str(script), method], cwd=ROOT, capture_output=True, text=True, timeout=120,
                         env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert res.returncode == 0, res.stderr[-2000:]
    one, two = res.stdout.strip().splitlines()[-1].split("|")
    assert one == two, res.stdout


def test_a_stopped_pool_kills_only_its_own_workers(model, monkeypatch):
    """Review V4: stopping a failed --processes run killed every child process made since its pool, a user's own
    processes and another pool's workers too (the API in a notebook). Only the pool's workers are killed."""
    import multiprocessing

    import numpy as np

    from gyroage.core import sampler
    from gyroage.core.mcmc_target import StarInputs
    from gyroage.core.priors import Prior

    stars = StarInputs(np.log10(np.full(4, 8.0)), np.full(4, 1e-3), np.full(4, 1.2), np.full(4, 0.015))
    monkeypatch.setattr(sampler, "_worker_run", _slow_block)
    monkeypatch.setattr(_slow_block, "fails", True, raising=False)
    other = multiprocessing.get_context("fork").Process(target=time.sleep, args=(30,))
    real_submit = __import__("concurrent.futures").futures.ProcessPoolExecutor.submit

    def submit_and_start_another(pool, *a, **k):  # a user's process made while the pool runs
        if not other.is_alive() and other.exitcode is None:
            other.start()
        return real_submit(pool, *a, **k)

    monkeypatch.setattr("concurrent.futures.ProcessPoolExecutor.submit", submit_and_start_another)
    try:
        with pytest.raises(ValueError):
            sampler.sample_stars(model.density, Prior(), stars, sampler.SamplerSettings(block=1, processes=2,
                                                                                        max_steps=100), seed=1)
        assert other.is_alive()
    finally:
        other.kill()
        other.join(5)


# Python as on macOS and Windows, whose default start method is spawn (a worker imports the run's script as its
# __mp_main__, so the patch is at the script's top level); the run as in the README's Python API section.
SPAWN_SCRIPT = ("import multiprocessing\n"
                "_get_context = multiprocessing.get_context\n"
                "multiprocessing.get_context = lambda method=None: _get_context('spawn')\n"
                "import pandas as pd\n"
                "from gyroage import AgeModel, EstimateSettings, SamplerSettings\n"
                "def run():\n"
                "    frame = pd.DataFrame({'prot': [8.0, 12.0], 'bp_rp0': [1.2, 1.4]})\n"
                "    sampler = SamplerSettings(block=1, processes=2, max_steps=50, min_n_eff=10.0)\n"
                "    out = AgeModel.load().estimate(frame, EstimateSettings(method='mcmc', sampler=sampler))\n"
                "    print(out['status'].tolist())\n")


@pytest.mark.parametrize("guarded", [False, True])
def test_processes_under_spawn_without_a_main_guard_is_one_clear_error(tmp_path, guarded):
    """Review A2 #7: under spawn (macOS, Windows) a script calling estimate with processes > 1 at its top level, with
    no ``if __name__ == "__main__":``, ended in three tracebacks (each worker's RuntimeError as it reran the script,
    then the run's BrokenProcessPool). The workers now leave quietly and the run raises one UserError saying what to
    do; under the guard the same run gives its ages."""
    script = tmp_path / "ages.py"
    script.write_text(SPAWN_SCRIPT + ("if __name__ == '__main__':\n    run()\n" if guarded else "run()\n"))
    res = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                         env=dict(os.environ, PYTHONPATH=str(ROOT)))
    if guarded:
        assert res.returncode == 0, res.stderr[-3000:]
        assert res.stdout.strip().splitlines()[-1].startswith("['"), res.stdout
        return
    assert res.returncode == 1 and res.stdout == "", res.stdout + res.stderr[-3000:]
    assert res.stderr.count("Traceback") == 1, res.stderr[-3000:]
    for noise in ("RuntimeError", "BrokenProcessPool", "bootstrapping", "During handling"):
        assert noise not in res.stderr, res.stderr[-3000:]
    last = res.stderr.strip().splitlines()[-1]
    assert last.startswith("gyroage.errors.UserError: ") and 'if __name__ == "__main__":' in last, last


def test_a_worker_failing_to_start_is_said_so(model, monkeypatch):
    """Review V5 #2: a worker whose start failed (its model file unreadable) was reported as "killed, or ran out of
    memory (fewer --processes use less)", and its error was lost (a traceback of the pool's logger on stderr). The
    run now says a worker failed to start, with the worker's error."""
    import numpy as np

    from gyroage.core import sampler
    from gyroage.core.mcmc_target import StarInputs
    from gyroage.core.priors import Prior
    from gyroage.errors import UserError

    parent, real = os.getpid(), sampler.cached_density

    def unreadable(*args, **kw):  # seen by the forked workers alone
        if os.getpid() != parent:
            raise OSError(13, "Permission denied", "density.onnx")
        return real(*args, **kw)

    monkeypatch.setattr(sampler, "cached_density", unreadable)
    stars = StarInputs(np.log10(np.full(2, 8.0)), np.full(2, 1e-3), np.full(2, 1.2), np.full(2, 0.015))
    settings = sampler.SamplerSettings(block=1, processes=2, max_steps=50, min_n_eff=10.0)
    with pytest.raises(UserError, match=r"^a --processes worker failed to start: \[Errno 13\] Permission denied: "
                                        r"'density.onnx'$"):
        sampler.sample_stars(model.density, Prior(), stars, settings, seed=1)


@pytest.mark.parametrize(("codes", "killed"), [([-9, -15], True), ([-15], True), ([1, -15], False), ([0], False)])
def test_a_broken_pool_blames_killing_only_for_a_signal(codes, killed):
    """A worker that ended by itself (an exit code, not a signal) was said to be killed or out of memory."""
    from gyroage.core.worker_pool import broken_pool

    text = str(broken_pool("fork", codes))
    assert ("killed, or ran out of memory" in text) is killed, text
    if not killed:
        assert f"exit code {codes[0]}" in text, text
