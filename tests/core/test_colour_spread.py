"""A :class:`gyroage.core.likelihood.ColourSpread` (E(BP-RP) >= 0) through the API's colour marginals."""

import numpy as np
import pytest

from gyroage.core.likelihood import ColourSpread, colour_marginal_log_likelihood, colour_marginal_log_prob, colour_spread


def test_log_prob_clips_the_shifted_middle_node_as_the_grid_does(density):
    """E = 0 +- 0.1 shifts the nodes' centre by 0.08 mag, below the trained colours for a star 0.01 mag inside their
    blue edge: both functions must evaluate that node at the edge (review V25, finding 2: 0.19 nats apart)."""
    lo = density.card.domain["bp_rp0"][0]
    grid = np.linspace(7.0, 9.5, 6)
    for c in (lo + 0.01, lo + 0.05, 0.9):
        spread = colour_spread(np.array([0.0275]), np.array([0.0]), np.array([0.1]), density.card)
        assert spread.shift[0] > 0.05
        ll = colour_marginal_log_likelihood(density, np.log10([3.0]), np.array([c]), np.array([0.0275]), grid, spread,
                                            None)[0]
        lp = colour_marginal_log_prob(density, np.full((1, 6), np.log10(3.0)), grid[None], np.full((1, 6), c),
                                      np.full((1, 6), 0.0275), spread)[0]
        np.testing.assert_allclose(lp, ll, atol=2e-3, err_msg=f"colour {c}")


def test_colour_spread_takes_scalars_as_excess_colour_sigma_does(density):
    """A scalar (or 0-d) star gives the one-star array's numbers, and a scalar ColourSpread has a length of one
    (review V25, finding 3: a TypeError for both)."""
    one = colour_spread(np.array([0.02]), np.array([0.0]), np.array([0.1]), density.card)
    for args in ((0.02, 0.0, 0.1), (np.array(0.02), np.array(0.0), np.array(0.1))):
        spread = colour_spread(*args, density.card)
        assert np.ndim(spread.sigma) == 0 and np.ndim(spread.shift) == 0
        assert float(spread.sigma) == one.sigma[0] and float(spread.shift) == one.shift[0]
        assert len(spread) == 1
    assert len(ColourSpread(0.06, 0.08)) == 1 and len(one) == 1


def test_a_shift_that_is_not_a_finite_number_is_refused_as_a_nan_width_is():
    """A NaN shift gave NaN likelihoods and a NaN group age with raw RuntimeWarnings (review V25, finding 4)."""
    for bad in (np.nan, np.inf, -np.inf):
        with pytest.raises(ValueError, match=r"shift must be a finite number \(mag\): star 0 has"):
            ColourSpread(np.array([0.06, 0.06]), np.array([bad, 0.08]))
        with pytest.raises(ValueError, match="shift"):
            ColourSpread(0.06, bad)
    ColourSpread(np.array([0.06, 0.0]), np.array([0.08, 0.0]))  # finite: accepted


def test_a_reddening_far_below_0_still_gives_likelihoods(density):
    """estimate refuses E < 0, the API does not: E = -2 +- 0.1 (20 sd below the truncation) on the 5-node tier must
    not end in a LinAlgError from the truncated density's moments (their Hankel matrix is no longer positive)."""
    err, e = np.array([0.06, 0.09, 0.06, 0.09, 0.09]), np.array([-2.0, -2.0, -4.0, -4.0, 0.0])
    spread = colour_spread(err, e, np.full(5, 0.1), density.card)
    assert (spread.sigma > 0.05).all()
    ll = colour_marginal_log_likelihood(density, np.log10(np.full(5, 5.0)), np.ones(5), err, np.linspace(7.0, 9.5, 6),
                                        spread, None)
    assert np.isfinite(ll).all()


def test_a_reddening_6_to_10_sd_below_0_still_gives_likelihoods(density):
    """Review V27: the 5-node moments' Hankel matrix fails from about 6.4 sd below 0, inside the old 10-sd fallback
    edge, and one such star made the whole call a LinAlgError (E = -3.5 +- 0.5, and a scan from -10 to -6.35 sd)."""
    k = np.linspace(-9.99, -6.0, 40)
    se = np.full(k.size, 0.5)
    err = np.full(k.size, 0.09)
    spread = colour_spread(err, k * se, se, density.card)
    ll = colour_marginal_log_likelihood(density, np.log10(np.full(k.size, 5.0)), np.ones(k.size), err,
                                        np.linspace(7.0, 9.5, 6), spread, None)
    assert np.isfinite(ll).all()
