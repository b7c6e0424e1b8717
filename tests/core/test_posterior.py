import numpy as np
import pytest
from scipy import stats

from gyroage.core.grid_cdf import trapezoid
from gyroage.core.posterior import GridPosterior, normalise, quantiles
from gyroage.core.priors import Prior


def test_quantiles_of_a_gaussian():
    grid = np.linspace(6, 10, 401)
    mu, sd = np.array([7.3, 8.8]), np.array([0.2, 0.35])
    logpost = stats.norm.logpdf(grid[None, :], mu[:, None], sd[:, None])
    pdf = normalise(logpost, grid)
    assert np.allclose(trapezoid(pdf, grid, axis=1), 1.0)
    q = quantiles(pdf, grid, (0.16, 0.5, 0.84))
    expect = stats.norm.ppf([0.16, 0.5, 0.84], mu[:, None], sd[:, None])
    assert np.allclose(q, expect, atol=2e-3)


def test_map_refines_between_grid_points():
    grid = np.linspace(6, 10, 41)  # 0.1 dex spacing
    pdf = normalise(stats.norm.logpdf(grid, 8.234, 0.3)[None, :], grid)
    s = GridPosterior(grid, pdf).summaries()
    assert abs(np.log10(s["age_map_myr"][0] * 1e6) - 8.234) < 0.01


def test_rows_without_a_posterior_get_nan_summaries_not_the_grid_edge():
    """A prior with no mass inside the bounds leaves nothing to summarise: every summary, the MAP too, is NaN."""
    grid = np.linspace(6, 10, 41)
    prior = Prior("tabulated", 6.0, 10.0, table=((10.5, 11.0), (0.0, 0.0)))
    good = stats.norm.logpdf(grid, 8.0, 0.3)
    pdf = normalise(np.stack([good, good + prior.log_prob(grid)]), grid)
    s = GridPosterior(grid, pdf).summaries()
    assert all(np.isfinite(v[0]) and np.isnan(v[1]) for v in s.values())


def test_uniform_age_prior_is_age_times_ln10():
    p = Prior("uniform_age", 6.0, 10.0)
    x = np.array([7.0, 8.0, 11.0])
    lp = p.log_prob(x)
    assert np.isclose(lp[1] - lp[0], np.log(10.0))
    assert lp[2] == -np.inf
    assert np.all(Prior().log_prob(x[:2]) == 0)


class _Counting:
    """A FlowDensity stand-in that counts flow evaluations."""

    def __init__(self, density):
        self.d, self.evals = density, 0
        self.outlier_weight, self.outlier_log_density = density.outlier_weight, density.outlier_log_density

    def log_prob_grid(self, prot, colour, err, grid, outlier_weight=None):
        self.evals += np.size(prot) * np.size(grid)
        return self.d.log_prob_grid(prot, colour, err, grid, outlier_weight=outlier_weight)

    def log_prob_flow(self, prot, age, colour, err):
        self.evals += np.size(prot)
        return self.d.log_prob_flow(prot, age, colour, err)


def _example_stars(model):
    import pandas as pd

    from tests.conftest import EXAMPLES

    df = pd.read_csv(EXAMPLES / "synthetic_stars.csv")
    lo, hi = model.card.domain["bp_rp0"]
    df = df[(df.BPRP_0 > lo) & (df.BPRP_0 < hi)]
    return np.log10(df.Prot.to_numpy()), df.BPRP_0.to_numpy(), df.e_BPRP_0.to_numpy()


def test_refined_grid_forced_everywhere_equals_the_exact_grid(model):
    """tol < 0 refines every midpoint: any bookkeeping slip (wrong column, wrong star) shows up here."""
    from gyroage.core.likelihood import grid_log_likelihood, refined_log_likelihood

    lp, c, e = (a[:60] for a in _example_stars(model))
    for n in (201, 200, 203, 205, 15):  # odd; even; even one level up; two levels up; tiny
        grid = np.linspace(6, 10, n)
        exact = grid_log_likelihood(model.density, lp, c, e, grid)
        assert np.abs(refined_log_likelihood(model.density, lp, c, e, grid, tol=-1.0) - exact).max() < 1e-5


def test_refined_grid_halves_the_work_and_keeps_the_ages(model):
    """The default refined grid: under 45% of the flow evaluations, medians within 0.005 dex of every point evaluated."""
    from gyroage.core.likelihood import REFINE_TOL, grid_log_likelihood, refined_log_likelihood

    lp, c, e = _example_stars(model)
    grid = np.linspace(6, 10, 201)
    counted = _Counting(model.density)
    fast = refined_log_likelihood(counted, lp, c, e, grid, tol=REFINE_TOL)
    assert counted.evals < 0.45 * lp.size * grid.size
    exact = grid_log_likelihood(model.density, lp, c, e, grid)
    q_fast, q_exact = quantiles(normalise(fast, grid), grid), quantiles(normalise(exact, grid), grid)
    assert np.abs(q_fast - q_exact)[:, 2].max() < 0.005
    assert np.abs(q_fast - q_exact).max() < 0.01
    # Points it interpolates stay within a few times the tolerance of the flow itself.
    assert np.abs(fast - exact).max() < 3 * REFINE_TOL


def test_refined_grid_falls_back_to_every_point_on_uneven_or_tiny_grids(model):
    from gyroage.core.likelihood import grid_log_likelihood, refined_log_likelihood

    lp, c, e = (a[:20] for a in _example_stars(model))
    for grid in (np.linspace(6, 10, 9), np.r_[np.linspace(6, 8, 40), np.linspace(8.1, 10, 30)]):
        counted = _Counting(model.density)
        got = refined_log_likelihood(counted, lp, c, e, grid)
        assert counted.evals == lp.size * grid.size
        assert np.allclose(got, grid_log_likelihood(model.density, lp, c, e, grid))


def test_outlier_mixture_matches_logaddexp_in_both_float_types():
    from gyroage.core.density import mix_outlier

    lp = np.linspace(-300, 30, 5001)
    w, lu = 0.05, -np.log(4.0)
    ref = np.logaddexp(lp + np.log1p(-w), np.log(w) + lu)
    for dt, tol in ((np.float64, 1e-12), (np.float32, 2e-6)):
        got = mix_outlier(lp.astype(dt), w, lu)
        assert got.dtype == dt
        assert np.all(np.abs(got - ref) <= tol * np.maximum(1.0, np.abs(ref)))
    assert mix_outlier(lp, 0.0, lu) is lp  # no mixture: the flow's own density, untouched


def test_cdf_of_float64_rows_is_the_trapezoid_sum_bit_for_bit():
    """The in-place CDF (float64 rows) does the arithmetic of the plain expression, in the same order."""
    from gyroage.core.posterior import cdf

    rng = np.random.default_rng(5)
    grid = np.linspace(6.0, 10.1, 201)
    pdf = rng.gamma(2.0, size=(7, 201))
    dx = np.diff(grid)
    plain = np.concatenate([np.zeros((7, 1)), np.cumsum(0.5 * (pdf[:, 1:] + pdf[:, :-1]) * dx, axis=-1)], axis=-1)
    assert np.array_equal(cdf(pdf, grid), plain / plain[:, -1:])
    single = pdf.astype(np.float32)  # float32 rows keep float32 sums, as before
    plain32 = np.concatenate([np.zeros((7, 1)), np.cumsum(0.5 * (single[:, 1:] + single[:, :-1]) * dx, axis=-1)], axis=-1)
    assert np.array_equal(cdf(single, grid), plain32 / plain32[:, -1:])


def test_colour_nodes_are_numpys_gauss_hermite_to_the_last_bit():
    from gyroage.core.likelihood import COLOUR_NODE_TIERS, gauss_hermite

    for _, n in COLOUR_NODE_TIERS:
        t, w = gauss_hermite(n)
        t0, w0 = np.polynomial.hermite.hermgauss(n) if n > 1 else (np.zeros(1), np.full(1, np.sqrt(np.pi)))
        assert np.array_equal(t, t0) and np.array_equal(w, w0), n
    t, w = gauss_hermite(4)  # outside the table: numpy's own
    assert np.array_equal(w, np.polynomial.hermite.hermgauss(4)[1])


def test_quantile_0_is_the_lower_end_of_the_support_as_quantile_1_is_the_upper():
    """quantile(0) gave the grid's lower edge even where the pdf is 0 up to some age; quantile(1) already gave the first
    point where the CDF reaches 1."""
    grid = np.arange(7.0)
    pdf = np.array([[0.0, 0.0, 1.0, 1.0, 1.0, 0.0, 0.0], [1.0] * 7])
    q = quantiles(pdf, grid, (0.0, 0.5, 1.0))
    np.testing.assert_array_equal(q, [[1.0, 3.0, 5.0], [0.0, 3.0, 6.0]])
    np.testing.assert_allclose(quantiles(pdf, grid, [[0.0, 0.25], [0.0, 0.25]]), [[1.0, 2.25], [0.0, 1.5]])
    assert np.isnan(quantiles(np.full((1, 7), np.nan), grid, (0.0,))).all()


def test_posterior_quantile_0_follows_a_prior_that_is_zero_below_some_age(model):
    post = model.posterior(25.4, 0.82, prior=Prior("tabulated", table=((8.0, 9.0), (0.0, 0.0))))  # 100-1000 Myr
    lo, hi = post.quantile([0.0, 1.0])[0]
    step = post.grid[1] - post.grid[0]
    # the last and first grid points where the pdf is 0, either side of the table: 95.5 and 1047 Myr
    assert lo == pytest.approx(10 ** (8.0 - step - 6)) and hi == pytest.approx(10 ** (9.0 + step - 6))
    flat = model.posterior(25.4, 0.82)
    assert flat.quantile(0.0)[0] == pytest.approx(1.0)  # the default prior's support starts at the grid's edge


def test_beyond_prior_bounds_is_one_boolean_array_for_stars_and_groups():
    """It lived in group_flags (estimate imported it from there), returned a bare False when the bounds were the
    card's, and its 'bounds are the card's' test was written twice: one predicate now, and always an array."""
    from gyroage.core.posterior import beyond_prior_bounds, bounds_are_the_cards
    from gyroage.core.priors import Prior

    card = {"log10_age_min": 6.0, "log10_age_max": 10.0}
    assert bounds_are_the_cards(Prior(), card)
    young = Prior("uniform_log_age", 6.0, 9.0)
    assert not bounds_are_the_cards(young, card)

    def ll(ages):
        return np.stack([-0.5 * ((ages - 9.5) / 0.1) ** 2, -0.5 * ((ages - 8.0) / 0.1) ** 2])

    out = beyond_prior_bounds(young, card, ll)
    assert out.dtype == bool and out.tolist() == [True, False]


def test_posteriors_need_no_np_trapezoid_which_numpy_1_lacks(monkeypatch):
    """pyproject allows numpy 1.24-1.26, which has np.trapz only: every integral goes through grid_cdf.trapezoid."""
    from pathlib import Path

    import gyroage

    grid = np.linspace(6, 10, 41)
    logpost = stats.norm.logpdf(grid, 8.2, 0.3)[None, :]
    expect = normalise(logpost, grid)
    monkeypatch.delattr(np, "trapezoid", raising=False)  # numpy 1 has none to remove
    np.testing.assert_array_equal(normalise(logpost, grid), expect)
    root = Path(gyroage.__file__).parent
    assert not [p.relative_to(root) for p in root.rglob("*.py") if "np.trapezoid(" in p.read_text(encoding="utf-8")]
