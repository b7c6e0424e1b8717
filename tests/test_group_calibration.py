"""benchmarks/group_calibration.py: where its single width and width floor come from (review V46, 4). A tiny
--loco run is written here: five clusters' folds of a few stars on a coarse grid, one seed."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.test_benchmark_scripts import load

GRID = (6.0, 10.0, 81)
# name: (age Myr, the table's joint-age error in dex); C4 is under 30 Myr and never counts in the floor
CLUSTERS = {"C0": (100.0, 0.10), "C1": (300.0, -0.20), "C2": (1000.0, 0.30), "C3": (3000.0, -0.90), "C4": (10.0, 0.50)}


def _run(out: Path, clusters: dict = CLUSTERS, summary: dict | None = None, fold_meta: dict | None = None) -> Path:
    """A validate --out directory: summary, cluster table and one fold per cluster (stars peaked near the label);
    ``summary``: more keys of loco_summary.json; ``fold_meta``: cluster -> that fold's meta."""
    from gyroage.build.loco import ValidateSettings

    train = {"seed": 0, "max_epochs": 5}
    old = [abs(e) for a, e in clusters.values() if a >= 30]
    ge30 = float(np.median(old)) if old else None  # validate writes null without a cluster >= 30 Myr
    out.mkdir()
    (out / "loco_summary.json").write_text(json.dumps({
        "train_settings": train, "age_grid": list(GRID), "per_cluster": dict.fromkeys(clusters, {}),
        "loco_cluster_median_abs_dex_ge30myr": ge30, **(summary or {})}))
    (out / "loco_clusters.csv").write_text("cluster,fiducial_age_myr,error_dex\n"
                                           + "".join(f"{c},{a},{e}\n" for c, (a, e) in clusters.items()))
    d = ValidateSettings(train=train, grid=GRID).fold_dir(out)
    d.mkdir(parents=True)
    grid = np.linspace(*GRID[:2], GRID[2])
    for c, (age, err) in clusters.items():
        centre = np.log10(age * 1e6) + err
        ll = -0.5 * ((grid[None, :] - centre - np.array([[-0.1], [0.0], [0.1]])) / 0.3) ** 2
        np.savez(d / f"{c}.npz", loglike=ll.astype(np.float32), grid=grid, source_row=np.arange(3),
                 meta=json.dumps((fold_meta or {}).get(c, {})))
    return out


def test_the_floor_is_the_runs_own_and_each_nested_fit_leaves_its_cluster_out(monkeypatch, tmp_path, capsys):
    """The single width and --floor-at-single-width's floor came from the shipped card (0.0775 dex), whatever run
    --loco named, and each nested fit's floor held the left-out cluster's own error. Now the single width is the
    runs' own (mean over seeds of loco_cluster_median_abs_dex_ge30myr / 0.6745) and the nested fit of cluster c is
    floored at the same median over the >= 30 Myr clusters without c."""
    gc = load("group_calibration")
    calls = []
    monkeypatch.setattr(gc, "fit", lambda pdfs, grid, truth, start, min_width=0.0: calls.append(
        (len(pdfs), min_width, list(start))) or np.full(4, max(min_width, 0.3)))
    gc.main(["--loco", str(_run(tmp_path / "run")), "--floor-at-single-width"])
    out = capsys.readouterr().out
    full = 0.25 / 0.6745  # median of 0.1, 0.2, 0.3, 0.9
    assert f"single width {full:.4f} dex" in out
    without = {"C0": 0.3, "C1": 0.3, "C2": 0.2, "C3": 0.2, "C4": 0.25}  # medians of the others >= 30 Myr
    assert [c[0] for c in calls] == [4] * 5 + [5]  # five nested fits on the other clusters, then all of them
    for (_, floor, start), c in zip(calls, CLUSTERS):
        assert floor == pytest.approx(without[c] / 0.6745), c
        assert start == pytest.approx([without[c] / 0.6745] * 4), c  # nor does its start hold c
    assert calls[-1][1] == pytest.approx(full)


def test_without_the_floor_the_single_width_is_still_the_runs_own(monkeypatch, tmp_path, capsys):
    """The "single width" row scored the clusters with the shipped card's width, another model's."""
    gc = load("group_calibration")
    monkeypatch.setattr(gc, "fit", lambda pdfs, grid, truth, start, min_width=0.0: np.full(4, 0.3))
    seen = []
    scores = gc.scores
    monkeypatch.setattr(gc, "scores", lambda cal, *a: seen.append(cal.to_dict()["sigma_dex"]) or scores(cal, *a))
    gc.main(["--loco", str(_run(tmp_path / "run"))])
    assert seen[0] == pytest.approx([0.25 / 0.6745] * 4, abs=1e-4)  # to_dict keeps 4 decimals
    assert "single width 0.3706 dex" in capsys.readouterr().out


SHA_A, SHA_B = "a" * 64, "b" * 64


def _card(model_dir: Path, **validation) -> Path:
    """A copy of the shipped card in ``model_dir`` validated as ``_run``'s runs are, but for ``validation``."""
    card = json.loads((Path(__file__).resolve().parents[1] / "models" / "gyroage-model.json").read_text())
    card["training"]["catalog"]["sha256"] = SHA_A
    card["validation"] = {"train_settings": {"seed": 3, "max_epochs": 5}, "age_grid": list(GRID), "min_members": 20,
                          "per_cluster": dict.fromkeys(CLUSTERS, {}), **validation}
    model_dir.mkdir()
    (model_dir / "gyroage-model.json").write_text(json.dumps(card))
    return model_dir


def _main_exit(gc, argv, capsys) -> str:
    with pytest.raises(SystemExit) as e:
        gc.main(argv)
    err = capsys.readouterr().err
    assert e.value.code == 2 and len(err.strip().splitlines()) == 1, err
    return err


@pytest.mark.parametrize("card, said", [
    ({"train_settings": {"seed": 0, "max_epochs": 100}}, "max_epochs: card 100, this run 5"),
    ({"min_members": 10}, "min_members: card 10, this run 20"),
    ({"per_cluster": {"C0": {}, "C1": {}}}, "clusters: card 2, this run 5; only in this run: C2, C3, C4"),
    # as many clusters, other ones: was "clusters: card 5, this run 5" (review V49, 5)
    ({"per_cluster": dict.fromkeys(["C1", "C2", "C3", "C4", "P0"], {})},
     "clusters: card 5, this run 5; only on the card: P0; only in this run: C0"),
    ({"per_cluster": dict.fromkeys([f"P{i}" for i in range(6)], {})},
     "only on the card: P0, P1, P2, P3 and 2 more; only in this run: C0, C1, C2, C3 and 1 more"),
    ({"age_grid": [6.0, 10.3, 431]}, "grid: card"),
    (None, "catalogue SHA-256: card bbbbbbbbbbbb..., this run aaaaaaaaaaaa..."),
    ("unrecorded", "catalogue SHA-256: card aaaaaaaaaaaa..., this run not recorded"),
    # a hand-damaged card: was a TypeError traceback, 'int' object is not subscriptable (review V49, 6)
    ("int sha", "catalogue SHA-256: card 5 (not a SHA-256), this run aaaaaaaaaaaa..."),
])
def test_write_card_refuses_runs_not_validated_as_the_card(monkeypatch, tmp_path, capsys, card, said):
    """--write-card wrote any --loco run's widths into any card (review V47, 2): a 2-cluster 1-epoch run went into
    the shipped card beside its 25-cluster validation. Runs of other training settings (seed aside), grid,
    catalogue, minimum membership or clusters are now refused in one line before any fit, the card untouched."""
    gc = load("group_calibration")
    monkeypatch.setattr(gc, "fit", lambda *a, **k: np.full(4, 0.3))
    run = _run(tmp_path / "run", summary={"catalog": None if card == "unrecorded" else {"sha256": SHA_A},
                                          "min_members": 20})
    model = _card(tmp_path / "m", **(card if isinstance(card, dict) else {}))
    if card is None:
        text = (model / "gyroage-model.json").read_text()
        (model / "gyroage-model.json").write_text(text.replace(SHA_A, SHA_B))
    if card == "int sha":
        text = (model / "gyroage-model.json").read_text()
        (model / "gyroage-model.json").write_text(text.replace(f'"{SHA_A}"', "5"))
    before = (model / "gyroage-model.json").read_text()
    err = _main_exit(gc, ["--loco", str(run), "--write-card", str(model)], capsys)
    assert "was not validated as" in err and said in err, err
    assert (model / "gyroage-model.json").read_text() == before


def test_write_card_takes_runs_validated_as_the_card(monkeypatch, tmp_path, capsys):
    """The check refuses only what differs: a run of the card's settings (another seed) writes its widths."""
    gc = load("group_calibration")
    monkeypatch.setattr(gc, "fit", lambda *a, **k: np.full(4, 0.3))
    run = _run(tmp_path / "run", summary={"catalog": {"sha256": SHA_A}, "min_members": 20})
    model = _card(tmp_path / "m")
    assert gc.main(["--loco", str(run), "--write-card", str(model)]) == 0
    card = json.loads((model / "gyroage-model.json").read_text())
    assert card["validation"]["group_calibration"]["sigma_dex"] == [0.3] * 4


def test_a_fold_of_another_catalogue_is_refused(monkeypatch, tmp_path, capsys):
    """After an interrupted validate on a changed catalogue, one fold was the new catalogue's beside the old
    one's tables and summary, and group_calibration.py (calibration_widths.py too) scored the mix without a word
    (review V47, 3). Each fold's own meta catalog_sha256 is now checked against its summary's, refused in one line;
    a fold of the summary's catalogue, or one written before the hash was recorded, is read as before."""
    gc = load("group_calibration")
    monkeypatch.setattr(gc, "fit", lambda *a, **k: np.full(4, 0.3))
    meta = {"C0": {"catalog_sha256": SHA_A}, "C2": {"catalog_sha256": SHA_B}}
    run = _run(tmp_path / "run", summary={"catalog": {"sha256": SHA_A}}, fold_meta=meta)
    err = _main_exit(gc, ["--loco", str(run)], capsys)
    assert "fold C2 was trained on another catalogue (SHA-256 bbbbbbbbbbbb...)" in err, err
    cw = load("calibration_widths")
    with pytest.raises(SystemExit) as e:
        cw.load_runs([run])
    assert e.value.code == 2 and "fold C2" in capsys.readouterr().err
    ok = _run(tmp_path / "ok", summary={"catalog": {"sha256": SHA_A}}, fold_meta={"C0": {"catalog_sha256": SHA_A}})
    assert gc.main(["--loco", str(ok)]) == 0


@pytest.mark.parametrize("clusters, said", [
    ({"C4": (10.0, 0.5), "C5": (20.0, 0.1)}, "has no held-out cluster of 30 Myr or older"),
    ({"C0": (100.0, 0.1), "C4": (10.0, 0.5)}, "no held-out cluster of 30 Myr or older once C0 is left out"),
])
def test_no_old_cluster_to_take_the_width_from_is_one_line(monkeypatch, tmp_path, capsys, clusters, said):
    """A run without a cluster >= 30 Myr (summary figure null) was a TypeError traceback, and one whose only such
    cluster is left out a CalibrationError traceback (review V47, 4): both are one line now, exit 2."""
    gc = load("group_calibration")
    monkeypatch.setattr(gc, "fit", lambda *a, **k: np.full(4, 0.3))
    err = _main_exit(gc, ["--loco", str(_run(tmp_path / "run", clusters))], capsys)
    assert said in err, err


def test_a_loco_folder_without_its_summary_is_one_line(monkeypatch, tmp_path, capsys):
    """A --loco folder without loco_summary.json (a validate interrupted before its tables, a typo, a seed_<n>/ its
    summary names but that is gone) was a FileNotFoundError traceback, with --write-card too (review V49, 11)."""
    import shutil

    gc = load("group_calibration")
    monkeypatch.setattr(gc, "fit", lambda *a, **k: np.full(4, 0.3))
    run = _run(tmp_path / "run", summary={"catalog": {"sha256": SHA_A}, "min_members": 20})
    half = tmp_path / "half"
    shutil.copytree(run / "folds", half / "folds")  # what an interrupted validate leaves
    model = _card(tmp_path / "m")
    for argv in (["--loco", str(half)], ["--loco", str(half), "--write-card", str(model)],
                 ["--loco", str(run), str(tmp_path / "nonexist")]):
        err = _main_exit(gc, argv, capsys)
        assert "holds no loco_summary.json (not a finished gyroage validate --out)" in err, err
    summary = json.loads((run / "loco_summary.json").read_text())
    (run / "loco_summary.json").write_text(json.dumps({**summary, "loco_by_seed": {"seeds": [0, 1]}}))
    err = _main_exit(gc, ["--loco", str(run)], capsys)
    assert f"--loco {run / 'seed_1'} holds no loco_summary.json" in err, err


@pytest.mark.parametrize("min_width", [0.0, 0.2])
def test_the_fit_scores_widths_a_rounding_error_outside_its_bounds(monkeypatch, min_width):
    """Bounded Powell evaluated a width of -8.27e-25 on a valid 2-seed run (/tmp/V49/v5) and the fit died with a
    CalibrationError traceback: a negative width is refused by Calibration (review V49, 13). Such a point is now
    scored as the nearest width inside [min_width, MAX_WIDTH]; points inside are scored as they were."""
    gc = load("group_calibration")
    grid = np.linspace(6.0, 10.0, 81)
    pdfs = np.exp(-0.5 * ((grid[None, :] - np.array([[8.0], [9.0]])) / 0.2) ** 2)
    truth = np.array([8.1, 8.9])
    seen = {}

    def powell(fun, x0, **kw):  # what scipy's Powell did: one step a rounding error past a bound
        outside = np.array([0.3, min_width - 8.27e-25, 0.4, MAX + 1e-15])
        seen["outside"], seen["inside"] = fun(outside), fun(np.clip(outside, min_width, MAX))
        seen["start"] = fun(x0)
        return type("Res", (), {"x": outside})()

    MAX = gc.MAX_WIDTH
    monkeypatch.setattr(gc, "minimize", powell)
    w = gc.fit(pdfs, grid, truth, [0.3] * 4, min_width)
    assert w.tolist() == [0.3, min_width, 0.4, MAX]
    assert seen["outside"] == seen["inside"]
    direct = -gc.scores(gc.calibration([0.3] * 4), pdfs, grid, truth)["log_score"].mean()
    assert seen["start"] == direct  # a point inside the bounds: scored as before


def test_write_card_carries_the_runs_record_of_folds_of_another_gyroage(monkeypatch, tmp_path, capsys):
    """validate --keep-folds records folds another gyroage trained as folds_of_other_gyroage in the run's summary
    (and so in a card validate writes); --write-card here wrote widths fitted from such folds without it (review
    V49). It is now carried into validation.group_calibration_fit, by run, and said; a run without it adds none."""
    gc = load("group_calibration")
    monkeypatch.setattr(gc, "fit", lambda *a, **k: np.full(4, 0.3))
    record = {"n_folds": 2, "clusters": {"0": ["C0", "C2"]}, "trained_by": [{"version": "0.0.9"}],
              "this_gyroage": {"version": "0.1.0"}}
    base = {"catalog": {"sha256": SHA_A}, "min_members": 20}
    kept = _run(tmp_path / "kept", summary={**base, "folds_of_other_gyroage": record})
    plain = _run(tmp_path / "plain", summary=base)
    model = _card(tmp_path / "m")
    assert gc.main(["--loco", str(kept), str(plain), "--write-card", str(model)]) == 0
    assert "2 of the runs' folds were trained by another gyroage" in capsys.readouterr().err
    fit = json.loads((model / "gyroage-model.json").read_text())["validation"]["group_calibration_fit"]
    assert fit["folds_of_other_gyroage"] == {str(kept): record}
    assert gc.main(["--loco", str(plain), "--write-card", str(model)]) == 0  # rewritten: the old record goes
    fit = json.loads((model / "gyroage-model.json").read_text())["validation"]["group_calibration_fit"]
    assert "folds_of_other_gyroage" not in fit
