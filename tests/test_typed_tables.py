"""FITS, VOTable and IPAC edge cases: nulls, scaled columns, units on text, mixins, array columns, several tables.

Each test builds its own small table; the Sun-like star (25.4 d, (BP-RP)0 0.82) is dated ok.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from astropy.io import fits
from astropy.table import Table

from gyroage import formats
from tests.conftest import invoke_quiet, ok_output, one_line_error
from tests.test_formats import invoke, run_ok


def read_fits(path) -> Table:
    table = Table.read(path)
    table.convert_bytestring_to_unicode()
    return table


def test_a_fits_output_never_turns_a_real_integer_into_null(tmp_path):
    """astropy's default fill (999999) was the TNULL of a masked int column: a real TIC 999999 read back as null."""
    (tmp_path / "tic.csv").write_text("tic,prot,bp_rp0\n999999,25.4,0.82\n,8,1.1\n12345,12,1.0\n")
    run_ok(str(tmp_path / "tic.csv"), "-o", str(tmp_path / "out.fits"))
    tic = read_fits(tmp_path / "out.fits")["tic"]
    assert list(tic.mask) == [False, True, False]
    assert [int(v) for v in tic[[0, 2]]] == [999999, 12345]


@pytest.mark.parametrize("dtype", ["int8", "uint8", "int16", "uint16", "int32", "uint32", "int64"])
@pytest.mark.parametrize("fmt, name", [("fits", "t.fits"), ("votable", "t.vot")])
def test_masked_integers_keep_every_value_and_their_nulls(tmp_path, dtype, fmt, name):
    """The extremes of the type are real values here, and int8 was written to FITS as logical (all True)."""
    info = np.iinfo(dtype)
    ints = [info.min, info.max, 0, 5, info.max - 1, info.min + 1]
    frame = pd.DataFrame({"n": pd.array([*ints, None], dtype=dtype.capitalize().replace("Uint", "UInt")),
                          "plain": np.array([*ints, 7], dtype=dtype)})
    formats.write_table(frame, tmp_path / name, fmt)
    back = Table.read(tmp_path / name)
    assert back["n"].dtype.kind in "iu" and back["plain"].dtype.kind in "iu"
    assert [int(v) for v in back["n"][:-1]] == ints and bool(back["n"].mask[-1])
    assert not np.ma.getmaskarray(back["n"])[:-1].any()
    assert [int(v) for v in back["plain"]] == [*ints, 7]


def test_a_fits_tnull_is_the_raw_stored_value(tmp_path):
    """TNULL is compared with the stored integer (before TZERO): other readers than astropy see the null too."""
    frame = pd.DataFrame({"n": pd.array([1, None, 65535], dtype="UInt16")})
    formats.write_table(frame, tmp_path / "t.fits", "fits")
    with fits.open(tmp_path / "t.fits") as hdul:
        raw = hdul[1].data.base["n"] if hdul[1].header.get("TZERO1") else np.asarray(hdul[1].data["n"])
        assert int(hdul[1].header["TNULL1"]) == int(np.asarray(raw)[1])
        assert int(hdul[1].header["TNULL1"]) not in {int(v) for v in np.asarray(raw)[[0, 2]]}


def test_every_value_of_a_small_type_used_still_leaves_room_for_null(tmp_path):
    values = np.arange(256, dtype="uint8")
    frame = pd.DataFrame({"n": pd.array([*values.tolist(), None], dtype="UInt8")})
    formats.write_table(frame, tmp_path / "t.fits", "fits")
    back = Table.read(tmp_path / "t.fits")["n"]
    assert [int(v) for v in back[:-1]] == values.tolist() and bool(back.mask[-1])


def scaled_fits(path, prot_raw, colour_raw) -> None:
    """A FITS table whose period (int16) and colour (uint8) are stored scaled by 0.01, with TNULL -32768 and 255."""
    cols = [fits.Column("name", "8A", array=np.array(["sun", "a", "b"][: len(prot_raw)])),
            fits.Column("prot", "I", array=np.array(prot_raw, dtype=np.int16), null=-32768, unit="d"),
            fits.Column("bp_rp0", "B", array=np.array(colour_raw, dtype=np.uint8), null=255)]
    fits.BinTableHDU.from_columns(cols).writeto(path, overwrite=True)
    with fits.open(path, mode="update") as hdul:  # scaled after writing: the raw integers stay as given
        for i in (2, 3):
            hdul[1].header[f"TSCAL{i}"] = 0.01
            hdul[1].header[f"TZERO{i}"] = 0.0


def test_a_scaled_integer_columns_tnull_cells_are_missing(tmp_path):
    """astropy scales a TNULL cell like any other: a null colour became 2.55 and was dated, status ok."""
    scaled_fits(tmp_path / "s.fits", [2540, -32768, 1200], [82, 110, 255])
    run_ok(str(tmp_path / "s.fits"), "-o", str(tmp_path / "out.csv"))
    out = pd.read_csv(tmp_path / "out.csv")
    assert list(out["status"]) == ["ok", "invalid_period", "invalid_colour"]
    assert out["age_p50_myr"].iloc[1:].isna().all()
    assert out["prot"].iloc[0] == pytest.approx(25.4) and np.isnan(out["prot"].iloc[1])
    assert np.isnan(out["bp_rp0"].iloc[2])


@pytest.mark.parametrize("name", ["t.fits", "t.vot", "t.ecsv"])
@pytest.mark.parametrize("unit, days", [("d", ["25.4", "<0.5", "8"]), ("h", ["25.4", "<0.5", "8.0"])])
def test_a_text_column_in_a_unit_keeps_its_text_cells(tmp_path, name, unit, days):
    """As a CSV with a units row does: the number cells are converted, the others kept (they were emptied)."""
    hours = {"d": ["25.4", "<0.5", "8"], "h": ["609.6", "<0.5", "192"]}[unit]
    t = Table({"name": ["a", "b", "c"], "prot": hours, "bp_rp0": [0.82, 1.0, 1.1]})
    t["prot"].unit = unit
    t.write(tmp_path / name, format={"t.vot": "votable"}.get(name))
    run_ok(str(tmp_path / name), "-o", str(tmp_path / "out.csv"))
    out = pd.read_csv(tmp_path / "out.csv", dtype={"prot": str})
    assert list(out["prot"]) == days
    assert list(out["status"]) == ["ok", "invalid_period", "ok"]
    (tmp_path / "ref.csv").write_text("name,prot,bp_rp0\na,25.4,0.82\nc,8,1.1\n")
    run_ok(str(tmp_path / "ref.csv"), "-o", str(tmp_path / "ref_out.csv"))
    ref = pd.read_csv(tmp_path / "ref_out.csv")
    assert list(out["age_p50_myr"].iloc[[0, 2]]) == list(ref["age_p50_myr"])


def test_a_missing_boolean_never_becomes_true_in_fits(tmp_path):
    """FITS logical columns hold no null astropy writes (it wrote the fill, True): such a column is 1/0 with TNULL."""
    frame = pd.DataFrame({"name": ["a", "b", "c"], "prot": [25.4, 8.0, 12.0], "bp_rp0": [0.82, 1.1, 1.0],
                          "binary": pd.array([True, None, False], dtype="boolean")})
    frame.to_parquet(tmp_path / "s.parquet")
    run_ok(str(tmp_path / "s.parquet"), "-o", str(tmp_path / "out.fits"))
    back = Table.read(tmp_path / "out.fits")["binary"]
    assert list(np.ma.getmaskarray(back)) == [False, True, False]
    assert [bool(v) for v in back[[0, 2]]] == [True, False]
    run_ok(str(tmp_path / "s.parquet"), "-o", str(tmp_path / "whole.fits"), "--chunksize", "1")
    assert list(np.ma.getmaskarray(Table.read(tmp_path / "whole.fits")["binary"])) == [False, True, False]


def test_a_null_fits_logical_is_read_as_missing(tmp_path):
    """astropy reads a FITS logical null (stored 0) as False, with a warning gyroage hides: it is missing."""
    cols = [fits.Column("name", "4A", array=np.array(["a", "b", "c"])),
            fits.Column("prot", "D", array=np.array([25.4, 8.0, 12.0])),
            fits.Column("bp_rp0", "D", array=np.array([0.82, 1.1, 1.0])),
            fits.Column("binary", "L", array=np.array([True, False, False]))]
    fits.BinTableHDU.from_columns(cols).writeto(tmp_path / "s.fits")
    with fits.open(tmp_path / "s.fits", mode="update") as hdul:  # the stored byte: T, F, or 0 for null
        hdul[1].data.base["binary"][1] = 0
    run_ok(str(tmp_path / "s.fits"), "-o", str(tmp_path / "out.csv"))
    out = pd.read_csv(tmp_path / "out.csv", dtype={"binary": str}, keep_default_na=False)
    assert list(out["binary"]) == ["True", "", "False"]


IPAC = """\\fixlen = T
\\ a comment keyword line
|          source_id|   prot|bp_rp0|
|               long| double|double|
|                   |      h|      |
|               null|   null|  null|
 6917528997577384320   609.6   0.82
                null   192.0    1.1
                   3    null    1.0
"""


@pytest.mark.parametrize("name", ["s.tbl", "s.ipac", "s.csv", "s", "s.tbl.gz"])
def test_an_ipac_table_is_read_as_ipac_whatever_its_name(tmp_path, name):
    """A .tbl (IRSA, NASA Exoplanet Archive) was read as '|'-delimited CSV: junk rows, exit 0."""
    import gzip

    text = IPAC.encode()
    (tmp_path / name).write_bytes(gzip.compress(text) if name.endswith(".gz") else text)
    stderr = run_ok(str(tmp_path / name), "-o", str(tmp_path / "out.csv"))
    assert "converted column 'prot' from h to days" in stderr
    out = pd.read_csv(tmp_path / "out.csv", dtype={"source_id": "Int64"})
    assert list(out["status"]) == ["ok", "ok", "invalid_period"]
    assert list(out.columns[:3]) == ["source_id", "prot", "bp_rp0"]
    assert out["source_id"].iloc[0] == 6917528997577384320 and pd.isna(out["source_id"].iloc[1])
    assert list(out["prot"].iloc[:2]) == [25.4, 8.0]


def test_a_pipe_table_with_pipes_in_its_rows_is_still_csv(tmp_path):
    """'|a|b|' over '|1|2|' rows is a '|'-delimited text (read as CSV, as before), not IPAC."""
    assert formats.sniff(b"|name|prot|bp_rp0|\n|a|25.4|0.82|\n|b|8|1.1|\n", whole=True) is None
    assert formats.sniff(IPAC.encode(), whole=True) == "ascii"
    assert formats.by_suffix("x.tbl", read=True) == formats.by_suffix("x.ipac", read=True) == "ascii"


@pytest.mark.parametrize("name", ["m.ecsv", "m.fits"])
def test_time_and_skycoord_columns_are_read_as_plain_columns(tmp_path, name):
    """astropy gives Time and SkyCoord objects for them: gyroage stopped with a traceback ('Time' has no dtype)."""
    import astropy.units as u
    from astropy.coordinates import SkyCoord
    from astropy.time import Time

    t = Table({"source_id": [6917528997577384320, 2],
               "obs": Time(["2020-01-01T00:00:00", "2021-06-01T12:00:00"]),
               "coord": SkyCoord([10.1234567891, 20.5] * u.deg, [-5.25, 30.0] * u.deg),
               "prot": [25.4, 8.0], "bp_rp0": [0.82, 1.1]})
    t["obs"][1] = np.ma.masked if name == "m.ecsv" else t["obs"][1]
    t.write(tmp_path / name, format={"m.vot": "votable"}.get(name))
    run_ok(str(tmp_path / name), "-o", str(tmp_path / "out.csv"))
    out = pd.read_csv(tmp_path / "out.csv")
    assert list(out["status"]) == ["ok", "ok"]
    assert list(out["coord.ra"]) == [10.1234567891, 20.5] and list(out["coord.dec"]) == [-5.25, 30.0]
    if name == "m.ecsv":  # a Time as the text it was stored as (FITS stores it as a (jd1, jd2) pair: an array cell)
        assert out["obs"].iloc[0] == "2020-01-01T00:00:00.000" and pd.isna(out["obs"].iloc[1])
    else:
        assert out["obs"].iloc[0] == "[2458850.0, -0.5]"


@pytest.mark.parametrize("column", ["prot", "bp_rp0", "e_prot"])
def test_an_array_column_among_those_read_is_refused_in_one_line(tmp_path, column):
    """A '2D' period (two values a row) made every row invalid_period without a word."""
    values = {"prot": [25.4, 8.0], "bp_rp0": [0.82, 1.1], "e_prot": [0.5, 0.2]}
    cols = [fits.Column("name", "4A", array=np.array(["a", "b"]))]
    for name, v in values.items():
        arr = np.array(v)
        cols.append(fits.Column(name, "2D", array=np.c_[arr, arr]) if name == column else
                    fits.Column(name, "D", array=arr))
    fits.BinTableHDU.from_columns(cols).writeto(tmp_path / "s.fits")
    one_line_error(invoke(str(tmp_path / "s.fits"), "-o", str(tmp_path / "out.csv")), f"'{column}'", "2 values")
    assert not (tmp_path / "out.csv").exists()


def test_an_array_column_passed_through_is_kept_as_text(tmp_path):
    cols = [fits.Column("name", "4A", array=np.array(["a", "b"])), fits.Column("prot", "D", array=[25.4, 8.0]),
            fits.Column("bp_rp0", "D", array=[0.82, 1.1]), fits.Column("vec", "2D", array=[[1.0, 2.0], [3.0, 4.0]])]
    fits.BinTableHDU.from_columns(cols).writeto(tmp_path / "s.fits")
    run_ok(str(tmp_path / "s.fits"), "-o", str(tmp_path / "out.csv"))
    assert list(pd.read_csv(tmp_path / "out.csv")["vec"]) == ["[1.0, 2.0]", "[3.0, 4.0]"]


def star_hdu(names, periods, colours, extname=None) -> fits.BinTableHDU:
    hdu = fits.BinTableHDU.from_columns([fits.Column("name", "8A", array=np.array(names)),
                                         fits.Column("prot", "D", array=np.array(periods, dtype=float)),
                                         fits.Column("bp_rp0", "D", array=np.array(colours, dtype=float))])
    if extname:
        hdu.header["EXTNAME"] = extname
    return hdu


def other_hdu() -> fits.BinTableHDU:
    return fits.BinTableHDU.from_columns([fits.Column("band", "4A", array=np.array(["G", "BP"])),
                                          fits.Column("zp", "D", array=np.array([25.7, 25.3]))], name="ZEROPOINTS")


def test_the_first_fits_table_with_stars_is_read_and_named(tmp_path):
    """A table of other things first: gyroage said 'missing column prot' without a word of the next HDU."""
    fits.HDUList([fits.PrimaryHDU(), other_hdu(), star_hdu(["sun", "b"], [25.4, 8.0], [0.82, 1.1], "STARS")]
                 ).writeto(tmp_path / "s.fits")
    stderr = run_ok(str(tmp_path / "s.fits"), "-o", str(tmp_path / "out.csv"))
    assert list(pd.read_csv(tmp_path / "out.csv")["name"]) == ["sun", "b"]
    line = [ln for ln in stderr.splitlines() if "tables" in ln]
    assert len(line) == 1 and "HDU 2 'STARS'" in line[0] and "HDU 1 'ZEROPOINTS'" in line[0]


def test_several_fits_tables_with_stars_the_first_is_read_and_the_others_named(tmp_path):
    """Only the first was read, and astropy's warning about the others was hidden."""
    fits.HDUList([fits.PrimaryHDU(), star_hdu(["sun", "b"], [25.4, 8.0], [0.82, 1.1]),
                  star_hdu(list("cdefg"), [12.0] * 5, [1.0] * 5)]).writeto(tmp_path / "s.fits")
    stderr = run_ok(str(tmp_path / "s.fits"), "-o", str(tmp_path / "out.csv"))
    assert len(pd.read_csv(tmp_path / "out.csv")) == 2
    line = [ln for ln in stderr.splitlines() if "tables" in ln]
    assert len(line) == 1 and "reading HDU 1 (2 rows)" in line[0] and "HDU 2 (5 rows)" in line[0]


def test_one_fits_table_says_nothing_more(tmp_path):
    fits.HDUList([fits.PrimaryHDU(), star_hdu(["sun"], [25.4], [0.82])]).writeto(tmp_path / "s.fits")
    assert run_ok(str(tmp_path / "s.fits"), "-o", str(tmp_path / "out.csv")) == ""


def test_no_fits_table_with_stars_still_says_what_is_missing(tmp_path):
    fits.HDUList([fits.PrimaryHDU(), other_hdu(), other_hdu()]).writeto(tmp_path / "s.fits")
    res = invoke(str(tmp_path / "s.fits"), "-o", str(tmp_path / "out.csv"), "-q")
    assert res.exit_code == 2 and "missing required column 'prot'" in res.stderr
    assert "none with a period and a colour column" in res.stderr and "HDU 1" in res.stderr and "HDU 2" in res.stderr


VOT = """<?xml version="1.0"?>
<VOTABLE version="1.4" xmlns="http://www.ivoa.net/xml/VOTable/v1.3"><RESOURCE>
<TABLE name="{first}"><FIELD name="{col}" datatype="double"/><FIELD name="BP-RP0" datatype="double"/>
<DATA><TABLEDATA><TR><TD>25.4</TD><TD>0.82</TD></TR></TABLEDATA></DATA></TABLE>
<TABLE name="second"><FIELD name="Prot" datatype="double"/><FIELD name="BP-RP0" datatype="double"/>
<DATA><TABLEDATA><TR><TD>8</TD><TD>1.1</TD></TR><TR><TD>12</TD><TD>1.0</TD></TR></TABLEDATA></DATA></TABLE>
</RESOURCE></VOTABLE>
"""


@pytest.mark.parametrize("col, rows, chosen", [("Prot", 1, "table 1 'first'"), ("Vmag", 2, "table 2 'second'")])
def test_a_votable_with_several_tables_reads_the_first_with_stars(tmp_path, col, rows, chosen):
    """astropy refused it: 'Multiple tables found: table id should be set via the table_id= argument'."""
    (tmp_path / "s.vot").write_text(VOT.format(first="first", col=col))
    stderr = run_ok(str(tmp_path / "s.vot"), "-o", str(tmp_path / "out.csv"))
    assert len(pd.read_csv(tmp_path / "out.csv")) == rows
    line = [ln for ln in stderr.splitlines() if "tables" in ln]
    assert len(line) == 1 and f"reading {chosen}" in line[0]


def test_a_votable_files_results_resource_is_read_not_a_meta_table_before_it(tmp_path):
    """A type="meta" RESOURCE first (allowed by the standard, as a service may answer and a user save): the file
    reader took its table, where the service reader takes the results RESOURCE's (review V52, 4). One rule now:
    the results tables, the first with stars of them; the meta table is still named as not read."""
    from gyroage.astropy_tables import results_tables
    from gyroage.crossmatch import answers

    assert answers.results_tables is results_tables  # one rule for a file and a service's answer
    meta = VOT.format(first="notes", col="Prot").replace("<RESOURCE>", '<RESOURCE type="meta">', 1)
    meta = meta.replace('<TABLE name="second">', '</RESOURCE><RESOURCE><TABLE name="second">')
    (tmp_path / "m.vot").write_text(meta)
    stderr = run_ok(str(tmp_path / "m.vot"), "-o", str(tmp_path / "out.csv"))
    assert pd.read_csv(tmp_path / "out.csv")["Prot"].tolist() == [8.0, 12.0]
    line = [ln for ln in stderr.splitlines() if "tables" in ln]
    assert len(line) == 1 and "reading table 2 'second'" in line[0] and "table 1 'notes'" in line[0]


NESTED = """<?xml version="1.0"?>
<VOTABLE version="1.4" xmlns="http://www.ivoa.net/xml/VOTable/v1.3"><RESOURCE type="{outer}">
<RESOURCE type="meta"><TABLE name="notes"><FIELD name="Prot" datatype="double"/><FIELD name="BP-RP0" datatype="double"/>
<DATA><TABLEDATA><TR><TD>1</TD><TD>0.5</TD></TR></TABLEDATA></DATA></TABLE></RESOURCE>
<RESOURCE type="results"><TABLE name="stars"><FIELD name="Prot" datatype="double"/><FIELD name="BP-RP0" datatype="double"/>
<DATA><TABLEDATA><TR><TD>8</TD><TD>1.1</TD></TR><TR><TD>12</TD><TD>1.0</TD></TR></TABLEDATA></DATA></TABLE></RESOURCE>
</RESOURCE></VOTABLE>
"""


@pytest.mark.parametrize("outer", ["results", "meta"])
def test_a_votable_table_is_results_by_its_own_resource(tmp_path, outer):
    """A meta RESOURCE nested in the results one, or the results one in a meta one: only the top-level RESOURCE's
    type was checked and its nested tables all read as results, so the 1-row meta table was dated and the stars
    not (review V53, 3). A table's own (innermost) RESOURCE's type decides now."""
    (tmp_path / "n.vot").write_text(NESTED.format(outer=outer))
    stderr = run_ok(str(tmp_path / "n.vot"), "-o", str(tmp_path / "out.csv"))
    assert pd.read_csv(tmp_path / "out.csv")["Prot"].tolist() == [8.0, 12.0]
    line = [ln for ln in stderr.splitlines() if "tables" in ln]
    assert len(line) == 1 and "reading table 2 'stars'" in line[0] and "table 1 'notes'" in line[0]


@pytest.mark.parametrize("name", ["s.fits", "s.vot", "s.ecsv", "s.parquet", "s.fits.gz"])
def test_a_comma_csv_under_a_typed_name_is_read_as_csv(tmp_path, name):
    """The first bytes win over the suffix: it was the FITS reader's 'No SIMPLE card found' (or VOTable's,
    ECSV's, Parquet's error)."""
    import gzip

    text = b"name,prot,bp_rp0\nsun,25.4,0.82\nb,8,1.1\n"
    (tmp_path / name).write_bytes(gzip.compress(text) if name.endswith(".gz") else text)
    run_ok(str(tmp_path / name), "-o", str(tmp_path / "out.csv"))
    (tmp_path / "s.csv").write_bytes(text)
    run_ok(str(tmp_path / "s.csv"), "-o", str(tmp_path / "ref.csv"))
    assert (tmp_path / "out.csv").read_text() == (tmp_path / "ref.csv").read_text()


@pytest.mark.parametrize("how", ["suffix", "option", "stdin"])
def test_gzip_compressed_parquet_is_refused_saying_so(tmp_path, how):
    """'Parquet magic bytes not found in footer' said nothing of the gzip layer around it."""
    import gzip

    pd.DataFrame({"prot": [25.4], "bp_rp0": [0.82]}).to_parquet(tmp_path / "s.parquet")
    (tmp_path / "s.parquet.gz").write_bytes(gzip.compress((tmp_path / "s.parquet").read_bytes()))
    if how == "stdin":  # a real pipe: CliRunner's stdin cannot be peeked at
        import subprocess
        import sys

        res = subprocess.run([sys.executable, "-m", "gyroage.cli", "estimate", "-", "-q"], capture_output=True,
                             input=(tmp_path / "s.parquet.gz").read_bytes(), timeout=120)
        lines = res.stderr.decode().strip().splitlines()
        assert res.returncode == 2 and len(lines) == 1 and "gzip-compressed Parquet" in lines[0], lines
        return
    res = invoke(str(tmp_path / "s.parquet.gz"), *(["--input-format", "parquet"] if how == "option" else []))
    one_line_error(res, "gzip-compressed Parquet", "gunzip")


def unit_fits(path, unit: str, prot: float) -> None:
    fits.BinTableHDU.from_columns([fits.Column("prot", "D", unit=unit, array=np.array([prot])),
                                   fits.Column("bp_rp0", "D", array=np.array([0.82]))]).writeto(path)


@pytest.mark.parametrize("unit, prot, note", [("HOUR", 609.6, "from h to days"), ("Hours", 609.6, "from h to days"),
                                              ("D", 25.4, None), ("DAY", 25.4, None), ("MIN", 36576.0, "from min")])
def test_a_tunit_in_capitals_is_read_as_a_csv_units_row_reads_it(tmp_path, unit, prot, note):
    """'HOUR' and 'D' were refused ('must be in days'), though a CSV units row takes them."""
    unit_fits(tmp_path / "s.fits", unit, prot)
    stderr = run_ok(str(tmp_path / "s.fits"), "-o", str(tmp_path / "out.csv"))
    assert (note in stderr) if note else "converted" not in stderr
    out = pd.read_csv(tmp_path / "out.csv")
    assert out["status"].iloc[0] == "ok" and out["prot"].iloc[0] == pytest.approx(25.4)


@pytest.mark.parametrize("unit", ["log(d)", "[d]", "log10(d)", "dex(d)"])
def test_a_log_tunit_is_refused_as_a_log(tmp_path, unit):
    unit_fits(tmp_path / "s.fits", unit, 1.4048)
    one_line_error(invoke(str(tmp_path / "s.fits"), "-o", str(tmp_path / "out.csv")), "logarithmic", f"'{unit}'")


@pytest.mark.parametrize("name", ["out.vot", "out.fits"])
def test_unsigned_64_bit_ids_are_written_whole(tmp_path, name):
    """VOTable has no unsigned 64-bit type: such a column was refused after every age was computed. Ids that fit
    int64 are written as int64; larger ones (and, in FITS, larger ones with a missing cell) as text, every digit."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    small = pa.table({"source_id": pa.array([6917528997577384320, None, 2], pa.uint64()),
                      "prot": [25.4, 8.0, 12.0], "bp_rp0": [0.82, 1.1, 1.0]})
    big = small.set_column(0, "source_id", pa.array([18446744073709551615, None, 2], pa.uint64()))
    for table, ids in ((small, [6917528997577384320, None, 2]), (big, ["18446744073709551615", None, "2"])):
        pq.write_table(table, tmp_path / "s.parquet")
        run_ok(str(tmp_path / "s.parquet"), "-o", str(tmp_path / name))
        back = read_fits(tmp_path / name)["source_id"]
        got = [None if m else (v if isinstance(v, str) else int(v)) for v, m in zip(back.data, np.ma.getmaskarray(back))]
        if isinstance(ids[0], str) and name == "out.vot":
            assert back.dtype.kind == "U"
        assert [None if g in (None, "") else g for g in got] == ids


@pytest.mark.parametrize("name", ["out.fits", "out.vot", "out.ecsv"])
def test_the_age_columns_carry_their_unit(tmp_path, name):
    """No output format said the ages were in Myr (their names did; a unit-aware reader saw none)."""
    (tmp_path / "s.csv").write_text("name,prot,bp_rp0\nsun,25.4,0.82\n")
    run_ok(str(tmp_path / "s.csv"), "-o", str(tmp_path / name))
    back = Table.read(tmp_path / name)
    assert all(str(back[c].unit) == "Myr" for c in back.colnames if c.endswith("_myr"))
    assert back["status"].unit is None and back["p_outlier"].unit is None
    ref = tmp_path / "ref.csv"
    run_ok(str(tmp_path / "s.csv"), "-o", str(ref))
    assert float(back["age_p50_myr"][0]) == pytest.approx(float(pd.read_csv(ref)["age_p50_myr"][0]), rel=1e-5)


@pytest.mark.parametrize("name", ["out.fits", "out.vot", "out.ecsv"])
def test_the_main_sequence_height_carries_mag(tmp_path, name):
    """Review V63, 9: ms_height_mag, gyroage's own column in mag, had no unit beside the ages' Myr; an input's own
    ms_height_mag (kept as input_ms_height_mag) still carries none."""
    (tmp_path / "s.csv").write_text("name,prot,bp_rp0,abs_g0,abs_g0_err,ms_height_mag\nk,12.0,1.5,7.5,0.05,0.3\n")
    run_ok(str(tmp_path / "s.csv"), "-o", str(tmp_path / name))
    back = Table.read(tmp_path / name)
    assert str(back["ms_height_mag"].unit) == "mag" and np.isfinite(float(back["ms_height_mag"][0]))
    assert back["input_ms_height_mag"].unit is None and back["abs_g0"].unit is None
    assert str(back["age_p50_myr"].unit) == "Myr"
    from gyroage.core.estimate import HEIGHT_COLUMN

    assert formats.COLUMN_UNITS[HEIGHT_COLUMN] == "mag"  # formats cannot import the core: the name is written twice


def test_a_masked_int_columns_null_is_found_once(monkeypatch):
    """write_table looked for a free null value twice per masked int column (room_for_null, then null_value again):
    astropy_tables.with_null finds it once, widening the type when every value of its own is taken."""
    from gyroage import astropy_tables

    calls = []
    real = astropy_tables.null_value
    monkeypatch.setattr(astropy_tables, "null_value", lambda v, m: calls.append(1) or real(v, m))
    values, missing = np.array([1, 2, 3], dtype=np.int8), np.array([False, True, False])
    assert astropy_tables.with_null(values, missing) == (values, -128) and len(calls) == 1
    full = np.arange(-128, 128, dtype=np.int8)
    widened, null = astropy_tables.with_null(full, np.zeros(full.size, dtype=bool))
    assert widened.dtype == np.int16 and null == -32768 and widened.tolist() == full.tolist()


def test_column_type_helpers_live_in_column_types():
    """sinks imported parquet_input.nullable_int and the API estimate.text_types, helpers of column types kept
    where they were first needed: gyroage.column_types holds them (still importable from the old places)."""
    import pyarrow as pa

    from gyroage import column_types, parquet_input
    from gyroage.core import estimate

    assert column_types.nullable_int(pa.int64()) == pd.Int64Dtype() and column_types.nullable_int(pa.string()) is None
    assert column_types.nullable_dtype("uint8") == pd.UInt8Dtype()
    empty = column_types.text_types(pd.DataFrame({"status": pd.Series([], dtype=object)}), ["status"])
    assert empty["status"].dtype == pd.Series([""]).dtype
    assert parquet_input.nullable_int is column_types.nullable_int and estimate.text_types is column_types.text_types


def test_only_gyroages_own_ages_carry_myr(tmp_path):
    """write_table gave the unit Myr to any float column whose name ends in _myr, an input column passed through
    (an isochrone age 'age_iso_myr', perhaps in Gyr; an input's own 'age_p50_myr', kept as input_age_p50_myr)
    too: only gyroage's own age columns carry it now."""
    (tmp_path / "s.csv").write_text("name,prot,bp_rp0,age_iso_myr,age_p50_myr\nsun,25.4,0.82,4.6,4600\n")
    run_ok(str(tmp_path / "s.csv"), "-o", str(tmp_path / "o.fits"))
    back = Table.read(tmp_path / "o.fits")
    assert back["age_iso_myr"].unit is None and back["input_age_p50_myr"].unit is None
    assert str(back["age_p50_myr"].unit) == "Myr" and str(back["age_map_myr"].unit) == "Myr"
    from gyroage.core.posterior import SUMMARY_COLUMNS
    from gyroage.formats import AGE_COLUMNS

    assert AGE_COLUMNS == SUMMARY_COLUMNS  # formats cannot import the core (a cycle): the names are written twice


@pytest.mark.parametrize("name", ["x" * 69, "'" * 35])
def test_a_column_name_longer_than_a_fits_card_holds_is_one_line(tmp_path, name):
    """A FITS column name fills one card (68 characters, a quote counted twice): a longer one was astropy's
    AssertionError traceback."""
    pd.DataFrame({"prot": [25.4], "bp_rp0": [0.82], name: [1]}).to_csv(tmp_path / "in.csv", index=False)
    line = one_line_error(invoke_quiet("estimate", str(tmp_path / "in.csv"), "-o", str(tmp_path / "out.fits")),
                          "FITS", "68 characters")
    assert len(line) < 200 and not (tmp_path / "out.fits").exists()
    pd.DataFrame({"prot": [25.4], "bp_rp0": [0.82], "x" * 68: [1]}).to_csv(tmp_path / "ok.csv", index=False)
    ok_output(invoke_quiet("estimate", str(tmp_path / "ok.csv"), "-o", str(tmp_path / "ok.fits")))
