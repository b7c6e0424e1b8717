"""The refined grid's levels (likelihood.refined_log_likelihood) against the algorithm as it stood before fix-W7,
copied here: the same flow evaluations, in the same order, and the same float32 values to the bit.

fix-W7 reuses each level's cubic midpoints as the next level's prediction of its odd columns, and reads the
refinement's cells by flat index; any change of a value or an evaluation would change ages (by a few ulp or more).
"""

import numpy as np
import pytest

from gyroage.core import likelihood


class _Flow:
    """A stand-in for FlowDensity: a log density with kinks in age (knots) and -inf far from its sequence, and a
    log of every evaluation."""

    outlier_weight, outlier_log_density = 0.01, -1.0

    def __init__(self) -> None:
        self.calls: list[np.ndarray] = []

    def log_prob_flow(self, prot, age, colour, err):
        prot, age, colour, err = (np.asarray(a, np.float32) for a in np.broadcast_arrays(prot, age, colour, err))
        self.calls.append(np.stack([prot.ravel(), age.ravel(), colour.ravel()]))
        centre = 0.6 * (age - 8.0) + 0.8 * colour + 0.3 * np.abs(np.sin(7.0 * age * colour))
        lp = -0.5 * ((prot - centre) / (0.05 + err)) ** 2 + np.where(age > 9.3, -2.0 * (age - 9.3), 0.0)
        return np.where(np.abs(prot - centre) > 1.5, -np.inf, lp).astype(np.float32)

    def log_prob_grid(self, prot, colour, err, grid, outlier_weight=None):
        g = np.asarray(grid, np.float32)[None, :]
        return self.log_prob_flow(np.asarray(prot)[:, None], g, np.asarray(colour)[:, None],
                                  np.asarray(err)[:, None])


def _midpoints(v):
    mid = np.empty(v.shape[:-1] + (v.shape[-1] - 1,), dtype=v.dtype)
    mid[..., 1:-1] = v[..., 1:-2] + v[..., 2:-1]
    mid[..., 1:-1] *= 9
    mid[..., 1:-1] -= v[..., :-3]
    mid[..., 1:-1] -= v[..., 3:]
    mid[..., 0] = 5 * v[..., 0] + 15 * v[..., 1] - 5 * v[..., 2] + v[..., 3]
    mid[..., -1] = 5 * v[..., -1] + 15 * v[..., -2] - 5 * v[..., -3] + v[..., -4]
    mid /= 16
    return mid


def _cubic_risk(coarse):
    miss = np.zeros_like(coarse)
    for parity in (0, 1):
        pred = _midpoints(coarse[:, parity::2])
        target = coarse[:, parity + 1::2]
        k = min(pred.shape[1], target.shape[1])
        miss[:, parity + 1::2][:, :k] = np.abs(pred[:, :k] - target[:, :k])
    pad = np.empty((miss.shape[0], miss.shape[1] + 2), dtype=miss.dtype)
    pad[:, 1:-1] = miss
    pad[:, 0], pad[:, -1] = miss[:, 0], miss[:, -1]
    out = np.maximum(pad[:, 0:-3], pad[:, 1:-2])
    np.maximum(out, pad[:, 2:-1], out=out)
    return np.maximum(out, pad[:, 3:], out=out)


def _can_matter(coarse, mid, risk, rows, cells, star, logw, tol):
    starts = np.flatnonzero(np.r_[True, star[1:] != star[:-1]])
    top = np.maximum.reduceat(coarse + logw[:, None], starts, axis=0)
    g = np.repeat(np.arange(starts.size), np.diff(np.r_[starts, star.size]))[rows]
    r = risk[rows, cells]
    reach = np.maximum(np.maximum(coarse[rows, cells], coarse[rows, cells + 1]), mid[rows, cells]) + logw[rows] + r
    with np.errstate(invalid="ignore"):
        share = np.minimum(reach - np.minimum(top[g, cells], top[g, cells + 1]), 0.0)
    return (r * np.exp(share) > tol) | (cells == 0) | (cells == coarse.shape[1] - 2)


def _reference(density, prot, colour, err, grid, tol, coarsest, nodes):
    """refined_log_likelihood's levels as at 065134c (outlier weight 0)."""
    def exact(rows, cols):
        return density.log_prob_flow(prot[rows], grid[cols], colour[rows], err[rows])

    def level(idx):
        m = idx.size
        if m % 2 == 0:
            head = level(idx[:-1])
            last = exact(np.arange(prot.size), np.full(prot.size, idx[-1]))
            return np.concatenate([head, last[:, None]], axis=1)
        if (m + 1) // 2 < coarsest:
            return density.log_prob_grid(prot, colour, err, grid[idx], outlier_weight=0.0)
        coarse = level(idx[::2])
        out = np.empty((prot.size, m), dtype=np.float32)
        out[:, ::2] = coarse
        out[:, 1::2] = _midpoints(coarse)
        risk = _cubic_risk(coarse)
        rows, cells = np.nonzero(risk > tol)
        if nodes is not None and rows.size:
            keep = _can_matter(coarse, out[:, 1::2], risk, rows, cells, *nodes, tol)
            rows, cells = rows[keep], cells[keep]
        if rows.size:
            out[rows, 2 * cells + 1] = exact(rows, idx[2 * cells + 1])
        return out

    return level(np.arange(grid.size))


@pytest.mark.parametrize("n_grid, coarsest, tol, nodes", [(201, 40, 0.02, False), (201, 20, 0.05, False),
                                                          (201, 10, 0.03, True), (101, 10, 0.001, True),
                                                          (200, 10, 0.03, True), (57, 6, 0.0, True)])
def test_refined_levels_evaluate_and_give_what_they_did_before(n_grid, coarsest, tol, nodes):
    rng = np.random.default_rng(n_grid + coarsest)
    stars, per = 60, 7
    prot = np.repeat(rng.uniform(-0.5, 1.8, stars), per)
    colour = np.clip(np.repeat(rng.uniform(0.5, 3.0, stars), per) + rng.normal(0.0, 0.2, stars * per), 0.4, 3.2)
    err = np.full(stars * per, 0.02)
    grid = np.linspace(6.5, 10.0, n_grid)
    star_nodes = None
    if nodes:
        lw = np.log(likelihood.tier_nodes(per)[1] / np.sqrt(np.pi))
        star_nodes = (np.repeat(np.arange(stars), per), np.tile(lw, stars))
    old, new = _Flow(), _Flow()
    with np.errstate(invalid="ignore"):  # -inf less -inf in the cubics, where the stand-in rules ages out
        want = _reference(old, prot, colour, err, grid, tol, coarsest, star_nodes)
        got = likelihood.refined_log_likelihood(new, prot, colour, err, grid, outlier_weight=0.0, tol=tol,
                                                coarsest=coarsest, nodes=star_nodes)
    assert np.isneginf(want).any() and np.isfinite(want).mean() > 0.3  # the stand-in has both
    assert len(new.calls) == len(old.calls)
    for a, b in zip(new.calls, old.calls):
        assert np.array_equal(a, b)
    assert got.dtype == want.dtype == np.float32
    assert np.array_equal(got, want, equal_nan=True)
