"""A star's height above the main sequence, and how likely that height is at each age.

Rotation cannot tell a 300 Myr M dwarf that has not spun down from a pre-main-sequence
one; the colour-magnitude diagram can: below ~100 Myr K and M dwarfs still contract
onto the main sequence, so they sit above it by an amount that falls with age. This
module holds the term p(D | colour, age) that multiplies a star's rotation likelihood
when its absolute magnitude is known (``gyroage.build.main_sequence`` fits it):

    D = M_MS(c) - M_G                          (mag; > 0 means brighter than the sequence)
    mu(c, t) = s(c) max(0, log10 t_z(c) - log10 t)
    p(D) = w_s N(D; mu, sigma) + w_b <N(D; mu + u, sigma)>_{u ~ U(0, b)} + w_o U(D; d_lo, d_hi)

with unresolved binaries (brighter by 0 to ``b`` = 0.75 mag) and a flat floor for
everything else. Outside the fitted colours, or for heights outside [d_lo, d_hi]
(giants, bad parallaxes), the term is 1: it says nothing.

A star's own magnitude error (from its parallax error) widens sigma in quadrature: the
fitted widths are the scatter of cluster members, whose parallaxes are mostly far better
than a field star's. Beyond :data:`MAX_ABS_G_ERR` the term is 1 again.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gyroage.core.normal import normal_cdf
from gyroage.errors import UserError

HEIGHT_RANGE = (-1.0, 3.5)  # mag: beyond, a giant or a bad parallax, and the term is silent
# mag: a parallax measured to worse than 1/4.3 of itself (2.17 sigma_plx / plx); the height then says little, and
# 1/parallax is a biased distance there
MAX_ABS_G_ERR = 0.5
# Stars per pass of the term's element-wise steps: 256 stars x ~130 young ages stay in the core's cache from one step
# to the next (twice as fast as whole blocks of ~1,700 stars, on this project's 2-core machines).
ROWS_PER_PASS = 256


def mean_height(slope, log10_t_zams, log10_age):
    """The mean height above the main sequence, s max(0, log10 t_z - log10 t) (broadcast)."""
    return slope * np.maximum(log10_t_zams - log10_age, 0.0)


def magnitude_error(abs_g_err, shape) -> np.ndarray:
    """Per-star magnitude errors broadcast to ``shape``; unknown (None, NaN) counts as 0, as without the column."""
    if abs_g_err is None:
        return np.zeros(shape)
    e = np.broadcast_to(np.asarray(abs_g_err, dtype=np.float64), shape)
    return np.where(np.isnan(e), 0.0, e)


def usable_magnitude(abs_g_err, shape) -> np.ndarray:
    """Whose magnitude is good enough to say anything (error, unknown counting as 0, at most :data:`MAX_ABS_G_ERR`):
    the term and the above_main_sequence flag read a magnitude by the same rule."""
    return magnitude_error(abs_g_err, shape) <= MAX_ABS_G_ERR


def absolute_g_error(parallax_mas, parallax_err_mas) -> np.ndarray:
    """The error of M_G that a parallax error makes, (5 / ln 10) sigma_plx / plx (NaN where either is not usable)."""
    plx = np.asarray(parallax_mas, dtype=np.float64)
    err = np.asarray(parallax_err_mas, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        ok = (plx > 0) & (err >= 0)
        return np.where(ok, 5.0 / np.log(10.0) * err / np.where(plx > 0, plx, 1.0), np.nan)


def absolute_g(g0, parallax_mas) -> np.ndarray:
    """M_G from a de-reddened G magnitude and a parallax in mas (NaN where the parallax is not positive)."""
    g0 = np.asarray(g0, dtype=np.float64)
    plx = np.asarray(parallax_mas, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return g0 + 5.0 * np.log10(np.where(plx > 0, plx, np.nan) / 100.0)


@dataclass(frozen=True)
class MainSequenceTerm:
    """p(height above the main sequence | colour, age), see the module docstring.

    Parameters
    ----------
    ms_colour, ms_mag : the main sequence, M_G at (BP-RP)0 (linear between points).
    knot_colour : colours at which ``slope`` and ``log10_t_zams`` are given (linear between, held beyond).
    slope : s, mag per dex of age.
    log10_t_zams : log10 (yr) of the age at which the mean height reaches zero.
    sigma : the single-star width (mag) at each knot.
    colour_range : (BP-RP)0 over which the term applies.
    height_range : (d_lo, d_hi); heights outside it carry no information.
    weights : (single, binary, floor), summing to 1.
    binary_max : the most an unresolved companion brightens a star, mag.
    """

    ms_colour: tuple[float, ...]
    ms_mag: tuple[float, ...]
    knot_colour: tuple[float, ...]
    slope: tuple[float, ...]
    log10_t_zams: tuple[float, ...]
    sigma: tuple[float, ...]
    colour_range: tuple[float, float]
    height_range: tuple[float, float] = HEIGHT_RANGE
    weights: tuple[float, float, float] = (0.75, 0.20, 0.05)
    binary_max: float = 0.75

    def height(self, bp_rp0, abs_g) -> np.ndarray:
        """D = M_MS(colour) - M_G (NaN where either is unknown)."""
        return np.interp(np.asarray(bp_rp0, dtype=np.float64), self.ms_colour, self.ms_mag) - np.asarray(
            abs_g, dtype=np.float64)

    def applies(self, bp_rp0, height, abs_g_err=None) -> np.ndarray:
        """Which stars the term informs: fitted colours, a finite height inside ``height_range``, a magnitude error
        (unknown: 0) of at most :data:`MAX_ABS_G_ERR`."""
        c, d = np.asarray(bp_rp0, dtype=np.float64), np.asarray(height, dtype=np.float64)
        lo, hi = self.colour_range
        with np.errstate(invalid="ignore"):
            return ((c >= lo) & (c <= hi) & (d >= self.height_range[0]) & (d <= self.height_range[1])
                    & usable_magnitude(abs_g_err, np.shape(d)))

    def informs(self, bp_rp0, abs_g, abs_g_err=None) -> np.ndarray:
        """Which stars the term says something about (:meth:`applies` to their height)."""
        return self.applies(bp_rp0, self.height(bp_rp0, abs_g), abs_g_err)

    def log_likelihood(self, bp_rp0, abs_g, grid: np.ndarray, abs_g_err=None) -> np.ndarray:
        """ln p(D | colour, age) on ``grid`` (log10 yr), shape (stars, grid); 0 where the term does not apply.

        Normalised over D, so it can be added to a rotation log-likelihood; a constant
        per star would not change that star's age posterior. ``abs_g_err``: each star's
        magnitude error (None or NaN: none known), added to the width in quadrature.
        """
        c = np.asarray(bp_rp0, dtype=np.float64)
        x = np.asarray(grid, dtype=np.float64)
        d = self.height(c, abs_g)
        err = magnitude_error(abs_g_err, c.shape)
        use = self.applies(c, d, err)
        out = np.zeros((len(c), len(x)))
        if use.any():
            s, tz, sig = (v[:, None] for v in self._knots(c[use], err[use]))
            # past every star's t_z the mean height is 0 and the term is flat in age: one column serves them all
            young = x < tz.max()
            dd = d[use][:, None]
            rows = np.empty((dd.shape[0], len(x)))
            for i in range(0, dd.shape[0], ROWS_PER_PASS):
                r = slice(i, i + ROWS_PER_PASS)
                rows[r, young] = self._log_p(dd[r], s[r], tz[r], sig[r], x[None, young])
            if not young.all():
                rows[:, ~young] = self._log_p(dd, s, tz, sig, x[None, ~young][:, :1])
            out[use] = rows
        return out

    def log_density(self, bp_rp0, abs_g, log10_age, abs_g_err=None) -> np.ndarray:
        """:meth:`log_likelihood` at arbitrary, broadcast points: e.g. (stars, walkers) colours and ages."""
        c, m, x = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in (bp_rp0, abs_g, log10_age)))
        d = self.height(c, m)
        err = magnitude_error(abs_g_err, c.shape)
        use = self.applies(c, d, err)
        out = np.zeros(c.shape)
        if use.any():
            out[use] = self._log_p(d[use], *self._knots(c[use], err[use]), x[use])
        return out

    def _knots(self, colour: np.ndarray, abs_g_err: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        s, tz, sig = (np.interp(colour, self.knot_colour, v) for v in (self.slope, self.log10_t_zams, self.sigma))
        return s, tz, np.hypot(sig, abs_g_err)

    def _log_p(self, d, s, tz, sig, x) -> np.ndarray:
        # in place, in the order of log(w_s N + w_b B + w_o U) written out (the same bits): temporaries cost
        # as much as the arithmetic here
        z = np.subtract(d, mean_height(s, tz, x))
        z /= sig
        w_s, w_b, w_o = self.weights
        single = np.multiply(z, z)
        single *= -0.5
        np.exp(single, out=single)
        single /= sig * np.sqrt(2.0 * np.pi)
        # the mean of N(D; mu + u, sigma) over u ~ U(0, b): a difference of normal CDFs
        binary = normal_cdf(z)
        z -= self.binary_max / sig
        binary -= normal_cdf(z)
        binary /= self.binary_max
        single *= w_s
        binary *= w_b
        single += binary
        single += w_o * (1.0 / (self.height_range[1] - self.height_range[0]))
        return np.log(single, out=single)

    def to_dict(self) -> dict:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()}

    @classmethod
    def from_card(cls, card) -> MainSequenceTerm | None:
        """The card's term, or None for a card without one (rotation alone)."""
        d = getattr(card, "main_sequence", None) or {}
        return cls.from_dict(d["term"]) if d.get("term") else None

    @classmethod
    def from_dict(cls, d: dict) -> MainSequenceTerm:
        return cls(**{k: (tuple(v) if isinstance(v, list) else v) for k, v in d.items()})


def magnitude_use(card, main_sequence: bool, model_dir) -> tuple[bool, str | None]:
    """(whether a run reads ``abs_g0``, or ``g0`` and ``parallax``, where the input has them: ``card`` holds a
    main-sequence term and ``main_sequence`` (not ``--no-main-sequence``) uses it; ``model_dir`` as
    :func:`gyroage.column_notes.no_term_note` names it where the run would read them but the card has no term to
    read them with, else ``None``). At most one holds: with a term the magnitudes are read; without one the model
    is named; under ``--no-main-sequence`` neither (``(False, None)``). One rule gives both answers, to both engines,
    the API and plots."""
    if not main_sequence:
        return False, None
    has_term = MainSequenceTerm.from_card(card) is not None
    return has_term, None if has_term else str(model_dir)


NO_TERM = ("--main-sequence: the model card holds no main-sequence term (a card from 'gyroage train --export' has none; "
           "benchmarks/cmd_term.py --write-card adds one)")


def require_term(card) -> MainSequenceTerm:
    """The card's term, for ``--main-sequence``; refused in one line when the card has none, where the option would
    otherwise be ignored and the stars dated from rotation alone without a word (estimate, group-age, validate)."""
    term = MainSequenceTerm.from_card(card)
    if term is None:
        raise UserError(NO_TERM)
    return term


@dataclass(frozen=True)
class AboveFlag:
    """Where a star's height says its rotation age does not hold: the ``above_main_sequence`` flag.

    A star with a usable magnitude (error at most :data:`MAX_ABS_G_ERR`) is flagged when

    * its median age is at least ``age_min_myr`` and it lies more than ``height_mag`` above the height the term
      expects at that colour and median age (:func:`mean_height`; 0 bluer than ``colour_max``, where the term says
      nothing and such stars have reached the main sequence), at any colour: unresolved binaries reach at most the
      term's ``binary_max`` (0.75 mag); what lies above is a subgiant or giant, or a young star whose period the flow
      dates too old; or
    * whatever its age, it lies higher than any young training member of its colour reaches (``young_height_mag``
      in the bins ``young_colour_edges``, held beyond the ends): a giant, which a pre-main-sequence age from the
      term would otherwise hide.

    ``gyroage.build.main_sequence.above_flag`` derives the bounds from the training clusters. A card without the
    young bounds (empty) falls back to the term's height range (``height_range[1]``) there.
    """

    height_mag: float
    colour_max: float
    age_min_myr: float
    young_colour_edges: tuple[float, ...] = ()
    young_height_mag: tuple[float, ...] = ()

    def young_bound(self, term: MainSequenceTerm, bp_rp0) -> np.ndarray:
        """The height above which a star of each colour is flagged whatever its age (mag)."""
        c = np.asarray(bp_rp0, dtype=np.float64)
        if not self.young_height_mag:
            return np.full(c.shape, float(term.height_range[1]))
        edges = np.asarray(self.young_colour_edges, dtype=np.float64)
        b = np.clip(np.searchsorted(edges, c, side="right") - 1, 0, len(edges) - 2)
        return np.asarray(self.young_height_mag, dtype=np.float64)[b]

    def expected_height(self, term: MainSequenceTerm, bp_rp0, age_myr) -> np.ndarray:
        """The term's mean height at each colour and age (0 bluer than ``colour_max``; NaN for a NaN colour or age)."""
        c = np.asarray(bp_rp0, dtype=np.float64)
        s, tz = (np.interp(c, term.knot_colour, v) for v in (term.slope, term.log10_t_zams))
        with np.errstate(invalid="ignore", divide="ignore"):
            mu = mean_height(s, tz, np.log10(np.asarray(age_myr, dtype=np.float64)) + 6.0)
            return np.where(c < self.colour_max, 0.0, mu)

    def flags(self, term: MainSequenceTerm, bp_rp0, abs_g, abs_g_err, age_median_myr) -> np.ndarray:
        """Which stars carry the flag (false where the magnitude, colour or median age is unknown)."""
        c = np.asarray(bp_rp0, dtype=np.float64)
        d = term.height(c, abs_g)
        age = np.asarray(age_median_myr, dtype=np.float64)
        with np.errstate(invalid="ignore"):
            old = (age >= self.age_min_myr) & (d - self.expected_height(term, c, age) > self.height_mag)
            return (old | (d > self.young_bound(term, c))) & usable_magnitude(abs_g_err, c.shape)

    def to_dict(self) -> dict:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()}

    @classmethod
    def from_card(cls, card) -> AboveFlag | None:
        """The card's bounds (``main_sequence.above_flag``), or None for a card without them."""
        d = (getattr(card, "main_sequence", None) or {}).get("above_flag")
        if not d:
            return None
        return cls(height_mag=float(d["height_mag"]), colour_max=float(d["colour_max"]),
                   age_min_myr=float(d["age_min_myr"]),
                   young_colour_edges=tuple(float(v) for v in d.get("young_colour_edges") or ()),
                   young_height_mag=tuple(float(v) for v in d.get("young_height_mag") or ()))


__all__ = ["MAX_ABS_G_ERR", "NO_TERM", "AboveFlag", "MainSequenceTerm", "absolute_g", "absolute_g_error", "require_term"]
