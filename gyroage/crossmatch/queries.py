"""What is asked of the services: the period catalogues, the ADQL / VizieR / MAST queries, batching.

Every ``fetch_*`` sends its ids in bounded batches and returns one tidy frame with
exact (nullable Int64) identifiers; the services cache each answered batch.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import numpy as np
import pandas as pd

from gyroage import io
from gyroage.crossmatch.services import Overflow, PeriodCatalogue, Services
from gyroage.errors import UserError
from gyroage.pandas_compat import to_floats

GAIA_BATCH = 500        # ids per IN list (keeps the sync 2000-row cap far away)
CONE_BATCH = 50         # positions per OR'ed CONTAINS query
VIZIER_BATCH = 200      # ids per VizieR list constraint
MAST_BATCH = 200        # ids per MAST filter
SYNC_ROW_CAP = 2000     # astroquery adds TOP 2000 to every sync TAP job
# From 2**53 up a float64 no longer holds every integer: a 19-digit id as a float is some other source's id.
FLOAT_EXACT_LIMIT = 2.0 ** 53


# Adoption order = order of this tuple, then Gaia DR3 (see README "Adopted period").
CATALOGUES: tuple[PeriodCatalogue, ...] = (
    PeriodCatalogue("mcquillan2014", "J/ApJS/211/24/table1", "kic", "KIC", "Prot", "e_Prot", "kepler",
                    "McQuillan, Mazeh & Aigrain 2014, ApJS 211, 24"),
    PeriodCatalogue("santos2021", "J/ApJS/255/17/table1", "kic", "KIC", "Prot", "E_Prot", "kepler",
                    "Santos et al. 2021, ApJS 255, 17"),
    # Santos 2021 holds Kepler's F and G stars (and cool subgiants); its K and M dwarfs are in the 2019 paper's
    # table 3 (the stars with a period). The two share no star, so their order decides nothing.
    PeriodCatalogue("santos2019", "J/ApJS/244/21/table3", "kic", "KIC", "Prot", "E_Prot", "kepler",
                    "Santos et al. 2019, ApJS 244, 21"),
    PeriodCatalogue("holcomb2022", "J/ApJ/936/138/table1", "tic", "TIC", "Prot", "e_Prot", "tess",
                    "Holcomb et al. 2022, ApJ 936, 138"),
)
GAIA_SOURCE = "gaiadr3"
CATALOGUE_BY_NAME = {c.name: c for c in CATALOGUES}
# Default adoption order: Kepler (4-yr light curves, periods to ~70 d) before TESS (27-d sectors,
# periods <~13 d) before Gaia DR3 (sparse epochs, prone to half-period aliases).
DEFAULT_SOURCES = tuple(c.name for c in CATALOGUES) + (GAIA_SOURCE,)
# Spellings tried when a VizieR table does not use the names we expect.
PERIOD_ALIASES = ("Prot", "Per", "Period", "PRot", "P")
PERIOD_ERR_ALIASES = ("e_Prot", "E_Prot", "s_Prot", "e_Per", "e_Period", "sigma_Prot")
TIC_COLUMNS = ("ID", "KIC", "GAIA")  # what a MAST answer must have (any case)
KEY_ALIASES = {"tic": ("TIC", "TICID", "TIC_ID", "ID"), "kic": ("KIC", "KICID", "KepID", "KIC_ID")}

GAIA_COLUMNS = ("source_id", "ra", "dec", "phot_g_mean_mag", "phot_bp_mean_mag", "phot_rp_mean_mag",
                "phot_bp_mean_flux_over_error", "phot_rp_mean_flux_over_error", "parallax", "parallax_error",
                "ruwe", "ebpminrp_gspphot", "ebpminrp_gspphot_lower", "ebpminrp_gspphot_upper", "ag_gspphot")


# ---------------------------------------------------------------- query text
def adql_gaia_sources(ids: Iterable[int]) -> str:
    cols = ", ".join(f"g.{c}" for c in GAIA_COLUMNS)
    return (f"SELECT {cols}, r.best_rotation_period, r.best_rotation_period_error "
            "FROM gaiadr3.gaia_source AS g "
            "LEFT OUTER JOIN gaiadr3.vari_rotation_modulation AS r ON r.source_id = g.source_id "
            f"WHERE g.source_id IN ({', '.join(str(int(i)) for i in ids)})")


def adql_dr2_neighbourhood(column: str, ids: Iterable[int]) -> str:
    return ("SELECT n.dr2_source_id, n.dr3_source_id, n.angular_distance, n.magnitude_difference "
            "FROM gaiadr3.dr2_neighbourhood AS n "
            f"WHERE n.{column} IN ({', '.join(str(int(i)) for i in ids)})")


def adql_cone(ra: np.ndarray, dec: np.ndarray, radius_arcsec: float) -> str:
    r = radius_arcsec / 3600.0
    cones = " OR ".join(f"1 = CONTAINS(POINT('ICRS', g.ra, g.dec), CIRCLE('ICRS', {a:.8f}, {d:.8f}, {r:.8g}))"
                        for a, d in zip(ra, dec))
    return f"SELECT g.source_id, g.ra, g.dec, g.phot_g_mean_mag FROM gaiadr3.gaia_source AS g WHERE {cones}"


# ---------------------------------------------------------------- batching
def _batches(values: list[int], size: int) -> Iterable[list[int]]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


def _gaia_split(services: Services, build: Callable[[list], str], items: list,
                capped: Callable[[], None] | None = None, columns: tuple[str, ...] = ()) -> list[pd.DataFrame]:
    """Query ``items`` in one job; a full (possibly truncated) answer is redone as two halves.

    A single item whose answer is still full cannot be split: it is kept, and ``capped`` is called.
    An answer the service flags as cut at its row limit (Overflow) is split too; for a single item it is kept
    with ``capped`` called when there is one (a cone), else it stops the run. An answer lacking ``columns``
    is not cached (:func:`_has`).
    """
    try:
        frame = services.gaia.query(build(items), _has(columns))
    except Overflow as exc:
        if len(items) == 1 and capped is not None and exc.frame is not None:
            capped()
            return [exc.frame]
        if len(items) == 1:
            raise
        frame = None
    if (frame is None or len(frame) >= SYNC_ROW_CAP) and len(items) > 1:
        half = len(items) // 2
        return (_gaia_split(services, build, items[:half], capped, columns)
                + _gaia_split(services, build, items[half:], capped, columns))
    if len(frame) >= SYNC_ROW_CAP and capped is not None:
        capped()
    return [frame]


def _gaia_batched(services: Services, build: Callable[[list], str], items: list, size: int,
                  capped: Callable[[], None] | None = None, columns: tuple[str, ...] = ()) -> list[pd.DataFrame]:
    return [f for batch in _batches(items, size) for f in _gaia_split(services, build, batch, capped, columns)
            if len(f)]


# ---------------------------------------------------------------- exact identifiers
def float_id(v) -> int | None:
    """The integer a float id holds, where it is exact (below 2**53, whole); None otherwise (NaN included)."""
    v = float(v)
    return int(v) if v.is_integer() and abs(v) < FLOAT_EXACT_LIMIT else None


def int_ids(values) -> pd.Series:
    """Exact nullable integers: never via float64, which cannot hold 19-digit Gaia ids.

    A float at or above 2**53 is missing rather than rounded to another source's id.
    """
    def one(v):
        if v is None or v is pd.NA:
            return None
        if isinstance(v, (float, np.floating)):
            return float_id(v)
        try:
            return int(v) if isinstance(v, (int, np.integer)) else int(str(v).strip())
        except ValueError:
            return None

    return pd.Series(pd.array([one(v) for v in values], dtype="Int64"))


def unique_ids(values: Iterable) -> list[int]:
    """The distinct ids of ``values`` (missing ones skipped), sorted: what a query sends."""
    return sorted({int(v) for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))})


# ---------------------------------------------------------------- fetches
def _has(columns: Iterable[str], find: bool = False) -> Callable[[pd.DataFrame], bool]:
    """Whether an answer may be cached: what :func:`_require` passes (no rows, or every one of ``columns``; ``find``:
    found by :func:`io.find_column`, as MAST's are). One it refuses must never be, or every rerun stops from the cache."""
    columns = tuple(columns)

    def complete(frame: pd.DataFrame) -> bool:
        there = (lambda c: io.find_column(frame.columns, c) is not None) if find else frame.columns.__contains__
        return not len(frame) or all(there(c) for c in columns)

    return complete


def _require(frames: list[pd.DataFrame], columns: Iterable[str], what: str) -> None:
    """A one-line UserError naming the asked-for ``columns`` an answer with rows lacks: the service answered
    something else, and reading on would make every star not_found (or a KeyError)."""
    for f in frames:
        missing = [c for c in columns if c not in f.columns]
        if missing:
            raise UserError(f"{what} answered without the {', '.join(missing)} column{'s' if len(missing) > 1 else ''} "
                            f"asked for{io.file_has(f.columns, 8, '; its columns: ')}")


def fetch_gaia(services: Services, ids: list[int],
               differing: Callable[[list[int]], None] | None = None) -> pd.DataFrame:
    """Gaia DR3 photometry, astrometry, GSP-Phot extinction and rotation period of each id.

    One row a source: a row without a source_id is dropped; of several rows for one, the first is kept, and
    ``differing`` is told the ids whose rows differ (identical copies say nothing).
    """
    cols = list(GAIA_COLUMNS) + ["best_rotation_period", "best_rotation_period_error"]
    frames = _gaia_batched(services, adql_gaia_sources, ids, GAIA_BATCH, columns=tuple(cols))
    if not frames:
        return pd.DataFrame(columns=cols)
    _require(frames, cols, "Gaia (gaiadr3.gaia_source)")
    g = _sources(frames)
    for c in cols[1:]:
        g[c] = to_floats(g[c]) if c in g else np.nan
    return _first_of_each(g, cols, differing)


def fetch_cone_sources(services: Services, ra: np.ndarray, dec: np.ndarray, radius_arcsec: float,
                       warn: Callable[[str], None] | None = None,
                       differing: Callable[[list[int]], None] | None = None) -> pd.DataFrame:
    """Gaia DR3 sources (id, ra, dec, G) within ``radius_arcsec`` of any of the positions (:func:`_sources`).

    A single cone whose answer fills the sync row cap may lack sources (its nearest among them): ``warn`` is told.
    A row without a finite ra and dec is dropped, as one without a source_id is; of several rows for one source the
    first is kept, and ``differing`` told the ids whose rows differ (a source in two batches' cones comes back
    twice, identical, and says nothing).
    """
    def capped() -> None:
        if warn is not None:
            warn(f"warning: a cone of {radius_arcsec:g} arcsec filled Gaia's sync row cap ({SYNC_ROW_CAP} rows): "
                 "sources in it may be missing and its match may be wrong; use a smaller --radius-arcsec")

    cols = ["source_id", "ra", "dec", "phot_g_mean_mag"]
    frames = _gaia_batched(services, lambda b: adql_cone(ra[b], dec[b], radius_arcsec), list(range(len(ra))),
                           CONE_BATCH, capped, tuple(cols))
    if not frames:
        return pd.DataFrame(columns=cols)
    _require(frames, cols, "Gaia (cone search)")
    src = _sources(frames)
    # a row without a position cannot place its source: kept first, it would hide the complete copy after it
    placed = np.isfinite(to_floats(src["ra"])) & np.isfinite(to_floats(src["dec"]))
    return _first_of_each(src[placed], cols, differing)


def _first_of_each(src: pd.DataFrame, cols: list[str], differing: Callable[[list[int]], None] | None) -> pd.DataFrame:
    """The first row of each source of ``src``; ``differing`` is told the ids whose rows differ in ``cols``."""
    copies = src.loc[src["source_id"].duplicated(keep=False), cols].drop_duplicates()
    if differing is not None and copies["source_id"].duplicated().any():
        differing(copies.loc[copies["source_id"].duplicated(), "source_id"].unique().tolist())
    return src.drop_duplicates("source_id")


def _sources(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Gaia answers as one frame of sources: ``source_id`` as exact integers (Int64), rows without one dropped. A
    row without an id is no source: kept, its NA made the batch's ids floats, each rounded to another source's, and
    merged on the id it became every unmatched input row's."""
    src = pd.concat(frames, ignore_index=True)
    src["source_id"] = int_ids(src["source_id"])
    return src[src["source_id"].notna()]


def fetch_neighbourhood(services: Services, column: str, ids: list[int]) -> pd.DataFrame:
    """``gaiadr3.dr2_neighbourhood`` rows whose ``column`` (dr2_source_id or dr3_source_id) is in ``ids``."""
    cols = ["dr2_source_id", "dr3_source_id", "angular_distance", "magnitude_difference"]
    frames = _gaia_batched(services, lambda b: adql_dr2_neighbourhood(column, b), ids, GAIA_BATCH, columns=tuple(cols))
    if not frames:
        return pd.DataFrame(columns=cols)
    _require(frames, cols, "Gaia (gaiadr3.dr2_neighbourhood)")
    nb = pd.concat(frames, ignore_index=True)
    for col in ("dr2_source_id", "dr3_source_id"):
        nb[col] = int_ids(nb[col])
    return nb


def fetch_tic(services: Services, column: str, ids: list[int],
              warn: Callable[[str], None] | None = None) -> pd.DataFrame:
    """TIC rows (ID, KIC, GAIA = DR2 id, disposition) whose ``column`` is in ``ids``; duplicates dropped.

    ``warn`` is told of ids whose only TIC rows are flagged (and so are not_found), with the entry a DUPLICATE
    was merged into (the TIC's duplicate_id) when the answer gives it.
    """
    frames = [services.mast.query(column, batch, _has(TIC_COLUMNS, find=True)) for batch in _batches(ids, MAST_BATCH)]
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame(columns=["ID", "KIC", "GAIA", "disposition"])
    tic = pd.concat(frames, ignore_index=True)
    # MAST's names, found in any case (and under name_key's spelling rules), renamed to these.
    found = {name: io.find_column(tic.columns, name) for name in ("ID", "KIC", "GAIA", "disposition")}
    tic = tic.rename(columns={col: name for name, col in found.items() if col is not None and col != name})
    _require([tic], TIC_COLUMNS, "MAST (TIC)")
    for col in ("ID", "KIC", "GAIA"):
        tic[col] = int_ids(tic[col])
    if "disposition" not in tic:
        tic["disposition"] = None
    # TIC marks merged/split/artefact duplicates; they never count as a counterpart.
    bad = tic["disposition"].astype(str).str.upper().isin(["DUPLICATE", "ARTIFACT", "SPLIT"])
    if warn is not None and bad.any():
        _warn_flagged(tic, bad, column, warn)
    return tic[~bad].reset_index(drop=True)


def _warn_flagged(tic: pd.DataFrame, bad: pd.Series, column: str, warn: Callable[[str], None]) -> None:
    """One warning naming (up to 5) TIC rows that were some id's only match, and what each points to."""
    lost = tic[bad & ~tic[column].isin(set(tic.loc[~bad, column].dropna()))]
    if lost.empty:
        return
    dup_col = io.find_column(tic.columns, "duplicate_id")
    dups = int_ids(lost[dup_col]) if dup_col else pd.Series(pd.NA, index=range(len(lost)), dtype="Int64")
    named = [f"TIC {tid} ({str(disp).upper()}" + (f" of TIC {dup})" if pd.notna(dup) else ")")
             for tid, disp, dup in zip(lost["ID"], lost["disposition"], dups)]
    more = f" and {len(named) - 5} more" if len(named) > 5 else ""
    warn(f"warning: {', '.join(named[:5])}{more} flagged in the TIC: not matched (not_found); "
         "give the TIC entry a duplicate points to")


def _vizier_split(services: Services, cat: PeriodCatalogue, ids: list[int]) -> list[pd.DataFrame]:
    """One VizieR answer for ``ids``; one cut at VizieR's row limit (Overflow) is asked again in halves."""
    def complete(f: pd.DataFrame) -> bool:  # cached only if fetch_periods reads it (a table without columns: never)
        return None not in _period_columns(cat, f)[:2]

    try:
        return [services.vizier.query_ids(cat, ids, complete)]
    except Overflow:
        if len(ids) == 1:
            raise
        half = len(ids) // 2
        return _vizier_split(services, cat, ids[:half]) + _vizier_split(services, cat, ids[half:])


def _period_columns(cat: PeriodCatalogue, t: pd.DataFrame) -> tuple[str | None, str | None, str | None]:
    """The id, period and period-error columns of a VizieR answer (by their names or an alias), None where absent."""
    return (io.find_column(t.columns, *((cat.id_column,) + KEY_ALIASES[cat.key])),
            io.find_column(t.columns, *((cat.period_column,) + PERIOD_ALIASES)),
            io.find_column(t.columns, *((cat.error_column,) + PERIOD_ERR_ALIASES)))


def fetch_periods(services: Services, cat: PeriodCatalogue, ids: list[int]) -> pd.DataFrame:
    """id -> (period, error) for one catalogue; a star listed twice keeps its first row.

    A table without a recognisable id or period column stops the run with one line naming
    the catalogue and the columns it lacks: skipping it would silently give no periods.
    """
    # An answer without columns matched no star and names none: nothing to check it against.
    frames = [f for b in _batches(ids, VIZIER_BATCH) for f in _vizier_split(services, cat, b) if len(f.columns)]
    if not frames:
        return pd.DataFrame(columns=["id", "prot", "prot_err"])
    # A table answered carries its columns, rows or none: check them even when no star matched.
    t = pd.concat(frames, ignore_index=True)
    idc, pc, ec = _period_columns(cat, t)
    missing = [name for name, col in ((cat.id_column, idc), (cat.period_column, pc)) if col is None]
    if missing:
        raise UserError(f"VizieR table {cat.vizier} ({cat.name}) has no {' or '.join(missing)} column "
                        f"(nor an alias){io.file_has(t.columns, 8, '; its columns: ')}")
    out = pd.DataFrame({"id": int_ids(t[idc]),
                        "prot": to_floats(t[pc]),
                        "prot_err": to_floats(t[ec]) if ec else np.nan})
    out = out[out["id"].notna() & (out["prot"] > 0)]
    return out.drop_duplicates("id")
