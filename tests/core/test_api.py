"""The Python API: array in, array out, the same answers as the CLI, thread-safe."""

import io
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gyroage import AgeModel, statuses
from gyroage.core.grid_cdf import trapezoid
from gyroage.core.posterior import SUMMARY_COLUMNS
from gyroage.errors import UserError
from tests.conftest import run_cli


def in_domain_stars(model, n, seed=0):
    rng = np.random.default_rng(seed)
    d = model.domain
    # the middle of the trained ranges: every star valid
    lp = rng.uniform(*np.percentile(d["log10_prot"], [25, 75]), n)
    colour = rng.uniform(*np.percentile(d["bp_rp0"], [20, 60]), n)
    return 10**lp, colour


def test_posterior_matches_cli_and_keeps_bad_stars(model):
    prot = np.array([25.4, np.nan, -1.0, 10.0, 8.0, 12.0])
    colour = np.array([0.82, 1.0, 1.0, 99.0, 1.2, 1.0])
    err = np.array([0.01, 0.02, 0.02, 0.02, np.nan, -0.1])
    post = model.posterior(prot, colour, err)
    assert post.pdf.shape == (6, len(post.grid))
    assert list(post.status) == ["ok", "invalid_period", "invalid_period", "colour_out_of_domain", "ok", "invalid_colour_err"]
    s = post.summaries()
    assert np.all(np.isnan(s["age_p50_myr"][~post.ok])) and np.all(np.isnan(post.pdf[~post.ok]))
    assert np.allclose(trapezoid(post.pdf[post.ok], post.grid, axis=1), 1.0)
    frame = pd.DataFrame({"prot": prot, "bp_rp0": colour, "bp_rp0_err": err})
    res = run_cli("estimate", "-", "-q", input=frame.to_csv(index=False))
    cli = pd.read_csv(io.StringIO(res.stdout))
    assert list(cli["status"]) == list(post.status)
    for name in SUMMARY_COLUMNS:
        assert np.allclose(cli[name], s[name], rtol=1e-5, equal_nan=True), name
    df = post.to_frame()
    assert list(df.columns) == ["prot", "bp_rp0", "bp_rp0_err", *SUMMARY_COLUMNS, "p_outlier", "age_flags", "status"]
    assert len(df) == 6 and list(df["status"]) == list(post.status)
    assert np.allclose(df["age_p50_myr"], s["age_p50_myr"], equal_nan=True)
    assert np.allclose(post.quantile(0.5), s["age_p50_myr"], equal_nan=True)
    assert post.quantile([0.1, 0.9]).shape == (6, 2)


def test_broadcasting_and_scalars(model):
    one = model.posterior(25.4, 0.82)
    assert one.shape == (1,) and one.summaries()["age_p50_myr"].shape == (1,)
    grid = model.posterior(np.array([[5.0], [20.0]]), np.array([0.9, 1.2, 1.5]))
    assert grid.shape == (2, 3) and grid.pdf.shape == (2, 3, len(grid.grid))
    flat = model.posterior(np.repeat([5.0, 20.0], 3), np.tile([0.9, 1.2, 1.5], 2))
    assert np.allclose(grid.summaries()["age_p50_myr"].ravel(), flat.summaries()["age_p50_myr"])
    ll = model.log_likelihood(np.array([5.0, 20.0])[:, None], 1.0, np.array([100.0, 1000.0, 3000.0]))
    assert ll.shape == (2, 3) and np.all(np.isfinite(ll))
    # slow rotators are likelier old, fast rotators young
    assert ll[1, 2] > ll[1, 0] and ll[0, 0] > ll[0, 2]
    bad = model.log_likelihood([np.nan, 10.0, 10.0, 10.0], [1.0, 99.0, 1.0, 1.0], [500.0, 500.0, -5.0, 500.0])
    assert np.all(np.isnan(bad[:3])) and np.isfinite(bad[3])


def test_log_likelihood_is_a_density_in_log_period(model):
    lp = np.linspace(*model.domain["log10_prot"], 4001)
    ll = model.log_likelihood(10**lp, 1.2, 600.0, outlier_weight=0.0)
    assert abs(trapezoid(np.exp(ll), lp) - 1.0) < 0.02


def test_sample_periods_follow_the_likelihood(model):
    s = model.sample_periods(age_myr=[150.0, 2000.0], bp_rp0=1.3, n=4000, seed=1)
    assert s.shape == (2, 4000) and np.all(s > 0)
    lp = np.linspace(*model.domain["log10_prot"], 4001)
    for row, age in zip(s, (150.0, 2000.0)):
        pdf = np.exp(model.log_likelihood(10**lp, 1.3, age, outlier_weight=0.0))
        cdf = np.cumsum(pdf) / pdf.sum()
        for q in (0.1, 0.5, 0.9):
            assert abs(np.interp(np.quantile(np.log10(row), q), lp, cdf) - q) < 0.03
    assert np.array_equal(s, model.sample_periods(age_myr=[150.0, 2000.0], bp_rp0=1.3, n=4000, seed=1))
    assert np.median(s[1]) > np.median(s[0])  # stars spin down
    bad = model.sample_periods([np.nan, -1.0, 500.0], [1.0, 1.0, 99.0], n=3, seed=0)
    assert bad.shape == (3, 3) and np.all(np.isnan(bad))


def test_threads_give_identical_results(model):
    prot, colour = in_domain_stars(model, 64, seed=2)
    serial = [model.posterior(prot[i::4], colour[i::4]).summaries()["age_p50_myr"] for i in range(4)]
    serial_ll = model.log_likelihood(prot, colour, 800.0)

    def work(i):
        return (model.posterior(prot[i % 4::4], colour[i % 4::4]).summaries()["age_p50_myr"],
                model.log_likelihood(prot, colour, 800.0))

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(work, range(12)))
    for i, (med, ll) in enumerate(results):
        assert np.array_equal(med, serial[i % 4]) and np.array_equal(ll, serial_ll)


def test_load_bad_path_raises_model_error(tmp_path):
    from gyroage.errors import ModelError

    with pytest.raises(ModelError):
        AgeModel.load(tmp_path)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(st.floats(allow_nan=True, allow_infinity=True), st.floats(-1, 6),
                               st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True))), max_size=15))
def test_api_never_raises_on_bad_numbers(model, rows):
    prot = [r[0] for r in rows]
    colour = [r[1] for r in rows]
    err = [np.nan if r[2] is None else r[2] for r in rows]
    post = model.posterior(prot, colour, err) if rows else model.posterior([], [])
    s = post.summaries()
    assert post.status.shape == (len(rows),) and set(post.status) <= set(statuses.ESTIMATE)
    ok = post.ok
    assert np.all(np.isfinite(s["age_p50_myr"][ok])) and np.all(np.isnan(s["age_p50_myr"][~ok]))
    ll = model.log_likelihood(prot, colour, 500.0, bp_rp0_err=err) if rows else np.zeros(0)
    assert np.array_equal(np.isfinite(ll), ok)


def test_grid_blocks_are_shared_evenly_and_do_not_follow_the_threads():
    from gyroage.core.estimate import GRID_BLOCK, GRID_BLOCKS_MULTIPLE, block_size

    for n in (9957, 2 * GRID_BLOCK + 1, 10 * GRID_BLOCK - 5, GRID_BLOCK + 1):
        size = block_size(n)
        blocks = -(-n // size)
        assert size <= GRID_BLOCK and blocks % GRID_BLOCKS_MULTIPLE == 0, (n, size)
        assert n - (blocks - 1) * size > size // 2  # no short block left alone at the end
    assert block_size(10_000) == 834 and block_size(100) == GRID_BLOCK  # twelve blocks; one block


def test_a_density_on_one_thread_shares_the_session_and_gives_the_same_numbers(model):
    pooled = type(model.density)(model.density.onnx_path.parent, threads=2, batch=512)  # many batches, two threads
    twin = pooled.on_one_thread()
    assert twin.session is pooled.session and (twin.threads, pooled.threads) == (1, 2) and twin.on_one_thread() is twin
    rng = np.random.default_rng(8)
    args = (rng.uniform(0, 1.5, 3000), rng.uniform(7, 9.5, 3000), rng.uniform(0.6, 2.6, 3000), np.full(3000, 0.02))
    assert np.array_equal(twin.log_prob_flow(*args), pooled.log_prob_flow(*args))


def test_grid_blocks_on_parallel_threads_change_nothing(model, monkeypatch):
    """Stars split into blocks (per-star prior columns and kept posteriors included) give the one-block answer."""
    from gyroage.core import estimate
    from gyroage.core.estimate import EstimateSettings, estimate_with_posteriors
    from gyroage.core.priors import Prior

    rng = np.random.default_rng(3)
    n = 50
    frame = pd.DataFrame({"prot": rng.uniform(1, 30, n), "bp_rp0": rng.uniform(0.6, 2.8, n),
                          "m": rng.uniform(8, 9.5, n), "s": rng.uniform(0.2, 0.6, n)})
    frame.loc[[3, 17, 40], "prot"] = [np.nan, -1.0, 0.0]  # bad rows interleaved with the blocks
    s = EstimateSettings(prior=Prior("gaussian_log_age", 6.0, 10.0, mean_column="m", sigma_column="s"))
    one, a = estimate_with_posteriors(frame, model.density, s)
    monkeypatch.setattr(estimate, "GRID_BLOCK", 7)
    many, b = estimate_with_posteriors(frame, model.density, s)
    # onnxruntime batches hold other rows now, which moves the last bits of a float32 matrix product.
    pd.testing.assert_frame_equal(one, many, check_exact=False, rtol=1e-6)
    assert list(a["row"]) == list(b["row"]) and len(a) == n - 3
    assert all(np.allclose(x, y, rtol=1e-5, atol=1e-9) for x, y in zip(a["pdf"], b["pdf"]))


def test_a_model_without_calibration_warns_once_and_the_shipped_one_not(uncalibrated_model):
    """As estimate says on stderr: a card straight from `train --export` has the flow's intervals alone."""
    import warnings

    from gyroage import AgeModel

    with pytest.warns(UserWarning, match="no calibration") as said:
        AgeModel.load(uncalibrated_model)
    assert len(said) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        AgeModel.load()


@pytest.mark.parametrize("weight", [5.0, -1.0, 1.0, float("nan")])
def test_log_likelihood_refuses_an_outlier_weight_outside_0_1(model, weight):
    """A weight of 5 gave a positive log density and -1 was taken: the same check as posterior() and the CLI."""
    with pytest.raises(UserError, match=r"^outlier_weight must be in \[0, 1\)"):
        model.log_likelihood(12.0, 1.0, 100, outlier_weight=weight)
    with pytest.raises(UserError, match=r"^outlier_weight must be in \[0, 1\)"):
        model.posterior(np.nan, 1.0, outlier_weight=weight)  # no usable star: refused all the same


def test_log_likelihood_with_a_valid_outlier_weight_is_unchanged(model):
    a = model.log_likelihood(12.0, 1.0, 100, outlier_weight=0.05)
    assert np.isfinite(a).all() and (a < 5).all()


def test_estimate_keeps_the_frames_index(model):
    """A filtered frame's index (or a MultiIndex) was reset to 0..n-1: s['age'] = m.estimate(s)[...] gave NaN."""
    frame = pd.DataFrame({"prot": [1.0, 25.4, 8.0, 12.0], "bp_rp0": [0.5, 0.82, 1.1, 1.0]}, index=[10, 20, 30, 40])
    s = frame[frame["prot"] > 5].copy()
    s["age"] = model.estimate(s)["age_p50_myr"]
    assert np.isfinite(s["age"]).all()
    multi = frame.set_index(pd.MultiIndex.from_tuples([("a", 1), ("a", 2), ("b", 1), ("b", 2)]))
    out = model.estimate(multi)
    assert out.index.equals(multi.index) and list(out.columns[:2]) == ["prot", "bp_rp0"]


@pytest.mark.parametrize("age", [1e5, 0.5, 0.0, -5.0, np.nan, np.inf])
def test_ages_outside_the_models_grid_give_nan_for_that_element(model, age):
    """100 Gyr gave periods of 0.2-0.8 d (the flow extrapolated far past its ages): NaN there, the rest computed."""
    s = model.sample_periods(age_myr=[700.0, age], bp_rp0=1.0, n=10, seed=0)
    assert np.isfinite(s[0]).all() and np.isnan(s[1]).all()
    ll = model.log_likelihood(12.0, 1.0, age_myr=[700.0, age])
    assert np.isfinite(ll[0]) and np.isnan(ll[1])
    q = model.period_quantiles([700.0, age], 1.0)
    assert np.isfinite(q[0]).all() and np.isnan(q[1]).all()


def test_ages_at_the_ends_of_the_grid_are_taken(model):
    g = model.card.age_grid
    ends = [10 ** (g["log10_age_min"] - 6), 10 ** (g["log10_age_max"] - 6)]
    assert np.isfinite(model.log_likelihood(12.0, 1.0, ends)).all()
    assert np.isfinite(model.sample_periods(ends, 1.0, n=5, seed=0)).all()


@pytest.mark.parametrize("kwargs, message", [
    ({"n_grid": 3}, "^n_grid must be at least 50"),
    ({"refine_tol": -1.0}, "refine_tol must be positive"),
    ({"outlier_weight": 1.5}, r"^outlier_weight must be in \[0, 1\)"),
    ({"prior": "flat"}, "prior must be a gyroage.Prior, not str"),
])
@pytest.mark.parametrize("prot", [25.4, np.nan])
def test_posterior_refuses_its_settings_as_estimate_settings_do(model, kwargs, message, prot):
    """posterior() repeated EstimateSettings' checks (its n_grid as a ValueError in other words) and built the settings
    only when some star was usable, so a bad refine_tol passed for a bad star; the settings now check, up front."""
    with pytest.raises(UserError, match=message):
        model.posterior(prot, 0.82, **kwargs)


@pytest.mark.parametrize("colour", [9.0, 5.0, -0.5])
def test_period_quantiles_give_nan_for_a_colour_outside_the_trained_domain(model, colour):
    """Colour 9.0 at 700 Myr gave periods of 3.05 / 3.13 / 3.28 d, made up by the flow far outside its colours, while
    sample_periods and log_likelihood gave NaN for the same star."""
    q = model.period_quantiles([700.0, 700.0], [1.0, colour])
    assert np.isfinite(q[0]).all() and np.isnan(q[1]).all()
    assert np.isnan(model.sample_periods(700.0, colour, n=3, seed=0)).all()


@pytest.mark.parametrize("qs", [(-0.5, 0.5), (0.5, 1.5), (np.nan,)])
def test_period_quantile_levels_outside_0_1_are_refused(model, qs):
    with pytest.raises(ValueError, match=r"quantile levels must be in \[0, 1\]"):
        model.period_quantiles([700.0], [1.0], qs=qs)


def test_estimate_refuses_what_is_not_a_frame_or_settings_in_one_line(model):
    """model.estimate(frame.to_numpy()) and model.estimate(frame, Prior(...)) ended in AttributeErrors deep inside
    ('numpy.ndarray' object has no attribute 'columns'; 'Prior' object has no attribute 'reddening')."""
    import pandas as pd

    from gyroage.core.priors import Prior

    frame = pd.DataFrame({"prot": [12.0], "bp_rp0": [1.0]})
    with pytest.raises(TypeError, match="estimate takes a pandas DataFrame of stars, not ndarray"):
        model.estimate(frame.to_numpy())
    with pytest.raises(TypeError, match=r"settings must be EstimateSettings, not Prior \(for a prior: "):
        model.estimate(frame, Prior("uniform_age"))


def test_estimate_warns_when_a_column_name_converts_its_values(model):
    """'Prot [h]' was read as hours and converted without a word in the API (the command line always says so)."""
    import pandas as pd

    hours = pd.DataFrame({"Prot [h]": [240.0], "bp_rp0": [1.0]})
    with pytest.warns(UserWarning, match=r"converted column 'Prot \[h\]' from h to days"):
        out = model.estimate(hours)
    days = model.estimate(pd.DataFrame({"prot": [10.0], "bp_rp0": [1.0]}))
    assert out["age_p50_myr"].iloc[0] == days["age_p50_myr"].iloc[0]


@pytest.mark.parametrize("n", [2.5, "3", True])
def test_sample_periods_refuses_a_count_that_is_not_a_whole_number(model, n):
    # n=2.5 used to give 2 draws a pair without a word
    with pytest.raises(TypeError, match="n must be a whole number"):
        model.sample_periods(500.0, 1.0, n=n, seed=0)


def test_sample_periods_takes_numpy_integers(model):
    assert model.sample_periods(500.0, 1.0, n=np.int64(3), seed=0).shape == (3,)


@pytest.mark.parametrize("n_grid, words", [(0, "^n_grid must be at least 50"), (60.7, "n_grid must be a whole number")])
def test_posterior_refuses_a_grid_it_would_have_replaced_or_truncated(model, n_grid, words):
    # n_grid=0 quietly became the card's 201 points (int(n_grid or ...)), and 60.7 became 60
    with pytest.raises((UserError, TypeError), match=words):
        model.posterior(8.0, 1.1, n_grid=n_grid)


def test_settings_refuse_a_fractional_grid():
    from gyroage.core.estimate import EstimateSettings
    with pytest.raises(TypeError, match="n_grid must be a whole number"):
        EstimateSettings(n_grid=60.7)


def test_api_warnings_point_at_the_callers_line(model):
    """The narrow-prior warning used stacklevel=3, which the decorators around AgeModel.posterior
    (underflow_ignored, in_keywords) moved into contextlib: the warning named contextlib.py, not the user's line. It
    now names the first frame outside gyroage, whichever method warns."""
    import warnings

    from gyroage.core.estimate import EstimateSettings
    from gyroage.core.priors import Prior

    prior = Prior("gaussian_log_age", mean=9.669, sigma=0.002)
    for call in (lambda: model.posterior(25.4, 0.82, prior=prior),
                 lambda: model.estimate(pd.DataFrame({"prot": [25.4], "bp_rp0": [0.82]}),
                                        EstimateSettings(prior=prior))):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            call()
        assert [w.filename for w in caught] == [__file__], [(w.filename, w.lineno) for w in caught]


def test_grid_log_likelihood_is_the_raw_flow_as_its_docstring_says(model):
    """Public, but not log_likelihood on a grid: each difference its docstring names is checked here (review V15: the
    test asserted words in the docstring), and its numbers stay the flow's."""
    assert "log_likelihood" in AgeModel.grid_log_likelihood.__doc__  # it points to the one to use
    grid = np.array([5.0, 8.0, 9.0, 9.6, 11.0])  # 0.1 Myr and 100 Gyr lie outside the model's age grid
    prot, colour, err = [12.0, 12.0, 0.3, 12.0], [1.0, 1.0, 1.0, 5.0], [0.0275, 0.15, 0.0275, 0.0275]
    raw = model.grid_log_likelihood(prot, colour, err, grid)
    ages = 10 ** (grid[:, None] - 6)
    ll = model.log_likelihood(prot=prot, bp_rp0=colour, bp_rp0_err=err, age_myr=ages).T
    flow = model.log_likelihood(prot=prot, bp_rp0=colour, bp_rp0_err=err, age_myr=ages, outlier_weight=0.0).T
    assert raw.dtype == np.float32
    # no validation: finite off the age grid and off the colour domain, where log_likelihood gives NaN
    assert np.isfinite(raw).all() and np.isnan(ll[:, [0, 4]]).all() and np.isnan(ll[3]).all()
    inside = slice(1, 4)
    assert np.allclose(raw[0, inside], ll[0, inside], rtol=1e-6)  # the card's default error: the same numbers
    # no marginal over a wide colour error: the flow at the observed colour, its error input ignored
    np.testing.assert_array_equal(raw[1], raw[0])
    assert np.abs(raw[1, inside] - flow[1, inside]).max() > 0.5 and np.abs(raw[1, inside] - ll[1, inside]).max() > 0.5
    # the card's outlier term always mixed in: where the flow rules a 0.3 d period out, raw keeps the outlier floor
    floor = np.log(model.density.outlier_weight) + model.density.outlier_log_density
    assert (raw[2, inside] >= floor - 1e-5).all() and (flow[2, 2:4] < floor - 0.5).all()


def test_readme_tells_a_pipeline_where_the_statuses_and_flags_meanings_are():
    """A pipeline storing or explaining ``status`` had to copy the README's table: the meanings are in
    ``gyroage.statuses`` (review V63, 4). The README's "From Python" part names them, and they hold what README's status
    and flag tables list."""
    import re

    from tests.conftest import ROOT

    readme = (ROOT / "README.md").read_text()
    python_part = readme[readme.index("From Python (`from gyroage import AgeModel`"):readme.index("Arrays broadcast")]
    assert "gyroage.statuses.ESTIMATE" in python_part and "gyroage.statuses.FLAG_ORDER" in python_part
    table = set(re.findall(r"^\| `([a-z_]+)` \|", readme, flags=re.M))
    assert set(statuses.ESTIMATE) - set(statuses.GROUP_ONLY) <= table
    assert set(statuses.FLAG_ORDER) <= table
