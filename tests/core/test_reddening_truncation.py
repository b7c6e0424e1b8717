"""A reddening known to be >= 0: the grid's colour marginal truncates E(BP-RP) at 0, as the MCMC's colour term does."""

import numpy as np
import pandas as pd
import pytest

from gyroage.core.estimate import EstimateSettings

# blue of (BP-RP)0 1.2, where the period-colour relation is steep: the symmetric nodes of 0b9db6d..29906d1 put these
# 0.16-0.39 dex younger than the MCMC for E = 0 +- 0.1 (review V21, finding 1)
BLUE = pd.DataFrame({"prot": [5.7, 7.2, 8.0], "bp_rp": [0.70, 0.92, 1.0], "bp_rp_err": 0.02})


def reddened(e: float, e_err: float) -> pd.DataFrame:
    return BLUE.assign(bp_rp=BLUE.bp_rp + e, ebprp=e, ebprp_err=e_err)


def unknown_e(e_err: float) -> pd.DataFrame:
    """The same stars de-reddened, with the error but not the value of E: nothing truncates E then."""
    return pd.DataFrame({"prot": BLUE.prot, "bp_rp0": BLUE.bp_rp, "bp_rp0_err": BLUE.bp_rp_err, "ebprp_err": e_err})


def test_grid_and_mcmc_medians_agree_for_a_reddening_of_0_pm_0_1(model):
    stars = reddened(0.0, 0.1)
    grid = model.estimate(stars)
    mcmc = model.estimate(stars, EstimateSettings(method="mcmc", seed=1))
    assert (grid.status == "ok").all() and (mcmc.status == "ok").all()
    assert np.abs(np.log10(mcmc.age_p50_myr / grid.age_p50_myr)).max() <= 0.02


def test_a_reddening_far_from_0_is_not_truncated(model):
    """E = 0.5 +- 0.01 mag: truncation at 0 is 50 sigma away, so the ages are those of the symmetric nodes."""
    cut, plain = model.estimate(reddened(0.5, 0.01)), model.estimate(unknown_e(0.01))
    for q in ("age_p16_myr", "age_p50_myr", "age_p84_myr"):
        np.testing.assert_allclose(cut[q], plain[q], rtol=1e-6)


def test_a_reddening_near_0_makes_the_stars_older_than_an_unknown_one(model):
    """Only a bluer true colour is allowed, and blue of 1.2 mag a bluer star of the same period is older."""
    cut, plain = model.estimate(reddened(0.0, 0.1)), model.estimate(unknown_e(0.1))
    assert (np.log10(cut.age_p50_myr / plain.age_p50_myr) > 0.05).all()


def test_colour_spread_has_the_truncated_densitys_mean_and_sd():
    """The nodes' centre and width against the moments of N(0, S) Phi((mu + e) / t) / Phi(e / se), integrated."""
    from types import SimpleNamespace

    from scipy.special import log_ndtr

    from gyroage.core.likelihood import ColourSpread, colour_spread

    card = SimpleNamespace(default_bp_rp0_err=0.03, domain={"bp_rp0_err": [0.0, 1.0]})
    err, e, se = np.array([0.05, 0.02, 0.02, 0.04]), np.array([0.0, 0.02, 0.5, np.nan]), np.array([0.1, 0.05, 0.01, 0.1])
    spread = colour_spread(err, e, se, card)
    assert isinstance(spread, ColourSpread)
    for i in range(3):
        sc = np.sqrt(max(err[i] ** 2 - 0.03**2, 0.0))
        s = np.hypot(sc, se[i])
        d = np.linspace(-10 * s, 10 * s, 200001)  # d = de-reddened colour - true colour
        with np.errstate(divide="ignore", invalid="ignore"):
            z = (d * se[i] ** 2 / s**2 + e[i]) / (sc * se[i] / s) if sc > 0 else np.where(d + e[i] > 0, np.inf, -np.inf)
        p = np.exp(-0.5 * (d / s) ** 2 + log_ndtr(z))
        mean = (d * p).sum() / p.sum()
        assert spread.shift[i] == pytest.approx(mean, abs=1e-5)
        # the tier's width: the sd, or the support the evenly spaced nodes cover (+-3.5 sds of each part) / 7 where
        # that is wider (review V33)
        cover = max(-e[i], 0.0) + 3.5 * (se[i] + sc) - max(-e[i], -3.5 * se[i]) + 3.5 * sc
        sd = np.sqrt(((d - mean) ** 2 * p).sum() / p.sum())
        assert spread.sigma[i] == pytest.approx(max(sd, cover / 7.0), abs=1e-5)
    # E unknown: the symmetric width, nothing shifted
    assert spread.shift[3] == 0.0 and spread.sigma[3] == pytest.approx(np.hypot(np.sqrt(0.04**2 - 0.03**2), 0.1))


def test_group_age_truncates_its_members_reddening(model):
    from gyroage.core.groups import group_ages

    prior = EstimateSettings().prior
    cut = group_ages(reddened(0.0, 0.1), model.density, None, prior, n_grid=401)
    plain = group_ages(unknown_e(0.1), model.density, None, prior, n_grid=401)
    assert np.log10(cut.age_p50_myr[0] / plain.age_p50_myr[0]) > 0.05


def test_grid_and_mcmc_medians_agree_for_a_reddening_of_0_pm_0_2(model):
    """Gauss-Hermite nodes of a Gaussian with the truncated density's mean and sd put the 0.70 mag, 5.7 d star
    0.21 dex younger than the MCMC (review V25, finding 1); the density's own quadrature does not."""
    stars = reddened(0.0, 0.2)
    grid = model.estimate(stars)
    mcmc = model.estimate(stars, EstimateSettings(method="mcmc", seed=1))
    assert (grid.status == "ok").all() and (mcmc.status == "ok").all()
    assert np.abs(np.log10(mcmc.age_p50_myr / grid.age_p50_myr)).max() <= 0.03


def test_truncated_nodes_integrate_the_truncated_density_and_keep_e_non_negative():
    """Moments 0..2n-1 of d = N(0, s) + (E - e), E >= 0, against a dense sum; with s = 0 every node has E >= 0."""
    from scipy.special import log_ndtr

    from gyroage.core.likelihood import truncated_nodes

    for s, e, se in ((0.0, 0.0, 0.1), (0.03, 0.0, 0.2), (0.0, 0.3, 0.3), (0.02, 0.5, 0.01)):
        big = np.hypot(s, se)
        d = np.linspace(-12, 12, 400001) * big
        with np.errstate(divide="ignore", invalid="ignore"):
            z = (d * se**2 / big**2 + e) / (s * se / big) if s > 0 else np.where(d + e > 0, np.inf, -np.inf)
        p = np.exp(-0.5 * (d / big) ** 2 + log_ndtr(z))
        p /= p.sum()
        dc = d - (p * d).sum()
        for n in (3, 5):
            x, w = truncated_nodes(np.array([s]), np.array([e]), np.array([se]), n)
            assert w.sum() == pytest.approx(1.0, abs=1e-12)
            for k in range(1, 2 * n):
                assert (w * x**k).sum() == pytest.approx((p * dc**k).sum(), rel=1e-3, abs=1e-9 * big**k)
            if s == 0:
                assert ((x + (p * d).sum() + e) >= -1e-12).all()  # d + e = E at each node


def test_the_truncated_densitys_step_at_e_0_is_log_ndtr_of_an_infinite_z():
    """_density skips log_ndtr where s = 0 (fix-W7), giving what it gave there, -0.0 or -inf, to the bit: the nodes
    and weights of every tier of stars with and without s are those of log_ndtr over every point."""
    from scipy.special import log_ndtr

    from gyroage.core import truncated_colour as tc

    s = np.array([0.0, 0.03, 0.0, 0.1, 0.0, 1e-9])
    e, se = np.array([0.0, 0.05, 0.2, 0.0, -0.1, 0.01]), np.array([0.1, 0.2, 0.05, 0.3, 0.2, 0.1])
    for n in (41, 801):
        d, w = tc._density(s, e, se, n, 8.0)
        lo, hi = tc.support(s, e, se, 8.0)
        big = np.hypot(s, se)[:, None]
        with np.errstate(divide="ignore", invalid="ignore"):
            z = (d * (se[:, None] / big) ** 2 + e[:, None]) / (s * se)[:, None] * big
        z = np.where(s[:, None] > 0, z, np.where(d + e[:, None] >= 0.0, np.inf, -np.inf))
        logp = -0.5 * (d / big) ** 2 + log_ndtr(z)
        want = np.exp(logp - logp.max(axis=-1, keepdims=True))
        want[:, [0, -1]] *= 0.5
        want /= want.sum(axis=-1, keepdims=True)
        assert np.array_equal(d[:, 0], lo) and (d[s == 0, 0] + e[s == 0] == 0).all()  # a point on the step
        assert np.array_equal(w, want)
