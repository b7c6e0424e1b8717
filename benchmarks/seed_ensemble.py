"""LOCO figures of an ensemble of training seeds (averaged densities), from a validate run's stored folds.

No training: each fold's per-star flow log-likelihoods of K seeds are averaged as densities
(log-mean-exp), then dated as ``gyroage validate`` dates them (joint ages with the 0.05 outlier
term; uncalibrated member posteriors for the stars). Prints, for K = 1, 3 and 5, the mean over
every K-seed combination of the all-clusters and >= 30 Myr median |error| and the star median
|error| (docs/validation.md, "Eighth session").

    PYTHONPATH=$PWD python benchmarks/seed_ensemble.py --loco validation \
        [--catalogue ../shared/data/open_cluster_rotators.csv]

(``--loco``: a ``gyroage validate --out`` directory run with ``--extra-seeds``.)
"""

from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path

import numpy as np
from scipy.special import logsumexp

from gyroage.build.catalogue import load_catalogue, quality_select
from gyroage.build.loco import ValidateSettings, joint_age, load_folds
from gyroage.core.posterior import normalise, quantiles

OUTLIER_WEIGHT = 0.05


def seed_folds(path: Path) -> list[dict[str, dict]]:
    """Every seed's folds named by the run's summary (the first seed's tables are the top level's)."""
    summary = json.loads((path / "loco_summary.json").read_text())
    _, *extra = summary.get("loco_by_seed", {}).get("seeds", [None])
    out = []
    for d in [path, *(path / f"seed_{s}" for s in extra)]:
        s = json.loads((d / "loco_summary.json").read_text())
        settings = ValidateSettings(train=s["train_settings"], grid=tuple(s["age_grid"]))
        out.append(load_folds(path, settings, list(s["per_cluster"])))
    return out


def score(folds: list[dict[str, dict]], members: tuple[int, ...], log_age: np.ndarray) -> tuple[float, float, float]:
    """(all-clusters, >= 30 Myr median |joint-age error|, star median |error|) of the ensemble ``members``;
    ``log_age``: the quality-selected catalogue's labels, which the folds' ``source_row`` index."""
    errors, old, stars = [], [], []
    for c, first in folds[0].items():
        ll = logsumexp(np.stack([folds[k][c]["loglike"].astype(float) for k in members]), axis=0) - np.log(len(members))
        truth = log_age[first["source_row"]]
        errors.append(abs(joint_age(ll, first["grid"], OUTLIER_WEIGHT)[1][2] - np.median(truth)))
        old.append(np.median(truth) >= np.log10(30e6))
        stars.append(quantiles(normalise(ll, first["grid"]), first["grid"])[:, 2] - truth)
    errors, old = np.array(errors), np.array(old)
    return float(np.median(errors)), float(np.median(errors[old])), float(np.median(np.abs(np.concatenate(stars))))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--loco", type=Path, required=True)
    ap.add_argument("--catalogue", default="../shared/data/open_cluster_rotators.csv")
    a = ap.parse_args(argv)
    frame = quality_select(load_catalogue(a.catalogue))
    log_age = np.log10(frame["fiducial_age_Myr"].to_numpy(float) * 1e6)
    folds = seed_folds(a.loco)
    for k in (1, 3, 5):
        if k > len(folds):
            break
        r = np.array([score(folds, m, log_age) for m in itertools.combinations(range(len(folds)), k)])
        print(f"{k} seed(s): {r[:, 0].mean():.3f} / {r[:, 1].mean():.3f}, star {r[:, 2].mean():.4f} "
              f"(over {len(r)} combinations; all-clusters {r[:, 0].min():.3f}-{r[:, 0].max():.3f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
