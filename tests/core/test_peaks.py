"""The two-peaked posterior rule of study 35 (gyroage.core.peaks) on hand-made posteriors: each threshold just
inside and just outside, end-point peaks, flat plateaus, and rows that are no pdf."""

from __future__ import annotations

import numpy as np
import pytest

from gyroage.core.peaks import peak_mask, two_peaked


def flagged(row) -> bool:
    """The rule on one row, on a grid of unit steps (the grid's values do not matter, only its steps)."""
    row = np.asarray(row, dtype=float)
    return bool(two_peaked(row[None, :], np.arange(len(row), dtype=float))[0])


def both_sides(row) -> list[bool]:
    """The rule on the row and on its mirror image (P2 right of P1, then left)."""
    return [flagged(row), flagged(row[::-1])]


def test_one_peak_is_not_two_peaked():
    grid = np.linspace(6.0, 10.0, 201)
    pdf = np.exp(-0.5 * ((grid - 8.5) / 0.2) ** 2)
    assert not two_peaked(pdf[None, :], grid)[0]


def test_two_separate_peaks_of_equal_mass():
    grid = np.linspace(6.0, 10.0, 201)
    pdf = np.exp(-0.5 * ((grid - 7.2) / 0.1) ** 2) + np.exp(-0.5 * ((grid - 9.2) / 0.1) ** 2)
    assert two_peaked(pdf[None, :], grid)[0]


@pytest.mark.parametrize(("h2", "expected"), [(0.26, True), (0.25, True), (0.24, False)])
def test_second_peak_height(h2, expected):
    # valley 0; P2's mass h2 / (1 + h2) >= 0.19: only P2's height against 0.25 x P1's decides
    assert both_sides([0.0, 1.0, 0.0, 0.0, h2, 0.0]) == [expected, expected]


@pytest.mark.parametrize(("valley", "expected"), [(0.399, True), (0.4, True), (0.401, False)])
def test_valley_depth(valley, expected):
    # P2 0.8: the valley's lowest point must be <= 0.4; P2's side holds (valley / 2 + 0.8) / (1 + valley + 0.8)
    assert both_sides([0.0, 1.0, valley, 0.8, 0.0]) == [expected, expected]


@pytest.mark.parametrize(("h2", "expected"), [(0.43, True), (0.41, False)])
def test_mass_beyond_the_valley(h2, expected):
    # P1 a broad hill of mass 3.8 (unit steps), P2 a spike of mass h2 beyond a valley of zeros:
    # P2's side holds h2 / (3.8 + h2), 0.102 and 0.097 either side of 0.10; height and valley pass
    row = [0.0, 0.5, 0.9, 1.0, 0.9, 0.5, 0.0, 0.0, h2, 0.0]
    assert both_sides(row) == [expected, expected]


def test_adjacent_points_make_no_valley():
    # a second local maximum next to P1 has no point between them: no valley, one peak
    assert both_sides([0.0, 1.0, 0.9, 0.95, 0.0]) == [False, False]


def test_end_point_peaks():
    # P2 on the grid's last point (higher than its one neighbour), then P1 on the first
    assert flagged([0.0, 1.0, 0.0, 0.0, 0.5])
    assert flagged([1.0, 0.0, 0.0, 0.5, 0.0])
    # a posterior piled against both ends
    assert flagged([1.0, 0.2, 0.0, 0.2, 0.8])
    # an end point lower than its neighbour is no peak: one peak, in the middle
    assert not flagged([0.5, 0.6, 1.0, 0.6, 0.5])


def test_flat_plateaus():
    # a constant posterior has no peak
    assert not flagged(np.ones(9))
    # a flat-topped P1, and a flat-topped P2: each one peak
    assert both_sides([0.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.5, 0.0]) == [True, True]
    assert both_sides([0.0, 1.0, 0.0, 0.0, 0.5, 0.5, 0.0]) == [True, True]
    # a flat shoulder on P1's flank (lower on one side, higher on the other) is no peak
    assert both_sides([0.0, 1.0, 0.5, 0.5, 0.3, 0.0]) == [False, False]
    # two equal highest points: the first is P1, the other a P2 as high
    assert both_sides([0.0, 1.0, 0.0, 0.0, 1.0, 0.0]) == [True, True]


def test_peak_mask():
    got = peak_mask(np.array([[1.0, 0.0, 2.0, 2.0, 1.0, 1.0, 3.0], [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]]))
    assert got.tolist() == [[True, False, True, False, False, False, True], [False] * 7]


def test_rows_that_are_no_pdf_are_not_flagged():
    grid = np.arange(5, dtype=float)
    rows = np.array([[np.nan] * 5, [0.0] * 5, [0.0, 1.0, np.inf, 0.0, 1.0]])
    assert two_peaked(rows, grid).tolist() == [False, False, False]
    assert two_peaked(np.zeros((0, 5)), grid).shape == (0,)


def test_rows_are_judged_independently():
    # many stars in one call: the same answers as one at a time (vectorised over rows, no star leaks into another)
    rng = np.random.default_rng(3)
    grid = np.linspace(6.0, 10.0, 201)
    centres = rng.uniform(6.2, 9.8, size=(300, 2))
    weights = rng.uniform(0.0, 1.0, size=(300, 1))
    pdf = (weights * np.exp(-0.5 * ((grid - centres[:, :1]) / 0.15) ** 2)
           + (1 - weights) * np.exp(-0.5 * ((grid - centres[:, 1:]) / 0.15) ** 2))
    together = two_peaked(pdf, grid)
    alone = np.array([two_peaked(p[None, :], grid)[0] for p in pdf])
    assert (together == alone).all()
    assert 0 < together.sum() < len(pdf)


def _one_star(p: np.ndarray, grid: np.ndarray) -> bool:
    """The rule's text, one star and one peak at a time (strict peaks: random rows have no ties)."""
    from gyroage.core.grid_cdf import cdf

    n, c = len(p), cdf(p[None, :], grid)[0]
    top = int(np.argmax(p))
    for j in range(n):
        is_peak = (j == 0 or p[j] > p[j - 1]) and (j == n - 1 or p[j] > p[j + 1])
        if j == top or not is_peak or p[j] < 0.25 * p[top] or abs(j - top) < 2:
            continue
        between = range(top + 1, j) if j > top else range(top - 1, j, -1)  # walking from P1
        v = min(between, key=lambda k: (p[k], abs(k - top)))  # the lowest point, the first met from P1
        if p[v] <= 0.5 * p[j] and (1.0 - c[v] if j > top else c[v]) >= 0.10:
            return True
    return False


def test_matches_the_rule_one_star_at_a_time():
    # rough posteriors with several peaks each, against a plain loop over stars and peaks
    rng = np.random.default_rng(35)
    grid = np.linspace(6.0, 10.0, 61)
    pdf = np.exp(np.cumsum(rng.normal(0.0, 0.6, size=(400, 61)), axis=1))
    got = two_peaked(pdf, grid)
    assert got.tolist() == [_one_star(p, grid) for p in pdf]
    assert 0 < got.sum() < len(pdf)
