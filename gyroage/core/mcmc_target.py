"""What the MCMC chains sample: each star's inputs and its log posterior over theta = (log10 age, true colour, true
log10 period), with the truncated-Gaussian reddening term (:mod:`gyroage.core.sampler` describes the model).

Split from :mod:`gyroage.core.sampler`, which runs the chains.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gyroage.core.density import FlowDensity
from gyroage.core.main_sequence import MainSequenceTerm
from gyroage.core.priors import Prior


@dataclass
class StarInputs:
    """Per-star arrays for the sampler (all length n)."""

    log10_prot: np.ndarray
    log10_prot_err: np.ndarray
    bp_rp0: np.ndarray
    bp_rp0_err: np.ndarray
    ebprp: np.ndarray | None = None
    ebprp_err: np.ndarray | None = None
    prior_mean: np.ndarray | None = None
    prior_sigma: np.ndarray | None = None
    abs_g: np.ndarray | None = None  # de-reddened absolute G, for the main-sequence height term (NaN: unknown)
    abs_g_err: np.ndarray | None = None  # its error, mag (NaN: none known)
    # the training clusters' lowest and highest log10 age at the star's colour, for SampleResult.outside (None: not
    # counted; NaN: no trained ages there, every sample outside)
    trained_lo: np.ndarray | None = None
    trained_hi: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.log10_prot)

    def take(self, idx) -> StarInputs:
        return StarInputs(*(None if v is None else np.asarray(v)[idx] for v in
                            (getattr(self, f) for f in self.__dataclass_fields__)))


def colour_log_like(c_true, c_obs, sig_c, ebprp, ebprp_err):
    """Colour measurement term (with the optional truncated-Gaussian reddening error)."""
    d = c_obs - c_true
    if ebprp is None:
        return -0.5 * (d / sig_c) ** 2
    from scipy.special import log_ndtr  # only needed with an extinction column

    # E unknown (an error beside bp_rp0 without its value): E >= 0 bounds nothing, the convolution is not truncated
    known = np.isfinite(ebprp)
    e = np.where(known, ebprp, 0.0)
    se = np.where(np.isfinite(ebprp_err) & (ebprp_err > 0), ebprp_err, 0.0)
    plain = -0.5 * (d / sig_c) ** 2
    s2 = sig_c**2 + se**2
    # over: a reddening error as tiny as 1e-320 mag makes (mu + e) / t and e / se +-inf, whose log_ndtr is the limit
    # wanted (an exact E)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        mu = d * se**2 / s2
        t = sig_c * se / np.sqrt(s2)
        # added term by term, in this order, so that a known E gives the same floats as before
        conv = (-0.5 * d**2 / s2 - 0.5 * np.log(s2 / sig_c**2) + np.where(known, log_ndtr((mu + e) / t), 0.0)
                - np.where(known, log_ndtr(e / se), 0.0))
    return np.where(se > 0, conv, plain)


class LogPosterior:
    """log p(theta) for many stars at once; ``theta`` is (stars, walkers, 3)."""

    def __init__(self, density: FlowDensity, prior: Prior, stars: StarInputs, outlier_weight: float | None = None,
                 main_sequence: MainSequenceTerm | None = None):
        self.density, self.prior, self.stars, self.w = density, prior, stars, outlier_weight
        self.main_sequence = main_sequence if stars.abs_g is not None else None
        dom = density.card.domain
        self.s0 = float(dom["bp_rp0_err"][0])
        self.c_lo, self.c_hi = dom["bp_rp0"]
        self.y_lo, self.y_hi = dom["log10_prot"]

    def __call__(self, theta: np.ndarray, idx: np.ndarray | None = None) -> np.ndarray:
        s = self.stars if idx is None else self.stars.take(idx)
        col = lambda a: None if a is None else np.asarray(a)[:, None]  # noqa: E731
        x, c, y = theta[..., 0], theta[..., 1], theta[..., 2]
        lp = self.prior.log_prob(x, col(s.prior_mean), col(s.prior_sigma))
        lp = lp + colour_log_like(c, col(s.bp_rp0), col(s.bp_rp0_err), col(s.ebprp), col(s.ebprp_err))
        lp = lp - 0.5 * ((y - col(s.log10_prot)) / col(s.log10_prot_err)) ** 2
        if self.main_sequence is not None:
            # at the observed colour, as the grid method and the LOCO fit of the term's widths have it
            lp = lp + self.main_sequence.log_density(col(s.bp_rp0), col(s.abs_g), x, col(s.abs_g_err))
        inside = np.isfinite(lp) & (c >= self.c_lo) & (c <= self.c_hi) & (y >= self.y_lo) & (y <= self.y_hi)
        out = np.full(x.shape, -np.inf)
        if inside.any():
            lf = self.density.log_prob(y[inside], x[inside], c[inside], self.s0, outlier_weight=self.w)
            out[inside] = lp[inside] + lf
        return out
