"""Literature-table reading, its regressions and gaps: old Mac line ends, first rows taken for units rows, VizieR
layouts saved as .txt, units that are no conversion, CDS tables gzip-compressed, periods in other time units.
Files are made here, small."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from tests.conftest import invoke_quiet, ok_output

PLAIN = "Cluster,Prot,(BP-RP)0\nX,7.0,1.10\nX,9.0,1.30\nY,12.5,1.10\n"


@pytest.fixture(scope="module")
def plain_ages(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("plain") / "plain.csv"
    path.write_text(PLAIN)
    return ok_output(invoke_quiet("estimate", str(path), "--seed", "1"))


@pytest.mark.parametrize("text", [
    PLAIN.replace("\n", "\r"),
    "# made on a Mac\r# two comment lines\r" + PLAIN.replace("\n", "\r"),
    PLAIN.replace("\n", "\r").replace("Y,", "\rY,"),  # a blank line between rows
    PLAIN.replace("\n", "\r").replace("(BP-RP)0\r", "(BP-RP)0\r,d,\r"),  # a units row
])
def test_old_mac_line_ends_are_read(tmp_path, plain_ages, text):
    """A file whose lines end with a lone \\r stopped with an IndexError in the title check."""
    (tmp_path / "cr.csv").write_text(text, newline="")
    assert ok_output(invoke_quiet("estimate", str(tmp_path / "cr.csv"), "--seed", "1")) == plain_ages
    assert ok_output(invoke_quiet("estimate", "-", "--seed", "1", stdin=text.encode())) == plain_ages
    (tmp_path / "cr.csv.gz").write_bytes(gzip.compress(text.encode()))
    assert ok_output(invoke_quiet("estimate", str(tmp_path / "cr.csv.gz"), "--seed", "1")) == plain_ages
    groups = ok_output(invoke_quiet("group-age", "-", "--by", "Cluster", stdin=text.encode()))
    assert [line.split(",")[0] for line in groups.splitlines()[1:]] == ["X", "Y"]


def test_a_title_over_an_old_mac_header_is_still_named(tmp_path):
    res = invoke_quiet("estimate", "-", stdin="My table\r" + PLAIN.replace("\n", "\r"))
    assert res.exit_code == 2 and "looks like a title" in res.stderr, res.output


@pytest.mark.parametrize("text, first", [
    ("Name,Prot,(BP-RP)0,Flag\nX,,,N\nB,9.0,1.30,\n", "X,,,N,"),  # N: newton
    ("Name,Prot,(BP-RP)0,Flag\nX,,,b\nB,9.0,1.30,\n", "X,,,b,"),  # b: bit
    ("Name,Prot,(BP-RP)0,Flag\nX,,,a\nB,9.0,1.30,\n", "X,,,a,"),  # a: annum
    ("Name,Prot,(BP-RP)0\nStarA,---,---\nB,9.0,1.30\n", "StarA,---,---,"),  # CDS's 'no unit', no period's
    ("Cluster,Prot,(BP-RP)0,Note\nPleiades,d,,\nB,9.0,1.30,\n", "Pleiades,d,,,"),  # a name that is no unit
    ("Name,Prot,(BP-RP)0\nSun,,\nB,9.0,1.30\n", "Sun,,,"),  # a unit, under no column read
    ("Name,Prot,(BP-RP)0\n,mag,d\nB,9.0,1.30\n", ",mag,d,"),  # units, each of another column's kind
    ("Name,Prot,(BP-RP)0\n,Days,zorgs\nB,9.0,1.30\n", ",Days,zorgs,"),  # a word that is no unit
])
def test_a_first_data_row_is_not_taken_for_a_units_row(text, first):
    """Such a first row was skipped as a units row, silently: README promises every data row comes out."""
    rows = ok_output(invoke_quiet("estimate", "-", stdin=text)).splitlines()
    assert len(rows) == 3 and rows[1].startswith(first), rows
    assert rows[1].endswith("invalid_period") and rows[2].startswith("B,9.0,1.30")


@pytest.mark.parametrize("units", [",d,mag", ",(d),(mag)", ",,mag", "---,d,mag", ",d,", "-,d,-", ",---,mag"])
def test_units_rows_without_a_row_of_dashes_are_still_skipped(units):
    rows = ok_output(invoke_quiet("estimate", "-", stdin=f"Name,Prot,(BP-RP)0\n{units}\nB,9.0,1.30\n")).splitlines()
    assert len(rows) == 2 and rows[1].startswith("B,") and rows[1].endswith(",ok"), rows


def test_a_membership_units_row_is_skipped_when_the_column_is_read():
    text = "Cluster,Prot,(BP-RP)0,Mem\n,,,%\nX,7.0,1.10,90\nX,9.0,1.30,80\n"
    rows = ok_output(invoke_quiet("group-age", "-", "--by", "Cluster", "--membership", "Mem", stdin=text)).splitlines()
    assert [r.split(",")[0] for r in rows[1:]] == ["X"]  # no no_group row for the units row


@pytest.mark.parametrize("sep", ["\t", "|", ","])
def test_a_blank_units_row_over_a_row_of_dashes_is_skipped(sep):
    """It was read as a star without a group, and the dashes as a group '-----'."""
    text = "Cluster\tPer\tBP-RP0\n\t\t\n-----\t-----\t-----\nX\t7.0\t1.10\nX\t9.0\t1.30\n".replace("\t", sep)
    groups = ok_output(invoke_quiet("group-age", "-", "--by", "Cluster", stdin=text)).splitlines()
    assert [r.split(",")[0] for r in groups[1:]] == ["X"], groups
    rows = ok_output(invoke_quiet("estimate", "-", stdin=text)).splitlines()
    assert [r.split(",")[0] for r in rows[1:]] == ["X", "X"], rows


PIPE_H = "#VizieR\nCluster|Per|BP-RP0\n|h|mag\n-----|-----|-----\nX|168.0|1.10\nX|216.0|1.30\nY|300|1.10\n"


@pytest.mark.parametrize("name, text", [
    ("pipe_h.txt", PIPE_H),
    ("pipe_h.dat", PIPE_H),
    ("tab_h.txt", PIPE_H.replace("|", "\t")),
    ("long_comments.txt", "#Column\tPer\t(F6.1)\tRotation period [ucd=time.period]\n" * 200 + PIPE_H.replace("|", "\t")),
    ("tab_h.txt.gz", PIPE_H.replace("|", "\t")),
    ("semicolon_h.txt", PIPE_H.replace("|", ";")),
    ("semicolon_h.dat", PIPE_H.replace("|", ";")),
    # a spreadsheet's export in a decimal-comma locale: ';' between cells, ',' in numbers
    ("decimal_commas.txt", PIPE_H.replace("|", ";").replace(".", ",")),
])
def test_vizier_tsv_and_pipe_downloads_saved_as_txt_are_read_as_csv(tmp_path, name, text):
    """They went to the whitespace-ASCII reader: the units and dashes rows were stars, hours were read as days (a
    ';'-separated one came out as one column: 'missing required column')."""
    path = tmp_path / name
    if name.endswith(".gz"):
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    (tmp_path / "same.csv").write_text(text)
    want = ok_output(invoke_quiet("group-age", str(tmp_path / "same.csv"), "--by", "Cluster"))
    assert [r.split(",")[0] for r in want.splitlines()[1:]] == ["X", "Y"]
    assert ok_output(invoke_quiet("group-age", str(path), "--by", "Cluster")) == want
    assert ok_output(invoke_quiet("estimate", str(path))) == ok_output(invoke_quiet("estimate", str(tmp_path / "same.csv")))


@pytest.mark.parametrize("text", [
    "name prot bp_rp0\nA 7.0 1.10\nB 9 1.3\n",  # whitespace-aligned: astropy, as before (numbers come back as numbers)
    "# a comment\nname prot bp_rp0\nA 7.0 1.10\nB 9 1.3\n",
    "|name|prot|bp_rp0|\n|A|7.0|1.10|\n|B|9|1.3|\n",  # astropy's fixed-width with | borders
])
def test_other_text_tables_stay_with_astropy(tmp_path, text):
    from gyroage.formats import input_format

    (tmp_path / "t.txt").write_text(text)
    assert input_format(tmp_path / "t.txt") == "ascii"


def test_a_units_row_in_the_tools_own_units_leaves_every_cell_as_it_came():
    """'7.1300' was written back as '7.13' (each cell converted, by one), and slowly."""
    text = "Name\tProt\tBP-RP0\te_BP-RP0\n\td\tmag\tmag\n-----\t-----\t-----\t-----\nA\t7.1300\t1.10\t0.0200\n"
    rows = ok_output(invoke_quiet("estimate", "-", stdin=text)).splitlines()
    assert rows[1].startswith("A,7.1300,1.10,0.0200,"), rows


README_CDS = """J/ApJ/1/2    Rotation periods    (Someone, 2025)
================================================================================
Byte-by-byte Description of file: table1.dat
--------------------------------------------------------------------------------
 Bytes Format Units  Label     Explanations
--------------------------------------------------------------------------------
 1- 8  A8     ---    Cluster   Cluster name
10-14  F5.1   h      Per       Rotation period
16-19  F4.2   mag    BP-RP0    De-reddened colour
--------------------------------------------------------------------------------
"""


def test_a_gzip_compressed_cds_table_finds_its_readme(tmp_path):
    """table1.dat.gz was refused: 'put its ReadMe beside it', with the ReadMe beside it."""
    data = "X        168.0 1.10\nX        216.0 1.30\nY        300.0 1.10\n"
    (tmp_path / "ReadMe").write_text(README_CDS)
    (tmp_path / "table1.dat").write_text(data)
    want = ok_output(invoke_quiet("estimate", str(tmp_path / "table1.dat")))
    assert len(want.splitlines()) == 4
    (tmp_path / "table1.dat").unlink()
    (tmp_path / "table1.dat.gz").write_bytes(gzip.compress(data.encode()))
    assert ok_output(invoke_quiet("estimate", str(tmp_path / "table1.dat.gz"))) == want


def test_a_gzip_compressed_cds_table_finds_its_readme_under_astropy_6(tmp_path, monkeypatch):
    """astropy 6.0-6.1 looks the table up in the ReadMe as 'table1.dat.gz' and does not find it (astropy 7 does):
    simulated here, gyroage must hand astropy the name the ReadMe gives."""
    from astropy.table import Table

    read = Table.read

    def old_cds(*args, **kwargs):
        if kwargs.get("readme") and str(args[-1]).endswith(".gz"):
            raise ValueError(f"Can't find table {Path(args[-1]).name} in {kwargs['readme']}")
        return read(*args, **kwargs)

    monkeypatch.setattr(Table, "read", old_cds)
    data = "X        168.0 1.10\nX        216.0 1.30\nY        300.0 1.10\n"
    (tmp_path / "ReadMe").write_text(README_CDS)
    (tmp_path / "table1.dat").write_text(data)
    want = ok_output(invoke_quiet("estimate", str(tmp_path / "table1.dat")))
    (tmp_path / "table1.dat").unlink()
    (tmp_path / "table1.dat.gz").write_bytes(gzip.compress(data.encode()))
    assert ok_output(invoke_quiet("estimate", str(tmp_path / "table1.dat.gz"))) == want


@pytest.mark.parametrize("name, scale", [
    ("Prot [min]", 1440.0), ("Prot [s]", 86400.0), ("Prot [yr]", 1 / 365.25), ("Prot (hr)", 24.0), ("Per (ks)", 86.4),
    ("Prot (hours)", 24.0),
])
def test_a_period_in_any_time_unit_in_brackets_is_read_converted(name, scale):
    """'missing required column' although README says a period in any time unit is converted."""
    from gyroage.columns import column_role

    role = column_role(name)
    assert role is not None and role.name == "prot" and role.scale == pytest.approx(1 / scale, rel=1e-12)
    assert column_role(f"e_{name}").name == "prot_err"
    text = f"Name,{name},(BP-RP)0\nA,{7.0 * scale!r},1.10\n"
    rows = ok_output(invoke_quiet("estimate", "-", "--seed", "1", stdin=text)).splitlines()
    want = ok_output(invoke_quiet("estimate", "-", "--seed", "1", stdin="Name,Prot,(BP-RP)0\nA,7.0,1.10\n")).splitlines()
    assert rows[1].split(",")[3:] == want[1].split(",")[3:]


@pytest.mark.parametrize("name", ["Prot_min", "Prot_s", "Prot_yr", "Prot [Jy]", "Prot [dex(d)]"])
def test_time_units_as_suffixes_or_other_units_are_not_periods(name):
    from gyroage.columns import column_role

    assert column_role(name) is None


@pytest.mark.parametrize("name, unit", [
    ("Per (days)", "h"), ("Period_d", "h"), ("Per (d)", "h"), ("Prot [d]", "h"), ("Prot_days", "h"),
    ("P_rot [days]", "min"), ("e_Prot_days", "h"), ("(BP-RP)0 [mag]", "mmag"), ("Teff (K)", "deg_C"),
])
def test_a_units_row_that_disagrees_with_the_name_is_refused_for_every_spelling(name, unit):
    """Per (days) over h was refused while Prot [d] over h was quietly converted by the units row."""
    from gyroage.columns import column_role

    assert column_role(name).unit is not None
    text = f"Name,{name},Prot,(BP-RP)0,Teff\n,{unit},d,mag,K\nA,7.0,7.0,1.10,5000\n"
    res = invoke_quiet("estimate", "-", stdin=text)
    assert res.exit_code == 2 and f"column '{name}' has unit '{unit}', but its name says" in res.stderr, res.output


@pytest.mark.parametrize("header, units", [("Prot [d],BP-RP0", "d,mag"), ("Prot_days,BP-RP0", "days,mag"),
                                           ("Prot,(BP-RP)0 [mag]", "d,mag"), ("Per (h),BP-RP0", "h,mag")])
def test_a_units_row_that_agrees_with_the_name_is_read(header, units):
    rows = ok_output(invoke_quiet("estimate", "-", stdin=f"Name,{header}\n,{units}\nA,7.0,1.10\n")).splitlines()
    assert len(rows) == 2 and rows[1].startswith("A,7.0,1.10,") and rows[1].endswith(",ok"), rows


@pytest.mark.parametrize("end", ["\r", ""])
def test_an_old_mac_files_rows_are_counted_for_progress(tmp_path, end):
    """A CR-only file counted as 0 rows (only newlines were counted), so its progress had no total."""
    from gyroage.engines.local import scan_input

    path = tmp_path / "mac.csv"
    path.write_bytes(("prot,bp_rp0\r7.0,1.10\r8.0,1.20\r9.0,1.30" + end).encode())
    assert scan_input(path, fingerprint=False)[1] == 3
