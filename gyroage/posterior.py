"""Grid posteriors over log10 age: likelihood x prior, summaries, vectorised over stars.

Everything here works on (stars x grid) arrays; no per-star Python loop.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gyroage.density import FlowDensity
from gyroage.priors import Prior

QUANTILES = (0.025, 0.16, 0.5, 0.84, 0.975)
SUMMARY_COLUMNS = ("age_p2.5_myr", "age_p16_myr", "age_p50_myr", "age_p84_myr", "age_p97.5_myr", "age_map_myr")


def age_grid(log10_min: float, log10_max: float, n: int) -> np.ndarray:
    return np.linspace(log10_min, log10_max, int(n))


def grid_log_likelihood(density: FlowDensity, log10_prot: np.ndarray, bp_rp0: np.ndarray,
                        bp_rp0_err: np.ndarray, grid: np.ndarray,
                        outlier_weight: float | None = None) -> np.ndarray:
    """log L[star, grid point] = log p(log10 Prot | age, colour, colour error)."""
    return density.log_prob_grid(log10_prot, bp_rp0, bp_rp0_err, grid, outlier_weight=outlier_weight)


def normalise(log_post: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """pdf per dex on the grid from unnormalised log posterior rows (trapezoid rule)."""
    lp = np.asarray(log_post, dtype=np.float64)
    peak = np.max(lp, axis=-1, keepdims=True)
    peak = np.where(np.isfinite(peak), peak, 0.0)
    p = np.exp(lp - peak)
    norm = np.trapezoid(p, grid, axis=-1)[..., None]
    with np.errstate(invalid="ignore", divide="ignore"):
        return p / norm


def cdf(pdf: np.ndarray, grid: np.ndarray) -> np.ndarray:
    dx = np.diff(grid)
    c = np.concatenate([np.zeros(pdf.shape[:-1] + (1,)), np.cumsum(0.5 * (pdf[..., 1:] + pdf[..., :-1]) * dx, axis=-1)], axis=-1)
    return c / c[..., -1:]


def quantiles(pdf: np.ndarray, grid: np.ndarray, qs=QUANTILES) -> np.ndarray:
    """log10 age quantiles per row (stars x len(qs)), linear in the CDF between grid points."""
    c = cdf(pdf, grid)
    q = np.asarray(qs)
    j = np.clip((c[..., :, None] < q).sum(axis=-2) - 1, 0, len(grid) - 2)
    c0 = np.take_along_axis(c, j, axis=-1)
    c1 = np.take_along_axis(c, j + 1, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.clip(np.where(c1 > c0, (q - c0) / (c1 - c0), 0.0), 0.0, 1.0)
    return grid[j] + t * (grid[j + 1] - grid[j])


def map_estimate(pdf: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Grid MAP refined by a parabola through the peak and its neighbours."""
    k = np.clip(np.argmax(pdf, axis=-1), 1, len(grid) - 2)
    rows = np.arange(pdf.shape[0])
    y0, y1, y2 = pdf[rows, k - 1], pdf[rows, k], pdf[rows, k + 1]
    denom = y0 - 2 * y1 + y2
    with np.errstate(invalid="ignore", divide="ignore"):
        shift = np.where(denom < 0, 0.5 * (y0 - y2) / denom, 0.0)
    edge = np.argmax(pdf, axis=-1)
    x = grid[k] + np.clip(shift, -1, 1) * (grid[1] - grid[0])
    return np.where((edge == 0) | (edge == len(grid) - 1), grid[edge], x)


@dataclass
class GridPosterior:
    """Posteriors of many stars on one log10-age grid."""

    grid: np.ndarray
    pdf: np.ndarray

    def summaries(self) -> dict[str, np.ndarray]:
        """Percentiles and MAP in Myr, keyed by output column name."""
        q = quantiles(self.pdf, self.grid)
        out = {name: 10 ** (q[:, i] - 6) for i, name in enumerate(SUMMARY_COLUMNS[:-1])}
        out[SUMMARY_COLUMNS[-1]] = 10 ** (map_estimate(self.pdf, self.grid) - 6)
        return out


def grid_posterior(density: FlowDensity, log10_prot, bp_rp0, bp_rp0_err, prior: Prior, n_grid: int,
                   outlier_weight: float | None = None) -> GridPosterior:
    grid = age_grid(prior.log10_age_min, prior.log10_age_max, n_grid)
    ll = grid_log_likelihood(density, log10_prot, bp_rp0, bp_rp0_err, grid, outlier_weight)
    return GridPosterior(grid, normalise(ll + prior.log_prob(grid)[None, :], grid))
