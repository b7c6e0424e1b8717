"""group-age on literature tables: members left out are counted and said, and a group dated from few of its
members carries a caution (review R, findings 1, 2, 7, 9, 10 and 12)."""

from __future__ import annotations

from io import StringIO

import numpy as np
import pandas as pd
import pytest

from gyroage.core.groups import group_ages
from tests.conftest import run_cli


def _members(model, age_myr: float = 600.0, n: int = 20, seed: int = 4) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    colour = rng.uniform(0.9, 2.2, n)
    prot = model.sample_periods(age_myr, colour, n=1, seed=seed + 100, bp_rp0_err=np.full(n, 0.02))[:, 0]
    return pd.DataFrame({"prot": prot, "bp_rp0": colour, "bp_rp0_err": 0.02})


def _half_unusable(model) -> pd.DataFrame:
    """Cluster A: 20 usable members; cluster B: 20 members, 14 without a period and 1 without a colour."""
    b = _members(model, seed=5).astype(object)
    b.loc[:13, "prot"] = ""
    b.loc[14, "bp_rp0"] = "--x"
    return pd.concat([_members(model).assign(cluster="A"), b.assign(cluster="B")], ignore_index=True)


def test_a_group_dated_from_under_half_its_members_is_flagged_and_the_reasons_are_said(tmp_path, model):
    """Review R, finding 1: NGC 6811 dated from 1 of 150 members (E(B-V) on its first row only) came out 281 Myr,
    status ok, and nothing said why 149 members were left out."""
    frame = _half_unusable(model)
    out = group_ages(frame, model.density, "cluster", model.default_prior, 201)
    assert out["n_used"].tolist() == [20, 5]
    assert out["age_flags"].tolist() == ["", "most_members_unused"]
    assert out["status"].tolist() == ["ok", "ok"]  # a caution: the age stands
    src = tmp_path / "m.csv"
    frame.to_csv(src, index=False)
    res = run_cli("group-age", str(src), "--by", "cluster", "--grid", "201")
    assert res.returncode == 0, res.stderr
    assert "group-age: 15 of 40 members left out: invalid_colour 1, invalid_period 14" in res.stderr.splitlines()
    assert pd.read_csv(StringIO(res.stdout))["age_flags"].fillna("").tolist() == ["", "most_members_unused"]
    quiet = run_cli("group-age", str(src), "--by", "cluster", "--grid", "201", "-q")
    assert quiet.returncode == 0 and quiet.stderr == ""


def test_members_a_membership_column_calls_non_members_do_not_make_a_group_mostly_unused(tmp_path, model):
    """A membership of 0 is the user's word that the star is no member: said apart, not counted against the group;
    a blank membership is a member left out."""
    frame = _members(model, n=30).assign(cluster="A", p=np.r_[np.full(12, 0.9), np.zeros(16), np.nan, np.nan])
    out = group_ages(frame, model.density, "cluster", model.default_prior, 201, membership="p")
    assert out["n_used"].tolist() == [12] and out["age_flags"].tolist() == [""]
    src = tmp_path / "m.csv"
    frame.to_csv(src, index=False)
    res = run_cli("group-age", str(src), "--by", "cluster", "--membership", "p", "--grid", "201")
    assert res.returncode == 0, res.stderr
    assert "group-age: 18 of 30 members left out: membership_missing 2, membership_zero 16" in res.stderr.splitlines()
    # with more blank memberships than usable members, the group is mostly unused
    frame["p"] = np.r_[np.full(12, 0.9), np.zeros(4), np.full(14, np.nan)]
    out = group_ages(frame, model.density, "cluster", model.default_prior, 201, membership="p")
    assert out["n_used"].tolist() == [12] and out["age_flags"].tolist() == ["most_members_unused"]


def test_a_period_error_group_age_never_uses_leaves_no_member_out(model):
    """Review R, finding 2b: e_Prot = -99 (a sentinel) or '<0.01' on most rows dropped those members
    (invalid_period_err) and moved the joint age, status ok; the grid's joint age never reads a period error."""
    frame = pd.concat([_members(model).assign(cluster="A"), _members(model, 150.0, seed=6).assign(cluster="B")],
                      ignore_index=True)
    ref = group_ages(frame, model.density, "cluster", model.default_prior, 201)
    bad = frame.assign(e_Prot=np.where(np.arange(len(frame)) % 3 == 0, "0.1", np.where(np.arange(len(frame)) % 3 == 1,
                                                                                     "-99", "<0.01")))
    out = group_ages(bad, model.density, "cluster", model.default_prior, 201)
    pd.testing.assert_frame_equal(out, ref)


def test_a_colour_error_of_zero_from_a_rounded_table_is_clipped_not_dropped(model):
    """Review R, finding 2a: e_BPRP_0 rounded to 0.1 mag read 0.0 on 75% of the rows, which left them out
    (invalid_colour_err) and moved Pleiades +0.17 dex, ok. An error of 0 is below the trained range, so it is
    clipped up as 0.001 is; a negative error is still refused."""
    frame = _members(model).assign(cluster="A")
    lo = model.density.card.domain["bp_rp0_err"][0]
    small = group_ages(frame.assign(bp_rp0_err=0.001), model.density, "cluster", model.default_prior, 201)
    zero = group_ages(frame.assign(bp_rp0_err=np.r_[np.zeros(19), -0.0]), model.density, "cluster",
                      model.default_prior, 201)
    assert zero["n_used"].tolist() == [20]
    pd.testing.assert_frame_equal(zero, small)
    clipped = group_ages(frame.assign(bp_rp0_err=lo), model.density, "cluster", model.default_prior, 201)
    pd.testing.assert_frame_equal(zero, clipped)
    negative = group_ages(frame.assign(bp_rp0_err=np.r_[np.full(10, -0.01), np.zeros(10)]), model.density,
                          "cluster", model.default_prior, 201)
    assert negative["n_used"].tolist() == [10]
    # estimate keeps its contract: a given error of 0 is invalid_colour_err there (a star's own status row says so)
    assert list(model.posterior([8.0, 8.0], [1.2, 1.2], [0.0, 0.02]).status) == ["invalid_colour_err", "ok"]


def test_group_labels_that_say_no_value_are_rows_without_a_group(tmp_path, model):
    """Review R, finding 7: labels NA, nan, --, N/A, null and None were dated as clusters of those names."""
    tokens = ["NA", "nan", "--", "N/A", "null", "None", " na "]
    frame = pd.concat([_members(model, n=6).assign(cluster="A"),
                       _members(model, n=len(tokens), seed=8).assign(cluster=tokens)], ignore_index=True)
    out = group_ages(frame, model.density, "cluster", model.default_prior, 201)
    assert out["cluster"].tolist() == ["A", ""] and out["status"].tolist() == ["ok", "no_group"]
    assert out["n_stars"].tolist() == [6, len(tokens)]
    src = tmp_path / "m.csv"
    frame.to_csv(src, index=False)
    res = run_cli("group-age", str(src), "--by", "cluster", "--grid", "201")
    assert res.returncode == 0, res.stderr
    assert res.stderr.splitlines()[-1] == "group-age: 1 group, 1 ok; 7 rows without a group"


def test_a_group_dated_from_under_five_members_carries_the_few_members_caution(model):
    """Review R, finding 10: a 2 Gyr group of two stars (68% intervals 5-85 and 1337-5888 Myr) came out 162 Myr, ok,
    outside both; a joint age from so few members rests on each one's period."""
    frame = pd.concat([_members(model, n=2).assign(cluster="two"), _members(model, n=4, seed=7).assign(cluster="four"),
                       _members(model, n=5, seed=9).assign(cluster="five")], ignore_index=True)
    out = group_ages(frame, model.density, "cluster", model.default_prior, 201)
    assert out["n_used"].tolist() == [2, 4, 5]
    assert out["age_flags"].tolist() == ["few_members", "few_members", ""]
    assert out["status"].tolist() == ["ok", "ok", "ok"]
    # the members used count, not the rows: five rows of which two are usable
    five = _members(model, n=5, seed=9).assign(cluster="c").astype(object)
    five.loc[:2, "prot"] = ""
    out = group_ages(five, model.density, "cluster", model.default_prior, 201)
    assert out["age_flags"].tolist() == ["most_members_unused;few_members"]


def test_by_a_column_naming_each_star_warns_that_most_groups_hold_one_member(tmp_path, model):
    """Review R, finding 12: --by on a star-name column dated each star as a group ('600 groups, 431 ok'), no hint."""
    src = tmp_path / "m.csv"
    frame = _members(model, n=8).assign(cluster="A")
    frame["Name"] = [f"star {i}" for i in range(8)]
    frame.to_csv(src, index=False)
    res = run_cli("group-age", str(src), "--by", "Name", "--grid", "201")
    assert res.returncode == 0, res.stderr
    assert ("group-age: warning: 8 of 8 groups hold a single row: does --by Name name each star rather than its group?"
            in res.stderr.splitlines())
    res = run_cli("group-age", str(src), "--by", "cluster", "--grid", "201")
    assert res.returncode == 0 and "single row" not in res.stderr, res.stderr


@pytest.mark.parametrize("name", ["Name", "Cl", "Cluster_ID", "OC_name", "Assoc", "MG", "Region", "Target",
                                  "Group_name", "Clust", "ClusterID"])
def test_without_by_other_cluster_column_names_are_refused_not_pooled(tmp_path, model, name):
    """Review R, finding 6: a four-cluster table whose cluster column was called Name, Cl, Cluster_ID, ... was pooled
    into one age (846 Myr, ok); only cluster, cluster_name, group, association, moving_group and oc were refused."""
    src = tmp_path / "clusters.csv"
    pd.concat([_members(model, 100.0, n=6, seed=1).assign(**{name: "Pleiades"}),
               _members(model, 700.0, n=6, seed=2).assign(**{name: "Praesepe"})]).to_csv(src, index=False)
    res = run_cli("group-age", str(src), "--grid", "201")
    assert res.returncode == 2 and res.stdout == ""
    assert res.stderr.strip() == (f"gyroage: error: column '{name}' holds 2 groups ('Pleiades', 'Praesepe'): give "
                                  f"--by {name} to date each; without --by all rows are one group (drop the column "
                                  "to pool them)")


def test_without_by_a_name_column_of_star_names_is_one_group(model):
    """Name and Target mostly name stars: refused only when their values repeat (a cluster's name on many rows);
    a no-value label (NA) is no group name."""
    stars = _members(model, n=8).assign(Name=[f"star {i}" for i in range(7)] + ["star 0"], Target="NA")
    out = group_ages(stars, model.density, None, model.default_prior, 201, label="mine")
    assert out["group"].tolist() == ["mine"] and out["n_used"].tolist() == [8]
    one = _members(model, n=8).assign(Cluster_ID=["NGC 2516"] * 7 + ["nan"])
    assert group_ages(one, model.density, None, model.default_prior, 201)["n_used"].tolist() == [8]


def test_a_group_whose_likelihood_lies_beyond_a_prior_bound_carries_a_caution(model):
    """Review R, finding 9: with --age-min-myr 200 --age-max-myr 1000, M67 came out 884 Myr, ok: its posterior piled
    against the upper bound, with most of its members' likelihood at older ages the prior cut off."""
    from gyroage.core.priors import Prior

    frame = pd.concat([_members(model, 3000.0, n=30, seed=3).assign(cluster="old"),
                       _members(model, 500.0, n=30, seed=4).assign(cluster="mid")], ignore_index=True)
    narrow = Prior(log10_age_min=np.log10(200e6), log10_age_max=9.0)
    out = group_ages(frame, model.density, "cluster", narrow, 201)
    # forced young, the old members also fit better as outliers (many_outliers) and misfit (poor_fit): the new
    # caution names the cause
    assert "age_beyond_prior_bound" in out["age_flags"][0].split(";") and out["age_flags"][1] == ""
    assert out["status"].tolist() == ["ok", "ok"] and 800 < out["age_p50_myr"][0] < 1000
    young = Prior(log10_age_min=np.log10(1500e6))
    assert "age_beyond_prior_bound" in group_ages(frame, model.density, "cluster", young, 201)["age_flags"][1]
    # the default prior spans the model's whole age grid: nothing lies beyond it
    assert group_ages(frame, model.density, "cluster", model.default_prior, 201)["age_flags"].tolist() == ["", ""]


def test_periods_in_other_units_than_days_carry_the_poor_fit_caution(model):
    """Review R, finding 3: periods in hours, log10 or ln days (no unit in the column name) were dated without a
    word (M67 in log10 days: 63 Myr, ok). The members' periods then do not follow the model's period distribution at
    their joint age, which a group of periods in days drawn from the model does."""
    days = pd.concat([_members(model, 600.0, n=60, seed=11).assign(cluster="days"),
                      _members(model, 3000.0, n=60, seed=12).assign(cluster="old")], ignore_index=True)
    out = group_ages(days, model.density, "cluster", model.default_prior, 201)
    assert "poor_fit" not in ";".join(out["age_flags"])
    for unit, convert in (("hours", lambda p: 24 * p), ("log10", np.log10)):
        wrong = days.assign(prot=convert(days["prot"]), cluster=days["cluster"] + "_" + unit)
        flags = group_ages(wrong, model.density, "cluster", model.default_prior, 201)["age_flags"]
        assert all("poor_fit" in f.split(";") for f in flags), (unit, flags.tolist())


class _ErrorReadingFlow:
    """The shipped flow plus an age term in the colour error it is given: the shipped flow ignores that input, so a
    member's error as group_posterior passes it (NaN filled, 0 clipped up, 0.8 clipped down) could not show."""

    def __init__(self, density) -> None:
        self._density = density

    def __getattr__(self, name: str):
        return getattr(self._density, name)

    def log_prob_grid(self, log10_prot, bp_rp0, bp_rp0_err, grid, outlier_weight=None):
        base = self._density.log_prob_grid(log10_prot, bp_rp0, bp_rp0_err, grid, outlier_weight=outlier_weight)
        err = np.asarray(bp_rp0_err, dtype=float).reshape(-1, 1)
        return (base - 5.0 * err * (np.asarray(grid) - 8.5) ** 2).astype(np.float32)


@pytest.mark.parametrize("flow", ["shipped", "reads_its_error"])
def test_group_posterior_called_as_the_readme_shows_treats_members_as_group_age(model, flow):
    """Members without a colour error were dropped (group-age fills the card's default), a 0 error dropped too, an
    error above the trained range not clipped, and a period beyond the trained domain used: README's call gave
    759 Myr from 20 members where group-age gives 685 Myr from 39. Both routes now give the same numbers, also for a
    flow that reads its error input (review V15: with the shipped flow, the fill and clip could be removed unseen)."""
    from gyroage import default_group_systematic, excess_colour_sigma, group_ages, group_posterior

    colour = np.linspace(0.8, 2.2, 24)
    prot = model.sample_periods(age_myr=700, bp_rp0=colour, n=1, seed=1)[:, 0]
    err = np.full(24, 0.05)
    err[::3] = np.nan  # no colour error given
    err[1] = 0.0  # a table rounded to 0: clipped up, as group-age
    err[4] = 0.8  # above the trained range: clipped down
    prot[5] = 300.0  # beyond the trained periods: left out
    members = pd.DataFrame({"cluster": "sim", "BPRP_0": colour, "e_BPRP_0": err, "Prot": prot})
    density = model.density if flow == "shipped" else _ErrorReadingFlow(model.density)
    ages = group_ages(members, density, "cluster", model.default_prior)
    card = model.density.card
    gp = group_posterior(density, np.log10(members["Prot"]), members["BPRP_0"], members["e_BPRP_0"],
                         members["cluster"], model.default_prior, 1001, systematic_dex=default_group_systematic(card),
                         colour_sigma=excess_colour_sigma(members["e_BPRP_0"], None, card))
    assert list(gp.n_stars) == list(ages["n_stars"]) == [24] and list(gp.n_used) == list(ages["n_used"]) == [23]
    for name, value in gp.summaries().items():
        np.testing.assert_allclose(value, ages[name], rtol=1e-12, err_msg=name)
