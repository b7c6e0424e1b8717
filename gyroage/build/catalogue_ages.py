"""The training catalogue's ages (``fiducial_age_Myr``): positive, inside the model's age grid, and not in another
unit that happens to fit inside it (Gyr, log10 yr)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from gyroage.defaults import AGE_GRID
from gyroage.errors import UserError


def check_ages(age_myr: np.ndarray, path: Path, clusters: pd.Series) -> None:
    """Ages must be positive and within the model's age grid (:data:`AGE_GRID`): ages in yr or Gyr were taken
    as Myr, and a negative one gave NaN labels."""
    given = np.isfinite(age_myr)
    col = "fiducial_age_Myr"
    bad = np.flatnonzero(given & (age_myr <= 0))
    if len(bad):
        raise UserError(f"rotator catalogue {path}: column {col}, data row {bad[0] + 1} (cluster "
                        f"{clusters.iloc[bad[0]]}) holds {age_myr[bad[0]]:g}, not a positive age in Myr")
    lo, hi = 10 ** (AGE_GRID[0] - 6), 10 ** (AGE_GRID[1] - 6)
    ages = age_myr[given]
    if not len(ages):
        return
    if ages.min() >= lo and ages.max() <= hi:
        _check_age_unit(ages, path)
        return
    # a unit is suggested only when every age would then fit: one stray age among ages in Myr is that row's mistake
    for scale, hint in ((1e-6, "in yr? divide by 1e6"), (1e3, "in Gyr? multiply by 1000")):
        if (ages * scale).min() >= lo and (ages * scale).max() <= hi:
            raise UserError(f"rotator catalogue {path}: ages must be in Myr: column {col} spans {ages.min():.3g}-"
                            f"{ages.max():.3g}, outside the model's age grid ({lo:g}-{hi:g} Myr; {hint})")
    first = np.flatnonzero(given & ((age_myr < lo) | (age_myr > hi)))[0]
    raise UserError(f"rotator catalogue {path}: column {col}, data row {first + 1} (cluster {clusters.iloc[first]}) "
                    f"holds {age_myr[first]:g}, outside the model's age grid ({lo:g}-{hi:g} Myr)")


# Ages inside the grid that are likely in another unit: every one within LOG_AGE_SLIP reads as log10(yr) (7.0-9.4),
# every one at most GYR_SLIP as Gyr (1.0-4.0: old clusters, the x1000 forgotten). No catalogue worth training a
# gyrochronology on holds only clusters younger than 14 Myr (pre-main-sequence stars, whose spin is not yet an age).
LOG_AGE_SLIP = (5.5, 10.3)
GYR_SLIP = 14.0


def _check_age_unit(ages: np.ndarray, path: Path) -> None:
    """Refuse, in one line naming the likely unit, ages (Myr, every one inside the grid) that all look like log10(yr)
    or Gyr: they trained as Myr, without a word."""
    if LOG_AGE_SLIP[0] <= ages.min() and ages.max() <= LOG_AGE_SLIP[1]:
        what, hint = f"{LOG_AGE_SLIP[0]:g}-{LOG_AGE_SLIP[1]:g}", "in log10(yr)? give 10**age / 1e6; in Gyr? multiply by 1000"
    elif ages.max() <= GYR_SLIP:
        what, hint = f"{GYR_SLIP:g} or less", "in Gyr? multiply by 1000"
    else:
        return
    raise UserError(f"rotator catalogue {path}: ages must be in Myr: column fiducial_age_Myr spans {ages.min():.3g}-"
                    f"{ages.max():.3g}, every age {what} ({hint}); a catalogue needs clusters older than "
                    f"{GYR_SLIP:g} Myr")
