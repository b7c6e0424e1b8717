"""A column or array of flags (bool), dates or complex numbers where a measurement goes is read as the same cells as
CSV text are: no number (review V63, 1). pandas read a bool True as 1.0 and dated it (a 1-day period, a 1.0 mag
colour), a date as nanoseconds since 1970 and a complex number as its real part."""

import datetime

import numpy as np
import pandas as pd
import pytest

from tests.conftest import run_cli

# Valid text cells for every slot the estimator reads: rows dated with all of them given (red enough for the
# main-sequence term to read the magnitudes)
BASE = {"prot": ["12.0", "25.4"], "prot_err": ["0.5", "0.5"], "bp_rp0": ["1.5", "1.4"],
        "bp_rp0_err": ["0.02", "0.02"], "abs_g0": ["7.5", "7.0"], "abs_g0_err": ["0.05", "0.05"]}
# The other slots: a colour from an observed BP-RP and its reddening, or from Teff; a magnitude from G and a parallax
OTHER = {"bp_rp": ["1.6", "1.48"], "ebprp": ["0.1", "0.08"], "ebprp_err": ["0.01", "0.01"], "g0": ["12.5", "12.0"],
         "parallax": ["10.0", "10.0"], "parallax_err": ["0.1", "0.1"]}
TEFF = {"teff": ["4800", "5600"], "teff_err": ["50", "50"]}
OURS = ["age_p2.5_myr", "age_p50_myr", "age_p97.5_myr", "age_map_myr", "p_outlier", "ms_height_mag", "status",
        "flags"]


def _flags() -> dict[str, pd.Series]:
    """Flag columns in each form a table gives them, with the text a CSV gives for the same cells."""
    out = {"numpy bool": pd.Series([True, False]), "boolean": pd.Series([True, False], dtype="boolean"),
           "python bools": pd.Series([True, False], dtype=object),
           "numpy bools among text": pd.Series([np.True_, "25.4"], dtype=object),
           # what .astype("category") gives: its categories are the flags (review V64, 2)
           "categorical": pd.Series([True, False], dtype="category"),
           "categorical among text": pd.Series([np.True_, "25.4"], dtype=object).astype("category")}
    try:
        import pyarrow  # noqa: F401

        out["bool[pyarrow]"] = pd.Series([True, False], dtype="bool[pyarrow]")
    except ImportError:
        pass
    return out


def _ours(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[[c for c in OURS if c in frame.columns]].reset_index(drop=True)


@pytest.mark.parametrize(("base", "slot"), [(BASE, s) for s in BASE] + [
    ({"prot": BASE["prot"], **OTHER}, s) for s in OTHER] + [({"prot": BASE["prot"], **TEFF}, s) for s in TEFF])
@pytest.mark.parametrize("kind", list(_flags()))
def test_a_flag_column_in_any_slot_is_read_as_its_csv_text(model, base, slot, kind):
    col = _flags()[kind]
    text = col.astype(object).map(str)  # what to_csv writes: True, False (a number stays its text)
    got = model.estimate(pd.DataFrame({**base, slot: col}))
    want = model.estimate(pd.DataFrame({**base, slot: text}))
    pd.testing.assert_frame_equal(_ours(got), _ours(want))
    if slot in ("abs_g0", "abs_g0_err", "g0", "parallax", "parallax_err"):  # a bad magnitude: dated from rotation alone
        assert np.isnan(got["ms_height_mag"].iloc[0])
    else:
        assert got["status"].iloc[0] != "ok"


@pytest.mark.parametrize(("slot", "status"), [("prot", "invalid_period"), ("bp_rp0", "invalid_colour"),
                                              ("bp_rp0_err", "invalid_colour_err")])
def test_a_true_flag_is_no_measurement(model, slot, status):
    got = model.estimate(pd.DataFrame({**BASE, slot: [True, False]}))
    assert list(got["status"]) == [status, status]
    assert got["age_p50_myr"].isna().all()


@pytest.mark.parametrize("values", [pd.to_datetime(["2020-01-01", None]),
                                    pd.to_datetime(["2020-01-01", None]).tz_localize("UTC"),
                                    pd.Series([12 + 0j, 25.4 + 0j]),
                                    pd.Series([datetime.datetime(2020, 1, 1), "25.4"], dtype=object),
                                    pd.Series([12 + 0j, "25.4"], dtype=object),
                                    pd.Series(pd.period_range("2020-01", periods=2, freq="M")),
                                    pd.Series([12 + 1j, 25.4 + 0j], dtype="category"),
                                    pd.Series(pd.to_datetime(["2020-01-01", None]), dtype="category")])
def test_a_date_or_complex_period_is_an_invalid_period(model, values):
    got = model.estimate(pd.DataFrame({"prot": values, "bp_rp0": [1.1, 0.82]}))
    assert got["status"].iloc[0] == "invalid_period"
    assert np.isnan(got["age_p50_myr"].iloc[0])


def test_a_date_or_complex_error_is_a_bad_error_and_a_missing_date_not_given(model):
    dates = pd.to_datetime(["2020-01-01", None])
    got = model.estimate(pd.DataFrame({"prot": [12.0, 12.0], "bp_rp0": [1.1, 1.1], "bp_rp0_err": dates}))
    assert list(got["status"]) == ["invalid_colour_err", "ok"]
    got = model.estimate(pd.DataFrame({"prot": [12.0], "bp_rp0": [1.1], "bp_rp0_err": [0.02 + 0j]}))
    assert list(got["status"]) == ["invalid_colour_err"]


@pytest.mark.parametrize("prot", [[True, False], np.array([True, False]), pd.Series([True, False], dtype="boolean"),
                                  np.array(["2020-01-01", "NaT"], dtype="datetime64[ns]"),
                                  np.array([12 + 0j, 25.4 + 0j])])
def test_a_flag_date_or_complex_array_given_to_posterior_is_no_period(model, prot):
    post = model.posterior(prot=prot, bp_rp0=[1.1, 0.82])
    assert list(post.status) == ["invalid_period", "invalid_period"]
    assert np.isnan(post.summaries()["age_p50_myr"]).all()


def test_flag_arrays_in_the_colour_and_its_error_are_read_as_their_text(model):
    post = model.posterior(prot=[12.0, 25.4], bp_rp0=np.array([True, False]))
    assert list(post.status) == ["invalid_colour"] * 2
    post = model.posterior(prot=[12.0, 25.4], bp_rp0=[1.1, 0.82], bp_rp0_err=[True, False])
    text = model.posterior(prot=[12.0, 25.4], bp_rp0=[1.1, 0.82], bp_rp0_err=["True", "False"])
    assert list(post.status) == list(text.status) == ["invalid_colour_err"] * 2


def test_a_parquet_flag_period_is_an_invalid_period_as_its_csv_text_is(tmp_path):
    pytest.importorskip("pyarrow")
    pd.DataFrame({"prot": [True, False], "bp_rp0": [1.1, 0.82]}).to_parquet(tmp_path / "flags.parquet")
    res = run_cli("estimate", str(tmp_path / "flags.parquet"), "-q", "-o", str(tmp_path / "out.csv"))
    assert res.returncode == 0, res.stderr
    text = run_cli("estimate", "-", "-q", input="prot,bp_rp0\nTrue,1.1\nFalse,0.82\n")
    assert list(pd.read_csv(tmp_path / "out.csv")["status"]) == ["invalid_period"] * 2
    assert "invalid_period" in text.stdout


@pytest.mark.parametrize(("slot", "cells", "status"), [
    ("prot", [True, 12.0], "invalid_period"), ("prot", (True, 12.0), "invalid_period"),
    ("prot", [np.bool_(True), 12.0], "invalid_period"), ("prot", [True, 12], "invalid_period"),
    ("prot", [12 + 1j, 12.0], "invalid_period"), ("bp_rp0", [True, 1.1], "invalid_colour"),
    ("bp_rp0_err", [True, 0.02], "invalid_colour_err")])
def test_a_flag_or_complex_among_numbers_in_a_list_is_no_measurement(model, slot, cells, status):
    """numpy made ``[True, 12.0]`` the floats [1.0, 12.0] before any cell was looked at: True was dated as a 1-day
    period (3.1 Myr, extrapolated), a 1.0 mag colour ``ok`` (review V64, 1). The number beside it is dated as alone."""
    given = {"prot": [12.0, 12.0], "bp_rp0": [1.1, 1.1], "bp_rp0_err": [0.02, 0.02], slot: cells}
    post = model.posterior(**given)
    alone = model.posterior(**{k: v[1:] for k, v in given.items()})
    assert list(post.status) == [status, "ok"]
    got, want = post.summaries(), alone.summaries()
    assert np.isnan(got["age_p50_myr"][0])
    for key in want:
        np.testing.assert_array_equal(got[key][1:], want[key], err_msg=key)


@pytest.mark.parametrize(("base", "slot"), [(BASE, s) for s in BASE if s not in ("prot", "prot_err")] + [
    ({"prot": BASE["prot"], **OTHER}, s) for s in OTHER] + [({"prot": BASE["prot"], **TEFF}, s) for s in TEFF])
def test_a_duration_outside_the_period_slots_is_read_as_its_csv_text(model, base, slot):
    """Only a period and its error are times: a duration column elsewhere was read as days, "1 days" a 1.0 mag colour
    dated ``ok`` (review V64, 10), where posterior() refuses a duration array there and its CSV text is no number."""
    col = pd.Series(pd.to_timedelta([1.0, 0.82], unit="D"))
    got = model.estimate(pd.DataFrame({**base, slot: col}))
    want = model.estimate(pd.DataFrame({**base, slot: col.astype(str)}))  # "1 days 00:00:00"
    pd.testing.assert_frame_equal(_ours(got), _ours(want))
    if slot in ("abs_g0", "abs_g0_err", "g0", "parallax", "parallax_err"):  # a bad magnitude: dated from rotation alone
        assert np.isnan(got["ms_height_mag"]).all()
    else:
        assert "ok" not in list(got["status"])


def test_a_period_and_its_error_are_still_read_from_durations_in_days(model):
    days = {"prot": pd.to_timedelta([12.0, 25.4], unit="D"), "prot_err": pd.to_timedelta([0.5, 0.5], unit="D")}
    got = model.estimate(pd.DataFrame({**BASE, **days}))
    pd.testing.assert_frame_equal(_ours(got), _ours(model.estimate(pd.DataFrame(BASE))))


def test_a_parquet_duration_colour_is_an_invalid_colour(tmp_path):
    pytest.importorskip("pyarrow")
    colour = pd.to_timedelta([1.0, 0.82], unit="D")
    pd.DataFrame({"prot": [8.0, 25.4], "bp_rp0": colour}).to_parquet(tmp_path / "durations.parquet")
    res = run_cli("estimate", str(tmp_path / "durations.parquet"), "-q", "-o", str(tmp_path / "out.csv"))
    assert res.returncode == 0, res.stderr
    assert list(pd.read_csv(tmp_path / "out.csv")["status"]) == ["invalid_colour"] * 2


@pytest.mark.parametrize("unit", ["Y", "M", "D", "h", "ns"])
def test_a_date_array_of_any_unit_is_no_number(model, unit):
    """A date array was read as its text, and a year's text is a number: datetime64[Y] '1971' was a 1971-day period,
    '1970' a 0.46 mag colour error dated ok (review V64, 11)."""
    dates = np.array(["1971", "NaT"], dtype=f"datetime64[{unit}]")
    post = model.posterior(prot=dates, bp_rp0=[1.1, 1.1])
    assert list(post.status) == ["invalid_period"] * 2
    post = model.posterior(prot=[12.0, 12.0], bp_rp0=[1.1, 1.1], bp_rp0_err=dates)
    assert list(post.status) == ["invalid_colour_err", "ok"]  # NaT: not given


@pytest.mark.parametrize(("slot", "unit", "status"), [("prot", "h", "invalid_period"), ("prot", "d", "invalid_period"),
                                                      ("bp_rp0_err", "mmag", "invalid_colour_err")])
def test_a_flag_column_with_a_unit_is_no_number(model, slot, unit, status):
    """A bool column carrying a unit was converted as numbers: True in hours a 1/24-day period dated (448 Myr,
    extrapolated), True in mmag a 0.001 mag colour error dated ok; without a unit, or in d, it is no number."""
    table = pytest.importorskip("astropy.table")
    given = {"prot": [12.0, 25.4], "bp_rp0": [1.1, 0.82], "bp_rp0_err": [0.02, 0.02], slot: np.array([True, False])}
    got = model.estimate(table.Table(given, units={slot: unit}))
    assert list(got["status"]) == [status, status]
    assert got["age_p50_myr"].isna().all()


@pytest.mark.parametrize("suffix", [".fits", ".ecsv", ".parquet"])
def test_a_flag_column_with_a_unit_in_a_file_is_no_number(tmp_path, suffix):
    """As :func:`test_a_flag_column_with_a_unit_is_no_number`, through a file's units (FITS TUNIT, ECSV, Parquet
    metadata), which the command line converts in two places (astropy's tables, a Parquet file's chunks)."""
    table = pytest.importorskip("astropy.table")
    if suffix == ".parquet":
        pytest.importorskip("pyarrow")
    path = tmp_path / f"flags{suffix}"
    table.Table({"prot": np.array([True, False]), "bp_rp0": [1.1, 0.82]}, units={"prot": "h"}).write(path)
    res = run_cli("estimate", str(path), "-q", "-o", str(tmp_path / "out.csv"))
    assert res.returncode == 0, res.stderr
    assert list(pd.read_csv(tmp_path / "out.csv")["status"]) == ["invalid_period"] * 2


@pytest.mark.parametrize("unit", ["h", "d"])
def test_a_flag_column_with_a_unit_given_to_posterior_is_no_number(model, unit):
    """A bool ``Column`` with a unit was converted as numbers (True a 1-hour, or 1-day, period dated extrapolated),
    where a bool array is no period; its unit is still checked."""
    table = pytest.importorskip("astropy.table")
    post = model.posterior(prot=table.Column([True, False], unit=unit), bp_rp0=[1.1, 0.82])
    assert list(post.status) == ["invalid_period"] * 2
    post = model.posterior(prot=[12.0, 25.4], bp_rp0=[1.1, 0.82], bp_rp0_err=table.Column([True, False], unit="mmag"))
    assert list(post.status) == ["invalid_colour_err"] * 2
    with pytest.raises(ValueError, match="prot has unit 'K'"):
        model.posterior(prot=table.Column([True, False], unit="K"), bp_rp0=[1.1, 0.82])


def test_a_categorical_of_durations_is_read_as_its_durations(model):
    """``.astype("category")`` of a duration period read as invalid_period where the durations themselves are read in
    days; a missing cell is read as a NaT is, and outside a period's slots it is no number, as the durations are."""
    days = pd.to_timedelta([12.0, 25.4], unit="D")
    cats = {"prot": pd.Series(days).astype("category"), "prot_err": pd.Series(days / 24.4).astype("category")}
    got = model.estimate(pd.DataFrame({**BASE, **cats}))
    want = model.estimate(pd.DataFrame({**BASE, "prot": days, "prot_err": days / 24.4}))
    pd.testing.assert_frame_equal(_ours(got), _ours(want))
    assert list(got["status"]) == ["ok", "ok"]
    prot = pd.Series([pd.NaT, days[0]])
    got = model.estimate(pd.DataFrame({**BASE, "prot": prot.astype("category")}))
    pd.testing.assert_frame_equal(_ours(got), _ours(model.estimate(pd.DataFrame({**BASE, "prot": prot}))))
    assert list(got["status"]) == ["invalid_period", "ok"]
    colour = pd.Series(pd.to_timedelta([1.0, 0.82], unit="D")).astype("category")
    assert list(model.estimate(pd.DataFrame({**BASE, "bp_rp0": colour}))["status"]) == ["invalid_colour"] * 2
