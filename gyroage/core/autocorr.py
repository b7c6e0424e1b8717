"""emcee's integrated autocorrelation time, vectorised over the stars of a block (the sampler's convergence test)."""

from __future__ import annotations

import numpy as np


def integrated_time(chain: np.ndarray, c: float = 5.0) -> np.ndarray:
    """emcee's integrated autocorrelation time, vectorised over stars.

    ``chain`` is (steps, stars, walkers, ndim); returns (stars, ndim). Matches
    ``emcee.autocorr.integrated_time`` (walker-averaged autocorrelation,
    Sokal's automatic window) star by star; NaN where a chain has no variance.
    """
    n_t = chain.shape[0]
    n = 1 << int(np.ceil(np.log2(max(n_t, 2))))
    out = np.empty(chain.shape[1:2] + chain.shape[3:])
    step = max(1, 2_000_000 // max(1, 2 * n * chain.shape[2] * chain.shape[3]))  # bound FFT memory
    for i in range(0, chain.shape[1], step):
        x = np.asarray(chain[:, i : i + step], dtype=np.float64)
        x = x - x.mean(axis=0, keepdims=True)
        f = np.fft.rfft(x, n=2 * n, axis=0)
        acf = np.fft.irfft(f * np.conjugate(f), axis=0)[:n_t]
        with np.errstate(invalid="ignore", divide="ignore"):
            acf = acf / acf[:1]
        rho = acf.mean(axis=2)  # average over walkers: (steps, stars, ndim)
        taus = 2.0 * np.cumsum(rho, axis=0) - 1.0
        m = np.arange(n_t)[:, None, None] < c * taus
        window = np.where(m.all(axis=0), n_t - 1, np.argmin(m, axis=0))
        out[i : i + step] = np.take_along_axis(taus, window[None], axis=0)[0]
    return out
