"""Identifier detection and parsing, TIC/KIC -> DR2 -> DR3 resolution, cone matching."""

from __future__ import annotations

import json
import math
import re

import pandas as pd
import pytest

pytest.importorskip("astroquery")
pytest.importorskip("pytest_httpserver")

from gyroage import io  # noqa: E402
from gyroage.crossmatch import InputIds, detect_ids, parse_ids  # noqa: E402
from gyroage.errors import UserError  # noqa: E402
from tests.crossmatch.fakesky import G_AMB1, G_AMB2, GA, GAIA, GB, GC, GC_DR2, GD, NAN, run_rows  # noqa: E402


def test_crossmatch_tic_and_kic_inputs_with_duplicates(tmp_path, sky):
    out = run_rows(tmp_path, sky, "TIC_ID\n2000002\nTIC 2000007\n2000003\n999\n2000008\n")
    assert out["crossmatch_status"].tolist() == ["ok", "ambiguous", "ok", "not_found", "not_found"]
    assert out.loc[0, "source_id"] == GB and out.loc[2, "source_id"] == GC  # DR2 != DR3 id resolved
    nb = [q for q in sky.queries("gaia") if "dr2_neighbourhood" in q]
    assert len(nb) == 1 and "n.dr2_source_id IN" in nb[0] and str(GC_DR2) in nb[0]
    assert json.loads(sky.queries("mast")[0])[0] == {"paramName": "ID", "values": ["999", "2000002", "2000003",
                                                                                    "2000007", "2000008"]}
    out = run_rows(tmp_path, sky, "kepid\n1000001\n1000005\n")
    # KIC 1000001: the DUPLICATE-flagged TIC row is ignored; KIC 1000005 has two TIC entries
    assert out["crossmatch_status"].tolist() == ["ok", "ambiguous"]
    assert out.loc[0, "tic"] == 2000001 and out.loc[0, "prot"] == 12.3
    assert math.isnan(out.loc[1, "prot"]) and math.isnan(out.loc[1, "bp_rp0"])


def test_crossmatch_cone_search(tmp_path, sky):
    a, c = GAIA[GA], GAIA[GC]
    rows = f"RA,Dec\n{a[0] + 0.5 / 3600},{a[1]}\n{c[0]},{c[1]}\n10.00005,10.0\n0.0,0.0\nnan,1\n"
    out = run_rows(tmp_path, sky, rows, radius_arcsec=2.0)
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
    out = run_rows(tmp_path, sky, rows, radius_arcsec=2.0)
    assert out["crossmatch_status"].tolist() == ["no_period", "not_found"]
    assert out.loc[0, "source_id"] == GD and out.loc[0, "match_sep_arcsec"] == pytest.approx(1.9, rel=1e-4)


def test_crossmatch_identifier_detection():
    assert detect_ids(["x", "KIC"]) == InputIds("kic", "KIC")
    assert detect_ids(["TIC", "source_id"]).kind == "gaia"  # Gaia wins: it needs fewer hops
    assert detect_ids(["RA_deg", "DEC_deg"]) == InputIds("radec", None, "RA_deg", "DEC_deg")
    assert detect_ids(["star", "number"], id_column="NUMBER", id_type="tic") == InputIds("tic", "number")
    with pytest.raises(UserError, match="no identifier column"):
        detect_ids(["name", "prot"])
    with pytest.raises(UserError, match="--id-type"):
        detect_ids(["number"], id_column="number")
    parsed = parse_ids(pd.Series(["TIC 123", "Gaia DR3 4600000000000000002", "kplr0099", "", "1.5", "-3"]))
    assert parsed.tolist() == [123, 4600000000000000002, 99, None, None, None]


@pytest.mark.parametrize("rows, args, missing", [
    ("name,ra\na,10.0\n", ("--id-type", "radec"), "dec"),
    ("name,DEC\na,10.0\n", ("--id-type", "radec"), "ra"),
    ("name,ra\na,10.0\n", ("--id-type", "radec", "--id-column", "ra"), "dec"),
    ("name,source_id\na,1\n", ("--id-type", "radec", "--id-column", "source_id"), "ra"),
    ("name,ra\na,10.0\n", (), "dec"),
])
def test_crossmatch_radec_without_both_coordinates_stops_before_any_query(tmp_path, sky, rows, args, missing):
    """--id-type radec --id-column ra on a file without dec made every row invalid_id; without --id-column the error
    did not say which coordinate was missing. Now one line naming it, exit 2, no output and no query."""
    from tests.conftest import run_cli

    src, out = tmp_path / "in.csv", tmp_path / "out.csv"
    src.write_text(rows)
    res = run_cli("crossmatch", str(src), "-o", str(out), "--quiet", "--no-cache", "--gaia-url", sky.url,
                  "--vizier-url", sky.url, "--mast-url", sky.url, *args)
    assert res.returncode == 2 and "Traceback" not in res.stderr, res.stderr
    assert len(res.stderr.strip().splitlines()) == 1 and f"no {missing} column" in res.stderr, res.stderr
    assert sky.raw == [] and not out.exists()


def test_id_type_radec_reads_the_coordinate_columns():
    assert detect_ids(["RA", "Dec", "name"], id_type="radec") == InputIds("radec", None, "RA", "Dec")
    # an --id-column naming one of the coordinates is the positions it names
    assert detect_ids(["RA", "Dec", "name"], id_column="ra", id_type="radec") == InputIds("radec", None, "RA", "Dec")
    with pytest.raises(UserError, match="--id-column 'name'"):
        detect_ids(["RA", "Dec", "name"], id_column="name", id_type="radec")


def test_crossmatch_positions_off_the_sky_are_invalid_and_never_sent(tmp_path, sky):
    """ra outside [0, 360) was sent to Gaia in a cone query; such rows (and dec outside [-90, 90]) are invalid_id."""
    a = GAIA[GA]
    rows = f"ra,dec\n{a[0]},{a[1]}\n-10.0,10.0\n360.0,10.0\n400.0,10.0\n10.0,90.5\n10.0,-95.0\n0.0,-90.0\n"
    out = run_rows(tmp_path, sky, rows, radius_arcsec=2.0)
    assert out["crossmatch_status"].tolist() == ["ok", *["invalid_id"] * 5, "not_found"]
    (cone,) = [q for q in sky.queries("gaia") if "CONTAINS" in q]
    sent = [(float(r), float(d)) for r, d in re.findall(r"CIRCLE\('ICRS', ([-\d.]+), ([-\d.]+),", cone)]
    assert sent == [(a[0], a[1]), (0.0, -90.0)]  # the star and the south pole only


@pytest.mark.parametrize("ra, dec", [("_RAJ2000", "_DEJ2000"), ("RAJ2000", "DEJ2000"), ("RA_ICRS", "DE_ICRS"),
                                     ("RAdeg", "DEdeg"), ("RA_deg", "DE_deg"), ("ra", "dej2000"),
                                     ("RAJ2000", "DECJ2000"), ("RA_ICRS", "DEC_ICRS"), ("alpha_J2000", "delta_J2000")])
def test_positions_under_vizier_and_literature_names(ra, dec):
    """VizieR's DEdeg (and DE_deg, DECJ2000, DEC_ICRS, alpha/delta_J2000) were not read as positions: 'no dec column'."""
    assert detect_ids(["name", ra, dec]) == InputIds("radec", None, ra, dec)


def test_bare_alpha_and_delta_are_no_positions():
    """In a rotation table alpha is as likely the differential-rotation shear and delta a difference: not taken."""
    with pytest.raises(UserError, match="no identifier column"):
        detect_ids(["name", "alpha", "delta"])


def test_crossmatch_reads_sexagesimal_positions(tmp_path, sky):
    """A sexagesimal RAJ2000/DEJ2000 (as VizieR gives them) made every row invalid_id, silently: RA is now read as
    hours and Dec as degrees (h/m/s or d/m/s letters as written), decimal cells as degrees; a cell that is neither
    stays invalid_id."""
    a, b, c = GAIA[GA], GAIA[GB], GAIA[GC]  # 290.1 +44.5, 80.2 -60.1, 120.3 +10.2
    rows = ("name,RAJ2000,DEJ2000\n"
            "a,19 20 24.0,+44 30 00\nb,05:20:48,-60:06:00.0\nc,08h01m12s,+10d12m00s\nd,120.3,10.2\n"
            "e,19 70 24,+44 30 00\nf,,\n")
    out = run_rows(tmp_path, sky, rows, radius_arcsec=2.0)
    assert out["crossmatch_status"].tolist()[:4] == ["ok", "ok", "ok", "ok"]
    assert out["source_id"].tolist()[:4] == [GA, GB, GC, GC]
    assert out["crossmatch_status"].tolist()[4:] == ["invalid_id", "invalid_id"]
    assert out["match_sep_arcsec"][:4].max() < 1e-3
    (cone,) = [q for q in sky.queries("gaia") if "CONTAINS" in q]
    sent = [(float(r), float(d)) for r, d in re.findall(r"CIRCLE\('ICRS', ([-\d.]+), ([-\d.]+),", cone)]
    assert [x for pos in sent for x in pos] == pytest.approx([a[0], a[1], b[0], b[1], c[0], c[1], c[0], c[1]],
                                                             abs=1e-9)


def test_float_gaia_ids_beyond_2_53_are_invalid_not_rounded(tmp_path, sky):
    """A FITS float64 source_id 2106000000000000001.0 is 2106000000000000000.0: int() of it named another star with
    status ok. A float id at or above 2**53 (where floats skip integers) is now invalid_id; smaller ones (TIC, KIC
    as float) still read, and int_ids (service answers) refuses such floats likewise."""
    import numpy as np

    from gyroage.crossmatch.queries import int_ids

    parsed = parse_ids(pd.Series([float(GA), 2.0 ** 53, 2.0 ** 53 - 1, 2000002.0, np.float32(12.0)], dtype=object))
    assert parsed.tolist() == [None, None, 2 ** 53 - 1, 2000002, 12]
    assert int_ids([float(GA), 2.0 ** 53, 2000002.0, GA, str(GA)]).tolist() == [pd.NA, pd.NA, 2000002, GA, GA]
    # end to end: a float64 column (as FITS/Parquet give it) of a 19-digit id is not matched to anything
    pd.DataFrame({"source_id": [float(GA)]}).to_parquet(tmp_path / "ids.parquet")
    from gyroage.crossmatch import CrossmatchSettings, run_crossmatch
    from tests.crossmatch.fakesky import services_for

    run_crossmatch(tmp_path / "ids.parquet", tmp_path / "out.csv", services_for(sky), CrossmatchSettings(), quiet=True)
    out = pd.read_csv(tmp_path / "out.csv", dtype={"source_id": "Int64"})
    assert out["crossmatch_status"].tolist() == ["invalid_id"] and out["source_id"].isna().all()


def test_float32_tic_ids_beyond_2_24_are_invalid_not_another_star(tmp_path, sky):
    """A float32 column (FITS E, a pandas float32) holds every integer only below 2**24: TIC 100000049 in it is
    100000048, which was looked up and matched (another star's colour and period, status ok; review V50, 2). The
    limit now comes from the column's (or the cell's) float type: beyond it the row is invalid_id, never queried, as a
    rounded 19-digit Gaia id is; smaller float32 ids (a KIC, a small TIC) are read."""
    import numpy as np

    f32 = np.array([100000049, 2000002, 2 ** 24, 2 ** 24 - 1], dtype=np.float32)
    assert parse_ids(pd.Series(f32), "tic").tolist() == [None, 2000002, None, 2 ** 24 - 1]
    assert parse_ids(pd.Series(list(f32), dtype=object), "tic").tolist() == [None, 2000002, None, 2 ** 24 - 1]
    assert parse_ids(pd.Series(f32.astype(np.float64)), "tic").tolist()[0] == 100000048  # float64: exact as given
    from gyroage.crossmatch import CrossmatchSettings, run_crossmatch
    from tests.crossmatch.fakesky import services_for

    pd.DataFrame({"tic": f32[:2]}).to_parquet(tmp_path / "ids.parquet")
    run_crossmatch(tmp_path / "ids.parquet", tmp_path / "out.csv", services_for(sky), CrossmatchSettings(), quiet=True)
    out = pd.read_csv(tmp_path / "out.csv", dtype={"source_id": "Int64"})
    assert out["crossmatch_status"].tolist() == ["invalid_id", "ok"] and out.loc[1, "source_id"] == GB
    assert not any("100000048" in q for q in sky.queries("mast")), sky.queries("mast")


def test_a_float32_id_column_beyond_its_exact_limit_is_named(tmp_path, sky):
    """Float32 TIC ids beyond 2**24 are invalid_id (rounded), but the row alone did not say why: one note now names
    the column and its type, once a run; a float32 column of small ids (KIC) says nothing."""
    import numpy as np

    from gyroage.crossmatch import CrossmatchSettings, run_crossmatch
    from tests.crossmatch.fakesky import services_for

    for name, ids, said in (("tic", [100000049, 2000002, 100000041], 1), ("kepid", [1000001], 0)):
        pd.DataFrame({name: np.array(ids, dtype=np.float32)}).to_parquet(tmp_path / "ids.parquet")
        report = run_crossmatch(tmp_path / "ids.parquet", tmp_path / "out.csv", services_for(sky),
                                CrossmatchSettings(), chunksize=2, quiet=True)
        notes = [m for m in report.messages if "float32" in m]
        assert len(notes) == said, report.messages
        if said:
            assert f"'{name}'" in notes[0] and "16777216" in notes[0] and "invalid_id" in notes[0]


def test_a_float32_id_column_is_echoed_as_it_was_read(tmp_path, sky):
    """A float32 TIC column's echo (input_tic) was written at float32's shortest text: 100000050 for the stored
    100000048 (the user's 100000049), a third number (review V52, 9). The echo is now the value read, in CSV, and
    the Parquet output holds it exactly too."""
    import numpy as np

    from gyroage.crossmatch import CrossmatchSettings, run_crossmatch
    from tests.crossmatch.fakesky import services_for

    ids = np.array([100000049, 2000002, 100000041], dtype=np.float32)
    pd.DataFrame({"tic": ids}).to_parquet(tmp_path / "ids.parquet")
    for out in ("out.csv", "out.parquet"):
        run_crossmatch(tmp_path / "ids.parquet", tmp_path / out, services_for(sky), CrossmatchSettings(), quiet=True)
        got = (pd.read_csv(tmp_path / out, dtype=str) if out.endswith("csv") else pd.read_parquet(tmp_path / out))
        assert [float(v) for v in got["input_tic"]] == [100000048.0, 2000002.0, 100000040.0], got["input_tic"]
        assert got["crossmatch_status"].tolist()[::2] == ["invalid_id", "invalid_id"]


def test_gaia_ids_stored_as_float64_are_named(tmp_path, sky):
    """Gaia ids in a float64 column (pandas' after one missing value), or written from one as float text
    ('2.106e+18' in CSV), were all invalid_id without a word (review V52, 5): the float32 note's kind of line now
    names the column; a float64 column of small (exact) ids says nothing."""
    import numpy as np

    from gyroage.crossmatch import CrossmatchSettings, run_crossmatch
    from tests.crossmatch.fakesky import services_for

    frame = pd.DataFrame({"name": ["a", "b", "c"], "source_id": [float(GA), float(GB), None]})
    frame.to_parquet(tmp_path / "f64.parquet")
    frame.to_csv(tmp_path / "f64.csv", index=False)
    pd.DataFrame({"kepid": np.array([1000001.0, np.nan])}).to_parquet(tmp_path / "kic.parquet")
    for name, column, said, how in (("f64.parquet", "source_id", 1, "float64"), ("f64.csv", "source_id", 1, "float"),
                                    ("kic.parquet", "kepid", 0, "")):
        report = run_crossmatch(tmp_path / name, tmp_path / "out.csv", services_for(sky), CrossmatchSettings(),
                                chunksize=2, quiet=True)
        notes = [m for m in report.messages if "integers or text" in m]
        assert len(notes) == said, (name, report.messages)
        if said:
            assert f"'{column}'" in notes[0] and how in notes[0] and "9007199254740992" in notes[0], notes
            assert pd.read_csv(tmp_path / "out.csv")["crossmatch_status"].tolist() == ["invalid_id"] * 3


def test_cone_with_a_brighter_source_than_the_nearest_is_ambiguous(tmp_path, sky, monkeypatch):
    """A G = 18 source 0.2" from the position was adopted over the G = 10 star 1.5" away (the likely owner of a
    light-curve period), status ok: a source within the radius brighter than the nearest by over 1 mag is now
    ambiguous too; one fainter by over 1 mag still does not count."""
    from tests.crossmatch import fakesky

    faint, bright, far_faint = 9100000000000000001, 9100000000000000002, 9100000000000000003
    row = (12.5, 12.0, 500.0, 800.0, 2.0, 1.0, 0.1, 0.08, 0.12, 6.1, 0.3)
    monkeypatch.setitem(fakesky.GAIA, faint, (30.0, 5.0 + 0.2 / 3600, 18.0, *row))
    monkeypatch.setitem(fakesky.GAIA, bright, (30.0, 5.0 + 1.5 / 3600, 10.0, *row))
    monkeypatch.setitem(fakesky.GAIA, far_faint, (40.0, 5.0 + 1.5 / 3600, 18.0, *row))
    monkeypatch.setitem(fakesky.GAIA, far_faint + 1, (40.0, 5.0 + 0.2 / 3600, 10.0, *row))
    out = run_rows(tmp_path, sky, "ra,dec\n30.0,5.0\n40.0,5.0\n", radius_arcsec=2.0)
    assert out["crossmatch_status"].tolist()[0] == "ambiguous" and pd.isna(out.loc[0, "source_id"])
    assert out.loc[1, "source_id"] == far_faint + 1  # the bright nearest kept: its faint neighbour cannot own it


def test_ids_written_as_text_from_a_float_column_are_read_while_exact():
    # a KIC column that went through a float column is written "2000002.0" in CSV: it was invalid_id;
    # a 19-digit one with ".0" came through a float and may be another star's id: still invalid
    got = parse_ids(pd.Series(["2000002.0", "KIC 2000002.00", "25155310.", f"{GA}.0", "2000002.5", "1e6"]))
    assert list(got) == [2000002, 2000002, 25155310, None, None, None]


def test_ids_written_as_exponent_text_are_read_while_every_digit_is_spelled():
    """A TIC or KIC written as exponent text (Excel's or %.8e's 1.00000048e+08) was invalid_id, though the same
    number in a float cell is read (review V50, 10): now read by the float cell's rule (whole, below 2**53), and only
    when the text spells every digit of the id: %g's 1e+08 for TIC 100000048 has been rounded to another star's id.
    Gaia-sized values stay invalid_id (rounded)."""
    got = parse_ids(pd.Series(["1.00000048e+08", "1.00000048E8", " 2.000002e6 ", "1.0000004800e+08", "1e+08",
                               "1.000000485e+08", "4.10e+18", "6.813284466302577e+18", "1.00000048e-08"]), "tic")
    assert got.tolist() == [100000048, 100000048, 2000002, 100000048, None, None, None, None, None]


def test_an_id_prefix_naming_another_catalogue_is_invalid_id(tmp_path, sky):
    """'KIC 2000002' in a tic column was read as TIC 2000002 (another star); 'TIC 1000001' in a kepid column as
    KIC 1000001. A prefix must name the column's own catalogue."""
    tic = pd.Series(["KIC 2000002", "Gaia DR3 2000001", "TIC 2000003", "tic2000004", "TIC-2000002", "kplr2000001"])
    assert parse_ids(tic, "tic").tolist() == [None, None, 2000003, 2000004, 2000002, None]
    kic = pd.Series(["kplr001000001", "TIC 1000001", "KIC 1000001", "Gaia 1000001"])
    assert parse_ids(kic, "kic").tolist() == [1000001, None, 1000001, None]
    gaia = pd.Series([f"Gaia DR3 {GA}", f"Gaia EDR3 {GA}", f"DR3 {GA}", f"TIC {GA}", f"Gaia DR2 {GA}", f"gaia{GA}"])
    assert parse_ids(gaia, "gaia").tolist() == [GA, GA, GA, None, None, GA]
    out = run_rows(tmp_path, sky, "tic\nKIC 2000002\nGaia DR3 2000001\nTIC 2000002\n")
    assert out["crossmatch_status"].tolist() == ["invalid_id", "invalid_id", "ok"]


def _gc_with_neighbours(tmp_path, sky, monkeypatch, neighbours):
    """(report, output) of crossmatching Gaia DR3 source GC when the fake's dr2_neighbourhood holds ``neighbours`` and
    Holcomb's table gives GC's TIC (2000003) 9.9 d."""
    from gyroage.crossmatch import CrossmatchSettings, run_crossmatch
    from tests.crossmatch import fakesky
    from tests.crossmatch.fakesky import services_for

    monkeypatch.setattr(fakesky, "NEIGHBOURS", neighbours)
    key, rows, cols = fakesky.VIZIER["J/ApJ/936/138/table1"]
    monkeypatch.setitem(fakesky.VIZIER, "J/ApJ/936/138/table1", (key, rows + [(2000003, 9.9, 0.2)], cols))
    src = tmp_path / "ids.csv"
    src.write_text(f"source_id\n{GC}\n")
    report = run_crossmatch(src, tmp_path / "out.csv", services_for(sky), CrossmatchSettings(), quiet=True)
    return report, pd.read_csv(tmp_path / "out.csv", dtype={"source_id": "Int64", "tic": "Int64"})


@pytest.mark.parametrize("second, expect", [
    ((1500.0, 2.5), ("ok", 2000003, "holcomb2022", 9.9)),     # 1.5" away, 2.5 mag off: not the same star
    ((1500.0, -3.0), ("ok", 2000003, "holcomb2022", 9.9)),    # brighter by 3 mag: not the same star either
    ((1500.0, 0.4), ("ok", None, "gaiadr3", 3.3)),            # within 1 mag: either could be GC in DR2
    ((5.0, 0.0), ("ok", None, "gaiadr3", 3.3)),               # nearer than GC's own DR2 source
])
def test_a_dr3_id_with_a_second_dr2_neighbour(tmp_path, sky, monkeypatch, second, expect):
    """A Gaia DR3 id whose DR2 neighbourhood held a second source lost its TIC/KIC route without a word (by TIC:
    Holcomb's 9.9 d; by source_id: Gaia's 3.3 d). The nearest DR2 neighbour is now taken when every other one
    differs from the DR3 source by more than 1 mag (as the cone match treats its candidates); otherwise the route
    is dropped and a warning says so."""
    from tests.crossmatch import fakesky

    nb = [r if r != (GC_DR2, GC) else (GC_DR2, GC, 20.0, 0.05) for r in fakesky.NEIGHBOURS]
    report, out = _gc_with_neighbours(tmp_path, sky, monkeypatch, nb + [(9000000000000000001, GC, *second)])
    status, tic, source, prot = expect
    assert out.loc[0, "crossmatch_status"] == status and out.loc[0, "prot_source"] == source
    assert out.loc[0, "prot"] == prot and (pd.isna(out.loc[0, "tic"]) if tic is None else out.loc[0, "tic"] == tic)
    dropped = [m for m in report.messages if "DR2" in m]
    assert len(dropped) == (1 if tic is None else 0), report.messages


def test_a_mixed_list_falls_back_per_row_to_the_next_id_column(tmp_path, sky):
    """A list with source_id, tic and kic columns read only source_id: a row with only a TIC or a KIC was
    invalid_id. Without --id-column each row now uses its first id (Gaia, then TIC, then KIC)."""
    rows = f"name,source_id,tic,kic\na,{GA},,\nb,,2000002,\nc,,,1000001\nd,,,\ne,{GC},2000001,\n"
    out = run_rows(tmp_path, sky, rows)
    assert out["name"].tolist() == list("abcde")
    assert out["crossmatch_status"].tolist() == ["ok", "ok", "ok", "invalid_id", "ok"]
    assert out["source_id"].tolist()[:3] == [GA, GB, GA] and out["source_id"].tolist()[4] == GC
    assert out["tic"].tolist()[1] == 2000002 and out["kic"].tolist()[2] == 1000001
    assert detect_ids(["source_id", "TIC", "kepid"]) == InputIds("gaia", "source_id", fallbacks=(("tic", "TIC"),
                                                                                               ("kic", "kepid")))
    # a named column (or kind) is the one read
    assert detect_ids(["source_id", "tic"], id_column="tic").fallbacks == ()
    assert detect_ids(["source_id", "tic"], id_type="gaia").fallbacks == ()


def test_a_tic_flagged_duplicate_points_to_its_replacement(tmp_path, sky):
    """A TIC id flagged DUPLICATE in the TIC was a plain not_found: the run now says so and names the entry it
    was merged into (the TIC's duplicate_id)."""
    from gyroage.crossmatch import CrossmatchSettings, run_crossmatch
    from tests.crossmatch.fakesky import services_for

    src = tmp_path / "ids.csv"
    src.write_text("tic\n2000099\n2000002\n")
    report = run_crossmatch(src, tmp_path / "out.csv", services_for(sky), CrossmatchSettings(), quiet=True)
    out = pd.read_csv(tmp_path / "out.csv")
    assert out["crossmatch_status"].tolist() == ["not_found", "ok"]
    (msg,) = [m for m in report.messages if "DUPLICATE" in m]
    assert "TIC 2000099" in msg and "TIC 2000001" in msg and "\n" not in msg, msg


@pytest.mark.parametrize("key, value", [("dr2_source_id", "dr3_source_id"), ("dr3_source_id", "dr2_source_id")])
def test_one_neighbour_rule_both_ways(key, value):
    """TIC/KIC -> DR2 -> DR3 called any DR2 source with two DR3 neighbours ambiguous, while the way back (DR3 -> DR2)
    took the nearest when every other one differs by more than 1 mag: one rule now serves both directions."""
    from gyroage.crossmatch.resolve import _neighbour
    from gyroage.statuses import AMBIGUOUS, NOT_FOUND

    def nb(rows):  # (key id, value id, angular distance, magnitude difference)
        return pd.DataFrame({key: pd.array([r[0] for r in rows], dtype="Int64"),
                             value: pd.array([r[1] for r in rows], dtype="Int64"),
                             "angular_distance": [r[2] for r in rows], "magnitude_difference": [r[3] for r in rows]})

    assert _neighbour(nb([(11, 21, 0.05, 0.0), (11, 22, 1.5, 2.5)]), key, value) == {11: 21}  # the other: 2.5 mag
    assert _neighbour(nb([(11, 21, 0.05, 0.0), (11, 22, 1.5, 0.4)]), key, value) == {11: AMBIGUOUS}  # within 1 mag
    assert _neighbour(nb([(11, 21, 0.05, 0.0), (11, 11, 1.5, 0.4)]), key, value) == {11: 11}  # the id kept wins
    assert _neighbour(nb([(11, 21, 0.05, 0.0)]), key, value) == {11: 21}
    # a lone neighbour over 1 mag off is another star: the source has no counterpart (nothing ambiguous about it)
    assert _neighbour(nb([(11, 21, 1.5, 3.5)]), key, value) == {11: NOT_FOUND}
    assert _neighbour(nb([(11, 21, 1.5, float("nan"))]), key, value) == {11: 21}  # unknown: as before
    assert _neighbour(nb([(11, 11, 1.5, 3.5)]), key, value) == {11: 11}  # the id kept still wins
    # several neighbours, none within 1 mag: other stars, as a lone one is (not ambiguous: nothing to choose between)
    assert _neighbour(nb([(11, 21, 1.5, 3.0), (11, 22, 1.9, -2.5)]), key, value) == {11: NOT_FOUND}
    # one within 1 mag, but not the nearest: ambiguous (it may be the star, or not)
    assert _neighbour(nb([(11, 21, 0.05, 3.0), (11, 22, 1.5, 0.4)]), key, value) == {11: AMBIGUOUS}
    assert _neighbour(nb([(11, 21, 0.05, 3.0), (11, 22, 1.5, float("nan"))]), key, value) == {11: AMBIGUOUS}


@pytest.mark.parametrize("off, expect_tic", [(3.5, False), (-3.5, False), (0.4, True), (float("nan"), True)])
def test_a_lone_dr2_neighbour_over_1_mag_off_is_not_the_same_star(tmp_path, sky, monkeypatch, off, expect_tic):
    """A faint DR3 source whose only DR2 neighbour was a star 3.5 mag brighter 1.5" away got that star's TIC and its
    TESS period, status ok. A lone neighbour must now be within 1 mag too (an unknown difference still counts as
    within): otherwise the row keeps its Gaia match and Gaia period, no TIC/KIC, and the warning says so. It said
    "give their TIC or KIC to use them", false here: the pair is symmetric, that star's TIC cannot reach this source
    either; the case now has its own counted warning, without that advice."""
    from tests.crossmatch import fakesky

    nb = [r if r != (GC_DR2, GC) else (GC_DR2, GC, 1500.0, off) for r in fakesky.NEIGHBOURS]
    report, out = _gc_with_neighbours(tmp_path, sky, monkeypatch, nb)
    assert out.loc[0, "crossmatch_status"] == "ok" and out.loc[0, "source_id"] == GC
    dropped = [m for m in report.messages if "DR2" in m]
    if expect_tic:
        assert out.loc[0, "tic"] == 2000003 and out.loc[0, "prot_source"] == "holcomb2022" and not dropped
    else:
        assert pd.isna(out.loc[0, "tic"]) and out.loc[0, "prot_source"] == "gaiadr3" and out.loc[0, "prot"] == 3.3
        assert len(dropped) == 1 and "no Gaia DR2 neighbour of theirs is within 1 mag" in dropped[0], report.messages
        assert dropped[0].startswith("warning: 1 Gaia DR3 source(s) ") and "TIC or KIC to" not in dropped[0]


@pytest.mark.parametrize("off, status", [(3.0, "not_found"), (-3.0, "not_found"), (0.4, "ok"), (float("nan"), "ok")])
def test_a_tic_star_whose_dr2_source_has_one_dr3_neighbour_over_1_mag_off(tmp_path, sky, monkeypatch, off, status):
    """TIC -> DR2 -> DR3: a DR2 source whose one DR3 neighbour was 3 mag fainter gave the TIC star's period the
    faint source's colour, status ok; then ambiguous without a word, though nothing is ambiguous: the one DR3
    source is another star. Such a row is now not_found, and a counted warning says why (unlike the cone search,
    which adopts a lone source within its radius whatever its G)."""
    from gyroage.crossmatch import CrossmatchSettings, run_crossmatch
    from tests.crossmatch import fakesky
    from tests.crossmatch.fakesky import services_for

    nb = [r if r != (GC_DR2, GC) else (GC_DR2, GC, 1500.0, off) for r in fakesky.NEIGHBOURS]
    monkeypatch.setattr(fakesky, "NEIGHBOURS", nb)
    (tmp_path / "ids.csv").write_text("tic\n2000003\n2000001\n2000003\n")  # counted over the chunks
    report = run_crossmatch(tmp_path / "ids.csv", tmp_path / "out.csv", services_for(sky), CrossmatchSettings(),
                            chunksize=1, quiet=True)
    out = pd.read_csv(tmp_path / "out.csv", dtype={"source_id": "Int64", "tic": "Int64"})
    said = [m for m in report.messages if "DR3 neighbour" in m]
    if status == "ok":
        assert not said, report.messages
    else:
        assert said == ["warning: 2 TIC/KIC star(s) not_found: no Gaia DR3 neighbour of their Gaia DR2 source is "
                        "within 1 mag of it in G (other stars, not theirs re-measured)"], report.messages
    assert out["crossmatch_status"].tolist() == [status, "ok", status]
    assert (out.loc[0, "source_id"] == GC) if status == "ok" else pd.isna(out.loc[0, "source_id"])
    assert pd.isna(out.loc[0, "prot"]) == (status != "ok")


def test_match_sep_arcsec_of_a_dr2_to_dr3_hop(tmp_path, sky, monkeypatch):
    """match_sep_arcsec was empty for every identifier match: a TIC/KIC row now has the DR2 -> DR3 neighbour's
    angular_distance (mas in gaiadr3.dr2_neighbourhood, written in arcsec) where the answer gives it; a Gaia DR3
    input (no hop to its own source) and a neighbour without a distance leave it empty."""
    from tests.crossmatch import fakesky

    nb = [(GC_DR2, GC, 250.0, 0.05) if r == (GC_DR2, GC) else (GD, GD, NAN, 0.0) if r == (GD, GD) else r
          for r in fakesky.NEIGHBOURS]
    monkeypatch.setattr(fakesky, "NEIGHBOURS", nb)
    out = run_rows(tmp_path, sky, f"name,tic,source_id\na,2000003,\nb,2000002,\nc,2000004,\nd,,{GC}\ne,,\n")
    assert out["crossmatch_status"].tolist() == ["ok", "ok", "no_period", "ok", "invalid_id"]
    sep = out["match_sep_arcsec"].tolist()
    assert sep[0] == pytest.approx(0.25) and sep[1] == pytest.approx(1e-5)  # the fake's default: 0.01 mas
    assert all(math.isnan(s) for s in sep[2:])
    out = run_rows(tmp_path, sky, "kepid\n1000001\n")
    assert out.loc[0, "match_sep_arcsec"] == pytest.approx(1e-5)


OTHER_DR2 = 5200000000000000098  # a second Gaia DR2 source near GC


@pytest.mark.parametrize("offs, status", [((3.0, 2.5), "not_found"), ((3.0, 0.4), "ambiguous")])
def test_a_tic_star_whose_dr2_source_has_several_dr3_neighbours_all_over_1_mag_off(tmp_path, sky, monkeypatch, offs,
                                                                                  status):
    """A DR2 source with two DR3 neighbours, both over 1 mag off, made the TIC row ambiguous without a word (only a
    lone far neighbour gave not_found): no neighbour within 1 mag, whatever their number, is now not_found with the
    counted warning; a set with one within 1 mag that fails the rule stays ambiguous."""
    from gyroage.crossmatch import CrossmatchSettings, run_crossmatch
    from tests.crossmatch import fakesky
    from tests.crossmatch.fakesky import services_for

    nb = [r for r in fakesky.NEIGHBOURS if r != (GC_DR2, GC)] + [(GC_DR2, GC, 1500.0, offs[0]),
                                                                  (GC_DR2, GD, 1900.0, offs[1])]
    monkeypatch.setattr(fakesky, "NEIGHBOURS", nb)
    (tmp_path / "ids.csv").write_text("tic\n2000003\n")
    report = run_crossmatch(tmp_path / "ids.csv", tmp_path / "out.csv", services_for(sky), CrossmatchSettings(),
                            quiet=True)
    out = pd.read_csv(tmp_path / "out.csv", dtype={"source_id": "Int64", "tic": "Int64"})
    assert out["crossmatch_status"].tolist() == [status] and pd.isna(out.loc[0, "source_id"])
    said = [m for m in report.messages if "DR3 neighbour" in m]
    assert said == ([] if status == "ambiguous" else [
        "warning: 1 TIC/KIC star(s) not_found: no Gaia DR3 neighbour of their Gaia DR2 source is within 1 mag of it "
        "in G (other stars, not theirs re-measured)"]), report.messages


@pytest.mark.parametrize("offs, kind", [((3.0, 2.5), "far"), ((3.0, 0.4), "ambiguous"), ((0.3, 0.4), "ambiguous")])
def test_a_gaia_source_with_several_dr2_neighbours_says_why_it_has_no_tic(tmp_path, sky, monkeypatch, offs, kind):
    """A Gaia DR3 source with two DR2 neighbours both over 1 mag off got the AMBIGUOUS warning, advising to give a
    TIC that leads to another star: it now gets the counted "no DR2 neighbour within 1 mag" warning, without that
    advice; the ambiguous one (a neighbour within 1 mag failing the rule) keeps the advice and is counted too."""
    from gyroage.crossmatch import CrossmatchSettings, run_crossmatch
    from tests.crossmatch import fakesky
    from tests.crossmatch.fakesky import services_for

    nb = [r for r in fakesky.NEIGHBOURS if r != (GC_DR2, GC)] + [(GC_DR2, GC, 1500.0, offs[0]),
                                                                  (OTHER_DR2, GC, 1900.0, offs[1])]
    monkeypatch.setattr(fakesky, "NEIGHBOURS", nb)
    (tmp_path / "ids.csv").write_text(f"source_id\n{GC}\n{GC}\n")
    report = run_crossmatch(tmp_path / "ids.csv", tmp_path / "out.csv", services_for(sky), CrossmatchSettings(),
                            chunksize=1, quiet=True)
    out = pd.read_csv(tmp_path / "out.csv", dtype={"source_id": "Int64", "tic": "Int64"})
    assert out["crossmatch_status"].tolist() == ["ok", "ok"] and out["tic"].isna().all()
    said = [m for m in report.messages if "DR2 neighbour" in m]
    assert len(said) == 1 and said[0].startswith("warning: 2 Gaia DR3 source(s) kept without TIC/KIC"), said
    if kind == "far":
        assert "no Gaia DR2 neighbour of theirs is within 1 mag" in said[0] and "give their TIC" not in said[0]
    else:
        assert "none clearly the same star" in said[0] and "give their TIC or KIC" in said[0]


@pytest.mark.parametrize("header, row, args, name", [
    ("source_id,Prot,source_id", "{ga},10.2,{gb}", ("--id-column", "source_id"), "source_id"),
    ("source_id,Prot,source_id", "{ga},10.2,{gb}", (), "source_id"),  # the id found by name
    ("name,Prot,tic,tic", "a,10.2,1,2", (), "tic"),  # a fallback kind's column is read too
    ("source_id,Prot,av,av", "{ga},10.2,0.1,0.2", ("--extinction", "column:av"), "av"),
    # the first of two Source_ID is read (before source_id): its copy was ignored unsaid (review V39a, 4)
    ("Source_ID,Source_ID,source_id,Prot", "{ga},{gb},{ga},10.2", (), "Source_ID"),
    ("RA,RA,ra,Dec,Prot", "1.0,2.0,3.0,4.0,10.2", (), "RA"),  # the first RA is read, not the exact 'ra'
])
def test_crossmatch_refuses_a_repeated_column_it_reads_before_any_query(tmp_path, sky, header, row, args, name):
    """A TAP join's two source_id were matched on the first without a word (the query: IN (first)), where estimate
    --id source_id refuses the file (review V30, 3); the same for --extinction column:NAME. One line, no query."""
    _refused_before_any_query(tmp_path, sky, f"{header}\n{row.format(ga=GA, gb=GB)}\n", args, name)


def _refused_before_any_query(tmp_path, sky, text: str, args, name: str) -> None:
    from tests.conftest import run_cli

    src, out = tmp_path / "in.csv", tmp_path / "out.csv"
    src.write_text(text)
    res = run_cli("crossmatch", str(src), "-o", str(out), "--quiet", "--no-cache", "--gaia-url", sky.url,
                  "--vizier-url", sky.url, "--mast-url", sky.url, *args)
    assert res.returncode == 2 and res.stderr.strip().splitlines() == [
        f"gyroage: error: {src} has 2 columns named '{name}': rename all but one (the first would be read)"], res.stderr
    assert sky.raw == [] and not out.exists()


@pytest.mark.parametrize("header, row, args, name", [
    ("RA,Dec,Prot,RA", "{ra},{dec},10.2,1.0", (), "RA"),  # a list matched by position, ra/dec found by name
    ("ra,dec,Prot,dec", "{ra},{dec},10.2,1.0", (), "dec"),
])
def test_crossmatch_refuses_a_repeated_coordinate_it_reads_by_name(tmp_path, sky, header, row, args, name):
    """Without --id-type radec the ra/dec found by name were not checked: the first copy was cone-searched without a
    word (review V30, 3, left by its fix)."""
    _refused_before_any_query(tmp_path, sky, f"{header}\n{row.format(ra=GAIA[GA][0], dec=GAIA[GA][1])}\n", args, name)


@pytest.mark.parametrize("header, row", [
    ("source_id,Prot,gaia,gaia", "{ga},10.2,x,y"),  # source_id is read: the gaia columns are passed through
    ("source_id,Prot,kic,kepid,kepid", "{ga},10.2,1,2,3"),  # the kic fallback is 'kic'
    ("tic,Prot,source_id,tic_id,tic_id", "1,10.2,{ga},3,4"),  # the tic fallback is 'tic'
    ("source_id,ra,dec,Prot,ra,dec", "{ga},1.0,2.0,10.2,3.0,4.0"),  # a TAP join: an id is read, no position
])
def test_crossmatch_reads_a_list_whose_repeated_column_it_does_not_read(tmp_path, sky, header, row):
    """An id alias detect_ids passes over for an earlier one (source_id beside two gaia columns), or a coordinate
    beside an id, was refused as if read (review V30, 3, left by its fix); it is passed through as any column."""
    out = run_rows(tmp_path, sky, f"{header}\n{row.format(ga=GA)}\n")
    assert out["crossmatch_status"].tolist() == ["ok"] and out.loc[0, "source_id"] == GA


def test_crossmatch_reads_a_list_whose_repeated_coordinate_it_does_not_read(tmp_path, sky, capsys):
    """RA,ra,ra: 'RA' is read (the first in the input's order), yet the file was refused over 'ra' (review V39a, 4);
    the notice names the copy it ignores too."""
    ra, dec = GAIA[GA][0], GAIA[GA][1]
    out = run_rows(tmp_path, sky, f"RA,ra,ra,Dec,Prot\n{ra},1.0,2.0,{dec},10.2\n")
    assert out["crossmatch_status"].tolist() == ["ok"] and out.loc[0, "source_id"] == GA, out
    assert "using 'RA', ignoring 'ra', 'ra.1'" in capsys.readouterr().err


@pytest.mark.parametrize("header, row, used", [
    ("Source_ID,prot,source_id", f"{GA},1,{GB}", "using 'Source_ID', then 'source_id'"),
    ("TIC,tic", "2000001,2000002", "using 'TIC', then 'tic'"),
    ("RA,Dec,ra", f"{GAIA[GA][0]},{GAIA[GA][1]},{GAIA[GB][0]}", "using 'RA', ignoring 'ra'"),
    ("kepid,kic_id", "KIC 1000001,x", "using 'kic_id', then 'kepid'"),  # a row's unreadable id: the next column's
])
def test_crossmatch_reads_the_first_of_columns_differing_in_case_and_says_so(tmp_path, sky, capsys, header, row,
                                                                            used):
    """The later exact spelling was read without a word (Source_ID ... source_id: the third column; RA,Dec,ra: star B's
    RA with star A's Dec, not_found), and kepid's good KIC id unused for kic_id's 'x' (review V36b, 4)."""
    out = run_rows(tmp_path, sky, f"{header}\n{row}\n")
    assert out["source_id"].tolist() == [GA] and out["crossmatch_status"].tolist() == ["ok"], out
    assert used in capsys.readouterr().err


@pytest.mark.parametrize("header", [
    "RA,RA,ra,Dec,Prot", "RA,ra,ra,Dec", "ra_deg,RA,DEdeg,dec", "Source_ID,Source_ID,source_id,Prot",
    "kepid,KIC_ID,kic,tic", "gaia,Gaia,source_id,ra,dec", "TIC,tic,Tic_ID,RA,Dec",
])
def test_the_columns_checked_for_repeats_are_the_ones_crossmatch_reads(header):
    """Which column crossmatch reads (detect_ids) and which its reader checks for a repeat (read_names, through
    columns.read_roles) were found by two copies of one rule, a sort in resolve and a marked alias in find_column
    (review V39a, 4 mended one; FR39b): both are columns.alias_columns' first now, and must stay so."""
    from gyroage.columns import read_roles
    from gyroage.crossmatch.run import CrossmatchSettings

    columns = header.split(",")
    ids = detect_ids(columns)
    roles = read_roles(columns, CrossmatchSettings().read_names())
    if ids.kind == "radec":
        assert (roles["crossmatch reads ra"], roles["crossmatch reads dec"]) == (ids.ra_column, ids.dec_column)
    else:  # each kind's first column, the one read (the others its fallbacks)
        firsts: dict[str, str] = {}
        for kind, col in [(ids.kind, ids.column), *ids.fallbacks]:
            firsts.setdefault(kind, col)
        assert {kind: roles[f"crossmatch reads a {kind} id"] for kind in firsts} == firsts


@pytest.mark.parametrize("name", ["GaiaDR3_ID", "gaia_dr3_id", "DR3_ID"])
def test_a_gaia_dr3_id_column_named_as_chronoflow_names_it_is_read(name):
    """The shared rotator catalogue (and ChronoFlow's) names its ids GaiaDR3_ID: crossmatch said "no identifier
    column" on it, and --posteriors did not carry it as the star's id."""
    assert detect_ids(["x", name, "prot"]) == InputIds("gaia", name)
    assert io.id_columns(["x", name, "prot"]) == [name]


SPLIT_B = 2106000000000000011  # DR3 source split from GA's DR2 source: GA kept the id, this one is 0.6" off


def test_a_gaia_source_split_from_a_dr2_source_takes_no_other_sources_tic(tmp_path, sky, monkeypatch):
    """A DR2 source split in DR3 (GA's, GA keeping the id; G_AMB_DR2 into G_AMB1 and G_AMB2) gave its one TIC, KIC
    and Kepler/TESS period to every DR3 part given by source_id, status ok without a word (review V50, 1), while the
    TIC itself leads to GA alone (the id kept) or is ambiguous. A Gaia input now keeps the TIC/KIC only where the
    TIC's own route (DR2 -> DR3) leads back to it; the others keep their Gaia match, no TIC/KIC, counted warning."""
    from gyroage.crossmatch import CrossmatchSettings, run_crossmatch
    from tests.crossmatch import fakesky
    from tests.crossmatch.fakesky import services_for

    monkeypatch.setitem(fakesky.GAIA, SPLIT_B, (GAIA[GA][0], GAIA[GA][1] + 0.6 / 3600, 12.4, *GAIA[GA][3:12],
                                                 NAN, NAN))
    monkeypatch.setattr(fakesky, "NEIGHBOURS", [*fakesky.NEIGHBOURS, (GA, SPLIT_B, 600.0, 0.4)])
    (tmp_path / "ids.csv").write_text(f"source_id,tic\n{GA},\n{SPLIT_B},\n{G_AMB1},\n{G_AMB2},\n,2000001\n")
    report = run_crossmatch(tmp_path / "ids.csv", tmp_path / "out.csv", services_for(sky), CrossmatchSettings(),
                            quiet=True)
    out = pd.read_csv(tmp_path / "out.csv", dtype={"source_id": "Int64", "tic": "Int64", "kic": "Int64"})
    assert out["source_id"].tolist() == [GA, SPLIT_B, G_AMB1, G_AMB2, GA]
    assert out["tic"].tolist()[0] == 2000001 and out["tic"].tolist()[4] == 2000001
    assert out.loc[0, "prot_source"] == "mcquillan2014" and out.loc[0, "prot"] == 12.3
    assert out["tic"][1:4].isna().all() and out["kic"][1:4].isna().all(), out[["tic", "kic"]]
    assert out["crossmatch_status"].tolist() == ["ok", "no_period", "no_period", "no_period", "ok"]
    said = [m for m in report.messages if "split" in m]
    assert len(said) == 1 and said[0].startswith("warning: 3 Gaia DR3 source(s) kept without TIC/KIC"), said
    assert "give their TIC" not in said[0]


def test_a_gaia_source_whose_dr2_source_has_several_tic_rows_says_why_it_has_no_tic(tmp_path, sky, monkeypatch):
    """A Gaia DR3 input whose DR2 source has two unflagged TIC rows lost its TIC and TESS/Kepler period without a
    word (review V50, 7), while every other TIC/KIC route the way back loses is counted: now counted too."""
    from gyroage.crossmatch import CrossmatchSettings, run_crossmatch
    from tests.crossmatch import fakesky
    from tests.crossmatch.fakesky import services_for

    monkeypatch.setattr(fakesky, "TIC", [*fakesky.TIC, (2000033, None, GC_DR2, None)])
    (tmp_path / "ids.csv").write_text(f"source_id\n{GC}\n{GA}\n{GC}\n")
    report = run_crossmatch(tmp_path / "ids.csv", tmp_path / "out.csv", services_for(sky), CrossmatchSettings(),
                            chunksize=2, quiet=True)
    out = pd.read_csv(tmp_path / "out.csv", dtype={"source_id": "Int64", "tic": "Int64"})
    assert out["crossmatch_status"].tolist() == ["ok", "ok", "ok"] and out["tic"].tolist()[1] == 2000001
    assert out["tic"].isna().tolist() == [True, False, True] and out.loc[0, "prot_source"] == "gaiadr3"
    said = [m for m in report.messages if "several TIC" in m]
    assert len(said) == 1 and said[0].startswith("warning: 2 Gaia DR3 source(s) kept without TIC/KIC"), said


@pytest.mark.parametrize("header, j2000", [("RAJ2000,DEJ2000", True), ("_RAJ2000,_DEJ2000", True),
                                           ("ra,DECJ2000", True), ("alpha_J2000,delta_J2000", True),
                                           ("ra,dec", False), ("RA_ICRS,DE_ICRS", False)])
def test_j2000_named_positions_are_said_to_be_compared_at_gaias_epoch(tmp_path, sky, capsys, header, j2000):
    """RAJ2000/DEJ2000 positions were compared with Gaia's epoch-2016.0 positions without a word, though the column
    name says J2000: a high-proper-motion star took a background source's colour and period (review V50, 3). One
    note, under -q too, now says so (README's epoch rule)."""
    from gyroage.crossmatch import CrossmatchSettings, run_crossmatch
    from tests.crossmatch.fakesky import services_for

    a = GAIA[GA]
    (tmp_path / "pos.csv").write_text(f"{header}\n{a[0]},{a[1]}\n{a[0]},{a[1]}\n")
    report = run_crossmatch(tmp_path / "pos.csv", tmp_path / "out.csv", services_for(sky), CrossmatchSettings(),
                            chunksize=1, quiet=True)
    said = [m for m in report.messages if "2016.0" in m]
    err = capsys.readouterr().err
    if j2000:
        assert len(said) == 1 and "no proper motion" in said[0] and "--radius-arcsec" in said[0], report.messages
        assert said[0] in err and said[0].startswith("note: ") and header.split(",")[1] in said[0]
    else:
        assert not said and "2016.0" not in err
    assert pd.read_csv(tmp_path / "out.csv")["crossmatch_status"].tolist() == ["ok", "ok"]


def test_gaia_dr2_ids_are_said_not_read_as_dr3_ones(tmp_path, sky):
    """A Gaia DR2 id DR3 renumbered was a bare not_found, and 'Gaia DR2 nnn' a bare invalid_id (review V50, 11),
    with nothing to tell a list of DR2 ids (common in 2018-2021 rotation tables) from unknown stars: the run's end
    now counts both, the first as possibly a DR2 id, the second naming its DR2 prefix."""
    from gyroage.crossmatch import CrossmatchSettings, run_crossmatch
    from tests.crossmatch.fakesky import services_for

    (tmp_path / "ids.csv").write_text(f"source_id\nGaia DR2 {GC_DR2}\n{GC_DR2}\n{GA}\n{GC_DR2}\nDR2 {GC_DR2}\nx\n")
    report = run_crossmatch(tmp_path / "ids.csv", tmp_path / "out.csv", services_for(sky), CrossmatchSettings(),
                            chunksize=2, quiet=True)
    out = pd.read_csv(tmp_path / "out.csv")
    assert out["crossmatch_status"].tolist() == ["invalid_id", "not_found", "ok", "not_found", "invalid_id",
                                                 "invalid_id"]
    prefixed = [m for m in report.messages if "'Gaia DR2" in m]
    assert len(prefixed) == 1 and prefixed[0].startswith("warning: 2 row(s) invalid_id"), report.messages
    unknown = [m for m in report.messages if "not_found" in m and "DR2" in m]
    assert len(unknown) == 1 and unknown[0].startswith("note: 2 Gaia id(s) not_found"), report.messages
    assert "dr2_neighbourhood" in unknown[0]


def test_every_dr2_spelling_of_a_gaia_id_is_counted():
    """'GaiaDR2_<id>' (and the other separators a Gaia prefix may have: '_', ':', '-') was invalid_id but not counted
    by the DR2 warning, as '_' is a word character (review V52, 6)."""
    from gyroage.crossmatch.id_parsing import DR2_RE

    n = GC_DR2
    named = [f"Gaia DR2 {n}", f"GaiaDR2_{n}", f"DR2 {n}", f"gaia dr2 {n}", f"DR2:{n}", f"Gaia_DR2_{n}",
             f"Gaia-DR2-{n}", f"GaiaDR2:{n}", f"DR2_{n}", f"dr2 {n}"]
    assert [bool(DR2_RE.match(v)) for v in named] == [True] * len(named)
    others = [f"Gaia DR3 {n}", f"DR21 {n}", f"Gaia {n}", f"TIC DR2 {n}", f"{n}"]
    assert not any(DR2_RE.match(v) for v in others)


@pytest.mark.parametrize("values", [pd.Series([100000001.0, float("inf")]), pd.Series([100000001.0, -float("inf")]),
                                    pd.Series(["100000001", "1e999"])])
def test_an_infinite_id_cell_is_no_rounded_id(values):
    """The float id note said ids at or above 2**53 had been rounded for a column whose only "big" cell is inf (FITS
    and Parquet float columns often hold one): that row is invalid_id for being inf (review V53, 5). Finite cells
    only; a real rounded id still gets the note."""
    from gyroage.crossmatch.id_parsing import float_column_note

    assert float_column_note(values, "tic") is None
    big = pd.concat([values, pd.Series([3042751300887401416.0 if values.dtype.kind == "f" else "3.04e18"])],
                    ignore_index=True)
    assert "rounded" in float_column_note(big, "tic")


@pytest.mark.parametrize("column", ["designation", "DESIGNATION", "Source"])
def test_no_identifier_column_names_a_gaia_id_column_under_gaias_or_vizier_s_name(column):
    """Gaia's own designation ('Gaia DR3 nnn') and VizieR's Source (I/355/gaiadr3) were 'no identifier column' with
    nothing pointing at them (review V50, 13); the line names the column and the options that read it, which do."""
    with pytest.raises(UserError) as info:
        detect_ids(["name", column, "prot"])
    message = str(info.value)
    assert message.startswith("no identifier column") and f"--id-column {column} --id-type gaia" in message, message
    assert "\n" not in message
    assert detect_ids(["name", column, "prot"], id_column=column, id_type="gaia") == InputIds("gaia", column)
    assert parse_ids(pd.Series(["Gaia DR3 4600000000000000002"]), "gaia").tolist() == [4600000000000000002]


def test_no_identifier_column_without_such_a_column_names_none():
    with pytest.raises(UserError) as info:
        detect_ids(["name", "sources", "prot"])
    assert "--id-type gaia" not in str(info.value)
