"""Values a training catalogue cannot hold: refused in one line, or left out with a one-line notice.

The catalogues here are tiny synthetic ones written by each test (never the shared data).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from gyroage.build.catalogue import load_catalogue, quality_select
from gyroage.errors import UserError
from tests.build.test_catalogue import assert_one_line_error, build_cli, synthetic, write


@pytest.mark.parametrize("col, value", [("BPRP_0", 99.0), ("BPRP_0", -99.0), ("Prot", 1e6), ("Prot", 1e-6)])
def test_an_implausible_colour_or_period_is_one_line(tmp_path, col, value):
    """One colour of 99 mag trained, moving the colour scaling; one period of 1e6 d widened the card's period domain."""
    frame = synthetic()
    frame.loc[5, col] = value
    path = write(frame, tmp_path / "cat.csv")
    with pytest.raises(UserError, match=re.escape(f"column {col}, data row 6 (cluster Alpha) holds {value:g}, "
                                                  "outside the plausible range")):
        load_catalogue(path)
    assert_one_line_error(build_cli("train", "--catalog", str(path), "--out", str(tmp_path / "o")), "data row 6")


def test_the_plausible_ranges_keep_the_published_extremes(tmp_path, capsys):
    """The published catalogue holds (BP-RP)0 from -1.54 to 5.33 mag and periods from 0.036 to 418 d."""
    frame = synthetic()
    frame.loc[[0, 1, 2, 3], ["BPRP_0", "Prot"]] = [[-1.54, 0.036], [5.33, 418.0], [-2.0, 0.01], [6.0, 1000.0]]
    got = quality_select(load_catalogue(write(frame, tmp_path / "cat.csv")))
    assert len(got) == len(frame) and capsys.readouterr().err == ""


@pytest.mark.parametrize("col, value, shown", [
    ("Prot", 0.0, "Prot 0"), ("Prot", -2.0, "Prot -2"), ("Prot", np.inf, "Prot inf"),
    ("fiducial_age_Myr", np.inf, "fiducial_age_Myr inf"), ("e_BPRP_0", np.inf, "e_BPRP_0 inf"),
    ("BPRP_0", -np.inf, "BPRP_0 -inf"),
])
def test_a_row_left_out_for_an_unusable_value_gets_a_notice(tmp_path, capsys, col, value, shown):
    """Prot <= 0 or inf, an infinite age or colour error were dropped by the selection without a word."""
    frame = synthetic()
    frame.loc[13, col] = value
    path = write(frame, tmp_path / "cat.csv")
    got = load_catalogue(path)
    assert capsys.readouterr().err == (f"gyroage: rotator catalogue {path}: 1 row with an infinite value or a "
                                       f"non-positive Prot (data row 14, cluster Beta, {shown}) left out\n")
    assert len(quality_select(got)) == len(frame) - 1
    frame.loc[20, "Prot"] = 0.0
    load_catalogue(write(frame, path))
    assert capsys.readouterr().err == (f"gyroage: rotator catalogue {path}: 2 rows with an infinite value or a "
                                       f"non-positive Prot (the first: data row 14, cluster Beta, {shown}) left out\n")
    load_catalogue(path, notices=False)
    assert capsys.readouterr().err == ""


def test_a_missing_value_gets_no_notice(tmp_path, capsys):
    """Blank cells are the catalogue's way of saying 'not measured' (26 colours of the published one): no news."""
    frame = synthetic()
    frame.loc[3, "BPRP_0"] = np.nan
    frame.loc[4, "Prot"] = np.nan
    got = load_catalogue(write(frame, tmp_path / "cat.csv"))
    assert capsys.readouterr().err == "" and len(quality_select(got)) == len(frame) - 2


@pytest.mark.parametrize("age, cluster", [(0.5, "Alpha"), (20000.0, "Gamma")])
def test_one_age_off_the_grid_among_ages_in_myr_names_its_row_not_a_unit(tmp_path, age, cluster):
    """One age of 0.5 Myr among ages in Myr said "spans 0.5-2.5e+03 ... in Gyr? multiply by 1000": no unit fits."""
    frame = synthetic()
    row = int(np.flatnonzero(frame["cluster"] == cluster)[2])
    frame.loc[row, "fiducial_age_Myr"] = age
    path = write(frame, tmp_path / "cat.csv")
    with pytest.raises(UserError) as err:
        load_catalogue(path)
    assert str(err.value) == (f"rotator catalogue {path}: column fiducial_age_Myr, data row {row + 1} (cluster "
                              f"{cluster}) holds {age:g}, outside the model's age grid (1-10000 Myr)")
    assert_one_line_error(build_cli("train", "--catalog", str(path), "--out", str(tmp_path / "o")), f"data row {row + 1}")


def test_period_limits_flagged_in_l_prot_are_left_out_and_counted(tmp_path):
    """VizieR's l_Prot '<'/'>' rows were trained on as measured periods (review V40, 3), though estimate does not date
    them (status period_limit): now left out, as estimate reads the flags, and counted in the summary line."""
    from gyroage.build.catalogue import read_selection

    frame = synthetic()
    frame.insert(1, "l_Prot", "")
    frame.loc[[2, 14, 30], "l_Prot"] = [">", "<", ">"]
    frame.loc[30, "cmd_exclude"] = 1  # flagged too: counted once, by the flags
    selection = read_selection(write(frame, tmp_path / "cat.csv"))
    assert len(selection.frame) == len(frame) - 3
    assert not np.isin(selection.frame["Prot"], frame.loc[[2, 14, 30], "Prot"]).any()
    assert selection.summary() == (f"catalogue: {len(frame) - 3} of {len(frame)} rows used; left out: 1 by the quality "
                                   "flags (cmd_exclude==0, dered_exclude==0, phot_exclude==0, dr3_ruwe<1.4), 2 as "
                                   "period limits (l_Prot '<', '>')")
    assert selection.raw.attrs["read_changes"]["period_limits"] == 2
    frame["l_Prot"] = ""  # no flag set: every row trained, nothing said
    assert read_selection(write(frame, tmp_path / "cat.csv")).summary() == f"catalogue: {len(frame) - 1} of " \
        f"{len(frame)} rows used; left out: 1 by the quality flags (cmd_exclude==0, dered_exclude==0, " \
        "phot_exclude==0, dr3_ruwe<1.4)"


@pytest.mark.parametrize("flags, kept", [("l_Per", "Per"), ("L_PERIOD", None), ("l_P_rot", None)])
def test_the_limit_flags_of_a_period_renamed_prot_are_read_as_estimate_reads_them(tmp_path, capsys, flags, kept):
    """Train's hint "is it Per? rename it Prot" left l_Per, whose '<'/'>' rows were then trained as periods without a
    word (review V43, 3), though estimate reads l_Per as Per's limit flags. Read and said now; an l_Per beside a
    Per of its own (another period column) is Per's, not Prot's."""
    from gyroage.build.catalogue import read_selection

    frame = synthetic()
    frame.insert(1, flags, "")
    frame.loc[[2, 14], flags] = [">", "<"]
    selection = read_selection(write(frame, tmp_path / "cat.csv"))
    assert len(selection.frame) == len(frame) - 2 and selection.raw.attrs["read_changes"]["period_limits"] == 2
    assert f"'{flags}' read as the limit flags of 'Prot': a row flagged '<' or '>' is left out" in capsys.readouterr().err
    if kept:
        frame.insert(2, kept, frame["Prot"] * 24)
        assert len(read_selection(write(frame, tmp_path / "cat.csv")).frame) == len(frame)
        assert "read as the limit flags" not in capsys.readouterr().err


def test_two_columns_that_could_be_the_periods_limit_flags_are_refused_naming_both(tmp_path):
    """l_Per and l_Period beside Prot (a merge): neither was read, and their '<'/'>' rows trained as measured periods
    without a word (review V44, 4). Now one line naming both, exit 2, before anything is trained."""
    from gyroage.build.catalogue import read_selection

    frame = synthetic()
    frame.insert(1, "l_Per", "")
    frame.insert(2, "l_Period", "")
    frame.loc[[2, 14], "l_Per"] = [">", "<"]
    frame.loc[[5], "l_Period"] = ["<"]
    path = write(frame, tmp_path / "cat.csv")
    with pytest.raises(UserError, match=r"'l_Per', 'l_Period'.*rename the right one l_Prot"):
        read_selection(path)
    assert_one_line_error(build_cli("train", "--catalog", str(path), "--out", str(tmp_path / "o")), "'l_Per'",
                          "'l_Period'", "limit flags of 'Prot'")
    assert not (tmp_path / "o").exists()


def test_a_cluster_aged_in_log_years_is_told_log10_yr_not_only_gyr(tmp_path):
    """Praesepe labelled 8.856 (log10 yr, 718 Myr) among ages in Myr was refused with only "an age in Gyr?", and
    following it trained Praesepe at 8.9 Gyr (review V44, 1). The refusal names the log10(yr) reading, first, with
    the age it gives. (A Pleiades at 7.987 whose median fits a young cluster still loads: left, noted.)"""
    frame = _spun_down()
    rng = np.random.default_rng(1)
    praesepe = synthetic(20, 1).query("cluster == 'Alpha'").assign(
        cluster="Praesepe", fiducial_age_Myr=8.856, BPRP_0=rng.uniform(0.65, 1.45, 20),
        Prot=np.round(rng.uniform(7, 12, 20), 3))
    path = write(pd.concat([frame, praesepe], ignore_index=True), tmp_path / "cat.csv")
    with pytest.raises(UserError) as excinfo:
        load_catalogue(path, notices=False)
    message = str(excinfo.value)
    assert "Praesepe is labelled 8.856 Myr" in message and "\n" not in message
    assert "an age in log10(yr)? give 10**age / 1e6 (718 Myr)" in message
    assert message.index("log10(yr)") < message.index("an age in Gyr?")
    assert_one_line_error(build_cli("train", "--catalog", str(path), "--out", str(tmp_path / "o")), "Praesepe",
                          "log10(yr)", "718 Myr")


def test_a_young_cluster_in_hours_is_told_hours_first(tmp_path):
    """A real 9.5 Myr cluster whose periods are in hours also fits the log10(yr) reading: the refusal named that
    first, as "1e+04 Myr" (review V45, 4). Hours come first now, the log age's Myr written out."""
    frame = _spun_down()
    young = frame[frame["fiducial_age_Myr"] == frame["fiducial_age_Myr"].min()].assign(
        cluster="USco", fiducial_age_Myr=9.5)
    young = young.assign(Prot=np.round(np.random.default_rng(2).uniform(1.5, 2.0, len(young)) * 24, 2))  # 36-48 h
    path = write(pd.concat([frame, young], ignore_index=True), tmp_path / "cat.csv")
    with pytest.raises(UserError) as excinfo:
        load_catalogue(path, notices=False)
    message = str(excinfo.value)
    assert "USco is labelled 9.5 Myr" in message and "e+" not in message
    assert message.index("periods in hours?") < message.index("log10(yr)")


def _spun_down(seed: int = 0) -> pd.DataFrame:
    """Three clusters whose F, G and K dwarfs spin as real ones do at their ages: 8 Myr 1-4 d, 600 Myr 7-12 d,
    2500 Myr 15-30 d (no cluster of the published catalogue has a median under 2 or over 26 d at 0.6-1.5 mag)."""
    rng = np.random.default_rng(seed)
    parts = [synthetic(20, seed).query("cluster == @name").assign(fiducial_age_Myr=age, BPRP_0=rng.uniform(0.65, 1.45, 20),
                                                                Prot=np.round(rng.uniform(lo, hi, 20), 3))
             for name, age, (lo, hi) in (("Alpha", 8.0, (1, 4)), ("Beta", 600.0, (7, 12)), ("Gamma", 2500.0, (15, 30)))]
    return pd.concat(parts, ignore_index=True)


def test_periods_in_hours_are_refused_naming_hours(tmp_path):
    """Periods x24 (hours, no unit given) under 1000 trained without a word: the Sun was dated 29 Myr (review V40, 1).
    Every cluster's F, G and K dwarfs are then slower than any cluster of its age spins; hours alone fit (the ages
    in Gyr would be beyond the grid, or still too slow)."""
    frame = _spun_down()
    assert len(quality_select(load_catalogue(write(frame, tmp_path / "days.csv")))) == len(frame)
    frame["Prot"] *= 24
    path = write(frame, tmp_path / "hours.csv")
    assert frame["Prot"].max() < 1000  # inside PLAUSIBLE: only the spin physics can tell
    with pytest.raises(UserError, match=re.escape("column Prot: cluster ")) as err:
        load_catalogue(path)
    assert re.search(r"stars at \(BP-RP\)0 0.6-1.5 have a median period of [0-9.]+ d, above the", str(err.value))
    assert str(err.value).endswith("periods in hours? give days (divide by 24)"), str(err.value)
    assert_one_line_error(build_cli("train", "--catalog", str(path), "--out", str(tmp_path / "o")), "hours")
    assert not (tmp_path / "o").exists()


def test_periods_in_hours_with_one_beyond_the_plausible_range_are_refused_as_hours(tmp_path):
    """The published catalogue x24 was refused for one row's 10032 "d", outside the plausible range, not as hours:
    told of that row, the user removed it and tried again (review V43, 8). The unit check runs first now."""
    frame = _spun_down()
    frame["Prot"] *= 24
    frame.loc[5, "Prot"] = 1100.0  # 45.8 d in hours: a slow star, beyond 1000 read as days
    with pytest.raises(UserError) as err:
        load_catalogue(write(frame, tmp_path / "hours.csv"))
    assert "plausible range" not in str(err.value) and str(err.value).endswith("give days (divide by 24)"), err.value
    frame["Prot"] /= 24  # in days, the same row is a plausible star
    assert len(quality_select(load_catalogue(write(frame, tmp_path / "days.csv")))) == len(frame)


def test_an_old_cluster_aged_in_gyr_among_ages_in_myr_is_refused_naming_it(tmp_path):
    """M67 as 3.87 "Myr" among ages in Myr trained without a word, the only notice naming correctly labelled clusters
    (review V40, 2). A cluster under 15 Myr whose F, G and K dwarfs have a 10+ d median is one aged ~1 Gyr or more."""
    frame = _spun_down()
    frame.loc[frame["cluster"] == "Gamma", "fiducial_age_Myr"] = 2.5
    path = write(frame, tmp_path / "cat.csv")
    with pytest.raises(UserError) as err:
        load_catalogue(path)
    assert str(err.value).startswith(f"rotator catalogue {path}: column Prot: cluster Gamma is labelled 2.5 Myr, but "
                                     "its 20 stars at (BP-RP)0 0.6-1.5 have a median period of "), str(err.value)
    assert "above the 6 d no cluster labelled under 15 Myr reaches" in str(err.value)
    assert "Alpha" not in str(err.value) and str(err.value).endswith("an age in Gyr? give fiducial_age_Myr in Myr")
    assert_one_line_error(build_cli("train", "--catalog", str(path), "--out", str(tmp_path / "o")), "Gamma", "Gyr")


def _cluster(name: str, age: float, lo: float, hi: float, n: int = 20, seed: int = 1) -> pd.DataFrame:
    """One cluster's F, G and K dwarfs with periods uniform in [lo, hi] d."""
    rng = np.random.default_rng(seed)
    return synthetic(n, seed).query("cluster == 'Alpha'").assign(
        cluster=name, fiducial_age_Myr=age, BPRP_0=rng.uniform(0.65, 0.95, n), Prot=np.round(rng.uniform(lo, hi, n), 3))


def test_a_1_gyr_clusters_g_dwarfs_labelled_1_myr_are_refused_as_an_age_in_gyr(tmp_path):
    """NGC 6811 observed bluer than 1.0 (median ~9.75 d, under the old 10 d rule) labelled 1.004 Myr trained as
    1 Myr and dated its own stars at 1.1 Myr (review V43, 1). Under 15 Myr no published cluster's median passes 3 d."""
    frame = pd.concat([_cluster("Old", 1.004, 8.5, 11.0), _spun_down()], ignore_index=True)
    path = write(frame, tmp_path / "cat.csv")
    with pytest.raises(UserError) as err:
        load_catalogue(path)
    said = str(err.value)
    assert "cluster Old is labelled 1.004 Myr" in said and "above the 6 d no cluster labelled under 15 Myr" in said
    assert said.endswith(": an age in Gyr? give fiducial_age_Myr in Myr"), said  # 9.75 h = 0.4 d: not hours


def test_young_clusters_only_in_hours_are_refused_as_hours(tmp_path):
    """Five 26-45 Myr clusters in hours (medians 50-55 "d", under the old 60 d rule) trained without a word
    (review V43, 2); a 10 Myr one was blamed on its age only (review V43, 6)."""
    frame = pd.concat([_cluster(f"Y{i}", age, 1.8, 2.8, seed=i) for i, age in enumerate((26.0, 32.0, 37.0, 45.0))],
                      ignore_index=True)
    assert len(quality_select(load_catalogue(write(frame, tmp_path / "days.csv")))) == len(frame)
    for young in (False, True):
        hours = pd.concat([frame, _cluster("Sco", 10.15, 1.8, 2.8)] if young else [frame], ignore_index=True)
        hours["Prot"] *= 24
        with pytest.raises(UserError) as err:
            load_catalogue(write(hours, tmp_path / "hours.csv"))
        assert str(err.value).endswith(": periods in hours? give days (divide by 24)"), str(err.value)
        assert f"above the {6 if young else 9} d no cluster labelled under {15 if young else 100} Myr" in str(err.value)


def test_where_hours_and_gyr_both_fit_both_are_named(tmp_path):
    """M67 (25.6 d) labelled 3.87 "Myr": 25.6 h (1.07 d) and 3.87 Gyr both fit; the median cannot tell them apart."""
    frame = pd.concat([_cluster("M", 3.87, 22.0, 29.0), _spun_down()], ignore_index=True)
    with pytest.raises(UserError) as err:
        load_catalogue(write(frame, tmp_path / "cat.csv"))
    assert str(err.value).endswith("periods in hours? give days (divide by 24); or an age in Gyr? give "
                                   "fiducial_age_Myr in Myr"), str(err.value)


@pytest.mark.parametrize("age, median", [(10.0, 5.5), (97.0, 8.5), (900.0, 21.0), (4000.0, 50.0)])
def test_a_cluster_just_under_its_ages_ceiling_trains(tmp_path, age, median):
    """The ceilings (6, 9, 22, 52 d) are twice the shared catalogue's slowest medians: a cluster under them trains."""
    frame = pd.concat([_cluster("Edge", age, median - 0.3, median + 0.3), _spun_down()], ignore_index=True)
    assert len(quality_select(load_catalogue(write(frame, tmp_path / "cat.csv")))) == len(frame)


@pytest.mark.parametrize("fmt, unit, scale", [("ecsv", "Gyr", 1e-3), ("fits", "Gyr", 1e-3), ("csv", "Gyr", 1e-3),
                                              ("csv", "yr", 1e6), ("csv", "Myr", 1.0)])
def test_a_declared_age_unit_is_converted_to_myr_as_the_periods_is_to_days(tmp_path, capsys, fmt, unit, scale):
    """Ages whose table declares their unit (ECSV/FITS Gyr, a CSV units row) were refused as "in Gyr? multiply by
    1000" while a declared period unit (h) was converted (review V40, 9): converted now, with the same notice."""
    frame = synthetic()
    given = frame.assign(fiducial_age_Myr=frame["fiducial_age_Myr"] * scale)
    path = tmp_path / f"cat.{fmt}"
    if fmt == "csv":
        units = pd.DataFrame([{c: (unit if c == "fiducial_age_Myr" else "") for c in given.columns}])
        write(pd.concat([units, given.astype(object)], ignore_index=True), path)
    else:
        from astropy.table import Table

        table = Table.from_pandas(given)
        table["fiducial_age_Myr"].unit = unit
        table.write(path, format="ascii.ecsv" if fmt == "ecsv" else "fits")
    got = load_catalogue(path)
    assert np.allclose(got["fiducial_age_Myr"], frame["fiducial_age_Myr"], rtol=1e-12)
    said = capsys.readouterr().err
    assert (f"converted column 'fiducial_age_Myr' from {unit} to Myr" in said) is (unit != "Myr"), said


def test_a_logarithmic_age_unit_is_one_line(tmp_path):
    frame = synthetic().astype(object)
    frame.loc[-1] = {c: ("log(yr)" if c == "fiducial_age_Myr" else "") for c in frame.columns}
    path = write(frame.sort_index(), tmp_path / "cat.csv")
    with pytest.raises(UserError, match="'log\\(yr\\)' in column 'fiducial_age_Myr' is a log unit"):
        load_catalogue(path)


def test_quality_flags_written_true_false_are_read_as_booleans(tmp_path):
    """A boolean flag column saved as CSV (True/False) was refused as "holds 'False', not a number", while the same
    table as Parquet or FITS trained (review V40, 10)."""
    frame = synthetic()
    frame.loc[[3, 17], "cmd_exclude"] = 1
    flags = frame.astype({"cmd_exclude": bool, "dered_exclude": bool, "phot_exclude": bool})
    flags["dered_exclude"] = flags["dered_exclude"].map({False: "false", True: "TRUE"})  # any case
    got = quality_select(load_catalogue(write(flags, tmp_path / "cat.csv")))
    assert len(got) == len(frame) - 2 and not np.isin(got["Prot"], frame.loc[[3, 17], "Prot"]).any()
