"""Figures: a star's age posterior and the model's rotation sequences (matplotlib, Agg; PNG or PDF).

matplotlib is imported inside the functions (the ``plots`` extra), so
``import gyroage`` never needs it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from gyroage.errors import UserError

LOG10_PROT_POINTS = 600


def _pyplot():
    try:
        import matplotlib
    except ImportError:
        raise UserError("plots need matplotlib: pip install 'gyroage[plots]'") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({
        "font.size": 10, "axes.labelsize": 11, "axes.titlesize": 11, "legend.fontsize": 9,
        "axes.spines.top": False, "axes.spines.right": False, "savefig.bbox": "tight", "savefig.dpi": 150,
        "xtick.direction": "out", "ytick.direction": "out",
    })
    return plt


def _check_output(path: str | Path) -> Path:
    p = Path(path)
    if p.suffix.lower() not in (".png", ".pdf"):
        raise UserError(f"figure file must end in .png or .pdf: {p}")
    p.parent.mkdir(parents=True, exist_ok=True)
    return p


def _read_frame(source: str) -> pd.DataFrame:
    from gyroage import io

    chunks = list(io.read_chunks(source, 200_000))
    if not chunks:
        raise UserError(f"input {source} has no rows")
    return pd.concat(chunks, ignore_index=True)


def _label(frame: pd.DataFrame, row: int) -> str:
    from gyroage import io

    c = io.find_column(frame.columns, "name", "star_id", "id", "source_id", "star", "tic", "kic")
    return f"row {row}" if c is None else f"{frame[c].iloc[row]}"


def plot_posterior(source: str, row: int, output: str | Path, method: str = "grid", model=None, seed: int = 0,
                   true_age_myr: float | None = None) -> Path:
    """Age posterior of one input row with median, 68%/95% intervals and MAP; returns the file path."""
    from dataclasses import replace

    from gyroage import io, statuses
    from gyroage.core.api import AgeModel
    from gyroage.core.estimate import EstimateSettings, estimate_with_posteriors
    from gyroage.core.posterior import SUMMARY_COLUMNS

    out_path = _check_output(output)
    if method not in ("grid", "mcmc"):
        raise UserError(f"unknown method {method!r} (choose grid or mcmc)")
    frame = _read_frame(source)
    if not 0 <= row < len(frame):
        raise UserError(f"--row {row} is outside the input (0..{len(frame) - 1})")
    am = AgeModel.load(model)
    one = frame.iloc[[row]].reset_index(drop=True)
    base = EstimateSettings(prior=am.default_prior, n_grid=max(401, am.card.age_grid["n"]), seed=seed)
    grid_out, post = estimate_with_posteriors(one, am.density, base)
    status = grid_out["status"].iloc[0]
    if status != statuses.OK:
        raise UserError(f"row {row} has status {status}: no posterior to plot")
    x, pdf = np.asarray(post["log10_age"].iloc[0], float), np.asarray(post["pdf"].iloc[0], float)
    summ = grid_out
    samples = None
    if method == "mcmc":
        summ, chain = estimate_with_posteriors(one, am.density, replace(base, method="mcmc"))
        samples = np.asarray(chain["log10_age"].iloc[0], float)

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7.4, 3.6))
    age = 10 ** (x - 6)
    s = {k: float(summ[k].iloc[0]) for k in SUMMARY_COLUMNS}
    ax.fill_between(age, pdf, where=(age >= s["age_p2.5_myr"]) & (age <= s["age_p97.5_myr"]), color="#c6dbef",
                    lw=0, label="95% interval")
    ax.fill_between(age, pdf, where=(age >= s["age_p16_myr"]) & (age <= s["age_p84_myr"]), color="#6baed6",
                    lw=0, label="68% interval")
    ax.plot(age, pdf, color="#08306b", lw=1.5, label="grid posterior")
    body = np.flatnonzero(pdf >= 0.01 * pdf.max())  # the outlier term leaves a flat floor: ignore it
    xlo, xhi = max(x[0], x[body[0]] - 0.3), min(x[-1], x[body[-1]] + 0.3)
    if samples is not None:
        bins = np.linspace(xlo, xhi, 61)
        h, e = np.histogram(samples, bins=bins, density=True)
        ax.stairs(h, 10 ** (e - 6), color="#d94801", lw=1.2, label=f"MCMC samples (n={samples.size})")
    ax.axvline(s["age_p50_myr"], color="#08306b", ls="--", lw=1.0, label="median")
    ax.plot([s["age_map_myr"]], [np.interp(np.log10(s["age_map_myr"]) + 6, x, pdf)], "o", ms=5, color="#08306b",
            mfc="white", label="MAP")
    if true_age_myr:
        ax.axvline(true_age_myr, color="#238b45", lw=1.5, label="reference age")
    ax.set_xscale("log")
    ax.set_xlim(10 ** (xlo - 6), 10 ** (xhi - 6))
    ax.set_ylim(0, None)
    ax.set_xlabel("Age [Myr]")
    ax.set_ylabel("Posterior density [per dex]")
    lo, mid, hi = s["age_p16_myr"], s["age_p50_myr"], s["age_p84_myr"]
    prot = float(io.numeric(one, io.require_columns(list(one.columns))["prot"])[0])
    # the colour as used: converted (from bp_rp and a reddening, or teff) when the input has one to convert
    used = "bp_rp0_used" if "bp_rp0_used" in grid_out else io.match_columns(list(one.columns))["bp_rp0"]
    colour = float(io.numeric(grid_out, used)[0])
    ax.set_title(f"{_label(frame, row)}:  $P_{{\\rm rot}}$ = {prot:.3g} d,  $(G_{{\\rm BP}}-G_{{\\rm RP}})_0$ = {colour:.3f}"
                 f"  →  age = ${_fmt(mid)}^{{+{_fmt(hi - mid)}}}_{{-{_fmt(mid - lo)}}}$ Myr ({method})", loc="left")
    ax.legend(frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.savefig(out_path)
    plt.close(fig)
    return out_path


def _fmt(v: float) -> str:
    return f"{v:.3g}" if v < 100 else f"{v:.0f}"


def sequence_bands(model, ages_myr, bp_rp0: np.ndarray, qs=(0.16, 0.5, 0.84)) -> np.ndarray:
    """Period quantiles (days) of the flow at each age and colour: shape (ages, colours, len(qs)).

    From the flow's CDF over a fine log10-period grid (no outlier term), at the
    card's default colour error.
    """
    ages = np.asarray(ages_myr, dtype=float)
    q = model.period_quantiles(np.repeat(ages, len(bp_rp0)), np.tile(bp_rp0, len(ages)), qs, LOG10_PROT_POINTS)
    return q.reshape(len(ages), len(bp_rp0), len(qs))


def plot_sequence(output: str | Path, ages_myr, data: str | pd.DataFrame | None = None,
                  colour_by: str | None = None, model=None) -> Path:
    """Period vs (BP-RP)0 with the model's 16-84% bands and medians at ``ages_myr``; returns the path."""
    from gyroage import io
    from gyroage.core.api import AgeModel

    out_path = _check_output(output)
    ages = [float(a) for a in ages_myr]
    if not ages or any(not (np.isfinite(a) and a > 0) for a in ages):
        raise UserError("--age must be positive numbers of Myr")
    am = AgeModel.load(model)
    clo, chi = am.card.domain["bp_rp0"]
    colours = np.linspace(max(clo, 0.2), min(chi, 3.8), 120)
    bands = sequence_bands(am, ages, colours)

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7.4, 4.2))
    if data is not None:
        frame = data if isinstance(data, pd.DataFrame) else _read_frame(data)
        cols = io.require_columns(list(frame.columns))
        if "bp_rp0" not in cols:
            raise UserError("--data needs a bp_rp0 column (the de-reddened colour) to overlay")
        p, c = io.numeric(frame, cols["prot"]), io.numeric(frame, cols["bp_rp0"])
        if colour_by:
            key = frame[io.require_column(list(frame.columns), colour_by)].astype(str).to_numpy()
            groups = list(dict.fromkeys(key))
            cmap = plt.get_cmap("Set2" if len(groups) <= 8 else "tab20")
            for k, gname in enumerate(groups):
                m = key == gname
                ax.scatter(c[m], p[m], s=5, color=cmap(k % cmap.N), alpha=0.7, lw=0,
                           label=gname if len(groups) <= 12 else None, rasterized=True)
        else:
            ax.scatter(c, p, s=4, color="0.55", alpha=0.5, lw=0, label="data", rasterized=True)
    cmap = plt.get_cmap("inferno")
    for k, age in enumerate(ages):
        colour = cmap(0.15 + 0.6 * k / max(1, len(ages) - 1))
        ax.fill_between(colours, bands[k, :, 0], bands[k, :, 2], color=colour, alpha=0.18, lw=0)
        for j in (0, 2):
            ax.plot(colours, bands[k, :, j], color=colour, lw=0.8, ls=":")
        ax.plot(colours, bands[k, :, 1], color=colour, lw=2.0, label=f"model {age:g} Myr: median, 16-84%")
    ax.set_yscale("log")
    ax.set_xlim(colours[0], colours[-1])
    ax.set_ylim(0.1, 100)
    ax.set_xlabel(r"$(G_{\rm BP}-G_{\rm RP})_0$ [mag]")
    ax.set_ylabel(r"$P_{\rm rot}$ [d]")
    ax.legend(frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0), markerscale=3)
    fig.savefig(out_path)
    plt.close(fig)
    return out_path
