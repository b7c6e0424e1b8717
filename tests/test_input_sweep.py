"""Input quirks from a user-acceptance sweep: comment lines before a CSV header, units on every column read,
log units, a one-star whitespace table. Files are made here, small."""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

from gyroage.cli import app
from tests.conftest import one_line_error, run_cli


def invoke(*args: str, stdin: str | None = None):
    return CliRunner().invoke(app, ["estimate", *args, "-q"], input=stdin)


def out_rows(res) -> list[list[str]]:
    assert res.exit_code == 0, (res.exit_code, res.output)
    return [line.split(",") for line in res.stdout.splitlines()]


def test_leading_comment_lines_of_a_csv_are_skipped_and_every_row_comes_out(tmp_path):
    """A '#' line before the header is a comment; a data row starting with '#' is a star, text kept as text."""
    (tmp_path / "cmt.csv").write_text("# my catalogue\nname,tic,prot,bp_rp0\n#1,0012,25.4,0.82\nB,0034,8,1.1\n")
    rows = out_rows(invoke(str(tmp_path / "cmt.csv")))
    assert rows[0][:4] == ["name", "tic", "prot", "bp_rp0"]
    assert [r[:4] for r in rows[1:]] == [["#1", "0012", "25.4", "0.82"], ["B", "0034", "8", "1.1"]]
    assert [r[-1] for r in rows[1:]] == ["ok", "ok"]


@pytest.mark.parametrize("sep", [";", "\t", "|", ","])
def test_a_commented_preamble_keeps_the_csv_delimiter(tmp_path, sep):
    text = f"# generated\n#\n\n# by hand, 2024\nname{sep}prot{sep}bp_rp0\nA{sep}25.4{sep}0.82\n"
    (tmp_path / "cmt2.csv").write_text(text)
    plain = out_rows(invoke("-", stdin="name,prot,bp_rp0\nA,25.4,0.82\n"))
    assert out_rows(invoke(str(tmp_path / "cmt2.csv"))) == plain
    assert out_rows(invoke("-", stdin=text)) == plain  # stdin too
    (tmp_path / "cmt2.csv.gz").write_bytes(__import__("gzip").compress(text.encode()))
    assert out_rows(invoke(str(tmp_path / "cmt2.csv.gz"))) == plain


def test_a_commented_csv_header_is_the_header(tmp_path):
    """'#name,prot,bp_rp0' over numbers names the columns (astropy read it so before; the CSV reader does now)."""
    (tmp_path / "h.csv").write_text("# source: me\n#name,tic,prot,bp_rp0\nA,007,25.4,0.82\n#2,008,8,1.1\n")
    rows = out_rows(invoke(str(tmp_path / "h.csv")))
    assert rows[0][:4] == ["name", "tic", "prot", "bp_rp0"]
    assert [r[:2] for r in rows[1:]] == [["A", "007"], ["#2", "008"]] and rows[1][-1] == "ok"


def test_commented_whitespace_tables_still_go_to_astropy(tmp_path):
    (tmp_path / "w.csv").write_text("# name prot bp_rp0\nA 25.4 0.82\nB 8 1.1\n")
    rows = out_rows(invoke(str(tmp_path / "w.csv")))
    assert [r[0] for r in rows] == ["name", "A", "B"]


@pytest.mark.parametrize("name", ["w.txt", "w.dat", "w.csv"])
@pytest.mark.parametrize("preamble", ["# Table 2: rotation periods of NGC 9999\n", "# Table 2\n#\n\n# by hand\n"])
def test_a_commented_whitespace_header_under_a_title_line_is_the_header(tmp_path, name, preamble):
    """Review leftover (FW9a, 2): a '#' header line (VizieR and TSV exports comment theirs) under a '#' title line was
    refused, 'it has no header line naming its columns': astropy's guess takes the first '#' line for the names. The
    last '#' line is the header when the line below is data with as many fields, as the CSV reader decides."""
    (tmp_path / name).write_text(f"{preamble}# name  prot  bp_rp0\nA 25.4 0.82\nB 8 1.1\n")
    rows = out_rows(invoke(str(tmp_path / name)))
    assert [r[:3] for r in rows] == [["name", "prot", "bp_rp0"], ["A", "25.4", "0.82"], ["B", "8", "1.1"]]
    assert [r[-1] for r in rows[1:]] == ["ok", "ok"]
    # a '#' line of other fields over the data, or over a line of names, is no header: as before
    (tmp_path / name).write_text("# Title\n# two words\nA 25.4 0.82\nB 8 1.1\n")
    assert invoke(str(tmp_path / name)).exit_code == 2
    (tmp_path / name).write_text("# Title\n# a b c\nname prot bp_rp0\nA 25.4 0.82\n")
    assert [r[:3] for r in out_rows(invoke(str(tmp_path / name)))][0] == ["name", "prot", "bp_rp0"]


def test_the_dask_engine_skips_the_same_comment_lines(tmp_path):
    pytest.importorskip("dask.dataframe")
    from gyroage import io as gio
    from gyroage.engines.dask_engine import read_dask

    for name, text in [("c.csv", "# a \"quoted\n# b\nname;prot\n#1;2\nB;3\n"), ("h.csv", "# x\n#name,prot\nA,2\n#1,3\n")]:
        (tmp_path / name).write_text(text)
        local = gio.read_table(tmp_path / name)
        assert list(local.columns) == ["name", "prot"] and len(local) == 2 and "#1" in list(local["name"])
        dask = read_dask(str(tmp_path / name)).compute().reset_index(drop=True)
        pd.testing.assert_frame_equal(dask.astype(object), local.astype(object))


@pytest.mark.parametrize("text", ["prot bp_rp0\n25.4 0.82\n", "prot bp_rp0\r\n25.4 0.82\r\n", "prot bp_rp0\n25.4 0.82"])
def test_a_one_star_whitespace_table_is_ascii(tmp_path, text):
    """The whole file fits the sniffed head: its last line is whole, so one data row is enough to tell."""
    (tmp_path / "x.csv").write_bytes(text.encode())
    rows = out_rows(invoke(str(tmp_path / "x.csv")))
    assert rows[0][:2] == ["prot", "bp_rp0"] and len(rows) == 2 and rows[1][-1] == "ok"
    if text.endswith("\n"):  # a pipe's head may be only a part of it: a last line without a line break is not known whole
        res = run_cli("estimate", "-", "-q", input=text)  # a real pipe: the sniffer peeks at it
        assert res.returncode == 0, res.stderr
        assert [line.split(",") for line in res.stdout.splitlines()] == rows


def _ecsv(path, units: dict[str, str], **columns) -> str:
    from astropy.table import Table

    t = Table({"prot": [25.4, 8.0], "bp_rp0": [0.82, 1.1], **columns})
    for name, unit in units.items():
        t[name].unit = unit
    t.write(path, overwrite=True)
    return str(path)


@pytest.mark.parametrize("column, unit", [("prot", "dex(d)"), ("prot", "mag(d)"), ("prot_err", "dex(d)"),
                                          ("bp_rp0", "dex"), ("bp_rp0", "dB"), ("bp_rp0", "mag(AB)")])
def test_logarithmic_units_are_refused(tmp_path, column, unit):
    """log10 of a period is not ten periods: a logarithmic unit is refused in one line, naming column and unit."""
    path = _ecsv(tmp_path / "log.ecsv", {column: unit}, prot_err=[0.1, 0.1])
    res = invoke(path, "-o", str(tmp_path / "out.csv"))
    one_line_error(res, f"'{column}'", f"'{unit}'", "logarithmic")
    assert not (tmp_path / "out.csv").exists()


MS = {"prot": [25.4, 8.0], "bp_rp": [0.9, 1.2], "bp_rp_err": [0.01, 0.02], "ebprp": [0.08, 0.05],
      "ebprp_err": [0.01, 0.02], "g0": [9.6, 11.0], "parallax": [10.0, 8.0], "parallax_error": [0.1, 0.4]}
TEFF = {"prot": [25.4, 8.0], "teff": [5700.0, 5000.0], "teff_err": [100.0, 50.0]}


def _results(res, inputs) -> list[list[str]]:
    """The output's own columns (the input's, converted or not, are left out)."""
    rows = out_rows(res)
    return [r[len(inputs):] for r in rows]


def _table(path, columns: dict, units: dict[str, tuple[str, float]]) -> str:
    """An ECSV of ``columns``, those in ``units`` given in another unit (value times the factor)."""
    from astropy.table import Table

    t = Table({k: [v * units.get(k, ("", 1.0))[1] for v in vals] for k, vals in columns.items()})
    for name, (unit, _) in units.items():
        t[name].unit = unit
    t.write(path, overwrite=True)
    return str(path)


@pytest.mark.parametrize("columns, units", [
    (MS, {"ebprp_err": ("mmag", 1e3), "bp_rp": ("mmag", 1e3), "bp_rp_err": ("mmag", 1e3), "ebprp": ("mmag", 1e3)}),
    (MS, {"parallax": ("arcsec", 1e-3), "parallax_error": ("uas", 1e3), "g0": ("mmag", 1e3)}),
    (MS, {"parallax": ("mas", 1.0), "g0": ("mag", 1.0), "prot": ("h", 24.0)}),
    ({"prot": [25.4, 8.0], "bp_rp0": [0.82, 1.1], "bp_rp0_err": [0.02, 0.03]}, {"bp_rp0_err": ("mmag", 1e3)}),
    ({"prot": [25.4, 8.0], "v_ks0": [1.6, 2.4], "v_ks0_err": [0.02, 0.03]}, {"v_ks0": ("mmag", 1e3)}),
])
def test_every_column_read_is_converted_from_its_unit(tmp_path, columns, units):
    """mmag to mag, arcsec or uas to mas, hours to days, on whichever column the tool reads: the CSV's results."""
    pd.DataFrame(columns).to_csv(tmp_path / "plain.csv", index=False)
    ref = _results(invoke(str(tmp_path / "plain.csv")), columns)
    res = invoke(_table(tmp_path / "u.ecsv", columns, units))
    assert _results(res, columns) == ref
    assert ref[1][-1] != "" and any(c.replace(".", "").isdigit() for c in ref[1])
    if any(f != 1.0 for _, f in units.values()):
        assert "converted column" in res.stderr


def test_a_temperature_in_deg_c_is_converted_and_its_error_is_a_difference(tmp_path):
    pd.DataFrame(TEFF).to_csv(tmp_path / "plain.csv", index=False)
    ref = _results(invoke(str(tmp_path / "plain.csv")), TEFF)
    from astropy.table import Table

    t = Table({"prot": TEFF["prot"], "teff": [5700 - 273.15, 5000 - 273.15], "teff_err": TEFF["teff_err"]})
    t["teff"].unit, t["teff_err"].unit = "deg_C", "deg_C"
    t.write(tmp_path / "c.ecsv")
    got = _results(invoke(str(tmp_path / "c.ecsv")), TEFF)
    assert [r[:3] for r in got] == [r[:3] for r in ref]  # colour source, (BP-RP)0 and its error: K's
    t["teff_err"] = [v * 1.8 for v in TEFF["teff_err"]]
    t["teff_err"].unit = "deg_F"  # 9/5 degF is 1 K
    t.write(tmp_path / "f.ecsv")
    assert [r[:3] for r in _results(invoke(str(tmp_path / "f.ecsv")), TEFF)] == [r[:3] for r in ref]


@pytest.mark.parametrize("column, unit, words", [("parallax", "d", ["'parallax'", "'d'", "parallax", "mas"]),
                                                 ("teff", "mag", ["'teff'", "'mag'", "K"]),
                                                 ("ebprp_err", "K", ["'ebprp_err'", "'K'", "mag"]),
                                                 ("g0", "dex", ["'g0'", "logarithmic"])])
def test_a_unit_that_does_not_convert_is_refused_on_any_column_read(tmp_path, column, unit, words):
    columns = {**MS, "teff": [5700.0, 5000.0]}
    path = _table(tmp_path / "bad.ecsv", columns, {column: (unit, 1.0)})
    one_line_error(invoke(path, "-o", str(tmp_path / "out.csv")), *words)


def test_dimensionless_and_unread_columns_are_taken_as_they_are(tmp_path):
    columns = {**MS, "other": [1.0, 2.0]}
    pd.DataFrame(columns).to_csv(tmp_path / "plain.csv", index=False)
    ref = _results(invoke(str(tmp_path / "plain.csv")), columns)
    res = invoke(_table(tmp_path / "d.ecsv", columns, {"g0": ("", 1.0), "other": ("h", 1.0)}))
    assert _results(res, columns) == ref and "converted" not in res.stderr


def test_every_column_the_tool_reads_has_a_unit_kind():
    from gyroage import formats, io
    from gyroage.columns import UPPER

    # and a colour's upper error (VizieR's E_X beside e_X) that of the colour's error
    assert set(formats.COLUMN_KINDS) == set(io.ALIASES) | {f"{c}_err{UPPER}" for c in (*io.COLOUR_SOURCES, "prot")}
