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


@pytest.mark.parametrize(("sig", "code", "line"), [(signal.SIGINT, 130, "gyroage: interrupted"),
                                                    (signal.SIGTERM, 143, "gyroage: terminated (SIGTERM)")])
def test_ctrl_c_on_the_engines_own_cluster_is_one_line_and_leaves_nothing(tmp_path, sig, code, line):
    """Ctrl-C (SIGINT to the whole foreground process group) during --engine dask printed the workers' tracebacks
    and distributed's warnings even with -q. Now only 'gyroage: interrupted' (exit 130), and no .dask-tmp
    directory is left beside the target. SIGTERM to the group (SLURM at the walltime) left the .dask-tmp directory
    and a 'resource_tracker: ... leaked semaphore objects' warning: now one line too, exit 143."""
    pytest.importorskip("distributed")
    _stars(2000).to_csv(tmp_path / "big.csv", index=False)
    # Every process of the run (the workers too: they inherit PYTHONPATH) computes a chunk only after 60 s, so the
    # interrupt always comes mid-run, however fast the machine (the run used to end first there, and the test skipped).
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(
        "import time\n"
        "import gyroage.core.estimate as e\n"
        "real = e.estimate_chunk\n"
        "def held(frame, *a, **k):\n"
        "    if len(frame):\n"
        "        time.sleep(60)  # interrupted here\n"
        "    return real(frame, *a, **k)\n"
        "e.estimate_chunk = held\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(hook), str(ROOT)]))
    cmd = [sys.executable, "-m", "gyroage.cli", "estimate", str(tmp_path / "big.csv"), "-o", str(tmp_path / "dk.parquet"),
           "--engine", "dask", "--workers", "2", "-q"]
    # its own process group, SIGINT at its default as in a terminal: a run started in the background (CI's nohup,
    # `&`) inherits SIGINT ignored, and Python then never raises KeyboardInterrupt
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            start_new_session=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.monotonic() + 90
        while not list(tmp_path.glob(".dk.parquet.*.dask-tmp")) and proc.poll() is None:
            if time.monotonic() > deadline:
                pytest.fail("the dask run never started its partitions")
            time.sleep(0.1)
        time.sleep(1.0)  # partitions under way
        assert proc.poll() is None, f"the run ended before it was interrupted: {proc.communicate()}"
        os.killpg(proc.pid, sig)  # as a terminal's Ctrl-C, or a batch system: every process of the group
        _, err = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == code, err
    assert err == f"{line}\n", err
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".dk.parquet")]
    assert not (tmp_path / "dk.parquet").exists()


def _stars(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    return pd.DataFrame({"prot": np.round(rng.uniform(1, 30, n), 3), "bp_rp0": np.round(rng.uniform(0.6, 2.5, n), 3)})


def test_dask_progress_has_the_row_total(tmp_path, capsys):
    """Dask progress showed rows done with no total or ETA: the row count of a CSV or Parquet input is now given."""
    pytest.importorskip("distributed")
    from distributed import Client, LocalCluster

    from gyroage.core.estimate import EstimateSettings
    from gyroage.engines import dask_engine

    _stars(300).to_csv(tmp_path / "in.csv", index=False)
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        dask_engine.run_dask(str(tmp_path / "in.csv"), tmp_path / "out.parquet", EstimateSettings(), blocksize=2000,
                             client=client)
    err = capsys.readouterr().err
    assert "estimate: 300/300 | " in err, err


def test_dask_input_rows_of_csv_gzip_and_parquet(tmp_path):
    import gzip

    from gyroage.engines.dask_engine import _input_rows

    _stars(30).to_csv(tmp_path / "a.csv", index=False)
    (tmp_path / "b.csv.gz").write_bytes(gzip.compress(_stars(20).to_csv(index=False).encode()))
    (tmp_path / "pq").mkdir()
    _stars(12).to_parquet(tmp_path / "pq" / "part.0.parquet")
    _stars(5).to_parquet(tmp_path / "pq" / "part.1.parquet")
    assert _input_rows([str(tmp_path / "a.csv"), str(tmp_path / "b.csv.gz")], {}) == 50
    assert _input_rows([str(tmp_path / "*.csv*")], {str(tmp_path / "b.csv.gz"): 20}) == 50  # counted: not again
    assert _input_rows([str(tmp_path / "pq")], {}) == 17
    assert _input_rows([str(tmp_path / "pq" / "part.*.parquet")], {}) == 17
    assert _input_rows(["s3://bucket/none/*.parquet"], {}) is None  # not a local file: no total


def test_resume_help_says_the_dask_engine_refuses_it():
    """--help said --resume works with 'any output format', but --engine dask refuses --resume: it now says so."""
    from tests.conftest import run_cli

    res = run_cli("estimate", "--help")
    text = " ".join(w for w in res.stdout.replace("│", " ").split())
    assert "local engine only, not --engine dask" in text, text


def test_dask_says_the_per_star_prior_widths_the_grid_cannot_resolve(tmp_path, capsys):
    """README promises a note counting the rows whose --prior-sigma (a column) is under twice the grid's step; only
    the local engine counted them, so --engine dask said nothing. Both engines count each chunk's widths now."""
    pytest.importorskip("distributed")
    from distributed import Client, LocalCluster

    from gyroage.core.estimate import EstimateSettings
    from gyroage.core.priors import Prior
    from gyroage.engines import dask_engine

    src = tmp_path / "s.csv"
    src.write_text("name,prot,bp_rp0,mu,sig\nSun,25.4,0.82,9.61,0.008\nB,25.4,0.82,9.61,0.01\nC,25.4,0.82,9.61,0.2\n")
    settings = EstimateSettings(prior=Prior("gaussian_log_age", mean_column="mu", sigma_column="sig"))
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        dask_engine.run_dask(str(src), tmp_path / "out.parquet", settings, blocksize=40, client=client)
    lines = [line for line in capsys.readouterr().err.splitlines() if "twice the age grid's step" in line]
    assert len(lines) == 1, lines
    assert "2 rows' --prior-sigma (column sig) are under twice" in lines[0]
    assert lines[0].endswith("resolve the narrowest (0.008)")


def test_dask_quiet_run_says_nothing_when_port_8787_is_taken(tmp_path):
    """With another Dask cluster's dashboard on port 8787, `--engine dask -q` printed distributed's multi-line
    "Port 8787 is already in use" warning: the engine's own scheduler asked for 8787 for its HTTP server although it
    shows no dashboard. It now takes a free port: -q is silent."""
    pytest.importorskip("distributed")
    import socket

    from tests.conftest import run_cli

    _stars(20).to_csv(tmp_path / "in.csv", index=False)
    held = socket.socket()
    try:
        try:
            held.bind(("", 8787))
            held.listen()
        except OSError:  # taken already (another cluster): the case itself
            pass
        res = run_cli("estimate", str(tmp_path / "in.csv"), "-o", str(tmp_path / "out.parquet"), "--engine", "dask",
                      "--workers", "1", "-q")
    finally:
        held.close()
    assert res.returncode == 0 and res.stderr == "", res.stderr
    assert len(pd.read_parquet(tmp_path / "out.parquet")) == 20


def test_dask_refuses_quoted_line_breaks_in_one_line(tmp_path):
    """A CSV with line breaks inside quoted fields, which the local engine reads, failed on --engine dask with
    pandas' 'Error tokenizing data. C error: EOF inside string': Dask cuts its blocks at every line break. It now
    says what it is and what to do, in one line, exit 2, and writes nothing."""
    pytest.importorskip("distributed")
    from tests.conftest import run_cli

    frame = _stars(20_000)
    frame["note"] = "first line\nsecond line, with a comma"
    src = tmp_path / "in.csv"
    frame.to_csv(src, index=False)  # 1 MB: blocks of 256 kB
    res = run_cli("estimate", str(src), "-o", str(tmp_path / "out.parquet"), "--engine", "dask", "--workers", "1", "-q")
    assert res.returncode == 2, res.stderr
    assert res.stderr == (f"gyroage: error: quoted line breaks in {src} (a field in quotes spans lines, which the dask "
                          "engine cannot split into blocks): use the local engine or Parquet input\n"), res.stderr
    assert not [p.name for p in tmp_path.iterdir() if p.name != "in.csv"]


def test_dask_with_processes_is_one_line(tmp_path):
    """Review V3: --engine dask --method mcmc --processes 2 with partitions over one block ended in a 79-line
    traceback (AssertionError: daemonic processes are not allowed to have children): refused in one line, exit 2,
    before a cluster starts."""
    pytest.importorskip("distributed")
    from tests.conftest import run_cli

    src = tmp_path / "in.csv"
    _stars(20).to_csv(src, index=False)
    res = run_cli("estimate", str(src), "-o", str(tmp_path / "out.parquet"), "--engine", "dask", "--workers", "1",
                  "--method", "mcmc", "--processes", "2", "-q")
    assert res.returncode == 2, res.stderr
    assert res.stderr.startswith("gyroage: error: --processes is the local engine's") and res.stderr.count("\n") == 1
    assert not [p.name for p in tmp_path.iterdir() if p.name != "in.csv"]


@pytest.mark.parametrize("scheduler", ["threads", "tcp://"])
def test_a_scheduler_address_without_a_port_is_one_line(tmp_path, scheduler):
    """Review V10: --scheduler threads (a dask scheduler's name, not an address) ended in a traceback (ValueError:
    missing port number): only OSError was caught. A malformed address says the unreachable scheduler's one line,
    exit 2, and writes nothing."""
    pytest.importorskip("distributed")
    from tests.conftest import run_cli

    src = tmp_path / "in.csv"
    _stars(5).to_csv(src, index=False)
    res = run_cli("estimate", str(src), "-o", str(tmp_path / "d.parquet"), "--engine", "dask", "--workers", "1",
                  "--scheduler", scheduler)
    assert res.returncode == 2, res.stderr
    assert res.stderr.startswith(f"gyroage: error: cannot reach the Dask scheduler at {scheduler}: "), res.stderr
    assert res.stderr.count("\n") == 1, res.stderr
    assert not [p.name for p in tmp_path.iterdir() if p.name != "in.csv"]


def test_a_file_whose_name_holds_brackets_is_read_as_itself(tmp_path):
    """--engine dask expanded every input path as a pattern: a real file real[1].csv (6 stars) was read as
    real1.csv beside it (2 stars) without a word, and counted as it (review V49, 7). A path naming a file is that
    file; only a path naming none is a pattern."""
    pytest.importorskip("dask")
    from gyroage.engines.dask_engine import _input_rows, read_dask

    _stars(6).to_csv(tmp_path / "real[1].csv", index=False)
    _stars(2).to_csv(tmp_path / "real1.csv", index=False)
    src = str(tmp_path / "real[1].csv")
    assert len(read_dask(src).compute()) == 6
    assert _input_rows([src], {}) == 6
    assert len(read_dask(str(tmp_path / "real?.csv")).compute()) == 2  # a pattern naming no file is one
    _stars(6).to_parquet(tmp_path / "p[1].parquet")
    _stars(2).to_parquet(tmp_path / "p1.parquet")
    assert len(read_dask(str(tmp_path / "p[1].parquet")).compute()) == 6
    assert _input_rows([str(tmp_path / "p[1].parquet")], {}) == 6


@pytest.mark.parametrize(("args", "line"), [
    (["-o", "dk.parquet", "--posteriors", "post.parquet"],
     "--engine dask writes no --posteriors: use --engine local for them"),
    (["-o", "dk.parquet", "--resume"], "--engine dask does not --resume: use --engine local to resume a run"),
    ([], "--engine dask needs -o NAME.parquet: it writes no table to stdout"),
])
def test_dask_refusals_name_the_option_at_fault(tmp_path, args, line):
    """--engine dask -o dk.parquet --posteriors p.parquet said it 'needs -o NAME.parquet', which it was given (review
    V51, 7): one message stood for three faults. Each now names its own."""
    from typer.testing import CliRunner

    from gyroage.cli import app

    (tmp_path / "s.csv").write_text("prot,bp_rp0\n25.4,0.82\n")
    out = [str(tmp_path / a) if a.endswith(".parquet") else a for a in args]
    res = CliRunner().invoke(app, ["estimate", str(tmp_path / "s.csv"), "--engine", "dask", *out])
    assert res.exit_code == 2 and res.stderr.strip() == f"gyroage: error: {line}", res.output


def test_url_inputs_are_named_as_given_and_a_missing_filesystem_package_is_one_line(tmp_path):
    """Review V57, 5: a CSV URL was refused as a local file, its '//' collapsed ("input file not found:
    s3:/bucket/survey.csv"), even file:// of a file that is there; an s3:// Parquet pattern without s3fs was
    fsspec's ImportError traceback. Now file:// is read as the file it names, another CSV URL refused as given,
    and a filesystem package missing named in one line."""
    import importlib.util

    from gyroage.engines.dask_engine import read_dask
    from gyroage.errors import UserError

    _stars(7).to_csv(tmp_path / "in.csv", index=False)
    assert len(read_dask(f"file://{tmp_path / 'in.csv'}").compute(scheduler="sync")) == 7
    with pytest.raises(UserError, match=r"^the dask engine reads CSV from local files: s3://bucket/survey\.csv is "):
        read_dask("s3://bucket/survey.csv")
    if importlib.util.find_spec("s3fs") is None:
        with pytest.raises(UserError, match=r"^cannot read s3://bucket/survey/\*\.parquet: .*s3fs"):
            read_dask("s3://bucket/survey/*.parquet")


@pytest.mark.parametrize("kind", ["parquet", "csv"])
def test_a_recursive_pattern_is_counted_and_read_at_every_depth(tmp_path, kind):
    """Review V57, 6: ``**`` was expanded one folder deep (glob.glob, not recursive) for the progress total, and for
    the CSV files read, where Dask (fsspec) expands a Parquet pattern at any depth: "estimate: 8/4". Now the total
    and the files read are those at every depth, as Dask reads a Parquet pattern."""
    from gyroage.engines.dask_engine import _input_rows, read_dask

    (tmp_path / "a" / "b").mkdir(parents=True)
    for sub, n in [(".", 3), ("a", 5), ("a/b", 7)]:
        f = tmp_path / sub / f"x.{kind}"
        _stars(n).to_parquet(f) if kind == "parquet" else _stars(n).to_csv(f, index=False)
    pattern = str(tmp_path / "**" / f"*.{kind}")
    assert _input_rows([pattern], {}) == 15
    assert len(read_dask(pattern).compute(scheduler="sync")) == 15


def test_readme_says_which_inputs_are_read_from_urls():
    """README's only URL was an s3:// Parquet glob: that a CSV URL is refused, and that s3:// needs s3fs, was not said
    (review V57, 5)."""
    readme = (ROOT / "README.md").read_text()
    dask = readme[readme.index("**Dask.** `--engine dask`"):readme.index("### Exit codes")]
    assert "`s3fs`" in dask and "CSV only from local files (or `file://`)" in dask and "`**` at any depth" in dask


def test_parquet_patterns_folders_and_urls_without_the_suffix_are_read_as_parquet(tmp_path):
    """Review V59, 3: a pattern or URL was Parquet only when it ended in ``.parquet``: ``DIR/**``, ``DIR/*`` over
    Parquet parts, ``file://`` of a folder or of a Parquet file named without the suffix were read as CSV ("input DIR
    is a directory, not a table (only `gyroage estimate --engine dask` reads a folder ...)", said to that very
    command), ``s3://bucket/folder/`` refused as a CSV URL. Now what a local pattern matches decides (the files'
    first bytes, as the local engine tells Parquet), and a URL of a folder is Parquet (the only format read from
    URLs)."""
    from gyroage.engines.dask_engine import _input_rows, _parquet_input, read_dask
    from gyroage.errors import UserError

    (tmp_path / "pq" / "a").mkdir(parents=True)
    for sub, n in [(".", 3), ("a", 5)]:
        _stars(n).to_parquet(tmp_path / "pq" / sub / "x.parquet")
    _stars(4).to_parquet(tmp_path / "noext")
    for source, rows in [(tmp_path / "pq" / "**", 8), (tmp_path / "pq" / "a" / "*", 5),
                         (f"file://{tmp_path / 'pq'}", 8), (f"file://{tmp_path / 'noext'}", 4)]:
        assert len(read_dask(str(source)).compute(scheduler="sync")) == rows, source
    assert _input_rows([str(tmp_path / "pq" / "**")], {}) == 8
    assert _parquet_input(["s3://bucket/survey/"]) and _parquet_input(["gs://bucket/survey"])
    assert not _parquet_input(["s3://bucket/survey.csv"]) and not _parquet_input([str(tmp_path / "pq" / "nothing*")])
    (tmp_path / "csv").mkdir()
    _stars(6).to_csv(tmp_path / "csv" / "x.csv", index=False)
    assert not _parquet_input([str(tmp_path / "csv" / "*")])
    assert len(read_dask(str(tmp_path / "csv" / "**")).compute(scheduler="sync")) == 6  # its folder not read as one
    with pytest.raises(UserError) as caught:
        read_dask([str(tmp_path / "csv" / "*"), str(tmp_path / "pq")])
    assert "only `gyroage estimate --engine dask`" not in str(caught.value)


@pytest.mark.parametrize("pattern", ["**/*.parquet", "*"])
def test_a_pattern_counts_the_files_dask_reads_not_a_folder_it_matches(tmp_path, pattern):
    """Review V59, 2: ``runs/**/*.parquet`` matched a Parquet folder ``ages.parquet`` (as ``--engine dask`` writes
    one) and also its parts: the progress total counted its rows twice ("13/23"); ``*`` counted a subfolder Dask
    does not read. A pattern is now the files it matches, as Dask (fsspec) expands it."""
    from gyroage.engines.dask_engine import _input_rows, read_dask

    (tmp_path / "a" / "ages.parquet").mkdir(parents=True)
    _stars(4).to_parquet(tmp_path / "a" / "ages.parquet" / "part.0.parquet")
    _stars(6).to_parquet(tmp_path / "a" / "ages.parquet" / "part.1.parquet")
    _stars(3).to_parquet(tmp_path / "top.parquet")
    source = str(tmp_path / pattern)
    rows = len(read_dask(source).compute(scheduler="sync"))
    assert rows == {"*": 3}.get(pattern, 13)
    assert _input_rows([source], {}) == rows


@pytest.mark.parametrize("pattern", ["**", "**/*.parquet"])
def test_a_pattern_through_a_linked_folder_reads_every_file_it_counts(tmp_path, pattern):
    """Review V60, 1: ``DIR/**`` over a folder holding a symlinked subfolder counted its files (Python's glob follows
    the link) but Dask read fsspec's glob (which does not): 2 of 5 stars dated, exit 0. Dask now reads the files
    gyroage counted."""
    from gyroage.engines.dask_engine import _input_rows, read_dask

    (tmp_path / "real").mkdir()
    (tmp_path / "in").mkdir()
    _stars(3).to_parquet(tmp_path / "real" / "p.parquet")
    _stars(2).to_parquet(tmp_path / "in" / "q.parquet")
    os.symlink(tmp_path / "real", tmp_path / "in" / "linked")
    source = str(tmp_path / "in" / pattern)
    assert len(read_dask(source).compute(scheduler="sync")) == 5
    assert _input_rows([source], {}) == 5


@pytest.mark.parametrize("pattern", ["*", "**"])
@pytest.mark.parametrize("extra", ["_metadata", "_SUCCESS", ".a.parquet.crc"])
def test_a_parquet_pattern_skips_summary_and_marker_files(tmp_path, pattern, extra):
    """Review V60, 2-4: ``DIR/*`` over Parquet parts beside a ``_metadata`` summary was a traceback (rows counted
    twice); beside Spark's ``_SUCCESS`` it was read as CSV and refused; beside a ``.crc`` file the metadata pass
    read that. A pattern's ``_`` and ``.`` names are skipped now, as pyarrow skips them in a folder."""
    import pyarrow.parquet as pq

    from gyroage.engines.dask_engine import _input_rows, read_dask

    _stars(3).to_parquet(tmp_path / "part.0.parquet")
    _stars(2).to_parquet(tmp_path / "part.1.parquet")
    if extra == "_metadata":
        parts = [pq.read_metadata(tmp_path / f"part.{i}.parquet") for i in (0, 1)]
        for i, part in enumerate(parts):
            part.set_file_path(f"part.{i}.parquet")  # as dask writes its summary
        pq.write_metadata(pq.read_schema(tmp_path / "part.0.parquet"), tmp_path / extra, metadata_collector=parts)
    else:
        (tmp_path / extra).write_bytes(b"" if extra == "_SUCCESS" else b"crc\x00\x01")
    source = str(tmp_path / pattern)
    assert len(read_dask(source).compute(scheduler="sync")) == 5
    assert _input_rows([source], {}) == 5


def test_a_pattern_of_folders_only_or_of_parquet_and_csv_is_one_line_saying_so(tmp_path):
    """Review V60, 6-7: a pattern matching only folders was "input file not found: DIR/*"; one matching Parquet and
    CSV files said to re-save the Parquet file as UTF-8 text."""
    from gyroage.engines.dask_engine import read_dask
    from gyroage.errors import UserError

    for sub in ("x", "y"):
        (tmp_path / "dirs" / sub).mkdir(parents=True)
        _stars(3).to_parquet(tmp_path / "dirs" / sub / "p.parquet")
    with pytest.raises(UserError, match=r"matches only folders \(x, y\).*dirs/\*/\*"):
        read_dask(str(tmp_path / "dirs" / "*"))
    (tmp_path / "mix").mkdir()
    _stars(3).to_parquet(tmp_path / "mix" / "a.parquet")
    _stars(4).to_csv(tmp_path / "mix" / "b.csv", index=False)
    with pytest.raises(UserError, match=r"matches Parquet \(a\.parquet\) and other \(CSV\) files \(b\.csv\)") as caught:
        read_dask(str(tmp_path / "mix" / "*"))
    assert "UTF-8" not in str(caught.value)


def test_csv_parts_whose_headers_differ_are_refused_in_one_line(tmp_path):
    """--engine dask over CSV parts whose headers differ (review V64, 12): the same columns in another order came
    out with the passed-through cells under each other's names (prot_days holding colours, exit 0: Dask puts the
    first file's header before every later block of each file); an added column was a 25-frame traceback. Both
    refused now in one line naming the file, exit 2, nothing written, as README says."""
    pytest.importorskip("dask.dataframe")
    from typer.testing import CliRunner

    from gyroage.cli import app
    from gyroage.engines.dask_engine import read_dask
    from gyroage.errors import UserError
    from tests.conftest import one_line_error

    stars = _stars(6).assign(name=[f"s{i}" for i in range(6)])
    stars.iloc[:3].to_csv(tmp_path / "a.csv", index=False)
    stars.iloc[3:][["bp_rp0", "prot", "name"]].to_csv(tmp_path / "b.csv", index=False)  # another order
    stars.iloc[3:].assign(note="x").to_csv(tmp_path / "c.csv", index=False)  # one more column
    stars.iloc[3:][["prot", "name"]].to_csv(tmp_path / "d.csv", index=False)  # one fewer
    for pattern, said in (("[ab]", "b.csv has bp_rp0 where"), ("[ac]", "c.csv adds note"),
                          ("[ad]", "d.csv lacks bp_rp0")):
        with pytest.raises(UserError, match="differ from") as err:
            read_dask(str(tmp_path / f"{pattern}.csv"))
        assert "\n" not in str(err.value) and said in str(err.value), str(err.value)
        out = tmp_path / "out.parquet"
        res = CliRunner().invoke(app, ["estimate", str(tmp_path / f"{pattern}.csv"), "-o", str(out), "--engine",
                                       "dask", "--workers", "1", "-q"])
        one_line_error(res, "the input files differ from", said)
        assert not out.exists()
    stars.iloc[3:].to_csv(tmp_path / "e.csv", index=False)  # the same header: read as one table
    got = read_dask(str(tmp_path / "[ae].csv")).compute(scheduler="sync")
    assert got["prot"].tolist() == [str(p) for p in stars["prot"]]


def test_csv_parts_whose_header_names_differ_in_blanks_are_refused_naming_them(tmp_path):
    """A name that differs only by a blank inside quotes (`" prot"`) or a tab after the comma got past the header check
    (it compared names stripped of every leading blank, pandas keeps those) and ended in a KeyError traceback; the
    refusal of a trailing blank read "lacks name  and adds name" (review V66, 2 and 4). A commented header's '# prot'
    beside '#prot' is one name, read alike (V66, 3)."""
    pytest.importorskip("dask.dataframe")
    from gyroage.engines.dask_engine import read_dask
    from gyroage.errors import UserError

    (tmp_path / "a.csv").write_text("prot,bp_rp0\n12.0,1.1\n")
    (tmp_path / "b.csv").write_text('" prot",bp_rp0\n8.0,0.9\n')
    (tmp_path / "c.csv").write_text("prot,\tbp_rp0\n8.0,0.9\n")
    (tmp_path / "d.csv").write_text("prot,bp_rp0 \n8.0,0.9\n")
    for part, shown in (("b", "' prot'"), ("c", "'\\tbp_rp0'"), ("d", "'bp_rp0 '")):
        with pytest.raises(UserError, match="differ from") as err:
            read_dask(str(tmp_path / f"[a{part}].csv"))
        assert "\n" not in str(err.value) and shown in str(err.value), str(err.value)
    (tmp_path / "h1.csv").write_text("# prot,bp_rp0\n12.0,1.1\n")
    (tmp_path / "h2.csv").write_text("#prot,bp_rp0\n8.0,0.9\n")
    got = read_dask(str(tmp_path / "h[12].csv")).compute(scheduler="sync")
    assert got["prot"].tolist() == ["12.0", "8.0"]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_while_the_local_cluster_starts_stops_the_run_once_it_is_up(monkeypatch, sig):
    """V69, 3 and 9: a Ctrl-C while the LocalCluster started was lost (SIGINT ignored in this process too, for the
    workers to inherit): the run went on to the end, exit 0; a SIGTERM landed mid-start and left multiprocessing's
    "leaked semaphore" warning after the line. Both are held back until the cluster is up, which is then closed
    before the run's own handler raises; the workers are started with SIGINT blocked, not ignored."""
    distributed = pytest.importorskip("distributed")
    from multiprocessing import util

    from gyroage.cli_process import Terminated, on_sigterm
    from gyroage.engines import dask_connect

    events, blocked = [], []
    monkeypatch.setattr(util, "spawnv_passfds", lambda *a: blocked.append(
        signal.SIGINT in signal.pthread_sigmask(signal.SIG_BLOCK, [])) or 0)

    class Cluster:  # starts a worker process, and the signal comes while it starts
        def __init__(self, **kwargs) -> None:
            util.spawnv_passfds("python", ["python"], ())
            os.kill(os.getpid(), sig)
            events.append("up")

        def close(self) -> None:
            events.append("closed")

    monkeypatch.setattr(distributed, "LocalCluster", Cluster)
    monkeypatch.setattr(distributed, "Client", lambda cluster: events.append("client"))
    # as in a terminal's run (one started in the background inherits SIGINT ignored, and keeps it so)
    before = signal.signal(signal.SIGTERM, on_sigterm), signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt) as info:
            dask_connect.connect(None, None, 2)
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        signal.signal(signal.SIGTERM, before[0])
        signal.signal(signal.SIGINT, before[1])
    assert events == ["up", "closed"] and blocked == [True]
    assert isinstance(info.value, Terminated) == (sig == signal.SIGTERM)
    assert signal.SIGINT not in signal.pthread_sigmask(signal.SIG_BLOCK, [])


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_held_over_the_folders_renames_finishes_the_run(tmp_path, monkeypatch, sig):
    """Review V71 #3: a Ctrl-C or SIGTERM held over replace_dir's renames was raised once the new folder was in:
    the run ended "interrupted" (exit 130) with the new table in place, and the old one's whole aside copy was
    left beside it. Once the new folder is in, the run is finished (as the local engine's), the aside removed."""
    from collections import Counter

    from gyroage import files
    from gyroage.cli_process import on_sigterm
    from gyroage.core.estimate import EstimateSettings
    from gyroage.engines import dask_engine

    class Client:
        def close(self) -> None:
            pass

    def compute(source, tmp, *a, **k):
        (tmp / "part.00000.parquet").write_text("new\n")
        return Counter()

    target = tmp_path / "ages.parquet"
    target.mkdir()
    (target / "part.00000.parquet").write_text("old\n")
    (tmp_path / "in.csv").write_text("prot,bp_rp0\n10,1.0\n")
    replace = files._replace

    def signalled(src, dst):  # the rename in, inside the held window
        os.kill(os.getpid(), sig)
        replace(src, dst)

    monkeypatch.setattr(dask_engine, "connect", lambda client, *a: (client, None))
    monkeypatch.setattr(dask_engine, "_compute", compute)
    monkeypatch.setattr(files, "_replace", signalled)
    before = signal.signal(signal.SIGTERM, on_sigterm), signal.signal(signal.SIGINT, signal.default_int_handler)
    stopped = None
    try:
        dask_engine.run_dask(str(tmp_path / "in.csv"), target, EstimateSettings(), quiet=True, client=Client())
    except KeyboardInterrupt as exc:  # caught: pytest would end the whole session on it
        stopped = exc
    finally:
        signal.signal(signal.SIGTERM, before[0])
        signal.signal(signal.SIGINT, before[1])
    assert stopped is None, "the finished run was reported as stopped"
    assert (target / "part.00000.parquet").read_text() == "new\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ages.parquet", "in.csv"]  # no aside copy, no lock
