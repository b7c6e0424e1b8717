"""A colour error beyond the trained range is clipped to its upper end (the card's ``domain.bp_rp0_err``), so the age
rests on that error, not on the one given: such a star carries the caution ``colour_err_beyond_training`` (review
FA3 finding 5: errors of 2 mag, 1e6 and 1e300 mag gave plain ``ok`` ages with no word)."""

import numpy as np
import pandas as pd
import pytest

from gyroage import EstimateSettings, SamplerSettings, estimate_chunk, statuses
from gyroage.core.estimate import star_flags

FLAG = "colour_err_beyond_training"
HUGE = [2.0, 1e6, 1e300]


def flags_of(out: pd.DataFrame) -> list[set[str]]:
    return [set(f.split(";")) - {""} for f in out["age_flags"]]


def test_flag_is_last_in_the_flag_order():
    """Appended, so that the bit masks pipelines read keep their meaning."""
    assert statuses.FLAG_ORDER.index(FLAG) == 7  # bit 128, before grid_posterior (appended after it)
    assert FLAG not in statuses.GROUP_FLAG_ORDER


def test_star_flags_without_the_mask_flags_nothing_new():
    text, extrapolated = star_flags(None, np.array([1.0]), np.array([1.0]), np.array([0.0]), np.array([0.1]),
                                    np.array([500.0]))
    assert list(text) == [""] and not extrapolated.any()


def test_estimate_flags_errors_beyond_the_trained_range_and_keeps_their_ages(model):
    hi = model.card.domain["bp_rp0_err"][1]
    errs = [0.02, 0.3, hi, *HUGE, np.nan]
    frame = pd.DataFrame({"prot": 12.0, "bp_rp0": 1.0, "bp_rp0_err": errs})
    out = estimate_chunk(frame, model.density, EstimateSettings())
    got = flags_of(out)
    assert [FLAG in f for f in got] == [False, False, False, True, True, True, False]
    # a caution: the status is the one the star had, and the ages are those at the clipped error, to the bit
    assert list(out["status"]) == [statuses.OK] * 7
    ages = out["age_p50_myr"].to_numpy()
    assert ages[3] == ages[4] == ages[5] == ages[2]
    assert all(f - {FLAG} == got[2] for f in got[3:6])


def test_flag_only_on_rows_with_an_age(model):
    frame = pd.DataFrame({"prot": [12.0, -1.0, 12.0], "bp_rp0": [1.0, 1.0, 9.0], "bp_rp0_err": 5.0})
    out = estimate_chunk(frame, model.density, EstimateSettings())
    assert list(out["status"]) == [statuses.OK, statuses.INVALID_PERIOD, statuses.COLOUR_OUT_OF_DOMAIN]
    assert list(out["age_flags"]) == [FLAG, "", ""]


def test_observed_colour_error_is_flagged_as_given_not_with_the_reddening(model):
    """The grid clips the colour's own error (bp_rp_err), not the reddening's, which is marginalised as given."""
    frame = pd.DataFrame({"prot": 12.0, "bp_rp": 1.1, "bp_rp_err": [0.6, 0.02], "ebprp": 0.1,
                          "ebprp_err": [0.0, 0.6]})
    out = estimate_chunk(frame, model.density, EstimateSettings())
    assert [FLAG in f for f in flags_of(out)] == [True, False]
    assert out["bp_rp0_err_used"].iloc[0] == pytest.approx(model.card.domain["bp_rp0_err"][1])


def test_teff_error_beyond_the_trained_range_is_flagged(model):
    frame = pd.DataFrame({"prot": 12.0, "teff": 5000.0, "teff_err": [50.0, 5000.0]})
    out = estimate_chunk(frame, model.density, EstimateSettings())
    assert [FLAG in f for f in flags_of(out)] == [False, True]


def test_mcmc_clips_and_flags_too(model):
    """The sampler's colour term takes the clipped error as well (its sigma_c at 2 mag is the 0.4616 mag one)."""
    hi = model.card.domain["bp_rp0_err"][1]
    settings = EstimateSettings(method="mcmc", seed=1, sampler=SamplerSettings(max_steps=400))
    at_hi, wide = (estimate_chunk(pd.DataFrame({"prot": 12.0, "bp_rp0": 1.0, "bp_rp0_err": [0.02, e]}),
                                  model.density, settings) for e in (hi, 2.0))
    assert [FLAG in f for f in flags_of(at_hi)] == [False, False]
    assert [FLAG in f for f in flags_of(wide)] == [False, True]
    # each row draws its own stream: the same row at the clipped error samples the same chain, to the bit
    assert wide["age_p50_myr"].iloc[1] == at_hi["age_p50_myr"].iloc[1]


def test_api_posterior_flags_it(model):
    post = model.posterior(prot=12.0, bp_rp0=1.0, bp_rp0_err=[0.02, 1e300])
    assert [FLAG in f for f in post.age_flags] == [False, True]
    assert list(post.status) == [statuses.OK] * 2
    assert FLAG in post.to_frame()["age_flags"].iloc[1]


@pytest.mark.parametrize("errors", [[0.9], [0.9, 0.7]])
def test_the_note_on_clipped_errors_calls_no_genuine_error_a_sentinel(model, errors):
    """Review V63, 6: a faint M dwarf's real 0.9 mag error was told "a sentinel error (99) marks a missing colour", as
    if gyroage had taken it for one: the hint is now conditional, in the words of estimate and group_ages alike."""
    from gyroage import group_ages

    n = len(errors)
    frame = pd.DataFrame({"prot": [8.0] * n, "bp_rp0": [1.0] * n, "bp_rp0_err": errors})
    with pytest.warns(UserWarning, match="trained range") as caught:
        model.estimate(frame)
    with pytest.warns(UserWarning, match="trained range") as grouped:
        group_ages(frame.assign(cluster="x"), model.density, "cluster", model.default_prior, 201)
    one = "it is" if n == 1 else "one is"
    for said, who in ((caught, "star"), (grouped, "member")):
        text = [str(w.message) for w in said if "trained range" in str(w.message)]
        assert len(text) == 1 and "marks a missing colour" not in text[0]
        assert text[0].endswith(f": if {one} a sentinel (99) for a missing colour, that {who} has no colour to date")
