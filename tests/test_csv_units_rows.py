"""A row under a CSV header that is no star and no units row gyroage can apply: a log unit (``log(d)``, CDS's
``[mag]``) or a row of column types (``long,double,double``). Such a row came out as a star (``invalid_period``)
while the real rows under it were read unconverted: log10 periods, or hours, dated as days. Now it is refused
in one line naming the line and what to do. Rows the tool understands, and data rows without numbers, are
unchanged (tests/test_literature_tables.py, tests/test_table_layouts.py)."""

from __future__ import annotations

import pytest

from tests.conftest import invoke_quiet, one_line_error

HEADER = "source_id,prot,bp_rp0\n"
STAR = "6917528997577384320,60,1.1\n"


@pytest.mark.parametrize("rows, words", [
    (",log(d),mag\n", ["line 2", "'log(d)'", "'prot'", "not its log"]),
    (",LOG(d),\n", ["line 2", "'LOG(d)'", "'prot'"]),
    (",dex,mag\n", ["line 2", "'dex'", "'prot'"]),
    (",h,[mag]\n", ["line 2", "'[mag]'", "'bp_rp0'", "not its log"]),
    (",[h],[mag]\n", ["line 2", "'[h]'", "'prot'"]),
    (",[d],[mag]\n", ["line 2", "'[d]'", "'prot'"]),
    ("long,double,double\n,h,mag\n", ["line 2", "'double'", "'prot'", "column type", "delete"]),
    ("int64,float64,float32\n", ["line 2", "'float64'", "column type"]),
])
def test_a_units_or_types_row_gyroage_cannot_apply_is_refused(tmp_path, rows, words):
    path = tmp_path / "t.csv"
    path.write_text(HEADER + rows + STAR)
    one_line_error(invoke_quiet("estimate", str(path), "-o", str(tmp_path / "out.csv")), *words)
    assert not (tmp_path / "out.csv").exists()
    one_line_error(invoke_quiet("estimate", "-", stdin=HEADER + rows + STAR), *words)


@pytest.mark.parametrize("sep", ["\t", ";", "|"])
def test_refused_under_every_delimiter_and_after_comment_lines(tmp_path, sep):
    text = "# from a paper\n# two lines\n" + (HEADER + ",log(d),mag\n" + STAR).replace(",", sep)
    (tmp_path / "t.txt").write_text(text)
    one_line_error(invoke_quiet("estimate", str(tmp_path / "t.txt"), "--input-format", "csv"), "line 4", "'log(d)'")


def test_group_age_refuses_it_too(tmp_path):
    (tmp_path / "t.csv").write_text("cluster,prot,bp_rp0\n,log(d),mag\nX,0.9,1.1\nX,1.0,1.2\n")
    one_line_error(invoke_quiet("group-age", str(tmp_path / "t.csv"), "--by", "cluster"), "line 2", "'log(d)'")


def test_dask_refuses_it_before_any_task(tmp_path):
    pytest.importorskip("dask.dataframe")
    from gyroage.engines.dask_engine import read_dask
    from gyroage.errors import UserError

    (tmp_path / "t.csv").write_text(HEADER + ",log(d),mag\n" + STAR)
    with pytest.raises(UserError, match="line 2"):
        read_dask(str(tmp_path / "t.csv"))


@pytest.mark.parametrize("rows", [",h,mag\n", ",(h),(mag)\n", "Pleiades,d,,\n", ",mag,d\n", "A,--,--\n"])
def test_rows_it_understands_or_takes_for_stars_still_read(tmp_path, rows):
    (tmp_path / "t.csv").write_text(HEADER + rows + STAR)
    res = invoke_quiet("estimate", str(tmp_path / "t.csv"))
    assert res.exit_code == 0, res.output


def test_converted_numbers_are_written_as_text_by_one_helper():
    """units wrote converted cells as text twice (a CSV's units row, an astropy text column), in one expression
    copied: one helper now, 15 significant digits, shortest repr."""
    import numpy as np

    from gyroage.units import _number_texts

    assert _number_texts(np.array([2.4 / 24, 1 / 3, 1e-20, 25.4])) == ["0.1", "0.333333333333333", "1e-20", "25.4"]


def test_one_log_unit_detector_and_one_place_that_reads_capitals():
    """Log units were told in three places (csv_layout's _LOG_UNIT, a regex in unit_conversion, units._logarithmic)
    and 'dex' or a bare 'log' on a period was refused as 'must be in days' while 'log(d)' was refused as a log: one
    detector, units.log_unit_text, now says 'logarithmic' for all. Unit text is lower-cased in one place
    (parse_unit_text with the unit wanted): 'D' is astropy's debye, a table's D means days."""
    import astropy.units as u
    import pytest

    from gyroage.errors import UserError
    from gyroage.units import log_unit_text, parse_unit_text, unit_conversion

    for text in ("log", "dex", "log(d)", "LOG10 (d)", "lg(d)", "ln(d)", "[d]", "[mag]", " dex "):
        assert log_unit_text(text), text
        with pytest.raises(UserError, match="has a logarithmic unit"):
            unit_conversion("prot", "prot", text)
    for text in ("d", "days", "mag", "h", "logg", "D"):
        assert not log_unit_text(text), text
    assert parse_unit_text("D") == u.Unit("D") and parse_unit_text("D", u.day) == u.day
    assert parse_unit_text("S", u.day) == u.s and parse_unit_text("MAG", u.mag) == u.mag
    assert unit_conversion("prot", "prot", "D").unchanged and unit_conversion("prot", "prot", u.Unit("D")).unchanged
