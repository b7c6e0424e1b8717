"""LOCO figures of an ensemble of training seeds, from a validate run's stored folds.

No training. ``--combine density`` (default): each fold's per-star flow log-likelihoods of K seeds
are averaged as densities (log-mean-exp), then dated as ``gyroage validate`` dates them (joint ages
with the 0.05 outlier term; uncalibrated member posteriors for the stars; docs/validation.md,
"Eighth session"). ``--combine posterior``: each seed dates the cluster and its stars on its own,
and the K posteriors are averaged (equal-weight model averaging; study 26). Prints, for K = 1, 3
and 5, the mean over every K-seed combination of the all-clusters and >= 30 Myr median |error| and
the star median |error|.

    PYTHONPATH=$PWD python benchmarks/seed_ensemble.py --loco validation [--combine posterior] \
        [--catalogue ../shared/data/open_cluster_rotators.csv]

(``--loco``: a ``gyroage validate --out`` directory run with ``--extra-seeds``.)
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

import numpy as np
from scipy.special import logsumexp

from gyroage.build.catalogue import default_catalogue_path, load_catalogue, quality_select
from gyroage.build.loco import saved_folds, seed_table_dirs, star_posteriors
from gyroage.build.loco_figures import cluster_medians
from gyroage.core.groups import joint_age
from gyroage.core.posterior import quantiles
from gyroage.defaults import OUTLIER_WEIGHT


def dated(loglike: np.ndarray, grid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(joint-age pdf, star pdfs) of one fold's log-likelihoods, as ``gyroage validate`` dates them."""
    return joint_age(loglike, grid, OUTLIER_WEIGHT)[0], star_posteriors(loglike, grid)


def score(folds: list[dict[str, dict]], members: tuple[int, ...], log_age: np.ndarray,
          own: list[dict[str, tuple]] | None = None) -> tuple[float, float, float]:
    """(all-clusters, >= 30 Myr median |joint-age error|, star median |error|) of the ensemble ``members``;
    ``log_age``: the quality-selected catalogue's labels, which the folds' ``source_row`` index. ``own``: each
    seed's :func:`dated` by cluster, whose posteriors are averaged; None averages the seeds' densities instead."""
    errors, ages, stars = [], [], []
    for c, first in folds[0].items():
        grid = first["grid"]
        if own is None:
            lls = np.stack([folds[k][c]["loglike"].astype(float) for k in members])
            joint, star = dated(logsumexp(lls, axis=0) - np.log(len(members)), grid)
        else:
            joint, star = (np.mean(v, axis=0) for v in zip(*(own[k][c] for k in members)))
        truth = log_age[first["source_row"]]
        errors.append(quantiles(joint[None, :], grid)[0, 2] - np.median(truth))
        ages.append(10 ** (np.median(truth) - 6))
        stars.append(quantiles(star, grid)[:, 2] - truth)
    return (*cluster_medians(errors, ages), float(np.median(np.abs(np.concatenate(stars)))))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--loco", type=Path, required=True)
    ap.add_argument("--catalogue", default=str(default_catalogue_path()))
    ap.add_argument("--combine", choices=("density", "posterior"), default="density",
                    help="average the seeds' densities per star, or their posteriors (each cluster's, each star's)")
    a = ap.parse_args(argv)
    frame = quality_select(load_catalogue(a.catalogue))
    log_age = np.log10(frame["fiducial_age_Myr"].to_numpy(float) * 1e6)
    folds = [saved_folds(d) for d in seed_table_dirs(a.loco)]
    # each seed dated once, not once for every combination it is in
    own = [{c: dated(f["loglike"].astype(float), f["grid"]) for c, f in seed.items()} for seed in folds] \
        if a.combine == "posterior" else None
    for k in (1, 3, 5):
        if k > len(folds):
            break
        r = np.array([score(folds, m, log_age, own) for m in itertools.combinations(range(len(folds)), k)])
        print(f"{k} seed(s): {r[:, 0].mean():.3f} / {r[:, 1].mean():.3f}, star {r[:, 2].mean():.4f} "
              f"(over {len(r)} combinations; all-clusters {r[:, 0].min():.3f}-{r[:, 0].max():.3f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
