"""The public Python surface: :class:`AgeModel`.

Array in, array out; no torch. One onnxruntime session per model, which
onnxruntime allows to be run from several threads at once.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from gyroage.density import FlowDensity
from gyroage.estimate import EstimateSettings, estimate_chunk
from gyroage.posterior import GridPosterior, grid_log_likelihood, grid_posterior
from gyroage.priors import Prior


class AgeModel:
    """A trained gyrochronology model.

    Examples
    --------
    >>> model = AgeModel.load()
    >>> post = model.posterior(prot=25.4, bp_rp0=0.82)
    >>> post.summaries()["age_p50_myr"]
    """

    def __init__(self, density: FlowDensity) -> None:
        self.density = density
        self.card = density.card

    @classmethod
    def load(cls, path: str | Path | None = None, threads: int | None = None) -> AgeModel:
        """The shipped model, or the one at ``path`` (directory, card JSON or ONNX file)."""
        return cls(FlowDensity(path, threads=threads))

    @property
    def default_prior(self) -> Prior:
        g = self.card.age_grid
        return Prior("uniform_log_age", g["log10_age_min"], g["log10_age_max"])

    def _err(self, bp_rp0, bp_rp0_err):
        if bp_rp0_err is None:
            return np.full(np.shape(bp_rp0), self.card.default_bp_rp0_err)
        return bp_rp0_err

    def log_likelihood(self, prot, bp_rp0, age_myr, bp_rp0_err=None, outlier_weight: float | None = None) -> np.ndarray:
        """log p(log10 Prot | age, colour) per dex, broadcast over the inputs."""
        return self.density.log_prob(np.log10(prot), np.log10(np.asarray(age_myr, dtype=float) * 1e6),
                                     bp_rp0, self._err(bp_rp0, bp_rp0_err), outlier_weight=outlier_weight)

    def posterior(self, prot, bp_rp0, bp_rp0_err=None, prior: Prior | None = None,
                  n_grid: int | None = None) -> GridPosterior:
        """Grid posteriors over log10 age for arrays of stars."""
        prot, bp_rp0 = np.atleast_1d(prot).astype(float), np.atleast_1d(bp_rp0).astype(float)
        err = np.broadcast_to(self._err(bp_rp0, bp_rp0_err), bp_rp0.shape)
        return grid_posterior(self.density, np.log10(prot), bp_rp0, err, prior or self.default_prior,
                              n_grid or self.card.age_grid["n"])

    def estimate(self, frame: pd.DataFrame, settings: EstimateSettings | None = None) -> pd.DataFrame:
        """``gyroage estimate`` on a DataFrame: every row back with ages and a status."""
        s = settings or EstimateSettings(prior=self.default_prior, n_grid=self.card.age_grid["n"])
        return estimate_chunk(frame, self.density, s)

    def sample_periods(self, age_myr, bp_rp0, n: int = 1, bp_rp0_err=None, seed: int | None = None,
                       n_points: int = 1024) -> np.ndarray:
        """Draw ``n`` periods (days) per (age, colour) pair from the flow (no outlier term).

        Inverse-CDF sampling on a fine log10-period grid: needs only the density
        graph, so it works wherever onnxruntime does. Output shape: inputs' shape + (n,).
        """
        age, colour = np.broadcast_arrays(np.asarray(age_myr, dtype=float), np.asarray(bp_rp0, dtype=float))
        err = np.broadcast_to(self._err(colour, bp_rp0_err), colour.shape)
        lo, hi = self.card.domain["log10_prot"]
        x = np.linspace(lo, hi, n_points)
        lp = self.density.log_prob_flow(x[None, :], np.log10(age.reshape(-1, 1) * 1e6),
                                        colour.reshape(-1, 1), err.reshape(-1, 1))
        pdf = np.exp(lp - lp.max(axis=1, keepdims=True))
        c = np.concatenate([np.zeros((len(pdf), 1)), np.cumsum(0.5 * (pdf[:, 1:] + pdf[:, :-1]), axis=1)], axis=1)
        c /= c[:, -1:]
        u = np.random.default_rng(seed).uniform(size=(len(pdf), n))
        j = np.clip((c[:, :, None] < u[:, None, :]).sum(axis=1) - 1, 0, n_points - 2)
        c0, c1 = np.take_along_axis(c, j, 1), np.take_along_axis(c, j + 1, 1)
        t = np.where(c1 > c0, (u - c0) / np.where(c1 > c0, c1 - c0, 1.0), 0.0)
        logp = x[j] + t * (x[1] - x[0])
        return (10**logp).reshape(colour.shape + (n,))

    def grid_log_likelihood(self, prot, bp_rp0, bp_rp0_err, log10_age_grid) -> np.ndarray:
        return grid_log_likelihood(self.density, np.log10(prot), bp_rp0, bp_rp0_err, log10_age_grid)
