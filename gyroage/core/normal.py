"""The standard normal distribution's CDF and quantile function, in numpy alone.

Not scipy's ``ndtr``/``ndtri``: importing scipy.special costs about 0.5 s in every
process that dates stars. The quantile function's coefficients are also the ONNX
posterior graph's (:mod:`gyroage.build.calibration_graph`), which has no inverse of
Erf, so both paths compute the same numbers.
"""

from __future__ import annotations

import numpy as np

# Acklam's rational approximation of the normal quantile function (relative error < 1.2e-9):
# central region |p - 1/2| <= 1/2 - ACKLAM_LOW, a ratio of polynomials in (p - 1/2)^2; tails in
# sqrt(-2 log p).
ACKLAM_A = (-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02, 1.383577518672690e+02,
            -3.066479806614716e+01, 2.506628277459239e+00)
ACKLAM_B = (-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02, 6.680131188771972e+01,
            -1.328068155288572e+01, 1.0)
ACKLAM_C = (-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00, -2.549732539343734e+00,
            4.374664141464968e+00, 2.938163982698783e+00)
ACKLAM_D = (7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00, 1.0)
ACKLAM_LOW = 0.02425

# Numerical Recipes' erfc (a Chebyshev fit, relative error < 1.2e-7 everywhere), innermost coefficient first;
# also the posterior graph's with magnitudes (gyroage.build.main_sequence_graph)
ERFC = (0.17087277, -0.82215223, 1.48851587, -1.13520398, 0.27886807, -0.18628806, 0.09678418, 0.37409196,
         1.00002368, -1.26551223)


def _horner(coefficients: tuple[float, ...], x: np.ndarray) -> np.ndarray:
    out = np.full_like(x, coefficients[0])
    for c in coefficients[1:]:  # in place: the same bits as out * x + c, without a temporary per coefficient
        out *= x
        out += c
    return out


def normal_score(p: np.ndarray) -> np.ndarray:
    """Phi^-1(p) for p in (0, 1) (Acklam's approximation; see ACKLAM_A)."""
    shape = np.shape(p)
    p = np.asarray(p, dtype=np.float64).reshape(-1)
    q = p - 0.5
    out = q * _horner(ACKLAM_A, q * q) / _horner(ACKLAM_B, q * q)
    tails = np.abs(q) > 0.5 - ACKLAM_LOW  # ~5% of a posterior's points: only they pay for log and sqrt
    if tails.any():
        pt, qt = p[tails], q[tails]
        t = np.sqrt(-2.0 * np.log(np.minimum(pt, 1.0 - pt)))
        tail = _horner(ACKLAM_C, t) / _horner(ACKLAM_D, t)
        out[tails] = np.where(qt < 0, tail, -tail)
    return out.reshape(shape)


def normal_cdf(z) -> np.ndarray:
    """Phi(z), to 1.2e-7 relative in either tail (Numerical Recipes' erfc), elementwise over any array."""
    z = np.asarray(z, dtype=np.float64)
    # In place, in the order of 0.5 t exp(-a^2 + erfc(t)) written out (the same bits): the height term evaluates
    # this on a million points per 10,000 stars, and each temporary array costs as much as the arithmetic.
    a = np.abs(z, out=np.empty(z.shape))  # out=: a 0-d input stays an array, so the in-place steps hold
    a /= np.sqrt(2.0)
    t = np.multiply(a, 0.5, out=np.empty(z.shape))
    t += 1.0
    np.divide(1.0, t, out=t)
    out = _horner(ERFC, t)
    a *= a
    out -= a
    np.exp(out, out=out)
    t *= 0.5
    out *= t  # P(Z > |z|)
    np.subtract(1.0, out, out=out, where=z >= 0)
    return out


__all__ = ["normal_cdf", "normal_score"]
