"""Input guards of ``gyroage train / export / validate``: settings that cannot train, models that must not be
written, and what a ``--config`` file means (tiny catalogues written here: no test needs the shared data)."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")

from tests.conftest import ROOT, one_line_error  # noqa: E402

FAST = {"max_epochs": 2, "n_val_clusters": 0, "threads": 1}


def toy_catalogue(path: Path, ages_myr=(30.0, 300.0, 3000.0), n: int = 40, seed: int = 0) -> Path:
    """A rotator catalogue of ``len(ages_myr)`` clusters of ``n`` stars whose periods grow with age and colour."""
    rng = np.random.default_rng(seed)
    rows = []
    for k, age in enumerate(ages_myr):
        colour = rng.uniform(0.6, 2.5, n)
        prot = 10 ** (0.5 * np.log10(age / 600) + 0.5 * colour + rng.normal(0, 0.05, n))
        rows.append(pd.DataFrame({"cluster": f"C{k}", "Prot": prot, "BPRP_0": colour,
                                  "e_BPRP_0": rng.uniform(0.01, 0.05, n), "fiducial_age_Myr": age,
                                  # the quality columns, so that a missing one's notice is not a second stderr line
                                  "cmd_exclude": 0, "dered_exclude": 0, "phot_exclude": 0, "dr3_ruwe": 1.0}))
    pd.concat(rows).to_csv(path, index=False)
    return path


def cli(*args: str):
    from typer.testing import CliRunner

    from gyroage.cli import app

    return CliRunner().invoke(app, list(args))


def write_config(tmp_path: Path, settings: dict, name: str = "c.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(settings))
    return path


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    """A checkpoint directory trained on the toy catalogue (two epochs)."""
    tmp = tmp_path_factory.mktemp("run")
    cat = toy_catalogue(tmp / "cat.csv")
    res = cli("train", "--catalogue", str(cat), "--out", str(tmp / "run"), "--config", str(write_config(tmp, FAST)),
              "-q")
    assert res.exit_code == 0, res.output
    return tmp / "run"


# 1. untrainable settings ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("flow, words", [
    ({"min_derivative": -1}, "flow.min_derivative must be greater than 0, not -1"),
    ({"min_derivative": 0}, "flow.min_derivative must be greater than 0, not 0"),
    ({"n_splines": -1}, "flow.n_splines must be at least 0, not -1"),
    ({"min_bin": 0.2}, "flow.min_bin must be greater than 0 and below 1/flow.bins (0.125 for 8 bins), not 0.2"),
    ({"min_bin": 0.1, "bins": 10}, "flow.min_bin must be greater than 0 and below 1/flow.bins (0.1 for 10 bins)"),
    ({"min_bin": 0}, "flow.min_bin must be greater than 0"),
])
def test_flow_settings_that_cannot_train_are_one_line_naming_the_key_before_the_catalogue(tmp_path, flow, words):
    """min_derivative -1 trained a NaN model with exit 0, n_splines -1 was a RuntimeError traceback and min_bin 0.2
    with 8 bins (widths that cannot fit) was accepted."""
    cfg = write_config(tmp_path, {"flow": flow})
    res = cli("train", "--out", str(tmp_path / "out"), "--catalogue", str(tmp_path / "missing.csv"), "--config", str(cfg))
    one_line_error(res, words, str(cfg))
    assert not (tmp_path / "out").exists()


def test_an_affine_flow_without_splines_still_trains_and_exports(tmp_path):
    """n_splines 0 is the lower bound, not a refusal: the affine flow alone has a finite density and an ONNX graph."""
    cat = toy_catalogue(tmp_path / "cat.csv")
    cfg = write_config(tmp_path, {**FAST, "flow": {"n_splines": 0}})
    res = cli("train", "--catalogue", str(cat), "--out", str(tmp_path / "run"), "--config", str(cfg),
              "--export", str(tmp_path / "model"), "-q")
    assert res.exit_code == 0, res.output
    assert (tmp_path / "model" / "gyroage-density.onnx").is_file()


@pytest.mark.parametrize("age, n", [(300.0, 40), (700.0, 500)])  # 700 Myr: a spread of 2e-15 in float64, not 0
def test_one_cluster_is_refused_in_one_line_not_trained_into_nans(tmp_path, age, n):
    """A one-cluster catalogue (one age: its spread is 0) gave train_nll NaN and a model dating every star
    invalid_prior, exit 0."""
    cat = toy_catalogue(tmp_path / "cat.csv", ages_myr=(age,), n=n)
    res = cli("train", "--catalogue", str(cat), "--out", str(tmp_path / "run"), "--max-epochs", "2",
              "--export", str(tmp_path / "model"))
    one_line_error(res, "one age", f"{age:g} Myr")
    assert not (tmp_path / "run" / "flow.pt").exists() and not (tmp_path / "model").exists()


def test_a_non_finite_loss_stops_training_in_one_line(tmp_path, monkeypatch):
    """Settings that pass every check but still diverge (here a flow whose log density is NaN) stop at the first
    epoch whose loss is not finite: no checkpoint, exit 1."""
    from gyroage.build import training

    monkeypatch.setattr(training, "training_log_prob", lambda model, s, p, *a: model(p, *a) * float("nan"))
    cat = toy_catalogue(tmp_path / "cat.csv")
    res = cli("train", "--catalogue", str(cat), "--out", str(tmp_path / "run"),
              "--config", str(write_config(tmp_path, FAST)), "-q")
    assert res.exit_code == 1, res.output
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "loss is not finite at epoch 1" in lines[0], res.stderr
    assert not (tmp_path / "run" / "flow.pt").exists()


@pytest.mark.parametrize("age", ["0", "-5"])
def test_a_catalogue_age_that_is_not_positive_is_one_line_naming_the_cluster(tmp_path, age):
    """Age 0 made age_mean -inf and --export an OverflowError traceback."""
    cat = toy_catalogue(tmp_path / "cat.csv")
    frame = pd.read_csv(cat)
    frame.loc[frame["cluster"] == "C1", "fiducial_age_Myr"] = float(age)
    frame.to_csv(cat, index=False)
    res = cli("train", "--catalogue", str(cat), "--out", str(tmp_path / "run"), "--max-epochs", "2",
              "--export", str(tmp_path / "model"))
    one_line_error(res, "fiducial_age_Myr", "C1", "positive")
    assert not (tmp_path / "run").exists()


def _break_checkpoint(run_dir: Path, to: Path) -> Path:
    """A copy of ``run_dir`` whose flow gives NaN everywhere (its last layer's bias NaN)."""
    from gyroage.build.export import load_checkpoint, save_checkpoint

    shutil.copytree(run_dir, to)
    model = load_checkpoint(to / "flow.pt")
    with torch.no_grad():
        model.net[-1].bias.fill_(float("nan"))
    save_checkpoint(model, to / "flow.pt")
    return to


def test_export_refuses_a_model_whose_parity_check_is_not_finite(run_dir, tmp_path):
    broken = _break_checkpoint(run_dir, tmp_path / "broken")
    res = cli("export", "--checkpoint", str(broken), "--out", str(tmp_path / "model"))
    assert res.exit_code == 1, res.output
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "parity" in lines[0] and "nan" in lines[0], res.stderr
    assert not (tmp_path / "model").exists()


def test_export_refuses_a_training_record_with_a_non_finite_normalisation(run_dir, tmp_path):
    bad = tmp_path / "bad"
    shutil.copytree(run_dir, bad)
    info = json.loads((bad / "train.json").read_text())
    info["normalisation"]["age_mean"] = float("-inf")
    info["domain"]["log10_age_trained"][0] = float("-inf")
    (bad / "train.json").write_text(json.dumps(info))
    res = cli("export", "--checkpoint", str(bad), "--out", str(tmp_path / "model"))
    assert res.exit_code == 1, res.output
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "normalisation.age_mean" in lines[0] and "-inf" in lines[0], res.stderr
    assert not (tmp_path / "model").exists()


def test_export_refuses_a_checkpoint_whose_flow_settings_cannot_train(run_dir, tmp_path):
    """A checkpoint written before FlowConfig refused min_derivative -1 was a ValueError traceback at export."""
    old = tmp_path / "old"
    shutil.copytree(run_dir, old)
    ck = torch.load(old / "flow.pt", weights_only=False)
    ck["config"]["min_derivative"] = -1.0
    torch.save(ck, old / "flow.pt")
    res = cli("export", "--checkpoint", str(old), "--out", str(tmp_path / "model"))
    assert res.exit_code == 1, res.output
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "flow.min_derivative must be greater than 0" in lines[0], res.stderr
    assert not (tmp_path / "model").exists()


def test_export_of_a_good_checkpoint_still_writes_and_reports_parity(run_dir, tmp_path):
    res = cli("export", "--checkpoint", str(run_dir), "--out", str(tmp_path / "model"))
    assert res.exit_code == 0, res.output
    assert "parity" in res.stderr
    from gyroage.core.modelcard import load_card

    card, _ = load_card(tmp_path / "model")
    assert np.isfinite(card.metrics["onnx_torch_max_abs_logp"])


# 2. export --outlier-weight ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("weight", ["1.5", "-0.1", "nan", "1"])
def test_export_refuses_an_outlier_weight_the_card_loader_would_refuse(run_dir, tmp_path, weight):
    """export --outlier-weight 1.5 wrote a card every later load refused ('outlier weight or range out of bounds')."""
    res = cli("export", "--checkpoint", str(run_dir), "--out", str(tmp_path / "model"), "--outlier-weight", weight)
    one_line_error(res, "--outlier-weight must be in [0, 1)")
    assert not (tmp_path / "model").exists()


def test_export_writes_a_card_that_loads_with_an_outlier_weight_inside_the_range(run_dir, tmp_path):
    from gyroage.core.modelcard import load_card

    res = cli("export", "--checkpoint", str(run_dir), "--out", str(tmp_path / "model"), "--outlier-weight", "0", "-q")
    assert res.exit_code == 0, res.output
    assert load_card(tmp_path / "model")[0].outlier["weight"] == 0


# 3. export --rebuild / --posterior-only without their inputs ------------------------------------------------------

@pytest.fixture
def exported(run_dir, tmp_path) -> Path:
    res = cli("export", "--checkpoint", str(run_dir), "--out", str(tmp_path / "model"), "-q")
    assert res.exit_code == 0, res.output
    return tmp_path / "model"


def test_rebuild_without_the_checkpoint_names_it_and_the_command_that_writes_it(exported):
    (exported / "gyroage-flow.pt").unlink()
    res = cli("export", "--rebuild", "--out", str(exported))
    one_line_error(res, "gyroage-flow.pt", str(exported), "gyroage export --checkpoint")


@pytest.mark.parametrize("recorded", [True, False])
def test_posterior_only_without_the_density_graph_names_it_and_the_command_that_writes_it(exported, recorded):
    """The advice must work: for a card without ``training.checkpoint_sha256`` a plain ``--rebuild`` cannot check
    the flow and refuses, so the line names ``--trust-checkpoint`` too (review V58, 1)."""
    card_path = exported / "gyroage-model.json"
    if not recorded:
        card = json.loads(card_path.read_text())
        card["training"].pop("checkpoint_sha256")
        card_path.write_text(json.dumps(card))
    (exported / "gyroage-density.onnx").unlink()
    res = cli("export", "--posterior-only", "--out", str(exported))
    line = one_line_error(res, "gyroage-density.onnx", str(exported), "gyroage export --rebuild")
    assert ("--trust-checkpoint" in line) != recorded
    advice = line.split("'gyroage ")[1].split("'")[0].split()
    res = cli(*advice, "-q")  # the command the line gives, as given
    assert res.exit_code == 0, res.output
    assert (exported / "gyroage-density.onnx").is_file()


@pytest.mark.parametrize("how", ["--rebuild", "--posterior-only"])
def test_rebuilds_refuse_an_outlier_weight_they_would_not_apply_and_say_how_to_change_it(exported, how):
    """export --rebuild / --posterior-only took --outlier-weight and ignored it (exit 0, the card's weight kept)."""
    card = (exported / "gyroage-model.json").read_bytes()
    res = cli("export", how, "--out", str(exported), "--outlier-weight", "0.1")
    one_line_error(res, "--outlier-weight", how, "gyroage export --checkpoint RUN --out DIR --outlier-weight W")
    assert (exported / "gyroage-model.json").read_bytes() == card


@pytest.mark.parametrize("recorded", [True, False])
def test_rebuild_refuses_a_checkpoint_that_is_not_the_cards_flow(exported, tmp_path, recorded):
    """export --rebuild took any gyroage-flow.pt in the folder (another run's flow.pt copied in) and wrote its graphs
    under a card describing another flow (its seed, epochs, calibration, validation): other ages, exit 0. The card
    records the checkpoint's SHA-256 at export; a card written before (``recorded`` False) compares densities."""
    card_path = exported / "gyroage-model.json"
    card = json.loads(card_path.read_text())
    own = hashlib.sha256((exported / "gyroage-flow.pt").read_bytes()).hexdigest()
    if recorded:
        assert card["training"]["checkpoint_sha256"] == own
    else:
        card["training"].pop("checkpoint_sha256", None)
        card_path.write_text(json.dumps(card))
    res = cli("export", "--rebuild", "--out", str(exported), "-q")  # its own flow: rebuilt, the SHA-256 recorded
    assert res.exit_code == 0, res.output
    assert json.loads(card_path.read_text())["training"]["checkpoint_sha256"] == own
    if not recorded:  # again without the record: the other flow is caught by its density
        card_path.write_text(json.dumps(card))
    other = tmp_path / "other"
    res = cli("train", "--catalogue", str(toy_catalogue(tmp_path / "cat.csv")), "--out", str(other), "--config",
              str(write_config(tmp_path, {**FAST, "seed": 7})), "-q")
    assert res.exit_code == 0, res.output
    shutil.copyfile(other / "flow.pt", exported / "gyroage-flow.pt")
    graphs = {p.name: p.read_bytes() for p in exported.glob("*.onnx")}
    res = cli("export", "--rebuild", "--out", str(exported))
    one_line_error(res, f"{exported / 'gyroage-flow.pt'} is not the flow the card in {exported} was exported from",
                   "SHA-256" if recorded else "log density", "gyroage export --checkpoint RUN --out NEW_DIR")
    assert {p.name: p.read_bytes() for p in exported.glob("*.onnx")} == graphs


@pytest.mark.parametrize("graph", ["missing", "unreadable"])
def test_rebuild_refuses_a_flow_it_cannot_check_unless_the_user_vouches_for_it(exported, tmp_path, graph):
    """A card without ``training.checkpoint_sha256`` whose density graph is missing or unreadable took any
    gyroage-flow.pt with a note, then recorded that flow's SHA-256, so later rebuilds passed it by hash (review V58,
    1). Now one line naming the way out; ``--trust-checkpoint`` vouches for the flow and records it."""
    card_path, density = exported / "gyroage-model.json", exported / "gyroage-density.onnx"
    card = json.loads(card_path.read_text())
    own = card["training"].pop("checkpoint_sha256")
    card_path.write_text(json.dumps(card))
    density.unlink() if graph == "missing" else density.write_text("garbage")
    before = card_path.read_bytes()
    res = cli("export", "--rebuild", "--out", str(exported))
    one_line_error(res, f"cannot check that {exported / 'gyroage-flow.pt'} is the flow the card in {exported}",
                   "gyroage-density.onnx", f"gyroage export --rebuild --trust-checkpoint --out {exported}")
    assert card_path.read_bytes() == before and "checkpoint_sha256" not in json.loads(before)["training"]
    res = cli("export", "--rebuild", "--trust-checkpoint", "--out", str(exported), "-q")
    assert res.exit_code == 0, res.output
    assert json.loads(card_path.read_text())["training"]["checkpoint_sha256"] == own


def test_rebuild_refuses_another_runs_flow_copied_in_with_its_density_graph(exported, tmp_path):
    """A card without ``training.checkpoint_sha256`` compared the flow with the folder's density graph, whatever graph
    that was: another run's flow.pt copied in with its gyroage-density.onnx passed, exit 0, and its SHA-256 was
    recorded (review V59, 1). A graph whose SHA-256 is not the card's files record checks nothing: refused as one
    that cannot be read."""
    card_path = exported / "gyroage-model.json"
    card = json.loads(card_path.read_text())
    card["training"].pop("checkpoint_sha256")
    card_path.write_text(json.dumps(card))
    other = tmp_path / "other"
    res = cli("train", "--catalogue", str(toy_catalogue(tmp_path / "cat.csv")), "--out", str(other), "--config",
              str(write_config(tmp_path, {**FAST, "seed": 7})), "--export", str(tmp_path / "other_model"), "-q")
    assert res.exit_code == 0, res.output
    for name in ("gyroage-flow.pt", "gyroage-density.onnx"):
        shutil.copyfile(tmp_path / "other_model" / name, exported / name)
    before = card_path.read_bytes()
    res = cli("export", "--rebuild", "--out", str(exported))
    one_line_error(res, f"cannot check that {exported / 'gyroage-flow.pt'} is the flow the card in {exported}",
                   "gyroage-density.onnx", "--trust-checkpoint")
    assert card_path.read_bytes() == before


@pytest.mark.parametrize("args", [("--checkpoint", "RUN"), ("--posterior-only",)])
def test_trust_checkpoint_outside_a_rebuild_is_one_line(run_dir, tmp_path, args):
    args = tuple(str(run_dir) if a == "RUN" else a for a in args)
    res = cli("export", *args, "--trust-checkpoint", "--out", str(tmp_path / "m"))
    one_line_error(res, "--trust-checkpoint", "--rebuild")
    assert not (tmp_path / "m").exists()


# 4. --config files ------------------------------------------------------------------------------------------------

def _trained_settings(run: Path) -> dict:
    return json.loads((run / "train.json").read_text())["settings"]


@pytest.mark.parametrize("command", ["train", "validate"])
@pytest.mark.parametrize("text, key, values", [
    ('{"age_jitter_dex": 0.025, "max_epochs": 2,\n "age_jitter_dex": 0.1}', "age_jitter_dex", "(0.025 and 0.1)"),
    ('{"flow": {"hidden": 8, "hidden": 16}}', "hidden", "(8 and 16)"),
])
def test_a_key_written_twice_in_a_config_is_refused_naming_it(tmp_path, command, text, key, values):
    """json kept the last of a repeated key without a word: the setting trained was not the one the file seemed to
    hold (V55, 5)."""
    cfg = tmp_path / "dup.json"
    cfg.write_text(text)
    res = cli(command, "--out", str(tmp_path / "out"), "--catalogue", str(tmp_path / "missing.csv"), "--config",
              str(cfg))
    one_line_error(res, f"--config {cfg} sets {key!r} twice {values}")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("command", ["train", "validate"])
@pytest.mark.parametrize("text", ['[{"a": 1, "a": 2}]', '{"flow": [{"hidden": 8, "hidden": 16}]}'])
def test_a_config_of_the_wrong_shape_is_refused_for_its_shape_before_a_repeated_key(tmp_path, command, text):
    """A top-level array (or a 'flow' array) with a key repeated inside was refused for the repeat: mending that only
    revealed the real refusal (review V58, 3)."""
    cfg = tmp_path / "shape.json"
    cfg.write_text(text)
    res = cli(command, "--out", str(tmp_path / "out"), "--catalogue", str(tmp_path / "missing.csv"), "--config",
              str(cfg))
    line = one_line_error(res, f"--config {cfg} must hold a JSON object of training settings")
    assert "twice" not in line and not (tmp_path / "out").exists()


@pytest.mark.parametrize("command", ["train", "validate"])
@pytest.mark.parametrize("name, keys", [("relabel-calibration.json", "colour_knots, age_knots, widths"),
                                        ("main-sequence-calibration.json", "log10_age_knots, sigma_dex, level_knots")])
def test_a_calibration_file_given_as_config_is_said_to_be_one(tmp_path, command, name, keys):
    """benchmarks/candidates holds training configs and calibrations side by side; a calibration given to --config
    was refused as a typo of a training key ("unknown setting 'colour_knots' ... did you mean 'colour_jitter'?")."""
    cfg = ROOT / "benchmarks" / "candidates" / name
    res = cli(command, "--out", str(tmp_path / "out"), "--catalogue", str(tmp_path / "missing.csv"), "--config",
              str(cfg))
    line = one_line_error(res, f"--config {cfg} holds a calibration ({keys}", "not training settings",
                          "models/train-config.json")
    assert "did you mean" not in line


@pytest.mark.parametrize("command", ["train", "validate"])
def test_a_model_card_given_as_config_is_said_to_be_one(tmp_path, command):
    """The shipped card given to --config read "unknown setting 'age_grid'", as if one key were mistyped; its own
    training settings are the card's 'training' object, and models/ holds the config they came from."""
    cfg = ROOT / "models" / "gyroage-model.json"
    res = cli(command, "--out", str(tmp_path / "out"), "--catalogue", str(tmp_path / "missing.csv"), "--config",
              str(cfg))
    line = one_line_error(res, f"--config {cfg} is a model card", "models/train-config.json", "'training.settings'")
    assert "unknown setting" not in line and not (tmp_path / "out").exists()


@pytest.mark.parametrize("command", ["train", "validate"])
def test_a_hand_edited_model_card_given_as_config_is_still_said_to_be_one(tmp_path, command):
    """The card was told by three of its keys; one without its age grid read "unknown setting 'calibration'" again
    (review V64, 6). The settings a card was trained with, its training.settings, are a config that trains."""
    card = json.loads((ROOT / "models" / "gyroage-model.json").read_text())
    card.pop("age_grid")
    cfg = write_config(tmp_path, card, "card.json")
    res = cli(command, "--out", str(tmp_path / "out"), "--catalogue", str(tmp_path / "missing.csv"), "--config",
              str(cfg))
    one_line_error(res, f"--config {cfg} is a model card")
    from gyroage.build.training import unknown_setting_text

    assert unknown_setting_text(card["training"]["settings"], "") is None  # what the line points to is a config


@pytest.mark.parametrize("command", ["train", "validate"])
@pytest.mark.parametrize("config, keys, rest", [
    ({"note": "x", "colour_knots": [1], "age_knots": [1], "widths": [1], "age_jitter_dex": 0.05},
     "colour_knots, age_knots, widths", None),
    ({"colour_knots": [1], "age_knots": [1], "widths": [1], "flow": {"use_colour_err": False}},
     "colour_knots, age_knots, widths", None),
    ({"sigma_dex": [1], "seed": 1, "max_epoch": 5}, "sigma_dex", "unknown setting 'max_epoch' (did you mean 'max_epochs'?)"),
])
def test_calibration_keys_mixed_with_training_settings_are_named_as_such(tmp_path, command, config, keys, rest):
    """A calibration with a training key (or only ``flow``) mixed in still read "unknown setting 'colour_knots' (did
    you mean 'colour_jitter'?)": three calibration keys are no typo of one training key (review V58, 2). A real typo
    beside them is still named, with its hint."""
    cfg = write_config(tmp_path, config)
    res = cli(command, "--out", str(tmp_path / "out"), "--catalogue", str(tmp_path / "missing.csv"), "--config",
              str(cfg))
    line = one_line_error(res, f"--config {cfg} holds a calibration's keys ({keys})", "not training settings")
    assert ("did you mean" in line) == bool(rest) and "did you mean 'colour_jitter'" not in line
    assert rest is None or rest in line.replace(f" in {cfg}", "")
    assert not (tmp_path / "out").exists()


def test_a_configs_seed_holds_unless_seed_is_given(tmp_path):
    """--seed's default 0 silently replaced a config's "seed"; now --seed, else the config's seed, else 0."""
    cat = toy_catalogue(tmp_path / "cat.csv")
    cfg = write_config(tmp_path, {**FAST, "max_epochs": 1, "seed": 3})
    runs = {"config": (), "flag": ("--seed", "5"), "flag 0": ("--seed", "0")}
    for name, extra in runs.items():
        res = cli("train", "--catalogue", str(cat), "--out", str(tmp_path / name), "--config", str(cfg), "-q", *extra)
        assert res.exit_code == 0, res.output
    assert {name: _trained_settings(tmp_path / name)["seed"] for name in runs} == {"config": 3, "flag": 5, "flag 0": 0}
    res = cli("train", "--catalogue", str(cat), "--out", str(tmp_path / "none"), "--max-epochs", "1", "-q")
    assert res.exit_code == 0 and _trained_settings(tmp_path / "none")["seed"] == 0


@pytest.mark.parametrize("command", ["train", "validate"])
@pytest.mark.parametrize("config, name, close", [({"max_epoch": 5}, "max_epoch", "max_epochs"),
                                                 ({"flow": {"hiden": 8}}, "flow.hiden", "flow.hidden"),
                                                 ({"cluster_weight_powr": 0.5}, "cluster_weight_powr", "cluster_weight_power"),
                                                 ({"zzz": 1}, "zzz", None)])
def test_an_unknown_config_key_is_one_line_naming_it_and_the_known_ones(tmp_path, command, config, name, close):
    """An unknown key gave Python's "TrainSettings.__init__() got an unexpected keyword argument" text; a misspelt
    one now names the closest known name too (none when nothing is close)."""
    cfg = write_config(tmp_path, config)
    res = cli(command, "--out", str(tmp_path / "out"), "--catalogue", str(tmp_path / "missing.csv"), "--config", str(cfg))
    hint = f" (did you mean '{close}'?)" if close else ""
    line = one_line_error(res, f"unknown setting '{name}' in {cfg}{hint}; known: ")
    assert ("flow.hidden, flow.layers" in line) == name.startswith("flow.") and ("max_epochs" in line) != name.startswith("flow.")
    assert "__init__" not in line and not (tmp_path / "out").exists()
    assert ("did you mean" in line) == bool(close)


def test_settings_from_a_dict_name_an_unknown_key():
    from gyroage.build.training import TrainSettings

    with pytest.raises(ValueError, match=r"^unknown setting 'flow\.hiden' \(did you mean 'flow\.hidden'\?\); known: "):
        TrainSettings.from_dict({"flow": {"hiden": 8}})


def test_integral_floats_are_whole_numbers_but_fractions_are_not():
    """JSON writers often give 5.0 for 5: max_epochs 5.0 was refused ("must be a whole number")."""
    from gyroage.build.training import TrainSettings

    s = TrainSettings.from_dict({"max_epochs": 5.0, "flow": {"hidden": 16.0}})
    assert s.max_epochs == 5 and type(s.max_epochs) is int and s.flow.hidden == 16 and type(s.flow.hidden) is int
    assert s.to_dict() == TrainSettings.from_dict({"max_epochs": 5, "flow": {"hidden": 16}}).to_dict()
    with pytest.raises(ValueError, match="max_epochs must be a whole number, not 5.5"):
        TrainSettings.from_dict({"max_epochs": 5.5})
    with pytest.raises(ValueError, match="lr must be"):  # a float field stays a float field
        TrainSettings.from_dict({"lr": float("inf")})


def test_a_config_with_integral_floats_trains(tmp_path):
    cat = toy_catalogue(tmp_path / "cat.csv")
    cfg = write_config(tmp_path, {**FAST, "max_epochs": 1.0, "flow": {"hidden": 8.0}})
    res = cli("train", "--catalogue", str(cat), "--out", str(tmp_path / "run"), "--config", str(cfg), "-q")
    assert res.exit_code == 0, res.output
    s = _trained_settings(tmp_path / "run")
    assert s["max_epochs"] == 1 and s["flow"]["hidden"] == 8 and '"max_epochs": 1,' in (tmp_path / "run" / "train.json").read_text()


@pytest.mark.parametrize("command", ["train", "validate"])
def test_a_config_with_a_utf8_byte_order_mark_is_read(tmp_path, command):
    """Windows editors save UTF-8 with a BOM: it was 'cannot read --config ... Unexpected UTF-8 BOM'. Here the run
    gets past the settings to the (missing) catalogue."""
    cfg = tmp_path / "c.json"
    cfg.write_bytes(b"\xef\xbb\xbf" + json.dumps({"max_epochs": 1}).encode())
    res = cli(command, "--out", str(tmp_path / "out"), "--catalogue", str(tmp_path / "missing.csv"), "--config", str(cfg))
    one_line_error(res, "rotator catalogue not found")


def test_a_config_with_a_byte_order_mark_trains_with_its_settings(tmp_path):
    cat = toy_catalogue(tmp_path / "cat.csv")
    cfg = tmp_path / "c.json"
    cfg.write_bytes(b"\xef\xbb\xbf" + json.dumps({**FAST, "max_epochs": 1, "batch_size": 64}).encode())
    res = cli("train", "--catalogue", str(cat), "--out", str(tmp_path / "run"), "--config", str(cfg), "-q")
    assert res.exit_code == 0, res.output
    assert _trained_settings(tmp_path / "run")["batch_size"] == 64


@pytest.mark.parametrize("key", ["trim_dex", "cluster_weight_power", "membership_weight_power", "trim_weight",
                                 "trim_min_age_myr", "trim_keep_redder", "drop_evolved_mag"])
def test_negative_weights_and_trims_are_refused_naming_the_key(tmp_path, key):
    """A negative trim_dex / cluster_weight_power / membership_weight_power trained silently (a negative power
    up-weights the richest clusters and the likeliest contaminants; a negative trim or cut means 'off')."""
    from gyroage.build.training import TrainSettings

    with pytest.raises(ValueError, match=f"^{key} must be at least 0, not -0.5"):
        TrainSettings(**{key: -0.5})
    cfg = write_config(tmp_path, {key: -0.5})
    res = cli("train", "--out", str(tmp_path / "out"), "--catalogue", str(tmp_path / "missing.csv"), "--config", str(cfg))
    one_line_error(res, f"{key} must be at least 0, not -0.5", str(cfg))


# 5. one meaning for --config in train and validate ----------------------------------------------------------------

def _validate_train_settings(monkeypatch, tmp_path, *args: str) -> dict:
    """The training settings ``gyroage validate ARGS`` would give every fold (run_loco stubbed: nothing trains)."""
    from gyroage.build import loco

    seen = {}

    def fake_run_loco(path, out, names, settings, **kwargs):
        seen["train"] = settings.train
        return {}

    monkeypatch.setattr(loco, "run_loco", fake_run_loco)
    res = cli("validate", "--out", str(tmp_path / "v"), "--catalogue", str(tmp_path / "missing.csv"), "-q", *args)
    assert res.exit_code == 0, res.output
    return seen["train"]


def test_validate_with_the_shipped_config_resolves_to_the_shipped_cards_settings_exactly(monkeypatch, tmp_path):
    from gyroage.core.modelcard import load_card

    card, _ = load_card(ROOT / "models")
    got = _validate_train_settings(monkeypatch, tmp_path, "--config", str(ROOT / "models" / "train-config.json"))
    assert got == card.training["settings"]
    assert _validate_train_settings(monkeypatch, tmp_path) == card.training["settings"]  # no --config: the card's


def test_validate_reads_a_config_over_the_defaults_as_train_does(monkeypatch, tmp_path):
    """validate applied --config over the shipped card's settings, train over the code defaults: a config that left
    out cluster_weight_power or trim_relabel trained them off but validated them on (the card's)."""
    from gyroage.build.training import TrainSettings

    config = {"flow": {"use_colour_err": False, "reference": "skumanich"}, "age_jitter_dex": 0.05}
    cfg = write_config(tmp_path, config)
    got = _validate_train_settings(monkeypatch, tmp_path, "--config", str(cfg))
    assert got == TrainSettings.from_dict({**config, "threads": 1}).to_dict()
    assert got["cluster_weight_power"] == 0 and "trim_relabel" not in got  # the card has 0.5 and true
    # the seed: --seed's, else the config's, else 0, as train
    seeded = write_config(tmp_path, {**config, "seed": 3}, "seeded.json")
    assert _validate_train_settings(monkeypatch, tmp_path, "--config", str(seeded))["seed"] == 3
    assert _validate_train_settings(monkeypatch, tmp_path, "--config", str(seeded), "--seed", "5")["seed"] == 5
    assert _validate_train_settings(monkeypatch, tmp_path, "--config", str(cfg))["seed"] == 0


# 6. validate --write-card: the settings check up front --------------------------------------------------------------

@pytest.fixture
def model_copy(tmp_path) -> Path:
    shutil.copytree(ROOT / "models", tmp_path / "model")
    return tmp_path / "model"


@pytest.mark.parametrize("args, words", [
    (["--max-epochs", "1"], ["max_epochs: card 300, this run 1"]),
    (["--config", "partial"], ["cluster_weight_power: card 0.5, this run 0.0", "trim_relabel: card True, this run (default)",
                               "flow.reference: card (default), this run 'skumanich'"]),
])
def test_write_card_refuses_other_settings_before_training_naming_each_key(model_copy, tmp_path, args, words):
    """The mismatch was found only after every fold had trained, and the message named no key. The catalogue here
    does not exist: the refusal must come before it is read."""
    if "partial" in args:
        args = ["--config", str(write_config(tmp_path, {"flow": {"use_colour_err": False, "reference": "skumanich"},
                                                         "age_jitter_dex": 0.05}))]
    res = cli("validate", "--out", str(tmp_path / "v"), "--catalogue", str(tmp_path / "missing.csv"),
              "--write-card", str(model_copy), *args)
    one_line_error(res, f"model in {model_copy} was trained with other settings", "--force", *words)
    assert not (tmp_path / "v").exists()


@pytest.mark.parametrize("args", [["--max-epochs", "1", "--force"], ["--seed", "3"],
                                  ["--config", str(ROOT / "models" / "train-config.json")]])
def test_write_card_goes_on_with_force_or_the_cards_own_settings(model_copy, tmp_path, args):
    """--force, another seed and the shipped config all get past the check, to the (missing) catalogue."""
    res = cli("validate", "--out", str(tmp_path / "v"), "--catalogue", str(tmp_path / "missing.csv"),
              "--write-card", str(model_copy), *args)
    one_line_error(res, "rotator catalogue not found")


def test_writing_the_card_compares_keys_only_the_card_holds(model_copy):
    """The late check (write_card_validation) compared only the run's keys: a card trained with trim_dex 0.1 took a
    run without it (trim_dex left out at its default) as the same settings."""
    from gyroage.build.loco import write_card_validation
    from gyroage.core.modelcard import load_card
    from gyroage.errors import UserError

    settings = dict(load_card(model_copy)[0].training["settings"])
    del settings["trim_dex"]
    with pytest.raises(UserError, match=r"trim_dex: card 0\.1, this run \(default\)"):
        write_card_validation(model_copy, {"train_settings": settings})


# 7. validate --write-card: the catalogue check ------------------------------------------------------------------------

def _card_trained_on(model_dir: Path, catalogue: Path, **settings) -> None:
    """Make ``model_dir``'s card say it was trained on ``catalogue`` (and with ``settings`` over its own)."""
    from gyroage.core.modelcard import sha256

    path = model_dir / "gyroage-model.json"
    card = json.loads(path.read_text())
    card["training"]["catalog"] = {**card["training"]["catalog"], "file": catalogue.name, "sha256": sha256(catalogue)}
    card["training"]["settings"].update(settings)
    path.write_text(json.dumps(card, indent=2))


def test_write_card_refuses_a_validation_of_another_catalogue_before_training(model_copy, tmp_path):
    """Only the settings were compared: a validation of catalogue B was written into the card of a model trained
    on A. The card's settings are the run's here; only the catalogue differs."""
    from gyroage.core.modelcard import load_card, sha256

    cat = toy_catalogue(tmp_path / "toy.csv")
    want = load_card(model_copy)[0].training["catalog"]["sha256"]
    res = cli("validate", "--out", str(tmp_path / "v"), "--catalogue", str(cat), "--write-card", str(model_copy))
    one_line_error(res, f"model in {model_copy} was trained on open_cluster_rotators.csv (SHA-256 {want}), not on the "
                        f"validated catalogue toy.csv (SHA-256 {sha256(cat)})", "--force")
    assert not (tmp_path / "v").exists()


def test_writing_the_card_compares_the_summarys_catalogue_with_the_cards(model_copy, tmp_path):
    """The late check too (write_card_validation), unless forced; a summary without a catalogue (written before it
    was recorded) is not compared."""
    from gyroage.build.loco import write_card_validation
    from gyroage.core.modelcard import load_card
    from gyroage.errors import UserError

    card = load_card(model_copy)[0]
    other = {"file": "open_cluster_rotators.csv", "sha256": "0" * 64}
    summary = {"train_settings": dict(card.training["settings"]), "catalog": other}
    with pytest.raises(UserError, match="not on the validated catalogue open_cluster_rotators.csv \\(SHA-256 0000"):
        write_card_validation(model_copy, summary)
    assert "group_calibration" in card.validation
    write_card_validation(model_copy, summary, force=True)
    assert load_card(model_copy)[0].validation["catalog"] == other
    assert "group_calibration" not in load_card(model_copy)[0].validation  # fitted to the model's own catalogue
    write_card_validation(model_copy, {k: v for k, v in summary.items() if k != "catalog"})


def test_validate_records_its_catalogue_in_the_summary_and_the_card(model_copy, tmp_path):
    """loco_summary.json and the card's validation named no catalogue; a card trained on the validated one is
    written to without --force."""
    from gyroage.core.modelcard import load_card, sha256

    cat = toy_catalogue(tmp_path / "toy.csv")
    frame = pd.read_csv(cat)
    frame.assign(GaiaDR3_ID=np.arange(len(frame))).to_csv(cat, index=False)  # the held-out stars' table names them
    _card_trained_on(model_copy, cat, max_epochs=1, n_val_clusters=0)
    # every cluster: --write-card refuses a --clusters subset (review V46, 3)
    res = cli("validate", "--out", str(tmp_path / "v"), "--catalogue", str(cat), "--write-card", str(model_copy),
              "--jobs", "1", "--no-main-sequence", "-q")
    assert res.exit_code == 0, res.output
    record = {"file": "toy.csv", "sha256": sha256(cat)}
    assert json.loads((tmp_path / "v" / "loco_summary.json").read_text())["catalog"] == record
    card = load_card(model_copy)[0]
    assert card.validation["catalog"] == record == {k: card.training["catalog"][k] for k in ("file", "sha256")}


def test_validate_needs_no_gaia_id_column(tmp_path):
    """A catalogue without GaiaDR3_ID (which load_catalogue does not require) trained every fold, then stopped with a
    KeyError traceback while writing the held-out stars' table."""
    cat = toy_catalogue(tmp_path / "toy.csv")
    res = cli("validate", "--out", str(tmp_path / "v"), "--catalogue", str(cat), "--clusters", "C1", "--jobs", "1",
              "--no-main-sequence", "--config", str(write_config(tmp_path, FAST)), "-q")
    assert res.exit_code == 0, (res.output, repr(res.exception))
    stars = pd.read_csv(tmp_path / "v" / "loco_stars.csv")
    assert len(stars) == 40 and stars["GaiaDR3_ID"].isna().all()


@pytest.mark.parametrize("command", ["train", "validate"])
@pytest.mark.parametrize("names, words", [(["c1"], ("'c1'", "write it as the catalogue does", "'C1'")),
                                          (["Nope"], ("unknown cluster 'Nope'", "C0, C1, C2"))])
def test_an_excluded_cluster_the_catalogue_lacks_is_refused_before_training(tmp_path, command, names, words):
    cat = toy_catalogue(tmp_path / "cat.csv")
    config = write_config(tmp_path, {**FAST, "exclude_clusters": names})
    res = cli(command, "--catalogue", str(cat), "--out", str(tmp_path / "out"), "--config", str(config), "-q")
    one_line_error(res, *words)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").rglob("*.npz"))


def test_a_parquet_catalogue_with_boolean_flags_and_a_duration_period_is_read(tmp_path):
    """Flags and durations are read as no number where a measurement goes (8c33514, 8bf3dac), but a rotator
    catalogue's quality flags are flags (a Parquet file's bool columns, read as 1/0) and its Prot a period, which
    may be a duration: both were refused after those commits ("column Prot ... holds '1 days 21:31:40', not a
    number"; review V66, 1)."""
    from gyroage.build.catalogue import load_catalogue

    plain = pd.read_csv(toy_catalogue(tmp_path / "cat.csv"))
    typed = plain.assign(Prot=pd.to_timedelta(plain["Prot"], unit="D"),
                         **{f: plain[f].astype(bool) for f in ("cmd_exclude", "dered_exclude", "phot_exclude")})
    typed.to_parquet(tmp_path / "cat.parquet")
    got, want = load_catalogue(tmp_path / "cat.parquet"), load_catalogue(tmp_path / "cat.csv")
    np.testing.assert_allclose(got["Prot"].to_numpy(float), want["Prot"].to_numpy(float), rtol=1e-12)
    for flag in ("cmd_exclude", "dered_exclude", "phot_exclude"):
        assert got[flag].tolist() == want[flag].tolist()


@pytest.mark.parametrize("differs", ["normalisation", "flow settings"])
def test_trust_checkpoint_still_refuses_a_flow_whose_recorded_settings_are_not_the_cards(exported, tmp_path, differs):
    """--trust-checkpoint took any gyroage-flow.pt where nothing could be checked (no SHA-256 recorded, the density
    graph missing), exit 0, and wrote another run's graphs under the card, its normalisation and flow settings kept
    (review FW9b, 5). What the checkpoint records of itself is checked against the card even then; only its weights
    are taken on trust, and the note says so."""
    card_path = exported / "gyroage-model.json"
    card = json.loads(card_path.read_text())
    card["training"].pop("checkpoint_sha256")
    card_path.write_text(json.dumps(card))
    (exported / "gyroage-density.onnx").unlink()
    before = card_path.read_bytes()
    other, settings = tmp_path / "other", {**FAST, "flow": {"tail_bound": 3.0}} if differs == "flow settings" else FAST
    cat = toy_catalogue(tmp_path / "cat.csv", ages_myr=(50.0, 500.0, 2000.0) if differs == "normalisation" else
                        (30.0, 300.0, 3000.0))
    res = cli("train", "--catalogue", str(cat), "--out", str(other), "--config", str(write_config(tmp_path, settings)),
              "-q")
    assert res.exit_code == 0, res.output
    own = (exported / "gyroage-flow.pt").read_bytes()
    shutil.copyfile(other / "flow.pt", exported / "gyroage-flow.pt")
    res = cli("export", "--rebuild", "--trust-checkpoint", "--out", str(exported))
    one_line_error(res, f"{exported / 'gyroage-flow.pt'} is not the flow the card in {exported} was exported from",
                   f"its {differs} and the card's disagree", "gyroage export --checkpoint RUN --out NEW_DIR")
    assert card_path.read_bytes() == before and not (exported / "gyroage-density.onnx").exists()
    (exported / "gyroage-flow.pt").write_bytes(own)  # its own flow: trusted, and the note says what was not checked
    res = cli("export", "--rebuild", "--trust-checkpoint", "--out", str(exported))
    assert res.exit_code == 0, res.output
    assert "its flow settings and normalisation are the card's, its weights taken on trust" in res.stderr
