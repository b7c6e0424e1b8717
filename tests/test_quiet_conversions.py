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


def _magnitudes(tmp_path, name: str):
    path = tmp_path / "mags.csv"
    pd.DataFrame({"Prot": [12.0, 20.0], "bp_rp0": [1.3, 1.5], name: [6.5, 7.0]}).to_csv(path, index=False)
    return path


@pytest.mark.parametrize("name", ["M_G", "abs_g", "MG", "M_G [mag]"])
@pytest.mark.parametrize("quiet", [[], ["-q"]])
def test_an_absolute_g_named_without_a_0_is_said_to_be_read_as_de_reddened(tmp_path, name, quiet):
    """'M_G' was read silently as the de-reddened absolute G, while an observed G is refused for its unknown
    extinction: the run now says how it reads it, with -q too (its ages depend on it)."""
    lines = stderr_of("estimate", str(_magnitudes(tmp_path, name)), "-o", str(tmp_path / "out.csv"), *quiet)
    note = [line for line in lines if "taken as de-reddened absolute G" in line]
    assert note == [f"gyroage: '{name}' taken as de-reddened absolute G (G0 - 5 log10(100/parallax)); subtract its "
                    "extinction A_G first if it holds any (a name with a 0, 'M_G0', skips this note)"]


@pytest.mark.parametrize("name", ["M_G0", "abs_g0"])
def test_an_absolute_g_named_with_a_0_needs_no_note(tmp_path, name):
    lines = stderr_of("estimate", str(_magnitudes(tmp_path, name)), "-o", str(tmp_path / "out.csv"))
    assert not any("taken as de-reddened" in line for line in lines)


def test_no_note_when_the_magnitude_is_not_read(tmp_path):
    """--no-main-sequence dates from rotation alone: the column is not read, so nothing is said of it."""
    lines = stderr_of("estimate", str(_magnitudes(tmp_path, "M_G")), "-o", str(tmp_path / "out.csv"),
                      "--no-main-sequence")
    assert not any("taken as de-reddened" in line for line in lines)
