"""validate reused a saved fold whatever code trained it (review V46, 1): the settings key names the training
settings only, so a fold trained by a gyroage with another training constant scored that code's flow as this one's,
and README's "rerun with --force" retrained nothing (validate ignored --force without --write-card)."""

import json
from pathlib import Path

import numpy as np
import pytest

from gyroage.build.catalogue import load_catalogue, quality_select, training_set
from gyroage.build.loco_checks import rows_sha256
from gyroage.core.modelcard import sha256
from tests.build.test_build_guards import cli
from tests.build.test_loco_fold_reuse import rotators, rows_of, save_fold
from tests.conftest import one_line_error, run_cli


def _fake_run_fold(trained: list):
    def run_fold(task: dict) -> dict:
        trained.append(task["cluster"])
        return {"cluster": task["cluster"], "n_stars": 1, "best_epoch": 1, "seconds": 0.0, "gyroage": task["gyroage"]}
    return run_fold


@pytest.mark.parametrize("keep", [False, True])
def test_a_fold_of_another_gyroage_is_trained_again_with_a_line(tmp_path, monkeypatch, capsys, keep):
    """Three folds of this catalogue's stars: one of this gyroage, one of another version, one saved before folds
    recorded theirs. The last two were reused as "3 folds already done"."""
    pytest.importorskip("torch")
    from gyroage.build import loco_fold
    from gyroage.build.loco import ValidateSettings, read_catalogue, run_folds
    from gyroage.build.loco_checks import code_version, rows_sha256

    csv = tmp_path / "cat.csv"
    rotators().to_csv(csv, index=False)
    settings = ValidateSettings(train=loco_fold.full_train_dict({"max_epochs": 1}), jobs=1, keep_folds=keep)
    rows = rows_sha256(training_set(quality_select(load_catalogue(csv, notices=False))))
    same = {"catalog_sha256": sha256(csv), "rows_sha256": rows}
    folds = settings.fold_dir(tmp_path / "v")
    save_fold(folds / "Pleiades.npz", rows_of(csv, "Pleiades"), **same, gyroage=code_version())
    save_fold(folds / "Praesepe.npz", rows_of(csv, "Praesepe"), **same, gyroage={"version": "0.0.9", "commit": None})
    save_fold(folds / "M67.npz", rows_of(csv, "M67"), **same)
    trained: list = []
    monkeypatch.setattr(loco_fold, "run_fold", _fake_run_fold(trained))
    run_folds(read_catalogue(csv), tmp_path / "v", ["Pleiades", "Praesepe", "M67"], settings)
    err = capsys.readouterr().err
    assert trained == ([] if keep else ["Praesepe", "M67"]), err
    said = [line for line in err.splitlines() if "saved folds were trained by" in line]
    assert len(said) == 1, err
    assert "gyroage 0.0.9" in said[0] and "recorded no version" in said[0], said[0]
    assert ("reused as --keep-folds asks" if keep else "training again (--keep-folds reuses them)") in said[0]
    assert f"{3 if keep else 1} fold{'s' if keep else ''} already done" in err, err


def test_a_fold_records_the_gyroage_that_trained_it(tmp_path):
    """What the check above reads: the version, and the SHA-256 of the package's own source (review V47, 1; it was the
    git commit, None outside a checkout)."""
    import gyroage
    from gyroage.build.loco_checks import code_version

    code = code_version()
    assert set(code) == {"version", "source_sha256"}, code
    assert code["version"] == gyroage.__version__
    assert len(code["source_sha256"]) == 64 and int(code["source_sha256"], 16) >= 0


def _copy_package(to) -> str:
    """A copy of this gyroage's package (its *.py and whatever else, no .git), as an installed copy would be."""
    import shutil
    from pathlib import Path

    import gyroage

    shutil.copytree(Path(gyroage.__file__).parent, to / "gyroage", ignore=shutil.ignore_patterns("__pycache__"))
    return str(to)


def _code_version_of(root: str) -> dict:
    import os
    import subprocess
    import sys

    env = {**os.environ, "PYTHONPATH": root}
    done = subprocess.run([sys.executable, "-c", "import json; from gyroage.build.loco_checks import code_version; "
                           "import gyroage; print(json.dumps([gyroage.__file__, code_version()]))"],
                          capture_output=True, text=True, env=env, cwd=root, timeout=60, check=True)
    where, code = json.loads(done.stdout)
    assert where.startswith(root), where  # the copy ran, not the installed package
    return code


def test_the_same_source_elsewhere_is_the_same_gyroage_and_an_edit_is_not(tmp_path):
    """Review V47, 1, 5, 7: the git commit named the code, so an uncommitted edit (a training constant) reused the
    folds of the code before it, a docs-only commit retrained every fold, and a copy without .git (installed) was
    always another gyroage. The package's source is what counts: a copy elsewhere (no .git) is this gyroage; the same
    copy with one file edited is not."""
    from gyroage.build.loco_checks import code_version

    same = _code_version_of(_copy_package(tmp_path / "a"))
    assert same == code_version()
    edited = tmp_path / "b"
    _copy_package(edited)
    training = edited / "gyroage" / "build" / "training.py"
    training.write_text(training.read_text() + "\n# an edit, not committed\n")
    other = _code_version_of(str(edited))
    assert other["version"] == same["version"] and other["source_sha256"] != same["source_sha256"], other


def test_the_line_names_why_the_folds_are_another_gyroages():
    """One line, as before: a fold of other source says so; one recorded by its commit (b77d899's record, before the
    source was hashed) is another gyroage too, and says why."""
    from gyroage.build.loco_checks import code_version, other_version_text

    code = code_version()
    edited = {**code, "source_sha256": "0" * 64}
    line = other_version_text({"M67": edited}, code, keep=False)
    assert "\n" not in line and line.startswith("1 saved fold was trained by gyroage"), line
    assert f"(source {'0' * 12})" in line and f"(source {code['source_sha256'][:12]})" in line, line
    assert ": its source differs (a gyroage/*.py file); training again" in line and "training again" in line, line
    by_commit = {"version": code["version"], "commit": "49aea89c5692" + "0" * 28}
    line = other_version_text({"M67": by_commit, "Pleiades": by_commit}, code, keep=True)
    assert "commit 49aea89c5692, saved before folds recorded their source" in line, line
    assert "2 saved folds were" in line and "reused as --keep-folds asks" in line, line


def test_validate_force_without_write_card_is_refused_in_one_line(tmp_path):
    """It was accepted without a word and retrained nothing, as README promised it would."""
    res = cli("validate", "--out", str(tmp_path / "v"), "--catalogue", str(tmp_path / "missing.csv"), "--force")
    one_line_error(res, "--force", "--write-card")
    assert not (tmp_path / "v").exists()


@pytest.mark.slow
def test_validate_retrains_a_fold_saved_without_a_version_end_to_end(tmp_path):
    """A real fold (one epoch): its meta names this gyroage; with that record removed, as folds saved before it, the
    next run trains it again and says why, and --keep-folds keeps it."""
    pytest.importorskip("torch")
    from gyroage.build.loco_checks import code_version

    csv = tmp_path / "cat.csv"
    rotators().to_csv(csv, index=False)
    (tmp_path / "fast.json").write_text('{"max_epochs": 1, "n_val_clusters": 0, "flow": {"use_colour_err": false}}')
    args = ["validate", "--catalog", str(csv), "--out", str(tmp_path / "v"), "--clusters", "Praesepe", "--config",
            str(tmp_path / "fast.json"), "--min-members", "10", "--no-main-sequence", "--jobs", "1"]
    r = run_cli(*args)
    assert r.returncode == 0, r.stderr
    (fold,) = (tmp_path / "v" / "folds").glob("*/Praesepe.npz")
    with np.load(fold) as z:
        saved = {k: z[k] for k in z.files}
    meta = json.loads(str(saved["meta"]))
    assert meta["gyroage"] == code_version()
    np.savez_compressed(fold, **{**saved, "meta": json.dumps({k: v for k, v in meta.items() if k != "gyroage"})})
    kept = run_cli(*args, "--keep-folds")
    assert kept.returncode == 0 and "1 fold already done, 0 to train" in kept.stderr, kept.stderr
    assert "recorded no version" in kept.stderr and "reused as --keep-folds asks" in kept.stderr, kept.stderr
    again = run_cli(*args)
    assert again.returncode == 0 and "0 folds already done, 1 to train" in again.stderr, again.stderr
    assert "recorded no version" in again.stderr and "training again" in again.stderr, again.stderr
    last = run_cli(*args)
    assert last.returncode == 0 and "1 fold already done, 0 to train" in last.stderr, last.stderr
    assert "trained by" not in last.stderr, last.stderr


def _summary(path, **fields) -> None:
    path.mkdir(parents=True, exist_ok=True)
    (path / "loco_summary.json").write_text(json.dumps(fields))


@pytest.mark.parametrize("by_seed", [{"seeds": [1, 2], "top_level_seed": 2}, {"seeds": [1, 2]}])
def test_seed_table_dirs_read_the_top_level_as_the_runs_own_seed(tmp_path, by_seed):
    """Review V46, 2: the smallest seed was taken for the top level's: --seed 2 --extra-seeds 1 gave [top, seed_2/]
    (seed 2 twice, seed 1 never). A summary written before top_level_seed was recorded: its train_settings.seed."""
    from gyroage.build.loco import seed_table_dirs

    _summary(tmp_path, loco_by_seed=by_seed, train_settings={"seed": 2})
    assert seed_table_dirs(tmp_path) == [tmp_path, tmp_path / "seed_1"]


@pytest.mark.slow
def test_seed_2_with_extra_seed_1_reads_each_seed_once(tmp_path):
    """End to end (one cluster, one epoch, two seeds): each table directory holds its own seed's folds."""
    pytest.importorskip("torch")
    from gyroage.build.loco import saved_folds, seed_table_dirs

    csv = tmp_path / "cat.csv"
    rotators().to_csv(csv, index=False)
    (tmp_path / "fast.json").write_text('{"max_epochs": 1, "n_val_clusters": 0, "flow": {"use_colour_err": false}}')
    r = run_cli("validate", "--catalog", str(csv), "--out", str(tmp_path / "v"), "--clusters", "Praesepe", "--config",
                str(tmp_path / "fast.json"), "--min-members", "10", "--no-main-sequence", "--jobs", "1",
                "--seed", "2", "--extra-seeds", "1")
    assert r.returncode == 0, r.stderr
    dirs = seed_table_dirs(tmp_path / "v")
    assert dirs == [tmp_path / "v", tmp_path / "v" / "seed_1"]
    seeds = [json.loads((d / "loco_summary.json").read_text())["train_settings"]["seed"] for d in dirs]
    assert seeds == [2, 1]
    f2, f1 = (saved_folds(d)["Praesepe"] for d in dirs)
    assert f2["meta"]["key"] != f1["meta"]["key"]


@pytest.mark.parametrize("keep", [False, True])
def test_folds_kept_of_another_gyroage_are_recorded_in_the_summary(tmp_path, monkeypatch, keep):
    """Review V47, 8: --keep-folds said on stderr that it kept another gyroage's folds, and nothing else did:
    loco_summary.json (and the card's validation, written from it) held that code's figures as this one's. Two seeds
    (the second's table directory seed_1/); one fold of another source in each, kept or trained again."""
    pytest.importorskip("torch")
    from gyroage.build import loco_fold
    from gyroage.build.loco import ValidateSettings, run_loco
    from gyroage.build.loco_checks import code_version

    csv = tmp_path / "cat.csv"
    rotators().to_csv(csv, index=False)
    code, other = code_version(), {"version": "0.1.0", "source_sha256": "0" * 64}
    settings = ValidateSettings(train=loco_fold.full_train_dict({"max_epochs": 1}), jobs=1, keep_folds=keep,
                                main_sequence=False, min_members=10)
    rows = rows_sha256(training_set(quality_select(load_catalogue(csv, notices=False))))
    for seed in (0, 1):
        s = ValidateSettings(train={**settings.train, "seed": seed}, main_sequence=False)
        for c, by in (("Pleiades", code), ("Praesepe", other if seed == 0 else code), ("M67", other)):
            save_fold(s.fold_dir(tmp_path / "v") / f"{c}.npz", rows_of(csv, c), catalog_sha256=sha256(csv),
                      rows_sha256=rows, gyroage=by, cluster=c, best_epoch=1, seconds=0.0)

    def run_fold(task: dict) -> dict:  # trains again: a fold of this gyroage
        save_fold(Path(task["path"]), rows_of(csv, task["cluster"]), catalog_sha256=sha256(csv), rows_sha256=rows,
                  gyroage=task["gyroage"], cluster=task["cluster"], best_epoch=1, seconds=0.0)
        return {"cluster": task["cluster"], "n_stars": 1, "best_epoch": 1, "seconds": 0.0}

    monkeypatch.setattr(loco_fold, "run_fold", run_fold)
    top = run_loco(csv, tmp_path / "v", ["Pleiades", "Praesepe", "M67"], settings, quiet=True, extra_seeds=(1,))
    seed_1 = json.loads((tmp_path / "v" / "seed_1" / "loco_summary.json").read_text())
    written = json.loads((tmp_path / "v" / "loco_summary.json").read_text())
    if not keep:
        assert "folds_of_other_gyroage" not in top and "folds_of_other_gyroage" not in seed_1, top
        return
    assert written["folds_of_other_gyroage"] == top["folds_of_other_gyroage"] == {
        "n_folds": 3, "clusters": {"0": ["M67", "Praesepe"], "1": ["M67"]}, "trained_by": [other],
        "this_gyroage": code}
    assert seed_1["folds_of_other_gyroage"]["clusters"] == {"1": ["M67"]}
