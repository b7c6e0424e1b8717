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
import pandas as pd

from gyroage.build.catalogue import default_catalogue_path, load_catalogue, quality_select
from gyroage.build.loco import saved_folds, star_posteriors
from gyroage.build.loco_figures import AGE_BINS, by_age_bin, judge_stars

PRIORS = {"uniform_log_age": lambda x: np.zeros_like(x), "uniform_age": lambda x: x * np.log(10.0)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--loco", required=True)
    ap.add_argument("--catalogue", default=str(default_catalogue_path()))
    a = ap.parse_args(argv)
    frame = quality_select(load_catalogue(a.catalogue))
    log_age = np.log10(frame["fiducial_age_Myr"].to_numpy(float) * 1e6)
    folds = saved_folds(a.loco)
    print("| prior | star median abs. error (dex) | "
          + " | ".join(f"{b}: in 68% / below / above, median error (dex)" for b, _, _ in AGE_BINS) + " |")
    print("|---|---|" + "---|" * len(AGE_BINS))
    for name, log_prior in PRIORS.items():
        stars = pd.concat([pd.DataFrame(judge_stars(star_posteriors(f["loglike"], f["grid"], log_prior=log_prior(f["grid"])),
                                                    f["grid"], log_age[f["source_row"]])) for f in folds.values()])
        b = by_age_bin(stars)
        cells = [" / ".join(f"{b[k][label]:.3f}" for k in ("coverage_68", "below_68", "above_68"))
                 + f", {b['median_error_dex'][label]:+.2f}" for label, _, _ in AGE_BINS]
        print(f"| {name} | {np.median(np.abs(stars.error_dex)):.3f} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
