"""The card's Kraft break from the colour bins' period-age slopes: a bin whose slope cannot be measured (too few
clusters >= 100 Myr there, as in a small retraining catalogue) must not move it."""

from __future__ import annotations

import numpy as np
import pytest

from gyroage.build.sequence_domain import SEQUENCE_BREAK_RUN, kraft_break

EDGES = np.round(np.arange(0.50, 1.26, 0.05), 3)  # 15 bins of 0.05 mag
NAN = np.nan


def _slopes(values: dict[float, float], flat: float = 0.1) -> np.ndarray:
    """Slopes per bin of EDGES: ``flat`` (spun-up, no age) but for the bins starting at the given colours."""
    s = np.full(len(EDGES) - 1, flat)
    for edge, v in values.items():
        s[int(np.flatnonzero(np.isclose(EDGES, edge))[0])] = v
    return s


def test_an_unmeasurable_bin_between_steep_ones_does_not_move_the_break():
    """V40's five-cluster catalogue: 0.70-0.75 and 0.75-0.80 steep, 0.80-0.85 without a slope (NGC 2516 had 4
    members there), then steep again: the break went to 0.85 and the Sun (0.82) was flagged blue of it."""
    steep = {0.70: 0.358, 0.75: 0.577, 0.80: NAN, 0.85: 0.332, 0.90: 0.41, 0.95: 0.5, 1.00: 0.45}
    assert kraft_break(_slopes(steep), EDGES) == 0.70
    # the same bins all measured and steep: the same break
    assert kraft_break(_slopes({**steep, 0.80: 0.4}), EDGES) == 0.70


def test_a_measured_flat_bin_still_breaks_the_run():
    """Only unmeasurable bins are skipped: a bin measured flat (slope < 0.3) is evidence of spun-up stars."""
    steep = {0.70: 0.358, 0.75: 0.577, 0.80: 0.1, 0.85: 0.332, 0.90: 0.41, 0.95: 0.5, 1.00: 0.45}
    assert kraft_break(_slopes(steep), EDGES) == 0.85


@pytest.mark.parametrize("slopes, expected", [
    ({0.90: 0.4}, 0.90),                  # no run: the first steep bin
    ({}, 0.50),                           # no steep bin: the bluest edge
    ({0.60: 0.5, 0.65: NAN}, 0.60),       # NaN only beside it
])
def test_without_a_run_the_fallbacks_are_unchanged(slopes, expected):
    assert kraft_break(_slopes(slopes), EDGES) == expected


def test_no_measurable_slope_gives_the_bluest_edge():
    assert kraft_break(np.full(len(EDGES) - 1, np.nan), EDGES) == 0.50
    assert kraft_break(np.full(SEQUENCE_BREAK_RUN - 1, 0.5), EDGES[:SEQUENCE_BREAK_RUN]) == 0.50  # short: first steep


def test_the_whole_catalogue_keeps_the_shipped_cards_break(catalog_path):
    """The shipped card is not rebuilt: its domain.sequence (break 0.7) must be what the rule gives its catalogue."""
    from gyroage.build.catalogue import read_selection, training_set
    from gyroage.build.training import card_sequence_domain
    from gyroage.core.modelcard import default_model_dir, load_card

    card, _ = load_card(default_model_dir(), verify=False)
    seq = card_sequence_domain(card.training, training_set(read_selection(catalog_path).frame))
    assert seq == card.domain["sequence"] and seq["kraft_break_bp_rp0"] == 0.7
