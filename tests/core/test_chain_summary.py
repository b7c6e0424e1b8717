"""The MCMC MAP (gyroage.core.chain_summary.sample_mode) against sampler artefacts: a walker that never moved."""

from __future__ import annotations

import numpy as np
import pytest

from gyroage.core.chain_summary import summarise_chain


@pytest.mark.parametrize("walkers", [16, 6])
def test_a_stuck_walker_does_not_take_the_map(walkers):
    """A walker stuck at one age (exactly 7.0, where the card's calibration width is 0, so calibration does not
    spread it) made a pile of identical samples, whose own kernel width was near zero: it won the MAP (7.000 where
    the median is 8.445). A peak's width is now floored at a quarter of the pilot's and a peak must be visited by
    more than one walker to be the MAP."""
    rng = np.random.default_rng(3)
    chain = rng.normal(8.5, 0.3, (4000 // walkers * 4, walkers))
    chain[:, 0] = 7.0
    q, mode, *_ = summarise_chain(chain, 0, 10, np.random.default_rng(0))
    assert q[2] == pytest.approx(8.45, abs=0.05)
    assert mode == pytest.approx(8.5, abs=0.1)


@pytest.mark.parametrize("share, jitter", [(0.015, 0.0), (0.03, 0.0), (0.015, 1e-3), (0.03, 1e-3), (0.035, 0.01)])
def test_a_walker_stuck_for_part_of_its_chain_does_not_take_the_map(share, jitter):
    """One walker stuck at 7.2 (identical samples, or within 0.001 dex) for 1.5-3.5% of all the samples took the MAP
    from the N(8.5, 0.3) posterior the other walkers sample."""
    rng = np.random.default_rng(0)
    chain = rng.normal(8.5, 0.3, (4000, 16))
    k = int(share * chain.size)
    chain[:k, 0] = 7.2 + jitter * rng.standard_normal(k)
    mode = summarise_chain(chain, 0, 10, np.random.default_rng(0))[1]
    assert mode == pytest.approx(8.5, abs=0.05)


@pytest.mark.parametrize("share, width", [(0.08, 0.02), (0.12, 0.03)])
def test_a_narrow_real_peak_every_walker_visits_is_the_map(share, width):
    """Review V3: a rule that a peak hold 10% of the samples threw away a real narrow peak (8% of the samples at
    0.02 dex, whose density tops the broad N(9.3, 0.25) holding the rest): the MAP jumped 1.8 dex at the 10% line.
    A peak every walker visits is the posterior's, however few samples it holds."""
    rng = np.random.default_rng(1)
    n = 64_000
    k = int(share * n)
    x = rng.permutation(np.concatenate([rng.normal(9.3, 0.25, n - k), rng.normal(7.5, width, k)]))
    mode = summarise_chain(x.reshape(-1, 16), 0, 10, np.random.default_rng(0))[1]
    assert mode == pytest.approx(7.5, abs=0.02)


def test_few_inside_counts_the_samples_where_the_prior_is_above_zero(monkeypatch):
    from gyroage.core import chain_summary
    from gyroage.core.chain_summary import MIN_INSIDE, few_inside

    flat = lambda x: np.zeros_like(x)  # noqa: E731
    young = np.full((MIN_INSIDE, 1), 6.5)
    chain = np.concatenate([young, np.full((5000, 1), 9.0)])
    # the count inside alone: its 402 identical samples are 1 effective sample (a stuck walker), which passed the
    # MIN_EFFECTIVE bar only while the count of a stuck chain was floating-point residue (V39b)
    monkeypatch.setattr(chain_summary, "MIN_EFFECTIVE", 0)
    assert not few_inside(chain, 0, (6.0, 7.0), flat)
    assert few_inside(chain[1:], 0, (6.0, 7.0), flat)  # one short
    assert few_inside(chain, 1, (6.0, 7.0), flat)  # the burn-in is not counted
    # a table 0 above 6.4 (the same bound written as a prior): the samples there are outside too
    assert few_inside(chain, 0, (6.0, 10.0), lambda x: np.where(x <= 6.4, 0.0, -np.inf))


def test_grid_samples_follow_the_grid_posterior_and_a_posterior_without_mass_gives_none():
    from gyroage.core.chain_summary import grid_samples

    grid = np.linspace(6.0, 10.0, 201)
    pdf = np.vstack([np.exp(-0.5 * ((grid - 8.0) / 0.1) ** 2), np.zeros_like(grid)])
    a, b = grid_samples(pdf, grid, 4000, 3, np.array([5, 6]))
    assert a.dtype == np.float32 and a.size == 4000 and b.size == 0
    assert np.allclose(np.quantile(a, [0.16, 0.5, 0.84]), [7.9, 8.0, 8.1], atol=0.01)
    assert np.array_equal(a, grid_samples(pdf[:1], grid, 4000, 3, np.array([5]))[0])  # the star's own stream


def _gaussian(mean: float, sigma: float):
    return lambda x: -0.5 * ((np.asarray(x) - mean) / sigma) ** 2


def test_few_inside_weighs_the_samples_by_a_prior_low_but_never_zero():
    """V29: a prior low but never zero (a Gaussian at 3 Myr +- 0.15 dex; a table at 1e-9 past 10 Myr) on a star
    whose likelihood lies at Gyr left thousands of samples where it is above zero, so the count passed, and the
    posterior's mass on three of them below 10 Myr (no calibration smooths there): a spike that moved with the seed.
    Their effective number (the prior's Kish weights) is about three."""
    from gyroage.core.chain_summary import few_inside

    chain = np.concatenate([np.random.default_rng(0).normal(9.3, 0.2, 6000), [6.45, 6.5, 6.55]])[:, None]
    assert few_inside(chain, 0, (6.0, 10.0), _gaussian(6.5, 0.15))
    table = lambda x: np.where(np.asarray(x) <= 7.0, 0.0, np.log(1e-9))  # noqa: E731
    assert few_inside(chain, 0, (6.0, 10.0), table)
    # the same chain under a prior where its samples are: on the chain
    assert not few_inside(chain, 0, (6.0, 10.0), _gaussian(9.3, 0.3))


@pytest.mark.parametrize("sigma", [0.01, 0.02, 0.05])
def test_few_inside_leaves_a_narrow_prior_on_the_chain(model, sigma):
    """A narrow prior (0.01-0.05 dex, an isochrone age) where the samples are: the chain, which resolves it where the
    grid's 201 points do not, keeps it (a prior's Kish weights alone counted only the samples under it)."""
    from gyroage.core.calibration import Calibration
    from gyroage.core.chain_summary import MIN_INSIDE, effective_samples, few_inside

    chain = np.random.default_rng(1).normal(9.0, 0.15, (6000, 1))
    prior = _gaussian(9.0, sigma)
    calibration = Calibration.from_card(model.card)
    assert not few_inside(chain, 0, (6.0, 10.0), prior, calibration, 1.0)
    assert not few_inside(chain, 0, (6.0, 10.0), prior)
    assert effective_samples(chain.ravel(), (6.0, 10.0), prior, calibration, 1.0, (6.0, 10.0)) >= MIN_INSIDE


def test_effective_samples_of_a_flat_prior_without_smoothing_are_the_samples_inside():
    """Below ~10 Myr (no calibration width) under a prior flat within its bounds every sample inside counts once,
    as the count of samples inside the bounds (V26's rule) did."""
    from gyroage.core.chain_summary import effective_samples

    x = np.random.default_rng(2).uniform(6.0, 7.0, 3000)
    flat = lambda a: np.zeros_like(np.asarray(a, dtype=float))  # noqa: E731
    assert effective_samples(x, (6.0, 7.0), flat, None, None, (6.0, 10.0)) == pytest.approx(3000, rel=0.1)


def _normal_pdf(grid: np.ndarray, mean: float, sigma: float) -> np.ndarray:
    return np.exp(-0.5 * ((grid - mean) / sigma) ** 2)


def test_unvisited_mass_is_the_grid_posteriors_share_where_the_chain_never_went(model):
    """FW2: a star takes the grid's posterior when that posterior lies where its chain never went (a prior at 3 Myr
    on a star whose chain stayed at Gyr), not when it merely differs from the chain's (a period error, which the grid
    ignores, widens the chain). Where the calibration spreads the chain's samples (ages of ~100 Myr and more), their
    kernels' tails count: a narrow prior there, which the chain resolves, stays on it."""
    from gyroage.core.calibration import SAMPLE_GRID, Calibration
    from gyroage.core.chain_summary import MAX_UNVISITED, chain_visits, unvisited_mass

    grid = np.linspace(6.0, 10.0, 201)
    posteriors = np.stack([_normal_pdf(grid, 6.5, 0.15), _normal_pdf(grid, 9.6, 0.05), _normal_pdf(grid, 9.0, 0.02)])
    chain = np.random.default_rng(1).normal(9.6, 0.1, (6000, 1))
    bare = chain_visits(chain, 0, (6.0, 10.0), None, None)
    assert bare.shape == (SAMPLE_GRID,) and bare.sum() == 6000  # every sample once, in its bin
    u = unvisited_mass(np.tile(bare, (3, 1)), posteriors, grid)
    # uncalibrated, 1 Gyr is six sigma from every sample: unvisited, as 3 Myr is
    assert u[0] > 0.99 and u[1] < MAX_UNVISITED and u[2] > 0.99, u
    spread = chain_visits(chain, 0, (6.0, 10.0), Calibration.from_card(model.card), 1.0)
    u = unvisited_mass(np.tile(spread, (3, 1)), posteriors, grid)
    assert u[0] > 0.99 and u[1] < MAX_UNVISITED and u[2] < MAX_UNVISITED, u
    # a flat prior's chain (no visits kept) and a posterior without mass never send a star to the grid
    assert unvisited_mass(np.zeros((3, 0)), None, grid).tolist() == [0.0] * 3
    assert unvisited_mass(bare[None, :], np.full((1, 201), np.nan), grid).tolist() == [0.0]


def test_chain_visits_are_read_within_a_bound_inside_the_models_grid():
    """Under --age-max-myr 1000 the histogram reaches past the bound to the model's 10 Gyr (the calibration's
    ages); the visits are those of its SAMPLE_GRID ages between the bounds, where the grid posterior lies."""
    from gyroage.core.calibration import SAMPLE_GRID
    from gyroage.core.chain_summary import chain_visits

    x = np.random.default_rng(3).normal(9.0, 0.3, (6000, 1))
    v = chain_visits(x, 0, (6.0, 9.0), None, None, (6.0, 10.0))
    assert v.shape == (SAMPLE_GRID,)
    # the last bin reaches halfway to the first age past the bound, 9.02 (the 201-point spacing over the model's grid)
    assert v.sum() == np.count_nonzero((x >= 6.0) & (x < 9.01))
    assert np.count_nonzero((x >= 9.0075) & (x < 9.01)) > 0  # not the bounds' own half step


def test_a_chain_under_a_prior_that_is_not_flat_is_binned_once(model, monkeypatch):
    """chain_checks binned the chain for its checks and _density_summary binned it again for the posterior (~1.1 ms
    of ~4.7 ms a star): the summary reuses chain_checks' histogram, so one binning per star."""
    import pandas as pd

    from gyroage.core import chain_summary
    from gyroage.core.estimate import EstimateSettings
    from gyroage.core.priors import Prior

    calls = []
    binned = chain_summary._binned
    monkeypatch.setattr(chain_summary, "_binned", lambda *a: calls.append(1) or binned(*a))
    stars = pd.DataFrame({"prot": [10.0, 20.0], "bp_rp0": [1.0, 1.5]})
    prior = Prior("gaussian_log_age", mean=9.0, sigma=0.3)
    out = model.estimate(stars, EstimateSettings(prior=prior, method="mcmc", seed=1))
    assert np.isfinite(out["age_p50_myr"]).all()
    assert len(calls) == len(stars)


def test_a_chain_with_fewer_than_min_effective_samples_behind_its_percentiles_takes_the_grid():
    """V32: 700 samples inside a flat prior's bounds (no smoothing: 700 effective) passed the bar of 402 and were
    kept, noisy to ~0.1 dex; the bar is now MIN_EFFECTIVE, and chain_checks says how many there were."""
    from gyroage.core.chain_summary import MIN_EFFECTIVE, MIN_INSIDE, chain_checks

    rng = np.random.default_rng(3)
    flat = lambda a: np.zeros_like(np.asarray(a, dtype=float))  # noqa: E731
    old = np.full(5000, 9.0)
    few = chain_checks(np.concatenate([rng.uniform(6.0, 7.0, 700), old])[:, None], 0, (6.0, 7.0), flat)
    assert MIN_INSIDE < 700 < MIN_EFFECTIVE
    assert few.few and few.n_eff == pytest.approx(700, rel=0.1)
    enough = chain_checks(np.concatenate([rng.uniform(6.0, 7.0, 3000), old])[:, None], 0, (6.0, 7.0), flat)
    assert not enough.few and enough.n_eff == pytest.approx(3000, rel=0.1)


def test_effective_samples_count_a_walkers_repeated_samples_once():
    """V36a: each chain sample counted as an independent Poisson draw; a walker that holds a value for several steps
    (an autocorrelated chain) was counted as many samples as steps. The count is divided by the autocorrelation time
    of the samples' terms in the CDF: 300 values per walker held 10 steps each count as ~300, not 3,000."""
    from gyroage.core.chain_summary import MIN_EFFECTIVE, chain_checks

    flat = lambda a: np.zeros_like(np.asarray(a, dtype=float))  # noqa: E731
    rng = np.random.default_rng(4)
    fresh = rng.uniform(6.0, 7.0, (3000, 8))
    held = np.repeat(fresh[:300], 10, axis=0)  # (steps, walkers): each walker keeps each value 10 steps
    assert chain_checks(fresh, 0, (6.0, 7.0), flat).n_eff == pytest.approx(24000, rel=0.15)
    checks = chain_checks(held, 0, (6.0, 7.0), flat)
    assert checks.n_eff == pytest.approx(2400, rel=0.3)
    few = chain_checks(held[:, :2], 0, (6.0, 7.0), flat)  # 600 values held 10 steps each: under the bar
    assert few.few and few.n_eff < MIN_EFFECTIVE


@pytest.mark.parametrize("sigma", [0.3, 0.6])
def test_effective_samples_follow_the_percentiles_scatter_through_a_level_scale(sigma):
    """V36a: under --prior uniform_age (the README's preferred prior) kept chains scattered 2.5-4x more by seed than
    mcmc_n_eff said: the count left out the calibration's level scale (< 1 below 10^7.7 yr), which narrows the
    likelihood by the normal scores of its CDF, so the tail's density error moves every age beyond it at once. With
    the scale the count meets the scatter of p50 over independent sample sets (1.25 sigma / sqrt(n))."""
    from gyroage.core.calibration import Calibration
    from gyroage.core.chain_summary import effective_samples, summarise_chain

    cal = Calibration(log10_age_knots=(6.0, 10.0), sigma_dex=(0.0, 0.0), level_scale=0.45)
    uniform_age = lambda a: np.log(10.0) * np.asarray(a, dtype=float)  # noqa: E731
    rng = np.random.default_rng(5)
    qs, ns = [], []
    for _ in range(60):
        x = rng.normal(7.2, sigma, 3000)
        qs.append(summarise_chain(x[:, None], 0, 10, rng, cal, (6.0, 10.0), None, uniform_age)[0])
        ns.append(effective_samples(x, (6.0, 10.0), uniform_age, cal, None, (6.0, 10.0)))
    qs = np.array(qs)
    predicted = 1.2533 * 0.5 * np.median(qs[:, 3] - qs[:, 1]) / np.sqrt(np.median(ns))
    assert np.std(qs[:, 2], ddof=1) == pytest.approx(predicted, rel=0.25)


def _ar1_chain(seed: int, steps: int = 2000, walkers: int = 32, rho: float = 0.95) -> np.ndarray:
    """Walkers of an AR(1) series (autocorrelation time (1 + rho) / (1 - rho) = 39), unit variance."""
    rng = np.random.default_rng(seed)
    z = np.zeros((steps, walkers))
    z[0] = rng.normal(0.0, 1.0, walkers)
    e = rng.normal(0.0, np.sqrt(1.0 - rho**2), (steps, walkers))
    for t in range(1, steps):
        z[t] = rho * z[t - 1] + e[t]
    return z


def test_one_motionless_walker_does_not_make_the_whole_chain_independent():
    """V38: a walker whose terms never change (wandering where every term is 0, below --age-min-myr) made emcee's
    walker-averaged autocorrelation NaN, and the NaN tau fell back to 1 for the whole chain: 3,699 effective samples
    became 43,598. The walkers that move keep their autocorrelation time."""
    from gyroage.core.chain_summary import effective_samples

    flat = lambda a: np.zeros_like(np.asarray(a, dtype=float))  # noqa: E731
    z = _ar1_chain(1)
    x = 9.6 + 0.2 * z
    bounds = (np.log10(3e9), 10.0)
    mixing = effective_samples(x, bounds, flat, None, None, (6.0, 10.0))
    y = x.copy()
    y[:, 0] = 7.0 + 0.05 * z[:, 0]  # one walker of 32 at ~10 Myr, outside the bounds: its terms are all 0
    one_away = effective_samples(y, bounds, flat, None, None, (6.0, 10.0))
    assert one_away <= 1.2 * mixing
    assert one_away >= 0.5 * mixing


@pytest.mark.parametrize("value", [7.5, 6.0, 10.0])
def test_a_stuck_chain_counts_no_more_effective_samples_than_it_has(value):
    """V38: all samples at one age gave ~1e34 effective samples (the terms' variance was floating-point residue, not
    0). A count is never more than the samples the chain holds."""
    from gyroage.core.calibration import Calibration
    from gyroage.core.chain_summary import effective_samples

    cal = Calibration(log10_age_knots=(6.0, 10.0), sigma_dex=(0.1, 0.1), level_scale=0.45)
    uniform_age = lambda a: np.log(10.0) * np.asarray(a, dtype=float)  # noqa: E731
    x = np.full((300, 32), value)
    for c in (cal, None):
        assert effective_samples(x, (6.0, 10.0), uniform_age, c, None, (6.0, 10.0)) <= x.size


@pytest.mark.parametrize("shape", [(300, 32), (2000, 16)])
def test_a_stuck_chain_counts_about_its_walkers_and_takes_the_grid(shape):
    """V39b: every sample at one age counted all of them (9,600, 32,000), the cap at the sample count coming after
    the division by the chain-length autocorrelation time, so the stuck chain passed the 1,000 bar. With tau the
    chain's length, each walker is one sample."""
    from gyroage.core.calibration import Calibration
    from gyroage.core.chain_summary import chain_checks

    cal = Calibration(log10_age_knots=(6.0, 10.0), sigma_dex=(0.1, 0.1), level_scale=0.45)
    uniform_age = lambda a: np.log(10.0) * np.asarray(a, dtype=float)  # noqa: E731
    for c in (cal, None):
        checks = chain_checks(np.full(shape, 7.5), 0, (6.0, 10.0), uniform_age, c)
        assert checks.n_eff <= shape[1]
        assert checks.few
