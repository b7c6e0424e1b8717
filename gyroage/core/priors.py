"""Age priors on x = log10(age / yr), shared by the grid posterior, the sampler and group ages.

Every prior is a density per unit log10 age, known up to a constant, and is
``-inf`` outside the age bounds [x_min, x_max]:

* ``uniform_log_age`` (default): p(x) = 1 / (x_max - x_min).
* ``uniform_age``: flat in age t = 10^x, i.e. p(t) = const, so per dex
  p(x) = p(t) |dt/dx| ∝ 10^x ln 10, log p(x) = x ln 10 + const.
* ``gaussian_log_age``: p(x) ∝ exp(-(x - mu)^2 / (2 s^2)) truncated to the
  bounds; ``mu`` and ``s`` are numbers or, per star, input columns (e.g.
  isochrone ages), so the prior can differ from star to star. ``mu`` must be
  a log10 age no more than ``CENTRE_SIGMAS`` widths beyond the bounds.
* ``tabulated``: log p(x) linearly interpolated in x from a two-column file
  (``log10_age`` or ``age_myr``, and ``density``); a density per Myr is
  turned into one per dex by the Jacobian t ln 10 (t in Myr). In an interval
  touching a zero density, p(x) itself is interpolated linearly (log p would be
  -inf over all of it). Zero outside the table.

A scalar prior evaluates to shape ``x.shape``; a per-star prior takes per-star
parameters shaped to broadcast against ``x`` (e.g. ``(stars, 1)`` against a
``(grid,)`` or ``(stars, walkers)`` array), so the grid code gets a
``(stars, grid)`` prior and the sampler a ``(stars, walkers)`` one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from gyroage.core.prior_tables import LN10, read_table, refuse_gyr_table
from gyroage.defaults import AGE_GRID, MAX_GRID, MIN_GRID
from gyroage.errors import UserError

PRIOR_KINDS = ("uniform_log_age", "uniform_age", "gaussian_log_age", "tabulated")
# The ages a Prior's bounds may take on their own, Myr: physical, so that 10**x neither overflows nor underflows. A
# model dates stars only within its card's age grid (1 Myr-10 Gyr for the shipped one), which lies inside these:
# make_prior and check_model_grid hold a prior to that grid, where it meets a model.
AGE_BOUNDS_MYR = (0.01, 20000.0)
LOG10_AGE_BOUNDS = (float(np.log10(AGE_BOUNDS_MYR[0] * 1e6)), float(np.log10(AGE_BOUNDS_MYR[1] * 1e6)))
# How far (in its own sigmas) a Gaussian prior's centre may lie beyond the age bounds. Farther, the prior within the
# bounds is a steep tail that piles every posterior on the edge: a centre given in Myr (3000) or Gyr (4.5), not log10 yr.
CENTRE_SIGMAS = 3.0


@dataclass(frozen=True)
class Prior:
    """An age prior (see the module docstring for the formulas).

    Parameters
    ----------
    kind : one of :data:`PRIOR_KINDS`.
    log10_age_min, log10_age_max : bounds, log10 yr.
    mean, sigma : Gaussian centre and width in log10 yr (scalar case).
    mean_column, sigma_column : input columns holding per-star centre / width
        (log10 yr); either may be set, the other falls back to the scalar.
    table : for ``tabulated``: (log10 ages [yr], NATURAL LOG densities per dex, ln p(x)), sorted by age; a density
        of 0 is ``-inf``.

    Warnings
    --------
    ``table`` takes LOG densities, the ``--prior-table`` file LINEAR ones (per dex with ``log10_age``, per Myr with
    ``age_myr``): a file's column passed straight in is read as logs and moves the ages (0.2 dex in one test).
    To use a ``--prior-table`` file, read it as the command line does: ``make_prior("tabulated", age_min_myr,
    age_max_myr, (log10_age_min, log10_age_max), table="file.csv")`` (None for a bound: the model's grid).
    """

    kind: str = "uniform_log_age"
    log10_age_min: float = AGE_GRID[0]
    log10_age_max: float = AGE_GRID[1]
    mean: float | None = None
    sigma: float | None = None
    mean_column: str | None = None
    sigma_column: str | None = None
    table: tuple[tuple[float, ...], tuple[float, ...]] | None = None

    def __post_init__(self) -> None:
        # Checked here, so the library refuses what the command line refuses (make_prior), in the same words:
        # otherwise a bad prior gives status ok with NaN ages, or a TypeError deep in log_prob.
        check_prior(self)

    @property
    def per_star(self) -> bool:
        """True when the prior's parameters come from input columns."""
        return self.kind == "gaussian_log_age" and (self.mean_column is not None or self.sigma_column is not None)

    def options(self) -> list[tuple[str, str]]:
        """(option, input column) of each column this prior reads, ``("--prior-mean", "mu")``: what the readers
        refuse a repeat of (:func:`gyroage.io.option_roles`) and the notes name."""
        return [(option, name) for option, name in (("--prior-mean", self.mean_column),
                                                     ("--prior-sigma", self.sigma_column)) if name]

    def log_prob(self, log10_age, mean=None, sigma=None) -> np.ndarray:
        """log p(log10 age) up to a constant; ``mean``/``sigma`` override the scalars (per star)."""
        x = np.asarray(log10_age, dtype=float)
        inside = (x >= self.log10_age_min) & (x <= self.log10_age_max)
        if self.kind == "uniform_log_age":
            lp = np.zeros_like(x)
        elif self.kind == "uniform_age":
            lp = LN10 * (x - self.log10_age_max)  # shifted so the values stay O(1)
        elif self.kind == "gaussian_log_age":
            mu = np.asarray(self.mean if mean is None else mean, dtype=float)
            s = np.asarray(self.sigma if sigma is None else sigma, dtype=float)
            lp = -0.5 * ((x - mu) / s) ** 2
        elif self.kind == "tabulated":
            lp = _table_log_prob(x, *(np.asarray(t, dtype=float) for t in self.table))
        else:
            raise UserError(f"unknown prior {self.kind!r} (choose one of {', '.join(PRIOR_KINDS)})")
        inside = np.broadcast_to(inside, np.shape(lp))
        return np.where(inside, lp, -np.inf)

    def star_parameters(self, columns: dict[str, np.ndarray] | None, n: int) -> tuple[np.ndarray | None, np.ndarray | None]:
        """Per-star (mean, sigma) arrays of length ``n`` from input columns; ``(None, None)`` if scalar."""
        if not self.per_star:
            return None, None
        columns = columns or {}
        mean = columns.get(self.mean_column) if self.mean_column else None
        sigma = columns.get(self.sigma_column) if self.sigma_column else None
        mean = np.full(n, np.nan if self.mean is None else self.mean) if mean is None else np.asarray(mean, dtype=float)
        sigma = np.full(n, np.nan if self.sigma is None else self.sigma) if sigma is None else np.asarray(sigma, dtype=float)
        return mean, sigma

    def valid_parameters(self, mean: np.ndarray | None, sigma: np.ndarray | None) -> np.ndarray | bool:
        """Rows whose per-star prior parameters are usable (finite centre, positive width, a centre that is a log10 age
        near the bounds (:meth:`centre_fits`), a density the grid holds)."""
        if mean is None:
            return True
        return np.isfinite(mean) & np.isfinite(sigma) & (sigma > 0) & self.centre_fits(mean, sigma) \
            & self.fits_bounds(mean, sigma)

    def centre_fits(self, mean, sigma=None) -> np.ndarray:
        """Whether a Gaussian centre (log10 yr) is a star's age (within :data:`LOG10_AGE_BOUNDS`) at most
        :data:`CENTRE_SIGMAS` widths ``sigma`` beyond the bounds (``sigma`` None: the first test alone)."""
        mu = np.asarray(mean, dtype=float)
        lo, hi = LOG10_AGE_BOUNDS
        with np.errstate(invalid="ignore"):
            fits = (mu >= lo - 1e-9) & (mu <= hi + 1e-9)
            if sigma is None:
                return fits
            reach = CENTRE_SIGMAS * np.asarray(sigma, dtype=float)
            return fits & (mu >= self.log10_age_min - reach) & (mu <= self.log10_age_max + reach)

    def fits_bounds(self, mean, sigma) -> np.ndarray:
        """Whether a Gaussian's log density stays finite at both bounds: one 1e200 dex off, or 1e-300 dex wide,
        overflows there and would normalise to NaN (with overflow warnings)."""
        mu, s = np.asarray(mean, dtype=float), np.asarray(sigma, dtype=float)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return np.isfinite(((self.log10_age_min - mu) / s) ** 2) & np.isfinite(((self.log10_age_max - mu) / s) ** 2)


def _table_log_prob(x: np.ndarray, tx: np.ndarray, tlp: np.ndarray) -> np.ndarray:
    """A table's log density at ``x``: log-linear between two positive nodes, linear in the density in an interval
    touching a zero node (log-linear there is zero over the whole interval: a taper to 0 at 10 Gyr removed every age
    above the node before it), -inf outside the table."""
    with np.errstate(invalid="ignore"):  # -inf - -inf in a cell between two zero nodes: replaced below
        lp = np.interp(x, tx, tlp, left=-np.inf, right=-np.inf)
    zero = ~np.isfinite(tlp)
    if not zero.any():
        return lp
    j = np.clip(np.searchsorted(tx, x, side="right") - 1, 0, tx.size - 2)
    cell = (zero[j] | zero[j + 1]) & (x >= tx[0]) & (x <= tx[-1])
    top = float(np.max(tlp[~zero]))  # densities relative to the largest, so exp neither overflows nor underflows all
    p = np.exp(tlp - top)
    t = (x - tx[j]) / (tx[j + 1] - tx[j])
    with np.errstate(divide="ignore", invalid="ignore"):
        linear = top + np.log(np.maximum(p[j] + t * (p[j + 1] - p[j]), 0.0))
    return np.where(cell, linear, lp)


def _finite(value) -> bool:
    """Whether ``value`` is one finite real number."""
    try:
        return bool(np.isfinite(float(value)))
    except (TypeError, ValueError):
        return False


def check_kind(kind: str) -> None:
    """Refuse a prior kind that is not one of :data:`PRIOR_KINDS`."""
    if kind not in PRIOR_KINDS:
        raise UserError(f"unknown prior {kind!r} (choose one of {', '.join(PRIOR_KINDS)})")


def refuse_unused(kind: str, mean: bool, sigma: bool, table: bool) -> None:
    """Refuse a Gaussian centre or width (``mean``, ``sigma``: given) or a table for a prior ``kind`` that does not
    use them: ``--prior-mean 9.6`` without ``--prior gaussian_log_age`` was dropped without a word, and the run looked
    as if it had used it."""
    names = [name for name, given in (("--prior-mean", mean), ("--prior-sigma", sigma)) if given]
    if names and kind != "gaussian_log_age":
        two = len(names) == 2
        raise UserError(f"{' and '.join(names)} {'are' if two else 'is'} for --prior gaussian_log_age, not {kind}: "
                        f"add --prior gaussian_log_age, or leave {'them' if two else 'it'} out")
    if table and kind != "tabulated":
        raise UserError(f"--prior-table is for --prior tabulated, not {kind}: add --prior tabulated, or leave it out")


def check_prior(prior: Prior) -> None:
    """Refuse an unusable :class:`Prior`, in the command line's words: the one check of a prior's fields, for the
    library and (through :func:`make_prior`, which only parses the options) the command line alike."""
    check_kind(prior.kind)
    refuse_unused(prior.kind, prior.mean is not None or prior.mean_column is not None,
                  prior.sigma is not None or prior.sigma_column is not None, prior.table is not None)
    lo, hi = LOG10_AGE_BOUNDS
    for name, v in (("log10_age_min", prior.log10_age_min), ("log10_age_max", prior.log10_age_max)):
        if not (_finite(v) and lo - 1e-9 <= float(v) <= hi + 1e-9):
            raise UserError(f"{name} must be a log10 age (yr) from {lo:g} to {hi:.4g} ({AGE_BOUNDS_MYR[0]:g}-"
                            f"{AGE_BOUNDS_MYR[1]:g} Myr), and a model dates stars only within its own age grid")
    if not prior.log10_age_min < prior.log10_age_max:
        raise UserError("--age-min-myr must be below --age-max-myr")
    if prior.kind == "gaussian_log_age":
        if (prior.mean is None and prior.mean_column is None) or (prior.sigma is None and prior.sigma_column is None):
            raise UserError("--prior gaussian_log_age needs --prior-mean and --prior-sigma (numbers or column names)")
        if prior.mean_column is None and not _finite(prior.mean):
            raise UserError("--prior-mean must be a finite number or a column name")
        if prior.sigma_column is None and not (_finite(prior.sigma) and float(prior.sigma) > 0):
            raise UserError("--prior-sigma must be a finite number > 0 or a column name")
        # a centre in Myr (3000) put every star on the grid's edge; with widths from a column, each row is checked
        # against its own width (valid_parameters), so here only the centre's range
        scalar_sigma = prior.sigma if prior.sigma_column is None else None
        if prior.mean_column is None and not prior.centre_fits(prior.mean, scalar_sigma):
            raise UserError(_centre_words(prior))
        if prior.mean_column is None and prior.sigma_column is None and not prior.fits_bounds(prior.mean, prior.sigma):
            raise UserError("--prior-mean/--prior-sigma put no probability the age grid can hold: the centre is too "
                            "far from the age bounds for its width")
    elif prior.kind == "tabulated":
        if prior.table is None:
            raise UserError("--prior tabulated needs --prior-table FILE (in Python: table=(log10 ages, log densities))")
        try:
            x, lp = (np.asarray(t, dtype=float) for t in prior.table)
        except (TypeError, ValueError):
            raise UserError("a tabulated prior's table must be two sequences: log10 ages and log densities") from None
        if x.ndim != 1 or x.shape != lp.shape or len(x) < 2 or not np.all(np.isfinite(x)) \
                or np.any(np.diff(x) <= 0) or np.any(np.isnan(lp)) or not np.any(np.isfinite(lp)):
            raise UserError("a tabulated prior's table needs at least two increasing log10 ages and as many log "
                            "densities, one finite")


def _centre_words(prior: Prior) -> str:
    """Why a scalar Gaussian centre is refused (:meth:`Prior.centre_fits`), with the likely slip of units."""
    mu, lo, hi = float(prior.mean), prior.log10_age_min, prior.log10_age_max
    hint = ": did you give Myr?" if mu > hi else ": did you give Gyr?" if 0 < mu < lo else ""
    return (f"--prior-mean {mu:g} is not a log10 age in years (the age bounds span {lo:.1f}-{hi:.1f}, and a centre at "
            f"most {CENTRE_SIGMAS:g} sigma beyond them){hint}")


def grid_cannot_hold(prior: Prior, n_grid: int) -> bool:
    """Whether ``n_grid`` points cannot hold a prior of one width for every star as given (:func:`grid_step_note`'s
    test, its line left unformatted): a Gaussian narrower than twice the grid's step, or a table ending inside the
    age bounds. Widths from a column are counted per star instead (:func:`narrow_widths`): False."""
    if prior.kind == "tabulated":
        return any(_table_inside(prior))
    if prior.kind != "gaussian_log_age" or prior.sigma_column is not None:
        return False
    return float(prior.sigma) < 2 * ((prior.log10_age_max - prior.log10_age_min) / (int(n_grid) - 1))


def grid_step_note(prior: Prior, n_grid: int, narrow: tuple[int, float] | None = None,
                   of_stars_said: bool = False) -> str | None:
    """A line saying what the grid does to a prior it cannot hold as given, else None: a Gaussian prior narrower
    than twice the grid's step, or a prior table ending inside the age bounds (:func:`_table_edge_note`).

    The grid posterior holds the prior only at its points, so a narrow Gaussian is widened to about the step and its
    centre moved to the nearest point (0.002 dex on the default 0.02 dex step: a 0.0136 dex half-width, the median 4.5
    sigma off); the line names the ``--grid`` that would resolve it. A table's posterior runs on up to one step past
    its edge; that line names the bounds that put the edge on the grid's end. The ages are left as they are. With
    widths from a column, ``narrow`` is (rows under twice the step, the smallest of their widths)
    (:func:`narrow_widths`; None or no row: no line). ``of_stars_said``: the line follows a count of ``narrow[0]``
    stars the caller has said (an mcmc run's stars that took the grid's posterior), so it names them "their"/"its".
    """
    if prior.sigma_column is None and not grid_cannot_hold(prior, n_grid):
        return None
    if prior.kind == "tabulated":
        return _table_edge_note(prior, n_grid)
    if prior.kind != "gaussian_log_age":
        return None
    lo, hi, n = prior.log10_age_min, prior.log10_age_max, int(n_grid)
    step = (hi - lo) / (n - 1)
    grid = f"{step:.3g} dex ({n} points over log10 yr {lo:g}-{hi:g})"
    if prior.sigma_column is not None:
        if narrow is None or narrow[0] == 0:
            return None
        count, s = int(narrow[0]), float(narrow[1])
        many, pronoun = count > 1, "their" if count > 1 else "its"
        whose = pronoun if of_stars_said else f"{count} {'rows' if many else 'row'}'{'' if many else 's'}"
        ages = "ages come" if many or not of_stars_said else "age comes"
        head = (f"{whose} --prior-sigma (column {prior.sigma_column}) "
                f"{'are' if many else 'is'} under twice the age grid's step, {grid}: the grid cannot resolve so "
                f"narrow a prior, and {pronoun} {ages} out wider than it and off its centre; ")
    else:
        s = float(prior.sigma)
        ages = "the ages come" if not of_stars_said else "their ages come" if narrow[0] > 1 else "its age comes"
        head = (f"--prior-sigma {s:g} is under twice the age grid's step, {grid}: the grid cannot resolve so "
                f"narrow a prior, and {ages} out wider than it and off its centre; ")
    need = int(np.ceil(2 * (hi - lo) / s - 1e-9)) + 1  # points for a step of sigma / 2
    if need > MAX_GRID:  # never suggest a grid the options refuse
        return head + f"narrower age bounds resolve it (--grid is at most {MAX_GRID})"
    what = "it" if prior.sigma_column is None else f"the narrowest ({s:g})"
    return head + f"--grid {need} (Python: n_grid={need}) or narrower age bounds resolve {what}"


def _table_edge_note(prior: Prior, n_grid: int) -> str:
    """A line saying that a table ends inside the age bounds, where the grid's posterior runs on for up to one step
    past its edge (the trapezoid rule takes the density to 0 over the grid cell after the last age with prior mass:
    a table ending at 3162 Myr gave the Sun a p97.5 of 3243 Myr), with the bounds that put the edge on the grid's
    end (:func:`grid_step_note` asks only when it does: :func:`grid_cannot_hold`)."""
    lo, hi, n = prior.log10_age_min, prior.log10_age_max, int(n_grid)
    first, last = prior.table[0][0], prior.table[0][-1]
    low, high = _table_inside(prior)
    options = [f"{name} {_inward_myr(edge, up)}" for name, edge, inside, up in
               (("--age-min-myr", first, low, True), ("--age-max-myr", last, high, False)) if inside]
    span = f"{10 ** (max(first, lo) - 6):.6g}-{10 ** (min(last, hi) - 6):.6g} Myr"
    return (f"the prior table holds ages {span}, inside the age bounds ({10 ** (lo - 6):.6g}-{10 ** (hi - 6):.6g} Myr):"
            f" the grid's ages run on up to one step ({(hi - lo) / (n - 1):.3g} dex) past "
            f"{'its edges' if len(options) > 1 else 'its edge'}; {' and '.join(options)} "
            f"{'put the grid ends' if len(options) > 1 else 'puts the grid end'} there")


def _table_inside(prior: Prior) -> tuple[bool, bool]:
    """Whether a prior table's first and last ages lie inside the age bounds (by more than 1e-5 dex: a bound given to
    6 digits at the edge, as :func:`_table_edge_note` suggests, is on it)."""
    first, last = prior.table[0][0], prior.table[0][-1]
    return bool(first > prior.log10_age_min + 1e-5), bool(last < prior.log10_age_max - 1e-5)


def _inward_myr(edge: float, up: bool) -> str:
    """A table edge (log10 yr) in Myr to 6 digits, rounded into the table (``up`` for its first age), so that a bound
    given as printed has prior mass at the grid's end."""
    v = 10 ** (edge - 6)
    scale = 10.0 ** (5 - int(np.floor(np.log10(v))))
    rounded = (np.ceil(v * scale - 1e-6) if up else np.floor(v * scale + 1e-6)) / scale
    return f"{rounded:.6g}"


def check_on_grid(prior: Prior, n_grid: int | None, source: str | Path | None = None, grid: str = "--grid") -> None:
    """Refuse a prior with no mass at any age of the run's own grid (``n_grid`` points over its bounds; None: no
    grid yet, as :func:`make_prior`, where only a table with no density inside the bounds is refused).

    A table between two grid ages (9.505-9.515 on the 0.02 dex step) passed a check on a finer grid, then gave every
    row invalid_prior with numpy warnings (per-star priors are judged row by row). A table with no positive density
    inside the bounds is said to lie outside them (``source``: its file, named in the line); one that a coarse grid
    steps over is told a ``--grid`` the options take (``grid``: the option, or the field, the caller gave).
    """
    if prior.per_star:
        return
    lo, hi = prior.log10_age_min, prior.log10_age_max
    spans = _mass_spans(prior)
    if prior.kind == "tabulated" and not spans:
        table = f"prior table {source}" if source is not None else "the prior"
        raise UserError(f"{table} has no probability between the age bounds ({10 ** (lo - 6):.6g}-"
                        f"{10 ** (hi - 6):.6g} Myr): its table ({10 ** (prior.table[0][0] - 6):.6g}-"
                        f"{10 ** (prior.table[0][-1] - 6):.6g} Myr) lies outside them")
    if n_grid is None:
        return
    n = int(n_grid)
    if np.isfinite(prior.log_prob(np.linspace(lo, hi, n))).any():
        return
    words = "it"
    if prior.kind == "tabulated":
        # a step at most half the widest span puts a grid age in it
        width = max(b - a for a, b in spans)
        need = max(int(np.ceil(2 * (hi - lo) / width - 1e-9)) + 1, MIN_GRID) if width > 0 else MAX_GRID + 1
        fix = f"{grid} {need} or narrower age bounds" if need <= MAX_GRID else "narrower age bounds"
        words = (f"its table ({10 ** (prior.table[0][0] - 6):.6g}-{10 ** (prior.table[0][-1] - 6):.6g} Myr) lies "
                 f"between two of them: {fix} put ages in it")
    raise UserError(f"the prior has no probability at any age of the grid ({n} points over log10 yr {lo:g}-{hi:g}, "
                    f"{(hi - lo) / (n - 1):.3g} dex apart): {words}")


def _mass_spans(prior: Prior) -> list[tuple[float, float]]:
    """The intervals (log10 yr) within the bounds where a tabulated prior's density is positive, widest runs of
    table cells touching a positive node (a cell between two zero nodes has none); [] for any other kind."""
    if prior.kind != "tabulated":
        return []
    x, lp = (np.asarray(t, dtype=float) for t in prior.table)
    pos = np.isfinite(lp)
    cell = pos[:-1] | pos[1:]  # linear in the density next to a zero node: positive inside the cell
    edges = np.flatnonzero(np.diff(np.r_[False, cell, False].astype(int)))  # run starts and ends (cells)
    spans = []
    for start, stop in zip(edges[::2], edges[1::2]):
        a, b = max(x[start], prior.log10_age_min), min(x[stop], prior.log10_age_max)
        # an end on a zero node has no density: only an overlap of some width, or a positive node on a bound
        if b > a or (b == a and np.isfinite(prior.log_prob(np.array([a])))[0]):
            spans.append((float(a), float(b)))
    return spans


def narrow_widths(prior: Prior, n_grid: int, sigma: np.ndarray | None) -> tuple[int, float]:
    """(how many, the smallest) of per-star Gaussian widths ``sigma`` (usable: finite, > 0) under twice the grid's
    step, for :func:`grid_step_note`; (0, inf) when none is."""
    if prior.kind != "gaussian_log_age" or sigma is None:
        return 0, float("inf")
    step = (prior.log10_age_max - prior.log10_age_min) / (int(n_grid) - 1)
    s = np.asarray(sigma, dtype=float)
    with np.errstate(invalid="ignore"):
        s = s[np.isfinite(s) & (s > 0) & (s < 2 * step)]
    return int(s.size), float(s.min()) if s.size else float("inf")


def check_bound(name: str, age_myr: float, grid: tuple[float, float]) -> None:
    """Refuse an age bound (Myr; ``name`` its option) outside a model's age grid ``grid`` (log10 yr, the card's
    ``age_grid``): beyond it the flow extrapolates, and an age posterior there is made up (a Sun-like star's
    p97.5 went from 8 to 17 Gyr when the bound was raised to 20 Gyr)."""
    lo, hi = (10 ** (float(g) - 6) for g in grid)
    # relative slack: 10 ** (x - 6) back from a log10 bound may land an ulp outside
    if not (np.isfinite(age_myr) and lo * (1 - 1e-9) <= age_myr <= hi * (1 + 1e-9)):
        raise UserError(f"{name} {age_myr:.6g} is outside the model's age grid, {lo:g}-{hi:g} Myr (log10 yr "
                        f"{float(grid[0]):g}-{float(grid[1]):g}), beyond which the model extrapolates")


def check_model_grid(prior: Prior, age_grid: Mapping[str, float]) -> None:
    """Refuse a prior whose bounds reach beyond a model card's ``age_grid`` (:func:`check_bound`), in the command
    line's words: where a :class:`Prior` meets a model in Python (the command line checks its options so in
    :func:`make_prior`)."""
    grid = (age_grid["log10_age_min"], age_grid["log10_age_max"])
    for name, x in (("--age-min-myr", prior.log10_age_min), ("--age-max-myr", prior.log10_age_max)):
        check_bound(name, 10 ** (float(x) - 6), grid)


def make_prior(kind: str, age_min_myr: float | None, age_max_myr: float | None,
               default_bounds: tuple[float, float], mean: str | float | None = None,
               sigma: str | float | None = None, table: str | Path | None = None,
               columns: list[str] | None = None, per_group: bool = False) -> Prior:
    """A prior from CLI-style options; bounds default to the model's age grid ``default_bounds`` (log10 yr), and
    must lie within it (:func:`check_bound`).

    ``mean`` / ``sigma`` (Gaussian in log10 yr) are numbers or names of input
    columns (looked up case-insensitively in ``columns`` when given); ``per_group`` (group-age): numbers only, and
    the refusals say so. The options are only parsed here: the
    :class:`Prior` built from them refuses what it cannot use (:func:`check_prior`).
    """
    # io (and with it pandas) is imported where a column is looked up: posterior and the
    # sampler import this module for Prior alone.
    from gyroage import io

    check_kind(kind)  # first: which other options are read depends on it
    refuse_unused(kind, mean is not None, sigma is not None, table is not None)  # never dropped without a word
    bounds = []
    for name, v, default in (("--age-min-myr", age_min_myr, default_bounds[0]),
                             ("--age-max-myr", age_max_myr, default_bounds[1])):
        # in Myr, before the log: 0 or a negative age has none
        if v is not None:
            check_bound(name, v, default_bounds)
        bounds.append(float(default if v is None else np.log10(v * 1e6)))
    fields: dict = {}
    if kind == "gaussian_log_age" and per_group:
        _group_numbers(mean, sigma)
    if kind == "gaussian_log_age":
        for key, value in (("mean", mean), ("sigma", sigma)):
            if value is None:  # the Prior says it needs both
                continue
            num = _as_number(value)  # "nan" or "inf" stays a number gone wrong (refused as such), not a column's name
            if num is None:
                fields[f"{key}_column"] = str(value)
            else:
                fields[key] = num
    elif kind == "tabulated":
        if table is None:  # the option, not the table, is missing: there is no file to read
            raise UserError("--prior tabulated needs --prior-table FILE")
        fields["table"], column = read_table(table)
        refuse_gyr_table(table, fields["table"], column, bounds)
    prior = Prior(kind, *bounds, **fields)
    if columns is not None and prior.per_star:  # named as in the input, once the prior is known to be usable
        prior = replace(prior, **{k: io.require_column(columns, getattr(prior, k))
                                  for k in ("mean_column", "sigma_column") if getattr(prior, k) is not None})
    # A table with no mass between the bounds would leave every star without a posterior (the grid: checked where
    # it is known, EstimateSettings and group_posterior).
    check_on_grid(prior, None, table)
    return prior


def _group_numbers(mean: str | float | None, sigma: str | float | None) -> None:
    """Refuse a group-age Gaussian prior that is not two numbers, in group-age's words: one prior for every group,
    no column (the library's words offer column names, which group-age then refused)."""
    if mean is None or sigma is None:
        raise UserError("--prior gaussian_log_age needs --prior-mean and --prior-sigma (numbers: group-age takes one "
                        "prior per group)")
    for name, value, positive in (("--prior-mean", mean, False), ("--prior-sigma", sigma, True)):
        num = _as_number(value)
        if num is None or not np.isfinite(num) or (positive and not num > 0):
            raise UserError(f"group-age takes one prior per group: {name} must be a finite number"
                            f"{' > 0' if positive else ''}, not {str(value)!r}")


def _as_number(value: str | float) -> float | None:
    """``value`` as a float (``nan`` and ``inf`` included), or ``None`` when it is no number (a column name)."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
