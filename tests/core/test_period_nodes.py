"""The grid method's period error: the flow's likelihood averaged over the true log period (period_nodes).

Until then the grid ignored ``prot_err``: a 13.9 d, (BP-RP)0 = 1.32 star with a 30% period error had a 68% interval
0.61 dex wide where its MCMC chain's was 1.19, and a median 0.19 dex older than the chain's.
"""

import warnings

import numpy as np
import pandas as pd
import pytest

from gyroage.core import period_nodes
from gyroage.core.estimate import EstimateSettings
from gyroage.core.likelihood import colour_marginal_log_likelihood
from gyroage.core.posterior import age_grid

PCT = ["age_p2.5_myr", "age_p16_myr", "age_p50_myr", "age_p84_myr", "age_p97.5_myr"]
# 30% period errors on stars where ignoring them moved the median 0.19, 0.19 and 0.30 dex from the chain's
STARS = pd.DataFrame({"prot": [13.878, 9.498, 1.328], "bp_rp0": [1.322, 1.080, 2.047], "bp_rp0_err": [0.02] * 3})


def _log(frame, col):
    return np.log10(frame[col].to_numpy(dtype=float))


def test_a_star_without_a_period_error_keeps_the_colour_marginal_likelihood_exactly(density):
    grid = age_grid(6.3, 10.0, 81)
    args = (np.log10([1.0, 10.0, 25.4]), np.array([2.0, 1.2, 0.82]), np.full(3, 0.02), grid, np.array([0.0, 0.1, 0.0]))
    plain = colour_marginal_log_likelihood(density, *args)
    for sigma in (None, 0.0, np.array([0.0, 0.0, 0.004])):  # 0.004 dex: below the first tier's bound
        assert np.array_equal(period_nodes.period_marginal_log_likelihood(density, *args, period_sigma=sigma), plain)


def test_node_counts_grow_with_the_error_and_keep_the_spacing():
    sigma = np.array([0.0, 0.004, 0.008, 0.02, 0.03, 0.05, 0.1, 0.3, 3.0])
    n = period_nodes.node_count(sigma)
    assert n[0] == n[1] == 1 and n[2] == 3 and np.all(np.diff(n) >= 0) and np.all(n % 2 == 1)
    # cut at the trained periods: fewer nodes over what is left, none where nothing is
    assert np.array_equal(period_nodes.node_count(sigma[-3:], [0.4, 0.4, -1.0]), [11, 11, 1])
    wide = sigma > period_nodes.PERIOD_NODE_TIERS[-1][0]
    spacing = 7.0 * sigma[wide] / (n[wide] - 1)
    assert np.all(spacing[:-1] <= period_nodes.PERIOD_NODE_SPACING + 1e-12)  # the last is capped
    assert n[-1] == period_nodes.MAX_PERIOD_NODES


@pytest.mark.parametrize("frac", [0.015, 0.05, 0.3, 0.6])
def test_the_nodes_meet_a_dense_sum_over_the_true_period(density, frac):
    """Every percentile within 0.01 dex of 601 evenly spaced nodes over +-5 sd, computed here from the colour-marginal
    likelihood alone (flat prior, no calibration)."""
    p, c, e = STARS.prot.to_numpy(), STARS.bp_rp0.to_numpy(), STARS.bp_rp0_err.to_numpy()
    grid = age_grid(6.3, 10.0, 401)
    sig = np.full(3, frac / np.log(10.0))
    ll = period_nodes.period_marginal_log_likelihood(density, np.log10(p), c, e, grid, period_sigma=sig)
    u = np.linspace(-5.0, 5.0, 601)
    w = np.exp(-0.5 * u**2)
    w /= w.sum()
    rows = np.repeat(np.arange(3), u.size)
    dense = colour_marginal_log_likelihood(density, np.log10(p)[rows] + (sig[:, None] * u).ravel(), c[rows], e[rows],
                                           grid, refine_tol=None).astype(float).reshape(3, u.size, -1)
    top = dense.max(axis=1, keepdims=True)
    dense = (top + np.log(np.einsum("k,skg->sg", w, np.exp(dense - top))[:, None, :]))[:, 0]

    def pct(loglike):
        pdf = np.exp(loglike - loglike.max(axis=1, keepdims=True))
        cdf = np.cumsum(pdf, axis=1)
        cdf /= cdf[:, -1:]
        return np.array([[np.interp(q, s, grid) for q in (0.025, 0.16, 0.5, 0.84, 0.975)] for s in cdf])

    assert np.abs(pct(ll.astype(float)) - pct(dense)).max() < 0.01


def test_estimate_reads_the_period_error_as_the_chain_does(model):
    """Grid medians within 0.03 dex of the MCMC's, and 68% widths within 10%, at 30% period errors."""
    frame = STARS.assign(prot_err=0.3 * STARS.prot)
    grid = model.estimate(frame, EstimateSettings(prior=model.default_prior, seed=3))
    chain = model.estimate(frame, EstimateSettings(prior=model.default_prior, method="mcmc", seed=3))
    assert (grid.status == "ok").all() and (chain.status == "ok").all()
    assert np.abs(_log(grid, "age_p50_myr") - _log(chain, "age_p50_myr")).max() < 0.03
    width = lambda f: _log(f, "age_p84_myr") - _log(f, "age_p16_myr")  # noqa: E731
    assert np.abs(width(grid) / width(chain) - 1).max() < 0.1
    # and the error widens the interval: without it the first star's was 0.61 dex against the chain's 1.19
    alone = model.estimate(STARS, EstimateSettings(prior=model.default_prior, seed=3))
    assert np.all(width(grid) > width(alone) * 1.15)


def test_a_period_error_wider_than_every_trained_period_leaves_the_age_to_the_prior(model):
    """A 100x period error spread its evenly spaced nodes over +-150 dex: all but the middle one fell where the flow
    has no periods, so the star was dated as if its period were exact (253-1357 Myr, as with no error); 1e300 days
    overflowed the node count (warnings, status invalid_prior). Cut at the trained periods, as the MCMC's chains are,
    every such star keeps the flat prior's width (68% of 4 dex in log age)."""
    frame = pd.DataFrame({"prot": [12.0] * 4, "prot_err": [1200.0, 12000.0, 1e300, 0.0], "bp_rp0": [1.2] * 4})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # but the run's end-of-run line on them (period_err_uninformative), which is the point
        warnings.filterwarnings("ignore", message=".*period_err_uninformative", category=UserWarning)
        out = model.estimate(frame, EstimateSettings(prior=model.default_prior))
    assert (out.status == "ok").all(), out.status.tolist()
    assert list(out.age_flags) == ["period_err_uninformative"] * 3 + [""]
    width = _log(out, "age_p84_myr") - _log(out, "age_p16_myr")
    assert np.all(width[:3] > 2.0) and width[3] < 1.0, width.round(2)
    assert np.ptp(_log(out, "age_p50_myr")[:3]) < 0.05


def test_ages_near_a_trained_period_edge_are_continuous_in_the_period_error(model):
    """A 210 d star (trained periods end at 217 d) took uncut Gauss-Hermite nodes up to an 8.06% error and evenly
    spaced ones cut at the edge above it: its median stepped 3314 -> 3672 Myr (0.045 dex) between 8.0% and 8.1%."""
    frame = pd.DataFrame({"prot": [210.0] * 2, "prot_err": [16.8, 17.01], "bp_rp0": [1.0] * 2, "bp_rp0_err": 0.02})
    out = model.estimate(frame, EstimateSettings(prior=model.default_prior))
    assert abs(np.diff(_log(out, "age_p50_myr"))[0]) < 0.015, out.age_p50_myr.tolist()
    assert abs(np.diff(_log(out, "age_p16_myr"))[0]) < 0.015, out.age_p16_myr.tolist()


def test_gauss_hermite_stars_whose_window_is_cut_take_evenly_spaced_nodes():
    sigma = np.array([0.01, 0.03, 0.03, 0.03])
    n = period_nodes.node_count(sigma, [0.07, 0.21, 0.15, -0.01])  # uncut, uncut, cut, nothing trained near
    assert n[0] == 3 and n[1] == 5 and n[3] == 1
    assert n[2] >= 7 and n[2] % 2 == 1 and 0.15 / (n[2] - 1) <= period_nodes.EDGE_SPACING_SD * 0.03 + 1e-12


@pytest.mark.parametrize("colour_err", [0.02, 0.15])  # the colour's own nodes alone; each period node x colour's
def test_the_node_rows_are_evaluated_in_bounded_slices(density, monkeypatch, colour_err):
    """A block's stars x period nodes (x colour nodes x grid points) were evaluated in one piece: 2,000 stars with
    0.15 mag colour errors and 100% period errors took 2.4 GB. Now at most NODE_ROWS star-node rows at once."""
    seen = []
    for name in ("_flow_log_likelihood", "colour_marginal_log_likelihood"):
        own = getattr(period_nodes, name)
        monkeypatch.setattr(period_nodes, name, lambda *a, _own=own, **k: seen.append(len(a[1])) or _own(*a, **k))
    n = 160
    prot, colour = np.full(n, 8.0), np.linspace(0.8, 1.8, n)  # the same period: every star's node count alike
    grid = age_grid(6.3, 10.0, 101)
    args = (np.log10(prot), colour, np.full(n, colour_err), grid, np.full(n, colour_err))
    sig = np.full(n, 1.0 / np.log(10.0))  # 100%: 79 nodes a star, 12,640 rows
    sliced = period_nodes.period_marginal_log_likelihood(density, *args, period_sigma=sig)
    assert 0 < max(seen) <= 8192 < sum(seen), (max(seen), sum(seen))
    monkeypatch.setattr(period_nodes, "NODE_ROWS", 10**9)
    seen.clear()
    whole = period_nodes.period_marginal_log_likelihood(density, *args, period_sigma=sig)
    assert max(seen) > 8192  # in one piece, as before
    # the same sums; float32 rounding of the flow's refinement can move with a call's rows (<= 1e-6 measured)
    np.testing.assert_allclose(sliced, whole, rtol=0, atol=1e-5)


def test_a_period_outside_the_trained_ones_takes_the_gaussians_wider_tail(density):
    """At 0.03 d and 2.0 mag (period_outside_training) the flow's likelihood at the observed period is ~e^5 below
    that a few sd away, so the Gaussian beyond +-3.5 sd carried much of the sum: at a 50% error the nodes' median lay
    0.145 dex above a dense sum over +-7 sd (cut at the trained periods, as the chains are)."""
    grid = age_grid(6.0, 10.0, 101)
    y_lo, y_hi = density.card.domain["log10_prot"]
    y, sig = np.log10(0.03), 0.5 / np.log(10.0)
    ll = period_nodes.period_marginal_log_likelihood(density, [y], [2.0], [0.02], grid, period_sigma=[sig])[0]
    true = np.linspace(max(y - 7 * sig, y_lo), min(y + 7 * sig, y_hi), 401)
    each = colour_marginal_log_likelihood(density, true, np.full(true.size, 2.0), np.full(true.size, 0.02), grid,
                                          refine_tol=None).astype(float)
    dense = np.logaddexp.reduce(each - 0.5 * ((true[:, None] - y) / sig) ** 2, axis=0)

    def median(loglike):
        cdf = np.cumsum(np.exp(loglike - loglike.max()))
        return np.interp(0.5, cdf / cdf[-1], grid)

    assert abs(median(ll.astype(float)) - median(dense)) < 0.04, (median(ll.astype(float)), median(dense))
