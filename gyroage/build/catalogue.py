"""The open-cluster rotator catalogue: loading, quality selection, training arrays.

The development copy lives at ``../shared/data/open_cluster_rotators.csv``
(Van-Lane et al. 2025); it is read from there or from a path the user gives,
never copied into the repository.
"""

from __future__ import annotations

import contextlib
import functools
import io as _io
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from gyroage.build.catalogue_ages import check_values
from gyroage.build.cluster_names import check_excluded, cluster_key, match_clusters, merge_spellings  # noqa: F401
from gyroage.build.column_hints import period_limit_column, spelt_otherwise
from gyroage.columns import file_has
from gyroage.core.main_sequence import absolute_g
from gyroage.core.stars import limit_flags
from gyroage.csv_layout import NA_TOKENS
from gyroage.errors import UserError
from gyroage.io import numeric, read_table, unparsed

CATALOG_ENV = "GYROAGE_CATALOG"
REQUIRED = ("cluster", "Prot", "BPRP_0", "e_BPRP_0", "fiducial_age_Myr")
MEMBERSHIP = "mem_prob_source"  # the source catalogues' probabilities (HDBSCAN's are missing for a third of stars)
PERIOD_SOURCE = "Prot_source"  # where each period comes from; ';'-joined when several sources agree
PARALLAX = "dr3_parallax_zpt_corrected"  # mas
G0 = "G_0"  # de-reddened apparent Gaia G, mag
# Read where present: membership weights, period sources, magnitudes (training selections and the main-sequence term).
OPTIONAL = (MEMBERSHIP, PERIOD_SOURCE, PARALLAX, G0)
# The main sequence that evolved stars are judged against: clusters old enough for K and early M dwarfs to have
# reached it, young enough that no G dwarf has left it (log10 yr); and the clusters whose stars are judged (log10 yr).
MAIN_SEQUENCE_AGES = (8.0, 9.0)
EVOLVED_MIN_AGE = 9.0
MAIN_SEQUENCE_BIN = 0.1  # mag of (BP-RP)0
TEXT = ("cluster", PERIOD_SOURCE)  # text columns whose missing cells are read as missing
QUALITY_FLAGS = ("cmd_exclude", "dered_exclude", "phot_exclude")
RUWE, RUWE_MAX = "dr3_ruwe", 1.4  # above 1.4: likely an unresolved binary
SELECTION_COLUMNS = (*QUALITY_FLAGS, RUWE)
# Every column read as a number (when present): a cell that is neither a number nor missing is refused in one line.
NUMERIC = ("Prot", "BPRP_0", "e_BPRP_0", "fiducial_age_Myr", MEMBERSHIP, PARALLAX, G0, *SELECTION_COLUMNS)



def default_catalogue_path() -> Path:
    """``$GYROAGE_CATALOG``, else ``../shared/data/open_cluster_rotators.csv`` beside the checkout."""
    env = os.environ.get(CATALOG_ENV)
    if env:
        return Path(env)
    root = Path(__file__).resolve().parents[2]
    return root.parent / "shared" / "data" / "open_cluster_rotators.csv"


def load_catalogue(path: str | Path | None = None, notices: bool = True) -> pd.DataFrame:
    """Read the raw catalogue with :func:`gyroage.io.read_table` (any format and delimiter ``gyroage estimate``
    reads); a missing file or column, or a number column holding text, is a :class:`UserError`.

    ``notices``: print the reader's one-line notices (decimal commas read, units converted) to stderr; off where
    the same catalogue is read again (each leave-one-cluster-out fold).
    """
    return read_selection(path, notices).raw


def read_selection(path: str | Path | None = None, notices: bool = True) -> Selection:
    """The catalogue as :func:`load_catalogue` reads it (with its notices), and its quality selection, worked out once
    for the notices, the rows trained on, the clusters left with none and the summary line (:class:`Selection`)."""
    path = Path(path) if path is not None else default_catalogue_path()
    if not path.is_file():
        raise UserError(f"rotator catalogue not found: {path} (give --catalogue PATH)")
    with contextlib.redirect_stderr(sys.stderr if notices else _io.StringIO()):
        # the columns training reads under their own names, missing text cells NaN (any format stars are read in)
        # a declared age unit (Gyr, yr: FITS, ECSV, MRT, a CSV units row) converted to Myr, as the period's to days
        frame = _text_missing(_canonical_names(read_table(path, roles={"cluster_age": "fiducial_age_Myr"}), path))
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise UserError(f"rotator catalogue {path} lacks column {missing[0]}{spelt_otherwise(missing[0], frame)}"
                        + file_has([c if len(str(c)) <= 30 else f"{str(c)[:27]}..." for c in frame.columns]))
    if frame.empty:  # training divided by the number of stars
        raise UserError(f"rotator catalogue {path} holds no stars (a header and no rows)")
    frame = _numbers(frame, path)
    check_values(frame, path)
    read = frame
    frame = merge_spellings(frame, path, notices)  # before any notice names a cluster
    merged = frame is not read
    if notices:
        _notice_unusable(frame, path)
    negative = np.flatnonzero(frame["e_BPRP_0"].to_numpy(dtype=float) < 0)
    if len(negative):  # no uncertainty is negative: read as missing, so the selection leaves those stars out
        frame.loc[frame.index[negative], "e_BPRP_0"] = np.nan
        if notices:
            one = len(negative) == 1
            print(f"gyroage: rotator catalogue {path}: {len(negative)} negative e_BPRP_0 ({'in' if one else 'the first in'}"
                  f" data row {negative[0] + 1}) read as missing: {'that star is' if one else 'those stars are'} left out",
                  file=sys.stderr, flush=True)
    selection = Selection(frame)  # the frame as returned: no value changes below
    if notices:  # after the negative errors are read as missing: a repeat of such a row is left out as unusable
        _notice_repeated(selection, path)
    limit_col = period_limit_column(frame.columns)
    if notices and limit_col is not None and limit_col.strip()[2:].lower() != "prot":  # as estimate says it
        print(f"gyroage: rotator catalogue {path}: '{limit_col}' read as the limit flags of 'Prot': a row flagged '<' "
              "or '>' is left out", file=sys.stderr, flush=True)
    skipped = [c for c in SELECTION_COLUMNS if c not in frame.columns]
    if skipped and notices:  # the card records the selection applied (selection_applied); the user hears it here
        applied = selection.applied
        print(f"gyroage: rotator catalogue {path} has no column {', '.join(skipped)}: "
              + ("no quality selection is applied" if applied == "none"
                 else f"the quality selection applies {applied} only"), file=sys.stderr, flush=True)
    # what this reading changed of the file's own rows: a fold saved before these rules existed is reused only when
    # neither applied (gyroage.build.loco_checks.read_as_before)
    frame.attrs["read_changes"] = {"spellings_merged": merged, "negative_errors": len(negative),
                                   "period_limits": int(selection.reasons["limits"].sum())}
    return selection


def _notice_unusable(frame: pd.DataFrame, path: Path) -> None:
    """One stderr line for the rows :func:`quality_select` leaves out for an infinite value or a non-positive period
    (a missing cell is no news; a negative e_BPRP_0 has its own notice)."""
    cols = VALUE_COLUMNS
    values = {c: frame[c].to_numpy(dtype=float) for c in cols}
    unusable = {c: np.isinf(v) for c, v in values.items()}
    unusable["Prot"] |= values["Prot"] <= 0
    rows = np.flatnonzero(np.logical_or.reduce(list(unusable.values())))
    if not len(rows):
        return
    first = rows[0]
    col = next(c for c in cols if unusable[c][first])
    one = len(rows) == 1
    print(f"gyroage: rotator catalogue {path}: {len(rows)} row{'' if one else 's'} with an infinite value or a "
          f"non-positive Prot ({'' if one else 'the first: '}data row {first + 1}, cluster "
          f"{frame['cluster'].iloc[first]}, {col} {values[col][first]:g}) left out", file=sys.stderr, flush=True)


def _notice_repeated(selection: Selection, path: Path) -> None:
    """One stderr line for the rows :func:`quality_select` leaves out as repeats (:func:`repeats`; a repeat of a
    flagged or unusable row is left out for that, and was said to be "used once"): it uses each once."""
    frame, rows = selection.raw, np.flatnonzero(selection.reasons["repeats"])
    if len(rows):
        one = len(rows) == 1
        print(f"gyroage: rotator catalogue {path}: {len(rows)} row{'' if one else 's'} repeat{'s' if one else ''} an "
              f"earlier row in every column ({'' if one else 'the first: '}data row {rows[0] + 1}, "
              f"cluster {frame['cluster'].iloc[rows[0]]}): each is used once", file=sys.stderr, flush=True)


def repeats(frame: pd.DataFrame) -> np.ndarray:
    """Which rows repeat an earlier one exactly, in every column (an exact copy; :func:`quality_select` uses each
    once: trained twice, it weighed double). Only an exact copy: distinct stars may agree in every value training
    reads (periods and colours as published, one colour error), and a column training does not read (ra, dec, an
    id) is what tells them apart; a star listed twice with another ``ref`` is used twice (give it once). The loader's
    one rule: :func:`gyroage.build.loco_checks.read_as_before` calls it too."""
    return frame.duplicated().to_numpy(dtype=bool)


def _canonical_names(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    """``frame`` with the columns training reads (:data:`REQUIRED`, :data:`SELECTION_COLUMNS`, :data:`OPTIONAL`) under
    their own names, matched ignoring case (``prot``, ``PROT``: Prot) as ``estimate`` matches a star table's: an exact
    name wins, and two columns that differ from the name, and each other, only in case are refused in one line naming
    both."""
    columns = [str(c) for c in frame.columns]
    renames = {}
    for name in (*REQUIRED, *SELECTION_COLUMNS, *OPTIONAL):
        if name in columns:
            continue
        found = [c for c in columns if c.casefold() == name.casefold()]
        if len(found) > 1:
            raise UserError(f"rotator catalogue {path} has columns {found[0]} and {found[1]}, which differ only in "
                            f"case: rename the one that is not {name}")
        if found:
            renames[found[0]] = name
    return frame.rename(columns=renames) if renames else frame


def _text_missing(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with the missing-value cells (:data:`NA_TOKENS`) of its :data:`TEXT` columns NaN, as pandas'
    own CSV reader gave them (the star reader keeps every cell as text)."""
    frame = frame.copy()
    for col in (c for c in TEXT if c in frame.columns):
        values = frame[col]
        if not pd.api.types.is_numeric_dtype(values):
            blank = values.astype(object).where(values.notna(), "").astype(str).str.strip().str.lower().isin(NA_TOKENS)
            frame[col] = values.astype(object).where(~blank.to_numpy(dtype=bool), np.nan)
    return frame


def _numbers(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    """``frame`` with its :data:`NUMERIC` columns as float64; a cell that is text (``12.5d``) is a one-line
    :class:`UserError` naming it, rather than a ValueError from whichever step first needs the number. A quality
    flag's ``True``/``False`` (any case) is 1/0."""
    frame = frame.copy()
    for col in (c for c in NUMERIC if c in frame.columns):
        if col in QUALITY_FLAGS and pd.api.types.is_bool_dtype(frame[col]):  # Parquet's booleans: a flag is 1/0 here
            frame[col] = frame[col].astype("Float64")  # (a star table's flag is no number where a measurement goes)
        elif col in QUALITY_FLAGS and not pd.api.types.is_numeric_dtype(frame[col]):  # a boolean column saved as text
            text = frame[col].astype(str).str.strip().str.lower()  # (pandas, astropy): read as Parquet's booleans are
            frame[col] = frame[col].mask(text.eq("true"), "1").mask(text.eq("false"), "0")
        # as a star table's columns are read (none of these names carries a unit); a period may be a duration
        numbers = numeric(frame, col, durations=col == "Prot")
        bad = np.flatnonzero(unparsed(frame, col, numbers))
        if len(bad):
            raise UserError(f"rotator catalogue {path}: column {col}, data row {bad[0] + 1} holds "
                            f"'{str(frame[col].iloc[bad[0]]).strip()[:40]}', not a number")
        frame[col] = numbers
    return frame


def selection_applied(columns) -> str:
    """The quality selection :func:`quality_select` applies to a catalogue of these ``columns``, as the model card
    records it (``"none"`` without any of :data:`SELECTION_COLUMNS`)."""
    columns = set(columns)
    parts = [f"{flag}==0" for flag in QUALITY_FLAGS if flag in columns]
    if RUWE in columns:
        parts.append(f"{RUWE}<{RUWE_MAX}")
    return ", ".join(parts) or "none"


FULL_SELECTION = selection_applied(SELECTION_COLUMNS)  # the published one, for a catalogue with every column


def quality_select(frame: pd.DataFrame) -> pd.DataFrame:
    """The published training selection (catalogue README).

    cmd/dered/phot_exclude == 0, RUWE < 1.4 (each where the catalogue has the column: :func:`selection_applied`),
    colour, colour error and a positive period present.
    """
    return Selection(frame).frame


# What a row's value columns must hold to be trained on (a finite number, a positive period), and how it is said
VALUE_COLUMNS = ("Prot", "BPRP_0", "e_BPRP_0", "fiducial_age_Myr")
_UNUSABLE = "missing or unusable Prot, colour, colour error or age"


def _left_out(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """Which rows :func:`quality_select` leaves out, each by its first reason: flagged by the quality columns
    (``flags``), a period limit (``limits``: '<' or '>' in VizieR's ``l_Prot``, read as ``estimate`` reads it, which
    does not date such a row), a missing or unusable value (``values``), a repeat of an earlier row (``repeats``,
    :func:`repeats`: trained twice, it weighed double)."""
    flagged = np.zeros(len(frame), dtype=bool)
    for flag in QUALITY_FLAGS:
        if flag in frame.columns:
            flagged |= frame[flag].fillna(1).to_numpy() != 0
    if RUWE in frame.columns:
        flagged |= ~(frame[RUWE].to_numpy(dtype=float) < RUWE_MAX)
    unusable = ~(frame["Prot"].to_numpy(dtype=float) > 0)
    for col in VALUE_COLUMNS:
        unusable |= ~np.isfinite(frame[col].to_numpy(dtype=float))
    col = period_limit_column(frame.columns)  # l_Prot, or l_Per left beside a Per renamed Prot
    limits = limit_flags(frame[col]) if col else np.zeros(len(frame), bool)
    limits = limits & ~flagged  # a bound, not a period: trained as one, it taught a wrong age
    unusable &= ~flagged & ~limits
    return {"flags": flagged, "limits": limits, "values": unusable,
            "repeats": repeats(frame) & ~flagged & ~limits & ~unusable}


def _why(applied: str) -> dict[str, tuple[str, str]]:
    """Each reason of :func:`_left_out`, worded as the summary counts it ("left out: 6 ...") and as a cluster with
    no star left is told it ("its 4 rows: 4 left out ..."), in that order."""
    flags = f"by the quality flags ({applied})"
    limits = "as period limits (l_Prot '<', '>')"
    return {"flags": (flags, flags), "limits": (limits, limits), "values": (f"with a {_UNUSABLE}", f"for a {_UNUSABLE}"),
            "repeats": ("that repeat an earlier row", "as repeats")}


@dataclass(frozen=True, eq=False)
class Selection:
    """The quality selection of the catalogue ``raw`` (as :func:`load_catalogue` reads it), its reasons worked out
    once (:func:`_left_out`, on first use) for everything a run says and trains on; worded by :func:`_why`.

    ``raw`` is held, not copied, and ``reasons``, ``frame`` and ``clusters_left_out`` are cached when first used:
    change ``raw`` after that and they are stale (select the changed frame anew: ``Selection(raw)``)."""

    raw: pd.DataFrame

    @functools.cached_property
    def reasons(self) -> dict[str, np.ndarray]:
        """Each row's first reason to be left out, by name (:func:`_left_out`)."""
        return _left_out(self.raw)

    @property
    def applied(self) -> str:
        """The quality flags applied (:func:`selection_applied`), as the model card records them."""
        return selection_applied(self.raw.columns)

    @functools.cached_property
    def frame(self) -> pd.DataFrame:
        """The rows kept (:func:`quality_select`)."""
        return self.raw.loc[~np.logical_or.reduce(list(self.reasons.values()))].reset_index(drop=True)

    @functools.cached_property
    def clusters_left_out(self) -> dict[str, str]:
        """The clusters with no star kept, each with why ("its 4 rows: 4 left out by the quality flags (...)"): for
        the one-line refusal of a name given for such a cluster, which was "unknown" though in the file
        (:func:`gyroage.build.cluster_names.match_clusters`)."""
        raw = self.raw
        counts = pd.DataFrame(self.reasons).groupby(raw["cluster"].astype(str).to_numpy()).sum()
        why = {k: words for k, (_, words) in _why(self.applied).items()}
        gone = counts[counts.sum(axis=1) == raw["cluster"].astype(str).value_counts().reindex(counts.index)]
        return {str(name): f"its {int(row.sum())} rows: " + ", ".join(f"{int(row[k])} left out {why[k]}"
                                                                      for k in why if row[k])
                for name, row in gone.iterrows()}

    def summary(self) -> str:
        """One line: how many rows are kept, how many left out and why, and the clusters left with no star (a notice:
        they went without a word)."""
        line = f"catalogue: {len(self.frame):,} of {len(self.raw):,} rows used"
        parts = [f"{int(self.reasons[k].sum()):,} {words}" for k, (words, _) in _why(self.applied).items()
                 if self.reasons[k].any()]
        if parts:
            line += "; left out: " + ", ".join(parts)
        gone = sorted(self.clusters_left_out)
        if gone:
            line += f"; clusters with no star left: {', '.join(gone[:8])}" + (f" and {len(gone) - 8} more"
                                                                             if len(gone) > 8 else "")
        return line


def clusters_left_out(raw: pd.DataFrame) -> dict[str, str]:
    """:attr:`Selection.clusters_left_out` of the catalogue ``raw``."""
    return Selection(raw).clusters_left_out


def selection_summary(raw: pd.DataFrame) -> str:
    """:meth:`Selection.summary` of the catalogue ``raw`` (as :func:`load_catalogue` reads it)."""
    return Selection(raw).summary()


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
    if G0 not in frame.columns or PARALLAX not in frame.columns:
        return None
    return absolute_g(frame[G0], frame.groupby("cluster")[PARALLAX].transform("median"))


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


def val_candidates(data: TrainingSet) -> list[str]:
    """The clusters training may hold out for early stopping: >= 20 members, never the youngest or oldest (no
    extrapolation), youngest first."""
    names, idx, counts = np.unique(data.cluster, return_index=True, return_counts=True)
    order = np.argsort(data.log10_age[idx])
    return [names[i] for i in order[1:-1] if counts[i] >= 20]


def val_clusters_notice(data: TrainingSet, n: int, max_epochs: int | None = None) -> str | None:
    """One line, or None, when ``n_val_clusters`` (``n``) does not hold out for early stopping what it asks, which
    training did silently: more clusters than can be held out of ``data`` (all but one of :func:`val_candidates`);
    none at all (fewer than 2 candidates: training runs all ``max_epochs``); or so many that fewer than half the
    clusters are left to train on. ``n`` 0 asks for none: no line."""
    candidates = len(val_candidates(data))
    most, total = candidates - 1, len(np.unique(data.cluster))
    if n <= 0:
        return None
    if most < 1:
        epochs = "every epoch" if max_epochs is None else f"all {max_epochs} epoch{'' if max_epochs == 1 else 's'}"
        return (f"no cluster can be held out for early stopping (of {total} clusters, {candidates or 'none'} "
                f"ha{'ve' if candidates > 1 else 's'} 20+ members and {'are' if candidates > 1 else 'is'} neither the "
                f"youngest nor the oldest; 2 are needed): training runs {epochs}")
    if n > most:
        return (f"n_val_clusters {n}: only {most} of the {total} clusters can be held out for early stopping (20+ "
                f"members, never the youngest or oldest), leaving {total - most} to train on")
    if 2 * (total - n) < total:
        return (f"n_val_clusters {n} holds out {n} of the {total} clusters for early stopping, leaving {total - n}, "
                "fewer than half, to train on")
    return None


def domain_of(data: TrainingSet) -> dict[str, list[float]]:
    """The valid domain recorded in the model card, from the training arrays.

    Colour and colour error use the 0.5-99.5% range (a few extreme stars should
    not widen the domain); period uses the full range widened by 0.1 dex.
    """
    q = lambda a: [round(float(np.quantile(a, 0.005)), 3), round(float(np.quantile(a, 0.995)), 3)]  # noqa: E731
    err = [round(float(data.bp_rp0_err.min()), 4), round(float(np.quantile(data.bp_rp0_err, 0.995)), 4)]
    # one error for every star (a catalogue without per-star errors, one typical value given) made the range empty,
    # a card no command loads: it spans that value and the next step of its rounding instead
    err[1] = max(err[1], round(err[0] + 1e-4, 4))
    return {
        "bp_rp0": q(data.bp_rp0),
        "bp_rp0_err": err,
        "log10_prot": [round(float(data.log10_prot.min()) - 0.1, 3), round(float(data.log10_prot.max()) + 0.1, 3)],
        "log10_age_trained": [round(float(data.log10_age.min()), 3), round(float(data.log10_age.max()), 3)],
    }
