"""Half-period aliases in a member list: how far they move group-age's joint ages, and whether a caution says so.

A ground-based survey often reports half the true period (two spots, or the first harmonic). Groups of
:data:`MEMBERS` members drawn from the shipped flow (``AgeModel.sample_periods``, colours uniform 0.7-2.2), then a
share of the members' periods halved; dated as ``gyroage group-age --by`` dates them (``gyroage.group_ages``, the
default prior). Prints, per age and share, the mean log10(joint median / true age) over :data:`DRAWS` draws and the
share of groups carrying any caution. Synthetic stars only (review V61, 5).

    PYTHONPATH=$PWD python benchmarks/group_alias_check.py [--draws 6]
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np
import pandas as pd

import gyroage

AGES_MYR = (60, 120, 300, 700, 1500, 3000)
SHARES = (0.0, 0.1, 0.2, 0.3)
MEMBERS = 80
DRAWS = 6


def run(draws: int = DRAWS) -> pd.DataFrame:
    """One row per (draw, age, share): the joint median (Myr) and the group's ``age_flags`` ('' for none)."""
    model = gyroage.AgeModel.load()
    rows = []
    for draw in range(draws):
        groups = []
        for age in AGES_MYR:
            rng = np.random.default_rng([draw, age])
            colour = rng.uniform(0.7, 2.2, MEMBERS)
            prot = model.sample_periods(age_myr=age, bp_rp0=colour, n=1, seed=int(rng.integers(1 << 30)))[:, 0]
            for share in SHARES:
                p = prot.copy()
                p[: int(round(share * MEMBERS))] /= 2.0  # the first members: their colours are uniform draws too
                groups.append(pd.DataFrame({"group": f"{age}_{share}", "bp_rp0": colour, "prot": p}))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the notes a run says; the figures are the point here
            out = gyroage.group_ages(pd.concat(groups, ignore_index=True), model.density, "group", model.default_prior)
        for g in out.itertuples():
            age, share = str(g.group).split("_")
            flags = g.age_flags if isinstance(g.age_flags, str) else ""
            rows.append({"draw": draw, "age_myr": int(age), "share": float(share), "p50_myr": g.age_p50_myr,
                         "age_flags": flags})
    return pd.DataFrame(rows)


def summary(rows: pd.DataFrame) -> pd.DataFrame:
    """Mean log10(median / true age) and the share of groups with any caution, by age and aliased share."""
    rows = rows.assign(offset_dex=np.log10(rows.p50_myr / rows.age_myr), cautioned=rows["age_flags"] != "")
    return rows.groupby(["age_myr", "share"]).agg(offset_dex=("offset_dex", "mean"), cautioned=("cautioned", "mean"))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=DRAWS)
    print(summary(run(parser.parse_args().draws)).round(3).to_string())
