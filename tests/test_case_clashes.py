"""FITS and VOTable column names are compared ignoring case: an input column ``Status`` or ``P_Outlier`` beside
gyroage's ``status`` and ``p_outlier`` made such a table ambiguous (astropy's ``data['P_OUTLIER']``: Ambiguous key;
other tools pick either). Into those formats it is now ``input_<name>``, as an exact clash is; CSV, Parquet and ECSV
keep it as it was, since they tell the names apart."""

from __future__ import annotations

import pandas as pd
import pytest
from astropy.table import Table

from gyroage import io
from tests.conftest import invoke_quiet, ok_output

TEXT = "Name,Status,prot,bp_rp0,P_Outlier,status\nSun,member,25.4,0.82,0.3,x\nK,field,12.0,1.1,0.1,y\n"


def columns_of(path) -> list[str]:
    return list(Table.read(path).colnames)


@pytest.mark.parametrize("suffix", [".fits", ".vot"])
def test_estimate_prefixes_case_clashes_in_case_blind_formats(tmp_path, suffix):
    (tmp_path / "in.csv").write_text(TEXT)
    ok_output(invoke_quiet("estimate", str(tmp_path / "in.csv"), "-o", str(tmp_path / f"out{suffix}")))
    names = columns_of(tmp_path / f"out{suffix}")
    assert len({n.lower() for n in names}) == len(names), names
    assert names[:6] == ["Name", "input_Status", "prot", "bp_rp0", "input_P_Outlier", "input_input_status"]
    assert names[-1] == "status" and "p_outlier" in names
    t = Table.read(tmp_path / f"out{suffix}")
    assert [str(v) for v in t["input_Status"]] == ["member", "field"]
    assert [str(v) for v in t["input_input_status"]] == ["x", "y"]


def test_estimate_keeps_case_clashes_where_names_are_case_sensitive(tmp_path):
    (tmp_path / "in.csv").write_text(TEXT)
    for suffix in (".csv", ".parquet", ".ecsv"):
        ok_output(invoke_quiet("estimate", str(tmp_path / "in.csv"), "-o", str(tmp_path / f"out{suffix}")))
    ref = list(pd.read_csv(tmp_path / "out.csv").columns)
    assert ref[:6] == ["Name", "Status", "prot", "bp_rp0", "P_Outlier", "input_status"]
    assert list(pd.read_parquet(tmp_path / "out.parquet").columns) == ref
    assert columns_of(tmp_path / "out.ecsv") == ref


def test_estimate_resumed_into_fits_keeps_the_prefixes(tmp_path, monkeypatch):
    from tests.conftest import count_chunks

    rows = "".join(f"S{i},m,{10 + i}.0,{0.8 + i / 100},0.1,z\n" for i in range(6))
    (tmp_path / "in.csv").write_text(TEXT.splitlines()[0] + "\n" + rows)
    count_chunks(monkeypatch, die_at=2)
    res = invoke_quiet("estimate", str(tmp_path / "in.csv"), "-o", str(tmp_path / "out.fits"), "--chunksize", "2")
    assert isinstance(res.exception, RuntimeError)
    calls = count_chunks(monkeypatch)
    ok_output(invoke_quiet("estimate", str(tmp_path / "in.csv"), "-o", str(tmp_path / "out.fits"), "--chunksize", "2",
                           "--resume"))
    assert calls == [2, 2]  # the first chunk came from the interrupted run
    names = columns_of(tmp_path / "out.fits")
    assert len({n.lower() for n in names}) == len(names) and "input_Status" in names
    assert len(Table.read(tmp_path / "out.fits")) == 6


def test_group_age_prefixes_a_case_clashing_group_column_in_fits(tmp_path):
    (tmp_path / "in.csv").write_text("Status,prot,bp_rp0\nA,7.0,1.1\nA,8.0,1.2\n")
    ok_output(invoke_quiet("group-age", str(tmp_path / "in.csv"), "--by", "Status", "-o", str(tmp_path / "g.fits")))
    names = columns_of(tmp_path / "g.fits")
    assert names[0] == "input_Status" and "status" in names
    ok_output(invoke_quiet("group-age", str(tmp_path / "in.csv"), "--by", "Status", "-o", str(tmp_path / "g.csv")))
    assert list(pd.read_csv(tmp_path / "g.csv").columns)[0] == "Status"


def test_case_blind_clashes_never_gives_a_duplicate():
    out = pd.DataFrame([[1, 2, 3, 4, 5]], columns=["Status", "INPUT_STATUS", "x", "status", "X"])
    renamed = io.case_blind_clashes(out, 3, "fits")
    names = list(renamed.columns)
    assert names == ["input_Status", "input_INPUT_STATUS", "input_x", "status", "X"]
    assert len({n.lower() for n in names}) == len(names)
    assert io.case_blind_clashes(out, 3, "csv") is out
    assert list(io.prefix_clashes(out, ["status"]).columns) == ["Status", "INPUT_STATUS", "x", "input_status", "X"]
