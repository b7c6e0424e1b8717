"""Reference spin-down laws m(log10 age, (BP-RP)0) the flow can model residuals about.

With a reference, the flow's target is r = log10 Prot - m(log10 age, colour).
Given the context this is a shift (Jacobian 1), so the density of log10 Prot
is the flow's density of r. The law carries the smooth, known part of the age
dependence, which the conditioner would otherwise have to interpolate between
clusters. Every law has one form,

    m = n (max(log10 age, a0) - 9) + b0 + b1 x + b2 x**2,  x = clip((BP-RP)0, *COLOUR_RANGE) - 1,

so it is stored in a model as four numbers (n, b0, b1, b2), or five with an
onset a0 (without one, a0 = -inf: the law acts at every age):

- ``skumanich``: n = 0.5, b = 0 (P ~ t**0.5, colour-independent);
- ``skumanich_late``: m = 0.5 max(log10 age - a0, 0) (n = 0.5, b0 = 0.5 (9 - a0),
  b1 = b2 = 0), a0 = FlowConfig.reference_onset: spin-down only once the slow
  sequence has formed, so the law leaves the young, unconverged stars alone;
- ``fitted``: least squares to the training clusters' median log10 Prot in
  colour bins (clusters >= 100 Myr, colours in COLOUR_RANGE: the slow
  sequence), so it sees only the data it is trained on (LOCO folds too).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from gyroage.build.catalogue import TrainingSet

KINDS = ("none", "skumanich", "skumanich_late", "fitted")
# log10 yr (500 Myr): the default onset of ``skumanich_late``.
DEFAULT_ONSET = 8.7
# Colours where clusters >= 100 Myr have a converged slow sequence (FGK, early M);
# the fitted law is flat in colour outside, never an extrapolated polynomial.
COLOUR_RANGE = (0.5, 2.0)
FIT_MIN_LOG10_AGE = 8.0
FIT_BIN_WIDTH = 0.1
FIT_MIN_STARS = 5


def n_coefficients(kind: str) -> int:
    """How many numbers store the law ``kind``: five with an onset, else four."""
    return 5 if kind == "skumanich_late" else 4


def shift(coef: Tensor, log10_age: Tensor, bp_rp0: Tensor) -> Tensor:
    """m(log10 age, colour) for coefficients (n, b0, b1, b2[, a0]); torch, elementwise."""
    x = torch.clamp(bp_rp0, *COLOUR_RANGE) - 1.0
    if len(coef) == 5:
        log10_age = torch.clamp(log10_age, min=coef[4])
    return coef[0] * (log10_age - 9.0) + coef[1] + x * (coef[2] + x * coef[3])


def _design(log10_age: np.ndarray, bp_rp0: np.ndarray) -> np.ndarray:
    x = np.clip(bp_rp0, *COLOUR_RANGE) - 1.0
    return np.column_stack([log10_age - 9.0, np.ones_like(x), x, x * x])


def reference_coefficients(kind: str, data: TrainingSet, onset: float = DEFAULT_ONSET) -> list[float]:
    """The law ``kind`` as (n, b0, b1, b2[, a0]); ``fitted`` is fitted to ``data`` alone.

    ``onset``: a0 (log10 yr) of ``skumanich_late``; ignored by the other kinds.
    """
    if kind == "skumanich":
        return [0.5, 0.0, 0.0, 0.0]
    if kind == "skumanich_late":
        # b0 makes m zero before the onset, as written in the module docstring.
        return [0.5, 0.5 * (9.0 - onset), 0.0, 0.0, float(onset)]
    if kind != "fitted":
        raise ValueError(f"unknown reference law {kind!r}; expected one of {KINDS}")
    lo, hi = COLOUR_RANGE
    sel = (data.log10_age >= FIT_MIN_LOG10_AGE) & (data.bp_rp0 >= lo) & (data.bp_rp0 < hi)
    cluster, age, colour, prot = data.cluster[sel], data.log10_age[sel], data.bp_rp0[sel], data.log10_prot[sel]
    # One point per (cluster, colour bin): the median is the slow sequence where it has formed,
    # and rich clusters do not outweigh sparse ones within a bin.
    bin_ = np.floor((colour - lo) / FIT_BIN_WIDTH).astype(int)
    cid = np.unique(cluster, return_inverse=True)[1]
    _, inv, counts = np.unique(cid * 1000 + bin_, return_inverse=True, return_counts=True)
    rows = [np.flatnonzero(inv == k) for k in np.flatnonzero(counts >= FIT_MIN_STARS)]
    if len(rows) < 4:
        raise ValueError("too few cluster colour bins >= 100 Myr to fit the reference law")
    a = np.array([np.median(age[r]) for r in rows])
    c = np.array([np.median(colour[r]) for r in rows])
    y = np.array([np.median(prot[r]) for r in rows])
    coef, *_ = np.linalg.lstsq(_design(a, c), y, rcond=None)
    return [float(v) for v in coef]
