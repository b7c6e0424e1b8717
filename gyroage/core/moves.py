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
  posterior; :meth:`IndependenceMove.emcee_proposal` gives the same move to
  ``emcee.moves.MHMove`` for the reference back end.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from gyroage.core.posterior import grid_posterior

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


class IndependenceProposal:
    """An independence Metropolis-Hastings proposal per star, close to the posterior.

    x from a coarse grid posterior (81 points, histogram bins) mixed with 10%
    uniform over the prior bounds (heavy coverage), c and y from Gaussians
    1.2 times wider than their measurement terms. Because it nearly matches
    the target, walkers decorrelate in a few steps; the stretch move handles
    what it misses (e.g. strong age-colour correlations when colour errors are
    large). Vectorised over stars: arrays are (stars, walkers, 3).
    """

    UNIFORM = 0.1
    WIDEN = 1.2

    def __init__(self, logpost, n_grid: int = 81) -> None:
        """``logpost``: the sampler's ``LogPosterior`` (its density, prior, stars and outlier weight)."""
        s, prior = logpost.stars, logpost.prior
        # refine_tol=None: 81 points cost little next to the chains, and the exact pdf keeps
        # the proposal (hence every chain) independent of the refinement tolerance.
        post = grid_posterior(logpost.density, s.log10_prot, s.bp_rp0, s.bp_rp0_err, prior, n_grid, logpost.w,
                              s.prior_mean, s.prior_sigma, refine_tol=None)
        self.edges = post.grid
        pdf = np.where(np.isfinite(post.pdf), post.pdf, 0.0)
        mass = 0.5 * (pdf[:, 1:] + pdf[:, :-1])
        tot = mass.sum(axis=1, keepdims=True)
        mass = np.where(tot > 0, mass / np.where(tot > 0, tot, 1.0), 1.0 / mass.shape[1])
        self.mass = (1 - self.UNIFORM) * mass + self.UNIFORM / mass.shape[1]
        self.cum = np.cumsum(self.mass, axis=1)
        self.cum[:, -1] = 1.0
        self.dx = self.edges[1] - self.edges[0]
        self.log_bin_density = np.log(self.mass / self.dx)
        se = np.zeros_like(s.bp_rp0_err) if s.ebprp_err is None else np.nan_to_num(s.ebprp_err)
        self.c_mu, self.c_sd = s.bp_rp0, self.WIDEN * np.sqrt(s.bp_rp0_err**2 + se**2)
        self.y_mu, self.y_sd = s.log10_prot, self.WIDEN * s.log10_prot_err

    def draw(self, rng: np.random.Generator, act: np.ndarray, n_walkers: int) -> np.ndarray:
        u = rng.uniform(size=(len(act), n_walkers))
        j = (self.cum[act][:, None, :] < u[..., None]).sum(axis=2).clip(0, self.mass.shape[1] - 1)
        x = self.edges[j] + rng.uniform(size=j.shape) * self.dx
        c = self.c_mu[act, None] + self.c_sd[act, None] * rng.standard_normal(x.shape)
        y = self.y_mu[act, None] + self.y_sd[act, None] * rng.standard_normal(x.shape)
        return np.stack([x, c, y], axis=-1)

    def log_q(self, theta: np.ndarray, act: np.ndarray) -> np.ndarray:
        x, c, y = theta[..., 0], theta[..., 1], theta[..., 2]
        j = np.clip(np.floor((x - self.edges[0]) / self.dx).astype(int), 0, self.mass.shape[1] - 1)
        lx = np.take_along_axis(self.log_bin_density[act], j, axis=1)
        lc = -0.5 * ((c - self.c_mu[act, None]) / self.c_sd[act, None]) ** 2 - np.log(self.c_sd[act, None])
        ly = -0.5 * ((y - self.y_mu[act, None]) / self.y_sd[act, None]) ** 2 - np.log(self.y_sd[act, None])
        return lx + lc + ly


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
