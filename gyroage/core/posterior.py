"""Grid posteriors over log10 age: likelihood x prior, summaries, vectorised over stars.

Everything here works on (stars x grid) arrays; no per-star Python loop.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gyroage.core.density import FlowDensity, mix_outlier
from gyroage.core.priors import Prior

QUANTILES = (0.025, 0.16, 0.5, 0.84, 0.975)
SUMMARY_COLUMNS = ("age_p2.5_myr", "age_p16_myr", "age_p50_myr", "age_p84_myr", "age_p97.5_myr", "age_map_myr")


def age_grid(log10_min: float, log10_max: float, n: int) -> np.ndarray:
    return np.linspace(log10_min, log10_max, int(n))


def grid_log_likelihood(density: FlowDensity, log10_prot: np.ndarray, bp_rp0: np.ndarray,
                        bp_rp0_err: np.ndarray, grid: np.ndarray,
                        outlier_weight: float | None = None) -> np.ndarray:
    """log L[star, grid point] = log p(log10 Prot | age, colour, colour error)."""
    return density.log_prob_grid(log10_prot, bp_rp0, bp_rp0_err, grid, outlier_weight=outlier_weight)


def normalise(log_post: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """pdf per dex on the grid from unnormalised log posterior rows (trapezoid rule)."""
    lp = np.asarray(log_post, dtype=np.float64)
    peak = np.max(lp, axis=-1, keepdims=True)
    peak = np.where(np.isfinite(peak), peak, 0.0)
    p = np.exp(lp - peak)
    norm = np.trapezoid(p, grid, axis=-1)[..., None]
    with np.errstate(invalid="ignore", divide="ignore"):
        return p / norm


def cdf(pdf: np.ndarray, grid: np.ndarray) -> np.ndarray:
    dx = np.diff(grid)
    c = np.concatenate([np.zeros(pdf.shape[:-1] + (1,)), np.cumsum(0.5 * (pdf[..., 1:] + pdf[..., :-1]) * dx, axis=-1)], axis=-1)
    return c / c[..., -1:]


def quantiles(pdf: np.ndarray, grid: np.ndarray, qs=QUANTILES) -> np.ndarray:
    """Quantiles of each pdf row on ``grid``, linear in the CDF between grid points.

    ``qs``: levels shared by every row, shape (Q,), or one set per row, shape
    (rows..., Q) (e.g. uniform draws for inverse-CDF sampling). Returns
    (rows..., Q); NaN for a row whose pdf cannot be normalised.
    """
    c = cdf(pdf, grid)
    lead, n = c.shape[:-1], c.shape[-1]
    q = np.asarray(qs, dtype=float)
    q2 = np.broadcast_to(q, lead + q.shape[-1:]).reshape(-1, q.shape[-1])
    c2 = c.reshape(-1, n)
    bad = ~np.isfinite(c2).all(axis=1)
    c2 = np.where(bad[:, None], np.linspace(0.0, 1.0, n), c2)
    # One searchsorted over all rows: each row's CDF lies in [0, 1], so offsetting
    # row r by 2r keeps the concatenation sorted.
    r = np.arange(len(c2))[:, None]
    j = np.searchsorted((c2 + 2.0 * r).ravel(), (q2 + 2.0 * r).ravel()).reshape(q2.shape) - r * n
    j = np.clip(j - 1, 0, n - 2)
    c0 = np.take_along_axis(c2, j, axis=-1)
    c1 = np.take_along_axis(c2, j + 1, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.clip(np.where(c1 > c0, (q2 - c0) / (c1 - c0), 0.0), 0.0, 1.0)
    out = grid[j] + t * (grid[j + 1] - grid[j])
    out[bad] = np.nan
    return out.reshape(lead + q.shape[-1:])


def cdf_at(pdf: np.ndarray, grid: np.ndarray, x) -> np.ndarray:
    """Each row's posterior CDF at its own ``x`` (the probability integral transform), 0 and 1 outside the grid."""
    c = cdf(pdf, grid)
    x = np.broadcast_to(np.asarray(x, dtype=float), c.shape[:-1])
    j = np.clip(np.searchsorted(grid, x) - 1, 0, len(grid) - 2)
    t = np.clip((x - grid[j]) / (grid[j + 1] - grid[j]), 0.0, 1.0)
    c0 = np.take_along_axis(c, j[..., None], axis=-1)[..., 0]
    c1 = np.take_along_axis(c, j[..., None] + 1, axis=-1)[..., 0]
    return c0 + t * (c1 - c0)


def map_estimate(pdf: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Grid MAP refined by a parabola through the peak and its neighbours; NaN for a row that is not a pdf."""
    peak = np.argmax(pdf, axis=-1)
    k = np.clip(peak, 1, len(grid) - 2)
    rows = np.arange(pdf.shape[0])
    y0, y1, y2 = pdf[rows, k - 1], pdf[rows, k], pdf[rows, k + 1]
    denom = y0 - 2 * y1 + y2
    with np.errstate(invalid="ignore", divide="ignore"):
        shift = np.where(denom < 0, 0.5 * (y0 - y2) / denom, 0.0)
    x = grid[k] + np.clip(shift, -1, 1) * (grid[1] - grid[0])
    x = np.where(peak != k, grid[peak], x)  # a peak on the grid's edge has no parabola
    # argmax of an all-NaN row is 0: without this it would report the grid's lower edge as the MAP.
    return np.where(np.isfinite(pdf).all(axis=-1), x, np.nan)


def summary_myr(q: np.ndarray, mode: np.ndarray) -> dict[str, np.ndarray]:
    """:data:`SUMMARY_COLUMNS` in Myr from log10-age quantiles at :data:`QUANTILES` (rows x 5) and modes."""
    out = {name: 10 ** (q[:, i] - 6) for i, name in enumerate(SUMMARY_COLUMNS[:-1])}
    out[SUMMARY_COLUMNS[-1]] = 10 ** (mode - 6)
    return out


@dataclass
class GridPosterior:
    """Posteriors of many stars on one log10-age grid."""

    grid: np.ndarray
    pdf: np.ndarray

    def summaries(self) -> dict[str, np.ndarray]:
        """Percentiles and MAP in Myr, keyed by output column name."""
        return summary_myr(quantiles(self.pdf, self.grid), map_estimate(self.pdf, self.grid))


# Largest error (nats of log likelihood) the refined grid may leave at a point it interpolates.
REFINE_TOL = 0.02


def _midpoints(v: np.ndarray) -> np.ndarray:
    """Cubic (4-point Lagrange) values halfway between the columns of ``v`` (rows x C, C >= 4): C - 1 columns."""
    mid = np.empty(v.shape[:-1] + (v.shape[-1] - 1,), dtype=v.dtype)
    mid[..., 1:-1] = v[..., 1:-2] + v[..., 2:-1]
    mid[..., 1:-1] *= 9
    mid[..., 1:-1] -= v[..., :-3]
    mid[..., 1:-1] -= v[..., 3:]
    mid[..., 0] = 5 * v[..., 0] + 15 * v[..., 1] - 5 * v[..., 2] + v[..., 3]
    mid[..., -1] = 5 * v[..., -1] + 15 * v[..., -2] - 5 * v[..., -3] + v[..., -4]
    mid /= 16
    return mid


def refined_log_likelihood(density: FlowDensity, log10_prot, bp_rp0, bp_rp0_err, grid: np.ndarray,
                           outlier_weight: float | None = None, tol: float = REFINE_TOL) -> np.ndarray:
    """``grid_log_likelihood`` from about 40% of the flow evaluations, to within ``tol`` at every point.

    Coarse to fine: the flow is evaluated on every 4th grid point (a coarsest
    level of at least 40 points); each finer level's midpoints are filled by a
    cubic through four neighbours, unless the same cubic one level coarser
    misses the points nearby by more than ``tol`` (the flow's log density is
    smooth in age except near spline knots): there the flow is evaluated.
    ``grid`` must be evenly spaced with at least 15 points; otherwise every
    point is evaluated.
    """
    grid = np.asarray(grid, dtype=float)
    n = grid.size
    if n < 15 or not np.allclose(np.diff(grid), grid[1] - grid[0], rtol=1e-9, atol=0.0):
        return grid_log_likelihood(density, log10_prot, bp_rp0, bp_rp0_err, grid, outlier_weight)
    prot, colour, err = (np.asarray(a, dtype=float).reshape(-1) for a in (log10_prot, bp_rp0, bp_rp0_err))

    def exact(rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        return density.log_prob_flow(prot[rows], grid[cols], colour[rows], err[rows])

    def level(idx: np.ndarray) -> np.ndarray:
        """Flow log density (stars x len(idx), float32) at grid points ``idx`` (evenly spaced)."""
        m = idx.size
        if m % 2 == 0:  # the last point has no partner one level up: evaluate it
            head = level(idx[:-1])
            last = exact(np.arange(prot.size), np.full(prot.size, idx[-1]))
            return np.concatenate([head, last[:, None]], axis=1)
        if (m + 1) // 2 < 40:
            return density.log_prob_grid(prot, colour, err, grid[idx], outlier_weight=0.0)
        coarse = level(idx[::2])
        out = np.empty((prot.size, m), dtype=np.float32)
        out[:, ::2] = coarse
        out[:, 1::2] = _midpoints(coarse)
        rows, cells = np.nonzero(_cubic_risk(coarse) > tol)
        if rows.size:
            out[rows, 2 * cells + 1] = exact(rows, idx[2 * cells + 1])
        return out

    w = density.outlier_weight if outlier_weight is None else outlier_weight
    return mix_outlier(level(np.arange(n)), w, density.outlier_log_density)


def _cubic_risk(coarse: np.ndarray) -> np.ndarray:
    """Per cell between neighbouring columns: the largest miss of the cubic through every other column nearby.

    A column's miss is how far the cubic built from the columns two apart lands
    from it; the cell between columns j and j+1 takes the largest of j-1..j+2.
    """
    miss = np.zeros_like(coarse)
    for parity in (0, 1):
        pred = _midpoints(coarse[:, parity::2])
        target = coarse[:, parity + 1::2]
        k = min(pred.shape[1], target.shape[1])
        miss[:, parity + 1::2][:, :k] = np.abs(pred[:, :k] - target[:, :k])
    pad = np.pad(miss, ((0, 0), (1, 1)), mode="edge")
    return np.maximum(np.maximum(pad[:, 0:-3], pad[:, 1:-2]), np.maximum(pad[:, 2:-1], pad[:, 3:]))


def grid_posterior(density: FlowDensity, log10_prot, bp_rp0, bp_rp0_err, prior: Prior, n_grid: int,
                   outlier_weight: float | None = None, prior_mean=None, prior_sigma=None,
                   refine_tol: float | None = REFINE_TOL) -> GridPosterior:
    """Per-star grid posteriors; ``prior_mean``/``prior_sigma`` are per-star prior parameters (or None).

    ``refine_tol``: likelihood from :func:`refined_log_likelihood` with this
    tolerance (about 40% of the flow evaluations); ``None`` evaluates the flow at
    every grid point.
    """
    grid = age_grid(prior.log10_age_min, prior.log10_age_max, n_grid)
    if refine_tol is None:
        ll = grid_log_likelihood(density, log10_prot, bp_rp0, bp_rp0_err, grid, outlier_weight)
    else:
        ll = refined_log_likelihood(density, log10_prot, bp_rp0, bp_rp0_err, grid, outlier_weight, refine_tol)
    return GridPosterior(grid, normalise(ll + grid_log_prior(prior, grid, prior_mean, prior_sigma), grid))


def grid_log_prior(prior: Prior, grid: np.ndarray, mean=None, sigma=None) -> np.ndarray:
    """log prior on the grid: (1, grid) for a shared prior, (stars, grid) for a per-star one."""
    col = (lambda a: None if a is None else np.asarray(a, dtype=float)[:, None])  # noqa: E731
    return np.atleast_2d(prior.log_prob(np.asarray(grid)[None, :], col(mean), col(sigma)))


# --- Bayesian inference (issue 3): group (coeval) ages, stored posteriors ---------------------

GROUP_COLUMNS = ("n_stars", "n_used") + SUMMARY_COLUMNS + ("status",)


@dataclass
class GroupPosterior:
    """Joint age posteriors of groups of coeval stars on one grid (one row per group)."""

    groups: np.ndarray
    n_stars: np.ndarray
    n_used: np.ndarray
    grid: np.ndarray
    pdf: np.ndarray

    def summaries(self) -> dict[str, np.ndarray]:
        """Percentiles and MAP in Myr (NaN for groups without usable members)."""
        out = GridPosterior(self.grid, self.pdf).summaries()
        empty = self.n_used == 0
        return {k: np.where(empty, np.nan, v) for k, v in out.items()}


def group_log_likelihood(flow_loglike: np.ndarray, gid: np.ndarray, n_groups: int, membership: np.ndarray,
                         outlier_weight: float, outlier_log_density: float) -> np.ndarray:
    """Sum over each group's members of log[m (1 - w) f + (1 - m (1 - w)) u]: (n_groups x grid).

    ``flow_loglike``: flow-only log-likelihoods (members x grid); ``gid``: each
    member's group index in [0, n_groups).
    """
    keep = np.asarray(membership, dtype=float) * (1.0 - outlier_weight)
    with np.errstate(divide="ignore"):
        ll = np.logaddexp(np.log(keep)[:, None] + flow_loglike, (np.log1p(-keep) + outlier_log_density)[:, None])
    total = np.zeros((n_groups, flow_loglike.shape[-1]))
    if len(gid):
        # Sum member rows per group: sort by group, then one reduceat over contiguous runs.
        order = np.argsort(gid, kind="stable")
        g_sorted = gid[order]
        starts = np.flatnonzero(np.r_[True, g_sorted[1:] != g_sorted[:-1]])
        total[g_sorted[starts]] = np.add.reduceat(ll[order], starts, axis=0)
    return total


def group_posterior(density: FlowDensity, log10_prot, bp_rp0, bp_rp0_err, groups, prior: Prior,
                    n_grid: int = 1001, membership=None, outlier_weight: float | None = None,
                    use=None, systematic_dex: float = 0.0) -> GroupPosterior:
    """Joint log10-age posterior per group of coeval stars.

    p(x | group) ∝ p(x) * prod_i [ m_i (1 - w) f_i(x) + (1 - m_i (1 - w)) u ]

    with f_i the flow density of member i's log10 period, u the uniform outlier
    density over the model's period range, w the outlier weight (the card's by
    default) and m_i the membership probability (1 when ``membership`` is
    None): a non-member or an outlier contributes the same flat density at all
    ages, so it cannot drag the group age. The prior is applied once per group.

    Parameters
    ----------
    density : the ONNX density.
    log10_prot, bp_rp0, bp_rp0_err : per-star arrays.
    groups : per-star group labels (any hashable values; NaN-free).
    prior : a scalar :class:`Prior` (a per-star prior makes no sense for a group).
    n_grid : grid points over the prior bounds (group posteriors are narrow: keep it fine).
    membership : per-star membership probabilities in [0, 1], or None.
    use : boolean mask of stars to use (invalid rows still count in ``n_stars``).
    systematic_dex : Gaussian width (dex) of the model's systematic age error, convolved
        into each group posterior (0: statistical only; see :func:`default_systematic_dex`).

    Returns
    -------
    GroupPosterior with groups in order of first appearance.
    """
    groups = np.asarray(groups)
    n = len(groups)
    labels, first, inverse = np.unique(groups, return_index=True, return_inverse=True)
    order_groups = np.argsort(first)  # groups in order of first appearance
    rank = np.empty_like(order_groups)
    rank[order_groups] = np.arange(len(order_groups))
    gid = rank[inverse.reshape(-1)]
    use = np.ones(n, dtype=bool) if use is None else np.asarray(use, dtype=bool)
    m = np.ones(n) if membership is None else np.clip(np.asarray(membership, dtype=float), 0.0, 1.0)
    use = use & np.isfinite(m) & (m > 0)
    n_groups = len(labels)
    n_stars = np.bincount(gid, minlength=n_groups)
    n_used = np.bincount(gid[use], minlength=n_groups)
    grid = age_grid(prior.log10_age_min, prior.log10_age_max, n_grid)
    total = np.zeros((n_groups, len(grid)))
    if use.any():
        w = density.outlier_weight if outlier_weight is None else float(outlier_weight)
        idx = np.flatnonzero(use)
        lf = grid_log_likelihood(density, np.asarray(log10_prot)[idx], np.asarray(bp_rp0)[idx],
                                 np.asarray(bp_rp0_err)[idx], grid, outlier_weight=0.0).astype(np.float64)
        total = group_log_likelihood(lf, gid[idx], n_groups, m[idx], w, density.outlier_log_density)
    log_post = total + grid_log_prior(prior, grid)
    pdf = smear(normalise(log_post, grid), grid, systematic_dex)
    return GroupPosterior(labels[order_groups], n_stars, n_used, grid, pdf)


def smear(pdf: np.ndarray, grid: np.ndarray, sigma_dex: float) -> np.ndarray:
    """Convolve pdf rows with a Gaussian of ``sigma_dex`` in log10 age, renormalised within the grid."""
    if sigma_dex <= 0:
        return pdf
    d = grid[:, None] - grid[None, :]
    kernel = np.exp(-0.5 * (d / sigma_dex) ** 2)
    out = np.nan_to_num(pdf) @ kernel.T
    with np.errstate(invalid="ignore", divide="ignore"):
        return out / np.trapezoid(out, grid, axis=-1)[..., None]


def default_systematic_dex(card) -> float:
    """The model's systematic error on joint ages, from its leave-one-cluster-out validation.

    Held-out clusters >= 30 Myr scatter about their fiducial ages far more than
    the statistical joint-age intervals allow (docs/validation.md); their median
    absolute error, scaled to a Gaussian sigma (/ 0.6745), is the floor. 0 when
    the card has no validation.
    """
    v = (card.validation or {}).get("loco_cluster_median_abs_dex_ge30myr")
    return float(v) / 0.6745 if v else 0.0


def write_empty_posteriors(path) -> None:
    """A ``--posteriors`` file with the schema and no rows (no star had a posterior)."""
    import os

    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([("row", pa.int64()), ("method", pa.string()), ("log10_age", pa.list_(pa.float32())),
                        ("pdf", pa.list_(pa.float32()))])
    tmp = f"{path}.part"
    pq.write_table(schema.empty_table(), tmp)
    os.replace(tmp, path)


def posterior_table(rows: np.ndarray, method: str, values: list[np.ndarray], pdf: list[np.ndarray] | None = None):
    """Stored posteriors (``--posteriors``): one row per star keyed by input row index.

    Columns: ``row`` (0-based input row), ``method`` (grid or mcmc),
    ``log10_age`` (grid points, or posterior samples for mcmc; log10 yr) and
    ``pdf`` (posterior density per dex on the grid; empty for samples).
    """
    import pandas as pd

    empty = np.zeros(0, dtype=np.float32)
    return pd.DataFrame({
        "row": np.asarray(rows, dtype=np.int64),
        "method": np.full(len(rows), method, dtype=object),
        "log10_age": [np.asarray(v, dtype=np.float32) for v in values],
        "pdf": [np.asarray(p, dtype=np.float32) for p in pdf] if pdf is not None else [empty] * len(rows),
    })


def group_ages(frame, density: FlowDensity, by: str, prior: Prior, n_grid: int = 1001,
               membership: str | None = None, outlier_weight: float | None = None,
               systematic_dex: float | None = None):
    """``gyroage group-age`` on a DataFrame: one row per group (in order of first appearance).

    Columns: the ``by`` column, ``n_stars`` (rows in the group), ``n_used``
    (rows with a usable period and colour and membership > 0), the age
    summaries of :data:`SUMMARY_COLUMNS` and ``status`` (``ok`` or
    ``no_valid_members``). Rows with a missing group label are ignored.
    ``systematic_dex`` defaults to :func:`default_systematic_dex` of the model.
    """
    import pandas as pd

    from gyroage import io
    from gyroage.core.estimate import validate
    from gyroage.errors import UserError

    if prior.per_star:
        raise UserError("group-age takes one prior per group: give --prior-mean/--prior-sigma as numbers")
    col = io.require_column(list(frame.columns), by)
    labels = frame[col]
    labels = labels.iloc[:, 0] if isinstance(labels, pd.DataFrame) else labels
    has = labels.notna().to_numpy() & (labels.astype(str).str.strip() != "").to_numpy()
    sub = frame.loc[has].reset_index(drop=True)
    stars = validate(sub, density.card)
    m = None
    if membership is not None:
        m = io.numeric(sub, io.require_column(list(sub.columns), membership))
    gp = group_posterior(density, np.log10(np.where(stars.ok, stars.prot, 1.0)), np.where(stars.ok, stars.bp_rp0, 1.0),
                         stars.bp_rp0_err, labels[has].astype(str).str.strip().to_numpy(), prior, n_grid,
                         membership=m, outlier_weight=outlier_weight, use=stars.ok,
                         systematic_dex=default_systematic_dex(density.card) if systematic_dex is None else systematic_dex)
    out = pd.DataFrame({col: gp.groups, "n_stars": gp.n_stars, "n_used": gp.n_used})
    for name, values in gp.summaries().items():
        out[name] = values
    out["status"] = np.where(gp.n_used > 0, io.OK, io.NO_VALID_MEMBERS)
    return out
