"""The second temporary file of a Parquet output of CSV text (AtomicWriter._text): never left behind."""

from __future__ import annotations

import os

import pandas as pd
import pyarrow.parquet as pq
import pytest

from gyroage import column_types
from gyroage.writers import AtomicWriter


def chunks() -> list[pd.DataFrame]:
    return [pd.DataFrame({"id": ["a", "b"], "x": ["1", "2"]}), pd.DataFrame({"id": ["c"], "x": ["2.5"]})]


def leftovers(folder) -> list[str]:
    return sorted(n for n in os.listdir(folder) if n.startswith("."))


def test_commit_removes_the_text_temp_file(tmp_path):
    out = tmp_path / "o.parquet"
    with AtomicWriter(out, text_columns=True, lock=True) as writer:
        for frame in chunks():
            writer.write(frame)
        assert len([n for n in leftovers(tmp_path) if n.endswith(".part")]) == 2  # the target's and the text's
    assert leftovers(tmp_path) == []
    assert pq.read_table(out).column("x").to_pylist() == [1.0, 2.0, 2.5]


def test_abort_removes_the_text_temp_file(tmp_path):
    out = tmp_path / "o.parquet"
    with pytest.raises(RuntimeError), AtomicWriter(out, text_columns=True, lock=True) as writer:
        writer.write(chunks()[0])
        raise RuntimeError("a chunk failed")
    assert leftovers(tmp_path) == [] and not out.exists()


def test_a_failed_settle_removes_both_temp_files(tmp_path, monkeypatch):
    def fail(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(column_types, "typed_chunks", fail)
    out = tmp_path / "o.parquet"
    with pytest.raises(OSError), AtomicWriter(out, text_columns=True, lock=True) as writer:
        for frame in chunks():
            writer.write(frame)
    assert leftovers(tmp_path) == [] and not out.exists()


def test_the_next_run_removes_a_killed_runs_text_temp_file(tmp_path):
    out = tmp_path / "o.parquet"
    killed = tmp_path / ".o.parquet.gyroage-k1ll3d00.part"  # named as AtomicFile names the text's
    killed.write_bytes(b"PAR1")
    with AtomicWriter(out, text_columns=True, lock=True) as writer:
        writer.write(chunks()[0])
        assert not killed.exists()
    assert leftovers(tmp_path) == []
