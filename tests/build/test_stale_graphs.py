"""A card whose calibration was rewritten after its posterior graphs were built (validate --write-card
--fit-calibration, benchmarks/cmd_term.py --write-card) says so at load, until `gyroage export --rebuild`."""

import json
import shutil
import warnings

import pytest

from gyroage.core.modelcard import (
    BUILT_FROM,
    POSTERIOR_FILE,
    POSTERIOR_GRAPHS,
    POSTERIOR_MAG_FILE,
    load_card,
    stale_graphs,
    write_card,
)
from tests.conftest import ROOT, run_cli

STAR = "prot_days,bp_rp0\n12.0,1.2\n"


@pytest.fixture
def exported(tmp_path):
    """A copy of the shipped model whose card records what its graphs were built from, as export now writes it (the
    shipped graphs were built from the shipped card)."""
    d = tmp_path / "model"
    shutil.copytree(ROOT / "models", d)
    card, _ = load_card(d)
    write_card(card, d, built=POSTERIOR_GRAPHS)
    return d


def rewrite(d, change) -> None:
    """Change the card as a later step does, its graphs untouched (write_card_validation's way)."""
    card, _ = load_card(d)
    change(card)
    write_card(card, d)


def test_the_shipped_card_loads_unchecked_and_unchanged():
    card, _ = load_card(None)
    # the shipped graphs were rebuilt with the card's sequence domain (benchmarks/sequence_domain.py), which records
    # what they were built from: it must be this card
    assert all(BUILT_FROM in card.files[n] for n in POSTERIOR_GRAPHS)
    assert stale_graphs(card) == []
    res = run_cli("estimate", "-", input=STAR)
    assert res.returncode == 0 and "built from another calibration" not in res.stderr


def test_a_calibration_written_after_export_is_named_at_load(exported):
    card, _ = load_card(exported)
    assert stale_graphs(card) == [] and all(BUILT_FROM in card.files[n] for n in POSTERIOR_GRAPHS)
    assert run_cli("estimate", "-", "--model", str(exported), input=STAR).stderr.count("built from another") == 0

    rewrite(exported, lambda c: c.calibration.update(level_scale=0.3))  # validate --write-card --fit-calibration
    card, _ = load_card(exported)  # the graphs' SHA-256 still verify
    assert stale_graphs(card) == [POSTERIOR_MAG_FILE, POSTERIOR_FILE]
    for command in (["estimate", "-"], ["group-age", "-"]):
        res = run_cli(*command, "--model", str(exported), input=STAR)
        assert res.returncode == 0, res.stderr
        said = [line for line in res.stderr.splitlines() if "built from another calibration" in line]
        assert len(said) == 1 and said[0].startswith(f"{command[0]}: ")
        assert f"gyroage export --rebuild --out {exported}" in said[0]
        quiet = run_cli(*command, "--model", str(exported), "-q", input=STAR)
        assert quiet.returncode == 0 and "built from another" not in quiet.stderr
    from gyroage import AgeModel

    with pytest.warns(UserWarning, match="built from another calibration"):
        AgeModel.load(exported)


def test_only_what_a_graph_embeds_makes_it_stale(exported):
    rewrite(exported, lambda c: c.validation.update(group_calibration=None))  # group-age's widths: no graph's
    assert stale_graphs(load_card(exported)[0]) == []
    rewrite(exported, lambda c: c.main_sequence["calibration"].update(level_scale=0.9))  # cmd_term.py --write-card
    assert stale_graphs(load_card(exported)[0]) == [POSTERIOR_MAG_FILE]


def test_rebuilding_the_graphs_clears_it(exported):
    pytest.importorskip("onnx")
    from gyroage.build.posterior_graph import regenerate

    rewrite(exported, lambda c: c.calibration.update(level_scale=0.3))
    regenerate(exported)  # gyroage export --posterior-only (export --rebuild records the same)
    card, _ = load_card(exported)
    assert stale_graphs(card) == [] and card.calibration["level_scale"] == 0.3
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        from gyroage import AgeModel

        AgeModel.load(exported)
    assert json.loads((exported / "gyroage-model.json").read_text())["files"][POSTERIOR_FILE][BUILT_FROM]
