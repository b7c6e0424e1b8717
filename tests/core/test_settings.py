"""Settings refuse what the command line refuses, where they are defined: in their fields' names, the command line
in its options' (review V63, 5: a Python caller was told of --walkers, an option their code does not have)."""

import pandas as pd
import pytest

from gyroage import EstimateSettings, Prior, SamplerSettings, UserError
from tests.conftest import run_cli


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"n_grid": 2}, "n_grid must be at least 50"),
    ({"n_grid": 49}, "n_grid must be at least 50"),
    ({"n_grid": 5002}, "n_grid must be at most 5001"),
    ({"outlier_weight": 1.5}, "outlier_weight must be in [0, 1)"),
    ({"method": "mcmcm"}, "unknown method 'mcmcm'"),
    ({"refine_tol": 0.0}, "refine_tol must be positive"),
    ({"seed": -1}, "seed must be >= 0"),
])
def test_estimate_settings_refuse_bad_values(kwargs, message):
    with pytest.raises(UserError, match="^" + message.replace("[", r"\[").replace("(", r"\(").replace(")", r"\)")):
        EstimateSettings(**kwargs)


def test_sampler_settings_refuse_bad_values():
    for kwargs, says in (({"n_walkers": 5}, "n_walkers must be even and >= 6, not 5"),
                         ({"n_walkers": 7}, "n_walkers must be even and >= 6, not 7"),
                         ({"max_steps": 10}, "max_steps must be >= 50, not 10"),
                         ({"processes": 0}, "processes must be >= 1, not 0")):
        with pytest.raises(UserError, match=f"^{says}$"):
            SamplerSettings(**kwargs)


def test_the_library_no_longer_dates_with_a_coarse_grid(model):
    """A 3-point grid dated the Sun at 868 Myr, status ok: estimate refuses under 50 points, as group-age does."""
    with pytest.raises(UserError, match="^n_grid must be at least 50"):
        model.estimate(pd.DataFrame({"prot": [10.0], "bp_rp0": [1.0]}), EstimateSettings(n_grid=3))
    assert len(model.posterior(25.4, 0.82, n_grid=50).grid) == 50


@pytest.mark.parametrize("grid", ["0", "3", "49"])
def test_the_cli_gives_the_same_one_line_error(grid):
    res = run_cli("estimate", "catalogs/examples/field_stars.csv", "--grid", grid)
    assert res.returncode == 2 and res.stderr.strip() == "gyroage: error: --grid must be at least 50"


@pytest.mark.parametrize(("args", "says"), [
    (["--walkers", "3", "--method", "mcmc"], "--walkers must be even and >= 6, not 3"),
    (["--max-steps", "0", "--method", "mcmc"], "--max-steps must be >= 50, not 0"),
    (["--processes", "0", "--method", "mcmc"], "--processes must be >= 1, not 0"),
    (["--outlier-weight", "2"], "--outlier-weight must be in [0, 1)"),
    (["--grid", "6000"], "--grid must be at most 5001 (memory grows as its square: 5001 points step the age grid in "
                         "under 0.001 dex)")])
def test_the_cli_names_its_options_where_the_settings_name_their_fields(args, says):
    res = run_cli("estimate", "catalogs/examples/field_stars.csv", *args)
    assert res.returncode == 2 and res.stderr.strip() == f"gyroage: error: {says}", res.stderr


@pytest.mark.parametrize("args", [["estimate", "catalogs/examples/field_stars.csv", "--method", "mcmc"],
                                  ["estimate", "catalogs/examples/field_stars.csv"],
                                  ["plot", "posterior", "catalogs/examples/field_stars.csv", "-o", "{tmp}/p.png"],
                                  ["train", "--out", "{tmp}/run"]])
def test_every_command_refuses_a_negative_seed_in_one_line(tmp_path, args):
    """mcmc's numpy generator refused --seed -1 with a traceback while the grid took it: every command now refuses it."""
    res = run_cli(*[a.replace("{tmp}", str(tmp_path)) for a in args], "--seed", "-1")
    assert res.returncode == 2 and res.stderr.strip() == "gyroage: error: --seed must be >= 0", res.stderr
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("weight", [1.5, -0.1, 1.0, float("nan"), "0.1", [0.1]])
def test_every_setting_refuses_an_outlier_weight_by_the_one_check(weight):
    """EstimateSettings, group_ages and validate's ValidateSettings each spelled the [0, 1) rule (estimate's took a
    string to a TypeError, validate's refused it): one check, check_outlier_weight, in each option's words."""
    from gyroage.build.loco import ValidateSettings
    from gyroage.core.density import check_outlier_weight
    from gyroage.core.groups import check_group_options

    for call, option in ((lambda: EstimateSettings(outlier_weight=weight), "outlier_weight"),
                         (lambda: check_group_options(1001, weight, None), "--outlier-weight"),
                         (lambda: check_outlier_weight(weight), "--outlier-weight"),
                         (lambda: ValidateSettings(outlier_weight_star=weight), "--outlier-weight-star"),
                         (lambda: ValidateSettings(outlier_weight_group=weight), "--outlier-weight-group")):
        with pytest.raises(UserError) as exc:
            call()
        assert str(exc.value) == f"{option} must be in [0, 1)"


def test_validate_settings_need_a_weight_where_estimate_takes_the_cards():
    from gyroage.build.loco import ValidateSettings

    assert EstimateSettings(outlier_weight=None).outlier_weight is None
    with pytest.raises(UserError, match=r"--outlier-weight-star must be in \[0, 1\)"):
        ValidateSettings(outlier_weight_star=None)


@pytest.mark.parametrize("kwargs", [{"block": 0}, {"check_every": 0}, {"n_keep": 0}, {"tau_multiple": 0.0},
                                    {"tau_multiple": float("nan")}, {"min_n_eff": -1.0}, {"stretch_a": 1.0},
                                    {"stretch_a": float("inf")}, {"stretch_weight": 1.5}, {"stretch_weight": -0.1},
                                    {"period_err_floor_dex": 0.0}, {"colour_err_floor": -1.0}])
def test_every_sampler_setting_is_checked_in_one_line(kwargs):
    """block=0 was a traceback (range step 0), the emcee back end's check_every=0 an AttributeError; the rest ran."""
    name = next(iter(kwargs))
    with pytest.raises(UserError, match=name):
        SamplerSettings(**kwargs)


@pytest.mark.parametrize("kwargs", [{"block": 2.5}, {"check_every": True}, {"n_keep": "10"}, {"max_steps": 100.0}])
def test_sampler_counts_must_be_whole_numbers(kwargs):
    with pytest.raises(TypeError, match=next(iter(kwargs))):
        SamplerSettings(**kwargs)


@pytest.mark.parametrize("seed", [1.7, True, "1", None])
def test_a_seed_that_is_not_a_whole_number_is_refused(seed):
    """seed=1.7, True and "1" all ran silently as seed 1."""
    with pytest.raises(TypeError, match="seed must be a whole number"):
        EstimateSettings(seed=seed)


def test_whole_number_seeds_of_numpy_types_are_taken():
    import numpy as np

    assert EstimateSettings(seed=np.int64(3)).seed == 3
    assert SamplerSettings(block=np.int32(4), min_n_eff=0).block == 4


@pytest.mark.parametrize("sampler", [{"n_walkers": 8}, 8, "mcmc"])
def test_a_sampler_that_is_no_sampler_settings_is_refused_where_the_settings_are_made(sampler):
    """EstimateSettings(method='mcmc', sampler={...}), a dict of options, was an AttributeError deep in the run."""
    with pytest.raises(UserError, match=f"^sampler must be a gyroage.SamplerSettings, not {type(sampler).__name__}$"):
        EstimateSettings(method="mcmc", sampler=sampler)
    assert EstimateSettings(method="mcmc", sampler=SamplerSettings(n_walkers=8)).sampler.n_walkers == 8


@pytest.mark.parametrize("method", ["grid", "mcmc"])
def test_sampler_none_is_the_default_sampler(method):
    """EstimateSettings(prior=..., sampler=None) was refused, even for the grid method, which never samples: None is
    the default SamplerSettings(), as None is the default for the other options."""
    s = EstimateSettings(prior=Prior(), method=method, sampler=None)
    assert s.sampler == SamplerSettings() and s == EstimateSettings(prior=Prior(), method=method)


def test_a_prior_between_two_grid_ages_is_told_in_the_words_of_who_set_the_grid(tmp_path):
    """EstimateSettings named its fields in every refusal but this one, which told a Python caller '--grid 801'
    (review V64, 4); the command line keeps its option's word."""
    from gyroage.core.priors import make_prior

    table = tmp_path / "narrow.csv"
    table.write_text("log10_age,density\n9.505,1\n9.515,1\n")
    prior = make_prior("tabulated", None, None, (6.0, 10.0), table=table)
    with pytest.raises(UserError, match=r"between two of them: n_grid 801 or narrower age bounds put ages in it$"):
        EstimateSettings(prior=prior, n_grid=201)
    res = run_cli("estimate", "catalogs/examples/field_stars.csv", "--prior", "tabulated", "--prior-table", str(table),
                  "--grid", "201")
    assert res.returncode == 2 and res.stderr.strip().endswith("between two of them: --grid 801 or narrower age bounds "
                                                               "put ages in it"), res.stderr
