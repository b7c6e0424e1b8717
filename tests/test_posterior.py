import numpy as np
from scipy import stats

from gyroage.posterior import GridPosterior, normalise, quantiles
from gyroage.priors import Prior


def test_quantiles_of_a_gaussian():
    grid = np.linspace(6, 10, 401)
    mu, sd = np.array([7.3, 8.8]), np.array([0.2, 0.35])
    logpost = stats.norm.logpdf(grid[None, :], mu[:, None], sd[:, None])
    pdf = normalise(logpost, grid)
    assert np.allclose(np.trapezoid(pdf, grid, axis=1), 1.0)
    q = quantiles(pdf, grid, (0.16, 0.5, 0.84))
    expect = stats.norm.ppf([0.16, 0.5, 0.84], mu[:, None], sd[:, None])
    assert np.allclose(q, expect, atol=2e-3)


def test_map_refines_between_grid_points():
    grid = np.linspace(6, 10, 41)  # 0.1 dex spacing
    pdf = normalise(stats.norm.logpdf(grid, 8.234, 0.3)[None, :], grid)
    s = GridPosterior(grid, pdf).summaries()
    assert abs(np.log10(s["age_map_myr"][0] * 1e6) - 8.234) < 0.01


def test_uniform_age_prior_is_age_times_ln10():
    p = Prior("uniform_age", 6.0, 10.0)
    x = np.array([7.0, 8.0, 11.0])
    lp = p.log_prob(x)
    assert np.isclose(lp[1] - lp[0], np.log(10.0))
    assert lp[2] == -np.inf
    assert np.all(Prior().log_prob(x[:2]) == 0)
