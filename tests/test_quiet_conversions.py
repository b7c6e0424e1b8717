"""``-q`` silences the line naming the columns read, but not a conversion a column's name asks for (``Per [h]``):
a value changed on reading is always said, as a units row's conversions are."""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

from gyroage.cli import app

LINE = "gyroage: converted column 'Per [h]' from h to days"


@pytest.fixture
def hours(tmp_path):
    path = tmp_path / "stars.csv"
    pd.DataFrame({"cluster": ["a", "a"], "Per [h]": [240.0, 300.0], "bp_rp0": [1.0, 1.1]}).to_csv(path, index=False)
    return path


def stderr_of(*args: str) -> list[str]:
    res = CliRunner().invoke(app, list(args))
    assert res.exit_code == 0, (res.output, res.exception)
    return res.stderr.strip().splitlines()


@pytest.mark.parametrize("command", [["estimate"], ["estimate", "--engine", "dask"], ["group-age"]])
def test_quiet_still_says_a_name_unit_conversion(tmp_path, hours, command):
    if "dask" in command:
        pytest.importorskip("dask.dataframe")
    out = tmp_path / ("out.parquet" if "dask" in command else "out.csv")
    assert stderr_of(*command, str(hours), "-o", str(out), "-q") == [LINE]


def test_without_quiet_the_reading_line_says_it_once(tmp_path, hours):
    lines = stderr_of("estimate", str(hours), "-o", str(tmp_path / "out.csv"))
    assert not any("converted column" in line for line in lines)
    assert any("'Per [h]' (h, converted to days)" in line for line in lines)


def test_quiet_is_silent_when_no_name_converts(tmp_path):
    path = tmp_path / "days.csv"
    pd.DataFrame({"Per [d]": [10.0], "bp_rp0": [1.0]}).to_csv(path, index=False)
    assert stderr_of("estimate", str(path), "-o", str(tmp_path / "out.csv"), "-q") == []
