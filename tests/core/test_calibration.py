"""The calibration's kernel and level scale (gyroage.core.calibration): shapes a reader can trust."""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr, ndtri

from gyroage.core.calibration import Calibration, trapezoid_weights
from gyroage.core.posterior import cdf, cdf_quantiles, quantiles

GRID = np.linspace(6.0, 10.0, 201)
SHIPPED_WIDTHS = Calibration((7.0, 8.0, 9.0, 9.6), (0.0, 0.44, 0.28, 0.28))


def normalised(pdf: np.ndarray) -> np.ndarray:
    pdf = np.atleast_2d(pdf)
    return pdf / np.trapezoid(pdf, GRID, axis=1)[:, None]


def test_a_flat_posterior_stays_flat_where_the_width_changes():
    """A row-normalised kernel piled mass up where the width is small (a spike at 10 Myr): the kernel is balanced."""
    flat = normalised(np.ones(len(GRID)))
    out = SHIPPED_WIDTHS.apply(flat, GRID)
    np.testing.assert_allclose(out, flat, rtol=1e-9)


def test_the_kernel_keeps_every_ages_mass():
    k = SHIPPED_WIDTHS.kernel(GRID)
    w = trapezoid_weights(GRID)
    np.testing.assert_allclose(k @ w, 1.0, atol=1e-12)
    np.testing.assert_allclose(k, k.T)


def test_a_smooth_posterior_stays_smooth_through_the_zero_width_knot():
    """No kink or spike appears at 10 Myr (width 0) in a smooth posterior that straddles it."""
    pdf = normalised(np.exp(-0.5 * ((GRID - 7.1) / 0.5) ** 2))
    out = SHIPPED_WIDTHS.apply(pdf, GRID)[0]
    curvature = np.abs(np.diff(out, 2))
    assert curvature.max() < 5 * np.abs(np.diff(pdf[0], 2)).max()


def test_the_level_scale_narrows_on_normal_scores_without_walls():
    """Central intervals map as 2 Phi(s Phi^-1((1+q)/2)) - 1; the density never drops to zero inside the grid."""
    s = 0.5
    cal = Calibration((), (), level_knots=(7.0, 7.5), level_scale=s)
    pdf = normalised(np.exp(-0.5 * ((GRID - 6.8) / 0.5) ** 2))
    out = cal.apply(pdf, GRID)
    assert (out[0, 1:-1] > 0).all()
    for q in (0.68, 0.95):
        old_level = 2 * ndtr(s * ndtri((1 + q) / 2)) - 1
        want = quantiles(pdf, GRID, [(1 - old_level) / 2, (1 + old_level) / 2])
        got = quantiles(out, GRID, [(1 - q) / 2, (1 + q) / 2])
        np.testing.assert_allclose(got, want, atol=0.01)
    np.testing.assert_allclose(cdf_quantiles(cdf(out, GRID), GRID, [0.5]), cdf_quantiles(cdf(pdf, GRID), GRID, [0.5]),
                               atol=0.005)


def test_samples_meet_the_same_calibration_as_the_grid():
    """MCMC's sample_quantiles agrees with apply() on the grid for the same posterior."""
    cal = Calibration((7.0, 8.0, 9.0, 9.6), (0.0, 0.44, 0.28, 0.28), level_knots=(7.0, 7.5), level_scale=0.5)
    rng = np.random.default_rng(1)
    for centre in (6.9, 8.3, 9.4):
        pdf = normalised(np.exp(-0.5 * ((GRID - centre) / 0.2) ** 2))
        samples = np.clip(rng.normal(centre, 0.2, 40_000), GRID[0], GRID[-1])
        got, _ = cal.sample_quantiles(samples, [0.16, 0.5, 0.84], (GRID[0], GRID[-1]), rng)
        want = quantiles(cal.apply(pdf, GRID), GRID, [0.16, 0.5, 0.84])[0]
        np.testing.assert_allclose(got, want, atol=0.03)
