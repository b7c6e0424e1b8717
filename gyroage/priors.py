"""Age priors on log10 age [yr], shared by the grid posterior and the sampler.

Each prior returns log p(log10 age) up to a constant, -inf outside its bounds.
Densities are per unit log10 age: "uniform in age" therefore carries the
Jacobian d age / d log10 age = age ln 10, i.e. log p = log10_age * ln 10.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gyroage.errors import UserError

LN10 = float(np.log(10.0))


@dataclass(frozen=True)
class Prior:
    """``kind`` is ``uniform_log_age`` (default) or ``uniform_age``; bounds in log10 yr."""

    kind: str = "uniform_log_age"
    log10_age_min: float = 6.0
    log10_age_max: float = 10.0

    def log_prob(self, log10_age: np.ndarray) -> np.ndarray:
        x = np.asarray(log10_age, dtype=float)
        inside = (x >= self.log10_age_min) & (x <= self.log10_age_max)
        if self.kind == "uniform_log_age":
            lp = np.zeros_like(x)
        elif self.kind == "uniform_age":
            lp = LN10 * (x - self.log10_age_max)
        else:
            raise UserError(f"unknown prior {self.kind!r} (choose uniform_log_age or uniform_age)")
        return np.where(inside, lp, -np.inf)


PRIOR_KINDS = ("uniform_log_age", "uniform_age")


def make_prior(kind: str, age_min_myr: float | None, age_max_myr: float | None,
               default_bounds: tuple[float, float]) -> Prior:
    """A prior from CLI-style options; bounds default to the model's age domain."""
    if kind not in PRIOR_KINDS:
        raise UserError(f"unknown prior {kind!r} (choose one of {', '.join(PRIOR_KINDS)})")
    lo = np.log10(age_min_myr * 1e6) if age_min_myr else default_bounds[0]
    hi = np.log10(age_max_myr * 1e6) if age_max_myr else default_bounds[1]
    if not lo < hi:
        raise UserError("--age-min-myr must be below --age-max-myr")
    return Prior(kind, float(lo), float(hi))
