"""AgeModel.posterior takes the period error as ``gyroage estimate`` reads its prot_err column (review V70, 4)."""

import numpy as np
import pandas as pd
import pytest

from gyroage.core.posterior import SUMMARY_COLUMNS

PROT = np.array([12.0, 25.4, 3.0, 8.0, 1.1, 40.0])
COLOUR = np.array([1.2, 0.82, 1.0, 1.5, 0.9, 2.2])
ERR = np.array([0.02, 0.01, 0.05, 0.02, 0.1, 0.03])


def test_posterior_with_a_period_error_gives_estimates_ages(model):
    # 30% errors: the grid averages over 17 period nodes, 0.1-0.3 dex from the exact-period ages
    prot_err = 0.3 * PROT
    post = model.posterior(PROT, COLOUR, ERR, prot_err=prot_err)
    est = model.estimate(pd.DataFrame({"prot": PROT, "prot_err": prot_err, "bp_rp0": COLOUR, "bp_rp0_err": ERR}))
    assert list(post.status) == list(est["status"]) and post.ok.all()
    s = post.summaries()
    for name in SUMMARY_COLUMNS:
        np.testing.assert_allclose(s[name], est[name], rtol=1e-9, err_msg=name)
    np.testing.assert_allclose(post.p_outlier, est["p_outlier"], rtol=1e-9)
    assert list(post.age_flags) == list(est["age_flags"].fillna(""))
    exact = model.posterior(PROT, COLOUR, ERR).summaries()["age_p50_myr"]
    assert np.max(np.abs(np.log10(s["age_p50_myr"] / exact))) > 0.05  # the error is read: the ages move
    frame = post.to_frame()
    assert list(frame.columns[:4]) == ["prot", "prot_err", "bp_rp0", "bp_rp0_err"]
    np.testing.assert_array_equal(frame["prot_err"], prot_err)


def test_posterior_checks_the_period_error_as_estimates_column(model):
    # estimate's rules: missing (None, NaN, 'NA', blank) and 0 are an exact period, text, a negative or an
    # infinite error invalid_period_err
    cells = [None, np.nan, "NA", "", 0.0, "abc", -1.0, np.inf, "1.5"]
    n = len(cells)
    post = model.posterior([10.0] * n, [1.1] * n, prot_err=cells)
    est = model.estimate(pd.DataFrame({"prot": ["10"] * n, "prot_err": pd.Series(cells, dtype=object),
                                       "bp_rp0": ["1.1"] * n}))
    assert list(post.status) == list(est["status"]) == ["ok"] * 5 + ["invalid_period_err"] * 3 + ["ok"]
    p50 = post.summaries()["age_p50_myr"]
    np.testing.assert_allclose(p50, est["age_p50_myr"], rtol=1e-9, equal_nan=True)
    # (onnxruntime's float32 batches move a row's numbers by ~1e-9 with its neighbours)
    assert np.allclose(p50[:5], p50[0], rtol=1e-8) and abs(np.log10(p50[8] / p50[0])) > 0.001


def test_posterior_converts_a_period_errors_unit_as_the_periods(model):
    u = pytest.importorskip("astropy.units")
    hours = model.posterior(12.0 * 24 * u.h, 1.2, prot_err=36.0 * u.h).summaries()["age_p50_myr"]
    days = model.posterior(12.0, 1.2, prot_err=1.5).summaries()["age_p50_myr"]
    np.testing.assert_array_equal(hours, days)
    with pytest.raises(ValueError, match="prot_err"):
        model.posterior(12.0, 1.2, prot_err=1.5 * u.mag)


def test_posterior_without_a_period_error_is_unchanged(model):
    # no prot_err, or one of 0 / missing everywhere: the exact-period ages, bit for bit
    base = model.posterior(PROT, COLOUR, ERR)
    for given in (np.zeros(len(PROT)), np.full(len(PROT), np.nan)):
        again = model.posterior(PROT, COLOUR, ERR, prot_err=given)
        np.testing.assert_array_equal(again.pdf, base.pdf)
    assert "prot_err" not in base.to_frame().columns
