"""Cross-match target lists (Gaia DR3 / TIC / KIC / positions) to what ``estimate`` reads.

Services are thin astroquery clients in astroquery's style (configurable base
URL, on-disk cache keyed by the query, retries with backoff); the joining and
the adoption rules are pure functions of the fetched tables, so they are tested
without any network. astroquery/astropy are imported inside functions: ``import
gyroage`` never pulls them in.

Identifiers flow as: TIC/KIC --MAST TIC--> Gaia DR2 id --gaiadr3.dr2_neighbourhood-->
Gaia DR3 ``source_id`` (and back for Gaia inputs, to reach the TESS/Kepler catalogues).
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from gyroage import io
from gyroage.errors import UserError

# ---------------------------------------------------------------- vocabulary
OK = "ok"
NOT_FOUND = "not_found"
NO_PERIOD = "no_period"
AMBIGUOUS = "ambiguous"
INVALID_ID = "invalid_id"
NO_COLOUR = "no_colour"
STATUSES = {
    OK: "matched; adopted period and dereddened colour present",
    NOT_FOUND: "identifier not in the TIC / Gaia DR3 (or nothing within the cone radius)",
    NO_PERIOD: "matched, but no rotation period in any catalogue",
    AMBIGUOUS: "several counterparts and no rule picks one (see README)",
    INVALID_ID: "identifier missing or not an integer / coordinates not finite",
    NO_COLOUR: "matched, but Gaia DR3 has no BP or RP photometry",
}

ID_ALIASES: dict[str, tuple[str, ...]] = {
    "gaia": ("source_id", "gaia_dr3_source_id", "dr3_source_id", "gaiadr3_source_id", "gaia_dr3", "gaiadr3",
             "gaia_source_id", "gaia_id", "gaia"),
    "tic": ("tic", "tic_id", "ticid", "tess_id", "tid"),
    "kic": ("kic", "kic_id", "kicid", "kepid", "kepler_id"),
}
RA_ALIASES = ("ra", "ra_deg", "raj2000", "ra_icrs", "radeg")
DEC_ALIASES = ("dec", "dec_deg", "dej2000", "de_icrs", "decdeg", "de")

ENV = {"gaia": "GYROAGE_GAIA_TAP_URL", "vizier": "GYROAGE_VIZIER_URL", "mast": "GYROAGE_MAST_URL"}
DEFAULT_URLS = {"gaia": "https://gea.esac.esa.int/", "vizier": "https://vizier.cds.unistra.fr",
                "mast": "https://mast.stsci.edu"}

GAIA_BATCH = 500        # ids per IN list (keeps the sync 2000-row cap far away)
CONE_BATCH = 50         # positions per OR'ed CONTAINS query
VIZIER_BATCH = 200      # ids per VizieR list constraint
MAST_BATCH = 200        # ids per MAST filter


@dataclass(frozen=True)
class PeriodCatalogue:
    """A published rotation-period table on VizieR, joined through ``key`` (tic or kic)."""

    name: str            # short name used in column names: prot_<name>_days
    vizier: str          # VizieR table identifier
    key: str             # "tic" or "kic"
    id_column: str       # identifier column in the VizieR table
    period_column: str   # rotation period (days)
    error_column: str | None
    mission: str         # kepler / tess, for the adoption rule
    reference: str


# Adoption order = order of this tuple, then Gaia DR3 (see README "Adopted period").
CATALOGUES: tuple[PeriodCatalogue, ...] = (
    PeriodCatalogue("mcquillan2014", "J/ApJS/211/24/table1", "kic", "KIC", "Prot", "e_Prot", "kepler",
                    "McQuillan, Mazeh & Aigrain 2014, ApJS 211, 24"),
    PeriodCatalogue("santos2021", "J/ApJS/255/17/table1", "kic", "KIC", "Prot", "E_Prot", "kepler",
                    "Santos et al. 2021, ApJS 255, 17"),
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
KEY_ALIASES = {"tic": ("TIC", "TICID", "TIC_ID", "ID"), "kic": ("KIC", "KICID", "KepID", "KIC_ID")}

GAIA_COLUMNS = ("source_id", "ra", "dec", "phot_g_mean_mag", "phot_bp_mean_mag", "phot_rp_mean_mag",
                "phot_bp_mean_flux_over_error", "phot_rp_mean_flux_over_error", "parallax", "parallax_error",
                "ruwe", "ebpminrp_gspphot", "ebpminrp_gspphot_lower", "ebpminrp_gspphot_upper")
# 2.5/ln(10): magnitude error from a flux signal-to-noise ratio.
MAG_PER_FLUX_SNR = 2.5 / math.log(10)


# ---------------------------------------------------------------- cache and retries
class QueryCache:
    """One Parquet file per answered query, named by a hash of (service, query text).

    The URL is deliberately not part of the key: a mirror answers the same query
    with the same rows, so switching mirrors keeps the cache.
    """

    def __init__(self, directory: str | Path | None) -> None:
        self.dir = Path(directory) if directory else None

    def path(self, service: str, query: str) -> Path | None:
        if self.dir is None:
            return None
        digest = hashlib.sha256(f"{service}\n{query}".encode()).hexdigest()[:32]
        return self.dir / service / f"{digest}.parquet"

    def get(self, service: str, query: str) -> pd.DataFrame | None:
        path = self.path(service, query)
        if path is None or not path.is_file():
            return None
        return pd.read_parquet(path)

    def put(self, service: str, query: str, frame: pd.DataFrame) -> None:
        path = self.path(service, query)
        if path is None:
            return
        # Atomic, so a crash never leaves a half-written answer in the cache.
        with io.AtomicWriter(path) as writer:
            writer.write(frame)


def default_cache_dir() -> Path:
    env = os.environ.get("GYROAGE_CACHE_DIR")
    if env:
        return Path(env) / "crossmatch"
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "gyroage" / "crossmatch"


def _transient_errors() -> tuple[type[BaseException], ...]:
    import http.client

    import requests

    errors: list[type[BaseException]] = [OSError, http.client.HTTPException, requests.RequestException]
    try:
        from astroquery.exceptions import RemoteServiceError

        errors.append(RemoteServiceError)
    except ImportError:  # pragma: no cover
        pass
    return tuple(errors)


def _to_frame(table) -> pd.DataFrame:
    """astropy Table -> pandas, masked cells as NaN/None, lower-case column names kept as given."""
    if table is None:
        return pd.DataFrame()
    frame = table.to_pandas() if hasattr(table, "to_pandas") else pd.DataFrame(table)
    for col in frame.columns:
        if frame[col].dtype == object:
            frame[col] = frame[col].map(lambda v: v.decode() if isinstance(v, bytes) else v)
    return frame.reset_index(drop=True)


class Service:
    """Common behaviour: URL from option > environment > default; cache; retries; one-line errors."""

    kind = ""

    def __init__(self, url: str | None = None, cache: QueryCache | None = None, retries: int = 3,
                 backoff: float = 1.0, timeout: float = 120.0) -> None:
        self.url = (url or os.environ.get(ENV[self.kind]) or DEFAULT_URLS[self.kind]).rstrip("/")
        self.cache = cache or QueryCache(None)
        self.retries = max(1, int(retries))
        self.backoff = backoff
        self.timeout = timeout

    def _run(self, query: str, fetch: Callable[[], pd.DataFrame]) -> pd.DataFrame:
        hit = self.cache.get(self.kind, query)
        if hit is not None:
            return hit
        errors = _transient_errors()
        last: BaseException | None = None
        for attempt in range(self.retries):
            if attempt:
                time.sleep(self.backoff * 2 ** (attempt - 1))
            try:
                frame = fetch()
                break
            except errors as exc:  # network, HTTP status, service-side error: retry, then give up cleanly
                last = exc
        else:
            msg = str(last).strip().splitlines()[0] if last and str(last).strip() else type(last).__name__
            where = f"; answers so far are cached in {self.cache.dir}, rerun to resume" if self.cache.dir else ""
            raise UserError(f"{self.kind} service at {self.url} failed after {self.retries} attempts "
                            f"({msg[:200]}){where}")
        self.cache.put(self.kind, query, frame)
        return frame


def _import_gaia_class():
    """``astroquery.gaia`` builds a module-level client that calls ESA and prints to stdout at import.

    Block that one status call (no network at import, nothing on our CSV stdout).
    """
    if "astroquery.gaia.core" in sys.modules:
        return sys.modules["astroquery.gaia.core"].GaiaClass
    import contextlib
    import io as _io

    from astroquery.utils.tap.conn.tapconn import TapConn

    original = TapConn.execute_tapget

    def offline(self, subcontext, *args, **kwargs):
        if "GetNotifications" in str(subcontext):
            raise OSError("status messages skipped")
        return original(self, subcontext, *args, **kwargs)

    TapConn.execute_tapget = offline
    try:
        with contextlib.redirect_stdout(_io.StringIO()):
            from astroquery.gaia.core import GaiaClass
    finally:
        TapConn.execute_tapget = original
    return GaiaClass


class GaiaArchive(Service):
    """Gaia DR3 through astroquery.gaia (TAP sync jobs, VOTable answers)."""

    kind = "gaia"

    def _client(self):
        if not hasattr(self, "_gaia"):
            gaia_class = _import_gaia_class()
            self._gaia = gaia_class(gaia_tap_server=self.url + "/", gaia_data_server=self.url + "/",
                                    show_server_messages=False)
        return self._gaia

    def query(self, adql: str) -> pd.DataFrame:
        def fetch() -> pd.DataFrame:
            job = self._client().launch_job(adql, output_format="votable")
            return _to_frame(job.get_results())

        return self._run(adql, fetch)


class VizierService(Service):
    """VizieR through astroquery.vizier (POST to /viz-bin/votable)."""

    kind = "vizier"

    def _client(self):
        from astroquery.vizier import VizierClass

        base = self.url

        class _Vizier(VizierClass):
            def _server_to_url(self, return_type="votable"):  # the configured URL, http or https
                return f"{base}/viz-bin/{return_type}"

        return _Vizier(columns=["**"], row_limit=-1, timeout=self.timeout)

    def query_ids(self, catalogue: PeriodCatalogue, ids: list[int]) -> pd.DataFrame:
        constraint = ",".join(str(i) for i in ids)
        text = f"-source={catalogue.vizier}&{catalogue.id_column}={constraint}"

        def fetch() -> pd.DataFrame:
            result = self._client().query_constraints(catalog=catalogue.vizier, cache=False,
                                                      **{catalogue.id_column: constraint})
            return _to_frame(result[0]) if len(result) else pd.DataFrame()

        return self._run(text, fetch)


class MastTic(Service):
    """The TESS Input Catalog through astroquery.mast (Mashup portal API)."""

    kind = "mast"

    def _client(self):
        from astroquery.mast import CatalogsClass

        if not hasattr(self, "_catalogs"):
            cat = CatalogsClass()
            portal = cat._portal_api_connection
            # astroquery binds the URLs at import time from conf.server; point this instance elsewhere.
            portal.MAST_REQUEST_URL = self.url + "/api/v0/invoke"
            portal.COLUMNS_CONFIG_URL = self.url + "/portal/Mashup/Mashup.asmx/columnsconfig"
            portal.TIMEOUT = self.timeout
            self._catalogs = cat
        return self._catalogs

    def query(self, column: str, ids: list[int]) -> pd.DataFrame:
        text = f"Mast.Catalogs.Filtered.Tic.Rows {column} in ({','.join(str(i) for i in ids)})"

        def fetch() -> pd.DataFrame:
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # NoResultsWarning: an empty answer is an answer
                table = self._client().query_criteria(catalog="Tic", **{column: [str(i) for i in ids]})
            return _to_frame(table)

        return self._run(text, fetch)


# ---------------------------------------------------------------- queries (pure text)
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


def _batches(values: list[int], size: int) -> Iterable[list[int]]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


SYNC_ROW_CAP = 2000  # astroquery adds TOP 2000 to every sync TAP job


def _gaia_split(services: Services, build: Callable[[list], str], items: list) -> list[pd.DataFrame]:
    """Query ``items`` in one job; a full (possibly truncated) answer is redone as two halves."""
    frame = services.gaia.query(build(items))
    if len(frame) >= SYNC_ROW_CAP and len(items) > 1:
        half = len(items) // 2
        return _gaia_split(services, build, items[:half]) + _gaia_split(services, build, items[half:])
    return [frame]


def _gaia_batched(services: Services, build: Callable[[list], str], items: list, size: int) -> list[pd.DataFrame]:
    return [f for batch in _batches(items, size) for f in _gaia_split(services, build, batch) if len(f)]


# ---------------------------------------------------------------- input detection
@dataclass(frozen=True)
class InputIds:
    kind: str                 # gaia / tic / kic / radec
    column: str | None
    ra_column: str | None = None
    dec_column: str | None = None


def detect_ids(columns: list[str], id_column: str | None = None, id_type: str | None = None) -> InputIds:
    """The identifier column: named with ``id_column`` or found by (case-insensitive) alias."""
    if id_column:
        col = io.find_column(columns, id_column)
        if col is None:
            raise UserError(f"--id-column '{id_column}' is not a column of the input")
        kind = id_type or next((k for k, names in ID_ALIASES.items() if io.find_column([col], *names)), None)
        if kind is None:
            raise UserError(f"cannot tell whether '{col}' holds Gaia DR3, TIC or KIC ids: add --id-type gaia|tic|kic")
        return InputIds(kind, col)
    for kind in ("gaia", "tic", "kic") if id_type is None else (id_type,):
        col = io.find_column(columns, *ID_ALIASES.get(kind, ()))  # "radec" has no id column
        if col is not None:
            return InputIds(kind, col)
    ra, dec = io.find_column(columns, *RA_ALIASES), io.find_column(columns, *DEC_ALIASES)
    if ra and dec and id_type in (None, "radec"):
        return InputIds("radec", None, ra, dec)
    raise UserError("no identifier column: need one of source_id, tic, kic or ra+dec (or name it with --id-column)")


_ID_RE = re.compile(r"^\s*(?:(?:gaia\s*e?dr3|gaia|dr3|tic|kic|kplr)[\s_:-]*)?(\d+)\s*$", re.IGNORECASE)


def parse_ids(values: pd.Series) -> np.ndarray:
    """Integer ids as Int64 (nullable); prefixes like 'TIC ', 'Gaia DR3 ', 'KIC' are accepted."""
    def one(v) -> int | None:
        if v is None or (isinstance(v, float) and not math.isfinite(v)):
            return None
        if isinstance(v, (int, np.integer)):
            return int(v) if v > 0 else None
        if isinstance(v, float):
            return int(v) if v.is_integer() and v > 0 else None
        m = _ID_RE.match(str(v))
        return int(m.group(1)) if m and int(m.group(1)) > 0 else None

    return np.array([one(v) for v in values], dtype=object)


# ---------------------------------------------------------------- settings and run
@dataclass
class CrossmatchSettings:
    extinction: str = "gspphot"            # gspphot | none | column:NAME
    radius_arcsec: float = 2.0
    sources: tuple[str, ...] = DEFAULT_SOURCES   # period sources in adoption order
    id_column: str | None = None
    id_type: str | None = None
    warn_distance_pc: float = 100.0
    messages: list[str] = field(default_factory=list)
    uncorrected_far: int = 0

    def __post_init__(self) -> None:
        unknown = [s for s in self.sources if s != GAIA_SOURCE and s not in CATALOGUE_BY_NAME]
        if unknown or not self.sources:
            known = ", ".join(DEFAULT_SOURCES)
            raise UserError(f"unknown period source '{unknown[0] if unknown else ''}' (known: {known})")

    def extinction_column(self, columns: list[str]) -> str | None:
        mode = self.extinction
        if mode in ("gspphot", "none"):
            return None
        if mode.startswith("column:") and mode[7:]:
            col = io.find_column(columns, mode[7:])
            if col is None:
                raise UserError(f"--extinction {mode}: no column '{mode[7:]}' in the input")
            return col
        raise UserError(f"--extinction must be gspphot, none or column:NAME (got '{mode}')")


@dataclass
class Services:
    gaia: GaiaArchive
    vizier: VizierService
    mast: MastTic

    @classmethod
    def create(cls, gaia_url: str | None = None, vizier_url: str | None = None, mast_url: str | None = None,
               cache_dir: str | Path | None = None, retries: int = 3, backoff: float = 1.0) -> Services:
        cache = QueryCache(cache_dir)
        return cls(GaiaArchive(gaia_url, cache, retries, backoff), VizierService(vizier_url, cache, retries, backoff),
                   MastTic(mast_url, cache, retries, backoff))


def _int_ids(values) -> pd.Series:
    """Exact nullable integers: never via float64, which cannot hold 19-digit Gaia ids."""
    def one(v):
        if v is None or v is pd.NA or (isinstance(v, float) and not v.is_integer()):
            return None
        try:
            return int(str(v).strip()) if not isinstance(v, (int, np.integer, float)) else int(v)
        except ValueError:
            return None

    return pd.Series(pd.array([one(v) for v in values], dtype="Int64"))


def _unique(values: Iterable) -> list[int]:
    return sorted({int(v) for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))})


def _fetch_tic(services: Services, column: str, ids: list[int]) -> pd.DataFrame:
    frames = [services.mast.query(column, batch) for batch in _batches(ids, MAST_BATCH)]
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame(columns=["ID", "KIC", "GAIA", "disposition"])
    tic = pd.concat(frames, ignore_index=True)
    for col in ("ID", "KIC", "GAIA"):
        tic[col] = _int_ids(tic[col]) if col in tic else pd.NA
    if "disposition" not in tic:
        tic["disposition"] = None
    # TIC marks merged/split/artefact duplicates; they never count as a counterpart.
    bad = tic["disposition"].astype(str).str.upper().isin(["DUPLICATE", "ARTIFACT", "SPLIT"])
    return tic[~bad].reset_index(drop=True)


def _fetch_neighbourhood(services: Services, column: str, ids: list[int]) -> pd.DataFrame:
    frames = _gaia_batched(services, lambda b: adql_dr2_neighbourhood(column, b), ids, GAIA_BATCH)
    if not frames:
        return pd.DataFrame(columns=["dr2_source_id", "dr3_source_id", "angular_distance", "magnitude_difference"])
    nb = pd.concat(frames, ignore_index=True)
    for col in ("dr2_source_id", "dr3_source_id"):
        nb[col] = _int_ids(nb[col])
    return nb


def _neighbour(nb: pd.DataFrame, key: str, value: str) -> dict[int, int | str]:
    """``key`` id -> its one ``value`` id in a dr2_neighbourhood answer, or AMBIGUOUS.

    Of several candidates, the one keeping its id from DR2 to DR3 wins.
    """
    groups: dict[int, set[int]] = {}
    for k, v in zip(nb[key], nb[value]):
        if pd.notna(k) and pd.notna(v):
            groups.setdefault(int(k), set()).add(int(v))
    return {k: k if k in vs else (next(iter(vs)) if len(vs) == 1 else AMBIGUOUS) for k, vs in groups.items()}


def _opt_int(v) -> int | None:
    return None if pd.isna(v) else int(v)


def _tic_by(tic: pd.DataFrame, key: str) -> dict[int, tuple[int, int | None, int | None] | str]:
    """``key`` id -> its TIC row as (TIC, KIC, Gaia DR2), or AMBIGUOUS when it has several TIC ids."""
    out: dict[int, tuple[int, int | None, int | None] | str] = {}
    for k, tid, kic, dr2 in zip(tic[key], tic["ID"], tic["KIC"], tic["GAIA"]):
        if pd.isna(k):
            continue
        row = (int(tid), _opt_int(kic), _opt_int(dr2))
        first = out.setdefault(int(k), row)
        if isinstance(first, tuple) and first[0] != row[0]:
            out[int(k)] = AMBIGUOUS
    return out


def resolve(frame: pd.DataFrame, ids: InputIds, services: Services, settings: CrossmatchSettings) -> pd.DataFrame:
    """Per input row: Gaia DR3 source_id, TIC, KIC (nullable) and a provisional status."""
    n = len(frame)
    gaia = np.full(n, None, dtype=object)
    tic = np.full(n, None, dtype=object)
    kic = np.full(n, None, dtype=object)
    status = np.full(n, OK, dtype=object)
    sep = np.full(n, np.nan)

    if ids.kind == "radec":
        ra = io.numeric(frame, ids.ra_column)
        dec = io.numeric(frame, ids.dec_column)
        good = np.isfinite(ra) & np.isfinite(dec) & (np.abs(dec) <= 90)
        status[~good] = INVALID_ID
        gaia, sep, status = _cone_match(ra, dec, good, status, services, settings)
    else:
        parsed = parse_ids(frame[ids.column])
        status[np.array([p is None for p in parsed], dtype=bool)] = INVALID_ID
        {"gaia": gaia, "tic": tic, "kic": kic}[ids.kind][:] = parsed

    if ids.kind in ("tic", "kic"):
        own = tic if ids.kind == "tic" else kic
        col = "ID" if ids.kind == "tic" else "KIC"
        tic_of = _tic_by(_fetch_tic(services, col, _unique(own)), col)
        dr2 = np.full(n, None, dtype=object)
        rows = _look_up(tic_of, own, status)
        for i, row in enumerate(rows):
            if row is not None:
                tic[i], kic[i], dr2[i] = row
        status[(status == OK) & np.array([d is None for d in dr2], dtype=bool)] = NOT_FOUND  # in TIC, no Gaia DR2
        dr3_of = _neighbour(_fetch_neighbourhood(services, "dr2_source_id", _unique(dr2[status == OK])),
                            "dr2_source_id", "dr3_source_id")
        found = _look_up(dr3_of, dr2, status)
        gaia[status == OK] = found[status == OK]
    else:
        # Gaia in: find DR2 ids, then TIC/KIC, only to reach the TESS/Kepler period tables.
        live = [g for g, s in zip(gaia, status) if s == OK]
        back = _neighbour(_fetch_neighbourhood(services, "dr3_source_id", _unique(live)), "dr3_source_id",
                          "dr2_source_id")
        dr2_of = {k: v for k, v in back.items() if v != AMBIGUOUS}
        tic_of = _tic_by(_fetch_tic(services, "GAIA", _unique(dr2_of.values())), "GAIA")
        for i in np.flatnonzero(status == OK):
            row = tic_of.get(dr2_of.get(int(gaia[i]), -1))
            if isinstance(row, tuple):  # several TIC rows: skip the TIC/KIC route, keep Gaia
                tic[i], kic[i], _ = row

    return pd.DataFrame({"source_id": pd.array(gaia, dtype="Int64"), "tic": pd.array(tic, dtype="Int64"),
                         "kic": pd.array(kic, dtype="Int64"), "match_sep_arcsec": sep, "_status": status})


def _look_up(table: dict, keys: np.ndarray, status: np.ndarray) -> np.ndarray:
    """``table[int(key)]`` for each row still ``ok`` (else None); a missing key or an AMBIGUOUS entry sets ``status``."""
    out = np.full(len(keys), None, dtype=object)
    for i in np.flatnonzero(status == OK):
        hit = table.get(int(keys[i]))
        if hit is None:
            status[i] = NOT_FOUND
        elif isinstance(hit, str) and hit == AMBIGUOUS:
            status[i] = AMBIGUOUS
        else:
            out[i] = hit
    return out


def _angsep_arcsec(ra1, dec1, ra2, dec2) -> np.ndarray:
    ra1, dec1, ra2, dec2 = (np.radians(np.asarray(x, dtype=float)) for x in (ra1, dec1, ra2, dec2))
    s = np.sin((dec2 - dec1) / 2) ** 2 + np.cos(dec1) * np.cos(dec2) * np.sin((ra2 - ra1) / 2) ** 2
    return np.degrees(2 * np.arcsin(np.sqrt(np.clip(s, 0, 1)))) * 3600.0


def _cone_match(ra: np.ndarray, dec: np.ndarray, good: np.ndarray, status: np.ndarray, services: Services,
                settings: CrossmatchSettings) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Nearest Gaia DR3 source within the radius of each ``good`` position; ``status`` updated in place."""
    n = len(ra)
    gaia = np.full(n, None, dtype=object)
    sep = np.full(n, np.nan)
    idx = np.flatnonzero(good)
    frames = _gaia_batched(services, lambda b: adql_cone(ra[b], dec[b], settings.radius_arcsec), list(idx),
                           CONE_BATCH)
    src = pd.concat(frames, ignore_index=True).drop_duplicates("source_id") if frames else pd.DataFrame(
        columns=["source_id", "ra", "dec", "phot_g_mean_mag"])
    sid, sra, sdec = src["source_id"].to_numpy(), src["ra"].to_numpy(float), src["dec"].to_numpy(float)
    gmag = pd.to_numeric(src["phot_g_mean_mag"], errors="coerce").to_numpy(float)
    # A source within the radius is within it in dec alone, so each position measures only the sources in
    # its dec window (sorted once), not every source of the chunk; the margin covers rounding.
    by_dec = np.argsort(sdec, kind="stable")
    r_deg = settings.radius_arcsec / 3600.0 * (1 + 1e-6)
    lo = np.searchsorted(sdec[by_dec], dec[idx] - r_deg, side="left")
    hi = np.searchsorted(sdec[by_dec], dec[idx] + r_deg, side="right")
    for i, a, b in zip(idx, lo, hi):
        near = np.sort(by_dec[a:b])  # source order, so ties in distance break as over the whole list
        d = _angsep_arcsec(ra[i], dec[i], sra[near], sdec[near])
        keep = d <= settings.radius_arcsec
        if not keep.any():
            status[i] = NOT_FOUND
            continue
        order = np.argsort(d[keep])
        near, d = near[keep][order], d[keep][order]
        # A second source within the radius and within 1 mag of the nearest could own the period: ambiguous.
        if near.size > 1 and not np.abs(gmag[near[1:]] - gmag[near[0]]).min() > 1.0:
            status[i] = AMBIGUOUS
            continue
        gaia[i] = int(sid[near[0]])
        sep[i] = d[0]
    return gaia, sep, status


def fetch_gaia(services: Services, ids: list[int]) -> pd.DataFrame:
    frames = _gaia_batched(services, adql_gaia_sources, ids, GAIA_BATCH)
    cols = list(GAIA_COLUMNS) + ["best_rotation_period", "best_rotation_period_error"]
    if not frames:
        return pd.DataFrame(columns=cols)
    g = pd.concat(frames, ignore_index=True)
    g["source_id"] = _int_ids(g["source_id"])
    for c in cols[1:]:
        g[c] = pd.to_numeric(g[c], errors="coerce") if c in g else np.nan
    return g.drop_duplicates("source_id")


def fetch_periods(services: Services, cat: PeriodCatalogue, ids: list[int],
                  messages: list[str] | None = None) -> pd.DataFrame:
    """id -> (period, error) for one catalogue; a star listed twice keeps its first row.

    A table without recognisable id/period columns is skipped with a warning rather
    than stopping the run: the other sources still count.
    """
    frames = [services.vizier.query_ids(cat, b) for b in _batches(ids, VIZIER_BATCH)]
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame(columns=["id", "prot", "prot_err"])
    t = pd.concat(frames, ignore_index=True)
    idc = io.find_column(t.columns, *((cat.id_column,) + KEY_ALIASES[cat.key]))
    pc = io.find_column(t.columns, *((cat.period_column,) + PERIOD_ALIASES))
    ec = io.find_column(t.columns, *((cat.error_column,) + PERIOD_ERR_ALIASES))
    if idc is None or pc is None:
        if messages is not None:
            messages.append(f"warning: VizieR table {cat.vizier} has no {cat.id_column}/{cat.period_column} column "
                            f"(got {', '.join(map(str, t.columns[:8]))}); {cat.name} periods skipped")
        return pd.DataFrame(columns=["id", "prot", "prot_err"])
    out = pd.DataFrame({"id": _int_ids(t[idc]),
                        "prot": pd.to_numeric(t[pc], errors="coerce"),
                        "prot_err": pd.to_numeric(t[ec], errors="coerce") if ec else np.nan})
    out = out[out["id"].notna() & (out["prot"] > 0)]
    return out.drop_duplicates("id")


def crossmatch_chunk(frame: pd.DataFrame, ids: InputIds, services: Services,
                     settings: CrossmatchSettings) -> pd.DataFrame:
    """Every input row, in order, plus the columns ``estimate`` reads, candidates and provenance."""
    ext_col = settings.extinction_column(list(frame.columns))
    res = resolve(frame, ids, services, settings)
    status = res["_status"].to_numpy(dtype=object).copy()
    n = len(frame)
    gaia = fetch_gaia(services, _unique(res["source_id"][status == OK].dropna()))
    g = res[["source_id"]].merge(gaia, on="source_id", how="left")
    found = g["phot_g_mean_mag"].notna().to_numpy() | g["phot_bp_mean_mag"].notna().to_numpy()
    status[(status == OK) & ~found] = NOT_FOUND

    bp, rp = g["phot_bp_mean_mag"].to_numpy(float), g["phot_rp_mean_mag"].to_numpy(float)
    bp_rp = bp - rp
    with np.errstate(divide="ignore", invalid="ignore"):
        e_bp = MAG_PER_FLUX_SNR / g["phot_bp_mean_flux_over_error"].to_numpy(float)
        e_rp = MAG_PER_FLUX_SNR / g["phot_rp_mean_flux_over_error"].to_numpy(float)
    colour_err = np.hypot(e_bp, e_rp)
    status[(status == OK) & ~np.isfinite(bp_rp)] = NO_COLOUR

    # Extinction: E(BP-RP) and its uncertainty (half the GSP-Phot 16-84% interval).
    if settings.extinction == "gspphot":
        ebv = g["ebpminrp_gspphot"].to_numpy(float)
        ebv_err = (g["ebpminrp_gspphot_upper"].to_numpy(float) - g["ebpminrp_gspphot_lower"].to_numpy(float)) / 2
        source = np.where(np.isfinite(ebv), "gspphot", "none")
    elif ext_col is not None:
        ebv = io.numeric(frame, ext_col)
        ebv_err = np.full(n, np.nan)
        source = np.where(np.isfinite(ebv), f"column:{ext_col}", "none")
    else:
        ebv, ebv_err, source = np.full(n, np.nan), np.full(n, np.nan), np.full(n, "none", dtype=object)
    applied = np.isfinite(ebv)
    bp_rp0 = bp_rp - np.where(applied, ebv, 0.0)
    bp_rp0_err = np.where(np.isfinite(ebv_err), np.hypot(colour_err, np.nan_to_num(ebv_err)), colour_err)
    plx = g["parallax"].to_numpy(float)
    far = (status == OK) & ~applied & ~(plx > 1000.0 / settings.warn_distance_pc)
    settings.uncorrected_far += int(far.sum())

    # Candidate periods, one column pair per source.
    cands: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for name in settings.sources:
        if name == GAIA_SOURCE:
            cands[name] = (g["best_rotation_period"].to_numpy(float), g["best_rotation_period_error"].to_numpy(float))
            continue
        cat = CATALOGUE_BY_NAME[name]
        key = res[cat.key]
        table = fetch_periods(services, cat, _unique(key[status == OK].dropna()), settings.messages)
        m = pd.DataFrame({"id": key}).merge(table, on="id", how="left")
        cands[name] = (m["prot"].to_numpy(float), m["prot_err"].to_numpy(float))
    prot, prot_err, prot_src, n_cand = adopt(cands, n)
    spread = np.full(n, np.nan)  # how far the other candidates sit from the adopted period
    with np.errstate(invalid="ignore", divide="ignore"):
        for p, _ in cands.values():
            spread = np.fmax(spread, np.abs(p - prot) / prot)
    status[(status == OK) & ~np.isfinite(prot)] = NO_PERIOD

    okish = np.isin(status, [OK, NO_PERIOD])
    out = _input_columns(frame)
    for col in ("source_id", "tic", "kic"):  # nullable int64: exact in CSV and Parquet alike
        out[col] = res[col].array
    out["prot"] = np.where(status == OK, prot, np.nan)
    out["prot_err"] = np.where(status == OK, prot_err, np.nan)
    out["bp_rp0"] = np.where(okish, bp_rp0, np.nan)
    out["bp_rp0_err"] = np.where(okish, bp_rp0_err, np.nan)
    out["prot_source"] = np.where(status == OK, prot_src, "")
    out["prot_n_candidates"] = n_cand
    out["prot_max_rel_diff"] = np.where(status == OK, spread, np.nan)
    for name, (p, e) in cands.items():
        out[f"prot_{name}_days"] = p
        out[f"prot_{name}_err_days"] = e
    out["bp_rp_obs"] = bp_rp
    out["ebp_rp"] = np.where(applied, ebv, np.nan)
    out["ebp_rp_source"] = source
    out["phot_g_mean_mag"] = g["phot_g_mean_mag"].to_numpy(float)
    out["parallax_mas"] = plx
    out["ruwe"] = g["ruwe"].to_numpy(float)
    out["match_sep_arcsec"] = res["match_sep_arcsec"].to_numpy(float)
    out["crossmatch_status"] = status
    return out


def adopt(cands: dict[str, tuple[np.ndarray, np.ndarray]], n: int):
    """First finite positive period in the order of ``cands`` (Kepler, then TESS, then Gaia DR3)."""
    prot = np.full(n, np.nan)
    err = np.full(n, np.nan)
    src = np.full(n, "", dtype=object)
    count = np.zeros(n, dtype=int)
    for name, (p, e) in cands.items():
        has = np.isfinite(p) & (p > 0)
        count += has
        take = has & ~np.isfinite(prot)
        prot[take], err[take], src[take] = p[take], e[take], name
    return prot, err, src, count


def _input_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """Input columns, renamed ``input_<name>`` when ``estimate`` would read them instead of ours."""
    out = frame.reset_index(drop=True)  # a new frame already: no copy needed
    ours = {"source_id", "tic", "kic", "crossmatch_status"}
    rename = {c: f"input_{c}" for c in out.columns if c in ours or io.match_columns([c])}
    return out.rename(columns=rename)


def run_crossmatch(source: str | Path, target: str | Path | None, services: Services,
                   settings: CrossmatchSettings, chunksize: int = 5000, quiet: bool = False) -> Counter:
    """Stream ``source`` through ``crossmatch_chunk`` into ``target`` (atomic); returns status counts."""
    from gyroage.progress import Progress, counts_text

    counts: Counter = Counter()
    progress = Progress("crossmatch", unit="stars", quiet=quiet)
    ids: InputIds | None = None
    with io.AtomicWriter(target) as writer:
        # read_chunks yields at least one chunk; a header-only input gives one without rows, whose
        # output is the header alone.
        for chunk in io.read_chunks(source, chunksize):
            if ids is None:
                ids = detect_ids(list(chunk.columns), settings.id_column, settings.id_type)
                settings.extinction_column(list(chunk.columns))
            out = crossmatch_chunk(chunk, ids, services, settings)  # no rows: no query is sent
            writer.write(out)
            counts.update(out["crossmatch_status"].tolist())
            progress.update(len(chunk))
    if settings.uncorrected_far:
        settings.messages.append(
            f"warning: {settings.uncorrected_far} star(s) beyond {settings.warn_distance_pc:.0f} pc (or without "
            f"parallax) have no extinction correction (--extinction {settings.extinction}); "
            "their bp_rp0 is the observed BP-RP")
    for msg in dict.fromkeys(settings.messages):
        print(f"crossmatch: {msg}", file=sys.stderr, flush=True)
    progress.close(extra=counts_text(counts))
    return counts
