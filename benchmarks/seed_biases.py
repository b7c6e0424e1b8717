"""Each cluster's LOCO error over many training seeds: its bias (the mean) and its seed scatter (the sd).

No training: reads the ``loco_clusters.csv`` of every seed in one or more ``gyroage validate --out``
directories (``--extra-seeds`` included). Prints each seed's two cluster columns (all clusters,
>= 30 Myr), their mean and sd, the share of seeds meeting the issue's targets, and the "bias
floor": the same two medians taken over the clusters' mean errors. A floor as high as the per-seed
mean says the medians are set by errors every seed makes, which no averaging of seeds removes
(docs/validation.md, "Nineteenth session").

    PYTHONPATH=$PWD python benchmarks/seed_biases.py --loco DIR [DIR ...]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from gyroage.build.loco import seed_table_dirs
from gyroage.build.loco_figures import OLD_MYR, cluster_medians

TARGETS = (0.07, 0.05)  # issue #11: all clusters, >= 30 Myr (dex)


def errors_by_seed(dirs: list[Path]) -> tuple[pd.DataFrame, pd.Series]:
    """(clusters x seeds error_dex, each cluster's fiducial age in Myr) from the validate directories."""
    cols, age = {}, None
    for out in dirs:
        for table_dir in seed_table_dirs(out):
            t = pd.read_csv(table_dir / "loco_clusters.csv").set_index("cluster")
            cols[f"{out.name}/{table_dir.name}"] = t["error_dex"]
            age = t["fiducial_age_myr"] if age is None else age
    return pd.DataFrame(cols), age


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--loco", type=Path, nargs="+", required=True, help="gyroage validate --out directories")
    a = ap.parse_args(argv)
    err, age = errors_by_seed(a.loco)
    missing = err.index[err.isna().any(axis=1)]
    if len(missing):  # a subset run (validate --clusters) beside full ones: the medians would not compare
        raise SystemExit(f"not every run dated these clusters: {', '.join(missing)}")
    per_seed = np.array([cluster_medians(err[c], age) for c in err.columns], dtype=float)
    print(f"{err.shape[1]} seeds, {err.shape[0]} clusters")
    for j, (name, target) in enumerate(zip(("all clusters", f">= {OLD_MYR:g} Myr"), TARGETS)):
        v = per_seed[:, j]
        sd = v.std(ddof=1) if len(v) > 1 else float("nan")
        print(f"{name}: per seed {' '.join(f'{x:.3f}' for x in v)}; mean {v.mean():.3f} sd {sd:.3f}; "
              f"seeds <= {target}: {int((v <= target).sum())} of {len(v)}")
    mean = err.mean(axis=1)
    floor = cluster_medians(mean, age)
    print(f"bias floor (medians of the clusters' mean errors): all {floor[0]:.3f}, >= {OLD_MYR:g} Myr {floor[1]:.3f}")
    sd = err.std(axis=1, ddof=1) if err.shape[1] > 1 else mean * np.nan
    table = pd.DataFrame({"age_myr": age, "mean": mean, "sd": sd, "min": err.min(axis=1),
                          "max": err.max(axis=1)}).sort_values("age_myr")
    print(table.round(3).to_string())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
