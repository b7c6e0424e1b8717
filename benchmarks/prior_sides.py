"""Which side held-out stars' truths fall on, by cluster age, under each prior: uncalibrated member posteriors
from stored LOCO folds (one training seed), flat in log age (the default) against flat in age.

    PYTHONPATH=$PWD python benchmarks/prior_sides.py --loco validation \\
        [--catalogue ../shared/data/open_cluster_rotators.csv]

(``--loco``: a ``gyroage validate --out`` directory; its own seed's folds are read.)
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from gyroage.build.catalogue import load_catalogue, quality_select
from gyroage.build.loco import AGE_BINS, interval_sides, quantiles, saved_folds, star_posteriors
from gyroage.core.posterior import cdf_at

PRIORS = {"uniform_log_age": lambda x: np.zeros_like(x), "uniform_age": lambda x: x * np.log(10.0)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--loco", required=True)
    ap.add_argument("--catalogue", default="../shared/data/open_cluster_rotators.csv")
    a = ap.parse_args(argv)
    frame = quality_select(load_catalogue(a.catalogue))
    folds = saved_folds(a.loco)
    print("| prior | star median abs. error (dex) | "
          + " | ".join(f"{b}: in 68% / below / above, median error (dex)" for b, _, _ in AGE_BINS) + " |")
    print("|---|---|" + "---|" * len(AGE_BINS))
    for name, log_prior in PRIORS.items():
        pit, err, age = [], [], []
        for f in folds.values():
            grid = f["grid"]
            truth = np.log10(frame["fiducial_age_Myr"].to_numpy(float)[f["source_row"]] * 1e6)
            post = star_posteriors(f["loglike"], grid, log_prior=log_prior(grid))
            pit.append(cdf_at(post, grid, truth))
            err.append(quantiles(post, grid, [0.5])[:, 0] - truth)
            age.append(10 ** (truth - 6))
        pit, err, age = map(np.concatenate, (pit, err, age))
        cells = []
        for _, lo, hi in AGE_BINS:
            m = (age >= lo) & (age < hi)
            cells.append(" / ".join(f"{v:.3f}" for v in interval_sides(pit[m])) + f", {np.median(err[m]):+.2f}")
        print(f"| {name} | {np.median(np.abs(err)):.3f} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
