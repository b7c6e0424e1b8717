"""The grid method marginalises the colour uncertainty, and agrees with the MCMC sampler that samples it."""

import io

import numpy as np
import pandas as pd
import pytest

from tests.conftest import run_cli

STARS = pd.DataFrame({"prot": [12.0, 8.0, 15.0, 20.0], "bp_rp0": [1.0, 1.4, 1.2, 1.8],
                      "bp_rp0_err": [0.1, 0.1, 0.07, 0.1]})


def estimate(*args: str) -> pd.DataFrame:
    res = run_cli("estimate", "-", "-q", *args, input=STARS.to_csv(index=False))
    assert res.returncode == 0, res.stderr
    return pd.read_csv(io.StringIO(res.stdout))


def width(f: pd.DataFrame) -> np.ndarray:
    return np.log10(f["age_p84_myr"] / f["age_p16_myr"]).to_numpy()


@pytest.fixture(scope="module")
def grid_and_mcmc():
    return estimate("--exact-grid"), estimate("--method", "mcmc", "--seed", "1", "--max-steps", "6000")


def test_grid_and_mcmc_agree_for_colour_errors_up_to_0_1_mag(grid_and_mcmc):
    g, m = grid_and_mcmc
    assert (m["status"] == "ok").all() and (g["status"] == "ok").all()
    # within 0.02 dex or three Monte Carlo errors of the median (1.25 sigma / sqrt(n_eff)): the 77 Myr star's
    # posterior spans 10-390 Myr (p16-p84), so its median moves by ~0.016 dex from one seed to another
    mc_error = 1.25 * 0.5 * width(m) / np.sqrt(m["mcmc_n_eff"].to_numpy())
    assert (np.abs(np.log10(m["age_p50_myr"] / g["age_p50_myr"])) <= np.maximum(0.02, 3 * mc_error)).all()
    assert np.abs(width(m) / width(g) - 1).max() <= 0.10


def test_a_larger_colour_error_widens_the_grid_posterior(model):
    small = model.posterior(12.0, 1.0, 0.02)
    large = model.posterior(12.0, 1.0, 0.15)
    ws, wl = (np.log10(p.quantile(0.84) / p.quantile(0.16)) for p in (small, large))
    assert wl > 1.05 * ws  # both include the calibration's systematic width


def test_colour_nodes_sum_like_logaddexp_and_keep_impossible_ages_impossible():
    """The nodes' log-sum-exp agrees with logaddexp.reduce in float32, and a point every node rules out stays -inf."""
    from types import SimpleNamespace

    from gyroage.core.likelihood import COLOUR_NODE_TIERS, colour_marginal_log_likelihood

    grid = np.linspace(6.0, 10.0, 21)

    class Stub:  # log density by colour and age; ages below 10^6.5 yr impossible for every colour
        card = SimpleNamespace(domain={"bp_rp0": [0.0, 4.0]})

        def log_prob_grid(self, log10_prot, bp_rp0, bp_rp0_err, ages, outlier_weight=None):
            c, a = np.asarray(bp_rp0, float)[:, None], np.asarray(ages, float)[None, :]
            lp = -0.5 * ((a - 8.0 - 2.0 * (c - 1.0)) / 0.3) ** 2
            return np.where(a < 6.5, -np.inf, lp).astype(np.float32)

    sigma = COLOUR_NODE_TIERS[1][0] + 0.02  # the 5-node tier (0.05-0.08 mag since fix-FV31)
    out = colour_marginal_log_likelihood(Stub(), [1.0, 1.2], [1.0, 1.5], [0.01, 0.01], grid, [sigma, sigma], None)
    t, w = np.polynomial.hermite.hermgauss(5)
    nodes = Stub().log_prob_grid(None, (np.array([1.0, 1.5])[:, None] + np.sqrt(2) * sigma * t).ravel(), None, grid)
    ref = np.logaddexp.reduce(nodes.reshape(2, 5, -1).astype(float) + np.log(w / np.sqrt(np.pi))[None, :, None], axis=1)
    impossible = grid < 6.5
    assert np.all(np.isneginf(out[:, impossible]))
    assert np.allclose(out[:, ~impossible], ref[:, ~impossible], rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("bad", [np.nan, -0.01, np.inf])
def test_colour_node_groups_refuses_a_sigma_no_tier_should_take(bad):
    """A NaN sigma fell in no tier (searchsorted puts it past the end), so its star's likelihood was never computed;
    a negative one took the one-node tier and an infinite one the five-node tier, whose middle node is inf x 0."""
    from gyroage.core.likelihood import colour_node_groups

    with pytest.raises(ValueError, match=r"colour sigma .*star 1 has"):
        colour_node_groups(np.array([0.03, bad, 0.01]))
    # fix-W1: evenly spaced nodes above 0.12 mag (0.2 mag took the five-node tier); fix-FV31: above 0.08, in
    # tiers of 7 to 21 nodes (0.1 mag takes 9, 0.2 mag 13)
    groups = colour_node_groups(np.array([0.0, 0.03, 0.1, 0.01, 0.2]))
    assert [g[0].tolist() for g in groups] == [[0, 3], [1], [], [], [2], [], [4], [], [], [], []]
    assert [len(groups[k][1]) for k in (4, 6)] == [9, 13]


def test_colour_marginal_log_prob_refuses_a_nan_sigma_rather_than_skip_the_marginal(model):
    """A NaN sigma gave the flow at the observed colour, as if the colour were exact, without a word."""
    from gyroage.core.likelihood import colour_marginal_log_prob

    with pytest.raises(ValueError, match="colour sigma"):
        colour_marginal_log_prob(model.density, [1.0, 1.0], [8.5, 8.5], [1.2, 1.2], [0.03, 0.03], [0.2, np.nan])


@pytest.mark.parametrize("sigma", [0.3, 0.0])
def test_colour_marginal_log_prob_of_one_point_uses_its_colour_sigma(model, sigma):
    """Review V21, 6: with every input a scalar, colour_sigma was never looked at (0.645 for 0.3 mag, where the same
    star as a one-element array gives 0.235), so the marginal was skipped without a word."""
    from gyroage.core.likelihood import colour_marginal_log_prob

    one = colour_marginal_log_prob(model.density, 1.0, 9.0, 1.1, 0.02, sigma)
    assert np.shape(one) == ()
    assert one == colour_marginal_log_prob(model.density, [1.0], [9.0], [1.1], [0.02], [sigma])[0]
    assert (one == colour_marginal_log_prob(model.density, 1.0, 9.0, 1.1, 0.02)) == (sigma == 0.0)


def test_colour_marginal_log_prob_of_one_point_refuses_a_nan_sigma(model):
    """Review V21, 6: a NaN sigma was refused for arrays (e2103b4) but passed silently for scalar inputs."""
    from gyroage.core.likelihood import colour_marginal_log_prob

    with pytest.raises(ValueError, match="colour sigma"):
        colour_marginal_log_prob(model.density, 1.0, 9.0, 1.1, 0.02, np.nan)


def test_a_reddening_error_whose_square_overflows_dates_the_star_as_a_merely_huge_one_does(model):
    """An E(BP-RP) error of 1e200 mag made the excess colour sigma inf (its square overflows): the star came out
    invalid_prior, blaming a prior that was fine, where 1e10 mag (the colour as good as unknown) dates it."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow or invalid-value warnings on the way either
        post = model.posterior([9.0, 9.0], 1.0, 0.02, ebprp_err=[1e10, 1e200])
        ll = model.log_likelihood(9.0, 1.0, age_myr=[300.0, 1000.0], bp_rp0_err=0.02, ebprp_err=[[1e10], [1e200]])
    assert post.status.tolist() == ["ok", "ok"]
    assert post.quantile(0.5)[0] == post.quantile(0.5)[1]
    assert np.array_equal(ll[0], ll[1])


def test_group_age_takes_a_member_whose_reddening_error_overflows_instead_of_naming_a_python_argument():
    """group-age refused it with 'colour_sigma must be a number >= 0 ... leave the member out (use)': words of
    group_posterior's arguments, which a command-line user never gave."""
    frame = pd.DataFrame({"prot": [8.0, 9.0, 10.0, 12.0], "bp_rp0": [0.9, 1.0, 1.1, 1.2],
                          "bp_rp0_err": 0.02, "cluster": "X"})
    ages = []
    for e in (1e10, 1e200):
        res = run_cli("group-age", "-", "--by", "cluster", input=frame.assign(ebprp_err=[0.01, e, 0.01, 0.01])
                      .to_csv(index=False))
        assert res.returncode == 0, res.stderr
        assert "colour_sigma" not in res.stderr and "Warning" not in res.stderr
        ages.append(pd.read_csv(io.StringIO(res.stdout))["age_p50_myr"].tolist())
    assert ages[0] == ages[1] and np.isfinite(ages[0]).all()


def test_the_sampler_dates_a_reddening_error_whose_square_overflows_as_a_merely_huge_one(model):
    """Review V21, 3: the grid capped its colour sigma, but ``--method mcmc`` passed the E(BP-RP) error to the sampler
    as given: 1e154 mag squared to inf in its colour term and proposals, and the star came out not_converged at
    126 Myr (1e7 mag: ok, 1080 Myr), with raw numpy overflow warnings."""
    import warnings

    from gyroage.core.estimate import EstimateSettings

    out = []
    for err in (1e7, 1e154):
        star = pd.DataFrame({"prot": [12.0], "bp_rp": [1.15], "ebprp": [0.05], "ebprp_err": [err]})
        with warnings.catch_warnings(record=True) as got:
            warnings.simplefilter("always")
            out.append(model.estimate(star, EstimateSettings(method="mcmc")))
        assert [str(w.message) for w in got] == []
    cols = ["status", "age_p16_myr", "age_p50_myr", "age_p84_myr"]
    assert out[0]["status"].tolist() == ["ok"]
    pd.testing.assert_frame_equal(out[1][cols], out[0][cols])


def test_the_sampler_takes_a_denormal_reddening_error_as_an_exact_reddening_without_warnings():
    """Review V21, 3 (its command line): an E(BP-RP) error of 1e-320 mag printed raw overflow RuntimeWarnings from
    the sampler's colour term, whose value was already the limit (the reddening exact)."""
    import warnings

    from gyroage.core.mcmc_target import colour_log_like

    c_true = np.linspace(0.9, 1.3, 9)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tiny = colour_log_like(c_true, 1.1, 0.03, np.full(9, 0.05), np.full(9, 1e-320))
    assert np.allclose(tiny, colour_log_like(c_true, 1.1, 0.03, np.full(9, 0.05), np.zeros(9)), rtol=1e-12, atol=0)
