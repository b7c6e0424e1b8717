"""Summaries of one star's MCMC age samples: percentiles (prior-weighted where the chain sampled the likelihood
alone), the most probable age from a smoothed density, and the posterior mass outside the trained ages.

Split from :mod:`gyroage.core.sampler`, which runs the chains.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from gyroage.core.autocorr import integrated_time
from gyroage.core.calibration import CDF_CLIP, SAMPLE_GRID, Calibration, cdf_median, trapezoid_weights
from gyroage.core.grid_cdf import cdf, cdf_quantiles
from gyroage.core.normal import normal_score
from gyroage.core.posterior import QUANTILES, age_grid, cdf_value, map_estimate, normalise, outer_ages

# Points over the prior's bounds on which the prior multiplies a chain's calibrated likelihood (_density_summary):
# 0.001 dex over the model's 4 dex, five points per sigma of a 0.005 dex isochrone prior.
PRIOR_GRID = 4001
# Fewer chain samples than this between the bounds of a prior that is not flat (of the ~6,000 after burn-in), and the
# star takes the grid method's posterior (:func:`few_inside`): two per bin of the SAMPLE_GRID-point histogram
# _density_summary builds there, which only the calibration smooths, and not at all below ~10 Myr (its width is 0):
# 0-2 samples in the likelihood's far tail under --age-max-myr 10 made a spike that moved with the seed (V26).
MIN_INSIDE = 2 * SAMPLE_GRID
# Fewer effective samples than this behind the posterior's 16th, 50th or 84th percentile (:func:`effective_samples`)
# and the star takes the grid's too. At MIN_INSIDE (402), chains kept with 400-1,000 under a table at 1e-9 past
# 10 Myr were up to 0.12 dex off a 2,001-point exact grid (V32; 7-12 of the 200 example stars, periods known to 0.1%,
# beyond 0.05 dex by seed). At 1,000, over 12 priors x seeds 1-3 of those stars, stars more than 0.05 dex off fell
# from 57 to 26 (those left: chains of ~4,000 at --age-max-myr 100, and the table's default grid itself, 0.06 off)
# and more than 0.03 from 198 to 134, for 388 more of 7,200 taking the grid; 1 Gyr +- 0.01/0.02/0.05 dex keep the
# chain for 200/197-199/189-190 stars (the default grid within 0.004 dex there). 1,500 sent 262 more for 34 fewer.
# The count now takes in the level scale and the chain's autocorrelation (V36a; it meets a bootstrap's): under
# --prior uniform_age kept chains were up to 0.079 dex off (8 of 80 beyond 0.03), now 0.031 (1), the table's 0.167
# (12) now 0.040 (3) (80 example stars, seed 1, periods to 0.1%); 16 Myr-1 Gyr +- 0.005-0.05 dex keep the same stars.
MIN_EFFECTIVE = 1000
# A bin of that histogram whose calibrated count (the chain's likelihood samples in it, each spread by the
# calibration's kernel) is below MIN_VISITS the chain never visited; more than MAX_UNVISITED of the grid posterior's
# mass in such bins, and the star takes the grid's (unvisited_mass): mass the chain never reached is no sample's to
# count. A 40 d star at 0.7 mag under a Gaussian prior at 3 Myr +- 0.15 dex, seeds 7 and 12: no sample below 10 Myr,
# the ~40 at 10-100 Myr made the posterior from their kernels' tails (p50 5.6-5.8 Myr, 680-3,100 effective samples)
# where the grid's likelihood, its own mass at 1-5 Myr, gives 2.8: 1e-5-1e-4 samples per bin under the grid's
# posterior. A narrow prior off the likelihood's peak (0.01-0.02 dex at 1 Gyr on a 33 d star at 1.15 mag) lies in
# kernel tails too, at 0.2-0.6 samples per bin (0.2-4 over such example stars), and the chain resolves it (within
# 0.001 dex of a 2,001-point grid); a period error only widens the chain: 45-165 per bin (FW2, measured when the grid
# ignored prot_err; it averages over it now). 2 samples per bin sent 375 of 3,600 chains within 0.03 dex of that grid
# to the grid's.
MIN_VISITS = 0.05
MAX_UNVISITED = 0.02


def summarise_chain(chain_x: np.ndarray, burn: int, n_keep: int, rng: np.random.Generator,
               calibration: Calibration | None = None, bounds: tuple[float, float] = (6.0, 10.0),
               colour: float | None = None, log_prior: Callable[[np.ndarray], np.ndarray] | None = None,
               trained: tuple[float, float] | None = None, kernel_bounds: tuple[float, float] | None = None,
               binned: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None):
    """Quantiles/MAP (log10 yr) of one star's age chain (steps, walkers) after ``burn`` steps, the samples kept and
    the posterior mass outside ``trained`` (lowest, highest
    trained log10 age; None: NaN); ``colour``, the star's (BP-RP)0, picks its calibration widths; ``log_prior``: its
    prior, when the chain sampled the likelihood alone (a calibrated run under a prior that is not flat:
    :func:`gyroage.core.sampler._run_blocks`), which then multiplies the likelihood's calibrated density
    (:func:`_density_summary`); ``kernel_bounds``: the ages the calibration works over (None: ``bounds``, the
    prior's, which clip the MAP): the model's whole grid when the chain sampled its likelihood under bounds inside it;
    ``binned``: the samples' histogram :func:`chain_checks` made (``ChainChecks.binned``; None: made here)."""
    x = chain_x[burn:].reshape(-1)
    if log_prior is not None:  # the chain sampled the likelihood alone: its density, as the grid method's
        return _density_summary(x, n_keep, rng, calibration, bounds, colour, log_prior, trained,
                                bounds if kernel_bounds is None else kernel_bounds, binned)
    if calibration is not None:  # the grid method's calibration, applied to the samples
        x = calibration.calibrated_samples(x, bounds if kernel_bounds is None else kernel_bounds, rng, colour)
    q = np.quantile(x, QUANTILES)
    # from every sample, as the percentiles: the n_keep kept for --posteriors left the flag to Monte Carlo chance
    outside = np.nan if trained is None else mass_outside(x, *trained)
    # a stuck walker piles up samples no other walker visits: a peak must be visited by more than one walker to be
    # the MAP (an ensemble has 6 walkers or more: fewer columns are samples handed in, not walkers). Sample k of x is
    # walker k % walkers' (the chain's rows are steps; the calibration tiles and moves samples in place)
    walkers = chain_x.shape[1] if chain_x.ndim == 2 and chain_x.shape[1] >= 6 else 1
    mode = sample_mode(x, q[1], q[3], bounds, walkers)
    keep = x if x.size <= n_keep else rng.choice(x, n_keep, replace=False)
    return q, mode, keep, outside


def few_inside(chain_x: np.ndarray, burn: int, bounds: tuple[float, float],
               log_prior: Callable[[np.ndarray], np.ndarray], calibration: Calibration | None = None,
               colour: float | None = None, kernel_bounds: tuple[float, float] | None = None) -> bool:
    """Whether a chain's samples after ``burn`` steps are too few for :func:`_density_summary`: fewer than
    :data:`MIN_INSIDE` lie where the prior is above zero (within ``bounds`` and, for a table 0 beyond some age, there),
    or fewer than :data:`MIN_EFFECTIVE` effective samples (:func:`effective_samples`) carry the posterior's mass."""
    return chain_checks(chain_x, burn, bounds, log_prior, calibration, colour, kernel_bounds)[0]


def chain_visits(chain_x: np.ndarray, burn: int, bounds: tuple[float, float], calibration: Calibration | None,
                 colour: float | None, kernel_bounds: tuple[float, float] | None = None) -> np.ndarray:
    """The chain's likelihood samples (after ``burn`` steps) per bin of :func:`_density_summary`'s histogram at its
    SAMPLE_GRID ages between ``bounds``, each spread by ``calibration``'s kernel as that density spreads it (a
    fraction of a sample where only kernels' tails reach), for :func:`unvisited_mass`."""
    kernel = bounds if kernel_bounds is None else kernel_bounds
    return _visits(_smoothed_histogram(chain_x[burn:].reshape(-1), bounds, calibration, colour, kernel), bounds)


class ChainChecks(NamedTuple):
    """:func:`chain_checks`' answer for one chain."""

    few: bool  # :func:`few_inside`: the star takes the grid's posterior
    visits: np.ndarray  # :func:`chain_visits`
    n_eff: float  # the effective samples behind the posterior's percentiles (:func:`effective_samples`)
    binned: tuple[np.ndarray, np.ndarray, np.ndarray]  # :func:`_binned`'s (ages, counts, widths), for summarise_chain


def chain_checks(chain_x: np.ndarray, burn: int, bounds: tuple[float, float],
                 log_prior: Callable[[np.ndarray], np.ndarray], calibration: Calibration | None = None,
                 colour: float | None = None, kernel_bounds: tuple[float, float] | None = None) -> ChainChecks:
    """:class:`ChainChecks` of a chain that sampled the likelihood under a prior that is not flat, from one
    histogram and one calibration kernel (the kernel, a blend of matrices over the model's grid, is the costly
    part)."""
    x = chain_x[burn:].reshape(-1)
    hist = _smoothed_histogram(x, bounds, calibration, colour, bounds if kernel_bounds is None else kernel_bounds)
    inside = x[(x >= bounds[0]) & (x <= bounds[1])]
    with np.errstate(divide="ignore"):
        few = inside.size < MIN_INSIDE or int(np.count_nonzero(np.isfinite(log_prior(inside)))) < MIN_INSIDE
    n_eff = _effective(hist, bounds, log_prior, chain_x[burn:], calibration, x.size)
    return ChainChecks(few or n_eff < MIN_EFFECTIVE, _visits(hist, bounds), n_eff, hist[:3])


def _smoothed_histogram(x: np.ndarray, bounds: tuple[float, float], calibration: Calibration | None,
                        colour: float | None, kernel_bounds: tuple[float, float]):
    """:func:`_binned`'s (ages, counts, widths), the calibration's kernel on those ages (None: no smoothing) and
    :func:`_binned`'s bin of each sample."""
    full, counts, widths, k = _binned(x, bounds, kernel_bounds)
    smooth = None if calibration is None or not calibration.smears else calibration.kernel(full, colour)
    return full, counts, widths, smooth, k


def _visits(hist, bounds: tuple[float, float]) -> np.ndarray:
    """:func:`chain_visits` from a :func:`_smoothed_histogram`."""
    full, counts, widths, smooth, _ = hist
    per_bin = counts if smooth is None else counts @ smooth * widths
    first = int(np.searchsorted(full, bounds[0]))  # the ages below the bounds (the model's, when inside it) first
    return per_bin[first : first + SAMPLE_GRID]


def unvisited_mass(visits: np.ndarray, pdf: np.ndarray | None, grid: np.ndarray) -> np.ndarray:
    """Per star, the share of the grid posterior (``pdf`` rows on ``grid``, the prior's bounds) in bins where the
    chain's ``visits`` (:func:`chain_visits` rows; none: a flat prior's chain, 0) are below :data:`MIN_VISITS`."""
    if visits.shape[-1] == 0 or pdf is None:
        return np.zeros(len(visits))
    k = np.rint((grid - grid[0]) / (grid[-1] - grid[0]) * (visits.shape[1] - 1)).astype(int)  # each age's bin
    mass = pdf * trapezoid_weights(grid)
    with np.errstate(invalid="ignore", divide="ignore"):  # a posterior without mass (no age): 0, not NaN
        return np.nan_to_num((mass * (visits[:, k] < MIN_VISITS)).sum(axis=1) / mass.sum(axis=1))


def effective_samples(x: np.ndarray, bounds: tuple[float, float], log_prior: Callable[[np.ndarray], np.ndarray],
                      calibration: Calibration | None, colour: float | None,
                      kernel_bounds: tuple[float, float]) -> float:
    """The effective number of likelihood samples ``x`` behind :func:`_density_summary`'s 16th, 50th and 84th
    percentiles, the fewest of the three: F (1 - F) over the variance of the posterior's CDF F there when each
    histogram bin's count varies as a Poisson count (the delta method; the level scale, a monotone map, left out).
    Without smoothing and under a prior flat within bounds that is the samples inside; under a prior's weights,
    Kish's (sum w)^2 / sum w^2 at the median. Through ``calibration``'s level scale (:func:`_level_scaled`); ``x``
    (steps, walkers): divided by the autocorrelation time of each percentile's terms (:func:`_term_tau`).

    A prior low but never zero (a Gaussian at 3 Myr +- 0.15 dex on a 40 d star at 0.7 mag, whose likelihood lies at
    Gyr) left thousands of samples where it is above zero and the posterior's mass on a handful below ~10 Myr, where
    the calibration's width is 0: a spike that moved with the seed (V29; 2-190 effective samples, seeds 0-4). A narrow prior
    (0.02 dex at 1 Gyr) lies within the kernel's width of every sample that reaches it: a count moves the density's
    level there, not its shape, so the CDF barely moves and the chain, which resolves the prior where the grid's
    201 points do not, keeps it (to 0.002 dex of a 2,001-point grid with 20 samples within reach, seeds 1-2), where
    Kish's count of each sample's weight (the prior through its kernel) sent it to the grid.
    """
    return _effective(_smoothed_histogram(x.reshape(-1), bounds, calibration, colour, kernel_bounds), bounds,
                      log_prior, x if x.ndim == 2 else None, calibration, x.size)


def _effective(hist, bounds: tuple[float, float], log_prior: Callable[[np.ndarray], np.ndarray],
               chain: np.ndarray | None = None, calibration: Calibration | None = None,
               n_samples: float = np.inf) -> float:
    """:func:`effective_samples` from a :func:`_smoothed_histogram`; ``chain`` (steps, walkers), the samples it
    binned: each percentile's count divided by the integrated autocorrelation time of the samples' terms in its CDF
    (None: independent samples); ``calibration``: its level scale, which the density's CDF passes through;
    ``n_samples``: the samples given, the most the count can be."""
    full, counts, widths, smooth, k = hist
    like = counts / widths if smooth is None else counts @ smooth  # smooth[i, j]: the density at j of a mass at i
    like, back = _level_scaled(like, full, calibration)
    fine = age_grid(bounds[0], bounds[1], PRIOR_GRID)
    lp = np.asarray(log_prior(fine), dtype=float)
    if not np.isfinite(lp).any():
        return 0.0
    prior = np.exp(lp - lp[np.isfinite(lp)].max()) * trapezoid_weights(fine)
    mass = np.interp(fine, full, like) * prior
    if not mass.sum() > 0:
        return 0.0
    levels = np.array([0.16, 0.5, 0.84])
    below = np.cumsum(mass)[:, None] <= levels * mass.sum()  # the fine ages below each percentile
    # the prior's mass at each histogram age (all of it, and below each percentile), through the interpolation that
    # reads the density between them: a sample's share of the posterior is its kernel row (or bin) times that
    j = np.clip(np.searchsorted(full, fine, side="right") - 1, 0, full.size - 2)
    t = (fine - full[j]) / (full[j + 1] - full[j])
    w = np.column_stack([prior, prior[:, None] * below])
    r = np.zeros((full.size, w.shape[1]))
    np.add.at(r, j, w * (1.0 - t)[:, None])
    np.add.at(r, j + 1, w * t[:, None])
    total = like @ r
    cdf_at = total[1:] / total[0]
    term = back((r[:, 1:] - cdf_at * r[:, :1]) / total[0])  # the CDF's derivative by each age's density
    term = term / widths[:, None] if smooth is None else smooth @ term  # ... by each bin's count: a sample's term
    var = counts @ term**2  # (their mean over samples is 0: the CDF does not change when every count doubles)
    with np.errstate(divide="ignore", invalid="ignore"):
        n_eff = np.where(var > 0, cdf_at * (1.0 - cdf_at) / var, np.inf)
    if chain is not None:  # successive samples of a walker are not independent: the error grows as that series' tau
        tau = _term_tau(k.reshape(chain.shape), term)
        # a stuck chain's variance is floating-point residue, not 0 (V38: ~1e34), and its tau the chain's length: capped
        # at the samples given before that division, it counts its walkers (capped after, it counted every sample and
        # passed MIN_EFFECTIVE: V39b). Only there: through a level scale a moving chain's count can exceed its samples
        n_eff = np.where(tau >= chain.shape[0], np.minimum(n_eff, n_samples), n_eff) / tau
    return float(min(np.min(n_eff), n_samples))


def _level_scaled(like: np.ndarray, full: np.ndarray, calibration: Calibration | None):
    """The density ``like`` on ages ``full`` through ``calibration``'s level scale, unnormalised, as
    :meth:`Calibration.apply` scales it (its pdf times exp(-z^2 (1/s^2 - 1) / 2), z the normal score of its CDF, s the
    scale at its median), and the map taking a function's derivatives by the scaled density (columns) to those by
    ``like``. A scale s < 1 raises a tail's density error (1/s^2 - 1) z-fold, for every age beyond at once: left out,
    the count under --prior uniform_age (percentiles in the likelihood's upper tail) was ~10 times the samples a
    bootstrap or the seeds' scatter gave (V36a); in a likelihood's core it can err the other way."""
    if calibration is None or calibration.level_scale == 1.0:
        return like, lambda g: g
    dx = np.diff(full)
    cum = cdf(like[None], full, normalised=False)[0]
    total = cum[-1]
    if not total > 0:  # no density: _effective finds no mass and counts 0
        return like, lambda g: g
    c = cum / total
    m = float(cdf_median(c[None], full)[0])
    s = float(calibration.scale_of(np.array([m]))[0])
    if s == 1.0:
        return like, lambda g: g
    k = 1.0 / s**2 - 1.0
    cc = np.clip(c, CDF_CLIP, 1.0 - CDF_CLIP)
    z = normal_score(cc)
    e = np.exp(-0.5 * k * z**2)
    scaled = like * e
    lo, hi = calibration.level_knots
    slope = (1.0 - calibration.level_scale) / (hi - lo) if lo < m < hi else 0.0  # ds/dm, s's ramp between the knots
    # dz/dc = 1 / phi(z) (0 where clipped); dk/dm = -2 s'/s^3; dm/dc(m) = -1 / pdf(m)
    dzdc = np.where(cc == c, np.sqrt(2.0 * np.pi) * np.exp(0.5 * z**2), 0.0)
    i = int(np.clip(np.searchsorted(full, m) - 1, 0, full.size - 2))
    t = (m - full[i]) / dx[i]
    pdf_m = ((1.0 - t) * like[i] + t * like[i + 1]) / total
    weights = trapezoid_weights(full)[:, None]

    def back(g: np.ndarray) -> np.ndarray:
        out = g * e[:, None]
        u = g * (-k * scaled * z * dzdc)[:, None]  # by c at each age, through z
        if slope:  # by c at the median, through s
            by_k = (-0.5 * z**2 * scaled) @ g
            u[i] += by_k * (2.0 * slope / s**3 / pdf_m) * (1.0 - t)
            u[i + 1] += by_k * (2.0 * slope / s**3 / pdf_m) * t
        # c_j = cum_j / total, cum_j = sum_{l < j} (like_l + like_{l+1}) dx_l / 2
        above = np.cumsum(u[::-1], axis=0)[::-1]  # sum over j >= l
        after = above[1:]  # sum over j > l, for l < n - 1
        by_cum = np.zeros_like(u)
        by_cum[:-1] += 0.5 * dx[:, None] * after
        by_cum[1:] += 0.5 * dx[:, None] * after
        return out + (by_cum - (c @ u) * weights) / total

    return scaled, back


def _term_tau(k: np.ndarray, term: np.ndarray) -> np.ndarray:
    """The integrated autocorrelation time (emcee's, averaged over walkers; at least 1) of each column of ``term``
    (a value per bin of :func:`_binned`'s ages) read along a chain's (steps, walkers) samples, ``k`` their bins
    (:func:`_binned`'s; 0 outside the bins). Under --prior uniform_age the percentiles lie in the likelihood's upper
    tail, which walkers visit in runs: each sample counted as independent, kept chains scattered 2.5-4x more by seed
    than that count said (V36a)."""
    n = term.shape[0]
    ok = (k >= 0) & (k < n)
    series = np.where(ok[..., None], term[np.clip(k, 0, n - 1)], 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        tau = integrated_time(series[:, None])[0]
        moving = np.ptp(series, axis=0) > 0  # (walkers, terms)
        for j in np.flatnonzero(~moving.all(axis=0)):  # <= 3 columns
            # a walker whose term never changes has no autocorrelation (0/0), which made the walkers' mean NaN and
            # the whole chain count as independent (V38: 3,699 -> 43,598): its walkers that move give the tau
            s = series[:, moving[:, j], j]
            tau[j] = integrated_time(s[:, None, :, None])[0, 0] if s.shape[1] else series.shape[0]
    return np.where(np.isfinite(tau), np.maximum(tau, 1.0), series.shape[0])


def _binned(x: np.ndarray, bounds: tuple[float, float],
            kernel_bounds: tuple[float, float]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The histogram :func:`_density_summary` reads samples ``x`` on: (its ages, SAMPLE_GRID between ``bounds`` and
    beyond them to ``kernel_bounds`` as the grid method's, the samples' counts in a bin about each, the bins' widths,
    each sample's bin: -1 or the ages' count outside them), the bins found once for the counts and :func:`_term_tau`."""
    inner = age_grid(bounds[0], bounds[1], SAMPLE_GRID)
    below, above = outer_ages(inner, {"log10_age_min": kernel_bounds[0], "log10_age_max": kernel_bounds[1]})
    full = np.concatenate([below, inner, above])
    edges = np.concatenate([full[:1], 0.5 * (full[1:] + full[:-1]), full[-1:]])  # a bin about each grid age
    k = np.searchsorted(edges, x, side="right") - 1
    k[x == edges[-1]] = full.size - 1  # as np.histogram's, the last bin holds its right edge
    counts = np.bincount(k[(k >= 0) & (k < full.size)], minlength=full.size)
    return full, counts, np.diff(edges), k


# The stream of a star's generator (star_generator) its summaries draw from (0: the emcee back end's chain)
SUMMARY_STREAM = 1


def star_generator(seed: int, row: int, stream: int) -> np.random.Generator:
    """Star ``row``'s (its absolute input row) numpy Generator ``stream`` under ``seed``, whichever chunk, process or
    engine dates it (:class:`gyroage.core.sampler._StarRandom`, :func:`grid_samples`)."""
    return np.random.default_rng(np.random.SeedSequence([int(seed), int(row), int(stream)]))


def _inverse_cdf(rng: np.random.Generator, n: int, cdf_row: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """``n`` samples of the density whose CDF on ``grid`` is ``cdf_row``."""
    return np.interp(rng.uniform(size=n), cdf_row, grid)


def grid_samples(pdf: np.ndarray, grid: np.ndarray, n_keep: int, seed: int, rows: np.ndarray) -> list[np.ndarray]:
    """``n_keep`` samples (log10 yr, float32) per star of grid posteriors ``pdf`` on ``grid`` by inverse CDF, with
    each star's generator for its summaries (:func:`star_generator`, :data:`SUMMARY_STREAM`)."""
    with np.errstate(invalid="ignore", divide="ignore"):  # a pdf of zeros: NaN, no samples (below)
        c = cdf(pdf, grid)
    return [_inverse_cdf(star_generator(seed, r, SUMMARY_STREAM), n_keep, ci, grid).astype(np.float32)
            if np.isfinite(ci).all() else np.zeros(0, np.float32)
            for ci, r in zip(c, rows)]  # a posterior the grid could not normalise: no age, no samples


def _density_summary(x: np.ndarray, n_keep: int, rng: np.random.Generator, calibration: Calibration | None,
                     bounds: tuple[float, float], colour: float | None, log_prior: Callable[[np.ndarray], np.ndarray],
                     trained: tuple[float, float] | None, kernel_bounds: tuple[float, float],
                     binned: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None):
    """:func:`summarise_chain` of likelihood samples ``x`` under a prior that is not flat: their histogram (a density
    over ``kernel_bounds``, the model's grid when the prior's bounds lie inside it) calibrated as the grid method
    calibrates a likelihood (:func:`gyroage.core.posterior.calibrated_within`: same kernel, same level scale), times
    the prior, normalised within ``bounds``; percentiles, MAP and ``n_keep`` samples (inverse CDF) from that density.
    ``calibration`` None (a star the height term informs, in a run with no calibration for such stars): uncalibrated.
    ``binned``: :func:`_binned`'s histogram of ``x`` when :func:`chain_checks` made it already (None: made here).

    Weighting the calibrated samples by the prior instead left none inside bounds that cut away most of the
    likelihood (a 2 d K dwarf at 1.3 mag, 11 Myr unbounded, got invalid_prior under --age-min-myr 3000, which the
    grid dates at 3.3 Gyr), or a few copies of one sample.
    """
    full, counts, widths = _binned(x, bounds, kernel_bounds)[:3] if binned is None else binned
    with np.errstate(divide="ignore"):
        log_like = np.log(counts / widths)[None, :]
    colours = None if colour is None else np.array([colour])
    apply = (lambda p: p) if calibration is None else (lambda p: calibration.apply(p, full, colours))
    like = apply(normalise(log_like, full))[0]  # as calibrated_within: the likelihood calibrated over all of full
    # times the prior on a finer grid than the histogram's: a narrow prior (an isochrone age) keeps its width, as the
    # weighted samples kept it, where the grid method's --grid points make it a step wide
    fine = age_grid(bounds[0], bounds[1], PRIOR_GRID)
    with np.errstate(divide="ignore"):
        log_post = np.log(np.maximum(np.interp(fine, full, like), 0.0)) + np.asarray(log_prior(fine), dtype=float)
    pdf = normalise(log_post[None, :], fine)
    c = cdf(pdf, fine)
    q = cdf_quantiles(c, fine)[0]
    if not np.isfinite(q).all():  # no calibrated likelihood within the bounds (as the grid method finds): no age
        return np.full(len(QUANTILES), np.nan), np.nan, x[:0], np.nan
    keep = _inverse_cdf(rng, n_keep, c[0], fine)
    outside = np.nan
    if trained is not None:
        lo, hi = trained  # NaN (a colour with no training cluster): no inside, as GridPosterior.mass_outside
        inside = cdf_value(c, fine, -np.inf if np.isnan(hi) else hi) - cdf_value(c, fine, np.inf if np.isnan(lo) else lo)
        outside = float(np.clip(1.0 - inside[0], 0.0, 1.0))
    return q, float(map_estimate(pdf, fine)[0]), keep, outside


# A peak of several is the MAP only if at least MIN_PEAK_WALKERS walkers each spend this share of their samples in
# it: a walker that never moved (or barely: a pile of identical samples, whose smoothed height no posterior reaches)
# is one walker's, while a real peak, however narrow, is visited by every walker in proportion to its mass.
MIN_PEAK_WALKER_SHARE = 0.01
MIN_PEAK_WALKERS = 2


def sample_mode(x: np.ndarray, p16: float, p84: float, bounds: tuple[float, float], walkers: int = 1) -> float:
    """The MAP (log10 yr) of samples ``x``: the highest peak of their Gaussian kernel
    density estimate, refined by a parabola through it and its neighbours, clipped to the prior's ``bounds``.

    The fullest bin of a ~32-60 bin histogram scattered by a median 0.036 dex between seeds on review T's stars and
    sat half a bin inside a bound the posterior piles against. The pilot kernel's width is Silverman's rule,
    0.9 sigma n^-1/5, with sigma half the 16-84% width (``p16``, ``p84``: robust, and already computed) and n the
    samples' count; samples are binned at an eighth of it (no per-sample sort) and
    reflected at a bound within four widths, so a posterior falling from a bound has its MAP on the bound.
    A posterior with several peaks (a young pre-main-sequence age against a spun-down one) is split at the pilot's
    dips and each peak is smoothed again with the width its own samples give: the pilot's width, from the spread of
    them all, flattened a narrow peak below a broad lower one (:func:`_peak_basins`). A peak's width is floored at a
    quarter of the pilot's, and with ``walkers`` (sample k is walker k % walkers') a peak can win only if at least
    :data:`MIN_PEAK_WALKERS` walkers spend :data:`MIN_PEAK_WALKER_SHARE` of their samples in it: a stuck walker's pile
    of identical samples had a width near zero, so a height no real peak reaches, while a share rule (10% of the
    samples) also threw away real narrow peaks (8% of the samples at 0.02 dex lost to a broad peak it tops).
    """
    lo, hi = bounds
    n = max(float(x.size), 1.0)
    h = 0.9 * 0.5 * (p84 - p16) * n ** -0.2
    if not h > 0:  # every sample one value (or nearly): that value
        return float(np.clip(0.5 * (p16 + p84), lo, hi))
    start, stop = max(lo, float(x.min()) - 4 * h), min(hi, float(x.max()) + 4 * h)
    edges, hist, density = _smoothed(x, h, start, stop, bounds)
    basins = _peak_basins(density)
    if len(basins) == 1:  # one peak: the pilot's width is its own
        return _peak_of(edges, density, bounds)
    best, mode = -np.inf, np.nan
    cum = np.concatenate([[0.0], np.cumsum(hist)])
    per_walker = x.size / walkers
    for i, j in basins:  # a few peaks of one star: not a per-star loop
        share = (cum[j] - cum[i]) / cum[-1]
        if walkers > 1:  # visited by too few walkers: a stuck one's pile, not the posterior's
            inside = np.flatnonzero((x >= edges[i]) & (x <= edges[j]))
            visits = np.bincount(inside % walkers, minlength=walkers)
            if np.count_nonzero(visits >= MIN_PEAK_WALKER_SHARE * per_walker) < MIN_PEAK_WALKERS:
                continue
        q16, q84 = np.interp([cum[i] + 0.16 * (cum[j] - cum[i]), cum[i] + 0.84 * (cum[j] - cum[i])], cum, edges)
        h_peak = min(h, max(0.25 * h, 0.9 * 0.5 * (q84 - q16) * max(n * share, 1.0) ** -0.2))
        if not h_peak > 0:
            continue
        a, b = max(lo, edges[i] - 4 * h_peak), min(hi, edges[j] + 4 * h_peak)
        sub_edges, _, sub = _smoothed(x, h_peak, a, b, bounds)
        centres = 0.5 * (sub_edges[:-1] + sub_edges[1:])
        own = (centres >= edges[i]) & (centres <= edges[j])  # the peak's own stretch, not its neighbour's
        if not own.any():
            continue
        height = float(np.max(sub[own])) / h_peak  # per unit age: comparable across widths
        if height > best:
            first = int(np.argmax(own))
            stretch = slice(first, first + int(own.sum()))
            best, mode = height, _peak_of(sub_edges[stretch.start : stretch.stop + 1], sub[stretch], bounds)
    return mode if np.isfinite(mode) else _peak_of(edges, density, bounds)


def _smoothed(x: np.ndarray, h: float, start: float, stop: float,
              bounds: tuple[float, float]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bin edges, the histogram and its Gaussian smoothing (width ``h``, not normalised) of the samples
    between ``start`` and ``stop``, binned at h/8 and reflected at a bound of ``bounds`` the bins reach (the samples
    end there: the density must not leak past it)."""
    lo, hi = bounds
    nb = max(3, int(np.ceil((stop - start) / (h / 8))))
    edges = np.linspace(start, stop, nb + 1)
    dx = edges[1] - edges[0]
    hist = np.histogram(x, bins=nb, range=(start, stop))[0]  # equal bins: numpy's fast path, no search
    m = min(nb, int(np.ceil(4 * h / dx)))
    kernel = np.exp(-0.5 * (np.arange(-m, m + 1) * dx / h) ** 2)
    left = hist[:m][::-1] if start <= lo else np.zeros(m)
    right = hist[-m:][::-1] if stop >= hi else np.zeros(m)
    return edges, hist, np.convolve(np.concatenate([left, hist, right]), kernel, mode="same")[m : m + nb]


def _peak_basins(density: np.ndarray, floor: float = 0.05, dip: float = 0.5) -> list[tuple[int, int]]:
    """Bin ranges (first, end) of ``density``'s peaks, split at the lowest bin between neighbours: local maxima above
    ``floor`` times the highest (a tail's ripples are no peak), merged while the dip between two stays above ``dip``
    times the lower (a ripple on one peak is no second one)."""
    d = np.concatenate([[-np.inf], density, [-np.inf]])
    peaks = list(np.flatnonzero((d[1:-1] > d[:-2]) & (d[1:-1] >= d[2:]) & (density >= floor * density.max())))
    while len(peaks) > 1:
        dips = np.array([density[a : b + 1].min() / min(density[a], density[b]) for a, b in zip(peaks[:-1], peaks[1:])])
        k = int(np.argmax(dips))
        if dips[k] < dip:
            break
        del peaks[k if density[peaks[k]] < density[peaks[k + 1]] else k + 1]
    cuts = [0] + [a + int(np.argmin(density[a : b + 1])) for a, b in zip(peaks[:-1], peaks[1:])] + [density.size]
    return list(zip(cuts[:-1], cuts[1:]))


def _peak_of(edges: np.ndarray, density: np.ndarray, bounds: tuple[float, float]) -> float:
    """The peak of ``density`` on bins ``edges`` refined by a parabola; a bound when the density falls from it."""
    lo, hi = bounds
    k = int(np.argmax(density))
    if k == 0 and edges[0] <= lo:  # the density falls from the bound: the MAP is the bound
        return float(lo)
    if k == density.size - 1 and edges[-1] >= hi:
        return float(hi)
    mode = float(map_estimate(density[None, :], 0.5 * (edges[:-1] + edges[1:]))[0])
    return float(np.clip(mode, lo, hi))


def mass_outside(x: np.ndarray, lo: float, hi: float) -> float:
    """The share of samples ``x`` below ``lo`` or above ``hi`` (NaN bounds: all),
    as :meth:`gyroage.core.posterior.GridPosterior.mass_outside` reads a grid posterior."""
    with np.errstate(invalid="ignore"):
        inside = (x >= lo) & (x <= hi)
    return 1.0 - float(np.mean(inside))
