"""``plot posterior`` dates its star as ``estimate`` does with the same reddening and prior options."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from gyroage.cli import app
from gyroage.core.colours import Reddening
from gyroage.core.estimate import EstimateSettings
from gyroage.core.priors import make_prior
from tests.conftest import needs_matplotlib


@pytest.fixture()
def drawn(monkeypatch) -> dict:
    """What plot posterior hands to the figure: the grid, the pdf and the summaries."""
    import gyroage.plots as plots

    seen: dict = {}
    original = plots.posterior_figure

    def spy(x, pdf, summary, **kwargs):
        seen.update(x=np.asarray(x), pdf=np.asarray(pdf), summary=summary, title=kwargs.get("title", ""))
        return original(x, pdf, summary, **kwargs)

    monkeypatch.setattr(plots, "posterior_figure", spy)
    return seen


def plot(*args: str) -> None:
    res = CliRunner().invoke(app, ["plot", "posterior", *args])
    assert res.exit_code == 0, res.output


def expected(model, frame: pd.DataFrame, prior=None, reddening: Reddening | None = None) -> pd.Series:
    n = model.card.age_grid["n"]  # estimate's grid
    s = EstimateSettings(prior=prior or model.default_prior, n_grid=n, reddening=reddening or Reddening())
    return model.estimate(frame, s).iloc[0]


@pytest.mark.parametrize("options, reddening", [
    (("--ebprp", "0.03", "--ebprp-err", "0.01"), Reddening(ebprp=0.03, ebprp_err=0.01)),
    (("--av", "0.1", "--av-err", "0.05"), Reddening(av=0.1, av_err=0.05)),
    (("--ebv", "0.04", "--ebv-err", "0.01"), Reddening(ebv=0.04, ebv_err=0.01)),
])
@needs_matplotlib
def test_plot_posterior_takes_estimates_reddening_options(tmp_path, drawn, model, options, reddening):
    obs = tmp_path / "obs.csv"
    obs.write_text("prot,bp_rp\n12,1.2\n")
    out = tmp_path / "x.png"
    plot(str(obs), "-o", str(out), *options)
    assert out.read_bytes()[:4] == b"\x89PNG"
    ref = expected(model, pd.read_csv(obs), reddening=reddening)
    assert ref["status"] == "ok"
    np.testing.assert_allclose(drawn["summary"]["age_p50_myr"], ref["age_p50_myr"], rtol=1e-9)


@needs_matplotlib
def test_plot_posterior_takes_estimates_prior_options(tmp_path, drawn, model):
    stars = tmp_path / "stars.csv"
    stars.write_text("prot,bp_rp0\n25.4,0.82\n")
    table = tmp_path / "prior.csv"
    table.write_text("age_myr,density\n100,1\n3000,1\n")
    g = model.card.age_grid
    bounds = (g["log10_age_min"], g["log10_age_max"])
    for options, prior in (
        (("--prior", "uniform_age", "--age-max-myr", "5000"), make_prior("uniform_age", None, 5000, bounds)),
        (("--prior", "gaussian_log_age", "--prior-mean", "9.0", "--prior-sigma", "0.3", "--age-min-myr", "10"),
         make_prior("gaussian_log_age", 10, None, bounds, mean="9.0", sigma="0.3")),
        (("--prior", "tabulated", "--prior-table", str(table)), make_prior("tabulated", None, None, bounds,
                                                                           table=table)),
    ):
        plot(str(stars), "-o", str(tmp_path / "x.png"), *options)
        ref = expected(model, pd.read_csv(stars), prior=prior)
        np.testing.assert_allclose(drawn["summary"]["age_p50_myr"], ref["age_p50_myr"], rtol=1e-9)
        assert drawn["x"][0] == pytest.approx(prior.log10_age_min) and drawn["x"][-1] == pytest.approx(
            prior.log10_age_max)
    default = expected(model, pd.read_csv(stars))
    assert abs(np.log10(ref["age_p50_myr"] / default["age_p50_myr"])) > 0.01  # the prior mattered


@needs_matplotlib
def test_plot_posterior_takes_a_per_star_prior_column(tmp_path, drawn, model):
    stars = tmp_path / "stars.csv"
    stars.write_text("prot,bp_rp0,mu,sd\n25.4,0.82,9.6,0.1\n8,1.1,8.0,0.2\n")
    plot(str(stars), "--row", "1", "-o", str(tmp_path / "x.png"), "--prior", "gaussian_log_age", "--prior-mean",
         "mu", "--prior-sigma", "sd")
    g = model.card.age_grid
    prior = make_prior("gaussian_log_age", None, None, (g["log10_age_min"], g["log10_age_max"]), mean="mu",
                       sigma="sd")
    ref = expected(model, pd.read_csv(stars).iloc[[1]].reset_index(drop=True), prior=prior)
    np.testing.assert_allclose(drawn["summary"]["age_p50_myr"], ref["age_p50_myr"], rtol=1e-9)


def test_plot_posterior_reddening_and_prior_mistakes_are_one_line(tmp_path):
    obs = tmp_path / "obs.csv"
    obs.write_text("prot,bp_rp\n12,1.2\n")
    for options, words in ((("--ebprp", "0.03", "--av", "0.1"), "give one of --ebprp, --av and --ebv, not --ebprp and --av"),
                           (("--ebprp", "-1"), "--ebprp must be a finite number >= 0"),
                           (("--prior", "flat"), "unknown prior 'flat'"),
                           ((), "found BP-RP but no reddening")):
        res = CliRunner().invoke(app, ["plot", "posterior", str(obs), "-o", str(tmp_path / "x.png"), *options])
        assert res.exit_code == 2 and res.output.count("\n") == 1 and "Traceback" not in res.output, res.output
        assert res.output.startswith("gyroage: error: ") and words in res.output, (options, res.output)


def test_plot_posterior_of_a_header_only_input_says_it_has_no_rows(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("prot,bp_rp0\n")
    res = CliRunner().invoke(app, ["plot", "posterior", str(empty), "-o", str(tmp_path / "x.png")])
    assert res.exit_code == 2 and res.output == "gyroage: error: the input has no rows: no star to plot\n", res.output
    assert not (tmp_path / "x.png").exists()


def estimated(tmp_path, stars, *options: str) -> pd.Series:
    """``estimate``'s row for the first star with ``options``, every bit of it (Parquet)."""
    out = tmp_path / "ref.parquet"
    res = CliRunner().invoke(app, ["estimate", str(stars), "-o", str(out), "-q", *options])
    assert res.exit_code == 0, res.output
    return pd.read_parquet(out).iloc[0]


SUN = "prot,bp_rp0\n25.4,0.82\n"
YOUNG_M = "prot,bp_rp0,abs_g0\n1.2,2.4,8.2\n"  # a fast M dwarf above the main sequence: the height term dates it


@pytest.mark.parametrize("stars, options", [
    (SUN, ()),  # the plot summarised a 401-point grid, estimate the card's 201 points: 3e-4 dex apart at most
    (SUN, ("--grid", "101")),
    (SUN, ("--exact-grid",)),
    (YOUNG_M, ("--no-main-sequence",)),
    (SUN, ("--method", "mcmc", "--walkers", "8", "--max-steps", "100")),
])
@needs_matplotlib
def test_plot_posterior_median_is_estimates_with_the_same_options(tmp_path, drawn, stars, options):
    """plot posterior had no --grid, --exact-grid, --no-main-sequence, --walkers or --max-steps, and summarised its
    own 401-point grid: its median now is estimate's p50 for the same options (one star: one block of the sampler)."""
    src = tmp_path / "stars.csv"
    src.write_text(stars)
    plot(str(src), "-o", str(tmp_path / "x.png"), *options)
    p50 = estimated(tmp_path, src, *options)["age_p50_myr"]
    assert drawn["summary"]["age_p50_myr"] == pytest.approx(p50, rel=1e-12, abs=0)
    if options:  # the option changes the age, or this would not tell
        assert abs(np.log10(p50 / estimated(tmp_path, src)["age_p50_myr"])) > 1e-6
    assert len(drawn["x"]) >= 401  # the curve is still drawn on a fine grid


@needs_matplotlib
def test_plot_posterior_takes_estimates_outlier_weight(tmp_path, drawn):
    """--outlier-weight changes no age but p_outlier, so the likely_outlier flag the title names (star extrapolated)."""
    src = tmp_path / "stars.csv"
    src.write_text("prot,bp_rp0\n40,1.0\n")
    plot(str(src), "-o", str(tmp_path / "x.png"), "--outlier-weight", "0.6")
    ref = estimated(tmp_path, src, "--outlier-weight", "0.6")
    assert ref["status"] == "extrapolated" and "likely_outlier" in ref["age_flags"]
    assert "likely_outlier" not in estimated(tmp_path, src)["age_flags"]
    # the flag line names the flags, then p_outlier (plots.plot_posterior)
    assert f'{ref["age_flags"].replace(";", ", ")};  p_outlier = ' in drawn["title"]


@needs_matplotlib
def test_plot_posterior_shares_estimates_option_definitions():
    """The posterior-changing options are estimate's own definitions: same names, type, help and default."""
    from tests.test_cli_help import _commands, _shown_type

    def params(path: tuple[str, ...]) -> dict:
        cmd, ctx = next((c, x) for p, c, x in _commands() if p == path)
        return {p.name: (p.opts, p.secondary_opts, _shown_type(p, ctx), p.help, p.default) for p in cmd.get_params(ctx)}

    est, plo = params(("estimate",)), params(("plot", "posterior"))
    for name in ("model", "seed", "prior", "prior_mean", "prior_sigma", "prior_table", "age_min_myr", "age_max_myr",
                 "grid", "exact_grid", "outlier_weight", "main_sequence", "walkers", "max_steps", "ebprp",
                 "ebprp_err", "av", "av_err", "ebv", "ebv_err"):
        assert name in plo and est[name] == plo[name], name
    from gyroage.core.sampler import SamplerSettings

    assert (est["walkers"][-1], est["max_steps"][-1]) == (SamplerSettings().n_walkers, SamplerSettings().max_steps)


OBSERVED = "name,Per,BP-RP,e_BP-RP,E(B-V),Prot\nx,12.0,1.2,0.01,0.05,13.0\n"


def reading_lines(stderr: str, label: str) -> list[str]:
    """The lines naming the columns read, without their ``label: `` (as estimate prints them)."""
    return [ln.removeprefix(f"{label}: ") for ln in stderr.splitlines() if ln.startswith(f"{label}: ")
            and ("reading " in ln or "several columns" in ln)]


@pytest.mark.parametrize("options", [(), ("--ebv", "0.04")])
@needs_matplotlib
def test_plot_posterior_and_sequence_say_which_columns_they_read_as_estimate_does(tmp_path, options):
    """estimate names the period and colour columns it matched on stderr; the plots read the same columns silently."""
    stars = tmp_path / "stars.csv"
    stars.write_text(OBSERVED)
    res = CliRunner().invoke(app, ["estimate", str(stars), *options])
    assert res.exit_code == 0, res.output
    said = reading_lines(res.stderr, "estimate")
    assert said[-1].startswith("reading prot from 'Per' (d), colour from 'BP-RP' (error 'e_BP-RP') - "), said
    assert len(said) == 2 and said[0].startswith("several columns are prot"), said
    res = CliRunner().invoke(app, ["plot", "posterior", str(stars), "-o", str(tmp_path / "p.png"), *options])
    assert res.exit_code == 0, res.output
    assert reading_lines(res.stderr, "plot") == said, res.stderr
    if not options:  # plot sequence has no reddening options: the file's own E(B-V)
        res = CliRunner().invoke(app, ["plot", "sequence", "--data", str(stars), "-o", str(tmp_path / "s.png"),
                                       "--age", "600"])
        assert res.exit_code == 0, res.output
        assert reading_lines(res.stderr, "plot") == said, res.stderr


def test_a_refused_plot_input_is_one_line_without_the_reading_line(tmp_path):
    obs, ok = tmp_path / "obs.csv", tmp_path / "ok.csv"
    obs.write_text("prot,bp_rp\n12,1.2\n")  # no reddening
    ok.write_text("prot,bp_rp0\n12,1.2\n")
    for args in (["posterior", str(obs)], ["sequence", "--data", str(obs)], ["posterior", str(ok), "--main-sequence"],
                 ["sequence", "--data", str(ok), "--colour-by", "nope"]):
        res = CliRunner().invoke(app, ["plot", *args, "-o", str(tmp_path / "x.png")])
        assert res.exit_code == 2 and res.output.count("\n") == 1 and "reading" not in res.output, res.output


# -q, and the model's notices ---------------------------------------------------------------------------------------

@needs_matplotlib
def test_plot_commands_take_quiet_and_still_say_values_changed_on_reading(tmp_path):
    """The plots had no -q: their reading line could not be silenced. With -q only a notice that values were changed
    on reading is left (as with estimate -q), and the figure is written."""
    stars = tmp_path / "stars.csv"
    stars.write_text(OBSERVED)
    hours = tmp_path / "hours.csv"
    hours.write_text("Per,bp_rp0\nh,mag\n288,1.2\n")  # a units row: converted on reading, said even with -q
    for args in (["posterior", str(stars)], ["sequence", "--data", str(stars), "--age", "600"]):
        out = tmp_path / f"{args[0]}.png"
        loud = CliRunner().invoke(app, ["plot", *args, "-o", str(out)])
        assert loud.exit_code == 0 and reading_lines(loud.stderr, "plot"), loud.output
        out.unlink()
        res = CliRunner().invoke(app, ["plot", *args, "-o", str(out), "-q"])
        assert res.exit_code == 0 and res.stderr == "" and out.is_file(), res.output
        res = CliRunner().invoke(app, ["plot", args[0], *(["--data"] if args[0] == "sequence" else []), str(hours),
                                       "-o", str(out), "--quiet"])
        assert res.exit_code == 0, res.output
        assert res.stderr.splitlines() == ["gyroage: converted column 'Per' from h to days"], res.stderr


def model_notes_said(stderr: str, label: str) -> list[str]:
    """The lines about the model (no calibration, stale graphs), without their ``label: ``."""
    return [ln.removeprefix(f"{label}: ") for ln in stderr.splitlines() if ln.startswith(f"{label}: ")
            and ("calibration" in ln)]


@needs_matplotlib
def test_plot_posterior_says_what_estimate_says_of_an_uncalibrated_or_stale_model(tmp_path):
    """plot posterior dated a star with a card without calibration, its graphs built from another calibration,
    silently; estimate says both. Now the plot says the same lines (not with -q, as estimate)."""
    import shutil

    from gyroage.core.modelcard import POSTERIOR_GRAPHS, UNCALIBRATED, load_card, write_card
    from tests.conftest import ROOT, run_cli

    model = tmp_path / "model"
    shutil.copytree(ROOT / "models", model)
    card, _ = load_card(model)
    write_card(card, model, built=POSTERIOR_GRAPHS)  # as export records what its graphs were built from
    card.calibration = {}
    write_card(card, model)  # then the calibration changed: the graphs are stale, and the card uncalibrated
    stars = tmp_path / "stars.csv"
    stars.write_text("prot,bp_rp0\n12,1.2\n")
    est = CliRunner().invoke(app, ["estimate", str(stars), "--model", str(model)])
    assert est.exit_code == 0, est.output
    said = model_notes_said(est.stderr, "estimate")
    assert said[0] == UNCALIBRATED and len(said) == 2 and "export --rebuild" in said[1], said
    # in a fresh interpreter: they came as Python's UserWarning (with a source line), which the test runner catches
    res = run_cli("plot", "posterior", str(stars), "--model", str(model), "-o", str(tmp_path / "p.png"))
    assert res.returncode == 0, res.stderr
    assert model_notes_said(res.stderr, "plot") == said and "Warning" not in res.stderr, res.stderr
    assert len(res.stderr.splitlines()) == 4, res.stderr  # the two notes, the reading line, the file written
    res = run_cli("plot", "posterior", str(stars), "--model", str(model), "-o", str(tmp_path / "p.png"), "-q")
    assert res.returncode == 0 and res.stderr == "", res.stderr


@needs_matplotlib
def test_plot_sequence_says_nothing_of_an_uncalibrated_or_stale_model(tmp_path, uncalibrated_model):
    """plot sequence printed AgeModel's UserWarnings (two lines each, with a source path) for a card without
    calibration or with stale graphs: its bands do not use the calibration, so it has nothing to say of it."""
    import shutil

    from gyroage.core.modelcard import POSTERIOR_GRAPHS, load_card, write_card
    from tests.conftest import run_cli

    stale = tmp_path / "stale"
    shutil.copytree(uncalibrated_model, stale)
    card, _ = load_card(stale)
    card.calibration = {"anything": 1.0}
    write_card(card, stale, built=POSTERIOR_GRAPHS)
    card.calibration = {}
    write_card(card, stale)  # the graphs were built from another calibration: stale, and uncalibrated
    for model in (stale, uncalibrated_model):
        out = tmp_path / f"{model.name}.png"
        res = run_cli("plot", "sequence", "--model", str(model), "-o", str(out), "--age", "600")
        assert res.returncode == 0 and out.is_file(), res.stderr
        assert "Warning" not in res.stderr and res.stderr.splitlines() == [f"plot: wrote {out}"], res.stderr


@needs_matplotlib
def test_plot_sequence_refuses_a_repeated_colour_by_column_as_group_age_does_its_by(tmp_path):
    """--colour-by cluster on cluster,Prot,bp_rp0,cluster coloured the points by the first column's clusters without
    a word, where group-age --by cluster refuses the file in one line (review V30, 3)."""
    src = tmp_path / "cb.csv"
    src.write_text("cluster,Prot,bp_rp0,cluster\nPleiades,3.1,0.9,Praesepe\nHyades,9.1,1.0,Praesepe\n")
    res = CliRunner().invoke(app, ["plot", "sequence", "--age", "600", "--data", str(src), "--colour-by", "cluster",
                                   "-o", str(tmp_path / "s.png")])
    assert res.exit_code == 2 and res.output.strip().splitlines() == [
        f"gyroage: error: {src} has 2 columns named 'cluster': rename all but one (the first would be read)"], res.output
    assert not (tmp_path / "s.png").exists()
    res = CliRunner().invoke(app, ["plot", "sequence", "--age", "600", "--data", str(src), "-o", str(tmp_path / "s.png")])
    assert res.exit_code == 0, res.output  # nothing reads the repeat


@pytest.mark.parametrize("options", [["--walkers", "32"], ["--walkers", "32", "--max-steps", "50"]])
def test_plot_posterior_refuses_sampler_options_without_mcmc_as_estimate_does(tmp_path, options):
    """plot posterior --walkers/--max-steps without --method mcmc drew the grid's figure and ignored them (review
    V51, 4); estimate refuses them. The plot says estimate's line now, exit 2, and writes nothing."""
    csv = tmp_path / "sun.csv"
    csv.write_text("name,prot,bp_rp0\nSun,25.4,0.82\n")
    est = CliRunner().invoke(app, ["estimate", str(csv), *options])
    res = CliRunner().invoke(app, ["plot", "posterior", str(csv), *options, "-o", str(tmp_path / "w.svg")])
    assert est.exit_code == 2 and res.exit_code == 2, res.output
    assert res.stderr.strip() == est.stderr.strip() and "--method mcmc" in res.stderr
    assert not (tmp_path / "w.svg").exists()
    ok = CliRunner().invoke(app, ["plot", "posterior", str(csv), *options, "--method", "mcmc", "-q", "-o",
                                  str(tmp_path / "m.svg")])
    assert ok.exit_code == 0, ok.output


@pytest.mark.parametrize("method", ["foo", "MCMC"])
def test_plot_posterior_refuses_an_unknown_method_in_estimates_words(tmp_path, method):
    """plot posterior --method foo said "unknown method 'foo'" where estimate says "unknown --method 'foo'": the
    plot's settings are estimate's (cli_options.estimate_settings), its method checked there as estimate's is."""
    csv = tmp_path / "sun.csv"
    csv.write_text("name,prot,bp_rp0\nSun,25.4,0.82\n")
    est = CliRunner().invoke(app, ["estimate", str(csv), "--method", method])
    res = CliRunner().invoke(app, ["plot", "posterior", str(csv), "--method", method, "-o", str(tmp_path / "w.svg")])
    assert est.exit_code == 2 and res.exit_code == 2, res.output
    assert res.stderr.strip() == est.stderr.strip() == f"gyroage: error: unknown --method '{method}' (choose grid or mcmc)"
    assert not (tmp_path / "w.svg").exists()
