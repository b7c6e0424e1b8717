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


@pytest.fixture()
def drawn(monkeypatch) -> dict:
    """What plot posterior hands to the figure: the grid, the pdf and the summaries."""
    import gyroage.plots as plots

    seen: dict = {}
    original = plots.posterior_figure

    def spy(x, pdf, summary, **kwargs):
        seen.update(x=np.asarray(x), pdf=np.asarray(pdf), summary=summary)
        return original(x, pdf, summary, **kwargs)

    monkeypatch.setattr(plots, "posterior_figure", spy)
    return seen


def plot(*args: str) -> None:
    res = CliRunner().invoke(app, ["plot", "posterior", *args])
    assert res.exit_code == 0, res.output


def expected(model, frame: pd.DataFrame, prior=None, reddening: Reddening | None = None) -> pd.Series:
    n = max(401, model.card.age_grid["n"])  # the plot's grid
    s = EstimateSettings(prior=prior or model.default_prior, n_grid=n, reddening=reddening or Reddening())
    return model.estimate(frame, s).iloc[0]


@pytest.mark.parametrize("options, reddening", [
    (("--ebprp", "0.03", "--ebprp-err", "0.01"), Reddening(ebprp=0.03, ebprp_err=0.01)),
    (("--av", "0.1", "--av-err", "0.05"), Reddening(av=0.1, av_err=0.05)),
    (("--ebv", "0.04", "--ebv-err", "0.01"), Reddening(ebv=0.04, ebv_err=0.01)),
])
def test_plot_posterior_takes_estimates_reddening_options(tmp_path, drawn, model, options, reddening):
    obs = tmp_path / "obs.csv"
    obs.write_text("prot,bp_rp\n12,1.2\n")
    out = tmp_path / "x.png"
    plot(str(obs), "-o", str(out), *options)
    assert out.read_bytes()[:4] == b"\x89PNG"
    ref = expected(model, pd.read_csv(obs), reddening=reddening)
    assert ref["status"] == "ok"
    np.testing.assert_allclose(drawn["summary"]["age_p50_myr"], ref["age_p50_myr"], rtol=1e-9)


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
    for options in (("--ebprp", "0.03", "--av", "0.1"), ("--ebprp", "-1"), ("--prior", "flat"), ()):
        res = CliRunner().invoke(app, ["plot", "posterior", str(obs), "-o", str(tmp_path / "x.png"), *options])
        assert res.exit_code == 2 and res.output.count("\n") == 1 and "Traceback" not in res.output, res.output


def test_plot_posterior_of_a_header_only_input_says_it_has_no_rows(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("prot,bp_rp0\n")
    res = CliRunner().invoke(app, ["plot", "posterior", str(empty), "-o", str(tmp_path / "x.png")])
    assert res.exit_code == 2 and res.output == "gyroage: error: the input has no rows: no star to plot\n", res.output
    assert not (tmp_path / "x.png").exists()
