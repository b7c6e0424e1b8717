"""Reading a training catalogue: every problem a user's file can have is one line, exit 2, never a traceback.

The catalogues here are tiny synthetic ones written by each test (never the shared data).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gyroage.build.catalogue import load_catalogue, quality_select, training_set
from gyroage.errors import UserError


def synthetic(n_per_cluster: int = 12, seed: int = 0) -> pd.DataFrame:
    """A catalogue shaped like the shipped one (the columns training reads), three clusters, no flagged star."""
    rng = np.random.default_rng(seed)
    rows = []
    for cluster, age in (("Alpha", 120.0), ("Beta", 650.0), ("Gamma", 2500.0)):
        for _ in range(n_per_cluster):
            rows.append({"cluster": cluster, "Prot_source": "Src2020", "Prot": round(float(rng.uniform(2, 20)), 3),
                         "mem_prob_source": 0.9, "dr3_ruwe": 1.0, "BPRP_0": round(float(rng.uniform(0.8, 2.4)), 3),
                         "e_BPRP_0": 0.02, "fiducial_age_Myr": age, "cmd_exclude": 0, "dered_exclude": 0,
                         "phot_exclude": 0})
    return pd.DataFrame(rows)


def write(frame: pd.DataFrame, path: Path, **kwargs) -> Path:
    frame.to_csv(path, index=False, **kwargs)
    return path


def build_cli(*args: str):
    """``gyroage ARGS`` in-process (the build commands need the 'train' extra)."""
    pytest.importorskip("torch")
    from typer.testing import CliRunner

    from gyroage.cli import app

    return CliRunner().invoke(app, list(args))


def assert_one_line_error(res, *words: str) -> None:
    assert res.exit_code == 2, res.output
    assert res.output.count("\n") == 1 and "Traceback" not in res.output, res.output
    for word in words:
        assert word in res.output, res.output


def test_a_period_with_text_in_it_is_one_line_naming_the_cell(tmp_path):
    """Prot '12.5d' was 'ValueError: could not convert string to float' from deep in training_set."""
    frame = synthetic().astype({"Prot": str})
    frame.loc[3, "Prot"] = "12.5d"
    path = write(frame, tmp_path / "cat.csv")
    with pytest.raises(UserError, match=r"column Prot, data row 4 holds '12\.5d', not a number"):
        load_catalogue(path)
    assert_one_line_error(build_cli("train", "--catalog", str(path), "--out", str(tmp_path / "o")), "12.5d")
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("column", ["fiducial_age_Myr", "e_BPRP_0", "dr3_ruwe", "cmd_exclude", "mem_prob_source"])
def test_any_number_column_refuses_text(tmp_path, column):
    frame = synthetic().astype({column: str})
    frame.loc[0, column] = "abc"
    with pytest.raises(UserError, match=f"column {column}, data row 1 holds 'abc'"):
        load_catalogue(write(frame, tmp_path / "cat.csv"))


def test_missing_cells_stay_missing_and_numbers_are_read_as_before(tmp_path):
    frame = synthetic()
    frame.loc[2, "BPRP_0"] = np.nan
    frame.loc[5, "mem_prob_source"] = np.nan
    path = write(frame, tmp_path / "cat.csv")
    got = load_catalogue(path)
    want = pd.read_csv(path)
    for col in ("Prot", "BPRP_0", "e_BPRP_0", "fiducial_age_Myr", "mem_prob_source", "dr3_ruwe"):
        assert np.array_equal(got[col].to_numpy(dtype=float), want[col].to_numpy(dtype=float), equal_nan=True), col
    assert got["cluster"].tolist() == want["cluster"].tolist()


def _same_catalogue(got: pd.DataFrame, want: pd.DataFrame) -> None:
    assert list(got.columns) == list(want.columns)
    for col in want.columns:
        if pd.api.types.is_numeric_dtype(want[col]):
            assert np.array_equal(got[col].to_numpy(dtype=float), want[col].to_numpy(dtype=float), equal_nan=True), col
        else:
            assert got[col].tolist() == want[col].tolist(), col


@pytest.mark.parametrize("name", ["cat.parquet", "parquet-named.csv"])
def test_a_parquet_catalogue_is_read(tmp_path, name):
    """A Parquet catalogue was a UnicodeDecodeError traceback (read as CSV); it is read as the star reader reads it."""
    pytest.importorskip("pyarrow")
    frame = synthetic()
    frame.to_parquet(tmp_path / name, index=False)
    _same_catalogue(load_catalogue(tmp_path / name), load_catalogue(write(frame, tmp_path / "plain.csv")))


@pytest.mark.parametrize("sep, name", [("\t", "cat.tsv"), ("\t", "cat.txt"), (";", "cat.csv"), ("|", "cat.csv"),
                                       (";", "cat.txt"), ("|", "cat.txt")])
def test_tab_semicolon_and_pipe_catalogues_are_read(tmp_path, sep, name):
    """They stopped with 'lacks column cluster' (the whole header read as one column name)."""
    frame = synthetic()
    got = load_catalogue(write(frame, tmp_path / name, sep=sep))
    _same_catalogue(got, load_catalogue(write(frame, tmp_path / "plain.csv")))


@pytest.mark.parametrize("name", ["cat.csv", "cat.txt"])
def test_a_semicolon_catalogue_with_decimal_commas_is_read(tmp_path, capsys, name):
    frame = synthetic()
    path = write(frame, tmp_path / name, sep=";", decimal=",")
    _same_catalogue(load_catalogue(path), load_catalogue(write(frame, tmp_path / "plain.csv")))
    assert "decimal commas" in capsys.readouterr().err
    load_catalogue(path, notices=False)  # a leave-one-cluster-out fold reads it again: the notice is said once
    assert capsys.readouterr().err == ""


def test_a_binary_file_is_one_line(tmp_path):
    path = tmp_path / "cat.csv"
    path.write_bytes(b"cluster,Prot\n\xff\xfe\x00junk\n")
    with pytest.raises(UserError, match="not UTF-8"):
        load_catalogue(path)


@pytest.mark.parametrize("name", ["", "  ", "NA"])
def test_a_star_without_a_cluster_name_is_one_line(tmp_path, name):
    """A blank cluster cell was "TypeError: '<' not supported between instances of 'str' and 'float'" in training."""
    frame = synthetic()
    frame.loc[4, "cluster"] = name
    path = write(frame, tmp_path / "cat.csv")
    with pytest.raises(UserError, match="column cluster, data row 5 has no cluster name"):
        load_catalogue(path)
    assert_one_line_error(build_cli("train", "--catalog", str(path), "--out", str(tmp_path / "o")), "data row 5")


def test_a_header_only_catalogue_is_one_line(tmp_path):
    """A header and no rows was 'ZeroDivisionError: float division by zero' in the training loop."""
    path = write(synthetic().iloc[:0], tmp_path / "cat.csv")
    with pytest.raises(UserError, match="holds no stars"):
        load_catalogue(path)
    assert_one_line_error(build_cli("train", "--catalog", str(path), "--out", str(tmp_path / "o")), "no stars")


def test_a_catalogue_the_selection_empties_is_one_line(tmp_path):
    frame = synthetic()
    frame["phot_exclude"] = 1
    path = write(frame, tmp_path / "cat.csv")
    assert_one_line_error(build_cli("train", "--catalog", str(path), "--out", str(tmp_path / "o")),
                          "no star", "passes the quality selection")
    assert not (tmp_path / "o").exists()


def test_excluding_every_cluster_is_one_line(tmp_path):
    path = write(synthetic(), tmp_path / "cat.csv")
    res = build_cli("train", "--catalog", str(path), "--out", str(tmp_path / "o"),
                    "--exclude", "Alpha", "--exclude", "Beta", "--exclude", "Gamma")
    assert_one_line_error(res, "--exclude leaves no star")


@pytest.mark.parametrize("age", [-5.0, 0.0])
def test_an_age_that_is_not_positive_is_one_line(tmp_path, age):
    """A negative age trained on NaN labels (log10 of a negative number), or was an OverflowError traceback."""
    frame = synthetic()
    frame.loc[3, "fiducial_age_Myr"] = age
    path = write(frame, tmp_path / "cat.csv")
    named = rf"column fiducial_age_Myr, data row 4 \(cluster {frame.loc[3, 'cluster']}\) holds {age:g}, not a positive age"
    with pytest.raises(UserError, match=named):
        load_catalogue(path)
    assert_one_line_error(build_cli("train", "--catalog", str(path), "--out", str(tmp_path / "o")), "data row 4")


@pytest.mark.parametrize("scale, span, hint", [(1e6, "1.2e+08-2.5e+09", "in yr?"), (1e-3, "0.12-2.5", "in Gyr?")])
def test_ages_outside_the_age_grid_suggest_the_unit(tmp_path, scale, span, hint):
    """Ages in yr or Gyr were taken as Myr: a model trained on clusters of 10^14 yr or 120 kyr."""
    frame = synthetic()
    frame["fiducial_age_Myr"] *= scale
    path = write(frame, tmp_path / "cat.csv")
    with pytest.raises(UserError, match=re.escape(f"ages must be in Myr: column fiducial_age_Myr spans {span}, "
                                                  f"outside the model's age grid (1-10000 Myr; {hint}")):
        load_catalogue(path)
    assert_one_line_error(build_cli("train", "--catalog", str(path), "--out", str(tmp_path / "o")), span)


def test_ages_at_the_age_grid_edges_are_accepted(tmp_path):
    frame = synthetic()
    frame.loc[frame["cluster"] == "Alpha", ["fiducial_age_Myr", "Prot"]] = [1.0, 3.0]  # a 1 Myr cluster's spins
    frame.loc[frame["cluster"] == "Gamma", "fiducial_age_Myr"] = 10000.0
    assert load_catalogue(write(frame, tmp_path / "cat.csv"))["fiducial_age_Myr"].max() == 10000.0


def test_a_missing_column_names_the_columns_the_file_has(tmp_path):
    frame = synthetic().rename(columns={"cluster": "Clu ster"})  # case alone is matched (below)
    path = write(frame, tmp_path / "cat.csv")
    with pytest.raises(UserError) as err:
        load_catalogue(path)
    message = str(err.value)
    assert "lacks column cluster (is it Clu ster? rename it cluster); the file has: Clu ster, Prot_source, Prot," in message
    assert "\n" not in message


def test_a_missing_column_message_stays_short_for_a_wide_file(tmp_path):
    frame = synthetic().drop(columns="e_BPRP_0")
    for i in range(60):
        frame[f"extra_column_with_a_rather_long_descriptive_name_{i:02d}"] = 1.0
    with pytest.raises(UserError) as err:
        load_catalogue(write(frame, tmp_path / "cat.csv"))
    message = str(err.value).replace(str(tmp_path), "")
    assert "lacks column e_BPRP_0; the file has: cluster, Prot_source," in message
    assert "(58 more)" in message and len(message) < 500, message


@pytest.mark.parametrize("dropped, recorded", [
    ((), "cmd_exclude==0, dered_exclude==0, phot_exclude==0, dr3_ruwe<1.4"),
    (("cmd_exclude", "dered_exclude", "phot_exclude"), "dr3_ruwe<1.4"),
    (("phot_exclude", "dr3_ruwe"), "cmd_exclude==0, dered_exclude==0"),
    (("cmd_exclude", "dered_exclude", "phot_exclude", "dr3_ruwe"), "none"),
])
def test_the_selection_recorded_is_the_one_applied(dropped, recorded):
    from gyroage.build.catalogue import selection_applied

    assert selection_applied(synthetic().drop(columns=list(dropped)).columns) == recorded


@pytest.mark.slow
def test_a_catalogue_without_quality_flags_says_so_and_its_card_records_it(tmp_path):
    """Without the flag columns the selection was skipped, but train.json (the model card) said it was applied."""
    import json

    frame = synthetic().drop(columns=["cmd_exclude", "dered_exclude", "phot_exclude"])
    frame["e_BPRP_0"] = np.linspace(0.01, 0.05, len(frame))  # training refuses colour errors that do not vary
    path = write(frame, tmp_path / "cat.csv")
    res = build_cli("train", "--catalog", str(path), "--out", str(tmp_path / "o"), "--max-epochs", "1", "-q")
    assert res.exit_code == 0, res.output
    notice = ("gyroage: rotator catalogue has no column cmd_exclude, dered_exclude, phot_exclude: the quality "
              "selection applies dr3_ruwe<1.4 only")
    # and, three clusters of 12 stars holding none out for early stopping, that notice (test_catalogue_loading)
    assert res.stderr.replace(f" {path}", "").splitlines()[0] == notice, res.stderr
    assert res.stderr.count("\n") == 2 and "no cluster can be held out" in res.stderr, res.stderr
    info = json.loads((tmp_path / "o" / "train.json").read_text())
    assert info["catalog"]["selection"] == "dr3_ruwe<1.4"


def test_a_negative_colour_error_is_read_as_missing_with_a_notice(tmp_path, capsys):
    """A negative e_BPRP_0 was accepted as it came (and set the card's colour-error domain)."""
    from gyroage.build.catalogue import quality_select

    frame = synthetic()
    frame.loc[[3, 7], "e_BPRP_0"] = -0.02
    path = write(frame, tmp_path / "cat.csv")
    got = load_catalogue(path)
    assert np.isnan(got["e_BPRP_0"][[3, 7]]).all() and (got["e_BPRP_0"].drop([3, 7]) == 0.02).all()
    assert capsys.readouterr().err == (f"gyroage: rotator catalogue {path}: 2 negative e_BPRP_0 (the first in data "
                                       "row 4) read as missing: those stars are left out\n")
    assert len(quality_select(got)) == len(frame) - 2
    load_catalogue(path, notices=False)
    assert capsys.readouterr().err == ""
    frame.loc[3, "e_BPRP_0"] = 0.02
    load_catalogue(write(frame, path))
    assert "1 negative e_BPRP_0 (in data row 8) read as missing: that star is left out" in capsys.readouterr().err


def test_a_zero_colour_error_is_kept(tmp_path, capsys):
    frame = synthetic()
    frame.loc[3, "e_BPRP_0"] = 0.0
    assert load_catalogue(write(frame, tmp_path / "cat.csv"))["e_BPRP_0"][3] == 0.0
    assert capsys.readouterr().err == ""


# column names: matched ignoring case, as estimate reads stars ------------------------------------------------------

@pytest.mark.parametrize("renames", [{"Prot": "prot"}, {"Prot": "PROT", "cluster": "Cluster"},
                                     {"BPRP_0": "bprp_0", "e_BPRP_0": "E_BPRP_0", "fiducial_age_Myr": "FIDUCIAL_AGE_MYR"},
                                     {"dr3_ruwe": "DR3_RUWE", "cmd_exclude": "CMD_EXCLUDE"}])
def test_column_names_are_matched_ignoring_case(tmp_path, capsys, renames):
    """``prot`` or ``PROT`` was refused ("is it Prot?") though the README says the catalogue is read as stars are;
    a quality column in another case was skipped ("no column dr3_ruwe"), training the stars it flags."""
    frame = synthetic()
    frame.loc[0, "dr3_ruwe"] = 2.0  # flagged: the selection must still see it
    path = write(frame.rename(columns=renames), tmp_path / "cat.csv")
    got = load_catalogue(path)
    assert capsys.readouterr().err == ""  # no "has no column" notice
    pd.testing.assert_frame_equal(got, load_catalogue(write(frame, tmp_path / "exact.csv")))
    assert len(quality_select(got)) == len(frame) - 1


@pytest.mark.parametrize("renames", [{"G_0": "g_0", "dr3_parallax_zpt_corrected": "DR3_PARALLAX_ZPT_CORRECTED"},
                                     {"mem_prob_source": "MEM_PROB_SOURCE", "Prot_source": "prot_source"}])
def test_optional_column_names_are_matched_ignoring_case_too(tmp_path, renames):
    """``g_0`` or ``PROT_SOURCE`` were silently not read (no magnitudes, no membership weights, no period sources)
    while the required and quality columns beside them were matched ignoring case."""
    frame = synthetic().assign(G_0=lambda f: 8.0 + 3.0 * f["BPRP_0"], dr3_parallax_zpt_corrected=2.5)
    want = training_set(quality_select(load_catalogue(write(frame, tmp_path / "exact.csv"))))
    assert np.isfinite(want.abs_mag_g).all() and (want.membership == 0.9).all() and (want.period_source == "Src2020").all()
    got = training_set(quality_select(load_catalogue(write(frame.rename(columns=renames), tmp_path / "cat.csv"))))
    for field in want.__dataclass_fields__:
        np.testing.assert_array_equal(getattr(got, field), getattr(want, field), err_msg=field)


def test_an_exact_column_name_wins_over_one_in_another_case(tmp_path):
    frame = synthetic()
    path = write(frame.assign(PROT=-1.0), tmp_path / "cat.csv")
    assert (load_catalogue(path)["Prot"] == frame["Prot"]).all()


@pytest.mark.parametrize("renames, extra, pair, name", [
    ({"Prot": "prot"}, {"PROT": 1.0}, "prot and PROT", "Prot"),  # a required column
    ({"mem_prob_source": "MEM_PROB_SOURCE"}, {"Mem_Prob_Source": 0.5}, "MEM_PROB_SOURCE and Mem_Prob_Source",
     "mem_prob_source"),  # an optional one
])
def test_two_columns_differing_only_in_case_are_one_line_naming_both(tmp_path, renames, extra, pair, name):
    frame = synthetic().rename(columns=renames).assign(**extra)
    path = write(frame, tmp_path / "cat.csv")
    with pytest.raises(UserError) as err:
        load_catalogue(path)
    assert str(err.value) == (f"rotator catalogue {path} has columns {pair}, which differ only in case: "
                              f"rename the one that is not {name}")
    assert_one_line_error(build_cli("train", "--catalog", str(path), "--out", str(tmp_path / "o")), pair)
