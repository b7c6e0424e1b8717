"""The training catalogue's values: a cluster name on every row, colours and periods in a plausible range, and ages
(``fiducial_age_Myr``) positive, inside the model's age grid, and not in another unit that happens to fit inside it
(Gyr, log10 yr); each cluster's F, G and K dwarfs spinning as periods in days and its age allow (not hours, not an
old cluster aged in Gyr)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from gyroage.defaults import AGE_GRID
from gyroage.errors import UserError

# Finite values beyond these are refused, not trained on: one such star moved the colour scaling or the card's period
# domain. Wide enough for every star of the published catalogue (its (BP-RP)0 reaches -1.54 for a star with a
# 0.64 mag error, its periods span 0.036-418 d); a period under 0.01 d (14 min) is faster than any star can spin.
PLAUSIBLE = {"BPRP_0": (-2.0, 6.0, "mag"), "Prot": (0.01, 1000.0, "d")}


def check_values(frame: pd.DataFrame, path: Path) -> None:
    """One-line :class:`UserError` for a value no training step can use, naming the first offending row."""
    names = frame["cluster"]
    nameless = np.flatnonzero(names.isna().to_numpy(dtype=bool)
                              | names.astype(object).fillna("").astype(str).str.strip().eq("").to_numpy(dtype=bool))
    if len(nameless):  # a NaN cluster was a TypeError when training sorted the names
        raise UserError(f"rotator catalogue {path}: column cluster, data row {nameless[0] + 1} has no cluster name "
                        f"({len(nameless)} such row{'s' if len(nameless) > 1 else ''})")
    check_ages(frame["fiducial_age_Myr"].to_numpy(dtype=float), path, names)
    # the unit first: a catalogue in hours was refused for its one row beyond 1000 "d", the user told to mend that row
    # (review V43, 8); the clusters' medians are not moved by a few extreme rows
    check_spin_units(frame, path)
    for col, (lo, hi, unit) in PLAUSIBLE.items():
        values = frame[col].to_numpy(dtype=float)
        # a missing or infinite value, or a non-positive period, is left out with a notice (_notice_unusable)
        judged = np.isfinite(values) & ((values > 0) if col == "Prot" else True)
        bad = np.flatnonzero(judged & ((values < lo) | (values > hi)))
        if len(bad):
            raise UserError(f"rotator catalogue {path}: column {col}, data row {bad[0] + 1} (cluster "
                            f"{names.iloc[bad[0]]}) holds {values[bad[0]]:g}, outside the plausible range "
                            f"{lo:g} to {hi:g} {unit}")
    err = frame["e_BPRP_0"].to_numpy(dtype=float)
    advice = "give each star's (BP-RP)0 error, or one typical value (such as 0.02 mag) where none is known"
    if not np.isfinite(err).any():  # every star then left out: "no star passes the quality selection" said why not
        raise UserError(f"rotator catalogue {path}: column e_BPRP_0 is empty: a model needs each star's colour error "
                        f"(a star without one is left out); {advice}")
    err = err[np.isfinite(err) & (err >= 0)]  # a negative error is read as missing, with its own notice
    if len(err) and np.median(err) == 0:  # the card's default error (their median) 0: export and load refused it
        raise UserError(f"rotator catalogue {path}: column e_BPRP_0 is 0 for "
                        f"{'every star' if err.max() == 0 else 'most stars'} ({(err == 0).sum():,} of {len(err):,}): a "
                        f"model needs a positive colour error (its default for stars given none); {advice}")


# Each cluster's F, G and K dwarfs ((BP-RP)0 in FGK_BAND, at least FGK_MIN_STARS of them) have a median period that
# grows with age (magnetic braking spins every such dwarf down, P ~ t^0.5 from ~100 Myr; younger ones are still held
# near their disc-era 2-3 d), so a median above what any cluster of its labelled age reaches is a unit slip that fits
# inside PLAUSIBLE: periods in hours, or the age of an old cluster in Gyr. SPIN_CEILINGS_D: for a label under each
# age, twice the slowest such median of the shared catalogue's clusters up to that age (rounded up): h Per 2.96 d
# (15 Myr) -> 6 d; the Pleiades 4.39 d (97 Myr) -> 9 d; NGC 6811 10.9 d (1004 Myr, just past the bound: the slowest
# under 1 Gyr, Praesepe 9.34 d, would give 19 d) -> 22 d; M67
# 25.6 d (3.87 Gyr) -> 52 d (the Sun 25 d at 4.6 Gyr; P ~ t^0.5 gives 37 d at 10 Gyr, the age grid's end). A reading
# (hours, Gyr) is named when it brings the median inside its ceiling and above SPIN_FLOOR_D, half the fastest median
# published (NGC 2547 2.1 d): a cluster's median cannot tell the two apart when both fit, so both are named.
FGK_BAND, FGK_MIN_STARS = (0.6, 1.5), 5
SPIN_CEILINGS_D = ((15.0, 6.0), (100.0, 9.0), (1000.0, 22.0), (np.inf, 52.0))
SPIN_FLOOR_D = 1.0


def spin_ceiling(age_myr: np.ndarray) -> np.ndarray:
    """The largest median period (d) of F, G and K dwarfs a cluster labelled ``age_myr`` may have
    (:data:`SPIN_CEILINGS_D`)."""
    return np.array([c for _, c in SPIN_CEILINGS_D])[_ceiling_index(age_myr)]


def _ceiling_index(age_myr) -> np.ndarray:
    """The row of :data:`SPIN_CEILINGS_D` a label ``age_myr`` falls in (its bound and ceiling both read from it)."""
    bounds = np.array([b for b, _ in SPIN_CEILINGS_D])
    return np.searchsorted(bounds, np.asarray(age_myr, dtype=float), side="right").clip(max=len(bounds) - 1)


def check_spin_units(frame: pd.DataFrame, path: Path) -> None:
    """One-line :class:`UserError` when a cluster's F, G and K dwarfs spin slower than any cluster of its labelled
    age does (:data:`SPIN_CEILINGS_D`), naming the slips that fit (an age in log10(yr), periods in hours, an age in
    Gyr): each trained without a word and dated the Sun at 20-30 Myr (reviews V40, 1-2; V43, 1-2 and 6; V44, 1)."""
    prot, colour = frame["Prot"].to_numpy(dtype=float), frame["BPRP_0"].to_numpy(dtype=float)
    fgk = (colour > FGK_BAND[0]) & (colour < FGK_BAND[1]) & (prot > 0) & np.isfinite(prot)
    if not fgk.any():
        return
    stars = pd.DataFrame({"cluster": frame["cluster"].astype(str).to_numpy()[fgk], "prot": prot[fgk],
                          "age": frame["fiducial_age_Myr"].to_numpy(dtype=float)[fgk]})
    by = stars.groupby("cluster").agg(n=("prot", "size"), prot=("prot", "median"), age=("age", "median"))
    by = by[(by["n"] >= FGK_MIN_STARS) & np.isfinite(by["age"])]
    excess = by["prot"] / spin_ceiling(by["age"].to_numpy())
    if not len(by) or excess.max() <= 1:
        return
    name = excess.idxmax()
    n, p, age = by.loc[name, ["n", "prot", "age"]]
    bound, ceiling = SPIN_CEILINGS_D[int(_ceiling_index(age))]  # by row: two equal ceilings would give one bound
    under = f"labelled under {bound:g} Myr" if np.isfinite(bound) else "at any age up to 10 Gyr"
    readings = []
    # hours first: a real 10 Myr cluster in hours also fits the log10(yr) reading (review V45, 4)
    if SPIN_FLOOR_D <= p / 24 <= ceiling:
        readings.append("periods in hours? give days (divide by 24)")
    # a label of 6-10 read as log10(yr) (Praesepe 8.856): only "x1000" was said, and following it trained Praesepe at
    # 8.9 Gyr (review V44, 1); named before Gyr, as Gyr labels of 6-10 are rare among open clusters
    if AGE_GRID[0] <= age <= AGE_GRID[1] and p <= float(spin_ceiling(10 ** (age - 6))):
        readings.append(f"an age in log10(yr)? give 10**age / 1e6 ({10 ** (age - 6):.0f} Myr)")
    if age * 1e3 <= 10 ** (AGE_GRID[1] - 6) and p <= float(spin_ceiling(age * 1e3)):
        readings.append("an age in Gyr? give fiducial_age_Myr in Myr")
    advice = "; or ".join(readings) or "check its periods (days) and its age (Myr)"
    raise UserError(f"rotator catalogue {path}: column Prot: cluster {name} is labelled {age:g} Myr, but its {int(n)} "
                    f"stars at (BP-RP)0 {FGK_BAND[0]:g}-{FGK_BAND[1]:g} have a median period of {p:.3g} d, above the "
                    f"{ceiling:g} d no cluster {under} reaches: {advice}")


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


# A catalogue whose every age is at most YOUNG_ONLY Myr cannot teach spin-down (pre-main-sequence stars, whose spin
# is not yet an age): refused, leading with that, with the likely unit slips named. Gyr (1.0-4.0: old clusters, the
# x1000 forgotten) always fits; log10(yr) (7.0-9.4) only when every age lies in LOG_AGE_SLIP and one is not a whole
# number (ages of 6, 8 and 10 Myr are young clusters, not 1 Myr, 100 Myr and 10 Gyr).
LOG_AGE_SLIP = (5.5, 10.3)
YOUNG_ONLY = 14.0


def _check_age_unit(ages: np.ndarray, path: Path) -> None:
    """Refuse, in one line, ages (Myr, every one inside the grid) that are all :data:`YOUNG_ONLY` or less: saying
    why first, then the likely unit (Gyr; log10(yr) as :data:`LOG_AGE_SLIP` says): they trained as Myr, without a
    word."""
    if ages.max() > YOUNG_ONLY:
        return
    hint = "if these are Gyr, multiply by 1000"
    if LOG_AGE_SLIP[0] <= ages.min() and ages.max() <= LOG_AGE_SLIP[1] and np.any(ages != np.round(ages)):
        hint += "; if log10(yr), give 10**age / 1e6"
    raise UserError(f"rotator catalogue {path}: column fiducial_age_Myr spans {ages.min():.3g}-{ages.max():.3g} Myr: "
                    f"every age is {YOUNG_ONLY:g} Myr or less, and training needs clusters older than that to learn "
                    f"spin-down; {hint}")
