"""The torch half of leave-one-cluster-out validation: train one fold, score its held-out stars.

Kept apart from :mod:`gyroage.build.loco` (numpy only) because it imports torch.
A fold trains with :func:`gyroage.build.training.train_flow` on every quality-selected
star except one cluster, then evaluates the flow's log density (no outlier
term) of each held-out star on the validation age grid. The grid of
log-likelihoods is all the later analysis needs, so outlier weights, priors and
summaries can change without retraining.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch

from gyroage.build.catalogue import training_set
from gyroage.build.loco_checks import code_version, read_hashed, rows_sha256
from gyroage.build.training import TrainSettings, grid_log_prob, train_flow
from gyroage.core.posterior import age_grid
from gyroage.errors import UserError
from gyroage.files import atomic_path, json_text


def full_train_dict(overrides: dict | None = None) -> dict:
    """TrainSettings defaults updated by ``overrides`` (``flow`` merged), one thread per fold."""
    o = dict(overrides or {})
    base = TrainSettings().to_dict()
    base["flow"].update(o.pop("flow", {}))
    base.update(o, threads=1)  # two folds share two cores
    # through TrainSettings and back: an unknown field fails early, and a default spelled out in a config
    # (reference "none", say) gives the same dict, so the same fold key, as leaving it out
    return TrainSettings.from_dict(base).to_dict()


def ignore_interrupts() -> None:
    """A fold worker's initializer: Ctrl-C is the main process's to handle (it ends the workers)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


def run_fold(task: dict) -> dict:
    """Train without ``task['cluster']`` and save its stars' likelihood grid to ``task['path']``.

    ``task`` holds plain values only (it crosses a process boundary): catalogue,
    cluster, path, grid [lo, hi, n], train (TrainSettings as a dict), key, catalog_sha256 (the
    catalogue's SHA-256: with the key and the SHA-256 of the stars read from it, what identifies the fold), gyroage
    (:func:`gyroage.build.loco_checks.code_version` of the run: a worker whose own differs stops the run).
    """
    torch.set_num_threads(1)
    start = time.perf_counter()
    # this process's own code: a spawned worker imports gyroage from disk, which a git pull may have changed since
    # the run began, and a fold labelled with the run's code was then reused as its own (review V55, 1)
    code = code_version()
    if code != task["gyroage"]:
        raise UserError(f"gyroage's code changed during the run (a gyroage/*.py file differs from the run's start; "
                        f"fold {task['cluster']}): run it again")
    selection, sha = read_hashed(task["catalogue"], notices=False)
    if sha != task["catalog_sha256"]:  # its rows would be scored against the run's reading of other bytes (V55, 3)
        raise UserError(f"the catalogue {task['catalogue']} changed while validate ran (fold {task['cluster']} read "
                        "other bytes than the run's first reading): run it again once it is written")
    frame = selection.frame
    data = training_set(frame)
    held = data.cluster == task["cluster"]
    result = train_flow(data.subset(~held), TrainSettings.from_dict(task["train"]), quiet=True)
    grid = age_grid(*task["grid"])
    test = data.subset(held)
    ll = grid_log_prob(result.model, test.log10_prot, test.bp_rp0, test.bp_rp0_err, grid)
    meta = {
        "cluster": task["cluster"], "key": task["key"], "catalog_sha256": task["catalog_sha256"],
        "rows_sha256": rows_sha256(data),  # what it trained and scored on: a new reading of the file retrains it
        "gyroage": code,  # the code that trained it (version, source SHA-256): other code's is trained again
        "n_stars": int(held.sum()),
        "best_epoch": result.best_epoch, "val_clusters": result.val_clusters,
        "train_seconds": round(result.seconds, 1), "seconds": round(time.perf_counter() - start, 1),
    }
    if result.trimmed:
        meta["trimmed"] = result.trimmed
    path = Path(task["path"])
    # Atomic: a fold file either exists complete or not at all, so a killed run resumes cleanly.
    with atomic_path(path, suffix=".npz") as tmp:
        np.savez_compressed(tmp, loglike=ll.astype(np.float32), grid=grid, source_row=np.flatnonzero(held),
                            meta=json_text(meta))
    return meta
