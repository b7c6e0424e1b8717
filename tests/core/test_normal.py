"""gyroage.core.normal against scipy's reference functions (the run-time path must not import scipy)."""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr, ndtri

from gyroage.core.normal import normal_cdf, normal_score


def test_the_cdf_is_accurate_in_both_tails():
    z = np.linspace(-12.0, 12.0, 20001)
    np.testing.assert_allclose(normal_cdf(z), ndtr(z), rtol=2e-7, atol=0)
    # 1 - Phi(z) far out, where a 1 - small subtraction would lose every digit
    np.testing.assert_allclose(normal_cdf(-z[z > 5]), ndtr(-z[z > 5]), rtol=2e-7)


def test_the_cdf_keeps_its_input_shape():
    z = np.zeros((3, 4))
    assert normal_cdf(z).shape == (3, 4)
    np.testing.assert_allclose(normal_cdf(z), 0.5, atol=1e-9)


def test_the_quantile_function_inverts_the_cdf():
    p = np.concatenate([np.geomspace(1e-12, 0.02, 200), np.linspace(0.02, 0.98, 500), 1 - np.geomspace(1e-12, 0.02, 200)])
    np.testing.assert_allclose(normal_score(p), ndtri(p), rtol=5e-9, atol=5e-9)
    np.testing.assert_allclose(normal_cdf(normal_score(p)), p, rtol=3e-7)
