"""Held-out cluster ages of an ensemble of flows: each training seed's fold dates the cluster, and the seeds'
joint posteriors are averaged with equal weights, as ``gyroage group-age`` averages a model's members
(:func:`gyroage.core.groups.group_posterior`).

Star figures stay the first flow's (``gyroage estimate`` uses it alone); the cluster figures are the ensemble's.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from gyroage.build.loco_figures import cluster_medians
from gyroage.core.groups import joint_age
from gyroage.core.posterior import quantiles

CLUSTER_FIGURES = ("loco_cluster_median_abs_dex", "loco_cluster_median_abs_dex_ge30myr", "loco_cluster_coverage_68")


def member_seeds(seed: int, members: int) -> list[int]:
    """The training seeds of an ensemble of ``members`` flows whose first has ``seed`` (as ``gyroage train``
    members are made: consecutive seeds)."""
    return [seed + k for k in range(members)]


def ensemble_table(frame: pd.DataFrame, folds_by_seed: list[dict[str, dict]], outlier_weight: float) -> pd.DataFrame:
    """Per held-out cluster: the members' averaged joint posterior's age, 68% interval and error (dex).

    ``frame``: the quality-selected catalogue the folds' ``source_row`` index; ``folds_by_seed``: each member's
    :func:`gyroage.build.loco.load_folds` (the same clusters, the same grid).
    """
    rows = []
    for c, first in folds_by_seed[0].items():
        grid = first["grid"]
        pdf = np.mean([joint_age(f[c]["loglike"], grid, outlier_weight)[0] for f in folds_by_seed], axis=0)
        q = quantiles(pdf[None, :], grid)[0]
        truth = float(np.median(np.log10(frame["fiducial_age_Myr"].to_numpy(dtype=float)[first["source_row"]] * 1e6)))
        rows.append({"cluster": c, "n_stars": len(first["source_row"]), "fiducial_age_myr": 10 ** (truth - 6),
                     "joint_age_myr": 10 ** (q[2] - 6), "joint_p16_myr": 10 ** (q[1] - 6),
                     "joint_p84_myr": 10 ** (q[3] - 6), "error_dex": q[2] - truth})
    return pd.DataFrame(rows).sort_values("fiducial_age_myr").reset_index(drop=True)


def cluster_figures(table: pd.DataFrame) -> dict[str, float | None]:
    """The summary's cluster figures (:data:`CLUSTER_FIGURES`) of a table of joint ages."""
    every, old = cluster_medians(table["error_dex"], table["fiducial_age_myr"])
    inside = (table["joint_p16_myr"] <= table["fiducial_age_myr"]) & (table["fiducial_age_myr"] <= table["joint_p84_myr"])
    return dict(zip(CLUSTER_FIGURES, (every, old, float(np.mean(inside)))))


def apply_ensemble(summary: dict, table: pd.DataFrame, seeds: list[int]) -> dict:
    """``summary`` with the ensemble's cluster figures and joint ages; the first flow's go under ``ensemble``."""
    ens = cluster_figures(table)
    summary["ensemble"] = {
        "members": len(seeds), "seeds": seeds,
        "cluster_ages": "each member's joint posterior, averaged with equal weights (gyroage group-age)",
        "star_figures": "the first member's (gyroage estimate uses it alone)",
        "first_member": {k: summary[k] for k in CLUSTER_FIGURES},
    }
    summary.update(ens)
    for r in table.itertuples():
        cell = summary["per_cluster"].get(r.cluster)
        if cell is not None:
            cell.update(joint_age_myr=round(float(r.joint_age_myr), 2), error_dex=round(float(r.error_dex), 4))
    return summary

