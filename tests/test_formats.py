"""FITS, VOTable, ECSV and whitespace-delimited ASCII in and out, next to CSV and Parquet (issue 12).

The stars are made here: a Sun-like star (25.4 d, (BP-RP)0 0.82) and a few others.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from astropy.table import MaskedColumn, Table
from typer.testing import CliRunner

from gyroage.cli import app
from tests.conftest import count_chunks, one_line_error

AGES = ["age_p16_myr", "age_p50_myr", "age_p84_myr", "age_map_myr"]
STARS = pd.DataFrame({"name": ["sun", "k_dwarf", "young", "late_k"], "Prot": [25.4, 12.0, 3.5, 30.0],
                      "BPRP0": [0.82, 1.1, 0.95, 1.6]})


def invoke(*args: str, command: str = "estimate"):
    return CliRunner().invoke(app, [command, *args])


def run_ok(*args: str) -> str:
    res = invoke(*args, "-q")
    assert res.exit_code == 0, (res.output, res.exception)
    return res.stderr


@pytest.fixture(scope="module")
def csv_ages(tmp_path_factory) -> pd.DataFrame:
    """The stars dated from CSV: what every other format must give."""
    d = tmp_path_factory.mktemp("ref")
    STARS.to_csv(d / "stars.csv", index=False)
    run_ok(str(d / "stars.csv"), "-o", str(d / "out.csv"))
    return pd.read_csv(d / "out.csv")


def same_ages(out: pd.DataFrame, ref: pd.DataFrame) -> None:
    assert list(out["name"]) == list(ref["name"])
    assert list(out["status"]) == list(ref["status"])
    assert (ref["status"] == "ok").sum() >= 3
    np.testing.assert_allclose(out[AGES].to_numpy(float), ref[AGES].to_numpy(float), rtol=1e-5)


def read_back(path, fmt: str | None = None) -> pd.DataFrame:
    table = Table.read(path, format=fmt)
    table.convert_bytestring_to_unicode()  # FITS text comes back as bytes
    return table.to_pandas()


def write_astropy(path, fmt: str, table: Table | None = None) -> None:
    (table if table is not None else Table.from_pandas(STARS)).write(path, format=fmt, overwrite=True)


@pytest.mark.parametrize("name, fmt", [("stars.fits", "fits"), ("stars.fits.gz", "fits"), ("stars.vot", "votable"),
                                       ("stars.xml", "votable"), ("stars.ecsv", "ascii.ecsv"),
                                       ("stars.txt", "ascii.basic"), ("stars.dat", "ascii.commented_header")])
def test_astropy_inputs_give_the_csv_ages(tmp_path, csv_ages, name, fmt):
    write_astropy(tmp_path / name, fmt)
    stderr = run_ok(str(tmp_path / name), "-o", str(tmp_path / "out.csv"))
    assert "UTF-8" not in stderr  # a FITS table was once told to re-save itself as UTF-8 text
    same_ages(pd.read_csv(tmp_path / "out.csv"), csv_ages)


def test_content_beats_the_suffix(tmp_path, csv_ages):
    """A FITS file named .csv, and a whitespace-delimited file named .csv, are read for what they are."""
    write_astropy(tmp_path / "fits.csv", "fits")
    STARS.to_csv(tmp_path / "blank.csv", sep=" ", index=False)
    for name in ("fits.csv", "blank.csv"):
        run_ok(str(tmp_path / name), "-o", str(tmp_path / "out.csv"))
        same_ages(pd.read_csv(tmp_path / "out.csv"), csv_ages)


def test_input_format_option_overrides_detection(tmp_path, csv_ages):
    (tmp_path / "stars.csv").write_text("# a comment line astropy skips\n" + STARS.to_csv(sep=" ", index=False))
    run_ok(str(tmp_path / "stars.csv"), "--input-format", "ascii", "-o", str(tmp_path / "out.csv"))
    same_ages(pd.read_csv(tmp_path / "out.csv"), csv_ages)
    one_line_error(invoke(str(tmp_path / "stars.csv"), "--input-format", "xls"), "--input-format", "fits")


@pytest.mark.parametrize("suffix", [".fits", ".vot", ".ecsv", ".txt", ".fits.gz"])
def test_output_is_the_format_its_suffix_names(tmp_path, csv_ages, suffix):
    STARS.to_csv(tmp_path / "stars.csv", index=False)
    out = tmp_path / f"out{suffix}"
    run_ok(str(tmp_path / "stars.csv"), "-o", str(out), "--chunksize", "3")  # two chunks assembled into one table
    table = Table.read(out, format={".txt": "ascii.basic"}.get(suffix))  # astropy reads it back: not CSV in disguise
    frame = read_back(out, {".txt": "ascii.basic"}.get(suffix))
    assert {"status", "age_flags", *AGES} <= set(table.colnames)
    same_ages(frame, csv_ages)
    if suffix == ".txt":  # whitespace-delimited, which astropy would also guess its way through as CSV
        assert "," not in out.read_text().splitlines()[0]
    if suffix in (".fits", ".vot", ".ecsv"):
        assert table["Prot"].dtype.kind == "f" and table["age_p50_myr"].dtype.kind == "f"  # numbers stay numbers
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["stars.csv", out.name])  # temp files renamed away


def test_a_gz_csv_output_is_gzip_compressed(tmp_path):
    """-o ages.csv.gz used to be plain CSV under a .gz name; every path that writes CSV now compresses it."""
    import gzip

    STARS.assign(cluster="a").to_csv(tmp_path / "stars.csv", index=False)
    run_ok(str(tmp_path / "stars.csv"), "-o", str(tmp_path / "plain.csv"))
    plain = (tmp_path / "plain.csv").read_bytes()
    for args in ([str(tmp_path / "stars.csv"), "--chunksize", "3"],  # resumable: chunks assembled
                 ["-", "--chunksize", "3"]):  # stdin: streamed into the temporary file
        out = tmp_path / "out.csv.gz"
        res = CliRunner().invoke(app, ["estimate", *args, "-o", str(out), "-q"], input=STARS.assign(cluster="a").to_csv(
            index=False))
        assert res.exit_code == 0, res.output
        assert out.read_bytes()[:2] == b"\x1f\x8b" and gzip.decompress(out.read_bytes()) == plain, args
    for name in ("g.CSV.GZ", "g.csv"):
        res = invoke(str(tmp_path / "stars.csv"), "--by", "cluster", "-o", str(tmp_path / name), "-q", command="group-age")
        assert res.exit_code == 0, res.output
    assert gzip.decompress((tmp_path / "g.CSV.GZ").read_bytes()) == (tmp_path / "g.csv").read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.CSV.GZ", "g.csv", "out.csv.gz", "plain.csv", "stars.csv"]
    # read back as input (it used to be refused: gunzip it first): what the plain output gives
    again = [invoke(str(tmp_path / name), "-q") for name in ("out.csv.gz", "plain.csv")]
    assert again[0].exit_code == 0 and again[0].stdout == again[1].stdout, again[0].output


@pytest.mark.parametrize("name", ["out.parquet.gz", "out.ecsv.gz", "out.txt.gz"])
def test_formats_written_uncompressed_refuse_a_gz_name(tmp_path, name):
    STARS.assign(cluster="a").to_csv(tmp_path / "stars.csv", index=False)
    for command, extra in (("estimate", []), ("group-age", ["--by", "cluster"])):
        one_line_error(invoke(str(tmp_path / "stars.csv"), *extra, "-o", str(tmp_path / name), command=command),
                       "gzip-compressed", "drop the .gz")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["stars.csv"]


def test_output_format_option_and_stdout(tmp_path):
    STARS.to_csv(tmp_path / "stars.csv", index=False)
    run_ok(str(tmp_path / "stars.csv"), "-o", str(tmp_path / "ages.out"), "--output-format", "votable")
    assert len(Table.read(tmp_path / "ages.out", format="votable")) == len(STARS)
    one_line_error(invoke(str(tmp_path / "stars.csv"), "--output-format", "fits"), "-o")


def test_parquet_output_keeps_numbers_numeric(tmp_path):
    """CSV text back to numbers, decided per chunk and merged: no cell is lost, whatever the chunk it is in."""
    frame = STARS.copy()
    frame["source_id"] = ["4295806720", "38655544960", "1152921504606846976", "5764607523034234880"]
    frame["code"] = ["1", "2", "x7", "3"]  # text only in the second chunk: stays text, every cell kept
    frame["plx"] = ["", "NA", "2.5", "3"]  # empty in the first chunk: numbers from the second on
    frame["padded"] = ["007", "010", "011", "012"]  # identifiers with leading zeros are text
    frame.to_csv(tmp_path / "stars.csv", index=False)
    for args in (["-o", str(tmp_path / "out.parquet")], ["-o", str(tmp_path / "out.parquet"), "--chunksize", "2"]):
        run_ok(str(tmp_path / "stars.csv"), *args)
        schema = pq.read_schema(tmp_path / "out.parquet")
        types = {n: str(schema.field(n).type).replace("large_", "") for n in schema.names}
        assert types["Prot"] == types["BPRP0"] == types["age_p50_myr"] == types["plx"] == "double", types
        assert types["source_id"] == "int64", types
        assert types["code"] == types["padded"] == types["name"] == "string", types
        out = pd.read_parquet(tmp_path / "out.parquet")
        assert list(out["source_id"]) == [4295806720, 38655544960, 1152921504606846976, 5764607523034234880]
        assert list(out["code"]) == ["1", "2", "x7", "3"] and list(out["padded"]) == ["007", "010", "011", "012"]
        np.testing.assert_array_equal(out["plx"], [np.nan, np.nan, 2.5, 3.0])
        np.testing.assert_array_equal(out["Prot"], STARS["Prot"])


def test_parquet_and_fits_inputs_keep_their_float_columns(tmp_path):
    STARS.to_parquet(tmp_path / "stars.parquet")
    write_astropy(tmp_path / "stars.fits", "fits")
    for src, dst in (("stars.parquet", "out.parquet"), ("stars.fits", "out.parquet"), ("stars.parquet", "out.fits")):
        run_ok(str(tmp_path / src), "-o", str(tmp_path / dst))
        out = pd.read_parquet(tmp_path / dst) if dst.endswith(".parquet") else read_back(tmp_path / dst)
        assert out["Prot"].dtype.kind == out["BPRP0"].dtype.kind == "f", (src, dst)


def test_a_parquet_integer_column_with_a_null_keeps_its_integers(tmp_path):
    """A Gaia source_id column with one missing id: read as float64 it lost digits (and came out float)."""
    import pyarrow as pa

    ids = [4472832130942575872, None, 5853498713190525696, 2]
    table = pa.table({"source_id": pa.array(ids, pa.int64()), "Prot": STARS["Prot"], "BPRP0": STARS["BPRP0"]})
    pq.write_table(table, tmp_path / "stars.parquet")
    for dst in ("out.parquet", "out.csv"):
        run_ok(str(tmp_path / "stars.parquet"), "-o", str(tmp_path / dst))
    out = pq.read_table(tmp_path / "out.parquet")
    assert out.schema.field("source_id").type == pa.int64()
    assert out["source_id"].to_pylist() == ids
    text = (tmp_path / "out.csv").read_text().splitlines()
    assert [line.split(",")[0] for line in text[1:]] == ["4472832130942575872", "", "5853498713190525696", "2"]


@pytest.mark.parametrize("name, fmt", [("stars.fits", "fits"), ("stars.vot", "votable"), ("stars.ecsv", "ascii.ecsv"),
                                       ("stars.tbl", "ascii.ipac")])
def test_an_astropy_integer_column_with_a_null_keeps_its_gaia_ids(tmp_path, name, fmt):
    """astropy 5.3-6.1 turned a masked int64 column with a null into float: 6917528997577384320 read as
    6917528997577383936, a neighbouring Gaia source."""
    ids = [6917528997577384320, 0, 5853498713190525696, 2]
    t = Table.from_pandas(STARS)
    t["source_id"] = MaskedColumn(np.array(ids, dtype=np.int64), mask=[False, True, False, False])
    write_astropy(tmp_path / name, fmt, t)
    run_ok(str(tmp_path / name), "-o", str(tmp_path / "out.csv"))
    text = (tmp_path / "out.csv").read_text().splitlines()
    column = text[0].split(",").index("source_id")
    assert [line.split(",")[column] for line in text[1:]] == ["6917528997577384320", "", "5853498713190525696", "2"]


def test_masked_integers_are_rebuilt_from_their_values_whatever_to_pandas_does(monkeypatch):
    """As astropy 5.3-6.1 does (astropy 7+ is exact), to_pandas gives a masked integer column through float64."""
    from gyroage.formats import table_frame

    exact = Table.to_pandas

    def through_float(self, *args, **kwargs):
        frame = exact(self, *args, **kwargs)
        for name in frame.columns:
            if str(frame[name].dtype) in ("Int64", "UInt64"):
                frame[name] = frame[name].astype("float64")
        return frame

    monkeypatch.setattr(Table, "to_pandas", through_float)
    ids = np.array([6917528997577384320, 1, 2], dtype=">i8")  # big-endian, as FITS gives it
    t = Table({"source_id": MaskedColumn(ids, mask=[False, True, False]),
               "n": MaskedColumn(np.array([2**64 - 1, 3, 4], dtype=np.uint64), mask=[False, False, True]),
               "plain": MaskedColumn(np.array([7, 8, 9]))})  # masked column without a null: plain int64, as before
    frame = table_frame(t)
    assert frame["source_id"].tolist() == [6917528997577384320, pd.NA, 2] and str(frame["source_id"].dtype) == "Int64"
    assert frame["n"].tolist() == [2**64 - 1, 3, pd.NA] and str(frame["n"].dtype) == "UInt64"
    assert frame["plain"].dtype == np.int64
    assert list(frame.columns) == ["source_id", "n", "plain"]


def test_period_in_hours_is_converted_to_days(tmp_path, csv_ages):
    t = Table.from_pandas(STARS)
    t["Prot"] = t["Prot"] * 24
    t["Prot"].unit = "h"
    t["BPRP0"].unit = "mag"
    t.write(tmp_path / "stars.ecsv")
    res = invoke(str(tmp_path / "stars.ecsv"), "-o", str(tmp_path / "out.csv"), "-q")
    assert res.exit_code == 0, res.output
    assert [ln for ln in res.stderr.splitlines() if "converted" in ln] == ["gyroage: converted column 'Prot' from h to days"]
    same_ages(pd.read_csv(tmp_path / "out.csv"), csv_ages)


@pytest.mark.parametrize("column, unit, words", [("Prot", "m", ["'Prot'", "'m'", "period"]),
                                                 ("BPRP0", "K", ["'BPRP0'", "'K'", "colour"])])
def test_incompatible_units_are_refused(tmp_path, column, unit, words):
    t = Table.from_pandas(STARS)
    t[column].unit = unit
    t.write(tmp_path / "stars.fits")
    one_line_error(invoke(str(tmp_path / "stars.fits"), "-o", str(tmp_path / "out.csv")), *words)
    assert not (tmp_path / "out.csv").exists()


@pytest.mark.parametrize("name, fmt", [("stars.fits", "fits"), ("stars.vot", "votable"), ("stars.ecsv", "ascii.ecsv")])
def test_masked_values_are_missing_and_get_their_row_status(tmp_path, csv_ages, name, fmt):
    t = Table.from_pandas(STARS)
    t["Prot"] = MaskedColumn(t["Prot"], mask=[False, True, False, False])
    t["BPRP0"] = MaskedColumn(t["BPRP0"], mask=[False, False, True, False])
    t["e_bprp0"] = MaskedColumn([0.02, 0.02, 0.02, 0.0], mask=[False, False, False, True])  # masked: the default
    write_astropy(tmp_path / name, fmt, t)
    run_ok(str(tmp_path / name), "-o", str(tmp_path / "out.csv"))
    out = pd.read_csv(tmp_path / "out.csv")
    assert list(out["status"]) == ["ok", "invalid_period", "invalid_colour", csv_ages.loc[3, "status"]]
    assert out[AGES].iloc[1:3].isna().all().all()
    np.testing.assert_allclose(out.loc[3, AGES].to_numpy(float), csv_ages.loc[3, AGES].to_numpy(float), rtol=1e-5)


def test_resume_works_for_a_fits_output(tmp_path, csv_ages, monkeypatch):
    """The sidecar holds Parquet chunks for any non-CSV target: a killed run into a FITS table resumes."""
    STARS.to_csv(tmp_path / "stars.csv", index=False)
    out = tmp_path / "out.fits"
    count_chunks(monkeypatch, die_at=2)
    res = invoke(str(tmp_path / "stars.csv"), "-o", str(out), "--chunksize", "2", "-q")
    assert isinstance(res.exception, RuntimeError) and not out.exists()
    calls = count_chunks(monkeypatch)
    run_ok(str(tmp_path / "stars.csv"), "-o", str(out), "--chunksize", "2", "--resume")
    assert calls == [2]  # the first chunk came from the interrupted run
    same_ages(read_back(out), csv_ages)


def test_group_age_reads_fits_and_writes_fits(tmp_path):
    frame = STARS.assign(cluster=["a", "a", "b", "b"])
    frame.to_csv(tmp_path / "stars.csv", index=False)
    Table.from_pandas(frame).write(tmp_path / "stars.fits")
    for src in ("stars.csv", "stars.fits"):
        res = invoke(str(tmp_path / src), "--by", "cluster", "-o", str(tmp_path / f"{src}.groups.fits"), "-q",
                     "--grid", "201", command="group-age")
        assert res.exit_code == 0, (res.output, res.exception)
    a, b = (read_back(tmp_path / f"{s}.groups.fits") for s in ("stars.csv", "stars.fits"))
    pd.testing.assert_frame_equal(a, b)
    assert len(a) == 2


def test_streamed_parquet_merges_chunk_types_without_losing_a_cell(tmp_path):
    """writers.AtomicWriter (crossmatch, group-age): a later chunk's text widens a column the first chunk made numeric."""
    from gyroage import writers

    with writers.AtomicWriter(tmp_path / "out.parquet", text_columns=True) as w:
        w.write(pd.DataFrame({"a": ["1", "2"], "b": ["", ""], "c": ["1", "2"], "d": ["", ""], "e": ["", ""]}, dtype=str))
        w.write(pd.DataFrame({"a": ["x", "3"], "b": ["2.5", "NA"], "c": ["0.5", ""], "d": ["", "flag"], "e": ["", ""]},
                             dtype=str))
    out = pd.read_parquet(tmp_path / "out.parquet")
    assert list(out["d"]) == ["", "", "", "flag"] and list(out["e"]) == [""] * 4  # text columns keep their empty cells
    assert list(out["a"]) == ["1", "2", "x", "3"]
    np.testing.assert_array_equal(out["b"], [np.nan, np.nan, 2.5, np.nan])
    np.testing.assert_array_equal(out["c"], [1.0, 2.0, 0.5, np.nan])


def test_text_in_a_later_chunk_is_never_read_as_a_number(tmp_path):
    """A later chunk's 007 (text: a leading zero) was cast into the first chunk's int column as 7; digits beyond
    float precision into a float column were rounded. Text in any chunk keeps the column text."""
    from gyroage import writers

    pd.DataFrame({"name": ["1", "007"], "Prot": [10, 10], "BPRP0": [1.0, 1.0]}).to_csv(tmp_path / "lz.csv", index=False)
    for dst in ("out.parquet", "out.fits"):
        run_ok(str(tmp_path / "lz.csv"), "-o", str(tmp_path / dst), "--chunksize", "1")
        out = pd.read_parquet(tmp_path / dst) if dst.endswith(".parquet") else read_back(tmp_path / dst)
        assert list(out["name"]) == ["1", "007"], dst
    with writers.AtomicWriter(tmp_path / "w.parquet", text_columns=True) as w:  # crossmatch, group-age
        w.write(pd.DataFrame({"id": ["1", "2"], "x": ["2.5", "3"]}, dtype=str))
        w.write(pd.DataFrame({"id": ["0042", ""], "x": ["123456789012345678901234567", "4"]}, dtype=str))
    out = pd.read_parquet(tmp_path / "w.parquet")
    assert list(out["id"]) == ["1", "2", "0042", ""]
    assert list(out["x"]) == ["2.5", "3", "123456789012345678901234567", "4"]


def test_non_ascii_text_survives_a_fits_output(tmp_path):
    STARS.assign(name=["Bêta", "x", "中文", "y"]).to_csv(tmp_path / "stars.csv", index=False)
    run_ok(str(tmp_path / "stars.csv"), "-o", str(tmp_path / "out.fits"))
    assert list(read_back(tmp_path / "out.fits")["name"]) == ["Bêta", "x", "中文", "y"]


@pytest.mark.parametrize("name, fmt", [("obs.fits", "fits"), ("obs.vot", "votable"), ("obs.ecsv", "ascii.ecsv")])
def test_observed_colours_with_reddening_in_astropy_formats_give_the_dereddened_csv_ages(tmp_path, csv_ages, name, fmt):
    """The issue's acceptance: FITS, VOTable and ECSV with observed BP-RP and an E(BP-RP) column, units on the columns."""
    ebprp = np.array([0.03, 0.10, 0.0, 0.25])
    t = Table({"name": STARS["name"].to_numpy(dtype=str), "Prot": STARS["Prot"].to_numpy() * 24.0,
               "BP-RP": STARS["BPRP0"].to_numpy() + ebprp, "E(BP-RP)": ebprp})
    t["Prot"].unit, t["BP-RP"].unit, t["E(BP-RP)"].unit = "h", "mag", "mag"  # a period in hours, converted
    t.write(tmp_path / name, format=fmt)
    run_ok(str(tmp_path / name), "-o", str(tmp_path / "out.csv"))
    out = pd.read_csv(tmp_path / "out.csv")
    same_ages(out, csv_ages)
    assert set(out["colour_source"]) == {"bp_rp-ebprp"}
    np.testing.assert_allclose(out["bp_rp0_used"], STARS["BPRP0"], atol=1e-6)


def test_fits_text_keeps_non_ascii_cells_and_plain_ascii(tmp_path):
    from gyroage.formats import write_table

    frame = pd.DataFrame({"name": ["α Per 12", "Sun"], "note": ["plain", "text"], "x": [1.0, 2.0]})
    write_table(frame, tmp_path / "t.fits", "fits")
    table = Table.read(tmp_path / "t.fits")
    assert [v.decode("utf-8") if isinstance(v, bytes) else v for v in table["name"]] == ["α Per 12", "Sun"]
    assert [v.decode() if isinstance(v, bytes) else v for v in table["note"]] == ["plain", "text"]


def test_a_table_writer_makes_one_temp_file_beside_its_output(tmp_path, monkeypatch):
    """AtomicWriter made and removed a probe file beside the output (prepare_target) and then its own temp file
    there: the temp file, made at once, is now the probe."""
    import tempfile

    from gyroage import writers

    made = []
    real = tempfile.mkstemp

    def spy(*args, **kwargs):
        made.append(kwargs.get("dir"))
        return real(*args, **kwargs)

    monkeypatch.setattr(tempfile, "mkstemp", spy)
    with writers.AtomicWriter(tmp_path / "out.csv") as w:
        w.write(pd.DataFrame({"a": [1.5]}))
    assert made == [tmp_path] and (tmp_path / "out.csv").read_text() == "a\n1.5\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]


@pytest.mark.parametrize("name, message", [
    ("d", "output {tmp}/d is a directory"),
    ("f/out.csv", "cannot write {tmp}/f/out.csv: {tmp}/f is not a directory"),
    ("a" * 250 + ".csv", "cannot write {tmp}/" + "a" * 250 + ".csv: File name too long"),
    ("/proc/nope/out.csv", "cannot write /proc/nope/out.csv: No such file or directory"),
])
def test_a_table_writer_says_why_it_cannot_write(tmp_path, name, message):
    """The one-line messages of an output that cannot be written (group-age, crossmatch, stdin into a file)."""
    from gyroage import writers
    from gyroage.errors import UserError

    (tmp_path / "d").mkdir()
    (tmp_path / "f").write_text("")
    with pytest.raises(UserError) as err:
        writers.AtomicWriter(tmp_path / name)
    assert str(err.value) == message.replace("{tmp}", str(tmp_path))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d", "f"]
