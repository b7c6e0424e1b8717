"""Layouts of downloaded literature tables: VizieR's TSV and ``|`` outputs (a units row and a row of dashes under
the header), CSVs with a units row. Files are made here, small."""

from __future__ import annotations

import gzip
from io import StringIO

import pandas as pd
import pytest

from tests.conftest import invoke_quiet, ok_output, one_line_error

# The same three stars, periods in days: 168 h = 7 d exactly, so the outputs can be compared byte for byte.
PLAIN = "Cluster,Per,BP-RP0\nPleiades,7.0,1.1\nPleiades,10.0,1.2\nPraesepe,12.5,1.1\n"
VIZIER_TSV = ("#\n#   VizieR Astronomical Server vizier.cds.unistra.fr\n#RESOURCE=yCat_12345\n#Name: J/ApJ/1/2\n\n"
              "Cluster\tPer\tBP-RP0\n \th\tmag\n-----------\t----\t------\n"
              "Pleiades\t168\t1.1\nPleiades\t240\t1.2\nPraesepe\t300\t1.1\n")


@pytest.fixture(scope="module")
def plain_ages(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("plain") / "plain.csv"
    path.write_text(PLAIN)
    return ok_output(invoke_quiet("estimate", str(path), "--seed", "1"))


def test_vizier_tsv_units_and_dashes_rows_are_no_stars_and_hours_become_days(tmp_path, plain_ages):
    """The units line and the '----' line were two junk rows, and a period in h was taken as days."""
    (tmp_path / "asu.tsv").write_text(VIZIER_TSV)
    res = invoke_quiet("estimate", str(tmp_path / "asu.tsv"), "--seed", "1")
    assert ok_output(res) == plain_ages
    assert "gyroage: converted column 'Per' from h to days" in res.stderr.splitlines()
    groups = ok_output(invoke_quiet("group-age", str(tmp_path / "asu.tsv"), "--by", "cluster"))
    assert [line.split(",")[0] for line in groups.splitlines()[1:]] == ["Pleiades", "Praesepe"]  # no '----', no no_group


@pytest.mark.parametrize("text", [
    "Cluster|Per|BP-RP0\n--------|---|------\nPleiades|7.0|1.1\nPleiades|10.0|1.2\nPraesepe|12.5|1.1\n",
    "Cluster,Per,BP-RP0\n,d,mag\nPleiades,7.0,1.1\nPleiades,10.0,1.2\nPraesepe,12.5,1.1\n",
    "Cluster,Per,BP-RP0\n,days,\n=======,====,====\nPleiades,7.0,1.1\nPleiades,10.0,1.2\nPraesepe,12.5,1.1\n",
    VIZIER_TSV.replace("\n", "\r\n"),
])
def test_units_and_dashes_rows_in_other_layouts(tmp_path, plain_ages, text):
    (tmp_path / "t.csv").write_text(text, newline="")
    assert ok_output(invoke_quiet("estimate", str(tmp_path / "t.csv"), "--seed", "1")) == plain_ages
    assert ok_output(invoke_quiet("estimate", "-", "--seed", "1", stdin=text)) == plain_ages  # stdin
    (tmp_path / "t.csv.gz").write_bytes(gzip.compress(text.encode()))
    assert ok_output(invoke_quiet("estimate", str(tmp_path / "t.csv.gz"), "--seed", "1")) == plain_ages


def test_units_rows_are_converted_in_every_chunk_and_on_resume(tmp_path, plain_ages):
    from gyroage.engines.local import scan_input

    (tmp_path / "asu.tsv").write_text(VIZIER_TSV)
    assert scan_input(tmp_path / "asu.tsv")[1] == 3  # the progress' row count: data rows only
    out = tmp_path / "out.csv"
    ok_output(invoke_quiet("estimate", str(tmp_path / "asu.tsv"), "--seed", "1", "--chunksize", "1", "-o", str(out)))
    assert out.read_text() == plain_ages
    ok_output(invoke_quiet("estimate", str(tmp_path / "asu.tsv"), "--seed", "1", "--chunksize", "1", "-o", str(out),
                     "--resume"))
    assert out.read_text() == plain_ages


def test_dask_skips_and_converts_units_rows_as_the_local_reader_does(tmp_path):
    pytest.importorskip("dask.dataframe")
    from gyroage import io
    from gyroage.engines.dask_engine import read_dask

    (tmp_path / "asu.tsv").write_text(VIZIER_TSV)
    local = pd.concat(io.read_chunks(tmp_path / "asu.tsv"), ignore_index=True)
    assert list(local["Per"]) == ["7.0", "10.0", "12.5"]
    dask = read_dask(str(tmp_path / "asu.tsv")).compute(scheduler="synchronous").reset_index(drop=True)
    pd.testing.assert_frame_equal(dask.astype(object), local.astype(object))


@pytest.mark.parametrize("units, words", [
    (" \tm\tmag", ["'Per'", "'m'", "period"]),  # a unit that does not convert
    (" \td\tK", ["'BP-RP0'", "'K'", "colour"]),
    (" \tzorgs\tmag", ["'Per'", "'zorgs'"]),  # no unit at all, over a row of dashes
    (" \t[d]\tmag", ["'Per'", "logarithmic"]),  # CDS's log
])
def test_units_rows_that_do_not_convert_are_refused(tmp_path, units, words):
    text = VIZIER_TSV.replace(" \th\tmag", units)
    (tmp_path / "asu.tsv").write_text(text)
    one_line_error(invoke_quiet("estimate", str(tmp_path / "asu.tsv")), *words)


def test_units_of_columns_not_read_are_left_alone_and_text_cells_kept(tmp_path):
    text = "Cluster,Per,BP-RP0,Note\n---,h,mag,km/s\nPleiades,168,1.1,a\nPleiades,abc,1.2,b\n"
    (tmp_path / "t.csv").write_text(text)
    rows = [line.split(",") for line in ok_output(invoke_quiet("estimate", str(tmp_path / "t.csv"))).splitlines()]
    assert [r[:4] for r in rows[1:]] == [["Pleiades", "7.0", "1.1", "a"], ["Pleiades", "abc", "1.2", "b"]]
    assert [r[-1] for r in rows[1:]] == ["ok", "invalid_period"]


@pytest.mark.parametrize("text, rows", [
    ("name,prot,bp_rp0\nSun,,\nB,8,1.1\n", 2),  # a star named like a unit, without numbers, is a row
    ("name,prot,bp_rp0\nA,8,1.1\n", 1),  # a one-row table
    ("name,prot,bp_rp0\n", 0),
    ("name,prot,bp_rp0\n,d,mag\n", 0),  # a units row, no stars
    ("name,prot,bp_rp0\nA,--,--\nB,8,1.1\n", 2),  # missing-value tokens are not a rule
])
def test_data_rows_are_not_taken_for_units(tmp_path, text, rows):
    (tmp_path / "t.csv").write_text(text)
    out = ok_output(invoke_quiet("estimate", str(tmp_path / "t.csv")))
    assert len(out.splitlines()) == 1 + rows


@pytest.mark.parametrize("units", [",day,magnitude", ",Days,zorgs"])
def test_a_units_row_with_a_word_that_is_no_unit_is_an_error_not_a_row(tmp_path, units):
    """Over a row of dashes (without one, such a row is data: tests/test_literature_tables.py)."""
    (tmp_path / "t.csv").write_text(f"Cluster,Prot,BP-RP0\n{units}\n---,---,---\nPleiades,7,1.1\n")
    one_line_error(invoke_quiet("estimate", str(tmp_path / "t.csv")), "'BP-RP0'", f"'{units.split(',')[-1]}'")


@pytest.mark.parametrize("text", [
    "My cluster table\nCluster,Prot,(BP-RP)0\nX,7.0,1.10\n",
    "My cluster table,,\nCluster,Prot,(BP-RP)0\nX,7.0,1.10\n",  # Excel pads it with delimiters
    "# made by hand\nMy cluster table\nCluster;Prot;(BP-RP)0\nX;7.0;1.10\n",
    '"Table 2: rotators, Pleiades"\nCluster,Prot,(BP-RP)0\nX,7.0,1.10\n',
])
def test_a_title_line_above_the_header_is_named_as_such(tmp_path, text):
    """It gave 'Expected 1 fields', or 'a value in the header's last column, which has no name'."""
    (tmp_path / "t.csv").write_text(text)
    line = "line 2" if text.startswith("#") else "line 1"
    one_line_error(invoke_quiet("estimate", str(tmp_path / "t.csv")), line, "looks like a title", "remove it or start it with #")
    one_line_error(invoke_quiet("group-age", "-", "--by", "cluster", stdin=text), "looks like a title")


def test_a_one_name_header_over_numbers_is_no_title(tmp_path):
    (tmp_path / "t.csv").write_text("prot,\n7,1.1\n")
    res = invoke_quiet("estimate", str(tmp_path / "t.csv"))
    assert res.exit_code == 2 and "title" not in res.stderr


EUROPEAN = "Cluster;Prot;(BP-RP)0;e_Prot;Note\nPleiades;7,0;1,10;0,5;1,5\nPleiades;10;1,2;1;x\nPraesepe;12,5;1,10;;3,0\n"


@pytest.mark.parametrize("sep", [";", "\t"])
def test_decimal_commas_are_read_in_semicolon_and_tab_files(tmp_path, sep):
    """European Excel's '7,0' gave no_valid_members for every group, exit 0."""
    text = EUROPEAN.replace(";", sep)
    plain = ('Cluster,Prot,(BP-RP)0,e_Prot,Note\nPleiades,7.0,1.10,0.5,"1,5"\nPleiades,10,1.2,1,x\n'
             'Praesepe,12.5,1.10,,"3,0"\n')  # Note is text ('x'): its cells are kept as they are
    (tmp_path / "eu.csv").write_text(text)
    (tmp_path / "plain.csv").write_text(plain)
    res = invoke_quiet("estimate", str(tmp_path / "eu.csv"), "--seed", "1")
    want = ok_output(invoke_quiet("estimate", str(tmp_path / "plain.csv"), "--seed", "1"))
    assert ok_output(res) == want
    notes = [ln for ln in res.stderr.splitlines() if "decimal comma" in ln]
    # "column" by count; the example is one, not a cell of the data
    assert notes == ["gyroage: reading decimal commas (as in 7,0 for 7.0) in columns 'Prot', '(BP-RP)0', 'e_Prot'"], \
        res.stderr
    (tmp_path / "one.csv").write_text(f"Prot{sep}(BP-RP)0\n12,5{sep}1.1\n")
    notes = [ln for ln in invoke_quiet("estimate", str(tmp_path / "one.csv")).stderr.splitlines() if "comma" in ln]
    assert notes == ["gyroage: reading decimal commas (as in 7,0 for 7.0) in column 'Prot'"]
    groups = ok_output(invoke_quiet("group-age", "-", "--by", "cluster", stdin=text))
    assert [line.split(",")[-1] for line in groups.splitlines()[1:]] == ["ok", "ok"]


def test_dask_reads_decimal_commas_as_the_local_reader_does(tmp_path):
    pytest.importorskip("dask.dataframe")
    from gyroage import io
    from gyroage.engines.dask_engine import read_dask

    (tmp_path / "eu.csv").write_text(EUROPEAN)
    local = pd.concat(io.read_chunks(tmp_path / "eu.csv"), ignore_index=True)
    assert list(local["Prot"]) == ["7.0", "10", "12.5"] and list(local["Note"]) == ["1,5", "x", "3,0"]
    dask = read_dask(str(tmp_path / "eu.csv")).compute(scheduler="synchronous").reset_index(drop=True)
    pd.testing.assert_frame_equal(dask.astype(object), local.astype(object))


@pytest.mark.parametrize("text", [
    "name,prot,bp_rp0\nA,\"7,0\",1.1\n",  # ',' files: never
    "name;prot;bp_rp0\nA;7,0;1.1\nB;7.5;1.1\n",  # a column mixing both: not read as numbers, as before
    "name;prot;bp_rp0\nA;1,234,5;1.1\n",
])
def test_decimal_commas_elsewhere_stay_text(tmp_path, text):
    (tmp_path / "t.csv").write_text(text)
    res = invoke_quiet("estimate", str(tmp_path / "t.csv"))
    assert ok_output(res).splitlines()[1].endswith("invalid_period") and "decimal" not in res.stderr


@pytest.mark.parametrize("odd", ["abc", "inf", "-", "#N/A", "<0,5", "1E-09", "1e300"])
@pytest.mark.parametrize("sep", [";", "\t"])
def test_one_odd_cell_leaves_decimal_commas_on_for_the_rest_of_its_column(tmp_path, odd, sep):
    """One such cell among the first rows read the whole column as text: every row invalid_period, exit 0."""
    (tmp_path / "eu.csv").write_text(f"Prot{sep}BPRP_0\n7,5{sep}1,1\n{odd}{sep}1,2\n12,25{sep}0,9\n")
    (tmp_path / "plain.csv").write_text(f"Prot,BPRP_0\n7.5,1.1\n{odd.replace(',', '.')},1.2\n12.25,0.9\n")
    res = invoke_quiet("estimate", str(tmp_path / "eu.csv"), "--seed", "1")
    plain = ok_output(invoke_quiet("estimate", str(tmp_path / "plain.csv"), "--seed", "1"))
    # the odd cell is that row's own bad cell (as in a ',' file; '<0,5' stays text: the plain file's '<0.5' is too)
    assert ok_output(res).replace('"<0,5"', "<0.5") == plain
    assert [ln.rsplit(",", 1)[-1] for ln in plain.splitlines()[1:]][::2] != ["invalid_period"] * 2
    assert "gyroage: reading decimal commas (as in 7,0 for 7.0) in columns 'Prot', 'BPRP_0'" in res.stderr


EU_STARS = [("7,266", "0,935", "17,523", "5,312"), ("3,409", "1,850", "12,319", "7,950"),
            ("1,759", "1,453", "11,691", "2,521"), ("5,612", "0,947", "7,121", "5,366"),
            ("0,895", "1,885", "12,572", "6,640"), ("9,5", "1,2", "11,8", "4,1"), ("11,25", "0,85", "6,9", "9,75"),
            ("15,5", "1,05", "8,25", "3,3"), ("2,75", "2,1", "13,5", "8,8"), ("20,125", "1,35", "10,5", "2,25")]


def test_a_dash_early_or_late_in_a_column_changes_only_its_own_row(tmp_path):
    """A '-' parallax in the first rows dropped the main-sequence term for every star (1010 of 2000 ages moved by
    over 0.1 dex) while the notice still named 'parallax'; the same '-' further down changed its own row only."""
    def run(dash_at: int | None, *args: str) -> list[str]:
        rows = [list(r) for r in EU_STARS * 3]
        if dash_at is not None:
            rows[dash_at][3] = "-"
        path = tmp_path / f"eu{dash_at}.csv"
        path.write_text("Prot;BPRP_0;G_0;parallax\n" + "".join(";".join(r) + "\n" for r in rows))
        res = invoke_quiet("estimate", str(path), "--seed", "1", *args)
        assert "'G_0', 'parallax'" in res.stderr, res.stderr
        return ok_output(res).splitlines()

    clean = run(None)
    for at in (1, 25):
        for args in ((), ("--chunksize", "2")):  # decided once for the file, not per chunk
            got = run(at, *args)
            assert [i for i, (a, b) in enumerate(zip(got, clean)) if a != b] == [at + 1], (at, args)


def test_a_text_column_with_commas_is_not_read_as_numbers(tmp_path):
    names = ["NGC 2516, star 3", "NGC 2516, star 4", "12,5", "Pleiades HII 1234, B"]
    text = "Name;Prot;BPRP_0\n" + "".join(f"{n};{p};1,1\n" for n, p in zip(names, ["7,5", "10", "12,25", "8,0"]))
    (tmp_path / "eu.csv").write_text(text)
    res = invoke_quiet("estimate", str(tmp_path / "eu.csv"))
    out = pd.read_csv(StringIO(ok_output(res)), dtype=str, keep_default_na=False)
    assert list(out["Name"]) == names and list(out["Prot"]) == ["7.5", "10", "12.25", "8.0"]
    assert "in columns 'Prot', 'BPRP_0'" in res.stderr, res.stderr


@pytest.mark.parametrize("prot, read", [
    (["1,234", "12,5"], ["1.234", "12.5"]),  # in a ';' file a comma is the decimal mark, 1,234 too (README)
    (["1,234.5", "12,5"], ["1,234.5", "12,5"]),  # a point beside the comma: thousands, not read (invalid_period)
    (["7,5", "12.5"], ["7,5", "12.5"]),  # half points, half commas: ambiguous, the commas not read
    (["7,5"] * 9 + ["12.5"], ["7.5"] * 9 + ["12.5"]),  # commas, and one point as a ',' file reads it
])
def test_thousands_separators_and_mixed_columns(tmp_path, prot, read):
    (tmp_path / "eu.csv").write_text("Prot;BPRP_0\n" + "".join(f"{p};1,1\n" for p in prot))
    out = pd.read_csv(StringIO(ok_output(invoke_quiet("estimate", str(tmp_path / "eu.csv")))),
                      dtype=str, keep_default_na=False)
    assert list(out["Prot"]) == read
    assert (out["status"] == "invalid_period").tolist() == ["," in p for p in read]


MRT = """Title: Rotation periods of cluster stars
Authors: Someone A.
Table: Periods
================================================================================
Byte-by-byte Description of file: table2.txt
--------------------------------------------------------------------------------
 Bytes Format Units  Label     Explanations
--------------------------------------------------------------------------------
 1- 8  A8     ---    Cluster   Cluster name
10-14  F5.1   h      Per       Rotation period
16-18  F3.1   mag    BP-RP0    De-reddened colour
--------------------------------------------------------------------------------
Pleiades 168.0 1.1
Pleiades 240.0 1.2
Praesepe 300.0 1.1
"""


@pytest.mark.parametrize("name", ["table2.mrt", "table2.cds", "table2.csv", "table2.txt"])
def test_aas_mrt_files_are_read_by_their_suffix_or_their_first_lines(tmp_path, plain_ages, name):
    """A .mrt (or MRT named .csv) was read as CSV: "missing required column 'prot'"."""
    (tmp_path / name).write_text(MRT)
    res = invoke_quiet("estimate", str(tmp_path / name), "--seed", "1")
    assert ok_output(res).splitlines()[1:] == [
        line.replace(",7.0,", ",7,").replace(",10.0,", ",10,") for line in plain_ages.splitlines()[1:]]
    assert "gyroage: converted column 'Per' from h to days" in res.stderr


VIZIER_FIXED = """#
#   VizieR Astronomical Server vizier.cds.unistra.fr
#RESOURCE=yCat_1
#Name: J/ApJ/1/2
#Column	Cluster	(a11)	Cluster name	[ucd=meta.id]
#Column	Per	(F6.1)	Rotation period	[ucd=time.period]
#Column	BP-RP0	(F6.2)	Colour	[ucd=phot.color]
Cluster        Per BP-RP0
                 h    mag
----------- ------ ------
Pleiades     168.0   1.10
Pleiades     240.0   1.20
Praesepe     300.0   1.10
"""


def test_vizier_fixed_width_text_with_units_and_dashes_is_read(tmp_path, plain_ages):
    """It failed with 'cannot read r8c.txt as ascii: ' and an empty reason."""
    (tmp_path / "r8c.txt").write_text(VIZIER_FIXED)
    res = invoke_quiet("estimate", str(tmp_path / "r8c.txt"), "--seed", "1")
    assert [ln.split(",")[3:] for ln in ok_output(res).splitlines()] == [
        ln.split(",")[3:] for ln in plain_ages.splitlines()]
    assert "gyroage: converted column 'Per' from h to days" in res.stderr
    (tmp_path / "blank.txt").write_text(VIZIER_FIXED.replace("   1.20", "       "))  # a blank cell: missing
    rows = ok_output(invoke_quiet("estimate", str(tmp_path / "blank.txt"))).splitlines()
    assert rows[2].endswith("invalid_colour")
    (tmp_path / "bad.txt").write_text(VIZIER_FIXED.replace("      h", "  zorgs"))
    one_line_error(invoke_quiet("estimate", str(tmp_path / "bad.txt")), "'Per'", "'zorgs'")


def test_an_unreadable_ascii_table_never_gives_an_empty_reason(tmp_path):
    (tmp_path / "odd.txt").write_text("# comment\nname prot bp_rp0\nA 7 1.1 9 9\nB\n")
    res = invoke_quiet("estimate", str(tmp_path / "odd.txt"))
    one_line_error(res, "cannot read")
    assert not res.stderr.strip().endswith(":"), res.stderr


def test_a_cds_readme_beside_a_headerless_table_describes_it(tmp_path, plain_ages):
    readme, data = MRT.split("--------------------------------------------------------------------------------\nPl")
    (tmp_path / "ReadMe").write_text(readme.replace("table2.txt", "table2.dat") + "-" * 80 + "\n")
    (tmp_path / "table2.dat").write_text("Pl" + data)
    res = invoke_quiet("estimate", str(tmp_path / "table2.dat"), "--seed", "1")
    assert ok_output(res).splitlines()[1:] == [
        line.replace(",7.0,", ",7,").replace(",10.0,", ",10,") for line in plain_ages.splitlines()[1:]]
    (tmp_path / "ReadMe").unlink()
    one_line_error(invoke_quiet("estimate", str(tmp_path / "table2.dat")), "ReadMe")


def test_a_converted_cell_is_echoed_as_the_number_it_is_not_its_float_error(tmp_path):
    """2.4 h came out as 0.09999999999999999 in the echoed period column (a float's rounding shown to the user)."""
    (tmp_path / "h.csv").write_text("prot,bp_rp0\nh,mag\n2.4,1.2\n0.36,1.0\n")
    res = invoke_quiet("estimate", str(tmp_path / "h.csv"), "--seed", "1")
    assert [line.split(",")[0] for line in ok_output(res).splitlines()] == ["prot", "0.1", "0.015"]


RDB = "Cluster\tPer\tBP-RP0\nS\tN\tN\nPleiades\t7.0\t1.1\nPleiades\t10.0\t1.2\nPraesepe\t12.5\t1.1\n"


@pytest.mark.parametrize("text", [
    RDB,  # astropy's ascii.rdb: tab-separated, a line of column types under the names
    "# an RDB table\n" + RDB.replace("S\tN\tN", "10S\t8N\t6n"),  # widths before the types, a comment first
    RDB.replace("\t", " "),  # the same, split on blanks
    RDB.replace("\t", " ").replace("S N N", "------- --- ------"),  # a rule whose gaps the rows overrun
])
def test_an_rdb_types_line_or_a_rule_the_rows_overrun_is_no_star(tmp_path, plain_ages, text):
    """The types line (S N N) was a star, invalid_period (group-age: a group 'S'); under a rule of dashes that marks
    no columns of the rows (Pleiades 7.0 1.1), every row was cut into fixed-width columns, each invalid (review V34)."""
    want = [ln.split(",")[3:] for ln in plain_ages.splitlines()]
    for src, data in ((tmp_path / "t.txt", text.encode()), (tmp_path / "t.dat.gz", gzip.compress(text.encode()))):
        src.write_bytes(data)
        assert [ln.split(",")[3:] for ln in ok_output(invoke_quiet("estimate", str(src), "--seed", "1")).splitlines()
                ] == want, src
    fmt = () if "\t" in text else ("--input-format", "ascii")  # stdin's whitespace table is sniffed as CSV
    res = invoke_quiet("estimate", "-", "--seed", "1", *fmt, stdin=text)
    assert [ln.split(",")[3:] for ln in ok_output(res).splitlines()] == want
    groups = ok_output(invoke_quiet("group-age", str(tmp_path / "t.txt"), "--by", "cluster"))
    assert [line.split(",")[0] for line in groups.splitlines()[1:]] == ["Pleiades", "Praesepe"]


@pytest.mark.parametrize("text, names", [
    ("name\tprot\tbp_rp0\nN\t8\t1.1\nS\t9\t1.0\n", ["N", "S"]),  # stars named as types, with numbers
    ("name prot bp_rp0\nN 8 1.1\nS 9 1.0\n", ["N", "S"]),
    ("name\tprot\tbp_rp0\nS\tS\tN\nB\t8\t1.1\n", ["S", "B"]),  # a period typed S: no types line of a table read
    ("name\tprot\tbp_rp0\tnote\nS\tN\tN\tx\nB\t8\t1.1\ty\n", ["S", "B"]),  # a cell that is no type
    ("name\tprot\tbp_rp0\nS\t\tN\nB\t8\t1.1\n", ["S", "B"]),  # a blank cell: RDB types every column
    ("name prot bp_rp0\n---- ---- ------\nA    8    1.1\nB    12.5 1.0\n", ["A", "B"]),  # rows within the rule
])
def test_a_star_whose_cells_look_like_types_stays_a_star(tmp_path, text, names):
    """Only a line that types every column, the columns read as numbers (N), and holds no number is no star."""
    (tmp_path / "t.txt").write_text(text)
    rows = ok_output(invoke_quiet("estimate", str(tmp_path / "t.txt"))).splitlines()[1:]
    assert [r.split(",")[0] for r in rows] == names
    assert rows[-1].endswith(",ok") and (names[0] != "N" or rows[0].endswith(",ok")), rows


FW_HEAD = "name   prot bp_rp0\n------ ---- ------\n"


@pytest.mark.parametrize("text, words", [
    # a blank cell: split on blanks, star 'HII 3' came out as star 'HII' with a 3 d period (review V36b, 1)
    (FW_HEAD + "HII1   7.0  1.1\nHII2   10.25 1.2\nHII 3       1.3\n", ("line 4 runs past the dashes", "line 5")),
    # a blank in every name: read neither way
    ("name           prot  bp_rp0\n-------------- ----  ------\nPleiades HII 1 7.0   1.1\n"
     "Pleiades HII 2 10.25 1.2\n", ("line 4 runs past the dashes", "line 3 does not split")),
    # star 'HII 22' with no period overran its dashes: split into 3 fields, dated as star 'HII' at 22 d (review V39a, 1)
    ("name prot bp_rp0\n---- ---- ------\nHII1 7.0  1.1\nHII 22     1.2\nHII3 8.0  1.3\n",
     ("line 4 runs past the dashes", "each starting under its dashes")),
    # a field past the last column's dashes was dropped unsaid, the colour read as '1.2 e' (review V39a, 2)
    ("name prot bp_rp0\n---- ---- ------\nA    7.0  1.1\n  B  8.0   1.2 extra\n", ("line 4 runs past the dashes",)),
])
def test_a_rule_some_row_overruns_never_moves_a_cell_into_another_column(tmp_path, text, words):
    """Once one row overran the dashes, every row was split on blanks, the rule's columns thrown away."""
    for src, data in ((tmp_path / "t.txt", text.encode()), (tmp_path / "t.txt.gz", gzip.compress(text.encode()))):
        src.write_bytes(data)
        one_line_error(invoke_quiet("estimate", str(src)), *words, "give the table as CSV")
    one_line_error(invoke_quiet("estimate", "-", "--input-format", "ascii", stdin=text), *words)


@pytest.mark.parametrize("text", [
    FW_HEAD + "HII1   7.0  1.1\n" * 11 + "HII99  10.25 1.2\n",  # the overrun after the 10th row
    "name   prot bp_rp0\n       d    mag\n------ ---- ------\nHII1   7.0  1.1\nHII99  10.25 1.2\n",  # a units line
    FW_HEAD + "HII1   7.0  1.1\n" * 3000 + "HII99  10.25 1.2\n",  # past the first 64 KiB
    # past the last column's dashes: 10.25 read as 10.2 (review V39a, 2)
    "name   bp_rp0 prot\n------ ------ ----\nHII1   1.1    7.0\nHII99  1.2    10.25\n",
])
def test_a_row_overrunning_the_rule_anywhere_is_read_whole(tmp_path, text):
    """A row past the 10th, or under a rule below a units line, was cut at the rule: 10.25 d read as 10.2 d."""
    (tmp_path / "t.txt").write_text(text)
    for res in (invoke_quiet("estimate", str(tmp_path / "t.txt")),
                invoke_quiet("estimate", "-", "--input-format", "ascii", stdin=text)):
        last = ok_output(res).splitlines()[-1].split(",")
        assert sorted(last[:3]) == ["1.2", "10.25", "HII99"], last


def test_a_whitespace_units_row_is_applied_and_a_star_never_taken_for_one(tmp_path, plain_ages):
    """'- h mag' under the header was dated as a star and its units ignored: 168 h dated as 168 d (review V36b, 3)."""
    text = "Cluster Per BP-RP0\n- h mag\nPleiades 168 1.1\nPleiades 240 1.2\nPraesepe 300 1.1\n"
    (tmp_path / "t.txt").write_text(text)
    for res in (invoke_quiet("estimate", str(tmp_path / "t.txt"), "--seed", "1"),
                invoke_quiet("estimate", "-", "--input-format", "ascii", "--seed", "1", stdin=text)):
        got = [ln.split(",") for ln in ok_output(res).splitlines()[1:]]
        want = [ln.split(",") for ln in plain_ages.splitlines()[1:]]
        assert [g[:1] + [float(g[1])] + g[2:] for g in got] == [w[:1] + [float(w[1])] + w[2:] for w in want]
        assert "converted column 'Per' from h to days" in res.stderr
    for star in ("d 7.0 1.1", "h 7.0 mag", "- h 1.1", "A - -"):  # a number in a read column, or no unit: a star
        (tmp_path / "s.txt").write_text(f"name prot bp_rp0\n{star}\nB 8.0 1.2\n")
        rows = ok_output(invoke_quiet("estimate", str(tmp_path / "s.txt"))).splitlines()[1:]
        assert [r.split(",")[0] for r in rows] == [star.split()[0], "B"], star


@pytest.mark.parametrize("second", ["S N N", "- h mag"])
def test_a_quoted_header_name_counts_once_for_a_types_or_units_line(tmp_path, second):
    """'"my star" prot bp_rp0' split on blanks had 4 names against 3 types: the types line was dated as star S
    (review V36b, 9)."""
    (tmp_path / "t.txt").write_text(f'"my star" prot bp_rp0\n{second}\nA {168 if "h" in second else 7} 1.1\n')
    rows = ok_output(invoke_quiet("estimate", str(tmp_path / "t.txt"))).splitlines()
    assert rows[0].startswith("my star,prot,bp_rp0,") and [r.split(",")[:2] for r in rows[1:]] == [["A", "7"]], rows


# astropy's own text layouts, as Table.write(format="ascii.fixed_width" / "ascii.rst") writes them (review V40, 16)
PIPES = ("| Cluster  |  Per | BP-RP0 |\n| Pleiades |  7.0 |    1.1 |\n| Pleiades | 10.0 |    1.2 |\n"
         "| Praesepe | 12.5 |    1.1 |\n")
RST = ("======== ==== ======\nCluster  Per  BP-RP0\n======== ==== ======\nPleiades  7.0    1.1\nPleiades 10.0    1.2\n"
       "Praesepe 12.5    1.1\n======== ==== ======\n")


@pytest.mark.parametrize("text", [PIPES, RST], ids=["fixed_width", "rst"])
def test_astropys_own_fixed_width_and_rst_text_tables_are_read(tmp_path, plain_ages, text):
    """Refused before: the pipes' header as 'no header line naming its columns', the rst rule taken for the names."""
    (tmp_path / "stars.dat").write_text(text)
    got = pd.read_csv(StringIO(ok_output(invoke_quiet("estimate", str(tmp_path / "stars.dat"), "--seed", "1"))))
    pd.testing.assert_frame_equal(got, pd.read_csv(StringIO(plain_ages)))  # astropy types the cells: 7.0 written 7


def test_a_pipe_table_whose_pipes_do_not_line_up_is_refused_naming_the_line(tmp_path):
    """astropy cuts cells at the header's '|': a row whose '|' stand elsewhere was read with '|' inside its cells."""
    (tmp_path / "stars.dat").write_text("| Cluster | Per | BP-RP0 |\n| Pleiades | 7.0 | 1.1 |\n")
    msg = one_line_error(invoke_quiet("estimate", str(tmp_path / "stars.dat")))
    assert "line 2's '|' do not stand under the header's" in msg


# review V42 of the pipe and rst layouts: a units row, a Markdown rule, a header-only IPAC table, a BOM
PIPES_HOURS = ("| Cluster  | Per | BP-RP0 |\n|          |   h |    mag |\n| Pleiades | 168 |    1.1 |\n"
               "| Pleiades | 240 |    1.2 |\n| Praesepe | 300 |    1.1 |\n")
MARKDOWN = ("| Cluster  | Per  | BP-RP0 |\n|:---------|-----:|-------:|\n| Pleiades |  7.0 |    1.1 |\n"
            "| Pleiades | 10.0 |    1.2 |\n| Praesepe | 12.5 |    1.1 |\n")
RST_HOURS = ("======== === ======\nCluster  Per BP-RP0\n         h   mag\n======== === ======\nPleiades 168 1.1\n"
             "Pleiades 240 1.2\nPraesepe 300 1.1\n======== === ======\n")


# a name with a blank ("My star"): the units row was told by splitting joined cells on blanks again (review RD38B, 1)
SPACED = {"pipes": PIPES_HOURS.replace("| Cluster  |", "| My star  |"),
          "rst": RST_HOURS.replace("======== === ======\nCluster ", "======== === ======\nMy star ")}


@pytest.mark.parametrize("text", [PIPES_HOURS, MARKDOWN, RST_HOURS, "\ufeff" + PIPES, "\ufeff" + RST, *SPACED.values()],
                         ids=["pipes_units_row", "markdown_rule", "rst_units_row", "pipes_bom", "rst_bom",
                              "pipes_units_spaced_name", "rst_units_spaced_name"])
def test_pipe_and_rst_tables_with_a_units_row_a_markdown_rule_or_a_bom_date_the_same_stars(tmp_path, plain_ages, text):
    """The units row and the Markdown rule were dated as a first star (hours then read as days), a BOM hid the layout."""
    (tmp_path / "stars.dat").write_text(text, encoding="utf-8")
    got = pd.read_csv(StringIO(ok_output(invoke_quiet("estimate", str(tmp_path / "stars.dat"), "--seed", "1"))))
    want = pd.read_csv(StringIO(plain_ages))
    cols = [c for c in want.columns if c.startswith("age_") or c in ("p_outlier", "status")]
    pd.testing.assert_frame_equal(got[cols], want[cols])


def test_an_ipac_table_with_no_rows_is_still_read_as_ipac(tmp_path):
    """Its header lines are all between pipes: taken for astropy's fixed_width, they came out as three stars."""
    (tmp_path / "stars.tbl").write_text("|  prot|bp_rp0|\n|double|double|\n|     d|   mag|\n|  null|  null|\n")
    out = ok_output(invoke_quiet("estimate", str(tmp_path / "stars.tbl")))
    assert len(out.splitlines()) == 1  # the header alone


def test_an_rst_tables_second_header_line_that_is_no_units_row_is_refused(tmp_path):
    (tmp_path / "stars.dat").write_text("==== ======\nprot bp_rp0\nrot. colour\n==== ======\n25.4 0.82\n==== ======\n")
    assert "is no units row" in one_line_error(invoke_quiet("estimate", str(tmp_path / "stars.dat")))


def test_a_pipe_table_lined_up_with_tabs_is_told_so(tmp_path):
    (tmp_path / "stars.dat").write_text("| prot\t| bp_rp0 |\n| 25.4 | 0.82 |\n")
    assert "tabs" in one_line_error(invoke_quiet("estimate", str(tmp_path / "stars.dat")))
