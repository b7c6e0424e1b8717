"""validate --write-card wrote a --clusters subset run, or one of another --min-members, into the card as the model's
validation (review V46, 3): the card's headline became a 6-cluster median, group-age's widths stayed beside it, and
its single systematic width (default_systematic_dex) moved from 0.078 to 0.198 dex. Both are refused in one line
before any fold trains, unless --force."""

import pytest

from tests.build.test_build_guards import _card_trained_on, cli, model_copy, toy_catalogue  # noqa: F401 (fixture)
from tests.conftest import one_line_error


def test_write_card_refuses_a_clusters_subset_before_any_fold(model_copy, tmp_path):  # noqa: F811
    pytest.importorskip("torch")
    cat = toy_catalogue(tmp_path / "toy.csv")
    _card_trained_on(model_copy, cat)
    res = cli("validate", "--out", str(tmp_path / "v"), "--catalogue", str(cat), "--write-card", str(model_copy),
              "--clusters", "C0,C2", "--no-main-sequence")
    one_line_error(res, f"--write-card {model_copy}", "--clusters holds 2 of the 3 clusters with 20 or more",
                   "leave --clusters out", "--force")
    assert not (tmp_path / "v").exists()


def test_every_cluster_named_is_no_subset():
    """--clusters naming every eligible cluster (in any order or spelling) is the whole run."""
    import tempfile
    from pathlib import Path

    from gyroage.build.catalogue import read_selection
    from gyroage.build.loco_checks import chosen_clusters
    from gyroage.errors import UserError

    with tempfile.TemporaryDirectory() as d:
        selection = read_selection(toy_catalogue(Path(d) / "toy.csv"), notices=False)
    assert chosen_clusters(selection, ["c2", "C0", "C1"], 20, (), whole_for="m") == ["C0", "C1", "C2"]
    assert chosen_clusters(selection, ["C1"], 20, ()) == ["C1"]  # no card: a subset is fine
    with pytest.raises(UserError, match="--clusters holds 1 of the 3"):
        chosen_clusters(selection, ["C1"], 20, (), whole_for="m")


def test_write_card_refuses_another_min_members_before_reading_the_catalogue(model_copy, tmp_path):  # noqa: F811
    """The shipped card's validation is of clusters of >= 20 members."""
    res = cli("validate", "--out", str(tmp_path / "v"), "--catalogue", str(tmp_path / "missing.csv"),
              "--write-card", str(model_copy), "--min-members", "10")
    one_line_error(res, f"--write-card {model_copy}", "clusters of 20 or more", "this run of 10 (--min-members)",
                   "--min-members 20", "--force")
    assert not (tmp_path / "v").exists()
    forced = cli("validate", "--out", str(tmp_path / "v"), "--catalogue", str(tmp_path / "missing.csv"),
                 "--write-card", str(model_copy), "--min-members", "10", "--force")
    one_line_error(forced, "rotator catalogue not found")


def test_write_card_says_which_star_figures_it_wrote_and_the_readmes_recipe_runs(model_copy, tmp_path):  # noqa: F811
    """Review V46, 10: README's recipe (no --fit-calibration) wrote uncalibrated star figures into a card whose
    estimates apply its calibration, and the write line did not say so. Tiny run: three toy clusters, one epoch."""
    pytest.importorskip("torch")
    from gyroage.core.modelcard import load_card

    cat = toy_catalogue(tmp_path / "toy.csv", ages_myr=(20.0, 300.0, 3000.0))
    _card_trained_on(model_copy, cat, max_epochs=1, n_val_clusters=0)
    args = ["validate", "--out", str(tmp_path / "v"), "--catalogue", str(cat), "--write-card", str(model_copy),
            "--jobs", "1", "--no-main-sequence"]
    plain = cli(*args)
    assert plain.exit_code == 0, plain.output
    assert (f"wrote the validation summary into {model_copy / 'gyroage-model.json'} (star figures uncalibrated, unlike "
            "the card's estimates: --fit-calibration scores them calibrated)") in plain.stderr, plain.stderr
    assert load_card(model_copy)[0].validation["star_posteriors"].endswith(", uncalibrated")
    fitted = cli(*args, "--fit-calibration")  # README's recipe: the same folds, scored with the calibration fitted
    assert fitted.exit_code == 0 and "0 to train" in fitted.stderr, fitted.output
    assert "(star figures calibrated with the calibration fitted here)" in fitted.stderr, fitted.stderr
    card = load_card(model_copy)[0]
    assert "with the card's calibration" in card.validation["star_posteriors"]
    assert card.calibration == card.validation["calibration"] and card.calibration["level_scale"] != 1


def test_validate_help_says_write_card_figures_are_uncalibrated_without_fit_calibration():
    from typer.testing import CliRunner

    from gyroage.cli import app

    res = CliRunner().invoke(app, ["validate", "--help"], env={"COLUMNS": "300"})
    assert "its star figures uncalibrated unless --fit-calibration" in " ".join(res.stdout.split()), res.stdout
