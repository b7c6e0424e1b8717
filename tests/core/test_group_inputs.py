"""group-age on tables as cluster astronomers download them: one cluster per file, membership columns in
percent or as text, observed magnitudes, group labels spelled two ways."""

from __future__ import annotations

from io import StringIO

import numpy as np
import pandas as pd
import pytest

from gyroage.core.groups import group_ages, group_posterior
from gyroage.errors import UserError
from tests.conftest import run_cli


def _members(model, age_myr: float = 600.0, n: int = 12, seed: int = 4) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    colour = rng.uniform(0.9, 2.2, n)
    prot = model.sample_periods(age_myr, colour, n=1, seed=seed + 100, bp_rp0_err=np.full(n, 0.02))[:, 0]
    return pd.DataFrame({"prot": prot, "bp_rp0": colour, "bp_rp0_err": 0.02})


def test_a_one_cluster_file_is_one_group_without_by(tmp_path, model):
    """Without --by, Typer printed its 'Missing option' box: a one-cluster file needed a column added first."""
    src = tmp_path / "praesepe_members.csv"
    _members(model).to_csv(src, index=False)
    res = run_cli("group-age", str(src), "--grid", "201")
    assert res.returncode == 0, res.stderr
    out = pd.read_csv(StringIO(res.stdout))
    assert list(out.columns[:3]) == ["group", "n_stars", "n_used"]
    assert out["group"].tolist() == ["praesepe_members"] and out["n_used"].tolist() == [12]
    # the same joint age as a --by column holding one label
    labelled = group_ages(_members(model).assign(cluster="x"), model.density, "cluster", model.default_prior, 201)
    assert np.isclose(out["age_p50_myr"][0], labelled["age_p50_myr"][0], rtol=1e-5)
    piped = run_cli("group-age", "-", "--grid", "201", "-q", input=_members(model).to_csv(index=False))
    assert piped.returncode == 0 and pd.read_csv(StringIO(piped.stdout))["group"].tolist() == ["all"], piped.stderr


def test_by_a_missing_column_says_how_to_date_the_whole_file(tmp_path, model):
    src = tmp_path / "m.csv"
    _members(model).to_csv(src, index=False)
    res = run_cli("group-age", str(src), "--by", "cluster")
    assert res.returncode == 2
    assert res.stderr.strip() == ("gyroage: error: missing column 'cluster' (without --by, all rows are one group); "
                                  "the file has: prot, bp_rp0, bp_rp0_err")
    res = run_cli("group-age", str(src), "--membership", "pmem")
    assert res.returncode == 2
    assert res.stderr.strip() == "gyroage: error: missing column 'pmem'; the file has: prot, bp_rp0, bp_rp0_err"


def _with_membership(model, p: np.ndarray) -> pd.DataFrame:
    return _members(model, n=len(p)).assign(cluster="c", PMem=p)


def test_a_membership_column_in_percent_is_refused_not_taken_as_all_members(tmp_path, model):
    """README: 'values above 1 count as 1', so PMem 0-100 made every star a full member, silently."""
    src = tmp_path / "m.csv"
    _with_membership(model, np.linspace(10, 98, 12)).to_csv(src, index=False)
    res = run_cli("group-age", str(src), "--by", "cluster", "--membership", "pmem")
    assert res.returncode == 2
    assert res.stderr.strip() == ("gyroage: error: --membership pmem has values up to 98 (above 1): give "
                                  "probabilities 0-1 (a percentage: divide by 100)")
    with pytest.raises(UserError, match="values up to 98"):
        group_posterior(model.density, np.zeros(12), np.ones(12), 0.02, np.zeros(12), model.default_prior, 201,
                        membership=np.linspace(10, 98, 12))


def test_membership_rounded_just_above_1_still_counts_as_1(model):
    p = np.r_[np.full(11, 0.9), 1.00004]
    out = group_ages(_with_membership(model, p), model.density, "cluster", model.default_prior, 201, "PMem")
    ref = group_ages(_with_membership(model, np.r_[np.full(11, 0.9), 1.0]), model.density, "cluster",
                     model.default_prior, 201, "PMem")
    pd.testing.assert_frame_equal(out, ref)


def test_a_membership_column_whose_unit_is_percent_is_divided_by_100(tmp_path, model):
    from astropy.table import Table

    p = np.linspace(0.1, 0.95, 12)
    fractions = tmp_path / "f.csv"
    _with_membership(model, p).to_csv(fractions, index=False)
    table = Table.from_pandas(_with_membership(model, 100 * p))
    table["PMem"].unit = "%"
    table.write(tmp_path / "p.ecsv")
    ref = run_cli("group-age", str(fractions), "--by", "cluster", "--membership", "PMem", "--grid", "201", "-q")
    res = run_cli("group-age", str(tmp_path / "p.ecsv"), "--by", "cluster", "--membership", "PMem", "--grid", "201")
    assert res.returncode == 0, res.stderr
    assert "'PMem' from % to fraction" in res.stderr
    assert pd.read_csv(StringIO(res.stdout)).equals(pd.read_csv(StringIO(ref.stdout)))
    # a CSV with a units row under its header (as VizieR writes them): the row is skipped, its % applied
    units = tmp_path / "u.csv"
    frame = _with_membership(model, 100 * p).astype(object)
    pd.concat([pd.DataFrame([{**dict.fromkeys(frame.columns, ""), "prot": "d", "PMem": "%"}]), frame]
              ).to_csv(units, index=False)
    res = run_cli("group-age", str(units), "--by", "cluster", "--membership", "PMem", "--grid", "201", "-q")
    assert res.returncode == 0, res.stderr
    assert pd.read_csv(StringIO(res.stdout)).equals(pd.read_csv(StringIO(ref.stdout)))


@pytest.mark.parametrize("cells, example", [(["Y", "N", " Y"], "Y"), (["", "nan", ""], None)])
def test_a_membership_column_without_a_number_is_refused(tmp_path, model, cells, example):
    """Mem = Y/N dropped every star as 'not a number': no_valid_members, exit 0, nothing said."""
    src = tmp_path / "m.csv"
    frame = _members(model, n=12).assign(cluster="c")
    frame["Mem"] = (cells * 4)[:12]
    frame.to_csv(src, index=False)
    res = run_cli("group-age", str(src), "--by", "cluster", "--membership", "Mem")
    assert res.returncode == 2
    if example is None:
        assert res.stderr.strip() == "gyroage: error: --membership Mem has no value in any row"
    else:
        assert res.stderr.strip() == ("gyroage: error: --membership Mem holds no numbers (e.g. 'Y'): give membership "
                                      "probabilities 0-1")


def _observed(model) -> pd.DataFrame:
    return _members(model, n=12).assign(cluster="c", G=np.linspace(11, 16, 12), Plx=5.4)


@pytest.mark.parametrize("cmd", [["group-age", "--by", "cluster"], ["estimate"]])
def test_main_sequence_asked_for_without_magnitudes_is_refused(tmp_path, model, cmd):
    """An observed G and a parallax ran rotation-only with --main-sequence, output identical to without it."""
    src = tmp_path / "m.csv"
    _observed(model).to_csv(src, index=False)
    res = run_cli(cmd[0], str(src), *cmd[1:], "--main-sequence", "--grid", "201")
    assert res.returncode == 2
    assert res.stderr.strip() == ("gyroage: error: --main-sequence needs abs_g0, or g0 and parallax (found: G, Plx; "
                                  "an observed G needs its extinction: give g0 = G - A_G)")
    _members(model, n=12).assign(cluster="c").to_csv(src, index=False)
    res = run_cli(cmd[0], str(src), *cmd[1:], "--main-sequence", "--grid", "201")
    assert res.returncode == 2 and "(found: none)" in res.stderr, res.stderr
    # estimate by default, and both with --no-main-sequence, date such a table from rotation alone
    for extra in ([], ["--no-main-sequence"]) if cmd[0] == "estimate" else (["--no-main-sequence"],):
        assert run_cli(cmd[0], str(src), *cmd[1:], *extra, "--grid", "201", "-q").returncode == 0


def test_group_age_main_sequence_refuses_magnitude_columns_without_a_value(model):
    frame = _members(model, n=12).assign(cluster="c", abs_g0="")
    with pytest.raises(UserError, match="^main_sequence=True: no row has a usable abs_g0"):
        group_ages(frame, model.density, "cluster", model.default_prior, 201, main_sequence=True)


@pytest.mark.parametrize("labels, alike", [
    (["Pleiades", "PLEIADES", "NGC 6811", "NGC6811", "ngc  6811", "Praesepe"],
     ["'Pleiades' and 'PLEIADES'", "'NGC 6811', 'NGC6811' and 'ngc  6811'"]),
    # review V35, finding 7: NGC_120 and NGC 0120 beside NGC 120 were dated apart with no word
    (["NGC 120", "NGC_120", "NGC 0120", "NGC 1200", "Pleiades"], ["'NGC 120', 'NGC_120' and 'NGC 0120'"]),
])
def test_labels_differing_only_in_case_or_spaces_are_dated_apart_with_a_warning(tmp_path, model, labels, alike):
    src = tmp_path / "m.csv"
    frame = pd.concat([_members(model, n=4, seed=i).assign(cluster=g) for i, g in enumerate(labels)])
    frame.to_csv(src, index=False)
    res = run_cli("group-age", str(src), "--by", "cluster", "--grid", "201")
    assert res.returncode == 0, res.stderr
    assert pd.read_csv(StringIO(res.stdout))["cluster"].tolist() == labels  # user data: never merged
    assert [line for line in res.stderr.splitlines() if "warning" in line] == [
        f"group-age: warning: groups {names} differ only in case, blanks, '_', '-' or leading zeros: dated separately"
        for names in alike]
    quiet = run_cli("group-age", str(src), "--by", "cluster", "--grid", "201", "-q")
    assert quiet.returncode == 0 and quiet.stderr == ""


def test_without_by_a_cluster_column_holding_several_groups_is_refused_not_pooled(tmp_path, model):
    """Since --by became optional, a nine-cluster file without --by gave one pooled 'age' of 544 Myr, status ok."""
    src = tmp_path / "clusters.csv"
    pd.concat([_members(model, 100.0, seed=1).assign(Cluster="Pleiades"),
               _members(model, 700.0, seed=2).assign(Cluster="Praesepe")]).to_csv(src, index=False)
    res = run_cli("group-age", str(src), "--grid", "201")
    assert res.returncode == 2 and res.stdout == ""
    assert res.stderr.strip() == ("gyroage: error: column 'Cluster' holds 2 groups ('Pleiades', 'Praesepe'): give "
                                  "--by Cluster to date each; without --by all rows are one group (drop the column "
                                  "to pool them)")
    # one value (a one-cluster file that names its cluster) is one group, as without the column
    one = tmp_path / "pleiades.csv"
    _members(model, 100.0, seed=1).assign(Cluster="Pleiades").to_csv(one, index=False)
    res = run_cli("group-age", str(one), "--grid", "201", "-q")
    assert res.returncode == 0 and pd.read_csv(StringIO(res.stdout))["group"].tolist() == ["pleiades"], res.stderr


def test_by_and_membership_take_the_exact_name_over_a_case_insensitive_one(model):
    """dupcol.csv: 'Cluster' (all 1) before 'cluster' (the names): --by cluster pooled the clusters into one age, and
    --membership pmemb read 'PMemb', without a word."""
    a, b = _members(model, 120.0, seed=1), _members(model, 2500.0, seed=2)
    table = pd.concat([a.assign(name="A"), b.assign(name="B")], ignore_index=True)
    table.insert(0, "Cluster", 1)
    table.insert(1, "cluster", table.pop("name"))
    table["PMemb"], table["pmemb"] = 0.0, 0.9  # 'PMemb' would leave every star out
    res = run_cli("group-age", "-", "--by", "cluster", "--membership", "pmemb", "--grid", "201",
                  input=table.to_csv(index=False))
    assert res.returncode == 0, res.stderr
    out = pd.read_csv(StringIO(res.stdout))
    assert out["cluster"].tolist() == ["A", "B"] and out["n_used"].tolist() == [12, 12]
    assert "several columns are --by cluster: using 'cluster', ignoring 'Cluster'" in res.stderr
    assert "several columns are --membership pmemb: using 'pmemb', ignoring 'PMemb'" in res.stderr
    res = run_cli("group-age", "-", "--by", "Cluster", "--grid", "201", "-q", input=table.to_csv(index=False))
    assert res.returncode == 0 and pd.read_csv(StringIO(res.stdout))["Cluster"].tolist() == [1], res.stderr


@pytest.mark.parametrize("bad", [np.nan, -0.01, np.inf])
def test_group_posterior_refuses_a_colour_sigma_that_is_no_number_above_0_for_a_used_member(model, bad):
    """Review V15, finding 1: a NaN colour_sigma fell in no Gauss-Hermite tier, and its member's likelihood row was
    never written (np.empty): four runs on one input gave medians of 1.9, 722.7, nan and 117.4 Myr."""
    frame = _members(model)
    sig = np.full(len(frame), 0.03)
    sig[3] = bad
    args = (model.density, np.log10(frame["prot"]), frame["bp_rp0"], frame["bp_rp0_err"], ["g"] * len(frame),
            model.default_prior, 201)
    with pytest.raises(UserError, match=r"colour_sigma .*member 3") as err:
        group_posterior(*args, colour_sigma=sig)
    assert "\n" not in str(err.value)
    use = np.ones(len(frame), dtype=bool)
    use[3] = False  # a member left out may carry anything
    left_out = group_posterior(*args, colour_sigma=sig, use=use)
    assert left_out.n_used.tolist() == [11] and np.isfinite(left_out.summaries()["age_p50_myr"]).all()


def test_the_colour_marginal_likelihood_refuses_a_star_in_no_node_tier(model):
    """The row of a star whose colour_sigma falls in no tier (NaN) was left as whatever memory np.empty gave, then
    NaN; colour_node_groups now refuses such a sigma, so no row is left unset."""
    from gyroage.core.likelihood import colour_marginal_log_likelihood

    n = 40
    grid = np.linspace(8.0, 9.5, 51)
    sig = np.full(n, 0.03)
    sig[::4] = np.nan
    with pytest.raises(ValueError, match=r"colour sigma .*star 0 has nan \(10 such\)"):
        colour_marginal_log_likelihood(model.density, np.full(n, 1.0), np.full(n, 1.2), np.full(n, 0.03), grid, sig)


def test_group_ages_in_python_reads_a_membership_in_percent_as_group_age_does(tmp_path, model):
    """Review V15, finding 5: read_stars had no membership role (a units row's % on it was converted by the command
    line only), group_ages on an astropy Table failed with an AttributeError, and its refusal named --membership."""
    import astropy.units as u
    from astropy.table import QTable

    import gyroage

    p = np.linspace(0.1, 0.95, 12)
    ref = group_ages(_with_membership(model, p), model.density, "cluster", model.default_prior, 201, "PMem")
    units = tmp_path / "u.csv"
    frame = _with_membership(model, 100 * p).astype(object)
    pd.concat([pd.DataFrame([{**dict.fromkeys(frame.columns, ""), "prot": "d", "PMem": "%"}]), frame]
              ).to_csv(units, index=False)
    with pytest.warns(UserWarning, match="'PMem' from % to fraction"):
        read = gyroage.read_stars(units, membership="PMem")
    np.testing.assert_allclose(read["PMem"].astype(float), p, rtol=1e-12)
    pd.testing.assert_frame_equal(group_ages(read, model.density, "cluster", model.default_prior, 201, "PMem"), ref)
    table = QTable.from_pandas(_with_membership(model, 100 * p))
    table["PMem"] = table["PMem"] * u.percent
    with pytest.warns(UserWarning, match="'PMem' from % to fraction"):
        out = group_ages(table, model.density, "cluster", model.default_prior, 201, "PMem")
    pd.testing.assert_frame_equal(out, ref)
    assert table["PMem"].unit == u.percent  # the caller's table unchanged
    with pytest.raises(UserError, match=r"^membership PMem has values up to 95 \(above 1\)"):
        group_ages(_with_membership(model, 100 * p), model.density, "cluster", model.default_prior, 201, "PMem")
    with pytest.raises(TypeError, match=r"^group_ages takes a pandas DataFrame .*read_stars"):
        group_ages(frame.to_numpy(), model.density, "cluster", model.default_prior, 201)


def test_group_ages_refusals_name_its_keywords_and_the_frame(model, tmp_path):
    """Review V17, finding 6: group_ages' refusals still said "without --by", "--main-sequence needs", "--ebprp/--av/
    --ebv de-redden" and "the file has" to a Python caller; they now name by=None, main_sequence=True, reddening= and
    the frame. The command line's words are unchanged."""
    from gyroage.core.colours import Reddening

    frame = _members(model).assign(cluster="a")
    args = (model.density, "cluster", model.default_prior, 201)
    with pytest.raises(UserError) as err:
        group_ages(frame, model.density, "nope", model.default_prior, 201)
    assert str(err.value) == ("missing column 'nope' (with by=None, all rows are one group); the frame has: prot, "
                              "bp_rp0, bp_rp0_err, cluster")
    with pytest.raises(UserError, match=r"^missing column 'nope'; the frame has: prot,"):
        group_ages(frame, *args, membership="nope")
    with pytest.raises(UserError, match=r"^main_sequence=True needs abs_g0, or g0 and parallax \(found: none\)"):
        group_ages(frame, *args, main_sequence=True)
    with pytest.raises(UserError, match=r"^reddening= de-reddens an observed colour, but the frame has no bp_rp "
                                        r"column$"):
        group_ages(frame, *args, reddening=Reddening(ebprp=0.05))
    observed = frame.drop(columns=["bp_rp0", "bp_rp0_err"]).assign(bp_rp=frame["bp_rp0"])
    with pytest.raises(UserError, match=r"give reddening=Reddening\(\.\.\.\), or an E\(BP-RP\)") as err:
        group_ages(observed, *args)  # review V18: this one still said --ebprp, --av or --ebv
    assert "--" not in str(err.value)
    path = tmp_path / "g.csv"
    frame.to_csv(path, index=False)
    res = run_cli("group-age", str(path), "--by", "nope", "-q")
    assert res.returncode == 2
    assert res.stderr == ("gyroage: error: missing column 'nope' (without --by, all rows are one group); the file has: "
                          "prot, bp_rp0, bp_rp0_err, cluster\n")
    res = run_cli("group-age", str(path), "--by", "cluster", "--ebprp", "0.05", "-q")
    assert res.stderr == ("gyroage: error: --ebprp/--av/--ebv de-redden an observed colour, but the input has no bp_rp "
                          "column\n")


def test_age_model_estimate_refuses_in_its_own_words(model):
    """Review V19 #5: AgeModel.estimate told a Python caller to 'give --ebprp, --av or --ebv' and named 'the file'
    (group_ages had been mended); it names EstimateSettings(reddening=...) and the frame now."""
    import pandas as pd

    from gyroage.core.colours import Reddening
    from gyroage.core.estimate import EstimateSettings

    with pytest.raises(UserError) as err:
        model.estimate(pd.DataFrame({"Prot": [10.0, 8.0], "bp_rp": [1.0, 0.9]}))
    assert "EstimateSettings(reddening=Reddening(...))" in str(err.value) and "--" not in str(err.value)
    settings = EstimateSettings(prior=model.default_prior, reddening=Reddening(av=0.1))
    with pytest.raises(UserError, match=r"^EstimateSettings\(reddening=\) de-reddens an observed colour, but the "
                                        r"frame has no bp_rp column"):
        model.estimate(pd.DataFrame({"prot": [10.0], "bp_rp0": [1.0]}), settings)
    with pytest.raises(UserError, match="; the frame has: bp_rp0$"):
        model.estimate(pd.DataFrame({"bp_rp0": [1.0]}))


def test_group_ages_warns_of_its_columns_as_estimate_does(model):
    """group_ages warned only of M_G with main_sequence; it now warns what AgeModel.estimate warns of the columns (one
    helper, api_frames.warn_column_notes): several columns of one quantity."""
    frame = _members(model).assign(cluster="x")
    frame["Prot"] = frame["prot"]
    with pytest.warns(UserWarning, match="several columns are prot") as both:
        group_ages(frame, model.density, "cluster", model.default_prior, 201)
    with pytest.warns(UserWarning, match="several columns are prot") as alone:
        model.estimate(frame.drop(columns="cluster"))
    assert [str(w.message) for w in both if "several" in str(w.message)] == [
        str(w.message) for w in alone if "several" in str(w.message)]




def test_rows_repeating_another_rows_group_period_and_colour_are_counted(tmp_path, model):
    """Review V35, finding 5: a member list whose stars are listed twice (two surveys' periods merged) counted each
    twice with no word, narrowing the interval; they are kept, and stderr counts them."""
    src = tmp_path / "m.csv"
    a, b = _members(model, seed=1).assign(cluster="A"), _members(model, seed=2).assign(cluster="B")
    other = a.iloc[:3].assign(cluster="C")  # the same stars in another group: no repeat
    frame = pd.concat([a, a.iloc[:5], b, b.iloc[:2], b.iloc[:2], other])
    frame.to_csv(src, index=False)
    res = run_cli("group-age", str(src), "--by", "cluster", "--grid", "201")
    assert res.returncode == 0, res.stderr
    assert pd.read_csv(StringIO(res.stdout))["n_used"].tolist() == [17, 16, 3]  # kept
    assert ("group-age: "
            "9 used rows have another row's group, period and colour to the table's precision (in 2 groups; no column "
            "named as an id, source_id, tic, name, ..., tells stars apart): distinct stars may agree so and are "
            "kept, but a star listed twice counts as two members, narrowing the interval: drop its copies"
            in res.stderr.splitlines())
    once = tmp_path / "once.csv"
    frame.drop_duplicates().to_csv(once, index=False)
    assert "repeat" not in run_cli("group-age", str(once), "--by", "cluster", "--grid", "201").stderr


def test_distinct_stars_agreeing_at_the_tables_precision_are_not_called_repeats(tmp_path, model):
    """Review V36a, finding 5: Pleiades and NGC 2516 stars rounded as published tables round them (0.01 d, 0.01 mag)
    were counted as repeated rows (18 of 1,441 distinct Gaia stars), and users were told to drop them."""
    src = tmp_path / "m.csv"
    a = _members(model, seed=1).round(2).assign(cluster="A", source_id=np.arange(12) + 5290646440127895936)
    twin = a.iloc[:4].assign(source_id=np.arange(4) + 10)  # other stars, same period and colour to 0.01
    pd.concat([a, twin]).to_csv(src, index=False)
    res = run_cli("group-age", str(src), "--by", "cluster", "--grid", "201")
    assert res.returncode == 0, res.stderr
    assert "repeat" not in res.stderr and "drop" not in res.stderr
    pd.concat([a, twin, a.iloc[:3]]).to_csv(src, index=False)  # three stars listed twice, under their own ids
    res = run_cli("group-age", str(src), "--by", "cluster", "--grid", "201")
    assert ("group-age: 3 used rows repeat another row's source_id, group, period and colour (in 1 group): a star "
            "listed twice counts as two members, narrowing the interval: drop its copies"
            in res.stderr.splitlines())
    no_id = tmp_path / "no_id.csv"
    pd.concat([a, twin]).drop(columns="source_id").to_csv(no_id, index=False)
    res = run_cli("group-age", str(no_id), "--by", "cluster", "--grid", "201")
    assert ("group-age: "
            "4 used rows have another row's group, period and colour to the table's precision (in 1 group; no column "
            "named as an id, source_id, tic, name, ..., tells stars apart): distinct stars may agree so and are "
            "kept, but a star listed twice counts as two members, narrowing the interval: drop its copies"
            in res.stderr.splitlines())


def test_labels_differing_after_a_decimal_point_are_not_alike_and_a_hyphen_reads_as_a_blank():
    """Review V36a, finding 6: 'field 1.05' and 'field 1.5' were called alike (the 0 after the point was dropped as a
    leading zero); 'IC-2391' and 'IC 2391' were not."""
    from gyroage.core.group_notes import similar_labels

    assert similar_labels(["field 1.05", "field 1.5", "Cl 1.0", "Cl 1.00"]) == []
    assert similar_labels(["IC-2391", "IC 2391", "Sco-Cen", "Sco Cen", "NGC 0120", "NGC 120"]) == [
        ["IC-2391", "IC 2391"], ["Sco-Cen", "Sco Cen"], ["NGC 0120", "NGC 120"]]


def test_the_api_warns_of_repeated_rows_and_look_alike_labels_as_the_cli_says_them(model):
    """Review V36a, finding 7: gyroage.group_ages gave neither notice the command line gives."""
    a = _members(model, seed=1)
    frame = pd.concat([a.assign(cluster="Praesepe"), a.iloc[:3].assign(cluster="Praesepe"),
                       a.assign(cluster="praesepe"), a.assign(cluster="prae-sepe")])
    with pytest.warns(UserWarning) as caught:
        group_ages(frame, model.density, "cluster", model.default_prior, 201)
    texts = [str(w.message) for w in caught]
    assert texts == [
        "gyroage: groups 'Praesepe', 'praesepe' and 'prae-sepe' differ only in case, blanks, '_', '-' or leading "
        "zeros: dated separately",
        "gyroage: 3 used rows have another row's group, period and colour to the table's precision (in 1 group; no "
        "column named as an id, source_id, tic, name, ..., tells stars apart): distinct stars may agree so and "
        "are kept, but a star listed twice counts as two members, narrowing the interval: drop its copies"], texts
    assert caught[0].filename == __file__


def test_rows_with_blank_ids_are_not_called_copies_by_id():
    """Review V38, finding 4: two rows with a blank source_id and the same group, period and colour were called
    repeats "of another row's source_id ... drop its copies"; a blank id tells nothing of which star a row is."""
    from gyroage.core.group_notes import repeated_rows

    groups, prot, colour = np.array(["A"] * 4), np.array([5.0, 5.0, 5.0, 5.0]), np.array([1.2, 1.2, 1.2, 1.2])
    ids = pd.DataFrame({"source_id": [np.nan, np.nan, "7", "7"]})
    assert repeated_rows(groups, prot, colour, ids) == (1, 1)  # the two 7s only
    assert repeated_rows(groups, prot, colour, pd.DataFrame({"source_id": ["", " ", "7", "8"]})) == (0, 0)
    assert repeated_rows(groups, prot, colour) == (3, 1)  # without ids: period and colour, as before
    # review V39b, finding 1: one blank id column of two (a mostly empty 'name' beside a full source_id) hid every copy
    both = pd.DataFrame({"source_id": ["7", "7", "8", "9"], "name": ["", "", "", "x"]})
    assert repeated_rows(groups, prot, colour, both) == (1, 1)


def test_rows_at_other_heights_are_no_repeats_when_the_height_term_reads_them():
    """CI run 165: two rotators of one period and colour, 1.5 mag apart in absolute G (one pre-main-sequence), were
    called repeats under --main-sequence, which dates them apart by their heights."""
    from gyroage.core.group_notes import repeated_rows

    groups, prot, colour = np.array(["A"] * 4), np.full(4, 5.0), np.full(4, 1.2)
    assert repeated_rows(groups, prot, colour) == (3, 1)
    assert repeated_rows(groups, prot, colour, abs_g=np.array([6.0, 7.5, 6.0, np.nan])) == (1, 1)  # the two 6.0s


@pytest.mark.parametrize("sep, decimal", [(",", "."), (";", ",")])
def test_a_spreadsheets_empty_rows_are_no_stars(tmp_path, model, sep, decimal):
    """Review leftover (FW9a, 3): a sheet saved as CSV with its trailing empty rows (',,,' lines, CRLF, as Excel
    writes them) came out as a no_group row of group-age's output, an empty group named nothing, and without --by
    they were members of the file's group that no period dated. A row empty in every column is no star."""
    members = pd.concat([_members(model, seed=1).assign(cluster="A"), _members(model, seed=2).assign(cluster="B")])
    text = members.to_csv(index=False, sep=sep, decimal=decimal, lineterminator="\r\n")
    def tail(n: int) -> str:  # three rows of empty cells, two of blanks
        return (sep * (n - 1) + "\r\n") * 3 + (sep.join([" "] * n) + "\r\n") * 2

    src = tmp_path / "sheet.csv"
    src.write_text(text + tail(4))
    res = run_cli("group-age", str(src), "--by", "cluster", "--grid", "201", "-o", str(tmp_path / "o.csv"))
    assert res.returncode == 0, res.stderr
    out = pd.read_csv(tmp_path / "o.csv")
    assert out["cluster"].tolist() == ["A", "B"] and out["n_stars"].tolist() == [12, 12], out
    assert "without a group" not in res.stderr and "left out" not in res.stderr, res.stderr
    src.write_text(members.drop(columns="cluster").to_csv(index=False, sep=sep, decimal=decimal,
                                                          lineterminator="\r\n") + tail(3))
    res = run_cli("group-age", str(src), "--grid", "201", "-o", str(tmp_path / "o.csv"), "-q")
    assert res.returncode == 0, res.stderr
    whole = pd.read_csv(tmp_path / "o.csv")
    assert whole["n_stars"].tolist() == [24] and whole["n_used"].tolist() == [24], whole
    # the API alike; a row with anything in it (a period without a group) is still counted as a row without a group
    frame = pd.concat([members, pd.DataFrame([[np.nan] * 4, [np.nan, 5.0, np.nan, np.nan]], columns=members.columns)])
    got = group_ages(frame, model.density, "cluster", model.default_prior, 201)
    assert got["status"].tolist() == ["ok", "ok", "no_group"] and got["n_stars"].tolist() == [12, 12, 1], got


@pytest.mark.parametrize("unit", ["10**-2", "%", "percent"])
def test_a_fits_membership_in_percent_is_announced_in_percent(tmp_path, model, unit):
    """Review leftover (FW9a, 5): astropy writes % to FITS as TUNIT '10**-2' and reads it back as a scale of 0.01, so
    a FITS percent membership was announced "converted column 'PMem' from 0.01 to fraction", as if the file held
    values of 0.01: it holds percentages, and says so as the ECSV and CSV ones do."""
    from astropy.io import fits
    from astropy.table import Table

    p = np.linspace(0.1, 0.95, 12)
    fractions = tmp_path / "f.csv"
    _with_membership(model, p).to_csv(fractions, index=False)
    Table.from_pandas(_with_membership(model, 100 * p)).write(tmp_path / "p.fits")
    with fits.open(tmp_path / "p.fits", mode="update") as hdul:
        hdul[1].header[f"TUNIT{hdul[1].columns.names.index('PMem') + 1}"] = unit
    ref = run_cli("group-age", str(fractions), "--by", "cluster", "--membership", "PMem", "--grid", "201", "-q")
    res = run_cli("group-age", str(tmp_path / "p.fits"), "--by", "cluster", "--membership", "PMem", "--grid", "201",
                  "-q")
    assert res.returncode == 0, res.stderr
    assert "gyroage: converted column 'PMem' from % to fraction" in res.stderr.splitlines(), res.stderr
    assert pd.read_csv(StringIO(res.stdout)).equals(pd.read_csv(StringIO(ref.stdout)))
