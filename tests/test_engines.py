"""Catalogue scale: streaming, --resume after a kill, the Dask engine, progress, lazy imports."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gyroage.core.estimate import EstimateSettings
from gyroage.engines import dask_engine
from gyroage.engines import local as engines
from tests.conftest import ROOT, count_chunks, run_cli

AGE_COLS = ["age_p2.5_myr", "age_p16_myr", "age_p50_myr", "age_p84_myr", "age_p97.5_myr", "age_map_myr"]


def interrupt_after(monkeypatch, name: str, finished: int) -> tuple:
    """Make ``engines.<name>`` raise KeyboardInterrupt (what a Ctrl-C or a kill leaves) once it has returned
    ``finished`` times: (the real function, to put back; the count of calls that returned)."""
    real = getattr(engines, name)
    calls = {"n": 0}

    def dies(*a, **k):
        if calls["n"] == finished:
            raise KeyboardInterrupt
        calls["n"] += 1
        return real(*a, **k)

    monkeypatch.setattr(engines, name, dies)
    return real, calls


def stars(n: int, seed: int = 1) -> pd.DataFrame:
    """Synthetic rows (no catalogue rows), with a few bad ones to carry statuses through."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"star": [f"s{i}" for i in range(n)],
                       "Prot": np.round(10 ** rng.uniform(0, 1.4, n), 3),
                       "BPRP_0": np.round(rng.uniform(0.6, 2.8, n), 3),
                       "e_BPRP_0": np.round(rng.uniform(0.01, 0.05, n), 4)})
    df.loc[::37, "Prot"] = -1.0
    return df


@pytest.fixture(scope="module")
def density():
    from gyroage.core.density import FlowDensity

    return FlowDensity(threads=2)


def interrupted_run(tmp_path, density, settings, monkeypatch, n: int = 300, finished: int = 1):
    """An ``n``-star run into out.csv in chunks of 100, killed (KeyboardInterrupt) after ``finished`` chunks.

    Returns (input, output).
    """
    src = tmp_path / "in.csv"
    stars(n).to_csv(src, index=False)
    out = tmp_path / "out.csv"
    real, _ = interrupt_after(monkeypatch, "estimate_chunk", finished)
    with pytest.raises(KeyboardInterrupt):
        engines.run_local(src, out, density, settings, chunksize=100, quiet=True)
    monkeypatch.setattr(engines, "estimate_chunk", real)
    return src, out


def test_resume_after_interrupt_matches_uninterrupted(tmp_path, density, settings, monkeypatch):
    src, out = interrupted_run(tmp_path, density, settings, monkeypatch, n=700, finished=3)
    ref = tmp_path / "ref.csv"
    engines.run_local(src, ref, density, settings, chunksize=100, quiet=True)
    assert not out.exists()
    manifest = json.loads((engines.sidecar_dir(out) / "manifest.json").read_text())
    assert sorted(manifest["chunks"]) == ["0", "1", "2"]

    real = engines.estimate_chunk
    recomputed = []

    def counting(frame, *a, **k):
        recomputed.append(int(frame.index[0]))
        return real(frame, *a, **k)

    monkeypatch.setattr(engines, "estimate_chunk", counting)
    counts = engines.run_local(src, out, density, settings, chunksize=100, quiet=True, resume=True)
    assert recomputed == [300, 400, 500, 600]  # finished chunks are not recomputed
    assert out.read_bytes() == ref.read_bytes()
    assert sum(counts.values()) == 700
    assert not engines.sidecar_dir(out).exists()


def test_resume_into_a_gz_output_gives_the_uninterrupted_bytes(tmp_path, density, settings, monkeypatch):
    """Chunks wait in the sidecar as plain CSV; the assembled output is compressed, the same bytes as a run in one go."""
    import gzip

    src = tmp_path / "in.csv"
    stars(300).to_csv(src, index=False)
    plain, ref, out = tmp_path / "plain.csv", tmp_path / "ref.csv.gz", tmp_path / "out.csv.gz"
    for target in (plain, ref):
        engines.run_local(src, target, density, settings, chunksize=100, quiet=True)
    real, _ = interrupt_after(monkeypatch, "estimate_chunk", 2)
    with pytest.raises(KeyboardInterrupt):
        engines.run_local(src, out, density, settings, chunksize=100, quiet=True)
    monkeypatch.setattr(engines, "estimate_chunk", real)
    assert not out.exists() and engines.sidecar_dir(out).is_dir()
    engines.run_local(src, out, density, settings, chunksize=100, quiet=True, resume=True)
    assert out.read_bytes() == ref.read_bytes() and gzip.decompress(out.read_bytes()) == plain.read_bytes()
    assert not engines.sidecar_dir(out).exists()


def test_resume_refuses_other_settings(tmp_path, density, settings, monkeypatch):
    src, out = interrupted_run(tmp_path, density, settings, monkeypatch)
    from gyroage.errors import UserError

    other = EstimateSettings(prior=settings.prior, n_grid=settings.n_grid + 10)
    with pytest.raises(UserError, match="--grid .* differs from the interrupted run's"):  # named (review K)
        engines.run_local(src, out, density, other, chunksize=100, quiet=True, resume=True)


def test_resume_after_sigkill_cli(tmp_path):
    """A real kill -9 of the CLI mid-run, then --resume: same bytes as an uninterrupted run."""
    src = tmp_path / "in.csv"
    stars(600, seed=5).to_csv(src, index=False)
    out = tmp_path / "out.csv"
    # The CLI with its third chunk held back: the kill always lands mid-run, however fast the machine (the run used
    # to finish first on a fast one, and the test skipped).
    held = ("import sys, time\n"
            "from gyroage.engines import local\n"
            "real, calls = local.estimate_chunk, []\n"
            "def held(*a, **k):\n"
            "    calls.append(1)\n"
            "    if len(calls) > 2:\n"
            "        time.sleep(120)  # killed here\n"
            "    return real(*a, **k)\n"
            "local.estimate_chunk = held\n"
            "from gyroage.cli import main\n"
            "main()\n")
    args = [sys.executable, "-c", held, "estimate", str(src), "-o", str(out), "--chunksize", "100", "-q",
            "--threads", "1"]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(args, cwd=ROOT, env=env)
    manifest = engines.sidecar_dir(out) / "manifest.json"
    deadline = time.time() + 50
    done = 0
    while time.time() < deadline and proc.poll() is None:
        try:
            done = len(json.loads(manifest.read_text())["chunks"])
        except (OSError, ValueError):
            done = 0
        if done >= 2:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the run ended before it was killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not out.exists() and done >= 2
    res = run_cli("estimate", str(src), "-o", str(out), "--chunksize", "100", "--resume")
    assert res.returncode == 0, res.stderr
    assert "resumed" in res.stderr
    ref = tmp_path / "ref.csv"
    res = run_cli("estimate", str(src), "-o", str(ref), "--chunksize", "100", "-q")
    assert res.returncode == 0, res.stderr
    assert out.read_bytes() == ref.read_bytes()


def test_resume_needs_files():
    res = run_cli("estimate", "-", "--resume", input="prot,bp_rp0\n10,1\n")
    assert res.returncode == 2 and "resume" in res.stderr and "Traceback" not in res.stderr


def test_stdin_into_a_file_leaves_no_sidecar(tmp_path, density, settings, monkeypatch):
    """--resume refuses stdin, so an interrupted stdin run must not leave a .out.csv.resume/ it could never use."""
    text = stars(300).to_csv(index=False).encode()
    out = tmp_path / "out.csv"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(text)))
    real, calls = interrupt_after(monkeypatch, "estimate_chunk", 2)
    with pytest.raises(KeyboardInterrupt):
        engines.run_local("-", out, density, settings, chunksize=100, quiet=True)
    assert calls["n"] == 2 and sorted(p.name for p in tmp_path.iterdir()) == []  # no output, sidecar or temp file
    monkeypatch.setattr(engines, "estimate_chunk", real)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(text)))
    engines.run_local("-", out, density, settings, chunksize=100, quiet=True)  # finished: the same file as from a file
    src, ref = tmp_path / "in.csv", tmp_path / "ref.csv"
    src.write_bytes(text)
    engines.run_local(src, ref, density, settings, chunksize=100, quiet=True)
    assert out.read_bytes() == ref.read_bytes()


def test_stdin_is_streamed_in_chunks(tmp_path):
    """stdin gives the same output as the file, across chunk boundaries and a delimiter other than ','."""
    df = stars(250)
    text = df.to_csv(index=False, sep=";")
    f = tmp_path / "in.csv"
    f.write_text(text)
    a = run_cli("estimate", "-", "-q", "--chunksize", "60", input=text)
    b = run_cli("estimate", str(f), "-q", "--chunksize", "60")
    assert a.returncode == 0, a.stderr
    assert a.stdout == b.stdout
    out = pd.read_csv(io.StringIO(a.stdout))
    assert list(out["star"]) == list(df["star"])


def test_prefixed_stream_never_reads_all(monkeypatch):
    from gyroage.io import _Prefixed

    class Rest(io.StringIO):
        def read(self, size=-1):
            assert size is not None and size >= 0, "slurped the whole stream"
            return super().read(size)

    s = _Prefixed("a,b\n1,", Rest("2\n3,4\n"))
    frame = pd.concat(pd.read_csv(s, chunksize=1))
    assert frame.to_dict("list") == {"a": [1, 3], "b": [2, 4]}


def test_progress_rate_eta_and_quiet(tmp_path):
    src = tmp_path / "in.csv"
    stars(200).to_csv(src, index=False)
    loud = run_cli("estimate", str(src), "-o", str(tmp_path / "a.csv"), "--chunksize", "50")
    assert loud.returncode == 0
    last = loud.stderr.strip().splitlines()[-1]
    assert "200/200" in last and "stars/s" in last and "ok" in last
    quiet = run_cli("estimate", str(src), "-o", str(tmp_path / "b.csv"), "-q")
    assert quiet.returncode == 0 and quiet.stderr == ""


def test_progress_eta(capsys, monkeypatch):
    from gyroage import progress

    t = iter([0.0, 10.0, 10.0])
    monkeypatch.setattr(progress.time, "perf_counter", lambda: next(t))
    p = progress.Progress("job", total=100, unit="things")
    p.update(25)
    err = capsys.readouterr().err
    assert "25/100" in err and "ETA 30 s" in err and "2.5 things/s" in err


def test_a_resume_that_computes_no_row_says_no_rate(capsys):
    """A --resume whose rows were all finished by the interrupted run ended '300000/300000 | 0 stars/s', which reads
    like a stall (review V48, 6): with no row computed the line gives no rate; one computed row gives one."""
    from gyroage import progress

    p = progress.Progress("estimate", total=300, unit="stars")
    p.skip(300)
    p.close(extra="ok 300")
    assert capsys.readouterr().err.strip() == "estimate: 300/300 | taken over from the interrupted run | ok 300"
    p = progress.Progress("estimate", total=300, unit="stars")
    p.skip(299)
    p.update(1)
    p.close()
    assert "stars/s" in capsys.readouterr().err


def test_estimate_modules_import_no_heavy_optional_packages():
    code = ("import sys, gyroage.cli as c; from gyroage import engines; from gyroage.core import density, estimate;"
            "bad=[m for m in ('torch','dask','distributed','matplotlib','astroquery') if m in sys.modules];"
            "print(','.join(bad))")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         env=dict(os.environ, PYTHONPATH=str(ROOT)), timeout=60)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == ""


def test_dask_engine_equals_local(tmp_path, density, settings):
    pytest.importorskip("distributed")
    from distributed import Client, LocalCluster

    src = tmp_path / "in.csv"
    stars(400, seed=3).to_csv(src, index=False)
    local = tmp_path / "local.parquet"
    engines.run_local(src, local, density, settings, chunksize=64, quiet=True)
    out = tmp_path / "dask.parquet"
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        counts = dask_engine.run_dask(str(src), out, settings, workers=2, blocksize=4000, chunksize=64, quiet=True,
                                  client=client)
        n_parts = len(list(out.glob("part.*.parquet")))
        # each worker process holds exactly one cached density (its own onnxruntime session)
        sessions = client.run(lambda: len(__import__("gyroage.core.density", fromlist=["_CACHE"])._CACHE))
    assert n_parts >= 2 and len(sessions) == 2 and all(v == 1 for v in sessions.values())
    a, b = pd.read_parquet(local), pd.read_parquet(out)
    assert list(a["star"]) == list(b["star"])
    assert list(a["status"]) == list(b["status"])
    x, y = a[AGE_COLS].to_numpy(), b[AGE_COLS].to_numpy()
    assert np.array_equal(np.isnan(x), np.isnan(y))
    ok = ~np.isnan(x)
    assert np.max(np.abs(x[ok] / y[ok] - 1)) <= 1e-6
    assert sum(counts.values()) == 400


def test_progress_track_and_quiet(capsys):
    from gyroage.progress import Progress

    with Progress("validate", total=3, unit="clusters", every=0.0) as p:
        assert list(p.track(["a", "b", "c"])) == ["a", "b", "c"]
    err = capsys.readouterr().err
    assert "validate: 3/3" in err and "clusters/s" in err
    with Progress("crossmatch", total=2, quiet=True, every=0.0) as p:
        list(p.track([1, 2]))
        p.log("cache hit")
    assert capsys.readouterr().err == ""


def test_failed_start_leaves_no_sidecar(tmp_path):
    for name, text in (("nocol.csv", "name,period\nx,1\n"), ("empty.csv", "")):
        src = tmp_path / name
        src.write_text(text)
        out = tmp_path / f"out_{name}"
        res = run_cli("estimate", str(src), "-o", str(out))
        assert res.returncode == 2 and "Traceback" not in res.stderr
        assert not out.exists() and not engines.sidecar_dir(out).exists()
    res = run_cli("estimate", str(tmp_path / "missing.csv"), "-o", str(tmp_path / "o.csv"))
    assert res.returncode == 2 and "not found" in res.stderr


def test_resume_refuses_changed_input(tmp_path, density, settings, monkeypatch):
    src, out = interrupted_run(tmp_path, density, settings, monkeypatch)
    stars(300, seed=9).to_csv(src, index=False)
    from gyroage.errors import UserError

    with pytest.raises(UserError, match="input differs"):
        engines.run_local(src, out, density, settings, chunksize=100, quiet=True, resume=True)


def test_resume_of_a_finished_output_says_it_computes_every_row(tmp_path, density, settings, monkeypatch, capsys):
    """A finished run keeps no resume state (its sidecar is dropped): --resume on its output recomputed every row
    without a word. It still recomputes (the old output cannot be checked against the input and settings), into
    the same bytes, and says so in one stderr line, even with -q; a run with something to resume does not."""
    src = tmp_path / "in.csv"
    stars(250).to_csv(src, index=False)
    out = tmp_path / "out.csv"
    engines.run_local(src, out, density, settings, chunksize=100, quiet=True)
    first = out.read_bytes()
    capsys.readouterr()
    calls = count_chunks(monkeypatch)
    engines.run_local(src, out, density, settings, chunksize=100, quiet=True, resume=True)
    assert calls == [100, 100, 50] and out.read_bytes() == first and not engines.sidecar_dir(out).exists()
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("gyroage: --resume: ") and str(out) in err[0], err
    assert "nothing to resume" in err[0] and "computing every row" in err[0], err
    fresh = tmp_path / "never.csv"  # no output and no sidecar: the same notice, without "exists"
    engines.run_local(src, fresh, density, settings, chunksize=100, quiet=True, resume=True)
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and "nothing to resume" in err[0] and "exists" not in err[0], err
    assert fresh.read_bytes() == first


def test_resume_with_finished_chunks_prints_no_notice(tmp_path, density, settings, monkeypatch, capsys):
    src, out = interrupted_run(tmp_path, density, settings, monkeypatch, n=300, finished=1)
    capsys.readouterr()
    engines.run_local(src, out, density, settings, chunksize=100, quiet=True, resume=True)
    assert capsys.readouterr().err == ""


def test_resumed_progress_shows_every_row_and_rates_the_computed_ones(tmp_path, density, settings, monkeypatch,
                                                                      capsys):
    """After a resume the last line reads 700/700 beside counts of 700 (it read 400/400); rate and ETA are of the
    rows this run computes."""
    from gyroage import progress

    src, out = interrupted_run(tmp_path, density, settings, monkeypatch, n=700, finished=3)
    engines.run_local(src, out, density, settings, chunksize=100, quiet=False, resume=True)
    err = capsys.readouterr().err.strip().splitlines()
    assert "resumed: 300 rows" in err[0]  # said at the start, before progress
    assert err[-1].startswith("estimate: 700/700 |") and "ok " in err[-1]

    t = iter([0.0, 10.0, 10.0])
    monkeypatch.setattr(progress.time, "perf_counter", lambda: next(t))
    p = progress.Progress("job", total=100, unit="things")
    p.skip(50)  # taken over: done, not computed
    p.update(25)
    err = capsys.readouterr().err
    assert "75/100" in err and "ETA 10 s" in err and "2.5 things/s" in err


def test_posteriors_carry_the_input_ids(tmp_path, density, settings):
    """The --posteriors file names each star by the input's id columns (as read), beside its 0-based row."""
    from gyroage.errors import UserError

    src = tmp_path / "in.csv"
    frame = stars(7).rename(columns={"star": "Name"})
    frame.insert(1, "Source_ID", [f"{i:04d}" for i in range(7)])  # leading zeros: text stays text
    frame.to_csv(src, index=False)
    post = tmp_path / "post.parquet"
    engines.run_local(src, tmp_path / "out.csv", density, settings, chunksize=3, quiet=True, posteriors=post)
    table = pd.read_parquet(post)
    assert list(table.columns) == ["row", "Name", "Source_ID", "method", "log10_age", "pdf"]
    assert list(table["row"]) == [1, 2, 3, 4, 5, 6]  # row 0 has no period
    assert list(table["Name"]) == [f"s{i}" for i in range(1, 7)]
    assert list(table["Source_ID"]) == [f"{i:04d}" for i in range(1, 7)]
    streamed = tmp_path / "streamed.parquet"  # stdout target: no sidecar, same table
    engines.run_local(src, None, density, settings, chunksize=4, quiet=True, posteriors=streamed)
    pd.testing.assert_frame_equal(pd.read_parquet(streamed), table)

    chosen = tmp_path / "chosen.parquet"  # --id: only the named columns, matched ignoring case
    engines.run_local(src, tmp_path / "out2.csv", density, settings, quiet=True, posteriors=chosen,
                      ids=["source_id", "e_bprp_0"])
    assert list(pd.read_parquet(chosen).columns[:3]) == ["row", "Source_ID", "e_BPRP_0"]
    with pytest.raises(UserError, match="--id column 'tic' is not a column of the input"):
        engines.run_local(src, tmp_path / "out3.csv", density, settings, quiet=True, posteriors=chosen, ids=["tic"])
    with pytest.raises(UserError, match="--posteriors"):
        engines.run_local(src, tmp_path / "out3.csv", density, settings, quiet=True, ids=["Name"])

    pq_src = tmp_path / "in.parquet"  # Parquet input: ids keep their native type
    pd.DataFrame({"source_id": np.array([4295806720, 38655544960], dtype=np.int64), "prot": [8.0, 12.0],
                  "bp_rp0": [1.2, 1.5]}).to_parquet(pq_src)
    engines.run_local(pq_src, tmp_path / "out.parquet", density, settings, quiet=True, posteriors=post)
    import pyarrow.parquet as pq

    table = pq.read_table(post)  # Arrow's type: pandas reads it back as its nullable Int64
    assert str(table.schema.field("source_id").type) == "int64"
    assert table["source_id"].to_pylist() == [4295806720, 38655544960]


def test_empty_and_resumed_posteriors_keep_the_ids(tmp_path, density, settings, monkeypatch):
    """No star with a posterior still gives the id columns; a resumed run's table equals an uninterrupted one's."""
    src = tmp_path / "bad.csv"
    pd.DataFrame({"KIC": ["k1"], "prot": [-1.0], "bp_rp0": [1.0]}).to_csv(src, index=False)
    empty = tmp_path / "empty.parquet"
    engines.run_local(src, tmp_path / "bad_out.csv", density, settings, quiet=True, posteriors=empty)
    table = pd.read_parquet(empty)
    assert len(table) == 0 and list(table.columns) == ["row", "KIC", "method", "log10_age", "pdf"]

    src = tmp_path / "in.csv"
    stars(250).to_csv(src, index=False)
    out, post = tmp_path / "out.csv", tmp_path / "post.parquet"
    real, _ = interrupt_after(monkeypatch, "estimate_with_posteriors", 1)
    with pytest.raises(KeyboardInterrupt):
        engines.run_local(src, out, density, settings, chunksize=100, quiet=True, posteriors=post)
    monkeypatch.setattr(engines, "estimate_with_posteriors", real)
    engines.run_local(src, out, density, settings, chunksize=100, quiet=True, resume=True, posteriors=post)
    whole = tmp_path / "whole.parquet"
    engines.run_local(src, tmp_path / "whole.csv", density, settings, chunksize=100, quiet=True, posteriors=whole)
    resumed = pd.read_parquet(post)
    pd.testing.assert_frame_equal(resumed, pd.read_parquet(whole))
    assert list(resumed.columns[:2]) == ["row", "star"] and resumed["star"].iloc[-1] == "s249"


def test_mcmc_progress_moves_with_each_block(tmp_path, density, settings, monkeypatch, capsys):
    """The sampler's blocks report as they finish (not once per chunk); --quiet silences them; results do not change."""
    from dataclasses import replace
    from functools import partial

    from gyroage.core.sampler import SamplerSettings

    src = tmp_path / "in.csv"
    stars(4, seed=3).to_csv(src, index=False)  # row 0 has no period: 3 sampled stars
    mcmc = replace(settings, method="mcmc", sampler=SamplerSettings(max_steps=50, block=1))
    monkeypatch.setattr(engines, "Progress", partial(engines.Progress, every=0.0))  # every update prints
    engines.run_local(src, tmp_path / "loud.csv", density, mcmc, chunksize=10, quiet=False)
    err = capsys.readouterr().err.strip().splitlines()
    lines = [ln for ln in err if " | " in ln]  # the progress lines: not the line naming the columns read
    assert err[0].startswith("estimate: reading prot from") and len(lines) == len(err) - 1
    assert [ln.split(" | ")[0] for ln in lines[:2]] == ["estimate: 1/4", "estimate: 2/4"]
    assert lines[-1].startswith("estimate: 4/4")
    engines.run_local(src, tmp_path / "quiet.csv", density, mcmc, chunksize=10, quiet=True)
    assert capsys.readouterr().err == ""
    assert (tmp_path / "loud.csv").read_bytes() == (tmp_path / "quiet.csv").read_bytes()


def test_dask_reads_csv_as_the_local_reader_does(tmp_path):
    """A trailing delimiter shifted every column under Dask; a Parquet file without the suffix was parsed as CSV."""
    pytest.importorskip("dask.dataframe")
    from gyroage import io
    from gyroage.engines.dask_engine import read_dask

    (tmp_path / "trailing.csv").write_text("prot,bp_rp0\n8,1.0,\n9,1.1,\n")
    local = pd.concat(io.read_chunks(tmp_path / "trailing.csv"), ignore_index=True)
    dask = read_dask(str(tmp_path / "trailing.csv")).compute().reset_index(drop=True)
    pd.testing.assert_frame_equal(dask[["prot", "bp_rp0"]].astype(object), local.astype(object))
    (tmp_path / "header.csv").write_text("prot,bp_rp0,\n8,1.0,\n9,1.1,\n")  # a header's one gave 'Unnamed: 2'
    dask = read_dask(str(tmp_path / "header.csv")).compute().reset_index(drop=True)
    pd.testing.assert_frame_equal(dask.astype(object), local.astype(object))
    pd.DataFrame({"prot": [8.0], "bp_rp0": [1.0]}).to_parquet(tmp_path / "stars.dat")
    assert list(read_dask(str(tmp_path / "stars.dat")).compute()["prot"]) == [8.0]


@pytest.mark.parametrize("text, words", [
    ("name,prot,bp_rp0\nstarA,1.0,10,0.05\nstarB,25.4,0.82\n", ["line 2"]),  # was cut short, values shifted
    ("prot,bp_rp0\n" + "10,1.0\n" * 3000 + "10,1.0,5,6\n" + "10,1.0\n" * 3000, ["more fields"]),
    ("prot,bp_rp0\n10,1.0,\n" + "10,1.0,\n" * 3000 + "10,1.0,5\n", ["a value after"]),
])
def test_dask_refuses_rows_longer_than_the_header(tmp_path, text, words):
    """Dask parses each block with the header in front, so a long row starting a block was cut short silently too."""
    pytest.importorskip("dask.dataframe")
    from gyroage.engines.dask_engine import read_dask
    from gyroage.errors import UserError

    (tmp_path / "long.csv").write_text(text)
    lines = text.splitlines(keepends=True)
    start = next(i for i, ln in enumerate(lines) if ln.count(",") > lines[1].count(",") or "5" in ln)
    blocksize = sum(map(len, lines[:start])) - 1 if start > 2 else None  # a block starts at the long row
    with pytest.raises(UserError) as err:
        # one scheduler in this process: a distributed client left by another test must not take the compute
        read_dask(str(tmp_path / "long.csv"), blocksize=blocksize).compute(scheduler="synchronous")
    assert all(w in str(err.value) for w in words), str(err.value)


def _dask_csv_to_parquet(tmp_path, frame: pd.DataFrame, settings) -> pd.DataFrame:
    """``frame`` as a CSV through the Dask engine (one in-process worker, several partitions) into Parquet parts,
    which must share one schema; the parts read back as one table."""
    pytest.importorskip("distributed")
    from distributed import Client, LocalCluster

    frame.to_csv(tmp_path / "in.csv", index=False)
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        dask_engine.run_dask(str(tmp_path / "in.csv"), tmp_path / "dask.parquet", settings, blocksize=1000, quiet=True,
                             client=client)
    parts = sorted((tmp_path / "dask.parquet").glob("part.*.parquet"))
    assert len(parts) >= 2 and len({str(pq_schema(p)) for p in parts}) == 1
    return pd.read_parquet(tmp_path / "dask.parquet")


def test_dask_writes_number_columns_of_a_csv_as_numbers(tmp_path, settings):
    """Under Dask every CSV column came out as text; the local engine writes numbers, one type per column in all parts."""
    frame = stars(200, seed=4)
    frame["code"] = [str(i) for i in range(199)] + ["007"]  # text in the last partition only: text in every part
    out = _dask_csv_to_parquet(tmp_path, frame, settings)
    assert out["Prot"].dtype == out["BPRP_0"].dtype == out["e_BPRP_0"].dtype == "float64", out.dtypes
    assert list(out["code"]) == list(frame["code"]) and list(out["Prot"]) == list(frame["Prot"])


def test_dask_keeps_each_text_cell_of_a_column_with_text_in_one_partition(tmp_path, density, settings):
    """A partition of only numbers wrote them as floats, turned back into their shortest text when another
    partition held a word (1e10 as 1e+10, 4.73e-05 as 0.0000473, NA and '' as null in some parts only)."""
    frame = stars(200, seed=5)
    note = ["1e10", "1e-6", "4.73e-05", "", "NA", "NaN", "76.0", "700.10"]
    frame["note"] = [note[i % len(note)] for i in range(199)] + ["abc"]  # text in the last partition only
    frame["n"] = [str(i) if i % 9 else "NA" for i in range(200)]  # numbers in every partition: numbers
    out = _dask_csv_to_parquet(tmp_path, frame, settings)
    assert list(out["note"]) == list(frame["note"])
    assert str(out["n"].dtype) == "Int64" and [None if pd.isna(v) else v for v in out["n"]] == [
        i if i % 9 else None for i in range(200)]
    local = tmp_path / "local.parquet"
    engines.run_local(str(tmp_path / "in.csv"), local, density, settings, chunksize=30, quiet=True)
    back = pd.read_parquet(local)
    assert list(back["note"]) == list(out["note"]) and back["n"].equals(out["n"])  # as the local engine writes them


def pq_schema(path):
    import pyarrow.parquet as pq

    return pq.read_schema(path).remove_metadata()


@pytest.mark.parametrize("content", [b"", b"\xef\xbb\xbf", b"\n  \n"])
def test_dask_says_an_empty_input_is_empty(tmp_path, content):
    """pandas' EmptyDataError came out as a traceback (exit 1) under Dask; the local engine says it in one line."""
    pytest.importorskip("dask.dataframe")
    from gyroage.engines.dask_engine import read_dask
    from gyroage.errors import UserError

    (tmp_path / "empty.csv").write_bytes(content)
    with pytest.raises(UserError, match=r"input .*empty\.csv is empty \(no header line\)"):
        read_dask(str(tmp_path / "empty.csv"))


def test_the_local_engine_reads_the_prior_sigma_column_once_a_chunk(tmp_path, model, monkeypatch, capsys):
    """The local engine parsed a --prior-sigma column twice per chunk: once to count the widths the grid cannot
    resolve, once to date the rows. estimate_chunk now hands its parsed widths to the count (on_prior_widths)."""
    from gyroage.core import estimate
    from gyroage.core.estimate import EstimateSettings
    from gyroage.core.priors import Prior

    src = tmp_path / "s.csv"
    src.write_text("prot,bp_rp0,mu,sig\n25.4,0.82,9.61,0.008\n25.4,0.82,9.61,0.01\n25.4,0.82,9.61,0.2\n")
    reads = []
    real = estimate._prior_columns
    monkeypatch.setattr(estimate, "_prior_columns", lambda frame, prior: reads.append(len(frame)) or real(frame, prior))
    settings = EstimateSettings(prior=Prior("gaussian_log_age", mean_column="mu", sigma_column="sig"))
    engines.run_local(src, tmp_path / "o.csv", model.density, settings, chunksize=2)
    assert reads == [2, 1], reads
    err = capsys.readouterr().err
    assert "2 rows' --prior-sigma (column sig) are under twice" in err, err


TEFF_NO_REDDENING = "KIC,Teff,Prot,bp_rp,A_V\n1,5000,10,1.2,\n2,5000,10,1.2,0.1\n3,5000,8,1.0,\n"


def test_the_local_engine_works_out_a_chunks_colours_once(tmp_path, density, settings, monkeypatch, capsys):
    """With bp_rp, A_V and Teff columns the local engine worked out each chunk's colours twice: once to date the rows,
    once more to count those with bp_rp, no reddening and a Teff (unreddened_rows, ~0.1 s a 50,000-row chunk).
    estimate_chunk now hands the count from its own colours (on_unreddened); the note is the same."""
    from gyroage.core import stars as core_stars

    src = tmp_path / "t.csv"
    src.write_text(TEFF_NO_REDDENING)
    calls = []
    real = core_stars.input_colours
    monkeypatch.setattr(core_stars, "input_colours", lambda frame, *a: calls.append(len(frame)) or real(frame, *a))
    engines.run_local(src, tmp_path / "o.csv", density, settings, chunksize=2)
    assert calls == [2, 1], calls
    assert ("estimate: 2 rows with 'bp_rp' but no usable reddening are invalid_reddening although 'Teff' has a value "
            "in them") in capsys.readouterr().err


def test_a_resumed_run_counts_the_unreddened_rows_of_its_finished_chunks(tmp_path, density, settings, monkeypatch,
                                                                         capsys):
    """Chunks a resumed run takes over are not dated again: their rows with bp_rp, no reddening and a Teff are still
    counted, so the end-of-run note is the fresh run's."""
    src, out = tmp_path / "in.csv", tmp_path / "out.csv"
    rows = [f"{i},5000,{8 + i % 5},1.2,{'' if i % 3 == 0 else 0.1}" for i in range(300)]
    src.write_text("KIC,Teff,Prot,bp_rp,A_V\n" + "\n".join(rows) + "\n")

    def note() -> list[str]:
        return [ln for ln in capsys.readouterr().err.splitlines() if "no usable reddening" in ln]

    engines.run_local(src, tmp_path / "fresh.csv", density, settings, chunksize=100)
    fresh = note()
    assert len(fresh) == 1 and "estimate: 100 rows with 'bp_rp'" in fresh[0], fresh
    _interrupt_then_resume(monkeypatch, capsys, src, out, density, settings, 100)
    assert note() == fresh
    assert out.read_bytes() == (tmp_path / "fresh.csv").read_bytes()


def test_a_resumed_run_takes_its_finished_chunks_unreddened_counts_from_the_manifest(tmp_path, density, settings,
                                                                                     monkeypatch, capsys):
    """A resumed chunk's rows with bp_rp, no reddening and a Teff were counted by working its colours out again
    (check_stars on a chunk that is not dated); each chunk's counts are kept in its manifest entry now, as its
    clipped colour errors are, so a resumed run works out the colours of the chunks it dates alone."""
    from gyroage.core import stars as core_stars
    from gyroage.engines.sinks import sidecar_dir

    src, out = tmp_path / "in.csv", tmp_path / "out.csv"
    rows = [f"{i},5000,{8 + i % 5},1.2,{'' if i % 3 == 0 else 0.1}" for i in range(300)]
    src.write_text("KIC,Teff,Prot,bp_rp,A_V\n" + "\n".join(rows) + "\n")
    engines.run_local(src, tmp_path / "fresh.csv", density, settings, chunksize=100)
    fresh = [ln for ln in capsys.readouterr().err.splitlines() if "no usable reddening" in ln]
    real, _ = interrupt_after(monkeypatch, "estimate_chunk", 2)
    with pytest.raises(KeyboardInterrupt):
        engines.run_local(src, out, density, settings, chunksize=100, quiet=True)
    monkeypatch.setattr(engines, "estimate_chunk", real)
    chunks = json.loads((sidecar_dir(out) / "manifest.json").read_text())["chunks"]
    assert [sum(chunks[k].get("unreddened", [])) for k in ("0", "1")] == [34, 33]
    calls = []
    colours = core_stars.input_colours
    monkeypatch.setattr(core_stars, "input_colours", lambda frame, *a: calls.append(len(frame)) or colours(frame, *a))
    capsys.readouterr()
    engines.run_local(src, out, density, settings, chunksize=100, resume=True)
    assert calls == [100], calls  # the last chunk's, dated now
    assert [ln for ln in capsys.readouterr().err.splitlines() if "no usable reddening" in ln] == fresh
    assert out.read_bytes() == (tmp_path / "fresh.csv").read_bytes()


def _interrupt_then_resume(monkeypatch, capsys, src, out, density, settings, chunksize: int) -> None:
    """Run ``src`` to ``out`` interrupted after its second chunk, then resume it; the resumed run's stderr is left
    for the caller to read."""
    real, _ = interrupt_after(monkeypatch, "estimate_chunk", 2)
    with pytest.raises(KeyboardInterrupt):
        engines.run_local(src, out, density, settings, chunksize=chunksize, quiet=True)
    monkeypatch.setattr(engines, "estimate_chunk", real)
    capsys.readouterr()
    engines.run_local(src, out, density, settings, chunksize=chunksize, resume=True)


def test_a_resumed_mcmc_run_counts_the_grid_posteriors_of_its_finished_chunks(tmp_path, density, settings,
                                                                               monkeypatch, capsys):
    """Under mcmc the end-of-run line counts the stars that took the grid's posterior; a resumed run's finished
    chunks are not sampled again, and their stars were left out (1 said, 7 flagged in the output, review V34, 1)."""
    import dataclasses

    from gyroage.core.priors import Prior

    src, out = tmp_path / "m7.csv", tmp_path / "out.csv"
    far = [f"{p},0.023636,2.4658,0.02" for p in (23.636, 24.636, 25.636, 27.636, 28.636)]
    src.write_text("prot,prot_err,bp_rp0,bp_rp0_err\n" + "\n".join(far + ["10.0,0.1,1.0,0.02", "26.636,0.023636,"
                                                                          "2.4658,0.02"]) + "\n")
    mcmc = dataclasses.replace(settings, prior=Prior("gaussian_log_age", mean=7.0, sigma=0.01), method="mcmc", seed=1)

    def said() -> list[str]:
        return [ln for ln in capsys.readouterr().err.splitlines() if "grid_posterior" in ln]

    engines.run_local(src, tmp_path / "fresh.csv", density, mcmc, chunksize=3)
    fresh = said()
    flagged = int(pd.read_csv(tmp_path / "fresh.csv")["age_flags"].str.contains("grid_posterior").sum())
    assert flagged >= 4 and len(fresh) == 1 and f"{flagged} stars took the grid's posterior" in fresh[0], fresh
    _interrupt_then_resume(monkeypatch, capsys, src, out, density, mcmc, 3)
    assert said() == fresh
    assert out.read_bytes() == (tmp_path / "fresh.csv").read_bytes()


def test_a_resumed_mcmc_run_counts_its_finished_chunks_stars_with_a_period_error_that_took_the_grid(
        tmp_path, density, settings, monkeypatch, capsys):
    """V38: under --prior uniform_age, stars with a period error took the grid's posterior, which ignores it, and
    only their rows' age_flags said so. The run's end says how many; a resumed run counts its finished chunks too
    (from the manifest)."""
    import dataclasses

    from gyroage.core.priors import Prior

    src, out = tmp_path / "young.csv", tmp_path / "out.csv"
    rows = [f"{p},{0.3 * p:.4f},{c},0.02" for p, c in ((0.9, 1.45), (1.1, 1.5), (0.8, 1.4), (0.95, 1.42),
                                                       (1.0, 1.47), (0.85, 1.44))]
    src.write_text("prot,prot_err,bp_rp0,bp_rp0_err\n" + "\n".join(rows) + "\n")
    mcmc = dataclasses.replace(settings, prior=Prior("uniform_age"), method="mcmc", seed=1)

    def said() -> list[str]:
        return [ln for ln in capsys.readouterr().err.splitlines() if "with a period error" in ln]

    engines.run_local(src, tmp_path / "fresh.csv", density, mcmc, chunksize=2)
    fresh = said()
    flagged = int(pd.read_csv(tmp_path / "fresh.csv")["age_flags"].str.contains("grid_posterior").sum())
    assert flagged >= 3 and len(fresh) == 1, fresh
    assert f"{flagged} stars with a period error took the grid's posterior" in fresh[0], fresh
    _interrupt_then_resume(monkeypatch, capsys, src, out, density, mcmc, 2)
    assert said() == fresh


def test_a_resumed_run_counts_the_clipped_colour_errors_of_the_chunks_it_took(tmp_path, density, settings,
                                                                               monkeypatch, capsys):
    """The closing line on colour errors clipped to the trained range counts every chunk, those an interrupted run
    finished (their rows are in the sidecar) as well as those computed now (V40, 5)."""
    src = tmp_path / "in.csv"
    frame = stars(300)
    frame.loc[::10, "e_BPRP_0"] = 0.6  # above the shipped card's 0.4616
    frame.to_csv(src, index=False)

    def said() -> list[str]:
        return [ln for ln in capsys.readouterr().err.splitlines() if "trained range" in ln]

    engines.run_local(src, tmp_path / "ref.csv", density, settings, chunksize=100, quiet=False)
    ref = pd.read_csv(tmp_path / "ref.csv", keep_default_na=False)
    n = int(ref["age_flags"].str.contains("colour_err_beyond_training").sum())
    assert n > 20 and said() == [f"estimate: {n} stars' colour errors exceed the model's trained range (its "
                                 "catalogue's largest, 0.4616 mag) and were dated as 0.4616 mag (flagged "
                                 "colour_err_beyond_training): if one is a sentinel (99) for a missing "
                                 "colour, that star has no colour to date"]
    out = tmp_path / "out.csv"
    real, _ = interrupt_after(monkeypatch, "estimate_chunk", 2)
    with pytest.raises(KeyboardInterrupt):
        engines.run_local(src, out, density, settings, chunksize=100, quiet=False)
    monkeypatch.setattr(engines, "estimate_chunk", real)
    capsys.readouterr()
    engines.run_local(src, out, density, settings, chunksize=100, quiet=False, resume=True)
    assert said() == [f"estimate: {n} stars' colour errors exceed the model's trained range (its catalogue's largest, "
                      "0.4616 mag) and were dated as 0.4616 mag (flagged colour_err_beyond_training): if one is a "
                      "sentinel (99) for a missing colour, that star has no colour to date"]


def test_a_resumed_run_takes_its_finished_chunks_clipped_counts_from_the_manifest(tmp_path, density, settings,
                                                                                  monkeypatch, capsys):
    """FR39a: a resumed chunk's clipped colour errors were counted again by re-running check_stars with a copy of
    estimate's rule (local._clipped); each finished chunk's count is now kept in its manifest entry, as ``narrow`` is,
    and a resumed run reads it (no count kept: none clipped). The rows clipped before the interrupt are counted
    once, and the resumed run says the uninterrupted run's line."""
    from gyroage.engines.sinks import sidecar_dir

    src, out = tmp_path / "in.csv", tmp_path / "out.csv"
    frame = stars(300)
    frame.loc[::10, "e_BPRP_0"] = 0.6  # above the shipped card's 0.4616
    frame.loc[200:, "e_BPRP_0"] = 0.02  # the last chunk, dated after the resume, clips none
    frame.to_csv(src, index=False)

    def said() -> list[str]:
        return [ln for ln in capsys.readouterr().err.splitlines() if "trained range" in ln]

    engines.run_local(src, tmp_path / "ref.csv", density, settings, chunksize=100)
    fresh = said()
    ref = pd.read_csv(tmp_path / "ref.csv", keep_default_na=False)
    per_chunk = [int(ref["age_flags"][i : i + 100].str.contains("colour_err_beyond_training").sum()) for i in (0, 100)]
    assert min(per_chunk) > 5 and len(fresh) == 1 and fresh[0].startswith(f"estimate: {sum(per_chunk)} stars'"), fresh
    real, _ = interrupt_after(monkeypatch, "estimate_chunk", 2)
    with pytest.raises(KeyboardInterrupt):
        engines.run_local(src, out, density, settings, chunksize=100, quiet=True)
    monkeypatch.setattr(engines, "estimate_chunk", real)
    chunks = json.loads((sidecar_dir(out) / "manifest.json").read_text())["chunks"]
    assert [chunks[k].get("clipped") for k in ("0", "1")] == per_chunk
    capsys.readouterr()
    engines.run_local(src, out, density, settings, chunksize=100, resume=True)
    assert said() == fresh
    assert out.read_bytes() == (tmp_path / "ref.csv").read_bytes()


def test_a_resumed_run_leaves_out_of_the_clipped_count_the_rows_its_per_star_prior_refuses(tmp_path, density,
                                                                                         monkeypatch, capsys):
    """A resumed chunk's clipped colour errors were counted from its stars alone, so a row with an invalid per-star
    prior (invalid_prior: no age, no flags) was counted after --resume and not in the run it resumed (here 24 said, 15
    flagged): the count now leaves such rows out too, so the resumed run says the uninterrupted one's line."""
    from gyroage.core.priors import Prior

    src, out = tmp_path / "in.csv", tmp_path / "out.csv"
    frame = stars(300).assign(mu=9.0, sig=0.3)
    frame.loc[::10, "e_BPRP_0"] = 0.6  # above the shipped card's 0.4616
    frame.loc[::20, "sig"] = -1.0  # half of those rows get invalid_prior, without an age or flags
    frame.to_csv(src, index=False)
    settings = EstimateSettings(prior=Prior("gaussian_log_age", mean_column="mu", sigma_column="sig"))

    def said() -> list[str]:
        return [ln for ln in capsys.readouterr().err.splitlines() if "trained range" in ln]

    engines.run_local(src, tmp_path / "ref.csv", density, settings, chunksize=100)
    ref = pd.read_csv(tmp_path / "ref.csv", keep_default_na=False)
    n = int(ref["age_flags"].str.contains("colour_err_beyond_training").sum())
    fresh = said()
    assert 0 < n and fresh and fresh[0].startswith(f"estimate: {n} stars' colour errors exceed"), fresh
    _interrupt_then_resume(monkeypatch, capsys, src, out, density, settings, 100)
    assert said() == fresh


def test_an_interrupt_while_the_finished_runs_sidecar_is_removed_ends_the_run_as_finished(tmp_path, density,
                                                                                          settings, monkeypatch):
    """A Ctrl-C or SIGTERM landing after the output was renamed into place, while the sidecar was being removed
    (review V48, 1), said "700 rows of out.csv kept; run the same command with --resume" (exit 130) over a complete
    output, and left the sidecar half-removed, without its manifest: the advised --resume computed every row again.
    The run is finished once the output is in place: the removal is completed and the run returns as finished."""
    import shutil

    src = tmp_path / "in.csv"
    stars(700).to_csv(src, index=False)
    ref, out = tmp_path / "ref.csv", tmp_path / "out.csv"
    engines.run_local(src, ref, density, settings, chunksize=100, quiet=True)
    side, real, hit = engines.sidecar_dir(out), shutil.rmtree, []

    def cut_short(path, *a, **k):  # the window, deterministic: part of the sidecar removed, then the interrupt
        if Path(path) == side and out.exists() and not hit:
            hit.append(path)
            (side / "manifest.json").unlink()
            next(side.glob("chunk-*")).unlink()
            raise KeyboardInterrupt
        return real(path, *a, **k)

    monkeypatch.setattr(shutil, "rmtree", cut_short)
    try:
        counts = engines.run_local(src, out, density, settings, chunksize=100, quiet=True)
    except KeyboardInterrupt as exc:  # raised on, it would stop pytest itself
        pytest.fail(f"the finished run was reported interrupted: {exc}")
    assert hit and sum(counts.values()) == 700
    assert out.read_bytes() == ref.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv", "out.csv", "ref.csv"]  # no sidecar, no lock


@pytest.mark.parametrize("resume", [False, True])
def test_a_sidecar_without_a_manifest_is_removed_by_the_next_run(tmp_path, density, settings, monkeypatch, resume):
    """A sidecar whose manifest is gone (a finished run's removal cut short, review V48, 1) lists no chunk: nothing in
    it can be resumed. It stayed until a later run computed its first chunk, so a run stopped before that (or one that
    failed) left it again. The next run removes it as it starts."""
    src = tmp_path / "in.csv"
    stars(300).to_csv(src, index=False)
    out = tmp_path / "out.csv"
    engines.run_local(src, out, density, settings, chunksize=100, quiet=True)
    side = engines.sidecar_dir(out)
    side.mkdir()
    for i in (1, 2):
        (side / f"chunk-{i:07d}.csv").write_text("star,Prot\ns1,1.0\n")
    interrupt_after(monkeypatch, "estimate_chunk", 0)
    with pytest.raises(KeyboardInterrupt) as stop:
        engines.run_local(src, out, density, settings, chunksize=100, quiet=True, resume=resume)
    assert not side.exists() and not stop.value.args  # a plain "interrupted": nothing is kept
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv", "out.csv"]


def test_an_interrupt_after_the_output_is_written_does_not_offer_a_resume(tmp_path, density, settings, monkeypatch):
    """An interrupt while the end-of-run line was being made, after the output was written and its sidecar removed,
    said "300 rows of out.csv kept; run the same command with --resume" (review V48, 1): it now says the output is
    written in full. Since review V71 #6 (README: a stop once the outputs are in place is no stop) the run has
    finished: it returns its counts (exit 0), the end-of-run line cut short."""
    src = tmp_path / "in.csv"
    stars(300).to_csv(src, index=False)
    out = tmp_path / "out.csv"

    def stops(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(engines, "counts_text", stops)
    counts = engines.run_local(src, out, density, settings, chunksize=100, quiet=True)
    assert sum(counts.values()) == 300
    assert out.exists() and not engines.sidecar_dir(out).exists()
