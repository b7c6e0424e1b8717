"""Study 37 (benchmarks/candidates/PREREGISTRATION.md), parts (c) and (d): joint ages of synthetic groups drawn from
the shipped flow, clean and with part of their members replaced by contaminants, under the fixed outlier weight
0.05 (E0, what ``gyroage group-age`` does) and with the outlier share marginalised (EF,
``benchmarks/joint_age_estimators.share_marginal``).

Each group: :data:`MEMBERS` members, colours uniform 0.5-2.0, one period each from the flow
(``AgeModel.sample_periods``, its seed not the colours'), a colour error of 0.02 mag; :data:`DRAWS` groups at each
age of :data:`AGES_MYR`. Contaminants: short-period binaries (periods log-uniform 0.3-5 d, the member's colour) or
field stars (periods uniform 1-40 d, colours uniform 0.5-2.5). Never held-out or outside data: the rule's
LOCO part is ``benchmarks/joint_age_estimators.py`` on fresh folds.

    PYTHONPATH=$PWD python benchmarks/group_contamination.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

import gyroage
from gyroage.core.groups import joint_age
from gyroage.core.likelihood import colour_marginal_log_likelihood

sys.path.insert(0, str(Path(__file__).resolve().parent))
from joint_age_estimators import share_marginal  # noqa: E402

AGES_MYR = (100.0, 300.0, 1000.0)
MEMBERS = 50
DRAWS = 20
COLOUR_ERR = 0.02
# (kind, share of members replaced); the rule reads ("binaries", 0.2) and the clean groups, the rest is described
CASES = (("clean", 0.0), ("binaries", 0.2), ("binaries", 0.3), ("field", 0.2), ("field", 0.3))
GRID = np.linspace(6.0, 10.0, 401)


def draw(model: gyroage.AgeModel, age: float, k: int) -> tuple[np.ndarray, np.ndarray]:
    """One clean group's colours and periods (d)."""
    rng = np.random.default_rng([int(age), k, 37])
    colour = rng.uniform(0.5, 2.0, MEMBERS)
    prot = model.sample_periods(age_myr=np.full(MEMBERS, age), bp_rp0=colour, n=1, seed=3700 + k)[:, 0]
    return colour, prot


def contaminate(colour: np.ndarray, prot: np.ndarray, kind: str, share: float, seed: list[int]):
    """The group with round(share x members) members replaced by ``kind`` contaminants."""
    rng = np.random.default_rng(seed)
    n = int(round(share * len(prot)))
    colour, prot = colour.copy(), prot.copy()
    idx = rng.choice(len(prot), n, replace=False)
    if kind == "binaries":
        prot[idx] = 10 ** rng.uniform(np.log10(0.3), np.log10(5.0), n)
    elif kind == "field":
        prot[idx] = rng.uniform(1.0, 40.0, n)
        colour[idx] = rng.uniform(0.5, 2.5, n)
    return colour, prot


def main() -> None:
    model = gyroage.AgeModel.load()
    rows = []
    for age in AGES_MYR:
        for k in range(DRAWS):
            colour, prot = draw(model, age, k)
            for kind, share in CASES:
                c, p = contaminate(colour, prot, kind, share, [int(age), k, int(share * 100), len(kind)])
                ll = colour_marginal_log_likelihood(model.density, np.log10(p), c, np.full(len(c), COLOUR_ERR), GRID,
                                                    refine_tol=None)
                ll = ll[np.isfinite(ll).all(axis=1)]
                truth = np.log10(age * 1e6)
                rows.append({"age_myr": age, "draw": k, "case": f"{kind} {share:.0%}",
                             "E0": joint_age(ll, GRID, 0.05)[1][2] - truth, "EF": share_marginal(ll, GRID)[2] - truth})
    t = pd.DataFrame(rows)
    pd.set_option("display.width", 160)
    mean_abs = t.groupby("case")[["E0", "EF"]].agg(lambda e: np.mean(np.abs(e)))
    print("mean |error| (dex) over", len(AGES_MYR) * DRAWS, "groups")
    print(mean_abs.round(4).to_string())
    print("\nmean error (dex) by age")
    print(t.groupby(["case", "age_myr"])[["E0", "EF"]].mean().round(4).to_string())
    c, d = mean_abs.loc["binaries 20%"], mean_abs.loc["clean 0%"]
    print(f"\nrule (c): binaries 20%: EF {c.EF:.4f} <= E0 {c.E0:.4f} - 0.03: {c.EF <= c.E0 - 0.03}")
    print(f"rule (d): clean: EF {d.EF:.4f} <= E0 {d.E0:.4f} + 0.01: {d.EF <= d.E0 + 0.01}")


if __name__ == "__main__":
    main()
