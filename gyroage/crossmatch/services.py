"""The services: Gaia DR3 (TAP), VizieR and the MAST TIC, as thin astroquery clients.

Each has a base URL (option > environment variable > default), the on-disk query cache
and retries with backoff; a service still failing stops the run with one line.
astroquery is imported inside the methods: ``import gyroage`` never pulls it in.
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from gyroage import io
from gyroage.errors import UserError

if TYPE_CHECKING:
    from gyroage.crossmatch.queries import PeriodCatalogue

ENV = {"gaia": "GYROAGE_GAIA_TAP_URL", "vizier": "GYROAGE_VIZIER_URL", "mast": "GYROAGE_MAST_URL"}
DEFAULT_URLS = {"gaia": "https://gea.esac.esa.int/", "vizier": "https://vizier.cds.unistra.fr",
                "mast": "https://mast.stsci.edu"}


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
