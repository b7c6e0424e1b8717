"""How a local-engine run that stops part-way says so: a folder made read-only during the run, repeated Ctrl-C, an
interrupt while an earlier run's rows are discarded or before the sidecar is opened (review V69)."""

from __future__ import annotations

import errno
import signal
import subprocess
import sys
import tempfile

import pytest

from gyroage.engines import local as engines
from gyroage.errors import UserError
from tests.conftest import ROOT
from tests.test_engines import density, stars  # noqa: F401  (fixtures; settings from conftest)


def _read_only_after(monkeypatch, folder, chunks: int) -> None:
    """mkstemp in ``folder`` fails as in a folder made read-only (EACCES) once ``chunks`` chunks were computed."""
    real_mkstemp, real_chunk = tempfile.mkstemp, engines.estimate_chunk
    made = {"n": 0}

    def chunk(*a, **k):
        made["n"] += 1
        return real_chunk(*a, **k)

    def mkstemp(*a, dir=None, **k):  # noqa: A002 - mkstemp's own keyword
        if made["n"] >= chunks and dir is not None and str(dir) == str(folder):
            raise PermissionError(errno.EACCES, "Permission denied", str(folder / f"{k.get('prefix', '')}x.part"))
        return real_mkstemp(*a, dir=dir, **k)

    monkeypatch.setattr(engines, "estimate_chunk", chunk)
    monkeypatch.setattr(tempfile, "mkstemp", mkstemp)


@pytest.mark.parametrize("name", ["out.csv", "out.parquet"])
def test_an_output_folder_made_read_only_during_the_run_is_one_line_keeping_the_rows(  # noqa: F811
        tmp_path, density, settings, monkeypatch, name):  # noqa: F811
    src, out = tmp_path / "in.csv", tmp_path / "o" / name
    stars(300).to_csv(src, index=False)
    _read_only_after(monkeypatch, out.parent, 3)  # only the assembled table's temporary file is refused
    with pytest.raises(UserError) as info:
        engines.run_local(src, out, density, settings, chunksize=100, quiet=True)
    text = str(info.value)
    assert "300 rows" in text and "--resume" in text and "writable" in text and "\n" not in text, text
    assert not out.exists() and engines.sidecar_dir(out).is_dir()  # the rows stay for --resume


def test_a_sidecar_made_read_only_during_the_run_is_one_line_keeping_the_rows(  # noqa: F811
        tmp_path, density, settings, monkeypatch):  # noqa: F811
    src, out = tmp_path / "in.csv", tmp_path / "out.csv"
    stars(300).to_csv(src, index=False)
    _read_only_after(monkeypatch, engines.sidecar_dir(out), 2)  # chunk 1's file is refused, chunk 0's is kept
    with pytest.raises(UserError) as info:
        engines.run_local(src, out, density, settings, chunksize=100, quiet=True)
    text = str(info.value)
    assert "100 rows" in text and "--resume" in text and "writable" in text and "\n" not in text, text


# A Ctrl-C as a chunk is computed, and a second one just as the first one's clean-up waits for the reader thread
# (_prefetch's join): each sent with kill, so each goes through the process's own SIGINT handler as a terminal's does.
TWICE = """
import os, signal, threading
import gyroage.engines.local as local

compute, read, join = local.estimate_chunk, local.io.read_chunks, threading.Thread.join
release = threading.Event()

def first(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGINT)
    return compute(*args, **kwargs)

def reader(*args, **kwargs):  # the next chunk is held until the clean-up has been interrupted again
    for i, chunk in enumerate(read(*args, **kwargs)):
        if i == 1:
            release.wait()
        yield chunk

def joined(self, timeout=None):
    if self.name == "gyroage-reader":
        if not release.is_set() and not getattr(joined, "sent", False):
            joined.sent = True
            os.kill(os.getpid(), signal.SIGINT)
        else:
            release.set()
    return join(self, timeout)

local.estimate_chunk, local.io.read_chunks, threading.Thread.join = first, reader, joined
from gyroage.__main__ import main
main()
"""


def test_a_second_ctrl_c_during_the_clean_up_is_not_a_traceback(tmp_path):
    """V69, 7: Ctrl-C pressed again while the first one's clean-up waited for the reader thread printed "Exception
    ignored in: <generator object _prefetch>" and a traceback before the line. Now the first Ctrl-C sets SIGINT
    to be ignored (as a second SIGTERM is) until the run has said its one line."""
    src = tmp_path / "in.csv"
    stars(300).to_csv(src, index=False)
    res = subprocess.run([sys.executable, "-c", TWICE, "estimate", str(src), "-o", str(tmp_path / "o.csv"), "-q",
                          "--chunksize", "100"], cwd=ROOT, capture_output=True, text=True, timeout=60,
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    assert (res.returncode, res.stderr) == (130, "gyroage: interrupted\n"), res.stderr[-800:]


def test_ctrl_c_while_an_earlier_runs_rows_are_discarded_does_not_say_they_are_kept(  # noqa: F811
        tmp_path, density, settings, monkeypatch):  # noqa: F811
    """V69, 6: a run without --resume removes an interrupted run's sidecar at its first chunk; a Ctrl-C during that
    removal said "the earlier run's 200 finished rows ... are kept" with its manifest (or chunks) gone already."""
    import shutil

    from tests.test_engines import interrupted_run

    src, out = interrupted_run(tmp_path, density, settings, monkeypatch, n=300, finished=2)
    real = shutil.rmtree
    calls = {"n": 0}

    def cut_short(path, *args, **kwargs):  # the manifest is gone when the Ctrl-C comes
        calls["n"] += 1
        if calls["n"] == 1:
            (path / "manifest.json").unlink()
            raise KeyboardInterrupt
        return real(path, *args, **kwargs)

    monkeypatch.setattr(shutil, "rmtree", cut_short)
    with pytest.raises(KeyboardInterrupt) as info:
        engines.run_local(src, out, density, settings, chunksize=100, quiet=True)
    assert calls["n"] >= 1 and "kept" not in str(info.value), str(info.value)
    assert not engines.sidecar_dir(out).exists()  # what is left of it can be resumed by no command


def test_ctrl_c_while_the_input_is_scanned_names_the_earlier_runs_kept_rows(tmp_path, density, settings,  # noqa: F811
                                                                             monkeypatch):
    """V69, 8: stopped before the sidecar was opened (the input's scan, seconds for a large catalogue), the line was
    the bare "interrupted", though README promises the earlier run's rows are said to be kept."""
    from tests.test_engines import interrupted_run

    src, out = interrupted_run(tmp_path, density, settings, monkeypatch, n=300, finished=2)

    def scan(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(engines, "scan_input", scan)
    for resume in (False, True):
        with pytest.raises(KeyboardInterrupt) as info:
            engines.run_local(src, out, density, settings, chunksize=100, quiet=True, resume=resume)
        assert "200 finished rows" in str(info.value) and "kept for --resume" in str(info.value), str(info.value)
    assert engines.sidecar_dir(out).is_dir()


def test_a_killed_stdin_runs_posteriors_chunks_are_removed_by_the_next_run(tmp_path):
    """V69, 10: a run from stdin (or to stdout) kept its --posteriors chunks in the system's temp folder
    (/tmp/gyroage-post-*): SIGKILLed, it left MBs to GBs there that no later run removed. They are now in a marked
    temporary folder beside the --posteriors file, which the next run into it removes under its lock."""
    from gyroage.engines.stream import Stream
    from gyroage.files import remove_stale

    post = tmp_path / "p.parquet"
    killed = Stream(None, post)  # as a SIGKILL leaves it: never aborted
    (killed.post_dir / "0000000.parquet").write_bytes(b"chunk")
    assert killed.post_dir.parent == tmp_path
    assert remove_stale(post) == [killed.post_dir.name] and not killed.post_dir.exists()


# Ctrl-C the moment group-age's output is renamed in (sent with kill, through the process's own handler)
AFTER_RENAME = """
import os, signal
from gyroage import files

replace = files._replace

def renamed(src, dst):
    replace(src, dst)
    if os.path.basename(dst) == "g.csv":
        os.kill(os.getpid(), signal.SIGINT)

files._replace = renamed
from gyroage.__main__ import main
main()
"""


def test_group_age_ctrl_c_once_its_output_is_in_place_finishes_the_run(tmp_path):
    """V71, 5: a Ctrl-C just after group-age's output was renamed in ended "gyroage: interrupted", exit 130 (which
    README says writes no -o file), with the new output complete. Once it is in place the run has succeeded: exit
    0, the output the same as an undisturbed run's."""
    src, out, ref = tmp_path / "in.csv", tmp_path / "g.csv", tmp_path / "ref.csv"
    stars(60).assign(cluster=["a", "b", "c"] * 20).to_csv(src, index=False)
    args = ["group-age", str(src), "--by", "cluster", "--grid", "50", "-q"]
    subprocess.run([sys.executable, "-m", "gyroage", *args, "-o", str(ref)], cwd=ROOT, check=True, timeout=60)
    out.write_bytes(b"old output\n")
    res = subprocess.run([sys.executable, "-c", AFTER_RENAME, *args, "-o", str(out)], cwd=ROOT, capture_output=True,
                         text=True, timeout=60, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    assert res.returncode == 0, res.stderr[-800:]
    assert out.read_bytes() == ref.read_bytes()


def test_a_killed_stdin_runs_posteriors_chunks_go_with_a_rerun_into_its_output_without_posteriors(tmp_path):
    """V71, 7: the chunks folder carried the --posteriors file's temporary prefix, so only a run into that same
    file removed it: a rerun of -o without --posteriors left MBs to GBs beside the output. Where -o is a file the
    folder now carries -o's prefix: any rerun into -o removes it under -o's lock."""
    from gyroage.engines.stream import Stream
    from gyroage.files import remove_stale

    out, post = tmp_path / "a.csv", tmp_path / "p.parquet"
    killed = Stream(out, post)  # as a SIGKILL leaves it: never aborted
    (killed.post_dir / "0000000.parquet").write_bytes(b"chunk")
    killed.writer.abort()  # its lock, which the killed process's end would have let go
    assert remove_stale(out) == [killed.post_dir.name] and not killed.post_dir.exists()
