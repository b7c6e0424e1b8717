"""gyroage.files.AtomicFile: the data reach the disk before the rename makes them the target."""

from __future__ import annotations

import os

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


def test_a_killed_runs_case_probe_is_removed_with_its_other_temporaries(tmp_path):
    """Review V5 #8b: the probe file that tells whether a folder ignores case (``.gyroage-case-xxxxxxxx``, made in a
    folder without a cased name and removed at once) stayed forever if the run was killed in between. The next run
    holding an output's lock in that folder removes it with the other temporaries: one older than a minute only (a
    live probe lasts microseconds), and never a name without its eight random characters."""
    import time

    from gyroage import files

    old, fresh, mine = (tmp_path / n for n in (".gyroage-case-abcd1234", ".gyroage-case-efgh5678",
                                                 ".gyroage-case-notes.txt"))
    for p in (old, fresh, mine):
        p.write_text("")
    hour_ago = time.time() - 3600
    os.utime(old, (hour_ago, hour_ago))
    os.utime(mine, (hour_ago, hour_ago))
    assert files.remove_stale(tmp_path / "out.csv") == [old.name]
    assert not old.exists() and fresh.exists() and mine.exists()
