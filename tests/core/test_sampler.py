"""The MCMC path: autocorrelation, reproducibility, agreement with the grid, widening, CLI wiring."""

from __future__ import annotations

from dataclasses import replace
from io import StringIO

import numpy as np
import pandas as pd
import pytest

from gyroage.core.calibration import Calibration
from gyroage.core.grid_cdf import trapezoid
from gyroage.core.mcmc_target import StarInputs, colour_log_like
from gyroage.core.priors import Prior
from gyroage.core.sampler import SamplerSettings, integrated_time, sample_stars
from tests.conftest import run_cli

FAST = SamplerSettings(min_n_eff=500)


def _stars(prot, colour, prot_rel_err=0.0, colour_err=0.015, **kw) -> StarInputs:
    prot, colour = np.atleast_1d(prot).astype(float), np.atleast_1d(colour).astype(float)
    n = len(prot)
    perr = np.maximum(np.broadcast_to(prot_rel_err, (n,)) / np.log(10.0), 1e-3)
    return StarInputs(np.log10(prot), perr, colour, np.broadcast_to(colour_err, (n,)).astype(float), **kw)


def test_integrated_time_matches_emcee():
    import emcee

    rng = np.random.default_rng(1)
    n_t, n_s, n_w = 1000, 3, 8
    x = np.zeros((n_t, n_s, n_w, 2))
    phi = np.array([0.5, 0.9, 0.97])[None, :, None, None]
    for t in range(1, n_t):
        x[t] = phi * x[t - 1] + rng.standard_normal((n_s, n_w, 2))
    ours = integrated_time(x)
    for s in range(n_s):
        ref = emcee.autocorr.integrated_time(x[:, s], tol=0)
        assert np.allclose(ours[s], ref, rtol=1e-8)
    assert ours[0, 0] < ours[1, 0] < ours[2, 0]


def test_truncated_reddening_term_is_a_normalised_density():
    c = np.linspace(-3, 3, 60001)
    plain = np.exp(colour_log_like(c, 0.0, 0.05, None, None))
    conv = np.exp(colour_log_like(c, 0.0, 0.05, np.full_like(c, 0.02), np.full_like(c, 0.1)))
    dc = c[1] - c[0]
    assert conv.sum() * dc == pytest.approx(plain.sum() * dc, rel=1e-4)
    # the truncation (E >= 0) skews it: the true colour is likelier bluer than the observed one
    assert np.sum(c * conv) / conv.sum() < -0.005
    near_zero = np.exp(colour_log_like(c, 0.0, 0.05, np.full_like(c, 0.5), np.full_like(c, 1e-6)))
    assert np.allclose(near_zero, plain, atol=1e-6)


def test_reproducible_and_seed_dependent(model):
    stars = _stars([8.0, 1.5, 20.0], [1.2, 2.4, 1.8])
    a = sample_stars(model.density, Prior(), stars, FAST, seed=4)
    b = sample_stars(model.density, Prior(), stars, FAST, seed=4)
    c = sample_stars(model.density, Prior(), stars, FAST, seed=5)
    assert np.array_equal(a.summaries["age_p50_myr"], b.summaries["age_p50_myr"])
    assert not np.array_equal(a.summaries["age_p50_myr"], c.summaries["age_p50_myr"])
    assert a.converged.all() and np.all((a.acceptance > 0.1) & (a.acceptance < 1))
    assert np.all(a.n_eff >= 500) and np.all(a.tau >= 1)


def test_processes_do_not_change_results(model):
    stars = _stars([8.0, 1.5, 20.0, 5.0], [1.2, 2.4, 1.8, 1.0])
    s1 = SamplerSettings(min_n_eff=300, block=2)
    a = sample_stars(model.density, Prior(), stars, s1, seed=2)
    b = sample_stars(model.density, Prior(), stars, SamplerSettings(min_n_eff=300, block=2, processes=2), seed=2)
    assert np.array_equal(a.summaries["age_p50_myr"], b.summaries["age_p50_myr"])


def test_misspelt_backend_is_refused_where_the_settings_are_made():
    from gyroage.errors import UserError

    with pytest.raises(UserError, match="unknown sampler backend 'emce' \\(choose batched or emcee\\)"):
        SamplerSettings(backend="emce")
    assert SamplerSettings(backend="emcee").backend == "emcee"


def test_small_errors_agree_with_grid_and_emcee_reference(model):
    prot, colour = np.array([8.0, 12.0, 3.0, 25.0]), np.array([1.2, 1.5, 0.9, 2.0])
    stars = _stars(prot, colour)
    # the grid posterior carries the card's calibration (widths by age and colour): so do the samples
    cal = Calibration.from_card(model.density.card)
    mc = sample_stars(model.density, Prior(), stars, FAST, seed=0, calibration=cal)
    grid = model.posterior(prot, colour, np.full(4, 0.015), n_grid=401).summaries()
    d = np.log10(mc.summaries["age_p50_myr"] / grid["age_p50_myr"])
    assert np.median(np.abs(d)) < 0.06
    ref = sample_stars(model.density, Prior(), stars.take([0]), SamplerSettings(min_n_eff=500, backend="emcee"), seed=0,
                       calibration=cal)
    assert abs(np.log10(ref.summaries["age_p50_myr"][0] / grid["age_p50_myr"][0])) < 0.08
    assert ref.converged[0]


def test_larger_errors_widen_monotonically(model):
    n = 4
    prot, colour = np.full(2 * n, 10.0), np.full(2 * n, 1.2)
    rel = np.r_[[0.001, 0.1, 0.3, 0.6], np.zeros(n)]
    cerr = np.r_[np.full(n, 0.015), [0.015, 0.05, 0.15, 0.4]]
    r = sample_stars(model.density, Prior(), _stars(prot, colour, prot_rel_err=rel, colour_err=cerr),
                     SamplerSettings(min_n_eff=300, max_steps=600), seed=1)
    w = np.log10(r.summaries["age_p84_myr"] / r.summaries["age_p16_myr"])
    for part in (w[:n], w[n:]):  # period errors, then colour errors
        assert np.all(np.diff(part) > 0), part
        assert part[-1] > 1.5 * part[0]


def test_reddening_uncertainty_widens_the_colour_likelihood():
    """An uncertain E(BP-RP) broadens the likelihood of the true colour; zero uncertainty is the plain Gaussian."""
    from gyroage.core.mcmc_target import colour_log_like

    c_true = np.linspace(0.0, 3.0, 3001)[None, :]
    c_obs, sig = np.array([[1.3]]), np.array([[0.02]])

    def spread(se):
        p = np.exp(colour_log_like(c_true, c_obs, sig, np.array([[0.1]]), np.array([[se]])))
        p /= p.sum()
        mean = (p * c_true).sum()
        return np.sqrt((p * (c_true - mean) ** 2).sum())

    plain = np.exp(colour_log_like(c_true, c_obs, sig, None, None))
    assert np.allclose(np.exp(colour_log_like(c_true, c_obs, sig, np.array([[0.1]]), np.array([[0.0]]))), plain)
    widths = [spread(se) for se in (0.0, 0.05, 0.1, 0.3)]
    assert widths[0] == pytest.approx(0.02, rel=0.02)
    assert all(b > a * 1.2 for a, b in zip(widths, widths[1:]))


def test_cli_mcmc_columns_statuses_and_posteriors(tmp_path):
    src = tmp_path / "in.csv"
    pd.DataFrame({"prot": [8.0, -1.0, 1.5], "bp_rp0": [1.2, 1.0, 2.4], "prot_err": [0.4, 0.1, 0.05]}).to_csv(src, index=False)
    post = tmp_path / "post.parquet"
    res = run_cli("estimate", str(src), "--method", "mcmc", "--seed", "1", "--posteriors", str(post), "-q")
    assert res.returncode == 0, res.stderr
    out = pd.read_csv(StringIO(res.stdout))
    assert list(out["status"]) == ["ok", "invalid_period", "ok"]
    for col in ("mcmc_tau", "mcmc_acceptance", "mcmc_n_eff", "age_p50_myr"):
        assert out[col].notna().tolist() == [True, False, True]
    table = pd.read_parquet(post)
    assert list(table["row"]) == [0, 2] and set(table["method"]) == {"mcmc"}
    samples = np.asarray(table["log10_age"].iloc[0])
    assert np.median(samples) == pytest.approx(np.log10(out["age_p50_myr"][0]) + 6, abs=0.05)


def test_step_cap_marks_not_converged(model):
    from gyroage.core.estimate import EstimateSettings, estimate_chunk

    frame = pd.DataFrame({"prot": [8.0, -1.0], "bp_rp0": [1.2, 1.0]})
    s = EstimateSettings(prior=model.default_prior, method="mcmc", sampler=SamplerSettings(max_steps=50))
    out = estimate_chunk(frame, model.density, s)
    assert list(out["status"]) == ["not_converged", "invalid_period"]
    assert np.isfinite(out["age_p50_myr"][0]) and out["mcmc_n_eff"][0] < 2000


def test_grid_posteriors_keyed_by_row(tmp_path, model):
    from gyroage.core.estimate import EstimateSettings
    from gyroage.engines import run_local
    from gyroage.errors import UserError

    src = tmp_path / "in.csv"
    pd.DataFrame({"prot": [8.0, "x", 1.5, 3.0], "bp_rp0": [1.2, 1.0, 2.4, 9.9]}).to_csv(src, index=False)
    post = tmp_path / "post.parquet"
    settings = EstimateSettings(prior=model.default_prior)
    run_local(src, tmp_path / "out.csv", model.density, settings, chunksize=1, quiet=True, posteriors=post)
    table = pd.read_parquet(post)
    assert list(table["row"]) == [0, 2]
    streamed = tmp_path / "post_stdout.parquet"  # stdout target: no sidecar, same table
    run_local(src, None, model.density, settings, chunksize=3, quiet=True, posteriors=streamed)
    pd.testing.assert_frame_equal(pd.read_parquet(streamed), table)
    x, pdf = np.asarray(table["log10_age"].iloc[1]), np.asarray(table["pdf"].iloc[1])
    assert trapezoid(pdf, x) == pytest.approx(1.0, rel=1e-3)
    with pytest.raises(UserError, match="parquet"):
        run_local(src, None, model.density, settings, quiet=True, posteriors=tmp_path / "p.csv")
    none = tmp_path / "none.parquet"
    pd.DataFrame({"prot": [-1.0], "bp_rp0": [1.0]}).to_csv(src, index=False)
    run_local(src, tmp_path / "out2.csv", model.density, settings, quiet=True, posteriors=none)
    assert len(pd.read_parquet(none)) == 0


def test_catalogue_stars_with_small_errors_match_grid(catalog_path, model):
    """The acceptance figure (<= 0.02 dex on 100 stars) is in benchmarks/validate_bayes.py; here 24 stars, looser."""
    from gyroage.build.catalogue import load_catalogue, quality_select
    from gyroage.core.estimate import EstimateSettings, estimate_chunk

    cat = quality_select(load_catalogue(catalog_path))
    cat = cat[(cat["e_BPRP_0"] <= 0.02) & cat["BPRP_0"].between(*model.card.domain["bp_rp0"])].sample(24, random_state=5)
    frame = pd.DataFrame({"prot": cat["Prot"], "bp_rp0": cat["BPRP_0"], "bp_rp0_err": cat["e_BPRP_0"]})
    grid = estimate_chunk(frame, model.density, EstimateSettings(prior=model.default_prior, n_grid=401))
    mc = estimate_chunk(frame, model.density, EstimateSettings(prior=model.default_prior, method="mcmc", seed=5))
    assert mc["status"].isin(["ok", "extrapolated"]).mean() >= 0.9  # converged (extrapolated rows carry ages)
    d = np.log10(mc["age_p50_myr"] / grid["age_p50_myr"])
    assert np.nanmedian(np.abs(d)) < 0.035


def test_a_chain_short_of_its_effective_samples_is_not_converged(model):
    """The step cap ends a chain before it holds min_n_eff effective samples: that star is not_converged."""
    from gyroage.core.estimate import EstimateSettings, estimate_chunk
    from gyroage.core.sampler import SamplerSettings

    frame = pd.DataFrame({"prot": [12.0, 20.0], "bp_rp0": [1.0, 1.4], "bp_rp0_err": [0.02, 0.02]})
    short = EstimateSettings(prior=model.default_prior, method="mcmc", seed=1, sampler=SamplerSettings(max_steps=200))
    out = estimate_chunk(frame, model.density, short)
    assert (out["mcmc_n_eff"] < 4000).all()
    assert (out["status"] == "not_converged").all()
    full = estimate_chunk(frame, model.density, EstimateSettings(prior=model.default_prior, method="mcmc", seed=1))
    assert (full["mcmc_n_eff"] >= 4000).all() and full["status"].isin(["ok", "extrapolated"]).all()


def test_each_finished_block_is_reported_and_results_do_not_change(model):
    """``on_block`` hears the size of every block as it finishes, with one process or two; the samples are the same."""
    stars = _stars([8.0, 1.5, 20.0, 5.0, 12.0], [1.2, 2.4, 1.8, 1.0, 1.5])
    s1 = SamplerSettings(max_steps=100, block=2)
    plain = sample_stars(model.density, Prior(), stars, s1, seed=2)
    heard: list[int] = []
    told = sample_stars(model.density, Prior(), stars, s1, seed=2, on_block=heard.append)
    assert heard == [2, 2, 1]
    assert np.array_equal(plain.summaries["age_p50_myr"], told.summaries["age_p50_myr"])
    assert all(np.array_equal(a, b) for a, b in zip(plain.samples, told.samples))
    heard2: list[int] = []
    two = sample_stars(model.density, Prior(), stars, replace(s1, processes=2), seed=2, on_block=heard2.append)
    assert sorted(heard2) == [1, 2, 2]
    assert np.array_equal(plain.summaries["age_p50_myr"], two.summaries["age_p50_myr"])


def test_a_constant_tabulated_prior_is_flat_for_the_sampler_as_for_the_grid(model):
    """The grid called a prior flat numerically (calibrate_under_prior) while the sampler went by its kind, so a
    constant table, flat on every grid age as the default is, took the sampler's not-flat path (likelihood samples
    weighted by the prior and redrawn): the same law, other draws. Both now ask posterior.prior_is_flat, and a
    constant table gives exactly the default's MCMC ages."""
    from gyroage.core.estimate import EstimateSettings, estimate_chunk

    lo, hi = model.default_prior.log10_age_min, model.default_prior.log10_age_max
    table = Prior("tabulated", lo, hi, table=((lo - 0.5, hi + 0.5), (0.0, 0.0)))
    frame = pd.DataFrame({"prot": [25.4, 8.0, 2.0], "bp_rp0": [0.82, 1.1, 2.4], "bp_rp0_err": [0.01, 0.02, 0.03]})
    out = {name: estimate_chunk(frame, model.density, EstimateSettings(prior=p, method="mcmc", seed=3, sampler=FAST))
           for name, p in (("default", model.default_prior), ("table", table))}
    assert (out["default"]["status"] == "ok").all()
    pd.testing.assert_frame_equal(out["table"], out["default"])
    # a table that is not flat still takes the sampler's prior-weighted path, as the grid's calibrate_under_prior does
    slope = Prior("tabulated", lo, hi, table=((lo, hi), (0.0, 1.0)))
    tilted = estimate_chunk(frame, model.density, EstimateSettings(prior=slope, method="mcmc", seed=3, sampler=FAST))
    assert not tilted["age_p50_myr"].equals(out["default"]["age_p50_myr"])


def test_a_reddening_error_without_its_value_is_not_truncated():
    """Beside bp_rp0 a reddening error may come without its E(BP-RP): with E unknown, E >= 0 bounds nothing, and the
    term is the plain convolution of the two errors (symmetric), as the grid method adds them in quadrature."""
    c = np.linspace(-3, 3, 60001)
    got = colour_log_like(c, 0.0, 0.05, np.full_like(c, np.nan), np.full_like(c, 0.1))
    s2 = 0.05**2 + 0.1**2
    np.testing.assert_allclose(got, -0.5 * c**2 / s2 - 0.5 * np.log(s2 / 0.05**2), rtol=1e-12, atol=1e-12)


def test_the_documented_mcmc_posterior_has_no_outlier_mixture(model):
    """README and the sampler's docstring wrote log[(1 - w) f + w u] with w the outlier weight, but the chains run
    with w = 0 (ages of a sequence member): --outlier-weight changes p_outlier, never the MCMC ages."""
    import gyroage.core.sampler as sampler
    from gyroage.core.estimate import EstimateSettings, estimate_chunk
    from tests.conftest import ROOT

    for text in (sampler.__doc__, (ROOT / "README.md").read_text()):
        assert "+ w u]" not in text
    frame = pd.DataFrame({"prot": [8.0], "bp_rp0": [1.2]})
    fast = SamplerSettings(max_steps=100)
    a, b = (estimate_chunk(frame, model.density, EstimateSettings(prior=model.default_prior, method="mcmc",
                                                                  sampler=fast, outlier_weight=w))
            for w in (0.01, 0.3))
    assert a["age_p50_myr"][0] == b["age_p50_myr"][0] and a["p_outlier"][0] != b["p_outlier"][0]


def test_mcmc_ages_do_not_depend_on_chunking_blocks_or_neighbours(model):
    """Streams were SeedSequence([seed, block]) restarted in every chunk: the star at position j of every chunk took
    the same uniforms, and a star's age moved with its neighbours. Each star's stream is keyed by its input row now.
    The ages are the same to the bit; tau (and n_eff, read from it) only to ~1e-15 relatively, since the
    autocorrelation's FFT runs over a block's stars at once (README's MCMC section says so)."""
    from gyroage.core.estimate import EstimateSettings, estimate_chunk

    frame = pd.DataFrame({"prot": [8.0, 1.5, 20.0, -1.0, 5.0, 8.0, 12.0],
                          "bp_rp0": [1.2, 2.4, 1.8, 1.0, 1.0, 1.2, 1.5], "prot_err": [0.4, 0.1, 1.0, 0.1, 0.3, 0.4, 0.6]})
    s = EstimateSettings(prior=model.default_prior, method="mcmc", seed=3, sampler=SamplerSettings(min_n_eff=300))
    ages = ["age_p2.5_myr", "age_p16_myr", "age_p50_myr", "age_p84_myr", "age_p97.5_myr", "age_map_myr", "age_flags",
            "status"]
    diagnostics = ["mcmc_tau", "mcmc_n_eff"]

    def same(a: pd.DataFrame, b: pd.DataFrame) -> None:
        a, b = a.reset_index(drop=True), b.reset_index(drop=True)
        pd.testing.assert_frame_equal(a[ages], b[ages], check_exact=True)
        pd.testing.assert_frame_equal(a[diagnostics], b[diagnostics], check_exact=False, rtol=1e-12, atol=0)

    whole = estimate_chunk(frame, model.density, s)
    same(whole, pd.concat([estimate_chunk(frame.iloc[i : i + 1], model.density, s, first_row=i)
                           for i in range(len(frame))]))
    same(whole, pd.concat([estimate_chunk(frame.iloc[i : i + 3], model.density, s, first_row=i) for i in (0, 3, 6)]))
    same(whole, estimate_chunk(frame, model.density, replace(s, sampler=replace(s.sampler, block=2))))
    # the same star at rows 0 and 5 draws its own numbers: the same law, not the same Monte Carlo error
    assert whole["age_p50_myr"][0] != whole["age_p50_myr"][5]
    assert whole["age_p50_myr"][0] == pytest.approx(whole["age_p50_myr"][5], rel=0.1)
    moved = estimate_chunk(frame.iloc[:1], model.density, s, first_row=5)
    assert moved["age_p50_myr"][0] == whole["age_p50_myr"][5]


def test_mcmc_flags_and_status_follow_the_mcmc_ages_written(model):
    """The flags and `extrapolated` came from the grid posterior, which ignored prot_err then: a 2.0 +- 0.6 d star at
    (BP-RP)0 = 1.5, MCMC p50 5.8 Myr, was written without pre_main_sequence_age (the grid's median: 11 Myr), status ok.
    The age-based flags now read the MCMC posterior (its median, its samples' mass outside the training ages)."""
    from gyroage.core.estimate import EstimateSettings, estimate_chunk

    frame = pd.DataFrame({"prot": [2.0, 1.5, 0.8], "bp_rp0": [1.5, 1.2, 2.0], "prot_err": [0.6, 0.5, 0.3]})
    s = EstimateSettings(prior=model.default_prior, method="mcmc", seed=1, sampler=SamplerSettings(min_n_eff=500))
    out = estimate_chunk(frame, model.density, s)
    young = out["age_flags"].str.contains("pre_main_sequence_age").to_numpy()
    assert young.tolist() == (out["age_p50_myr"] < 10.0).tolist()
    assert young[0] and young[1]
    assert ((out["status"] == "extrapolated") == out["age_flags"].str.contains("age_outside_training")).all()
    assert (out.loc[young, "status"] == "extrapolated").all()  # most of a 6 Myr posterior lies below the clusters'


def test_the_emcee_back_end_stops_with_its_effective_samples_after_the_burn_in(model):
    """The emcee back end stopped once n_walkers t / tau reached min_n_eff, counting the 2 tau of burn-in the
    summaries drop: the star then held fewer effective samples than asked and came out not_converged."""
    settings = SamplerSettings(backend="emcee", min_n_eff=500, check_every=1, tau_multiple=5)
    res = sample_stars(model.density, Prior(), _stars([8.0], [1.2]), settings, seed=1)
    assert res.n_eff[0] >= 500 and res.converged[0]


AGES = ["age_p2.5_myr", "age_p16_myr", "age_p50_myr", "age_p84_myr", "age_p97.5_myr"]


def _grid_and_mcmc(model, frame: pd.DataFrame, prior: Prior) -> tuple[pd.DataFrame, pd.DataFrame]:
    from gyroage.core.estimate import EstimateSettings, estimate_chunk

    return tuple(estimate_chunk(frame, model.density, EstimateSettings(prior=prior, method=m, seed=1, sampler=FAST))
                 for m in ("grid", "mcmc"))


def test_a_prior_away_from_the_chain_dates_the_star_as_the_grid_does(model):
    """Under a prior that is not flat the chains sample the likelihood. The prior once weighted the calibrated
    samples: a young M34 star under a table of 8-10 Gyr first came back dated 6.2 Myr by the likelihood alone, then
    (no sample where the prior is above zero) invalid_prior, which the grid method, calibrating the likelihood over
    the whole grid, does not give: it dates the star against 8 Gyr (V22). The chain's samples now make a density that
    is calibrated, multiplied by the prior and read as the grid method reads its posterior: same status, flags and
    ages within Monte Carlo noise (behaviour changed on purpose: invalid_prior was the old assertion)."""
    hi = model.default_prior.log10_age_max
    old = Prior("tabulated", model.default_prior.log10_age_min, hi, table=((np.log10(8e9), hi), (0.0, 0.0)))
    frame = pd.DataFrame({"prot": [3.39, 25.4], "bp_rp0": [1.282, 0.82]})
    grid, mcmc = _grid_and_mcmc(model, frame, old)
    assert grid["status"].iloc[0] != "invalid_prior"
    assert mcmc["status"].tolist() == grid["status"].tolist()
    # both chains leave too few samples above 8 Gyr: the grid's posterior, which age_flags says (W2)
    assert mcmc["age_flags"].tolist() == [f + ";grid_posterior" for f in grid["age_flags"]]
    diff = np.abs(np.log10(mcmc[AGES].to_numpy(float)) - np.log10(grid[AGES].to_numpy(float)))
    assert diff.max() < 0.05, diff
    # inside the table, up to its edge's grid step (README, `tabulated`), as the grid's
    assert (mcmc["age_p2.5_myr"] >= 10 ** (np.log10(8e9) - 0.02) / 1e6).all()


def test_a_prior_far_from_the_likelihood_keeps_a_posterior_not_one_sample(model):
    """A Gaussian prior far from the likelihood (9.9 +- 0.05 for an M34 star) once weighted the chain's samples onto
    one: p50 = p84 = p97.5, every kept sample one value (then not_converged, which no --max-steps cured). The
    calibrated likelihood density times the prior keeps the grid's posterior: distinct percentiles within 0.05 dex
    of the grid's, the grid's status, many distinct kept samples; the chain itself converged (mcmc_n_eff, under such a
    prior the fewer of the chain's and the percentiles' effective samples, is not the chain's: README)."""
    frame = pd.DataFrame({"prot": [3.39], "bp_rp0": [1.282]})
    grid, mcmc = _grid_and_mcmc(model, frame, Prior("gaussian_log_age", mean=9.9, sigma=0.05))
    assert mcmc["status"].iloc[0] == grid["status"].iloc[0]
    ages = np.log10(mcmc[AGES].to_numpy(float)[0])
    assert np.all(np.diff(ages) > 0.005) and np.abs(ages - np.log10(grid[AGES].to_numpy(float)[0])).max() < 0.05
    res = sample_stars(model.density, Prior("gaussian_log_age", mean=9.9, sigma=0.05), _stars([3.39], [1.282]), FAST,
                       seed=1, calibration=Calibration.from_card(model.density.card))
    assert res.converged[0]  # the chain itself is long enough (its own effective samples, not the percentiles')
    assert np.unique(res.samples[0]).size > 0.9 * res.samples[0].size
    assert abs(np.median(res.samples[0]) - 6 - ages[2]) < 0.02  # log10 yr against log10 Myr


def test_the_emcee_back_end_stops_at_max_steps(model):
    """The emcee back end ran check_every steps at a time, past max_steps (max_steps=120 ran 150); it stops at 120."""
    from gyroage.core.mcmc_target import LogPosterior
    from gyroage.core.sampler import _run_block_emcee, _StarRandom

    settings = SamplerSettings(backend="emcee", max_steps=120, min_n_eff=1e9)
    run = _run_block_emcee(LogPosterior(model.density, Prior(), _stars([8.0], [1.2])), settings,
                           _StarRandom(1, np.arange(1)))
    assert run.steps.tolist() == [120] and run.chains[0].shape[0] == 120


# /tmp/T's review stars under a prior of young ages (a table flat to 10 Myr, zero at 20 Myr; bounds 1-30 Myr): the
# prior weights the chains' samples, most of these stars' posteriors pile against the trained ages' lower edge
_REVIEW_STARS = pd.DataFrame({"prot": [25.4, 3.0, 8.0, 10.0, 12.0, 80.0, 0.5, 5.0, 1.0, 100.0, 30.0],
                              "bp_rp0": [0.82, 0.60, 0.65, 0.70, 0.75, 1.5, 1.0, 0.80, 2.5, 2.8, 2.2],
                              "bp_rp0_err": [0.01] + [0.02] * 7 + [0.03] * 3,
                              "prot_err": [np.nan] * 10 + [0.5]})


def _young_prior(model) -> Prior:
    lo = model.default_prior.log10_age_min
    return Prior("tabulated", lo, np.log10(30e6), table=((6.0, 7.0, np.log10(20e6)), (1.0, 1.0, 0.0)))


@pytest.mark.parametrize("young", [False, True])
def test_mcmc_age_outside_training_reads_every_sample_not_the_kept_ones(model, young):
    """age_outside_training (and status extrapolated) read the n_keep samples kept for --posteriors, not the full
    (weighted) sample set the percentiles come from: a star whose median lay below the trained ages (p50 log 6.982,
    lower edge 6.9875) went unflagged, and n_keep=1 turned 3 stars from ok to extrapolated with the same ages. The
    fraction outside is now that of every sample (by their prior weights), so a median outside the trained ages is
    always flagged and n_keep changes nothing but the samples kept."""
    from gyroage.core.domain import SequenceDomain
    from gyroage.core.estimate import EstimateSettings, estimate_chunk

    prior = _young_prior(model) if young else model.default_prior
    s = EstimateSettings(prior=prior, method="mcmc", seed=0, sampler=FAST)
    out = estimate_chunk(_REVIEW_STARS, model.density, s)
    lo, hi = SequenceDomain.from_card(model.density.card).age_range(_REVIEW_STARS["bp_rp0"].to_numpy())
    x = np.log10(out["age_p50_myr"].to_numpy()) + 6
    outside = (x < lo) | (x > hi)
    assert outside.sum() >= (5 if young else 1)
    assert out["age_flags"][outside].str.contains("age_outside_training").all()
    assert (out["status"][outside] != "ok").all()
    one = estimate_chunk(_REVIEW_STARS, model.density, replace(s, sampler=replace(FAST, n_keep=1)))
    pd.testing.assert_frame_equal(one, out)


def test_a_large_max_steps_runs_as_the_default_and_memory_beyond_reach_is_one_line(model, monkeypatch):
    """The batched back end allocated max_steps x stars x walkers x 3 floats up front: --max-steps 100000000 or
    --walkers 1000000 was a numpy _ArrayMemoryError traceback. The chain buffer now grows as the chains run (same
    draws, same ages), and a buffer beyond the free memory is a one-line UserError naming the options."""
    import gyroage.core.sampler as sampler
    from gyroage.errors import UserError

    stars = _stars([8.0, 12.0], [1.2, 1.5])  # 2 x 16 walkers x 1e8 steps: 38 GB up front
    a = sample_stars(model.density, Prior(), stars, FAST, seed=3)
    b = sample_stars(model.density, Prior(), stars, replace(FAST, max_steps=100_000_000), seed=3)
    assert all(np.array_equal(x, y) for x, y in zip(a.samples, b.samples))
    assert all(np.array_equal(a.summaries[k], b.summaries[k]) for k in a.summaries)
    monkeypatch.setattr(sampler, "_free_memory", lambda: 100e6)
    with pytest.raises(UserError, match=r"^MCMC chains of 2 stars x 1000000 walkers x \d+ steps need [\d.]+ GB, more "
                                        r"than the 0.1 GB free: lower --walkers \(1000000\)$"):
        sample_stars(model.density, Prior(), stars, replace(FAST, n_walkers=1_000_000), seed=3)
    # room for the first steps but not for more: said when the buffer would grow, not as a traceback
    monkeypatch.setattr(sampler, "_free_memory", lambda: 2 * 16 * 3 * 4 * 300.0)
    with pytest.raises(UserError, match=r"x 512 steps need .* --max-steps \(100000000\)$"):
        sample_stars(model.density, Prior(), stars, replace(FAST, max_steps=100_000_000, min_n_eff=1e9), seed=3)


def test_memory_beyond_the_machine_is_one_line_where_free_memory_is_unknown(monkeypatch):
    """Review A2 #11: without /proc/meminfo or SC_AVPHYS_PAGES (macOS) the free memory is unknown, and a chain buffer
    of any size was tried (swapping for hours instead of the one-line "need X GB"). The machine's memory, which the
    buffer cannot exceed either, is the cap there; with neither known, numpy's MemoryError is still caught."""
    import os

    import gyroage.core.sampler as sampler
    from gyroage.errors import UserError

    def no_proc(path, *args, **kwargs):
        raise FileNotFoundError(2, "No such file or directory", str(path))

    def as_macos(name):
        if name == "SC_AVPHYS_PAGES":
            raise ValueError("unrecognized configuration name")
        return {"SC_PHYS_PAGES": 2**18, "SC_PAGE_SIZE": 4096}[name]  # 1 GiB

    monkeypatch.setattr(sampler, "open", no_proc, raising=False)  # the module's open: /proc/meminfo is not there
    monkeypatch.setattr(os, "sysconf", as_macos)
    assert sampler._free_memory() is None
    with pytest.raises(UserError, match=r"^MCMC chains of 2 stars x 1000000 walkers x 256 steps need 6.1 GB, more "
                                        r"than the 1.1 GB this machine has: lower --walkers \(1000000\)$"):
        sampler._chain_buffer(None, 256, 2, replace(FAST, n_walkers=1_000_000))
    assert sampler._chain_buffer(None, 256, 2, FAST).shape == (256, 2, 16, 3)  # within it: as before


def test_age_model_estimate_gives_a_star_its_own_mcmc_draws_whatever_rows_stand_beside_it(model):
    """AgeModel.estimate keyed each star's random stream by its position in the frame passed, so a star's MCMC ages
    moved with the rows beside it (a filtered or sorted frame). An integer index (>= 0, unique) now keys the stream,
    as an input row does in `gyroage estimate`; ``first_row`` keys positions instead; other indexes key positions."""
    from gyroage.core.estimate import EstimateSettings

    frame = pd.DataFrame({"prot": [8.0, 1.5, 20.0, 5.0], "bp_rp0": [1.2, 2.4, 1.8, 1.0],
                          "prot_err": [0.4, 0.1, 1.0, 0.3]})
    s = EstimateSettings(prior=model.default_prior, method="mcmc", seed=3, sampler=SamplerSettings(min_n_eff=300))
    cols = ["age_p16_myr", "age_p50_myr", "age_p84_myr", "age_flags", "status"]
    whole = model.estimate(frame, s)[cols]
    picked = model.estimate(frame.iloc[[3, 1]], s)[cols]  # filtered and reordered: index [3, 1]
    pd.testing.assert_frame_equal(picked, whole.loc[[3, 1]])
    alone = model.estimate(frame.iloc[[3]].reset_index(drop=True), s, first_row=3)[cols]
    pd.testing.assert_frame_equal(alone, whole.loc[[3]].reset_index(drop=True))
    named = model.estimate(frame.set_axis(list("abcd")), s)[cols]  # no integer index: by position
    pd.testing.assert_frame_equal(named.reset_index(drop=True), whole)
    with pytest.raises(ValueError, match="first_row must be >= 0"):
        model.estimate(frame, s, first_row=-1)


def test_mcmc_map_is_a_smoothed_mode_clipped_to_the_prior_bounds(model):
    """age_map_myr was the fullest bin of a ~32-60 bin histogram: 0.036 dex median scatter between seeds on review
    T's stars, and half a bin inside the grid's edge where the posterior piles against it (10 Gyr read 9.3 Gyr). It is
    now the peak of a kernel density estimate of the samples (reflected at the prior's bounds), refined by a parabola,
    clipped to the bounds."""
    from gyroage.core.chain_summary import summarise_chain

    truth, sd = 8.7, 0.2
    maps = []
    for seed in range(5):
        x = np.random.default_rng(seed).normal(truth, sd, size=(3000, 16))
        maps.append(summarise_chain(x, 0, 10, np.random.default_rng(0))[1])
    assert np.std(maps) < 0.015 and abs(np.mean(maps) - truth) < 0.01  # the histogram's: 0.02, 0.01
    # a posterior falling from the bound: the bound is its MAP, not the middle of the first bin
    edge = 10.0 - np.abs(np.random.default_rng(1).normal(0, 0.3, size=(3000, 16)))
    assert summarise_chain(edge, 0, 10, np.random.default_rng(0))[1] == 10.0
    weighted = summarise_chain(edge, 0, 10, np.random.default_rng(0), log_prior=lambda a: np.where(a < 9.8, 0.0, -np.inf))[1]
    assert 9.7 < weighted <= 9.8  # the prior cuts the samples at 9.8: the peak of what is left, next to the cut
    # a slow M dwarf whose posterior piles at the grid's 10 Gyr
    res = sample_stars(model.density, Prior(), _stars([100.0], [2.8], colour_err=0.03), FAST, seed=0)
    assert res.summaries["age_map_myr"][0] == pytest.approx(10_000.0, rel=1e-12)


def test_mcmc_map_is_the_higher_of_two_peaks_not_the_broader():
    """The kernel's width came from the whole posterior's 16-84% spread: for a two-peaked posterior (a young
    pre-main-sequence age against a spun-down M dwarf) it flattened the narrow peak below the broad one, and a 30%
    N(7.0, 0.1) + 70% N(8.8, 0.3) mixture, whose narrow peak is 29% higher, read 8.80. Each peak now gets its own
    width; a one-peaked posterior keeps the pilot's (its MAP stays within 0.01 dex of the true mode)."""
    from gyroage.core.chain_summary import summarise_chain

    rng = np.random.default_rng(0)
    n = 64_000
    mixture = np.where(rng.random(n) < 0.3, rng.normal(7.0, 0.1, n), rng.normal(8.8, 0.3, n))
    assert summarise_chain(mixture.reshape(-1, 16), 0, 10, np.random.default_rng(0))[1] == pytest.approx(7.0, abs=0.03)
    # the broad peak is the higher one when it holds enough more of the samples
    broad = np.where(rng.random(n) < 0.15, rng.normal(7.0, 0.1, n), rng.normal(8.8, 0.3, n))
    assert summarise_chain(broad.reshape(-1, 16), 0, 10, np.random.default_rng(0))[1] == pytest.approx(8.8, abs=0.05)
    for seed in range(3):  # one peak, skewed: the mode of a log-normal-like tail is not its median
        one = np.random.default_rng(seed).gamma(4.0, 0.25, size=(4000, 16)) + 7.0  # mode 7.75
        assert summarise_chain(one, 0, 10, np.random.default_rng(0))[1] == pytest.approx(7.75, abs=0.03)


@pytest.mark.parametrize("prior, kept", [(None, False), (Prior("uniform_log_age", 6.0, 9.0), True),
                                         (Prior("gaussian_log_age", mean=9.0, sigma=0.3), True)])
def test_mcmc_keeps_the_grid_pdfs_only_under_a_prior_that_is_not_flat(model, monkeypatch, prior, kept):
    """--method mcmc kept the grid's per-star pdfs for every run (~16 MB a 10,000-row chunk, 160 MB at --grid 2001),
    while only a chain of the likelihood under a prior that is not flat can take the grid's posterior (its pdf)."""
    from gyroage.core import estimate
    from gyroage.core.estimate import EstimateSettings

    pdfs = []
    rows = estimate.grid_rows

    def spy(*args):
        g = rows(*args)
        pdfs.append(g.pdf)
        return g

    monkeypatch.setattr(estimate, "grid_rows", spy)
    settings = EstimateSettings(method="mcmc", seed=1) if prior is None else EstimateSettings(prior=prior, method="mcmc", seed=1)
    out = model.estimate(pd.DataFrame({"prot": [10.0], "bp_rp0": [1.0]}), settings)
    assert np.isfinite(out["age_p50_myr"]).all()
    assert len(pdfs) == 1 and (pdfs[0] is not None) == kept


def test_blocks_whose_per_star_priors_are_flat_beside_blocks_whose_are_not_join(model):
    """Whether the chains sample the likelihood alone was judged per block of ``settings.block`` stars (and again by
    the caller, RD37A 6): a block of per-star Gaussians 1e300 dex wide (flat on the grid) beside one 0.3 dex wide made
    visits of 0 and SAMPLE_GRID columns, and concatenating them raised a ValueError (a traceback from `gyroage
    estimate --method mcmc` on 300 such rows). Judged once for all the stars, the flat block's chain is the
    likelihood's too, and each star's age is the one it gets alone with its block's neighbours alike."""
    stars = _stars([10.0, 10.0], [0.8, 0.8], 0.05, prior_mean=np.array([9.0, 9.0]), prior_sigma=np.array([1e300, 0.3]))
    prior = Prior("gaussian_log_age", mean_column="mu", sigma_column="sig")
    cal = Calibration.from_card(model.density.card)
    res = sample_stars(model.density, prior, stars, replace(FAST, block=1), seed=1, calibration=cal)
    assert res.visits.shape == (2, res.visits.shape[1]) and res.visits.shape[1] > 0
    whole = sample_stars(model.density, prior, stars, FAST, seed=1, calibration=cal)
    np.testing.assert_array_equal(res.summaries["age_p50_myr"], whole.summaries["age_p50_myr"])
