"""The Python API as pipelines use it: index alignment, forked workers, masked and unit-carrying arrays."""

import multiprocessing as mp

import numpy as np
import pandas as pd
import pytest

import gyroage
from gyroage.core.estimate import EstimateSettings, estimate_chunk, estimate_with_posteriors


def gappy_catalogue() -> pd.DataFrame:
    return pd.DataFrame({"name": ["Sun", "bad", "K1", "bad2", "M1"], "prot": [25.4, None, 8.0, None, 3.0],
                         "bp_rp0": [0.82, 1.0, 1.1, 1.0, 2.0]})


def test_estimate_chunk_keeps_the_frame_index_so_ages_land_on_their_stars(model):
    cat = gappy_catalogue()
    good = cat[cat.prot.notna()]
    out = estimate_chunk(good, model.density, EstimateSettings())
    both, post = estimate_with_posteriors(good, model.density, EstimateSettings())
    assert list(out.index) == [0, 2, 4] and list(both.index) == [0, 2, 4]
    assert list(post["row"]) == [0, 1, 2]  # the posteriors table numbers the chunk's rows, as documented
    cat["age"] = out["age_p50_myr"]
    assert np.isnan(cat["age"][[1, 3]]).all()
    assert cat["age"][[0, 2, 4]].tolist() == model.estimate(good)["age_p50_myr"].tolist()
    assert list(gyroage.estimate_chunk(good.set_index("name"), model.density, EstimateSettings()).index) == \
        ["Sun", "K1", "M1"]


_FORKED_MODEL = None  # set before forking: a pool worker inherits it, as a pipeline's module-level model


def _median_age(chunk: pd.DataFrame) -> float:
    return float(_FORKED_MODEL.estimate(chunk)["age_p50_myr"].median())


@pytest.mark.skipif("fork" not in mp.get_all_start_methods(), reason="no fork start method here")
def test_a_model_used_in_the_parent_works_in_forked_children():
    global _FORKED_MODEL
    # two threads whatever the machine: the parent's call then starts the thread pool a child inherits without threads
    _FORKED_MODEL = gyroage.AgeModel.load(threads=2, notes=False)
    stars = pd.DataFrame({"prot": [25.4, 8.0] * 500, "bp_rp0": [0.82, 1.1] * 500})
    parent = _median_age(stars)  # more than one onnxruntime batch: the pool starts
    with mp.get_context("fork").Pool(2) as pool:
        children = pool.map_async(_median_age, [stars.iloc[:500], stars.iloc[500:]]).get(timeout=60)
    assert children == [parent, parent]
    # a sampler-sized call through the pool too (sample_periods on more than 8 stars)
    with mp.get_context("fork").Pool(1) as pool:
        draws = pool.apply_async(_FORKED_MODEL.sample_periods, (np.full(20, 700.0), 1.0), {"seed": 1}).get(timeout=60)
    assert np.array_equal(draws, _FORKED_MODEL.sample_periods(np.full(20, 700.0), 1.0, seed=1))


def test_masked_cells_are_missing_in_every_array_method(model):
    prot = np.ma.masked_where([False, True], [25.4, 0.3])
    post = model.posterior(prot=prot, bp_rp0=[0.82, 2.0])
    assert list(post.status) == ["ok", "invalid_period"]  # as a masked period in a FITS table
    assert post.summaries()["age_p50_myr"][0] == model.posterior(25.4, 0.82).summaries()["age_p50_myr"][0]
    err = model.posterior([25.4, 25.4], [0.82, 0.82], np.ma.masked_where([False, True], [0.05, 0.05]))
    assert list(err.inputs["bp_rp0_err"]) == [0.05, model.card.default_bp_rp0_err]  # a masked error: the default
    text = model.posterior(np.ma.masked_where([False, True], ["25.4", "abc"]), [0.82, 0.82])
    assert list(text.status) == ["ok", "invalid_period"]
    # ages, colours: NaN where masked, as for a missing cell
    ll = model.log_likelihood(10.0, 1.0, np.ma.masked_where([False, True], [700.0, 700.0]))
    assert np.isfinite(ll[0]) and np.isnan(ll[1])
    ll = model.log_likelihood(np.ma.masked_where([True, False], [10.0, 10.0]), 1.0, 700.0)
    assert np.isnan(ll[0]) and np.isfinite(ll[1])
    draws = model.sample_periods(700.0, np.ma.masked_where([False, True], [1.0, 1.0]), n=5, seed=0)
    assert np.isfinite(draws[0]).all() and np.isnan(draws[1]).all()
    draws = model.sample_periods(np.ma.masked_where([True, False], [700.0, 700.0]), 1.0, n=5, seed=0)
    assert np.isnan(draws[0]).all() and np.isfinite(draws[1]).all()
    q = model.period_quantiles([700.0, 700.0], np.ma.masked_where([False, True], [1.0, 1.0]))
    assert np.isfinite(q[0]).all() and np.isnan(q[1]).all()
    grid = np.linspace(8.0, 9.5, 5)
    ll = model.grid_log_likelihood(np.ma.masked_where([False, True], [10.0, 10.0]), [1.0, 1.0], [0.02, 0.02], grid)
    assert np.isfinite(ll[0]).all() and np.isnan(ll[1]).all()


def test_astropy_masked_columns_are_missing_where_masked(model):
    table = pytest.importorskip("astropy.table")
    prot = table.MaskedColumn([25.4, 0.3], mask=[False, True])
    assert list(model.posterior(prot, [0.82, 2.0]).status) == ["ok", "invalid_period"]
    colour = table.MaskedColumn([1.0, 1.0], mask=[True, False])
    assert np.isnan(model.log_likelihood(10.0, colour, 700.0)).tolist() == [True, False]


def test_astropy_quantities_are_read_in_their_units(model):
    u = pytest.importorskip("astropy.units")
    hours = model.posterior(prot=([1.0, 8.0] * u.day).to(u.h), bp_rp0=[2.0, 1.1] * u.mag)
    days = model.posterior(prot=[1.0, 8.0], bp_rp0=[2.0, 1.1])
    assert np.allclose(hours.summaries()["age_p50_myr"], days.summaries()["age_p50_myr"], rtol=1e-6)
    assert np.allclose(hours.inputs["prot"], [1.0, 8.0], rtol=1e-12)
    mmag = model.posterior(25.4, 820.0 * u.mmag, 50.0 * u.mmag).inputs
    assert np.allclose([mmag["bp_rp0"][0], mmag["bp_rp0_err"][0]], [0.82, 0.05], rtol=1e-12)
    assert model.log_likelihood(10.0, 1.0, age_myr=0.7 * u.Gyr) == model.log_likelihood(10.0, 1.0, 700.0)
    assert np.array_equal(model.sample_periods(0.7 * u.Gyr, 1.0, n=3, seed=2), model.sample_periods(700, 1.0, n=3, seed=2))
    assert np.array_equal(model.period_quantiles([700.0] * u.Myr, [1.0]), model.period_quantiles([700.0], [1.0]))
    assert np.isfinite(model.posterior(25.4, bp_rp=0.9 * u.mag, ebprp=80 * u.mmag).summaries()["age_p50_myr"]).all()
    table = pytest.importorskip("astropy.table")
    col = table.MaskedColumn([24.0 * 25.4, 1.0], mask=[False, True], unit="h")  # a FITS table's column
    post = model.posterior(col, [0.82, 0.82])
    assert list(post.status) == ["ok", "invalid_period"] and np.isclose(post.inputs["prot"][0], 25.4, rtol=1e-12)


@pytest.mark.parametrize("call", [
    lambda m, u: m.posterior(prot=[10.0] * u.m, bp_rp0=1.0),
    lambda m, u: m.posterior(prot=10.0, bp_rp0=1.0 * u.K),
    lambda m, u: m.log_likelihood(10.0, 1.0, age_myr=700 * u.mag),
    lambda m, u: m.sample_periods(700, 1.0 * u.day),
    lambda m, u: m.period_quantiles([700] * u.km, [1.0]),
    lambda m, u: m.grid_log_likelihood([10.0] * u.day, [1.0], [0.02], [9.0] * u.yr),
])
def test_a_quantity_in_a_unit_that_does_not_convert_is_refused_in_one_line(model, call):
    u = pytest.importorskip("astropy.units")
    with pytest.raises(ValueError) as info:
        call(model, u)
    assert "unit" in str(info.value) and "\n" not in str(info.value)


def test_arrow_decimal_and_half_float_columns_with_nulls_are_read_as_numbers(model):
    pa = pytest.importorskip("pyarrow")
    import decimal

    prot = pd.array([decimal.Decimal("25.40"), None, decimal.Decimal("8.00")], dtype=pd.ArrowDtype(pa.decimal128(6, 2)))
    # from numpy's float16: pyarrow < 15 builds no half-float array from Python floats
    half = pa.array(np.array([0.8125, 1.0, 0.0], dtype=np.float16), mask=np.array([False, False, True]))
    colour = pd.Series(half, dtype=pd.ArrowDtype(pa.float16())).array
    frame = pd.DataFrame({"prot": prot, "bp_rp0": colour})
    assert np.array_equal(gyroage.io.numeric(frame, "prot"), [25.4, np.nan, 8.0], equal_nan=True)
    assert np.array_equal(gyroage.io.numeric(frame, "bp_rp0"), [0.8125, 1.0, np.nan], equal_nan=True)
    out = model.estimate(frame)
    assert list(out["status"]) == ["ok", "invalid_period", "invalid_colour"]
    assert out["age_p50_myr"][0] == model.posterior(25.4, 0.8125).summaries()["age_p50_myr"][0]


@pytest.mark.parametrize("n_points", [2.5, "1024", True, None])
def test_n_points_must_be_a_whole_number(model, n_points):
    with pytest.raises(TypeError, match="n_points"):
        model.sample_periods(4570, 0.82, n=3, n_points=n_points)
    with pytest.raises(TypeError, match="n_points"):
        model.period_quantiles([4570], [0.82], n_points=n_points)


@pytest.mark.parametrize("n_points", [-1, 0, 1, 2, 127])
def test_too_few_n_points_are_refused_rather_than_giving_made_up_periods(model, n_points):
    with pytest.raises(ValueError, match="n_points must be at least 128"):
        model.sample_periods(4570, 0.82, n=3, n_points=n_points)
    with pytest.raises(ValueError, match="n_points must be at least 128"):
        model.period_quantiles([4570], [0.82], n_points=n_points)
    assert np.isfinite(model.period_quantiles([4570], [0.82], n_points=np.int64(128))).all()


def test_period_quantiles_takes_a_scalar_level_and_refuses_text_levels(model):
    one = model.period_quantiles([4570, 700], [0.82, 1.0], qs=0.5)
    assert one.shape == (2,)  # as Posterior.quantile: a scalar level adds no axis
    assert np.array_equal(one, model.period_quantiles([4570, 700], [0.82, 1.0], qs=[0.5])[:, 0])
    for bad in ("0.5", ["0.5"], [True], None):
        with pytest.raises(TypeError, match="quantile levels"):
            model.period_quantiles([4570], [0.82], qs=bad)
    with pytest.raises(TypeError, match="quantile levels"):
        model.posterior(25.4, 0.82).quantile("0.5")
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        model.period_quantiles([4570], [0.82], qs=[np.nan])


@pytest.mark.parametrize("threads", [2.5, "2", True])
def test_threads_must_be_a_whole_number(threads):
    with pytest.raises(TypeError, match="threads"):
        gyroage.AgeModel.load(threads=threads, notes=False)


def test_negative_threads_are_refused():
    with pytest.raises(ValueError, match="threads must be >= 0"):
        gyroage.AgeModel.load(threads=-1, notes=False)
    assert gyroage.AgeModel.load(threads=np.int64(1), notes=False).density.threads == 1


@pytest.mark.parametrize("values", [lambda: (p for p in [10.0, 20.0]), lambda: {10.0}, lambda: {"a": 1.0},
                                    lambda: {"a": 1.0}.values(), lambda: iter([10.0])])
def test_containers_that_are_not_arrays_are_a_type_error(model, values):
    with pytest.raises(TypeError, match="prot"):
        model.posterior(prot=values(), bp_rp0=1.0)
    with pytest.raises(TypeError, match="age_myr"):
        model.log_likelihood(10.0, 1.0, age_myr=values())
    with pytest.raises(TypeError, match="bp_rp0"):
        model.sample_periods(700, values())


def test_an_age_model_is_taken_where_a_density_goes(model, tmp_path):
    from gyroage.engines.local import run_local

    stars = gappy_catalogue()
    s = EstimateSettings()
    expected = estimate_chunk(stars, model.density, s)
    pd.testing.assert_frame_equal(estimate_chunk(stars, model, s), expected)
    pd.testing.assert_frame_equal(estimate_with_posteriors(stars, model, s)[0], expected)
    stars.to_csv(tmp_path / "in.csv", index=False)
    counts = run_local(tmp_path / "in.csv", tmp_path / "out.csv", model, s, quiet=True)
    assert counts["ok"] == 3 and len(pd.read_csv(tmp_path / "out.csv")) == 5


def test_something_else_where_a_density_goes_is_a_one_line_type_error(model):
    with pytest.raises(TypeError, match="FlowDensity") as info:
        estimate_chunk(gappy_catalogue(), "models", EstimateSettings())
    assert "\n" not in str(info.value)
    with pytest.raises(TypeError, match=r"AgeModel\.load"):
        gyroage.AgeModel("models")


def test_domain_is_a_copy_the_caller_may_change(model):
    domain = model.domain
    domain["bp_rp0"][1] = 6.0
    domain["sequence"]["log10_age_max"][0] = 0.0
    assert model.domain["bp_rp0"][1] == model.card.domain["bp_rp0"][1] < 6.0
    assert model.domain["sequence"]["log10_age_max"][0] > 0
    assert model.posterior(10.0, 5.0).status[0] == "colour_out_of_domain"


def test_estimate_warns_which_of_several_columns_it_used(model):
    frame = pd.DataFrame({"period": [25.4], "Prot": [3.0], "bp_rp0": [0.82]})
    with pytest.warns(UserWarning, match="several columns are prot: using 'period', ignoring 'Prot'"):
        out = model.estimate(frame)
    assert out["age_p50_myr"][0] == model.posterior(25.4, 0.82).summaries()["age_p50_myr"][0]


def test_a_callers_numpy_error_state_changes_nothing(model):
    stars = pd.DataFrame({"prot": [25.4, 8.0, 3.0, 0.3], "bp_rp0": [0.82, 1.1, 2.0, 1.0]})
    expected = model.estimate(stars)
    mcmc = EstimateSettings(method="mcmc", sampler=EstimateSettings().sampler)
    with np.errstate(all="raise"):  # a pipeline's np.seterr(all="raise"): underflow in exp is no error of its inputs
        pd.testing.assert_frame_equal(model.estimate(stars), expected)
        post = model.posterior(stars["prot"], stars["bp_rp0"])
        model.estimate(stars.iloc[:2], mcmc)
        model.log_likelihood(10.0, 1.0, [700.0, 1e5])
        model.sample_periods([700.0, 1e5], 1.0, n=3)
        model.period_quantiles([700.0], [1.0])
    assert np.array_equal(post.summaries()["age_p50_myr"], expected["age_p50_myr"], equal_nan=True)


def test_no_rows_give_the_column_types_rows_give(model):
    stars = pd.DataFrame({"prot": [25.4, 8.0], "bp_rp": [0.9, 1.2], "av": [0.1, 0.1]})
    assert dict(model.estimate(stars.iloc[:0]).dtypes) == dict(model.estimate(stars).dtypes)
    assert dict(model.posterior([], []).to_frame().dtypes) == dict(model.posterior([1.0], [1.0]).to_frame().dtypes)


def test_the_api_examples_run_as_written():
    import doctest
    import inspect

    from gyroage.core import api

    result = doctest.testmod(api)
    assert result.attempted and not result.failed
    assert "workers" in inspect.signature(gyroage.run_dask).parameters  # help() shows the real parameters


@pytest.mark.parametrize("call, words", [
    (lambda m: m.posterior(10.0, bp_rp=1.0), "give ebprp=, av= or ebv="),
    (lambda m: m.posterior(10.0, bp_rp=[1.0, 1.1]), r"\(or pass it as bp_rp0= if it is already de-reddened\)"),
    (lambda m: m.log_likelihood(10.0, 1.0, 700.0, outlier_weight="0.1"), r"outlier_weight must be in \[0, 1\)"),
    (lambda m: m.posterior(10.0, 1.0, outlier_weight=1.5), r"outlier_weight must be in \[0, 1\)"),
    (lambda m: m.posterior(10.0, 1.0, n_grid=3), "n_grid must be at least 50"),
])
def test_api_errors_name_the_keywords_not_command_line_options(model, call, words):
    with pytest.raises(gyroage.UserError, match=words) as info:
        call(model)
    assert "--" not in str(info.value)


def test_durations_are_periods_in_days(model):
    pa = pytest.importorskip("pyarrow")
    days = pd.Series(pd.to_timedelta([25.4, None, 8.0], unit="D"))
    arrow = pd.Series(pd.array([25 * 86400, None, 8 * 86400], dtype=pd.ArrowDtype(pa.duration("s"))))
    for prot in (days, arrow):
        out = model.estimate(pd.DataFrame({"prot": prot, "bp_rp0": [0.82, 1.0, 1.1]}))
        assert list(out["status"]) == ["ok", "invalid_period", "ok"]  # NaT was -9.2e18 ns, periods read in ns
    assert np.allclose(gyroage.io.numeric(pd.DataFrame({"p": days}), "p", durations=True), [25.4, np.nan, 8.0],
                       equal_nan=True)
    assert np.isnan(gyroage.io.numeric(pd.DataFrame({"p": days}), "p")).all()  # only a period's slots are times
    post = model.posterior(np.array([25, 8, "NaT"], dtype="timedelta64[D]"), [0.82, 1.1, 1.0])
    assert list(post.status) == ["ok", "ok", "invalid_period"] and list(post.inputs["prot"][:2]) == [25.0, 8.0]
    with pytest.raises(TypeError, match="age_myr"):
        model.log_likelihood(10.0, 1.0, np.array([700], dtype="timedelta64[D]"))


def test_one_threads_check_for_the_api_and_the_command_line():
    """cli.check_threads said '0: onnxruntime's default' while 0 means default_threads(), the CPUs this process may
    use, as density.check_threads said: the command line calls density's, in its option's words."""
    from gyroage.core.density import check_threads
    from gyroage.errors import UserError

    with pytest.raises(UserError, match=r"^--threads must be >= 0 \(0: the CPUs available\)$"):
        check_threads(-1, "--threads")
    with pytest.raises(ValueError, match=r"^threads must be >= 0 \(0 or None: the CPUs available\)$"):
        check_threads(-1)
    assert check_threads(None, "--threads") == 0 and check_threads(3, "--threads") == 3


def test_as_density_takes_the_model_alone():
    """as_density had a ``name`` parameter no caller gave (both call it on their ``density``): gone; the error still
    names what to pass."""
    import inspect

    from gyroage.core.density import as_density

    assert list(inspect.signature(as_density).parameters) == ["model"]
    with pytest.raises(TypeError, match=r"^density must be a FlowDensity \(AgeModel.load\(\).density\) or an AgeModel, "
                                        r"not str$"):
        as_density("models")


def test_posteriors_rows_count_from_first_row_as_the_cli_file_does(model):
    """``first_row=k`` numbers the posteriors' ``row`` from k, as estimate's --posteriors file and mcmc's streams do."""
    cat = gappy_catalogue()
    _, whole = estimate_with_posteriors(cat, model.density, EstimateSettings(), id_columns=["name"])
    _, part = estimate_with_posteriors(cat.iloc[2:].reset_index(drop=True), model.density, EstimateSettings(),
                                       id_columns=["name"], first_row=2)
    assert list(whole["row"]) == [0, 2, 4] and list(part["row"]) == [2, 4]
    assert list(part["name"]) == ["K1", "M1"]  # the ids still come from the chunk's own rows
    pd.testing.assert_frame_equal(part.reset_index(drop=True), whole.iloc[1:].reset_index(drop=True))


def test_estimate_warns_of_rows_with_bp_rp_no_reddening_and_a_teff_as_the_command_line_says(model):
    """gyroage estimate ends by saying how many rows with bp_rp but no usable reddening are invalid_reddening although a
    Teff (V-Ks0, B-V0) holds a value; AgeModel.estimate said nothing (W4's report). The same text, as a UserWarning."""
    import io
    import warnings

    from tests.conftest import run_cli

    text = "KIC,Teff,Prot,bp_rp,ebpminrp_gspphot\n1,5000,10,1.2,0.1\n2,5000,10,1.2,\n3,5000,12,1.1,\n"
    res = run_cli("estimate", "-", "-o", "/dev/null", input=text)
    said = [ln.removeprefix("estimate: ") for ln in res.stderr.splitlines() if "no usable reddening" in ln]
    assert res.returncode == 0 and len(said) == 1 and said[0].startswith("2 rows with 'bp_rp'"), res.stderr
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = model.estimate(pd.read_csv(io.StringIO(text)))
    assert out["status"].tolist() == ["ok", "invalid_reddening", "invalid_reddening"]
    notes = [str(w.message) for w in caught if "no usable reddening" in str(w.message)]
    assert notes == [f"gyroage: {said[0]}"], [str(w.message) for w in caught]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.estimate(pd.read_csv(io.StringIO(text)).drop(columns="Teff"))
    assert not [w for w in caught if "no usable reddening" in str(w.message)]


def test_to_frame_keeps_the_index_of_the_series_given_so_a_join_keeps_the_ages(model):
    cat = gappy_catalogue().set_index("name").iloc[::-1]  # labels, in another order than 0..n-1
    post = model.posterior(prot=cat.prot, bp_rp0=cat.bp_rp0)
    frame = post.to_frame()
    assert list(frame.index) == ["M1", "bad2", "K1", "bad", "Sun"] and frame.index.name == "name"
    joined = cat.join(frame[["age_p50_myr"]])  # gave 0 ages of 5: the frame was indexed 0..4
    assert joined["age_p50_myr"].notna().sum() == 3
    assert joined.loc["Sun", "age_p50_myr"] == model.posterior(25.4, 0.82).summaries()["age_p50_myr"][0]
    # a Series beside an array or a scalar labels the stars too; a one-element Series against three stars does not
    assert list(model.posterior(prot=cat.prot, bp_rp0=1.0).to_frame().index) == list(cat.index)
    assert list(model.posterior(prot=cat.prot.iloc[:1], bp_rp0=[0.8, 1.0, 1.2]).to_frame().index) == [0, 1, 2]
    assert list(model.posterior(prot=cat.prot.iloc[:1], bp_rp0=1.0).to_frame().index) == ["M1"]
    assert list(model.posterior(prot=cat.prot.to_numpy(), bp_rp0=cat.bp_rp0.to_numpy()).to_frame().index) == \
        list(range(5))
    grid = model.posterior(prot=cat.prot, bp_rp0=np.array([[0.8], [1.0]]))  # (2, 5): not one row per label
    assert list(grid.to_frame().index) == list(range(10))


def test_two_columns_with_one_label_are_told_apart_by_position(model):
    """A frame with two columns labelled prot warned "using 'prot', ignoring 'prot'" (review V41 5): which copy?"""
    from gyroage.columns import duplicate_notes

    frame = pd.DataFrame([[25.4, 0.82, 8.0]], columns=["prot", "bp_rp0", "prot"])
    with pytest.warns(UserWarning, match=r"using 'prot' \(column 1\), ignoring 'prot' \(column 3\)$"):
        out = model.estimate(frame)
    assert out["age_p50_myr"].iloc[0] == model.posterior(25.4, 0.82).summaries()["age_p50_myr"][0]  # the first
    assert duplicate_notes(["prot", "period", "bp_rp0", "prot"]) == [
        "several columns are prot: using 'prot' (column 1), ignoring 'period', 'prot' (column 4)"]
    assert duplicate_notes(["period", "Prot"]) == ["several columns are prot: using 'period', ignoring 'Prot'"]


def test_fractions_are_read_as_decimals_are(model):
    """A column or list of ``fractions.Fraction`` read as no number (invalid_period, invalid_colour) where the same
    values as ``decimal.Decimal`` are numbers: both are exact rationals, read as their correctly rounded floats."""
    import decimal
    from fractions import Fraction

    fractions = {"prot": [Fraction(12), Fraction(127, 5)], "bp_rp0": [Fraction(11, 10), Fraction(41, 50)]}
    decimals = {"prot": [decimal.Decimal("12"), decimal.Decimal("25.4")],
                "bp_rp0": [decimal.Decimal("1.1"), decimal.Decimal("0.82")]}
    want = model.estimate(pd.DataFrame({k: pd.Series(v, dtype=object) for k, v in decimals.items()}))
    assert list(want["status"]) == ["ok", "ok"]
    for frame in (pd.DataFrame({k: pd.Series(v, dtype=object) for k, v in fractions.items()}),
                  pd.DataFrame({k: pd.Series(v, dtype=object).astype("category") for k, v in fractions.items()})):
        pd.testing.assert_frame_equal(model.estimate(frame).drop(columns=["prot", "bp_rp0"]),
                                      want.drop(columns=["prot", "bp_rp0"]))
    got, alone = model.posterior(**fractions).summaries(), model.posterior(**decimals).summaries()
    for key in alone:
        np.testing.assert_array_equal(got[key], alone[key], err_msg=key)
    beyond = model.posterior(prot=[Fraction(10**400), Fraction(12)], bp_rp0=[1.1, 1.1])
    assert list(beyond.status) == ["invalid_period", "ok"]  # as Decimal("1e400"): inf, no traceback
