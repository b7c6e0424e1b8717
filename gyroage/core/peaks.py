"""Two-peaked age posteriors: a pre-main-sequence peak against a spun-down one (study 35, PREREGISTRATION.md).

Such a star's median can lie in the valley between its peaks, at an age neither peak supports. The rule is the
pre-registered one, applied to the grid posterior as ``estimate`` gives it (calibrated, density per dex of log age):

* peaks are the grid points higher than both neighbours (an end point: higher than its one neighbour); a run of equal
  values counts as one peak, at its first point, when it is higher than the values either side of the run (a tie
  case the rule's text leaves open; a float posterior almost never has one); P1 is the highest;
* a star is two-peaked if another peak P2 of height >= :data:`HEIGHT_MIN` x P1's is separated from P1 by a valley
  whose lowest density is <= :data:`VALLEY_MAX` x P2's height, and the posterior mass on P2's side of that lowest
  point (the first point of the valley's floor met walking from P1) is >= :data:`MASS_MIN`.

numpy alone, vectorised over stars and grid points (no loop over stars or peaks).
"""

from __future__ import annotations

import numpy as np

from gyroage.core.grid_cdf import cdf

# The pre-registered thresholds (PREREGISTRATION.md, study 35): fixed before the rule met any held-out star.
HEIGHT_MIN = 0.25  # P2's height, as a share of P1's
VALLEY_MAX = 0.5  # the valley's lowest density, as a share of P2's height
MASS_MIN = 0.10  # the posterior mass on P2's side of the valley's lowest point


def peak_mask(post: np.ndarray) -> np.ndarray:
    """Per row and grid point, whether the point is a peak (the first point of a run of equal values higher than
    the values either side of the run; an end: than its one side). A constant row has none."""
    p = np.asarray(post, dtype=np.float64)
    n = p.shape[-1]
    d = np.diff(p, axis=-1)
    col = np.arange(n - 1)
    # for each point i, the first change at or after it (index into d; n - 1: none, the run reaches the end)
    change = np.where(d != 0, col, n - 1)
    nxt = np.minimum.accumulate(change[..., ::-1], axis=-1)[..., ::-1]
    nxt = np.concatenate([nxt, np.full(p.shape[:-1] + (1,), n - 1)], axis=-1)
    fall = np.take_along_axis(np.concatenate([d, np.zeros(p.shape[:-1] + (1,))], axis=-1), nxt, axis=-1) < 0
    rise = np.concatenate([np.ones(p.shape[:-1] + (1,), dtype=bool), d > 0], axis=-1)  # higher than the point before
    at_end = nxt == n - 1  # the run reaches the last point: its right side is the grid's end
    first = np.concatenate([np.ones(p.shape[:-1] + (1,), dtype=bool), np.zeros(p.shape[:-1] + (n - 1,), bool)],
                           axis=-1)
    # a run starting at 0 and reaching the end is the whole row: no neighbour, no peak
    return rise & (fall | at_end) & ~(first & at_end)


def two_peaked(post: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Whether each posterior row (density per dex on ``grid``, log10 yr) is two-peaked by the module's rule;
    False for a row that is not a finite pdf."""
    p = np.atleast_2d(np.asarray(post, dtype=np.float64))
    n_star, n = p.shape
    finite = np.isfinite(p).all(axis=-1) & (p.max(axis=-1, initial=0.0) > 0)
    p = np.where(finite[:, None], p, 1.0)  # a constant row: no peak, so not two-peaked
    if n < 3 or n_star == 0:
        return np.zeros(n_star, dtype=bool)
    peaks = peak_mask(p)
    top = np.argmax(p, axis=-1)  # P1: the highest point is the highest peak (its run's first point)
    h1 = p[np.arange(n_star), top]
    col = np.arange(n)
    right = col[None, :] > top[:, None]
    # the valley between P1 and each point: the running minimum walking away from P1 (P1 and the point included:
    # both are higher than half P2's height, so they never make the valley deep enough themselves)
    run_r = np.minimum.accumulate(np.where(col[None, :] >= top[:, None], p, np.inf), axis=-1)
    run_l = np.minimum.accumulate(np.where(col[None, :] <= top[:, None], p, np.inf)[:, ::-1], axis=-1)[:, ::-1]
    low = np.where(right, run_r, run_l)
    # where that minimum lies: the last point, walking from P1, where the running minimum fell (its floor's first)
    fell_r = np.concatenate([np.ones((n_star, 1), bool), run_r[:, 1:] < run_r[:, :-1]], axis=-1)
    fell_l = np.concatenate([run_l[:, :-1] < run_l[:, 1:], np.ones((n_star, 1), bool)], axis=-1)
    at_r = np.maximum.accumulate(np.where(fell_r, col, 0), axis=-1)
    at_l = np.minimum.accumulate(np.where(fell_l, col, n - 1)[:, ::-1], axis=-1)[:, ::-1]
    c = cdf(p, grid)
    side = np.where(right, 1.0 - np.take_along_axis(c, at_r, axis=-1), np.take_along_axis(c, at_l, axis=-1))
    second = peaks & (col[None, :] != top[:, None]) & (p >= HEIGHT_MIN * h1[:, None]) & (low <= VALLEY_MAX * p) \
        & (side >= MASS_MIN)
    return second.any(axis=-1) & finite
