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

