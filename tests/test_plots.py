"""Figures: files are written, valid and refuse bad options; sequence bands behave."""

from __future__ import annotations

import io
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from tests.conftest import needs_matplotlib, run_cli


@pytest.fixture()
def stars_csv(tmp_path):
    p = tmp_path / "stars.csv"
    pd.DataFrame({"name": ["a", "b", "c"], "prot": [10.0, -1.0, 2.0], "bp_rp0": [1.2, 1.0, 2.5]}).to_csv(p, index=False)
    return p


@needs_matplotlib
def test_plot_posterior_png_and_pdf(tmp_path, stars_csv):
    from gyroage.plots import plot_posterior

    png = plot_posterior(str(stars_csv), 0, tmp_path / "p.png", true_age_myr=700)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    pdf = plot_posterior(str(stars_csv), 2, tmp_path / "p.pdf")
    assert pdf.read_bytes()[:5] == b"%PDF-"


def test_plot_posterior_errors(tmp_path, stars_csv):
    from gyroage.errors import UserError
    from gyroage.plots import plot_posterior

    for row, out, words in ((1, "x.png", "row 1 has status invalid_period: no posterior to plot"),
                            (7, "x.png", "--row 7 is outside the input (0..2)"),
                            (0, "x.jpg", "figure file must end in .png, .pdf or .svg")):
        with pytest.raises(UserError, match=re.escape(words)):
            plot_posterior(str(stars_csv), row, tmp_path / out)
    res = run_cli("plot", "posterior", str(stars_csv), "--row", "1")
    assert res.returncode == 2 and "status invalid_period" in res.stderr and "Traceback" not in res.stderr


@needs_matplotlib
def test_plot_sequence_cli(tmp_path, stars_csv):
    out = tmp_path / "seq.png"
    res = run_cli("plot", "sequence", "-o", str(out), "--age", "100", "--age", "1000", "--data", str(stars_csv))
    assert res.returncode == 0, res.stderr
    assert out.read_bytes()[:4] == b"\x89PNG"


def test_sequence_bands_ordered_and_spin_down(model):
    from gyroage.plots import sequence_bands

    colours = np.linspace(1.0, 1.6, 7)  # FGK stars on the slow sequence spin down with age
    b = sequence_bands(model, [150.0, 1500.0], colours)
    assert b.shape == (2, 7, 3)
    assert np.all(np.diff(b, axis=2) >= 0)
    assert np.all(b[1, :, 1] > b[0, :, 1])


# ---- issue 12: figures fit for a paper (each test drives the public plot_* functions and inspects what they draw)

MIN_MARKER_AREA = 9.0  # pt^2: a 3-pt dot, the smallest a reader can see in print
NO_DATA_GID = "no-training-data"


@pytest.fixture()
def figures(monkeypatch):
    """Every Figure saved during the test, kept after the plot function closes it."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    seen, save = [], Figure.savefig

    def keep(self, *args, **kwargs):
        seen.append(self)
        return save(self, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", keep)
    return seen


def _own_95(frame: pd.DataFrame, row: int) -> tuple[float, float]:
    """The 2.5% and 97.5% points (log10 yr) of the star's grid posterior, from its own density."""
    from gyroage import AgeModel
    from gyroage.core.estimate import EstimateSettings, estimate_with_posteriors

    am = AgeModel.load()
    _, post = estimate_with_posteriors(frame.iloc[[row]].reset_index(drop=True), am.density,
                                       EstimateSettings(prior=am.default_prior, n_grid=401))
    x, p = np.asarray(post["log10_age"].iloc[0], float), np.asarray(post["pdf"].iloc[0], float)
    cdf = np.concatenate([[0.0], np.cumsum(0.5 * (p[1:] + p[:-1]) * np.diff(x))])
    lo, hi = np.interp([0.025, 0.975], cdf / cdf[-1], x)
    return float(lo), float(hi)


@needs_matplotlib
def test_posterior_axis_covers_95_interval_with_margin(tmp_path, figures):
    from gyroage.plots import plot_posterior

    # the Sun (95% band up to 9 Gyr), a young M dwarf (down to ~1 Myr), a K dwarf, an old extrapolated star
    frame = pd.DataFrame({"name": ["sun", "young", "k", "old"], "prot": [25.4, 2.0, 10.0, 30.0],
                          "bp_rp0": [0.82, 2.5, 1.2, 1.5]})
    csv = tmp_path / "s.csv"
    frame.to_csv(csv, index=False)
    for row in range(len(frame)):
        plot_posterior(str(csv), row, tmp_path / f"p{row}.png")
        xlo, xhi = figures[-1].axes[0].get_xlim()
        lo, hi = _own_95(frame, row)
        assert np.log10(xlo) + 6 <= lo - 0.1 and np.log10(xhi) + 6 >= hi + 0.1, (row, xlo, xhi, lo, hi)
    assert "status extrapolated: age_outside_training" in figures[-1].axes[0].get_title(loc="left")


def _scatter_sizes(fig) -> np.ndarray:
    from matplotlib.collections import PathCollection

    cols = [c for c in fig.axes[0].collections if isinstance(c, PathCollection)]
    assert cols
    return np.concatenate([c.get_sizes() for c in cols]), np.concatenate([c.get_linewidths() for c in cols])


@needs_matplotlib
def test_sequence_markers_legible_for_few_and_many_points(tmp_path, figures):
    from gyroage.plots import plot_sequence

    rng = np.random.default_rng(1)
    few = pd.DataFrame({"prot": [10.0, 2.0, 5.0], "bp_rp0": [1.2, 2.5, 1.0]})
    many = pd.DataFrame({"prot": 10 ** rng.uniform(-0.5, 1.3, 3000), "bp_rp0": rng.uniform(0.5, 3.0, 3000)})
    sizes = []
    for k, data in enumerate((few, many)):
        plot_sequence(tmp_path / f"s{k}.png", [670.0], data=data)
        s, lw = _scatter_sizes(figures[-1])
        assert s.min() >= MIN_MARKER_AREA and np.all(lw > 0)  # edges give contrast against the bands
        sizes.append(s.min())
    assert sizes[0] > sizes[1]  # a handful of stars gets bigger dots than a catalogue


@needs_matplotlib
def test_sequence_legend_leaves_out_empty_groups(tmp_path, figures):
    from gyroage.plots import plot_sequence

    data = pd.DataFrame({"prot": [10.0, -1.0, np.nan, 2.0], "bp_rp0": [1.2, 1.0, 1.5, 2.5],
                         "cluster": ["A", "B", "B", "C"]})  # B has no drawable star
    plot_sequence(tmp_path / "s.png", [670.0], data=data, colour_by="cluster")
    labels = [t.get_text() for t in figures[-1].axes[0].get_legend().get_texts()]
    assert "A" in labels and "C" in labels and "B" not in labels


@needs_matplotlib
def test_sequence_shades_ages_and_colours_without_training_data(tmp_path, figures, model):
    from gyroage.core.domain import SequenceDomain
    from gyroage.plots import plot_sequence

    seq = SequenceDomain.from_card(model.card)
    _, hi = seq.age_range(np.array([3.0, 1.5]))
    assert hi[0] < np.log10(2500e6) < hi[1]  # 2.5 Gyr: trained at 1.5 mag, not at 3.0 mag
    plot_sequence(tmp_path / "s.png", [120.0, 2500.0])
    ax = figures[-1].axes[0]
    shaded = [a for a in [*ax.collections, *ax.patches] if a.get_gid() == NO_DATA_GID]
    assert shaded
    spans = [_x_span(a, ax) for a in shaded]
    assert any(a <= 3.0 <= b for a, b in spans)
    assert not any(a <= 1.5 <= b for a, b in spans)
    assert any("no training data" in t.get_text() for t in ax.get_legend().get_texts())


def _x_span(artist, ax) -> tuple[float, float]:
    """The data-x range an artist (fill collection or span patch) covers on ``ax``."""
    if hasattr(artist, "get_paths"):
        shown = artist.get_transform().transform(np.concatenate([p.vertices for p in artist.get_paths()]))
    else:
        shown = artist.get_verts()
    x = ax.transData.inverted().transform(shown)[:, 0]
    return float(x.min()), float(x.max())


def _png_width(path) -> int:
    return int.from_bytes(path.read_bytes()[16:20], "big")


@needs_matplotlib
def test_plot_format_and_dpi_options(tmp_path, stars_csv):
    from gyroage.errors import UserError
    from gyroage.plots import plot_posterior, plot_sequence

    svg = plot_sequence(tmp_path / "s.svg", [670.0])
    head = svg.read_bytes()[:400]
    assert head.startswith(b"<?xml") or b"<svg" in head
    pdf = plot_sequence(tmp_path / "s", [670.0], fmt="pdf")  # no suffix: the format's is added
    assert pdf.name == "s.pdf" and pdf.read_bytes()[:4] == b"%PDF"
    small = plot_posterior(str(stars_csv), 0, tmp_path / "a.png", dpi=50)
    big = plot_posterior(str(stars_csv), 0, tmp_path / "b.png", dpi=100)
    assert 1.8 < _png_width(big) / _png_width(small) < 2.2
    for kwargs, words in (({"fmt": "pdf"}, "ends in .png but --format is pdf"),
                          ({"fmt": "jpeg"}, "unknown figure format 'jpeg' (choose png, pdf, svg)"),
                          ({"dpi": 0}, "--dpi must be between 10 and 2400, not 0"),
                          ({"dpi": -5}, "--dpi must be between 10 and 2400, not -5")):
        with pytest.raises(UserError, match=re.escape(words)):
            plot_posterior(str(stars_csv), 0, tmp_path / "c.png", **kwargs)


@needs_matplotlib
def test_plot_cli_format_and_dpi(tmp_path, stars_csv):
    res = run_cli("plot", "posterior", str(stars_csv), "-o", str(tmp_path / "p"), "--format", "svg", "--dpi", "80")
    assert res.returncode == 0, res.stderr
    assert b"<svg" in (tmp_path / "p.svg").read_bytes()[:2000]
    res = run_cli("plot", "sequence", "-o", str(tmp_path / "s.png"), "--format", "pdf")
    assert res.returncode == 2 and "--format" in res.stderr and "Traceback" not in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1 and not (tmp_path / "s.png").exists()
    res = run_cli("plot", "sequence", "-o", str(tmp_path / "s.png"), "--dpi", "0")
    assert res.returncode == 2 and "--dpi" in res.stderr and "Traceback" not in res.stderr


@needs_matplotlib
def test_sequence_overlay_reads_colours_as_estimate_does(tmp_path):
    """--data with teff, or observed bp_rp and E(BP-RP), is overlaid (it was refused for lacking bp_rp0)."""
    from gyroage.plots import _data_points

    teff = pd.DataFrame({"prot_days": [25.4, 10.0], "teff": [5772.0, 4500.0]})
    c, p, _, _ = _data_points(teff, None)
    assert len(c) == 2 and abs(c[0] - 0.82) < 0.01 and c[1] > c[0]
    obs = pd.DataFrame({"prot_days": [12.0], "bp_rp": [1.1], "ebprp": [0.1]})
    c, _, _, _ = _data_points(obs, None)
    assert np.allclose(c, [1.0])
    out = tmp_path / "seq.png"
    (tmp_path / "teff.csv").write_text(teff.to_csv(index=False))
    res = run_cli("plot", "sequence", "-o", str(out), "--age", "1000", "--data", str(tmp_path / "teff.csv"))
    assert res.returncode == 0, res.stderr
    assert out.stat().st_size > 0


def test_a_figure_path_that_is_a_directory_is_one_line(tmp_path, stars_csv):
    d = tmp_path / "taken.png"
    d.mkdir()
    res = run_cli("plot", "posterior", str(stars_csv), "--row", "0", "-o", str(d))
    assert res.returncode == 2 and "Traceback" not in res.stderr and "directory" in res.stderr


@pytest.mark.parametrize("dpi", ["1e9", "50000", "5", "nan"])
def test_plot_dpi_outside_sane_range_is_refused(tmp_path, stars_csv, dpi):
    """A huge --dpi was a TypeError or MemoryError traceback; any outside 10-2400 is one line, exit 2, nothing written."""
    for args in (("posterior", str(stars_csv)), ("sequence", "--age", "500")):
        res = run_cli("plot", *args, "-o", str(tmp_path / "x.png"), "--dpi", dpi)
        assert res.returncode == 2 and "Traceback" not in res.stderr, res.stderr
        assert len(res.stderr.strip().splitlines()) == 1 and "--dpi" in res.stderr
        assert not (tmp_path / "x.png").exists()


@pytest.mark.parametrize("target", [".", "..", "../../sub", "../../sub/"])
def test_plot_output_directory_is_refused(tmp_path, stars_csv, target):
    """-o . was a ValueError traceback and -o .. wrote a file named '...png': a directory is refused as estimate does."""
    (tmp_path / "sub").mkdir()
    cwd = tmp_path / "a" / "b"
    cwd.mkdir(parents=True)
    for args in (("posterior", str(stars_csv)), ("sequence", "--age", "500")):
        res = run_cli("plot", *args, "-o", target, cwd=cwd)
        assert res.returncode == 2 and "Traceback" not in res.stderr, res.stderr
        assert res.stderr.strip() == f"gyroage: error: output {target} is a directory"
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == ["stars.csv"]
    if target == ".":  # an empty -o is Path("."): it needs a file name, as estimate says
        res = run_cli("plot", "sequence", "--age", "500", "-o", "", cwd=cwd)
        assert res.returncode == 2 and res.stderr.strip() == "gyroage: error: -o needs a file name", res.stderr


def test_plot_sequence_refuses_ages_outside_the_models_grid(tmp_path, model):
    """--age 100000 drew bands of 0.2-0.8 d for Sun-like stars (the flow extrapolated): one line, exit 2, no file."""
    out = tmp_path / "s.png"
    res = run_cli("plot", "sequence", "-o", str(out), "--age", "500", "--age", "100000")
    assert res.returncode == 2 and "Traceback" not in res.stderr and len(res.stderr.strip().splitlines()) == 1
    assert "--age" in res.stderr and "1-10000 Myr" in res.stderr and not out.exists()
    q = model.period_quantiles([500.0, 1e5], [1.0, 1.0])
    assert np.isfinite(q[0]).all() and np.isnan(q[1]).all()


@needs_matplotlib
def test_posterior_title_names_flags_and_p_outlier_of_ok_stars(tmp_path, figures):
    """An ``ok`` star's flags (pre_main_sequence_age, likely_outlier) and its p_outlier were left off the figure."""
    from gyroage.plots import plot_posterior

    csv = tmp_path / "okflags.csv"
    # 0.14 d at 2.4: off the sequence, yet inside the training stars' period range there (0.125 d is below it since
    # the domain's 0.05-mag bins: extrapolated)
    pd.DataFrame({"name": ["pms", "out", "plain"], "prot": [1.516764, 0.14, 10.0],
                  "bp_rp0": [1.1, 2.4, 1.2]}).to_csv(csv, index=False)
    est = run_cli("estimate", str(csv), "-q")
    assert est.returncode == 0, est.stderr
    table = pd.read_csv(io.StringIO(est.stdout), keep_default_na=False)
    assert list(table["status"]) == ["ok"] * 3
    assert list(table["age_flags"]) == ["pre_main_sequence_age", "likely_outlier", ""]
    for row in range(3):
        plot_posterior(str(csv), row, tmp_path / f"p{row}.png")
        title = figures[-1].axes[0].get_title(loc="left")
        flags = table["age_flags"].iloc[row]
        assert (f"status ok: {flags}" in title) if flags else ("status ok" in title and ": " not in title.split("\n")[1])
        assert f"p_outlier = {table['p_outlier'].iloc[row]:.2f}" in title, title


@pytest.mark.parametrize("age", ["inf", "-5", "nan", "0"])
def test_plot_posterior_true_age_must_be_finite_and_positive(tmp_path, stars_csv, age):
    """--true-age-myr inf was a ValueError traceback, -5 and nan a legend entry with no line, 0 silently ignored."""
    out = tmp_path / "p.png"
    res = run_cli("plot", "posterior", str(stars_csv), "-o", str(out), f"--true-age-myr={age}")
    assert res.returncode == 2 and "Traceback" not in res.stderr, res.stderr
    assert len(res.stderr.strip().splitlines()) == 1 and "--true-age-myr" in res.stderr
    assert not out.exists()


def test_plot_errors_name_only_options_the_command_has(tmp_path, stars_csv):
    """plot sequence (no reddening options) said 'give --ebprp, --av or --ebv'; plot posterior (no --processes)
    said '... --processes >= 1' for a bad --walkers."""
    obs = tmp_path / "obs.csv"
    obs.write_text("id,prot,bp_rp\ns1,10.0,1.0\n")
    res = run_cli("plot", "sequence", "--data", str(obs), "-o", str(tmp_path / "s.png"))
    assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1, res.stderr
    assert "found BP-RP but no reddening: add an E(BP-RP), A_V or E(B-V) column" in res.stderr
    assert "--ebprp" not in res.stderr and "--av" not in res.stderr
    for opt, value, says in (("--walkers", "0", "--walkers must be even and >= 6"),
                             ("--max-steps", "10", "--max-steps must be >= 50")):
        res = run_cli("plot", "posterior", str(stars_csv), "--method", "mcmc", opt, value, "-o", str(tmp_path / "p.png"))
        assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1, res.stderr
        assert says in res.stderr and "--processes" not in res.stderr, res.stderr


@needs_matplotlib
def test_sequence_axis_shows_every_band_without_data(tmp_path, figures):
    """Without data the period axis was fixed at 0.1-100 d: the 10 Gyr band (up to ~165 d at 2.2 mag) was cut off,
    and so was the 2.5 Gyr band's lower edge (0.08 d among the bluest stars)."""
    from gyroage.plots import plot_sequence

    plot_sequence(tmp_path / "s.png", [2500.0, 10000.0])
    ax = figures[-1].axes[0]
    ylo, yhi = ax.get_ylim()
    drawn = np.concatenate([np.asarray(line.get_ydata(), float) for line in ax.get_lines() if len(line.get_ydata()) > 2])
    assert drawn.size and np.all(np.isfinite(drawn))
    assert ylo <= drawn.min() and drawn.max() <= yhi, (ylo, yhi, drawn.min(), drawn.max())
    assert ylo <= 0.1 and yhi >= 100.0  # never narrower than before


@needs_matplotlib
def test_mcmc_histogram_label_gives_the_effective_sample_count(tmp_path):
    """--max-steps 60 labelled the histogram 'MCMC samples (n=1000)' from 16 walkers x 60 steps less burn-in: the
    1000 are draws kept from the (calibrated) chain; the label now also gives estimate's mcmc_n_eff."""
    csv = tmp_path / "sun.csv"
    csv.write_text("name,prot,bp_rp0\nSun,25.4,0.82\n")
    est = run_cli("estimate", str(csv), "--method", "mcmc", "--max-steps", "60", "-q")
    assert est.returncode == 0, est.stderr
    n_eff = float(pd.read_csv(io.StringIO(est.stdout))["mcmc_n_eff"].iloc[0])
    out = tmp_path / "p.svg"
    res = run_cli("plot", "posterior", str(csv), "--method", "mcmc", "--max-steps", "60", "-o", str(out))
    assert res.returncode == 0, res.stderr
    svg = out.read_text()
    assert f"MCMC samples (1000 kept, chain n_eff {n_eff:.0f})" in svg and "n=1000" not in svg


@needs_matplotlib
def test_posterior_shades_a_tables_zero_stretches(tmp_path, figures):
    """plot posterior shaded 'outside the prior's ages' only beyond the grid's bounds, not where a table's prior is
    zero inside them: a 1-3.16 Gyr table left 1 Myr-1 Gyr and 3.16-10 Gyr unshaded. Both are shaded now."""
    import matplotlib

    from gyroage.core.priors import Prior
    from gyroage.plots import plot_posterior

    csv = tmp_path / "s.csv"
    csv.write_text("name,prot,bp_rp0\nsun,25.4,0.82\n")
    plot_posterior(str(csv), 0, tmp_path / "p.png", prior=Prior("tabulated", table=((9.0, 9.5), (0.0, 0.0))))
    ax = figures[-1].axes[0]
    # axvspan draws a Rectangle from matplotlib 3.9, a Polygon before (plots allows 3.7)
    spans = [p for p in ax.patches if isinstance(p, (matplotlib.patches.Rectangle, matplotlib.patches.Polygon))
             and p.get_facecolor()[:3] == pytest.approx(matplotlib.colors.to_rgb("0.88"))]

    def extent(p) -> tuple[float, float]:
        if isinstance(p, matplotlib.patches.Rectangle):
            return p.get_x(), p.get_x() + p.get_width()
        xs = np.asarray(p.get_xy())[:, 0]
        return xs.min(), xs.max()

    ages = sorted(tuple(np.log10(extent(p)) + 6) for p in spans)
    xlo, xhi = np.log10(ax.get_xlim()) + 6
    assert len(ages) == 2
    assert ages[0][0] == pytest.approx(xlo) and 8.98 <= ages[0][1] <= 9.0
    assert 9.5 <= ages[1][0] <= 9.52 and ages[1][1] == pytest.approx(xhi)


@needs_matplotlib
def test_a_sequence_figure_with_no_ages_and_no_data_keeps_the_default_periods(model):
    """sequence_figure(model, []) raised 'zero-size array to reduction operation minimum' (nothing to widen the
    0.1-100 d range to): it draws the empty axes over 0.1-100 d."""
    import matplotlib

    matplotlib.use("Agg")
    from gyroage.plots import sequence_figure

    fig = sequence_figure(model, [])
    assert fig.axes[0].get_ylim() == (0.1, 100.0)
    import matplotlib.pyplot as plt

    plt.close(fig)


def test_zero_prior_spans_do_not_overlap():
    """A zero run of the prior starting at the grid's first age was drawn as a span from the axis's start over the
    span beyond the grid already drawn there: two translucent spans overlapping, darker where they met. Spans that
    touch or overlap are one now."""
    import numpy as np

    from gyroage.plots import _zero_prior_spans

    x = np.linspace(6.0, 10.0, 5)
    log_prior = np.array([-np.inf, -np.inf, 0.0, 0.0, -np.inf])
    assert _zero_prior_spans(x, log_prior, 5.5, 10.5) == [(5.5, 7.0), (10.0, 10.5)]
    assert _zero_prior_spans(x, np.zeros(5), 5.5, 10.5) == [(5.5, 6.0), (10.0, 10.5)]
    inner = np.array([0.0, -np.inf, -np.inf, 0.0, 0.0])
    assert _zero_prior_spans(x, inner, 5.5, 10.5) == [(5.5, 6.0), (7.0, 8.0), (10.0, 10.5)]


@needs_matplotlib
def test_mcmc_posterior_of_a_later_row_is_estimates(tmp_path, monkeypatch):
    """plot posterior --method mcmc --row 2 dated the row with row 0's random stream (the one-row frame was passed
    without its input row), so the figure's median was not estimate's; each star's stream is keyed by its row."""
    from gyroage import AgeModel, plots
    from gyroage.core.estimate import EstimateSettings, estimate_chunk
    from gyroage.core.sampler import SamplerSettings

    csv = tmp_path / "three.csv"
    frame = pd.DataFrame({"prot": [25.4, 8.0, 12.0], "bp_rp0": [0.82, 1.1, 1.0]})
    frame.to_csv(csv, index=False)
    am = AgeModel.load()
    settings = EstimateSettings(prior=am.default_prior, n_grid=am.card.age_grid["n"], method="mcmc",
                                sampler=SamplerSettings(n_walkers=8, max_steps=100, min_n_eff=100.0))
    est = estimate_chunk(frame, am.density, settings)
    drawn = []
    monkeypatch.setattr(plots, "posterior_figure", lambda *a, **k: drawn.append(a[2]) or _figure())
    for row in (0, 2):
        plots.plot_posterior(str(csv), row, tmp_path / f"p{row}.png", method="mcmc", model=am, settings=settings)
        for name in ("age_p16_myr", "age_p50_myr", "age_p84_myr"):
            assert drawn[-1][name] == est[name].iloc[row], (row, name)


def _figure():
    """An empty figure to save in place of the drawn one."""
    from matplotlib.figure import Figure

    return Figure()


@needs_matplotlib
def test_mcmc_plot_of_a_star_that_took_the_grid_posterior_says_so(tmp_path):
    """A star whose chain left too few effective samples under its prior takes the grid's posterior (V29: a 40 d
    star at 0.7 mag under a Gaussian prior at 3 Myr); its histogram was labelled 'MCMC samples' all the same."""
    csv = tmp_path / "old_g.csv"
    csv.write_text("name,prot,bp_rp0\nold_g,40,0.7\n")
    out = tmp_path / "p.svg"
    res = run_cli("plot", "posterior", str(csv), "--method", "mcmc", "--prior", "gaussian_log_age", "--prior-mean",
                  "6.5", "--prior-sigma", "0.15", "-o", str(out))
    assert res.returncode == 0, res.stderr
    svg = out.read_text()
    assert "samples of the grid posterior (1000 kept)" in svg and "MCMC samples" not in svg
    assert "grid_posterior" in svg  # the title's flags


@needs_matplotlib
@pytest.mark.parametrize("colour_by", [None, "cluster"])
def test_sequence_leaves_limit_periods_out_and_counts_them(tmp_path, figures, colour_by):
    """plot sequence drew l_Prot '>' rows as measured periods after saying they are not dated (review V37, 4)."""
    from gyroage.plots import plot_sequence

    data = pd.DataFrame({"l_Prot": [">", "", "<", " "], "prot": [30.0, 10.0, 1.0, 8.0], "bp_rp0": [1.2, 1.0, 1.5, 1.1],
                         "cluster": ["A", "A", "B", "A"]})
    plot_sequence(tmp_path / "s.png", [670.0], data=data, colour_by=colour_by)
    ax = figures[-1].axes[0]
    drawn = np.concatenate([c.get_offsets()[:, 1] for c in ax.collections if len(c.get_offsets())])
    assert 30.0 not in drawn and 1.0 not in drawn and {10.0, 8.0} <= set(drawn), drawn
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "2 period limits (l_Prot '<', '>') not drawn" in labels, labels
    assert ("B" not in labels) if colour_by else ("data (n=2)" in labels), labels


def _gaussian_posterior(sd: float, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict]:
    """A grid curve about log age 9.0 (sd 0.2) and ``n`` samples about it (sd ``sd``), with the samples' summary as
    estimate writes it: posterior_figure's inputs for the mcmc figure's tests."""
    x = np.linspace(6.0, 10.3, 401)
    pdf = np.exp(-0.5 * ((x - 9.0) / 0.2) ** 2)
    pdf /= np.trapezoid(pdf, x)
    samples = np.random.default_rng(0).normal(9.0, sd, n)
    q = 10 ** (np.quantile(samples, [0.025, 0.16, 0.5, 0.84, 0.975]) - 6)
    summary = dict(zip(["age_p2.5_myr", "age_p16_myr", "age_p50_myr", "age_p84_myr", "age_p97.5_myr"], q))
    summary["age_map_myr"] = q[2]
    return x, pdf, samples, summary


def _band_mass(coll) -> float:
    """The area (density x dex) of a shaded band, from its polygon in log10 age (shoelace)."""
    v = coll.get_paths()[0].vertices
    t, y = np.log10(v[:, 0]) + 6, v[:, 1]
    return float(abs(np.dot(t, np.roll(y, -1)) - np.dot(y, np.roll(t, -1))) / 2)


@needs_matplotlib
def test_mcmc_bands_are_shaded_under_the_samples_they_belong_to():
    """plot posterior --method mcmc shaded the chain's 68%/95% intervals under the grid posterior's curve (review
    V51, 1): a star with a period error (which the grid ignores) showed a '68% interval' holding 89% of the curve
    it was drawn under. The bands are now the samples' histogram between the quantiles: they hold 68% and 95%."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from gyroage.plots import posterior_figure

    x = np.linspace(6.0, 10.3, 401)
    pdf = np.exp(-0.5 * ((x - 9.4) / 0.1) ** 2)  # a narrow grid curve inside the chain's wide intervals
    pdf /= np.trapezoid(pdf, x)
    samples = np.random.default_rng(0).normal(8.5, 0.4, 20000)
    q = 10 ** (np.quantile(samples, [0.025, 0.16, 0.5, 0.84, 0.975]) - 6)
    summary = dict(zip(["age_p2.5_myr", "age_p16_myr", "age_p50_myr", "age_p84_myr", "age_p97.5_myr"], q))
    summary["age_map_myr"] = 10 ** (8.5 - 6)
    fig = posterior_figure(x, pdf, summary, samples=samples)
    bands = {c.get_label(): _band_mass(c) for c in fig.axes[0].collections if "interval" in c.get_label()}
    assert bands["68% interval"] == pytest.approx(0.68, abs=0.03)
    assert bands["95% interval"] == pytest.approx(0.95, abs=0.02)
    # the MAP sits on the histogram it summarises, not on the grid's curve (zero at 316 Myr)
    (map_marker,) = [ln for ln in fig.axes[0].get_lines() if ln.get_label() == "MAP"]
    assert map_marker.get_ydata()[0] > 0.5
    plt.close(fig)


@needs_matplotlib
@pytest.mark.parametrize("from_grid", [False, True])
def test_mcmc_draws_the_grid_curve_thin_and_dashed_beside_the_samples(from_grid):
    """plot posterior --method mcmc drew the grid's curve at full weight (solid, 1.5 pt) over the samples' histogram,
    so it read as the result, though the intervals, median and MAP are the samples'. It is now thin and dashed,
    labelled in the legend as the grid's curve; the histogram is the heaviest line. Without samples it stays the
    solid curve it is."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from gyroage.plots import posterior_figure

    x, pdf, samples, summary = _gaussian_posterior(0.3, 5000)
    fig = posterior_figure(x, pdf, summary, samples=samples, from_grid=from_grid)
    ax = fig.axes[0]
    (curve,) = [ln for ln in ax.get_lines() if len(ln.get_xdata()) == x.size]
    (hist,) = [p for p in ax.patches if "samples" in p.get_label()]
    assert curve.get_linestyle() == "--" and curve.get_linewidth() < hist.get_linewidth(), curve.get_linestyle()
    assert curve.get_label().startswith("grid posterior") and "curve" in curve.get_label(), curve.get_label()
    assert curve.get_label() in [t.get_text() for t in ax.get_legend().get_texts()]
    plt.close(fig)
    fig = posterior_figure(x, pdf, summary)
    (curve,) = [ln for ln in fig.axes[0].get_lines() if len(ln.get_xdata()) == x.size]
    assert curve.get_linestyle() == "-" and curve.get_linewidth() == 1.5 and curve.get_label() == "grid posterior"
    plt.close(fig)


@needs_matplotlib
def test_the_histogram_label_says_its_n_eff_is_the_chain_s():
    """'MCMC samples (1000 kept, n_eff 4402)' read as 4402 effective draws among the 1000 shown, though mcmc_n_eff
    is counted on the whole chain the 1000 are kept from (review V56, noticed): the label says it is the chain's."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from gyroage.plots import posterior_figure

    x, pdf, samples, summary = _gaussian_posterior(0.2, 1000)
    fig = posterior_figure(x, pdf, summary, samples=samples, n_eff=4402.4)
    texts = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    plt.close(fig)
    assert "MCMC samples (1000 kept, chain n_eff 4402)" in texts, texts


@needs_matplotlib
@pytest.mark.parametrize("from_grid", [False, True])
def test_the_grid_curve_is_labelled_sampled_when_the_samples_are_drawn_from_it(from_grid):
    """A star that took the grid's posterior (grid_posterior) had the curve its samples are drawn from labelled
    'grid posterior curve (for comparison)' (review V56, 4): it is labelled as sampled then; beside a chain's samples
    it stays 'for comparison'."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from gyroage.plots import posterior_figure

    x, pdf, samples, summary = _gaussian_posterior(0.2, 1000)
    fig = posterior_figure(x, pdf, summary, samples=samples, from_grid=from_grid)
    texts = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    plt.close(fig)
    curve = [t for t in texts if t.startswith("grid posterior curve")]
    want = "grid posterior curve (sampled)" if from_grid else "grid posterior curve (for comparison)"
    assert curve == [want], texts


def _run_bytes(*args: str, cwd) -> subprocess.CompletedProcess:
    """The console entry point with stdout kept as bytes (a figure's)."""
    return subprocess.run([sys.executable, "-m", "gyroage.cli", *args], capture_output=True, cwd=cwd, timeout=120)


@needs_matplotlib
def test_a_figure_for_stdout_goes_to_stdout(tmp_path, stars_csv):
    """plot -o - wrote a file named '-.png' and -o /dev/stdout a regular file /dev/stdout.png, exit 0, with nothing
    on stdout (review V51, 3), while estimate's -o - is stdout. The figure is now written to stdout (or into the
    device), in --format's format, else PNG; no file is made."""
    from pathlib import Path

    made = Path("/dev/stdout.png")
    existed = made.exists()
    try:
        res = _run_bytes("plot", "posterior", str(stars_csv), "-o", "-", "-q", cwd=tmp_path)
        assert res.returncode == 0, res.stderr
        assert res.stdout[:8] == b"\x89PNG\r\n\x1a\n"
        res = _run_bytes("plot", "sequence", "--age", "670", "-o", "-", "--format", "svg", cwd=tmp_path)
        assert res.returncode == 0, res.stderr
        assert b"<svg" in res.stdout[:2000] and res.stderr.decode().strip() == "plot: wrote the figure to stdout"
        res = _run_bytes("plot", "sequence", "--age", "670", "-o", "/dev/stdout", "--format", "pdf", "-q",
                         cwd=tmp_path)
        assert res.returncode == 0, res.stderr
        assert res.stdout[:5] == b"%PDF-"
        assert sorted(p.name for p in tmp_path.iterdir()) == ["stars.csv"]
        assert made.exists() == existed
    finally:
        if made.is_file() and not existed:  # what the fault made
            made.unlink()


@needs_matplotlib
def test_a_figure_names_its_prior_and_records_its_settings(tmp_path, figures):
    """A figure under --prior uniform_age (3637 Myr for the Sun) had the same title as the default prior's (3133 Myr)
    and its file recorded only 'gyroage <version>' (review V51, 5). A prior that is not the model's default is
    named in the title, with its bounds; every figure file carries the run's record (prior, model, its SHA-256s,
    and the seed and sampler under mcmc), as the --posteriors file does."""
    import json

    from PIL import Image

    from gyroage.core.priors import make_prior
    from gyroage.plots import plot_posterior

    csv = tmp_path / "sun.csv"
    csv.write_text("name,prot,bp_rp0\nSun,25.4,0.82\n")
    png = plot_posterior(str(csv), 0, tmp_path / "d.png")
    assert "prior" not in figures[-1].axes[0].get_title(loc="left")
    record = json.loads(Image.open(png).text["gyroage"])
    assert record["prior"] == "uniform_log_age" and record["model"] == "shipped"
    assert len(record["model_card_sha256"]) == 64 and record["method"] == "grid" and "seed" not in record
    prior = make_prior("uniform_age", 100.0, 3000.0, (6.0, 10.0))
    svg = plot_posterior(str(csv), 0, tmp_path / "u.svg", prior=prior, method="mcmc", seed=3)
    title = figures[-1].axes[0].get_title(loc="left")
    assert "prior uniform_age, 100-3000 Myr" in title, title
    text = svg.read_text()
    assert '"prior": "uniform_age"' in text and '"age_max_myr": "3000"' in text and '"seed": "3"' in text
    pdf = plot_posterior(str(csv), 0, tmp_path / "u.pdf", prior=make_prior("uniform_age", None, None, (6.0, 10.0)))
    assert "prior uniform_age" in figures[-1].axes[0].get_title(loc="left")
    assert b"uniform_age" in pdf.read_bytes()


@needs_matplotlib
def test_a_sequence_figure_records_its_model_and_ages(tmp_path):
    """plot sequence's file recorded only 'gyroage <version>', so a stale example figure could not be told from a
    current one (review V54, 2). It now carries the model, its SHA-256s and the ages, as plot posterior's does."""
    import json

    from PIL import Image

    from gyroage.core.modelcard import default_model_dir
    from gyroage.plots import plot_sequence

    png = plot_sequence(tmp_path / "s.png", [120, 2500], dpi=20)
    record = json.loads(Image.open(png).text["gyroage"])
    card = (default_model_dir() / "gyroage-model.json").read_bytes()
    assert record["model"] == "shipped" and record["ages_myr"] == "120, 2500"
    assert record["model_card_sha256"] == __import__("hashlib").sha256(card).hexdigest()


@needs_matplotlib
def test_a_star_name_with_a_line_break_stays_on_the_titles_line_and_q_is_quiet(tmp_path):
    """A quoted name holding a line break ('B\\r\\n2', valid CSV) split the title over two lines, and matplotlib's
    'Glyph 13 missing from font' warning was printed under -q with a line of gyroage's source (review V51, 8). The
    name's control characters and runs of white space are one space now; under -q a glyph the font lacks (a name in
    CJK) draws as a box without a warning."""
    from gyroage.plots import _label

    frame = pd.DataFrame({"name": ["B\r\n2", "x\x01\ty"]})
    assert _label(frame, 0) == "B 2" and _label(frame, 1) == "x y"
    csv = tmp_path / "t.csv"
    csv.write_bytes('name,prot,bp_rp0,bp_rp0_err\r\nA1,3.5,1.2,0.02\r\n"B\r\n2",10,1.0,0.02\r\n北斗,12,1.1,0.02\r\n'
                    .encode())
    for row in ("1", "2"):
        res = run_cli("plot", "posterior", str(csv), "--row", row, "-o", str(tmp_path / f"t{row}.svg"), "-q")
        assert res.returncode == 0 and res.stderr == "", res.stderr
    assert "B 2:" in (tmp_path / "t1.svg").read_text()


def test_a_figure_for_a_terminal_named_by_its_path_is_refused_as_for_stdout():
    """``-o -`` on a terminal is refused (raw PNG bytes), but ``-o /dev/stdout`` or ``/dev/tty`` wrote them there,
    exit 0 (review V52, 8): any target that is a terminal now has the same rule; SVG (text) is still allowed."""
    import os
    from pathlib import Path

    pty = pytest.importorskip("pty")
    from gyroage.errors import UserError
    from gyroage.figure_files import figure_target

    master, slave = pty.openpty()
    try:
        with pytest.raises(UserError, match="PNG figure would be raw bytes on the terminal"):
            figure_target(os.ttyname(slave), None, 100)
        with pytest.raises(UserError, match="PDF figure would be raw bytes on the terminal"):
            figure_target(f"/proc/self/fd/{slave}", "pdf", 100)
        assert figure_target(os.ttyname(slave), "svg", 100) == (Path(os.ttyname(slave)), "svg")
    finally:
        os.close(master)
        os.close(slave)
    assert figure_target("/dev/null", None, 100) == (Path("/dev/null"), "png")


@needs_matplotlib
def test_a_star_name_with_a_dollar_or_no_text_keeps_the_title_readable(tmp_path, figures):
    """A name with one ``$`` ('Star$1') paired with the title's own mathtext ``$`` and turned the rest into raw TeX;
    a name of white space only (a valid quoted CSV field) or a missing one began the title with ':' or 'nan:'
    (review V52, 13). A ``$`` in the name is escaped (drawn as itself), and a name with no text is its row."""
    from gyroage.plots import _label, plot_posterior

    frame = pd.DataFrame({"name": ["Star$1", " ", "\r\n", None, "$x^2$"]})
    assert [_label(frame, i) for i in range(5)] == ["Star\\$1", "row 1", "row 2", "row 3", "\\$x^2\\$"]
    csv = tmp_path / "d.csv"
    csv.write_text('name,prot,bp_rp0\nStar$1,25.4,0.82\n" ",25.4,0.82\n')
    plot_posterior(str(csv), 0, tmp_path / "d.svg")
    title = figures[-1].axes[0].get_title(loc="left")
    assert title.startswith("Star\\$1:  $P_{\\rm rot}$")
    assert title.count("$") - title.count("\\$") == 2 * 3  # the title's own three mathtext pairs, intact
    plot_posterior(str(csv), 1, tmp_path / "b.svg")
    assert figures[-1].axes[0].get_title(loc="left").startswith("row 1:  ")
