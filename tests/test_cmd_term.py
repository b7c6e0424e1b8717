"""benchmarks/cmd_term.py as the README's retraining steps and docs/validation.md run it: which card's calibration
scores the figures it writes, and what it refuses in one line (stubs only: no catalogue, no folds)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import ROOT
from tests.test_benchmark_scripts import load

ZERO = {"all25": 0.0, "ge30": 0.0, "star_median": 0.0, "log_score": 0.0, "log_score_cal": 0.0,
        "coverage_68_cal": {"a": 0.0}, "coverage_95_cal": {"a": 0.0}, "star_median_cal": 0.0,
        "star_median_by_age": {"a": 0.0}, "n_used": 0}


def _model(tmp_path: Path, calibrated: bool = True) -> Path:
    """A copy of the shipped card alone (cmd_term reads no graph), with another calibration and outlier weight, or
    none (as ``train --export`` writes it)."""
    d = tmp_path / "mymodel"
    d.mkdir()
    card = json.loads((ROOT / "models" / "gyroage-model.json").read_text())
    if calibrated:
        card["calibration"]["level_scale"] = 0.77
        card["validation"]["calibration"] = card["calibration"]
        card["validation"]["outlier_weight_group"] = 0.2
    else:
        card["calibration"] = {}
        card["validation"] = {}
    (d / "gyroage-model.json").write_text(json.dumps(card))
    return d


@pytest.fixture
def stubbed(monkeypatch, tmp_path):
    """cmd_term with the catalogue, folds, term fits, scoring and card writing stubbed; returns (module, calls)."""
    ct = load("cmd_term")
    calls: dict[str, list] = {"score": [], "write_card": [], "catalogue": [], "describe": []}

    def score(frame, folds, terms, calib, weight, *a, **k):
        calls["score"].append((calib, weight))
        return {"v4": ZERO, "cmd": ZERO}

    monkeypatch.setattr(ct, "load_catalogue", lambda path: calls["catalogue"].append(path)
                        or pd.DataFrame({"cluster": [], "G_0": [], "dr3_parallax_zpt_corrected": []}))
    monkeypatch.setattr(ct, "quality_select", lambda frame: frame)
    monkeypatch.setattr(ct, "describe", lambda frame: calls["describe"].append(1))
    monkeypatch.setattr(ct, "complete_fold_sets", lambda loco, clusters, keep=None: [("k", 0, {"A": {}})])
    monkeypatch.setattr(ct, "fit_main_sequence_term", lambda frame: None)
    monkeypatch.setattr(ct, "why_no_term", lambda frame, held_out, fitted: None)  # each fold's term: none needed
    monkeypatch.setattr(ct, "score_seed", score)
    monkeypatch.setattr(ct, "write_card", lambda model_dir, *a: calls["write_card"].append(model_dir))
    (tmp_path / "validation" / "folds").mkdir(parents=True)
    (tmp_path / "widths.json").write_text(json.dumps(
        json.loads((ROOT / "models" / "gyroage-model.json").read_text())["main_sequence"]["calibration"]))
    return ct, calls


def _run(ct, monkeypatch, *argv: str) -> None:
    monkeypatch.setattr(sys, "argv", ["cmd_term.py", *argv])
    ct.main()


def test_write_card_scores_with_the_calibration_of_the_card_it_writes(stubbed, monkeypatch, tmp_path):
    """--write-card mymodel scored the figures it wrote into mymodel's card with the shipped card's calibration and
    outlier weight (models/gyroage-model.json, whatever the directory named)."""
    ct, calls = stubbed
    model = _model(tmp_path)
    _run(ct, monkeypatch, "--loco", str(tmp_path / "validation"), "--term-calibration", str(tmp_path / "widths.json"),
         "--write-card", str(model))
    (calib, weight), = calls["score"]
    assert calib.level_scale == 0.77 and weight == 0.2
    assert calls["write_card"] == [model]
    # without --write-card the figures are the shipped model's, as before
    calls["score"].clear()
    _run(ct, monkeypatch, "--loco", str(tmp_path / "validation"), "--term-calibration", str(tmp_path / "widths.json"))
    (calib, weight), = calls["score"]
    shipped = json.loads((ROOT / "models" / "gyroage-model.json").read_text())
    assert calib.level_scale == shipped["calibration"]["level_scale"] and weight == 0.05


def _one_line_exit_2(capsys, excinfo, *words: str) -> str:
    assert excinfo.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    for w in words:
        assert w in lines[0], lines[0]
    return lines[0]


def test_write_card_refuses_a_card_without_calibration(stubbed, monkeypatch, tmp_path, capsys):
    """A card as train --export writes it has no calibration to score the term's stars with: refused in one line
    naming the command that gives it one, before the catalogue is read or anything is written."""
    ct, calls = stubbed
    model = _model(tmp_path, calibrated=False)
    before = (model / "gyroage-model.json").read_bytes()
    with pytest.raises(SystemExit) as excinfo:
        _run(ct, monkeypatch, "--loco", str(tmp_path / "validation"), "--term-calibration",
             str(tmp_path / "widths.json"), "--write-card", str(model))
    _one_line_exit_2(capsys, excinfo, str(model), "no calibration", "gyroage validate", "--fit-calibration")
    assert calls == {"score": [], "write_card": [], "catalogue": [], "describe": []}
    assert (model / "gyroage-model.json").read_bytes() == before
    with pytest.raises(SystemExit) as excinfo:  # no card there at all
        _run(ct, monkeypatch, "--loco", str(tmp_path / "validation"), "--term-calibration",
             str(tmp_path / "widths.json"), "--write-card", str(tmp_path / "nothing"))
    _one_line_exit_2(capsys, excinfo, str(tmp_path / "nothing"))


@pytest.mark.parametrize("argv", [["--write-card", "MODEL"], ["--term-calibration", "W"], ["--fit-calibration", "3"],
                                  ["--nested", "--term-calibration", "W"], ["--json", "out.json"]])
def test_scoring_options_without_loco_are_refused(stubbed, monkeypatch, tmp_path, capsys, argv):
    """Without --loco these printed the catalogue's heights and exited 0 having written nothing (validation.md quoted
    such a command as the one that wrote the shipped term)."""
    ct, calls = stubbed
    named = {"MODEL": str(_model(tmp_path)), "W": str(tmp_path / "widths.json")}
    argv = [named.get(a, a) for a in argv]
    with pytest.raises(SystemExit) as excinfo:
        _run(ct, monkeypatch, *argv)
    _one_line_exit_2(capsys, excinfo, argv[0], "--loco")
    assert calls == {"score": [], "write_card": [], "catalogue": [], "describe": []}


def test_loco_without_folds_is_refused(stubbed, monkeypatch, tmp_path, capsys):
    """--loco naming a directory validate has not written (the README's steps once ran cmd_term before validate)
    ended in a FileNotFoundError traceback."""
    ct, _ = stubbed
    with pytest.raises(SystemExit) as excinfo:
        _run(ct, monkeypatch, "--loco", str(tmp_path / "none"), "--term-calibration", str(tmp_path / "widths.json"))
    _one_line_exit_2(capsys, excinfo, str(tmp_path / "none"), "gyroage validate")
    monkeypatch.setattr(ct, "complete_fold_sets", lambda loco, clusters, keep=None: [])
    with pytest.raises(SystemExit) as excinfo:
        _run(ct, monkeypatch, "--loco", str(tmp_path / "validation"), "--term-calibration",
             str(tmp_path / "widths.json"))
    _one_line_exit_2(capsys, excinfo, str(tmp_path / "validation"), "gyroage validate")


def test_describe_alone_still_describes(stubbed, monkeypatch):
    ct, calls = stubbed
    _run(ct, monkeypatch)
    _run(ct, monkeypatch, "--describe")
    assert calls["describe"] == [1, 1]


def test_write_card_without_widths_is_refused(stubbed, monkeypatch, tmp_path, capsys):
    """--write-card without --term-calibration or --fit-calibration scored every seed, then wrote nothing, exit 0."""
    ct, calls = stubbed
    with pytest.raises(SystemExit) as excinfo:
        _run(ct, monkeypatch, "--loco", str(tmp_path / "validation"), "--write-card", str(_model(tmp_path)))
    _one_line_exit_2(capsys, excinfo, "--write-card", "--term-calibration", "--fit-calibration")
    assert calls == {"score": [], "write_card": [], "catalogue": [], "describe": []}


CLUSTERS = tuple(f"C{i}" for i in range(25))


def _folds(loco: Path, train: dict, grid=(6.0, 10.0, 201), clusters=CLUSTERS) -> Path:
    """A validate --out directory's folds as validate writes them: folds/<key>/ with settings.json and one tiny
    .npz per held-out cluster (a grid of three ages)."""
    import numpy as np

    from gyroage.build.loco import ValidateSettings

    d = ValidateSettings(train=train, grid=tuple(grid)).fold_dir(loco)
    d.mkdir(parents=True)
    (d / "settings.json").write_text(json.dumps({"grid": list(grid), "train": train}))
    for c in clusters:
        np.savez(d / f"{c}.npz", loglike=np.zeros((1, 3), np.float32), grid=np.linspace(6, 10, 3),
                 source_row=np.zeros(1, np.int64), meta=json.dumps({}))
    return d


def _validated(model: Path, clusters=CLUSTERS) -> dict:
    """``model``'s card's validation as validate records it for seed 0 of its training settings on ``clusters``."""
    from gyroage.build.loco import ValidateSettings

    card = json.loads((model / "gyroage-model.json").read_text())
    v = card["validation"]
    v["train_settings"] = {**v["train_settings"], "seed": 0}
    v["settings_key"] = ValidateSettings(train=v["train_settings"], grid=tuple(v["age_grid"])).key()
    v["per_cluster"] = {c: {"n": 30} for c in clusters}
    (model / "gyroage-model.json").write_text(json.dumps(card))
    return v


def test_write_card_refuses_folds_of_other_settings_than_the_cards(stubbed, monkeypatch, tmp_path, capsys):
    """Review V17, finding 2: --write-card scored whatever --loco folds it was given with the card's calibration and
    wrote them into the card as its own flow's (the shipped folds into a card validated on other settings). Folds
    whose training settings (seed aside) or grid are not the card's validated ones are refused in one line."""
    ct, calls = stubbed
    monkeypatch.setattr(ct, "complete_fold_sets", load("cmd_term").complete_fold_sets)
    model = _model(tmp_path)
    v = _validated(model)
    widths = ("--term-calibration", str(tmp_path / "widths.json"), "--write-card", str(model))
    cases = {"other": ({**v["train_settings"], "lr": 0.01}, v["age_grid"], "lr"),
             "grid": (v["train_settings"], [6.0, 10.0, 101], "grid"),
             "key": (v["train_settings"], v["age_grid"], "settings_key")}
    for name, (train, grid, word) in cases.items():
        _folds(tmp_path / name, train, grid)
        if name == "key":  # the card records another key for the same seed's folds (as V17's stub card did)
            card = json.loads((model / "gyroage-model.json").read_text())
            card["validation"]["settings_key"] = "aaaaaaaaaaaa"
            (model / "gyroage-model.json").write_text(json.dumps(card))
        with pytest.raises(SystemExit) as excinfo:
            _run(ct, monkeypatch, "--loco", str(tmp_path / name), *widths)
        _one_line_exit_2(capsys, excinfo, str(model), word)
        assert calls["score"] == [] and calls["write_card"] == []
    # the card's own settings, another seed (validate --extra-seeds): scored and written
    _validated(model)
    _folds(tmp_path / "own", {**v["train_settings"], "seed": 5})
    _folds(tmp_path / "own", v["train_settings"])
    _run(ct, monkeypatch, "--loco", str(tmp_path / "own"), *widths)
    assert len(calls["score"]) == 2 and calls["write_card"] == [model]


def test_folds_of_a_model_trained_without_a_cluster_are_scored_and_a_missing_fold_is_named(stubbed, monkeypatch,
                                                                                            tmp_path, capsys):
    """Review V17, finding 3: exactly 25 clusters' folds were required, so a model trained with train --exclude (24
    clusters) or on another catalogue was refused with "gyroage validate writes them", which it had. The clusters
    are now the card's validated ones (validation.per_cluster; without --write-card, the --loco run's summary), and
    a refusal names the folds missing."""
    ct, calls = stubbed
    monkeypatch.setattr(ct, "complete_fold_sets", load("cmd_term").complete_fold_sets)
    model = _model(tmp_path)
    v = _validated(model, CLUSTERS[:24])
    widths = ("--term-calibration", str(tmp_path / "widths.json"))
    _folds(tmp_path / "excl", {**v["train_settings"], "exclude_clusters": ["C24"]}, clusters=CLUSTERS[:24])
    card = json.loads((model / "gyroage-model.json").read_text())
    card["validation"]["train_settings"]["exclude_clusters"] = ["C24"]
    card["validation"]["settings_key"] = (tmp_path / "excl" / "folds").iterdir().__next__().name
    (model / "gyroage-model.json").write_text(json.dumps(card))
    _run(ct, monkeypatch, "--loco", str(tmp_path / "excl"), *widths, "--write-card", str(model))
    assert len(calls["score"]) == 1 and calls["write_card"] == [model]
    # a fold missing from the only seed: named
    (next((tmp_path / "excl" / "folds").iterdir()) / "C7.npz").unlink()
    with pytest.raises(SystemExit) as excinfo:
        _run(ct, monkeypatch, "--loco", str(tmp_path / "excl"), *widths, "--write-card", str(model))
    _one_line_exit_2(capsys, excinfo, "24", "C7")
    # without --write-card: the clusters of the --loco run's own summary
    _folds(tmp_path / "run", {**v["train_settings"], "seed": 3}, clusters=CLUSTERS[:20])
    (tmp_path / "run" / "loco_summary.json").write_text(json.dumps({"per_cluster": dict.fromkeys(CLUSTERS[:20], {})}))
    calls["score"].clear()
    _run(ct, monkeypatch, "--loco", str(tmp_path / "run"), *widths)
    assert len(calls["score"]) == 1


@pytest.mark.parametrize("only", [["--describe"], ["--write-above-flag", "MODEL"]])
@pytest.mark.parametrize("scoring", [["--loco", "LOCO"], ["--loco", "LOCO", "--term-calibration", "W", "--write-card",
                                                          "MODEL"], ["--json", "out.json"]])
def test_describe_or_write_above_flag_with_scoring_options_is_refused(stubbed, monkeypatch, tmp_path, capsys, only,
                                                                      scoring):
    """Review V17, finding 4: --describe or --write-above-flag beside --loco and the scoring options described the
    catalogue (or wrote the flag alone) and exited 0, having scored and written nothing of what was asked."""
    ct, calls = stubbed
    named = {"MODEL": str(_model(tmp_path)), "W": str(tmp_path / "widths.json"), "LOCO": str(tmp_path / "validation")}
    argv = [named.get(a, a) for a in [*only, *scoring]]
    with pytest.raises(SystemExit) as excinfo:
        _run(ct, monkeypatch, *argv)
    _one_line_exit_2(capsys, excinfo, only[0], scoring[0])
    assert calls == {"score": [], "write_card": [], "catalogue": [], "describe": []}


def test_folds_of_another_catalogue_are_refused(stubbed, monkeypatch, tmp_path, capsys):
    """Review V18, finding 4: scoring joins each fold's held-out stars to --catalogue's rows by row number, and nothing
    compared the folds' catalogue with it: folds of another version of the file paired posteriors with other stars'
    colours and magnitudes. Folds recording another catalogue's SHA-256 are refused in one line."""
    import hashlib

    ct, calls = stubbed
    cat = tmp_path / "cat.csv"
    cat.write_text("cluster\n")
    folds = tmp_path / "validation" / "folds" / "k"
    folds.mkdir()
    (folds / "settings.json").write_text(json.dumps({"grid": [6, 10, 201], "train": {}, "catalog_sha256": "0" * 64}))
    argv = ("--loco", str(tmp_path / "validation"), "--term-calibration", str(tmp_path / "widths.json"),
            "--catalogue", str(cat))
    with pytest.raises(SystemExit) as excinfo:
        _run(ct, monkeypatch, *argv)
    _one_line_exit_2(capsys, excinfo, "another catalogue", str(cat))
    assert calls["score"] == [] and calls["catalogue"] == []
    (folds / "settings.json").write_text(json.dumps({"grid": [6, 10, 201], "train": {},
                                                     "catalog_sha256": hashlib.sha256(cat.read_bytes()).hexdigest()}))
    _run(ct, monkeypatch, *argv)
    assert len(calls["score"]) == 1


@pytest.mark.parametrize("columns, words", [
    (["cluster", "BPRP_0", "fiducial_age_Myr"], "the catalogue has no column G_0, dr3_parallax_zpt_corrected"),
    (["cluster", "BPRP_0", "fiducial_age_Myr", "G_0", "dr3_parallax_zpt_corrected"], "no star of a 100 Myr-1 Gyr"),
])
def test_a_catalogue_the_term_cannot_be_fitted_to_is_one_line(stubbed, monkeypatch, tmp_path, capsys, columns, words):
    """README's retraining step on a catalogue without G_0 and the parallax (which validate calls optional) ended in
    a KeyError: 'G_0' traceback from fit_main_sequence_term; now validate's words, one line, exit 2, nothing
    written."""
    ct, calls = stubbed
    monkeypatch.setattr(ct, "why_no_term", load("cmd_term").why_no_term)
    frame = pd.DataFrame({c: [1.0] for c in columns}).assign(cluster="A", fiducial_age_Myr=5000.0)
    monkeypatch.setattr(ct, "load_catalogue", lambda path: frame)
    with pytest.raises(SystemExit) as excinfo:
        _run(ct, monkeypatch, "--catalogue", "mycat.csv", "--loco", str(tmp_path / "validation"),
             "--term-calibration", str(tmp_path / "widths.json"), "--write-card", str(_model(tmp_path)))
    _one_line_exit_2(capsys, excinfo, "rotator catalogue mycat.csv: the main-sequence term cannot be fitted", words)
    assert calls["score"] == [] and calls["write_card"] == []


def test_a_fold_the_term_cannot_be_fitted_in_is_named_as_validate_names_it(stubbed, monkeypatch, tmp_path, capsys):
    """cmd_term fitted each fold's term in a loop of its own beside validate's why_no_term (FR39b, 4), and said only
    the fit's reason: without the only 100 Myr-1 Gyr cluster, "no star of a 100 Myr-1 Gyr cluster ..." named no fold.
    Now it asks why_no_term, whose line names the fold ("without B, ...") as validate's does."""
    ct, calls = stubbed
    monkeypatch.setattr(ct, "why_no_term", load("cmd_term").why_no_term)
    ages = {"Y": 30.0, "B": 300.0, "C": 2000.0, "D": 3000.0}  # B the only main-sequence (100 Myr-1 Gyr) cluster
    heights = {"Y": 0.5, "B": 0.0, "C": 0.1, "D": 0.2}
    frame = pd.DataFrame([{"cluster": c, "BPRP_0": 1.25 + 0.02 * i, "fiducial_age_Myr": age,
                           "G_0": 11.0 - heights[c], "dr3_parallax_zpt_corrected": 10.0}
                          for c, age in ages.items() for i in range(6)])
    monkeypatch.setattr(ct, "load_catalogue", lambda path: frame)
    monkeypatch.setattr(ct, "complete_fold_sets", lambda loco, clusters, keep=None: [("k", 0, {"B": {}})])
    with pytest.raises(SystemExit) as excinfo:
        _run(ct, monkeypatch, "--catalogue", "mycat.csv", "--loco", str(tmp_path / "validation"),
             "--term-calibration", str(tmp_path / "widths.json"), "--write-card", str(_model(tmp_path)))
    _one_line_exit_2(capsys, excinfo, "rotator catalogue mycat.csv: the main-sequence term cannot be fitted",
                     "(without B, no star of a 100 Myr-1 Gyr cluster with G_0 and a parallax")
    assert calls["score"] == [] and calls["write_card"] == []


@pytest.mark.parametrize("mode", ["--describe", "--write-above-flag"])
def test_describe_and_the_above_flag_on_a_catalogue_without_magnitudes_are_one_line(stubbed, monkeypatch, tmp_path,
                                                                                    capsys, mode):
    """--describe died with KeyError: 'G_0' and --write-above-flag with KeyError: 'dr3_parallax_zpt_corrected' on a
    catalogue without them (review V43, 10; only --write-card's term fits said one line): now the same line."""
    ct, calls = stubbed
    real = load("cmd_term")
    monkeypatch.setattr(ct, "describe", real.describe)
    monkeypatch.setattr(ct, "write_above_flag", real.write_above_flag)
    frame = pd.DataFrame({"cluster": ["A"], "BPRP_0": [1.0], "fiducial_age_Myr": [600.0], "Prot": [10.0]})
    monkeypatch.setattr(ct, "load_catalogue", lambda path: frame)
    model = _model(tmp_path)
    before = (model / "gyroage-model.json").read_bytes()
    with pytest.raises(SystemExit) as excinfo:
        _run(ct, monkeypatch, "--catalogue", "nog.csv", mode, *([str(model)] if mode != "--describe" else []))
    _one_line_exit_2(capsys, excinfo, "rotator catalogue nog.csv: the main-sequence term cannot be fitted",
                     "the catalogue has no column G_0, dr3_parallax_zpt_corrected")
    assert (model / "gyroage-model.json").read_bytes() == before


@pytest.mark.parametrize("g0, plx", [([12.0, float("nan")], [float("nan"), 5.1]), ([12.0, 12.5], [-1.0, 0.0])],
                         ids=["never_on_one_row", "no_positive_parallax"])
def test_describe_on_magnitudes_that_never_give_an_absolute_g_is_one_line(stubbed, monkeypatch, capsys, g0, plx):
    """Both columns filled, but no row holds a G_0 and a positive parallax: np.interp's ValueError traceback still
    (review V45, 5); now one line, exit 2."""
    ct, _ = stubbed
    monkeypatch.setattr(ct, "describe", load("cmd_term").describe)
    frame = pd.DataFrame({"cluster": ["A", "A"], "BPRP_0": [1.0, 1.1], "fiducial_age_Myr": [600.0, 600.0],
                          "Prot": [10.0, 11.0], "G_0": g0, "dr3_parallax_zpt_corrected": plx})
    monkeypatch.setattr(ct, "load_catalogue", lambda path: frame)
    with pytest.raises(SystemExit) as excinfo:
        _run(ct, monkeypatch, "--catalogue", "unpaired.csv", "--describe")
    _one_line_exit_2(capsys, excinfo, "rotator catalogue unpaired.csv: the main-sequence term cannot be fitted",
                     "no row with both a G_0 and a positive dr3_parallax_zpt_corrected")


@pytest.mark.parametrize("blank, words", [
    (["G_0"], "the catalogue has no value in column G_0"),
    (["dr3_parallax_zpt_corrected"], "the catalogue has no value in column dr3_parallax_zpt_corrected"),
    (["G_0", "dr3_parallax_zpt_corrected"], "the catalogue has no value in column G_0, dr3_parallax_zpt_corrected"),
])
def test_describe_on_a_catalogue_with_blank_magnitudes_is_one_line(stubbed, monkeypatch, tmp_path, capsys, blank,
                                                                   words):
    """--describe on a catalogue whose G_0 or parallax column is present but blank (a merge with a table without
    photometry) died with "ValueError: array of sample points is empty" from np.interp (review V44, 6): now one
    line naming the blank column, exit 2."""
    ct, calls = stubbed
    monkeypatch.setattr(ct, "describe", load("cmd_term").describe)
    frame = pd.DataFrame({"cluster": ["A", "A"], "BPRP_0": [1.0, 1.1], "fiducial_age_Myr": [600.0, 600.0],
                          "Prot": [10.0, 11.0], "G_0": [12.0, 12.5], "dr3_parallax_zpt_corrected": [5.0, 5.1]})
    frame[blank] = float("nan")
    monkeypatch.setattr(ct, "load_catalogue", lambda path: frame)
    with pytest.raises(SystemExit) as excinfo:
        _run(ct, monkeypatch, "--catalogue", "blank.csv", "--describe")
    _one_line_exit_2(capsys, excinfo, "rotator catalogue blank.csv: the main-sequence term cannot be fitted", words)


@pytest.mark.parametrize("mode, words", [
    ("--describe", "no star of a 100 Myr-1 Gyr cluster with G_0 and a parallax to draw the main sequence from"),
    ("--write-above-flag", "0 members of near 0.1-1 Gyr clusters at 0.5-3.7: too few to bound the above_main_sequence"),
])
def test_magnitudes_only_outside_100_myr_to_1_gyr_are_one_line(stubbed, monkeypatch, tmp_path, capsys, mode, words):
    """G_0 and a parallax on every row, but of a 50 Myr cluster only: the blank and unpaired checks passed, and
    --describe died with np.interp's "array of sample points is empty", --write-above-flag with above_flag's
    ValueError, tracebacks (FR39b, noticed beside 4); now gyroage's words (fit_main_sequence_term's, above_flag's) in
    one line, exit 2, the card untouched."""
    ct, _ = stubbed
    real = load("cmd_term")
    monkeypatch.setattr(ct, "describe", real.describe)
    monkeypatch.setattr(ct, "write_above_flag", real.write_above_flag)
    frame = pd.DataFrame({"cluster": ["A", "A"], "BPRP_0": [1.0, 1.1], "fiducial_age_Myr": [50.0, 50.0],
                          "Prot": [10.0, 11.0], "G_0": [12.0, 12.5], "dr3_parallax_zpt_corrected": [5.0, 5.1]})
    monkeypatch.setattr(ct, "load_catalogue", lambda path: frame)
    model = _model(tmp_path)
    before = (model / "gyroage-model.json").read_bytes()
    with pytest.raises(SystemExit) as excinfo:
        _run(ct, monkeypatch, "--catalogue", "young.csv", mode, *([str(model)] if mode != "--describe" else []))
    _one_line_exit_2(capsys, excinfo, "rotator catalogue young.csv: ", words)
    assert (model / "gyroage-model.json").read_bytes() == before


def _two_settings(loco: Path, clusters=CLUSTERS) -> tuple[dict, dict]:
    """``loco`` with seed 7's folds of two training settings (max_epochs 5 and 4), as two validate runs of different
    configs into one --out leave them (docs/validation.md, "Rerun"); returns the two settings."""
    shipped = json.loads((ROOT / "models" / "gyroage-model.json").read_text())["validation"]["train_settings"]
    five, four = {**shipped, "seed": 7, "max_epochs": 5}, {**shipped, "seed": 7, "max_epochs": 4}
    for train in (five, four):
        _folds(loco, train, clusters=clusters)
    return five, four


def _scored_dirs(ct, monkeypatch) -> list[str]:
    """The fold directories score_seed is given, in order (the real complete_fold_sets, its load_folds recording
    each fold's directory)."""
    seen: list[str] = []
    fresh = load("cmd_term")
    monkeypatch.setattr(ct, "complete_fold_sets", fresh.complete_fold_sets)
    score = ct.score_seed

    def spy(frame, folds, *a, **k):
        seen.append(next(iter(folds.values()))["dir"])
        return score(frame, folds, *a, **k)

    real = fresh.load_folds

    def load_folds(loco, settings, clusters):
        return {c: {**f, "dir": settings.fold_dir(loco).name} for c, f in real(loco, settings, clusters).items()}

    monkeypatch.setattr(ct, "score_seed", spy)
    monkeypatch.setattr(fresh, "load_folds", load_folds)
    return seen


def test_without_write_card_only_the_folds_of_the_runs_settings_are_scored(stubbed, monkeypatch, tmp_path, capsys):
    """Review V46, finding 7: without --write-card every folds/<key>/ holding all the clusters was scored as one more
    seed, whatever its settings: a config's folds beside another's in one --out gave two "seed 7" rows of two
    models. Only the folds whose training settings (seed aside) and grid are those of the run's loco_summary.json
    are scored, and the others are named on stdout."""
    ct, calls = stubbed
    run = tmp_path / "run"
    five, four = _two_settings(run)
    (run / "loco_summary.json").write_text(json.dumps({"train_settings": five, "age_grid": [6.0, 10.0, 201],
                                                       "per_cluster": dict.fromkeys(CLUSTERS, {})}))
    seen = _scored_dirs(ct, monkeypatch)
    _run(ct, monkeypatch, "--loco", str(run), "--term-calibration", str(tmp_path / "widths.json"))
    from gyroage.build.loco import ValidateSettings

    kept, other = (ValidateSettings(train=t, grid=(6.0, 10.0, 201)).key() for t in (five, four))
    assert seen == [kept]
    assert other in capsys.readouterr().out


def test_folds_of_two_settings_without_a_summary_are_refused_in_one_line(stubbed, monkeypatch, tmp_path, capsys):
    """Review V46, finding 7: with no loco_summary.json yet (a validate still running) nothing says which settings
    are the run's: a folds/ holding two is refused in one line naming both directories and what differs."""
    ct, calls = stubbed
    monkeypatch.setattr(ct, "complete_fold_sets", load("cmd_term").complete_fold_sets)
    run = tmp_path / "run"
    shipped = json.loads((ROOT / "models" / "gyroage-model.json").read_text())["validation"]["per_cluster"]
    _two_settings(run, clusters=list(shipped))  # the clusters cmd_term expects without a summary: the shipped card's
    keys = sorted(p.name for p in (run / "folds").iterdir())
    with pytest.raises(SystemExit) as excinfo:
        _run(ct, monkeypatch, "--loco", str(run), "--term-calibration", str(tmp_path / "widths.json"))
    _one_line_exit_2(capsys, excinfo, *keys, "max_epochs")
    assert calls["score"] == [] and calls["catalogue"] == []


def test_results_are_keyed_by_fold_directory(stubbed, monkeypatch, tmp_path):
    """Review V46, finding 7: --json's results were keyed by seed, so two fold sets of one seed overwrote each other;
    now by fold directory, each with its seed."""
    ct, calls = stubbed
    monkeypatch.setattr(ct, "complete_fold_sets", load("cmd_term").complete_fold_sets)
    run = tmp_path / "run"
    shipped = json.loads((ROOT / "models" / "gyroage-model.json").read_text())["validation"]["train_settings"]
    dirs = [_folds(run, {**shipped, "seed": s}).name for s in (3, 1)]
    (run / "loco_summary.json").write_text(json.dumps({"train_settings": {**shipped, "seed": 1},
                                                       "age_grid": [6.0, 10.0, 201],
                                                       "per_cluster": dict.fromkeys(CLUSTERS, {})}))
    _run(ct, monkeypatch, "--loco", str(run), "--term-calibration", str(tmp_path / "widths.json"), "--json",
         str(tmp_path / "out.json"))
    got = json.loads((tmp_path / "out.json").read_text())
    assert list(got) == dirs[::-1] and [got[d]["seed"] for d in got] == [1, 3]


def test_a_fold_of_another_catalogue_under_a_rewritten_settings_json_is_refused(stubbed, monkeypatch, tmp_path, capsys):
    """Review V46, finding 5: validate rewrites folds/<key>/settings.json with the new catalogue's SHA-256 before it
    retrains the stale folds; interrupted there, the old catalogue's folds sat under the new hash and were scored as
    the new catalogue's. Each fold's own meta catalog_sha256 (what validate's stale-fold check reads) is checked:
    the first stale fold is named in one line."""
    import hashlib

    import numpy as np

    ct, calls = stubbed
    cat = tmp_path / "cat.csv"
    cat.write_text("cluster\n")
    digest = hashlib.sha256(cat.read_bytes()).hexdigest()
    folds = tmp_path / "validation" / "folds" / "k"
    folds.mkdir()
    (folds / "settings.json").write_text(json.dumps({"grid": [6, 10, 201], "train": {}, "catalog_sha256": digest}))
    for c, sha in (("A", digest), ("B", "0" * 64), ("C", "1" * 64)):
        np.savez(folds / f"{c}.npz", loglike=np.zeros((1, 3), np.float32), grid=np.linspace(6, 10, 3),
                 source_row=np.zeros(1, np.int64), meta=json.dumps({"catalog_sha256": sha}))
    argv = ("--loco", str(tmp_path / "validation"), "--term-calibration", str(tmp_path / "widths.json"),
            "--catalogue", str(cat))
    with pytest.raises(SystemExit) as excinfo:
        _run(ct, monkeypatch, *argv)
    line = _one_line_exit_2(capsys, excinfo, "B.npz", "another catalogue", str(cat))
    assert "C.npz" not in line and calls["score"] == [] and calls["catalogue"] == []
    for c in ("B", "C"):  # retrained on this catalogue: scored
        np.savez(folds / f"{c}.npz", loglike=np.zeros((1, 3), np.float32), grid=np.linspace(6, 10, 3),
                 source_row=np.zeros(1, np.int64), meta=json.dumps({"catalog_sha256": digest}))
    _run(ct, monkeypatch, *argv)
    assert len(calls["score"]) == 1


def test_the_seed_line_says_the_count_of_clusters_scored(stubbed, monkeypatch, tmp_path, capsys):
    """The seed line said "all-25" whatever the run's cluster count ("seed 0: all-25 0.0918" for a 2-cluster run),
    and a run without a cluster >= 30 Myr (its median None) was a TypeError traceback formatting it."""
    ct, _ = stubbed
    monkeypatch.setattr(ct, "complete_fold_sets", lambda loco, clusters, keep=None: [("k", 0, {"A": {}, "B": {}})])
    monkeypatch.setattr(ct, "score_seed", lambda *a, **k: {"v4": {**ZERO, "ge30": None}, "cmd": ZERO})
    _run(ct, monkeypatch, "--loco", str(tmp_path / "validation"), "--term-calibration", str(tmp_path / "widths.json"))
    line = next(ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("seed 0:"))
    assert line.startswith("seed 0: all-2 0.0000 -> 0.0000  >=30 none -> 0.0000  "), line
