"""Input quirks from a user-acceptance sweep: comment lines before a CSV header, units on every column read,
log units, a one-star whitespace table. Files are made here, small."""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

from gyroage.cli import app
from tests.conftest import run_cli


def invoke(*args: str, stdin: str | None = None):
    return CliRunner().invoke(app, ["estimate", *args, "-q"], input=stdin)


def out_rows(res) -> list[list[str]]:
    assert res.exit_code == 0, (res.exit_code, res.output)
    return [line.split(",") for line in res.stdout.splitlines()]


def one_line_error(res, *words: str) -> None:
    assert res.exit_code == 2, (res.exit_code, res.output)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gyroage: error:"), res.stderr
    for w in words:
        assert w in lines[0], lines[0]


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
