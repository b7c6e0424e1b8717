"""Review V35, finding 3 and V36a, finding 4: how far groups of 5-30 members drawn from the shipped model miss their
age, by true age and size and by the joint median (what a flag can see), and which groups ``few_members`` marks.

Each group: a true age log-uniform over 5 Myr-4 Gyr (the trained ages, Taurus to M67: drawn ages must reach past
both ends of any dated-age bin, or the bins at the ends are selected, not measured; V36a), colours uniform 0.6-2.6
(0.6-1.6 past 2 Gyr, where M dwarfs have no training cluster), one period per star from the flow
(``AgeModel.sample_periods``; its seed is not the colours', which would tie colour to period quantile), dated by
``gyroage.group_ages`` with default settings. :data:`DRAWS` groups at each size of :data:`SIZES` (4,200 groups,
~4 min on 2 cores):

    PYTHONPATH=$PWD python benchmarks/small_groups.py [--out draws.csv]
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

import gyroage
from gyroage.core.group_flags import FEW_MEMBERS_YOUNG_MIN, FEW_MEMBERS_YOUNG_MYR

SIZES = (5, 7, 10, 12, 15, 20, 30)
DRAWS = 600
TRUE_MYR = (5.0, 4000.0)
BINS_MYR = (5, 10, 20, 30, 60, 120, 200, 300, 700, 1500, 4000)
MISS_DEX = 0.1


def draw_groups(model: gyroage.AgeModel) -> pd.DataFrame:
    """The members of every group, labelled ``<true age Myr>_<size>_<draw>``."""
    rows = []
    for n in SIZES:
        rng = np.random.default_rng([n, 36])
        ages = 10 ** rng.uniform(*np.log10(TRUE_MYR), DRAWS)
        for seed, age in enumerate(ages):
            c = rng.uniform(0.6, 2.6 if age < 2000 else 1.6, n)
            rows.append(pd.DataFrame({"cluster": f"{age:.6g}_{n}_{seed}", "BPRP_0": c, "true": age}))
    members = pd.concat(rows, ignore_index=True)
    members["Prot"] = model.sample_periods(age_myr=members["true"].to_numpy(), bp_rp0=members["BPRP_0"].to_numpy(),
                                           n=1, seed=3601)[:, 0]
    return members.drop(columns="true")


def table(ages: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Mean offset (dex), share missed young / old by more than :data:`MISS_DEX`, 68% coverage, per ``by``."""
    return ages.groupby(by, observed=True).agg(
        groups=("dex", "size"), mean_dex=("dex", "mean"), young=("young", "mean"), old=("old", "mean"),
        in68=("in68", "mean")).round(2)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", help="write every group's row (true age, size, joint age) here")
    args = ap.parse_args(argv)
    model = gyroage.AgeModel.load()
    ages = gyroage.group_ages(draw_groups(model), model.density, "cluster", model.default_prior)
    parts = ages["cluster"].str.split("_", expand=True)
    ages["true"], ages["n"] = parts[0].astype(float), parts[1].astype(int)
    ages["dex"] = np.log10(ages["age_p50_myr"] / ages["true"])
    ages["young"], ages["old"] = ages["dex"] < -MISS_DEX, ages["dex"] > MISS_DEX
    ages["in68"] = (ages["age_p16_myr"] <= ages["true"]) & (ages["true"] <= ages["age_p84_myr"])
    if args.out:
        ages.to_csv(args.out, index=False)
    ages["true_bin"] = pd.cut(ages["true"], BINS_MYR)
    ages["dated_bin"] = pd.cut(ages["age_p50_myr"], (1, *BINS_MYR[1:-1], 1e5))
    for by, name in (("true_bin", "true age"), ("dated_bin", "joint median (dated age)")):
        print(f"\nby {name} (Myr) and size: mean offset (dex)")
        print(table(ages, [by, "n"])["mean_dex"].unstack("n").to_string())
        print(f"\nby {name} (Myr) and size: share missed young by > {MISS_DEX} dex")
        print(table(ages, [by, "n"])["young"].unstack("n").to_string())
        print(f"\nby {name} (Myr) and size: share missed old by > {MISS_DEX} dex")
        print(table(ages, [by, "n"])["old"].unstack("n").to_string())
    dated = ages[ages["age_p50_myr"] >= 10].copy()  # younger: pre_main_sequence_age already says so
    few = (dated["n"] < FEW_MEMBERS_YOUNG_MIN) & (dated["age_p50_myr"] < FEW_MEMBERS_YOUNG_MYR)
    print(f"\nfew_members (under {FEW_MEMBERS_YOUNG_MIN} members, joint median 10-{FEW_MEMBERS_YOUNG_MYR:g} Myr):")
    print(table(dated.assign(flag=np.where(few, "few_members", "not flagged"),
                             size=np.where(dated["n"] < FEW_MEMBERS_YOUNG_MIN, "small", "larger"),
                             dated=np.where(dated["age_p50_myr"] < FEW_MEMBERS_YOUNG_MYR, "young", "older")),
                ["flag", "size", "dated"]).to_string())


if __name__ == "__main__":
    main()
