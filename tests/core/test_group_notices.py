"""What group-age says of its groups that their ages do not show (review V61): groups the height term never reached
under --main-sequence, stars listed in several groups or twice in one, one reddening option for many groups, and a
per-star GSP-Phot reddening."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from gyroage.core.groups import group_ages
from gyroage.core.main_sequence import MainSequenceTerm
from tests.conftest import run_cli


def _members(model, age_myr: float = 600.0, n: int = 12, seed: int = 4, lo: float = 1.3,
             hi: float = 2.2) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    colour = rng.uniform(lo, hi, n)
    prot = model.sample_periods(age_myr, colour, n=1, seed=seed + 100, bp_rp0_err=np.full(n, 0.02))[:, 0]
    return pd.DataFrame({"prot": prot, "bp_rp0": colour, "bp_rp0_err": 0.02})


def _on_sequence(model, frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with an abs_g0 0.1 mag below the card's main sequence (a height the term reads)."""
    term = MainSequenceTerm.from_card(model.density.card)
    return frame.assign(abs_g0=np.interp(frame["bp_rp0"], term.ms_colour, term.ms_mag) - 0.1)


def _term_groups(model) -> pd.DataFrame:
    """A with magnitudes the term reads; B with blank magnitudes; C with magnitudes, but colours bluer than the
    term's range (0.9-1.1, the term starts at 1.2); D with magnitudes 4 mag off the sequence."""
    a = _on_sequence(model, _members(model, seed=1)).assign(cluster="A")
    b = _members(model, seed=2).assign(cluster="B", abs_g0=np.nan)
    c = _on_sequence(model, _members(model, seed=3, lo=0.9, hi=1.1)).assign(cluster="C")
    d = _on_sequence(model, _members(model, seed=5)).assign(cluster="D")
    d["abs_g0"] += 6.0
    return pd.concat([a, b, c, d], ignore_index=True)


def test_main_sequence_says_which_groups_the_height_term_never_reached(tmp_path, model):
    """Review V61, finding 4: under --main-sequence a group none of whose members the height term reads (blank
    magnitudes, colours outside the term's, heights off it) was dated from rotation alone with nothing said, while
    the output's metadata says main_sequence: used."""
    src = tmp_path / "m.csv"
    _term_groups(model).to_csv(src, index=False)
    res = run_cli("group-age", str(src), "--by", "cluster", "--main-sequence", "--grid", "201")
    assert res.returncode == 0, res.stderr
    line = ("group-age: --main-sequence: 3 groups have no member whose magnitude the height term uses (B, C, D): "
            "dated from rotation alone")
    assert line in res.stderr.splitlines(), res.stderr
    with pytest.warns(UserWarning) as caught:
        group_ages(_term_groups(model), model.density, "cluster", model.default_prior, 201, main_sequence=True)
    assert [str(w.message) for w in caught if "height term" in str(w.message)] == [
        "gyroage: main_sequence=True: 3 groups have no member whose magnitude the height term uses (B, C, D): "
        "dated from rotation alone"]
    # every group reached: nothing said; without --main-sequence nothing either
    _term_groups(model).query("cluster == 'A'").to_csv(src, index=False)
    res = run_cli("group-age", str(src), "--by", "cluster", "--main-sequence", "--grid", "201")
    assert res.returncode == 0 and "height term" not in res.stderr, res.stderr
    _term_groups(model).to_csv(src, index=False)
    res = run_cli("group-age", str(src), "--by", "cluster", "--grid", "201")
    assert res.returncode == 0 and "height term" not in res.stderr, res.stderr


def test_the_list_of_groups_the_height_term_never_reached_is_capped(model):
    frame = pd.concat([_members(model, seed=1).assign(cluster="A", abs_g0=np.nan)] +
                      [_members(model, seed=s).assign(cluster=f"G{s}", abs_g0=np.nan) for s in range(2, 8)] +
                      [_on_sequence(model, _members(model, seed=9)).assign(cluster="Z")], ignore_index=True)
    with pytest.warns(UserWarning) as caught:
        group_ages(frame, model.density, "cluster", model.default_prior, 201, main_sequence=True)
    assert [str(w.message) for w in caught if "height term" in str(w.message)] == [
        "gyroage: main_sequence=True: 7 groups have no member whose magnitude the height term uses (A, G2, G3, ...): "
        "dated from rotation alone"]


def _with_ids(model, cluster: str, seed: int, first: int) -> pd.DataFrame:
    return _members(model, seed=seed).assign(cluster=cluster, source_id=np.arange(12) + first)


def test_a_star_in_two_groups_or_twice_in_one_with_two_periods_is_said(tmp_path, model):
    """Review V61, finding 1: with an id column read, one source_id in two clusters (two membership lists merged)
    counted in both, and one listed twice in a cluster with two surveys' periods counted twice, narrowing its
    interval: nothing said, as neither repeats a row's period and colour."""
    a, b = _with_ids(model, "A", 1, 100), _with_ids(model, "B", 2, 200)
    moved = a.iloc[:4].assign(cluster="B")  # four of A's stars in B's list too
    survey = b.iloc[:3].assign(prot=b["prot"].iloc[:3] * 1.05)  # three of B's stars again, another survey's periods
    copy = a.iloc[5:7]  # two exact copies: the repeated-rows notice's, not these
    src = tmp_path / "m.csv"
    pd.concat([a, b, moved, survey, copy]).to_csv(src, index=False)
    res = run_cli("group-age", str(src), "--by", "cluster", "--grid", "201")
    assert res.returncode == 0, res.stderr
    lines = res.stderr.splitlines()
    assert ("group-age: 4 source_id values are in more than one group (A, B): each counts as a member of every group "
            "it is listed in") in lines, res.stderr
    assert ("group-age: 3 source_id values repeat within one group with a different period or colour (in 1 group: "
            "B): each row counts as a member, narrowing the group's interval") in lines, res.stderr
    assert any(line.startswith("group-age: 2 used rows repeat another row's source_id") for line in lines)
    with pytest.warns(UserWarning) as caught:
        group_ages(pd.concat([a, b, moved, survey]), model.density, "cluster", model.default_prior, 201)
    assert [str(w.message) for w in caught if "source_id values" in str(w.message)] == [
        "gyroage: 4 source_id values are in more than one group (A, B): each counts as a member of every group it is "
        "listed in",
        "gyroage: 3 source_id values repeat within one group with a different period or colour (in 1 group: B): each "
        "row counts as a member, narrowing the group's interval"]
    # one star each, or blank ids: nothing said; nor without an id column (it cannot tell)
    for frame in (pd.concat([a, b]), pd.concat([a, b, moved, survey]).assign(source_id=""),
                  pd.concat([a, b, moved, survey]).drop(columns="source_id")):
        frame.to_csv(src, index=False)
        res = run_cli("group-age", str(src), "--by", "cluster", "--grid", "201")
        assert res.returncode == 0 and "more than one group" not in res.stderr and "within one group" not in res.stderr


def test_a_single_star_in_two_groups_is_said_in_the_singular():
    from gyroage.core.group_notes import id_notes

    groups, prot, colour = np.array(["A", "A", "A", "B", "C"]), np.array([1.0, 2.0, 4.0, 1.0, 3.0]), np.full(5, 1.2)
    assert id_notes(groups, prot, colour, pd.DataFrame({"tic": [5, 6, 8, 5, 7]})) == [
        "1 tic value is in more than one group (A, B): each counts as a member of every group it is listed in"]
    assert id_notes(groups, prot, colour, pd.DataFrame({"tic": [5, 5, 8, 6, 7]})) == [
        "1 tic value repeats within one group with a different period or colour (in 1 group: A): each row counts as a "
        "member, narrowing the group's interval"]
    assert id_notes(groups, prot, colour, None) == []
    # a Name column holding each star's cluster (as a group label does) names no star
    assert id_notes(groups, prot, colour, pd.DataFrame({"name": ["x", "x", "x", "y", "z"]})) == []


def _observed(model, cluster: str, seed: int, ebv: float) -> pd.DataFrame:
    """Members with an observed BP-RP reddened by ``ebv`` (3.1 x 0.43 E(BP-RP) per E(B-V), about)."""
    m = _members(model, seed=seed)
    return pd.DataFrame({"cluster": cluster, "prot": m["prot"], "bp_rp": m["bp_rp0"] + 1.33 * ebv})


@pytest.mark.parametrize("option, api", [(["--ebv", "0.05"], "Reddening(ebv=0.05)"),
                                         (["--av", "0.2"], "Reddening(av=0.2)")])
def test_one_reddening_option_for_several_groups_is_said(tmp_path, model, option, api):
    """Review V61, finding 7: --ebv 0.05 (one value for every star) beside --by and six clusters of E(B-V)
    0.01-0.15 de-reddened every cluster alike; the reading line showed the value, nothing said it met six clusters."""
    from gyroage.core.colours import Reddening

    frame = pd.concat([_observed(model, "A", 1, 0.02), _observed(model, "B", 2, 0.1), _observed(model, "C", 3, 0.05)])
    src = tmp_path / "m.csv"
    frame.to_csv(src, index=False)
    res = run_cli("group-age", str(src), "--by", "cluster", *option, "--grid", "201")
    assert res.returncode == 0, res.stderr
    text = (f"{option[0]} {option[1]} is one reddening for every star: it de-reddens the colours of all 3 groups "
            "(A, B, C); clusters of different reddening need a reddening column (E(B-V), A_V or E(BP-RP)) giving each "
            "its own")
    assert f"group-age: {text}" in res.stderr.splitlines(), res.stderr
    name = option[0][2:]
    with pytest.warns(UserWarning) as caught:
        group_ages(frame, model.density, "cluster", model.default_prior, 201,
                   reddening=Reddening(**{name: float(option[1])}))
    assert [str(w.message) for w in caught if "one reddening" in str(w.message)] == [
        "gyroage: " + text.replace(" ".join(option), api)]
    # one group; or a column giving each row its own (the option fills none): nothing said
    frame.query("cluster == 'A'").to_csv(src, index=False)
    res = run_cli("group-age", str(src), "--by", "cluster", *option, "--grid", "201")
    assert res.returncode == 0 and "one reddening" not in res.stderr, res.stderr
    frame.assign(ebv=0.05).to_csv(src, index=False)
    res = run_cli("group-age", str(src), "--by", "cluster", *option, "--grid", "201")
    assert res.returncode == 0 and "one reddening" not in res.stderr, res.stderr


def test_the_option_filling_blank_reddening_cells_counts_only_the_groups_it_reached(tmp_path, model):
    frame = pd.concat([_observed(model, "A", 1, 0.02).assign(ebv=np.nan), _observed(model, "B", 2, 0.1).assign(ebv=0.1),
                       _observed(model, "C", 3, 0.05).assign(ebv=np.nan)])
    src = tmp_path / "m.csv"
    frame.to_csv(src, index=False)
    res = run_cli("group-age", str(src), "--by", "cluster", "--ebv", "0.05", "--grid", "201")
    assert res.returncode == 0, res.stderr
    assert ("group-age: --ebv 0.05 is one reddening for every star: it de-reddens the colours of 2 groups (A, C); "
            "clusters of different reddening need a reddening column (E(B-V), A_V or E(BP-RP)) giving each its own"
            in res.stderr.splitlines()), res.stderr


GSP_NOTE = ("'{col}' is Gaia GSP-Phot's per-star reddening, biased high at low extinction (Andrae et al. 2023): a G "
            "or K dwarf with about no reddening can still lose ~0.08 mag of colour to it, some 40% of its age (README, "
            "Cross-matching); for a cluster, its own E(B-V) or A_V (one value for its members) is better")


@pytest.mark.parametrize("col", ["ebpminrp_gspphot", "azero_gspphot", "EBPMINRP_GSPPHOT"])
def test_a_gsp_phot_reddening_read_from_the_table_is_said(tmp_path, model, col):
    """Review V61, finding 2: a Gaia archive table with ebpminrp_gspphot (or azero_gspphot) had GSP-Phot's per-star
    reddening subtracted with no word of the low-extinction bias crossmatch guards against (+0.05-0.12 dex, ok)."""
    frame = pd.concat([_observed(model, "A", 1, 0.02), _observed(model, "B", 2, 0.05)]).assign(**{col: 0.08})
    src = tmp_path / "m.csv"
    frame.to_csv(src, index=False)
    line = "gyroage: " + GSP_NOTE.format(col=col)
    for cmd in (["group-age", "--by", "cluster"], ["estimate"]):
        res = run_cli(cmd[0], str(src), *cmd[1:], "--grid", "201", "-q")  # said even with -q: the ages rest on it
        assert res.returncode == 0, res.stderr
        assert res.stderr.splitlines().count(line) == 1, res.stderr
    with pytest.warns(UserWarning) as caught:
        group_ages(frame, model.density, "cluster", model.default_prior, 201)
    assert line in [str(w.message) for w in caught]
    with pytest.warns(UserWarning) as caught:
        model.estimate(frame.drop(columns="cluster"))
    assert line in [str(w.message) for w in caught]
    # a reddening of another name, or a GSP-Phot column beside a de-reddened colour (only its error read): nothing
    frame.rename(columns={col: "E(BP-RP)" if "ebp" in col.lower() else "A_V"}).to_csv(src, index=False)
    assert "GSP-Phot" not in run_cli("group-age", str(src), "--by", "cluster", "--grid", "201").stderr
    frame.rename(columns={"bp_rp": "bp_rp0"}).to_csv(src, index=False)
    assert "GSP-Phot" not in run_cli("group-age", str(src), "--by", "cluster", "--grid", "201").stderr


def test_a_frame_with_its_id_column_twice_is_dated(model):
    """Review V65, finding 8: a frame holding one id column twice (a catalogue concatenated with a cross-match that
    carries the same source_id) crashed in the id notices (AttributeError: 'DataFrame' object has no attribute
    'str'); it was dated before they came, and is dated as the frame with the column once."""
    a, b = _with_ids(model, "A", 1, 100), _with_ids(model, "B", 2, 200)
    once = pd.concat([a, b, a.iloc[:2].assign(cluster="B")], ignore_index=True)
    twice = pd.concat([once, once[["source_id"]]], axis=1)
    with pytest.warns(UserWarning) as caught:
        got = group_ages(twice, model.density, "cluster", model.default_prior, 201)
    pd.testing.assert_frame_equal(got, group_ages(once, model.density, "cluster", model.default_prior, 201))
    assert ("gyroage: 2 source_id values are in more than one group (A, B): each counts as a member of every group it "
            "is listed in") in [str(w.message) for w in caught]


def test_a_name_column_of_cluster_names_is_no_star_id():
    """Review V65, finding 2: a Name column holding each star's cluster (as many literature tables carry) was taken
    for star ids when --by was coarser (two age bins of three clusters), or when one cluster's name was spelt two
    ways (more names than groups): "6 Name values repeat within one group with a different period or colour ...
    narrowing the group's interval", while every row was a distinct star. A column whose values each stand on more
    than two rows on average names groups; a star is listed in a list or two."""
    from gyroage.core.group_notes import id_notes

    rng = np.random.default_rng(3)
    cluster = np.repeat([f"cl{k}" for k in range(6)], 8)
    prot, colour = rng.uniform(1, 10, 48), rng.uniform(0.8, 2.0, 48)
    age_bin = np.where(np.isin(cluster, ["cl0", "cl1", "cl2"]), "young", "old")
    assert id_notes(age_bin, prot, colour, pd.DataFrame({"Name": cluster})) == []
    spelt = cluster.copy()
    spelt[0] = "CL0"  # 7 names for 6 groups
    assert id_notes(cluster, prot, colour, pd.DataFrame({"Name": spelt})) == []
    # a star list in which every star is listed twice, with two surveys' periods, is still said
    star = np.repeat([f"s{k}" for k in range(24)], 2)
    assert id_notes(cluster, prot, colour, pd.DataFrame({"Name": star})) == [
        "24 Name values repeat within one group with a different period or colour (in 6 groups: cl0, cl1, cl2, ...): "
        "each row counts as a member, narrowing the group's interval"]


@pytest.mark.parametrize("blank", ["--", "N/A", " nan ", "null", "-", "?", 0, 0.0, -1])
def test_a_placeholder_id_is_no_star(blank):
    """Review V65, finding 7: a placeholder in an id column ('--' or 'N/A' where a fixed-width or astropy table
    writes a masked cell, HIP 0 where a star has no HIP number) was taken as one star listed in every group: "1 Name
    value is in more than one group", "6 Name values repeat within one group". It names no star: left out, and the
    real ids beside it are still counted."""
    from gyroage.core.group_notes import id_notes

    rng = np.random.default_rng(5)
    groups = np.repeat(["A", "B", "C"], 8)
    prot, colour = rng.uniform(1, 10, 24), rng.uniform(0.8, 2.0, 24)
    ids = pd.Series(np.arange(100, 124), dtype=object)
    ids[::4] = blank  # six placeholders, two in each group
    assert id_notes(groups, prot, colour, pd.DataFrame({"HIP": ids})) == []
    ids[9] = ids[1]  # one real star in A and B
    assert id_notes(groups, prot, colour, pd.DataFrame({"HIP": ids})) == [
        "1 HIP value is in more than one group (A, B): each counts as a member of every group it is listed in"]
    # most rows without an id: the few named stars are still counted
    few = pd.Series([blank] * 24, dtype=object)
    few[[1, 3, 6, 9, 17, 21]] = ["HD 1", "HD 2", "HD 3", "HD 1", "HD 4", "HD 5"]
    assert id_notes(groups, prot, colour, pd.DataFrame({"Name": few})) == [
        "1 Name value is in more than one group (A, B): each counts as a member of every group it is listed in"]


@pytest.mark.parametrize("option", [["--ebv", "0"], ["--av", "0.0"], ["--ebprp", "0"]])
def test_a_zero_reddening_option_is_not_said_to_de_redden(tmp_path, model, option):
    """Review V65, finding 9: '--ebv 0' (clusters taken as unreddened, as nearby ones are run) was said to "de-redden
    the colours of all 3 groups": nothing is de-reddened, so nothing is said."""
    from gyroage.core.colours import Reddening

    frame = pd.concat([_observed(model, "A", 1, 0.0), _observed(model, "B", 2, 0.0), _observed(model, "C", 3, 0.0)])
    src = tmp_path / "m.csv"
    frame.to_csv(src, index=False)
    res = run_cli("group-age", str(src), "--by", "cluster", *option, "--grid", "201")
    assert res.returncode == 0 and "one reddening" not in res.stderr, res.stderr
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        group_ages(frame, model.density, "cluster", model.default_prior, 201,
                   reddening=Reddening(**{option[0][2:]: float(option[1])}))
    assert not [w for w in caught if "one reddening" in str(w.message)]


def test_no_gsp_phot_note_when_no_row_is_de_reddened_by_it(tmp_path, model):
    """Review V65, finding 4: with a bp_rp0 on every row, no colour is de-reddened by ebpminrp_gspphot, yet its bias
    was said (even with -q), as if the ages carried it. Said once a row falls back to bp_rp - ebpminrp_gspphot."""
    frame = pd.concat([_observed(model, "A", 1, 0.02), _observed(model, "B", 2, 0.05)]).assign(ebpminrp_gspphot=0.08)
    frame = frame.assign(bp_rp0=frame["bp_rp"] - 0.03)
    src = tmp_path / "m.csv"
    frame.to_csv(src, index=False)
    for cmd in (["group-age", "--by", "cluster"], ["estimate"]):
        res = run_cli(cmd[0], str(src), *cmd[1:], "--grid", "201", "-q")
        assert res.returncode == 0 and "GSP-Phot" not in res.stderr, res.stderr
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        group_ages(frame, model.density, "cluster", model.default_prior, 201)
        model.estimate(frame.drop(columns="cluster"))
    assert not [w for w in caught if "GSP-Phot" in str(w.message)], [str(w.message) for w in caught]
    frame.iloc[3, frame.columns.get_loc("bp_rp0")] = np.nan  # one row de-reddened by GSP-Phot
    frame.to_csv(src, index=False)
    res = run_cli("group-age", str(src), "--by", "cluster", "--grid", "201", "-q")
    assert res.stderr.splitlines().count("gyroage: " + GSP_NOTE.format(col="ebpminrp_gspphot")) == 1, res.stderr


def test_the_gsp_phot_note_says_the_tables_own_reddening_it_overrides(tmp_path, model):
    """Review V65, finding 5: beside the table's own E(B-V), read only where ebpminrp_gspphot is blank, the note
    advised 'its own E(B-V) or A_V ... is better', what the table already had, without saying it was passed over."""
    frame = pd.concat([_observed(model, "A", 1, 0.02), _observed(model, "B", 2, 0.05)])
    frame = frame.assign(ebpminrp_gspphot=0.08, **{"E(B-V)": 0.02})
    src = tmp_path / "m.csv"
    frame.to_csv(src, index=False)
    line = ("gyroage: " + GSP_NOTE.format(col="ebpminrp_gspphot").split("; for a cluster")[0]
            + "; the table's own 'E(B-V)' is read only where 'ebpminrp_gspphot' is blank: drop or rename "
              "'ebpminrp_gspphot' to read it")
    res = run_cli("group-age", str(src), "--by", "cluster", "--grid", "201", "-q")
    assert res.stderr.splitlines().count(line) == 1, res.stderr
    with pytest.warns(UserWarning) as caught:
        model.estimate(frame.drop(columns="cluster"))
    assert line in [str(w.message) for w in caught]


def test_the_gsp_phot_notes_advice_names_every_gsp_phot_column_to_drop(tmp_path, model):
    """Review V67, finding 5: beside azero_gspphot (Gaia's astrophysical_parameters gives both) the advice "drop or
    rename 'ebpminrp_gspphot'" was wrong: dropping it made azero_gspphot read, the table's E(B-V) still not."""
    frame = pd.concat([_observed(model, "A", 1, 0.02), _observed(model, "B", 2, 0.05)])
    frame = frame.assign(ebpminrp_gspphot=0.08, azero_gspphot=0.2, **{"E(B-V)": 0.02})
    src = tmp_path / "m.csv"
    frame.to_csv(src, index=False)
    res = run_cli("group-age", str(src), "--by", "cluster", "--grid", "201", "-q")
    assert ("; the table's own 'E(B-V)' is read only where 'ebpminrp_gspphot' and 'azero_gspphot' are blank: drop or "
            "rename 'ebpminrp_gspphot' and 'azero_gspphot' to read it") in res.stderr, res.stderr


def test_members_left_out_for_a_negative_reddening_are_said_by_group(tmp_path, model):
    """Review leftover (FW9a, 1): a per-star E(B-V) below 0 within its own error of 0 (-0.01 +- 0.02, a dust map's
    value) made the member invalid_reddening and dropped it from its group; stderr only counted 'invalid_reddening 2'
    among the members left out, naming neither the groups nor the cause. One line now names both, and what to do."""
    a, b = _observed(model, "A", 1, 0.02).assign(ebv=0.02), _observed(model, "B", 2, 0.02).assign(ebv=0.02)
    a["ebv_err"], b["ebv_err"] = 0.02, 0.02
    a.loc[a.index[:2], "ebv"] = -0.01  # within its error of 0
    b.loc[b.index[:1], ["ebv", "ebv_err"]] = [-0.05, 0.01]  # not within it
    frame = pd.concat([a, b, _observed(model, "C", 3, 0.0).assign(ebv=0.0, ebv_err=0.02)])
    src = tmp_path / "m.csv"
    frame.to_csv(src, index=False)
    res = run_cli("group-age", str(src), "--by", "cluster", "--grid", "201")
    assert res.returncode == 0, res.stderr
    text = ("3 members of 2 groups (A, B) have a negative reddening and are left out as invalid_reddening (2 of them "
            "within their error of 0): the input's reddening is negative; clip it at 0 where its error allows")
    assert f"group-age: {text}" in res.stderr.splitlines(), res.stderr
    with pytest.warns(UserWarning) as caught:
        group_ages(frame, model.density, "cluster", model.default_prior, 201)
    assert [str(w.message) for w in caught if "negative reddening" in str(w.message)] == [f"gyroage: {text}"]
    # estimate still gives such a row invalid_reddening; no negative value: nothing said
    est = run_cli("estimate", str(src), "--grid", "201", "-o", str(tmp_path / "e.csv"), "-q")
    assert est.returncode == 0, est.stderr
    assert (pd.read_csv(tmp_path / "e.csv")["status"] == "invalid_reddening").sum() == 3
    frame.assign(ebv=frame["ebv"].clip(lower=0)).to_csv(src, index=False)
    res = run_cli("group-age", str(src), "--by", "cluster", "--grid", "201")
    assert res.returncode == 0 and "negative reddening" not in res.stderr, res.stderr


def test_one_member_left_out_for_a_negative_reddening_is_said_in_the_singular():
    from gyroage.core.group_notes import negative_reddening_note

    status = np.array(["ok", "invalid_reddening", "invalid_reddening", "invalid_period"], dtype=object)
    e, err = np.array([0.1, -0.02, np.nan, -0.01]), np.array([0.01, 0.01, 0.01, 0.05])
    assert negative_reddening_note(np.array(["A", "B", "B", "C"]), status, e, err) == (
        "1 member of 1 group (B) has a negative reddening and is left out as invalid_reddening (none within its error "
        "of 0): the input's reddening is negative; clip it at 0 where its error allows")
    assert negative_reddening_note(np.array(["A", "B", "B", "C"]), status, None, None) is None


def test_every_star_listed_three_times_is_said_as_twice_is(tmp_path, model):
    """Review leftover (FW9a, 4): the same source_ids from three surveys, each row its own period, gave no id notice
    while two surveys did: the guard against a column of cluster names took any column whose values stand on more
    than two rows each for one. A column of names has few distinct values in each group; one of ids has many."""
    from gyroage.core.group_notes import id_notes

    a, b = _with_ids(model, "A", 1, 100), _with_ids(model, "B", 2, 200)
    three = pd.concat([a, b, a.assign(prot=a["prot"] * 1.03), b.assign(prot=b["prot"] * 0.97),
                       a.assign(prot=a["prot"] * 1.06), b.assign(prot=b["prot"] * 0.94)])
    src = tmp_path / "m.csv"
    three.to_csv(src, index=False)
    res = run_cli("group-age", str(src), "--by", "cluster", "--grid", "201")
    assert res.returncode == 0, res.stderr
    assert ("group-age: 24 source_id values repeat within one group with a different period or colour (in 2 groups: "
            "A, B): each row counts as a member, narrowing the group's interval") in res.stderr.splitlines(), res.stderr
    # five listings each still ids; a cluster's name, spelt one to three ways, over small clusters binned by age is not
    rng = np.random.default_rng(7)
    cluster = np.repeat([f"cl{k}" for k in range(6)], 4)
    prot, colour = rng.uniform(1, 10, 120), rng.uniform(0.8, 2.0, 120)
    star = np.tile(np.repeat([f"s{k}" for k in range(24)], 1), 5)
    assert len(id_notes(np.tile(cluster, 5), prot, colour, pd.DataFrame({"tic": star}))) == 1
    age_bin = np.where(np.isin(cluster, ["cl0", "cl1", "cl2"]), "young", "old")
    assert id_notes(age_bin, prot[:24], colour[:24], pd.DataFrame({"Name": cluster})) == []
    nine = np.repeat([f"cl{k}" for k in range(6)], 9)  # six clusters of 9, each named three ways on 3 rows each
    named = np.array([f"{c}{'' if k % 3 == 0 else ' ' if k % 3 == 1 else '_'}" for k, c in enumerate(nine)])
    assert id_notes(nine, prot[:54], colour[:54], pd.DataFrame({"Name": named})) == []
