"""gyroage crossmatch against a local HTTP server that answers as Gaia TAP, VizieR and MAST do.

The fake services speak the real wire formats (TAP sync POST -> VOTable built with
astropy; VizieR /viz-bin/votable POST -> VOTable; MAST Mashup columnsconfig +
/api/v0/invoke JSON) and evaluate the queries they receive, so the assertions
check both what is sent (ADQL, batching, ids) and how the answers are joined.
"""

from __future__ import annotations

import io as _io
import json
import math
import re
import urllib.parse

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("astroquery")
pytest.importorskip("pytest_httpserver")

from astropy.io.votable import from_table  # noqa: E402
from astropy.table import MaskedColumn, Table  # noqa: E402
from werkzeug import Response  # noqa: E402

from gyroage import crossmatch as cx  # noqa: E402
from gyroage.errors import UserError  # noqa: E402
from tests.conftest import run_cli  # noqa: E402

NAN = float("nan")
# Gaia DR3 ids are beyond 2**53: any float round trip would corrupt them.
GA, GB, GC, GD = 2106000000000000001, 4600000000000000002, 5200000000000000003, 6100000000000000004
GC_DR2 = 5200000000000000099
G_AMB_DR2, G_AMB1, G_AMB2 = 7000000000000000007, 7000000000000000008, 7000000000000000009
GAIA_NOT_FOUND = 1111111111111111111

# source_id: ra, dec, G, BP, RP, BP f/err, RP f/err, parallax, ruwe, E(BP-RP), lower, upper, Prot_gaia, err
GAIA = {
    GA: (290.1, 44.5, 12.0, 12.50, 11.40, 500.0, 800.0, 2.0, 1.01, 0.10, 0.08, 0.12, 6.1, 0.3),
    GB: (80.2, -60.1, 11.0, 11.60, 10.40, 400.0, 600.0, 4.0, 1.10, 0.05, 0.04, 0.06, NAN, NAN),
    GC: (120.3, 10.2, 10.0, 10.90, 9.30, 300.0, 900.0, 20.0, 0.95, NAN, NAN, NAN, 3.3, 0.1),
    GD: (200.4, -20.3, 13.0, 13.50, 12.50, 200.0, 300.0, 5.0, 1.20, NAN, NAN, NAN, NAN, NAN),
    G_AMB1: (10.0, 10.0, 14.0, 14.6, 13.5, 100.0, 100.0, 3.0, 1.0, 0.02, 0.01, 0.03, NAN, NAN),
    G_AMB2: (10.0001, 10.0, 14.2, 14.8, 13.7, 100.0, 100.0, 3.0, 1.0, 0.02, 0.01, 0.03, NAN, NAN),
}
# dr2_source_id -> dr3_source_id rows
NEIGHBOURS = [(GA, GA), (GB, GB), (GC_DR2, GC), (GD, GD), (G_AMB_DR2, G_AMB1), (G_AMB_DR2, G_AMB2)]
# TIC rows: ID, KIC, GAIA (DR2), disposition
TIC = [
    (2000001, 1000001, GA, None),
    (2000002, None, GB, None),
    (2000003, None, GC_DR2, None),
    (2000004, None, GD, None),
    (2000005, 1000005, 8000000000000000001, None),   # KIC 1000005 has two TIC entries: ambiguous
    (2000006, 1000005, 8000000000000000002, None),
    (2000007, None, G_AMB_DR2, None),                # one DR2 source split into two DR3 sources
    (2000099, 1000001, GA, "DUPLICATE"),             # flagged duplicate: never a counterpart
    (2000008, None, None, None),                     # no Gaia counterpart (a null among 19-digit ids)
]
VIZIER = {
    "J/ApJS/211/24/table1": ("KIC", [(1000001, 12.3, 0.4)], ("KIC", "Prot", "e_Prot")),
    "J/ApJS/255/17/table1": ("KIC", [(1000001, 12.5, 0.6)], ("KIC", "Prot", "E_Prot")),
    "J/ApJ/936/138/table1": ("TIC", [(2000002, 5.2, 0.3), (2000002, 5.3, 0.3)], ("TIC", "Prot", "e_Prot")),
}


def _votable(table: Table, name: str | None = None) -> bytes:
    vot = from_table(table)
    if name:
        vot.resources[0].tables[0].name = name
    buf = _io.BytesIO()
    vot.to_xml(buf)
    return buf.getvalue()


def _col(name, values, dtype):
    arr = np.array([0 if (v is None or (isinstance(v, float) and math.isnan(v))) else v for v in values], dtype=dtype)
    mask = [v is None or (isinstance(v, float) and math.isnan(v)) for v in values]
    return MaskedColumn(arr, name=name, mask=mask)


class FakeSky:
    """Gaia TAP + VizieR + MAST on one pytest-httpserver, evaluating the queries it receives."""

    def __init__(self) -> None:
        self.log: list[tuple[str, str]] = []
        self.raw: list[tuple[str, str]] = []  # (path, decoded request body) of every request
        self.fail: dict[str, int] = {}  # service -> remaining requests answered with HTTP 500 (-1: always)

    def _failing(self, service: str) -> bool:
        left = self.fail.get(service, 0)
        if left:
            self.fail[service] = left - 1 if left > 0 else -1
            return True
        return False

    def queries(self, service: str) -> list[str]:
        return [q for s, q in self.log if s == service]

    def __call__(self, request):
        path = request.path
        self.raw.append((path, urllib.parse.unquote_plus(request.get_data(as_text=True))))
        if path.endswith("/tap/sync"):
            form = urllib.parse.parse_qs(request.get_data(as_text=True))
            assert form["REQUEST"] == ["doQuery"] and form["LANG"] == ["ADQL"]
            query = form["QUERY"][0]
            self.log.append(("gaia", query))
            if self._failing("gaia"):
                return Response("<VOTABLE><INFO name='QUERY_STATUS' value='ERROR'>overloaded</INFO></VOTABLE>", 500)
            return Response(_votable(self._tap(query)), content_type="application/x-votable+xml")
        if path == "/viz-bin/votable":
            body = dict(line.split("=", 1) for line in request.get_data(as_text=True).splitlines() if "=" in line)
            self.log.append(("vizier", f"-source={body['-source']} " + " ".join(
                f"{k}={v}" for k, v in body.items() if not k.startswith("-"))))
            if self._failing("vizier"):
                return Response("server error", 500)
            return Response(self._vizier(body), content_type="application/x-votable+xml")
        if path.endswith("/columnsconfig"):
            cfg = {"ID": {"type": "string"}, "KIC": {"type": "string"}, "GAIA": {"type": "string"},
                   "disposition": {"type": "string"}}
            return Response(json.dumps(cfg), content_type="application/json")
        if path == "/api/v0/invoke":
            req = json.loads(urllib.parse.parse_qs(request.get_data(as_text=True))["request"][0])
            if req["service"] == "Mast.Catalogs.All.Tic":
                ext = {"discreteHistogram": {}, "continuousHistogram": {}}
                return Response(json.dumps({"data": {"Tables": [{"ExtendedProperties": ext}]}}),
                                content_type="application/json")
            filt = req["params"]["filters"]
            self.log.append(("mast", json.dumps(filt)))
            if self._failing("mast"):
                return Response("server error", 500)
            return Response(json.dumps(self._tic(filt)), content_type="application/json")
        return Response("not found", 404)

    def _tap(self, query: str) -> Table:
        ids = [int(x) for x in re.findall(r"\d{6,}", query.split(" IN (")[-1])] if " IN (" in query else []
        if "dr2_neighbourhood" in query:
            col = 0 if "n.dr2_source_id IN" in query else 1
            rows = [r for r in NEIGHBOURS if r[col] in ids]
            return Table([_col("dr2_source_id", [r[0] for r in rows], np.int64),
                          _col("dr3_source_id", [r[1] for r in rows], np.int64),
                          _col("angular_distance", [0.01] * len(rows), float),
                          _col("magnitude_difference", [0.0] * len(rows), float)])
        if "CONTAINS(" in query:
            circles = [tuple(map(float, c)) for c in re.findall(r"CIRCLE\('ICRS', ([-\d.e]+), ([-\d.e]+), ([-\d.e]+)\)",
                                                                 query)]
            keep = [sid for sid, v in GAIA.items()
                    if any(cx._angsep_arcsec(a, d, v[0], v[1]) <= r * 3600 + 1e-6 for a, d, r in circles)]
            return Table([_col("source_id", keep, np.int64), _col("ra", [GAIA[k][0] for k in keep], float),
                          _col("dec", [GAIA[k][1] for k in keep], float),
                          _col("phot_g_mean_mag", [GAIA[k][2] for k in keep], float)])
        assert "gaiadr3.gaia_source AS g" in query and "vari_rotation_modulation" in query
        keep = [i for i in ids if i in GAIA]
        names = ["ra", "dec", "phot_g_mean_mag", "phot_bp_mean_mag", "phot_rp_mean_mag",
                 "phot_bp_mean_flux_over_error", "phot_rp_mean_flux_over_error", "parallax", "ruwe",
                 "ebpminrp_gspphot", "ebpminrp_gspphot_lower", "ebpminrp_gspphot_upper",
                 "best_rotation_period", "best_rotation_period_error"]
        cols = [_col("source_id", keep, np.int64)]
        cols += [_col(n, [GAIA[k][j] for k in keep], np.float64) for j, n in enumerate(names)]
        cols.append(_col("parallax_error", [0.02] * len(keep), float))
        return Table(cols)

    def _vizier(self, body: dict) -> bytes:
        source = body["-source"]
        key, rows, (idn, pn, en) = VIZIER[source]
        wanted = {int(x) for x in body[idn].split(",")}
        rows = [r for r in rows if r[0] in wanted]
        t = Table([_col(idn, [r[0] for r in rows], np.int64), _col(pn, [r[1] for r in rows], float),
                   _col(en, [r[2] for r in rows], float)])
        return _votable(t, source)

    def _tic(self, filters: list[dict]) -> dict:
        (f,) = filters
        col = {"ID": 0, "KIC": 1, "GAIA": 2}[f["paramName"]]
        wanted = {int(v) for v in f["values"]}
        rows = [r for r in TIC if r[col] is not None and r[col] in wanted]
        data = [{"ID": str(r[0]), "KIC": None if r[1] is None else str(r[1]), "GAIA": None if r[2] is None else str(r[2]),
                 "disposition": r[3]} for r in rows]
        fields = [{"name": n, "type": "string"} for n in ("ID", "KIC", "GAIA", "disposition")]
        return {"status": "COMPLETE", "msg": "", "fields": fields, "data": data,
                "paging": {"page": 1, "pageSize": len(data), "pagesFiltered": 1, "rows": len(data),
                           "rowsFiltered": len(data), "rowsTotal": len(data)}}


@pytest.fixture
def sky(httpserver):
    fake = FakeSky()
    httpserver.expect_request(re.compile(".*")).respond_with_handler(fake)
    fake.url = httpserver.url_for("/").rstrip("/")
    return fake


def _services(sky, cache_dir=None, retries=1) -> cx.Services:
    return cx.Services.create(sky.url, sky.url, sky.url, cache_dir=cache_dir, retries=retries, backoff=0.0)


def _run(tmp_path, sky, rows: str, cache_dir=None, retries=1, **settings) -> pd.DataFrame:
    src = tmp_path / "ids.csv"
    src.write_text(rows)
    out = tmp_path / "out.csv"
    services = _services(sky, cache_dir, retries)
    cx.run_crossmatch(src, out, services, cx.CrossmatchSettings(**settings), quiet=True)
    return pd.read_csv(out, dtype={"source_id": "Int64", "tic": "Int64", "kic": "Int64"}, keep_default_na=True)


def test_crossmatch_gaia_ids_queries_and_join(tmp_path, sky):
    rows = f"name,Source_ID\na,{GA}\nb,{GB}\nc,Gaia DR3 {GC}\nd,{GD}\nmissing,{GAIA_NOT_FOUND}\nbad,abc\n"
    out = _run(tmp_path, sky, rows)
    # every row, in order, with a status
    assert out["name"].tolist() == ["a", "b", "c", "d", "missing", "bad"]
    assert out["crossmatch_status"].tolist() == ["ok", "ok", "ok", "no_period", "not_found", "invalid_id"]
    assert out["source_id"].tolist()[:4] == [GA, GB, GC, GD]
    # identifiers joined through dr2_neighbourhood + TIC
    assert out["tic"].tolist()[:4] == [2000001, 2000002, 2000003, 2000004]
    assert out.loc[0, "kic"] == 1000001
    # adoption rule: Kepler (McQuillan) > Kepler (Santos) > TESS > Gaia; every candidate kept
    assert out["prot_source"].tolist()[:3] == ["mcquillan2014", "holcomb2022", "gaiadr3"]
    assert out["prot"].tolist()[:3] == [12.3, 5.2, 3.3]
    assert out.loc[0, "prot_santos2021_days"] == 12.5 and out.loc[0, "prot_gaiadr3_days"] == 6.1
    assert out.loc[0, "prot_n_candidates"] == 3
    assert out.loc[1, "prot_holcomb2022_days"] == 5.2  # the catalogue's duplicate row (5.3) is dropped
    # colours: BP-RP minus GSP-Phot E(BP-RP); error from the flux-over-error columns (+ E(BP-RP) half-width)
    a = GAIA[GA]
    assert out.loc[0, "bp_rp0"] == pytest.approx(a[3] - a[4] - a[9], abs=1e-5)
    e_col = math.hypot(1.0857362 / a[5], 1.0857362 / a[6])
    assert out.loc[0, "bp_rp0_err"] == pytest.approx(math.hypot(e_col, (a[11] - a[10]) / 2), rel=1e-4)
    assert out.loc[2, "bp_rp0"] == pytest.approx(GAIA[GC][3] - GAIA[GC][4], abs=1e-5)  # no GSP-Phot value
    assert out.loc[2, "ebp_rp_source"] == "none"
    assert math.isnan(out.loc[3, "prot"]) and not math.isnan(out.loc[3, "bp_rp0"])

    # the queries sent: one batched ADQL per table, one VizieR list per catalogue, one TIC filter
    gaia_q = sky.queries("gaia")
    main = [q for q in gaia_q if "gaiadr3.gaia_source AS g" in q]
    assert len(main) == 1
    in_list = {int(x) for x in re.findall(r"\d+", main[0].split(" IN (")[1])}
    assert in_list == {GA, GB, GC, GD, GAIA_NOT_FOUND}  # the invalid id is never sent
    assert "LEFT OUTER JOIN gaiadr3.vari_rotation_modulation" in main[0]
    assert "best_rotation_period" in main[0] and "ebpminrp_gspphot" in main[0]
    assert "phot_bp_mean_flux_over_error" in main[0] and "ruwe" in main[0]
    nb = [q for q in gaia_q if "dr2_neighbourhood" in q]
    assert len(nb) == 1 and "n.dr3_source_id IN" in nb[0] and str(GAIA_NOT_FOUND) in nb[0]
    viz = sky.queries("vizier")
    assert sorted(q.split()[0] for q in viz) == ["-source=J/ApJ/936/138/table1", "-source=J/ApJS/211/24/table1",
                                                 "-source=J/ApJS/255/17/table1"]
    assert "TIC=2000001,2000002,2000003,2000004" in [q.split()[1] for q in viz]
    mast = sky.queries("mast")
    assert len(mast) == 1 and json.loads(mast[0])[0]["paramName"] == "GAIA"


def test_crossmatch_batches_are_bounded(tmp_path, sky, monkeypatch):
    monkeypatch.setattr(cx, "GAIA_BATCH", 2)
    monkeypatch.setattr(cx, "VIZIER_BATCH", 3)
    ids = [GA, GB, GC, GD, GAIA_NOT_FOUND]
    out = _run(tmp_path, sky, "source_id\n" + "\n".join(map(str, ids)) + "\n")
    assert out["crossmatch_status"].tolist() == ["ok", "ok", "ok", "no_period", "not_found"]
    main = [q for q in sky.queries("gaia") if "gaiadr3.gaia_source AS g" in q]
    lists = [re.findall(r"\d+", q.split(" IN (")[1]) for q in main]
    assert [len(x) for x in lists] == [2, 2, 1] and sorted(int(i) for x in lists for i in x) == sorted(ids)
    tess = [q for q in sky.queries("vizier") if "936/138" in q]
    assert [len(q.split("TIC=")[1].split(",")) for q in tess] == [3, 1]


def test_crossmatch_row_cap_splits_a_full_answer(tmp_path, sky, monkeypatch):
    monkeypatch.setattr(cx, "SYNC_ROW_CAP", 2)  # a 2-row answer may be truncated: redo as halves
    out = _run(tmp_path, sky, f"source_id\n{GA}\n{GB}\n{GC}\n")
    assert out["crossmatch_status"].tolist() == ["ok", "ok", "ok"]
    main = [q for q in sky.queries("gaia") if "gaiadr3.gaia_source AS g" in q]
    assert [len(re.findall(r"\d{12,}", q)) for q in main] == [3, 1, 2, 1, 1]


def test_crossmatch_period_sources_order_and_column_fallback(tmp_path, sky, monkeypatch, capsys):
    out = _run(tmp_path, sky, f"source_id\n{GA}\n{GB}\n", sources=("gaiadr3", "mcquillan2014"))
    assert out["prot_source"].fillna("").tolist() == ["gaiadr3", ""] and out.loc[0, "prot"] == 6.1
    assert out["crossmatch_status"].tolist() == ["ok", "no_period"]  # TESS not asked for: B has no period
    assert "prot_holcomb2022_days" not in out and not any("936/138" in q for q in sky.queries("vizier"))
    assert out.loc[0, "prot_max_rel_diff"] == pytest.approx((12.3 - 6.1) / 6.1, rel=1e-5)
    with pytest.raises(UserError, match="unknown period source 'tess'"):
        cx.CrossmatchSettings(sources=("tess",))
    # a table whose columns are spelled differently: aliases first, then skip with a warning
    monkeypatch.setitem(VIZIER, "J/ApJS/211/24/table1", ("KIC", [(1000001, 12.3, 0.4)], ("KIC", "Per", "e_Per")))
    monkeypatch.setitem(VIZIER, "J/ApJS/255/17/table1", ("KIC", [(1000001, 12.5, 0.6)], ("KIC", "Xyz", "e_Xyz")))
    out = _run(tmp_path, sky, f"source_id\n{GA}\n")
    assert out.loc[0, "prot"] == 12.3 and out.loc[0, "prot_err"] == 0.4
    assert math.isnan(out.loc[0, "prot_santos2021_days"])
    assert "J/ApJS/255/17/table1 has no KIC/Prot column" in capsys.readouterr().err


def test_crossmatch_tic_and_kic_inputs_with_duplicates(tmp_path, sky):
    out = _run(tmp_path, sky, "TIC_ID\n2000002\nTIC 2000007\n2000003\n999\n2000008\n")
    assert out["crossmatch_status"].tolist() == ["ok", "ambiguous", "ok", "not_found", "not_found"]
    assert out.loc[0, "source_id"] == GB and out.loc[2, "source_id"] == GC  # DR2 != DR3 id resolved
    nb = [q for q in sky.queries("gaia") if "dr2_neighbourhood" in q]
    assert len(nb) == 1 and "n.dr2_source_id IN" in nb[0] and str(GC_DR2) in nb[0]
    assert json.loads(sky.queries("mast")[0])[0] == {"paramName": "ID", "values": ["999", "2000002", "2000003",
                                                                                    "2000007", "2000008"]}
    out = _run(tmp_path, sky, "kepid\n1000001\n1000005\n")
    # KIC 1000001: the DUPLICATE-flagged TIC row is ignored; KIC 1000005 has two TIC entries
    assert out["crossmatch_status"].tolist() == ["ok", "ambiguous"]
    assert out.loc[0, "tic"] == 2000001 and out.loc[0, "prot"] == 12.3
    assert math.isnan(out.loc[1, "prot"]) and math.isnan(out.loc[1, "bp_rp0"])


def test_crossmatch_cone_search(tmp_path, sky):
    a, c = GAIA[GA], GAIA[GC]
    rows = f"RA,Dec\n{a[0] + 0.5 / 3600},{a[1]}\n{c[0]},{c[1]}\n10.00005,10.0\n0.0,0.0\nnan,1\n"
    out = _run(tmp_path, sky, rows, radius_arcsec=2.0)
    assert out["crossmatch_status"].tolist() == ["ok", "ok", "ambiguous", "not_found", "invalid_id"]
    assert out.loc[0, "source_id"] == GA and out.loc[0, "match_sep_arcsec"] == pytest.approx(0.5 * math.cos(
        math.radians(a[1])), rel=1e-3)
    (cone,) = [q for q in sky.queries("gaia") if "CONTAINS" in q]
    assert cone.count("CIRCLE('ICRS'") == 4  # one batched query for the four valid positions
    assert "0.0005555555" in cone  # 2 arcsec in degrees


def test_crossmatch_cone_radius_along_dec(tmp_path, sky):
    # offsets purely in dec sit at the edge of the dec window each position is matched in
    d = GAIA[GD]
    rows = f"ra,dec\n{d[0]},{d[1] + 1.9 / 3600}\n{d[0]},{d[1] - 2.1 / 3600}\n"
    out = _run(tmp_path, sky, rows, radius_arcsec=2.0)
    assert out["crossmatch_status"].tolist() == ["no_period", "not_found"]
    assert out.loc[0, "source_id"] == GD and out.loc[0, "match_sep_arcsec"] == pytest.approx(1.9, rel=1e-4)


def test_crossmatch_cache_second_run_sends_nothing(tmp_path, sky):
    rows = f"source_id\n{GA}\n{GB}\n{GC}\n"
    cache = tmp_path / "cache"
    first = _run(tmp_path, sky, rows, cache_dir=cache)
    n_sent = len(sky.log)
    assert n_sent >= 5
    second = _run(tmp_path, sky, rows, cache_dir=cache)
    assert len(sky.log) == n_sent  # nothing sent the second time
    pd.testing.assert_frame_equal(first, second)
    third = _run(tmp_path, sky, rows + f"{GD}\n", cache_dir=cache)  # a new star: only new queries go out
    assert len(sky.log) > n_sent and third["crossmatch_status"].tolist()[-1] == "no_period"


def test_crossmatch_service_error_mid_run_then_resume(tmp_path, sky):
    rows = f"source_id\n{GA}\n{GB}\n{GC}\n"
    cache = tmp_path / "cache"
    sky.fail["vizier"] = -1  # Gaia and MAST answer, VizieR is down
    with pytest.raises(UserError) as err:
        _run(tmp_path, sky, rows, cache_dir=cache, retries=2)
    msg = str(err.value)
    assert "\n" not in msg and "vizier" in msg and "2 attempts" in msg and "rerun to resume" in msg
    assert len(sky.queries("vizier")) == 2  # retried once
    assert not (tmp_path / "out.csv").exists()  # no partial output
    before = {s: len(sky.queries(s)) for s in ("gaia", "mast")}
    sky.fail.clear()
    out = _run(tmp_path, sky, rows, cache_dir=cache)
    assert out["crossmatch_status"].tolist() == ["ok", "ok", "ok"]
    # the rerun only sends what had not been answered
    assert {s: len(sky.queries(s)) for s in ("gaia", "mast")} == before
    assert len(sky.queries("vizier")) == 2 + 3


def test_crossmatch_transient_error_is_retried(tmp_path, sky):
    sky.fail["gaia"] = 1
    out = _run(tmp_path, sky, f"source_id\n{GA}\n", retries=3)
    assert out["crossmatch_status"].tolist() == ["ok"]


def test_crossmatch_extinction_options(tmp_path, sky, capsys):
    rows = f"source_id,my_ebv\n{GA},0.2\n{GB},\n{GC},0.0\n"
    out = _run(tmp_path, sky, rows, extinction="none")
    a = GAIA[GA]
    assert out.loc[0, "bp_rp0"] == pytest.approx(a[3] - a[4], abs=1e-5)
    err = capsys.readouterr().err
    assert "2 star(s) beyond 100 pc" in err  # A (500 pc) and B (250 pc); C is at 50 pc
    out = _run(tmp_path, sky, rows, extinction="column:MY_EBV")
    assert out.loc[0, "bp_rp0"] == pytest.approx(a[3] - a[4] - 0.2, abs=1e-5)
    assert out["ebp_rp_source"].tolist() == ["column:my_ebv", "none", "column:my_ebv"]
    assert "1 star(s) beyond 100 pc" in capsys.readouterr().err
    with pytest.raises(UserError, match="no column 'nope'"):
        _run(tmp_path, sky, rows, extinction="column:nope")
    with pytest.raises(UserError, match="gspphot, none or column"):
        _run(tmp_path, sky, rows, extinction="sfd")


def test_crossmatch_header_only_input_sends_nothing(tmp_path, sky):
    out = _run(tmp_path, sky, "kic,name\n")
    assert len(out) == 0 and sky.log == []
    assert {"input_kic", "kic", "prot", "prot_err", "bp_rp0", "bp_rp0_err", "crossmatch_status"} <= set(out.columns)
    # the same header on stdin, which cannot be read a second time
    cm = run_cli("crossmatch", "-", "--quiet", "--no-cache", "--gaia-url", sky.url, "--vizier-url", sky.url,
                 "--mast-url", sky.url, input="kic,name\n")
    assert cm.returncode == 0, cm.stderr
    assert cm.stdout.splitlines()[0].split(",")[:2] == ["input_kic", "name"] and len(cm.stdout.splitlines()) == 1
    assert sky.log == []


def test_crossmatch_identifier_detection():
    assert cx.detect_ids(["x", "KIC"]) == cx.InputIds("kic", "KIC")
    assert cx.detect_ids(["TIC", "source_id"]).kind == "gaia"  # Gaia wins: it needs fewer hops
    assert cx.detect_ids(["RA_deg", "DEC_deg"]) == cx.InputIds("radec", None, "RA_deg", "DEC_deg")
    assert cx.detect_ids(["star", "number"], id_column="NUMBER", id_type="tic") == cx.InputIds("tic", "number")
    with pytest.raises(UserError, match="no identifier column"):
        cx.detect_ids(["name", "prot"])
    with pytest.raises(UserError, match="--id-type"):
        cx.detect_ids(["number"], id_column="number")
    parsed = cx.parse_ids(pd.Series(["TIC 123", "Gaia DR3 4600000000000000002", "kplr0099", "", "1.5", "-3"]))
    assert parsed.tolist() == [123, 4600000000000000002, 99, None, None, None]


def test_crossmatch_cli_pipes_into_estimate(tmp_path, sky, monkeypatch):
    ids = tmp_path / "ids.csv"
    ids.write_text(f"source_id,prot\n{GA},99\n{GB},99\n{GC},99\n{GAIA_NOT_FOUND},99\n")
    for name in ("GYROAGE_GAIA_TAP_URL", "GYROAGE_VIZIER_URL", "GYROAGE_MAST_URL"):
        monkeypatch.setenv(name, sky.url)  # the subprocess inherits them
    monkeypatch.setenv("GYROAGE_CACHE_DIR", str(tmp_path / "cache"))
    cm = run_cli("crossmatch", str(ids), "--quiet", "--retries", "1")
    assert cm.returncode == 0, cm.stderr
    est = run_cli("estimate", "-", "--quiet", input=cm.stdout)
    assert est.returncode == 0, est.stderr
    xm = pd.read_csv(_io.StringIO(cm.stdout))
    assert xm["crossmatch_status"].tolist() == ["ok", "ok", "ok", "not_found"]
    assert xm["input_prot"].tolist() == [99] * 4  # the user's own period column cannot shadow ours
    res = pd.read_csv(_io.StringIO(est.stdout))
    assert len(res) == 4 and (res["status"][:3] == "ok").all() and res["status"][3] == "invalid_period"
    assert res["prot"].tolist()[:3] == [12.3, 5.2, 3.3]


def test_crossmatch_cli_unreachable_service_is_one_line(tmp_path):
    from typer.testing import CliRunner

    from gyroage.cli import app

    ids = tmp_path / "ids.csv"
    ids.write_text(f"source_id\n{GA}\n")
    out = tmp_path / "out.csv"
    res = CliRunner().invoke(app, ["crossmatch", str(ids), "-o", str(out), "--quiet", "--gaia-url",
                                   "http://127.0.0.1:9", "--no-cache", "--retries", "2", "--backoff", "0"])
    assert res.exit_code == 2
    assert res.output.count("\n") == 1 and "gaia service at http://127.0.0.1:9 failed after 2 attempts" in res.output
    assert not out.exists()


def test_crossmatch_chunks_keep_order(tmp_path, sky):
    src = tmp_path / "ids.csv"
    src.write_text("kic\n" + "\n".join(["1000001", "1000005", "x", "1000001", "42"]) + "\n")
    services = _services(sky)
    cx.run_crossmatch(src, tmp_path / "o.parquet", services, cx.CrossmatchSettings(), chunksize=2, quiet=True)
    out = pd.read_parquet(tmp_path / "o.parquet")
    assert out["crossmatch_status"].tolist() == ["ok", "ambiguous", "invalid_id", "ok", "not_found"]
    assert out["prot"].tolist()[::3] == [12.3, 12.3]
    assert out["source_id"].tolist()[::3] == [GA, GA]  # exact 19-digit ids in Parquet (nullable int64)
