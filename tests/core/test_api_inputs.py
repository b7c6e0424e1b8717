"""The Python API reads text inputs as the command line reads cells: a status per star, never an exception."""

import io

import numpy as np
import pandas as pd

from gyroage.core.posterior import SUMMARY_COLUMNS
from tests.conftest import ROOT, run_cli


def cli_rows(**columns) -> pd.DataFrame:
    """``gyroage estimate`` on a CSV whose cells are the given values as text."""
    res = run_cli("estimate", "-", "-q", input=pd.DataFrame(columns).to_csv(index=False))
    assert res.returncode == 0, res.stderr
    return pd.read_csv(io.StringIO(res.stdout), keep_default_na=False, na_values=[""])


def test_text_period_gets_a_status_as_on_the_command_line(model):
    prot, colour = ["25.4", "abc", " 8 ", "", None], [0.82, 1.0, 1.1, 1.0, 1.0]
    post = model.posterior(prot=prot, bp_rp0=colour)
    cli = cli_rows(prot=["25.4", "abc", " 8 ", "", ""], bp_rp0=colour)
    assert list(post.status) == list(cli["status"]) == ["ok", "invalid_period", "ok", "invalid_period",
                                                        "invalid_period"]
    s = post.summaries()
    for name in SUMMARY_COLUMNS:
        assert np.allclose(s[name], cli[name], rtol=1e-5, equal_nan=True), name


def test_missing_value_tokens_in_an_error_mean_not_given_and_other_text_is_a_bad_error(model):
    post = model.posterior(prot=[25.4, 8.0, 8.0, 8.0], bp_rp0=[0.82, 1.1, 1.1, 1.1],
                           bp_rp0_err=["nan", "NA", "--", "big"])
    default = model.posterior(prot=[25.4, 8.0], bp_rp0=[0.82, 1.1])
    assert list(post.status) == ["ok", "ok", "ok", "invalid_colour_err"]
    assert np.array_equal(post.summaries()["age_p50_myr"][:2], default.summaries()["age_p50_myr"])
    cli = cli_rows(prot=[25.4, 8.0, 8.0, 8.0], bp_rp0=[0.82, 1.1, 1.1, 1.1], bp_rp0_err=["nan", "NA", "--", "big"])
    assert list(cli["status"]) == list(post.status)


def test_text_in_the_colour_keywords_is_read_as_the_columns_are(model):
    post = model.posterior(prot=[12.0, 12.0, 12.0], bp_rp=["1.2", "1.2", "x"], ebprp=["0.03", "?", "0.03"],
                           ebprp_err=["NA", "0.01", "0.01"])
    assert list(post.status) == ["ok", "invalid_reddening", "invalid_colour"]
    same = model.posterior(prot=12.0, bp_rp=1.2, ebprp=0.03)
    assert post.summaries()["age_p50_myr"][0] == same.summaries()["age_p50_myr"][0]
    teff = model.posterior(prot=["25.4", "25.4"], teff=["5772", "hot"], teff_err=["null", "50"])
    assert list(teff.status) == ["ok", "invalid_colour"]


def test_log_likelihood_reads_text_as_numbers_and_gives_nan_for_bad_text(model):
    ll = model.log_likelihood(prot=["10", "abc", "10", "10"], bp_rp0=["1.0", "1.0", "1.0", "1.0"],
                              age_myr=["500", "500", "old", "500"], bp_rp0_err=["NA", "", "", "bad"])
    ref = model.log_likelihood(prot=10.0, bp_rp0=1.0, age_myr=500.0)
    assert ll[0] == ref[0] and np.all(np.isnan(ll[1:]))


def test_sample_periods_and_period_quantiles_read_text_as_numbers(model):
    s = model.sample_periods(age_myr=["700", "700", "700", "x"], bp_rp0=["1.0", "blue", "1.0", "1.0"], n=5, seed=0,
                             bp_rp0_err=["NA", "", "bad", ""])
    ref = model.sample_periods(age_myr=700.0, bp_rp0=1.0, n=5, seed=0)
    assert s.shape == (4, 5) and np.all(np.isfinite(s[0])) and np.all(np.isnan(s[1:]))
    assert np.all(np.isfinite(ref))
    q = model.period_quantiles(age_myr=["700", "x"], bp_rp0=["1.0", "1.0"])
    assert np.array_equal(q[0], model.period_quantiles(age_myr=[700.0], bp_rp0=[1.0])[0])
    assert np.all(np.isnan(q[1]))


def readme_python_api() -> str:
    text = (ROOT / "README.md").read_text()
    return text[text.index("From Python (`from gyroage import AgeModel`"):text.index("### Input columns")]


def test_readme_states_the_shapes_the_api_gives(model):
    api = readme_python_api()
    assert "results have the inputs'\nshape" not in api  # a scalar's results are not 0-d
    assert "`(1,)`" in api and "`(n,)`" in api
    one = model.posterior(prot=25.4, bp_rp0=0.82)
    assert one.shape == (1,) and one.status.shape == (1,) and one.summaries()["age_p50_myr"].shape == (1,)
    assert model.log_likelihood(prot=25.4, bp_rp0=0.82, age_myr=4000).shape == (1,)
    assert model.sample_periods(age_myr=700, bp_rp0=1.0, n=7, seed=0).shape == (7,)
    assert model.posterior(prot=[[25.4, 8.0]], bp_rp0=[[0.82], [1.1]]).shape == (2, 2)


def test_readme_names_the_columns_summaries_and_to_frame_give(model):
    lines = readme_python_api().splitlines()
    summ = next(line for line in lines if line.startswith("post.summaries()"))
    frame = next(line for line in lines if line.startswith("post.to_frame()"))
    post = model.posterior(prot=25.4, bp_rp0=0.82)
    assert list(post.summaries()) == list(SUMMARY_COLUMNS)
    assert "same columns as `gyroage estimate`" not in summ and f"{SUMMARY_COLUMNS[0]} ... {SUMMARY_COLUMNS[-1]}" in summ
    cols = list(post.to_frame().columns)
    assert cols[-3:] == ["p_outlier", "age_flags", "status"]
    for name in ("p_outlier", "age_flags", "status"):
        assert name in frame, name


def test_estimate_takes_an_int64_index_with_a_missing_label(model):
    """A nullable Int64 index with a missing label (read with dtype Int64, then set as the index) raised ValueError
    from both methods: it was turned into row numbers for the mcmc draws. Such an index keys draws by position."""
    from gyroage.core.estimate import EstimateSettings
    from gyroage.core.sampler import SamplerSettings

    frame = pd.DataFrame({"prot": [8.0, 20.0, 5.0], "bp_rp0": [1.2, 1.8, 1.0]},
                         index=pd.Index(pd.array([4, None, 7], dtype="Int64")))
    grid = model.estimate(frame)
    assert list(grid["status"]) == ["ok"] * 3 and grid.index.equals(frame.index)
    s = EstimateSettings(prior=model.default_prior, method="mcmc", seed=1, sampler=SamplerSettings(min_n_eff=300))
    mcmc = model.estimate(frame, s)
    by_position = model.estimate(frame.reset_index(drop=True), s)
    assert mcmc.index.equals(frame.index)
    pd.testing.assert_frame_equal(mcmc.reset_index(drop=True), by_position)


def _shuffled_stars() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Six synthetic stars under labels 10-15, and the same rows in another order (labels kept)."""
    df = pd.DataFrame({"prot": [25.4, 12.0, 3.5, 30.0, 8.0, 1.2], "bp_rp0": [0.82, 1.1, 0.95, 1.6, 1.2, 2.2],
                       "age_myr": [4000.0, 1500.0, 200.0, 3000.0, 600.0, 50.0]}, index=range(10, 16))
    return df, df.iloc[[3, 0, 5, 1, 4, 2]]


def test_series_with_other_indexes_are_refused_not_paired_by_position(model):
    """Review R1 (finding 9): posterior(prot=s1, bp_rp0=s2), the same labels in two orders, paired star i's period
    with star j's colour (medians off by up to a factor of 116), silently."""
    import pytest

    from gyroage import excess_colour_sigma, group_posterior

    df, sh = _shuffled_stars()
    words = "are pandas Series with different indexes"
    with pytest.raises(ValueError, match=f"^prot and bp_rp0 {words}"):
        model.posterior(prot=sh.prot, bp_rp0=df.bp_rp0)
    with pytest.raises(ValueError, match=f"^prot and bp_rp {words}"):
        model.posterior(prot=df.prot, bp_rp=sh.bp_rp0, av=0.1)
    with pytest.raises(ValueError, match=f"^prot and bp_rp0_err {words}"):
        model.posterior(prot=df.prot, bp_rp0=df.bp_rp0.to_numpy(), bp_rp0_err=sh.bp_rp0 * 0 + 0.03)
    with pytest.raises(ValueError, match=f"^prot and age_myr {words}"):
        model.log_likelihood(df.prot, df.bp_rp0, age_myr=sh.age_myr)
    with pytest.raises(ValueError, match=f"^age_myr and bp_rp0 {words}"):
        model.sample_periods(df.age_myr, sh.bp_rp0, seed=1)
    with pytest.raises(ValueError, match=f"^age_myr and bp_rp0 {words}"):
        model.period_quantiles(sh.age_myr, df.bp_rp0)
    with pytest.raises(ValueError, match=f"^prot and bp_rp0 {words}"):
        model.grid_log_likelihood(df.prot, sh.bp_rp0, 0.03, np.linspace(7, 9, 5))
    with pytest.raises(ValueError, match=f"^log10_prot and bp_rp0 {words}"):
        group_posterior(model.density, np.log10(df.prot), sh.bp_rp0, 0.03, np.zeros(6), model.default_prior, 201)
    with pytest.raises(ValueError, match=f"^bp_rp0_err and ebprp_err {words}"):
        excess_colour_sigma(df.bp_rp0 * 0.1, sh.bp_rp0 * 0.1, model.card)
    with pytest.raises(ValueError, match=f"^bp_rp0 and groups {words}"):
        group_posterior(model.density, np.log10(df.prot).to_numpy(), df.bp_rp0, 0.03, pd.Series(0, index=sh.index),
                        model.default_prior, 201)


def test_series_on_one_index_with_arrays_and_scalars_are_read_as_before(model):
    """Aligned Series, a Series beside a numpy array (paired by position, as an array is) or a scalar: no refusal."""
    df, sh = _shuffled_stars()
    ref = model.posterior(prot=sh.prot.to_numpy(), bp_rp0=sh.bp_rp0.to_numpy()).summaries()["age_p50_myr"]
    for prot, colour in ((sh.prot, sh.bp_rp0), (sh.prot, sh.bp_rp0.to_numpy()), (sh.prot.to_numpy(), sh.bp_rp0)):
        got = model.posterior(prot=prot, bp_rp0=colour, bp_rp0_err=0.03).summaries()["age_p50_myr"]
        assert np.array_equal(got, model.posterior(prot=sh.prot.to_numpy(), bp_rp0=sh.bp_rp0.to_numpy(),
                                                   bp_rp0_err=0.03).summaries()["age_p50_myr"], equal_nan=True)
    got = model.posterior(prot=sh.prot, bp_rp0=df.bp_rp0.reindex(sh.index)).summaries()["age_p50_myr"]
    assert np.array_equal(got, ref, equal_nan=True)
    assert model.sample_periods(sh.age_myr, sh.bp_rp0, seed=1).shape == (6, 1)


def test_series_with_other_labels_are_not_told_to_reindex(model):
    """Review V23 (finding 3): Series holding different labels (a colour put in a fresh Series beside a filtered
    frame's prot) were told to .reindex(), which pairs labels meaning other stars and gives NaN for the rest."""
    import pytest

    df, sh = _shuffled_stars()
    with pytest.raises(ValueError, match=r"bp_rp0\.reindex\(prot\.index\)"):  # the same labels: reindex is right
        model.posterior(prot=sh.prot, bp_rp0=df.bp_rp0)
    with pytest.raises(ValueError) as refused:
        model.posterior(prot=df.prot, bp_rp0=df.bp_rp0.reset_index(drop=True))
    assert "reindex" not in str(refused.value)
    assert str(refused.value) == ("prot and bp_rp0 are pandas Series with different indexes (bp_rp0 has 0, prot has "
                                  "not), which gyroage would pair by position: pass .to_numpy() if that is what is "
                                  "meant, or give both columns of one table")
    dup = df.set_index(df.index % 2)
    with pytest.raises(ValueError, match=r"\(labels repeated, in another order\).*pass \.to_numpy\(\)"):
        model.posterior(prot=dup.prot, bp_rp0=dup.bp_rp0.sort_index(kind="stable"))


def test_a_one_element_series_broadcasts_as_a_scalar_as_before(model):
    """Review V23 (finding 3): bp_rp0=pd.Series([1.0]) beside a longer prot broadcast until the index check, which
    refused it with reindex advice (NaN for every star but one)."""
    df, _ = _shuffled_stars()
    got = model.posterior(prot=df.prot, bp_rp0=pd.Series([1.1])).summaries()["age_p50_myr"]
    assert np.array_equal(got, model.posterior(prot=df.prot.to_numpy(), bp_rp0=1.1).summaries()["age_p50_myr"],
                          equal_nan=True)


def test_a_one_column_frame_where_a_star_array_goes_is_refused(model):
    """Review V23 (finding 4): bp_rp0=df[["bp_rp0"]] broadcast (n, 1) against prot's (n,): n x n posteriors."""
    import pytest

    df, _ = _shuffled_stars()
    with pytest.raises(TypeError, match=r"^bp_rp0 is a pandas DataFrame: give one column, df\[\"bp_rp0\"\]"):
        model.posterior(prot=df.prot, bp_rp0=df[["bp_rp0"]])
    with pytest.raises(TypeError, match="^age_myr is a pandas DataFrame"):
        model.sample_periods(df[["age_myr"]], df.bp_rp0, seed=1)


def test_the_frame_refusal_names_the_frames_own_column(model):
    """Review V28 (finding 4): bp_rp0_err=members[["e_BPRP_0"]] was told to give df["bp_rp0_err"], the argument's name,
    which the frame does not have (a KeyError when followed)."""
    import pytest

    from gyroage.core.arguments import same_index

    df, _ = _shuffled_stars()
    with pytest.raises(TypeError, match=r'^bp_rp0_err is a pandas DataFrame: give one column, df\["e_BPRP_0"\], not'):
        model.posterior(prot=df.prot, bp_rp0=df.bp_rp0, bp_rp0_err=df[["bp_rp0"]].rename(columns={"bp_rp0": "e_BPRP_0"}))
    wide = pd.DataFrame({c: [1.0] for c in ("a", "b", "c", "d")})
    with pytest.raises(TypeError, match=r"^x is a pandas DataFrame: give one column, df\[\"a\"\] \(it has 'a', 'b', "
                                        r"'c', \.\.\.\), not a frame$"):
        same_index(x=wide)
    with pytest.raises(TypeError, match=r"^x is a pandas DataFrame with no column: give one column, not a frame$"):
        same_index(x=pd.DataFrame(index=[0]))
    # an integer label (a frame built from arrays): df[0], where df["0"] was a KeyError (review V29)
    with pytest.raises(TypeError, match=r"^x is a pandas DataFrame: give one column, df\[0\], not a frame$"):
        same_index(x=pd.DataFrame(np.ones((3, 1))))


def test_the_api_refuses_a_repeated_column_it_reads_for_an_option_as_the_command_line_does(model, tmp_path):
    """read_stars reads a CSV's repeated header X as X and X.1 (a DataFrame may carry two labels X): group_ages' by and
    membership, and estimate's prior columns, read the first copy without a word where the command line refuses the
    file in one line (review V30, 2). A repeat the call does not read is read as before."""
    import dataclasses

    import pytest

    import gyroage
    from gyroage.errors import UserError

    src = tmp_path / "rep.csv"
    src.write_text("cluster,Prot,bp_rp0,PMem,cluster,PMem,mu,mu,note,note\n"
                   "A,10.2,0.9,0.9,B,0.1,8.5,9.5,x,y\nA,5.1,1.1,0.8,C,0.2,8.6,9.4,x,y\n")
    stars = gyroage.read_stars(src)
    twin = pd.concat([stars[["Prot", "bp_rp0"]], pd.DataFrame({"cluster": ["A", "A"], "mu": [8.5, 8.6]}),
                      pd.DataFrame({"cluster": ["B", "C"], "mu": [9.5, 9.4]})], axis=1)  # two labels each
    for frame in (stars, twin):
        with pytest.raises(UserError, match=r"the frame has 2 columns named 'cluster': rename all but one \(the first "
                                            r"would be read\)"):
            gyroage.group_ages(frame, model.density, "cluster", model.default_prior)
        prior = dataclasses.replace(model.default_prior, kind="gaussian_log_age", mean_column="mu", sigma=0.3)
        with pytest.raises(UserError, match="the frame has 2 columns named 'mu'"):
            model.estimate(frame, gyroage.EstimateSettings(prior=prior, n_grid=model.card.age_grid["n"]))
    with pytest.raises(UserError, match="the frame has 2 columns named 'PMem'"):
        gyroage.group_ages(stars.drop(columns="cluster.1"), model.density, "cluster", model.default_prior,
                           membership="PMem")
    # a repeat no option reads (note, note.1; the cluster's when by is None) is read as before
    alone = stars.drop(columns=["cluster.1", "PMem.1", "mu.1"])
    assert gyroage.group_ages(alone, model.density, "cluster", model.default_prior)["status"].tolist() == ["ok"]
    assert model.estimate(stars)["status"].tolist() == ["ok", "ok"]


def test_the_api_reads_a_real_x_dot_n_column_beside_x_as_the_command_line_does(model, tmp_path):
    """A header's own ``cluster.1`` beside ``cluster`` (no repeat: the command line dates the file), and a
    DataFrame's distinct labels ``mu``, ``mu.1``, ``mu.5``, are no "2 columns named": only identical labels, or
    pandas' X.N for a header that repeated X, are a repeat (review V34, 2)."""
    import dataclasses

    import gyroage

    src = tmp_path / "q.csv"
    src.write_text("cluster,Prot,bp_rp0,cluster.1\nA,10.0,1.0,x\nB,12.0,1.1,y\n")
    groups = gyroage.group_ages(gyroage.read_stars(src), model.density, "cluster", model.default_prior)
    assert groups["cluster"].tolist() == ["A", "B"]
    frame = pd.DataFrame({"prot": [10.0, 12.0], "bp_rp0": [1.0, 1.1], "mu": [8.5, 8.6], "mu.1": [9.0, 9.0],
                          "mu.5": [9.5, 9.4]})
    prior = dataclasses.replace(model.default_prior, kind="gaussian_log_age", mean_column="mu", sigma=0.3)
    out = model.estimate(frame, gyroage.EstimateSettings(prior=prior, n_grid=model.card.age_grid["n"]))
    assert out["status"].tolist() == ["ok", "ok"]
