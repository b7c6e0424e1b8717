"""README's method description ("The model") says what gyroage computes, with the card's and the code's numbers.

Review V62 rederived `gyroage estimate`'s ages from the README and models/ alone and found seven places where the
description was wrong or not enough; each test here holds one of them to the code and the card.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from tests.conftest import ROOT


def model_section() -> str:
    """README's "The model" section up to "Embedding", its line breaks and indents taken as single spaces."""
    text = (ROOT / "README.md").read_text()
    start = text.index("\n## The model\n")
    return " ".join(text[start:text.index("\n### Embedding", start)].split())


def median(pdf: np.ndarray, grid: np.ndarray) -> float:
    """A pdf row's median on the grid (log10 yr), by gyroage's own CDF and quantile rule."""
    from gyroage.core.grid_cdf import cdf, cdf_quantiles

    return float(cdf_quantiles(cdf(pdf, grid), grid, [0.5]).ravel()[0])


def test_under_a_prior_that_is_not_flat_the_likelihood_is_narrowed_before_the_prior(model):
    """Review V62 1: README said posteriors whose median is under 10 Myr are narrowed by the level scale; under a prior
    that is not flat the whole calibration acts on the likelihood, whose median decides the narrowing, and the prior
    multiplies after: 2 d at 3.6 mag under uniform_age has a 2.6 Gyr posterior median, narrowed all the same."""
    from gyroage.core.calibration import Calibration
    from gyroage.core.posterior import normalise
    from gyroage.core.priors import Prior

    prior, colour = Prior(kind="uniform_age"), np.array([3.6])
    post = model.posterior(2.0, 3.6, prior=prior, refine_tol=None)
    grid = post.grid
    ll = model.log_likelihood(2.0, 3.6, age_myr=10 ** (grid - 6), outlier_weight=0).astype(np.float64)[None, :]
    log_prior = prior.log_prob(grid[None, :])
    cal = Calibration.from_card(model.card)
    like = cal.apply(normalise(ll, grid), grid, colour)
    wide = dataclasses.replace(cal, level_scale=1.0).apply(normalise(ll, grid), grid, colour)  # not narrowed
    assert np.abs(post.pdf - normalise(np.log(like) + log_prior, grid)).max() < 1e-9 * post.pdf.max()
    m_like, m_post = median(wide, grid), median(post.pdf, grid)
    m_wide = median(normalise(np.log(wide) + log_prior, grid), grid)
    assert m_like < cal.level_knots[0] and m_post > cal.level_knots[1] + 1 and m_wide - m_post > 0.2
    text = model_section()
    assert (f"`level_scale` {cal.level_scale:g}" in text
            and f"`level_knots` {cal.level_knots[0]} and {cal.level_knots[1]}" in text)
    assert ("Under a prior that is not flat (below) this whole calibration, the narrowing included, acts on the "
            "normalised likelihood (with magnitudes, times the height term), whose median after the kernel decides "
            "the narrowing, before the prior multiplies it") in text
    assert (f"likelihood median {10 ** (m_like - 6):.0f} Myr, posterior median {10 ** (m_post - 9):.1f} Gyr, "
            f"{m_wide - m_post:.2f} dex younger than unnarrowed") in text
    assert "was fitted under the default prior only" in text
