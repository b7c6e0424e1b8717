"""gyroage.files.AtomicFile: the data reach the disk before the rename makes them the target."""

from __future__ import annotations

import os
import signal

import pytest

from gyroage import files


def record_order(monkeypatch) -> list[tuple[str, str]]:
    """Patch os.fsync and os.replace to log ("fsync", path) and ("replace", source path), then do their work."""
    events: list[tuple[str, str]] = []
    fsync, replace = os.fsync, os.replace

    def logged_fsync(fd):
        events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        return fsync(fd)

    def logged_replace(src, dst, *a, **k):
        events.append(("replace", os.fspath(src)))
        return replace(src, dst, *a, **k)

    monkeypatch.setattr(os, "fsync", logged_fsync)
    monkeypatch.setattr(os, "replace", logged_replace)
    return events


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc to name an fd's file")
@pytest.mark.parametrize("directory", [False, True])
def test_commit_syncs_the_data_before_renaming_it_onto_the_target(tmp_path, monkeypatch, directory):
    """A rename before the fsync can leave an empty or partial target after a power cut, which is what the
    temporary file exists to prevent (README: readers see the old target or the complete new one)."""
    target = tmp_path / "out.csv"
    target.write_text("old\n")
    f = files.AtomicFile(target, directory=directory)
    written = [f.path / "a.csv", f.path / "b.csv"] if directory else [f.path]
    for p in written:
        p.write_text("new\n")
    events = record_order(monkeypatch)
    f.commit()
    renamed = events.index(("replace", str(f.path)))
    # every data file synced before the rename (a sync of the folder after it, to keep the new name, is welcome)
    assert {str(p.resolve()) for p in written} <= {p for e, p in events[:renamed] if e == "fsync"}, events
    assert (target / "a.csv" if directory else target).read_text() == "new\n"



def old_table(target) -> set[str]:
    """A folder output (the dask engine's Parquet dataset) of three parts; their names."""
    target.mkdir()
    for i in range(3):
        (target / f"part.{i:05d}.parquet").write_text(f"old {i}\n")
    return {p.name for p in target.iterdir()}


def new_table(target) -> files.AtomicFile:
    f = files.AtomicFile(target, suffix=".dask-tmp", directory=True)
    (f.path / "part.00000.parquet").write_text("new 0\n")
    return f


def contents(folder) -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted(folder.iterdir())}


def test_a_folder_target_stays_whole_when_the_new_one_cannot_be_renamed_in(tmp_path, monkeypatch):
    """Review V69 #1: commit removed the old folder before the rename, so a folder made read-only during the run
    lost both tables (the old one's files went, the rename was refused). Now the old one is put back whole."""
    target = tmp_path / "ages.parquet"
    old_table(target)
    before = contents(target)
    f = new_table(target)
    replace = os.replace

    def refused(src, dst, *a, **k):
        if os.fspath(src) == str(f.path):
            raise PermissionError(1, "Operation not permitted")
        return replace(src, dst, *a, **k)

    monkeypatch.setattr(os, "replace", refused)
    with pytest.raises(files.TargetBusy):
        f.commit()
    f.abort()
    assert contents(target) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ages.parquet"]  # no aside copy, no temporary, no lock


def committed_over_an_undeletable_part(tmp_path, monkeypatch):
    """A new table committed over an old one whose part.00001 cannot be removed (chattr +i): (target, os.unlink)."""
    target = tmp_path / "ages.parquet"
    old_table(target)
    f = new_table(target)
    unlink = os.unlink

    def stuck(path, *a, **k):
        if os.fspath(path).endswith("part.00001.parquet"):
            raise PermissionError(1, "Operation not permitted")
        return unlink(path, *a, **k)

    monkeypatch.setattr(os, "unlink", stuck)
    f.commit()
    return target, unlink


def test_an_undeletable_file_in_the_old_folder_does_not_truncate_it(tmp_path, monkeypatch, capsys):
    """Review V69 #1: a file of the old output that cannot be removed (chattr +i) stopped rmtree part-way: a
    truncated table under the final name and a message blaming a sticky or read-only folder. Now the new table is
    renamed in and the old one's leftover, renamed aside, is named."""
    target, unlink = committed_over_an_undeletable_part(tmp_path, monkeypatch)
    assert contents(target) == {"part.00000.parquet": "new 0\n"}
    left = [p for p in tmp_path.iterdir() if p.name != "ages.parquet"]
    assert len(left) == 1 and left[0].name.startswith(".ages.parquet.gyroage-") and left[0].name.endswith(".del")  # V71 #1: not .old
    assert left[0].name in capsys.readouterr().err


def test_ctrl_c_between_the_renames_leaves_a_whole_table(tmp_path, monkeypatch):
    """Ctrl-C (or SIGTERM) while the old folder is being replaced: the folder under the target's name is the old
    table or the new one, whole, never missing or emptied."""
    target = tmp_path / "ages.parquet"
    old_table(target)
    before = contents(target)
    f = new_table(target)
    replace, rmtree, calls = os.replace, files.shutil.rmtree, []

    def interrupted(src, dst, *a, **k):
        calls.append(src)
        if len(calls) == 1:
            signal.raise_signal(signal.SIGINT)
        return replace(src, dst, *a, **k)

    def rmtree_interrupted(path, *a, **k):  # main removed the old folder first: stopped inside it
        if os.fspath(path) == str(target):
            (target / "part.00002.parquet").unlink()
            signal.raise_signal(signal.SIGINT)
        return rmtree(path, *a, **k)

    monkeypatch.setattr(os, "replace", interrupted)
    monkeypatch.setattr(files.shutil, "rmtree", rmtree_interrupted)
    # Python's own Ctrl-C handler, as at a terminal: a background job (CI's nohup ... &) starts with SIGINT ignored,
    # which signals_held then restores, and the Ctrl-C never arrived (CI runs 196, 197)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # put back by conftest's _signal_handlers_restored
    with pytest.raises(KeyboardInterrupt):
        f.commit()
    f.abort()
    assert contents(target) in (before, {"part.00000.parquet": "new 0\n"})


@pytest.mark.parametrize("target_there", [False, True])
def test_a_killed_runs_aside_copy_is_put_back_or_removed(tmp_path, capsys, target_there):
    """A run killed between the two renames leaves the old table only under its aside name: the next run into
    that output renames it back (the target is missing) instead of deleting the last whole table; with the target
    in place (killed after the rename in) the aside copy is removed."""
    target = tmp_path / "ages.parquet"
    aside = tmp_path / ".ages.parquet.gyroage-0a1b2c3d.old"
    old_table(aside)
    before = contents(aside)
    if target_there:
        old_table(target)
        (target / "part.00009.parquet").write_text("newer\n")
    lock = files.TargetLock(target)
    lock.release()
    assert not aside.exists()
    if target_there:
        assert "part.00009.parquet" in contents(target)
    else:
        assert contents(target) == before
        assert str(target) in capsys.readouterr().err


def test_an_old_folders_remnant_is_never_put_back_as_the_output(tmp_path, monkeypatch, capsys):
    """Review V71 #1: the remnant of an old folder replace_dir could not remove whole kept the aside name (.old) a
    whole copy has, so once the output was gone (removed by the user, or a later run killed between its renames)
    the next run's lock renamed the remnant back under the output's name: a table with a quarter of the rows.
    A remnant now has its own name, which a lock only removes."""
    target, unlink = committed_over_an_undeletable_part(tmp_path, monkeypatch)
    monkeypatch.setattr(os, "unlink", unlink)
    files.shutil.rmtree(target)  # the user clears the output to start again
    files.TargetLock(target).release()
    assert not target.exists()  # the remnant is not put back


def test_two_aside_copies_of_a_missing_output_are_both_left(tmp_path, capsys):
    """Review V71 #1: with two aside copies and the output missing, the first in directory order was put back and
    the other deleted, though only one of them can be the last whole table. Neither is chosen now: both stay,
    said in one line."""
    target = tmp_path / "ages.parquet"
    asides = [tmp_path / ".ages.parquet.gyroage-0a1b2c3d.old", tmp_path / ".ages.parquet.gyroage-9f8e7d6c.old"]
    old_table(asides[0])
    (asides[1]).mkdir()
    (asides[1] / "part.00002.parquet").write_text("old 2\n")
    files.TargetLock(target).release()
    assert not target.exists()
    assert all(a.is_dir() for a in asides)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and all(a.name in err for a in asides), err


@pytest.mark.parametrize("how", ["sidecar", "writer"])
def test_a_file_output_refuses_the_folder_its_lock_puts_back(tmp_path, capsys, how):
    """Review V71 #4: a dask run killed between its renames left the old folder aside; a local-engine estimate or
    group-age into that output passed the "is a directory" check, then its lock put the folder back: every row was
    computed and the last rename ended in an IsADirectoryError traceback. Now refused in one line once locked."""
    from gyroage import writers
    from gyroage.errors import UserError

    target = tmp_path / "ages.parquet"
    old_table(tmp_path / ".ages.parquet.gyroage-0a1b2c3d.old")
    with pytest.raises(UserError, match=r"^output .*ages\.parquet is a directory$"):
        if how == "sidecar":
            writers.locked_target(target)
        else:
            writers.AtomicWriter(target, "parquet", lock=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ages.parquet"]  # put back whole; no lock, no temporary
    assert len(contents(target)) == 3
