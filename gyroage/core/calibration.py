"""The model's empirical calibration of age posteriors (fitted by leave-one-cluster-out in
:mod:`gyroage.build.calibration`), applied to grid posteriors and to MCMC samples alike.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gyroage.core.posterior import cdf, cdf_quantiles

KERNEL_DRAWS = 8  # kernel draws per MCMC sample (Calibration.sample_quantiles)


@dataclass(frozen=True)
class Calibration:
    """The model's empirical calibration of age posteriors, fitted by leave-one-cluster-out.

    Two parts, both functions of the posterior itself (never of a true age):

    * a systematic error: each posterior is convolved with a Gaussian in log10
      age whose width ``sigma_dex`` is given at ``log10_age_knots`` (linear in
      between, constant beyond); it widens intervals where held-out clusters
      scatter beyond their statistical errors;
    * a level scale: where the posterior median lies below ``level_knots[0]``
      (log10 yr), credible levels are scaled about the median by
      ``level_scale`` (< 1 narrows), rising linearly to 1 at ``level_knots[1]``;
      it narrows intervals that held more truths than their level (young
      clusters), without moving the median: the CDF F becomes
      clip(0.5 + (F - 0.5) / s, 0, 1).
    """

    log10_age_knots: tuple[float, ...] = ()
    sigma_dex: tuple[float, ...] = ()
    level_knots: tuple[float, float] = (7.7, 8.2)
    level_scale: float = 1.0

    @classmethod
    def from_dict(cls, c: dict | None) -> Calibration | None:
        if not c:
            return None
        # JSON gives lists; the dataclass's defaults fill what a card leaves out
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in c.items() if k in cls.__dataclass_fields__})

    @classmethod
    def from_card(cls, card) -> Calibration | None:
        return cls.from_dict(getattr(card, "calibration", None))

    def to_dict(self) -> dict:
        return {"log10_age_knots": list(self.log10_age_knots), "sigma_dex": [round(float(v), 4) for v in self.sigma_dex],
                "level_knots": list(self.level_knots), "level_scale": round(float(self.level_scale), 4)}

    def sigma(self, log10_age) -> np.ndarray:
        if not self.sigma_dex:
            return np.zeros(np.shape(log10_age))
        return np.interp(log10_age, self.log10_age_knots, self.sigma_dex)

    def kernel(self, grid: np.ndarray) -> np.ndarray:
        """(grid x grid) matrix K[i, j]: where mass at age i goes, each row integrating to 1 on the grid."""
        s = np.maximum(self.sigma(grid), 1e-3)[:, None]
        k = np.exp(-0.5 * ((grid[None, :] - grid[:, None]) / s) ** 2)
        return k / np.trapezoid(k, grid, axis=1)[:, None]

    def scale_of(self, median: np.ndarray) -> np.ndarray:
        """The level scale of posteriors with these medians (log10 yr)."""
        lo, hi = self.level_knots
        return np.interp(median, [lo, hi], [self.level_scale, 1.0])

    def apply(self, pdf: np.ndarray, grid: np.ndarray) -> np.ndarray:
        """Calibrated pdf rows, renormalised on the grid (NaN rows stay NaN)."""
        out = np.nan_to_num(pdf)
        if self.sigma_dex and max(self.sigma_dex) > 0:
            w = np.zeros(len(grid))  # trapezoid weights of the source points
            w[1:] += 0.5 * np.diff(grid)
            w[:-1] += 0.5 * np.diff(grid)
            out = (out * w) @ self.kernel(grid)
        with np.errstate(invalid="ignore", divide="ignore"):
            out /= np.trapezoid(out, grid, axis=-1)[..., None]
            if self.level_scale != 1.0:
                out = self._scale_levels(out, grid)
        return np.where(np.isfinite(pdf).all(axis=-1, keepdims=True), out, np.nan)

    def sample_quantiles(self, samples: np.ndarray, qs, bounds: tuple[float, float],
                         rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Quantiles of one star's calibrated posterior from its samples (log10 yr), and the calibrated samples.

        The kernel moves each sample by a Gaussian of its width truncated to ``bounds`` (the grid's
        prior bounds, as the kernel's rows are renormalised on the grid); the level scale then
        maps the levels about the median.
        """
        x = np.asarray(samples, dtype=float)
        sig = self.sigma(x)
        if np.any(sig > 0):
            # several kernel draws per sample, so the convolution adds little Monte Carlo noise
            x, sig = np.tile(x, KERNEL_DRAWS), np.tile(sig, KERNEL_DRAWS)
            from scipy.special import ndtr, ndtri

            s = np.maximum(sig, 1e-12)
            a, b = ndtr((bounds[0] - x) / s), ndtr((bounds[1] - x) / s)
            x = np.where(sig > 0, x + s * ndtri(a + rng.uniform(size=x.shape) * (b - a)), x)
        q = np.asarray(qs, dtype=float)
        if self.level_scale != 1.0:
            q = 0.5 + self.scale_of(np.median(x)) * (q - 0.5)
        return np.quantile(x, q), x

    def _scale_levels(self, pdf: np.ndarray, grid: np.ndarray) -> np.ndarray:
        c = cdf(pdf, grid)
        s = self.scale_of(cdf_quantiles(c, grid, [0.5])[:, 0])[:, None]
        inside = np.abs(c - 0.5) <= 0.5 * s  # where the scaled CDF is within [0, 1]: everywhere when s is 1
        out = np.where(inside, pdf / s, 0.0)
        return out / np.trapezoid(out, grid, axis=-1)[..., None]


def smear(pdf: np.ndarray, grid: np.ndarray, sigma_dex: float) -> np.ndarray:
    """Convolve pdf rows with a Gaussian of ``sigma_dex`` in log10 age (a :class:`Calibration` of constant width)."""
    if sigma_dex <= 0:
        return pdf
    return Calibration((float(grid[0]),), (float(sigma_dex),)).apply(pdf, grid)
