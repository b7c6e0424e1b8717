"""Review V35, finding 3: how far groups of 5-30 members drawn from the shipped model miss their age, by true age and
size and by the joint median (what a flag can see), and which groups ``few_members`` then marks.

Each group: colours uniform 0.6-2.6 (0.6-1.6 at 3 Gyr, where M dwarfs have no training cluster), one
period per star from the flow (``AgeModel.sample_periods``; its seed is not the colours', which would tie colour to
period quantile), dated by ``gyroage.group_ages`` with default settings. Draws 0-39 cover every age and size,
draws 40-99 the ages 30-700 Myr at the sizes 5-20 (5,340 groups, ~3 min on 2 cores):

    PYTHONPATH=$PWD python benchmarks/small_groups.py [--out draws.csv]
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

import gyroage
from gyroage.core.group_flags import FEW_MEMBERS_YOUNG_MIN, FEW_MEMBERS_YOUNG_MYR

# (true ages Myr, sizes, draws) of the two batches
BATCHES = (((20, 30, 60, 120, 200, 300, 500, 700, 1500, 3000), (5, 7, 10, 15, 20, 30), range(40)),
           ((30, 60, 120, 200, 300, 500, 700), (5, 7, 8, 10, 12, 15, 20), range(40, 100)))
MISS_DEX = 0.1


def draw_groups(model: gyroage.AgeModel) -> pd.DataFrame:
    """The members of every group of :data:`BATCHES`, group ``<age>_<size>_<draw>``."""
    rows = []
    for ages, sizes, draws in BATCHES:
        for age in ages:
            for n in sizes:
                for seed in draws:
                    c = np.random.default_rng([age, n, seed, 1]).uniform(0.6, 2.6 if age < 2000 else 1.6, n)
                    p = model.sample_periods(age_myr=age, bp_rp0=c, n=1, seed=int(7919 * age + 101 * n + seed + 10**6))
                    rows.append(pd.DataFrame({"cluster": f"{age}_{n}_{seed}", "BPRP_0": c, "Prot": p[:, 0]}))
    return pd.concat(rows, ignore_index=True)


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
    print("by true age and size: mean offset (dex)")
    print(table(ages, ["true", "n"])["mean_dex"].unstack("n").to_string())
    print(f"\nby true age and size: share missed young by > {MISS_DEX} dex")
    print(table(ages, ["true", "n"])["young"].unstack("n").to_string())
    dated = ages[ages["age_p50_myr"] >= 10].copy()  # younger: pre_main_sequence_age already says so
    dated["joint"] = np.where(dated["age_p50_myr"] < FEW_MEMBERS_YOUNG_MYR, f"10-{FEW_MEMBERS_YOUNG_MYR:g} Myr",
                              f">= {FEW_MEMBERS_YOUNG_MYR:g} Myr")
    print("\nby joint median (>= 10 Myr) and size")
    print(table(dated, ["joint", "n"]).to_string())
    few = (dated["n"] < FEW_MEMBERS_YOUNG_MIN) & (dated["age_p50_myr"] < FEW_MEMBERS_YOUNG_MYR)
    print(f"\nfew_members (under {FEW_MEMBERS_YOUNG_MIN} members, joint median under {FEW_MEMBERS_YOUNG_MYR:g} Myr):")
    print(table(dated.assign(flag=np.where(few, "few_members", "not flagged"),
                             size=np.where(dated["n"] < FEW_MEMBERS_YOUNG_MIN, "small", "larger")),
                ["flag", "size"]).to_string())


if __name__ == "__main__":
    main()
