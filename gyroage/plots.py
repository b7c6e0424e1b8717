"""Figures: a star's age posterior and the model's rotation sequences (matplotlib, Agg; PNG, PDF or SVG).

matplotlib is imported inside the functions (the ``plots`` extra), so
``import gyroage`` never needs it. Each figure has a ``*_figure`` function that
returns the matplotlib Figure (what the tests look at) and a ``plot_*``
function that also reads the input and writes the file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from gyroage.errors import UserError
from gyroage.figure_files import DPI, figure_target, save_figure

LOG10_PROT_POINTS = 600
# Fewest age points the posterior curve is drawn with (the card's 201 show corners on a narrow posterior).
CURVE_POINTS = 401
# The posterior's axis reaches this far (dex) beyond its 95% interval, so the band never touches the frame.
POSTERIOR_MARGIN_DEX = 0.15
# Scatter marker areas (pt^2): never smaller than MARKER_MIN (a 3-pt dot), shrinking with the square root of N.
MARKER_MIN, MARKER_MAX, MARKER_SCALE = 9.0, 36.0, 500.0
MAX_LEGEND_GROUPS = 12
NO_DATA_GID = "no-training-data"
NO_DATA_LABEL = "no training data"
NO_DATA_FACE = (0.6, 0.6, 0.6, 0.25)


def _pyplot():
    try:
        import matplotlib
    except ImportError:
        raise UserError("plots need matplotlib: pip install 'gyroage[plots]'") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({
        "font.size": 10, "axes.labelsize": 11, "axes.titlesize": 10.5, "legend.fontsize": 9,
        "xtick.labelsize": 9.5, "ytick.labelsize": 9.5,
        "axes.spines.top": False, "axes.spines.right": False, "savefig.bbox": "tight",
        "xtick.direction": "out", "ytick.direction": "out", "svg.fonttype": "none", "pdf.fonttype": 42,
    })
    return plt


def _label(frame: pd.DataFrame, row: int) -> str:
    """The star's id (the first id-like column, as ``--posteriors`` finds them), else (none, or a cell with no text)
    its row; a ``$`` escaped, drawn as itself."""
    from gyroage import io

    ids = io.id_columns(frame.columns)
    value = frame[ids[0]].iloc[row] if ids else None
    # a quoted CSV name may hold a line break or other control characters: one line, as a title needs
    text = "" if value is None or pd.isna(value) else "".join(c if c.isprintable() else " " for c in str(value))
    text = " ".join(text.split())
    # matplotlib pairs every unescaped $ of the title as mathtext: one in a name turned the rest into raw TeX
    return text.replace("$", r"\$") if text else f"row {row}"


def _say_columns(frame: pd.DataFrame, reddening, log, require_magnitudes: bool = False,
                 magnitudes: bool = False, options: bool = True) -> dict[str, str]:
    """Check ``frame``'s columns as ``estimate`` does (a refusal is the run's one line), then hand ``log`` each line
    naming the columns read, in estimate's words (:func:`gyroage.core.colours.input_notes`; ``magnitudes``: the
    main-sequence term's too). ``options``: whether the command has reddening options to suggest. Returns the
    columns found (:func:`gyroage.core.stars.check_input_columns`)."""
    from gyroage.core.colours import say_input_notes
    from gyroage.core.stars import check_input_columns

    found = check_input_columns(frame.columns, reddening, require_magnitudes, options)
    say_input_notes(frame, reddening, magnitudes, log)
    return found


def _prior_label(prior, default) -> str:
    """A prior that is not ``default`` in a title's words: its kind, a Gaussian's centre and width (log10 yr, or
    their columns) and its bounds where they are not the default's."""
    text = f"prior {prior.kind}"
    if prior.kind == "gaussian_log_age":
        mean = prior.mean_column or f"{prior.mean:g}"
        sigma = prior.sigma_column or f"{prior.sigma:g}"
        text += f" (log age {mean} ± {sigma} dex)"
    if (prior.log10_age_min, prior.log10_age_max) != (default.log10_age_min, default.log10_age_max):
        text += f", {10 ** (prior.log10_age_min - 6):g}-{10 ** (prior.log10_age_max - 6):g} Myr"
    return text


# ---------------------------------------------------------------- the posterior of one star

def plot_posterior(source: str, row: int, output: str | Path | None, method: str = "grid", model=None, seed: int = 0,
                   true_age_myr: float | None = None, fmt: str | None = None, dpi: float = DPI, prior=None,
                   reddening=None, settings=None, log=None, command: str | None = None) -> Path:
    """Age posterior of one input row with median, 68%/95% intervals and MAP; returns the file path.

    ``model``: an :class:`~gyroage.core.api.AgeModel`, or a path for :meth:`AgeModel.load` (None: the shipped
    model). ``settings`` (an :class:`~gyroage.core.estimate.EstimateSettings`, whose method ``method`` replaces)
    date the star as ``estimate`` does with them: the figure's median and intervals are estimate's (with ``mcmc`` too:
    the star draws from its stream keyed by the seed and its input row, as in ``estimate``). Without it,
    estimate's defaults with ``seed``, ``prior`` (a :class:`~gyroage.core.priors.Prior`; None: the model's
    default) and ``reddening`` (a :class:`~gyroage.core.colours.Reddening`, as ``--ebprp``/``--av``/``--ebv``).
    Stars whose status is ``extrapolated`` are plotted too; the title names every star's status, flags and
    ``p_outlier``. Rows without an age are a :class:`UserError`. ``log``: called with each line naming the
    columns read (the CLI prints them). A prior other than the model's default is named in the title; the file
    records the run as estimate's outputs do (:func:`gyroage.provenance.estimate_provenance`; ``command``: the
    command line, as the CLI has it).
    """
    from dataclasses import replace

    from gyroage import io, statuses
    from gyroage.core.api import AgeModel
    from gyroage.core.colours import Reddening
    from gyroage.core.estimate import EstimateSettings, estimate_with_posteriors
    from gyroage.core.main_sequence import magnitude_use
    from gyroage.core.posterior import SUMMARY_COLUMNS
    from gyroage.provenance import estimate_provenance

    _check_true_age(true_age_myr)
    out_path, fmt = figure_target(output, fmt, dpi, "posterior")
    if method not in ("grid", "mcmc"):
        raise UserError(f"unknown method {method!r} (choose grid or mcmc)")
    per_star = settings.prior if settings is not None else prior  # a prior's columns: a repeat of one is refused
    frame = io.read_table(source, roles=io.option_roles(per_star.options() if per_star is not None else []))
    if len(frame) == 0:  # a header-only input: no range of rows to name
        raise UserError("the input has no rows: no star to plot")
    if not 0 <= row < len(frame):
        raise UserError(f"--row {row} is outside the input (0..{len(frame) - 1})")
    am = model if isinstance(model, AgeModel) else AgeModel.load(model)
    if settings is None:
        settings = EstimateSettings(prior=am.default_prior if prior is None else prior, n_grid=am.card.age_grid["n"],
                                    seed=seed, reddening=Reddening() if reddening is None else reddening)
    columns = _say_columns(frame, settings.reddening, log, settings.require_magnitudes,
                           magnitude_use(am.card, settings.main_sequence, am.density.onnx_path.parent)[0])
    one = frame.iloc[[row]].reset_index(drop=True)
    base = replace(settings, method="grid")
    grid_out, post = estimate_with_posteriors(one, am.density, base)
    status = grid_out["status"].iloc[0]
    if status not in (statuses.OK, statuses.EXTRAPOLATED):
        raise UserError(f"row {row} has status {status}: no posterior to plot")
    if base.n_grid < CURVE_POINTS:  # the figure's numbers stay estimate's; only the curve is drawn finer
        post = estimate_with_posteriors(one, am.density, replace(base, n_grid=CURVE_POINTS))[1]
    x, pdf = np.asarray(post["log10_age"].iloc[0], float), np.asarray(post["pdf"].iloc[0], float)
    summ = grid_out
    samples, n_eff, from_grid = None, None, False
    if method == "mcmc":
        # first_row: the sampler keys each star's stream by the seed and its input row, as estimate does
        summ, chain = estimate_with_posteriors(one, am.density, replace(base, method="mcmc"), first_row=row)
        samples = np.asarray(chain["log10_age"].iloc[0], float)
        n_eff = float(summ["mcmc_n_eff"].iloc[0]) if "mcmc_n_eff" in summ else None
        from_grid = statuses.GRID_POSTERIOR in str(summ["age_flags"].iloc[0]).split(";")
    s = {k: float(summ[k].iloc[0]) for k in SUMMARY_COLUMNS}
    prot = float(io.numeric(one, io.require_columns(list(one.columns))["prot"], durations=True)[0])
    # the colour as used: converted (from bp_rp and a reddening, or teff, v_ks0, b_v0) when the input has one to convert
    used = "bp_rp0_used" if "bp_rp0_used" in grid_out else io.match_columns(list(one.columns))["bp_rp0"]
    colour = float(io.numeric(grid_out, used)[0])
    lo, mid, hi = s["age_p16_myr"], s["age_p50_myr"], s["age_p84_myr"]
    title = (f"{_label(frame, row)}:  $P_{{\\rm rot}}$ = {prot:.3g} d,  $(G_{{\\rm BP}}-G_{{\\rm RP}})_0$ = {colour:.3f}"
             f"  →  age = ${_fmt(mid)}^{{+{_fmt(hi - mid)}}}_{{-{_fmt(mid - lo)}}}$ Myr ({method}"
             + (": the grid's posterior)" if from_grid else ")"))
    # status, flags and p_outlier as estimate writes them: an ``ok`` star can be flagged too (likely_outlier,
    # pre_main_sequence_age), and the figure must not look cleaner than the table
    flags = str(summ["age_flags"].iloc[0]).replace(";", ", ")
    title += f"\nstatus {summ['status'].iloc[0]}" + (f": {flags}" if flags else "")
    p_out = float(summ["p_outlier"].iloc[0])
    if np.isfinite(p_out):
        title += f";  p_outlier = {p_out:.2f}"
    if settings.prior != am.default_prior:  # else two priors' figures of one star look alike, ages apart
        title += f";  {_prior_label(settings.prior, am.default_prior)}"
    # a table's zero stretches inside the bounds are outside the prior's ages too (per-star Gaussians have none)
    log_prior = None if settings.prior.per_star else settings.prior.log_prob(x)
    fig = posterior_figure(x, pdf, s, samples=samples, title=title, true_age_myr=true_age_myr, n_eff=n_eff,
                           log_prior=log_prior, from_grid=from_grid)
    # what made the figure, as the table's record says it (its prior, model and SHA-256s; seed and sampler: mcmc's)
    record = {**estimate_provenance(am.card, am.density.onnx_path.parent, replace(base, method=method), columns,
                                    command), "input": str(source), "row": str(row)}
    return save_figure(fig, out_path, fmt, dpi, record)


def _zero_prior_spans(x: np.ndarray, log_prior, xlo: float, xhi: float) -> list[tuple[float, float]]:
    """Spans (log10 yr) of the axis [``xlo``, ``xhi``] where the prior is zero: beyond the grid ``x``, and each run of
    grid ages where ``log_prior`` is -inf (from its first zero age to its last, or to the axis's end at the grid's);
    in order, those that touch or overlap merged (a run from the grid's first age is one span with the one before
    the grid: two translucent spans drawn over each other show darker where they meet)."""
    spans = [(xlo, x[0]), (x[-1], xhi)]
    if log_prior is not None:
        zero = ~np.isfinite(np.asarray(log_prior, dtype=float).reshape(-1))
        edges = np.diff(np.concatenate([[0], zero.astype(np.int8), [0]]))
        for i, j in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1):
            spans.append((xlo if i == 0 else x[i], xhi if j == x.size - 1 else x[j]))
    merged: list[tuple[float, float]] = []
    for a, b in sorted((max(a, xlo), min(b, xhi)) for a, b in spans):
        if b <= a:
            continue  # outside the axis
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return [(float(a), float(b)) for a, b in merged]


def _check_true_age(true_age_myr: float | None) -> None:
    """Refuse a reference age that cannot be drawn on the log age axis (inf broke the axis, 0 was ignored)."""
    if true_age_myr is not None and not (np.isfinite(true_age_myr) and true_age_myr > 0):
        raise UserError(f"--true-age-myr must be a positive number of Myr, not {true_age_myr:g}")


def posterior_figure(log10_age, pdf, summary: dict, samples=None, title: str = "",
                     true_age_myr: float | None = None, n_eff: float | None = None, log_prior=None,
                     from_grid: bool = False):
    """The posterior figure (not saved): density against age on a log axis, intervals from ``summary``.

    ``samples``: MCMC draws of log10 age to histogram; ``n_eff``: the row's ``mcmc_n_eff``, for their label;
    ``from_grid``: the samples are the grid posterior's (the star took it: age_flags ``grid_posterior``), not the chain's.

    The x axis always covers the 95% interval, both the reported one and the
    density's own, with :data:`POSTERIOR_MARGIN_DEX` either side; where that
    reaches past the age grid, the posterior is zero and the span is shaded, as is every stretch of the grid where
    ``log_prior`` (the prior's log density at ``log10_age``, e.g. a table's zeros) is -inf.
    """
    plt = _pyplot()
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    from gyroage.core.posterior import quantiles

    _check_true_age(true_age_myr)
    x, pdf = np.asarray(log10_age, float), np.asarray(pdf, float)
    s = summary
    logq = lambda k: np.log10(s[k]) + 6  # noqa: E731
    own = quantiles(pdf[None, :], x, (0.025, 0.975))[0]
    lo95, hi95 = min(own[0], logq("age_p2.5_myr")), max(own[1], logq("age_p97.5_myr"))
    body = np.flatnonzero(pdf >= 0.01 * pdf.max())  # the outlier term leaves a flat floor: ignore it
    xlo = min(max(x[0], x[body[0]] - 0.3), lo95 - POSTERIOR_MARGIN_DEX)
    xhi = max(min(x[-1], x[body[-1]] + 0.3), hi95 + POSTERIOR_MARGIN_DEX)
    if true_age_myr is not None:
        xlo, xhi = min(xlo, np.log10(true_age_myr) + 6 - 0.1), max(xhi, np.log10(true_age_myr) + 6 + 0.1)
    myr = lambda v: 10 ** (np.asarray(v) - 6)  # noqa: E731

    fig, ax = plt.subplots(figsize=(7.0, 3.4))
    if samples is not None:
        e = np.linspace(max(xlo, x[0]), min(xhi, x[-1]), 61)
        # per dex of all samples (some may fall off the axis), as the curve
        dens = np.histogram(samples, bins=e)[0] / (samples.size * np.diff(e))

        def height(v: np.ndarray) -> np.ndarray:  # the histogram's step at each age, zero off its bins
            i = np.clip(np.searchsorted(e, v, side="right") - 1, 0, dens.size - 1)
            return np.where((v >= e[0]) & (v <= e[-1]), dens[i], 0.0)
    for (a, b), colour, label in (((logq("age_p2.5_myr"), logq("age_p97.5_myr")), "#c6dbef", "95% interval"),
                                  ((logq("age_p16_myr"), logq("age_p84_myr")), "#6baed6", "68% interval")):
        # the intervals are those of the posterior the summary comes from: with samples, the chain's (a period
        # error the grid ignores widens them), so they are shaded under its histogram, not under the grid's curve
        if samples is None:
            xs = np.union1d(x[(x > a) & (x < b)], [a, b])  # the band ends exactly at the quantiles
            ax.fill_between(myr(xs), np.interp(xs, x, pdf), color=colour, lw=0, label=label)
        else:
            xs = np.union1d(e[(e > a) & (e < b)], [a, b])
            ax.fill_between(myr(xs), height(xs), step="post", color=colour, lw=0, label=label)
    if samples is None:
        ax.plot(myr(x), pdf, color="#08306b", lw=1.5, label="grid posterior")
    else:  # the samples are the result (their intervals, median and MAP): the grid's curve drawn only beside them,
        # grey so that its dashes are not read as the median's; under grid_posterior it is what they were drawn from
        ax.plot(myr(x), pdf, color="0.35", lw=0.8, ls="--",
                label=f"grid posterior curve ({'sampled' if from_grid else 'for comparison'})")
    if samples is not None:
        # the draws are kept from the (calibrated) chain, up to a fixed number: its n_eff, the whole chain's (not
        # the kept draws'), says how many count
        kept = f"{samples.size} kept" + (f", chain n_eff {n_eff:.0f}" if n_eff is not None and np.isfinite(n_eff)
                                         else "")
        what = f"samples of the grid posterior ({samples.size} kept)" if from_grid else f"MCMC samples ({kept})"
        ax.stairs(dens, myr(e), color="#d94801", lw=1.2, label=what)
    ax.axvline(s["age_p50_myr"], color="#08306b", ls="--", lw=1.0, label="median")
    t_map = np.log10(s["age_map_myr"]) + 6  # on the density the MAP belongs to, as the bands
    y_map = np.interp(t_map, x, pdf) if samples is None else float(height(np.array([t_map]))[0])
    ax.plot([s["age_map_myr"]], [y_map], "o", ms=5, color="#08306b", mfc="white", label="MAP")
    if true_age_myr is not None:
        ax.axvline(true_age_myr, color="#238b45", lw=1.5, label="reference age")
    label = "outside the prior's ages"
    for a, b in _zero_prior_spans(x, log_prior, xlo, xhi):
        if b > a:  # the posterior is zero there: say so rather than let the curve just stop
            ax.axvspan(myr(a), myr(b), color="0.88", lw=0, zorder=0, label=label)
            label = None
    ax.set_xscale("log")
    ax.set_xlim(myr(xlo), myr(xhi))
    ax.set_ylim(0, None)
    span = xhi - xlo
    ax.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0) if span < 2.5 else (1.0,)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("Age [Myr]")
    ax.set_ylabel("Posterior density [dex$^{-1}$]")
    ax.set_title(title, loc="left")
    ax.legend(frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return fig


def _fmt(v: float) -> str:
    return f"{v:.3g}" if v < 100 else f"{v:.0f}"


# ---------------------------------------------------------------- the model's rotation sequences

def sequence_bands(model, ages_myr, bp_rp0: np.ndarray, qs=(0.16, 0.5, 0.84)) -> np.ndarray:
    """Period quantiles (days) of the flow at each age and colour: shape (ages, colours, len(qs)).

    From the flow's CDF over a fine log10-period grid (no outlier term), at the
    card's default colour error.
    """
    ages = np.asarray(ages_myr, dtype=float)
    q = model.period_quantiles(np.repeat(ages, len(bp_rp0)), np.tile(bp_rp0, len(ages)), qs, LOG10_PROT_POINTS)
    return q.reshape(len(ages), len(bp_rp0), len(qs))


def trained_mask(card, ages_myr, bp_rp0: np.ndarray) -> np.ndarray:
    """Whether training clusters cover each (age, colour): shape (ages, colours).

    Inside the card's colour domain, and, where the card has a sequence domain,
    within the ages its clusters span in that colour bin (else the trained ages).
    """
    from gyroage.core.domain import SequenceDomain

    c = np.asarray(bp_rp0, float)
    log_age = np.log10(np.asarray(ages_myr, float))[:, None] + 6
    clo, chi = card.domain["bp_rp0"]
    seq = SequenceDomain.from_card(card)
    if seq is not None:
        lo, hi = seq.age_range(c)
        lo, hi = np.where(c < seq.edges[0], np.nan, lo), np.where(c > seq.edges[-1], np.nan, hi)
    else:
        lo, hi = (np.full(c.shape, v) for v in card.domain.get("log10_age_trained", [-np.inf, np.inf]))
    return (c >= clo) & (c <= chi) & (log_age >= lo) & (log_age <= hi)  # NaN bounds compare False


def _runs(mask: np.ndarray):
    """(start, stop, value) of each run of equal values, each stop one past the run so neighbours share a point."""
    cuts = np.flatnonzero(np.diff(mask.astype(np.int8))) + 1
    starts, ends = np.concatenate([[0], cuts]), np.concatenate([cuts, [mask.size]])
    return [(a, min(b + 1, mask.size), bool(mask[a])) for a, b in zip(starts, ends)]


def marker_area(n: int) -> float:
    """Scatter marker area (pt^2) for ``n`` points: large for a handful, shrinking, never below :data:`MARKER_MIN`."""
    return float(np.clip(MARKER_SCALE / np.sqrt(max(n, 1)), MARKER_MIN, MARKER_MAX))


def plot_sequence(output: str | Path | None, ages_myr, data: str | pd.DataFrame | None = None,
                  colour_by: str | None = None, model=None, fmt: str | None = None, dpi: float = DPI,
                  log=None, command: str | None = None) -> Path:
    """Period vs (BP-RP)0 with the model's 16-84% bands and medians at ``ages_myr``; returns the path.

    ``log``: called with each line naming the columns of ``data`` read (the CLI prints them). The file records the
    model and ages (:func:`gyroage.provenance.sequence_provenance`; ``command``: the command line).
    """
    from gyroage import io
    from gyroage.core.api import AgeModel

    out_path, fmt = figure_target(output, fmt, dpi, "sequence")
    ages = [float(a) for a in ages_myr]
    if not ages or any(not (np.isfinite(a) and a > 0) for a in ages):
        raise UserError("--age must be positive numbers of Myr")
    am = AgeModel.load(model, notes=False)  # no calibration, stale graphs: the bands use neither
    lo, hi = am.age_range_myr
    if any(not lo <= a <= hi for a in ages):  # beyond its grid the flow's bands are extrapolation
        raise UserError(f"--age must be within the model's age grid, {lo:g}-{hi:g} Myr")
    # a repeat of the --colour-by column refused as group-age's --by (review V30, 3)
    frame = None if data is None else data if isinstance(data, pd.DataFrame) else io.read_table(
        data, roles={f"--colour-by {colour_by}": colour_by} if colour_by else None)
    if frame is not None:
        from gyroage.core.colours import Reddening

        if colour_by:  # its refusal too comes before the lines naming the columns read
            io.require_column(list(frame.columns), colour_by)
        _say_columns(frame, Reddening(), log, options=False)  # plot sequence has no --ebprp/--av/--ebv
    from gyroage.provenance import sequence_provenance

    fig = sequence_figure(am, ages, frame, colour_by)
    record = sequence_provenance(am.card, am.density.onnx_path.parent, ages, command)
    return save_figure(fig, out_path, fmt, dpi, record)


def _data_points(frame: pd.DataFrame, colour_by: str | None) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, str]:
    """(colour, period, group key or None) of the rows that can be drawn: finite colour, positive finite period, not
    a limit (``l_Prot`` '<' or '>': no period, not dated by estimate); and the legend's line counting those limits,
    or ``""``."""
    from gyroage import io
    from gyroage.column_notes import limit_column
    from gyroage.core.colours import input_colours
    from gyroage.core.stars import period_limits

    cols = io.require_columns(list(frame.columns))
    # the colour as estimate would use it: bp_rp0, or converted from bp_rp and a reddening, or teff, v_ks0, b_v0
    p, c = io.numeric(frame, cols["prot"], durations=True), input_colours(frame, cols).bp_rp0
    key = None
    if colour_by:
        raw = frame[io.require_column(list(frame.columns), colour_by)]
        text = raw.astype(str)
        key = text.where(raw.notna() & (text.str.strip() != ""), "(no group)").to_numpy()
    limit = period_limits(frame, cols["prot"])
    ok = np.isfinite(c) & np.isfinite(p) & (p > 0) & ~limit
    n = int(limit.sum())
    line = f"{n} period limits ({limit_column(frame.columns, cols['prot'])} '<', '>') not drawn" if n else ""
    return c[ok], p[ok], None if key is None else key[ok], line


def sequence_figure(model, ages_myr, data: pd.DataFrame | None = None, colour_by: str | None = None):
    """The sequence figure (not saved): data, model bands, and the (age, colour) regions without training data.

    Rows that cannot be drawn (no positive period or no colour) are left out, and so are period limits (counted in
    the legend) and any ``colour_by`` group left empty by that.
    """
    plt = _pyplot()
    from matplotlib import patheffects
    from matplotlib.patches import Patch
    from matplotlib.ticker import FuncFormatter

    from gyroage.core.domain import SequenceDomain

    card = model.card
    clo, chi = (float(v) for v in card.domain["bp_rp0"])
    c, p, key, limits = (np.zeros(0), np.zeros(0), None, "") if data is None else _data_points(data, colour_by)
    xlo, xhi = max(clo, 0.2), min(chi, 3.8)
    if c.size:  # a few wild colours in a catalogue must not squash the figure: 0.5-99.5%, at most 0.5 mag out
        qlo, qhi = np.quantile(c, [0.005, 0.995]) if c.size >= 200 else (c.min(), c.max())
        xlo, xhi = min(xlo, max(qlo - 0.05, clo - 0.5)), max(xhi, min(qhi + 0.05, chi + 0.5))
    colours = np.linspace(max(xlo, clo), min(xhi, chi), 241)
    bands = sequence_bands(model, ages_myr, colours)
    trained = trained_mask(card, ages_myr, colours)

    fig, ax = plt.subplots(figsize=(7.4, 4.2))
    n = c.size
    style = {"s": marker_area(n), "alpha": 0.85 if n <= 300 else 0.55, "edgecolors": "0.15",
             "linewidths": 0.5 if n <= 300 else 0.2, "rasterized": n > 1000, "zorder": 2}
    if key is not None:
        groups = list(dict.fromkeys(key))
        cmap = plt.get_cmap("tab10" if len(groups) <= 10 else "tab20")
        for k, gname in enumerate(groups):
            m = key == gname
            ax.scatter(c[m], p[m], color=cmap(k % cmap.N),
                       label=gname if len(groups) <= MAX_LEGEND_GROUPS else None, **style)
        if len(groups) > MAX_LEGEND_GROUPS:
            ax.plot([], [], ls="none", label=f"data: {len(groups)} {colour_by} groups (n={n})")
    elif n:
        ax.scatter(c, p, color="0.45", label=f"data (n={n})", **style)
    if limits:
        ax.plot([], [], ls="none", label=limits)
    cmap = plt.get_cmap("viridis")
    halo = [patheffects.Stroke(linewidth=3.6, foreground="white"), patheffects.Normal()]  # medians stand out over data
    for k, age in enumerate(ages_myr):
        colour = cmap(0.85 * k / max(1, len(ages_myr) - 1))
        for a, b, inside in _runs(trained[k]):
            seg = slice(a, b)
            if inside:
                ax.fill_between(colours[seg], bands[k, seg, 0], bands[k, seg, 2], color=colour, alpha=0.2, lw=0)
            else:
                ax.fill_between(colours[seg], bands[k, seg, 0], bands[k, seg, 2], facecolor=NO_DATA_FACE,
                                edgecolor=colour, hatch="////", lw=0, gid=NO_DATA_GID)
            for j in (0, 2):
                ax.plot(colours[seg], bands[k, seg, j], color=colour, lw=0.8, ls=":", zorder=3)
            ax.plot(colours[seg], bands[k, seg, 1], color=colour, lw=2.0 if inside else 1.4,
                    ls="-" if inside else "--", zorder=4, path_effects=halo)
        ax.plot([], [], color=colour, lw=2.0, label=f"model {age:g} Myr: median, 16-84%", path_effects=halo)
    for a, b in ((xlo, clo), (chi, xhi)):
        if b > a:  # data beyond the model's colours: no bands at all there
            ax.axvspan(a, b, facecolor=NO_DATA_FACE, hatch="////", edgecolor="0.5", lw=0, gid=NO_DATA_GID)
    seq = SequenceDomain.from_card(card)
    if seq is not None and seq.kraft_break > xlo:
        ax.axvline(seq.kraft_break, color="0.35", lw=0.8, ls="-.", zorder=1, label="Kraft break")
    # 0.1-100 d at least, widened to every band drawn (10 Gyr M dwarfs reach ~165 d) and every data point
    shown = np.concatenate([bands[..., [0, 2]][np.isfinite(bands[..., [0, 2]])], p])
    ylo, yhi = (min(0.1, shown.min() / 1.3), max(100.0, shown.max() * 1.3)) if shown.size else (0.1, 100.0)
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))  # 0.1, 1, 10 read faster than powers
    ax.set_xlim(xlo, xhi)
    ax.set_ylim(ylo, yhi)
    ax.set_xlabel(r"$(G_{\rm BP}-G_{\rm RP})_0$ [mag]")
    ax.set_ylabel(r"$P_{\rm rot}$ [d]")
    handles, labels = ax.get_legend_handles_labels()
    if not trained.all() or xlo < clo or xhi > chi:
        handles.append(Patch(facecolor=NO_DATA_FACE, edgecolor="0.4", hatch="////", lw=0))
        labels.append(NO_DATA_LABEL + "; median dashed")
    leg = ax.legend(handles, labels, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    for h in leg.legend_handles:
        if hasattr(h, "set_sizes"):
            h.set_sizes([30.0])  # the same legible key whatever the data's marker size
    return fig

