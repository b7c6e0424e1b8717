"""V38: under --prior uniform_age stars with period errors took the grid's posterior, which then ignored prot_err, and
only each row's age_flags said so: the run now says how many at its end."""

import numpy as np
import pandas as pd
import pytest

from tests.conftest import run_cli


def test_the_grid_error_count_counts_flagged_rows_with_a_period_error():
    """ChunkCounts.of, as estimate_chunk hands it to on_counts (grid_error_rows read the same from each output chunk
    until FR39a; the same rows, the same counts)."""
    from gyroage.core.grid_fallback import grid_error_note
    from gyroage.core.stars import ChunkCounts

    flags = np.array(["grid_posterior", "grid_posterior", "grid_posterior", "likely_outlier",
                      "age_outside_training;grid_posterior"], dtype=object)
    assert ChunkCounts.of(flags, np.array([0.3, 0, 0.1, 0.2, 0.5]), mcmc=True).grid_error == 3
    assert ChunkCounts.of(flags, np.array([0.3, np.nan, 0.1, 0.2, 0.5]), mcmc=True).grid_error == 3  # NaN: none
    assert ChunkCounts.of(flags, np.zeros(5), mcmc=True).grid_error == 0  # no period error given: nothing left out
    assert ChunkCounts.of(flags, np.ones(5), mcmc=False).grid_error == 0  # the grid method takes no chain
    assert grid_error_note([0, 0]) is None
    assert grid_error_note([2, 1]).startswith("3 stars with a period error took the grid's posterior")
    assert "--walkers 512" in grid_error_note([1])


@pytest.mark.parametrize("said", [None, "4 stars took the grid's posterior (...)"])
def test_the_grid_error_line_advises_512_walkers_only_below_512_and_quotes_no_prior_s_counts(said):
    """V39b: a run with --walkers 512 was told to use --walkers 512; the line quoted uniform_age's measured counts
    (0.13 dex, up to 0.9; 5 of 200, not 82) under every prior; the API's warning gave only the command-line spelling.
    Text changed on purpose: the counts are README's (grid_posterior row), the advice names both spellings."""
    from gyroage.core.grid_fallback import grid_error_note

    for walkers in (None, 16, 511):
        line = grid_error_note([3], said, walkers)
        assert "--walkers 512" in line and "SamplerSettings(n_walkers=512)" in line, line
    for walkers in (512, 1024):
        line = grid_error_note([3], said, walkers)
        assert "--walkers 512" not in line and f"{walkers} walkers did not keep" in line, line
    for walkers in (16, 512):
        line = grid_error_note([3], said, walkers)
        assert not any(n in line for n in ("0.13", "0.9", "not 82", "of 200")), line


def _stars() -> pd.DataFrame:
    # young fast rotators with 30% period errors: their chains leave too few samples under uniform_age (the default 16 walkers)
    return pd.DataFrame({"prot": [0.9, 1.1, 0.8], "prot_err": [0.27, 0.33, 0.24], "bp_rp0": [1.45, 1.5, 1.4],
                         "bp_rp0_err": [0.02, 0.02, 0.02]})


def test_the_api_warns_of_the_stars_with_a_period_error_that_took_the_grid(model):
    from gyroage.core.estimate import EstimateSettings
    from gyroage.core.priors import Prior

    settings = EstimateSettings(prior=Prior("uniform_age"), method="mcmc", seed=1)
    with pytest.warns(UserWarning, match=r"with a period error took the grid's posterior") as said:
        out = model.estimate(_stars(), settings)
    n = int(out["age_flags"].str.contains("grid_posterior").sum())
    assert n >= 1
    assert any(str(w.message).startswith(f"gyroage: {n} star") for w in said)
    assert any("SamplerSettings(n_walkers=512)" in str(w.message) for w in said)  # the Python spelling (V39b)


def test_the_command_line_says_the_count_at_the_end(tmp_path):
    src = tmp_path / "in.csv"
    _stars().to_csv(src, index=False)
    args = ("estimate", str(src), "--method", "mcmc", "--seed", "1", "--prior", "uniform_age", "-o")
    first = run_cli(*args, str(tmp_path / "a.csv"))
    assert first.returncode == 0, first.stderr
    n = int(pd.read_csv(tmp_path / "a.csv")["age_flags"].fillna("").str.contains("grid_posterior").sum())
    assert n >= 1
    assert f"{n} star{'s' if n > 1 else ''} with a period error took the grid's posterior" in first.stderr
    flat = run_cli("estimate", str(src), "--method", "mcmc", "--seed", "1", "-o", str(tmp_path / "b.csv"))
    assert "with a period error" not in flat.stderr  # a flat prior keeps every chain
    assert np.isfinite(pd.read_csv(tmp_path / "b.csv")["age_p50_myr"]).all()


def test_flagged_rows_reads_whole_flags_of_semicolon_joined_text():
    """One vectorised reader of age_flags for both end-of-run counts (a lambda split every row's flags)."""
    import numpy as np

    from gyroage.core.stars import flagged_rows

    flags = ["grid_posterior", "likely_outlier;grid_posterior", "", None, float("nan"), "grid_posterior_x", "x;grid"]
    assert flagged_rows(flags, "grid_posterior").tolist() == [True, True, False, False, False, False, False]
    assert flagged_rows(np.array([["a;b"], ["b"]], dtype=object), "b").tolist() == [True, True]


@pytest.mark.parametrize("clash", [False, True])
def test_estimate_chunk_hands_its_end_of_run_counts_to_on_counts_from_the_flags_it_writes(model, clash):
    """FR39a: the two end-of-run counts (colour errors clipped, grid posteriors taken by rows with a period error) were
    read back from each output chunk by the local and dask engines and the API; estimate_chunk now hands them to
    ``on_counts`` once per call, from the flags it writes. An input already holding ``age_flags`` (both flags on every
    row) and ``Status`` (renamed beside ``status`` in FITS) changes neither count."""
    from gyroage.core.estimate import EstimateSettings, estimate_chunk, estimate_with_posteriors
    from gyroage.core.priors import Prior
    from gyroage.core.stars import ChunkCounts

    hi = model.card.domain["bp_rp0_err"][1]
    # two old stars with colour errors beyond the trained range, one with a period error, one of them with none
    frame = pd.concat([_stars(), pd.DataFrame({"prot": [12.0, 14.0], "prot_err": [1.0, np.nan], "bp_rp0": [1.0, 1.1],
                                               "bp_rp0_err": [hi * 4, hi * 10]})], ignore_index=True)
    if clash:
        frame["age_flags"] = "colour_err_beyond_training;grid_posterior"
        frame["Status"] = "x"
    settings = EstimateSettings(prior=Prior("uniform_age"), method="mcmc", seed=1)
    counted: list[ChunkCounts] = []
    out = estimate_chunk(frame, model.density, settings, on_counts=counted.append)
    assert len(counted) == 1
    took = out["age_flags"].str.split(";").apply(lambda f: "grid_posterior" in f)
    assert took[:3].any() and not took[3:].any()  # the young stars' chains fell back; the old ones' did not
    assert counted[0] == ChunkCounts(clipped=2, grid_error=int(took.sum()))
    assert ("input_age_flags" in out.columns) == clash
    kept: list[ChunkCounts] = []
    estimate_with_posteriors(frame, model.density, settings, on_counts=kept.append)
    assert kept == counted
    grid: list[ChunkCounts] = []
    estimate_chunk(frame, model.density, EstimateSettings(), on_counts=grid.append)
    assert grid == [ChunkCounts(clipped=2, grid_error=0)]  # the grid method takes no chain's place
