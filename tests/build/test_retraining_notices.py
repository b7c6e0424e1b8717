"""What ``gyroage train / export / validate`` and ``estimate --model`` say to a user retraining on their own
catalogue: folders that cannot be written, colour errors a retrained card clips, magnitudes a model cannot use,
calibration widths kept (tiny toy catalogues only)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("onnx")

from tests.build.test_build_guards import FAST, cli, toy_catalogue, write_config  # noqa: E402
from tests.conftest import one_line_error  # noqa: E402

UNWRITABLE = Path("/proc")  # not even root can make a folder here


@pytest.mark.skipif(not UNWRITABLE.is_dir(), reason="needs Linux's /proc")
@pytest.mark.parametrize("option", ["--out", "--export"])
def test_train_refuses_a_folder_it_cannot_create_before_training(tmp_path, option):
    """train --export /proc/m trained, then died in a FileNotFoundError traceback from mkdir (--out: the same, from
    commands.py); now one line, exit 2, and nothing trained."""
    cat = toy_catalogue(tmp_path / "cat.csv")
    out, export_to = tmp_path / "run", tmp_path / "m"
    if option == "--out":
        out = UNWRITABLE / "gyroage-run"
    else:
        export_to = UNWRITABLE / "gyroage-model"
    res = cli("train", "--catalogue", str(cat), "--out", str(out), "--config", str(write_config(tmp_path, FAST)),
              "--export", str(export_to))
    one_line_error(res, f"{option} {UNWRITABLE}/gyroage-", f"cannot create the directory in {UNWRITABLE}",
                   "No such file or directory")
    assert not (tmp_path / "run").exists() and not (tmp_path / "m").exists()


@pytest.mark.skipif(not UNWRITABLE.is_dir(), reason="needs Linux's /proc")
@pytest.mark.parametrize("command", ["export", "validate"])
def test_export_and_validate_refuse_a_folder_they_cannot_write_in(tmp_path, command):
    args = ["--checkpoint", str(tmp_path)] if command == "export" else ["--catalogue", str(tmp_path / "cat.csv")]
    one_line_error(cli(command, *args, "--out", str(UNWRITABLE)), f"--out {UNWRITABLE}: cannot write in it")


def test_the_probe_leaves_no_trace(tmp_path):
    """The writability probe makes and removes an empty folder: a refused run still leaves --out as it was."""
    cat = toy_catalogue(tmp_path / "cat.csv")
    (tmp_path / "run").mkdir()
    res = cli("train", "--catalogue", str(cat), "--out", str(tmp_path / "run" / "new"), "--max-epochs", "0")
    assert res.exit_code == 2
    assert os.listdir(tmp_path / "run") == []
