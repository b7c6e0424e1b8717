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
    assert np.abs(np.log10(m["age_p50_myr"] / g["age_p50_myr"])).max() <= 0.02
    assert np.abs(width(m) / width(g) - 1).max() <= 0.10


def test_a_larger_colour_error_widens_the_grid_posterior(model):
    small = model.posterior(12.0, 1.0, 0.02)
    large = model.posterior(12.0, 1.0, 0.15)
    ws, wl = (np.log10(p.quantile(0.84) / p.quantile(0.16)) for p in (small, large))
    assert wl > 1.05 * ws  # both include the calibration's systematic width
