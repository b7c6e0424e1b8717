"""What the services answer, read strictly: VOTables with their QUERY_STATUS notes, failures worth a retry, how
long to wait, and the one line a failure is told in.

Split from :mod:`gyroage.crossmatch.services`, whose service classes ask and cache; astroquery, astropy and requests
are imported inside the functions (``import gyroage`` never pulls them in).
"""

from __future__ import annotations

import email.utils
import http.client
import math
import re
import textwrap
import time
from collections.abc import Callable

import pandas as pd

from gyroage import notices
from gyroage.astropy_tables import results_tables
from gyroage.errors import UserError
from gyroage.formats import exact_to_pandas


class IncompleteAnswer(Exception):
    """An answer not to be taken as complete: unreadable (an HTML page, cut short, empty), without its table,
    or carrying the service's own error note. Retried as a network failure is, and never cached."""


class Overflow(UserError):
    """The service stopped at its row limit (QUERY_STATUS OVERFLOW): rows are missing. Never cached;
    a batch of several ids is asked again in halves (queries.py), a single one stops the run with this line
    (a single cone keeps the rows sent, ``frame``, with the cone's warning, as at the sync row cap)."""

    def __init__(self, message: str, frame: pd.DataFrame | None = None) -> None:
        super().__init__(message)
        self.frame = frame


def read_votable(content: bytes, who: str, no_table: Callable[[], Exception] | None = None,
                 names: Callable[[str], str] | None = None) -> pd.DataFrame | None:
    """The results table of a VOTable answer (the first under a RESOURCE of type "results", else its first; kept
    when it has no rows), or None when it has none; ``names``: how its columns are renamed (Gaia's: lower case),
    once, for the frame returned and an Overflow's alike.

    Its INFO notes are read, wherever they sit (TAP writes them after the rows it sent): QUERY_STATUS
    ERROR raises IncompleteAnswer with the service's text, OVERFLOW raises Overflow. ``no_table``: what an
    answer with no table and an INFO named Error raises, before any QUERY_STATUS (how VizieR answers a
    catalogue id it does not know). Something that is
    not a VOTable (an HTML page with status 200, a body cut short or empty) is an IncompleteAnswer too.
    astroquery's own parsing ignores these notes, and drops tables without rows (and their columns).
    """
    import gzip
    import io as _io

    from astropy.io.votable import parse

    if content[:2] == b"\x1f\x8b":  # a gzipped VOTable without Content-Encoding, as astroquery also accepts
        try:
            content = gzip.decompress(content)
        except (OSError, EOFError) as exc:
            raise IncompleteAnswer(f"{who} answered with a broken gzip stream ({exc})") from None
    try:
        # VizieR's and ESA's VOTables carry harmless schema warnings; an answer in memory, parsed under the readers'
        # lock (notices.quiet), as formats.py reads a VOTable file: a bare catch_warnings() races other threads'
        with notices.quiet():
            vot = parse(_io.BytesIO(content), verify="ignore")
            tables = list(vot.iter_tables())
    except Exception as exc:  # noqa: BLE001 -- whatever the parser trips on, the answer is unreadable
        if not content.strip():
            raise IncompleteAnswer(f"{who} answered with an empty body") from None
        head = content[:20000].decode("utf-8", "replace")
        if "<VOTABLE" in head.upper():  # a VOTable cut short: the parser says where
            raise IncompleteAnswer(f"{who}'s VOTable is cut short or broken ({describe_failure(exc, 100)})") from None
        raise IncompleteAnswer(f"{who} answered with no VOTable; it said: {_plain(head, 100)!r}") from None
    if not tables and no_table is not None and any(str(getattr(i, "name", "")).lower() == "error"
                                                   for i in vot.iter_info()):
        raise no_table()
    # The results are the RESOURCE with type="results" (the default type); others (type="meta") may come first with
    # tables of their own. One with none marked so: its first table, as before; the rule a VOTable file is read by.
    results = results_tables(vot) if tables else []
    frame = to_frame(results[0].to_table(use_names_over_ids=True)) if results else None
    if frame is not None and names is not None:
        frame = frame.rename(columns=names)
    for info in vot.iter_info():
        if str(getattr(info, "name", "")).lower() != "query_status":
            continue
        value, text = str(getattr(info, "value", "")).upper(), _info_text(info)
        if value == "ERROR":
            raise IncompleteAnswer(f"{who}'s answer ends with QUERY_STATUS ERROR" + (f": {text}" if text else ""))
        if value == "OVERFLOW":
            raise Overflow(f"{who} cut its answer at its row limit (QUERY_STATUS OVERFLOW)", frame)
    return frame


def _info_text(info) -> str:
    """An INFO note's own text (its content, else its value), on one line."""
    text = str(getattr(info, "content", None) or "").strip() or str(getattr(info, "value", "") or "").strip()
    return " ".join(text.split())


def transient_errors() -> tuple[type[BaseException], ...]:

    import requests

    errors: list[type[BaseException]] = [OSError, http.client.HTTPException, requests.RequestException,
                                         IncompleteAnswer]
    try:
        from astroquery.exceptions import RemoteServiceError

        errors.append(RemoteServiceError)
    except ImportError:  # pragma: no cover
        pass
    return tuple(errors)


# The longest wait a Retry-After header gets (s): a service asking for more is asked again after this, not an hour on.
MAX_RETRY_AFTER = 60.0


def retry_after(exc: BaseException | None) -> float:
    """Seconds the failed request's Retry-After header asks to wait (delta-seconds or an HTTP date), capped at
    MAX_RETRY_AFTER; 0 without one."""

    response = getattr(exc, "response", None)
    value = str(getattr(response, "headers", {}).get("Retry-After", "") or "").strip()
    if not value:
        return 0.0
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = email.utils.parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError, IndexError, OverflowError):
            return 0.0
    return min(max(seconds, 0.0), MAX_RETRY_AFTER) if math.isfinite(seconds) else 0.0


# "HTTPSConnection(host='h', port=443): " or "<urllib3.connection.X object at 0x...>: ": who failed, said again.
_CONNECTION_PREFIX = re.compile(r"^(?:\w+\(host=[^)]*\)|<[^>]*>):\s*")


def describe_failure(exc: BaseException | None, width: int = 160) -> str:
    """The exception's class and its reason in one line, shortened at a word boundary (never mid-word).

    requests wraps the reason (a refused connection, an unresolved host) two or three
    exceptions deep, inside messages that repeat the URL; the deepest library exception
    (not the bare socket error, which drops the host) says what went wrong.
    """
    if exc is None:
        return "no answer"
    chain: list[BaseException] = []
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        chain.append(cur)
        reason = getattr(cur, "reason", None)
        inner = cur.args[0] if cur.args and isinstance(cur.args[0], BaseException) else None
        # ``raise ... from None`` has already said what matters: its context is not looked into.
        context = None if cur.__suppress_context__ else cur.__context__
        cur = next((e for e in (reason, inner, cur.__cause__, context) if isinstance(e, BaseException)), None)
    libs = [e for e in chain if type(e).__module__ not in ("builtins", "socket", "ssl")]
    root = libs[-1] if libs else chain[-1]
    lines = str(root).strip().splitlines()
    text = _CONNECTION_PREFIX.sub("", lines[0] if lines else "")
    text = re.sub(r"\s+for url: \S+$", "", text)  # requests' HTTPError repeats the URL the line already names
    said = _body_text(next((r for e in chain if (r := getattr(e, "response", None)) is not None), None))
    if said:  # why the server refused ("maintenance until 14:00 UTC"), often only in its page
        text = f"{text}; it said: {said}" if text else said
    same = root is exc or type(root).__name__ == type(exc).__name__
    names = type(exc).__name__ if same else f"{type(exc).__name__}, {type(root).__name__}"
    return textwrap.shorten(f"{names}: {text}" if text else names, width=width, placeholder=" ...")


def _body_text(response, width: int = 120) -> str:
    """The start of an error answer's body as text on one line (markup dropped), '' without one."""
    try:
        body = response.text if response is not None else ""
    except Exception:  # noqa: BLE001 -- a body that cannot be decoded says nothing we can show
        return ""
    return _plain(body, width) if isinstance(body, str) else ""


def _plain(text: str, width: int) -> str:
    """Markup dropped, on one line, shortened at a word boundary."""
    text = re.sub(r"<(script|style)\b.*?</\1>|<!--.*?-->|<\?.*?\?>|<[^>]*>", " ", text[:20000], flags=re.S | re.I)
    return textwrap.shorten(" ".join(text.split()), width=width, placeholder=" ...") if text.strip() else ""


def to_frame(table) -> pd.DataFrame:
    """astropy Table -> pandas, masked cells as NaN/None, lower-case column names kept as given."""
    if table is None:
        return pd.DataFrame()
    if hasattr(table, "to_pandas"):  # a service's Gaia source_id with a null must keep every digit (astropy < 7)
        frame = exact_to_pandas(table)
    else:
        frame = pd.DataFrame(table)
    for col in frame.columns:
        if frame[col].dtype == object:
            frame[col] = frame[col].map(lambda v: v.decode() if isinstance(v, bytes) else v)
    return frame.reset_index(drop=True)
