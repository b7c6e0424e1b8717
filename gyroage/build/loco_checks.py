"""What :func:`gyroage.build.loco.run_folds` checks before a fold trains: that the folds can train at all, and
whether a saved fold may be reused; and what ``validate --write-card`` checks: that the card's model was trained with
the validated settings and catalogue."""

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


def catalogue_record(path: str | Path) -> dict:
    """The validated catalogue as the summary and the card's ``validation`` record it: its file name and SHA-256,
    as the card's ``training.catalog`` records the training catalogue."""
    from gyroage.core.modelcard import sha256

    return {"file": Path(path).name, "sha256": sha256(path)}


def catalogue_differs(trained: dict | None, validated: dict | None) -> bool:
    """Whether two catalogue records (:func:`catalogue_record`) name different SHA-256; a side without a recorded hash
    (a summary written before it was recorded) is not compared."""
    want, got = (trained or {}).get("sha256"), (validated or {}).get("sha256")
    return bool(want and got and want != got)


def refuse_other_catalogue(model_dir: str | Path, trained: dict | None, validated: dict | None) -> None:
    """Refuse, in one line naming both, to write a validation of one catalogue into the card of a model trained on
    another (:func:`catalogue_differs`)."""
    if catalogue_differs(trained, validated):
        want, got = trained["sha256"], validated["sha256"]
        raise UserError(f"model in {model_dir} was trained on {trained.get('file', '?')} (SHA-256 {want}), not on the "
                        f"validated catalogue {validated.get('file', '?')} (SHA-256 {got}) (use --force to write anyway)")


def refuse_other_settings(model_dir: str | Path, differences: list[str]) -> None:
    """The one-line refusal to write a validation into a card trained with other settings (``differences``)."""
    raise UserError(f"model in {model_dir} was trained with other settings than the validated ones: "
                    f"{'; '.join(differences)} (use --force to write anyway)")
