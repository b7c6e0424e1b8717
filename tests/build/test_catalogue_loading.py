"""Loading a user's training catalogue: unit slips in the ages, cluster names spelt two ways, rows and clusters the
selection leaves out, column names spelt as ``estimate`` reads them, and early stopping a small catalogue loses.

The catalogues here are tiny synthetic ones written by each test (never the shared data).
"""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from gyroage.build.catalogue import (
    TrainingSet,
    check_excluded,
    clusters_left_out,
    load_catalogue,
    match_clusters,
    quality_select,
    selection_summary,
    val_clusters_notice,
)
from gyroage.errors import UserError
from tests.build.test_catalogue import assert_one_line_error, build_cli, synthetic, write


@pytest.mark.parametrize("ages, span, hint", [
    ((1.0, 2.5, 4.0), "1-4", "if these are Gyr, multiply by 1000"),  # old clusters, the x1000 forgotten
    ((7.0, 8.2, 9.4), "7-9.4", "if log10(yr), give 10**age / 1e6"),
])
def test_ages_in_gyr_or_log10_yr_within_the_grid_are_refused(tmp_path, ages, span, hint):
    """Ages 1.0-4.0 (Gyr) or 7.0-9.4 (log10 yr) lie inside 1-10000 Myr: they trained as Myr, exit 0, and a Sun-like
    star was dated 12 Myr."""
    frame = synthetic()
    frame["fiducial_age_Myr"] = frame["cluster"].map(dict(zip(("Alpha", "Beta", "Gamma"), ages)))
    path = write(frame, tmp_path / "cat.csv")
    with pytest.raises(UserError, match=re.escape(f"column fiducial_age_Myr spans {span} Myr")) as err:
        load_catalogue(path)
    assert hint in str(err.value)
    assert_one_line_error(build_cli("train", "--catalog", str(path), "--out", str(tmp_path / "o")), hint)
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("ages, log10", [((2.0, 5.0, 6.0, 10.0), False), ((6.0, 7.5, 8.2), True)])
def test_an_all_young_catalogue_is_refused_for_what_it_lacks(tmp_path, ages, log10):
    """Ages 2, 5, 6, 10 Myr (young clusters, a legitimate catalogue) were refused with "in Gyr? multiply by 1000"
    alone, and 6-10 Myr as "log10(yr)?": the refusal now leads with the reason (no cluster older than 14 Myr to learn
    spin-down from), and gives the log10(yr) hint only when an age is not a whole number (6, 8, 10 Myr are not
    log10 ages)."""
    frame = pd.concat([synthetic(4, seed=k).assign(cluster=f"C{k}", fiducial_age_Myr=a) for k, a in enumerate(ages)],
                      ignore_index=True)
    path = write(frame, tmp_path / "cat.csv")
    with pytest.raises(UserError) as err:
        load_catalogue(path)
    words = str(err.value)
    lead = (f"rotator catalogue {path}: column fiducial_age_Myr spans {min(ages):g}-{max(ages):g} Myr: every age is "
            "14 Myr or less, and training needs clusters older than that to learn spin-down; if these are Gyr, "
            "multiply by 1000")
    assert words.startswith(lead), words
    assert ("if log10(yr), give 10**age / 1e6" in words) is log10, words


def test_ages_in_myr_with_one_cluster_over_14_myr_are_read(tmp_path):
    """The published catalogue's ages start at 1.57 Myr: young clusters are fine beside one older than 14 Myr."""
    frame = synthetic()
    frame["fiducial_age_Myr"] = frame["cluster"].map({"Alpha": 1.57, "Beta": 8.0, "Gamma": 15.0})
    frame.loc[frame["cluster"] != "Gamma", "Prot"] /= 4  # 0.5-5 d: young stars spin fast (a 10 d median is refused)
    assert load_catalogue(write(frame, tmp_path / "cat.csv"))["fiducial_age_Myr"].max() == 15.0


def _two_spellings(frame, rows, spelling):
    frame = frame.copy()
    frame.loc[rows, "cluster"] = spelling
    return frame


def test_cluster_names_spelt_two_ways_are_one_cluster_with_a_notice(tmp_path, capsys):
    """"NGC 2516" and "NGC2516" were two clusters: validate --clusters held out one spelling and trained on the other
    (a leave-one-cluster-out leak), and weights counted fragments."""
    frame = synthetic().replace({"cluster": {"Beta": "NGC 2516"}})
    frame = _two_spellings(frame, frame.index[frame["cluster"].eq("NGC 2516")][-3:], "NGC2516")
    frame = _two_spellings(frame, frame.index[frame["cluster"].eq("Gamma")][-2:], "gamma")
    got = load_catalogue(write(frame, tmp_path / "cat.csv"))
    assert got["cluster"].tolist() == frame["cluster"].replace({"NGC2516": "NGC 2516", "gamma": "Gamma"}).tolist()
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert "'NGC2516' (3 rows) as 'NGC 2516' (9 rows)" in err and "'gamma' (2 rows) as 'Gamma' (10 rows)" in err, err
    # the folds read the catalogue quietly, and merge alike
    assert load_catalogue(tmp_path / "cat.csv", notices=False)["cluster"].tolist() == got["cluster"].tolist()
    assert capsys.readouterr().err == ""


def test_cluster_names_spelt_two_ways_with_different_ages_are_one_line(tmp_path):
    frame = synthetic()
    frame = _two_spellings(frame, frame.index[frame["cluster"].eq("Gamma")][-4:], "gamma")
    frame.loc[frame["cluster"].eq("gamma"), "fiducial_age_Myr"] = 900.0
    path = write(frame, tmp_path / "cat.csv")
    with pytest.raises(UserError) as err:
        load_catalogue(path)
    # it said "differ ... but not in age" (they do differ in age) and "give them one name and age", wrong for a
    # cluster of subgroup ages
    assert str(err.value) == (f"rotator catalogue {path}: clusters 'Gamma' and 'gamma' differ only in case, spaces, "
                              "hyphens or underscores, and their ages differ ('Gamma': 2500 Myr; 'gamma': 900 Myr): give them "
                              "one spelling (a cluster may hold subgroup ages) or names that differ otherwise")
    assert_one_line_error(build_cli("train", "--catalog", str(path), "--out", str(tmp_path / "o")), "'gamma'")


def test_a_cluster_spelt_two_ways_takes_the_first_spelling_in_the_file(tmp_path, capsys):
    """The merged name was the most common spelling: adding rows of the other renamed the cluster, and a card's
    exclude_clusters written as before was refused. The first spelling in the file is kept, whatever the counts."""
    frame = synthetic().replace({"cluster": {"Beta": "NGC 2516"}})
    frame = _two_spellings(frame, frame.index[frame["cluster"].eq("NGC 2516")][2:], "NGC2516")
    got = load_catalogue(write(frame, tmp_path / "cat.csv"))
    assert set(got["cluster"]) == {"Alpha", "NGC 2516", "Gamma"}
    assert "'NGC2516' (10 rows) as 'NGC 2516' (2 rows)" in capsys.readouterr().err
    # and the refusal of ages that differ names the spellings in the file's order
    frame.loc[frame["cluster"].eq("NGC2516"), "fiducial_age_Myr"] = 120.0
    with pytest.raises(UserError, match="clusters 'NGC 2516' and 'NGC2516' differ"):
        load_catalogue(write(frame, tmp_path / "cat.csv"))


def test_cluster_names_that_differ_in_hyphens_are_one_cluster(tmp_path, capsys):
    """'Sco-Cen' and 'ScoCen' stayed two clusters (validate held out one and trained on the other) while column names
    ignore hyphens; --clusters/--exclude 'Sco-Cen' now matches ScoCen too."""
    frame = synthetic().replace({"cluster": {"Beta": "ScoCen"}})
    frame.loc[frame.index[frame["cluster"].eq("ScoCen")][-3:], "cluster"] = "Sco–Cen"  # an en dash too
    frame.loc[frame.index[frame["cluster"].eq("ScoCen")][-2:], "cluster"] = "Sco-Cen"
    got = load_catalogue(write(frame, tmp_path / "cat.csv"))
    assert set(got["cluster"]) == {"Alpha", "ScoCen", "Gamma"}
    assert "differ only in case, spaces, hyphens or underscores" in capsys.readouterr().err
    assert match_clusters(["sco-cen", "Sco Cen"], ["Alpha", "ScoCen"]) == ["ScoCen", "ScoCen"]


def test_a_cluster_of_several_ages_is_merged_when_every_spelling_has_the_same_ages(tmp_path):
    """ScoCen-like clusters carry one age per subgroup: a second spelling holding the same ages is that cluster."""
    frame = synthetic()
    gamma = frame.index[frame["cluster"].eq("Gamma")]
    frame.loc[gamma[:6], "fiducial_age_Myr"] = 2000.0
    frame.loc[[gamma[1], gamma[6]], "cluster"] = "GAMMA"
    assert set(load_catalogue(write(frame, tmp_path / "cat.csv"))["cluster"]) == {"Alpha", "Beta", "Gamma"}


@pytest.mark.parametrize("spellings", [
    # a third spelling holding both ages merged two that disagree
    (("NGC 2516", 150.0), ("NGC2516", 120.0), ("ngc_2516", 120.0), ("ngc_2516", 150.0)),
    # one spelling's ages inside the other's: 'ScoCen' 10 Myr is not 'Sco Cen' 10 and 16 Myr
    (("Sco Cen", 10.0), ("Sco Cen", 16.0), ("ScoCen", 10.0)),
])
def test_spellings_whose_ages_differ_are_refused_pairwise(tmp_path, spellings):
    """Spellings were merged without a word when one of them held every age of the others, though README said they
    are refused when their ages differ: any two spellings whose ages differ are now refused."""
    frame = synthetic()
    rows = frame.index[frame["cluster"].eq("Beta")]
    for (name, age), chunk in zip(spellings, np.array_split(rows, len(spellings))):
        frame.loc[chunk, ["cluster", "fiducial_age_Myr"]] = [name, age]
    path = write(frame, tmp_path / "cat.csv")
    named = r"clusters '[^']+' and '[^']+' differ only in case.*\('[^']+': [\d, ]+ Myr; '[^']+': [\d, ]+ Myr\)"
    with pytest.raises(UserError, match=named):
        load_catalogue(path)
    assert_one_line_error(build_cli("train", "--catalog", str(path), "--out", str(tmp_path / "o")), "differ only")


def _leaky() -> pd.DataFrame:
    """synthetic() with 2 flagged rows, 3 with a missing value (colour, age, colour error), a cluster Ghost whose every
    row is flagged, a cluster Blank whose age is blank, and 2 exact repeats of an earlier row."""
    frame = synthetic().assign(e_BPRP_0=lambda f: 0.02 + 0.001 * (f.index % 5))  # training refuses one error
    frame.loc[[0, 1], "cmd_exclude"] = 1
    frame.loc[2, "BPRP_0"] = np.nan
    frame.loc[13, "fiducial_age_Myr"] = np.nan
    frame.loc[14, "e_BPRP_0"] = np.nan
    ghost = synthetic(4, seed=1).assign(cluster="Ghost", dr3_ruwe=2.0)
    blank = synthetic(3, seed=2).assign(cluster="Blank", fiducial_age_Myr=np.nan)
    return pd.concat([frame, ghost.iloc[:4], blank.iloc[:3], frame.iloc[[20, 30]]], ignore_index=True)


def test_the_rows_and_clusters_the_selection_leaves_out_are_counted(tmp_path, capsys):
    """Rows with a missing value, a cluster with every row flagged, one whose age is blank and repeated rows went
    without a word; on the published file nothing said the quality cuts removed 756 of 7,509 rows."""
    frame = _leaky()
    raw = load_catalogue(write(frame, tmp_path / "cat.csv"))
    err = capsys.readouterr().err
    assert "2 rows repeat an earlier row in every column (the first: data row 44, cluster Beta): each is used once" in err, err
    selected = quality_select(raw)
    assert len(selected) == 36 - 2 - 3 == len(raw) - 6 - 6 - 2
    assert selection_summary(raw) == (
        "catalogue: 31 of 45 rows used; left out: 6 by the quality flags (cmd_exclude==0, dered_exclude==0, "
        "phot_exclude==0, dr3_ruwe<1.4), 6 with a missing or unusable Prot, colour, colour error or age, 2 that "
        "repeat an earlier row; clusters with no star left: Blank, Ghost")
    assert "cluster" in selected and "Blank" not in set(selected["cluster"])
    assert selection_summary(load_catalogue(write(synthetic(), tmp_path / "clean.csv"))) == (
        "catalogue: 36 of 36 rows used")


def test_a_flagged_repeat_is_not_said_to_be_used_once(tmp_path, capsys):
    """The repeats' notice counted a repeat of a flagged row and said "each is used once", though the selection uses
    flagged rows zero times: it counts the repeats the selection leaves out as repeats."""
    frame = _leaky()
    frame = pd.concat([frame, frame.iloc[[0, 1]]], ignore_index=True)  # rows 0 and 1 are flagged (cmd_exclude)
    raw = load_catalogue(write(frame, tmp_path / "cat.csv"))
    err = capsys.readouterr().err
    assert "2 rows repeat an earlier row" in err and "4 rows repeat" not in err, err
    assert selection_summary(raw).startswith("catalogue: 31 of 47 rows used; left out: 8 by the quality flags")


def test_a_repeat_is_an_exact_copy_so_rows_differing_in_any_column_are_kept(tmp_path, capsys):
    """Repeats judged on the columns training reads (and a Gaia id) dropped different stars: stars with their own
    ra, dec and KIC, alike in the values as published (periods to 0.1 d, colours to 0.01), lost 111 of 900. A
    repeat is a row equal to an earlier one in every column; a star listed twice with another ref is used twice."""
    frame = synthetic().assign(ref="A", row_id=range(36))
    again = frame.iloc[[3, 20]].assign(ref="B")  # the same rows, only the reference differs
    both = pd.concat([frame, again], ignore_index=True)
    assert len(quality_select(load_catalogue(write(both, tmp_path / "ref.csv")))) == 38
    assert "repeat" not in capsys.readouterr().err
    copies = pd.concat([frame, frame.iloc[[3, 20]]], ignore_index=True)  # exact copies: each used once
    assert len(quality_select(load_catalogue(write(copies, tmp_path / "copies.csv")))) == 36
    assert "2 rows repeat an earlier row in every column (the first: data row 37" in capsys.readouterr().err
    # distinct stars (own ra, dec, KIC) alike in every column training reads: all kept
    alike = pd.concat([frame.iloc[[0]]] * 5, ignore_index=True).assign(
        ra=[130.1, 130.2, 130.3, 130.4, 130.5], dec=19.5, KIC=range(5037591, 5037596))
    stars = pd.concat([frame.assign(ra=0.0, dec=0.0, KIC=range(36)), alike], ignore_index=True)
    assert len(quality_select(load_catalogue(write(stars, tmp_path / "radec.csv")))) == 41
    assert "repeat" not in capsys.readouterr().err
    for idcol in ("EPIC", "DR3_ID", "gaia_dr3_designation", "GaiaDR3_ID"):
        ids = pd.concat([frame, frame.iloc[[3, 20]]], ignore_index=True).assign(**{idcol: range(100, 138)})
        assert len(quality_select(load_catalogue(write(ids, tmp_path / "ids.csv")))) == 38, idcol


def test_train_says_what_the_selection_left_out_unless_quiet(tmp_path):
    path = write(_leaky(), tmp_path / "cat.csv")
    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps({"max_epochs": 1, "n_val_clusters": 0, "threads": 1}))
    for quiet in (False, True):
        res = build_cli("train", "--catalog", str(path), "--out", str(tmp_path / f"o{quiet}"), "--config", str(cfg),
                        *(["-q"] if quiet else []))
        assert res.exit_code == 0, res.output
        assert ("train: catalogue: 31 of 45 rows used" in res.output) is not quiet, res.output


def test_a_cluster_with_no_star_passing_the_selection_is_named_so(tmp_path):
    """--exclude Ghost / validate --clusters Ghost said "unknown cluster 'Ghost'" for a cluster in the file whose every
    row fails the selection."""
    path = write(_leaky(), tmp_path / "cat.csv")
    raw = load_catalogue(path)
    selected = quality_select(raw)
    gone = clusters_left_out(raw)
    assert gone == {"Ghost": "its 4 rows: 4 left out by the quality flags (cmd_exclude==0, dered_exclude==0, "
                             "phot_exclude==0, dr3_ruwe<1.4)",
                    "Blank": "its 3 rows: 3 left out for a missing or unusable Prot, colour, colour error or age"}
    for name in ("Ghost", "ghost"):
        with pytest.raises(UserError, match=re.escape("cluster 'Ghost' has no star passing the quality selection "
                                                      "(its 4 rows: 4 left out by the quality flags")):
            match_clusters([name], selected["cluster"], gone)
    with pytest.raises(UserError, match="cluster 'Blank' has no star passing"):
        check_excluded(["Blank"], selected["cluster"], gone)
    with pytest.raises(UserError, match="unknown cluster 'Nowhere'"):
        match_clusters(["Nowhere"], selected["cluster"], gone)
    assert match_clusters(["alpha"], selected["cluster"], gone) == ["Alpha"]
    path = write(_leaky().iloc[:-2], tmp_path / "cat.csv")  # without the repeats' notice: the refusal is one line
    assert_one_line_error(build_cli("train", "--catalog", str(path), "--out", str(tmp_path / "o"), "--exclude", "Ghost"),
                          "cluster 'Ghost' has no star passing the quality selection")
    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps({"exclude_clusters": ["Blank"], "max_epochs": 1}))
    assert_one_line_error(build_cli("validate", "--catalog", str(path), "--out", str(tmp_path / "v"), "--min-members",
                                    "2", "--clusters", "ghost", "--config", str(cfg)), "cluster 'Ghost' has no star")
    assert_one_line_error(build_cli("validate", "--catalog", str(path), "--out", str(tmp_path / "v"), "--min-members",
                                    "2", "--config", str(cfg)), "cluster 'Blank' has no star")


@pytest.mark.parametrize("column, spelt, hint", [
    ("Prot", "P_rot", "(is it P_rot? rename it Prot)"),
    ("Prot", "period", "(is it period? rename it Prot)"),
    ("Prot", "Prot [d]", "(is it Prot [d]? rename it Prot)"),
    ("Prot", "Prot [h]", "(is it Prot [h]? give it in days as Prot)"),
    ("BPRP_0", "(BP-RP)0", "(is it (BP-RP)0? rename it BPRP_0)"),
    ("e_BPRP_0", "bp_rp0_err", "(is it bp_rp0_err? rename it e_BPRP_0)"),
    ("cluster", "group", "(is it group? rename it cluster)"),
    ("fiducial_age_Myr", "age_Gyr", "(is it age_Gyr? give it in Myr as fiducial_age_Myr)"),
    ("fiducial_age_Myr", "Age", "(is it Age? give it in Myr as fiducial_age_Myr)"),
])
def test_a_column_spelt_as_estimate_reads_it_is_named_in_the_refusal(tmp_path, column, spelt, hint):
    """P_rot, period, Prot [d], (BP-RP)0, group, age_Gyr were refused with no hint, though estimate reads the first
    ones: training reads the catalogue's own names, case ignored."""
    path = write(synthetic().rename(columns={column: spelt}), tmp_path / "cat.csv")
    with pytest.raises(UserError, match=re.escape(f"lacks column {column} {hint}; the file has: ")):
        load_catalogue(path)


@pytest.mark.parametrize("column, spelt, hint", [
    ("fiducial_age_Myr", ("age_err", "age"), "(is it age? give it in Myr"),
    ("fiducial_age_Myr", ("e_age", "Age_Gyr"), "(is it Age_Gyr? give it in Myr"),
    ("fiducial_age_Myr", ("age_Gyr", "fiducial_age"), "(is it fiducial_age? give it in Myr"),
    ("cluster", ("name", "cluster_name"), "(is it cluster_name? rename it cluster)"),
    ("cluster", ("members", "group"), "(is it group? rename it cluster)"),
    # an uncertainty, a bound or a reference is no age, and a unit marks the likeliest (the match was always "age")
    ("fiducial_age_Myr", ("age_unc", "age_Gyr"), "(is it age_Gyr? give it in Myr"),
    ("fiducial_age_Myr", ("Age_ref", "Age_Myr"), "(is it Age_Myr? give it in Myr"),
    ("fiducial_age_Myr", ("age_lo", "age_hi", "age_Myr"), "(is it age_Myr? give it in Myr"),
    ("fiducial_age_Myr", ("age_sig", "ERR_age", "age_Myr"), "(is it age_Myr? give it in Myr"),
    ("fiducial_age_Myr", ("age_ref", "cluster_age"), "(is it cluster_age? give it in Myr"),
    ("cluster", ("name_ref", "name"), "(is it name? rename it cluster)"),
])
def test_a_missing_column_hint_names_the_likeliest_column(tmp_path, column, spelt, hint):
    """The hint named the first column that matched, not the likeliest: 'age_err,age' said "(is it age_err? ...)"
    and 'name,cluster_name' "(is it name? ...)". Error, uncertainty, bound and reference columns are passed over,
    then the most specific name wins."""
    *others, real = spelt
    frame = synthetic().rename(columns={column: real}).assign(**{c: 1.0 for c in others})
    path = write(frame[[*others, *frame.columns[:-len(others)]]], tmp_path / "cat.csv")
    with pytest.raises(UserError, match=re.escape(f"lacks column {column} {hint}")):
        load_catalogue(path)


def test_the_train_help_names_the_columns_it_reads():
    res = build_cli("train", "--help")
    text = " ".join(res.output.replace("│", " ").split())
    assert "cluster, Prot (d), BPRP_0, e_BPRP_0, fiducial_age_Myr (Myr): these names, case ignored" in text, text


def _clusters(sizes: dict[str, tuple[int, float]]) -> TrainingSet:
    """Training arrays with clusters of the given (members, age in Myr)."""
    names = np.concatenate([[c] * n for c, (n, _) in sizes.items()])
    age = np.concatenate([[np.log10(a * 1e6)] * n for n, a in sizes.values()])
    one = np.ones(len(names))
    return TrainingSet(one, age, one, one, names.astype(str).astype(object))


def test_a_catalogue_too_small_to_hold_a_cluster_out_says_training_runs_every_epoch(tmp_path):
    """3 clusters: "validation clusters: none", then every max_epochs trained; with -q nothing."""
    small = _clusters({"A": (30, 100.0), "B": (30, 600.0), "C": (30, 2500.0)})
    want = ("no cluster can be held out for early stopping (of 3 clusters, 1 has 20+ members and is neither the "
            "youngest nor the oldest; 2 are needed): training runs all 300 epochs")
    assert val_clusters_notice(small, 4, 300) == want
    assert val_clusters_notice(small, 0, 300) is None  # n_val_clusters 0 asks for none
    path = write(synthetic().assign(e_BPRP_0=lambda f: 0.02 + 0.001 * (f.index % 5)), tmp_path / "cat.csv")
    res = build_cli("train", "--catalog", str(path), "--out", str(tmp_path / "o"), "--max-epochs", "1", "-q")
    assert res.exit_code == 0 and res.output == (
        "train: no cluster can be held out for early stopping (of 3 clusters, none has 20+ members and is neither "
        "the youngest nor the oldest; 2 are needed): training runs all 1 epoch\n"), res.output


def test_holding_out_more_than_half_the_clusters_is_named():
    sizes = {c: (30, 100.0 * (i + 1)) for i, c in enumerate("ABCDEFG")}
    data = _clusters(sizes)
    assert val_clusters_notice(data, 4, 300) == ("n_val_clusters 4 holds out 4 of the 7 clusters for early stopping, "
                                                 "leaving 3, fewer than half, to train on")
    assert val_clusters_notice(data, 3, 300) is None


def test_validate_says_what_the_selection_left_out_unless_quiet(tmp_path):
    """run_folds' line, as train's (--no-main-sequence: the term needs G_0 and a parallax, which these rows lack)."""
    path = write(_leaky().iloc[:-2], tmp_path / "cat.csv")
    for quiet in (False, True):
        res = build_cli("validate", "--catalog", str(path), "--out", str(tmp_path / f"v{quiet}"), "--min-members", "5",
                        "--clusters", "Beta", "--max-epochs", "1", "--jobs", "1", "--no-main-sequence",
                        *(["-q"] if quiet else []))
        assert res.exit_code == 0, res.output
        assert ("validate: catalogue: 31 of 43 rows used; left out: 6 by the quality flags" in res.output) is not quiet, \
            res.output


class _Stop(Exception):
    """Ends a train run where its training would start: what the test counts is said by then."""


@pytest.mark.parametrize("command", ["train", "validate"])
def test_a_run_works_out_the_selection_once(tmp_path, monkeypatch, command):
    """Review FB, 2: train worked out which rows the selection leaves out, and why, four times on the whole catalogue
    (the repeats notice, quality_select, clusters_left_out, selection_summary; each an exact-copy search over every
    column), validate five (its fold too). Now once per run, and once in each fold (which reads the catalogue again,
    as in its own process), with the same words."""
    from gyroage.build import catalogue, training

    calls = []
    real = catalogue.repeats
    monkeypatch.setattr(catalogue, "repeats", lambda frame: calls.append(len(frame)) or real(frame))
    path = write(_leaky(), tmp_path / "cat.csv")
    if command == "train":
        monkeypatch.setattr(training, "train_flow", lambda *a, **k: (_ for _ in ()).throw(_Stop()))
        res = build_cli("train", "--catalog", str(path), "--out", str(tmp_path / "o"), "--max-epochs", "1")
        assert isinstance(res.exception, _Stop), res.output
        runs = 1
    else:
        res = build_cli("validate", "--catalog", str(path), "--out", str(tmp_path / "v"), "--min-members", "5",
                        "--clusters", "Beta", "--max-epochs", "1", "--jobs", "1", "--no-main-sequence")
        assert res.exit_code == 0, res.output
        runs = 2  # the run's, and its one fold's
    assert "catalogue: 31 of 45 rows used; left out: 6 by the quality flags" in res.output, res.output
    assert "2 rows repeat an earlier row in every column" in res.output, res.output
    assert calls == [45] * runs
