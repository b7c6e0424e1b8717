"""How the held-out stars that the ``above_main_sequence`` flag marks fare, against the rest.

Reads ``gyroage validate`` runs (their ``loco_stars.csv``, one per seed) and the catalogue's magnitudes, and applies
the card's flag (``main_sequence.above_flag``) with each star's held-out median age. Magnitude errors are taken as 0
(the catalogue has no parallax errors; its members' parallaxes are good). The heights are measured from the card's
main sequence, fitted to every cluster's stars, and the bound is the card's: descriptive, not a held-out test of them.

    PYTHONPATH=$PWD python benchmarks/above_flag.py --loco DIR [DIR ...] \
        --catalogue ../shared/data/open_cluster_rotators.csv
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from gyroage.build.catalogue import PARALLAX, default_catalogue_path, load_catalogue, quality_select
from gyroage.build.loco import seed_table_dirs
from gyroage.core.main_sequence import AboveFlag, MainSequenceTerm, absolute_g
from gyroage.core.modelcard import load_card


def held_out_stars(run: Path, mags: pd.DataFrame) -> pd.DataFrame:
    """``run``'s loco_stars.csv with each star's absolute G from ``mags`` (the catalogue's, IDs as text).

    The IDs are read as text: pandas would read them as int64, which merges with no text ID (a ValueError).
    """
    return pd.read_csv(run / "loco_stars.csv", dtype={"GaiaDR3_ID": str}).merge(mags, on=["cluster", "GaiaDR3_ID"],
                                                                             how="left")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--loco", type=Path, nargs="+", required=True)
    ap.add_argument("--catalogue", default=str(default_catalogue_path()))
    ap.add_argument("--model", default=None)
    args = ap.parse_args()
    card, _ = load_card(args.model)
    term, flag = MainSequenceTerm.from_card(card), AboveFlag.from_card(card)
    if term is None or flag is None:
        raise SystemExit("the card has no main-sequence term or above_flag")
    cat = quality_select(load_catalogue(args.catalogue))
    mags = pd.DataFrame({"cluster": cat["cluster"], "GaiaDR3_ID": cat["GaiaDR3_ID"],
                         "abs_g": absolute_g(cat["G_0"].to_numpy(float), cat[PARALLAX].to_numpy(float))})
    mags = mags.drop_duplicates(["cluster", "GaiaDR3_ID"])
    rows, clusters = [], []
    for d in (d for out in args.loco for d in seed_table_dirs(out)):
        s = held_out_stars(d, mags)
        marked = flag.flags(term, s["bp_rp0"].to_numpy(float), s["abs_g"].to_numpy(float), None,
                            s["age_p50_myr"].to_numpy(float))
        for name, m in (("flagged", marked), ("not flagged", ~marked)):
            x = s[m]
            rows.append({"run": d, "stars": name, "n": len(x), "median_abs_error_dex": x["error_dex"].abs().median(),
                         "median_error_dex": x["error_dex"].median(), "in_68": x["in_68"].mean()})
        clusters.append(s[marked]["cluster"].value_counts())
    table = pd.DataFrame(rows)
    print(f"the card's flag: {flag}; {len(table) // 2} seeds")
    print(table.groupby("stars")[["n", "median_abs_error_dex", "median_error_dex", "in_68"]].agg(["mean", "min", "max"])
          .round(3).to_string())
    print("flagged stars per seed, by cluster (mean):")
    print((pd.concat(clusters, axis=1).fillna(0).mean(axis=1).sort_values(ascending=False).round(1)).to_string())


if __name__ == "__main__":
    main()
