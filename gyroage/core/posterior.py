"""Grid posteriors over log10 age: likelihood x prior, summaries, vectorised over stars.

Everything here works on (stars x grid) arrays; no per-star Python loop.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from gyroage.core.density import FlowDensity
from gyroage.core.grid_cdf import QUANTILES, cdf, cdf_quantiles, trapezoid
from gyroage.core.likelihood import REFINE_TOL
from gyroage.core.main_sequence import MainSequenceTerm
from gyroage.core.period_nodes import period_marginal_log_likelihood
from gyroage.core.priors import Prior

SUMMARY_COLUMNS = ("age_p2.5_myr", "age_p16_myr", "age_p50_myr", "age_p84_myr", "age_p97.5_myr", "age_map_myr")


def age_grid(log10_min: float, log10_max: float, n: int) -> np.ndarray:
    return np.linspace(log10_min, log10_max, int(n))


def normalise(log_post: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """pdf per dex on the grid from unnormalised log posterior rows (trapezoid rule)."""
    return normalise_with_log_norm(log_post, grid)[0]


def normalise_with_log_norm(log_post: np.ndarray, grid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(pdf rows, log of each row's integral): :func:`normalise` and the evidence from one exp pass."""
    lp = np.asarray(log_post, dtype=np.float64)
    peak = np.max(lp, axis=-1, keepdims=True)
    peak = np.where(np.isfinite(peak), peak, 0.0)
    p = np.exp(lp - peak)
    norm = trapezoid(p, grid, axis=-1)[..., None]
    with np.errstate(invalid="ignore", divide="ignore"):
        return p / norm, (np.log(norm) + peak)[..., 0]


def quantiles(pdf: np.ndarray, grid: np.ndarray, qs=QUANTILES) -> np.ndarray:
    """Quantiles of each pdf row on ``grid``, linear in the CDF between grid points.

    ``qs``: levels shared by every row, shape (Q,), or one set per row, shape
    (rows..., Q) (e.g. uniform draws for inverse-CDF sampling). Levels 0 and 1
    give the ends of each row's support (the last grid point where the CDF is
    0, the first where it is 1). Returns (rows..., Q); NaN for a row whose pdf
    cannot be normalised.
    """
    return cdf_quantiles(cdf(pdf, grid), grid, qs)


def cdf_at(pdf: np.ndarray, grid: np.ndarray, x) -> np.ndarray:
    """Each row's posterior CDF at its own ``x`` (the probability integral transform), 0 and 1 outside the grid."""
    return cdf_value(cdf(pdf, grid), grid, x)


def cdf_value(c: np.ndarray, grid: np.ndarray, x) -> np.ndarray:
    """:func:`cdf_at` from rows of the CDF (:func:`cdf`) already computed."""
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
    """Posteriors of many stars on one log10-age grid.

    ``pdf`` is the age posterior of each star as a member of the rotation
    sequence; ``p_outlier`` the posterior probability that it is not (its period
    is better explained by the outlier component), or None when not computed.
    """

    grid: np.ndarray
    pdf: np.ndarray
    p_outlier: np.ndarray | None = None

    @functools.cached_property
    def cdf(self) -> np.ndarray:
        """Each row's CDF on the grid: the summaries and :meth:`mass_outside` both read it."""
        return cdf(self.pdf, self.grid)

    def summaries(self) -> dict[str, np.ndarray]:
        """Percentiles and MAP in Myr, keyed by output column name."""
        return summary_myr(cdf_quantiles(self.cdf, self.grid), map_estimate(self.pdf, self.grid))

    def mass_outside(self, lo, hi) -> np.ndarray:
        """Each row's posterior probability below ``lo`` or above ``hi`` (log10 yr, per row; NaN bounds: all of it)."""
        lo, hi = (np.broadcast_to(np.asarray(v, dtype=float), self.pdf.shape[:-1]) for v in (lo, hi))
        # a colour with no training cluster has no inside: NaN bounds become an empty range
        inside = cdf_value(self.cdf, self.grid, np.where(np.isnan(hi), -np.inf, hi)) \
            - cdf_value(self.cdf, self.grid, np.where(np.isnan(lo), np.inf, lo))
        return np.clip(1.0 - inside, 0.0, 1.0)


class PdfTransform(Protocol):
    """What a posterior needs of a calibration (:class:`gyroage.core.calibration.Calibration`, which builds on this module)."""

    def apply(self, pdf: np.ndarray, grid: np.ndarray, colour=None) -> np.ndarray: ...


def grid_posterior(density: FlowDensity, log10_prot, bp_rp0, bp_rp0_err, prior: Prior, n_grid: int,
                   outlier_weight: float | None = None, prior_mean=None, prior_sigma=None,
                   refine_tol: float | None = REFINE_TOL, colour_sigma=None,
                   calibration: PdfTransform | None = None, main_sequence: MainSequenceTerm | None = None,
                   abs_g=None, main_sequence_calibration: PdfTransform | None = None,
                   abs_g_err=None, period_sigma=None) -> GridPosterior:
    """Per-star grid posteriors of sequence members, and each star's outlier probability.

    The age posterior is flow likelihood x prior: the star as a member of the
    rotation sequence. The outlier component (weight ``outlier_weight``, the
    card's by default; uniform in log10 Prot) enters only the outlier
    probability, so it never leaks a flat tail into the ages.
    ``prior_mean``/``prior_sigma``: per-star prior parameters (or None).
    ``refine_tol``: likelihood from :func:`gyroage.core.likelihood.refined_log_likelihood` with this
    tolerance (about 40% of the flow evaluations); ``None`` evaluates the flow at
    every grid point. ``colour_sigma``: per-star colour uncertainty (mag) beyond
    what the training colours carried, or a :class:`gyroage.core.likelihood.ColourSpread` (nodes about the mean of
    a reddening kept >= 0), marginalised over (:func:`colour_marginal_log_likelihood`, within each period node).
    ``period_sigma``: per-star sd of log10 Prot (dex; :func:`gyroage.core.period_nodes.period_sigma` of ``prot_err``;
    None or 0: an exact period), the likelihood averaged over the true period
    (:func:`gyroage.core.period_nodes.period_marginal_log_likelihood`).
    ``calibration``: the model's systematic term (by age and colour), convolved into each posterior.
    ``main_sequence``, ``abs_g``, ``abs_g_err``: the height term, each star's absolute G (NaN: unknown) and its
    error (None or NaN: none known); the stars it informs take ``main_sequence_calibration`` (when given) instead
    of ``calibration``.
    """
    grid = age_grid(prior.log10_age_min, prior.log10_age_max, n_grid)
    ll = period_marginal_log_likelihood(density, log10_prot, bp_rp0, bp_rp0_err, grid, colour_sigma, refine_tol,
                                        period_sigma)
    log_prior = base_prior = grid_log_prior(prior, grid, prior_mean, prior_sigma)
    prior_log_norm = normalise_with_log_norm(log_prior, grid)[1]
    informed, term_ll = None, 0.0
    if main_sequence is not None and abs_g is not None:
        informed = main_sequence.informs(bp_rp0, abs_g, abs_g_err)
        if informed.any():
            # on the prior's side: it shapes the age, while the evidence for p_outlier stays rotation's
            term_ll = main_sequence.log_likelihood(bp_rp0, abs_g, grid, abs_g_err)
            log_prior = log_prior + term_ll
            # the term is 0 on the other rows, whose prior and its integral stay as they were
            prior_log_norm = np.broadcast_to(prior_log_norm, informed.shape).copy()
            prior_log_norm[informed] = normalise_with_log_norm(log_prior[informed], grid)[1]
    pdf, log_norm = normalise_with_log_norm(ll + log_prior, grid)
    if calibration is not None or main_sequence_calibration is not None:
        colour = np.asarray(bp_rp0, dtype=np.float64)
        over = over_model_grid(grid, density.card.age_grid, ll, lambda a: period_marginal_log_likelihood(
            density, log10_prot, bp_rp0, bp_rp0_err, a, colour_sigma, refine_tol, period_sigma))
        if over is not None:  # bounds inside the model's grid: calibrate the likelihood over all of it
            full, like, inside = over
            like = like.astype(np.float64)
            if informed is not None and informed.any():
                like = like + main_sequence.log_likelihood(bp_rp0, abs_g, full, abs_g_err)
            pdf = calibrated_within(like, base_prior, full, inside,
                                    lambda p: calibrate(p, full, colour, calibration, main_sequence_calibration,
                                                        informed))
        else:
            pdf = calibrate_under_prior(pdf, ll + term_ll, base_prior, grid,
                                        lambda p: calibrate(p, grid, colour, calibration, main_sequence_calibration,
                                                            informed))
    w = density.outlier_weight if outlier_weight is None else outlier_weight
    log_z = log_norm - prior_log_norm  # the member evidence, prior normalised
    p_out = outlier_probability(log_z, w, density.outlier_log_density)
    return GridPosterior(grid, pdf, p_out)


def calibrate_under_prior(pdf: np.ndarray, log_like: np.ndarray, log_prior: np.ndarray, grid: np.ndarray,
                          apply: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """The calibrated posterior: prior x (the calibration ``apply``-ed to the normalised likelihood ``log_like``),
    normalised; under a flat prior (the default) that is ``apply`` of the posterior ``pdf`` itself.

    The calibration stands for the model's systematic error in age, so it widens what the model says (the
    likelihood), not what the user knows: a bounded prior keeps its bounds (a table is 0 outside it) and a narrow one
    (an isochrone age) its width.
    """
    if prior_is_flat(log_prior):
        return apply(pdf)
    like = apply(normalise(log_like, grid))
    with np.errstate(divide="ignore"):
        return normalise(np.log(np.maximum(like, 0.0)) + log_prior, grid)


# The finest step the likelihood beyond a prior's bounds takes (outer_ages), as points over the model's age grid:
# 0.004 dex on the shipped 4 dex grid, group-age's default step, a 14th of the narrowest kernel above 1 Gyr
# (0.055 dex). Finer, --grid 5001 between bounds 0.1 dex apart took 45 s and 5.5 GB for two stars (7.8 s before).
OUTER_POINTS = 1001


def outer_ages(grid: np.ndarray, card_grid) -> tuple[np.ndarray, np.ndarray]:
    """The ages of the model's ``age_grid`` (the card's) below and above ``grid`` (a grid over a prior's bounds),
    on which the likelihood is calibrated beyond the bounds (:func:`calibrated_within`); empty where a bound is the
    model's own.

    Each side is evenly spaced from the bound to the model's end, at ``grid``'s step or the step of ``len(grid)``
    points over the model's grid, whichever is coarser (as the grid over that whole range would have been: 0.02 dex
    for estimate's default 201 points), and no finer than :data:`OUTER_POINTS` over it.
    """
    lo, hi = float(card_grid["log10_age_min"]), float(card_grid["log10_age_max"])
    step = max(float(grid[1] - grid[0]), (hi - lo) / (min(len(grid), OUTER_POINTS) - 1))

    def side(a: float, b: float) -> np.ndarray:  # from a to b, a excluded
        cells = int(np.ceil(abs(b - a) / step - 1e-9)) if abs(b - a) > 1e-9 else 0
        return np.linspace(a, b, cells + 1)[1:]

    return side(float(grid[0]), lo)[::-1], side(float(grid[-1]), hi)


def over_model_grid(grid: np.ndarray, card_grid, inner: np.ndarray,
                    like_at: Callable[[np.ndarray], np.ndarray]) -> tuple[np.ndarray, np.ndarray, slice] | None:
    """The likelihood over the model's whole age grid, for :func:`calibrated_within`: (the ages ``full``, the
    likelihood there, the slice of ``grid`` in it), ``inner`` on ``grid`` and ``like_at(ages)`` on the
    :func:`outer_ages` beyond it; None where the prior's bounds are the model's own (nothing beyond)."""
    below, above = outer_ages(grid, card_grid)
    if not (below.size or above.size):
        return None
    outer = [like_at(a) if a.size else inner[:, :0] for a in (below, above)]
    return (np.concatenate([below, grid, above]), np.concatenate([outer[0], inner, outer[1]], axis=1),
            slice(below.size, below.size + grid.size))


def calibrated_within(log_like: np.ndarray, log_prior: np.ndarray, full: np.ndarray, inside: slice,
                      apply: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """The posterior on ``full[inside]`` (a grid over the prior's bounds) under a prior bounded inside ``full`` (the
    model's age grid): the likelihood ``log_like`` calibrated (``apply``) over all of ``full``, times the prior
    ``log_prior`` (on ``full[inside]``), normalised (README, "Calibration": the posterior is the prior times the
    calibrated likelihood). Cut at the bound first, the likelihood's mass beyond it was calibrated away: a 100 d
    M dwarf at 2.6 mag under --age-max-myr 1000 came out 70 Myr, not 621 Myr against the bound."""
    like = apply(normalise(log_like, full))[..., inside]
    grid = full[inside]
    with np.errstate(divide="ignore"):
        return normalise(np.log(np.maximum(like, 0.0)) + log_prior, grid)


def prior_is_flat(log_prior: np.ndarray) -> bool:
    """Whether a log prior on the age grid ((1, grid), or (stars, grid) per star) is the same at every grid age.

    The one test of "flat" for the grid (:func:`calibrate_under_prior`) and the sampler (whose chains then sample the
    posterior itself): numerical, not by the prior's kind, so a constant table is flat as the default is. A prior
    with no finite value (zero at every grid age) is not flat: the sampler took it for the default.
    """
    lp = np.asarray(log_prior)
    return bool(np.all(lp == lp[..., :1]) and np.all(np.isfinite(lp[..., :1])))


def flat_over_model_grid(prior: Prior, card_grid, n_grid: int, mean=None, sigma=None) -> bool:
    """Whether ``prior`` (per star: ``mean``, ``sigma``) has the card's ``age_grid`` bounds and is flat
    (:func:`prior_is_flat`) on ``n_grid`` ages between them: the sampler's chains then sample the posterior itself,
    else the likelihood, which the grid method's recipe turns into the posterior (:mod:`gyroage.core.chain_summary`)."""
    return bounds_are_the_cards(prior, card_grid) and prior_is_flat(grid_log_prior(
        prior, age_grid(prior.log10_age_min, prior.log10_age_max, n_grid), mean, sigma))


def calibrate(pdf: np.ndarray, grid: np.ndarray, colour: np.ndarray, calibration: PdfTransform | None,
              main_sequence_calibration: PdfTransform | None, informed: np.ndarray | None) -> np.ndarray:
    """Each star's posterior convolved with its systematic term: ``main_sequence_calibration`` for the stars the
    height term ``informed`` (when given), ``calibration`` for the rest (None: left as it is)."""
    split = main_sequence_calibration is not None and informed is not None and informed.any()
    if not split:
        return calibration.apply(pdf, grid, colour) if calibration is not None else pdf
    out = np.array(pdf, dtype=np.float64)
    out[informed] = main_sequence_calibration.apply(out[informed], grid, colour[informed])
    if calibration is not None and not informed.all():
        out[~informed] = calibration.apply(out[~informed], grid, colour[~informed])
    return out


def log_evidence(log_like: np.ndarray, log_prior: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """log of the integral of L(x) p(x) over the grid, with the prior normalised on the grid (trapezoid rule)."""
    lp = np.asarray(log_prior, dtype=np.float64)
    return normalise_with_log_norm(np.asarray(log_like, dtype=np.float64) + lp, grid)[1] \
        - normalise_with_log_norm(lp, grid)[1]


def outlier_probability(log_evidence_member: np.ndarray, weight: float, outlier_log_density: float) -> np.ndarray:
    """Posterior probability of the outlier component: w u / (w u + (1 - w) Z), Z the member evidence."""
    if weight <= 0:
        return np.zeros_like(np.asarray(log_evidence_member, dtype=float))
    a = np.log(weight) + outlier_log_density
    b = np.log1p(-weight) + np.asarray(log_evidence_member, dtype=float)
    return np.exp(a - np.logaddexp(a, b))


# age_beyond_prior_bound: the ages (over the card's grid, uniform in log age) a star's or a group's likelihood is
# summed on, and the share of it beyond a prior bound above which it is flagged.
BOUND_CHECK_POINTS = 401
BEYOND_BOUND_MASS = 0.5


def bounds_are_the_cards(prior: Prior, card_grid) -> bool:
    """Whether the prior's bounds reach the card's ``age_grid`` at both ends: nothing can lie beyond them, and
    :func:`beyond_prior_bounds` need not run."""
    return prior.log10_age_min <= float(card_grid["log10_age_min"]) \
        and prior.log10_age_max >= float(card_grid["log10_age_max"])


def beyond_prior_bounds(prior: Prior, card_grid, log_likelihood: Callable[[np.ndarray], np.ndarray],
                        peak: bool = False) -> np.ndarray:
    """Per row of ``log_likelihood`` (a star's or a group's total log-likelihood on given log10 ages), whether most
    of its likelihood (flat in log age over the card's ``age_grid``) lies beyond one of the prior's bounds: the
    posterior then piles against that bound, which sets its age (M67, 282 members, came out 943.5 Myr under
    --age-max-myr 1000).
    ``peak``: also where the likelihood's maximum lies beyond a bound (stars: a broad likelihood peaking at the
    grid's 10 Gyr edge with 40% of its mass beyond 3 Gyr is set by --age-max-myr 3000 as much). A boolean array;
    callers skip it when :func:`bounds_are_the_cards` (nothing lies beyond them)."""
    ages = age_grid(float(card_grid["log10_age_min"]), float(card_grid["log10_age_max"]), BOUND_CHECK_POINTS)
    ll = log_likelihood(ages)
    with np.errstate(invalid="ignore"):  # a row whose likelihood is -inf everywhere: NaN, never flagged
        p = np.exp(ll - ll.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
    below, above = ages < prior.log10_age_min, ages > prior.log10_age_max
    out = (p[:, below].sum(axis=1) > BEYOND_BOUND_MASS) | (p[:, above].sum(axis=1) > BEYOND_BOUND_MASS)
    if peak:
        top = np.argmax(np.nan_to_num(p, nan=-1.0), axis=1)
        out |= np.isfinite(p).all(axis=1) & (below[top] | above[top])
    return out


def grid_log_prior(prior: Prior, grid: np.ndarray, mean=None, sigma=None) -> np.ndarray:
    """log prior on the grid: (1, grid) for a shared prior, (stars, grid) for a per-star one."""
    col = (lambda a: None if a is None else np.asarray(a, dtype=float)[:, None])  # noqa: E731
    return np.atleast_2d(prior.log_prob(np.asarray(grid)[None, :], col(mean), col(sigma)))


# Stored posteriors (``--posteriors``) -------------------------------------------------------


# The columns of a --posteriors table; the input's id columns go between ``row`` and ``method``.
POSTERIOR_COLUMNS = ("row", "method", "log10_age", "pdf")


def posterior_ids(frame, id_columns: Sequence[str], rows):
    """The ``id_columns`` cells of ``rows`` (chunk-local) of a DataFrame ``frame``, as read, named as in the input.

    A name clashing with a posteriors column (``row``, ``method``...) becomes ``input_<name>``, as in the output.
    """
    from gyroage import io

    ids = frame[list(id_columns)].iloc[np.asarray(rows, dtype=np.int64)]
    return io.prefix_clashes(ids, POSTERIOR_COLUMNS)


# The stored posteriors' list columns and their element types (posterior_table's reasons), one place for the full
# and the empty file alike.
LIST_DTYPES = {"log10_age": np.float64, "pdf": np.float32}


def write_empty_posteriors(path, ids=None, meta: dict[str, str] | None = None) -> None:
    """A ``--posteriors`` file with the schema and no rows (no star had a posterior), written in place: the caller
    gives the temporary file it renames in with the table (:func:`gyroage.engines.sinks.write_posteriors`).

    ``ids`` (a DataFrame, rows ignored) gives the id columns and their types; text where pandas has none.
    ``meta``: the run's record (:mod:`gyroage.provenance`), in the schema's metadata as every posteriors file has it.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    from gyroage.provenance import with_provenance

    id_fields = []
    if ids is not None and len(ids.columns):
        for f in pa.Schema.from_pandas(ids.iloc[:0], preserve_index=False):
            id_fields.append((f.name, pa.string() if pa.types.is_null(f.type) else f.type))
    schema = pa.schema([("row", pa.int64()), *id_fields, ("method", pa.string()),
                        *((name, pa.list_(pa.from_numpy_dtype(t))) for name, t in LIST_DTYPES.items())])
    pq.write_table(with_provenance(schema, meta).empty_table(), path)  # into the caller's temporary file


def posterior_table(rows: np.ndarray, method: str | np.ndarray, values: list[np.ndarray],
                    pdf: list[np.ndarray] | None = None):
    """Stored posteriors (``--posteriors``): one row per star keyed by input row index.

    Columns: ``row`` (0-based input row), ``method`` (grid or mcmc, or per row: grid_samples, the grid posterior's
    samples of an mcmc star that took it, :func:`gyroage.core.chain_summary.few_inside`),
    ``log10_age`` (grid points, or posterior samples for mcmc; log10 yr) and
    ``pdf`` (posterior density per dex on the grid; empty for samples).
    The grid is kept in float64, the bits the quantiles came from (in float32 it moved by up to 5e-7 dex, the
    table's 6th digit; Parquet stores one grid repeated in ~0.1 byte a star); mcmc samples, float32 chains, are
    widened exactly. The pdf stays float32: its float32 rounding (6e-8 relative) is below the flow's own float32
    log densities it comes from, and moves a recomputed quantile by ~1e-7 (float64 would cost 24% more bytes).
    """
    import pandas as pd

    age_t, pdf_t = LIST_DTYPES["log10_age"], LIST_DTYPES["pdf"]
    empty = np.zeros(0, dtype=pdf_t)
    return pd.DataFrame({
        "row": np.asarray(rows, dtype=np.int64),
        "method": np.full(len(rows), method, dtype=object),
        "log10_age": [np.asarray(v, dtype=age_t) for v in values],
        "pdf": [np.asarray(p, dtype=pdf_t) for p in pdf] if pdf is not None else [empty] * len(rows),
    })
