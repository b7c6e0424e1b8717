"""The services: Gaia DR3 (TAP sync over requests), VizieR and the MAST TIC (thin astroquery clients).

Each has a base URL (option > environment variable > default), the on-disk query cache
and retries with backoff; a service still failing stops the run with one line.
An answer is cached only once it is known complete: a VOTable's QUERY_STATUS notes are read
(ERROR: retried; OVERFLOW: the caller splits its batch), and an unreadable answer is retried.
astroquery and requests are imported inside the methods: ``import gyroage`` never pulls them in.
"""

from __future__ import annotations

import functools
import hashlib
import math
import numbers
import os
import re
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from gyroage import notices, writers
from gyroage.crossmatch.answers import (
    IncompleteAnswer,
    Overflow,
    describe_failure,
    read_votable,
    retry_after,
    to_frame,
    transient_errors,
)
from gyroage.defaults import CROSSMATCH_CACHE_DIR
from gyroage.errors import UserError


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


ENV = {"gaia": "GYROAGE_GAIA_TAP_URL", "vizier": "GYROAGE_VIZIER_URL", "mast": "GYROAGE_MAST_URL"}
DEFAULT_URLS = {"gaia": "https://gea.esac.esa.int/", "vizier": "https://vizier.cds.unistra.fr",
                "mast": "https://mast.stsci.edu"}


class QueryCache:
    """One Parquet file per answered query, named by a hash of (service, its URL, query text).

    The URL is part of the key: a mirror, a test server or a private copy may answer the same query with
    other rows, and a run must never take another service's answers while its record names the URL given.
    """

    # Part of every key: raise it when what is stored for a query changes (2: an answer that
    # matched no row keeps its table's columns), so older answers are fetched again, not misread.
    FORMAT = 2

    def __init__(self, directory: str | Path | None) -> None:
        self.dir = Path(directory) if directory else None

    def path(self, service: str, url: str, query: str) -> Path | None:
        if self.dir is None:
            return None
        digest = hashlib.sha256(f"{service}\n{url}\n{query}\n{self.FORMAT}".encode()).hexdigest()[:32]
        return self.dir / service / f"{digest}.parquet"

    def get(self, service: str, url: str, query: str) -> pd.DataFrame | None:
        path = self.path(service, url, query)
        if path is None or not path.is_file():
            return None
        try:
            return pd.read_parquet(path)
        except Exception:  # noqa: BLE001 -- cut short, empty, not Parquet: a miss; put() replaces it
            return None

    def put(self, service: str, url: str, query: str, frame: pd.DataFrame) -> None:
        path = self.path(service, url, query)
        if path is None:
            return
        # Atomic, so a crash never leaves a half-written answer in the cache.
        with writers.AtomicWriter(path) as writer:
            writer.write(frame)


def default_cache_dir() -> Path:
    """The query cache when --cache-dir is not given (README, "Services")."""
    env = os.environ.get("GYROAGE_CACHE_DIR")
    if env:
        return Path(env) / "crossmatch"
    xdg = os.environ.get("XDG_CACHE_HOME")
    return Path(xdg) / "gyroage" / "crossmatch" if xdg else Path(CROSSMATCH_CACHE_DIR).expanduser()


def check_url(url: str, name: str) -> str:
    """``url`` with its scheme and host in lower case, if it is an http(s) URL with a host and nothing but a
    path after it; else a one-line UserError naming ``name`` (option or variable)."""
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018 -- a port that is not a number raises here, not deep inside astroquery
    except ValueError:
        parts = None
    if parts is None or parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise UserError(f"{name} {url!r} is not a URL: give http://host[:port][/path] or https://...")
    # The clients add their own paths and forms to the URL: a query or fragment would be lost or misplaced,
    # and credentials would be sent in the clear to every mirror the URL names (astroquery refused them late).
    for there, what in ((parts.query, "a query (?...)"), (parts.fragment, "a fragment (#...)"),
                        (parts.username is not None or parts.password is not None, "a user name or password")):
        if there:
            raise UserError(f"{name} {url!r} has {what}: give http://host[:port][/path] or https://...")
    # the scheme (and host) in any case: HTTPS:// is https, not plain http on port 80
    return urllib.parse.urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path, "", ""))


def normal_url(url: str) -> str:
    """A :func:`check_url`-checked URL (scheme and host in lower case) less a default port and trailing slashes:
    one service spelled two ways keys the same cached answers."""
    parts = urllib.parse.urlsplit(url)
    default = {"http": 80, "https": 443}[parts.scheme]
    host = parts.netloc.removesuffix(f":{default}") if parts.port == default else parts.netloc
    return urllib.parse.urlunsplit((parts.scheme, host, parts.path.rstrip("/"), "", ""))


class Service:
    """Common behaviour: URL from option > environment > default; cache; retries; one-line errors."""

    kind = ""

    def __init__(self, url: str | None = None, cache: QueryCache | None = None, retries: int = 3,
                 backoff: float = 1.0, timeout: float = 120.0) -> None:
        given = url or os.environ.get(ENV[self.kind])
        self.url = check_url(given or DEFAULT_URLS[self.kind], f"--{self.kind}-url" if url else ENV[self.kind]).rstrip("/")
        # Checked here, not at the first failure: 0 attempts would query nothing, and a nan or infinite
        # backoff would be a traceback from time.sleep only once a service had already failed.
        if not (isinstance(retries, numbers.Integral) and retries >= 1):
            raise UserError(f"--retries must be a whole number of at least 1, not {retries}")
        if not (isinstance(backoff, numbers.Real) and math.isfinite(backoff) and backoff >= 0):
            raise UserError(f"--backoff must be a finite number of seconds >= 0, not {backoff}")
        self.cache = cache or QueryCache(None)
        self.retries = int(retries)
        self.backoff = float(backoff)
        self.timeout = timeout

    @property
    def cache_url(self) -> str:
        """The URL the cache keys this service's answers by (:func:`normal_url`)."""
        return normal_url(self.url)

    def _run(self, query: str, fetch: Callable[[], pd.DataFrame],
             complete: Callable[[pd.DataFrame], bool] | None = None) -> pd.DataFrame:
        """The answer to ``query``: cached, else fetched (retried) and cached when ``complete`` (the caller's check of
        its columns, which stops the run on one that fails it) passes."""
        hit = self.cache.get(self.kind, self.cache_url, query)
        if hit is not None:
            return hit
        errors = transient_errors()
        last: BaseException | None = None
        for attempt in range(self.retries):
            if attempt:  # the backoff, or longer when the service said when to come back (429, 503)
                time.sleep(max(self.backoff * 2 ** (attempt - 1), retry_after(last)))
            try:
                frame = fetch()
                break
            except errors as exc:  # network, HTTP status, service-side error: retry, then give up cleanly
                last = exc
        else:
            where = f"; answers so far are cached in {self.cache.dir}, rerun to resume" if self.cache.dir else ""
            attempts = f"{self.retries} attempt{'s' if self.retries > 1 else ''}"
            raise UserError(f"{self.kind} service at {self.url} failed after {attempts} ({describe_failure(last)}){where}")
        # An answer without even columns (a VizieR answer with no table) says nothing for sure: used, not kept. One
        # lacking a column asked for stops the run: kept, every rerun would stop from the cache, whatever answers now.
        if len(frame.columns) and (complete is None or complete(frame)):
            self.cache.put(self.kind, self.cache_url, query, frame)
        return frame


# astroquery's TAP+ client put TOP 2000 into every sync query; kept, so the service is asked what it was asked.
_SYNC_TOP = 2000
_SELECT = re.compile(r"^\s*SELECT\s+(?:(?:ALL|DISTINCT)\s+)?", re.IGNORECASE)


def with_top(adql: str, top: int = _SYNC_TOP) -> str:
    """``adql`` with ``TOP top`` after its SELECT (and ALL/DISTINCT), unless it has a TOP already."""
    if re.search(r"\bTOP\s+\d+", adql, re.IGNORECASE):
        return adql
    m = _SELECT.match(adql)
    # spaced as astroquery spaced it ("SELECT  TOP 2000 ..."): the same text as before reaches the service
    return f"{adql[:m.end()]} TOP {top} {adql[m.end():]}" if m else adql


class GaiaArchive(Service):
    """Gaia DR3 by TAP sync jobs (VOTable answers) at ``<url>/sync`` (``<url>/tap-server/tap/sync`` for a URL
    without a path, as ESA's), over requests.

    Not astroquery's TAP+ client: its http.client connection has no timeout, it ignores the QUERY_STATUS
    notes, and it drops the answer's bytes. astroquery.gaia is never imported either: at import it builds a
    client that fetches ESA's status messages and prints them on stdout (astroquery#3343).
    """

    kind = "gaia"

    @property
    def tap_url(self) -> str:
        """The TAP service asked: the URL when it names the service's path; ESA's ``/tap-server/tap`` under it when
        it has none (what the run's record names: the URL as given was not the service queried)."""
        path = urllib.parse.urlsplit(self.url).path.rstrip("/")
        return self.url if path else self.url + "/tap-server/tap"

    @property
    def cache_url(self) -> str:
        """The TAP service asked, not the URL given: ESA's with or without its ``/tap-server/tap`` is one service."""
        return normal_url(self.tap_url)

    @property
    def sync_url(self) -> str:
        """``<tap_url>/sync``: the synchronous jobs' endpoint."""
        return self.tap_url + "/sync"

    @functools.cached_property
    def _session(self):
        import requests

        return requests.Session()

    def query(self, adql: str, complete: Callable[[pd.DataFrame], bool] | None = None) -> pd.DataFrame:
        """The answer to ``adql``; cached only when ``complete`` (:meth:`Service._run`)."""
        def fetch() -> pd.DataFrame:
            form = {"REQUEST": "doQuery", "LANG": "ADQL", "FORMAT": "votable", "QUERY": with_top(adql)}
            response = self._session.post(self.sync_url, data=form, timeout=self.timeout)
            response.raise_for_status()
            # ADQL names are case-insensitive, and a service may spell them in upper case: ours are lower case (an
            # Overflow's rows too, for a single cone to keep)
            frame = read_votable(response.content, "Gaia", names=str.lower)
            if frame is None:
                raise IncompleteAnswer("Gaia answered with a VOTable holding no table")
            return frame

        return self._run(adql, fetch, complete)


@functools.cache
def _http_vizier_class():
    """``VizierClass`` for an ``http://`` server (a local mirror, the tests' fake).

    ``VizierClass(vizier_server=...)`` takes a host name and always speaks https; the only
    place the scheme can be changed is the internal ``_server_to_url``, so this subclass
    (built once) swaps it there and nowhere else.
    """
    from astroquery.vizier import VizierClass

    class HttpVizier(VizierClass):
        def _server_to_url(self, return_type="votable"):
            return "http://" + super()._server_to_url(return_type).removeprefix("https://")

    return HttpVizier


class VizierService(Service):
    """VizieR through astroquery.vizier (POST to /viz-bin/votable)."""

    kind = "vizier"

    @functools.cached_property
    def _client(self):
        from astroquery.vizier import VizierClass

        parts = urllib.parse.urlsplit(self.url)
        cls = _http_vizier_class() if parts.scheme == "http" else VizierClass
        # vizier_server: the host and any path before /viz-bin, as astroquery's conf.server holds it.
        return cls(columns=["**"], row_limit=-1, timeout=self.timeout, vizier_server=parts.netloc + parts.path)

    def query_ids(self, catalogue: PeriodCatalogue, ids: list[int],
                  complete: Callable[[pd.DataFrame], bool] | None = None) -> pd.DataFrame:
        """The rows of ``catalogue`` with these ids: a frame with the table's columns, even with no rows (cached only
        when ``complete``).

        A UserError when VizieR answers with no table at all and an error note (an unknown catalogue id);
        Overflow when VizieR cut its answer at its row limit.
        """
        constraint = ",".join(str(i) for i in ids)
        text = f"-source={catalogue.vizier}&{catalogue.id_column}={constraint}"

        def fetch() -> pd.DataFrame:
            response = self._client.query_constraints_async(catalog=catalogue.vizier, cache=False,
                                                            **{catalogue.id_column: constraint})
            response.raise_for_status()
            return _votable_table(response.content, catalogue.vizier)

        return self._run(text, fetch, complete)


def _votable_table(content: bytes, vizier_id: str) -> pd.DataFrame:
    """The results table of a VizieR VOTable answer (:func:`read_votable`), kept when it has no rows (an empty frame when it has none).

    An answer with no table and VizieR's own Error note names an unknown catalogue: one line, before
    any QUERY_STATUS it may also carry (read_votable's ``no_table``). Without a note it may just mean no star
    matched (VizieR may leave an empty table out); Service._run does not cache such an answer.
    """
    try:
        frame = read_votable(content, "VizieR", no_table=lambda: _no_table(vizier_id))
    except Overflow:
        raise Overflow(f"VizieR cut its answer for {vizier_id} at its row limit (QUERY_STATUS OVERFLOW)") from None
    return pd.DataFrame() if frame is None else frame


def _no_table(vizier_id: str) -> UserError:
    return UserError(f"VizieR has no table {vizier_id} (it answered without one): is the catalogue id right?")


class MastTic(Service):
    """The TESS Input Catalog through astroquery.mast (Mashup portal API)."""

    kind = "mast"

    @functools.cached_property
    def _client(self):
        from astroquery.mast import CatalogsClass

        cat = CatalogsClass()
        # Internal, and the one left: CatalogsClass takes no server, and astroquery.mast.conf.server is
        # copied into the portal API's URLs once, when astroquery.mast is first imported, so setting it
        # later (or for one Services of several) changes nothing. Point this instance's portal instead.
        portal = cat._portal_api_connection
        portal.MAST_REQUEST_URL = self.url + "/api/v0/invoke"
        portal.COLUMNS_CONFIG_URL = self.url + "/portal/Mashup/Mashup.asmx/columnsconfig"
        portal.TIMEOUT = self.timeout
        # portal.TIMEOUT is only compared with the time spent once an answer has come; the requests themselves go
        # out with no timeout, so a server that stops answering would hang the run: give the session one.
        adapter = _timeout_adapter(self.timeout)
        cat._session.mount("http://", adapter)
        cat._session.mount("https://", adapter)
        return cat

    def query(self, column: str, ids: list[int], complete: Callable[[pd.DataFrame], bool] | None = None) -> pd.DataFrame:
        """TIC rows whose ``column`` is in ``ids``; cached only when ``complete`` (:meth:`Service._run`)."""
        text = f"Mast.Catalogs.Filtered.Tic.Rows {column} in ({','.join(str(i) for i in ids)})"

        def fetch() -> pd.DataFrame:
            from astropy.utils.exceptions import AstropyWarning

            try:
                # astroquery's notes (NoResultsWarning: an empty answer is an answer) and astropy's on the table it
                # builds, and only those: raised from their modules (astroquery.mast warns with stacklevel 1), so a
                # caller's own AstropyWarning on another thread meanwhile is still seen; not notices.quiet(), whose
                # lock would keep other threads' warnings waiting for a network request; not a bare
                # catch_warnings(), which swallows them
                with notices.filter_inside("ignore", "", AstropyWarning, module=r"astro(py|query)(\.|$)"):
                    table = self._client.query_criteria(catalog="Tic", **{column: [str(i) for i in ids]})
            except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
                # An answer astroquery cannot read (not JSON, {"status": "ERROR", "data": []}, fields missing):
                # drop the column description it may have stored half-built (a class-wide cache), then retry.
                self._client._portal_api_connection._column_configs.clear()
                raise IncompleteAnswer(f"MAST answered with something astroquery cannot read "
                                       f"({describe_failure(exc, 100)})") from None
            return to_frame(table)

        return self._run(text, fetch, complete)


def _timeout_adapter(timeout: float):
    """A requests adapter that gives every request without a timeout this one (connect and read)."""
    from requests.adapters import HTTPAdapter

    class TimeoutAdapter(HTTPAdapter):
        def send(self, request, **kwargs):
            if kwargs.get("timeout") is None:
                kwargs["timeout"] = timeout
            return super().send(request, **kwargs)

    return TimeoutAdapter()


@dataclass(frozen=True)
class Services:
    gaia: GaiaArchive
    vizier: VizierService
    mast: MastTic

    @classmethod
    def create(cls, gaia_url: str | None = None, vizier_url: str | None = None, mast_url: str | None = None,
               cache_dir: str | Path | None = None, retries: int = 3, backoff: float = 1.0,
               timeout: float = 120.0) -> Services:
        """The three services; ``timeout`` (s) bounds each request's connect and each wait for data."""
        if not (isinstance(timeout, numbers.Real) and math.isfinite(timeout) and timeout > 0):
            raise UserError(f"timeout must be a finite number of seconds > 0, not {timeout}")
        cache = QueryCache(cache_dir)
        return cls(GaiaArchive(gaia_url, cache, retries, backoff, timeout),
                   VizierService(vizier_url, cache, retries, backoff, timeout),
                   MastTic(mast_url, cache, retries, backoff, timeout))
