"""The spine: ``estimate_chunk`` turns a chunk of input rows into the same rows plus ages.

Pure: the same rows and settings give the same output, in order, with no I/O
and no global state. Engines (``gyroage.engines``) only schedule it.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from gyroage import io
from gyroage.density import FlowDensity
from gyroage.errors import UserError
from gyroage.modelcard import ModelCard
from gyroage.posterior import REFINE_TOL, SUMMARY_COLUMNS, grid_posterior, posterior_table
from gyroage.priors import Prior
from gyroage.sampling import MCMC_COLUMNS, SamplerSettings, StarInputs, sample_stars

OUTPUT_COLUMNS = SUMMARY_COLUMNS + ("status",)


@dataclass(frozen=True)
class EstimateSettings:
    """How ages are computed; everything that changes a result is in here."""

    prior: Prior = field(default_factory=Prior)
    n_grid: int = 201
    refine_tol: float | None = REFINE_TOL  # grid: None evaluates the flow at every grid point
    outlier_weight: float | None = None  # None: the card's weight
    method: str = "grid"
    seed: int = 0
    sampler: SamplerSettings = field(default_factory=SamplerSettings)  # --method mcmc
    keep_posteriors: bool = False  # attach per-star posteriors as frame.attrs["posteriors"]


@dataclass(frozen=True)
class StarArrays:
    """Validated inputs of a chunk: canonical arrays and a status per row."""

    prot: np.ndarray
    bp_rp0: np.ndarray
    bp_rp0_err: np.ndarray
    prot_err: np.ndarray
    status: np.ndarray

    @property
    def ok(self) -> np.ndarray:
        return self.status == io.OK


def validate(frame: pd.DataFrame, card: ModelCard, columns: dict[str, str] | None = None) -> StarArrays:
    """Canonical arrays and per-row statuses; defaults fill missing uncertainties."""
    cols = columns if columns is not None else io.require_columns(list(frame.columns))
    prot = io.numeric(frame, cols.get("prot"))
    colour = io.numeric(frame, cols.get("bp_rp0"))
    err = io.numeric(frame, cols.get("bp_rp0_err"))
    perr = io.numeric(frame, cols.get("prot_err"))
    n = len(frame)
    status = np.full(n, io.OK, dtype=object)
    dom = card.domain
    # Later checks must not overwrite earlier, more basic ones: apply in reverse order of priority.
    lp = np.log10(np.where(prot > 0, prot, np.nan))
    lo, hi = dom["log10_prot"]
    status[~((lp >= lo) & (lp <= hi))] = io.PERIOD_OUT_OF_DOMAIN
    clo, chi = dom["bp_rp0"]
    status[~((colour >= clo) & (colour <= chi))] = io.COLOUR_OUT_OF_DOMAIN
    # Text in an optional column is a bad value, not a missing one (which would take the default).
    status[(~np.isnan(perr) & ~(np.isfinite(perr) & (perr >= 0))) | io.unparsed(frame, cols.get("prot_err"), perr)] = io.INVALID_PERIOD_ERR
    status[(~np.isnan(err) & ~(np.isfinite(err) & (err > 0))) | io.unparsed(frame, cols.get("bp_rp0_err"), err)] = io.INVALID_COLOUR_ERR
    status[~np.isfinite(colour)] = io.INVALID_COLOUR
    status[~(np.isfinite(prot) & (prot > 0))] = io.INVALID_PERIOD
    # The flow saw colour errors only within its training range: clip, don't extrapolate.
    elo, ehi = dom["bp_rp0_err"]
    err = np.where(np.isnan(err), card.default_bp_rp0_err, err)
    err = np.clip(err, elo, ehi)
    perr = np.where(np.isnan(perr), 0.0, perr)
    return StarArrays(prot, colour, err, perr, status)


def estimate_chunk(frame: pd.DataFrame, density: FlowDensity, settings: EstimateSettings,
                   columns: dict[str, str] | None = None) -> pd.DataFrame:
    """Every input row and column, in order, plus age summaries (Myr) and ``status``.

    ``settings.method`` is ``grid`` (default) or ``mcmc`` (emcee-style sampler
    with colour/period nuisance parameters; adds ``mcmc_tau``,
    ``mcmc_acceptance``, ``mcmc_n_eff``). With ``settings.keep_posteriors`` the
    per-star posteriors (chunk-local row numbers) are in ``out.attrs["posteriors"]``.
    """
    if settings.method not in ("grid", "mcmc"):
        raise UserError(f"unknown method {settings.method!r} (choose grid or mcmc)")
    stars = validate(frame, density.card, columns)
    status = stars.status
    n = len(frame)
    prior_mean, prior_sigma = settings.prior.star_parameters(_prior_columns(frame, settings.prior), n)
    if prior_mean is not None:
        status[(status == io.OK) & ~settings.prior.valid_parameters(prior_mean, prior_sigma)] = io.INVALID_PRIOR
    ok = status == io.OK
    sub = (lambda a: None if a is None else a[ok])  # noqa: E731
    extra = MCMC_COLUMNS if settings.method == "mcmc" else ()
    results = {name: np.full(n, np.nan) for name in SUMMARY_COLUMNS + extra}
    table = None
    rows = np.flatnonzero(ok)
    if ok.any() and settings.method == "grid":
        summaries, grid, pdf = _grid_blocks(density, settings, np.log10(stars.prot[ok]), stars.bp_rp0[ok],
                                            stars.bp_rp0_err[ok], sub(prior_mean), sub(prior_sigma))
        for name, values in summaries.items():
            results[name][ok] = values
        if settings.keep_posteriors:
            table = posterior_table(rows, "grid", [grid] * len(rows), list(pdf))
    elif ok.any():
        lp = np.log10(stars.prot[ok])
        ebprp, ebprp_err = _extinction(frame)
        inputs = StarInputs(lp, np.maximum(stars.prot_err[ok] / (stars.prot[ok] * np.log(10.0)),
                                           settings.sampler.period_err_floor_dex),
                            stars.bp_rp0[ok], stars.bp_rp0_err[ok], sub(ebprp), sub(ebprp_err),
                            sub(prior_mean), sub(prior_sigma))
        res = sample_stars(density, settings.prior, inputs, settings.sampler, settings.seed, settings.outlier_weight)
        for name, values in res.summaries.items():
            results[name][ok] = values
        for name, values in zip(MCMC_COLUMNS, (res.tau, res.acceptance, res.n_eff)):
            results[name][ok] = values
        status[rows[~res.converged]] = io.NOT_CONVERGED
        if settings.keep_posteriors:
            table = posterior_table(rows, "mcmc", res.samples)
    out = attach(frame, results, status)
    if settings.keep_posteriors:
        out.attrs["posteriors"] = table if table is not None else posterior_table(rows[:0], settings.method, [])
    return out


# Stars per block of the grid method: blocks run on parallel threads, so the numpy work of one
# (normalising, summarising) overlaps the onnxruntime work of another instead of idling a core.
GRID_BLOCK = 2048


def _grid_blocks(density: FlowDensity, settings: EstimateSettings, log10_prot, bp_rp0, bp_rp0_err, prior_mean,
                 prior_sigma) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray | None]:
    """Grid posterior summaries (and pdfs when kept) of valid stars, in blocks of ``GRID_BLOCK``."""
    n = len(log10_prot)
    starts = list(range(0, n, GRID_BLOCK))
    cut = (lambda a, i: None if a is None else a[i : i + GRID_BLOCK])  # noqa: E731

    def block(i: int):
        post = grid_posterior(density, log10_prot[i : i + GRID_BLOCK], bp_rp0[i : i + GRID_BLOCK],
                              bp_rp0_err[i : i + GRID_BLOCK], settings.prior, settings.n_grid,
                              settings.outlier_weight, cut(prior_mean, i), cut(prior_sigma, i), settings.refine_tol)
        return post.summaries(), post.grid, (post.pdf if settings.keep_posteriors else None)

    if len(starts) > 1 and density.threads > 1:
        with ThreadPoolExecutor(min(density.threads, len(starts)), thread_name_prefix="gyroage-grid") as pool:
            parts = list(pool.map(block, starts))
    else:
        parts = [block(i) for i in starts]
    summaries = {k: np.concatenate([p[0][k] for p in parts]) for k in parts[0][0]}
    pdf = np.concatenate([p[2] for p in parts]) if settings.keep_posteriors else None
    return summaries, parts[0][1], pdf


def _prior_columns(frame: pd.DataFrame, prior: Prior) -> dict[str, np.ndarray] | None:
    """Per-star prior parameter columns (case-insensitive names) as float arrays."""
    if not prior.per_star:
        return None
    names = [c for c in (prior.mean_column, prior.sigma_column) if c is not None]
    return {name: io.numeric(frame, io.require_column(list(frame.columns), name)) for name in names}


# E(BP-RP) used to de-redden the colour, and its uncertainty; matched ignoring case, spaces, -_().
EXTINCTION_KEYS = ("ebprp", "ebprp0")
EXTINCTION_ERR_KEYS = ("ebprperr", "eebprp", "sigmaebprp", "ebprperror")


def _extinction(frame: pd.DataFrame) -> tuple[np.ndarray | None, np.ndarray | None]:
    """(E(BP-RP), its uncertainty) when both columns are present, else (None, None)."""
    e = io.find_column(frame.columns, *EXTINCTION_KEYS)
    se = io.find_column(frame.columns, *EXTINCTION_ERR_KEYS)
    if e is None or se is None:
        return None, None
    return io.numeric(frame, e), io.numeric(frame, se)


def attach(frame: pd.DataFrame, results: dict[str, np.ndarray], status: np.ndarray) -> pd.DataFrame:
    """Input columns (clashing names kept as ``input_<name>``) plus the result columns."""
    out = io.prefix_clashes(frame, [*results, "status"])
    for name, values in results.items():
        out[name] = values
    out["status"] = status
    return out
