"""CSV text cells holding line breaks, and the encoding of the table on stdout (a Windows console's cp1252)."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from gyroage.writers import csv_text
from tests.conftest import ROOT

# a comment line, a units row (h: the periods are converted to days) and a quoted cell spanning two lines
RICH = '# comment line\nname,Per,BP-RP0,note\n,h,mag,\nA,240,1.0,"two\nlines"\nB,288,1.1,x\n\n'


def run_bytes(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """The console entry point in a fresh interpreter, stdout and stderr as bytes (text mode would turn a
    carriage return into a line feed and hide what was written)."""
    return subprocess.run([sys.executable, "-m", "gyroage.cli", *args], capture_output=True, cwd=ROOT, timeout=120,
                          env={**os.environ, **(env or {})})


def csv_rows(data: bytes, sep: str = ",") -> list[list[str]]:
    """Every record of CSV ``data`` as the csv module reads it: an unquoted carriage return ends a record."""
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline=""), delimiter=sep))


@pytest.mark.parametrize("sep", [",", "\t"])
@pytest.mark.parametrize("exponent", [False, True])
def test_a_carriage_return_in_a_text_cell_or_header_is_quoted(sep, exponent):
    """Arrow refuses such a cell and pandas' csv module quotes only the characters of its line terminator ("\\n"):
    the cell, and a header holding one, must be quoted all the same, on either path."""
    frame = pd.DataFrame({"name": ["one\rtwo", "x", "three\r\nfour"], "a\rb": ["1", "2", "3"],
                          "age": [1.5, 3e-6 if exponent else 2.5, np.nan]})
    text = csv_text(frame, sep=sep)
    assert csv_rows(text.encode(), sep) == [["name", "a\rb", "age"], ["one\rtwo", "1", "1.5"],
                                            ["x", "2", "3e-06" if exponent else "2.5"], ["three\r\nfour", "3", ""]]
    body = csv_text(frame, header=False, sep=sep)
    assert text.endswith(body) and csv_rows(body.encode(), sep)[0] == ["one\rtwo", "1", "1.5"]
    head = csv_text(frame.iloc[:0], sep=sep)  # the Arrow path's header, written by the csv module
    assert csv_rows(head.encode(), sep) == [["name", "a\rb", "age"]]


@pytest.mark.parametrize("cell", ["\ufdd0", "\r\ufdd0\n", "\ufdd0\ufdd1"])
def test_quoting_a_carriage_return_holds_for_any_text(cell):
    """Whatever the cells hold, they come back as written (the writer marks its own line ends)."""
    frame = pd.DataFrame({"name": [cell, "one\rtwo"], "age": [1.5, 3e-6]})
    assert csv_rows(csv_text(frame).encode()) == [["name", "age"], [cell, "1.5"], ["one\rtwo", "3e-06"]]


def test_text_without_carriage_returns_is_written_as_before():
    frame = pd.DataFrame({"name": ['Cyg, "61" A', "a\nb", ""], "age": [1.5, 3e-6, np.nan]})
    assert csv_text(frame) == frame.to_csv(index=False, lineterminator="\n", float_format="%.6g")


@pytest.mark.parametrize("name", ["-", "out.csv", "out.tsv", "out.csv.gz"])
@pytest.mark.parametrize("layout", ["cr", "lf_cell"])
def test_estimate_keeps_every_row_and_column_of_a_text_cell_with_a_carriage_return(tmp_path, name, layout):
    """A CR-only file (its quoted cell's line break is a CR), or an LF file with "one\\rtwo" in a cell: the output
    has each input row once, its note intact, and its ages in their own columns."""
    src = tmp_path / "in.csv"
    src.write_bytes((RICH.replace("\n", "\r") if layout == "cr" else RICH.replace("two\nlines", "two\rlines"))
                    .encode())
    args = ["estimate", str(src), "-q"] + ([] if name == "-" else ["-o", str(tmp_path / name)])
    r = run_bytes(*args)
    assert r.returncode == 0, r.stderr.decode()
    data = r.stdout if name == "-" else (tmp_path / name).read_bytes()
    if name.endswith(".gz"):
        import gzip

        data = gzip.decompress(data)
    rows = csv_rows(data, "\t" if name.endswith(".tsv") else ",")
    assert len(rows) == 3 and {len(row) for row in rows} == {len(rows[0])}
    assert [row[0] for row in rows[1:]] == ["A", "B"] and [row[3] for row in rows[1:]] == ["two\rlines", "x"]
    assert [row[rows[0].index("status")] for row in rows[1:]] == ["ok", "ok"]
    if name == "out.csv":  # and gyroage reads its own output back as two stars
        again = run_bytes("estimate", str(tmp_path / name), "-q")
        assert again.returncode == 0, again.stderr.decode()
        assert len(csv_rows(again.stdout)) == 3


def test_group_age_keeps_a_group_name_with_a_carriage_return(tmp_path):
    frame = pd.read_csv(ROOT / "catalogs" / "examples" / "synthetic_stars.csv", nrows=20)
    frame["cluster"] = np.where(np.arange(20) < 10, "NGC\r752", "M67")
    src = tmp_path / "groups_in.csv"
    frame.to_csv(src, index=False, lineterminator="\n", quoting=csv.QUOTE_NONNUMERIC)  # (pandas too needs telling)
    r = run_bytes("group-age", str(src), "--by", "cluster", "-q")
    assert r.returncode == 0, r.stderr.decode()
    rows = csv_rows(r.stdout)
    assert len(rows) == 3 and {len(row) for row in rows} == {len(rows[0])}
    assert sorted(row[rows[0].index("cluster")] for row in rows[1:]) == ["M67", "NGC\r752"]


@pytest.mark.parametrize("header, star, note", [("Étoile,Prot [d],BP\u2212RP0", "\u03b1 Per 1", "\u2265 3\u03c3"),
                                                ("name,Prot [d],bp_rp0", "\u00c9toile A", "ok")])
def test_the_table_on_stdout_is_utf8_whatever_the_console_code_page(tmp_path, header, star, note):
    """Windows writes stdout redirected to a file in the ANSI code page (cp1252): a column name or cell outside it
    (a Unicode minus, sigma) was a UnicodeEncodeError traceback, one inside it (É) ISO-8859 bytes gyroage itself
    refuses to read back. stdout gets the bytes -o writes, and gyroage reads them."""
    src = tmp_path / "uni.csv"
    src.write_text(f"{header},note\n{star},10.0,1.0,{note}\n\u00c9toile B,12,1.1,ok\n", encoding="utf-8")
    r = run_bytes("estimate", str(src), "-q", env={"PYTHONIOENCODING": "cp1252"})
    assert r.returncode == 0 and b"Traceback" not in r.stderr, r.stderr.decode("cp1252")
    assert run_bytes("estimate", str(src), "-q", "-o", str(tmp_path / "out.csv")).returncode == 0
    assert r.stdout == (tmp_path / "out.csv").read_bytes()
    assert r.stdout.decode("utf-8").startswith(f"{header},note,")
    back = tmp_path / "back.csv"
    back.write_bytes(r.stdout)
    again = run_bytes("estimate", str(back), "-q", env={"PYTHONIOENCODING": "cp1252"})
    assert again.returncode == 0, again.stderr.decode("cp1252")
    assert [row[0] for row in csv_rows(again.stdout)[1:]] == [star, "\u00c9toile B"]


def test_write_stdout_writes_utf8_after_what_was_written_as_text(monkeypatch):
    """A held table (crossmatch) goes out by write_stdout too; text written before it stays in front."""
    from gyroage import writers

    raw = io.BytesIO()
    out = io.TextIOWrapper(raw, encoding="cp1252", newline="")
    monkeypatch.setattr(sys, "stdout", out)
    out.write("before,")
    writers.write_stdout("BP\u2212RP0,\u00c9\n")
    out.flush()
    assert raw.getvalue() == "before,BP\u2212RP0,\u00c9\n".encode()


def test_a_notice_naming_a_column_outside_the_code_page_is_escaped_not_a_traceback(tmp_path):
    """stderr keeps its own encoding (README): what a Windows program reading it in the ANSI code page expects;
    a character it lacks is escaped, and the run writes its table."""
    src = tmp_path / "uni.csv"
    src.write_text("\u00c9toile,prot,BP\u2212RP0\nA,10,1.0\n", encoding="utf-8")
    r = run_bytes("estimate", str(src), env={"PYTHONIOENCODING": "cp1252"})
    assert r.returncode == 0 and b"Traceback" not in r.stderr, r.stderr
    assert b"colour from 'BP\\u2212RP0'" in r.stderr
    assert len(csv_rows(r.stdout)) == 2
