"""Long command-line runs: a closed or broken stderr, SIGTERM from a batch system, inputs that are pipes."""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

from tests.conftest import ROOT, needs_matplotlib

CLI = [sys.executable, "-m", "gyroage.cli"]


def _stars(path, n: int) -> None:
    rng = np.random.default_rng(11)
    pd.DataFrame({"prot": np.round(rng.uniform(2, 30, n), 3),
                  "bp_rp0": np.round(rng.uniform(0.7, 2.2, n), 3)}).to_csv(path, index=False)


def test_a_broken_stderr_pipe_does_not_stop_the_run(tmp_path):
    """`estimate x.csv -o f.csv 2>&1 | head -2` ended the run at the first progress line after head left: exit 0
    and no f.csv. A broken stderr now only silences the notices; the table is written whole."""
    src, out = tmp_path / "in.csv", tmp_path / "f.csv"
    _stars(src, 200)
    proc = subprocess.Popen([*CLI, "estimate", str(src), "-o", str(out), "--chunksize", "20", "--threads", "1"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stderr.close()  # the reader of the progress lines is gone before the first one
    stdout = proc.stdout.read()
    assert proc.wait(timeout=120) == 0
    assert stdout == b""
    assert len(pd.read_csv(out)) == 200
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".f.csv")]


def test_a_closed_stderr_keeps_the_notices_out_of_the_table(tmp_path):
    """With stderr closed (`2>&- > so.csv`) the progress lines went into the stdout table and the run exited 1 (an
    AttributeError flushing None). The notices now go nowhere and the table is the table."""
    src = tmp_path / "in.csv"
    _stars(src, 30)
    res = subprocess.run([*CLI, "estimate", str(src), "--threads", "1"], cwd=ROOT, capture_output=True, text=True,
                         timeout=120, preexec_fn=lambda: os.close(2))
    assert res.returncode == 0
    lines = res.stdout.splitlines()
    assert lines[0].startswith("prot,bp_rp0,") and len(lines) == 31, res.stdout[:300]
    assert not any(line.startswith("estimate:") for line in lines)


def test_sigterm_stops_like_ctrl_c_and_the_run_resumes(tmp_path):
    """SIGTERM (SLURM or PBS at the walltime) killed the run without a word: no 'rerun with --resume' line and the
    writer's temporaries left behind. It now stops as Ctrl-C does: one line naming the rows kept, exit 143, only the
    resume sidecar left, and --resume finishes the table."""
    src, out = tmp_path / "in.csv", tmp_path / "f.csv"
    _stars(src, 1500)
    cmd = [*CLI, "estimate", str(src), "-o", str(out), "--chunksize", "5", "--threads", "1"]
    # SIGINT at its default, as in a batch job (a run started in the background inherits it ignored)
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        sidecar = tmp_path / ".f.csv.resume"
        deadline = time.monotonic() + 90
        while len(list(sidecar.glob("chunk-*"))) < 3 and proc.poll() is None:
            if time.monotonic() > deadline:
                pytest.fail("the run never wrote a chunk")
            time.sleep(0.05)
        if proc.poll() is not None:
            pytest.skip("the run ended before it could be terminated")
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 143, err
    assert "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert re.fullmatch(rf"gyroage: terminated \(SIGTERM\): [0-9]+ rows of {re.escape(str(out))} kept; run the same "
                        r"command with --resume to continue", last), last
    assert sorted(p.name for p in tmp_path.iterdir()) == [".f.csv.resume", "in.csv"]
    res = subprocess.run([*cmd, "--resume", "-q"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert len(pd.read_csv(out)) == 1500


def test_process_substitution_input_is_read_as_stdin(tmp_path):
    """`gyroage estimate <(cat s.csv) -o f.csv` said "input file not found: /dev/fd/63": a pipe is no regular file.
    It is now read as '-' is, and gives the file's bytes; --engine dask, which reads files, says it is a pipe."""
    src = tmp_path / "in.csv"
    _stars(src, 25)
    ref, out = tmp_path / "ref.csv", tmp_path / "f.csv"
    assert subprocess.run([*CLI, "estimate", str(src), "-o", str(ref), "-q"], cwd=ROOT, timeout=120).returncode == 0
    cmd = " ".join([*CLI, "estimate", f"<(cat {src})", "-o", str(out), "-q"])
    res = subprocess.run(["bash", "-c", cmd], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0 and res.stderr == "", res.stderr
    assert out.read_bytes() == ref.read_bytes()
    dask = subprocess.run(["bash", "-c", cmd.replace(" -q", " --engine dask -q").replace(str(out), str(tmp_path / "d.parquet"))],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert dask.returncode == 2 and dask.stderr.startswith("gyroage: error: --engine dask reads files: input /dev/fd/"), \
        dask.stderr


def test_a_named_pipe_given_to_the_python_api_says_so(tmp_path):
    """The readers' check called a pipe "not found"; it now says to pipe it in as '-'."""
    from gyroage.errors import UserError
    from gyroage.files import require_input_file

    fifo = tmp_path / "p.csv"
    os.mkfifo(fifo)
    with pytest.raises(UserError, match=f"^input {re.escape(str(fifo))} is a pipe: use '-' and pipe it in$"):
        require_input_file(fifo)


def test_progress_counts_rows_not_lines_of_quoted_line_breaks(tmp_path):
    """The row count behind progress and its ETA counted physical lines, so a CSV with notes over two lines in
    quotes ended on "estimate: 40/54", as if rows were lost. Line breaks inside quoted fields now end no row,
    also across the scan's 1 MiB blocks; quotes that do not pair up keep the plain line count."""
    from gyroage.engines.local import scan_input

    src = tmp_path / "in.csv"
    _stars(src, 40)
    frame = pd.read_csv(src)
    frame["note"] = ["two\nlines, and a \"\"quote\"\"" if i % 3 == 0 else "one line" for i in range(40)]
    frame.to_csv(src, index=False)
    assert scan_input(src, fingerprint=False)[1] == 40
    big = tmp_path / "big.csv"  # a quoted field across the 1 MiB block boundary
    big.write_bytes(b"prot,bp_rp0,note\n" + b"10,1.0,x\n" * 116_500 + b'10,1.0,"' + b"a\n" * 100 + b'"\n10,1.0,x\n')
    assert scan_input(big, fingerprint=False)[1] == 116_502
    odd = tmp_path / "odd.csv"  # a lone inch sign: pandas reads it as a character, the rows are the lines
    odd.write_bytes(b"prot,bp_rp0,note\n10,1.0,5\" disk\n11,1.1,x\n")
    assert scan_input(odd, fingerprint=False)[1] == 2
    res = subprocess.run([*CLI, "estimate", str(src), "-o", str(tmp_path / "f.csv"), "--threads", "1"], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stderr.splitlines()[-1].startswith("estimate: 40/40 | "), res.stderr


@pytest.mark.parametrize("engine", ["local", "dask"])
def test_quiet_mcmc_prints_no_numpy_warnings_for_absurd_errors(tmp_path, engine):
    """With -q, absurd measurement errors (prot_err 1e300, a colour error of 1e200) printed numpy's
    "RuntimeWarning: overflow encountered in cast" and "invalid value encountered in subtract", two lines each with
    the code line: each row already says not_converged in its status. -q now silences them, also in Dask's worker
    processes."""
    src = tmp_path / "in.csv"
    src.write_text("prot,prot_err,bp_rp0,bp_rp0_err\n10,1e300,1.0,0.01\n8,0.5,0.9,1e200\n")
    out = tmp_path / "out.parquet"
    args = ["--threads", "1"] if engine == "local" else ["-o", str(out), "--engine", "dask", "--workers", "1"]
    if engine == "dask":
        pytest.importorskip("distributed")
    res = subprocess.run([*CLI, "estimate", str(src), "--method", "mcmc", "--max-steps", "200", *args, "-q"],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0 and res.stderr == "", res.stderr
    assert len(pd.read_csv(io.StringIO(res.stdout)) if engine == "local" else pd.read_parquet(out)) == 2


def test_a_closed_stdout_is_one_line_or_no_matter(tmp_path):
    """With stdout closed (`>&-`) a run with -o wrote its table and then ended in a traceback, exit 1 (flushing
    None); a run for stdout ended in a traceback from the writer. Now -o runs end normally, and a table for the
    closed stdout is a one-line error, exit 2."""
    src, out = tmp_path / "in.csv", tmp_path / "f.csv"
    _stars(src, 20)

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([*CLI, "estimate", str(src), *args, "-q", "--threads", "1"], cwd=ROOT, stdout=None,
                              stderr=subprocess.PIPE, text=True, timeout=120, preexec_fn=lambda: os.close(1))

    res = run("-o", str(out))
    assert res.returncode == 0 and res.stderr == "", res.stderr
    assert len(pd.read_csv(out)) == 20
    res = run()
    assert res.returncode == 2, res.stderr
    assert res.stderr == ("gyroage: error: stdout is closed, so nothing can be written to it (give -o FILE for the "
                          "table)\n"), res.stderr


def test_a_full_stderr_does_not_stop_the_run_and_a_full_output_still_fails(tmp_path):
    """`estimate x.csv -o f.csv 2>/dev/full` (a stderr on a full disk) ended in a traceback, exit 1 and no f.csv,
    with an error blaming the output: only a broken pipe on stderr went quiet. Any failing write to stderr now only
    drops the notices, and a full disk under the output is still exit 2."""
    src, out = tmp_path / "in.csv", tmp_path / "f.csv"
    _stars(src, 30)

    def run(target: str) -> subprocess.CompletedProcess:
        with open("/dev/full", "wb") as full:
            return subprocess.run([*CLI, "estimate", str(src), "-o", target, "--threads", "1"], cwd=ROOT,
                                  stdout=subprocess.PIPE, stderr=full, timeout=120)

    res = run(str(out))
    assert res.returncode == 0 and res.stdout == b""
    assert len(pd.read_csv(out)) == 30
    assert run("/dev/full").returncode == 2  # its one line went to the full stderr, its exit code did not
    res = subprocess.run([*CLI, "estimate", str(src), "-o", "/dev/full", "--threads", "1"], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 2
    assert res.stderr.splitlines()[-1] == "gyroage: error: cannot write output: No space left on device", res.stderr


@pytest.mark.parametrize("name", ["/dev/stdout", "/dev/fd/1", "/proc/self/fd/1"])
def test_a_closed_stdout_named_by_its_path_is_the_same_one_line(tmp_path, name):
    """With stdout closed (`>&-`), `-o /dev/stdout` exited 0 having written the table into /dev/null (the file
    descriptor held for the closed stdout): a path naming stdout is now refused as `-o -` is, one line, exit 2."""
    src = tmp_path / "in.csv"
    _stars(src, 5)
    groups = tmp_path / "g.csv"
    groups.write_text("cluster,prot,bp_rp0\na,5,1.0\na,6,1.1\n")
    line = "gyroage: error: stdout is closed, so nothing can be written to it (give -o FILE for the table)\n"
    targets = tmp_path / "t.csv"  # crossmatch refuses before its first query
    targets.write_text("source_id\n123\n")
    for command in (["estimate", str(src), "--threads", "1"], ["group-age", str(groups)],
                    ["crossmatch", str(targets), "--gaia-url", "http://127.0.0.1:9", "--no-cache"]):
        res = subprocess.run([*CLI, *command, "-q", "-o", name], cwd=ROOT, stdout=None, stderr=subprocess.PIPE,
                             text=True, timeout=120, preexec_fn=lambda: os.close(1))
        assert (res.returncode, res.stderr) == (2, line), command


@needs_matplotlib
def test_a_plot_into_a_closed_stdout_named_by_its_path_is_one_line(tmp_path):
    """`plot sequence -o /dev/stdout >&-` wrote the figure into the /dev/null holding the closed stdout, exit 0: it is
    refused as the table commands refuse it; a plot's default (a file) is not stdout and still works. The line names
    the figure, not a table (review V52, 7)."""
    line = "gyroage: error: stdout is closed, so nothing can be written to it (give -o FILE for the figure)\n"
    res = subprocess.run([*CLI, "plot", "sequence", "-q", "-o", "/dev/stdout", "--format", "svg"], cwd=ROOT,
                         stdout=None, stderr=subprocess.PIPE, text=True, timeout=120, preexec_fn=lambda: os.close(1))
    assert (res.returncode, res.stderr) == (2, line)
    src = tmp_path / "in.csv"
    _stars(src, 2)
    res = subprocess.run([*CLI, "plot", "posterior", str(src), "-q", "-o", "/dev/fd/1", "--format", "svg"], cwd=ROOT,
                         stdout=None, stderr=subprocess.PIPE, text=True, timeout=120, preexec_fn=lambda: os.close(1))
    assert (res.returncode, res.stderr) == (2, line)
    res = subprocess.run([*CLI, "plot", "posterior", str(src), "-q", "-o", "-"], cwd=ROOT, stdout=None,
                         stderr=subprocess.PIPE, text=True, timeout=120, preexec_fn=lambda: os.close(1))
    assert (res.returncode, res.stderr) == (2, line)
    res = subprocess.run([*CLI, "plot", "sequence", "-q", "--format", "svg"], cwd=tmp_path, stdout=None,
                         stderr=subprocess.PIPE, text=True, timeout=120, preexec_fn=lambda: os.close(1),
                         env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert res.returncode == 0 and (tmp_path / "sequence.svg").exists(), res.stderr


def test_progress_rows_with_stray_inch_marks_and_quotes_mid_field(tmp_path):
    """Two stray inch marks (`seeing 2" poor` in row 1, `seeing 3" poor` in row 4) were paired up as one quoted
    field over three rows: progress said 5/2. A quote opens a quoted field only at a field's start (after the
    delimiter, spaces skipped, or at a line's start), as pandas reads it; the counts now match pandas', also with
    the bytes cut into blocks anywhere."""
    from gyroage.engines.local import _RowBreaks, scan_input

    stray = tmp_path / "stray.csv"
    stray.write_bytes(b'prot,bp_rp0,note\n5.0,1.0,seeing 2" poor\n6.0,1.0,ok\n7.0,1.0,ok\n8.0,1.1,seeing 3" poor\n'
                      b"9.0,1.2,ok\n")
    assert scan_input(stray, fingerprint=False)[1] == 5
    rng = np.random.default_rng(5)
    pieces = [b"a", b"5", b" ", b'"', b'""', b",", b"\n", b'"x\ny"', b'2"', b', "q\nr"', b"\r\n"]
    header = ",".join(f"c{i}" for i in range(60)).encode() + b"\n"  # more names than any row has fields
    for _ in range(300):
        text = header + b"".join(pieces[i] for i in rng.integers(0, len(pieces), rng.integers(1, 40))) + b"\n"
        try:
            rows = len(pd.read_csv(io.BytesIO(text), dtype=str, keep_default_na=False, skipinitialspace=True,
                                   index_col=False, skip_blank_lines=False))
        except pd.errors.ParserError:  # a quote left open at the end: the plain line count is kept
            continue
        for cut in (len(text), 1, 2, 3, 7):
            breaks = _RowBreaks()
            for start in range(0, len(text), cut):
                breaks.add(text[start:start + cut])
            breaks.end()
            assert not breaks.inside and breaks.lf - 1 == rows, (text, cut)


def test_a_table_sent_to_a_silenced_stream_by_its_path_is_refused(tmp_path):
    """Review V3: `-o /dev/stderr 2>/dev/full` (stderr silenced on its first failed notice, its descriptor pointed at
    /dev/null) or `-o /dev/stderr 2>&-` wrote the table into /dev/null, exit 0; so did a symbolic link to
    /dev/stdout, or /proc/thread-self/fd/1, with stdout closed. Each is now exit 2; -o /dev/null stays allowed."""
    src = tmp_path / "in.csv"
    _stars(src, 3)
    link = tmp_path / "to_stdout.csv"
    link.symlink_to("/dev/stdout")
    fds = tmp_path / "fds"  # review V4: a folder on the path that is the link
    fds.symlink_to("/proc/self/fd")
    full = open("/dev/full", "w")  # noqa: SIM115 - the child's stderr
    cases = [(["-o", "/dev/stderr"], {"stderr": full}), (["-o", "/dev/fd/2"], {"stderr": full}),
             (["-o", "/dev/stderr"], {"stderr": subprocess.DEVNULL, "preexec_fn": lambda: os.close(2)}),
             (["-o", str(link)], {"stderr": subprocess.DEVNULL, "preexec_fn": lambda: os.close(1)}),
             (["-o", "/proc/thread-self/fd/1"], {"stderr": subprocess.DEVNULL, "preexec_fn": lambda: os.close(1)}),
             (["-o", str(fds / "1")], {"stderr": subprocess.DEVNULL, "preexec_fn": lambda: os.close(1)}),
             (["-o", "/proc/self/root/proc/self/fd/1"], {"stderr": subprocess.DEVNULL,
                                                         "preexec_fn": lambda: os.close(1)}),
             (["-o", str(fds / "2")], {"stderr": full})]
    try:
        for opts, streams in cases:
            res = subprocess.run([*CLI, "estimate", str(src), "--threads", "1", *opts], cwd=ROOT, stdout=None,
                                 timeout=120, **streams)
            assert res.returncode == 2, (opts, res.returncode)
    finally:
        full.close()
    res = subprocess.run([*CLI, "estimate", str(src), "--threads", "1", "-q", "-o", "/dev/null"], cwd=ROOT,
                         stdout=None, stderr=subprocess.PIPE, text=True, timeout=120, preexec_fn=lambda: os.close(1))
    assert res.returncode == 0, res.stderr
