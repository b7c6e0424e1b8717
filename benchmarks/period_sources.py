"""Where the catalogue's periods come from, and whether one survey's periods agree with the others' (a data check).

For each cluster: its period sources and how many stars each gives. For each cluster with periods both from
``--source`` alone and from elsewhere: per (BP-RP)0 bin, the median period of the stars that ``--source`` alone
gives against the median of the others, and log10 of their ratio. Derived statistics only; no row of the
catalogue is written.

    PYTHONPATH=$PWD python benchmarks/period_sources.py --catalogue ../shared/data/open_cluster_rotators.csv \
        --out docs/period_sources.md
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

from gyroage.build.catalogue import (
    EVOLVED_MIN_AGE,
    PERIOD_SOURCE,
    TrainingSet,
    above_main_sequence,
    default_catalogue_path,
    evolved_stars,
    load_catalogue,
    quality_select,
    sole_source_stars,
    training_set,
)
from gyroage.files import atomic_write_text

COLOUR_EDGES = (0.5, 0.72, 0.92, 1.2, 1.6, 2.0, 2.5, 3.5)


def source_counts(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per cluster (by age): stars, and stars per period source (a star with 'A;B' counts for both)."""
    sources = frame[PERIOD_SOURCE].fillna("").str.split(";").explode()
    counts = sources.groupby([frame["cluster"].reindex(sources.index), sources]).size().rename("n").reset_index()
    text = counts.sort_values("n", ascending=False).groupby("cluster").apply(
        lambda d: ", ".join(f"{s} {n}" for s, n in zip(d[PERIOD_SOURCE], d["n"])), include_groups=False)
    table = frame.groupby("cluster").agg(age_myr=("fiducial_age_Myr", "median"), n_stars=("Prot", "size"))
    return table.assign(sources=text).sort_values("age_myr").reset_index()


def sole_against_others(frame: pd.DataFrame, data: TrainingSet, source: str) -> pd.DataFrame:
    """Per cluster with both kinds of star (``data``: ``frame``'s training arrays), per colour bin: n and median
    period (days) of the stars whose period comes from ``source`` alone and of the rest, and log10 of the ratio of the
    medians."""
    mixed = np.isin(data.cluster, data.cluster[sole_source_stars(data, (source,))])
    f = frame[mixed].assign(sole=data.period_source[mixed] == source,
                            colour=pd.cut(frame.loc[mixed, "BPRP_0"], COLOUR_EDGES))
    g = f.groupby(["cluster", "colour", "sole"], observed=True)["Prot"].agg(["size", "median"]).unstack("sole")
    out = pd.DataFrame({"age_myr": f.groupby("cluster")["fiducial_age_Myr"].median().reindex(
                            g.index.get_level_values(0)).to_numpy(),
                        "n_sole": g[("size", True)], "median_sole_days": g[("median", True)],
                        "n_others": g[("size", False)], "median_others_days": g[("median", False)]})
    out["log10_ratio"] = np.log10(out["median_sole_days"] / out["median_others_days"])
    return out.dropna(subset=["log10_ratio"]).reset_index().sort_values(["age_myr", "colour"])


def above_sequence(data: TrainingSet, source: str, mag: float = 1.0) -> pd.DataFrame:
    """Per cluster of >= 1 Gyr: its stars' median height above the main sequence (mag; the 0.1-1 Gyr clusters' median
    M_G per colour bin), and how many are :func:`evolved_stars` at ``mag``, with ``source`` alone and from elsewhere."""
    old = data.log10_age >= EVOLVED_MIN_AGE
    t = pd.DataFrame({"cluster": data.cluster, "age_myr": 10 ** (data.log10_age - 6), "up": above_main_sequence(data),
                      "sole": data.period_source == source, "high": evolved_stars(data, mag),
                      "prot": 10 ** data.log10_prot})[old]
    high = t["high"]
    return t.groupby("cluster").agg(age_myr=("age_myr", "median"), stars=("up", "size"),
                                    median_above_mag=("up", "median")).assign(
        above_sole=t[high & t["sole"]].groupby("cluster").size(),
        above_others=t[high & ~t["sole"]].groupby("cluster").size(),
        above_median_period_days=t[high].groupby("cluster")["prot"].median(),
    ).fillna({"above_sole": 0, "above_others": 0}).sort_values("age_myr").reset_index()


def markdown(frame: pd.DataFrame, source: str) -> str:
    data = training_set(frame)
    counts, compare = source_counts(frame), sole_against_others(frame, data, source)
    lines = ["# Period sources in the training catalogue", "",
             f"Written by `benchmarks/period_sources.py` from the quality-selected catalogue ({len(frame)} stars).",
             "", "| cluster | age (Myr) | stars | period sources (stars) |", "|---|---|---|---|"]
    lines += [f"| {r.cluster} | {r.age_myr:.0f} | {r.n_stars} | {r.sources} |" for r in counts.itertuples()]
    n_sole = int(sole_source_stars(data, (source,)).sum())
    lines += ["", f"## Periods from {source} alone against the others, same cluster and colour", "",
              f"{n_sole} stars have a period from {source} alone in a cluster that also has periods from elsewhere.",
              "", "| cluster | age (Myr) | (BP-RP)0 | n alone | median alone (d) | n others | median others (d) "
              "| log10 ratio |", "|---|---|---|---|---|---|---|---|"]
    lines += [f"| {r.cluster} | {r.age_myr:.0f} | {r.colour.left}-{r.colour.right} | {r.n_sole:.0f} | "
              f"{r.median_sole_days:.1f} | {r.n_others:.0f} | {r.median_others_days:.1f} | {r.log10_ratio:+.2f} |"
              for r in compare.itertuples()]
    high = above_sequence(data, source)
    lines += ["", "## Stars of the >= 1 Gyr clusters above the main sequence", "",
              "M_G from G_0 at the cluster's median parallax; the main sequence is the median M_G per 0.1-mag (BP-RP)0 "
              "bin of the 100 Myr-1 Gyr clusters (`gyroage.build.catalogue.above_main_sequence`). Unresolved binaries "
              "lie at most 0.75 mag above it; more than 1 mag above, a star of these clusters has evolved (turnoff "
              "or subgiant branch).", "",
              f"| cluster | age (Myr) | stars | median height above (mag) | > 1 mag above, {source} alone | "
              "> 1 mag above, other sources | their median period (d) |", "|---|---|---|---|---|---|---|"]
    lines += [f"| {r.cluster} | {r.age_myr:.0f} | {r.stars} | {r.median_above_mag:+.2f} | {r.above_sole:.0f} | "
              f"{r.above_others:.0f} | {r.above_median_period_days:.1f} |" for r in high.itertuples()]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--catalogue", default=str(default_catalogue_path()))
    ap.add_argument("--source", default="Long2023")
    ap.add_argument("--out", default="docs/period_sources.md")
    a = ap.parse_args()
    text = markdown(quality_select(load_catalogue(a.catalogue)), a.source)
    atomic_write_text(a.out, text)
    print(text)


if __name__ == "__main__":
    main()
