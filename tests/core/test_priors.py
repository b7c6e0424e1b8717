"""Priors: formulas, per-star shapes, tabulated files, CLI options, shared by grid and sampler."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gyroage.core.prior_tables import LN10, read_prior_table
from gyroage.core.priors import Prior, make_prior
from gyroage.errors import UserError
from gyroage.pandas_compat import PANDAS_BEFORE_3_1
from tests.conftest import needs_matplotlib, run_cli

BOUNDS = (6.0, 10.0)


def test_uniform_log_age_flat_inside_and_zero_outside():
    p = Prior("uniform_log_age", 7.0, 9.0)
    lp = p.log_prob(np.array([6.5, 7.0, 8.0, 9.0, 9.5]))
    assert np.all(np.isneginf(lp[[0, 4]]))
    assert np.ptp(lp[1:4]) == 0


def test_uniform_age_has_the_jacobian():
    lp = Prior("uniform_age", 6.0, 10.0).log_prob(np.array([7.0, 8.5]))
    assert lp[1] - lp[0] == pytest.approx(1.5 * LN10)


def test_gaussian_per_star_gives_stars_by_grid():
    p = Prior("gaussian_log_age", 6.0, 10.0, mean_column="m", sigma_column="s")
    grid = np.linspace(6, 10, 401)
    mean, sigma = p.star_parameters({"m": np.array([7.0, 9.0, np.nan]), "s": np.array([0.1, 0.3, 0.2])}, 3)
    lp = p.log_prob(grid[None, :], mean[:, None], sigma[:, None])
    assert lp.shape == (3, 401)
    assert grid[np.argmax(lp[0])] == pytest.approx(7.0) and grid[np.argmax(lp[1])] == pytest.approx(9.0)
    assert list(p.valid_parameters(mean, sigma)) == [True, True, False]
    # log p drops by 1/2 at one sigma
    assert lp[1, 300] - lp[1, 330] == pytest.approx(0.5, abs=1e-9)


def test_tabulated_per_myr_is_converted_to_per_dex(tmp_path):
    f = tmp_path / "prior.csv"
    pd.DataFrame({"age_myr": [1, 10, 100, 1000, 10000], "density": [1.0] * 5}).to_csv(f, index=False)
    table = read_prior_table(f)
    p = Prior("tabulated", 6.0, 10.0, table=table)
    lp = p.log_prob(np.array([7.0, 9.0]))
    # flat per Myr = uniform in age: per dex it grows as ln(10) * x
    assert lp[1] - lp[0] == pytest.approx(2 * LN10)
    assert np.isneginf(Prior("tabulated", 6.0, 10.0, table=((7.0, 8.0), (0.0, 0.0))).log_prob(np.array([9.0])))[0]


@pytest.mark.parametrize("kwargs", [
    {"kind": "gaussian_log_age", "mean": 9.0},
    {"kind": "gaussian_log_age", "mean": 9.0, "sigma": -1.0},
    {"kind": "tabulated"},
    {"kind": "nonsense"},
    {"kind": "uniform_log_age", "age_min_myr": 500.0, "age_max_myr": 100.0},
])
def test_make_prior_rejects_bad_options(kwargs):
    kind = kwargs.pop("kind")
    amin, amax = kwargs.pop("age_min_myr", None), kwargs.pop("age_max_myr", None)
    with pytest.raises(UserError):
        make_prior(kind, amin, amax, BOUNDS, **kwargs)


def test_make_prior_reads_numbers_or_columns():
    p = make_prior("gaussian_log_age", None, None, BOUNDS, mean="9.1", sigma="age_err", columns=["Age_Err", "x"])
    assert p.mean == pytest.approx(9.1) and p.sigma_column == "Age_Err" and p.per_star


def test_grid_and_mcmc_follow_a_narrow_prior(model):
    from gyroage.core.estimate import EstimateSettings, estimate_chunk
    from gyroage.core.sampler import SamplerSettings

    frame = pd.DataFrame({"prot": [8.0, 1.0], "bp_rp0": [1.3, 2.5]})
    prior = Prior("gaussian_log_age", 6.0, 10.0, mean=8.3, sigma=0.02)
    for method in ("grid", "mcmc"):
        s = EstimateSettings(prior=prior, n_grid=801, method=method, sampler=SamplerSettings(min_n_eff=400))
        out = estimate_chunk(frame, model.density, s)
        assert np.allclose(np.log10(out["age_p50_myr"]) + 6, 8.3, atol=0.03), method


def _ages(model, frame, prior, method):
    from gyroage.core.estimate import EstimateSettings, estimate_chunk
    from gyroage.core.sampler import SamplerSettings

    s = EstimateSettings(prior=prior, n_grid=201, method=method, sampler=SamplerSettings(min_n_eff=400), seed=1)
    out = estimate_chunk(frame, model.density, s)
    assert (out["status"] == "ok").all(), method
    return np.log10(out[["age_p2.5_myr", "age_p16_myr", "age_p50_myr", "age_p84_myr", "age_p97.5_myr"]]) + 6


@pytest.mark.parametrize("method", ["grid", "mcmc"])
def test_calibration_widens_the_likelihood_not_a_narrow_prior(model, method):
    # the calibration is the model's systematic error (0.2-0.7 dex at these ages): it must not blur what the user knows
    frame = pd.DataFrame({"prot": [8.0, 5.0], "bp_rp0": [1.3, 0.9]})
    ages = _ages(model, frame, Prior("gaussian_log_age", 6.0, 10.0, mean=8.3, sigma=0.05), method)
    half_68 = (ages["age_p84_myr"] - ages["age_p16_myr"]) / 2
    assert (half_68 < 0.06).all(), half_68  # at most the prior's own 0.05 dex, with grid and sampling noise


@pytest.mark.parametrize("method", ["grid", "mcmc"])
def test_a_tabulated_prior_confines_the_calibrated_ages(model, method):
    table = ((8.0, 8.5), (0.0, 0.0))  # flat in log age over 100-316 Myr, 0 outside (README)
    frame = pd.DataFrame({"prot": [10.0, 25.4], "bp_rp0": [1.0, 0.82]})
    ages = _ages(model, frame, Prior("tabulated", 6.0, 10.0, table=table), method)
    assert (ages["age_p2.5_myr"] >= 8.0 - 0.01).all() and (ages["age_p97.5_myr"] <= 8.5 + 0.01).all(), ages


def test_a_tabulated_prior_puts_no_posterior_or_group_mass_outside_it(model):
    from gyroage.core.groups import group_posterior

    prior = Prior("tabulated", 6.0, 10.0, table=((8.0, 8.5), (0.0, 0.0)))
    post = model.posterior([10.0, 25.4], [1.0, 0.82], prior=prior)
    outside = (post.grid < 8.0) | (post.grid > 8.5)
    assert np.all(post.pdf[:, outside] == 0)
    gp = group_posterior(model.density, np.log10([8.0, 9.0, 7.5]), [1.0, 1.1, 0.9], [0.02] * 3, ["A"] * 3, prior,
                         systematic_dex=0.3)
    assert np.all(gp.pdf[:, (gp.grid < 8.0) | (gp.grid > 8.5)] == 0)


def test_cli_per_star_prior_columns_and_invalid_rows(tmp_path):
    src = tmp_path / "in.csv"
    pd.DataFrame({"prot": [8.0, 8.0, 8.0], "bp_rp0": [1.3, 1.3, 1.3],
                  "LogAge_iso": [8.0, 9.3, np.nan], "e_logage": [0.05, 0.05, 0.05]}).to_csv(src, index=False)
    res = run_cli("estimate", str(src), "--prior", "gaussian_log_age", "--prior-mean", "logage_iso",
                  "--prior-sigma", "e_logage", "-q")
    assert res.returncode == 0, res.stderr
    from io import StringIO

    out = pd.read_csv(StringIO(res.stdout))
    assert list(out["status"]) == ["ok", "ok", "invalid_prior"]
    p50 = np.log10(out["age_p50_myr"]) + 6
    assert p50[0] < 8.2 and p50[1] > 9.1
    res = run_cli("estimate", str(src), "--prior", "gaussian_log_age", "--prior-mean", "nope", "--prior-sigma", "0.1")
    assert res.returncode == 2 and "nope" in res.stderr and "Traceback" not in res.stderr


def test_cli_prior_column_named_exactly_wins_and_is_said(tmp_path):
    """Two columns matching --prior-mean case-insensitively: the exact name is read, and the run says so."""
    from io import StringIO

    src = tmp_path / "in.csv"
    pd.DataFrame({"prot": [8.0], "bp_rp0": [1.3], "LogAge_iso": [8.0], "logage_iso": [9.3]}).to_csv(src, index=False)
    res = run_cli("estimate", str(src), "--prior", "gaussian_log_age", "--prior-mean", "logage_iso",
                  "--prior-sigma", "0.05")
    assert res.returncode == 0, res.stderr
    assert np.log10(pd.read_csv(StringIO(res.stdout))["age_p50_myr"][0]) + 6 > 9.1
    assert "several columns are --prior-mean logage_iso: using 'logage_iso', ignoring 'LogAge_iso'" in res.stderr


def test_tabulated_prior_without_mass_inside_the_bounds_is_a_user_error(tmp_path):
    """Such a prior would leave every star with status ok but no ages: refuse it up front."""
    t = tmp_path / "p.csv"
    pd.DataFrame({"age_myr": [20000.0, 30000.0], "density": [1.0, 1.0]}).to_csv(t, index=False)
    with pytest.raises(UserError, match="no probability between the age bounds"):
        make_prior("tabulated", None, None, BOUNDS, table=t)
    pd.DataFrame({"age_myr": [5000.0, 30000.0], "density": [1.0, 1.0]}).to_csv(t, index=False)
    assert make_prior("tabulated", None, None, BOUNDS, table=t).kind == "tabulated"  # overlaps the bounds: fine


@pytest.mark.parametrize("mean, sigma, message", [
    ("9", "nan", "--prior-sigma must be a finite number > 0 or a column name"),
    ("9", "inf", "--prior-sigma must be a finite number > 0 or a column name"),
    ("9", "-0.1", "--prior-sigma must be a finite number > 0 or a column name"),
    ("nan", "0.1", "--prior-mean must be a finite number or a column name"),
    ("-inf", "0.1", "--prior-mean must be a finite number or a column name"),
])
def test_non_finite_prior_numbers_are_refused_not_taken_for_columns(mean, sigma, message):
    """'nan' or 'inf' parse as numbers: the error says what is wrong, not "missing column 'nan'"."""
    with pytest.raises(UserError) as exc:
        make_prior("gaussian_log_age", None, None, BOUNDS, mean=mean, sigma=sigma, columns=["prot", "bp_rp0"])
    assert str(exc.value) == message
    with pytest.raises(UserError) as exc:  # as the command line calls it, before the input's columns are known
        make_prior("gaussian_log_age", None, None, BOUNDS, mean=mean, sigma=sigma)
    assert str(exc.value) == message


@pytest.mark.parametrize("bounds", [(None, 1e300), (1e-300, None), (0.001, None), (None, 1e6), (0.0, None),
                                    (None, float("inf"))])
def test_prior_bounds_far_outside_any_age_are_refused_in_one_line(tmp_path, bounds):
    """1e300 Myr gave status ok with no ages (and overflow warnings): bounds must lie in the model's grid."""
    src = tmp_path / "sun.csv"
    src.write_text("prot,bp_rp0\n25.4,0.82\n")
    args = [a for flag, v in zip(("--age-min-myr", "--age-max-myr"), bounds) if v is not None for a in (flag, repr(v))]
    res = run_cli("estimate", str(src), *args, "-q")
    assert res.returncode == 2 and "Traceback" not in res.stderr, res.stderr
    assert len(res.stderr.strip().splitlines()) == 1 and "outside the model's age grid, 1-10000 Myr" in res.stderr, \
        res.stderr


def test_a_python_prior_may_still_reach_beyond_the_shipped_grid():
    """A Prior alone knows no model (another card's grid may be wider): it is held to a model's grid where they meet."""
    p = Prior("uniform_log_age", 4.0, float(np.log10(2e10)))
    assert (p.log10_age_min, p.log10_age_max) == pytest.approx((4.0, np.log10(2e10)))


def test_a_per_star_prior_with_no_mass_on_the_grid_is_not_ok(model):
    """A centre 1e200 dex away normalised to NaN and still said ok: such a row has no age, so invalid_prior."""
    from gyroage.core.estimate import EstimateSettings, estimate_chunk

    frame = pd.DataFrame({"prot": [25.4, 25.4], "bp_rp0": [0.82, 0.82], "m": [1e200, 9.6], "s": [0.1, 0.1]})
    s = EstimateSettings(prior=Prior("gaussian_log_age", 6.0, 10.0, mean_column="m", sigma_column="s"))
    out = estimate_chunk(frame, model.density, s)
    assert list(out["status"]) == ["invalid_prior", "ok"]
    assert np.isnan(out["age_p50_myr"][0]) and np.isfinite(out["age_p50_myr"][1])


@pytest.mark.parametrize("args, kwargs, words", [
    (("gaussian_log_age",), {}, "needs --prior-mean and --prior-sigma"),
    (("uniform_log_age", 9.0, 8.0), {}, "must be below"),
    (("gaussian_log_age",), {"mean": 9.0, "sigma": 0.0}, "--prior-sigma must be a finite number > 0"),
    (("gaussian_log_age",), {"mean": 9.0, "sigma": -0.2}, "--prior-sigma must be a finite number > 0"),
    (("gaussian_log_age",), {"mean": float("nan"), "sigma": 0.2}, "--prior-mean must be a finite number"),
    (("tabulated",), {}, "needs --prior-table"),
    (("foo",), {}, "unknown prior 'foo'"),
    (("uniform_log_age", 6.0, 300.0), {}, "log10_age_max must be a log10 age"),
    (("uniform_log_age", float("nan"), 9.0), {}, "log10_age_min must be a log10 age"),
])
def test_a_python_prior_is_validated_as_the_command_line_does(args, kwargs, words):
    """Prior('gaussian_log_age') and friends gave status ok with NaN ages, or a TypeError, or failed only in use."""
    with pytest.raises(UserError, match=words.replace("(", r"\(")):
        Prior(*args, **kwargs)


def test_settings_and_posterior_refuse_what_they_cannot_use(model):
    from gyroage.core.estimate import EstimateSettings

    with pytest.raises(UserError, match="prior must be a gyroage.Prior"):
        EstimateSettings(prior=None)
    with pytest.raises(UserError, match="needs --prior-mean"):
        EstimateSettings(prior=Prior("gaussian_log_age"))
    per_star = Prior("gaussian_log_age", mean_column="m", sigma_column="s")
    with pytest.raises(UserError, match="per-star prior"):
        model.posterior(25.4, 0.82, prior=per_star)
    # valid priors still give ages, from the API as from make_prior
    post = model.posterior(25.4, 0.82, prior=Prior("gaussian_log_age", mean=9.5, sigma=0.2))
    assert post.status[0] == "ok" and np.isfinite(post.summaries()["age_p50_myr"][0])
    assert Prior("gaussian_log_age", mean_column="m", sigma=0.1).per_star


def test_a_gaussian_the_grid_cannot_hold_is_refused_without_overflow_warnings(model):
    """A centre 1e200 dex off overflowed (RuntimeWarnings on stderr) before its row became invalid_prior."""
    import warnings

    from gyroage.core.estimate import EstimateSettings, estimate_chunk

    with pytest.raises(UserError, match="no probability the age grid can hold"):
        Prior("gaussian_log_age", mean=9.0, sigma=1e-300)
    frame = pd.DataFrame({"prot": [25.4], "bp_rp0": [0.82], "m": [1e200], "s": [0.1]})
    s = EstimateSettings(prior=Prior("gaussian_log_age", 6.0, 10.0, mean_column="m", sigma_column="s"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = estimate_chunk(frame, model.density, s)
    assert list(out["status"]) == ["invalid_prior"]


@pytest.mark.parametrize("options, fields", [
    (("uniform_log_age", 500.0, 100.0), ("uniform_log_age", float(np.log10(500e6)), float(np.log10(100e6)))),
    (("gaussian_log_age", None, None, {"mean": "9.0"}), ("gaussian_log_age", 6.0, 10.0, 9.0)),
    (("gaussian_log_age", None, None, {"mean": "9.0", "sigma": "0"}), ("gaussian_log_age", 6.0, 10.0, 9.0, 0.0)),
    (("gaussian_log_age", None, None, {"mean": "inf", "sigma": "s"}), ("gaussian_log_age", 6.0, 10.0, np.inf, None,
                                                                      None, "s")),
    (("gaussian_log_age", None, None, {"mean": "9", "sigma": "1e-300"}), ("gaussian_log_age", 6.0, 10.0, 9.0, 1e-300)),
    (("nonsense", None, None), ("nonsense",)),
])
def test_the_command_line_and_python_refuse_a_prior_in_the_same_words(options, fields):
    """make_prior re-spelled check_prior's rules (kind, bounds in order, Gaussian centre and width) before building the
    Prior that checks them again; it now only parses the options, and both say what check_prior says."""
    kind, lo, hi, *kw = options
    with pytest.raises(UserError) as cli:
        make_prior(kind, lo, hi, BOUNDS, **(kw[0] if kw else {}))
    with pytest.raises(UserError) as py:
        Prior(*fields)
    assert str(cli.value) == str(py.value)


def test_reversed_bounds_are_said_in_the_options_words():
    with pytest.raises(UserError) as exc:
        make_prior("uniform_log_age", 500.0, 100.0, BOUNDS)
    assert str(exc.value) == "--age-min-myr must be below --age-max-myr"



GRID_WORDS = "outside the model's age grid, 1-10000 Myr"


@pytest.mark.parametrize("command", [["estimate"], ["group-age"], ["plot", "posterior"]])
@pytest.mark.parametrize("option, value", [("--age-max-myr", "20000"), ("--age-min-myr", "0.01")])
def test_age_bounds_beyond_the_models_grid_are_refused_in_one_line(tmp_path, command, option, value):
    """--age-max-myr 20000 evaluated the flow beyond its grid, where it extrapolates: the Sun's p97.5 went from
    8139 to 17397 Myr with status ok."""
    from typer.testing import CliRunner

    from gyroage.cli import app

    src = tmp_path / "sun.csv"
    src.write_text("prot,bp_rp0\n25.4,0.82\n")
    extra = ["-o", str(tmp_path / "x.png")] if command[0] == "plot" else []
    res = CliRunner().invoke(app, [*command, str(src), option, value, "-q", *extra])
    assert res.exit_code == 2, res.output
    assert res.output == f"gyroage: error: {option} {value} is {GRID_WORDS} (log10 yr 6-10), beyond which the " \
                         "model extrapolates\n", res.output


@pytest.mark.parametrize("bounds", [(4.0, 10.0), (6.0, float(np.log10(2e10))), (5.9, 9.0)])
def test_the_python_api_refuses_bounds_beyond_the_models_grid_as_the_command_line_does(model, bounds):
    from gyroage.core.estimate import EstimateSettings
    from gyroage.core.groups import group_posterior

    prior = Prior("uniform_log_age", *bounds)
    frame = pd.DataFrame({"prot": [25.4], "bp_rp0": [0.82]})
    calls = [lambda: model.posterior(25.4, 0.82, prior=prior),
             lambda: model.posterior([], [], prior=prior),  # no star: refused as a dated one is
             lambda: model.estimate(frame, EstimateSettings(prior=prior)),
             lambda: model.estimate(frame.iloc[:0], EstimateSettings(prior=prior)),
             lambda: group_posterior(model.density, [1.4], [0.82], None, ["a"], prior, 201)]
    for call in calls:
        with pytest.raises(UserError, match=GRID_WORDS):
            call()


def test_bounds_on_the_models_grid_edges_still_give_ages(model):
    p = make_prior("uniform_log_age", 1.0, 10000.0, BOUNDS)
    assert (p.log10_age_min, p.log10_age_max) == pytest.approx(BOUNDS)
    assert model.posterior(25.4, 0.82, prior=p).status[0] == "ok"
    narrow = model.posterior(25.4, 0.82, prior=make_prior("uniform_log_age", 100.0, 5000.0, BOUNDS))
    assert narrow.status[0] == "ok" and narrow.grid[-1] == pytest.approx(np.log10(5e9))


@pytest.mark.parametrize("mean, sigma, hint", [
    ("3000", "0.1", ": did you give Myr?"),  # Myr for log10 yr: every star landed on the grid's upper edge
    ("3000", "3000", ": did you give Myr?"),  # both in Myr: a centre no star's log10 age can be, however wide
    ("4.5", "0.1", ": did you give Gyr?"),
    ("10.5", "0.1", ": did you give Myr?"),  # 5 sigma above 10 Gyr
])
def test_a_gaussian_centre_that_is_no_log10_age_is_refused_in_one_line(tmp_path, mean, sigma, hint):
    from typer.testing import CliRunner

    from gyroage.cli import app

    src = tmp_path / "sun.csv"
    src.write_text("prot,bp_rp0\n25.4,0.82\n")
    for command in (["estimate"], ["group-age"]):
        res = CliRunner().invoke(app, [*command, str(src), "--prior", "gaussian_log_age", "--prior-mean", mean,
                                       "--prior-sigma", sigma, "-q"])
        assert res.exit_code == 2, res.output
        assert res.output == (f"gyroage: error: --prior-mean {mean} is not a log10 age in years (the age bounds span "
                              f"6.0-10.0, and a centre at most 3 sigma beyond them){hint}\n"), res.output
    with pytest.raises(UserError, match="is not a log10 age in years"):
        Prior("gaussian_log_age", mean=float(mean), sigma=float(sigma))


@pytest.mark.parametrize("mean, sigma", [(9.6, 0.1), (10.25, 0.1), (5.8, 0.1), (6.0, 1e-3), (10.0, 0.05)])
def test_a_gaussian_centre_near_the_bounds_is_still_taken(mean, sigma):
    assert Prior("gaussian_log_age", mean=mean, sigma=sigma).mean == mean


def test_a_per_star_centre_that_is_no_log10_age_makes_its_row_invalid_prior(model):
    from gyroage.core.estimate import EstimateSettings

    frame = pd.DataFrame({"prot": [25.4] * 5, "bp_rp0": [0.82] * 5, "m": [3000.0, 9.6, 4.5, 10.2, 11.0],
                          "s": [0.1, 0.1, 0.1, 0.1, 1.0]})
    out = model.estimate(frame, EstimateSettings(prior=Prior("gaussian_log_age", mean_column="m", sigma_column="s")))
    refused = [True, False, True, False, True]  # 10.2 +- 0.1 is 2 sigma above 10 Gyr: dated (extrapolated)
    assert (out["status"] == "invalid_prior").tolist() == refused, list(out["status"])
    assert out["age_p50_myr"].isna().tolist() == refused
    # a scalar width with centres from a column, and the other way round
    by_mean = model.estimate(frame, EstimateSettings(prior=Prior("gaussian_log_age", mean_column="m", sigma=0.1)))
    assert (by_mean["status"] == "invalid_prior").tolist() == refused
    by_sigma = model.estimate(frame, EstimateSettings(prior=Prior("gaussian_log_age", mean=9.6, sigma_column="s")))
    assert list(by_sigma["status"]) == ["ok"] * 5


NARROW = ("--prior", "gaussian_log_age", "--prior-mean", "9.669", "--prior-sigma", "0.002")
NARROW_WORDS = ("--prior-sigma 0.002 is under twice the age grid's step, 0.02 dex (201 points over log10 yr 6-10): the "
                "grid cannot resolve so narrow a prior, and the ages come out wider than it and off its centre; --grid "
                "4001 (Python: n_grid=4001) or narrower age bounds resolve it")


@needs_matplotlib
def test_a_prior_narrower_than_the_grid_resolves_is_said_on_stderr(tmp_path):
    """A 0.002 dex prior on the default 0.02 dex grid gave a 0.0136 dex half-width and a median 4.5 sigma off, while
    the README said a narrow prior is not widened: the grid says so now (and the ages stay as they were)."""
    from typer.testing import CliRunner

    from gyroage.cli import app

    src = tmp_path / "sun.csv"
    src.write_text("prot,bp_rp0\n25.4,0.82\n")
    runner = CliRunner()
    loud = runner.invoke(app, ["estimate", str(src), *NARROW])
    assert loud.exit_code == 0 and f"estimate: {NARROW_WORDS}\n" in loud.stderr, loud.stderr
    quiet = runner.invoke(app, ["estimate", str(src), *NARROW, "-q"])
    assert quiet.exit_code == 0 and quiet.stderr == "" and quiet.stdout == loud.stdout
    wide = runner.invoke(app, ["estimate", str(src), *NARROW[:-1], "0.04"])
    assert "grid's step" not in wide.stderr
    fine = runner.invoke(app, ["estimate", str(src), *NARROW, "--grid", "4001"])
    assert "grid's step" not in fine.stderr
    sampled = runner.invoke(app, ["estimate", str(src), *NARROW, "--method", "mcmc", "--max-steps", "100"])
    assert "grid's step" not in sampled.stderr  # the chains' ages are not on the grid
    plot = runner.invoke(app, ["plot", "posterior", str(src), *NARROW, "-o", str(tmp_path / "p.png")])
    assert plot.exit_code == 0 and f"plot: {NARROW_WORDS}\n" in plot.stderr, plot.stderr
    group = runner.invoke(app, ["group-age", str(src), *NARROW[:-1], "0.005", "--grid", "1001"])
    assert group.exit_code == 0 and "group-age: --prior-sigma 0.005 is under twice the age grid's step, 0.004 dex " \
                                    "(1001 points" in group.stderr, group.stderr


def test_a_prior_narrower_than_the_grid_resolves_warns_in_python(model):
    import warnings

    from gyroage.core.estimate import EstimateSettings

    prior = Prior("gaussian_log_age", mean=9.669, sigma=0.002)
    with pytest.warns(UserWarning, match=NARROW_WORDS.replace("(", r"\(").replace(")", r"\)")):
        coarse = model.posterior(25.4, 0.82, prior=prior)
    with pytest.warns(UserWarning, match="under twice the age grid's step"):
        model.estimate(pd.DataFrame({"prot": [25.4], "bp_rp0": [0.82]}), EstimateSettings(prior=prior))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fine = model.posterior(25.4, 0.82, prior=prior, n_grid=4001)  # the grid the warning suggests
    # what the warning is about: coarse, the median lands 4.5 sigma off the centre; fine, the prior holds
    assert abs(np.log10(coarse.quantile(0.5)[0]) + 6 - 9.669) > 4 * 0.002
    assert abs(np.log10(fine.quantile(0.5)[0]) + 6 - 9.669) < 0.002


@pytest.mark.parametrize("kind, options, message", [
    ("uniform_log_age", {"mean": "9.0", "sigma": "0.2"},
     "--prior-mean and --prior-sigma are for --prior gaussian_log_age, not uniform_log_age: add --prior "
     "gaussian_log_age, or leave them out"),
    ("uniform_age", {"sigma": "0.2"}, "--prior-sigma is for --prior gaussian_log_age, not uniform_age"),
    ("tabulated", {"mean": "9.0", "table": "t.csv"}, "--prior-mean is for --prior gaussian_log_age, not tabulated"),
    ("gaussian_log_age", {"mean": "9.0", "sigma": "0.2", "table": "t.csv"},
     "--prior-table is for --prior tabulated, not gaussian_log_age: add --prior tabulated, or leave it out"),
    ("uniform_log_age", {"table": "t.csv"}, "--prior-table is for --prior tabulated, not uniform_log_age"),
])
def test_prior_options_the_prior_does_not_use_are_refused(tmp_path, monkeypatch, kind, options, message):
    """--prior-mean 9 without --prior gaussian_log_age was silently ignored: the run looked like it used it."""
    monkeypatch.chdir(tmp_path)
    pd.DataFrame({"log10_age": [6.0, 10.0], "density": [1.0, 1.0]}).to_csv("t.csv", index=False)
    with pytest.raises(UserError, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
        make_prior(kind, None, None, BOUNDS, **options)


@pytest.mark.parametrize("fields", [{"mean": 9.0, "sigma": 0.2}, {"mean_column": "mu"},
                                    {"table": ((6.0, 10.0), (0.0, 0.0))}])
def test_a_prior_object_refuses_fields_its_kind_does_not_use(fields):
    with pytest.raises(UserError, match="are for|is for"):
        Prior("uniform_log_age", **fields)


@pytest.mark.parametrize("command", [("estimate",), ("group-age",), ("plot", "posterior")])
def test_cli_refuses_prior_mean_without_the_gaussian_prior(tmp_path, command):
    src = tmp_path / "sun.csv"
    src.write_text("prot,bp_rp0\n25.4,0.82\n")
    extra = ("-o", str(tmp_path / "p.png")) if command[0] == "plot" else ()
    res = run_cli(*command, str(src), *extra, "--prior-mean", "9.6", "--prior-sigma", "0.1", "-q")
    assert res.returncode == 2 and "Traceback" not in res.stderr, res.stderr
    assert res.stderr.strip() == ("gyroage: error: --prior-mean and --prior-sigma are for --prior gaussian_log_age, "
                                  "not uniform_log_age: add --prior gaussian_log_age, or leave them out")


def test_the_narrow_prior_note_never_suggests_a_grid_above_the_cap():
    from gyroage.core.priors import grid_step_note

    note = grid_step_note(Prior("gaussian_log_age", mean=9.6, sigma=0.001), 201)
    assert note.endswith("narrower age bounds resolve it (--grid is at most 5001)") and "--grid 8001" not in note
    assert "--grid 4001 (Python: n_grid=4001)" in grid_step_note(Prior("gaussian_log_age", mean=9.6, sigma=0.002), 201)


@pytest.mark.parametrize("options, message", [
    (("--prior-mean", "9.0"), "--prior gaussian_log_age needs --prior-mean and --prior-sigma (numbers: group-age "
                              "takes one prior per group)"),
    (("--prior-mean", "logage", "--prior-sigma", "0.1"), "group-age takes one prior per group: --prior-mean must be a "
                                                         "finite number, not 'logage'"),
    (("--prior-mean", "nan", "--prior-sigma", "0.1"), "group-age takes one prior per group: --prior-mean must be a "
                                                      "finite number, not 'nan'"),
    (("--prior-mean", "9.0", "--prior-sigma", "-1"), "group-age takes one prior per group: --prior-sigma must be a "
                                                     "finite number > 0, not '-1'"),
])
def test_group_age_gaussian_prior_errors_ask_for_numbers(tmp_path, options, message):
    """group-age said '(numbers or column names)', then refused a column name: its words are its own."""
    src = tmp_path / "g.csv"
    src.write_text("cluster,prot,bp_rp0\nA,8.0,1.0\n")
    res = run_cli("group-age", str(src), "--by", "cluster", "--prior", "gaussian_log_age", *options)
    assert res.returncode == 2 and res.stderr.strip() == f"gyroage: error: {message}", res.stderr


def test_a_zero_density_node_tapers_its_intervals_linearly(tmp_path):
    """log p was interpolated between nodes, so a zero density (log -inf) made the prior zero over both intervals
    beside it: a taper 1 Myr: 0, 10 Myr: 1, 5 Gyr: 1, 10 Gyr: 0 removed every age above 5 Gyr, and a dip to 0 at
    log10 age 8 removed 6-10. An interval touching a zero node now takes the density linearly (log-linear
    elsewhere, as before)."""
    dip = Prior("tabulated", 6.0, 10.0, table=((6.0, 8.0, 10.0), (0.0, -np.inf, 0.0)))
    lp = dip.log_prob(np.array([6.0, 7.0, 7.5, 8.0, 9.0, 10.0]))
    np.testing.assert_allclose(np.exp(lp), [1.0, 0.5, 0.25, 0.0, 0.5, 1.0], atol=1e-12)
    f = tmp_path / "taper.csv"
    f.write_text("age_myr,density\n1,0\n10,1\n5000,1\n10000,0\n")
    taper = Prior("tabulated", 6.0, 10.0, table=read_prior_table(f))
    per_dex = np.exp(taper.log_prob(np.log10([7500e6, 5000e6])))
    t = np.log10(7500 / 5000) / np.log10(2)  # the density per dex, linear in log10 age from 5 Gyr to 0 at 10 Gyr
    assert per_dex[0] / per_dex[1] == pytest.approx(1 - t)
    # an interval between two positive nodes stays log-linear, to the last bit
    two = Prior("tabulated", 6.0, 10.0, table=((6.0, 8.0, 10.0), (0.0, 1.0, -np.inf)))
    assert two.log_prob(np.array([7.0]))[0] == np.interp(7.0, [6.0, 8.0], [0.0, 1.0])


@pytest.mark.parametrize("text, words", [
    ("log10_age,density\n6,1\n8,-5\n10,1\n", "density must be a finite number >= 0: data row 2 (density -5"),
    ("log10_age,density\n6,1\n8,nan\n10,1\n", "data row 2 (density nan)"),
    ("log10_age,density\n6,1\n10,abc\n7,1\n", "data row 2 (density 'abc')"),
    # pandas < 3.1 reads exactly only with float_precision="round_trip", which keeps an overflowing column as text
    ("log10_age,density\n6,1\n10,1e400\n", "data row 2 (density '1e400')" if PANDAS_BEFORE_3_1 else "data row 2 (density inf)"),
    ("log10_age,density\n6,1\n,1\n10,1\n", "ages must be numbers: data row 2"),
    ("age_myr,density\n0,5\n100,1\n10000,1\n", "a table must start at an age > 0: data row 1 (age_myr 0)"),
])
def test_a_prior_table_row_it_cannot_use_is_refused_by_name(tmp_path, text, words):
    """Rows with a negative, NaN or unreadable density, or an age of 0 Myr, were dropped without a word: a table
    with one negative density became the flat prior, one starting at 0 Myr a prior zero below its second age."""
    f = tmp_path / "t.csv"
    f.write_text(text)
    with pytest.raises(UserError, match=r"^prior table .*t\.csv: ") as err:
        read_prior_table(f)
    assert words in str(err.value) and "\n" not in str(err.value)


def test_per_star_prior_widths_under_the_grid_step_are_said_once(tmp_path, model):
    """Scalar --prior-sigma under twice the grid's step got a note; widths from a column got none, though the Sun
    at 9.61 +- 0.008 came out 3818-4344 Myr (exact 3929-4224). The rows are now counted and said once, with the
    --grid that resolves the narrowest, on stderr and (AgeModel.estimate) as a UserWarning."""
    from gyroage.core.estimate import EstimateSettings

    src = tmp_path / "s.csv"
    src.write_text("name,prot,bp_rp0,mu,sig\nSun,25.4,0.82,9.61,0.008\nB,25.4,0.82,9.61,0.01\nC,25.4,0.82,9.61,0.2\n")
    res = run_cli("estimate", str(src), "--prior", "gaussian_log_age", "--prior-mean", "mu", "--prior-sigma", "sig",
                  "-o", str(tmp_path / "o.csv"))
    assert res.returncode == 0, res.stderr
    lines = [line for line in res.stderr.splitlines() if "twice the age grid's step" in line]
    assert len(lines) == 1, res.stderr
    assert "2 rows' --prior-sigma (column sig) are under twice" in lines[0]
    assert lines[0].endswith("--grid 1001 (Python: n_grid=1001) or narrower age bounds resolve the narrowest (0.008)")
    prior = Prior("gaussian_log_age", mean_column="mu", sigma_column="sig")
    with pytest.warns(UserWarning, match="2 rows' --prior-sigma"):
        model.estimate(pd.read_csv(src), EstimateSettings(prior=prior))


def test_one_rows_narrow_prior_width_is_said_in_the_singular():
    """One narrow per-star width read "1 row' --prior-sigma ... is under": a plural's apostrophe on a singular."""
    from gyroage.core.priors import grid_step_note

    note = grid_step_note(Prior("gaussian_log_age", mean_column="mu", sigma_column="sig"), 201, (1, 0.008))
    assert note.startswith("1 row's --prior-sigma (column sig) is under twice the age grid's step"), note
    assert "its ages come out" in note


def test_the_grid_step_note_of_one_star_already_counted_says_its_age():
    """The mcmc line (N stars took the grid's posterior) patched the grid's words by text replacement, which missed
    one star under a width column: "its ages come out". grid_step_note words it itself."""
    from gyroage.core.priors import grid_step_note

    prior = Prior("gaussian_log_age", mean_column="mu", sigma_column="sig")
    one = grid_step_note(prior, 201, (1, 0.008), of_stars_said=True)
    assert one.startswith("its --prior-sigma (column sig) is under twice"), one
    assert "and its age comes out" in one, one
    two = grid_step_note(prior, 201, (2, 0.008), of_stars_said=True)
    assert two.startswith("their --prior-sigma (column sig) are under twice") and "their ages come out" in two, two
    scalar = grid_step_note(Prior("gaussian_log_age", mean=7.0, sigma=0.01), 201, (1, 0.01), of_stars_said=True)
    assert "and its age comes out" in scalar, scalar


def test_a_table_ending_inside_the_bounds_is_said_with_the_bounds_that_end_the_grid_there(model):
    """The grid's trapezoid rule takes the density to 0 over the cell after a table's last age, so the ages ran on
    one step past it: a table of 9-9.5 (log10 yr) gave the Sun a p97.5 of 3243 Myr, past the table's 3162. The
    narrow-prior note now says so, naming the bounds that put the edges on the grid's ends; with them the ages stay
    inside the table, and no note."""
    from gyroage.core.priors import grid_step_note

    table = ((9.0, 9.5), (0.0, 0.0))
    note = grid_step_note(Prior("tabulated", 6.0, 10.0, table=table), 201)
    assert note is not None and "past its edges; --age-min-myr 1000 and --age-max-myr 3162.27 put the grid ends" in note
    assert "up to one step (0.02 dex)" in note
    bounded = Prior("tabulated", 9.0, float(np.log10(3162.27e6)), table=table)
    assert grid_step_note(bounded, 201) is None
    with pytest.warns(UserWarning, match="--age-max-myr 3162.27"):
        model.posterior(25.4, 0.82, prior=Prior("tabulated", table=table))
    ages = model.posterior(25.4, 0.82, prior=bounded).summaries()
    assert 1000 <= ages["age_p2.5_myr"][0] and ages["age_p97.5_myr"][0] <= 3162.28


def test_a_table_in_gyr_under_an_age_myr_header_is_refused_with_the_hint(tmp_path):
    """A table of 0.1-13 under age_myr (Gyr meant) was taken as 0.1-13 Myr and dated every star ~10 Myr. Under
    bounds reaching 1 Gyr or beyond, an age_myr table ending at or below 14 Myr is refused, asking whether Gyr was
    given; with --age-max-myr near its end (a prior of young ages alone) it is taken."""
    f = tmp_path / "gyr.csv"
    f.write_text("age_myr,density\n0.1,1\n1,1\n5,2\n13,1\n")
    with pytest.raises(UserError, match=r"did you give Gyr\? .*add --age-max-myr 13$") as err:
        make_prior("tabulated", None, None, BOUNDS, table=f)
    assert "its ages (age_myr) run 0.1-13 Myr" in str(err.value)
    young = make_prior("tabulated", None, 13.0, BOUNDS, table=f)
    assert young.table[0][-1] == pytest.approx(np.log10(13e6))
    g = tmp_path / "myr.csv"  # the same numbers in Myr times 1000 are an ordinary table
    g.write_text("age_myr,density\n100,1\n1000,1\n5000,2\n13000,1\n")
    make_prior("tabulated", None, None, BOUNDS, table=g)


def test_a_prior_between_two_grid_ages_is_refused_on_the_runs_own_grid():
    """A table between two grid ages (9.505-9.515, on the 0.02 dex step) passed the check on 1001 points, then every
    row was invalid_prior with numpy RuntimeWarnings, and the sampler took its all -inf grid prior for flat. The run's
    own grid is now checked (one line, naming a --grid that puts ages in it), and no finite value is not flat."""
    from gyroage.core.estimate import EstimateSettings
    from gyroage.core.posterior import prior_is_flat

    sliver = Prior("tabulated", 6.0, 10.0, table=((9.505, 9.515), (0.0, 0.0)))
    with pytest.raises(UserError, match=r"no probability at any age of the grid \(201 points .*n_grid 801 or "
                                        r"narrower age bounds put ages in it$"):
        EstimateSettings(prior=sliver, n_grid=201)
    EstimateSettings(prior=sliver, n_grid=801)
    assert not prior_is_flat(np.full((1, 5), -np.inf))
    assert prior_is_flat(np.zeros((1, 5)))


@pytest.mark.parametrize("text, words", [
    ("age_gyr,density\n1,1\n10,1\n", "it has 'age_gyr', 'density'"),
    ("# SFH\nlog10_age,density\n6,1\n10,1\n", "it has '# SFH'"),
    ("log10_age;density\n6;1\n10;1\n", "it has 'log10_age;density'"),
    ("log10_age,density,age_myr\n6,1,1\n10,1,10000\n", "has both log10_age and age_myr: keep the one its ages are in"),
])
def test_a_prior_table_without_its_columns_says_which_it_has(tmp_path, text, words):
    """A table with other column names (age_gyr, a # comment or ; separators) got 'needs columns density and
    log10_age or age_myr' without the columns found, and one with both age columns was read by log10_age alone."""
    f = tmp_path / "t.csv"
    f.write_text(text)
    with pytest.raises(UserError) as err:
        read_prior_table(f)
    assert words in str(err.value) and "\n" not in str(err.value)


def test_a_table_outside_the_bounds_is_said_to_be_outside_them_not_between_grid_ages(tmp_path):
    """A table below the bounds was said to lie "between two of them: --grid 3 or narrower age bounds" (the overlap
    taken as max(last, lo) - min(first, hi); --grid 3 is under the minimum). One test now serves make_prior and the
    run's grid: no density inside the bounds is "outside the bounds"; a sliver names a --grid the options take."""
    from gyroage.core.estimate import EstimateSettings
    from gyroage.defaults import MIN_GRID

    below = Prior("tabulated", 9.0, 10.0, table=((8.0, 8.5), (0.0, 0.0)))
    with pytest.raises(UserError, match=r"no probability between the age bounds \(1000-10000 Myr\): its table "
                                        r"\(100-316\.228 Myr\) lies outside them$") as err:
        EstimateSettings(prior=below)
    assert "--grid" not in str(err.value)
    t = tmp_path / "below.csv"
    t.write_text("log10_age,density\n8.0,1\n8.5,1\n")
    with pytest.raises(UserError, match=rf"prior table {t} has no probability between the age bounds .* lies outside"):
        make_prior("tabulated", 1000.0, 10000.0, BOUNDS, table=t)
    # zero nodes on both sides: the density is positive only between them, 9.3-9.5, outside 9.6-10
    gap = Prior("tabulated", 9.6, 10.0, table=((9.3, 9.4, 9.5, 9.7, 9.8), (-np.inf, 0.0, -np.inf, -np.inf, -np.inf)))
    with pytest.raises(UserError, match="lies outside them$"):
        EstimateSettings(prior=gap)
    # a sliver a coarse grid misses: the --grid named is at least the minimum
    wide = Prior("tabulated", 9.0, 10.0, table=((9.505, 9.515), (0.0, 0.0)))
    with pytest.raises(UserError, match=r"n_grid (\d+) or narrower age bounds put ages in it$") as err:
        EstimateSettings(prior=wide, n_grid=51)
    need = int(str(err.value).split("n_grid ")[1].split()[0])
    assert need >= MIN_GRID
    EstimateSettings(prior=wide, n_grid=need)


@pytest.mark.parametrize("text, words", [("log10_age,density\n9,1\n", "has 1 row: "),
                                         ("log10_age,density\n9,0\n9.5,0\n", "has a density of 0 in every row: ")])
def test_a_prior_table_too_short_or_without_mass_says_which(tmp_path, text, words):
    """'needs at least two rows with a non-negative density, one positive' named a negative density that was
    already refused, and not which of the two needs the table missed."""
    f = tmp_path / "t.csv"
    f.write_text(text)
    with pytest.raises(UserError, match=f"{words}it needs at least two rows, and a density above 0 in one$"):
        read_prior_table(f)


def test_a_python_tabulated_prior_takes_log_densities_and_make_prior_reads_the_cli_file(tmp_path):
    """Prior.table holds log densities per dex, the --prior-table file linear ones: the file passed straight in put
    medians 0.21 dex off. Prior's docstring says so loudly and names make_prior, which reads the file as the CLI."""
    table = tmp_path / "tab.csv"
    table.write_text("log10_age,density\n7.0,0.1\n8.0,1.0\n9.0,2.0\n9.6,1.0\n10.0,0.2\n")
    x = np.linspace(7.0, 10.0, 31)
    from_file = make_prior("tabulated", None, None, (6.0, 10.0), table=table)
    by_hand = Prior("tabulated", 6.0, 10.0, table=((7.0, 8.0, 9.0, 9.6, 10.0), tuple(np.log([0.1, 1.0, 2.0, 1.0, 0.2]))))
    np.testing.assert_allclose(from_file.log_prob(x), by_hand.log_prob(x))
    doc = " ".join(Prior.__doc__.split())
    assert "NATURAL LOG" in doc and "make_prior(\"tabulated\"" in doc and "--prior-table" in doc



@pytest.mark.parametrize(("prior", "cannot"), [
    (Prior("gaussian_log_age", mean=9.0, sigma=0.01), True), (Prior("gaussian_log_age", mean=9.0, sigma=0.039999), True),
    (Prior("gaussian_log_age", mean=9.0, sigma=0.04), False), (Prior("uniform_age"), False),
    (Prior("tabulated", 6.0, 10.0, table=((9.0, 9.5), (0.0, 0.0))), True),
    (Prior("tabulated", 9.0, 9.5, table=((9.0, 9.5), (0.0, 0.0))), False)])
def test_whether_the_grid_cannot_hold_a_prior_is_asked_without_its_line(prior, cannot):
    """The mcmc run's count of stars that took the grid's posterior under a prior it cannot hold asked grid_step_note
    for a whole line to learn a yes/no (RD37A 7): grid_cannot_hold answers it, and says yes exactly where the line is
    said (0.04 dex is twice the default 201 points' 0.02 dex step; a table inside the bounds, or ending on them)."""
    from gyroage.core.priors import grid_cannot_hold, grid_step_note

    assert grid_cannot_hold(prior, 201) is cannot
    assert (grid_step_note(prior, 201) is not None) is cannot
