"""Which side held-out stars' intervals miss on, binned by what a user sees (the posterior median) and by the truth.

The card's ``loco_star_above_68_by_age`` bins by the cluster's true age, which no user knows; binned by the
posterior median instead, the table says how far to trust the tails of a star dated, say, 3 Gyr. Reads saved
``gyroage validate`` folds; the star posteriors are calibrated with ``--model``'s card (fitted on all held-out
stars, so slightly in-sample for the calibration; the card's own figures refit it without each cluster).

    PYTHONPATH=$PWD python benchmarks/interval_sides.py --loco validation --model models \
        --catalogue ../shared/data/open_cluster_rotators.csv
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

from gyroage.build.catalogue import default_catalogue_path, load_catalogue, quality_select
from gyroage.build.loco import saved_folds, star_posteriors
from gyroage.build.loco_figures import interval_sides, judge_stars
from gyroage.core.calibration import Calibration
from gyroage.core.modelcard import load_card

MEDIAN_EDGES = (6.0, 7.0, 8.0, 8.5, 9.0, 9.3, 10.0)  # log10 yr
TRUE_EDGES = (6.0, 8.0, 9.0, 10.0)


def held_out_pits(loco: str, model: str | None, catalogue: str) -> pd.DataFrame:
    """Every held-out star: true log10 age, posterior median (log10 yr) and PIT (the posterior CDF at the truth)."""
    card, _ = load_card(model)
    cal = Calibration.from_card(card)
    frame = quality_select(load_catalogue(catalogue))
    rows = []
    for cluster, f in saved_folds(loco).items():
        m = frame.iloc[f["source_row"]]
        truth = np.log10(m["fiducial_age_Myr"].to_numpy(dtype=float) * 1e6)
        post = star_posteriors(f["loglike"], f["grid"], cal, colour=m["BPRP_0"].to_numpy(dtype=float))
        j = judge_stars(post, f["grid"], truth)
        rows.append(pd.DataFrame({"cluster": cluster, "truth": truth, "median": np.log10(j["age_p50_myr"]) + 6,
                                  "pit": j["pit"]}))
    return pd.concat(rows, ignore_index=True)


def sides(stars: pd.DataFrame, by: str, edges) -> pd.DataFrame:
    """Per bin of ``by``: stars, and the share whose truth lies above p97.5 and p84 and below p16 and p2.5."""
    rows = {}
    for b, p in stars.groupby(pd.cut(stars[by], edges), observed=True)["pit"]:
        (_, below_68, above_68), (_, below_95, above_95) = interval_sides(p, 0.68), interval_sides(p, 0.95)
        rows[b] = {"stars": len(p), "above p97.5": above_95, "above p84": above_68, "below p16": below_68,
                   "below p2.5": below_95}
    return pd.DataFrame.from_dict(rows, orient="index")


def markdown(table: pd.DataFrame) -> str:
    """``table`` as a markdown table (no tabulate needed)."""
    head = ["bin", *table.columns]
    rows = [[str(i), *(f"{v:.0f}" if c == "stars" else f"{v:.3f}" for c, v in r.items())] for i, r in table.iterrows()]
    return "\n".join("| " + " | ".join(r) + " |" for r in [head, ["---"] * len(head), *rows])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--loco", required=True, help="a gyroage validate --out directory (or one of its seed_N)")
    ap.add_argument("--model", default=None, help="model directory whose card calibrates (default: the shipped one)")
    ap.add_argument("--catalogue", default=str(default_catalogue_path()))
    a = ap.parse_args()
    stars = held_out_pits(a.loco, a.model, a.catalogue)
    for by, edges, title in (("median", MEDIAN_EDGES, "posterior median, log10 yr"),
                             ("truth", TRUE_EDGES, "true age, log10 yr")):
        print(f"by {title} (nominal: 2.5% / 16% / 16% / 2.5%)")
        print(markdown(sides(stars, by, edges)))
        print()


if __name__ == "__main__":
    main()
