"""The table (-o) and its --posteriors file change together at the end of a run (review V69 #2): both the new
run's, or, when the run stops or fails before they are in place, both as they were."""

from __future__ import annotations

import errno
import io
import os
import shutil
import signal
import sys

import pytest

from gyroage.engines import local as engines
from gyroage.errors import UserError
from tests.test_engines import stars


def old_outputs(tmp_path) -> tuple:
    """An input of 120 stars and an earlier run's -o and --posteriors (stand-ins: any bytes)."""
    src, out, post = tmp_path / "in.csv", tmp_path / "ages.csv", tmp_path / "post.parquet"
    stars(120).to_csv(src, index=False)
    out.write_bytes(b"old table\n")
    post.write_bytes(b"old posteriors\n")
    return src, out, post


def stop_in_copy(monkeypatch, exc: BaseException) -> None:
    """The CSV table's assembly (its chunks copied into the temporary file) stopped by ``exc``."""
    from gyroage.engines import sinks

    monkeypatch.setattr(sinks.shutil, "copyfileobj", lambda *a, **k: (_ for _ in ()).throw(exc))


def stdin_rows(monkeypatch, src) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(src.read_bytes())))


@pytest.mark.parametrize("exc", [KeyboardInterrupt(), OSError(errno.ENOSPC, "No space left on device")],
                         ids=["ctrl-c", "disk-full"])
def test_a_stop_while_the_table_is_assembled_leaves_both_old_outputs(tmp_path, monkeypatch, density, settings, exc):
    """The posteriors were renamed into place before the table was assembled: a Ctrl-C or a full disk in between
    left the new posteriors beside the old table."""
    src, out, post = old_outputs(tmp_path)
    stop_in_copy(monkeypatch, exc)
    with pytest.raises(UserError if isinstance(exc, OSError) else KeyboardInterrupt):  # disk full: rows kept
        engines.run_local(src, out, density, settings, chunksize=50, quiet=True, posteriors=post)
    assert (out.read_bytes(), post.read_bytes()) == (b"old table\n", b"old posteriors\n")


def test_ctrl_c_at_the_first_rename_leaves_the_outputs_of_one_run(tmp_path, monkeypatch, density, settings):
    """A Ctrl-C the moment one output is renamed in (file input): the other follows before it is taken."""
    src, out, post = old_outputs(tmp_path)
    replace = os.replace

    def interrupted(src_, dst, *a, **k):
        replace(src_, dst, *a, **k)
        if os.fspath(dst) in (str(out), str(post)):
            monkeypatch.setattr(os, "replace", replace)
            signal.raise_signal(signal.SIGINT)

    monkeypatch.setattr(os, "replace", interrupted)
    try:
        engines.run_local(src, out, density, settings, chunksize=50, quiet=True, posteriors=post)
    except KeyboardInterrupt:
        pass
    assert (out.read_bytes() == b"old table\n") == (post.read_bytes() == b"old posteriors\n")


def test_stdin_a_stop_while_the_posteriors_are_written_leaves_both_old_outputs(tmp_path, monkeypatch, density,
                                                                              settings):
    """From stdin (no sidecar) the table went in first, then the posteriors were written: a Ctrl-C in between
    replaced -o, kept the old posteriors and said "interrupted"."""
    from gyroage.engines import stream

    src, out, post = old_outputs(tmp_path)
    stdin_rows(monkeypatch, src)

    def stopped(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(stream, "write_posteriors", stopped)
    with pytest.raises(KeyboardInterrupt):
        engines.run_local("-", out, density, settings, chunksize=50, quiet=True, posteriors=post)
    assert (out.read_bytes(), post.read_bytes()) == (b"old table\n", b"old posteriors\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ages.csv", "in.csv", "post.parquet"]


def test_outputs_of_a_finished_run_are_both_new(tmp_path, density, settings, monkeypatch):
    """The ordinary end, from a file and from stdin: both outputs replaced, nothing left beside them."""
    src, out, post = old_outputs(tmp_path)
    engines.run_local(src, out, density, settings, chunksize=50, quiet=True, posteriors=post)
    table, posteriors = out.read_bytes(), post.read_bytes()
    assert table != b"old table\n" and posteriors.startswith(b"PAR1")
    shutil.copy(tmp_path / "in.csv", tmp_path / "again.csv")
    out.write_bytes(b"old table\n")
    post.write_bytes(b"old posteriors\n")
    stdin_rows(monkeypatch, src)
    engines.run_local("-", out, density, settings, chunksize=50, quiet=True, posteriors=post)
    assert out.read_bytes() == table and post.read_bytes().startswith(b"PAR1")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["again.csv", "ages.csv", "in.csv", "post.parquet"]


@pytest.mark.parametrize("stdin", [False, True], ids=["file", "stdin"])
@pytest.mark.parametrize("with_posteriors", [False, True], ids=["table", "table+posteriors"])
def test_ctrl_c_once_the_output_is_in_place_finishes_the_run(tmp_path, monkeypatch, density, settings, stdin,
                                                            with_posteriors):
    """Review V69 #5: a Ctrl-C just after -o was renamed in (before the run marked itself finished) exited 130
    saying the rows were kept for --resume, with the sidecar left beside the complete output; from stdin a bare
    "interrupted". Once -o is in place the run is finished: it returns, and leaves nothing beside the outputs."""
    from gyroage.engines.sinks import sidecar_dir

    src, out, post = old_outputs(tmp_path)
    ref = tmp_path / "ref" / "ages.csv"
    ref.parent.mkdir()
    engines.run_local(src, ref, density, settings, chunksize=50, quiet=True)
    replace = os.replace

    def interrupted(src_, dst, *a, **k):
        replace(src_, dst, *a, **k)
        if os.fspath(dst) == str(out):
            signal.raise_signal(signal.SIGINT)

    monkeypatch.setattr(os, "replace", interrupted)
    if stdin:
        stdin_rows(monkeypatch, src)
    try:
        engines.run_local("-" if stdin else src, out, density, settings, chunksize=50, quiet=True,
                          posteriors=post if with_posteriors else None)
    except KeyboardInterrupt as exc:  # caught: pytest would stop the session
        pytest.fail(f"a run whose output is in place raised KeyboardInterrupt({exc})")
    assert out.read_bytes() == ref.read_bytes()
    assert post.read_bytes().startswith(b"PAR1") if with_posteriors else post.read_bytes() == b"old posteriors\n"
    assert not sidecar_dir(out).exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ages.csv", "in.csv", "post.parquet", "ref"]


@pytest.mark.parametrize("stdin", [False, True], ids=["file", "stdin"])
def test_a_refused_rename_of_the_posteriors_puts_the_old_table_back(tmp_path, monkeypatch, density, settings, stdin):
    """Review V71 #2: the table was renamed in, then the --posteriors file's rename was refused (an immutable or
    another user's file): the new table stood beside the earlier run's posteriors, said only as an error about the
    posteriors. Now the table's old copy, kept aside until both are in, goes back: both outputs as they were."""
    from gyroage import files

    src, out, post = old_outputs(tmp_path)
    replace = files._replace

    def refused(src_, dst):
        if os.fspath(dst) == str(post):
            raise PermissionError(errno.EPERM, "Operation not permitted")
        replace(src_, dst)

    monkeypatch.setattr(files, "_replace", refused)
    if stdin:
        stdin_rows(monkeypatch, src)
    with pytest.raises(UserError, match="cannot replace"):
        engines.run_local("-" if stdin else src, out, density, settings, chunksize=50, quiet=True, posteriors=post)
    assert (out.read_bytes(), post.read_bytes()) == (b"old table\n", b"old posteriors\n")
    left = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".") and not p.name.endswith(".lock"))
    assert left == ([] if stdin else [".ages.csv.resume"])


@pytest.mark.parametrize("where", ["file: closing notes", "stdin: chunk folder removed"])
def test_ctrl_c_after_both_outputs_are_in_place_finishes_the_run(tmp_path, monkeypatch, density, settings, where):
    """Review V71 #6: a Ctrl-C once -o and --posteriors were both in place, a moment later than the renames (file
    input: the end-of-run notes; stdin: the posteriors' chunk folder being removed), was exit 130, "interrupted
    after ages.csv was written in full". The run has succeeded: it returns its counts, the chunk folder is gone."""
    from gyroage.engines import local, stream

    src, out, post = old_outputs(tmp_path)
    ref = tmp_path / "ref" / "ages.csv"
    ref.parent.mkdir()
    counts = engines.run_local(src, ref, density, settings, chunksize=50, quiet=True)
    module, name = (stream.shutil, "rmtree") if where.startswith("stdin") else (local, "grid_error_note")
    real = getattr(module, name)

    def stopped(*a, **k):
        monkeypatch.setattr(module, name, real)
        signal.raise_signal(signal.SIGINT)
        return real(*a, **k)

    monkeypatch.setattr(module, name, stopped)
    if where.startswith("stdin"):
        stdin_rows(monkeypatch, src)
    try:
        got = engines.run_local("-" if where.startswith("stdin") else src, out, density, settings, chunksize=50,
                                quiet=True, posteriors=post)
    except KeyboardInterrupt as exc:  # caught: pytest would stop the session
        pytest.fail(f"a run whose outputs are in place raised KeyboardInterrupt({exc})")
    assert got == counts
    assert out.read_bytes() == ref.read_bytes() and post.read_bytes().startswith(b"PAR1")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ages.csv", "in.csv", "post.parquet", "ref"]
