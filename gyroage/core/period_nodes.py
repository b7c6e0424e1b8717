"""The period's measurement error in the grid method: the flow's likelihood averaged over the true log period, a
Gaussian of the star's ``prot_err`` about the observed one (nodes in tiers by its width), each node's likelihood
:func:`gyroage.core.likelihood.colour_marginal_log_likelihood`'s (so over the true colour too).
"""

from __future__ import annotations

import numpy as np

from gyroage.core.density import FlowDensity
from gyroage.core.domain import SequenceDomain
from gyroage.core.likelihood import (
    COLOUR_NODE_TIERS,
    EVEN_COARSEST,
    EVEN_REFINE_TOL,
    MAX_GAUSS_HERMITE,
    NODE_COARSEST,
    NODE_REFINE_TOL,
    REFINE_TOL,
    ColourSpread,
    _flow_log_likelihood,
    colour_marginal_log_likelihood,
    log_sum_nodes,
    spread_rows,
    tier_nodes,
)

# (largest period sd in dex, nodes) of the Gauss-Hermite tiers; wider errors take evenly spaced nodes. The flow's
# period spread at fixed colour and age is 0.04-0.05 dex at its narrowest (1.2-1.8 mag, 0.6-3 Gyr), so an error below
# the first bound (1.2% in period) widens it by under 1% and is left out (the likelihood is then the one-node grid's).
PERIOD_NODE_TIERS = ((0.005, 1), (0.02, 3), (0.035, 5))
# Evenly spaced nodes over +-3.5 sd (cut at the trained periods, as the MCMC's chains are) at most this far apart
# (dex), under the flow's narrowest spread. Against 401 evenly spaced nodes (1,200 stars, 2-50% errors): p16-p84 0.02
# dex apart missed by at most 0.006 dex, 0.04 by 0.009, 0.06 by 0.019; p2.5 on a flat young tail 0.02, 0.07 (one star)
# and more; three Gauss-Hermite nodes up to 0.03 dex missed p16-p84 by 0.012, five up to 0.045 by 0.027.
PERIOD_NODE_SPACING = 0.04
EVEN_SPAN = 3.5
# ... and over +-5 sd where the observed period lies outside the trained periods at the star's colour
# (period_outside_training): there the flow's likelihood at the observed period can be e^5 below that a few sd away,
# so the Gaussian's tail beyond 3.5 sd (2e-3 of it) carried much of the sum: a 0.03 d, 2.0 mag star at a 50% error
# was dated 0.15 dex older than a dense sum over +-7 sd (which +-5 meets to 0.002 dex). Elsewhere the spans agree.
WIDE_SPAN = 5.0
# the most nodes a star takes: the trained periods' whole range (3.88 dex for the shipped model) at the spacing above
MAX_PERIOD_NODES = 99
# A Gauss-Hermite star (errors of 1.2-8%) whose +-EVEN_SPAN sd window crosses a trained period's edge takes evenly
# spaced nodes over the cut window instead, as wider errors do (where the chains stop): uncut, a 210 d star's age
# stepped 3314 -> 3672 Myr as its error crossed 8.06% (chain: 3804 / 3828). Its sd is only 0.005-0.035 dex, so the
# nodes are at most this many sds apart (at most 21 nodes); so are an evenly spaced tier's over a cut window.
EDGE_SPACING_SD = 0.5
# Star-node rows evaluated at once, each times the colour's nodes and the grid's points (float32, then float64):
# in one piece, 2,000 stars with 0.15 mag colour errors and 100% period errors took 2.4 GB.
NODE_ROWS = 8192


def period_sigma(prot, prot_err) -> np.ndarray:
    """Per star, the sd (dex) of log10 Prot from ``prot_err`` (days), as the MCMC has it: prot_err / (Prot ln 10);
    0 where no error is known (NaN) or it is not a finite number >= 0."""
    prot, err = (np.asarray(a, dtype=float) for a in (prot, prot_err))
    with np.errstate(divide="ignore", invalid="ignore"):
        sig = err / (prot * np.log(10.0))
    # an error too large for a float (prot_err / Prot overflowing) spreads the nodes over every trained period
    return np.where(sig > 0, sig, 0.0)


def node_window(log10_prot, sigma, card, span=EVEN_SPAN) -> tuple[np.ndarray, np.ndarray]:
    """Per star, the log10 periods (lo, hi) the evenly spaced nodes span: +-``span`` sd (per star or one) about the
    observed period, cut at the trained periods (the card's ``domain.log10_prot``), where the MCMC's chains stop."""
    y_lo, y_hi = card.domain["log10_prot"]
    y, sigma, span = (np.asarray(a, dtype=float) for a in (log10_prot, sigma, span))
    with np.errstate(invalid="ignore", over="ignore"):
        return np.maximum(y - span * sigma, y_lo), np.minimum(y + span * sigma, y_hi)


def node_count(sigma: np.ndarray, width: np.ndarray | None = None, span=EVEN_SPAN) -> np.ndarray:
    """Nodes per star for its period sd ``sigma`` (dex): the Gauss-Hermite tiers', then an odd number of evenly
    spaced nodes at most :data:`PERIOD_NODE_SPACING` apart over ``width`` (dex; default 2 x ``span`` sd),
    at least 7 and at most :data:`MAX_PERIOD_NODES`; one where the width is not above 0 (no trained period near).
    A Gauss-Hermite star whose window is cut (``width`` under 2 x ``span`` sd) takes evenly spaced nodes
    at most :data:`EDGE_SPACING_SD` sd apart over it (at least 7); a wider error's over a cut window are at most
    that far apart too where it is finer than :data:`PERIOD_NODE_SPACING`."""
    sigma = np.asarray(sigma, dtype=float)
    span = np.broadcast_to(np.asarray(span, dtype=float), sigma.shape)
    width = 2 * span * sigma if width is None else np.broadcast_to(np.asarray(width, dtype=float), sigma.shape)
    bounds, counts = zip(*PERIOD_NODE_TIERS)
    tier = np.searchsorted(bounds, sigma, side="left")
    n = np.asarray(counts + (0,))[np.minimum(tier, len(counts))]
    wide = tier >= len(counts)
    # 1e-9 dex: the uncut window's width, (y + 3.5 sd) - (y - 3.5 sd), is 7 sd only to rounding
    with np.errstate(invalid="ignore", over="ignore"):
        cut = width < 2 * span * sigma - 1e-9
        # a cut window's nodes at most EDGE_SPACING_SD sd apart too (finer under 18% errors), so that ages near the
        # trained periods' edges do not step where the Gauss-Hermite tiers end
        spacing = np.where(cut, np.minimum(PERIOD_NODE_SPACING, EDGE_SPACING_SD * sigma), PERIOD_NODE_SPACING)
        steps = np.ceil(np.minimum(width[wide], 1e6) / (2 * spacing[wide]))
    n[wide] = np.where(steps > 0, np.clip(2 * steps + 1, 7, MAX_PERIOD_NODES), 1).astype(int)
    edge = (n > 1) & ~wide & cut
    steps = np.ceil(width[edge] / (2 * EDGE_SPACING_SD * sigma[edge]))
    n[edge] = np.where(steps > 0, np.maximum(2 * steps + 1, 7), 1).astype(int)
    return n


def period_marginal_log_likelihood(density: FlowDensity, log10_prot, bp_rp0, bp_rp0_err, grid: np.ndarray,
                                   colour_sigma=None, refine_tol: float | None = REFINE_TOL,
                                   period_sigma=None) -> np.ndarray:
    """Flow log-likelihood (stars x grid) averaged over the true log period, a Gaussian of sd ``period_sigma`` (dex,
    per star; None or 0: the observed period alone) about the observed one.

    log L(x) = log sum_k w_k L_c(log10 Prot + sqrt(2) sigma t_k | x), L_c the colour-marginal likelihood
    (:func:`colour_marginal_log_likelihood`), t_k and w_k / sqrt(pi) :func:`tier_nodes`' for :func:`node_count`'s
    nodes. Stars with one node get exactly the colour-marginal likelihood. The evenly spaced nodes (errors above 8%,
    or smaller ones within 3.5 sd of a trained period's edge; over +-:data:`WIDE_SPAN` sd, not +-:data:`EVEN_SPAN`,
    for a period outside the trained ones at the star's colour) are cut at the trained periods, where the MCMC's
    chains stop, so an error wider than them all leaves the age to the prior.
    """
    prot, colour, err = (np.asarray(a, dtype=float).reshape(-1) for a in (log10_prot, bp_rp0, bp_rp0_err))
    n = colour.size
    sig = np.zeros(n) if period_sigma is None else np.broadcast_to(np.asarray(period_sigma, dtype=float), (n,))
    if not (sig > PERIOD_NODE_TIERS[0][0]).any():  # one node each, whatever the window: no flags to read
        return colour_marginal_log_likelihood(density, prot, colour, err, grid, colour_sigma, refine_tol)
    domain = SequenceDomain.from_card(density.card)
    span = EVEN_SPAN if domain is None else np.where(domain.input_flags(colour, prot)[1], WIDE_SPAN, EVEN_SPAN)
    lo, hi = node_window(prot, sig, density.card, span)
    count = node_count(sig, hi - lo, span)
    if not (count > 1).any():
        return colour_marginal_log_likelihood(density, prot, colour, err, grid, colour_sigma, refine_tol)
    out = np.full((n, len(grid)), np.nan, dtype=np.float32)
    one = np.flatnonzero(count == 1)
    if one.size:
        out[one] = colour_marginal_log_likelihood(density, prot[one], colour[one], err[one], grid,
                                                  None if colour_sigma is None else spread_rows(colour_sigma, n, one)[0],
                                                  refine_tol)
    # stars whose colour takes one node (no reddening's shift): their period nodes are the only nodes, refined as
    # the colour's nodes are (looser, from fewer points, where a node's share of the sum matters); the others' period
    # nodes each take the colour's nodes in turn
    if colour_sigma is None or isinstance(colour_sigma, ColourSpread):
        plain = np.full(n, colour_sigma is None)
    else:
        plain = np.broadcast_to(np.asarray(colour_sigma, dtype=float), (n,)) <= COLOUR_NODE_TIERS[0][0]
    for k in np.unique(count[count > 1]):
        for alone in (True, False):
            group = np.flatnonzero((count == k) & (plain == alone))
            step = max(1, NODE_ROWS // int(k))  # whole stars: each star's sum is its own
            for start in range(0, group.size, step):
                idx = group[start : start + step]
                out[idx] = _node_sum(density, int(k), idx, alone, prot, colour, err, sig, lo, hi, grid, colour_sigma,
                                     refine_tol)
    return out


def _node_sum(density: FlowDensity, k: int, idx: np.ndarray, alone: bool, prot, colour, err, sig, lo, hi,
              grid: np.ndarray, colour_sigma, refine_tol: float | None) -> np.ndarray:
    """Stars ``idx``'s log-likelihoods (stars x grid), summed over their ``k`` period nodes each."""
    rows = np.repeat(idx, k)
    y, logw = _nodes(k, prot[idx], sig[idx], lo[idx], hi[idx])
    if alone:
        even = k > MAX_GAUSS_HERMITE
        tol = None if refine_tol is None else max(refine_tol, EVEN_REFINE_TOL if even else NODE_REFINE_TOL)
        c_lo, c_hi = density.card.domain["bp_rp0"]
        ll = _flow_log_likelihood(density, y, np.clip(colour[rows], c_lo, c_hi), err[rows], grid, tol,
                                  EVEN_COARSEST if even else NODE_COARSEST, (rows, logw) if even else None)
    else:
        ll = colour_marginal_log_likelihood(density, y, colour[rows], err[rows], grid,
                                            spread_rows(colour_sigma, colour.size, rows)[0], refine_tol)
    nodes = ll.reshape(idx.size, k, len(grid)).astype(np.float64)
    nodes += logw.reshape(idx.size, k)[:, :, None]
    return log_sum_nodes(nodes, axis=1)


def _nodes(k: int, y: np.ndarray, sigma: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(true log10 periods, log weights summing to 1 a star), stars x ``k`` flattened: Gauss-Hermite nodes about
    ``y`` for 3 or 5, else ``k`` evenly spaced over [lo, hi] weighted by the Gaussian (as :func:`tier_nodes`'
    evenly spaced tiers, which this is where the window is not cut)."""
    if k <= MAX_GAUSS_HERMITE:
        t, w = tier_nodes(k)
        return (y[:, None] + np.sqrt(2.0) * sigma[:, None] * t).ravel(), np.tile(np.log(w / np.sqrt(np.pi)), y.size)
    u = lo[:, None] + (hi - lo)[:, None] * np.linspace(0.0, 1.0, k)
    with np.errstate(invalid="ignore"):
        logw = -0.5 * ((u - y[:, None]) / sigma[:, None]) ** 2
    logw[~np.isfinite(sigma)] = 0.0  # an error too large for a float: every trained period alike
    top = logw.max(axis=1, keepdims=True)
    logw -= top + np.log(np.exp(logw - top).sum(axis=1, keepdims=True))
    return u.ravel(), logw.ravel()
