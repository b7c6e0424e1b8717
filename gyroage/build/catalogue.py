"""The open-cluster rotator catalogue: loading, quality selection, training arrays.

The development copy lives at ``../shared/data/open_cluster_rotators.csv``
(Van-Lane et al. 2025); it is read from there or from a path the user gives,
never copied into the repository.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from gyroage.core.main_sequence import absolute_g
from gyroage.errors import UserError

CATALOG_ENV = "GYROAGE_CATALOG"
REQUIRED = ("cluster", "Prot", "BPRP_0", "e_BPRP_0", "fiducial_age_Myr")
MEMBERSHIP = "mem_prob_source"  # the source catalogues' probabilities (HDBSCAN's are missing for a third of stars)
PERIOD_SOURCE = "Prot_source"  # where each period comes from; ';'-joined when several sources agree
PARALLAX = "dr3_parallax_zpt_corrected"  # mas
# The main sequence that evolved stars are judged against: clusters old enough for K and early M dwarfs to have
# reached it, young enough that no G dwarf has left it (log10 yr); and the clusters whose stars are judged (log10 yr).
MAIN_SEQUENCE_AGES = (8.0, 9.0)
EVOLVED_MIN_AGE = 9.0
MAIN_SEQUENCE_BIN = 0.1  # mag of (BP-RP)0


def default_catalogue_path() -> Path:
    """``$GYROAGE_CATALOG``, else ``../shared/data/open_cluster_rotators.csv`` beside the checkout."""
    env = os.environ.get(CATALOG_ENV)
    if env:
        return Path(env)
    root = Path(__file__).resolve().parents[2]
    return root.parent / "shared" / "data" / "open_cluster_rotators.csv"


def load_catalogue(path: str | Path | None = None) -> pd.DataFrame:
    """Read the raw catalogue; a missing file or column is a :class:`UserError`."""
    path = Path(path) if path is not None else default_catalogue_path()
    if not path.is_file():
        raise UserError(f"rotator catalogue not found: {path} (give --catalogue PATH)")
    frame = pd.read_csv(path)
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise UserError(f"rotator catalogue {path} lacks column {missing[0]}")
    # a missing age only drops its stars (quality_select), but 0 or below is no age: its log10 made the training
    # normalisation -inf, and every later number NaN
    age = pd.to_numeric(frame["fiducial_age_Myr"], errors="coerce")
    bad = age <= 0
    if bad.any():
        first = frame.loc[bad].iloc[0]
        raise UserError(f"rotator catalogue {path}: fiducial_age_Myr must be positive, not {age[bad].iloc[0]:g} "
                        f"(cluster {first['cluster']}, {int(bad.sum())} row(s))")
    return frame


def quality_select(frame: pd.DataFrame) -> pd.DataFrame:
    """The published training selection (catalogue README).

    cmd/dered/phot_exclude == 0, RUWE < 1.4, colour, colour error and a
    positive period present.
    """
    keep = np.ones(len(frame), dtype=bool)
    for flag in ("cmd_exclude", "dered_exclude", "phot_exclude"):
        if flag in frame.columns:
            keep &= frame[flag].fillna(1).to_numpy() == 0
    if "dr3_ruwe" in frame.columns:
        keep &= frame["dr3_ruwe"].to_numpy(dtype=float) < 1.4
    for col in ("Prot", "BPRP_0", "e_BPRP_0", "fiducial_age_Myr"):
        keep &= np.isfinite(frame[col].to_numpy(dtype=float))
    keep &= frame["Prot"].to_numpy(dtype=float) > 0
    return frame.loc[keep].reset_index(drop=True)


@dataclass(frozen=True)
class TrainingSet:
    """Arrays the flow is trained on, one entry per star."""

    log10_prot: np.ndarray
    log10_age: np.ndarray
    bp_rp0: np.ndarray
    bp_rp0_err: np.ndarray
    cluster: np.ndarray
    # the source catalogue's membership probability (1 where it gives none): a loss weight, if asked for
    membership: np.ndarray | None = None
    # each period's source as the catalogue writes it ('' where it gives none): for a training selection, if asked for
    period_source: np.ndarray | None = None
    # absolute G magnitude at the cluster's median parallax (NaN where unknown): for a training selection, if asked for
    abs_mag_g: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.membership is None:
            object.__setattr__(self, "membership", np.ones(len(self.log10_prot)))
        if self.period_source is None:
            object.__setattr__(self, "period_source", np.full(len(self.log10_prot), "", dtype=object))
        if self.abs_mag_g is None:
            object.__setattr__(self, "abs_mag_g", np.full(len(self.log10_prot), np.nan))

    def __len__(self) -> int:
        return len(self.log10_prot)

    def subset(self, mask: np.ndarray) -> TrainingSet:
        return TrainingSet(*(getattr(self, f)[mask] for f in self.__dataclass_fields__))

    @property
    def clusters(self) -> list[str]:
        return sorted(set(self.cluster.tolist()))


def training_set(frame: pd.DataFrame) -> TrainingSet:
    """Training arrays from a quality-selected frame (log10 age in years)."""
    return TrainingSet(
        log10_prot=np.log10(frame["Prot"].to_numpy(dtype=float)),
        log10_age=np.log10(frame["fiducial_age_Myr"].to_numpy(dtype=float) * 1e6),
        bp_rp0=frame["BPRP_0"].to_numpy(dtype=float),
        bp_rp0_err=frame["e_BPRP_0"].to_numpy(dtype=float),
        cluster=frame["cluster"].astype(str).to_numpy(),
        membership=np.nan_to_num(frame[MEMBERSHIP].to_numpy(dtype=float), nan=1.0) if MEMBERSHIP in frame.columns
        else None,
        period_source=frame[PERIOD_SOURCE].fillna("").astype(str).to_numpy(dtype=object) if PERIOD_SOURCE in frame.columns
        else None,
        abs_mag_g=cluster_absolute_g(frame),
    )


def cluster_absolute_g(frame: pd.DataFrame) -> np.ndarray | None:
    """M_G from G_0 at the cluster's median parallax (one star's parallax is too noisy at 2.5 kpc); NaN where the
    cluster's median parallax is not positive, None without the columns."""
    if "G_0" not in frame.columns or PARALLAX not in frame.columns:
        return None
    return absolute_g(frame["G_0"], frame.groupby("cluster")[PARALLAX].transform("median"))


def main_sequence_curve(bp_rp0: np.ndarray, abs_g: np.ndarray, log10_age: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(bin centres, median M_G) of the stars aged :data:`MAIN_SEQUENCE_AGES`, per :data:`MAIN_SEQUENCE_BIN` of
    (BP-RP)0: the main sequence, linear between the centres (empty without such stars)."""
    lo, hi = MAIN_SEQUENCE_AGES
    ref = (log10_age >= lo) & (log10_age <= hi) & np.isfinite(abs_g) & np.isfinite(bp_rp0)
    bins = np.floor(bp_rp0[ref] / MAIN_SEQUENCE_BIN).astype(np.int64)
    ms = pd.Series(abs_g[ref]).groupby(bins).median()
    return (ms.index.to_numpy(dtype=float) + 0.5) * MAIN_SEQUENCE_BIN, ms.to_numpy(dtype=float)


def above_main_sequence(data: TrainingSet) -> np.ndarray:
    """How many magnitudes each star lies above (brighter than) the main sequence at its colour (NaN where unknown).

    The main sequence is :func:`main_sequence_curve` of ``data``'s own stars.
    """
    centres, mags = main_sequence_curve(data.bp_rp0, data.abs_mag_g, data.log10_age)
    if not len(centres):
        return np.full(len(data), np.nan)
    return np.interp(data.bp_rp0, centres, mags) - data.abs_mag_g


def evolved_stars(data: TrainingSet, mag: float) -> np.ndarray:
    """Which stars of clusters labelled >= 1 Gyr lie more than ``mag`` above the main sequence (subgiants, whose
    periods are not a dwarf's)."""
    with np.errstate(invalid="ignore"):
        return (data.log10_age >= EVOLVED_MIN_AGE) & (above_main_sequence(data) > mag)


def without_evolved(data: TrainingSet, mag: float) -> TrainingSet:
    """``data`` without its :func:`evolved_stars`; ``mag`` <= 0 keeps every star."""
    return data if mag <= 0 else data.subset(~evolved_stars(data, mag))


def sole_source_stars(data: TrainingSet, sources: tuple[str, ...]) -> np.ndarray:
    """Which stars have a period from one of ``sources`` alone, in a cluster that also has periods from elsewhere
    (a cluster whose periods all come from those sources has none)."""
    sole = np.isin(data.period_source, list(sources))
    return sole & np.isin(data.cluster, np.unique(data.cluster[~sole]))


def without_sole_sources(data: TrainingSet, sources: tuple[str, ...]) -> TrainingSet:
    """``data`` without its :func:`sole_source_stars`; no ``sources`` keeps every star."""
    return data.subset(~sole_source_stars(data, sources)) if sources else data


def cluster_table(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per cluster: members after selection and fiducial age (Myr)."""
    return (
        frame.groupby("cluster")
        .agg(n_stars=("Prot", "size"), age_myr=("fiducial_age_Myr", "median"))
        .sort_values("age_myr")
        .reset_index()
    )


def domain_of(data: TrainingSet) -> dict[str, list[float]]:
    """The valid domain recorded in the model card, from the training arrays.

    Colour and colour error use the 0.5-99.5% range (a few extreme stars should
    not widen the domain); period uses the full range widened by 0.1 dex.
    """
    q = lambda a: [round(float(np.quantile(a, 0.005)), 3), round(float(np.quantile(a, 0.995)), 3)]  # noqa: E731
    return {
        "bp_rp0": q(data.bp_rp0),
        "bp_rp0_err": [round(float(data.bp_rp0_err.min()), 4), round(float(np.quantile(data.bp_rp0_err, 0.995)), 4)],
        "log10_prot": [round(float(data.log10_prot.min()) - 0.1, 3), round(float(data.log10_prot.max()) + 0.1, 3)],
        "log10_age_trained": [round(float(data.log10_age.min()), 3), round(float(data.log10_age.max()), 3)],
    }


# The sequence domain: where the training data constrain an age from a period (see sequence_domain).
SEQUENCE_BIN_MAG = 0.2
SEQUENCE_MIN_MEMBERS = 5        # members of a cluster in a colour bin for it to count there
SEQUENCE_MIN_SLOPE = 0.3        # d median log10 Prot / d log10 age (dex/dex) among clusters >= 100 Myr
SEQUENCE_PERIOD_PAD_DEX = 0.1   # beyond the 0.5-99.5% period range of a colour bin


def sequence_domain(data: TrainingSet) -> dict:
    """Where the training clusters constrain an age from a period, per colour bin, for the model card.

    For each (BP-RP)0 bin of ``SEQUENCE_BIN_MAG`` mag: the log-age range spanned
    by clusters with at least ``SEQUENCE_MIN_MEMBERS`` members in the bin, and
    the 0.5-99.5% range of log10 Prot widened by ``SEQUENCE_PERIOD_PAD_DEX``.
    The blue edge (the Kraft break) is the bluest bin from which on the median
    period of clusters >= 100 Myr grows with age by at least
    ``SEQUENCE_MIN_SLOPE`` dex per dex: bluer stars keep their spin and their
    period carries no age. Bins with too few clusters to measure a slope are
    kept when a redder bin has one (M dwarfs), and their age range then marks
    where no cluster reaches.
    """
    lo, hi = domain_of(data)["bp_rp0"]
    edges = SEQUENCE_BIN_MAG * np.arange(np.floor(lo / SEQUENCE_BIN_MAG), np.ceil(hi / SEQUENCE_BIN_MAG) + 1)
    which = np.digitize(data.bp_rp0, edges) - 1
    age_lo, age_hi, p_lo, p_hi, slope = [], [], [], [], []
    for b in range(len(edges) - 1):
        sel = which == b
        names, inv = np.unique(data.cluster[sel], return_inverse=True)
        counts = np.bincount(inv, minlength=len(names))
        ages = np.array([np.median(data.log10_age[sel][inv == k]) for k in range(len(names))])
        meds = np.array([np.median(data.log10_prot[sel][inv == k]) for k in range(len(names))])
        rich = counts >= SEQUENCE_MIN_MEMBERS
        age_lo.append(float(ages[rich].min()) if rich.any() else np.nan)
        age_hi.append(float(ages[rich].max()) if rich.any() else np.nan)
        lp = data.log10_prot[sel]
        p_lo.append(float(np.quantile(lp, 0.005)) - SEQUENCE_PERIOD_PAD_DEX if sel.any() else np.nan)
        p_hi.append(float(np.quantile(lp, 0.995)) + SEQUENCE_PERIOD_PAD_DEX if sel.any() else np.nan)
        old = rich & (ages >= 8.0)
        slope.append(float(np.polyfit(ages[old], meds[old], 1)[0]) if old.sum() >= 3 else np.nan)
    slope = np.array(slope)
    steep = np.flatnonzero(slope >= SEQUENCE_MIN_SLOPE)
    blue = float(edges[steep[0]]) if len(steep) else float(edges[0])
    r = lambda v: [round(float(x), 3) + 0.0 if np.isfinite(x) else None for x in v]  # noqa: E731  (None: strict JSON)
    return {
        "colour_edges": r(edges), "log10_age_min": r(age_lo), "log10_age_max": r(age_hi),
        "log10_prot_min": r(p_lo), "log10_prot_max": r(p_hi), "period_age_slope": r(slope),
        "kraft_break_bp_rp0": round(blue, 3),
        "rule": (f"colour bins of {SEQUENCE_BIN_MAG} mag; ages spanned by clusters with >= {SEQUENCE_MIN_MEMBERS} "
                 f"members in the bin; periods 0.5-99.5% +- {SEQUENCE_PERIOD_PAD_DEX} dex; blue edge where the median "
                 f"period of clusters >= 100 Myr grows by >= {SEQUENCE_MIN_SLOPE} dex per dex of age"),
    }
