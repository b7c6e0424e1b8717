"""What :meth:`gyroage.AgeModel.estimate` does around :func:`gyroage.core.estimate.estimate_chunk`: the warnings the
command line prints on stderr, and the rows that key mcmc draws. Kept apart so that :mod:`gyroage.core.api` stays short.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from gyroage.core.arguments import warn_caller
from gyroage.core.estimate import EstimateSettings, narrow_prior_note
from gyroage.core.priors import grid_step_note


def warn_grid_step(settings: EstimateSettings, narrow: list[tuple[int, float]] | None = None) -> None:
    """A UserWarning where the grid cannot resolve the prior (:func:`grid_step_note`; the command line says it on
    stderr); per-star widths as :func:`estimate_chunk`'s ``on_prior_widths`` gave them (``narrow``). Not for the
    sampler, whose chains are not on the grid."""
    if settings.prior.sigma_column is not None:  # per-star widths: counted as the engines count them
        note = narrow_prior_note(settings, narrow) if narrow is not None else None
    else:
        note = grid_step_note(settings.prior, settings.n_grid) if settings.method == "grid" else None
    if note:
        warn_caller(f"gyroage: {note}")


def index_rows(index: pd.Index) -> np.ndarray | None:
    """``index`` as the rows keying mcmc draws when it holds whole numbers >= 0, all different; else None (by position:
    labels that are no row numbers, or shared by two stars, which would then share their draws; a nullable Int64
    index with a missing label, which has no row number to give)."""
    if not (pd.api.types.is_integer_dtype(index) and not index.hasnans and index.is_unique
            and (len(index) == 0 or 0 <= index.min() <= index.max() <= np.iinfo(np.int64).max)):
        return None
    return index.to_numpy(dtype=np.int64)
