"""README's example figures (docs/figures/posterior_sun.png, sequence.png) are the shipped model's (review V54, 2)."""

from __future__ import annotations

import hashlib
import json

import pytest

from tests.conftest import ROOT


@pytest.mark.parametrize("name", ["posterior_sun.png", "sequence.png"])
def test_the_committed_example_figures_record_the_shipped_card(name):
    """sequence.png still drew the Kraft break at 0.6 mag after the card moved it to 0.7: nothing tied the committed
    figures to the card. Each now records the card's SHA-256 (its PNG text chunk 'gyroage'), read here from the
    committed file, never redrawn: a card changed without `python benchmarks/example_figures.py` fails this."""
    image = pytest.importorskip("PIL.Image")
    card = hashlib.sha256((ROOT / "models" / "gyroage-model.json").read_bytes()).hexdigest()
    text = image.open(ROOT / "docs" / "figures" / name).text.get("gyroage")
    assert text is not None, f"{name} records nothing: redraw it with benchmarks/example_figures.py"
    record = json.loads(text)
    assert record["model"] == "shipped"
    assert record["model_card_sha256"] == card, f"{name} is another card's: redraw it with benchmarks/example_figures.py"
