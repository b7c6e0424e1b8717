"""Same seed, same output: across Dask workers and partitions, --threads, and runs cut short or resumed."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from gyroage.core.sampler import SamplerSettings
from gyroage.engines import dask_engine
from gyroage.engines import local as engines
from tests.test_engines import AGE_COLS, stars


@pytest.fixture(scope="module")
def density():
    from gyroage.core.density import FlowDensity

    return FlowDensity(threads=2)


def test_dask_mcmc_does_not_depend_on_workers_or_partitions(tmp_path, density, settings):
    """MCMC under Dask gave other ages with 2 workers than with 1 (the input was repartitioned to keep workers busy,
    so the blocks and their random streams changed); each star's stream now follows from the seed and --chunksize
    alone, as in the local engine, however the input is partitioned."""
    pytest.importorskip("distributed")
    from distributed import Client, LocalCluster

    src = tmp_path / "in.csv"
    stars(90, seed=5).to_csv(src, index=False)
    mcmc = replace(settings, method="mcmc", seed=3, sampler=SamplerSettings(max_steps=100, block=8))
    engines.run_local(src, tmp_path / "local.parquet", density, mcmc, chunksize=40, quiet=True)
    local = pd.read_parquet(tmp_path / "local.parquet")
    outs = []
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        # one partition (split to keep both workers busy) and several, cut where the bytes fall
        for i, blocksize in enumerate((None, 700)):
            out = tmp_path / f"dask{i}.parquet"
            dask_engine.run_dask(str(src), out, mcmc, chunksize=40, blocksize=blocksize, quiet=True, client=client)
            outs.append(pd.read_parquet(out))
    pd.testing.assert_frame_equal(outs[0], outs[1])
    x, y = local[AGE_COLS].to_numpy(), outs[0][AGE_COLS].to_numpy()
    assert list(local["status"]) == list(outs[0]["status"]) and np.array_equal(np.isnan(x), np.isnan(y))
    ok = ~np.isnan(x)
    assert np.max(np.abs(x[ok] / y[ok] - 1)) <= 1e-5  # the workers' sessions run one thread: last digits only


def test_grid_output_does_not_depend_on_threads(tmp_path, settings):
    """--threads set how many stars went into each grid block (so into each onnxruntime batch), which moved the
    last bits of some ages (and, on 100k stars, a printed digit); blocks are now cut the same for any thread count,
    so the output is byte-identical, and a resumed run may change --threads."""
    from gyroage.core.density import FlowDensity

    src = tmp_path / "in.csv"
    stars(4500, seed=11).to_csv(src, index=False)
    outs = {}
    for threads in (1, 2, 3):
        density = FlowDensity(threads=threads)
        for suffix in ("csv", "parquet"):  # Parquet keeps every bit of the ages
            out = tmp_path / f"t{threads}.{suffix}"
            engines.run_local(src, out, density, settings, chunksize=5000, quiet=True)
            outs[threads, suffix] = out.read_bytes()
    for suffix in ("csv", "parquet"):
        assert outs[1, suffix] == outs[2, suffix] == outs[3, suffix], suffix


@pytest.mark.parametrize("posteriors", [True, False])
def test_a_closed_stdout_does_not_lose_the_posteriors_silently(tmp_path, posteriors):
    """`estimate big.csv --posteriors p.parquet | head -1` exited 0 and never wrote p.parquet; it now says so in one
    line and exits 2. Without --posteriors a reader that stops early is no error: silent, exit 0."""
    import subprocess
    import sys

    from tests.conftest import ROOT

    src = tmp_path / "in.csv"
    stars(50).to_csv(src, index=False)
    post = tmp_path / "p.parquet"
    args = ["--posteriors", str(post)] if posteriors else []
    proc = subprocess.Popen([sys.executable, "-m", "gyroage.cli", "estimate", str(src), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    proc.stdout.close()  # the reader is gone before the first row: every write to stdout is a broken pipe
    # the line naming the columns read comes before any row is written: not an error, not part of what is checked
    err = "".join(line for line in proc.stderr.read().splitlines(keepends=True)
                  if not line.startswith("estimate: reading "))
    code = proc.wait(timeout=60)
    assert not post.exists()
    if posteriors:
        assert code == 2 and err.splitlines() == [
            f"gyroage: error: the output closed before the table was written (broken pipe): --posteriors {post} "
            "not written"], err
    else:
        assert code == 0 and err == ""


def test_run_dask_default_chunks_are_the_command_lines(tmp_path, settings):
    """run_dask's chunksize defaulted to 20,000 rows while `estimate --chunksize` (and run_local) default to 10,000,
    so a Python caller got other MCMC draws than `estimate --engine dask` for the same seed: with --method mcmc a
    star's random stream then followed its place in its chunk (it is keyed by the seed and the input row since
    512a701). Two usable stars either side of row 10,000 (the other rows have no period, so nothing else is sampled)
    share a chunk only under the larger default; the tables must still be equal (the chunk also sets the grid's
    float32 batches)."""
    pytest.importorskip("distributed")
    from distributed import Client, LocalCluster

    from tests.conftest import run_cli

    n = 10_002
    frame = pd.DataFrame({"prot": [""] * n, "bp_rp0": ["1.0"] * n})
    frame.loc[[9_999, 10_000], "prot"] = ["8.0", "12.0"]
    src = tmp_path / "in.csv"
    frame.to_csv(src, index=False)
    cli = tmp_path / "cli.parquet"
    res = run_cli("estimate", str(src), "-o", str(cli), "--engine", "dask", "--workers", "1", "--method", "mcmc",
                  "--seed", "3", "--max-steps", "200", "-q")
    assert res.returncode == 0, res.stderr
    mcmc = replace(settings, method="mcmc", seed=3, sampler=SamplerSettings(max_steps=200))
    out = tmp_path / "api.parquet"
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        dask_engine.run_dask(str(src), out, mcmc, quiet=True, client=client)
    a, b = pd.read_parquet(cli), pd.read_parquet(out)
    assert a["age_p50_myr"].notna().sum() == 2
    pd.testing.assert_frame_equal(a, b)


def test_synthetic_example_is_drawn_from_the_shipped_model():
    """catalogs/examples/synthetic_stars.csv claims to be drawn from the shipped flow (catalogs/README.md).

    A model change that forgets `python catalogs/make_examples.py` leaves it drawn from an older flow, as it was
    until de34343 (periods off by up to a factor of two). Tolerances absorb onnxruntime's rounding across machines.
    """
    import importlib.util

    import numpy as np
    import pandas as pd

    from tests.conftest import EXAMPLES, ROOT

    spec = importlib.util.spec_from_file_location("make_examples", ROOT / "catalogs" / "make_examples.py")
    make_examples = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_examples)
    fresh = make_examples.synthetic()
    shipped = pd.read_csv(EXAMPLES / "synthetic_stars.csv")
    assert list(shipped.columns) == list(fresh.columns)
    assert (shipped["star_id"] == fresh["star_id"]).all()
    np.testing.assert_allclose(shipped["true_age_myr"], fresh["true_age_myr"], rtol=1e-6)
    np.testing.assert_allclose(shipped["Prot"], fresh["Prot"], rtol=1e-3, atol=2e-4)


def test_local_mcmc_ages_do_not_depend_on_chunksize(tmp_path, density, settings):
    """The engine passed each chunk's rows as 0..n-1, so a star's random stream (keyed by its row) followed its
    place in its chunk: --chunksize 1 and 20 gave other MCMC ages for every star after the first."""
    src = tmp_path / "in.csv"
    stars(12, seed=7).to_csv(src, index=False)
    mcmc = replace(settings, method="mcmc", seed=3, sampler=SamplerSettings(max_steps=100, block=8))
    outs = []
    for chunksize in (1, 5, 20):
        out = tmp_path / f"c{chunksize}.csv"
        engines.run_local(src, out, density, mcmc, chunksize=chunksize, quiet=True)
        outs.append(out.read_bytes())
    assert outs[0] == outs[1] == outs[2]


def test_an_api_caller_with_one_blas_thread_gets_the_command_lines_last_bits(tmp_path):
    """`gyroage estimate` asks numpy's BLAS for one thread; a Python caller kept threaded OpenBLAS, whose matrix
    products in the calibration sum in another order on grids above 201 points (``n_grid=401``: 123 of 1,400 ages
    moved, up to 6e-14 relative, on a 2-core machine), and README gave the variable as a speed tip only, nowhere
    near "From Python" (review V63, 7). README now says there that the caller must set it before numpy loads, and
    so set, ``AgeModel.estimate`` gives the command line's ages to the last bit."""
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT, run_cli

    readme = (ROOT / "README.md").read_text()
    python = readme[readme.index("From Python (`from gyroage import AgeModel`"):readme.index("Arrays broadcast together")]
    assert "OPENBLAS_NUM_THREADS=1" in python and "before" in python and "numpy" in python
    src = tmp_path / "in.csv"
    stars(300, seed=7).to_csv(src, index=False)
    res = run_cli("estimate", str(src), "-q", "--grid", "401", "-o", str(tmp_path / "cli.parquet"))
    assert res.returncode == 0, res.stderr
    code = ("import os\n"
            "os.environ['OPENBLAS_NUM_THREADS'] = '1'; os.environ['MKL_NUM_THREADS'] = '1'  # before numpy, as README\n"
            "import warnings; warnings.simplefilter('ignore')\n"
            "import gyroage\n"
            "model = gyroage.AgeModel.load()\n"
            f"out = model.estimate(gyroage.read_stars(r'{src}'), gyroage.EstimateSettings(n_grid=401))\n"
            f"out.to_parquet(r'{tmp_path / 'api.parquet'}')\n")
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)
    assert res.returncode == 0, res.stderr
    cli, api = pd.read_parquet(tmp_path / "cli.parquet"), pd.read_parquet(tmp_path / "api.parquet")
    assert list(cli["status"]) == list(api["status"])
    for col in [*AGE_COLS, "p_outlier"]:
        assert np.array_equal(cli[col].to_numpy(float), api[col].to_numpy(float), equal_nan=True), col
