"""The sampler's moves, as small objects in emcee's manner, vectorised over the stars of a block.

A move's ``propose(log_prob, walkers, rng)`` advances :class:`Walkers` in place
and returns which walkers it moved, as ``emcee.moves.Move.propose`` returns its
``accepted``. The block loop picks one move per step by weight
(:func:`pick`) and applies it; every array is (stars, walkers[, 3]), each star
an independent ensemble. ``log_prob(theta, act)`` is the log posterior of the
active stars ``act``. Random draws come from :class:`StarDraws`, a stream per star keyed by the seed
and the star's input row, so a seed gives the same chains whatever the chunking.

* :class:`StretchMove`: Goodman & Weare's stretch move, as emcee's
  ``StretchMove`` (a ``RedBlueMove``: two fixed halves, each one density call).
* :class:`IndependenceMove`: an independence Metropolis-Hastings move whose
  proposal (:class:`IndependenceProposal`, ``draw``/``log_q``) is close to the
  posterior: the target itself tabulated over age, true colour and true period;
  :meth:`IndependenceMove.emcee_proposal` gives the same move to
  ``emcee.moves.MHMove`` for the reference back end.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from gyroage.core.mcmc_target import LogPosterior
from gyroage.core.posterior import age_grid

LogProb = Callable[[np.ndarray, np.ndarray], np.ndarray]


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1, _MIX2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)


def _mix(z: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser on uint64 arrays (wrapping arithmetic): a counter in, well-mixed bits out."""
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    return z ^ (z >> np.uint64(31))


def run_key(seed: int) -> np.ndarray:
    """The stream key of the draws every star shares (which move each step takes), from the seed alone."""
    return star_keys(seed, np.array([-1]))


def star_keys(seed: int, rows: np.ndarray) -> np.ndarray:
    """One 64-bit stream key per star, from the run's seed and the star's absolute input row."""
    with np.errstate(over="ignore"):
        base = _mix(np.array([int(seed) & 0xFFFFFFFFFFFFFFFF], dtype=np.uint64) + _GOLDEN)
        return _mix(base ^ (np.asarray(rows, dtype=np.int64).astype(np.uint64) * _GOLDEN + _GOLDEN))


class StarDraws:
    """Random draws of the active stars at one step, each star from its own counter-based stream.

    Draw ``k`` of element ``e`` of star ``i`` at step ``t`` is a hash of (key_i, t, slot, e), where the slot counts
    the draws made through this object from ``first_slot``: a star's draws depend on its key and its own step and
    moves only, never on which other stars share its block, chunk or process (numpy Generators drawing for the
    whole block at once restarted in every chunk and tied each star to its neighbours). Duck-types the parts of
    ``numpy.random.Generator`` the moves use; the first axis of every ``size`` is the stars.
    """

    def __init__(self, keys: np.ndarray, step: int, first_slot: int = 0) -> None:
        self.keys, self.step, self.slot = keys, step, first_slot

    def uniform(self, size) -> np.ndarray:
        """Uniforms in (0, 1), shape ``size`` (stars first)."""
        size = tuple(np.atleast_1d(size))
        per = int(np.prod(size[1:], dtype=np.int64))
        counter = np.uint64(((self.step + 1) << 12) + self.slot) << np.uint64(24)
        self.slot += 1
        with np.errstate(over="ignore"):
            z = self.keys[:, None] + _GOLDEN * (counter + np.arange(per, dtype=np.uint64))[None, :]
            bits = _mix(z) >> np.uint64(11)  # SplitMix64: the key is the state, key + G * counter its sequence
        return ((bits.astype(np.float64) + 0.5) * 2.0**-53).reshape(size)

    def integers(self, high: int, size) -> np.ndarray:
        """Integers in [0, high)."""
        return np.minimum((self.uniform(size) * high).astype(np.int64), high - 1)

    def standard_normal(self, size) -> np.ndarray:
        """Standard normals (Box-Muller on two uniform draws)."""
        u1, u2 = self.uniform(size), self.uniform(size)
        return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)


# The independence proposal's table: the target on every age of the grid times a few true colours and periods about the
# observed ones (nodes), where the measurement error is too large for the observed value alone to stand for it.
NODE_SPACING = 0.04  # mag or dex: the widest node spacing wanted (the sequence's core is ~0.08 dex wide in period)
NODE_RANGE = 3.0  # nodes span the observed value +- this many measurement sigmas (within the model's domain)
NODE_TIERS = (1, 5, 9, 13)  # nodes per dimension: a star takes the fewest that reach NODE_SPACING, at most the last
NODE_KERNEL = 0.5  # a node's Gaussian kernel, in node spacings
TABLE_POINTS = 1 << 18  # target evaluations per call while the table is built (memory, not results)


def node_count(sigma: np.ndarray) -> np.ndarray:
    """Nodes per star in one dimension: 1 for a measurement error up to half :data:`NODE_SPACING`, else the first of
    :data:`NODE_TIERS` whose nodes over +- :data:`NODE_RANGE` sigma are at most :data:`NODE_SPACING` apart."""
    sigma = np.nan_to_num(np.asarray(sigma, dtype=float), posinf=np.finfo(float).max / 1e3)
    need = 2.0 * NODE_RANGE * sigma / NODE_SPACING + 1.0
    tiers = np.asarray(NODE_TIERS[1:])
    k = tiers[np.minimum(np.searchsorted(tiers, need, side="left"), len(tiers) - 1)]
    return np.where(sigma <= 0.5 * NODE_SPACING, 1, k)


def _nodes(obs: np.ndarray, sigma: np.ndarray, k: int, domain, widen: float) -> tuple[np.ndarray, np.ndarray]:
    """``k`` evenly spaced nodes per star about ``obs`` (within ``domain``) and their kernel widths; one node:
    the observed value itself, with the measurement error ``widen``-ed as its kernel."""
    if k == 1:
        return obs[:, None].copy(), widen * sigma
    lo, hi = np.maximum(obs - NODE_RANGE * sigma, domain[0]), np.minimum(obs + NODE_RANGE * sigma, domain[1])
    far = ~(hi > lo)  # the observed value far outside the domain: the nodes stay about it (the table is then 0)
    lo, hi = np.where(far, obs - NODE_RANGE * sigma, lo), np.where(far, obs + NODE_RANGE * sigma, hi)
    nodes = lo[:, None] + (hi - lo)[:, None] * np.linspace(0.0, 1.0, k)[None, :]
    return nodes, NODE_KERNEL * (hi - lo) / (k - 1)


def _log_normal(v: np.ndarray, mu: np.ndarray, sd: np.ndarray) -> np.ndarray:
    """log N(v | mu, sd), broadcast."""
    return -0.5 * ((v - mu) / sd) ** 2 - np.log(sd) - 0.5 * np.log(2.0 * np.pi)


class _Table:
    """The proposal's table for the stars ``rows`` of the block, which have the same node counts ``kc`` and ``ky``:
    each star's cell masses by (age bin, colour node, period node), summing to 1, and its nodes and kernels."""

    def __init__(self, logpost: LogPosterior, rows: np.ndarray, edges: np.ndarray, kc: int, ky: int, widen: float,
                 sigma_c: np.ndarray, sigma_y: np.ndarray) -> None:
        s = logpost.stars
        self.c_nodes, self.c_h = _nodes(s.bp_rp0[rows], sigma_c[rows], kc, (logpost.c_lo, logpost.c_hi), widen)
        self.y_nodes, self.y_h = _nodes(s.log10_prot[rows], sigma_y[rows], ky, (logpost.y_lo, logpost.y_hi), widen)
        m, g = rows.size, edges.size
        lp = np.empty((m, g, kc, ky))
        per = max(1, TABLE_POINTS // (g * kc * ky))
        for a in range(0, m, per):  # chunks of stars, each the target at every (age, colour node, period node)
            b = min(a + per, m)
            theta = np.empty((b - a, g, kc, ky, 3))
            theta[..., 0] = edges[None, :, None, None]
            theta[..., 1] = self.c_nodes[a:b, None, :, None]
            theta[..., 2] = self.y_nodes[a:b, None, None, :]
            lp[a:b] = logpost(theta.reshape(b - a, -1, 3), rows[a:b]).reshape(b - a, g, kc, ky)
        lp = np.where(np.isnan(lp), -np.inf, lp)
        peak = lp.max(axis=(1, 2, 3), keepdims=True)
        with np.errstate(invalid="ignore"):
            p = np.exp(lp - np.where(np.isfinite(peak), peak, 0.0))
        cell = 0.5 * (p[:, 1:] + p[:, :-1])  # an age bin's mass by the trapezoid rule, as the grid's pdf
        tot = cell.sum(axis=(1, 2, 3), keepdims=True)
        ok = np.isfinite(tot) & (tot > 0)
        # nowhere above zero on the table (e.g. a colour far outside the domain): uniform, the stretch move and
        # the broad component do the rest
        self.cell = np.where(ok, cell / np.where(ok, tot, 1.0), 1.0 / cell[0].size)
        self.mass = self.cell.sum(axis=(2, 3))
        self.cum = np.cumsum(self.mass, axis=1)
        self.cum[:, -1] = 1.0
        flat = self.cell.reshape(m, g - 1, kc * ky)
        self.cond_cum = np.cumsum(flat, axis=2) / np.where(self.mass > 0, self.mass, 1.0)[..., None]
        self.cond_cum[..., -1] = 1.0  # the node drawn within an age bin, by its share of the bin's mass
        self.ky = ky


class IndependenceProposal:
    """An independence Metropolis-Hastings proposal per star, close to the posterior.

    A mixture of the target tabulated and a broad component. The table: the
    target itself (prior, flow, colour and period terms, reddening, height
    term: all it includes) on the 81 ages of a coarse grid times a few nodes
    of true colour and true period about the observed ones (one node, the
    observed value, for a small error: :func:`node_count`); a cell (age bin,
    colour node, period node) is drawn by its mass, the age uniformly in its
    bin and c and y from Gaussian kernels about the nodes (one node: 1.2 times
    the measurement error). So the proposal follows the age marginal the
    errors widen and the age-colour-period ridge of the rotation sequence,
    which a grid posterior at the observed colour and period, with c and y
    drawn apart, did not: walkers decorrelated in about two steps for small
    errors but in up to 8-36 with 30-80% period errors, 0.3-1 mag colour
    errors or the height term (about two steps now). The broad component (10%):
    uniform in age over the prior bounds, c and y from Gaussians 1.2 times wider
    than their measurement terms. Vectorised over stars (arrays
    (stars, walkers, 3)), in groups of stars with the same node counts.
    """

    UNIFORM = 0.1
    WIDEN = 1.2

    def __init__(self, logpost: LogPosterior, n_grid: int = 81) -> None:
        """``logpost``: the sampler's ``LogPosterior``, tabulated as it is (it is called on (stars, points, 3)
        arrays; its ``stars``, ``prior`` bounds and colour and period domain ``c_lo``..``y_hi`` place the nodes)."""
        s, prior = logpost.stars, logpost.prior
        self.edges = age_grid(prior.log10_age_min, prior.log10_age_max, n_grid)
        self.dx = self.edges[1] - self.edges[0]
        self.n_bins = n_grid - 1
        se = np.zeros_like(s.bp_rp0_err) if s.ebprp_err is None else np.nan_to_num(s.ebprp_err)
        sigma_c = np.sqrt(s.bp_rp0_err**2 + se**2)
        self.c_mu, self.c_sd = s.bp_rp0, self.WIDEN * sigma_c
        self.y_mu, self.y_sd = s.log10_prot, self.WIDEN * s.log10_prot_err
        self.log_broad_x = np.log(self.UNIFORM / (self.edges[-1] - self.edges[0]))
        kc, ky = node_count(sigma_c), node_count(s.log10_prot_err)
        self.tables: list[_Table] = []
        self.table_of, self.row_in = np.zeros(len(s), dtype=int), np.zeros(len(s), dtype=int)
        for t, (a, b) in enumerate(sorted(set(zip(kc.tolist(), ky.tolist())))):
            rows = np.flatnonzero((kc == a) & (ky == b))
            self.table_of[rows], self.row_in[rows] = t, np.arange(rows.size)
            self.tables.append(_Table(logpost, rows, self.edges, a, b, self.WIDEN, sigma_c, s.log10_prot_err))

    def _groups(self, act: np.ndarray):
        """(table, positions in ``act``, rows in the table) of each table with active stars."""
        which = self.table_of[act]
        for t, tab in enumerate(self.tables):
            r = np.flatnonzero(which == t)
            if r.size:
                yield tab, r, self.row_in[act[r]]

    def draw(self, rng: np.random.Generator, act: np.ndarray, n_walkers: int) -> np.ndarray:
        """``n_walkers`` draws for each active star ``act``: (stars, walkers, 3)."""
        shape = (len(act), n_walkers)
        u_part, u_bin, u_in, u_cell = (rng.uniform(size=shape) for _ in range(4))
        zc, zy = rng.standard_normal(shape), rng.standard_normal(shape)
        x, c, y = np.empty(shape), np.empty(shape), np.empty(shape)
        for tab, r, i in self._groups(act):
            j = (tab.cum[i][:, None, :] < u_bin[r][..., None]).sum(axis=2).clip(0, self.n_bins - 1)
            cc = tab.cond_cum[i[:, None], j]
            kl = (cc < u_cell[r][..., None]).sum(axis=2).clip(0, cc.shape[-1] - 1)
            kc, ky = np.divmod(kl, tab.ky)
            x[r] = self.edges[j] + u_in[r] * self.dx
            c[r] = np.take_along_axis(tab.c_nodes[i], kc, axis=1) + tab.c_h[i, None] * zc[r]
            y[r] = np.take_along_axis(tab.y_nodes[i], ky, axis=1) + tab.y_h[i, None] * zy[r]
        broad = u_part < self.UNIFORM
        lo, hi = self.edges[0], self.edges[-1]
        x = np.where(broad, lo + u_in * (hi - lo), x)
        c = np.where(broad, self.c_mu[act, None] + self.c_sd[act, None] * zc, c)
        y = np.where(broad, self.y_mu[act, None] + self.y_sd[act, None] * zy, y)
        return np.stack([x, c, y], axis=-1)

    def log_q(self, theta: np.ndarray, act: np.ndarray) -> np.ndarray:
        """The proposal's log density at ``theta`` (stars, walkers, 3) of the active stars ``act``."""
        x, c, y = theta[..., 0], theta[..., 1], theta[..., 2]
        j = np.clip(np.floor((x - self.edges[0]) / self.dx).astype(int), 0, self.n_bins - 1)
        table = np.empty(x.shape)
        for tab, r, i in self._groups(act):
            lc = _log_normal(c[r][..., None], tab.c_nodes[i, None, :], tab.c_h[i, None, None])
            ly = _log_normal(y[r][..., None], tab.y_nodes[i, None, :], tab.y_h[i, None, None])
            top_c, top_y = lc.max(axis=2), ly.max(axis=2)  # kernels scaled by their largest: no underflow to 0
            mix = tab.cell[i[:, None], j[r]] * np.exp(lc - top_c[..., None])[..., :, None] \
                * np.exp(ly - top_y[..., None])[..., None, :]
            with np.errstate(divide="ignore"):
                table[r] = np.log(mix.sum(axis=(2, 3))) + top_c + top_y
        table += np.log((1.0 - self.UNIFORM) / self.dx)
        broad = self.log_broad_x + _log_normal(c, self.c_mu[act, None], self.c_sd[act, None]) \
            + _log_normal(y, self.y_mu[act, None], self.y_sd[act, None])
        return np.logaddexp(table, broad)


@dataclass
class Walkers:
    """The ensembles of the stars still running (``act``, indices in the block), as emcee's ``State``.

    ``log_q`` (the independence proposal's log density at ``coords``) is kept in
    step with ``coords`` by every move, as ``log_prob`` is. ``n_accepted``
    counts accepted moves per walker.
    """

    act: np.ndarray
    coords: np.ndarray
    log_prob: np.ndarray
    log_q: np.ndarray
    n_accepted: np.ndarray

    @classmethod
    def start(cls, proposal: IndependenceProposal, log_prob: LogProb, n_stars: int, n_walkers: int,
              rng: np.random.Generator) -> Walkers:
        """Every star of the block, its walkers drawn from the independence proposal."""
        act = np.arange(n_stars)
        coords = proposal.draw(rng, act, n_walkers)
        return cls(act, coords, log_prob(coords, act), proposal.log_q(coords, act), np.zeros((n_stars, n_walkers)))

    def keep(self, rows: np.ndarray) -> None:
        """Keep only the stars selected by ``rows`` (the others have stopped)."""
        self.act, self.coords, self.log_prob = self.act[rows], self.coords[rows], self.log_prob[rows]
        self.log_q, self.n_accepted = self.log_q[rows], self.n_accepted[rows]


class StretchMove:
    """emcee's stretch move (a RedBlueMove): each half of every ensemble moves along lines through the other half.

    The halves are the first and the second ``n_walkers / 2`` walkers (no
    random split); each half is one call of ``log_prob``. ``log_q`` (the
    independence proposal's density) is recomputed afterwards for
    :attr:`Walkers.log_q`.
    """

    def __init__(self, a: float, log_q: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> None:
        self.a, self.log_q = a, log_q

    def get_proposal(self, s: np.ndarray, c: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Proposed positions of ``s`` (stars, k, 3) given the complement ``c``, and their log factors."""
        z = ((self.a - 1.0) * rng.uniform(size=s.shape[:2]) + 1.0) ** 2 / self.a
        r = rng.integers(c.shape[1], size=s.shape[:2])
        partner = np.take_along_axis(c, r[..., None], axis=1)
        return partner - (partner - s) * z[..., None], (s.shape[-1] - 1.0) * np.log(z)

    def propose(self, log_prob: LogProb, w: Walkers, rng: np.random.Generator) -> np.ndarray:
        n_w = w.coords.shape[1]
        accepted = np.zeros(w.log_prob.shape, dtype=bool)
        for first in (np.arange(n_w) < n_w // 2, np.arange(n_w) >= n_w // 2):
            s, lp = w.coords[:, first], w.log_prob[:, first]
            q, factors = self.get_proposal(s, w.coords[:, ~first], rng)
            new = log_prob(q, w.act)
            with np.errstate(invalid="ignore"):
                ok = factors + new - lp > np.log(rng.uniform(size=lp.shape))
            s[ok], lp[ok] = q[ok], new[ok]
            w.coords[:, first], w.log_prob[:, first], accepted[:, first] = s, lp, ok
        w.log_q = self.log_q(w.coords, w.act)
        return accepted


class IndependenceMove:
    """Independence Metropolis-Hastings: every walker proposes a fresh draw of ``proposal``.

    Accepted with probability min(1, p(q) Q(x) / (p(x) Q(q))), as
    ``emcee.moves.MHMove`` with log factor ``log_q(x) - log_q(q)``.
    """

    def __init__(self, proposal: IndependenceProposal) -> None:
        self.proposal = proposal

    def log_q(self, theta: np.ndarray, act: np.ndarray) -> np.ndarray:
        return self.proposal.log_q(theta, act)

    def propose(self, log_prob: LogProb, w: Walkers, rng: np.random.Generator) -> np.ndarray:
        q = self.proposal.draw(rng, w.act, w.coords.shape[1])
        new = log_prob(q, w.act)
        lq_new = self.log_q(q, w.act)
        with np.errstate(invalid="ignore"):
            ok = new - w.log_prob + w.log_q - lq_new > np.log(rng.uniform(size=w.log_prob.shape))
        w.coords[ok], w.log_prob[ok], w.log_q[ok] = q[ok], new[ok], lq_new[ok]
        return ok

    def emcee_proposal(self, star: int) -> Callable:
        """The same move for one star of the block, as an ``emcee.moves.MHMove`` proposal function."""
        one = np.array([star])

        def proposal_function(coords, random):
            q = self.proposal.draw(np.random.default_rng(random.randint(2**31)), one, len(coords))
            return q[0], self.log_q(coords[None], one)[0] - self.log_q(q, one)[0]

        return proposal_function



def pick(moves: Sequence, weights: Sequence[float], u: float):
    """One of ``moves``, drawn by ``weights`` (summing to 1) with the uniform ``u``, as emcee picks a move per step."""
    for move, edge in zip(moves, np.cumsum(weights)):
        if u < edge:
            return move
    return moves[-1]
