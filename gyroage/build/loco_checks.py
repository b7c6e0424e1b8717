"""What :func:`gyroage.build.loco.run_folds` checks before a fold trains: that the folds can train at all, and
whether a saved fold may be reused."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from gyroage.build.catalogue import training_set, val_clusters_notice
from gyroage.errors import UserError


def check_folds_can_train(frame: pd.DataFrame, held_out: list[str]) -> None:
    """Refuse, in one line, a run whose folds could not train: each fold trains on the quality-selected stars of
    the other clusters, which must hold at least two clusters and two ages (training refuses one age, but only
    after the folds have started)."""
    for c in held_out:
        rest = frame[frame["cluster"] != c]
        n_clusters, n_ages = rest["cluster"].nunique(), rest["fiducial_age_Myr"].nunique()
        if n_clusters < 2 or n_ages < 2:
            raise UserError(f"too few clusters to validate: without {c} the catalogue leaves {n_clusters} cluster(s) "
                            f"of {n_ages} age(s) to train on (validate needs 3 or more clusters, and 2 or more ages "
                            "besides each held-out one)")


def fold_from(path: Path, catalog_sha: str, n_stars: int) -> bool:
    """Whether the saved fold at ``path`` was trained on the catalogue with SHA-256 ``catalog_sha``. The settings key
    names the training settings only; folds saved before the catalogue's hash was recorded are judged by their
    held-out star count (``n_stars`` in this catalogue)."""
    with np.load(path) as z:
        meta = json.loads(str(z["meta"]))
    if "catalog_sha256" in meta:
        return meta["catalog_sha256"] == catalog_sha
    return meta.get("n_stars") == n_stars


def val_clusters_capped(frame: pd.DataFrame, held_out: list[str], n_val_clusters: int) -> str | None:
    """:func:`gyroage.build.catalogue.val_clusters_notice` for the first fold (of ``held_out``) it concerns, said
    once here since the folds train quietly; the others differ by at most the held-out cluster."""
    for c in held_out:
        note = val_clusters_notice(training_set(frame[frame["cluster"] != c]), n_val_clusters)
        if note:
            return f"fold {c} and likely the others: {note}"
    return None
