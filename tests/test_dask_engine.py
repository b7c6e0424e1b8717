"""The Dask engine's own cluster: Ctrl-C, its temporary directory, progress."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

from tests.conftest import ROOT


def test_ctrl_c_on_the_engines_own_cluster_is_one_line_and_leaves_nothing(tmp_path):
    """Ctrl-C (SIGINT to the whole foreground process group) during --engine dask printed the workers' tracebacks
    and distributed's warnings even with -q. Now only 'gyroage: interrupted' (exit 130), and no .dask-tmp
    directory is left beside the target."""
    pytest.importorskip("distributed")
    rng = np.random.default_rng(5)
    n = 150_000
    pd.DataFrame({"prot": np.round(rng.uniform(1, 30, n), 3),
                  "bp_rp0": np.round(rng.uniform(0.6, 2.5, n), 3)}).to_csv(tmp_path / "big.csv", index=False)
    cmd = [sys.executable, "-m", "gyroage.cli", "estimate", str(tmp_path / "big.csv"), "-o", str(tmp_path / "dk.parquet"),
           "--engine", "dask", "--workers", "2", "-q"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        while not list(tmp_path.glob(".dk.parquet.*.dask-tmp")) and proc.poll() is None:
            if time.monotonic() > deadline:
                pytest.fail("the dask run never started its partitions")
            time.sleep(0.1)
        time.sleep(1.0)  # partitions under way
        if proc.poll() is not None:
            pytest.skip("the run ended before it could be interrupted")
        os.killpg(proc.pid, signal.SIGINT)  # as a terminal's Ctrl-C: every process of the group
        _, err = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 130, err
    assert err == "gyroage: interrupted\n", err
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".dk.parquet")]
    assert not (tmp_path / "dk.parquet").exists()
