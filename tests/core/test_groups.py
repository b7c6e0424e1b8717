"""Coeval groups: joint ages, membership mixture, vectorised reduction, CLI."""

from __future__ import annotations

import copy
from io import StringIO

import numpy as np
import pandas as pd
import pytest

from gyroage.core.calibration import Calibration
from gyroage.core.grid_cdf import trapezoid
from gyroage.core.groups import default_group_systematic, default_systematic_dex, group_ages, group_posterior
from gyroage.core.likelihood import grid_log_likelihood
from gyroage.core.priors import Prior
from gyroage.errors import UserError
from tests.conftest import run_cli


def _cluster(model, age_myr: float, n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    colour = rng.uniform(0.8, 2.6, n)
    prot = model.sample_periods(age_myr, colour, n=1, seed=seed + 1000, bp_rp0_err=np.full(n, 0.02))[:, 0]
    return pd.DataFrame({"prot": prot, "bp_rp0": colour, "bp_rp0_err": 0.02})


@pytest.mark.parametrize("age_myr", [150.0, 700.0, 2500.0])
def test_synthetic_cluster_age_within_two_sigma(model, age_myr):
    frame = _cluster(model, age_myr, 60, seed=int(age_myr))
    frame["cluster"] = "synth"
    out = group_ages(frame, model.density, "cluster", model.default_prior, n_grid=1001)
    row = out.iloc[0]
    x = np.log10(age_myr)
    lo, mid, hi = np.log10(row[["age_p16_myr", "age_p50_myr", "age_p84_myr"]].astype(float))
    sigma = 0.5 * (hi - lo)
    assert abs(mid - x) < 2 * sigma + 0.01, (mid, x, sigma)
    # a group of 60 is far tighter than one star
    single = model.posterior(frame["prot"][:1], frame["bp_rp0"][:1]).summaries()
    assert hi - lo < 0.5 * np.log10(single["age_p84_myr"][0] / single["age_p16_myr"][0])


def test_non_members_are_down_weighted(model):
    """Young interlopers (drawn at 30 Myr) drag a naive 700 Myr group age; membership weights stop that."""
    members = _cluster(model, 700.0, 40, seed=3)
    interlopers = _cluster(model, 30.0, 40, seed=11)
    frame = pd.concat([members.assign(p=1.0), interlopers.assign(p=0.02)], ignore_index=True)
    frame["g"] = "A"
    naive = group_ages(frame, model.density, "g", model.default_prior, systematic_dex=0.0)
    weighted = group_ages(frame, model.density, "g", model.default_prior, membership="p", systematic_dex=0.0)
    truth = np.log10(700.0)
    assert abs(np.log10(weighted["age_p50_myr"][0]) - truth) < abs(np.log10(naive["age_p50_myr"][0]) - truth)
    assert abs(np.log10(weighted["age_p50_myr"][0]) - truth) < 0.1


def test_systematic_floor_adds_in_quadrature(model):
    frame = _cluster(model, 700.0, 60, seed=5).assign(cluster="s")
    width = {}
    for sys_dex in (0.0, 0.09):
        row = group_ages(frame, model.density, "cluster", model.default_prior, n_grid=1001, systematic_dex=sys_dex).iloc[0]
        width[sys_dex] = 0.5 * np.log10(row["age_p84_myr"] / row["age_p16_myr"])
    assert np.hypot(width[0.0], 0.09) == pytest.approx(width[0.09], rel=0.1)


def _half_width(row) -> float:
    return 0.5 * np.log10(row["age_p84_myr"] / row["age_p16_myr"])


def test_systematic_width_follows_the_cards_widths_by_age(model):
    """By default a group's systematic width is the card's at its age (validation.group_calibration: held-out
    clusters under 100 Myr scatter about 0.3 dex, those near 1 Gyr under 0.1), not one width for every age."""
    widths = model.density.card.validation["group_calibration"]
    assert default_group_systematic(model.density.card) == Calibration(
        tuple(widths["log10_age_knots"]), tuple(widths["sigma_dex"]), level_scale=1.0)
    single = default_systematic_dex(model.density.card)
    young, old = _cluster(model, 40.0, 80, seed=4).assign(g="y"), _cluster(model, 1000.0, 80, seed=6).assign(g="o")
    by_age = group_ages(pd.concat([young, old], ignore_index=True), model.density, "g", model.default_prior).iloc[:2]
    one = group_ages(pd.concat([young, old], ignore_index=True), model.density, "g", model.default_prior,
                     systematic_dex=single).iloc[:2]
    assert _half_width(by_age.iloc[0]) > max(0.2, 2 * _half_width(one.iloc[0]))  # widened where LOCO says
    assert _half_width(by_age.iloc[1]) == pytest.approx(_half_width(one.iloc[1]), abs=0.02)  # never narrowed below it
    assert np.log10(by_age["age_p50_myr"] / one["age_p50_myr"]).abs().max() < 0.02  # medians barely move


def test_a_card_without_widths_by_age_keeps_the_single_width(model):
    card = copy.copy(model.density.card)
    card.validation = {k: v for k, v in card.validation.items() if k != "group_calibration"}
    assert default_group_systematic(card) == default_systematic_dex(card) > 0


def test_reduction_matches_a_per_group_loop(model):
    rng = np.random.default_rng(0)
    n = 30
    lp, c = np.log10(rng.uniform(1, 20, n)), rng.uniform(0.8, 2.5, n)
    err = np.full(n, 0.02)
    groups = rng.choice(["b", "a", "c"], n)
    prior = Prior("uniform_log_age", 7.0, 10.0)
    gp = group_posterior(model.density, lp, c, err, groups, prior, n_grid=101, outlier_weight=0.1)
    assert list(gp.groups) == list(dict.fromkeys(groups))
    grid = gp.grid
    ll = grid_log_likelihood(model.density, lp, c, err, grid, outlier_weight=0.1).astype(float)
    for k, g in enumerate(gp.groups):
        ref = ll[groups == g].sum(axis=0)
        ref = np.exp(ref - ref.max())
        ref /= trapezoid(ref, grid)
        assert np.allclose(gp.pdf[k], ref, rtol=1e-3, atol=1e-6)
        assert gp.n_stars[k] == gp.n_used[k] == np.sum(groups == g)


def test_cli_group_age(tmp_path, model):
    a, b = _cluster(model, 300.0, 30, seed=1), _cluster(model, 3000.0, 30, seed=2)
    bad = pd.DataFrame({"prot": [-1.0, np.nan], "bp_rp0": [1.0, 1.0], "bp_rp0_err": 0.02})
    frame = pd.concat([a.assign(Cluster="young"), b.assign(Cluster="old"), bad.assign(Cluster="empty")], ignore_index=True)
    src = tmp_path / "g.csv"
    frame.to_csv(src, index=False)
    res = run_cli("group-age", str(src), "--by", "cluster", "-q")
    assert res.returncode == 0, res.stderr
    out = pd.read_csv(StringIO(res.stdout))
    assert list(out.columns[:3]) == ["Cluster", "n_stars", "n_used"]
    for col in ("age_p2.5_myr", "age_p16_myr", "age_p50_myr", "age_p84_myr", "age_p97.5_myr", "age_map_myr", "status"):
        assert col in out.columns
    assert list(out["Cluster"]) == ["young", "old", "empty"]
    assert list(out["status"]) == ["ok", "ok", "no_valid_members"]
    assert list(out["n_used"]) == [30, 30, 0] and out["age_p50_myr"].isna().tolist() == [False, False, True]
    assert out["age_p50_myr"][0] < out["age_p50_myr"][1]
    missing = run_cli("group-age", str(src), "--by", "nope")
    assert missing.returncode == 2 and "nope" in missing.stderr


def test_catalogue_clusters_near_fiducial_ages(catalog_path, model):
    from gyroage.build.catalogue import load_catalogue, quality_select

    f = quality_select(load_catalogue(catalog_path))
    f = f[f["cluster"].isin(["Praesepe", "M67"])]
    frame = pd.DataFrame({"cluster": f["cluster"], "prot": f["Prot"], "bp_rp0": f["BPRP_0"], "bp_rp0_err": f["e_BPRP_0"]})
    out = group_ages(frame, model.density, "cluster", model.default_prior, n_grid=401)
    fid = f.groupby("cluster")["fiducial_age_Myr"].median()
    err = np.abs(np.log10(out["age_p50_myr"].to_numpy() / out["cluster"].map(fid).to_numpy()))
    assert np.all(err < 0.2), err


def test_rows_with_a_blank_group_are_counted_not_dropped(model):
    frame = pd.DataFrame({"cluster": ["A"] * 10 + [""] * 3 + ["B"] * 7 + [None] * 2,
                          "prot": np.r_[np.full(10, 8.0), np.full(3, 9.0), np.full(7, 12.0), np.full(2, 10.0)],
                          "bp_rp0": 1.0})
    with pytest.warns(UserWarning, match="15 used rows have another row's group, period and colour"):  # as stderr
        out = group_ages(frame, model.density, "cluster", model.default_prior, n_grid=201)
    assert out["n_stars"].sum() == len(frame)
    assert list(out["status"]) == ["ok", "ok", "no_group"] and out["n_stars"].iloc[-1] == 5
    assert np.isnan(out["age_p50_myr"].iloc[-1])


@pytest.mark.parametrize("kwargs, message", [({"n_grid": 20}, "n_grid must be at least 50"),
                                             ({"n_grid": 30001}, "n_grid must be at most 5001"),
                                             ({"outlier_weight": 1.5}, "outlier_weight must be in [0, 1)"),
                                             ({"systematic_dex": -0.1}, "systematic_dex must be >= 0"),
                                             ({"systematic_dex": float("inf")}, "systematic_dex must be >= 0 and finite"),
                                             ({"systematic_dex": float("nan")}, "systematic_dex must be >= 0 and finite")])
def test_group_ages_refuses_what_the_command_line_refuses(model, kwargs, message):
    """Settings are checked where they are defined: the library gives the command line's one-line error, naming its
    keyword (n_grid, not --grid, which a Python caller has no way to give)."""
    from gyroage.errors import UserError

    frame = pd.DataFrame({"prot": [8.0, 9.0], "bp_rp0": [1.0, 1.1], "cluster": ["A", "A"]})
    with pytest.raises(UserError, match="^" + message.replace("[", r"\[").replace(")", r"\)")):
        group_ages(frame, model.density, "cluster", Prior(), **kwargs)


def test_colour_uncertainty_is_marginalised_over_as_estimate_does(model):
    """Each member's likelihood is its colour-marginal one (gyroage estimate's), so a group of stars with
    uncertain colours (or reddening) is not dated as if their colours were exact."""
    from gyroage.core.colours import excess_colour_sigma
    from gyroage.core.likelihood import colour_marginal_log_likelihood

    frame = _cluster(model, 700.0, 40, seed=8)
    lp, c = np.log10(frame["prot"].to_numpy()), frame["bp_rp0"].to_numpy()
    prior = Prior("uniform_log_age", 7.0, 10.0)
    sigma = excess_colour_sigma(np.full(len(c), 0.15), None, model.card)
    assert (sigma > 0.05).all()  # the five-node tier
    gp = group_posterior(model.density, lp, c, np.full(len(c), 0.15), np.zeros(len(c)), prior, n_grid=201,
                         outlier_weight=0.0, colour_sigma=sigma)
    ref = colour_marginal_log_likelihood(model.density, lp, c, np.full(len(c), 0.15), gp.grid, sigma,
                                         refine_tol=None).astype(float).sum(axis=0)
    ref = np.exp(ref - ref.max())
    np.testing.assert_allclose(gp.pdf[0], ref / trapezoid(ref, gp.grid), rtol=1e-3, atol=1e-6)
    exact = group_posterior(model.density, lp, c, np.full(len(c), 0.15), np.zeros(len(c)), prior, n_grid=201,
                            outlier_weight=0.0)
    assert np.abs(gp.pdf[0] - exact.pdf[0]).max() > 0.05 * exact.pdf[0].max()
    # group_ages takes the uncertainty from the table, as estimate does
    wide = group_ages(frame.assign(bp_rp0_err=0.15, g="A"), model.density, "g", prior, n_grid=201, outlier_weight=0.0,
                      systematic_dex=0.0)
    np.testing.assert_allclose(wide["age_p50_myr"][0], gp.summaries()["age_p50_myr"][0], rtol=1e-4)


def test_groups_outside_the_trained_domain_are_flagged_not_ok(model):
    """A joint age beyond M67's (G dwarfs spinning 1.7x slower than at 3.9 Gyr) or a group of F stars blue of the
    Kraft break comes back ``extrapolated`` with its reason; a 700 Myr G-dwarf group stays ``ok``."""
    rng = np.random.default_rng(1)

    def group(age_myr, lo, hi, name, scale=1.0):
        colour = rng.uniform(lo, hi, 40)
        prot = model.sample_periods(age_myr, colour, n=1, seed=3, bp_rp0_err=np.full(40, 0.02))[:, 0] * scale
        return pd.DataFrame({"prot": prot, "bp_rp0": colour, "bp_rp0_err": 0.02, "cluster": name})

    frame = pd.concat([group(700, 0.8, 1.0, "g700"), group(3870, 0.8, 1.0, "old", scale=1.7),
                       group(700, 0.3, 0.4, "f_stars")], ignore_index=True)
    frame.loc[len(frame)] = {"prot": np.nan, "bp_rp0": 1.0, "bp_rp0_err": 0.02, "cluster": "empty"}
    out = group_ages(frame, model.density, "cluster", model.default_prior, n_grid=401).set_index("cluster")
    assert out.loc["g700", "status"] == "ok" and out.loc["g700", "age_flags"] == ""
    assert out.loc["old", "status"] == "extrapolated" and "age_outside_training" in out.loc["old", "age_flags"]
    assert out.loc["f_stars", "status"] == "extrapolated"
    assert out.loc["f_stars", "age_flags"].split(";")[0] == "colour_blue_of_kraft_break"
    assert out.loc["empty", "status"] == "no_valid_members" and out.loc["empty", "age_flags"] == ""


def test_a_group_dated_under_10_myr_carries_the_pre_main_sequence_caution(model):
    """Held out, every group dated this young (Taurus, Sco-Cen) missed by 0.3-0.5 dex: the flag says so."""
    rng = np.random.default_rng(2)

    def group(age_myr, name):
        colour = rng.uniform(0.9, 2.5, 40)
        prot = model.sample_periods(age_myr, colour, n=1, seed=4, bp_rp0_err=np.full(40, 0.02))[:, 0]
        return pd.DataFrame({"prot": prot, "bp_rp0": colour, "bp_rp0_err": 0.02, "cluster": name})

    frame = pd.concat([group(3, "young"), group(120, "pleiades_like")], ignore_index=True)
    out = group_ages(frame, model.density, "cluster", model.default_prior, n_grid=401).set_index("cluster")
    assert out.loc["young", "age_p50_myr"] < 10 and "pre_main_sequence_age" in out.loc["young", "age_flags"].split(";")
    assert out.loc["pleiades_like", "age_flags"] == "" and out.loc["pleiades_like", "status"] == "ok"


@pytest.mark.parametrize("by", ["status", "n_stars", "age_p50_myr"])
def test_a_group_column_named_like_an_output_column_keeps_its_labels(model, by):
    """--by status used to give one 'status' column reading ok, ok: the labels now come out as input_<name>."""
    frame = pd.DataFrame({by: ["A", "B"], "prot": [10.0, 25.4], "bp_rp0": [1.0, 0.82]})
    out = group_ages(frame, model.density, by, model.default_prior, n_grid=201)
    assert list(out[f"input_{by}"]) == ["A", "B"] and list(out["status"]) == ["ok", "ok"]
    assert list(out["n_stars"]) == [1, 1] and out.columns.is_unique and out.columns[0] == f"input_{by}"
    blank = group_ages(frame.assign(**{by: ["A", ""]}), model.density, by, model.default_prior, n_grid=201)
    assert list(blank[f"input_{by}"]) == ["A", ""] and list(blank["status"]) == ["ok", "no_group"]


def test_group_posterior_skips_members_it_cannot_use(model):
    """One NaN period blanked its whole group yet counted in n_used; a colour off the trained range was used."""

    lp = np.log10([np.nan, 9.0, 7.5, 25.4, 9.0])
    colour = [1.0, 1.05, 0.95, 0.82, 9.0]  # the last: far redder than the model was trained on
    gp = group_posterior(model.density, lp, colour, [0.02] * 5, ["a", "a", "a", "b", "b"], model.default_prior, 1001)
    assert list(gp.n_stars) == [3, 2] and list(gp.n_used) == [2, 1]
    p50 = gp.summaries()["age_p50_myr"]
    assert np.isfinite(p50).all()
    # the same as the usable members alone, and a scalar colour error is one per member
    alone = group_posterior(model.density, lp[1:4], colour[1:4], 0.02, ["a", "a", "b"], model.default_prior, 1001)
    assert np.allclose(alone.summaries()["age_p50_myr"], p50)


@pytest.mark.parametrize("kwargs, words", [({"outlier_weight": 2.0}, "--outlier-weight"), ({"n_grid": 2}, "--grid"),
                                           ({"outlier_weight": -0.1}, "--outlier-weight")])
def test_group_posterior_refuses_what_group_ages_refuses(model, kwargs, words):

    with pytest.raises(UserError, match=words):
        group_posterior(model.density, np.log10([9.0, 7.5]), [1.05, 0.95], [0.02] * 2, ["a", "a"],
                        model.default_prior, **{"n_grid": 1001, **kwargs})


def labelled(labels) -> pd.DataFrame:
    return pd.DataFrame({"prot": [10.0, 11.0, 25.4, 12.0], "bp_rp0": [1.0, 1.05, 0.82, 1.1], "cl": labels})


@pytest.mark.parametrize("labels, expected", [
    (pd.array([7, 7, 9, None], dtype="Int64"), pd.array([7, 9, None], dtype="Int64")),
    (np.array([7, 7, 9, 11]), np.array([7, 9, 11])),
    (np.array([1.5, 1.5, 2.0, np.nan]), np.array([1.5, 2.0, np.nan])),
    (np.array([True, True, False, False]), np.array([True, False])),
])
def test_numeric_group_labels_keep_their_type(model, labels, expected):
    """Int64 or float labels came out as the strings '7', '1.5' (and Parquet/FITS wrote them as text)."""
    out = group_ages(labelled(labels), model.density, "cl", model.default_prior, n_grid=201)
    assert out["cl"].dtype == pd.Series(expected).dtype
    pd.testing.assert_series_equal(out["cl"], pd.Series(expected, name="cl"), check_dtype=True)
    assert (out["status"].iloc[-1] == "no_group") == pd.isna(labels).any()


def test_text_group_labels_are_stripped_as_before(model):
    out = group_ages(labelled([" a", "a ", "b", ""]), model.density, "cl", model.default_prior, n_grid=201)
    assert list(out["cl"]) == ["a", "b", ""] and list(out["n_stars"]) == [2, 1, 1]


@pytest.mark.parametrize("suffix", ["parquet", "fits"])
def test_group_age_parquet_and_fits_outputs_keep_numeric_labels(tmp_path, suffix):
    from astropy.table import Table

    frame = labelled(pd.array([7, 7, 9, None], dtype="Int64")).assign(fl=[1.5, 1.5, 2.25, 2.25])
    src = tmp_path / "members.parquet"
    frame.to_parquet(src)
    for by, kind in (("cl", "i"), ("fl", "f")):
        out = tmp_path / f"ages_{by}.{suffix}"
        res = run_cli("group-age", str(src), "--by", by, "-o", str(out), "-q")
        assert res.returncode == 0, res.stderr
        back = pd.read_parquet(out) if suffix == "parquet" else Table.read(out).to_pandas()
        assert back[by].dtype.kind == kind, back[by].dtype
        assert list(back[by].dropna()) == ([7, 9] if by == "cl" else [1.5, 2.25])


def test_a_member_list_with_many_field_stars_is_flagged_many_outliers(model):
    """40% field stars moved a ~35 Myr cluster's joint age by +0.35 to +0.87 dex with status ok and no flag (user
    sweep, twenty-fourth session); study 30's flag marks such lists and leaves ages and statuses as they were."""
    rng = np.random.default_rng(3)
    colour = rng.uniform(0.9, 2.2, 120)
    prot = model.sample_periods(600.0, colour, n=1, seed=30, bp_rp0_err=np.full(120, 0.02))[:, 0]
    clean = pd.DataFrame({"prot": prot, "bp_rp0": colour, "bp_rp0_err": 0.02, "g": "clean"})
    field = pd.DataFrame({"prot": rng.uniform(1, 40, 80), "bp_rp0": rng.uniform(0.5, 2.5, 80), "bp_rp0_err": 0.02})
    mixed = pd.concat([clean.assign(g="mixed"), field.assign(g="mixed")], ignore_index=True)
    out = group_ages(pd.concat([clean, mixed], ignore_index=True), model.density, "g", model.default_prior, 201)
    # 40% field stars: their periods misfit the model at the joint age too (poor_fit, review R finding 3)
    assert out["age_flags"].fillna("").tolist() == ["", "many_outliers;poor_fit"]
    assert out["status"].tolist() == ["ok", "ok"]  # a caution, as pre_main_sequence_age
    # the flag reads the evidence at larger outlier weights; the age is still the one at the weight used
    alone = group_ages(mixed, model.density, "g", model.default_prior, 201)
    assert alone["age_p50_myr"][0] == out["age_p50_myr"][1]
    # asked for a weight above every one tried, nothing is compared: no flag
    wide = group_ages(mixed, model.density, "g", model.default_prior, 201, outlier_weight=0.7)
    assert "many_outliers" not in wide["age_flags"][0].split(";")  # (its periods still misfit: poor_fit)


def test_joint_age_takes_the_outlier_density_of_the_card_it_is_given(tmp_path):
    """joint_age mixed in the uniform outlier density over the module's default period range, whatever card the
    log-likelihoods came from; group-age uses the card's outlier.log10_prot_range. Given a card's density, joint_age
    now uses it (the default stays the range every exported card holds)."""
    import json
    import shutil

    from gyroage.core.density import FlowDensity
    from gyroage.core.groups import group_log_likelihood, joint_age
    from gyroage.core.posterior import normalise
    from tests.conftest import ROOT

    folder = tmp_path / "model"
    shutil.copytree(ROOT / "models", folder)
    card = json.loads((folder / "gyroage-model.json").read_text())
    card["outlier"]["log10_prot_range"] = [-3.0, 5.0]  # twice the shipped width: half the outlier density
    (folder / "gyroage-model.json").write_text(json.dumps(card))
    density = FlowDensity(folder)
    grid = np.linspace(6, 10, 201)
    ll = np.stack([-0.5 * ((grid - 8.0) / 0.2) ** 2, -0.5 * ((grid - 7.0) / 0.3) ** 2 - 1.0])
    pdf, _ = joint_age(ll, grid, 0.3, outlier_log_density=density.outlier_log_density)
    want = normalise(group_log_likelihood(ll, np.zeros(2, dtype=int), 1, np.ones(2), 0.3,
                                          density.outlier_log_density), grid)[0]
    np.testing.assert_allclose(pdf, want, rtol=1e-12)
    assert not np.allclose(pdf, joint_age(ll, grid, 0.3)[0], rtol=1e-3)  # the default range gives another age


def test_group_ages_refuse_a_fractional_grid():
    # group_ages(n_grid=60.7) ran on 60 points (int() in the option check)
    from gyroage.core.groups import check_group_options
    with pytest.raises(TypeError, match="n_grid must be a whole number"):
        check_group_options(60.7, None, None)


def test_a_prior_between_two_grid_ages_is_refused_by_group_age_as_by_estimate(tmp_path, model):
    """A prior table between two grid ages (9.505-9.515 on --grid 51) gave group-age an ``ok`` group with blank ages
    and exit 0, where estimate refused it: group_posterior now checks the run's own grid (check_on_grid) too."""
    sliver = Prior("tabulated", 6.0, 10.0, table=((9.505, 9.515), (0.0, 0.0)))
    with pytest.raises(UserError, match=r"no probability at any age of the grid \(51 points"):
        group_posterior(model.density, np.log10([9.0, 7.5]), [1.05, 0.95], [0.02] * 2, ["a", "a"], sliver, 51)
    table = tmp_path / "narrow.csv"
    table.write_text("log10_age,density\n9.505,1\n9.515,1\n")
    src = tmp_path / "praesepe.csv"
    pd.DataFrame({"prot": [9.0, 7.5], "bp_rp0": [1.05, 0.95], "cluster": ["p", "p"]}).to_csv(src, index=False)
    res = run_cli("group-age", str(src), "--by", "cluster", "--prior", "tabulated", "--prior-table", str(table),
                  "--grid", "51", "-q")
    assert res.returncode == 2 and "no probability at any age of the grid" in res.stderr
    assert "Traceback" not in res.stderr and res.stdout == ""


def test_group_posterior_says_each_rows_group_and_group_ages_takes_run_group_ages_parameters(model):
    """run_group_ages found each member's group again three times (get_indexer twice, a groupby) after
    group_posterior had computed it, and group_ages listed its 11 parameters twice: the posterior now carries each
    row's group index, and group_ages hands its parameters on as they are."""
    import inspect

    from gyroage.core.groups import run_group_ages

    gp = group_posterior(model.density, np.log10([9.0, 7.5, 25.4]), [1.05, 0.95, 0.82], 0.02, ["b", "a", "b"],
                         model.default_prior, 201)
    assert list(gp.groups) == ["b", "a"] and gp.member_group.tolist() == [0, 1, 0]
    assert inspect.signature(group_ages).parameters == inspect.signature(run_group_ages).parameters
