"""A CSV column with text in it keeps each cell's own text in Parquet and FITS outputs, whatever --chunksize.

The number columns were decided per chunk: a chunk of only numbers wrote them as floats, turned back into their
shortest text when another chunk held a word (``76.0`` as ``76``, ``1e1`` as ``10``, ``NA`` as null), so the cells
depended on --chunksize and ids like ``700.10`` and ``700.1`` could collide. Now the choice is made from every chunk.
"""

from __future__ import annotations

import pandas as pd
import pyarrow.parquet as pq
import pytest
from astropy.table import Table
from typer.testing import CliRunner

from gyroage.cli import app

MINI = "id,Prot,BPRP_0\na,76.0,1.0\nb,1e1,1.1\nc,NA,1.2\nd,abc,0.9\n"
# Prot: text in the last row only. ident: identifier-like numbers, text from the third row. plx: empty and NA first,
# numbers after; n: integers; big: an integer beyond int64 beside fractions (text: a float would lose its digits)
WIDE = ("id,Prot,BPRP_0,ident,plx,n,big,note\n"
        "a,76.0,1.0,700.10,,1,1e10,1e-6\n"
        "b,1e1,1.1,700.1,NA,2,99999999999999999999,4.73e-05\n"
        "c,NA,1.2,x1,2.5,3,1.5,\n"
        "d,abc,0.9,-1e1,3,4,2,NaN\n")
CHUNKS = [[], ["--chunksize", "1"], ["--chunksize", "2"], ["--chunksize", "3"]]


def estimate(*args: str, stdin: str | None = None) -> None:
    res = CliRunner().invoke(app, ["estimate", *args, "-q"], input=stdin)
    assert res.exit_code == 0, (res.output, res.exception)


def read_back(path) -> pd.DataFrame:
    if str(path).endswith(".parquet"):
        return pd.read_parquet(path)
    return Table.read(path).to_pandas()


def cells(frame: pd.DataFrame, column: str) -> list:
    """The column's cells, None where missing, text as str (FITS gives bytes)."""
    return [None if pd.isna(v) else v.decode() if isinstance(v, bytes) else v for v in frame[column]]


@pytest.mark.parametrize("name", ["out.parquet", "out.fits"])
@pytest.mark.parametrize("stdin", [False, True], ids=["file", "stdin"])
def test_a_text_columns_cells_are_the_inputs_whatever_the_chunk_size(tmp_path, name, stdin):
    (tmp_path / "mini.csv").write_text(MINI)
    src = "-" if stdin else str(tmp_path / "mini.csv")
    for extra in CHUNKS:
        estimate(src, "-o", str(tmp_path / name), *extra, stdin=MINI if stdin else None)
        out = read_back(tmp_path / name)
        assert cells(out, "Prot") == ["76.0", "1e1", "NA", "abc"], extra
        assert cells(out, "id") == ["a", "b", "c", "d"], extra
        assert out["BPRP_0"].dtype.kind == "f" and list(out["BPRP_0"]) == [1.0, 1.1, 1.2, 0.9], extra


@pytest.mark.parametrize("name", ["out.parquet", "out.fits"])
def test_columns_of_numbers_stay_numbers_and_text_columns_keep_their_text(tmp_path, name):
    (tmp_path / "wide.csv").write_text(WIDE)
    whole = None
    for extra in CHUNKS:
        estimate(str(tmp_path / "wide.csv"), "-o", str(tmp_path / name), *extra)
        out = read_back(tmp_path / name)
        assert cells(out, "ident") == ["700.10", "700.1", "x1", "-1e1"], extra  # no two ids alike
        assert cells(out, "Prot") == ["76.0", "1e1", "NA", "abc"], extra
        assert cells(out, "plx") == [None, None, 2.5, 3.0] and out["plx"].dtype.kind == "f", extra
        assert cells(out, "n") == [1, 2, 3, 4] and out["n"].dtype.kind == "i", extra
        assert cells(out, "big") == ["1e10", "99999999999999999999", "1.5", "2"], extra  # a float would round it
        assert cells(out, "note") == [1e-6, 4.73e-05, None, None] and out["note"].dtype.kind == "f", extra
        if name.endswith(".parquet"):
            types = {f.name: str(f.type).replace("large_", "") for f in pq.read_schema(tmp_path / name)}
            assert types["plx"] == types["note"] == "double" and types["n"] == "int64", extra
            assert types["ident"] == types["Prot"] == types["big"] == "string", extra
            assert str(out["n"].dtype) == "Int64", extra  # pandas reads back what the whole table gave
        frame = out.drop(columns=[c for c in out if c.startswith("age_") or c == "p_outlier"])
        if whole is None:  # every chunk size gives the table the whole one gives
            whole = frame
        pd.testing.assert_frame_equal(frame, whole)


def test_integers_beyond_int64_without_a_fraction_keep_every_digit(tmp_path):
    text = "id,Prot,BPRP_0,source_id\na,25.4,0.82,1\nb,12,1.1,99999999999999999999\nc,3.5,0.95,007\n"
    (tmp_path / "ids.csv").write_text(text.replace(",007", ",3"))
    for extra in CHUNKS:
        estimate(str(tmp_path / "ids.csv"), "-o", str(tmp_path / "out.parquet"), *extra)
        assert cells(pd.read_parquet(tmp_path / "out.parquet"), "source_id") == ["1", "99999999999999999999", "3"]
    (tmp_path / "ids.csv").write_text(text)  # 007: an identifier, text
    for extra in CHUNKS:
        estimate(str(tmp_path / "ids.csv"), "-o", str(tmp_path / "out.parquet"), *extra)
        assert cells(pd.read_parquet(tmp_path / "out.parquet"), "source_id") == ["1", "99999999999999999999", "007"]


@pytest.mark.parametrize("name", ["out.csv", "out.parquet"])
def test_a_cells_leading_blanks_are_skipped_its_trailing_ones_and_quoted_ones_kept(tmp_path, name):
    """README (Input and output formats) said every cell was passed through "exactly as the input has it"; the CSV
    reader skips the blanks starting a cell (csv's skipinitialspace), as the README now says."""
    src = tmp_path / "ws.csv"
    src.write_text('name,note,prot,bp_rp0\n  a  ,"  q",10,1.0\n')
    estimate(str(src), "-o", str(tmp_path / name))
    out = pd.read_parquet(tmp_path / name) if name.endswith(".parquet") else pd.read_csv(tmp_path / name, dtype=str)
    assert out["name"].tolist() == ["a  "] and out["note"].tolist() == ["  q"]
