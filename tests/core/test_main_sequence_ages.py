"""The main-sequence height term in estimate, group-age, the sampler and the API.

The model here is the shipped flow with a planted term in its card (tests/core/test_main_sequence.py's shape),
so these tests say what the term does to ages, whatever the shipped card's fitted numbers are.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from gyroage import AgeModel
from gyroage.core.density import FlowDensity
from gyroage.core.estimate import HEIGHT_COLUMN, EstimateSettings, estimate_chunk
from gyroage.core.groups import group_ages
from gyroage.core.main_sequence import NO_TERM, MainSequenceTerm
from gyroage.core.priors import Prior
from gyroage.errors import UserError
from tests.conftest import ROOT, run_cli
from tests.core.test_main_sequence import term

# an M dwarf spinning at 1.5 d: rotation alone cannot tell 10 Myr from 300 Myr
COLOUR, PROT = 2.7, 1.5


@pytest.fixture(scope="module")
def ms_model(tmp_path_factory):
    model = tmp_path_factory.mktemp("ms") / "model"
    shutil.copytree(ROOT / "models", model)
    card = json.loads((model / "gyroage-model.json").read_text())
    card["main_sequence"] = {"term": term().to_dict()}
    (model / "gyroage-model.json").write_text(json.dumps(card))
    return model


def ms_mag(t: MainSequenceTerm, colour: float) -> float:
    return float(np.interp(colour, t.ms_colour, t.ms_mag))


def stars(t: MainSequenceTerm) -> pd.DataFrame:
    """Three identical rotators: 1.5 mag above the main sequence, on it, and without magnitudes."""
    ms = ms_mag(t, COLOUR)
    return pd.DataFrame({"prot": [PROT] * 3, "bp_rp0": [COLOUR] * 3, "abs_g0": [ms - 1.5, ms, np.nan]})


def test_height_moves_ages_the_way_the_diagram_says(ms_model):
    density = FlowDensity(ms_model)
    out = estimate_chunk(stars(term()), density, EstimateSettings())
    young, on, none = out["age_p50_myr"]
    assert young < 20 < 100 < on  # pre-main-sequence against a main-sequence star of the same rotation
    assert young < none < on
    assert out[HEIGHT_COLUMN].iloc[:2].to_numpy() == pytest.approx([1.5, 0.0], abs=1e-9)
    assert np.isnan(out[HEIGHT_COLUMN].iloc[2])
    assert (out["status"] == "ok").all()


def test_without_the_term_ages_are_rotations_alone(ms_model):
    density = FlowDensity(ms_model)
    frame = stars(term())
    off = estimate_chunk(frame, density, EstimateSettings(main_sequence=False))
    plain = estimate_chunk(frame[["prot", "bp_rp0"]], FlowDensity(ROOT / "models"), EstimateSettings())
    assert HEIGHT_COLUMN not in off.columns and HEIGHT_COLUMN not in plain.columns
    np.testing.assert_allclose(off["age_p50_myr"], plain["age_p50_myr"])
    np.testing.assert_allclose(off["age_p50_myr"], off["age_p50_myr"].iloc[0])


def test_a_star_the_term_does_not_inform_keeps_rotations_outlier_probability(ms_model):
    # the term's rows of the prior are renormalised one by one; the others keep the plain prior's evidence
    frame = stars(term())
    with_term = estimate_chunk(frame, FlowDensity(ms_model), EstimateSettings())
    plain = estimate_chunk(frame[["prot", "bp_rp0"]], FlowDensity(ROOT / "models"), EstimateSettings())
    assert with_term["p_outlier"].iloc[2] == plain["p_outlier"].iloc[2]
    assert with_term["p_outlier"].iloc[0] != plain["p_outlier"].iloc[0]  # 1.5 mag above: the term speaks


def test_g0_with_parallax_is_the_same_as_the_absolute_magnitude(ms_model):
    t = term()
    frame = pd.DataFrame({"Prot": [PROT], "BPRP_0": [COLOUR], "G_0": [ms_mag(t, COLOUR) - 1.5 + 5.0],
                          "dr3_parallax_zpt_corrected": [10.0]})  # 100 pc
    density = FlowDensity(ms_model)
    a = estimate_chunk(frame, density, EstimateSettings())["age_p50_myr"].iloc[0]
    b = estimate_chunk(stars(t).iloc[:1], density, EstimateSettings())["age_p50_myr"].iloc[0]
    assert a == pytest.approx(b, rel=1e-9)


def test_the_api_and_the_sampler_agree_with_the_grid(ms_model):
    t = term()
    model = AgeModel.load(ms_model)
    grid = model.posterior([PROT, PROT], [COLOUR, COLOUR], abs_g0=[ms_mag(t, COLOUR) - 1.5, ms_mag(t, COLOUR)])
    med = np.log10(grid.summaries()["age_p50_myr"])
    frame = stars(t).iloc[:2]
    est = estimate_chunk(frame, FlowDensity(ms_model), EstimateSettings())
    np.testing.assert_allclose(np.log10(est["age_p50_myr"]), med, atol=1e-9)
    mc = estimate_chunk(frame, FlowDensity(ms_model), EstimateSettings(method="mcmc", seed=1))
    assert np.abs(np.log10(mc["age_p50_myr"].to_numpy()) - med).max() < 0.05


def test_a_group_above_the_sequence_is_dated_young(ms_model):
    t = term()
    ms = ms_mag(t, COLOUR)
    frame = pd.DataFrame({"group": ["a"] * 5 + ["b"] * 5, "prot": PROT, "bp_rp0": COLOUR,
                          "abs_g0": [ms - 1.5] * 5 + [ms] * 5})
    density = FlowDensity(ms_model)
    with_term = group_ages(frame, density, "group", Prior(), main_sequence=True)
    without = group_ages(frame, density, "group", Prior())  # off by default (study 22b)
    a, b = with_term["age_p50_myr"]
    assert a < 20 < 100 < b
    assert without["age_p50_myr"].iloc[0] == pytest.approx(without["age_p50_myr"].iloc[1])


def test_the_cli_reads_the_columns_and_turns_the_term_off(ms_model, tmp_path):
    src = tmp_path / "in.csv"
    stars(term()).to_csv(src, index=False)
    on, off = tmp_path / "on.csv", tmp_path / "off.csv"
    assert run_cli("estimate", str(src), "--model", str(ms_model), "-o", str(on), "-q").returncode == 0
    assert run_cli("estimate", str(src), "--model", str(ms_model), "-o", str(off), "-q",
                   "--no-main-sequence").returncode == 0
    a, b = pd.read_csv(on), pd.read_csv(off)
    assert a["age_p50_myr"].iloc[0] < b["age_p50_myr"].iloc[0] / 2
    assert HEIGHT_COLUMN in a.columns and HEIGHT_COLUMN not in b.columns


def _interval(out: pd.DataFrame) -> np.ndarray:
    return np.log10(out["age_p84_myr"].to_numpy()) - np.log10(out["age_p16_myr"].to_numpy())


def test_a_parallax_error_widens_the_age_and_a_poor_parallax_leaves_rotation_alone(ms_model):
    """The same pre-main-sequence M dwarf at 100 pc: parallax exact, 10%, 30% (2.17 x 0.3 = 0.65 mag: beyond the
    term's limit), a missing error (none known) and a negative one (a bad value: rotation alone, never refused)."""
    t = term()
    n = 5
    frame = pd.DataFrame({"prot": [PROT] * n, "bp_rp0": [COLOUR] * n, "g0": [ms_mag(t, COLOUR) - 1.5 + 5.0] * n,
                          "parallax": [10.0] * n, "parallax_error": [0.0, 1.0, 3.0, np.nan, -1.0]})
    density = FlowDensity(ms_model)
    out = estimate_chunk(frame, density, EstimateSettings())
    alone = estimate_chunk(frame[["prot", "bp_rp0"]], density, EstimateSettings())["age_p50_myr"].iloc[0]
    exact, ten, poor, unknown, bad = out["age_p50_myr"]
    width = _interval(out)
    assert width[1] > width[0] + 0.02  # the 0.22 mag error is read
    assert unknown == pytest.approx(exact, rel=1e-12)
    assert poor == pytest.approx(alone, rel=1e-9) and bad == pytest.approx(alone, rel=1e-9)
    assert exact < 20 and ten < 30 < alone
    assert out[HEIGHT_COLUMN].isna().tolist() == [False, False, True, False, True]
    assert (out["status"] == "ok").all()


def test_magnitude_errors_reach_the_api_the_sampler_and_groups(ms_model):
    t = term()
    ms = ms_mag(t, COLOUR)
    frame = pd.DataFrame({"prot": [PROT] * 2, "bp_rp0": [COLOUR] * 2, "abs_g0": [ms - 1.5] * 2,
                          "abs_g0_err": [0.0, 0.4]})
    density = FlowDensity(ms_model)
    est = estimate_chunk(frame, density, EstimateSettings())
    api = AgeModel.load(ms_model).posterior([PROT] * 2, [COLOUR] * 2, abs_g0=[ms - 1.5] * 2, abs_g0_err=[0.0, 0.4])
    np.testing.assert_allclose(api.summaries()["age_p50_myr"], est["age_p50_myr"], rtol=1e-9)
    assert _interval(est)[1] > _interval(est)[0]
    mc = estimate_chunk(frame, density, EstimateSettings(method="mcmc", seed=2))
    assert np.abs(np.log10(mc["age_p50_myr"].to_numpy() / est["age_p50_myr"].to_numpy())).max() < 0.05
    groups = frame.assign(group=["a", "b"], abs_g0_err=[0.0, 0.6])
    g = group_ages(groups, density, "group", Prior(), main_sequence=True)
    alone = group_ages(groups.drop(columns=["abs_g0", "abs_g0_err"]), density, "group", Prior())
    assert g["age_p50_myr"].iloc[1] == pytest.approx(alone["age_p50_myr"].iloc[1], rel=1e-9)
    assert g["age_p50_myr"].iloc[0] < alone["age_p50_myr"].iloc[0] / 2


def test_the_apis_frame_has_the_height_column_estimate_writes(ms_model):
    """Posterior.to_frame() lacked ms_height_mag, which estimate writes when magnitudes are given."""
    t = term()
    frame = pd.concat([stars(t), pd.DataFrame({"prot": [-1.0, PROT], "bp_rp0": [COLOUR, 0.8],
                                               "abs_g0": [ms_mag(t, COLOUR), 4.5]})], ignore_index=True)
    model = AgeModel.load(ms_model)
    got = model.posterior(frame["prot"], frame["bp_rp0"], abs_g0=frame["abs_g0"]).to_frame()
    want = model.estimate(frame)
    assert HEIGHT_COLUMN in got.columns
    np.testing.assert_array_equal(got[HEIGHT_COLUMN], want[HEIGHT_COLUMN])  # NaN where the term is silent
    assert list(got.columns[got.columns.get_loc(HEIGHT_COLUMN):]) == list(want.columns[want.columns.get_loc(HEIGHT_COLUMN):])
    assert HEIGHT_COLUMN not in model.posterior(PROT, COLOUR).to_frame().columns  # no magnitudes: none, as estimate


def test_the_height_is_written_only_where_the_row_got_an_age(ms_model):
    """README: ms_height_mag is empty where the height did not inform the age; rows without an age (a bad or
    out-of-domain period, a per-star prior the grid cannot hold) had it written all the same."""
    t = term()
    ms = ms_mag(t, COLOUR)
    frame = pd.DataFrame({"prot": [PROT, -1.0, 1e4, PROT, PROT], "bp_rp0": [COLOUR] * 5, "abs_g0": [ms - 1.5] * 5,
                          "mu": [7.0, 7.0, 7.0, 1e200, 7.0], "e_mu": [5.0] * 5})
    settings = EstimateSettings(prior=Prior(kind="gaussian_log_age", mean_column="mu", sigma_column="e_mu"))
    out = estimate_chunk(frame, FlowDensity(ms_model), settings)
    assert list(out["status"]) == ["ok", "invalid_period", "period_out_of_domain", "invalid_prior", "ok"]
    np.testing.assert_allclose(out[HEIGHT_COLUMN], [1.5, np.nan, np.nan, np.nan, 1.5], atol=1e-9)
    api = AgeModel.load(ms_model).posterior(frame["prot"], frame["bp_rp0"], abs_g0=frame["abs_g0"])
    np.testing.assert_allclose(api.ms_height_mag, [1.5, np.nan, np.nan, 1.5, 1.5], atol=1e-9)


@pytest.mark.parametrize("command", [["estimate"], ["group-age", "--by", "group"]])
def test_main_sequence_on_a_card_without_the_term_is_refused_in_one_line(termless_model, tmp_path, command):
    """--main-sequence on a model without the term (a `train --export` card) dated from rotation alone, exit 0,
    without a word; now refused as validate refuses it, before the input is read."""
    src = tmp_path / "in.csv"
    stars(term()).assign(group="a").dropna().to_csv(src, index=False)
    res = run_cli(*command[:1], str(src), *command[1:], "--model", str(termless_model), "--main-sequence", "-q")
    assert res.returncode == 2, res.stderr
    assert res.stderr.strip().splitlines() == [f"gyroage: error: {NO_TERM}"]
    # without the option a card without the term still dates the stars, from rotation alone
    res = run_cli(*command[:1], str(src), *command[1:], "--model", str(termless_model), "-q")
    assert res.returncode == 0, res.stderr


def test_the_library_refuses_a_required_term_the_card_lacks(termless_model):
    frame = stars(term()).assign(group="a").dropna()
    density = FlowDensity(termless_model)
    with pytest.raises(UserError, match="holds no main-sequence term"):
        estimate_chunk(frame, density, EstimateSettings(require_magnitudes=True))
    with pytest.raises(UserError, match="holds no main-sequence term"):
        group_ages(frame, density, "group", Prior(), main_sequence=True)


def test_one_call_says_whether_a_run_reads_magnitudes_and_which_model_cannot(termless_model):
    """FR39a: uses_magnitudes (estimate) and termless_model (main_sequence) were complements every caller computed
    both of; magnitude_use gives both: (reads them, the model that would but has no term)."""
    from gyroage.core.main_sequence import magnitude_use
    from gyroage.core.modelcard import load_card

    shipped, termless = load_card(None, verify=False)[0], load_card(termless_model, verify=False)[0]
    assert magnitude_use(shipped, True, "m") == (True, None)
    assert magnitude_use(shipped, False, "m") == (False, None)  # --no-main-sequence: nothing read, nothing to say
    assert magnitude_use(termless, True, termless_model) == (False, str(termless_model))
    assert magnitude_use(termless, False, termless_model) == (False, None)


def test_the_api_warns_that_m_g_is_read_as_de_reddened(ms_model):
    """The command line says, even with -q, that 'M_G' is read as de-reddened absolute G; AgeModel.estimate and
    group_ages with magnitudes said nothing. They warn now, where the height term reads it (not without the term,
    and not for a name with a 0, which says so itself)."""
    import warnings

    t = term()
    frame = stars(t).rename(columns={"abs_g0": "M_G"}).iloc[:2]
    model = AgeModel.load(ms_model, notes=False)
    with pytest.warns(UserWarning, match="'M_G' taken as de-reddened absolute G"):
        model.estimate(frame)
    with pytest.warns(UserWarning, match="'M_G' taken as de-reddened absolute G"):
        group_ages(frame.assign(group="a"), model.density, "group", Prior(), main_sequence=True)
    with warnings.catch_warnings():
        # the two rows share a period and colour: without the height term group-age counts them as repeats
        warnings.filterwarnings("error", message=".*taken as de-reddened")
        model.estimate(frame, EstimateSettings(main_sequence=False))
        model.estimate(stars(t).iloc[:2])  # abs_g0: a 0 in the name
        group_ages(frame.assign(group="a"), model.density, "group", Prior())


BOTH_MAGNITUDES = "prot,bp_rp0,abs_g0,g0,parallax,parallax_err,abs_g0_err\n12,1.5,6.5,9.0,10,0.5,0.1\n12,1.5,,9.0,10,0.5,\n"
UNREAD = "gyroage: 'g0', 'parallax', 'parallax_err' not read: 'abs_g0' gives the absolute G"


def test_g0_and_parallax_beside_abs_g0_are_said_to_be_unread(model, tmp_path):
    """abs_g0 wins over g0 and parallax: a row with a blank abs_g0 was dated from rotation alone without a word. The
    run says so once (on stderr even with -q; the API as a UserWarning), and the ages stay as they were."""
    import warnings

    src = tmp_path / "both.csv"
    src.write_text(BOTH_MAGNITUDES)
    res = run_cli("estimate", str(src), "-q", "-o", str(tmp_path / "out.csv"), "--threads", "1")
    assert res.returncode == 0, res.stderr
    assert res.stderr.count(UNREAD) == 1, res.stderr
    frame = pd.read_csv(src)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ages = model.estimate(frame)
    assert [str(w.message) for w in caught if str(w.message).startswith(UNREAD)] != []
    cli = pd.read_csv(tmp_path / "out.csv")
    np.testing.assert_allclose(ages["age_p50_myr"], cli["age_p50_myr"], rtol=1e-5)
    alone = model.estimate(frame[["prot", "bp_rp0"]].iloc[[1]])  # the blank row: rotation alone, as before
    assert ages["age_p50_myr"].iloc[1] == alone["age_p50_myr"].iloc[0]
    with warnings.catch_warnings(record=True) as caught:  # only abs_g0, or only g0 and parallax: nothing to say
        warnings.simplefilter("always")
        model.estimate(frame[["prot", "bp_rp0", "g0", "parallax"]])
        model.estimate(frame[["prot", "bp_rp0", "abs_g0"]])
    assert not [w for w in caught if "not read" in str(w.message)]
