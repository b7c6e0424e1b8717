"""How many of the catalogue's own members carry ``age_outside_training``, ``above_main_sequence`` and
``colour_err_beyond_training`` (README, Flags).

The quality-selected catalogue is dated in-sample with the shipped model as ``gyroage estimate`` dates it
(``AgeModel.estimate``), from rotation alone (cluster, Prot, BPRP_0, e_BPRP_0) and with magnitudes (G_0 and the
catalogue's parallax as well: the main-sequence term on). Printed: each flag's total over the dated members
(status ok or extrapolated) and per cluster, and what each flag's newer rule adds on its own:

* ``age_outside_training``: the stars flagged only because their MAP age lies beyond the oldest trained age at their
  colour (the run repeated with that rule off), the rest having more than half of their posterior outside;
* ``above_main_sequence``: the stars the rule at every colour and age flags that the earlier rule (bluer than the
  term's ``colour_max`` and a median age >= ``age_min_myr`` only) would not.

Derived counts only; no row of the catalogue is written.

    PYTHONPATH=$PWD python benchmarks/flag_counts.py [--catalogue ../shared/data/open_cluster_rotators.csv]
"""

from __future__ import annotations

import argparse
from unittest import mock

import numpy as np
import pandas as pd

import gyroage.core.estimate as estimate_module
from gyroage import AgeModel
from gyroage.build.catalogue import G0, PARALLAX, default_catalogue_path, load_catalogue, quality_select
from gyroage.core.main_sequence import AboveFlag, MainSequenceTerm, absolute_g, usable_magnitude

ROTATION = ["cluster", "Prot", "BPRP_0", "e_BPRP_0"]


def dated(out: pd.DataFrame) -> np.ndarray:
    return out["status"].isin(["ok", "extrapolated"]).to_numpy()


def has(out: pd.DataFrame, flag: str) -> np.ndarray:
    return out["age_flags"].fillna("").str.split(";").apply(lambda f: flag in f).to_numpy()


def by_cluster(frame: pd.DataFrame, mask: np.ndarray, of: np.ndarray) -> str:
    """'M67 135 of 282, ...': the clusters with any star in ``mask``, most first, out of their stars in ``of``."""
    n = frame.loc[mask, "cluster"].value_counts()
    total = frame.loc[of, "cluster"].value_counts()
    return ", ".join(f"{c} {k} of {total[c]}" for c, k in n.items())


def age_outside(model: AgeModel, q: pd.DataFrame) -> None:
    out = model.estimate(q[ROTATION])
    ok = dated(out)
    flag = has(out, "age_outside_training") & ok
    with mock.patch.object(estimate_module, "MAP_BEYOND_DEX", np.inf):  # the mass rule alone
        mass = has(model.estimate(q[ROTATION]), "age_outside_training") & ok
    print(f"rotation alone: {ok.sum()} of {len(q)} members dated")
    print(f"age_outside_training: {flag.sum()} ({by_cluster(q, flag, ok)})")
    print(f"  the MAP rule alone adds {(flag & ~mass).sum()} ({by_cluster(q, flag & ~mass, ok)})")
    wide = has(out, "colour_err_beyond_training") & ok
    print(f"colour_err_beyond_training: {wide.sum()} ({by_cluster(q, wide, ok)})")


def above(model: AgeModel, q: pd.DataFrame) -> None:
    out = model.estimate(q[[*ROTATION, G0, PARALLAX]])
    ok = dated(out)
    flag = has(out, "above_main_sequence") & ok
    term, rule = MainSequenceTerm.from_card(model.card), AboveFlag.from_card(model.card)
    colour, age = q["BPRP_0"].to_numpy(float), out["age_p50_myr"].to_numpy(float)
    height = term.height(colour, absolute_g(q[G0], q[PARALLAX]))
    with np.errstate(invalid="ignore"):
        earlier = ((colour < rule.colour_max) & (age >= rule.age_min_myr) & (height > rule.height_mag)
                   & usable_magnitude(None, colour.shape))
    print(f"with magnitudes: {ok.sum()} of {len(q)} members dated")
    print(f"above_main_sequence: {flag.sum()} ({by_cluster(q, flag, ok)})")
    print(f"  the earlier rule would flag {(flag & earlier).sum()}; the rule at every colour and age adds "
          f"{(flag & ~earlier).sum()} ({by_cluster(q, flag & ~earlier, ok)})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--catalogue", default=str(default_catalogue_path()))
    a = ap.parse_args()
    q = quality_select(load_catalogue(a.catalogue))
    model = AgeModel.load()
    age_outside(model, q)
    above(model, q)


if __name__ == "__main__":
    main()
