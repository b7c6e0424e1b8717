"""Files that change while ``gyroage train`` or ``validate`` runs: the catalogue (edited, or replaced by a copy) and
gyroage's own code (a ``git pull`` while the folds train). What a run records must be what it read and ran (review
V55, 1, 3, 4; tiny synthetic catalogues only)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("torch")
pytest.importorskip("onnx")

from tests.build.test_build_guards import FAST, cli, toy_catalogue, write_config  # noqa: E402
from tests.conftest import one_line_error  # noqa: E402


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _edit_during(monkeypatch, module, name: str, cat: Path) -> None:
    """Make ``module.name`` drop the catalogue's first 10 rows on disk before it runs (an edit while a run lasts)."""
    real = getattr(module, name)

    def edited(*args, **kwargs):
        pd.read_csv(cat).iloc[10:].to_csv(cat, index=False)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, edited)


def test_train_records_the_hash_of_the_catalogue_it_read_not_of_a_later_edit(tmp_path, monkeypatch):
    """train hashed the file after training: an edit meanwhile was recorded as the catalogue trained on (and
    validate --write-card's catalogue check then took the edited file's LOCO for this flow)."""
    from gyroage.build import training

    cat = toy_catalogue(tmp_path / "cat.csv")
    read = _sha(cat)
    _edit_during(monkeypatch, training, "train_flow", cat)
    res = cli("train", "--catalogue", str(cat), "--out", str(tmp_path / "run"), "--config",
              str(write_config(tmp_path, FAST)), "-q")
    assert res.exit_code == 0, res.output
    info = json.loads((tmp_path / "run" / "train.json").read_text())
    assert _sha(cat) != read and info["n_stars"] == 120
    assert info["catalog"]["sha256"] == read


def test_a_catalogue_changed_while_it_is_read_is_refused_in_one_line(tmp_path, monkeypatch):
    from gyroage.build import catalogue

    cat = toy_catalogue(tmp_path / "cat.csv")
    _edit_during(monkeypatch, catalogue, "read_table", cat)
    res = cli("train", "--catalogue", str(cat), "--out", str(tmp_path / "run"), "--config",
              str(write_config(tmp_path, FAST)), "-q")
    one_line_error(res, f"rotator catalogue {cat} changed while it was read")
    assert not (tmp_path / "run").exists()


def test_validate_stops_when_a_fold_reads_another_catalogue_than_the_run(tmp_path, monkeypatch):
    """A fold read the file again and saved its held-out rows as positions in its own reading, which the analysis
    took from the run's first reading: an edit while validate ran scored one cluster's likelihoods against other
    stars' ages (exit 0, no word)."""
    from gyroage.build import loco

    cat = toy_catalogue(tmp_path / "cat.csv")
    _edit_during(monkeypatch, loco, "val_clusters_capped", cat)  # after the run's reading, before the folds'
    res = cli("validate", "--catalogue", str(cat), "--out", str(tmp_path / "v"), "--config",
              str(write_config(tmp_path, FAST)), "--clusters", "C0", "--jobs", "1", "--no-main-sequence", "-q")
    one_line_error(res, f"the catalogue {cat} changed while validate ran", "run it again")
    assert not list((tmp_path / "v").rglob("*.npz")) and not (tmp_path / "v" / "loco_summary.json").exists()


def test_a_fold_whose_process_runs_other_code_than_the_run_stops_it(tmp_path):
    """A spawned fold worker imports gyroage from disk but labelled its fold with the code hash of the run's start:
    code changed meanwhile (a git pull, an edit) trained folds that a later run of the old code reused as its own."""
    from gyroage.build.loco import ValidateSettings
    from gyroage.build.loco_checks import code_version
    from gyroage.build.loco_fold import run_fold
    from gyroage.errors import UserError

    cat = toy_catalogue(tmp_path / "cat.csv")
    s = ValidateSettings(train=FAST)
    start = {**code_version(), "source_sha256": "0" * 64}  # the run began with other code than this process's
    task = {"catalogue": str(cat), "cluster": "C0", "path": str(tmp_path / "C0.npz"), "grid": list(s.grid),
            "train": s.train_dict(), "key": s.key(), "catalog_sha256": _sha(cat), "gyroage": start}
    with pytest.raises(UserError, match="gyroage's code changed during the run .*fold C0.*run it again"):
        run_fold(task)
    assert not (tmp_path / "C0.npz").exists()
    meta = run_fold({**task, "gyroage": code_version()})  # the run's own code: trained and labelled with it
    saved = json.loads(str(np.load(tmp_path / "C0.npz")["meta"]))
    assert meta["gyroage"] == saved["gyroage"] == code_version()
