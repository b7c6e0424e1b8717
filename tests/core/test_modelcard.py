"""A missing, corrupted or mismatched model is one line and exit 2, never an answer."""

import json
import shutil

import pytest
from typer.testing import CliRunner

from gyroage.cli import app
from tests.conftest import EXAMPLES, ROOT, run_cli

MODELS = ROOT / "models"
STARS = str(EXAMPLES / "field_stars.csv")


@pytest.fixture
def model_copy(tmp_path):
    d = tmp_path / "model"
    shutil.copytree(MODELS, d, ignore=shutil.ignore_patterns("*.pt"))
    return d


def assert_model_error(res, *words):
    assert res.returncode == 2, (res.returncode, res.stderr)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gyroage: error:"), res.stderr
    assert res.stdout == ""  # no partial answer
    for w in words:
        assert w in lines[0], lines[0]


def estimate(model):
    # In-process (the subprocess path is covered by test_a_missing_or_corrupt_model_is_one_line_in_a_fresh_process):
    # these are many small runs.
    res = CliRunner().invoke(app, ["estimate", STARS, "-q", "--model", str(model)])
    res.returncode = res.exit_code
    assert res.exception is None or isinstance(res.exception, SystemExit), res.exception
    return res


def test_copy_of_the_shipped_model_works(model_copy):
    res = estimate(model_copy)
    assert res.returncode == 0, res.stderr
    assert res.stdout.count("\n") == 2
    assert estimate(model_copy / "gyroage-model.json").stdout == res.stdout
    assert estimate(model_copy / "gyroage-density.onnx").stdout == res.stdout


def test_missing_directory_card_and_files(tmp_path, model_copy):
    assert_model_error(estimate(tmp_path / "nowhere"), "model card not found")
    assert_model_error(estimate(model_copy / "other.onnx"), "not found")
    (model_copy / "gyroage-posterior.onnx").unlink()
    assert_model_error(estimate(model_copy), "missing", "gyroage-posterior.onnx")
    (model_copy / "gyroage-density.onnx").unlink()
    assert_model_error(estimate(model_copy), "missing")
    (model_copy / "gyroage-model.json").unlink()
    assert_model_error(estimate(model_copy), "model card not found")


def test_a_missing_or_corrupt_model_is_one_line_in_a_fresh_process(tmp_path, model_copy):
    """The console entry point as a user runs it (the tests above call the app in-process): a model folder that does
    not exist, and a card that is not JSON, are one line, exit 2, no traceback and nothing on stdout."""
    assert_model_error(run_cli("estimate", STARS, "-q", "--model", str(tmp_path / "nonexistent")), "model card not found")
    (model_copy / "gyroage-model.json").write_text("{not json")
    assert_model_error(run_cli("estimate", STARS, "-q", "--model", str(model_copy)), "gyroage-model.json")


@pytest.mark.parametrize("name", ["gyroage-density.onnx", "gyroage-posterior.onnx"])
def test_corrupted_file(model_copy, name):
    f = model_copy / name
    data = bytearray(f.read_bytes())
    data[len(data) // 2] ^= 0x01  # one flipped bit in a weight: still a loadable graph
    f.write_bytes(bytes(data))
    assert_model_error(estimate(model_copy), "SHA-256", name)


def test_truncated_and_swapped_files(model_copy):
    d = model_copy / "gyroage-density.onnx"
    p = model_copy / "gyroage-posterior.onnx"
    original = d.read_bytes()
    d.write_bytes(original[: len(original) // 3])
    assert_model_error(estimate(model_copy), "SHA-256")
    d.write_bytes(p.read_bytes())  # a real ONNX file, but not the one the card describes
    assert_model_error(estimate(model_copy), "SHA-256")


def test_graph_not_listed_in_its_card(model_copy):
    shutil.copy(model_copy / "gyroage-density.onnx", model_copy / "mine.onnx")
    assert_model_error(estimate(model_copy / "mine.onnx"), "not listed")


def test_card_with_recomputed_hash_but_wrong_graph(model_copy):
    """Someone re-hashes a swapped file: the graph itself is checked too."""
    from gyroage.core.modelcard import sha256

    shutil.copy(model_copy / "gyroage-posterior.onnx", model_copy / "gyroage-density.onnx")
    card = json.loads((model_copy / "gyroage-model.json").read_text())
    card["files"]["gyroage-density.onnx"]["sha256"] = sha256(model_copy / "gyroage-density.onnx")
    (model_copy / "gyroage-model.json").write_text(json.dumps(card))
    assert_model_error(estimate(model_copy), "not a gyroage density graph")


@pytest.mark.parametrize("text", [
    "", "{not json", "[1, 2]", '"card"', "{}",
    "EDIT:domain", "EDIT:outlier", "EDIT:files", "EDIT:grid",
])
def test_broken_card(model_copy, text):
    card_path = model_copy / "gyroage-model.json"
    if text.startswith("EDIT:"):
        card = json.loads(card_path.read_text())
        what = text[5:]
        if what == "domain":
            del card["domain"]["bp_rp0"]
        elif what == "outlier":
            card["outlier"]["weight"] = "lots"
        elif what == "files":
            card["files"] = ["gyroage-density.onnx"]
        else:
            card["age_grid"]["n"] = 1
        text = json.dumps(card)
    card_path.write_text(text)
    assert_model_error(estimate(model_copy), "model card")


def _drop_sigma(card):
    del card["calibration"]["sigma_dex"]


def _unknown_only(card):
    card["calibration"] = {"foo": 1}


def _text_width(card):
    card["calibration"]["sigma_dex"][0][1] = "wide"


def _negative_width(card):
    card["calibration"]["sigma_dex"][0][1] = -0.1


def _ragged(card):
    card["calibration"]["sigma_dex"] = card["calibration"]["sigma_dex"][:2]


def _not_an_object(card):
    card["calibration"] = [1, 2]


def _term_calibration(card):
    del card["main_sequence"]["calibration"]["log10_age_knots"]


@pytest.mark.parametrize("edit, words", [
    (_drop_sigma, ("calibration lacks sigma_dex",)),
    (_unknown_only, ("calibration lacks",)),
    (_text_width, ("calibration.sigma_dex must be a list of numbers",)),
    (_negative_width, ("calibration.sigma_dex must hold one width >= 0 per age knot",)),
    (_ragged, ("calibration.sigma_dex must hold one row of widths per colour knot",)),
    (_not_an_object, ("calibration must be an object",)),
    (_term_calibration, ("main_sequence.calibration lacks log10_age_knots",)),
])
def test_malformed_calibration_in_the_card(model_copy, edit, words):
    """A hand-edited calibration (the card is not under the files' SHA-256: only the graphs are) was a ValueError
    traceback at the first calibrated posterior, and {"foo": 1} was silently taken as no calibration at all; both are
    now the card's one-line 'not a valid gyroage card' error, exit 2, from estimate and AgeModel.load alike."""
    from gyroage import AgeModel
    from gyroage.errors import ModelError

    card_path = model_copy / "gyroage-model.json"
    card = json.loads(card_path.read_text())
    edit(card)
    card_path.write_text(json.dumps(card))
    assert_model_error(estimate(model_copy), "model card", "is not a valid gyroage card", *words)
    with pytest.raises(ModelError, match="not a valid gyroage card"):
        AgeModel.load(model_copy)


def test_card_without_calibration_still_loads(model_copy):
    """An empty calibration (what train --export writes) stays valid: uncalibrated, with its note."""
    card_path = model_copy / "gyroage-model.json"
    card = json.loads(card_path.read_text())
    card["calibration"] = {}
    card_path.write_text(json.dumps(card))
    res = estimate(model_copy)
    assert res.returncode == 0 and res.stdout.count("\n") == 2, res.stderr


def test_api_raises_model_error(model_copy):
    from gyroage import AgeModel
    from gyroage.errors import ModelError

    (model_copy / "gyroage-posterior.onnx").write_bytes(b"garbage")
    with pytest.raises(ModelError, match="SHA-256"):
        AgeModel.load(model_copy)


def test_shipped_card_was_trained_with_the_shipped_config():
    """models/train-config.json is what rebuilds the shipped flow: its settings and its note are the card's."""
    config = json.loads((MODELS / "train-config.json").read_text())
    training = json.loads((MODELS / "gyroage-model.json").read_text())["training"]
    assert training["note"] == config.pop("note")

    def check(expected: dict, actual: dict, where: str) -> None:
        for key, value in expected.items():
            assert key in actual, f"{where}{key} not in the card's training settings"
            if isinstance(value, dict):
                check(value, actual[key], f"{where}{key}.")
            else:
                assert actual[key] == value, f"{where}{key}: config {value!r}, card {actual[key]!r}"

    check(config, training["settings"], "")


@pytest.mark.parametrize("version", [2, 99])
def test_a_card_newer_than_this_gyroage_is_refused(model_copy, version):
    """A card of a newer format_version loaded silently, its fields read as this version's: it is now refused, in
    one line telling the user to upgrade, from estimate (exit 2), AgeModel.load and the graph's embedded card alike."""
    from gyroage import AgeModel
    from gyroage.core.modelcard import FORMAT_VERSION
    from gyroage.errors import ModelError

    card_path = model_copy / "gyroage-model.json"
    card = json.loads(card_path.read_text())
    card["format_version"] = FORMAT_VERSION + version - 1
    del card["domain"]  # a newer format may lay the card out otherwise: the version is what is reported
    card_path.write_text(json.dumps(card))
    assert_model_error(estimate(model_copy), "model card", f"format_version {FORMAT_VERSION + version - 1}",
                       "upgrade gyroage")
    with pytest.raises(ModelError, match="upgrade gyroage"):
        AgeModel.load(model_copy)


def test_the_current_and_older_format_versions_load(model_copy):
    from gyroage.core.modelcard import FORMAT_VERSION, load_card

    card_path = model_copy / "gyroage-model.json"
    card = json.loads(card_path.read_text())
    assert card["format_version"] == FORMAT_VERSION
    assert load_card(model_copy)[0].format_version == FORMAT_VERSION
    for bad in ("1", 0, True, None):
        card["format_version"] = bad
        card_path.write_text(json.dumps(card))
        assert_model_error(estimate(model_copy), "is not a valid gyroage card", "format_version")


def test_the_card_embedded_in_a_graph_is_refused_too_when_newer():
    from gyroage.core.density import card_from_session
    from gyroage.core.modelcard import FORMAT_VERSION, METADATA_KEY
    from gyroage.errors import ModelError

    card = json.loads((MODELS / "gyroage-model.json").read_text())

    class Session:  # what card_from_session reads of an onnxruntime session
        def __init__(self, card):
            self.meta = {METADATA_KEY: json.dumps(card)}

        def get_modelmeta(self):
            return type("Meta", (), {"custom_metadata_map": self.meta})()

    assert card_from_session(Session(card), "g.onnx").format_version == FORMAT_VERSION
    card["format_version"] = FORMAT_VERSION + 1
    with pytest.raises(ModelError, match="in g.onnx has format_version .* upgrade gyroage"):
        card_from_session(Session(card), "g.onnx")
