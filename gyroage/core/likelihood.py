"""The flow's log-likelihood of a star's period on a log-age grid: every point evaluated, or refined from a coarse
level where the curve is smooth, and averaged over the true colour's uncertainty (nodes in tiers by its width).

Split from :mod:`gyroage.core.posterior`, which turns these likelihoods into posteriors.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gyroage.core.colours import MAX_COLOUR_SIGMA, excess_colour_sigma
from gyroage.core.density import FlowDensity, mix_outlier
from gyroage.core.truncated_colour import (
    _mills,
    even_truncated_nodes,
    fine_gauss_truncated_nodes,
    support,
    truncated_nodes,
)


def grid_log_likelihood(density: FlowDensity, log10_prot: np.ndarray, bp_rp0: np.ndarray,
                        bp_rp0_err: np.ndarray, grid: np.ndarray,
                        outlier_weight: float | None = None) -> np.ndarray:
    """log L[star, grid point] = log p(log10 Prot | age, colour, colour error)."""
    return density.log_prob_grid(log10_prot, bp_rp0, bp_rp0_err, grid, outlier_weight=outlier_weight)


# Target error (nats of log likelihood) of the refined grid at a point it interpolates, not a bound: the check looks
# one level coarser (refined_log_likelihood), so a point may miss by more. Two samples of 300 random stars at 201
# points, against every point evaluated (--exact-grid): up to 0.04 and 0.083 nats (11 and 12 stars over 0.02), age
# percentiles moved by at most 0.002 and 0.0015 dex (the MAP by 0.004 dex in the first).
REFINE_TOL = 0.02


def _midpoints(v: np.ndarray) -> np.ndarray:
    """Cubic (4-point Lagrange) values halfway between the rows of ``v`` (C x columns, C >= 4): C - 1 rows."""
    mid = np.empty((v.shape[0] - 1,) + v.shape[1:], dtype=v.dtype)
    mid[1:-1] = v[1:-2] + v[2:-1]
    mid[1:-1] *= 9
    mid[1:-1] -= v[:-3]
    mid[1:-1] -= v[3:]
    mid[0] = 5 * v[0] + 15 * v[1] - 5 * v[2] + v[3]
    mid[-1] = 5 * v[-1] + 15 * v[-2] - 5 * v[-3] + v[-4]
    mid /= 16
    return mid


def refined_log_likelihood(density: FlowDensity, log10_prot, bp_rp0, bp_rp0_err, grid: np.ndarray,
                           outlier_weight: float | None = None, tol: float = REFINE_TOL,
                           coarsest: int = 40, nodes: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """``grid_log_likelihood`` from fewer flow evaluations (about 40% at 201 points), aiming at ``tol`` everywhere.

    Coarse to fine: the flow is evaluated on a coarsest level, the grid halved
    until fewer than 2 x ``coarsest`` points remain (with 40: every 2nd grid point
    of 101, every 4th of 201, every 8th of 401, every 16th of 1001); each finer
    level's midpoints are filled by a cubic through four neighbours, unless the
    same cubic one level coarser misses the points nearby by more than ``tol``
    (the flow's log density is smooth in age except near spline knots): there
    the flow is evaluated. ``tol`` is a target, not a bound: a point can miss by
    more where the coarser cubic happened to fit (:data:`REFINE_TOL`). ``grid``
    must be evenly spaced with at least 15 points; otherwise every point is
    evaluated. ``nodes``: (star, log weight) of each row, a star's rows together: a cell is refined only where its
    row's share of its star's sum times its risk passes ``tol`` (:func:`_can_matter`).
    """
    grid = np.asarray(grid, dtype=float)
    n = grid.size
    if n < 15 or not np.allclose(np.diff(grid), grid[1] - grid[0], rtol=1e-9, atol=0.0):
        return grid_log_likelihood(density, log10_prot, bp_rp0, bp_rp0_err, grid, outlier_weight)
    prot, colour, err = (np.asarray(a, dtype=float).reshape(-1) for a in (log10_prot, bp_rp0, bp_rp0_err))

    def exact(rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        return density.log_prob_flow(prot[rows], grid[cols], colour[rows], err[rows])

    # a node row's star's segment of rows (_can_matter), once for every level
    segments = None if nodes is None else _star_segments(nodes[0])

    # The levels are grid points x stars: the cubics then run over whole rows, 4-10x faster than over a star's
    # 13-101 points (the same float32 operations on the same numbers, so the same values).
    def level(idx: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """(flow log density, len(idx) x stars float32, at grid points ``idx`` (evenly spaced); the cubic's values
        at its odd rows from its even ones before any was evaluated, None at the coarsest level)."""
        m = idx.size
        if m % 2 == 0:  # the last point has no partner one level up: evaluate it
            head, mid = level(idx[:-1])  # the last is an odd row: the even ones and their cubic are head's
            last = exact(np.arange(prot.size), np.full(prot.size, idx[-1]))
            return np.concatenate([head, last[None, :]]), mid
        if (m + 1) // 2 < coarsest:
            return np.ascontiguousarray(density.log_prob_grid(prot, colour, err, grid[idx], outlier_weight=0.0).T), None
        coarse, pred = level(idx[::2])
        out = np.empty((m, prot.size), dtype=np.float32)
        out[::2] = coarse
        # the risk before the midpoints, pred dropped: both held at once added a quarter to the peak (review V36c)
        risk = _cubic_risk(coarse, pred)
        del pred
        mid = _midpoints(coarse)
        out[1::2] = mid
        # (star, cell) pairs star by star, as the flow has always been fed them: flat indices into risk.T
        cand = np.flatnonzero((risk > tol).T)
        if segments is not None and cand.size:
            cand = cand[_can_matter(coarse, mid, risk, cand, *segments, nodes[1], tol)]
        if cand.size:
            rows, cells = np.divmod(cand, risk.shape[0])
            out[2 * cells + 1, rows] = exact(rows, idx[2 * cells + 1])
        return out, mid

    w = density.outlier_weight if outlier_weight is None else outlier_weight
    return mix_outlier(np.ascontiguousarray(level(np.arange(n))[0].T), w, density.outlier_log_density)


def _star_segments(star: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(first row of each star's run of rows, each row's run), the rows of a star together."""
    starts = np.flatnonzero(np.r_[True, star[1:] != star[:-1]])
    return starts, np.repeat(np.arange(starts.size), np.diff(np.r_[starts, star.size]))


def _can_matter(coarse: np.ndarray, mid: np.ndarray, risk: np.ndarray, cand: np.ndarray, starts: np.ndarray,
                segment: np.ndarray, logw: np.ndarray, tol: float) -> np.ndarray:
    """At cells ``cand`` (flat indices into ``risk.T``, rows x cells between neighbouring grid points, the rows of
    ``coarse``): can the cubic's ``risk`` move its star's sum by ``tol``? A row's error moves the log of the sum by at
    most its share of the sum times the error; the share is bounded by the row's larger end or cubic ``mid``point
    plus the risk, weighted by ``logw``, against the star's largest weighted row at the ends (the smaller of the
    two; a star's rows run from ``starts``, ``segment`` is each row's run). Rows far below their star's largest there
    (colours off its sequence at those ages) keep the cubic, except in the grid's first and last cells, where the
    cubic is one-sided and its risk least sure (with them left out a tail percentile missed --exact-grid by 0.054
    dex, review V31). ``coarse``, ``mid`` and ``risk`` are grid points (or cells) x rows."""
    n_rows = coarse.shape[1]
    top = np.maximum.reduceat(coarse + logw, starts, axis=1)
    n_cells = risk.shape[0]
    rows, cells = np.divmod(cand, n_cells)
    at = cells * n_rows + rows
    flat = coarse.reshape(-1)
    r = risk.reshape(-1)[at]
    # float32 ends and mid, float64 weight: the sum is float64, as the share's other terms
    reach = np.maximum(np.maximum(flat[at], flat[at + n_rows]), mid.reshape(-1)[at]) + logw[rows]
    reach += r
    t = top.reshape(-1)
    at = cells * top.shape[1] + segment[rows]
    with np.errstate(invalid="ignore"):  # -inf less -inf where every row rules the ages out: no share, no refining
        share = np.minimum(reach - np.minimum(t[at], t[at + top.shape[1]]), 0.0)
    return (r * np.exp(share) > tol) | (cells == 0) | (cells == n_cells - 1)


def _cubic_risk(coarse: np.ndarray, pred: np.ndarray | None = None) -> np.ndarray:
    """Per cell between neighbouring grid points (the rows of ``coarse``, x stars): the largest miss of the cubic
    through every other point nearby.

    A point's miss is how far the cubic built from the points two apart lands
    from it; the cell between points j and j+1 takes the largest of j-1..j+2. ``pred``: the cubic's values at the
    odd points from the even ones, when known (``_midpoints(coarse[::2])``).
    """
    # the misses with the first and last repeated on either side, so that every cell's four are a window
    pad = np.zeros((coarse.shape[0] + 2,) + coarse.shape[1:], dtype=coarse.dtype)
    miss = pad[1:-1]
    for parity in (0, 1):
        p = pred if parity == 0 and pred is not None else _midpoints(coarse[parity::2])
        target = coarse[parity + 1::2]
        k = min(p.shape[0], target.shape[0])
        d = miss[parity + 1::2][:k]
        np.subtract(p[:k], target[:k], out=d)
        np.abs(d, out=d)
    pad[0], pad[-1] = miss[0], miss[-1]
    pair = np.maximum(pad[:-1], pad[1:])
    return np.maximum(pair[:-2], pair[2:])


# Colour uncertainty: nodes over the true colour. A star takes the nodes of the first tier whose bound its excess
# colour error (mag) does not pass: one evaluation where the shift changes little (up to 0.02 mag: medians within
# 0.006 dex for 95% of stars at 0.75-3.0 mag, 0.014 over the whole domain: README, Posterior); Gauss-Hermite 3 up
# to 0.05 mag, 5 up to 0.08. Wider, the flow is narrow in colour against the spread (a spin-down sequence at one
# age): 5 Gauss-Hermite nodes missed a dense (241-colour) sum's median by 0.12-0.56 dex at 0.15-0.46 mag (149
# stars over the whole domain), and 15 by 0.12 at 0.3, so evenly spaced nodes (tier_nodes) take over. Their
# spacing 2 x 3.5 sigma / (n - 1) is at most 0.11-0.135 mag at each tier's top (0.11 where 7 -> 9 nodes is a large
# step in spacing, more where 19 -> 21 is not), so that a colour error crossing a bound moves the median by < 0.02
# dex (110 stars; review V31: 0.080 dex at 0.12 mag, when 5 Gauss-Hermite nodes ran to 0.12 and then 9, 11 and 15
# nodes to 0.16, 0.24 and beyond had 0.14-0.23 mag at their tops). Cost: README, Performance.
COLOUR_NODE_TIERS = ((0.02, 1), (0.05, 3), (0.08, 5), (0.094, 7), (0.137, 9), (0.186, 11), (0.231, 13), (0.265, 15),
                     (0.3, 17), (0.34, 19), (np.inf, 21))
# Tiers of up to this many nodes are Gauss-Hermite (tier_nodes), more evenly spaced; a truncated reddening's tiers of
# up to MAX_TRUNCATED_GAUSS nodes take its density's own Gauss quadrature (_node_offsets), more evenly spaced ones
MAX_GAUSS_HERMITE = 5
MAX_TRUNCATED_GAUSS = 9
# E more than this many sds below 0 (direct callers only) keeps the Gaussian of the density's mean and sd
FAR_BELOW_SD = 6.0
# Evenly spaced tiers (more than 5 nodes) span +-EVEN_SPAN sigma (the Gaussian beyond holds 5e-4 of the weight):
# at 9-15 nodes +-3.5 missed the dense sum less than +-3 (whose cut tails cost 0.05-0.07 dex) or +-4 (wider spacing)
EVEN_SPAN = 3.5
# Refinement tolerance (nats) of the node evaluations (see refined_log_likelihood): looser than the
# stars' own, since nodes are averaged; 0.05 keeps medians within 0.01 dex of --exact-grid at 0.5 mag.
NODE_REFINE_TOL = 0.05
NODE_COARSEST = 20  # points of their coarsest level (every 8th of 201)
# ... and of the evenly spaced tiers' nodes, refined only where a node's share of its star's sum is large enough
# (_can_matter): from 13 points (every 16th of 201), as 26 gave about the same ages from 6% more evaluations. At
# 0.05 nats, with 7-21 nodes, percentiles missed --exact-grid by up to 0.03 dex (3000 stars at sigma 0.12-0.46;
# 0.04 still 0.016); 0.03 keeps them within 0.0064, as the 5 Gauss-Hermite nodes were (0.009), for 10% more flow
# evaluations on catalogue-like stars
EVEN_REFINE_TOL = 0.03
EVEN_COARSEST = 10

# numpy's hermgauss(n) for the tiers' n, to the last bit: computing them imports numpy.polynomial, about 30 ms of
# every run's start (1% of a 10,000-star estimate)
_HERMITE = {
    1: ((0.0,), (1.7724538509055159,)),
    3: ((-1.224744871391589, 0.0, 1.224744871391589), (0.2954089751509194, 1.1816359006036772, 0.2954089751509194)),
    5: ((-2.0201828704560856, -0.9585724646138185, 0.0, 0.9585724646138185, 2.0201828704560856),
        (0.019953242059045917, 0.3936193231522411, 0.9453087204829418, 0.3936193231522411, 0.019953242059045917)),
}


def tier_nodes(n: int) -> tuple[np.ndarray, np.ndarray]:
    """A tier's nodes t and weights for the weight function exp(-t^2) (sum sqrt(pi)): Gauss-Hermite up to 5 nodes,
    else ``n`` evenly spaced over +-:data:`EVEN_SPAN` sigma (t = u / sqrt 2), weighted by the Gaussian."""
    if n <= MAX_GAUSS_HERMITE:
        return gauss_hermite(n)
    t = np.linspace(-EVEN_SPAN, EVEN_SPAN, n) / np.sqrt(2.0)
    w = np.exp(-t**2)
    return t, w * (np.sqrt(np.pi) / w.sum())


def gauss_hermite(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Hermite nodes and weights (weight function exp(-t^2)), as ``numpy.polynomial.hermite.hermgauss``."""
    if n in _HERMITE:
        return tuple(np.array(v) for v in _HERMITE[n])
    return np.polynomial.hermite.hermgauss(n)


@dataclass(frozen=True)
class ColourSpread:
    """Per-star colour nodes' width ``sigma`` (mag, it picks the tier) and centre ``shift`` (mag, subtracted from the
    colour), and where ``truncated`` the density whose own nodes the 3- and 5-node tiers take: what
    :func:`colour_spread` gives a star whose reddening is known to be >= 0 (its rows slice like an array)."""

    sigma: np.ndarray
    shift: np.ndarray
    # (photometric sd s, E, its sd) per star, E NaN where nothing is truncated: the 3- and 5-node tiers then place
    # their nodes by the truncated density itself (truncated_nodes); None: Gauss-Hermite nodes of sigma about the shift
    truncated: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    def __post_init__(self) -> None:
        # refused here, as colour_node_groups refuses a NaN width: a NaN shift would give NaN likelihoods
        bad = np.flatnonzero(~np.isfinite(np.asarray(self.shift, dtype=float)))
        if bad.size:
            raise ValueError(f"ColourSpread shift must be a finite number (mag): star {bad[0]} has "
                             f"{np.ravel(self.shift)[bad[0]]:g} ({bad.size} such)")

    def __len__(self) -> int:
        """Stars: one for a scalar spread (one star's, or every star's alike)."""
        shape = np.broadcast(self.sigma, self.shift).shape
        return shape[0] if shape else 1

    def __getitem__(self, idx) -> ColourSpread:
        cut = None if self.truncated is None else tuple(a[idx] for a in self.truncated)
        return ColourSpread(self.sigma[idx], self.shift[idx], cut)

    def broadcast(self, n: int) -> ColourSpread:
        """The spread of ``n`` stars (a scalar one repeated)."""
        cut = None if self.truncated is None else tuple(np.broadcast_to(a, (n,)) for a in self.truncated)
        return ColourSpread(np.broadcast_to(self.sigma, (n,)), np.broadcast_to(self.shift, (n,)), cut)


def _node_offsets(colour_sigma, sig: np.ndarray, idx: np.ndarray, t: np.ndarray,
                  lw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(node colours less the centre, log weights), stars ``idx`` x nodes: the tier's nodes ``t`` of width ``sig``,
    or for the stars a :class:`ColourSpread` truncates, its truncated density's own (:mod:`truncated_colour`)."""
    off = np.sqrt(2.0) * sig[idx, None] * t
    logw = np.broadcast_to(lw, off.shape)
    if len(t) > 1 and isinstance(colour_sigma, ColourSpread) and colour_sigma.truncated is not None:
        s, e, se = (np.broadcast_to(a, sig.shape)[idx] for a in colour_sigma.truncated)
        # E more than 6 sd below 0 (estimate refuses any E < 0; only direct callers get here): the 5-node moments'
        # Hankel matrix loses its positivity in float64 from about 6.4 sd (a LinAlgError for the whole call, review
        # V27), so those stars keep the Gaussian of the density's mean and sd
        cut = np.isfinite(e) & (e > -FAR_BELOW_SD * se)
        if cut.any():
            # the 7- and 9-node tiers' sd is about that of E = 0 +- 0.2 with s = 0, whose hard edge Gauss handles (0.005
            # dex against a dense sum, evenly spaced 0.06); wider, evenly spaced nodes do better (README, Posterior)
            if len(t) <= MAX_TRUNCATED_GAUSS:
                gauss = truncated_nodes if len(t) <= MAX_GAUSS_HERMITE else fine_gauss_truncated_nodes
                x, w = gauss(s[cut], e[cut], se[cut], len(t))
            else:
                x, w = even_truncated_nodes(s[cut], e[cut], se[cut], len(t), EVEN_SPAN)
            off, logw = off.copy(), logw.copy()
            off[cut], logw[cut] = -x, np.log(w)  # d is the de-reddened colour less the true one
    return off, logw


def colour_spread(bp_rp0_err, ebprp, ebprp_err, card) -> np.ndarray | ColourSpread:
    """The colour nodes of estimate and group-age: :func:`gyroage.core.colours.excess_colour_sigma` for stars
    without a known reddening error (the array itself when no star has one), else the true colour's density with
    E(BP-RP) >= 0, as the MCMC's ``colour_log_like`` has it.

    That density is a Gaussian (the excess photometric error s) convolved with a Gaussian E (``ebprp`` +-
    ``ebprp_err``) truncated at 0, which only lets the true colour get bluer. Its sd, or the support its evenly
    spaced nodes would cover / 7 where wider, picks the tier (1 to 21 nodes) and its mean is the centre (the one
    node); the tiers of 3 to 9 nodes use the density's own Gauss quadrature (:func:`truncated_nodes`,
    :func:`fine_gauss_truncated_nodes`), those of 11 to 21 nodes evenly spaced over it (:func:`even_truncated_nodes`),
    no node at E < 0 when s = 0. Gauss-Hermite nodes of a Gaussian of that mean and sd
    (moment-matched, 39915cc) did as well up to ``ebprp_err`` 0.1 mag but missed a 241-colour quadrature by 0.09-0.24
    dex at 0.15-0.3 (review V25); importance-weighting either's nodes by the exact density did worse than both,
    since with s = 0 (any colour error below the card's default) the density has a hard edge.
    """
    sigma = excess_colour_sigma(bp_rp0_err, ebprp_err, card)
    if ebprp is None or ebprp_err is None:
        return sigma
    e, se = (np.broadcast_to(np.asarray(a, float), sigma.shape) for a in (ebprp, ebprp_err))
    # E unknown (NaN with an error): E >= 0 bounds nothing, as in the MCMC; no error: no spread to truncate
    cut = np.isfinite(e) & np.isfinite(se) & (se > 0)
    if not cut.any():
        return sigma
    photometric = excess_colour_sigma(bp_rp0_err, None, card)[cut]
    # capped as the symmetric width is: past the cap every node but the middle is at an edge of the trained colours
    e_, se_ = e[cut], np.minimum(se[cut], MAX_COLOUR_SIGMA)
    tau = e_ / se_
    # mean and variance of E - e given E >= 0 (the inverse Mills ratio lam), plus the photometric variance
    lam = _mills(tau)
    var = photometric**2 + se_**2 * np.maximum(1.0 - lam * (tau + lam), 0.0)
    shift = np.zeros_like(sigma)
    shift[cut] = se_ * lam
    sigma = np.array(sigma, dtype=float)  # a copy, and a 0-d array (which takes the mask) for a scalar star
    # the tier by the support the evenly spaced nodes cover (even_truncated_nodes: +-EVEN_SPAN sds of each part,
    # 8.5-10 sds of the density for E near 0, not 7) / 7 where that is wider than the sd, so their spacing at a
    # tier's top is the tier's own: by the sd it reached 0.16-0.17 mag and a colour error 1e-5 mag over a bound
    # stepped the median by up to 0.065 dex (review V33). E far below 0 (direct callers) keeps its sd's Gaussian
    lo, hi = support(photometric, e_, se_, EVEN_SPAN)
    span = hi - lo
    sd = np.where(e_ > -FAR_BELOW_SD * se_, np.maximum(np.sqrt(var), span / (2.0 * EVEN_SPAN)), np.sqrt(var))
    sigma[cut] = np.minimum(sd, MAX_COLOUR_SIGMA)
    full = np.full_like(sigma, np.nan)
    full[cut] = e_
    se_full = np.ones_like(sigma)
    se_full[cut] = se_
    s_full = np.zeros_like(sigma)
    s_full[cut] = photometric
    return ColourSpread(sigma, shift, (s_full, full, se_full))


def _spread(colour_sigma, shape) -> tuple[np.ndarray, np.ndarray | None]:
    """(per-star node width, centre shift or None) of a ``colour_sigma`` (None, a scalar, per-star values or a
    :class:`ColourSpread`), broadcast to the stars ``shape``."""
    if isinstance(colour_sigma, ColourSpread):
        return (np.broadcast_to(colour_sigma.sigma, shape), np.broadcast_to(colour_sigma.shift, shape))
    sig = np.zeros(shape) if colour_sigma is None else np.broadcast_to(np.asarray(colour_sigma, float), shape)
    return sig, None


def spread_rows(colour_sigma, n: int, idx) -> tuple[np.ndarray | ColourSpread, np.ndarray]:
    """``colour_sigma`` (a scalar, per-star values or a :class:`ColourSpread`) broadcast to ``n`` stars and taken at
    the rows ``idx``, and its node widths there."""
    width, shift = _spread(colour_sigma, (n,))
    return (width[idx] if shift is None else colour_sigma.broadcast(n)[idx]), width[idx]


def colour_node_groups(sigma: np.ndarray) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Per tier of :data:`COLOUR_NODE_TIERS`: (indices of the stars whose excess colour error ``sigma`` falls in it,
    nodes t (:func:`tier_nodes`), log weights log(w / sqrt(pi))).

    A ``sigma`` that is not a finite number >= 0 is a ValueError: NaN would fall in no tier (its star's likelihood
    never computed), inf in the last with a middle node of inf x 0, and a negative one pass for none.
    """
    sigma = np.asarray(sigma, dtype=float)
    bad = np.flatnonzero(~(np.isfinite(sigma) & (sigma >= 0)))
    if bad.size:
        raise ValueError(f"colour sigma must be a finite number >= 0 (mag): star {bad[0]} has {sigma.flat[bad[0]]:g} "
                         f"({bad.size} such)")
    tier = np.searchsorted([b for b, _ in COLOUR_NODE_TIERS], sigma, side="left")
    groups = []
    for k, (_, n_nodes) in enumerate(COLOUR_NODE_TIERS):
        t, w = tier_nodes(n_nodes)
        groups.append((np.flatnonzero(tier == k), t, np.log(w / np.sqrt(np.pi))))
    return groups


def colour_marginal_log_prob(density: FlowDensity, log10_prot, log10_age, bp_rp0, bp_rp0_err,
                             colour_sigma=None) -> np.ndarray:
    """Flow log density (float32) at points of their own, averaged over a Gaussian true colour of width
    ``colour_sigma``: :func:`colour_marginal_log_likelihood`'s nodes, weights and clipping, every point evaluated.

    The inputs broadcast together; their first axis is the star, which ``colour_sigma`` (None, a scalar or one value
    per star) follows, or a :class:`ColourSpread`. Every tier's middle node is t = 0: the observed colour, or with a
    ColourSpread the colour less its shift, clipped to the trained colours (a truncated density's nodes are
    its own). It is evaluated once for all stars, so stars with no ColourSpread and one node get exactly
    :meth:`FlowDensity.log_prob_flow`.
    """
    prot, age, colour, err = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in
                                                   (log10_prot, log10_age, bp_rp0, bp_rp0_err)))
    if prot.ndim == 0:  # one point: a star of one, so that colour_sigma is used (and checked) as for arrays
        return colour_marginal_log_prob(density, prot[None], age[None], colour[None], err[None],
                                        colour_sigma).reshape(())
    lo, hi = density.card.domain["bp_rp0"]
    if isinstance(colour_sigma, ColourSpread) and colour.ndim:  # the nodes' centre, middle node included
        shift = np.broadcast_to(colour_sigma.shift, colour.shape[:1]).reshape((-1,) + (1,) * (colour.ndim - 1))
        colour = colour - shift
        # the middle node clipped as the grid clips every node (a shift can take it past the blue edge); the other
        # nodes are placed about the unclipped centre
        out = density.log_prob_flow(prot, age, np.clip(colour, lo, hi), err)
    else:
        out = density.log_prob_flow(prot, age, colour, err)
    if colour_sigma is None:
        return out
    sig = _spread(colour_sigma, out.shape[:1])[0]
    for idx, t, lw in colour_node_groups(sig):
        if len(t) == 1 or not idx.size:
            continue
        off, logw = (a.T.reshape((len(t), -1) + (1,) * (out.ndim - 1)) for a in _node_offsets(colour_sigma, sig, idx,
                                                                                               t, lw))
        # the middle node is the centre unless a truncated density places the nodes
        shared = not (isinstance(colour_sigma, ColourSpread) and colour_sigma.truncated is not None)
        nodes = np.empty((len(t),) + (idx.size,) + out.shape[1:])
        for k, tk in enumerate(t):  # 3 to 21 nodes: each a vectorised pass over the tier's stars
            nodes[k] = out[idx] if tk == 0 and shared else density.log_prob_flow(
                prot[idx], age[idx], np.clip(colour[idx] + off[k], lo, hi), err[idx])
            nodes[k] += logw[k]
        out[idx] = log_sum_nodes(nodes, axis=0)
    return out


def colour_marginal_log_likelihood(density: FlowDensity, log10_prot, bp_rp0, bp_rp0_err, grid: np.ndarray,
                                   colour_sigma=None, refine_tol: float | None = REFINE_TOL) -> np.ndarray:
    """Flow log-likelihood (stars x grid), averaged over a Gaussian true colour of width ``colour_sigma`` (about the
    colour less its ``shift`` when a :class:`ColourSpread`; a truncated one's nodes are its density's own).

    log L(x) = log sum_k w_k f(log10 Prot | x, c_obs + sqrt(2) sigma t_k) with
    nodes t_k and weights w_k / sqrt(pi) of :func:`tier_nodes`, as many as
    :data:`COLOUR_NODE_TIERS` gives for sigma; node colours are clipped to the
    trained colour range. Three passes through the flow: the stars of the one-node tier at ``refine_tol``, the
    nodes of the 3- and 5-node tiers at the looser :data:`NODE_REFINE_TOL` from :data:`NODE_COARSEST` points, and
    the evenly spaced tiers' at :data:`EVEN_REFINE_TOL` from :data:`EVEN_COARSEST`, refined only where a node's
    share of its star's sum makes it matter (all at every grid point when ``refine_tol`` is None).
    """
    prot, colour, err = (np.asarray(a, dtype=float).reshape(-1) for a in (log10_prot, bp_rp0, bp_rp0_err))
    sig, shift = _spread(colour_sigma, colour.shape)
    if shift is not None:  # E(BP-RP) >= 0: the nodes about the true colour's mean (colour_spread)
        colour = colour - shift
    groups = colour_node_groups(sig)
    rows = np.concatenate([np.repeat(idx, len(t)) for idx, t, _ in groups])
    offsets = [_node_offsets(colour_sigma, sig, idx, t, lw) for idx, t, lw in groups]
    c = np.concatenate([(colour[idx, None] + off).ravel() for (idx, _, _), (off, _) in zip(groups, offsets)])
    lo, hi = density.card.domain["bp_rp0"]
    c = np.clip(c, lo, hi)
    # Node rows are averaged, so a looser refinement tolerance costs nothing measurable there.
    n_own = groups[0][0].size * len(groups[0][1])
    evenly = [len(t) > MAX_GAUSS_HERMITE for _, t, _ in groups]  # the evenly spaced tiers come last
    n_gauss = sum(idx.size * len(t) for (idx, t, _), e in zip(groups, evenly) if not e)
    node_tol = None if refine_tol is None else max(refine_tol, NODE_REFINE_TOL)
    even_tol = None if refine_tol is None else max(refine_tol, EVEN_REFINE_TOL)
    even = (rows[n_gauss:], np.concatenate([lw.ravel() for (_, lw), e in zip(offsets, evenly) if e] or [np.zeros(0)]))
    parts = ((slice(0, n_own), refine_tol, 40, None), (slice(n_own, n_gauss), node_tol, NODE_COARSEST, None),
             (slice(n_gauss, None), even_tol, EVEN_COARSEST, even))
    ll_rows = np.concatenate([_flow_log_likelihood(density, prot[rows[p]], c[p], err[rows[p]], grid, tol, coarsest,
                                                   nodes) for p, tol, coarsest, nodes in parts])
    # NaN, not np.empty: every star is in a tier (colour_node_groups refuses any other sigma), but a row left unset
    # by a future change must not read as a likelihood
    out = np.full((colour.size, len(grid)), np.nan, dtype=np.float32)
    start = 0
    for (idx, t, _), (_, lw) in zip(groups, offsets):
        block = ll_rows[start : start + idx.size * len(t)]
        start += idx.size * len(t)
        if len(t) == 1:
            out[idx] = block
        elif idx.size:
            nodes = block.reshape(idx.size, len(t), len(grid)).astype(np.float64)
            nodes += lw[:, :, None]
            out[idx] = log_sum_nodes(nodes, axis=1)
    return out


def log_sum_nodes(nodes: np.ndarray, axis: int) -> np.ndarray:
    """log sum exp of weighted node log-likelihoods (float64, overwritten) over ``axis``, about each point's largest
    node: 3x faster than logaddexp.reduce, whose result it meets to ~1e-15, below float32's resolution. A point every
    node rules out (all -inf) stays -inf."""
    top = nodes.max(axis=axis)
    top[np.isneginf(top)] = 0.0
    nodes -= np.expand_dims(top, axis)
    with np.errstate(divide="ignore"):
        return top + np.log(np.exp(nodes, out=nodes).sum(axis=axis))


def _flow_log_likelihood(density, log10_prot, bp_rp0, bp_rp0_err, grid, refine_tol, coarsest: int = 40, nodes=None):
    if refine_tol is None:
        return grid_log_likelihood(density, log10_prot, bp_rp0, bp_rp0_err, grid, outlier_weight=0.0)
    return refined_log_likelihood(density, log10_prot, bp_rp0, bp_rp0_err, grid, outlier_weight=0.0, tol=refine_tol,
                                  coarsest=coarsest, nodes=nodes)
