"""The shipped model's age map over a colour-period grid (docs/validation.md, thirty-first session, "The age map").

    PYTHONPATH=$PWD python benchmarks/age_map.py [--figures DIR] [--list] [--catalogue PATH] [--model DIR]

Builds 36,646 synthetic stars, (BP-RP)0 0.30-3.20 in steps of 0.02 times log10 P -0.50..2.00 in steps of 0.01
(P = 10**logP rounded to 1e-6 d), bp_rp0_err 0.01, twice: rotation alone, and with ``abs_g0`` on the card's main
sequence (height 0, rounded to 1e-4 mag). Both are dated by ``gyroage estimate --threads 1 -q`` in a subprocess, so
the numbers are the command line's, with its defaults. Prints:

* decreasing stretches of p50, p84 and MAP along the period at a fixed colour (a strict fall and the non-rising steps
  after it) losing more than 0.05 dex, how many are entirely ``ok`` and how many of those lose more than 0.3 dex;
  the same on the slow sequence (periods at or above the model's median period at 700 Myr less 0.15 dex);
* jumps of p50 between neighbouring colours at the same period larger than 0.2 dex;
* the model's median period against age at (BP-RP)0 0.72, 0.82, 0.90 and 1.00 (``AgeModel.period_quantiles``);
* the stars the README's paragraph "The age map" quotes, and where ``period_outside_training`` starts per colour;
* the 68% widths of the dated ages, by median age and status;
* NGC 6819's and M67's G dwarfs ((BP-RP)0 0.75-0.90, after ``quality_select``) in the catalogue, counts and median
  periods only (skipped with a note when the catalogue is absent).

``--figures DIR`` writes age_map_p50.png, age_map_status.png, age_map_p_outlier.png and age_map_width.png (rotation
alone; matplotlib); ``--list`` lists every entirely-``ok`` stretch losing more than 0.3 dex. About 8 s on one core.
No catalogue star is plotted or written.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
COLOURS = np.round(np.arange(0.30, 3.2001, 0.02), 2)  # (BP-RP)0
LOG_P = np.round(np.arange(-0.50, 2.0001, 0.01), 2)  # log10 days
COLOUR_ERR = 0.01
AGE_KEYS = ("age_p50_myr", "age_p84_myr", "age_map_myr")
MIN_DROP = 0.05  # dex: a fall smaller than this is the grid's noise, not a trend
BIG_DROP = 0.3  # dex: a fall an astronomer would read as a different age
JUMP = 0.2  # dex between neighbouring colours (0.02 mag apart)
SLOW_AGE_MYR = 700.0  # the slow sequence: at or above the model's median period at this age...
SLOW_MARGIN = 0.15  # ...less this many dex
SLOW_COLOURS = (0.70, 2.60)
G_DWARFS = (0.75, 0.90)  # (BP-RP)0 of the catalogue's G dwarfs the README counts
SEQ_COLOURS = (0.72, 0.82, 0.90, 1.00)
SEQ_AGES_MYR = (1000.0, 2000.0, 2500.0, 3000.0, 3900.0, 5000.0, 7000.0, 10000.0)


def grid_frame(card: dict | None = None) -> pd.DataFrame:
    """The synthetic stars, colour-major (id = colour index x periods + period index); with ``card``, ``abs_g0`` on
    its main sequence (the height term's ``ms_colour``/``ms_mag``, linear between points)."""
    c, lp = np.meshgrid(COLOURS, LOG_P, indexing="ij")
    frame = pd.DataFrame({"id": np.arange(c.size), "prot": np.round(10 ** lp.ravel(), 6), "bp_rp0": c.ravel(),
                          "bp_rp0_err": COLOUR_ERR})
    if card is not None:
        term = card["main_sequence"]["term"]
        frame["abs_g0"] = np.round(np.interp(frame["bp_rp0"], term["ms_colour"], term["ms_mag"]), 4)
    return frame


def run_estimate(frame: pd.DataFrame, workdir: Path, name: str, model: str | None = None) -> pd.DataFrame:
    """``gyroage estimate`` on ``frame`` in a subprocess (one thread, quiet), its output read back in input order."""
    src, dst = workdir / f"{name}_in.csv", workdir / f"{name}_out.csv"
    frame.to_csv(src, index=False)
    cmd = [sys.executable, "-m", "gyroage", "estimate", str(src), "-o", str(dst), "--threads", "1", "-q"]
    if model:
        cmd += ["--model", model]
    subprocess.run(cmd, check=True)
    # a flag-less output's empty age_flags column would read as floats
    out = pd.read_csv(dst, keep_default_na=False, na_values=[""], dtype={"age_flags": str, "status": str})
    out["age_flags"] = out["age_flags"].fillna("")
    return out


def as_maps(out: pd.DataFrame, shape: tuple[int, int]) -> dict[str, np.ndarray]:
    """The output as (colour, period) maps: log10 ages in Myr, p_outlier, status and flags."""
    maps = {k: np.log10(out[k].to_numpy(dtype=np.float64)).reshape(shape)
            for k in ("age_p16_myr", "age_p50_myr", "age_p84_myr", "age_map_myr")}
    maps["p_outlier"] = out["p_outlier"].to_numpy(dtype=np.float64).reshape(shape)
    maps["status"] = out["status"].to_numpy(dtype=object).reshape(shape)
    maps["flags"] = out["age_flags"].to_numpy(dtype=object).reshape(shape)
    return maps


def decreasing_stretches(a: np.ndarray, min_drop: float = MIN_DROP) -> pd.DataFrame:
    """Stretches along each row of ``a`` where it falls: a strict fall and the non-rising steps after it.

    Returns row, start, end (point indices, inclusive), drop (a[start] - a[end]) and max_step (the largest single
    fall) for the stretches losing more than ``min_drop``. A NaN breaks a stretch. Vectorised over rows and points.
    """
    nr, n = a.shape
    # one rising step past each row's end, so that no run of non-rising steps crosses into the next row
    d = np.concatenate([np.diff(a, axis=1), np.ones((nr, 1))], axis=1).ravel()
    idx = np.arange(d.size)
    with np.errstate(invalid="ignore"):
        nonrising, falling = d <= 0, d < 0
    begins = nonrising & ~np.concatenate([[False], nonrising[:-1]])
    label = np.cumsum(begins)
    runs = pd.DataFrame({"label": label[nonrising], "i": idx[nonrising], "fall": np.where(falling, -d, 0.0)[nonrising],
                         "falling": falling[nonrising]})
    last = runs.groupby("label")["i"].max()
    falls = runs[runs["falling"]].groupby("label").agg(first=("i", "min"), max_step=("fall", "max"))
    if falls.empty:
        return pd.DataFrame(columns=["row", "start", "end", "drop", "max_step"])
    first, end = falls["first"].to_numpy(), last.loc[falls.index].to_numpy()
    row, start, stop = first // n, first % n, end % n + 1
    out = pd.DataFrame({"row": row, "start": start, "end": stop, "drop": a[row, start] - a[row, stop],
                        "max_step": falls["max_step"].to_numpy()})
    return out[out["drop"] > min_drop].reset_index(drop=True)


def all_in(mask: np.ndarray, rows: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Whether ``mask`` holds at every point start..end (inclusive) of each row (cumulative sums, no loop)."""
    n = mask.shape[1]
    bad = np.concatenate([[0], np.cumsum(~mask.ravel())])
    return (bad[rows * n + end + 1] - bad[rows * n + start]) == 0


def stretch_table(maps: dict, key: str, seq_log_p: np.ndarray) -> pd.DataFrame:
    """:func:`decreasing_stretches` of ``maps[key]`` with colours, periods, ages, whether each is all ``ok`` (and with
    no flag), and whether it is on the slow sequence: at SLOW_COLOURS, starting at or above ``seq_log_p`` (the median
    log10 period at SLOW_AGE_MYR per colour) less SLOW_MARGIN, with at least one ``ok`` star."""
    s = decreasing_stretches(maps[key])
    ok = maps["status"] == "ok"
    clean = ok & (maps["flags"] == "")
    r, i, j = s["row"].to_numpy(), s["start"].to_numpy(), s["end"].to_numpy()
    lo, hi = SLOW_COLOURS
    s["slow"] = ((COLOURS[r] >= lo - 1e-9) & (COLOURS[r] <= hi + 1e-9) & (LOG_P[i] >= seq_log_p[r] - SLOW_MARGIN)
                 & ~all_in(~ok, r, i, j))
    s["colour"] = COLOURS[r]
    s["p_from_d"], s["p_to_d"] = 10 ** LOG_P[i], 10 ** LOG_P[j]
    s["age_from_myr"], s["age_to_myr"] = 10 ** maps[key][r, i], 10 ** maps[key][r, j]
    s["all_ok"] = all_in(ok, r, i, j)
    s["all_ok_no_flag"] = all_in(clean, r, i, j)
    return s


def median_periods(model, colours, ages_myr) -> np.ndarray:
    """The model's median period (d), shape (colours, ages)."""
    c, t = np.meshgrid(np.asarray(colours, float), np.asarray(ages_myr, float), indexing="ij")
    return np.asarray(model.period_quantiles(t.ravel(), c.ravel(), qs=0.5)).reshape(c.shape)


def cell(colour: float, prot: float) -> tuple[int, int]:
    """The grid indices of the star nearest ``colour`` and ``prot`` (d)."""
    return int(np.argmin(np.abs(COLOURS - colour))), int(np.argmin(np.abs(LOG_P - np.log10(prot))))


def star_line(maps: dict, colour: float, prot: float, frame: pd.DataFrame | None = None) -> str:
    """One grid star's percentiles, MAP, p_outlier, status and flags as text."""
    i, j = cell(colour, prot)
    a = {k: 10 ** maps[k][i, j] for k in ("age_p16_myr", "age_p50_myr", "age_p84_myr", "age_map_myr")}
    mag = "" if frame is None else f" abs_g0 {frame['abs_g0'].to_numpy()[i * LOG_P.size + j]:.4f}"
    return (f"(BP-RP)0 {COLOURS[i]:.2f} P {10 ** LOG_P[j]:6.2f} d{mag}: p16 {a['age_p16_myr']:.1f} p50 "
            f"{a['age_p50_myr']:.1f} p84 {a['age_p84_myr']:.1f} MAP {a['age_map_myr']:.1f} Myr, p_outlier "
            f"{maps['p_outlier'][i, j]:.3f}, {maps['status'][i, j]} [{maps['flags'][i, j]}]")


def posterior_peaks(model, prot: float, colour: float, err: float = COLOUR_ERR) -> str:
    """The peaks of one star's grid posterior (as ``estimate`` makes it): age and height relative to the highest."""
    from gyroage.core.peaks import peak_mask

    post = model.posterior(prot=[prot], bp_rp0=[colour], bp_rp0_err=[err])
    pdf = post.pdf.reshape(-1, post.grid.size)[0]
    peaks = np.flatnonzero(peak_mask(pdf[None])[0])
    med = post.quantile(0.5).ravel()[0]
    tops = ", ".join(f"{10 ** (post.grid[k] - 6):.1f} Myr (x{pdf[k] / pdf.max():.2f})" for k in peaks)
    return f"P {prot:.3f} d, (BP-RP)0 {colour:.4f}: peaks at {tops}; median {med:.1f} Myr"


def flag_starts(maps: dict, flag: str, colours) -> list[str]:
    """Per colour, the shortest grid period whose flags hold ``flag`` ('none' if no period up to 100 d has it)."""
    lines = []
    for c in colours:  # a handful of colours, for the printout
        i = int(np.argmin(np.abs(COLOURS - c)))
        has = np.array([flag in f.split(";") for f in maps["flags"][i]])
        lines.append(f"{COLOURS[i]:.2f}: " + (f"{10 ** LOG_P[np.argmax(has)]:.1f} d" if has.any() else "none"))
    return lines


def catalogue_counts(path: Path | None) -> str:
    """NGC 6819's and M67's G dwarfs after ``quality_select``: counts and median periods (no star is printed)."""
    from gyroage.build.catalogue import default_catalogue_path, load_catalogue, quality_select

    path = Path(path) if path else Path(default_catalogue_path())
    if not path.is_file():
        return f"catalogue {path} absent: the G-dwarf counts are skipped"
    cat = quality_select(load_catalogue(path))
    lo, hi = G_DWARFS
    lines = []
    for name in ("NGC6819", "M67"):
        m = (cat["cluster"] == name) & cat["BPRP_0"].between(lo, hi)
        age = cat.loc[cat["cluster"] == name, "fiducial_age_Myr"].median()
        lines.append(f"{name} ({age:.0f} Myr): {int(m.sum())} G dwarfs ((BP-RP)0 {lo}-{hi}), median P "
                     f"{cat.loc[m, 'Prot'].median():.2f} d")
    return "; ".join(lines)


def print_stretches(label: str, maps: dict, seq_log_p: np.ndarray, listing: bool = False) -> None:
    """The decreasing-stretch table for p50, p84 and MAP, and the entirely-ok ones losing more than BIG_DROP."""
    print(f"\n## Decreasing stretches along the period, {label} (> {MIN_DROP} dex)")
    print(f"| age | stretches | entirely ok | entirely ok, no flag | entirely ok, > {BIG_DROP} dex | on the slow "
          f"sequence at {SLOW_COLOURS[0]:.2f}-{SLOW_COLOURS[1]:.2f}, with an ok star |")
    print("|---|---|---|---|---|---|")
    tables = {}
    for key in AGE_KEYS:
        s = tables[key] = stretch_table(maps, key, seq_log_p)
        big = s[s["all_ok"] & (s["drop"] > BIG_DROP)]
        print(f"| {key} | {len(s)} | {int(s['all_ok'].sum())} | {int(s['all_ok_no_flag'].sum())} | {len(big)} | "
              f"{int(s['slow'].sum())} |")
    for key, s in tables.items():
        big = s[s["all_ok"] & (s["drop"] > BIG_DROP)]
        if len(big) and listing:
            print(f"\n{key}, entirely ok, > {BIG_DROP} dex:")
            for r in big.itertuples():
                print(f"  {r.colour:.2f} mag, {r.p_from_d:.2f}->{r.p_to_d:.2f} d: {r.age_from_myr:.1f}->"
                      f"{r.age_to_myr:.1f} Myr ({r.drop:.2f} dex)")
        elif len(big):
            print(f"\n{key}, entirely ok, > {BIG_DROP} dex, by bands of neighbouring colours (--list: each):")
            band = np.cumsum(np.concatenate([[True], np.diff(big["row"].to_numpy()) > 1]))
            for _, b in big.groupby(band):
                top = b.loc[b["drop"].idxmax()]
                print(f"  {b['colour'].min():.2f}-{b['colour'].max():.2f} mag ({len(b)}), P {b['p_from_d'].min():.2f}-"
                      f"{b['p_to_d'].max():.2f} d; largest {top['drop']:.2f} dex at {top['colour']:.2f} mag, "
                      f"{top['p_from_d']:.2f}->{top['p_to_d']:.2f} d: {top['age_from_myr']:.1f}->"
                      f"{top['age_to_myr']:.1f} Myr")
        slow = s[s["slow"]]
        if len(slow):
            print(f"\n{key}, on the slow sequence (colours {', '.join(f'{c:.2f}' for c in np.unique(slow['colour']))}):")
            for r in slow.itertuples():
                print(f"  {r.colour:.2f} mag, {r.p_from_d:.2f}->{r.p_to_d:.2f} d: {r.age_from_myr:.0f}->"
                      f"{r.age_to_myr:.0f} Myr ({r.drop:.2f} dex){'' if r.all_ok else ' (not all ok)'}")


def print_jumps(label: str, maps: dict) -> None:
    """Jumps of p50 between neighbouring colours at the same period: counts, and the runs along the period where both
    stars are ``ok``."""
    a, ok = maps["age_p50_myr"], maps["status"] == "ok"
    jump = np.diff(a, axis=0)
    big = np.abs(jump) > JUMP
    both_ok = ok[:-1] & ok[1:]
    clean = both_ok & (maps["flags"][:-1] == "") & (maps["flags"][1:] == "")
    print(f"{label}: {int(big.sum())} jumps; both stars ok {int((big & both_ok).sum())}, ok with no flag "
          f"{int((big & clean).sum())}")
    r, j = np.nonzero(big & both_ok)
    if r.size == 0:
        return
    # runs of consecutive periods at one colour pair
    run = np.cumsum(np.concatenate([[True], (np.diff(r) != 0) | (np.diff(j) != 1)]))
    frame = pd.DataFrame({"run": run, "r": r, "j": j, "jump": jump[r, j], "size": np.abs(jump[r, j])})
    top = frame.loc[frame.groupby("run")["size"].idxmax()]
    ends = frame.groupby("run")["j"].agg(["min", "max", "size"])
    for t in top.itertuples():
        e = ends.loc[t.run]
        print(f"  {COLOURS[t.r]:.2f}->{COLOURS[t.r + 1]:.2f} mag, P {10 ** LOG_P[e['min']]:.2f}-"
              f"{10 ** LOG_P[e['max']]:.2f} d ({e['size']} stars): largest {t.jump:+.2f} dex at {10 ** LOG_P[t.j]:.2f} d, "
              f"{10 ** a[t.r, t.j]:.1f}->{10 ** a[t.r + 1, t.j]:.1f} Myr [{maps['flags'][t.r, t.j]}|"
              f"{maps['flags'][t.r + 1, t.j]}]")


def print_widths(maps: dict) -> None:
    """The 68% widths (p84 - p16, dex) of the dated stars by median age and status, and where the narrowest are."""
    width, p50, status = maps["age_p84_myr"] - maps["age_p16_myr"], maps["age_p50_myr"] + 6, maps["status"]
    print("\n## 68% widths (p84 - p16, dex), rotation alone")
    print("| median age | status | stars | 5% | 50% | 95% |")
    print("|---|---|---|---|---|---|")
    bins = ((0, 7, "< 10 Myr"), (7, 7.5, "10-30 Myr"), (7.5, 8.5, "30-300 Myr"), (8.5, 9.5, "0.3-3 Gyr"),
            (9.5, 11, ">= 3 Gyr"))
    for lo, hi, name in bins:
        for st in ("ok", "extrapolated"):
            w = width[(status == st) & (p50 >= lo) & (p50 < hi)]
            if w.size:
                q = np.percentile(w, [5, 50, 95])
                print(f"| {name} | {st} | {w.size:,} | {q[0]:.2f} | {q[1]:.2f} | {q[2]:.2f} |")
    cut = np.percentile(width, 2)
    r, j = np.nonzero(width <= cut)
    young = p50[r, j] < 7
    print(f"the narrowest 2% (<= {cut:.2f} dex, {r.size} stars, {int((status[r, j] == 'ok').sum())} ok): (BP-RP)0 "
          f"{COLOURS[r].min():.2f}-{COLOURS[r].max():.2f}, median age < 10 Myr for {int(young.sum())}, >= 3 Gyr for "
          f"{int((p50[r, j] >= 9.5).sum())}")


def figures(maps: dict, seq_log_p: np.ndarray, out: Path) -> list[Path]:
    """The maps (rotation alone) as four PNGs: p50, status and flags, p_outlier, 68% width."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap

    out.mkdir(parents=True, exist_ok=True)
    ext = [COLOURS[0] - 0.01, COLOURS[-1] + 0.01, LOG_P[0] - 0.005, LOG_P[-1] + 0.005]
    flags, status = maps["flags"].astype(str), maps["status"]
    cat = np.zeros(status.shape, int)
    cat[status == "extrapolated"] = 1
    cat[np.char.find(flags, "period_outside_training") >= 0] = 2
    cat[np.char.find(flags, "pre_main_sequence_age") >= 0] = 3
    cat[(status == "ok") & (np.char.find(flags, "pre_main_sequence_age") >= 0)] = 4
    cat[np.char.find(flags, "likely_outlier") >= 0] = 5
    panels = [
        ("age_map_p50.png", maps["age_p50_myr"] + 6, "viridis", (6, 10), "log10 median age [yr]", None),
        ("age_map_status.png", cat, ListedColormap(["#2ca02c", "#ff7f0e", "#d62728", "#9467bd", "#e377c2", "k"]),
         (-0.5, 5.5), "", ["ok", "extrapolated", "period_outside\n_training", "extrapolated +\npre_main\n_sequence_age",
                           "ok +\npre_main\n_sequence_age", "likely_outlier"]),
        ("age_map_p_outlier.png", maps["p_outlier"], "magma", (0, 1), "p_outlier", None),
        ("age_map_width.png", maps["age_p84_myr"] - maps["age_p16_myr"], "plasma", (0, 2.5), "p84 - p16 [dex]", None),
    ]
    written = []
    for name, z, cmap, (vmin, vmax), label, ticks in panels:
        fig, ax = plt.subplots(figsize=(6.4, 4.6))
        im = ax.imshow(z.T, origin="lower", extent=ext, aspect="auto", cmap=cmap, vmin=vmin, vmax=vmax,
                       interpolation="nearest")
        cb = fig.colorbar(im, ax=ax, label=label, ticks=None if ticks is None else range(len(ticks)))
        if ticks is not None:
            cb.ax.set_yticklabels(ticks, fontsize=7)
        ax.plot(COLOURS, seq_log_p, "w--", lw=0.8, label=f"model median P at {SLOW_AGE_MYR:.0f} Myr")
        ax.legend(fontsize=7, loc="lower right")
        ax.set_xlabel("(BP-RP)0 [mag]")
        ax.set_ylabel("log10 P [d]")
        ax.set_title(f"shipped model, rotation alone: {name[8:-4]}", fontsize=9)
        fig.tight_layout()
        fig.savefig(out / name, dpi=90)
        plt.close(fig)
        written.append(out / name)
    return written


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default=None, help="model directory or card (default: the shipped model)")
    ap.add_argument("--catalogue", default=None, help="catalogue CSV (default: gyroage's default path)")
    ap.add_argument("--figures", default=None, help="write the four maps (PNG) into this directory")
    ap.add_argument("--list", action="store_true", help="list every entirely-ok stretch losing > 0.3 dex")
    args = ap.parse_args(argv)

    from gyroage import AgeModel

    model = AgeModel.load(args.model, threads=1)
    card_path = Path(args.model) if args.model else ROOT / "models" / "gyroage-model.json"
    if card_path.is_dir():
        card_path = card_path / "gyroage-model.json"
    card = json.loads(card_path.read_text())
    shape = (COLOURS.size, LOG_P.size)
    rot_frame, mag_frame = grid_frame(), grid_frame(card)
    with tempfile.TemporaryDirectory() as tmp:
        rot = as_maps(run_estimate(rot_frame, Path(tmp), "rot", args.model), shape)
        mag = as_maps(run_estimate(mag_frame, Path(tmp), "mag", args.model), shape)
    print(f"# The age map: {rot_frame.shape[0]:,} stars, (BP-RP)0 {COLOURS[0]:.2f}-{COLOURS[-1]:.2f}, "
          f"P {10 ** LOG_P[0]:.3f}-{10 ** LOG_P[-1]:.0f} d, bp_rp0_err {COLOUR_ERR}")
    for label, maps in (("rotation alone", rot), ("with abs_g0 on the main sequence", mag)):
        counts = pd.Series(maps["status"].ravel()).value_counts()
        print(f"{label}: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))

    seq_log_p = np.log10(median_periods(model, COLOURS, [SLOW_AGE_MYR])[:, 0])
    for label, maps in (("rotation alone", rot), ("with abs_g0 on the main sequence", mag)):
        print_stretches(label, maps, seq_log_p, args.list)

    print(f"\n## Jumps of p50 between neighbouring colours (> {JUMP} dex)")
    for label, maps in (("rotation alone", rot), ("with abs_g0 on the main sequence", mag)):
        print_jumps(label, maps)

    print("\n## The model's median period (d) against age")
    seq = median_periods(model, SEQ_COLOURS, SEQ_AGES_MYR)
    print("| (BP-RP)0 | " + " | ".join(f"{t / 1000:g} Gyr" for t in SEQ_AGES_MYR) + " | longest at |")
    print("|---|" + "---|" * (len(SEQ_AGES_MYR) + 1))
    fine = np.geomspace(1000.0, 10000.0, 101)
    peak_age = fine[np.argmax(median_periods(model, SEQ_COLOURS, fine), axis=1)]
    for c, row, t in zip(SEQ_COLOURS, seq, peak_age, strict=True):
        print(f"| {c:.2f} | " + " | ".join(f"{p:.1f}" for p in row) + f" | {t / 1000:.1f} Gyr |")
    print("catalogue: " + catalogue_counts(args.catalogue))

    print("\n## The README's stars (rotation alone unless said)")
    for c, p in ((0.82, 13.2), (0.82, 23.4), (0.82, 25.4), (3.0, 0.4), (3.0, 4.0), (3.0, 8.1)):
        print("  " + star_line(rot, c, p))
    i, j = cell(3.0, 8.1)
    print("  " + posterior_peaks(model, float(10 ** LOG_P[j]), 3.0))
    print("  " + posterior_peaks(model, 8.10, 3.0) + " (off the grid: the valley's median moves fast)")
    print("  the Sun (25.4 d, 0.82, the README's table): " + posterior_peaks(model, 25.4, 0.82))
    print("  a 3,900 K dwarf ((BP-RP)0 1.8086, A4's gyrointerp comparison; gyrointerp itself is not rerun here): "
          + posterior_peaks(model, 8.62, 1.8086))
    print("  with abs_g0 on the main sequence:")
    for c in (1.16, 1.18, 1.20, 1.22):
        print("    " + star_line(mag, c, 1.15, mag_frame))
    print("  period_outside_training starts at (rotation alone): "
          + "; ".join(flag_starts(rot, "period_outside_training", (1.54, 1.56, 1.58, 1.60, 1.62, 1.64, 1.66, 1.68,
                                                                      1.70, 1.72))))

    print_widths(rot)
    if args.figures:
        for path in figures(rot, seq_log_p, Path(args.figures)):
            print(f"wrote {path} ({path.stat().st_size / 1024:.0f} kB)")


if __name__ == "__main__":
    main()
