"""The spine: ``estimate_chunk`` turns a chunk of input rows into the same rows plus ages.

Pure: the same rows and settings give the same output, in order, with no I/O
and no global state. Engines (``gyroage.engines``) only schedule it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from gyroage import io, statuses
from gyroage.column_types import text_types
from gyroage.core.calibration import Calibration
from gyroage.core.chain_summary import MAX_UNVISITED, grid_samples, unvisited_mass
from gyroage.core.colours import MAX_COLOUR_SIGMA, Reddening, excess_colour_sigma
from gyroage.core.density import FlowDensity, as_density, check_outlier_weight, underflow_ignored
from gyroage.core.domain import SequenceDomain, star_flags, with_flag
from gyroage.core.likelihood import REFINE_TOL, colour_spread
from gyroage.core.main_sequence import AboveFlag, MainSequenceTerm, require_term
from gyroage.core.mcmc_target import StarInputs
from gyroage.core.period_nodes import period_marginal_log_likelihood, period_sigma
from gyroage.core.posterior import (
    SUMMARY_COLUMNS,
    beyond_prior_bounds,
    bounds_are_the_cards,
    flat_over_model_grid,
    grid_posterior,
    posterior_ids,
    posterior_table,
)
from gyroage.core.priors import Prior, check_model_grid, check_on_grid, grid_cannot_hold, grid_step_note, narrow_widths
from gyroage.core.sampler import MCMC_COLUMNS, SamplerSettings, sample_stars
from gyroage.core.stars import ChunkCounts, StarArrays, check_stars, period_err_wide, require_magnitudes, unreddened_rows
from gyroage.defaults import AGE_GRID
from gyroage.errors import UserError, check_grid, whole_number

STAR_COLUMNS = SUMMARY_COLUMNS + ("p_outlier", "age_flags")
# the star's height above the main sequence where the card's term used it (NaN elsewhere); written only when the
# card holds a term and the input gives absolute magnitudes (abs_g0, or g0 with parallax)
HEIGHT_COLUMN = "ms_height_mag"
OUTPUT_COLUMNS = STAR_COLUMNS + ("status",)


@dataclass(frozen=True)
class EstimateSettings:
    """How ages are computed; everything that changes a result is in here."""

    prior: Prior = field(default_factory=Prior)
    n_grid: int = AGE_GRID[2]
    refine_tol: float | None = REFINE_TOL  # grid: None evaluates the flow at every grid point
    outlier_weight: float | None = None  # None: the card's weight
    method: str = "grid"
    seed: int = 0
    sampler: SamplerSettings = field(default_factory=SamplerSettings)  # --method mcmc; None: the default
    reddening: Reddening = field(default_factory=Reddening)  # --ebprp/--av: de-redden an observed bp_rp
    # the card's height-above-main-sequence term, for stars given an absolute G (--no-main-sequence: rotation alone)
    main_sequence: bool = True
    # --main-sequence given: an input without abs_g0, or g0 with parallax, is refused rather than dated from rotation
    require_magnitudes: bool = False

    def __post_init__(self) -> None:
        # Checked here, so the library refuses what the command line refuses, in the fields' names (a Python caller
        # gave n_grid, not --grid): the command line says its options' (cli_options.estimate_settings).
        if not isinstance(self.prior, Prior):  # None would surface as an AttributeError deep in the grid
            raise UserError(f"prior must be a gyroage.Prior, not {type(self.prior).__name__}")
        if self.sampler is None:  # "no particular sampler settings", as None means for the other options: the default
            object.__setattr__(self, "sampler", SamplerSettings())
        if not isinstance(self.sampler, SamplerSettings):  # a dict was an AttributeError deep in the sampler
            raise UserError(f"sampler must be a gyroage.SamplerSettings, not {type(self.sampler).__name__}")
        if self.method not in ("grid", "mcmc"):
            raise UserError(f"unknown method {self.method!r} (choose grid or mcmc)")
        check_grid(self.n_grid, "n_grid")  # as group-age
        check_on_grid(self.prior, self.n_grid, grid="n_grid")  # the grid runs for the sampler too (p_outlier, flags)
        check_outlier_weight(self.outlier_weight, "outlier_weight")
        whole_number(self.seed, "seed")  # 1.7, True and "1" ran silently as seed 1
        if int(self.seed) < 0:  # numpy's generators refuse it, deep in the sampler (the grid draws nothing)
            raise UserError("seed must be >= 0")
        if self.refine_tol is not None and not self.refine_tol > 0:
            raise UserError("refine_tol must be positive (None: evaluate every grid point)")


def estimate_chunk(frame: pd.DataFrame, density: FlowDensity, settings: EstimateSettings,
                   columns: dict[str, str] | None = None,
                   on_block: Callable[[int], None] | None = None, first_row: int = 0,
                   on_prior_widths: Callable[[tuple[int, float]], None] | None = None,
                   row_numbers: np.ndarray | None = None,
                   on_unreddened: Callable[[np.ndarray], None] | None = None,
                   on_counts: Callable[[ChunkCounts], None] | None = None) -> pd.DataFrame:
    """Every input row and column, in order and with ``frame``'s index, plus age summaries (Myr), ``p_outlier``,
    ``age_flags`` and ``status``.

    Ages are those of a rotation-sequence member; ``p_outlier`` is the
    probability that the star is not one. ``settings.method`` is ``grid``
    (default) or ``mcmc`` (emcee-style sampler with colour/period nuisance
    parameters; adds ``mcmc_tau``, ``mcmc_acceptance``, ``mcmc_n_eff``).
    ``density``: the model's :class:`FlowDensity` (an :class:`~gyroage.AgeModel` is taken for its ``.density``).
    ``columns`` maps canonical input names to the frame's (found by alias when ``None``).
    ``on_block(n_stars)`` is called as each block of sampled stars finishes (mcmc; for progress).
    ``first_row``: the frame's first row in the whole input (0-based). mcmc keys each star's random stream by the
    seed and its input row, so an engine that passes it gets the same ages whatever its chunk size.
    ``row_numbers``: each row's own number instead (whole numbers >= 0, one per row; :meth:`AgeModel.estimate` gives
    a frame's integer index), so a star keeps its draws whichever rows stand beside it.
    ``on_prior_widths`` is given the chunk's :func:`narrow_prior_rows`, from the widths read to date it (the grid
    with ``--prior-sigma`` a column; under mcmc, the stars that took the grid's posterior under a prior it cannot
    resolve, :func:`_fallback_widths`; not called otherwise), so the engines count them without reading them again;
    ``on_unreddened`` its :func:`gyroage.core.stars.unreddened_rows`, from the colours worked out to date it;
    ``on_counts`` its :class:`~gyroage.core.stars.ChunkCounts` (colour errors clipped, grid posteriors taken by rows
    with a period error), from the flags it writes, once per call.
    """
    return _estimate(frame, density, settings, columns, keep=False, on_block=on_block, first_row=first_row,
                     on_prior_widths=on_prior_widths, row_numbers=row_numbers, on_unreddened=on_unreddened,
                     on_counts=on_counts)[0]


def estimate_with_posteriors(frame: pd.DataFrame, density: FlowDensity, settings: EstimateSettings,
                             columns: dict[str, str] | None = None, id_columns: Sequence[str] = (),
                             on_block: Callable[[int], None] | None = None, first_row: int = 0,
                             on_prior_widths: Callable[[tuple[int, float]], None] | None = None,
                             on_unreddened: Callable[[np.ndarray], None] | None = None,
                             on_counts: Callable[[ChunkCounts], None] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`estimate_chunk` and the per-star posteriors (``--posteriors``), one row per star with an age.

    ``row`` is the star's row in the whole input, ``first_row`` + its position in ``frame`` (0-based), as in the
    --posteriors file, never ``frame``'s index: to join it to ``frame`` (or to :meth:`gyroage.AgeModel.estimate`'s
    output, which keeps the index and keys mcmc draws by it when it holds whole numbers >= 0), take
    ``frame.index[row - first_row]``. The posteriors table carries the frame's ``id_columns`` (values as read) after
    ``row``.
    """
    out, table = _estimate(frame, density, settings, columns, keep=True, on_block=on_block, first_row=first_row,
                           on_prior_widths=on_prior_widths, on_unreddened=on_unreddened, on_counts=on_counts)
    ids = posterior_ids(frame, id_columns, table["row"].to_numpy())  # positions in frame, before the offset
    table["row"] += first_row
    return out, pd.concat([table[["row"]], ids, table.drop(columns="row")], axis=1)


@underflow_ignored
def _estimate(frame: pd.DataFrame, density: FlowDensity, settings: EstimateSettings,
              columns: dict[str, str] | None, keep: bool,
              on_block: Callable[[int], None] | None = None, first_row: int = 0,
              on_prior_widths: Callable[[tuple[int, float]], None] | None = None,
              row_numbers: np.ndarray | None = None, on_unreddened: Callable[[np.ndarray], None] | None = None,
              on_counts: Callable[[ChunkCounts], None] | None = None) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    density = as_density(density)
    row_numbers = _row_numbers(len(frame), first_row, row_numbers)
    check_model_grid(settings.prior, density.card.age_grid)  # before any row: an empty chunk is refused too
    stars = check_stars(frame, density.card, columns, settings.reddening)
    if on_unreddened is not None:  # before any status below
        on_unreddened(unreddened_rows(frame, columns or io.require_columns(list(frame.columns)), settings.reddening, stars))
    if settings.require_magnitudes:
        require_term(density.card)
        require_magnitudes(list(frame.columns), columns or io.match_columns(list(frame.columns)))
    status = stars.status
    n = len(frame)
    prior_mean, prior_sigma = settings.prior.star_parameters(_prior_columns(frame, settings.prior), n)
    if on_prior_widths is not None and _counts_widths(settings):
        on_prior_widths(narrow_widths(settings.prior, settings.n_grid, prior_sigma))
    if prior_mean is not None:
        status[(status == statuses.OK) & ~settings.prior.valid_parameters(prior_mean, prior_sigma)] = statuses.INVALID_PRIOR
    ok = status == statuses.OK
    extra = MCMC_COLUMNS if settings.method == "mcmc" else ()
    results = dict(stars.colour_columns)  # which colour each row used, when the input could need a conversion
    results.update(height_columns(main_sequence_term(density, settings, stars), stars, ok))
    results.update({name: np.full(n, np.nan) for name in SUMMARY_COLUMNS + ("p_outlier",) + extra})
    results["age_flags"] = np.full(n, "", dtype=object)
    rows = np.flatnonzero(ok)
    table = posterior_table(rows[:0], settings.method, []) if keep else None
    if ok.any():
        mean, sigma = _rows(prior_mean, ok), _rows(prior_sigma, ok)
        # the grid gives the sampler's stars p_outlier and age_beyond_prior_bound (and its posterior, pdfs kept, to those whose
        # chains left too few samples under a prior that is not flat, or none where it lies); other flags follow MCMC ages
        flat = flat_over_model_grid(settings.prior, density.card.age_grid, settings.n_grid, mean, sigma)
        g = grid_rows(stars, ok, mean, sigma, density, settings, keep if settings.method == "grid" else not flat)
        values = dict(g.values)
        flags, extrapolated = g.flags, g.extrapolated
        if g.pdf is not None and settings.method == "grid":
            table = posterior_table(rows, "grid", [g.grid] * len(rows), list(g.pdf))
        if settings.method == "mcmc":
            mc, table = _mcmc_rows(stars, ok, mean, sigma, density, settings, keep, on_block, row_numbers[ok], g, flat)
            values.update(mc)
            # the flags describe the ages written: the MCMC posterior's (p_outlier stays the grid's)
            flags, extrapolated = age_flags(stars, ok, density.card, main_sequence_term(density, settings, stars),
                                            SequenceDomain.from_card(density.card), values["p_outlier"],
                                            values["age_p50_myr"], values.pop("_age_outside"), values["age_map_myr"],
                                            g.beyond_bound)
            few = values.pop("_few_inside")  # the grid's posterior (_mcmc_rows): its flags and status too, and a mark
            if on_prior_widths is not None:  # the grid's posterior under a prior it cannot resolve: said at the end
                on_prior_widths(_fallback_widths(settings, few, sigma))
            flags, extrapolated = with_flag(np.where(few, g.flags, flags), few), np.where(few, g.extrapolated, extrapolated)
        results["age_flags"][ok] = flags
        status[rows[extrapolated]] = statuses.EXTRAPOLATED
        if settings.method == "mcmc":
            status[rows[~values.pop("converged")]] = statuses.NOT_CONVERGED
        for name, v in values.items():
            results[name][ok] = v
        # a posterior the grid could not normalise (NaN ages) is no age: not ok. A safety net: the priors known to do
        # it (a per-star centre 1e200 dex away, a width of 1e-300 dex) are invalid_prior up front (valid_parameters)
        no_age = rows[~np.isfinite(results["age_p50_myr"][ok])]
        status[no_age] = statuses.INVALID_PRIOR
        # nor does it have flags about that age (an mcmc star whose prior weighted away every sample was
        # age_outside_training: none of its no samples lay inside the training ages), nor a height that informed it
        results["age_flags"][no_age] = ""
        if HEIGHT_COLUMN in results:
            results[HEIGHT_COLUMN][no_age] = np.nan
    if on_counts is not None:  # from the flags as written, before the input's columns join them (a clash renames)
        on_counts(ChunkCounts.of(results["age_flags"], stars.prot_err, settings.method == "mcmc"))
    return attach(frame, results, status), table


def _row_numbers(n: int, first_row: int, row_numbers: np.ndarray | None) -> np.ndarray:
    """Each of ``n`` rows' number in the whole input, which keys its mcmc stream: ``row_numbers`` checked, else
    ``first_row`` onwards."""
    whole_number(first_row, "first_row")
    if first_row < 0:
        raise ValueError("first_row must be >= 0")
    if row_numbers is None:
        return first_row + np.arange(n, dtype=np.int64)
    rows = np.asarray(row_numbers)
    if rows.shape != (n,) or not (np.issubdtype(rows.dtype, np.integer) and (n == 0 or rows.min() >= 0)):
        raise ValueError("row_numbers must give one whole number >= 0 per row")
    return rows.astype(np.int64)


@dataclass(frozen=True)
class GridRows:
    """Grid posteriors of a chunk's usable stars, as :func:`grid_rows` returns them."""

    values: dict[str, np.ndarray]  # SUMMARY_COLUMNS and p_outlier
    grid: np.ndarray
    pdf: np.ndarray | None  # only when asked to keep them
    flags: np.ndarray  # the age_flags text
    extrapolated: np.ndarray  # status extrapolated
    beyond_bound: np.ndarray | None = None  # age_beyond_prior_bound per usable star (None: not checked)


def _rows(a: np.ndarray | None, ok: np.ndarray) -> np.ndarray | None:
    """The usable rows of an optional per-star array."""
    return None if a is None else a[ok]


def main_sequence_term(density: FlowDensity, settings: EstimateSettings, stars: StarArrays) -> MainSequenceTerm | None:
    """The card's height term when the input gives absolute magnitudes and the settings use it, else None."""
    if not settings.main_sequence or stars.abs_g is None:
        return None
    return MainSequenceTerm.from_card(density.card)


def height_columns(term: MainSequenceTerm | None, stars: StarArrays, dated: np.ndarray) -> dict[str, np.ndarray]:
    """``{ms_height_mag: ...}``: each star's height above the main sequence (mag) where ``term`` informs its age,
    NaN elsewhere (also on rows that get no age: not ``dated``); empty without a term (shared by estimate and the API,
    so both write the same column)."""
    if term is None:
        return {}
    height = term.height(stars.bp_rp0, stars.abs_g)
    informs = np.asarray(dated, dtype=bool) & term.applies(stars.bp_rp0, height, stars.abs_g_err)
    return {HEIGHT_COLUMN: np.where(informs, height, np.nan)}


def grid_rows(stars: StarArrays, ok, prior_mean, prior_sigma, density: FlowDensity,
              settings: EstimateSettings, keep: bool) -> GridRows:
    """Grid posteriors, p_outlier and flags of the usable rows ``ok`` (shared by estimate and the API)."""
    lp, colour = np.log10(stars.prot[ok]), stars.bp_rp0[ok]
    colour_sigma = colour_spread(stars.bp_rp0_err[ok], _rows(stars.ebprp, ok), _rows(stars.ebprp_err, ok), density.card)
    domain = SequenceDomain.from_card(density.card)
    lo, hi = domain.age_range(colour) if domain is not None else (np.full(len(lp), -np.inf), np.full(len(lp), np.inf))
    term = main_sequence_term(density, settings, stars)
    abs_g, abs_g_err = _rows(stars.abs_g, ok), _rows(stars.abs_g_err, ok)
    summaries, grid, pdf = _grid_blocks(density, settings, lp, colour, stars.bp_rp0_err[ok], prior_mean, prior_sigma,
                                        colour_sigma, lo, hi, keep, abs_g, term, abs_g_err,
                                        period_sigma(stars.prot[ok], stars.prot_err[ok]))
    beyond = summaries.pop("_beyond")
    flags, extrapolated = age_flags(stars, ok, density.card, term, domain, summaries["p_outlier"],
                                    summaries["age_p50_myr"], summaries.pop("_age_outside"), summaries["age_map_myr"],
                                    beyond)
    return GridRows(summaries, grid, pdf, flags, extrapolated, beyond)


def beyond_prior_bound(density: FlowDensity, settings: EstimateSettings, log10_prot, bp_rp0, bp_rp0_err,
                       colour_sigma, term: MainSequenceTerm | None, abs_g, abs_g_err, prot_sigma=None) -> np.ndarray:
    """Per star, whether most of its likelihood (the flow's, and the height term's where it applies; flat in log age
    over the card's grid) lies beyond a bound of the prior (``--age-min-myr``, ``--age-max-myr``), or its maximum does:
    its posterior then piles against the bound, which sets its age (review D: 27 of 280 FGK stars went from
    extrapolated to ok under --age-max-myr 3000). :func:`gyroage.core.posterior.beyond_prior_bounds` per star, as
    group-age's per group, for one grid block of stars (:func:`_grid_blocks` calls it on each, on its thread); all
    False, computing nothing, when the bounds are the card's. ``prot_sigma``: per star, the sd of log10 Prot (dex) the
    likelihood is averaged over, as the posterior's (:func:`gyroage.core.period_nodes.period_sigma`; None: exact)."""
    prior, card_grid = settings.prior, density.card.age_grid
    if bounds_are_the_cards(prior, card_grid):
        return np.zeros(len(log10_prot), dtype=bool)

    def log_likelihood(ages: np.ndarray) -> np.ndarray:
        ll = period_marginal_log_likelihood(density, log10_prot, bp_rp0, bp_rp0_err, ages, colour_sigma,
                                            settings.refine_tol, prot_sigma).astype(np.float64)
        if term is not None:
            ll = ll + term.log_likelihood(bp_rp0, abs_g, ages, abs_g_err)
        return ll

    return beyond_prior_bounds(prior, card_grid, log_likelihood, peak=True)


def age_flags(stars: StarArrays, ok, card, term: MainSequenceTerm | None, domain: SequenceDomain | None, p_outlier,
              age_median_myr, age_outside, age_map_myr=None, beyond_bound=None) -> tuple[np.ndarray, np.ndarray]:
    """(``age_flags`` text, extrapolated) of the usable rows ``ok`` from a posterior's median age (Myr) and its
    probability outside the training clusters' ages at the star's colour: the grid's or the sampler's. ``term`` and
    ``domain``: the run's (:func:`main_sequence_term`, :meth:`SequenceDomain.from_card`), as its caller holds them."""
    colour = stars.bp_rp0[ok]
    above_flag = AboveFlag.from_card(card) if term is not None else None
    above = None if above_flag is None else above_flag.flags(term, colour, _rows(stars.abs_g, ok),
                                                              _rows(stars.abs_g_err, ok), age_median_myr)
    return star_flags(domain, colour, np.log10(stars.prot[ok]), age_outside, p_outlier, age_median_myr, above,
                      age_map_myr, beyond_bound, _rows(stars.colour_err_beyond, ok),
                      period_err_wide(stars.prot[ok], stars.prot_err[ok]))


def _mcmc_rows(stars: StarArrays, ok, prior_mean, prior_sigma, density: FlowDensity,
               settings: EstimateSettings, keep: bool, on_block: Callable[[int], None] | None = None,
               rows: np.ndarray | None = None, grid: GridRows | None = None,
               flat: bool | None = None) -> tuple[dict, pd.DataFrame | None]:
    """MCMC summaries, diagnostics and ``converged`` of the usable rows (and their samples when ``keep``);
    ``rows``: their input rows (default 0, 1, ...), which key each star's random stream. A star whose chain left
    too few (effective) samples within a prior's bounds, or never went where the grid's posterior lies
    (:func:`~gyroage.core.chain_summary.unvisited_mass`), takes ``grid``'s posterior (``_few_inside``; its samples
    from its pdf, ``method`` grid_samples in the posterior table).

    The chains sample sequence members (no outlier term), as the grid does; the
    colour term is the colour error beyond the training colours' (floored), the
    reddening error apart (the sampler truncates it at E >= 0, which the grid's colour_spread approximates).
    """
    lp, domain = np.log10(stars.prot[ok]), SequenceDomain.from_card(density.card)
    trained = (None, None) if domain is None else domain.age_range(stars.bp_rp0[ok])
    sig_c = np.maximum(excess_colour_sigma(stars.bp_rp0_err[ok], None, density.card), settings.sampler.colour_err_floor)
    # capped as the grid's colour sigma is (NaN kept: no reddening error): one of 1e154 mag squared to inf in the sampler's
    # colour term and proposals (not_converged, raw RuntimeWarnings); past the cap E >= 0 alone is left: no age changes
    ebprp_err = None if stars.ebprp_err is None else np.minimum(stars.ebprp_err[ok], MAX_COLOUR_SIGMA)
    inputs = StarInputs(lp, np.maximum(stars.prot_err[ok] / (stars.prot[ok] * np.log(10.0)),
                                       settings.sampler.period_err_floor_dex),
                        stars.bp_rp0[ok], sig_c, _rows(stars.ebprp, ok), ebprp_err, prior_mean, prior_sigma,
                        _rows(stars.abs_g, ok), _rows(stars.abs_g_err, ok), *trained)
    term = main_sequence_term(density, settings, stars)
    res = sample_stars(density, settings.prior, inputs, settings.sampler, settings.seed, 0.0,
                       Calibration.from_card(density.card), on_block=on_block, main_sequence=term,
                       main_sequence_calibration=Calibration.from_dict(density.card.main_sequence.get("calibration")),
                       n_grid=settings.n_grid, rows=rows, flat=flat)
    # a chain of the likelihood alone (a prior not flat: res.visits has columns) that never went where the grid's
    # posterior lies; not one whose ages merely differ from the grid's (which averages over prot_err as the chain does)
    few = np.zeros(len(lp), dtype=bool) if grid is None else (
        res.few_inside | (unvisited_mass(res.visits, grid.pdf, grid.grid) > MAX_UNVISITED))
    values = {k: np.where(few, grid.values[k], v) if few.any() else v for k, v in res.summaries.items()}
    values.update(zip(MCMC_COLUMNS, (res.tau, res.acceptance, res.n_eff)))
    values["converged"], values["_few_inside"] = res.converged | few, few  # the grid's age: the chain's not quoted
    # the sampler's mass outside the trained ages, from every sample (not the n_keep kept): none without a domain
    values["_age_outside"] = np.zeros(len(lp)) if domain is None else res.outside
    samples = res.samples
    if keep and few.any():  # --posteriors: the grid posterior's samples, as the sampler draws them from a density
        drawn = iter(grid_samples(grid.pdf[few], grid.grid, settings.sampler.n_keep, settings.seed,
                                  np.flatnonzero(few) if rows is None else rows[few]))
        samples = [next(drawn) if f else s for f, s in zip(few, samples)]
    # --posteriors says which rows hold the grid posterior's samples, as age_flags does (grid_posterior)
    return values, (posterior_table(np.flatnonzero(ok), np.where(few, "grid_samples", "mcmc"), samples) if keep else None)


# Stars per block of the grid method: blocks run on parallel threads, so the numpy work of one
# (normalising, summarising) overlaps the onnxruntime work of another instead of idling a core.
GRID_BLOCK = 2048
# Blocks come in multiples of this many, whatever --threads is: a block's stars share onnxruntime batches, whose
# float32 products move with their rows, so a block size that followed the thread count changed last digits.
# 12 shares evenly among 1, 2, 3, 4, 6 or 12 threads and keeps up to 12 cores busy on a 10,000-row chunk (a multiple
# of 2 kept at most 6); on 2 cores it is as fast as 6 blocks were, with the same output (10,000 and 100,000 stars).
GRID_BLOCKS_MULTIPLE = 12


def block_size(n: int) -> int:
    """Stars per block: at most ``GRID_BLOCK``, in a number of blocks that is a multiple of ``GRID_BLOCKS_MULTIPLE``.

    10,000 stars in blocks of 2048 leave the fifth block alone on one core at the end;
    twelve blocks of 834 keep every core of a 2-, 3-, 4-, 6- or 12-core machine busy to the end. Independent of the
    thread count, so results are too.
    """
    blocks = -(-n // GRID_BLOCK)
    if blocks <= 1:
        return GRID_BLOCK
    blocks = -(-blocks // GRID_BLOCKS_MULTIPLE) * GRID_BLOCKS_MULTIPLE
    return -(-n // blocks)


def _grid_blocks(density: FlowDensity, settings: EstimateSettings, log10_prot, bp_rp0, bp_rp0_err, prior_mean,
                 prior_sigma, colour_sigma, age_lo, age_hi, keep: bool, abs_g=None,
                 term: MainSequenceTerm | None = None,
                 abs_g_err=None, prot_sigma=None) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray | None]:
    """Grid posterior summaries (and pdfs when kept) of valid stars, in blocks of at most ``GRID_BLOCK``;
    ``prot_sigma``: per star, the sd of log10 Prot (dex) averaged over, as :func:`beyond_prior_bound`'s."""
    n = len(log10_prot)
    size = block_size(n)
    starts = list(range(0, n, size))
    cut = (lambda a, i: None if a is None else a[i : i + size])  # noqa: E731
    calibration = Calibration.from_card(density.card)
    term_calibration = Calibration.from_dict(density.card.main_sequence.get("calibration")) if term else None
    parallel = len(starts) > 1 and density.threads > 1
    # blocks on every thread already: each runs its own onnxruntime batches rather than queue them at the pool
    flow = density.on_one_thread() if parallel else density

    def block(i: int):
        post = grid_posterior(flow, cut(log10_prot, i), cut(bp_rp0, i), cut(bp_rp0_err, i), settings.prior,
                              settings.n_grid, settings.outlier_weight, cut(prior_mean, i), cut(prior_sigma, i),
                              settings.refine_tol, cut(colour_sigma, i), calibration, term, cut(abs_g, i),
                              term_calibration, cut(abs_g_err, i), cut(prot_sigma, i))
        summ = post.summaries()
        summ["p_outlier"] = post.p_outlier
        summ["_age_outside"] = post.mass_outside(cut(age_lo, i), cut(age_hi, i))
        # in the block, so on its thread: run alone after the grid, it added ~70% to a bounded run's wall time
        summ["_beyond"] = beyond_prior_bound(flow, settings, cut(log10_prot, i), cut(bp_rp0, i), cut(bp_rp0_err, i),
                                             cut(colour_sigma, i), term, cut(abs_g, i), cut(abs_g_err, i),
                                             cut(prot_sigma, i))
        return summ, post.grid, (post.pdf if keep else None)

    if parallel:
        with ThreadPoolExecutor(min(density.threads, len(starts)), thread_name_prefix="gyroage-grid") as pool:
            parts = list(pool.map(block, starts))
    else:
        parts = [block(i) for i in starts]
    summaries = {k: np.concatenate([p[0][k] for p in parts]) for k in parts[0][0]}
    pdf = np.concatenate([p[2] for p in parts]) if keep else None
    return summaries, parts[0][1], pdf


def narrow_prior_rows(frame: pd.DataFrame, settings: EstimateSettings) -> tuple[int, float]:
    """(rows, smallest width) of ``frame``'s per-star ``--prior-sigma`` widths under twice the grid's step
    (:func:`gyroage.core.priors.narrow_widths`); (0, inf) unless the grid dates with widths from a column.

    Every engine counts each chunk it dates (:func:`estimate_chunk`'s ``on_prior_widths``) or skips (a resumed run's:
    this, or under mcmc the count its sidecar manifest kept), and :func:`narrow_prior_note` says the sum once.
    """
    if not _counts_widths(settings):
        return 0, float("inf")
    sigma = settings.prior.star_parameters(_prior_columns(frame, settings.prior), len(frame))[1]  # from a column
    return narrow_widths(settings.prior, settings.n_grid, sigma)


def _counts_widths(settings: EstimateSettings) -> bool:
    """Whether the run's per-star prior widths are counted against the grid: the grid, with widths from a column."""
    return settings.method == "grid" and settings.prior.sigma_column is not None


def _fallback_widths(settings: EstimateSettings, few: np.ndarray, sigma: np.ndarray | None) -> tuple[int, float]:
    """(how many, the smallest width) of the sampler's stars that took the grid's posterior (``few``) under a prior
    that grid cannot hold (:func:`grid_cannot_hold`, the grid method's test), for :func:`narrow_prior_note`."""
    if not few.any():
        return 0, float("inf")
    if settings.prior.sigma_column is not None:
        return narrow_widths(settings.prior, settings.n_grid, sigma[few])
    if not grid_cannot_hold(settings.prior, settings.n_grid):
        return 0, float("inf")
    return int(few.sum()), float(settings.prior.sigma) if settings.prior.kind == "gaussian_log_age" else float("inf")


def narrow_prior_note(settings: EstimateSettings, counts: Iterable[tuple[int, float]]) -> str | None:
    """The one line saying how many rows' per-star widths the grid cannot resolve, from each chunk's
    :func:`narrow_prior_rows`; None when there are none (or the widths are no column: said at the start). Under
    mcmc, the rows that took the grid's posterior (grid_posterior) under a prior it cannot resolve
    (:func:`_fallback_widths`): their ages are that grid's, 55% wider than a 0.01 dex prior's posterior (V32)."""
    if not (_counts_widths(settings) or settings.method == "mcmc"):
        return None
    counts = list(counts)
    narrow = (sum(k for k, _ in counts), min((s for _, s in counts), default=float("inf")))
    # under mcmc, the grid's words of the stars that took its posterior, their count said once (V34, 4)
    note = grid_step_note(settings.prior, settings.n_grid, narrow, of_stars_said=settings.method == "mcmc")
    if settings.method != "mcmc" or note is None:
        return note
    if narrow[0] == 0:  # no star took the grid's posterior there: the chains' ages are not on the grid
        return None
    k, many = narrow[0], narrow[0] > 1
    return (f"{k} star{'s' if many else ''} took the grid's posterior (age_flags grid_posterior), so "
            f"{'their ages are' if many else 'its age is'} the grid's: {note}")


def _prior_columns(frame: pd.DataFrame, prior: Prior) -> dict[str, np.ndarray] | None:
    """Per-star prior parameter columns (case-insensitive names) as float arrays."""
    if not prior.per_star:
        return None
    names = [c for c in (prior.mean_column, prior.sigma_column) if c is not None]
    return {name: io.numeric(frame, io.require_column(list(frame.columns), name)) for name in names}


def attach(frame: pd.DataFrame, results: dict[str, np.ndarray], status: np.ndarray) -> pd.DataFrame:
    """Input columns (clashing names kept as ``input_<name>``) plus the result columns, with ``frame``'s index.

    The index is the input's: a pipeline assigning a column back to the frame it filtered aligns on it (numbered
    0..n-1, the ages of a filtered frame landed on other stars). The writers never write it.
    """
    out = io.prefix_clashes(frame, [*results, "status"])
    for name, values in {**results, "status": status}.items():
        out[name] = values
    out.index = frame.index
    return text_types(out, [*results, "status"]) if len(out) == 0 else out
