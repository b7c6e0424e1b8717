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

    sigma = COLOUR_NODE_TIERS[1][0] + 0.05  # the 5-node tier
    out = colour_marginal_log_likelihood(Stub(), [1.0, 1.2], [1.0, 1.5], [0.01, 0.01], grid, [sigma, sigma], None)
    t, w = np.polynomial.hermite.hermgauss(5)
    nodes = Stub().log_prob_grid(None, (np.array([1.0, 1.5])[:, None] + np.sqrt(2) * sigma * t).ravel(), None, grid)
    ref = np.logaddexp.reduce(nodes.reshape(2, 5, -1).astype(float) + np.log(w / np.sqrt(np.pi))[None, :, None], axis=1)
    impossible = grid < 6.5
    assert np.all(np.isneginf(out[:, impossible]))
    assert np.allclose(out[:, ~impossible], ref[:, ~impossible], rtol=1e-6, atol=1e-6)
