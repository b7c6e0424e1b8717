"""The public Python surface: :class:`AgeModel` and the :class:`Posterior` it returns.

Array in, array out; no torch. Inputs are validated with the same rules and
statuses as ``gyroage estimate`` (:func:`gyroage.core.stars.check_stars`), so a
star gets the same answer from the API and the command line, and a bad star
gets NaN and a status, never an invented number. Text elements are read as CSV
cells are: a number, a missing-value token ("not given"), or a bad value. One onnxruntime session per
model, which onnxruntime allows to be run from several threads at once; the
methods keep no state between calls, so an :class:`AgeModel` can be shared by
threads.
"""

from __future__ import annotations

import copy
import math
import numbers
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gyroage import statuses
from gyroage.column_types import text_types
from gyroage.core import api_frames
from gyroage.core.api_frames import array_stars, index_rows, refuse_repeated_columns, star_frame, warn_column_notes, warn_grid_step
from gyroage.core.arguments import FRAME_KEYWORD_WORDS, cells, in_keywords, numbers_of, quantile_levels, same_index, warn_caller
from gyroage.core.colours import excess_colour_sigma, fill_colour_err
from gyroage.core.density import FlowDensity, check_outlier_weight, mix_outlier, underflow_ignored
from gyroage.core.estimate import (
    HEIGHT_COLUMN,
    EstimateSettings,
    estimate_chunk,
    grid_rows,
    height_columns,
    main_sequence_term,
)
from gyroage.core.likelihood import REFINE_TOL, colour_marginal_log_prob, grid_log_likelihood
from gyroage.core.modelcard import ModelCard, model_notes
from gyroage.core.posterior import QUANTILES, SUMMARY_COLUMNS, GridPosterior, age_grid, quantiles
from gyroage.core.priors import Prior, check_model_grid
from gyroage.core.stars import ChunkCounts, bad_colour_err, clipped_rows, colour_in_domain
from gyroage.errors import UserError, whole_number

# log10 slack at the ends of the age grid: 10 ** (x - 6) Myr back to log10 may land an ulp outside
_AGE_SLACK = 1e-9
# Stars per block of sample_periods / period_quantiles: each star is evaluated at n_points periods (~33 KB a star at
# 1024 points), so a block of 2048 holds ~70 MB however many stars are asked for.
PERIOD_BLOCK_STARS = 2048
# Fewest period points of sample_periods / period_quantiles' inverse CDF: at 128 the shipped model's medians are
# within 0.8% of 4096 points', its 16th and 84th percentiles within 2.0% (700 Myr, 25 colours 0.6-3.0); 2 points put
# a Sun-like star's median at 2.6 d, not 12.6.
MIN_PERIOD_POINTS = 128


def _period_points(n_points) -> int:
    """``n_points`` checked: a whole number (``int(2.5)`` was a 2-point grid) of at least :data:`MIN_PERIOD_POINTS`."""
    whole_number(n_points, "n_points")
    if n_points < MIN_PERIOD_POINTS:
        raise ValueError(f"n_points must be at least {MIN_PERIOD_POINTS} (fewer points make the periods up)")
    return int(n_points)


@dataclass(frozen=True)
class Posterior:
    """Age posteriors of many stars on one log10-age grid.

    Attributes
    ----------
    grid : log10 age [yr], shape (n_grid,).
    pdf : posterior density per dex of log10 age of a rotation-sequence member,
        shape ``shape + (n_grid,)``; all-NaN for stars without an age (see ``ok``).
    status : one status per star (see ``gyroage.statuses.ESTIMATE``), shape ``shape``.
    inputs : the inputs as used (colour errors filled and clipped), each of shape ``shape``.
    shape : the broadcast shape of the inputs (at least 1-d).
    p_outlier : probability that the star is off the rotation sequence, shape ``shape``.
    age_flags : what the age rests on beyond the training data (``gyroage.statuses.FLAG_ORDER``; the README's flag
        table says what each means), shape ``shape``.
    ms_height_mag : height above the main sequence, mag (positive: brighter), where the card's main-sequence term
        informed the age, NaN elsewhere, shape ``shape``; None (and no column in :meth:`to_frame`) when the model
        has no term or no magnitudes were given, as in ``gyroage estimate``'s output.
    index : the index of the pandas Series given (one row per star), :meth:`to_frame`'s; None: 0..n-1.
    """

    grid: np.ndarray
    pdf: np.ndarray
    status: np.ndarray
    inputs: dict[str, np.ndarray] = field(default_factory=dict)
    shape: tuple[int, ...] = ()
    p_outlier: np.ndarray | None = None
    age_flags: np.ndarray | None = None
    ms_height_mag: np.ndarray | None = None
    index: pd.Index | None = None

    @property
    def ok(self) -> np.ndarray:
        """True where the star has an age (``status`` ``ok``, or ``extrapolated``: see ``age_flags``)."""
        return np.isin(self.status, (statuses.OK, statuses.EXTRAPOLATED))

    @property
    def age_grid_myr(self) -> np.ndarray:
        """The age grid in Myr (``10 ** (grid - 6)``), shape (n_grid,): the ages ``pdf`` is given at."""
        return 10 ** (self.grid - 6)

    def __len__(self) -> int:
        return int(np.prod(self.shape))

    def _rows(self) -> tuple[np.ndarray, np.ndarray]:
        ok = self.ok.reshape(-1)
        return ok, self.pdf.reshape(-1, len(self.grid))[ok]

    def summaries(self) -> dict[str, np.ndarray]:
        """Percentiles (2.5, 16, 50, 84, 97.5) and MAP in Myr, keyed by ``gyroage estimate``'s column names.

        Only the ages (``SUMMARY_COLUMNS``); ``p_outlier``, ``age_flags`` and ``status`` are attributes, and
        :meth:`to_frame` has them all.
        """
        ok, pdf = self._rows()
        out = {name: np.full(ok.shape, np.nan) for name in SUMMARY_COLUMNS}
        if ok.any():
            for name, values in GridPosterior(self.grid, pdf).summaries().items():
                out[name][ok] = values
        return {k: v.reshape(self.shape) for k, v in out.items()}

    def quantile(self, q) -> np.ndarray:
        """Age quantiles in Myr (linear in the CDF between grid points; 0 and 1: the ends of the posterior's support,
        which a bounded prior may hold inside the grid); shape ``shape + np.shape(q)``."""
        qs = np.atleast_1d(quantile_levels(q))
        ok, pdf = self._rows()
        out = np.full(ok.shape + qs.shape, np.nan)
        if ok.any():
            out[ok] = 10 ** (quantiles(pdf, self.grid, qs) - 6)
        return out.reshape(self.shape + np.shape(q))

    def to_frame(self) -> pd.DataFrame:
        """One row per star (inputs raveled in C order): the inputs, ``ms_height_mag`` (when known), the summaries and
        ``status``, in ``gyroage estimate``'s order; indexed as the Series given, if any labelled the stars (so
        ``df.join`` pairs them), else 0..n-1."""
        cols = {k: np.reshape(v, -1) for k, v in self.inputs.items()}
        if self.ms_height_mag is not None:
            cols[HEIGHT_COLUMN] = self.ms_height_mag.reshape(-1)
        cols.update({k: np.reshape(v, -1) for k, v in self.summaries().items()})
        if self.p_outlier is not None:
            cols["p_outlier"] = self.p_outlier.reshape(-1)
            cols["age_flags"] = self.age_flags.reshape(-1)
        cols["status"] = self.status.reshape(-1)
        frame = pd.DataFrame(cols, index=self.index)
        return text_types(frame, frame.columns) if len(frame) == 0 else frame


class AgeModel:
    """A trained gyrochronology model, evaluated with onnxruntime.

    Examples
    --------
    >>> model = AgeModel.load()
    >>> post = model.posterior(prot=[25.4, 8.0], bp_rp0=[0.82, 1.1])
    >>> post.summaries()["age_p50_myr"].round(-1)  # medians, Myr
    array([3130.,  240.])
    >>> list(post.to_frame()["status"])            # one row per star, with status
    ['ok', 'ok']
    >>> model.sample_periods(age_myr=700, bp_rp0=1.0, n=1000).shape  # periods, days
    (1000,)
    """

    def __init__(self, density: FlowDensity, *, notes: bool = True) -> None:
        if not isinstance(density, FlowDensity):  # AgeModel("models") failed as 'str' has no attribute 'card'
            raise TypeError(f"AgeModel takes a FlowDensity, not {type(density).__name__}: to load a model from a "
                            "path, use AgeModel.load(path)")
        self.density = density
        self.card: ModelCard = density.card
        # as estimate says on stderr: uncalibrated intervals would otherwise pass for the shipped model's, and graphs
        # built before the card's calibration was rewritten compute another posterior than the card describes
        # (notes=False: a caller that has said them itself, or whose use depends on neither)
        for note in model_notes(self.card, density.onnx_path.parent) if notes else []:
            warn_caller(note)

    @classmethod
    def load(cls, path: str | Path | None = None, threads: int | None = None, *, notes: bool = True) -> AgeModel:
        """The shipped model, or the one at ``path`` (a directory, card JSON or ONNX file beside its card).

        Every file the card lists is checked against its SHA-256; a missing,
        corrupted or mismatched file raises :class:`gyroage.errors.ModelError`. ``threads``: onnxruntime batches run
        on this many threads at once (``None`` or 0: the CPUs this process may use; a whole number, else a
        TypeError). ``notes``: warn of an uncalibrated model or stale posterior graphs
        (:func:`gyroage.core.modelcard.model_notes`).
        """
        return cls(FlowDensity(path, threads=threads), notes=notes)

    def __repr__(self) -> str:
        return f"AgeModel({str(self.density.onnx_path.parent)!r})"

    @property
    def domain(self) -> dict[str, Any]:
        """The ranges the model was trained on, a copy of the card's ``domain``: ``[lo, hi]`` lists under
        ``log10_prot`` (log10 days), ``bp_rp0``, ``bp_rp0_err`` (mag) and ``log10_age_trained`` (log10 yr), and under
        ``sequence`` the per-colour-bin ranges behind ``age_flags`` (a dict of lists and a ``rule`` text).

        A copy: changing it leaves the model alone (the card's own dict, changed, moved the domain every later call
        checked stars against).
        """
        return copy.deepcopy(self.card.domain)

    @property
    def default_prior(self) -> Prior:
        """Uniform in log10 age over the card's grid (what ``gyroage estimate`` uses by default)."""
        g = self.card.age_grid
        return Prior("uniform_log_age", g["log10_age_min"], g["log10_age_max"])

    @property
    def age_range_myr(self) -> tuple[float, float]:
        """The model's own age grid, Myr (the card's ``age_grid``, where ``gyroage estimate`` dates stars by default):
        the ages :meth:`log_likelihood` and :meth:`sample_periods` take."""
        g = self.card.age_grid
        return 10 ** (float(g["log10_age_min"]) - 6), 10 ** (float(g["log10_age_max"]) - 6)

    def _ages_in_grid(self, age_myr) -> np.ndarray:
        """``age_myr`` as floats, NaN where it is not finite or lies outside :attr:`age_range_myr`.

        Beyond its grid the flow extrapolates to nonsense (0.2-0.8 d periods for a Sun-like star at 100 Gyr). NaN
        per element, as for a colour outside the trained domain, so one such age does not stop a vectorised call.
        """
        age = numbers_of(age_myr, "age_myr")[0]
        lo, hi = (float(g) for g in (self.card.age_grid["log10_age_min"], self.card.age_grid["log10_age_max"]))
        with np.errstate(divide="ignore", invalid="ignore"):
            x = np.log10(age) + 6
        inside = (x >= lo - _AGE_SLACK) & (x <= hi + _AGE_SLACK)  # NaN, inf and ages <= 0 are outside too
        return np.where(inside, age, np.nan)

    @underflow_ignored
    @in_keywords()
    def log_likelihood(self, prot, bp_rp0, age_myr, bp_rp0_err=None, outlier_weight: float | None = None,
                       check_domain: bool = True, *, ebprp_err=None) -> np.ndarray:
        """log p(log10 Prot | age, colour, colour error) per dex of period, of the inputs' broadcast shape (at least 1-d).

        The likelihood ``gyroage estimate``'s grid posterior uses for a star without magnitudes or ``prot_err`` (before
        prior and calibration; with an absolute G and the card's main-sequence term, estimate and :meth:`posterior` also
        multiply in the height term, which this leaves out): the flow averaged
        over the true colour, a Gaussian of the colour error beyond the training colours' (the card's
        ``default_bp_rp0_err``) with the reddening error ``ebprp_err`` (mag) in quadrature
        (:func:`gyroage.core.likelihood.colour_marginal_log_prob`), then mixed with the outlier term
        (``outlier_weight``: ``None`` for the card's; 0: the flow alone). With ``ebprp_err`` that is estimate's
        likelihood only for a star whose E(BP-RP) is unknown: with a known E (``ebprp=`` in estimate and
        :meth:`posterior`) estimate truncates E >= 0, so the true colour can only be bluer than the de-reddened one,
        which this symmetric Gaussian (no ``ebprp`` argument) does not (E = 0 +- 0.3: medians up to 0.5 dex apart).
        NaN where a star is invalid, (with
        ``check_domain``) outside the trained domain, or where the age is not finite or lies outside
        :attr:`age_range_myr` (the card's age grid: beyond it the flow extrapolates). The third argument is the age,
        where :meth:`posterior` takes the colour error: give ``age_myr=`` and ``bp_rp0_err=`` by name.
        """
        check_outlier_weight(outlier_weight)  # as posterior() and the command line: a weight of 5 gave log p > 0
        same_index(prot=prot, bp_rp0=bp_rp0, age_myr=age_myr, bp_rp0_err=bp_rp0_err, ebprp_err=ebprp_err)
        stars, shape, (age,) = array_stars(self.card, prot, bp_rp0, bp_rp0_err, self._ages_in_grid(age_myr),
                                           colours={"ebprp_err": ebprp_err})
        age = age.reshape(-1)
        # without the check only the domain's statuses pass: a list of the invalid ones let invalid_reddening through
        domain = (statuses.COLOUR_OUT_OF_DOMAIN, statuses.PERIOD_OUT_OF_DOMAIN)
        use = stars.ok if check_domain else stars.ok | np.isin(stars.status, domain)
        use &= np.isfinite(age)
        out = np.full(use.shape, np.nan)
        if use.any():
            # as estimate: only the error beyond the training colours' is marginalised (the flow learnt the rest)
            ebprp = None if stars.ebprp_err is None else stars.ebprp_err[use]
            sigma = excess_colour_sigma(stars.bp_rp0_err[use], ebprp, self.card)
            lp = colour_marginal_log_prob(self.density, np.log10(stars.prot[use]), np.log10(age[use]) + 6,
                                          stars.bp_rp0[use], stars.bp_rp0_err[use], sigma)
            w = self.density.outlier_weight if outlier_weight is None else outlier_weight
            out[use] = mix_outlier(lp, w, self.density.outlier_log_density)
        return out.reshape(shape)

    @underflow_ignored
    @in_keywords()
    def posterior(self, prot, bp_rp0=None, bp_rp0_err=None, prior: Prior | None = None, n_grid: int | None = None,
                  outlier_weight: float | None = None, refine_tol: float | None = REFINE_TOL, *, bp_rp=None,
                  bp_rp_err=None, ebprp=None, ebprp_err=None, av=None, av_err=None, ebv=None, ebv_err=None,
                  teff=None, teff_err=None, b_v0=None, b_v0_err=None, v_ks0=None, v_ks0_err=None, abs_g0=None, g0=None,
                  parallax=None, abs_g0_err=None, parallax_err=None, prot_err=None) -> Posterior:
        """Grid posteriors over log10 age for arrays of stars (broadcast together, at least 1-d: scalars give shape (1,)).

        The same numbers as ``gyroage estimate`` with the same prior, grid and
        outlier weight (defaults: the card's): ages of a sequence member, the
        outlier probability, flags and statuses. ``prot_err``: the period's error (days, or a quantity in a time unit),
        read and checked as estimate's ``prot_err`` column (missing or 0: an exact period; a negative, infinite or text
        one: ``invalid_period_err``), the likelihood averaged over the true period. ``refine_tol=None`` evaluates the
        flow at every grid point (``estimate --exact-grid``); see
        :func:`gyroage.core.likelihood.refined_log_likelihood`. Instead of ``bp_rp0``, give the
        observed ``bp_rp`` with ``ebprp``, ``av`` or ``ebv`` (E(BP-RP) = k A_V or 3.16 k E(B-V), k the
        colour-dependent ratio of the Gaia EDR3 extinction law: :func:`gyroage.core.photometry.ebprp_per_a0`), or ``teff`` (K),
        or a de-reddened ``v_ks0`` or ``b_v0`` (with their ``_err``), as
        ``gyroage estimate`` reads those columns (:mod:`gyroage.core.colours`); ``inputs`` then
        holds ``colour_source`` and the colour used. ``abs_g0`` (de-reddened absolute G), or ``g0`` with
        ``parallax`` (mas), adds the card's main-sequence height term, as the same columns do in ``gyroage estimate``;
        ``abs_g0_err`` (mag) or ``parallax_err`` (mas) widens it for that star. A ``prior`` whose bounds reach
        beyond the card's age grid is refused (:class:`UserError`), as the command line refuses such bounds.
        """
        colours = {"bp_rp": bp_rp, "bp_rp_err": bp_rp_err, "ebprp": ebprp, "ebprp_err": ebprp_err, "av": av,
                   "av_err": av_err, "ebv": ebv, "ebv_err": ebv_err, "teff": teff, "teff_err": teff_err,
                   "b_v0": b_v0, "b_v0_err": b_v0_err, "v_ks0": v_ks0, "v_ks0_err": v_ks0_err, "abs_g0": abs_g0, "g0": g0,
                   "parallax": parallax, "abs_g0_err": abs_g0_err, "parallax_err": parallax_err, "prot_err": prot_err}
        # the settings check themselves (prior, grid, outlier weight, refine_tol), up front: before the stars, so that
        # a star-less call is refused as a dated one is
        settings = EstimateSettings(prior=self.default_prior if prior is None else prior,
                                    n_grid=self.card.age_grid["n"] if n_grid is None else n_grid, refine_tol=refine_tol,
                                    outlier_weight=outlier_weight)
        prior, n = settings.prior, settings.n_grid
        check_model_grid(prior, self.card.age_grid)
        warn_grid_step(settings)
        if prior.per_star:  # its columns are no arrays here: every star would get NaN ages and status ok
            raise UserError("a per-star prior (mean_column / sigma_column) needs input columns: use AgeModel.estimate "
                            "on a DataFrame, or give posterior() a Prior with numbers for mean and sigma")
        index = same_index(prot=prot, bp_rp0=bp_rp0, bp_rp0_err=bp_rp0_err, **colours)
        api_frames.warn_no_term(colours, self.density)
        stars, shape, _ = array_stars(self.card, prot, bp_rp0, bp_rp0_err, colours=colours)
        index = index if index is not None and len(index) == stars.status.size else None  # else not one label a star
        grid = age_grid(prior.log10_age_min, prior.log10_age_max, n)
        m = stars.status.size
        pdf, p_out, flags = np.full((m, n), np.nan), np.full(m, np.nan), np.full(m, "", dtype=object)
        status = stars.status.copy()
        ok = stars.ok
        if ok.any():
            g = grid_rows(stars, ok, None, None, self.density, settings, keep=True)
            pdf[ok], p_out[ok], flags[ok] = g.pdf, g.values["p_outlier"], g.flags
            status[np.flatnonzero(ok)[g.extrapolated]] = statuses.EXTRAPOLATED
            status[np.flatnonzero(ok)[~np.isfinite(g.values["age_p50_myr"])]] = statuses.INVALID_PRIOR  # as estimate
        inputs = {"prot": stars.prot.reshape(shape), **({} if prot_err is None else {"prot_err": stars.prot_err.reshape(shape)}),
                  "bp_rp0": stars.bp_rp0.reshape(shape),
                  "bp_rp0_err": stars.bp_rp0_err.reshape(shape),
                  **{k: np.reshape(v, shape) for k, v in stars.colour_columns.items()}}
        # posterior() always uses the card's term (estimate's default), so the height is the one estimate writes
        height = height_columns(main_sequence_term(self.density, EstimateSettings(prior=prior), stars), stars,
                                np.isin(status, (statuses.OK, statuses.EXTRAPOLATED)))
        height = height[HEIGHT_COLUMN].reshape(shape) if height else None
        api_frames.warn_clipped(self.card, clipped_rows(flags))
        return Posterior(grid, pdf.reshape(shape + (n,)), status.reshape(shape), inputs, shape,
                         p_out.reshape(shape), flags.reshape(shape), height, index)

    @in_keywords(FRAME_KEYWORD_WORDS)  # refusals in its words: EstimateSettings(reddening=), the frame
    def estimate(self, frame: pd.DataFrame, settings: EstimateSettings | None = None,
                 first_row: int | None = None) -> pd.DataFrame:
        """``gyroage estimate`` on a DataFrame: every row back, in order and with ``frame``'s index, with ages and a status.

        ``frame`` holds days, mag and Myr, as :func:`gyroage.read_stars` gives a file (``pd.read_csv`` reads neither
        units nor a units row); an astropy Table (or QTable) is taken with its columns' units converted, as from a FITS
        file (:func:`gyroage.core.api_frames.star_frame`).

        ``method="mcmc"`` keys each star's random draws by the seed and its row, as ``gyroage estimate`` by its input
        row: the frame's index when it holds whole numbers >= 0, all different (so a star filtered or sorted into
        another frame keeps its draws, hence its ages), else its position; ``first_row``: number the rows from it
        by position instead (a slice of a larger table). The grid method draws nothing.

        Warns (UserWarning) where the command line says so on stderr: a column whose name converts its values
        (``Prot [h]``), several columns of one quantity (which is used), an absolute G without a 0 in its name
        (``M_G``) read as de-reddened by the main-sequence term, rows with bp_rp but no usable reddening although a
        Teff-like column has a value (invalid_reddening, not dated from it), colour errors clipped to the trained range,
        magnitudes a model without a main-sequence term leaves unread. ``attrs["gyroage"]``: the record a typed
        output carries (version, model card SHA-256, settings; :func:`gyroage.core.api_frames.with_record`).
        """
        # a deep AttributeError ('ndarray' has no 'columns', 'Prior' has no 'reddening') would not say what to pass
        frame = star_frame(frame)
        if settings is not None and not isinstance(settings, EstimateSettings):
            hint = " (for a prior: EstimateSettings(prior=...))" if isinstance(settings, Prior) else ""
            raise TypeError(f"settings must be EstimateSettings, not {type(settings).__name__}{hint}")
        s = settings or EstimateSettings(prior=self.default_prior, n_grid=self.card.age_grid["n"])
        refuse_repeated_columns(frame, (name for _, name in s.prior.options()))  # as the command line
        # what the command line says on stderr, a pipeline gets as warnings (magnitudes: where the height term reads them)
        magnitudes, no_term = api_frames.magnitude_use(self.card, s.main_sequence, self.density.onnx_path.parent)
        warn_column_notes(frame.columns, magnitudes, s.reddening.given, no_term, frame)
        narrow: list[tuple[int, float]] = []  # widths from a column: counted as the rows are dated
        unreddened: list[np.ndarray] = []  # rows with bp_rp, no usable reddening and a Teff value, likewise
        counted: list[ChunkCounts] = []  # clipped colour errors, grid posteriors taken with a period error: likewise
        out = estimate_chunk(frame, self.density, s, on_prior_widths=narrow.append,
                             first_row=0 if first_row is None else first_row,
                             row_numbers=index_rows(frame.index) if first_row is None else None,
                             on_unreddened=unreddened.append, on_counts=counted.append)
        api_frames.warn_run_end(s, self.card, frame.columns, narrow, unreddened, counted[0])
        return api_frames.with_record(out, frame.columns, self.density, s)  # frame's index: a column assigned back aligns

    @underflow_ignored
    def sample_periods(self, age_myr, bp_rp0, n: int = 1, bp_rp0_err=None, seed: int | None = None,
                       n_points: int = 1024) -> np.ndarray:
        """Draw ``n`` periods (days) per (age, colour) pair from the flow, to forward-model populations.

        No outlier term. With ``bp_rp0_err`` beyond the training colours' (the card's ``default_bp_rp0_err``), the
        periods are those of a star whose true colour is uncertain by the excess: drawn from the flow averaged over it,
        the likelihood :meth:`log_likelihood` gives with ``outlier_weight=0`` (``bp_rp0`` is the observed colour; to
        draw at a known true colour, leave the error out). Inverse-CDF sampling on a fine grid over the card's
        log10-period domain: needs only the density graph. Output shape: the
        inputs' broadcast shape + ``(n,)``; NaN for an invalid colour, a
        colour outside the trained domain, or an age that is not finite or lies
        outside :attr:`age_range_myr` (the card's age grid). Reproducible with ``seed``. ``n_points``: the inverse
        CDF's period grid (at least :data:`MIN_PERIOD_POINTS`).
        """
        # int(2.5) would quietly give 2 draws; a bool or text is a slip too
        if isinstance(n, bool) or not isinstance(n, numbers.Integral):
            raise TypeError(f"n must be a whole number of draws, not {n!r}")
        n = int(n)
        if n < 0:
            raise ValueError("n must be >= 0")
        n_points = _period_points(n_points)
        same_index(age_myr=age_myr, bp_rp0=bp_rp0, bp_rp0_err=bp_rp0_err)
        err, err_text = numbers_of(np.nan if bp_rp0_err is None else bp_rp0_err, "bp_rp0_err")
        age, colour, err, err_text = np.broadcast_arrays(self._ages_in_grid(age_myr), numbers_of(bp_rp0, "bp_rp0")[0], err,
                                                         err_text)
        shape = age.shape
        age, colour, err, err_text = (a.reshape(-1) for a in (age, colour, err, err_text))
        use = np.isfinite(age) & colour_in_domain(colour, self.card) & ~err_text & ~bad_colour_err(err)
        err = fill_colour_err(err, self.card)
        out = np.full((len(age), n), np.nan)
        rng = np.random.default_rng(seed)
        u = rng.uniform(size=(int(use.sum()), n))
        if use.any() and n:
            sigma = excess_colour_sigma(err[use], None, self.card)
            out[use] = self._period_quantiles(age[use], colour[use], err[use], u, n_points,
                                              sigma)  # inverse CDF at uniform draws
        return out.reshape(shape + (n,))

    @underflow_ignored
    def period_quantiles(self, age_myr, bp_rp0, qs=(0.16, 0.5, 0.84), n_points: int = 1024) -> np.ndarray:
        """Quantiles (days) of the flow's period distribution (no outlier term) at 1-d ages and colours.

        The card's default colour error; shape ``(n,) + np.shape(qs)``, n the broadcast length of ``age_myr`` and
        ``bp_rp0`` (one age and two colours: two stars): (stars, len(qs)), or (stars,) for one level given as a scalar,
        as :meth:`Posterior.quantile`. ``n_points``: the inverse CDF's period grid (at
        least :data:`MIN_PERIOD_POINTS`). NaN rows where :meth:`sample_periods` gives
        NaN: an age outside :attr:`age_range_myr` or not finite, a colour outside the trained domain (where the flow's
        periods would be made up). A level outside [0, 1] is a ValueError, as in :meth:`Posterior.quantile`.
        """
        levels = quantile_levels(qs)
        n_points = _period_points(n_points)
        same_index(age_myr=age_myr, bp_rp0=bp_rp0)
        age, colour = np.broadcast_arrays(self._ages_in_grid(age_myr).reshape(-1),
                                          numbers_of(bp_rp0, "bp_rp0")[0].reshape(-1))
        out = np.full((len(age), levels.size), np.nan)
        use = np.isfinite(age) & colour_in_domain(colour, self.card)
        if use.any():
            err = np.full(int(use.sum()), self.card.default_bp_rp0_err)
            out[use] = self._period_quantiles(age[use], colour[use], err, levels.reshape(-1), n_points)
        return out.reshape((len(age),) + levels.shape)

    def _period_quantiles(self, age, colour, err, levels, n_points: int, sigma=None) -> np.ndarray:
        """Inverse CDF of the flow on a fine grid over the card's log10-period domain; ``levels`` (Q,) or (stars, Q).
        ``sigma``: per-star excess colour error the flow is averaged over (None: none).

        Evaluated in blocks of stars, so memory is bounded by the block, not the number of stars. A block is a whole
        number of the density's onnxruntime batches (of ``batch`` star x period points): onnxruntime's numbers
        depend on how a batch is made up, so the blocks then give bit for bit the numbers of one whole evaluation.
        """
        lo, hi = self.card.domain["log10_prot"]
        x = np.linspace(lo, hi, int(n_points))
        levels = np.asarray(levels, dtype=float)
        per_star = levels.ndim > 1
        out = np.empty((len(age), levels.shape[-1]))
        batch = int(getattr(self.density, "batch", 1))
        align = batch // math.gcd(batch, int(n_points))  # fewest stars whose points fill whole batches
        step = max(1, int(PERIOD_BLOCK_STARS) // align) * align
        for a in range(0, len(age), step):
            b = a + step
            lp = colour_marginal_log_prob(self.density, x[None, :], np.log10(age[a:b, None]) + 6, colour[a:b, None],
                                          err[a:b, None], None if sigma is None else sigma[a:b])
            out[a:b] = 10 ** quantiles(np.exp(lp - lp.max(axis=1, keepdims=True)), x, levels[a:b] if per_star else levels)
        return out

    @underflow_ignored
    def grid_log_likelihood(self, prot, bp_rp0, bp_rp0_err, log10_age_grid) -> np.ndarray:
        """The raw flow, log p(log10 Prot | age, colour) per dex [star, grid point], for 1-d arrays of stars (days,
        mag) on a log10-age grid [yr]: NOT :meth:`log_likelihood` on a grid, and not what ``gyroage estimate`` uses.

        Unlike :meth:`log_likelihood`: no marginal over a colour error beyond the card's ``default_bp_rp0_err`` (the
        flow at the given colour, ``bp_rp0_err`` only its input: the shipped model's ignores it, so a wide error
        changes nothing), the card's outlier term always mixed in,
        no validation (periods, colours and errors neither checked nor filled nor clipped: an out-of-domain colour
        or an age off the model's age grid gives a finite extrapolated number, not NaN; masked cells NaN), and
        float32. For a star's likelihood as estimate's grid posterior uses it, call :meth:`log_likelihood`.
        """
        same_index(prot=prot, bp_rp0=bp_rp0, bp_rp0_err=bp_rp0_err)
        prot, bp_rp0, bp_rp0_err, log10_age_grid = (
            np.asarray(cells(a, k), dtype=float) for k, a in (("prot", prot), ("bp_rp0", bp_rp0),
                                                                ("bp_rp0_err", bp_rp0_err),
                                                                ("log10_age_grid", log10_age_grid)))
        return grid_log_likelihood(self.density, np.log10(prot), bp_rp0, bp_rp0_err, log10_age_grid)


__all__ = ["AgeModel", "Posterior", "QUANTILES"]
