"""A local HTTP server that answers as Gaia TAP, VizieR and MAST do, for the cross-match tests.

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
from collections.abc import Callable

import numpy as np
import pandas as pd
from astropy.io.votable import from_table
from astropy.table import MaskedColumn, Table
from werkzeug import Response

from gyroage.crossmatch import CrossmatchSettings, Services, run_crossmatch
from gyroage.crossmatch.resolve import angsep_arcsec

NAN = float("nan")
# Gaia DR3 ids are beyond 2**53: any float round trip would corrupt them.
GA, GB, GC, GD = 2106000000000000001, 4600000000000000002, 5200000000000000003, 6100000000000000004
GC_DR2 = 5200000000000000099
G_AMB_DR2, G_AMB1, G_AMB2 = 7000000000000000007, 7000000000000000008, 7000000000000000009
GAIA_NOT_FOUND = 1111111111111111111
GE = 3300000000000000005  # no BP/RP photometry (as for many faint or crowded DR3 sources): no_colour

# source_id: ra, dec, G, BP, RP, BP f/err, RP f/err, parallax, ruwe, E(BP-RP), lower, upper, Prot_gaia, err
GAIA = {
    GA: (290.1, 44.5, 12.0, 12.50, 11.40, 500.0, 800.0, 2.0, 1.01, 0.10, 0.08, 0.12, 6.1, 0.3),
    GB: (80.2, -60.1, 11.0, 11.60, 10.40, 400.0, 600.0, 4.0, 1.10, 0.05, 0.04, 0.06, NAN, NAN),
    GC: (120.3, 10.2, 10.0, 10.90, 9.30, 300.0, 900.0, 20.0, 0.95, NAN, NAN, NAN, 3.3, 0.1),
    GD: (200.4, -20.3, 13.0, 13.50, 12.50, 200.0, 300.0, 5.0, 1.20, NAN, NAN, NAN, NAN, NAN),
    GE: (330.5, 30.5, 19.5, NAN, NAN, NAN, NAN, 0.5, 1.05, NAN, NAN, NAN, 4.2, 0.2),
    G_AMB1: (10.0, 10.0, 14.0, 14.6, 13.5, 100.0, 100.0, 3.0, 1.0, 0.02, 0.01, 0.03, NAN, NAN),
    G_AMB2: (10.0001, 10.0, 14.2, 14.8, 13.7, 100.0, 100.0, 3.0, 1.0, 0.02, 0.01, 0.03, NAN, NAN),
}
# source_id: ag_gspphot (GSP-Phot's A_G, from the fit that gives E(BP-RP)); missing for the others (GB: the fallback)
AG_GSPPHOT = {GA: 0.17, G_AMB1: 0.04, G_AMB2: 0.04}
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
DUPLICATE_OF = {2000099: 2000001}  # the TIC's duplicate_id: the entry a DUPLICATE was merged into
VIZIER = {
    "J/ApJS/211/24/table1": ("KIC", [(1000001, 12.3, 0.4)], ("KIC", "Prot", "e_Prot")),
    "J/ApJS/255/17/table1": ("KIC", [(1000001, 12.5, 0.6)], ("KIC", "Prot", "E_Prot")),
    "J/ApJS/244/21/table3": ("KIC", [], ("KIC", "Prot", "E_Prot")),  # K and M dwarfs: none of these stars
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
        # service -> changes made to its next answers, one per request (the last one kept while ``mangle_all``)
        self.mangle: dict[str, list[Callable[[Response], Response]]] = {}
        self.mangle_all: set[str] = set()

    def _mangled(self, service: str, response: Response) -> Response:
        queue = self.mangle.get(service)
        if not queue:
            return response
        change = queue[0] if service in self.mangle_all and len(queue) == 1 else queue.pop(0)
        return change(response)

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
            return self._mangled("gaia", Response(_votable(self._tap(query)), content_type="application/x-votable+xml"))
        if path.endswith("/tap/sync/result"):  # where a redirected sync job's answer is fetched (GET)
            query = urllib.parse.parse_qs(request.query_string.decode())["q"][0]
            return Response(_votable(self._tap(query)), content_type="application/x-votable+xml")
        if path == "/viz-bin/votable":
            body = dict(line.split("=", 1) for line in request.get_data(as_text=True).splitlines() if "=" in line)
            self.log.append(("vizier", f"-source={body['-source']} " + " ".join(
                f"{k}={v}" for k, v in body.items() if not k.startswith("-"))))
            if self._failing("vizier"):
                return Response("server error", 500)
            return self._mangled("vizier", Response(self._vizier(body), content_type="application/x-votable+xml"))
        if path.endswith("/columnsconfig"):
            cfg = {"ID": {"type": "string"}, "KIC": {"type": "string"}, "GAIA": {"type": "string"},
                   "disposition": {"type": "string"}}
            return self._mangled("mast_config", Response(json.dumps(cfg), content_type="application/json"))
        if path == "/api/v0/invoke":
            req = json.loads(urllib.parse.parse_qs(request.get_data(as_text=True))["request"][0])
            if req["service"] == "Mast.Catalogs.All.Tic":
                ext = {"discreteHistogram": {}, "continuousHistogram": {}}
                return self._mangled("mast_all", Response(json.dumps({"data": {"Tables": [{"ExtendedProperties": ext}]}}),
                                                          content_type="application/json"))
            filt = req["params"]["filters"]
            self.log.append(("mast", json.dumps(filt)))
            if self._failing("mast"):
                return Response("server error", 500)
            return self._mangled("mast", Response(json.dumps(self._tic(filt)), content_type="application/json"))
        return Response("not found", 404)

    def _tap(self, query: str) -> Table:
        ids = [int(x) for x in re.findall(r"\d{6,}", query.split(" IN (")[-1])] if " IN (" in query else []
        if "dr2_neighbourhood" in query:
            col = 0 if "n.dr2_source_id IN" in query else 1
            rows = [r for r in NEIGHBOURS if r[col] in ids]  # (dr2, dr3[, angular_distance, magnitude_difference])
            return Table([_col("dr2_source_id", [r[0] for r in rows], np.int64),
                          _col("dr3_source_id", [r[1] for r in rows], np.int64),
                          _col("angular_distance", [r[2] if len(r) > 2 else 0.01 for r in rows], float),
                          _col("magnitude_difference", [r[3] if len(r) > 3 else 0.0 for r in rows], float)])
        if "CONTAINS(" in query:
            circles = [tuple(map(float, c)) for c in re.findall(r"CIRCLE\('ICRS', ([-\d.e]+), ([-\d.e]+), ([-\d.e]+)\)",
                                                                 query)]
            keep = [sid for sid, v in GAIA.items()
                    if any(angsep_arcsec(a, d, v[0], v[1]) <= r * 3600 + 1e-6 for a, d, r in circles)]
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
        cols.append(_col("ag_gspphot", [AG_GSPPHOT.get(k, NAN) for k in keep], float))
        return Table(cols)

    def _vizier(self, body: dict) -> bytes:
        source = body["-source"]
        if source not in VIZIER:  # as VizieR answers a catalogue id it does not know: a VOTable with no table
            return (b"<?xml version='1.0'?><VOTABLE version='1.4' xmlns='http://www.ivoa.net/xml/VOTable/v1.3'>"
                    b"<RESOURCE><INFO name='Error' value='No catalogue or table was specified or found'/></RESOURCE>"
                    b"</VOTABLE>")
        key, rows, (idn, pn, en) = VIZIER[source]
        wanted = {int(x) for x in body.get(idn, body.get(key, "")).split(",") if x}
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
                 "disposition": r[3], "duplicate_id": str(DUPLICATE_OF[r[0]]) if r[0] in DUPLICATE_OF else None}
                for r in rows]
        fields = [{"name": n, "type": "string"} for n in ("ID", "KIC", "GAIA", "disposition", "duplicate_id")]
        return {"status": "COMPLETE", "msg": "", "fields": fields, "data": data,
                "paging": {"page": 1, "pageSize": len(data), "pagesFiltered": 1, "rows": len(data),
                           "rowsFiltered": len(data), "rowsTotal": len(data)}}


# ---------------------------------------------------------------- misbehaving answers (FakeSky.mangle)
def trailing_status(value: str, rows: int = 1, text: str = "result truncated") -> Callable[[Response], Response]:
    """Keep the first ``rows`` rows, then the INFO QUERY_STATUS a TAP service (or VizieR) writes after the
    table when it stops part-way (ERROR) or at its row limit (OVERFLOW)."""
    def change(response: Response) -> Response:
        data = response.get_data(as_text=True)
        start, end = data.find("<TABLEDATA>") + len("<TABLEDATA>"), data.find("</TABLEDATA>")
        kept = "".join(re.findall(r"<TR>.*?</TR>", data[start:end], flags=re.S)[:rows])
        data = data[:start] + kept + data[end:]
        info = f'<INFO name="QUERY_STATUS" value="{value}">{text}</INFO>'
        return Response(data.replace("</TABLE>", "</TABLE>" + info, 1), content_type=response.content_type)
    return change


def replaced_by(body: str | bytes, status: int = 200, content_type: str = "application/x-votable+xml",
                headers: dict | None = None) -> Callable[[Response], Response]:
    """The answer replaced: an HTML page, an empty body, a table-less VOTable, an HTTP error page."""
    return lambda _response: Response(body, status, headers=headers, content_type=content_type)


def truncated(fraction: float = 0.6) -> Callable[[Response], Response]:
    """The answer cut short, as a dropped connection after part of the body leaves it."""
    def change(response: Response) -> Response:
        data = response.get_data()
        return Response(data[:int(len(data) * fraction)], content_type=response.content_type)
    return change


def renamed(rename: Callable[[str], str]) -> Callable[[Response], Response]:
    """Column names changed (upper or lower case), in a VOTable or a MAST JSON answer."""
    def change(response: Response) -> Response:
        data = response.get_data(as_text=True)
        if response.content_type.startswith("application/json"):
            d = json.loads(data)
            d["fields"] = [{**f, "name": rename(f["name"])} for f in d["fields"]]
            d["data"] = [{rename(k): v for k, v in row.items()} for row in d["data"]]
            return Response(json.dumps(d), content_type=response.content_type)
        data = re.sub(r'(<FIELD[^>]*?name=")([^"]+)"', lambda m: m.group(1) + rename(m.group(2)) + '"', data)
        return Response(data, content_type=response.content_type)
    return change


TABLELESS_VOTABLE = ("<?xml version='1.0'?><VOTABLE version='1.4' xmlns='http://www.ivoa.net/xml/VOTable/v1.3'>"
                     "<RESOURCE type='results'></RESOURCE></VOTABLE>")


def services_for(sky, cache_dir=None, retries=1, gaia_url=None) -> Services:
    return Services.create(gaia_url or sky.url, sky.url, sky.url, cache_dir=cache_dir, retries=retries, backoff=0.0)


def run_rows(tmp_path, sky, rows: str, cache_dir=None, retries=1, gaia_url=None, **settings) -> pd.DataFrame:
    src = tmp_path / "ids.csv"
    src.write_text(rows)
    out = tmp_path / "out.csv"
    services = services_for(sky, cache_dir, retries, gaia_url)
    run_crossmatch(src, out, services, CrossmatchSettings(**settings), quiet=True)
    return pd.read_csv(out, dtype={"source_id": "Int64", "tic": "Int64", "kic": "Int64"}, keep_default_na=True)
