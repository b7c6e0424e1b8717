"""How a local-engine run that stops part-way says so: a folder made read-only during the run, repeated Ctrl-C, an
interrupt while an earlier run's rows are discarded or before the sidecar is opened (review V69)."""

from __future__ import annotations

import errno
import tempfile

import pytest

from gyroage.engines import local as engines
from gyroage.errors import UserError
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
            raise PermissionError(errno.EACCES, "Permission denied", str(folder / "x.part"))
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
