"""Reference spin-down laws m(log10 age, (BP-RP)0) the flow can model residuals about.

With a reference, the flow's target is r = log10 Prot - m(log10 age, colour).
Given the context this is a shift (Jacobian 1), so the density of log10 Prot
is the flow's density of r. The law carries the smooth, known part of the age
dependence, which the conditioner would otherwise have to interpolate between
clusters. Every law has one form,

    m = n (log10 age - 9) + b0 + b1 x + b2 x**2,  x = clip((BP-RP)0, *COLOUR_RANGE) - 1,

so it is stored in a model as four numbers (n, b0, b1, b2):

- ``skumanich``: n = 0.5, b = 0 (P ~ t**0.5, colour-independent);
- ``fitted``: least squares to the training clusters' median log10 Prot in
  colour bins (clusters >= 100 Myr, colours in COLOUR_RANGE: the slow
  sequence), so it sees only the data it is trained on (LOCO folds too).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from gyroage.build.catalogue import TrainingSet

KINDS = ("none", "skumanich", "fitted")
# Colours where clusters >= 100 Myr have a converged slow sequence (FGK, early M);
# the fitted law is flat in colour outside, never an extrapolated polynomial.
COLOUR_RANGE = (0.5, 2.0)
FIT_MIN_LOG10_AGE = 8.0
FIT_BIN_WIDTH = 0.1
FIT_MIN_STARS = 5


def shift(coef: Tensor, log10_age: Tensor, bp_rp0: Tensor) -> Tensor:
    """m(log10 age, colour) for coefficients (n, b0, b1, b2); torch, elementwise."""
    x = torch.clamp(bp_rp0, *COLOUR_RANGE) - 1.0
    return coef[0] * (log10_age - 9.0) + coef[1] + x * (coef[2] + x * coef[3])


def _design(log10_age: np.ndarray, bp_rp0: np.ndarray) -> np.ndarray:
    x = np.clip(bp_rp0, *COLOUR_RANGE) - 1.0
    return np.column_stack([log10_age - 9.0, np.ones_like(x), x, x * x])


def reference_coefficients(kind: str, data: TrainingSet) -> list[float]:
    """The law ``kind`` as (n, b0, b1, b2); ``fitted`` is fitted to ``data`` alone."""
    if kind == "skumanich":
        return [0.5, 0.0, 0.0, 0.0]
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
