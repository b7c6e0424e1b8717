"""The queries: batch sizes, the sync row cap, the period catalogues and their column spellings."""

from __future__ import annotations

import re

import pytest

pytest.importorskip("astroquery")
pytest.importorskip("pytest_httpserver")

from gyroage.crossmatch import CrossmatchSettings, queries  # noqa: E402
from gyroage.errors import UserError  # noqa: E402
from tests.crossmatch.fakesky import GA, GAIA_NOT_FOUND, GB, GC, GD, VIZIER, run_rows  # noqa: E402


def test_crossmatch_batches_are_bounded(tmp_path, sky, monkeypatch):
    monkeypatch.setattr(queries, "GAIA_BATCH", 2)
    monkeypatch.setattr(queries, "VIZIER_BATCH", 3)
    ids = [GA, GB, GC, GD, GAIA_NOT_FOUND]
    out = run_rows(tmp_path, sky, "source_id\n" + "\n".join(map(str, ids)) + "\n")
    assert out["crossmatch_status"].tolist() == ["ok", "ok", "ok", "no_period", "not_found"]
    main = [q for q in sky.queries("gaia") if "gaiadr3.gaia_source AS g" in q]
    lists = [re.findall(r"\d+", q.split(" IN (")[1]) for q in main]
    assert [len(x) for x in lists] == [2, 2, 1] and sorted(int(i) for x in lists for i in x) == sorted(ids)
    tess = [q for q in sky.queries("vizier") if "936/138" in q]
    assert [len(q.split("TIC=")[1].split(",")) for q in tess] == [3, 1]


def test_crossmatch_row_cap_splits_a_full_answer(tmp_path, sky, monkeypatch):
    monkeypatch.setattr(queries, "SYNC_ROW_CAP", 2)  # a 2-row answer may be truncated: redo as halves
    out = run_rows(tmp_path, sky, f"source_id\n{GA}\n{GB}\n{GC}\n")
    assert out["crossmatch_status"].tolist() == ["ok", "ok", "ok"]
    main = [q for q in sky.queries("gaia") if "gaiadr3.gaia_source AS g" in q]
    assert [len(re.findall(r"\d{12,}", q)) for q in main] == [3, 1, 2, 1, 1]


def test_crossmatch_period_sources_order_and_column_fallback(tmp_path, sky, monkeypatch):
    out = run_rows(tmp_path, sky, f"source_id\n{GA}\n{GB}\n", sources=("gaiadr3", "mcquillan2014"))
    assert out["prot_source"].fillna("").tolist() == ["gaiadr3", ""] and out.loc[0, "prot"] == 6.1
    assert out["crossmatch_status"].tolist() == ["ok", "no_period"]  # TESS not asked for: B has no period
    assert "prot_holcomb2022_days" not in out and not any("936/138" in q for q in sky.queries("vizier"))
    assert out.loc[0, "prot_max_rel_diff"] == pytest.approx((12.3 - 6.1) / 6.1, rel=1e-5)
    with pytest.raises(UserError, match="unknown period source 'tess'"):
        CrossmatchSettings(sources=("tess",))
    # a table whose columns are spelled differently: aliases first
    monkeypatch.setitem(VIZIER, "J/ApJS/211/24/table1", ("KIC", [(1000001, 12.3, 0.4)], ("KIC", "Per", "e_Per")))
    out = run_rows(tmp_path, sky, f"source_id\n{GA}\n")
    assert out.loc[0, "prot"] == 12.3 and out.loc[0, "prot_err"] == 0.4 and out.loc[0, "prot_santos2021_days"] == 12.5
    # then one line naming the catalogue and what it lacks (it used to be skipped with a warning: no periods)
    monkeypatch.setitem(VIZIER, "J/ApJS/255/17/table1", ("KIC", [(1000001, 12.5, 0.6)], ("KIC", "Xyz", "e_Xyz")))
    with pytest.raises(UserError) as err:
        run_rows(tmp_path, sky, f"source_id\n{GA}\n")
    assert str(err.value) == ("VizieR table J/ApJS/255/17/table1 (santos2021) has no Prot column (nor an alias); "
                              "its columns: KIC, Xyz, e_Xyz")


def test_crossmatch_period_table_checked_when_no_star_matches(tmp_path, sky, monkeypatch):
    # no star of the input is in the table: its columns are still checked, not silently taken as "no periods"
    monkeypatch.setitem(VIZIER, "J/ApJ/936/138/table1", ("TIC", [], ("TIC_NUM", "Period_d", "e_Period_d")))
    with pytest.raises(UserError, match=r"J/ApJ/936/138/table1 \(holcomb2022\) has no TIC or Prot column"):
        run_rows(tmp_path, sky, f"source_id\n{GB}\n")


def test_crossmatch_unknown_catalogue_id_is_one_line(tmp_path, sky, monkeypatch):
    from gyroage.crossmatch.services import PeriodCatalogue

    bogus = PeriodCatalogue("mcquillan2014", "J/ApJS/211/99/nosuch", "kic", "KIC", "Prot", "e_Prot", "kepler", "-")
    monkeypatch.setitem(queries.CATALOGUE_BY_NAME, "mcquillan2014", bogus)
    with pytest.raises(UserError) as err:
        run_rows(tmp_path, sky, f"source_id\n{GA}\n")
    assert str(err.value) == "VizieR has no table J/ApJS/211/99/nosuch (it answered without one): is the catalogue id right?"


def test_vizier_answer_without_table_or_error_is_no_match_not_a_failure():
    # VizieR may leave out the table when no row matched; only an error INFO means an unknown catalogue id
    from gyroage.crossmatch.services import _votable_table

    head = b"<?xml version='1.0'?><VOTABLE version='1.4' xmlns='http://www.ivoa.net/xml/VOTable/v1.3'>"
    empty = head + b"<RESOURCE><INFO name='matches' value='0'/></RESOURCE></VOTABLE>"
    assert _votable_table(empty, "J/ApJ/936/138/table1").empty
    unknown = head + b"<RESOURCE><INFO name='Error' value='No catalogue or table was specified or found'/></RESOURCE></VOTABLE>"
    with pytest.raises(UserError, match="VizieR has no table J/X/1"):
        _votable_table(unknown, "J/X/1")
    # gzipped without Content-Encoding (read_votable takes it): the note was looked for in the compressed bytes
    import gzip

    with pytest.raises(UserError, match="VizieR has no table J/X/1"):
        _votable_table(gzip.compress(unknown), "J/X/1")
    # with a QUERY_STATUS ERROR too, the unknown catalogue is what is said
    failed = unknown.replace(b"</RESOURCE>", b"<INFO name='QUERY_STATUS' value='ERROR'>no</INFO></RESOURCE>")
    with pytest.raises(UserError, match="VizieR has no table J/X/1"):
        _votable_table(failed, "J/X/1")


def test_a_single_cone_at_the_row_cap_warns_once(tmp_path, sky, monkeypatch, capsys):
    """One cone whose answer fills the sync cap cannot be split: it was kept truncated without a word. The run now
    warns once (report and stderr), however many such cones there are."""
    from gyroage.crossmatch import run_crossmatch
    from tests.crossmatch.fakesky import GAIA, services_for

    monkeypatch.setattr(queries, "SYNC_ROW_CAP", 1)
    a, b = GAIA[GA], GAIA[GB]
    (tmp_path / "pos.csv").write_text(f"ra,dec\n{a[0]},{a[1]}\n{b[0]},{b[1]}\n")
    report = run_crossmatch(tmp_path / "pos.csv", tmp_path / "out.csv", services_for(sky),
                            CrossmatchSettings(radius_arcsec=2.0), quiet=True)
    capped = [m for m in report.messages if "row cap" in m]
    assert len(capped) == 1 and "--radius-arcsec" in capped[0], report.messages
    assert capsys.readouterr().err.count("row cap") == 1
    # the same run under the real cap says nothing
    monkeypatch.setattr(queries, "SYNC_ROW_CAP", 2000)
    report = run_crossmatch(tmp_path / "pos.csv", tmp_path / "out.csv", services_for(sky),
                            CrossmatchSettings(radius_arcsec=2.0), quiet=True)
    assert not [m for m in report.messages if "row cap" in m]


@pytest.mark.parametrize("radius", [60.5, 3600.0, float("inf"), float("nan"), 0.0])
def test_radius_beyond_the_maximum_is_one_line(radius):
    """A very large --radius-arcsec let one cone hit the 2000-row cap; radii over 60 arcsec are now refused."""
    with pytest.raises(UserError, match="--radius-arcsec must be"):
        CrossmatchSettings(radius_arcsec=radius)
    assert CrossmatchSettings(radius_arcsec=60.0).radius_arcsec == 60.0


def test_radius_beyond_the_maximum_exits_2_before_any_query(tmp_path, sky):
    from tests.conftest import run_cli

    src = tmp_path / "in.csv"
    src.write_text("ra,dec\n10.0,10.0\n")
    res = run_cli("crossmatch", str(src), "-o", str(tmp_path / "out.csv"), "--quiet", "--no-cache", "--gaia-url",
                  sky.url, "--vizier-url", sky.url, "--mast-url", sky.url, "--radius-arcsec", "600")
    assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1 and "at most 60" in res.stderr
    assert sky.raw == []


def test_santos2019_k_and_m_dwarfs_are_a_period_source(tmp_path, sky, monkeypatch):
    """Santos et al. 2021 (J/ApJS/255/17) holds Kepler's F and G stars; its K and M dwarfs are in Santos et al.
    2019 (J/ApJS/244/21, table3: KIC, Prot, E_Prot), which was never asked: a K dwarf outside McQuillan 2014 fell
    through to TESS or Gaia. It is now a Kepler source of the default order, after santos2021 (the two papers share
    no star), and the CLI's --periods default is that order."""
    import inspect

    from gyroage import cli

    assert queries.DEFAULT_SOURCES == ("mcquillan2014", "santos2021", "santos2019", "holcomb2022", "gaiadr3")
    default = inspect.signature(cli.crossmatch).parameters["periods"].default
    assert default == ",".join(queries.DEFAULT_SOURCES)
    for table in ("J/ApJS/211/24/table1", "J/ApJS/255/17/table1"):  # in neither McQuillan 2014 nor Santos 2021
        key, _, cols = VIZIER[table]
        monkeypatch.setitem(VIZIER, table, (key, [], cols))
    monkeypatch.setitem(VIZIER, "J/ApJS/244/21/table3", ("KIC", [(1000001, 33.75, 2.4)], ("KIC", "Prot", "E_Prot")))
    out = run_rows(tmp_path, sky, "kic\n1000001\n")
    assert out.loc[0, "crossmatch_status"] == "ok" and out.loc[0, "prot_source"] == "santos2019"
    assert out.loc[0, "prot"] == 33.75 and out.loc[0, "prot_err"] == 2.4 and out.loc[0, "prot_santos2019_days"] == 33.75
    assert "-source=J/ApJS/244/21/table3 KIC=1000001" in sky.queries("vizier")


def _gaia_source_rows(change):
    """A mangle of the gaia_source answers (not the dr2_neighbourhood ones): ``change`` takes and gives its Table."""
    def mangle(response):
        import io

        from astropy.io.votable import parse
        from werkzeug import Response

        from tests.crossmatch.fakesky import _votable

        t = parse(io.BytesIO(response.get_data())).get_first_table().to_table()
        if "best_rotation_period" not in t.colnames or not len(t):
            return response
        return Response(_votable(change(t)), content_type=response.content_type)
    return mangle


def _scaled(t, factor: float):
    t = t.copy()
    for c in t.colnames:
        if t[c].dtype.kind == "f":
            t[c] = t[c] * factor
    return t


def _said_beside_a_healthy_run(tmp_path, sky, rows: str, mangle) -> list[str]:
    """The messages a run says once Gaia's answers are put through ``mangle``, beyond those of the same run answered
    as they come; the table must be the same as that run's."""
    healthy, quiet = _run(tmp_path, sky, rows)
    sky.mangle["gaia"] = [mangle]
    sky.mangle_all.add("gaia")
    out, messages = _run(tmp_path, sky, rows)
    assert out.equals(healthy)
    return [m for m in messages if m not in quiet]


def _doubled(factor: float):
    """A mangler giving each row of an answer twice, the copy (floats times ``factor``) right after its row."""
    import numpy as np
    from astropy.table import vstack

    def doubled(t):
        both = vstack([t, _scaled(t, factor)])
        return both[np.argsort(np.r_[np.arange(len(t)), np.arange(len(t))], kind="stable")]
    return doubled


def _run(tmp_path, sky, rows: str):
    import pandas as pd

    from gyroage.crossmatch import run_crossmatch
    from tests.crossmatch.fakesky import services_for

    (tmp_path / "ids.csv").write_text(rows)
    report = run_crossmatch(tmp_path / "ids.csv", tmp_path / "out.csv", services_for(sky), CrossmatchSettings(),
                            quiet=True)
    return pd.read_csv(tmp_path / "out.csv", dtype={"source_id": "Int64"}), report.messages


def test_a_gaia_row_without_a_source_id_is_no_star_s(tmp_path, sky):
    """A gaia_source row with a NULL source_id was merged on the id with every row that has none (invalid, unknown):
    each showed that phantom's colour, G and parallax."""
    from astropy.table import vstack

    rows = f"source_id\n{GA}\n{GAIA_NOT_FOUND}\nnot an id\n"
    healthy, _ = _run(tmp_path, sky, rows)

    def null_first(t):
        extra = _scaled(t[:1], 1.5)
        extra["source_id"].mask = [True]
        return vstack([extra, t])

    sky.mangle["gaia"] = [_gaia_source_rows(null_first)]
    sky.mangle_all.add("gaia")
    out, _ = _run(tmp_path, sky, rows)
    assert out[["bp_rp_obs", "phot_g_mean_mag", "parallax_mas"]].iloc[1:].isna().all().all(), out
    assert out.equals(healthy)


@pytest.mark.parametrize("factor", [1.5, 1.0])
def test_several_differing_gaia_rows_for_one_source_are_said(tmp_path, sky, factor):
    """Two gaia_source rows for one source_id (a mirror joining another table): the first was taken silently. It
    still is, with one warning counting such sources when the rows differ; identical copies stay silent."""
    new = _said_beside_a_healthy_run(tmp_path, sky, f"source_id\n{GA}\n{GB}\n{GC}\n",
                                     _gaia_source_rows(_doubled(factor)))
    if factor == 1.0:
        assert new == []
    else:
        assert len(new) == 1 and "3 source(s)" in new[0] and "\n" not in new[0], new


def test_the_differing_rows_warning_names_its_example_for_what_it_is(tmp_path, sky):
    """The warning called the smallest of the ids "the first", though the input's first star was another one
    (review V52, 14): it now says it is the lowest."""
    sky.mangle["gaia"] = [_gaia_source_rows(_doubled(1.5))]
    sky.mangle_all.add("gaia")
    _, messages = _run(tmp_path, sky, f"source_id\n{GC}\n{GB}\n{GA}\n")
    said = [m for m in messages if "differing rows" in m]
    assert len(said) == 1 and f"the lowest: source_id {min(GA, GB, GC)}" in said[0], said
    assert "(the first" not in said[0]


def _cone_rows(change):
    """A mangle of the cone answers only (their table has no best_rotation_period, nor dr2 columns)."""
    def mangle(response):
        import io

        from astropy.io.votable import parse
        from werkzeug import Response

        from tests.crossmatch.fakesky import _votable

        t = parse(io.BytesIO(response.get_data())).get_first_table().to_table()
        if "best_rotation_period" in t.colnames or "dr2_source_id" in t.colnames or not len(t):
            return response
        return Response(_votable(change(t)), content_type=response.content_type)
    return mangle


def test_a_cone_row_without_a_source_id_rounds_no_other_stars_id(tmp_path, sky, monkeypatch):
    """A NULL source_id row in a cone answer made the batch's ids float64 (Int64 with a NA), so each matched id
    was rounded to a multiple of 256 near 2e18: a star matched at 0" took the source of the rounded id, 20 deg away,
    with its colour, period and age, status ok (review V52, 1). The row is dropped, as fetch_gaia drops it."""
    from astropy.table import vstack

    from tests.crossmatch import fakesky

    rounded = int(float(GA))  # what the star's id became: another source, far away, with a period of its own
    assert rounded != GA
    monkeypatch.setitem(fakesky.GAIA, rounded, (100.0, -40.0, *fakesky.GAIA[GB][2:12], 3.33, 0.1))
    a, b = fakesky.GAIA[GA], fakesky.GAIA[GB]
    rows = f"name,ra,dec\nA,{a[0]},{a[1]}\nB,{b[0]},{b[1]}\n"
    healthy, _ = _run(tmp_path, sky, rows)
    assert healthy["source_id"].tolist() == [GA, GB] and healthy["crossmatch_status"].tolist()[0] == "ok"

    def null_on_b(t):  # where it lies decides nothing: the answer's other ids are what it spoiled
        extra = t[[sid == GB for sid in t["source_id"]]]
        extra["source_id"].mask = [True]
        return vstack([extra, t])

    sky.mangle["gaia"] = [_cone_rows(null_on_b)]
    sky.mangle_all.add("gaia")
    out, messages = _run(tmp_path, sky, rows)
    assert out["source_id"].fillna(0).tolist() == [GA, GB], out[["source_id", "crossmatch_status"]]
    assert out.equals(healthy) and not any("DR2" in m for m in messages), messages


def test_the_dr2_note_is_for_gaia_id_inputs_only(tmp_path, sky):
    """The 'if the list holds Gaia DR2 ids' note followed a position input's not_found rows too, which hold no id
    (review V52, 1); a list of Gaia ids still has it."""
    from tests.crossmatch import fakesky

    a = fakesky.GAIA[GA]
    sky.mangle["gaia"] = [_gaia_source_rows(lambda t: t[[r != GA for r in t["source_id"]]])]
    sky.mangle_all.add("gaia")
    out, messages = _run(tmp_path, sky, f"ra,dec\n{a[0]},{a[1]}\n")
    assert out["crossmatch_status"].tolist() == ["not_found"]
    assert not any("DR2" in m for m in messages), messages
    out, messages = _run(tmp_path, sky, f"source_id\n{GA}\n{GB}\n")
    assert out["crossmatch_status"].tolist() == ["not_found", "ok"]
    assert any(m.startswith("note: 1 Gaia id(s) not_found") for m in messages), messages


@pytest.mark.parametrize("factor", [1.5, 1.0])
def test_several_differing_cone_rows_for_one_source_are_said(tmp_path, sky, factor):
    """A cone answer's differing rows for one source kept the first silently, where gaia_source's warn in a counted
    line: they now warn the same way (a position decides by the first row's ra, dec and G); identical copies, as two
    batches' cones answer a shared source, stay silent."""
    from tests.crossmatch import fakesky

    a, b = fakesky.GAIA[GA], fakesky.GAIA[GB]
    rows = f"name,ra,dec\nA,{a[0]},{a[1]}\nB,{b[0]},{b[1]}\n"
    new = _said_beside_a_healthy_run(tmp_path, sky, rows, _cone_rows(_doubled(factor)))
    if factor == 1.0:
        assert new == []
    else:
        assert len(new) == 1 and "2 source(s)" in new[0] and "cone" in new[0] and "\n" not in new[0], new
        assert f"the lowest: source_id {min(GA, GB)}" in new[0], new


def test_the_dr2_note_counts_only_the_rows_read_by_their_gaia_id(tmp_path, sky):
    """In a mixed list a TIC row whose DR3 source gaia_source did not answer was counted in the 'if the list holds
    Gaia DR2 ids' note, though it holds no Gaia id: the note counts the rows read by their Gaia id only."""
    from tests.crossmatch.fakesky import GD

    sky.mangle["gaia"] = [_gaia_source_rows(lambda t: t[[r not in (GA, GD) for r in t["source_id"]]])]
    sky.mangle_all.add("gaia")
    out, messages = _run(tmp_path, sky, f"source_id,tic\n{GA},\n,2000004\n{GB},\n")
    assert out["crossmatch_status"].tolist() == ["not_found", "not_found", "ok"]
    said = [m for m in messages if "DR2" in m]
    assert len(said) == 1 and said[0].startswith("note: 1 Gaia id(s) not_found"), said


def test_a_cone_row_without_a_position_is_dropped_for_the_complete_copy(tmp_path, sky):
    """A cone answer giving each source twice, first with ra/dec NULL, kept that first copy: a star 0" from its
    source became not_found (review V56, 1). A cone row that cannot place its source is dropped, as one without a
    source_id is, and the complete copy decides."""
    from astropy.table import vstack

    from tests.crossmatch import fakesky

    a, b = fakesky.GAIA[GA], fakesky.GAIA[GB]
    rows = f"name,ra,dec\nA,{a[0]},{a[1]}\nB,{b[0]},{b[1]}\n"
    healthy, _ = _run(tmp_path, sky, rows)
    assert healthy["crossmatch_status"].tolist() == ["ok", "ok"], healthy[["source_id", "crossmatch_status"]]

    def unplaced_first(t):
        blind = t.copy()
        blind["ra"].mask = [True] * len(blind)
        blind["dec"].mask = [True] * len(blind)
        return vstack([blind, t])

    sky.mangle["gaia"] = [_cone_rows(unplaced_first)]
    sky.mangle_all.add("gaia")
    out, _ = _run(tmp_path, sky, rows)
    assert out.equals(healthy), out[["source_id", "crossmatch_status"]]


def test_a_source_gaia_answers_without_g_and_bp_is_found_not_counted_as_dr2(tmp_path, sky, monkeypatch):
    """gaia_source answered a DR3 id with its parallax but no G and no BP (as for some faint DR3 sources): the row
    was not_found, 'no counterpart', and counted in the 'if the list holds Gaia DR2 ids' note (review V56, 2).
    Found is now 'Gaia answered the id': the row is no_colour, and the note counts only the unanswered id."""
    from tests.crossmatch import fakesky

    nan = float("nan")
    monkeypatch.setitem(fakesky.GAIA, GB, (*fakesky.GAIA[GB][:2], nan, nan, *fakesky.GAIA[GB][4:]))
    out, messages = _run(tmp_path, sky, f"source_id\n{GA}\n{GB}\n{GAIA_NOT_FOUND}\n")
    assert out["crossmatch_status"].tolist() == ["ok", "no_colour", "not_found"], out[["source_id", "crossmatch_status"]]
    assert out.loc[1, "source_id"] == GB and out.loc[1, "parallax_mas"] == fakesky.GAIA[GB][7]
    said = [m for m in messages if "DR2" in m]
    assert len(said) == 1 and said[0].startswith("note: 1 Gaia id(s) not_found"), said
