"""The sampler's independence proposal: a density that matches its own draws, and chains that mix under large errors."""

from __future__ import annotations

import numpy as np
import pandas as pd

from gyroage.core.mcmc_target import StarInputs
from gyroage.core.moves import IndependenceProposal, StarDraws, node_count, star_keys
from gyroage.core.priors import Prior
from gyroage.core.sampler import SamplerSettings, sample_stars


class _Ridge:
    """A stand-in for the sampler's LogPosterior: a narrow rotation-sequence-like ridge y = 0.5 x - 3.5 + 0.3 c
    (0.04 dex wide) times the colour and period measurement terms, on the log posterior's interface."""

    c_lo, c_hi, y_lo, y_hi = 0.0, 4.0, -1.5, 2.3

    def __init__(self, stars: StarInputs) -> None:
        self.stars, self.prior = stars, Prior()

    def __call__(self, theta: np.ndarray, idx: np.ndarray) -> np.ndarray:
        s = self.stars.take(idx)
        x, c, y = theta[..., 0], theta[..., 1], theta[..., 2]
        lp = -0.5 * ((y - (0.5 * x - 3.5 + 0.3 * c)) / 0.04) ** 2 \
            - 0.5 * ((c - s.bp_rp0[:, None]) / s.bp_rp0_err[:, None]) ** 2 \
            - 0.5 * ((y - s.log10_prot[:, None]) / s.log10_prot_err[:, None]) ** 2
        inside = (x >= 6.0) & (x <= 10.0) & (c >= self.c_lo) & (c <= self.c_hi) & (y >= self.y_lo) & (y <= self.y_hi)
        return np.where(inside, lp, -np.inf)


def test_the_proposal_density_is_that_of_its_draws():
    """log_q must be the density the draws come from (else the chains sample another target): the importance
    identity E_q[g / q] = 1 for normalised Gaussians g on the ridge, off it and in the broad component's reach, for
    stars with one node (small errors) and with 5 and 13 nodes in colour and period."""
    stars = StarInputs(np.array([0.9, 1.0, 1.1]), np.array([0.001, 0.025, 0.2]), np.array([1.0, 1.2, 1.5]),
                       np.array([0.001, 0.15, 0.025]))
    assert node_count(stars.log10_prot_err).tolist() == [1, 5, 13]
    assert node_count(stars.bp_rp0_err).tolist() == [1, 13, 5]
    proposal = IndependenceProposal(_Ridge(stars))
    act, n = np.arange(3), 40_000
    theta = proposal.draw(StarDraws(star_keys(7, act), 0), act, n)
    log_q = proposal.log_q(theta, act)
    assert np.isfinite(log_q).all()
    # within its bin, an age is uniform (as log_q has it, per bin): the position in the bin is uniform overall
    frac = ((theta[..., 0] - proposal.edges[0]) / proposal.dx) % 1.0
    counts = np.histogram(frac, bins=10, range=(0.0, 1.0))[0]
    assert np.all(np.abs(counts - frac.size / 10) < 5 * np.sqrt(frac.size / 10)), counts
    for star in range(3):
        c0, y0, sc, sy = stars.bp_rp0[star], stars.log10_prot[star], stars.bp_rp0_err[star], stars.log10_prot_err[star]
        x0 = 2.0 * (y0 + 3.5 - 0.3 * c0)  # the age on the ridge
        top = theta[star, np.argmax(log_q[star])]  # q's mode among the draws: a node's kernel, in an age bin
        fine = np.array([proposal.dx / 4, 0.25 * sc, 0.25 * sy])  # under a kernel's and a bin's width
        # each g narrower than q in c and y, so that g / q has a finite variance; the fine ones see q's kernels and bins
        for centre, width in (((x0, c0, y0), (0.3, 0.5 * sc, 0.5 * sy)),
                              ((x0 + 0.5, c0 + 0.5 * sc, y0 - 0.5 * sy), (0.5, 0.5 * sc, 0.5 * sy)),
                              ((8.0, c0, y0), (1.0, 0.8 * sc, 0.8 * sy)),
                              (top, fine), (top + np.array([proposal.dx / 3, 0.2 * sc, -0.2 * sy]), fine)):
            z = (theta[star] - np.asarray(centre)) / np.asarray(width)
            log_g = -0.5 * np.sum(z**2, axis=-1) - np.sum(np.log(width)) - 1.5 * np.log(2 * np.pi)
            w = np.exp(log_g - log_q[star])
            assert abs(w.mean() - 1.0) < 4 * w.std() / np.sqrt(n) + 0.01, (star, centre, w.mean())


def test_chains_mix_under_large_period_colour_and_height_errors(model):
    """The proposal drew ages from a grid posterior at the observed colour and period without the period error, the
    colour error beyond the training colours' or the height term, and c and y apart from the age: with 30-50% period
    errors or a 0.3 mag colour error the chains took tau 8-19 steps at acceptance 0.26-0.34 (seeds 1-3), and with
    the height term tau 8-16 at 0.20-0.26; about 1.4-2 and 0.70-0.78 now."""
    prot, colour = np.array([12.69, 19.29, 14.04, 10.0]), np.array([1.78, 2.24, 1.76, 1.0])
    stars = StarInputs(np.log10(prot), np.maximum(np.array([0.3, 0.5, 0.4, 0.0]) / np.log(10.0), 1e-3), colour,
                       np.array([0.015, 0.015, 0.015, 0.3]))
    r = sample_stars(model.density, Prior(), stars, SamplerSettings(min_n_eff=500, max_steps=500), seed=1)
    assert np.all(r.acceptance > 0.55) and np.all(r.tau < 4), (r.acceptance, r.tau)
    assert r.converged.all()

    from gyroage.core.estimate import EstimateSettings, estimate_chunk

    frame = pd.DataFrame({"prot": [10.0, 1.5], "bp_rp0": [1.5, 2.5], "g0": [9.0, 11.0], "parallax": [20.0, 20.0],
                          "parallax_error": [0.1, 1.0]})
    out = estimate_chunk(frame, model.density, EstimateSettings(
        method="mcmc", seed=1, sampler=SamplerSettings(min_n_eff=500, max_steps=500)))
    assert out["ms_height_mag"].notna().all()  # the height term applies to both
    assert np.all(out["mcmc_acceptance"] > 0.55) and np.all(out["mcmc_tau"] < 4), out
    assert (out["status"] != "not_converged").all()
