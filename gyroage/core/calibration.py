"""The model's empirical calibration of age posteriors (fitted by leave-one-cluster-out in
:mod:`gyroage.build.calibration`), applied to grid posteriors and to MCMC samples alike.
"""

from __future__ import annotations

import functools
import math
import numbers
from dataclasses import dataclass

import numpy as np

from gyroage.core.grid_cdf import cdf, cdf_quantiles, trapezoid
from gyroage.core.normal import normal_cdf, normal_score

KERNEL_DRAWS = 8      # kernel draws per MCMC sample (Calibration.calibrated_samples)
SAMPLE_GRID = 201     # grid over the sampled ages' bounds on which MCMC samples meet the kernel
MIN_WIDTH = 1e-3      # dex: a zero systematic width, kept finite for the kernel
CDF_CLIP = 1e-12      # normal scores of CDF values within this of 0 or 1 are clipped
_SINKHORN_STEPS = 2000
# What a card's calibration object holds (the fields of Calibration): the first two are required there.
CARD_KEYS = ("log10_age_knots", "sigma_dex", "level_knots", "level_scale", "colour_knots")


class CalibrationError(ValueError):
    """A calibration that cannot be used: ``problem`` with its field ``field``, said of the object at ``where``."""

    def __init__(self, field: str, problem: str, where: str = "calibration") -> None:
        super().__init__(f"{where}.{field} {problem}")
        self.field, self.problem = field, problem


def _is_number(v) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_))


def _is_sequence(v) -> bool:
    return isinstance(v, (tuple, list, np.ndarray))


def _numbers(values, field: str) -> list[float]:
    """``values`` as finite floats, else a :class:`CalibrationError` naming ``field``."""
    if not _is_sequence(values) or not all(_is_number(v) for v in values):
        raise CalibrationError(field, "must be a list of numbers")
    if not all(math.isfinite(v) for v in values):
        raise CalibrationError(field, "must be finite")
    return [float(v) for v in values]


def trapezoid_weights(grid: np.ndarray) -> np.ndarray:
    """Weights w with sum(w * f) the trapezoid integral of f over ``grid``."""
    w = np.zeros(len(grid))
    w[1:] += 0.5 * np.diff(grid)
    w[:-1] += 0.5 * np.diff(grid)
    return w


@functools.lru_cache(maxsize=16)
def _balanced_kernel(knots: tuple, widths: tuple, grid: tuple) -> np.ndarray:
    g = np.asarray(grid, dtype=np.float64)
    s = np.maximum(np.interp(g, knots, widths), MIN_WIDTH)
    var = 0.5 * (s[:, None] ** 2 + s[None, :] ** 2)  # symmetric: mass moves between two ages as it moves back
    k = np.exp(-0.5 * (g[None, :] - g[:, None]) ** 2 / var) / np.sqrt(var)
    w = trapezoid_weights(g)
    d = 1.0 / np.sqrt(k @ w)
    for _ in range(_SINKHORN_STEPS):  # symmetric Sinkhorn: rows (and so columns) integrate to 1
        new = np.sqrt(d / (k @ (d * w)))
        done = np.max(np.abs(new / d - 1.0)) < 1e-14
        d = new
        if done:
            break
    out = d[:, None] * k * d[None, :]
    out.flags.writeable = False  # shared by every caller through the cache
    return out


def colour_weights(colour: np.ndarray, knots: tuple[float, ...]) -> np.ndarray:
    """(stars x knots) linear hat weights of each colour on ``knots`` (rows sum to 1; constant beyond the ends).

    Written as min(rise, fall) clipped to [0, 1] so the ONNX posterior graph computes the same numbers.
    """
    c = np.asarray(knots, dtype=np.float64)
    x = np.clip(np.asarray(colour, dtype=np.float64).reshape(-1, 1), c[0], c[-1])
    if len(c) == 1:
        return np.ones((x.shape[0], 1))
    inv_left, inv_right = hat_slopes(c)
    rise = 1.0 + (x - c) * inv_left
    fall = 1.0 - (x - c) * inv_right
    return np.clip(np.minimum(rise, fall), 0.0, 1.0)


def hat_slopes(knots: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """1 / (distance to the knot on the left, on the right); 0 past the ends, where a knot's weight stays 1."""
    gaps = 1.0 / np.diff(knots)
    return np.concatenate([[0.0], gaps]), np.concatenate([gaps, [0.0]])


@dataclass(frozen=True)
class Calibration:
    """The model's empirical calibration of age posteriors, fitted by leave-one-cluster-out.

    Two parts, both functions of the posterior itself and the star's colour (never of a true age):

    * a systematic error: each posterior is convolved with a Gaussian kernel in
      log10 age whose width ``sigma_dex`` is given at ``log10_age_knots`` (linear
      in between, constant beyond); it widens intervals where held-out clusters
      scatter beyond their statistical errors. With ``colour_knots``,
      ``sigma_dex`` holds one row of widths per colour knot and a star's
      posterior is the blend of the rows' convolutions by linear hat weights in
      its (BP-RP)0 (:func:`colour_weights`): G and K dwarfs, whose held-out ages
      scatter least, need narrower kernels than the red and blue ends.
      Between two ages the kernel takes
      the rms of their widths and is balanced (symmetric Sinkhorn scaling), so
      each age's mass is kept and a flat posterior stays flat: mass does not pile
      up where the width is small (a row-normalised kernel made a spike there);
    * a level scale: where the posterior median lies below ``level_knots[0]``
      (log10 yr), each age's normal score z = Phi^-1(F) becomes z / s, with
      ``s = level_scale`` (< 1 narrows), rising linearly to 1 at
      ``level_knots[1]``. Central intervals narrow smoothly about the unmoved
      median (the central q interval is the old central 2 Phi(s Phi^-1((1+q)/2)) - 1
      interval) and the tails thin without being cut off.
    """

    log10_age_knots: tuple[float, ...] = ()
    sigma_dex: tuple = ()  # widths at the age knots; with colour_knots, one such row per colour knot
    level_knots: tuple[float, float] = (7.7, 8.2)
    level_scale: float = 1.0
    colour_knots: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        # Every calibration passes here, a card's (through from_dict) and a fit's alike, so a hand-edited card fails
        # in one line when it loads rather than as a traceback at the first calibrated posterior.
        knots = _numbers(self.log10_age_knots, "log10_age_knots")
        if any(b <= a for a, b in zip(knots, knots[1:])):
            raise CalibrationError("log10_age_knots", "must be one or more increasing ages")
        colours = _numbers(self.colour_knots, "colour_knots")
        if any(b <= a for a, b in zip(colours, colours[1:])):
            raise CalibrationError("colour_knots", "must increase")
        w = self.sigma_dex
        if not _is_sequence(w):
            raise CalibrationError("sigma_dex", "must hold one row of widths per colour knot")
        rows = w if len(w) and _is_sequence(w[0]) else (w,)  # as width_rows reads them
        if len(rows) != max(len(colours), 1):
            raise CalibrationError("sigma_dex", "must hold one row of widths per colour knot")
        for r in rows:
            r = _numbers(r, "sigma_dex")
            if len(r) != len(knots) or any(v < 0 for v in r):
                raise CalibrationError("sigma_dex", "must hold one width >= 0 per age knot (in each row)")
        if len(_numbers(self.level_knots, "level_knots")) != 2:
            raise CalibrationError("level_knots", "must be two ages")
        if not _is_number(self.level_scale):
            raise CalibrationError("level_scale", "must be a number")
        if not (math.isfinite(self.level_scale) and self.level_scale > 0):
            raise CalibrationError("level_scale", "must be positive")

    @functools.cached_property  # the dataclass is frozen: derived once, read by every apply
    def width_rows(self) -> tuple[tuple[float, ...], ...]:
        """The widths as rows, one per colour knot (one row without colour knots)."""
        w = self.sigma_dex
        if len(w) and isinstance(w[0], (tuple, list, np.ndarray)):
            return tuple(tuple(map(float, r)) for r in w)
        return (tuple(map(float, w)),)

    @functools.cached_property
    def smears(self) -> bool:
        """Whether any width is above zero (otherwise only the level scale acts)."""
        return any(v > 0 for r in self.width_rows for v in r)

    @classmethod
    def from_dict(cls, c: dict | None, where: str = "calibration") -> Calibration | None:
        """The calibration a card's object holds (None for an empty one: uncalibrated); a ValueError or TypeError,
        one line naming the field as ``where``.field, for one that cannot be used."""
        if c is None or c == {}:
            return None
        if not isinstance(c, dict):
            raise TypeError(f"{where} must be an object")
        unknown = sorted(set(c) - set(CARD_KEYS))
        missing = [k for k in CARD_KEYS[:2] if k not in c]
        if missing or unknown:  # so that {"foo": 1} is not silently taken for no calibration
            raise ValueError(f"{where} " + (f"lacks {', '.join(missing)}" if missing else f"has unknown key {unknown[0]!r}"))

        def frozen(v):  # JSON gives lists (nested for widths by colour)
            return tuple(frozen(x) for x in v) if isinstance(v, list) else v
        try:  # the dataclass's defaults fill what a card leaves out
            cal = cls(**{k: frozen(v) for k, v in c.items()})
        except CalibrationError as exc:
            raise CalibrationError(exc.field, exc.problem, where) from None
        if not cal.log10_age_knots:  # a fit's level-scale-only calibration is no card's
            raise CalibrationError("log10_age_knots", "must be one or more increasing ages", where)
        return cal

    @classmethod
    def from_card(cls, card) -> Calibration | None:
        return cls.from_dict(getattr(card, "calibration", None))

    def to_dict(self) -> dict:
        rows = [[round(float(v), 4) for v in r] for r in self.width_rows]
        out = {"log10_age_knots": list(self.log10_age_knots), "sigma_dex": rows if self.colour_knots else rows[0],
               "level_knots": list(self.level_knots), "level_scale": round(float(self.level_scale), 4)}
        if self.colour_knots:
            out["colour_knots"] = list(self.colour_knots)
        return out

    def kernels(self, grid: np.ndarray) -> list[np.ndarray]:
        """One (grid x grid) symmetric matrix K per colour knot: mass at age i goes to age j with
        density K[i, j]; every row and column integrates to 1 on the grid (trapezoid rule)."""
        knots, g = tuple(map(float, self.log10_age_knots)), tuple(map(float, np.asarray(grid, dtype=np.float64)))
        return [_balanced_kernel(knots, row, g) for row in self.width_rows]

    def kernel(self, grid: np.ndarray, colour: float | None = None) -> np.ndarray:
        """The kernel of a star of this colour: the colour knots' kernels blended by its hat weights
        (the one kernel without colour knots)."""
        ks = self.kernels(grid)
        if len(ks) == 1:
            return ks[0]
        lam = self.weights(np.array([np.nan if colour is None else colour]))[0]
        return sum(w * k for w, k in zip(lam, ks) if w > 0)

    def weights(self, colour) -> np.ndarray:
        """(stars x colour knots) hat weights; a missing colour takes the first knot's row."""
        if len(self.colour_knots) <= 1:
            return np.ones((np.size(colour), 1))
        c = np.asarray(colour, dtype=np.float64).reshape(-1)
        return colour_weights(np.where(np.isfinite(c), c, self.colour_knots[0]), self.colour_knots)

    def scale_of(self, median: np.ndarray) -> np.ndarray:
        """The level scale of posteriors with these medians (log10 yr)."""
        lo, hi = self.level_knots
        return np.interp(median, [lo, hi], [self.level_scale, 1.0])

    def apply(self, pdf: np.ndarray, grid: np.ndarray, colour=None) -> np.ndarray:
        """Calibrated pdf rows of stars of these (BP-RP)0 colours, renormalised on the grid (NaN rows stay NaN).

        ``colour`` is needed only when the widths depend on colour."""
        finite = np.isfinite(pdf).all(axis=-1, keepdims=True)
        every = bool(finite.all())  # as a grid posterior's rows nearly always are: no NaN to clean or restore
        out = np.asarray(pdf) if every else np.nan_to_num(pdf)
        if self.smears:
            weighted = out * trapezoid_weights(grid)
            ks = self.kernels(grid)
            if len(ks) == 1:
                out = weighted @ ks[0]
            else:
                if colour is None:
                    raise ValueError("this calibration depends on colour: give the stars' (BP-RP)0")
                lam = self.weights(colour)
                out = np.zeros_like(weighted)
                for k, kernel in enumerate(ks):  # a star meets at most two knots' kernels
                    rows = np.flatnonzero(lam[:, k] > 0)
                    if rows.size:
                        out[rows] += lam[rows, k, None] * (weighted[rows] @ kernel)
        elif out is pdf:
            out = out.copy()  # normalised in place below: never the caller's array
        with np.errstate(invalid="ignore", divide="ignore"):
            out /= trapezoid(out, grid, axis=-1)[..., None]
            if self.level_scale != 1.0:
                out = self._scale_levels(out, grid)
        return out if every else np.where(finite, out, np.nan)

    def calibrated_samples(self, samples: np.ndarray, bounds: tuple[float, float], rng: np.random.Generator,
                           colour: float | None = None) -> np.ndarray:
        """One star's samples (log10 yr) moved by the calibration (``gyroage.core.chain_summary.summarise_chain`` takes their quantiles,
        under the flat default; under a prior that is not flat it reads the samples' calibrated density instead).

        Each sample moves by a draw from its kernel row (on a grid over ``bounds``, the ages the chain sampled, as
        the grid method's kernel lives on its grid), keeping its place within the grid cell; the level scale then
        moves each sample to the level-scaled quantile of its rank about the median, so the samples returned are the
        calibrated posterior's. ``colour``: the star's (BP-RP)0, needed only when the widths depend on colour.
        """
        x = np.asarray(samples, dtype=float)
        if self.smears:
            x = np.tile(x, KERNEL_DRAWS)  # several draws per sample: little Monte Carlo noise
            grid = np.linspace(bounds[0], bounds[1], SAMPLE_GRID)
            w = trapezoid_weights(grid)
            rows = np.cumsum(self.kernel(grid, colour) * w[None, :], axis=1)
            rows /= rows[:, -1:]
            n = len(grid)
            i = np.clip(np.rint((x - grid[0]) / (grid[1] - grid[0])).astype(int), 0, n - 1)
            # row i's CDF shifted to [i, i + 1]: one searchsorted over all rows at once
            flat = (rows + np.arange(n)[:, None]).ravel()
            j = np.searchsorted(flat, i + rng.uniform(size=x.shape)) - i * n
            j = np.clip(j, 0, n - 1)
            x = grid[j] + (x - grid[i])
            # past an end (by at most half a cell): reflected back inside, as the grid's kernel keeps the mass there;
            # a clip made a point mass on the bound (an old star's p97.5 read exactly 10000 Myr)
            x = np.where(x > bounds[1], 2.0 * bounds[1] - x, x)
            x = np.clip(np.where(x < bounds[0], 2.0 * bounds[0] - x, x), bounds[0], bounds[1])
        if self.level_scale != 1.0:
            s = float(self.scale_of(np.median(x)))
            # Each sample to the level-scaled quantile of its rank: G^-1(F(x)) = F^-1(Phi(s Phi^-1(F(x)))). The samples
            # move (not only the quantile levels), so the kept samples, their MAP and the quantiles agree.
            if s != 1.0:
                x = level_mapped(x, s)
        return x

    def _scale_levels(self, pdf: np.ndarray, grid: np.ndarray) -> np.ndarray:
        out = pdf / trapezoid(pdf, grid, axis=-1)[..., None]
        # Most posteriors lie above the level knots, where the scale is 1 and the map is the identity:
        # only the others pay for normal scores (a tenth of a catalogue's posterior time otherwise).
        c = cdf(pdf, grid)
        rows = np.flatnonzero(self.scale_of(cdf_median(c, grid)) != 1.0)
        if rows.size:
            out[rows] = self.scaled_levels(pdf[rows], grid, level_parts_of_cdf(c[rows], grid))
        return out

    def scaled_levels(self, pdf: np.ndarray, grid: np.ndarray, parts: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        """Normalised ``pdf`` rows with this level scale applied, from their :func:`level_parts` (which do
        not depend on the scale: a fit that tries many scales computes them once)."""
        median, z = parts
        s = self.scale_of(median)[:, None]
        # d/dx Phi(z / s) = pdf * phi(z / s) / (s phi(z))
        out = pdf / s * np.exp(-0.5 * z**2 * (1.0 / s**2 - 1.0))
        return out / trapezoid(out, grid, axis=-1)[..., None]


def level_mapped(x: np.ndarray, s: float) -> np.ndarray:
    """Each sample moved to the level-scaled quantile of its rank, F^-1(Phi(s Phi^-1(F(x)))), with F the samples'
    own distribution (np.quantile's linear interpolation), ranks taken at (r + 1/2) / n.

    Interpolated on the sorted samples once: np.quantile at one level per sample partitioned the array per level
    (20 s for a hundred young stars' calibrated samples).
    """
    order = np.argsort(x, kind="stable")
    n = x.size
    levels = normal_cdf(s * normal_score((np.arange(n) + 0.5) / n))
    out = np.empty(n)
    out[order] = np.interp(levels * (n - 1), np.arange(n), x[order])
    return out


def level_parts(pdf: np.ndarray, grid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(median, normal score of the CDF at every grid point) of each normalised pdf row: what a level scale reads."""
    return level_parts_of_cdf(cdf(pdf, grid), grid)


def level_parts_of_cdf(c: np.ndarray, grid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`level_parts` from CDF rows (:func:`gyroage.core.posterior.cdf`) already computed."""
    return cdf_median(c, grid), normal_score(np.clip(c, CDF_CLIP, 1.0 - CDF_CLIP))


def cdf_median(c: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Each CDF row's median (log10 yr): where the level scale's knots are read."""
    return cdf_quantiles(c, grid, [0.5])[:, 0]


def smear(pdf: np.ndarray, grid: np.ndarray, systematic: float | Calibration) -> np.ndarray:
    """Convolve pdf rows with a systematic error in log10 age: widths by age (a colour-free :class:`Calibration`), or
    one Gaussian width in dex (a :class:`Calibration` of constant width; 0 or less: the rows as they are)."""
    if isinstance(systematic, Calibration):
        return systematic.apply(pdf, grid)
    if systematic <= 0:
        return pdf
    return Calibration((float(grid[0]),), (float(systematic),)).apply(pdf, grid)
