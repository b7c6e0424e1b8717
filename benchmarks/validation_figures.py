"""Figures for docs/validation.md from a ``gyroage validate`` directory and the shipped model.

    PYTHONPATH=$PWD python benchmarks/validation_figures.py --loco validation --out docs/figures

Writes loco_joint_ages.png, loco_calibration.png, loco_calibration_by_age.png,
loco_errors.png and field_stars.png, prints the per-cluster table and the
field-star estimates (shipped model). The README's posterior_sun.png and
sequence.png come from benchmarks/example_figures.py.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
# Nominal levels of the coverage curves: every 5%, and 68%, the level the targets are set at.
LEVELS = np.union1d(np.linspace(0.05, 0.95, 19), [0.68])


def joint_ages(clusters: pd.DataFrame, out: Path, plt) -> None:
    fig, ax = plt.subplots(figsize=(5.5, 5))
    x = clusters["fiducial_age_myr"]
    y = clusters["joint_age_myr"]
    yerr = [y - clusters["joint_p16_myr"], clusters["joint_p84_myr"] - y]
    ax.errorbar(x, y, yerr=yerr, fmt="o", ms=4, capsize=2)
    for r in clusters.itertuples():
        ax.annotate(r.cluster, (r.fiducial_age_myr, r.joint_age_myr), fontsize=6, xytext=(3, -8),
                    textcoords="offset points")
    lim = [1, 8000]
    ax.plot(lim, lim, "k-", lw=0.8)
    for d in (0.1, -0.1):
        ax.plot(lim, np.array(lim) * 10**d, "k:", lw=0.6)
    ax.set(xscale="log", yscale="log", xlim=lim, ylim=lim, xlabel="fiducial age (Myr)",
           ylabel="LOCO joint age (Myr), 16-84%",
           title="Leave-one-cluster-out joint ages (dotted: ±0.1 dex)")
    fig.tight_layout()
    fig.savefig(out / "loco_joint_ages.png", dpi=130)
    plt.close(fig)


def calibration(stars: pd.DataFrame, out: Path, plt) -> None:
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 4))
    from gyroage.build.loco_figures import coverage

    cov = [coverage(stars["pit"], lv) for lv in LEVELS]
    a1.plot(LEVELS, cov, "o-", ms=3, label="held-out stars")
    a1.plot([0, 1], [0, 1], "k-", lw=0.8, label="calibrated")
    a1.axhspan(0.64, 0.72, xmin=0.6, xmax=0.76, color="g", alpha=0.2, label="goal at 68%")
    a1.set(xlabel="nominal central interval", ylabel="fraction holding the cluster age",
           title="Coverage", xlim=(0, 1), ylim=(0, 1))
    a1.legend(fontsize=7)
    a2.hist(stars["pit"], bins=20, range=(0, 1), density=True, histtype="stepfilled", alpha=0.6)
    a2.axhline(1, color="k", lw=0.8)
    a2.set(xlabel="posterior CDF at the cluster age (PIT)", ylabel="density", title="PIT histogram (flat = calibrated)")
    fig.tight_layout()
    fig.savefig(out / "loco_calibration.png", dpi=130)
    plt.close(fig)


def calibration_by_age(stars: pd.DataFrame, raw: pd.DataFrame | None, out: Path, plt) -> None:
    """Nominal against actual coverage, one curve per bin of cluster age: shipped (calibrated) and, dashed, raw."""
    curves = [(stars, "o-", lambda label, _: f"{label} (calibrated)")]
    if raw is not None:  # each bin's dashed curve has its own entry, as its solid one does
        curves.append((raw, "--", lambda label, _: f"{label} (member posterior, uncalibrated)"))
    coverage_by_age(curves, out / "loco_calibration_by_age.png", "Leave-one-cluster-out calibration by age",
                    "fraction of held-out stars holding their cluster's age", plt)


def coverage_by_age(curves, path: Path, title: str, ylabel: str, plt, legend_size: float = 7) -> None:
    """Nominal against actual coverage, one colour per :data:`AGE_BINS` bin of the true age. ``curves``: (a frame
    with ``true_age_myr`` and ``pit``, a line style, the legend text for a bin's label and row mask, or None)."""
    from gyroage.build.loco_figures import AGE_BINS, coverage

    fig, ax = plt.subplots(figsize=(5.2, 4.6))
    for (label, lo, hi), colour in zip(AGE_BINS, ("#1b9e77", "#d95f02", "#7570b3")):
        for frame, style, legend in curves:
            age = frame["true_age_myr"].to_numpy(dtype=float)
            m = (age >= lo) & (age < hi)
            ax.plot(LEVELS, [coverage(frame["pit"][m], lv) for lv in LEVELS], style, ms=3, color=colour, lw=1.2,
                    label=legend(label, m))
    ax.plot([0, 1], [0, 1], "k-", lw=0.8)
    ax.set(xlabel="nominal central interval", ylabel=ylabel, title=title, xlim=(0, 1), ylim=(0, 1))
    ax.legend(fontsize=legend_size, loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)


def errors(stars: pd.DataFrame, clusters: pd.DataFrame, out: Path, plt) -> None:
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4))
    bins = np.arange(0.0, 4.01, 0.25)
    idx = np.digitize(stars["bp_rp0"], bins)
    mid, med, lo, hi, mad = [], [], [], [], []
    for i in range(1, len(bins)):
        e = stars.loc[idx == i, "error_dex"]
        if len(e) >= 10:
            mid.append(0.5 * (bins[i - 1] + bins[i]))
            med.append(e.median())
            lo.append(e.quantile(0.16))
            hi.append(e.quantile(0.84))
            mad.append(e.abs().median())
    a1.scatter(stars["bp_rp0"], stars["error_dex"], s=1, alpha=0.15, color="grey")
    a1.fill_between(mid, lo, hi, alpha=0.3, label="16-84% of stars")
    a1.plot(mid, med, "o-", ms=3, label="median error")
    a1.plot(mid, mad, "s--", ms=3, label="median |error|")
    a1.axhline(0, color="k", lw=0.8)
    a1.set(xlabel="(BP-RP)0", ylabel="log age (median) - log fiducial (dex)", ylim=(-2, 2), xlim=(-0.2, 4.5),
           title="Held-out stars: error vs colour")
    a1.legend(fontsize=7)
    a2.plot(clusters["fiducial_age_myr"], clusters["error_dex"], "o", label="joint age error")
    a2.plot(clusters["fiducial_age_myr"], clusters["star_median_abs_error_dex"], "s", mfc="none",
            label="median |error| of its stars")
    a2.axhline(0, color="k", lw=0.8)
    for d in (0.06, -0.06):
        a2.axhline(d, color="g", ls=":", lw=0.8)
    a2.set(xscale="log", xlabel="fiducial age (Myr)", ylabel="dex", title="Error vs age (dotted: ±0.06 dex)")
    a2.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "loco_errors.png", dpi=130)
    plt.close(fig)


def field_stars(out: Path, plt) -> pd.DataFrame:
    from gyroage import AgeModel

    model = AgeModel.load()
    stars = pd.read_csv(ROOT / "catalogs" / "examples" / "field_stars.csv")
    post = model.posterior(stars["prot_days"].to_numpy(), stars["bp_rp0"].to_numpy(), stars["bp_rp0_err"].to_numpy())
    summ = post.summaries()
    res = stars[["name", "prot_days", "bp_rp0", "literature_age_myr"]].copy()
    for k in ("age_p16_myr", "age_p50_myr", "age_p84_myr"):
        res[k] = summ[k]
    res["error_dex"] = np.log10(res["age_p50_myr"] / res["literature_age_myr"])
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for i, row in res.iterrows():
        line, = ax.plot(10 ** (post.grid - 6), post.pdf[i], label=row["name"])
        ax.axvline(row["literature_age_myr"], color=line.get_color(), ls="--", lw=0.8)
    ax.set(xscale="log", xlabel="age (Myr)", ylabel="posterior per dex", title="Field stars (dashed: literature age)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "field_stars.png", dpi=130)
    plt.close(fig)
    return res


def markdown_table(clusters: pd.DataFrame) -> str:
    """The per-cluster LOCO table as markdown (for docs/validation.md)."""
    lines = ["| cluster | n | fiducial age (Myr) | joint age (Myr), 16-84% | error (dex) | 68% coverage of its stars |",
             "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for r in clusters.itertuples():
        lines.append(f"| {r.cluster} | {r.n_stars} | {r.fiducial_age_myr:g} | {r.joint_age_myr:.0f} "
                     f"({r.joint_p16_myr:.0f}-{r.joint_p84_myr:.0f}) | {r.error_dex:+.3f} | {r.star_coverage_68:.2f} |")
    return "\n".join(lines)


def _raw_stars(loco: Path, stars: pd.DataFrame) -> pd.DataFrame | None:
    """The same held-out stars' member posteriors without the calibration (from the saved folds)."""
    import json

    from gyroage.build.catalogue import default_catalogue_path
    from gyroage.build.loco import ValidateSettings, analyse

    summary = json.loads((loco / "loco_summary.json").read_text())
    settings = ValidateSettings(train=summary["train_settings"], grid=tuple(summary["age_grid"]))
    if not settings.fold_dir(loco).is_dir():
        return None
    raw, _, _ = analyse(default_catalogue_path(), loco, list(dict.fromkeys(stars["cluster"])), settings)
    return raw


def main() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--loco", default="validation")
    ap.add_argument("--out", default="docs/figures")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stars = pd.read_csv(Path(args.loco) / "loco_stars.csv")
    clusters = pd.read_csv(Path(args.loco) / "loco_clusters.csv")
    print(markdown_table(clusters))
    joint_ages(clusters, out, plt)
    calibration(stars, out, plt)
    calibration_by_age(stars, _raw_stars(Path(args.loco), stars), out, plt)
    errors(stars, clusters, out, plt)
    print(field_stars(out, plt).to_string(index=False))


if __name__ == "__main__":
    main()
