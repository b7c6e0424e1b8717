"""Services that misbehave: answers cut short, unreadable, flagged as failed, or slow; nothing of it cached."""

from __future__ import annotations

import json
import threading
import time

import pandas as pd
import pytest

pytest.importorskip("astroquery")
pytest.importorskip("pytest_httpserver")

from gyroage.crossmatch import CrossmatchSettings, Services, run_crossmatch  # noqa: E402
from gyroage.errors import UserError  # noqa: E402
from tests.crossmatch.fakesky import (  # noqa: E402
    GA,
    GB,
    GC,
    GD,
    TABLELESS_VOTABLE,
    renamed,
    replaced_by,
    run_rows,
    trailing_status,
    truncated,
)

ROWS = f"source_id\n{GA}\n{GB}\n{GC}\n{GD}\n"


@pytest.mark.parametrize("service", ["gaia", "vizier"])
def test_answer_ending_with_query_status_error_is_retried_and_never_cached(tmp_path, sky, service):
    """TAP (and VizieR) report a failure part-way through as an INFO QUERY_STATUS=ERROR after the rows sent so far:
    such an answer was taken as complete (stars not_found, periods missing) and cached for good."""
    cache = tmp_path / "cache"
    sky.mangle[service] = [trailing_status("ERROR", rows=0)] * 50
    sky.mangle_all.add(service)
    with pytest.raises(UserError) as err:
        run_rows(tmp_path, sky, ROWS, cache_dir=cache, retries=2)
    msg = str(err.value)
    assert "\n" not in msg and f"{service} service at" in msg and "failed after 2 attempts" in msg
    assert "QUERY_STATUS ERROR" in msg and "result truncated" in msg
    sky.mangle.clear()
    healthy = run_rows(tmp_path, sky, ROWS, cache_dir=tmp_path / "fresh")
    again = run_rows(tmp_path, sky, ROWS, cache_dir=cache)  # nothing wrong was cached
    assert again.equals(healthy)
    assert healthy["crossmatch_status"].tolist() == ["ok", "ok", "ok", "no_period"]


@pytest.mark.parametrize("service", ["gaia", "vizier"])
def test_a_failed_answer_then_a_good_one_is_a_retry(tmp_path, sky, service):
    sky.mangle[service] = [trailing_status("ERROR", rows=1)]
    out = run_rows(tmp_path, sky, ROWS, retries=2)
    assert out["crossmatch_status"].tolist() == ["ok", "ok", "ok", "no_period"]
    assert out["prot_source"].tolist()[0] == "mcquillan2014"


def test_gaia_overflow_is_split_not_dropped(tmp_path, sky):
    """QUERY_STATUS=OVERFLOW: the service stopped at its row limit. The batch is asked again in halves."""
    # the neighbourhood queries first (back from the DR3 ids, then forward from GC's renumbered DR2 id), then the
    # gaia_source one: overflow the third
    sky.mangle["gaia"] = [lambda r: r, lambda r: r, trailing_status("OVERFLOW", rows=1)]
    out = run_rows(tmp_path, sky, ROWS, cache_dir=tmp_path / "cache")
    assert out["crossmatch_status"].tolist() == ["ok", "ok", "ok", "no_period"]
    source_queries = [q for q in sky.queries("gaia") if "vari_rotation_modulation" in q]
    assert len(source_queries) == 3  # the whole batch (overflowed), then its two halves


def test_gaia_overflow_of_a_single_item_is_one_line(tmp_path, sky):
    sky.mangle["gaia"] = [lambda r: r, trailing_status("OVERFLOW", rows=0)]
    with pytest.raises(UserError) as err:
        run_rows(tmp_path, sky, f"source_id\n{GA}\n")
    assert "\n" not in str(err.value) and "OVERFLOW" in str(err.value)


def test_vizier_overflow_is_split(tmp_path, sky):
    # McQuillan and the two Santos tables (one KIC each), then Holcomb with four TIC ids: cut at its row limit
    sky.mangle["vizier"] = [lambda r: r, lambda r: r, lambda r: r, trailing_status("OVERFLOW", rows=0)]
    out = run_rows(tmp_path, sky, ROWS)
    assert out["prot_source"].tolist()[:2] == ["mcquillan2014", "holcomb2022"]
    holcomb = [q for q in sky.queries("vizier") if "J/ApJ/936/138" in q]
    assert len(holcomb) == 3


def test_vizier_overflow_of_a_single_id_is_one_line(tmp_path, sky):
    sky.mangle["vizier"] = [trailing_status("OVERFLOW", rows=0)]
    with pytest.raises(UserError) as err:
        run_rows(tmp_path, sky, ROWS)
    assert "\n" not in str(err.value) and "OVERFLOW" in str(err.value) and "J/ApJS/211/24" in str(err.value)


def test_tableless_vizier_answer_is_not_cached(tmp_path, sky):
    """A VizieR answer with no table and no error note means no star matched, for this run only: a glitch
    must not be kept for good."""
    cache = tmp_path / "cache"
    sky.mangle["vizier"] = [lambda r: r.__class__(TABLELESS_VOTABLE, content_type=r.content_type)]
    first = run_rows(tmp_path, sky, ROWS, cache_dir=cache)
    assert first["prot_source"].tolist()[0] == "santos2021"  # McQuillan's answer had no table
    n = len(sky.queries("vizier"))
    again = run_rows(tmp_path, sky, ROWS, cache_dir=cache)
    assert len(sky.queries("vizier")) == n + 1  # only the table-less answer is asked again
    assert again["prot_source"].tolist()[0] == "mcquillan2014"


@pytest.mark.parametrize("damage", ["empty", "truncated"])
def test_unreadable_cache_file_is_a_miss_and_is_overwritten(tmp_path, sky, damage):
    """A cache file cut short (a full disk, a killed copy) was a pyarrow traceback on every rerun."""
    cache = tmp_path / "cache"
    first = run_rows(tmp_path, sky, ROWS, cache_dir=cache)
    files = sorted(cache.rglob("*.parquet"))
    assert files
    for f in files:
        data = f.read_bytes()
        f.write_bytes(b"" if damage == "empty" else data[:len(data) // 2])
    n = len(sky.log)
    again = run_rows(tmp_path, sky, ROWS, cache_dir=cache)
    assert again.equals(first) and len(sky.log) > n  # asked again
    n = len(sky.log)
    assert run_rows(tmp_path, sky, ROWS, cache_dir=cache).equals(first) and len(sky.log) == n  # and stored again


TIC_ROWS = "tic\n2000001\n2000002\n2000003\n2000004\n"


@pytest.mark.parametrize("rows", [ROWS, TIC_ROWS])
@pytest.mark.parametrize("service, rename", [("mast", str.lower), ("gaia", str.upper), ("mast", str.upper)])
def test_column_names_in_another_case_are_found(tmp_path, sky, rows, service, rename):
    """MAST's or Gaia's column names in another case: every star was not_found (MAST, and cached so) or a
    KeyError traceback (Gaia's dr2_neighbourhood)."""
    healthy = run_rows(tmp_path, sky, rows)
    sky.mangle[service] = [renamed(rename)]
    sky.mangle_all.add(service)
    assert run_rows(tmp_path, sky, rows).equals(healthy)


@pytest.mark.parametrize("service, drop", [("mast", "GAIA"), ("gaia", "dr3_source_id")])
def test_answer_without_a_needed_column_is_one_line(tmp_path, sky, service, drop):
    sky.mangle[service] = [renamed(lambda n: "other" if n == drop else n)]
    sky.mangle_all.add(service)
    with pytest.raises(UserError) as err:
        run_rows(tmp_path, sky, TIC_ROWS)
    msg = str(err.value)
    assert "\n" not in msg and drop in msg and "column" in msg


@pytest.mark.parametrize("service, drop", [("mast", "GAIA"), ("gaia", "dr3_source_id"), ("vizier", "Prot")])
def test_an_answer_without_a_needed_column_is_never_cached(tmp_path, sky, service, drop):
    """Such an answer was cached before its columns were checked: every rerun stopped with the same line from the
    cache, the service long mended (README: only complete answers are cached)."""
    healthy = run_rows(tmp_path, sky, TIC_ROWS)
    cache = tmp_path / "cache"
    sky.mangle[service] = [renamed(lambda n: "other" if n == drop else n)]  # the first answer only
    with pytest.raises(UserError, match=f"{drop}.*column|column.*{drop}"):
        run_rows(tmp_path, sky, TIC_ROWS, cache_dir=cache)
    n = len(sky.queries(service))
    assert run_rows(tmp_path, sky, TIC_ROWS, cache_dir=cache).equals(healthy)
    assert len(sky.queries(service)) > n  # asked again


def meta_first(response):
    """A RESOURCE type="meta" holding a table of its own before the results (the VOTable and TAP standards allow
    other resources beside the one with type="results")."""
    from werkzeug import Response

    data = response.get_data(as_text=True)
    meta = ('<RESOURCE type="meta"><TABLE name="service_notes"><FIELD name="note" datatype="char" arraysize="*"/>'
            '<DATA><TABLEDATA><TR><TD>x</TD></TR></TABLEDATA></DATA></TABLE></RESOURCE>')
    i = data.find("<RESOURCE")
    return Response(data[:i] + meta + data[i:], content_type=response.content_type)


@pytest.mark.parametrize("service", ["gaia", "vizier"])
def test_the_results_resource_is_read_not_a_table_before_it(tmp_path, sky, service):
    """The first table of the answer was read: a results table after a meta RESOURCE's was refused as an answer
    without the columns asked for (Gaia) or a table without its period column (VizieR)."""
    healthy = run_rows(tmp_path, sky, TIC_ROWS)
    sky.mangle[service] = [meta_first]
    sky.mangle_all.add(service)
    assert run_rows(tmp_path, sky, TIC_ROWS).equals(healthy)


def test_a_votable_read_takes_the_results_resource_else_the_first_table():
    from gyroage.crossmatch.answers import read_votable

    def table(name, column, value, kind=""):
        return (f'<RESOURCE{kind}><TABLE name="{name}"><FIELD name="{column}" datatype="int"/><DATA><TABLEDATA>'
                f'<TR><TD>{value}</TD></TR></TABLEDATA></DATA></TABLE></RESOURCE>')

    def votable(*resources):
        return ("<?xml version='1.0'?><VOTABLE version='1.4' xmlns='http://www.ivoa.net/xml/VOTable/v1.3'>"
                + "".join(resources) + "</VOTABLE>").encode()

    meta = table("notes", "note", 1, ' type="meta"')
    assert read_votable(votable(meta, table("r", "a", 2, ' type="results"')), "X").to_dict("list") == {"a": [2]}
    assert read_votable(votable(meta, table("r", "a", 2)), "X").to_dict("list") == {"a": [2]}  # results: the default
    assert read_votable(votable(meta), "X").to_dict("list") == {"note": [1]}  # none: the first table, as before
    assert read_votable(votable(table("r", "a", 2), table("s", "b", 3)), "X").to_dict("list") == {"a": [2]}


HTML = "<html><head><title>Service Unavailable</title></head><body><h1>Maintenance</h1></body></html>"
UNREADABLE = {
    "html": lambda: replaced_by(HTML, content_type="text/html"),
    "truncated": lambda: truncated(0.6),
    "empty": lambda: replaced_by(""),
    "tableless": lambda: replaced_by(TABLELESS_VOTABLE),
    "mast_error": lambda: replaced_by(json.dumps({"status": "ERROR", "msg": "Request failed", "data": [],
                                                  "fields": []}), content_type="application/json"),
}
CASES = [(s, k) for s in ("gaia", "vizier", "mast") for k in UNREADABLE
         if not (s == "vizier" and k == "tableless") and not (k == "mast_error" and s != "mast")
         and not (s == "mast" and k == "tableless")] + [("mast_all", "mast_error"), ("mast_all", "html")]


@pytest.mark.parametrize("service, kind", CASES)
def test_unreadable_answer_is_retried_then_one_line(tmp_path, sky, monkeypatch, service, kind):
    """An HTML page with status 200, a body cut short or empty, MAST's status ERROR: tracebacks (exit 1), never
    retried. Now a retry, and a service that keeps answering so stops the run in one line."""
    from astroquery.mast.discovery_portal import PortalAPI

    healthy = run_rows(tmp_path, sky, TIC_ROWS)
    monkeypatch.setattr(PortalAPI, "_column_configs", {})  # astroquery keeps MAST's column description class-wide
    sky.mangle[service] = [UNREADABLE[kind]()]
    assert run_rows(tmp_path, sky, TIC_ROWS, retries=2).equals(healthy)
    sky.mangle[service] = [UNREADABLE[kind]()]
    sky.mangle_all.add(service)
    PortalAPI._column_configs.clear()
    with pytest.raises(UserError) as err:
        run_rows(tmp_path, sky, TIC_ROWS, retries=2, cache_dir=tmp_path / "cache")
    msg = str(err.value)
    name = service.removesuffix("_all")  # MAST's column description (Mast.Catalogs.All.Tic), asked first
    assert "\n" not in msg and f"{name} service at" in msg and "failed after 2 attempts" in msg, msg
    assert "catalogue id" not in msg  # service trouble is not blamed on the catalogue id


STALL_S = 30.0  # the longest a stalled answer waits to be released


def _stall(released: threading.Event):
    """An answer held back until ``released`` is set (or STALL_S pass): a server that stopped answering."""
    def change(response):
        released.wait(STALL_S)
        return response
    return change


@pytest.mark.parametrize("service, rows", [("gaia", ROWS), ("mast", TIC_ROWS)])
def test_a_stalled_service_times_out_in_one_line(tmp_path, sky, service, rows):
    """Gaia (astroquery's TAP+ client) and MAST had no timeout: a server that stopped answering hung the run
    for ever. Each service now gives up after its timeout (120 s by default, as VizieR's) and says so in one line."""
    timeout = 0.5
    # The server answers only when released (at most after STALL_S): a run that ignored its timeout would wait that
    # long, far beyond the bound, while a loaded machine gets 20 times the timeout to notice and give up.
    released = threading.Event()
    sky.mangle[service] = [_stall(released)]
    src = tmp_path / "ids.csv"
    src.write_text(rows)
    services = Services.create(sky.url, sky.url, sky.url, cache_dir=None, retries=1, backoff=0.0, timeout=timeout)
    start = time.monotonic()
    try:
        with pytest.raises(UserError) as err:
            run_crossmatch(src, tmp_path / "out.csv", services, CrossmatchSettings(), quiet=True)
        took = time.monotonic() - start
    finally:
        released.set()  # the stalled answer goes out now, so the server stops at once
    assert took < 20 * timeout < STALL_S, took
    msg = str(err.value)
    assert "\n" not in msg and f"{service} service at" in msg and "Timeout" in msg, msg
    assert services.gaia.timeout == services.mast.timeout == 0.5
    assert Services.create(sky.url, sky.url, sky.url).mast.timeout == 120.0


@pytest.mark.parametrize("service", ["gaia", "vizier", "mast"])
def test_the_server_s_explanation_is_kept(tmp_path, sky, service):
    """A 503 whose body says why ("maintenance until 14:00 UTC") was reported as '(HTTPError: Error 503:)'."""
    page = "<html><body><h1>Service Unavailable</h1>\n<p>Maintenance until 14:00 UTC</p></body></html>"
    sky.mangle[service] = [replaced_by(page, 503, "text/html")]
    sky.mangle_all.add(service)
    with pytest.raises(UserError) as err:
        run_rows(tmp_path, sky, TIC_ROWS)
    msg = str(err.value)
    assert "\n" not in msg and "503" in msg and "Service Unavailable Maintenance until 14:00 UTC" in msg, msg


@pytest.mark.parametrize("service", ["gaia", "vizier", "mast"])
def test_retry_after_is_honoured(tmp_path, sky, service):
    """A 429 or 503 with Retry-After was retried after the backoff alone (+1 s, +2 s), asking again too soon."""
    sky.mangle[service] = [replaced_by("slow down", 429, "text/plain", headers={"Retry-After": "1"})]
    start = time.monotonic()
    out = run_rows(tmp_path, sky, TIC_ROWS, retries=2)  # backoff 0
    assert time.monotonic() - start >= 1.0
    assert out["crossmatch_status"].tolist() == ["ok", "ok", "ok", "no_period"]


def test_retry_after_is_read_as_seconds_or_a_date_and_capped():
    import email.utils

    import requests

    from gyroage.crossmatch.answers import MAX_RETRY_AFTER, retry_after

    def error(value):
        response = requests.Response()
        response.status_code, response.headers["Retry-After"] = 503, value
        return requests.HTTPError("503", response=response)

    assert retry_after(error("7")) == 7.0
    assert retry_after(error("100000")) == MAX_RETRY_AFTER
    assert 25 <= retry_after(error(email.utils.formatdate(time.time() + 30, usegmt=True))) <= 31
    assert retry_after(error("soon")) == 0.0 and retry_after(OSError("x")) == 0.0


def test_vizier_error_note_is_shown_not_blamed_on_the_catalogue_id(tmp_path, sky):
    """VizieR's own QUERY_STATUS=ERROR ('timeout') was reported as 'is the catalogue id right?'."""
    note = ("<?xml version='1.0'?><VOTABLE version='1.4' xmlns='http://www.ivoa.net/xml/VOTable/v1.3'><RESOURCE "
            "type='results'><INFO name='QUERY_STATUS' value='ERROR'>Query execution error: timeout</INFO></RESOURCE>"
            "</VOTABLE>")
    sky.mangle["vizier"] = [replaced_by(note)]
    assert run_rows(tmp_path, sky, ROWS, retries=2)["prot_source"].tolist()[0] == "mcquillan2014"  # retried
    sky.mangle["vizier"] = [replaced_by(note)]
    sky.mangle_all.add("vizier")
    with pytest.raises(UserError) as err:
        run_rows(tmp_path, sky, ROWS, retries=2)
    msg = str(err.value)
    assert "Query execution error: timeout" in msg and "catalogue id" not in msg, msg


def test_a_single_cone_flagged_overflow_keeps_its_rows_with_the_cone_warning(tmp_path, sky):
    """A cone cannot be split: flagged OVERFLOW, it is treated as a cone at the sync row cap (kept, warned)."""
    from tests.crossmatch.fakesky import GAIA, services_for

    a = GAIA[GA]
    (tmp_path / "pos.csv").write_text(f"ra,dec\n{a[0]},{a[1]}\n")
    sky.mangle["gaia"] = [trailing_status("OVERFLOW", rows=1)]
    report = run_crossmatch(tmp_path / "pos.csv", tmp_path / "out.csv", services_for(sky, tmp_path / "cache"),
                            CrossmatchSettings(radius_arcsec=2.0), quiet=True)
    assert [m for m in report.messages if "row cap" in m]
    n = len(sky.queries("gaia"))
    report = run_crossmatch(tmp_path / "pos.csv", tmp_path / "out.csv", services_for(sky, tmp_path / "cache"),
                            CrossmatchSettings(radius_arcsec=2.0), quiet=True)
    assert len(sky.queries("gaia")) > n  # the flagged answer was not cached
    assert not [m for m in report.messages if "row cap" in m]


def test_a_single_cone_flagged_overflow_in_upper_case_keeps_its_rows(tmp_path, sky):
    """Gaia's columns were lower-cased in two places, the frame returned and the Overflow's (FR39b, 2): now
    read_votable renames once for both; an upper-case answer cut at the row limit keeps its cone's star."""
    from tests.crossmatch.fakesky import GAIA, services_for

    a = GAIA[GA]
    (tmp_path / "pos.csv").write_text(f"ra,dec\n{a[0]},{a[1]}\n")
    cut, upper = trailing_status("OVERFLOW", rows=1), renamed(str.upper)
    sky.mangle["gaia"] = [lambda response: cut(upper(response))]
    report = run_crossmatch(tmp_path / "pos.csv", tmp_path / "out.csv", services_for(sky, tmp_path / "cache"),
                            CrossmatchSettings(radius_arcsec=2.0), quiet=True)
    assert [m for m in report.messages if "row cap" in m]
    out = pd.read_csv(tmp_path / "out.csv", dtype={"source_id": "Int64"})
    assert out["source_id"].tolist() == [GA] and out["crossmatch_status"].tolist() == ["ok"], out


def test_a_redirected_gaia_sync_job_is_followed(tmp_path, sky):
    """A TAP service may answer a sync POST with 303 See Other to where the result is fetched (GET)."""
    import urllib.parse

    from werkzeug import Response

    def redirect(response):
        where = f"{sky.url}/tap-server/tap/sync/result?q={urllib.parse.quote(sky.log[-1][1])}"
        return Response("", 303, headers={"Location": where})

    healthy = run_rows(tmp_path, sky, ROWS)
    sky.mangle["gaia"] = [redirect] * 10
    assert run_rows(tmp_path, sky, ROWS).equals(healthy)
    assert any(p.endswith("/sync/result") for p, _ in sky.raw)


def test_a_service_answers_gaia_ids_with_a_null_keep_every_digit(monkeypatch):
    """MAST's TIC answers a GAIA column with nulls; astropy 5.3-6.1's to_pandas passed it through float64."""
    import numpy as np
    import pandas as pd
    from astropy.table import MaskedColumn, Table

    from gyroage.crossmatch.answers import to_frame

    exact = Table.to_pandas

    def through_float(self, *args, **kwargs):
        frame = exact(self, *args, **kwargs)
        frame["GAIA"] = frame["GAIA"].astype("float64")
        return frame

    monkeypatch.setattr(Table, "to_pandas", through_float)
    t = Table({"ID": [1, 2], "GAIA": MaskedColumn(np.array([6917528997577384320, 0]), mask=[False, True])})
    assert to_frame(t)["GAIA"].tolist() == [6917528997577384320, pd.NA]
