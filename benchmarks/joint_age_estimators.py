"""Joint-age estimators compared on saved LOCO folds (no retraining): the study behind docs/validation.md's
"Joint ages with colour-balanced weights".

For each ``gyroage validate --out DIR`` given, every held-out cluster's joint age is recomputed from its fold's
flow log-likelihoods (flat prior in log age) by:

* E0: product of members' mixture likelihoods, outlier weight 0.05 (what ``gyroage group-age`` does);
* E1 / E2: the same with outlier weight 0.2 / 0.5;
* E3: colour-balanced: each member's log-likelihood weighted so every occupied (BP-RP)0 band
  (edges 0.5, 0.8, 1.0, 1.3, 1.8, 2.5) carries the same total, the weights summing to the group's size
  (a lone star in a band counts as size / bands stars: the flaw noted in the docs);
* E4: the median of the members' posterior medians;
* E5: E3 with outlier weight 0.2; E6: E3 with each weight capped at 3;
* EF (study 37): the outlier share marginalised: the product of mixtures at each weight of :data:`SHARES`, summed
  with equal prior weight (:func:`share_marginal`).

Prints the median |error| over all clusters and over those >= 30 Myr, per directory and averaged.

    PYTHONPATH=$PWD python benchmarks/joint_age_estimators.py DIR [DIR ...] [--catalogue PATH]

``DIR``: a ``gyroage validate --out DIR`` output (its saved folds; a seed's ``DIR/seed_<n>`` too).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from scipy.special import logsumexp

from gyroage.build.catalogue import default_catalogue_path, load_catalogue, quality_select
from gyroage.build.loco import saved_folds
from gyroage.core.groups import group_log_likelihood, joint_age
from gyroage.core.modelcard import outlier_log_density
from gyroage.core.posterior import normalise, quantiles

EDGES = (0.5, 0.8, 1.0, 1.3, 1.8, 2.5)
NAMES = ("E0", "E1", "E2", "E3", "E4", "E5", "E6", "EF")
# Study 37's outlier shares, each with equal prior weight (benchmarks/candidates/PREREGISTRATION.md).
SHARES = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5)


def colour_balanced(ll, grid, w, colour, cap=None) -> float:
    _, inv, cnt = np.unique(np.digitize(colour, EDGES), return_inverse=True, return_counts=True)
    v = len(ll) / (len(cnt) * cnt[inv])
    if cap is not None:
        v = np.minimum(v, cap)
    lp = (v[:, None] * np.logaddexp(np.log1p(-w) + ll, np.log(w) + outlier_log_density())).sum(axis=0)
    return float(quantiles(normalise(lp[None], grid), grid)[0][2])


def share_marginal(ll: np.ndarray, grid: np.ndarray, shares=SHARES) -> np.ndarray:
    """EF's log10-age quantiles (2.5/16/50/84/97.5) of one group from its members' flow log-likelihoods (stars x
    grid): the product of mixtures at each outlier share, summed over the shares; flat prior in log age."""
    ll = np.asarray(ll, dtype=np.float64)
    gid, m, log_u = np.zeros(len(ll), dtype=int), np.ones(len(ll)), outlier_log_density()
    lp = logsumexp([group_log_likelihood(ll, gid, 1, m, f, log_u)[0] for f in shares], axis=0)
    return quantiles(normalise(lp[None, :], grid), grid)[0]


def estimates(ll, grid, colour) -> dict[str, float]:
    out = {name: float(joint_age(ll, grid, w)[1][2]) for name, w in (("E0", 0.05), ("E1", 0.2), ("E2", 0.5))}
    out["E3"] = colour_balanced(ll, grid, 0.05, colour)
    out["E4"] = float(np.median(quantiles(normalise(ll.astype(float), grid), grid)[:, 2]))
    out["E5"] = colour_balanced(ll, grid, 0.2, colour)
    out["E6"] = colour_balanced(ll, grid, 0.05, colour, cap=3.0)
    out["EF"] = float(share_marginal(ll, grid)[2])
    return out


def main(argv: list[str]) -> int:
    """Print each estimator's median |error| (all / >= 30 Myr) per directory and averaged over them."""
    ap = argparse.ArgumentParser(description="Joint-age estimators E0-E6 and EF compared on saved LOCO folds (no retraining).")
    ap.add_argument("loco", nargs="+", help="gyroage validate --out directories")
    ap.add_argument("--catalogue", type=Path, default=None,
                    help="the catalogue the folds were trained on (default: the shared one)")
    a = ap.parse_args(argv)
    frame = quality_select(load_catalogue(a.catalogue if a.catalogue is not None else default_catalogue_path()))
    table = {}
    for d in a.loco:
        errors, young = {k: [] for k in NAMES}, []
        for f in saved_folds(d).values():
            members = frame.iloc[f["source_row"]]
            truth = float(np.median(np.log10(members["fiducial_age_Myr"].to_numpy(float) * 1e6)))
            for k, v in estimates(f["loglike"], f["grid"], members["BPRP_0"].to_numpy(float)).items():
                errors[k].append(abs(v - truth))
            young.append(truth < np.log10(30e6))
        keep = ~np.array(young)
        table[d] = {k: (np.median(e), np.median(np.array(e)[keep])) for k, e in errors.items()}
        print(f"{d}: " + "  ".join(f"{k} {a:.3f}/{b:.3f}" for k, (a, b) in table[d].items()))
    for k in NAMES:
        a = np.mean([table[d][k][0] for d in table])
        b = np.mean([table[d][k][1] for d in table])
        print(f"{k} mean over directories: {a:.3f} / {b:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
