"""CDFs and quantiles of densities tabulated on an age grid: numpy alone.

Below both the posterior (:mod:`gyroage.core.posterior`, which loads the model) and the calibration
(:mod:`gyroage.core.calibration`, which the model-card loader builds), so the loader imports no module that imports it.
"""

from __future__ import annotations

import numpy as np

QUANTILES = (0.025, 0.16, 0.5, 0.84, 0.975)

# numpy >= 2.0 names the trapezoid rule np.trapezoid (np.trapz deprecated, later removed); numpy 1.24-1.26, which
# pyproject allows, has only np.trapz. Same code, same sums: every module and test integrates with this one name.
trapezoid = np.trapezoid if hasattr(np, "trapezoid") else np.trapz


def cdf(pdf: np.ndarray, grid: np.ndarray, normalised: bool = True) -> np.ndarray:
    """Each pdf row's CDF on ``grid`` (trapezoid rule), normalised to end at 1 (``normalised`` False: the running
    integral itself)."""
    dx = np.diff(grid)
    pdf = np.asarray(pdf)
    # The trapezoid sums in one float64 array: a catalogue's posteriors pass here twice, and temporaries cost more
    # than the sums. The pairs add in pdf's type, as 0.5 * (a + b) * dx would; the halving is exact in either type.
    c = np.empty(pdf.shape)
    c[..., 0] = 0.0
    steps = c[..., 1:]
    np.add(pdf[..., 1:], pdf[..., :-1], out=steps)
    steps *= 0.5
    steps *= dx
    np.cumsum(steps, axis=-1, out=steps)
    if normalised:
        c /= c[..., -1:]
    return c


def cdf_quantiles(c: np.ndarray, grid: np.ndarray, qs=QUANTILES) -> np.ndarray:
    """:func:`gyroage.core.posterior.quantiles` from rows of the CDF (:func:`cdf`) already computed."""
    lead, n = c.shape[:-1], c.shape[-1]
    q = np.asarray(qs, dtype=float)
    q2 = np.broadcast_to(q, lead + q.shape[-1:]).reshape(-1, q.shape[-1])
    c2 = c.reshape(-1, n)
    bad = ~np.isfinite(c2).all(axis=1)
    c2 = np.where(bad[:, None], np.linspace(0.0, 1.0, n), c2)
    # One searchsorted over all rows: each row's CDF lies in [0, 1], so offsetting
    # row r by 2r keeps the concatenation sorted.
    r = np.arange(len(c2))[:, None]
    j = np.searchsorted((c2 + 2.0 * r).ravel(), (q2 + 2.0 * r).ravel()).reshape(q2.shape) - r * n
    j = np.clip(j - 1, 0, n - 2)
    c0 = np.take_along_axis(c2, j, axis=-1)
    c1 = np.take_along_axis(c2, j + 1, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.clip(np.where(c1 > c0, (q2 - c0) / (c1 - c0), 0.0), 0.0, 1.0)
    out = grid[j] + t * (grid[j + 1] - grid[j])
    zero = q2 == 0
    if zero.any():
        # the first CDF value >= 0 is the grid's lower edge even where the pdf is 0 up to some age (a bounded
        # prior): q = 0 is the lower end of the support, the last point where the CDF is still 0, as q = 1 is the
        # first where it reaches 1 (the CDF starts at 0 and never falls)
        last_zero = np.count_nonzero(c2 <= 0.0, axis=1) - 1
        out = np.where(zero, grid[np.maximum(last_zero, 0)][:, None], out)
    out[bad] = np.nan
    return out.reshape(lead + q.shape[-1:])
