"""Colours as users have them: observed BP-RP with a reddening, or Teff, give the (BP-RP)0 the model needs."""

import numpy as np
import pandas as pd
import pytest

from gyroage import io, statuses
from gyroage.core.colours import MISSING_COLOUR, Reddening, sequence_to_bp_rp0, teff_to_bp_rp0
from gyroage.core.estimate import EstimateSettings
from gyroage.core.photometry import (
    DWARF_SEQUENCE,
    DWARF_TEFF_BP_RP0,
    EBPRP_PER_AV,
    R_V,
    SEQUENCE_RANGE,
    TEFF_RANGE_K,
    deredden,
    ebprp_per_a0,
)
from gyroage.errors import UserError

AGES = ["age_p2.5_myr", "age_p16_myr", "age_p50_myr", "age_p84_myr", "age_p97.5_myr", "age_map_myr", "p_outlier"]
PROT = [12.0, 8.0, 20.0, 5.0]
OBSERVED = [1.05, 1.50, 1.30, 0.90]  # all red of the Kraft break (0.7) once dereddened: every age "ok"
OBS_ERR = [0.01, 0.05, 0.03, 0.02]


def settings(model, **kw) -> EstimateSettings:
    return EstimateSettings(prior=model.default_prior, n_grid=model.card.age_grid["n"], **kw)


def dereddened(ebprp, ebprp_err) -> pd.DataFrame:
    """The equivalent table of de-reddened colours (the reddening kept for its uncertainty)."""
    return pd.DataFrame({"prot": PROT, "bp_rp0": np.subtract(OBSERVED, ebprp), "bp_rp0_err": OBS_ERR,
                         "ebprp": ebprp, "ebprp_err": ebprp_err})


def k_obs(bp_rp, a0) -> np.ndarray:
    """E(BP-RP)/A_0 of the Gaia EDR3 law at the intrinsic colour an observed colour behind A_0 has."""
    return deredden(bp_rp, a0)[1]


def assert_same_ages(a: pd.DataFrame, b: pd.DataFrame) -> None:
    assert (a["status"] == "ok").all() and list(a["status"]) == list(b["status"])
    np.testing.assert_allclose(a[AGES].to_numpy(float), b[AGES].to_numpy(float), rtol=1e-9)


def test_observed_colour_and_ebprp_column_give_the_ages_of_the_dereddened_table(model):
    e, se = [0.05, 0.0, 0.2, 0.1], [0.02, 0.01, 0.05, 0.03]
    obs = pd.DataFrame({"Prot": PROT, "BP-RP": OBSERVED, "bp_rp_err": OBS_ERR, "E(BP-RP)": e, "E(BP-RP)_err": se})
    got = model.estimate(obs, settings(model))
    assert_same_ages(got, model.estimate(dereddened(e, se), settings(model)))
    assert (got["colour_source"] == "bp_rp-ebprp").all()
    np.testing.assert_allclose(got["bp_rp0_used"], np.subtract(OBSERVED, e))
    np.testing.assert_allclose(got["ebprp_used"], e)


def test_observed_colour_and_av_column_use_the_documented_coefficient(model):
    av, sav = np.array([0.1, 0.5, 0.0, 0.3]), np.array([0.05, 0.1, 0.02, 0.05])
    obs = pd.DataFrame({"prot": PROT, "bp_rp": OBSERVED, "bp_rp_err": OBS_ERR, "A_V": av, "e_AV": sav})
    got = model.estimate(obs, settings(model))
    k = k_obs(OBSERVED, av)
    # k comes from deredden, which the estimate runs too: pinned apart from it, by the equation it solves (the law's
    # k at the colour it gives; ebprp_per_a0 is pinned to the ESA file by hand below) and by values of its own inputs
    np.testing.assert_allclose(k, ebprp_per_a0(np.subtract(OBSERVED, k * av), av), rtol=1e-8)
    np.testing.assert_allclose(k_obs([1.05, 1.50, 1.30, 0.80], av), [0.41022, 0.39762, 0.40213, 0.43240], atol=6e-6)
    ref = dereddened(k * av, k * sav)  # the error propagates with the same ratio
    assert_same_ages(got, model.estimate(ref, settings(model)))
    assert (got["colour_source"] == "bp_rp-av").all()
    np.testing.assert_allclose(got["ebprp_err_used"], k * sav, rtol=1e-6)
    assert EBPRP_PER_AV == pytest.approx(1.002 - 0.589)  # Wang & Chen 2019, Table 3 (deredden's starting point)


# E(BP-RP)/A_0 = k_BP - k_RP of the ESA Gaia EDR3 extinction law (Fitz19_EDR3_MainSequence.csv, TeffNorm rows),
# evaluated by hand from the file at Teff = 3500 K (the grid's cool edge: M dwarfs) and 5772 K (the Sun)
M_DWARF_A0_1P7 = 0.3803010391356988
M_DWARF_A0_0P3 = 0.38858591601531345
SUN_A0_0 = 0.424045810731684


def _conversion(frame: pd.DataFrame, reddening: Reddening | None = None) -> dict:
    from gyroage.core.colours import conversion_columns, input_colours

    colours = input_colours(frame, io.require_columns(list(frame.columns)), reddening)
    return conversion_columns(colours, np.full(len(frame), 0.02))


def test_an_m_dwarf_behind_a_v_1p7_gets_the_gaia_edr3_laws_smaller_reddening():
    """(BP-RP)0 ~ 2.6 (M3V) through A_V = 1.7 (h Per's E(B-V) ~ 0.55): the constant 0.413 took 0.702 mag, 0.056 too
    much; the Gaia EDR3 law gives 0.380 A_0 for M dwarfs (its 3500 K edge)."""
    got = _conversion(pd.DataFrame({"prot": [5.0], "bp_rp": [3.25], "A_V": [1.7], "e_AV": [0.1]}))
    assert got["ebprp_used"][0] == pytest.approx(1.7 * M_DWARF_A0_1P7, rel=1e-6)  # 0.6465 mag
    assert got["ebprp_err_used"][0] == pytest.approx(0.1 * M_DWARF_A0_1P7, rel=1e-6)
    assert got["bp_rp0_used"][0] == pytest.approx(3.25 - 1.7 * M_DWARF_A0_1P7, rel=1e-9)


def test_an_ebv_for_an_m_dwarf_is_taken_as_a0_of_3p16_ebv():
    got = _conversion(pd.DataFrame({"prot": [5.0], "bp_rp": [2.9]}), Reddening(ebv=0.3 / R_V, ebv_err=0.01))
    assert got["ebprp_used"][0] == pytest.approx(0.3 * M_DWARF_A0_0P3, rel=1e-6)
    assert got["ebprp_err_used"][0] == pytest.approx(0.01 * R_V * M_DWARF_A0_0P3, rel=1e-6)


def test_a_solar_colour_keeps_the_old_factor_within_3_percent():
    got = _conversion(pd.DataFrame({"prot": [25.0], "bp_rp": [0.823 + 1e-3 * SUN_A0_0], "av": [1e-3]}))
    assert got["bp_rp0_used"][0] == pytest.approx(0.823, abs=1e-6)
    ratio = got["ebprp_used"][0] / 1e-3
    assert ratio == pytest.approx(SUN_A0_0, rel=1e-3)  # the dwarf sequence's 0.823 is 5770 K
    assert ratio == pytest.approx(1.002 - 0.589, rel=0.03)  # Wang & Chen 2019's constant 0.413
    assert R_V * ratio == pytest.approx(1.34, rel=0.005)  # E(BP-RP)/E(B-V) of Casagrande & VandenBerg 2018


def test_the_ratio_follows_the_esa_colour_polynomial_where_the_dwarf_colours_are_in_its_grid():
    """Cross-check of the Teff route: the same file's (BP-RP)0 rows (kBP, kRP; Xname BPRP) agree within 2% for
    (BP-RP)0 0-1.2 at any A_0; the ratio falls from A to M dwarfs and is flat beyond the grid's 3500 K."""
    bp = (1.15363197483424, -0.0814012991657388, -0.036013023976704, 0.0192143585568966, -0.022397548243016,
          0.000840562680547171, -1.31018008013549e-05, 0.00660124080271006, -0.000882247501989453,
          -0.000111215755291684)
    rp = (0.66320787941067, -0.0179847164933981, 0.000493769449961458, -0.00267994405695751, -0.00651422146709376,
          3.30179903473159e-05, 1.57894227641527e-06, -7.9800898337247e-05, 0.000255679812110045,
          1.10476584967393e-05)

    def k(c, x, a):
        return (c[0] + c[1] * x + c[2] * x**2 + c[3] * x**3 + c[4] * a + c[5] * a**2 + c[6] * a**3
                + c[7] * a * x + c[8] * a * x**2 + c[9] * x * a**2)

    x = np.linspace(0.0, 1.2, 13)
    for a0 in (0.0, 1.0, 3.0):
        np.testing.assert_allclose(ebprp_per_a0(x, a0), k(bp, x, a0) - k(rp, x, a0), rtol=0.02)
    ratio = ebprp_per_a0(DWARF_SEQUENCE[:, 2], 0.5)
    assert (np.diff(ratio) <= 0).all() and ratio[-1] == ratio[DWARF_SEQUENCE[:, 0] <= 3500][0]
    assert np.isnan(ebprp_per_a0(np.nan, 0.5))


@pytest.mark.parametrize("reddening, value, err, a0_per", [(Reddening(ebprp=0.08, ebprp_err=0.02), 0.08, 0.02, None),
                                                           (Reddening(av=0.3, av_err=0.1), 0.3, 0.1, 1.0),
                                                           (Reddening(ebv=0.1, ebv_err=0.03), 0.1, 0.03, R_V)])
def test_one_reddening_for_every_star_from_the_settings(model, reddening, value, err, a0_per):
    obs = pd.DataFrame({"prot": PROT, "bp_rp": OBSERVED, "bp_rp_err": OBS_ERR})
    got = model.estimate(obs, settings(model, reddening=reddening))
    scale = np.ones(4) if a0_per is None else a0_per * k_obs(OBSERVED, a0_per * value)  # one A_0, a ratio per star
    assert_same_ages(got, model.estimate(dereddened(scale * value, scale * err), settings(model)))


def test_a_reddening_column_value_wins_over_the_option_row_by_row(model):
    obs = pd.DataFrame({"prot": PROT[:2], "bp_rp": OBSERVED[:2], "ebprp": [0.1, None]})
    got = model.estimate(obs, settings(model, reddening=Reddening(av=1.0)))
    assert list(got["colour_source"]) == ["bp_rp-ebprp", "bp_rp-av"]
    np.testing.assert_allclose(got["bp_rp0_used"], [OBSERVED[0] - 0.1, OBSERVED[1] - k_obs(OBSERVED[1], 1.0)])


def test_reddening_error_widens_the_colour_uncertainty_and_the_ages(model):
    obs = pd.DataFrame({"prot": [12.0, 12.0], "bp_rp": [1.1, 1.1], "bp_rp_err": [0.02, 0.02],
                        "ebprp": [0.1, 0.1], "ebprp_err": [0.0, 0.15]})
    got = model.estimate(obs, settings(model))
    assert got["bp_rp0_err_used"].iloc[0] == pytest.approx(0.02)
    assert got["bp_rp0_err_used"].iloc[1] == pytest.approx(np.hypot(0.02, 0.15))  # in quadrature
    width = np.log10(got["age_p84_myr"] / got["age_p16_myr"])
    assert width.iloc[1] > 1.05 * width.iloc[0]


def test_bad_or_missing_reddening_is_a_row_status():
    obs = pd.DataFrame({"prot": [12.0] * 4, "bp_rp": [1.1, 1.1, 1.1, None],
                        "ebprp": ["0.1", "-0.2", "junk", ""], "ebprp_err": ["-1", "", "", ""]})
    from gyroage.core.modelcard import load_card
    from gyroage.core.stars import check_stars

    card = load_card(None, verify=False)[0]
    stars = check_stars(obs, card)
    assert list(stars.status) == [statuses.INVALID_REDDENING] * 3 + [statuses.INVALID_COLOUR]


def test_teff_matches_the_dwarf_table_at_its_knots_and_the_sun():
    teff = DWARF_TEFF_BP_RP0[:, 0]
    colour, _ = teff_to_bp_rp0(teff)
    np.testing.assert_allclose(colour, DWARF_TEFF_BP_RP0[:, 1], atol=1e-12)
    (sun, k0, m0), _ = teff_to_bp_rp0([5772, 5290, 3850])
    assert sun == pytest.approx(0.82, abs=0.005)  # G2V 0.823 (Mamajek's table)
    assert (k0, m0) == pytest.approx((0.983, 1.84))


def test_teff_error_goes_through_the_local_slope():
    c, e = teff_to_bp_rp0([5000.0, 5000.0, 3500.0], [100.0, 50.0, 100.0])
    (c_hi, c_lo), _ = teff_to_bp_rp0([5050.0, 4950.0])
    assert e[0] == pytest.approx(c_lo - c_hi, rel=0.05)  # the colour change over 100 K about 5000 K
    assert e[1] == pytest.approx(e[0] / 2)
    assert e[2] > e[0]  # M dwarfs: the colour moves faster with Teff


def test_teff_outside_the_table_has_its_own_status(model):
    lo, hi = TEFF_RANGE_K
    frame = pd.DataFrame({"prot": [25.0, 12.0, 12.0, 12.0, 12.0], "Teff": [5772, lo - 1, hi + 500, "hot", 4500],
                          "e_Teff": [100, 100, 100, 100, 0]})
    got = model.estimate(frame, settings(model))
    assert list(got["status"]) == ["ok", statuses.TEFF_OUT_OF_RANGE, statuses.TEFF_OUT_OF_RANGE,
                                   statuses.INVALID_COLOUR, statuses.INVALID_COLOUR_ERR]
    assert list(got["colour_source"]) == ["teff"] * 5
    assert got["bp_rp0_used"].iloc[0] == pytest.approx(0.8226, abs=1e-3)
    assert statuses.TEFF_OUT_OF_RANGE in statuses.ESTIMATE and statuses.INVALID_REDDENING in statuses.ESTIMATE


def test_teff_gives_the_ages_of_the_table_colour(model):
    frame = pd.DataFrame({"prot": [25.0, 10.0], "teff": [5772.0, 4600.0]})
    got = model.estimate(frame, settings(model))
    ref = pd.DataFrame({"prot": [25.0, 10.0], "bp_rp0": teff_to_bp_rp0([5772.0, 4600.0])[0]})
    assert_same_ages(got, model.estimate(ref, settings(model)))


def test_each_row_takes_the_first_colour_it_has(model):
    frame = pd.DataFrame({"prot": [12.0, 12.0, 12.0], "bp_rp0": [1.0, None, None], "bp_rp": [None, 1.2, None],
                          "ebprp": [None, 0.1, None], "teff": [None, None, 5000.0]})
    got = model.estimate(frame, settings(model))
    assert list(got["colour_source"]) == ["bp_rp0", "bp_rp-ebprp", "teff"]
    assert list(got["status"]) == ["ok"] * 3


@pytest.mark.parametrize("source, column", [("b_v0", 1), ("v_ks0", 3)])
def test_dwarf_colours_match_the_table_at_its_knots(source, column):
    colour, _ = sequence_to_bp_rp0(source, DWARF_SEQUENCE[:, column])
    np.testing.assert_allclose(colour, DWARF_SEQUENCE[:, 2], atol=1e-12)


def test_dwarf_colours_of_the_sun_and_a_k_dwarf():
    # the Sun: (B-V)0 0.653 (Ramirez et al. 2012), (V-Ks)0 1.56 (Casagrande et al. 2012); G2V (BP-RP)0 0.823
    (sun_bv,), _ = sequence_to_bp_rp0("b_v0", [0.653])
    (sun_vk,), _ = sequence_to_bp_rp0("v_ks0", [1.56])
    assert sun_bv == pytest.approx(0.823, abs=0.01) and sun_vk == pytest.approx(0.823, abs=0.01)
    # between K2V and K3V: halfway in colour is halfway in (BP-RP)0
    (mid,), _ = sequence_to_bp_rp0("b_v0", [(0.884 + 0.990) / 2])
    assert mid == pytest.approx((1.10 + 1.19) / 2)


def test_dwarf_colour_errors_go_through_the_local_slope():
    _, (e_g, e_m) = sequence_to_bp_rp0("b_v0", [0.655, 1.50], [0.02, 0.02])  # between G2V and G3V; M1.5V-M2V
    assert e_g == pytest.approx(0.02 * (0.832 - 0.823) / (0.660 - 0.650))
    assert e_m > 5 * e_g  # B-V hardly moves across the early M dwarfs: their (BP-RP)0 is poorly known from it
    _, (none,) = sequence_to_bp_rp0("v_ks0", [2.0])
    assert np.isnan(none)  # no error given: the card's default is used later, as for any colour


def test_dwarf_colours_outside_the_table_have_their_own_status(model):
    frame = pd.DataFrame({"prot": [25.4, 12.0, 12.0, 12.0, 12.0, 12.0],
                          "(B-V)0": [0.653, -0.05, SEQUENCE_RANGE["b_v0"][1] + 0.1, "red", 1.0, None],
                          "e_(B-V)0": [0.01, 0.01, 0.01, 0.01, -0.01, None]})
    got = model.estimate(frame, settings(model))
    assert list(got["status"]) == ["ok", statuses.DWARF_COLOUR_OUT_OF_RANGE, statuses.DWARF_COLOUR_OUT_OF_RANGE,
                                   statuses.INVALID_COLOUR, statuses.INVALID_COLOUR_ERR, statuses.INVALID_COLOUR]
    assert list(got["colour_source"]) == ["b_v0"] * 6
    assert statuses.DWARF_COLOUR_OUT_OF_RANGE in statuses.ESTIMATE


def test_dwarf_colours_give_the_ages_of_the_table_colour(model):
    frame = pd.DataFrame({"prot": [25.4, 10.0, 3.0], "B_V0": [0.653, 1.0, None], "e_B_V0": [0.01, 0.02, None],
                          "V_Ks0": [None, None, 4.0], "e_V_Ks0": [None, None, 0.05]})
    got = model.estimate(frame, settings(model))
    c_bv, e_bv = sequence_to_bp_rp0("b_v0", [0.653, 1.0], [0.01, 0.02])
    c_vk, e_vk = sequence_to_bp_rp0("v_ks0", [4.0], [0.05])
    ref = pd.DataFrame({"prot": [25.4, 10.0, 3.0], "bp_rp0": np.r_[c_bv, c_vk], "bp_rp0_err": np.r_[e_bv, e_vk]})
    assert_same_ages(got, model.estimate(ref, settings(model)))
    assert list(got["colour_source"]) == ["b_v0", "b_v0", "v_ks0"]


def test_a_row_prefers_teff_then_v_ks0_then_b_v0(model):
    frame = pd.DataFrame({"prot": [12.0] * 4, "teff": [5000.0, None, None, None], "v_ks0": [2.3, 2.3, None, None],
                          "b_v0": [0.9, 0.9, 0.9, None]})
    got = model.estimate(frame, settings(model))
    assert list(got["colour_source"]) == ["teff", "v_ks0", "b_v0", "teff"]  # nothing given: the first column's
    assert list(got["status"]) == ["ok"] * 3 + [statuses.INVALID_COLOUR]


def test_an_observed_b_v_is_not_taken_for_a_dereddened_one():
    with pytest.raises(UserError, match="missing colour"):
        io.require_columns(["prot", "B-V"])
    assert io.match_columns(["prot", "(B-V)0", "(V-Ks)0"]) == {"prot": "prot", "b_v0": "(B-V)0", "v_ks0": "(V-Ks)0"}


def test_a_plain_dereddened_table_gets_no_new_columns(model):
    frame = dereddened([0.1] * 4, [0.01] * 4)
    got = model.estimate(frame, settings(model))
    assert list(got.columns) == list(frame.columns) + AGES[:-1] + ["p_outlier", "age_flags", "status"]


def test_missing_colour_messages_name_what_would_work():
    with pytest.raises(UserError, match="^missing colour: give bp_rp0 .de-reddened., or bp_rp with E.BP-RP./A_V/E.B-V., or teff, "
                                       "or a de-reddened v_ks0 or b_v0; the file has: prot, name$"):
        io.require_columns(["prot", "name"])
    assert MISSING_COLOUR in str(pytest.raises(UserError, io.require_columns, ["prot"]).value)
    from gyroage.core.colours import required_colour

    with pytest.raises(UserError, match="found BP-RP but no reddening: give --ebprp, --av or --ebv, or an "
                                       "E.BP-RP./A_V/E.B-V. column"):
        required_colour(io.match_columns(["prot", "BP-RP"]))
    required_colour(io.match_columns(["prot", "BP-RP", "A_V"]))
    required_colour(io.match_columns(["prot", "BP-RP", "E(B-V)"]))
    required_colour(io.match_columns(["prot", "BP-RP"]), Reddening(ebprp=0.1))
    with pytest.raises(UserError, match="no bp_rp column"):
        required_colour(io.match_columns(["prot", "bp_rp0"]), Reddening(av=0.1))


@pytest.mark.parametrize("kw, message", [({"ebprp": 0.1, "av": 0.2}, "not --ebprp and --av"),
                                         ({"av": 0.1, "ebv": 0.2}, "not --av and --ebv"),
                                         ({"ebv_err": 0.1}, "--ebv-err needs --ebv"), ({"ebv": float("nan")}, "--ebv must"),
                                         ({"ebprp": -0.1}, "--ebprp must"),
                                         ({"av": float("nan")}, "--av must"), ({"ebprp_err": 0.1}, "needs --ebprp"),
                                         ({"av": 0.1, "av_err": -1.0}, "--av-err must")])
def test_reddening_options_are_checked_in_the_settings(kw, message):
    with pytest.raises(UserError, match=message):
        EstimateSettings(reddening=Reddening(**kw))


def test_reddening_and_colour_spellings_do_not_clash():
    found = io.match_columns(["E(BP-RP)", "e_E(BP-RP)", "BP-RP", "bp_rp_err", "A0", "e_A0", "Teff", "e_Teff",
                              "e_bp_rp0"])
    assert found == {"ebprp": "E(BP-RP)", "ebprp_err": "e_E(BP-RP)", "bp_rp": "BP-RP", "bp_rp_err": "bp_rp_err",
                     "av": "A0", "av_err": "e_A0", "teff": "Teff", "teff_err": "e_Teff", "bp_rp0_err": "e_bp_rp0"}
    # E(B-V) beside a de-reddened (B-V)0 and its error: three keys
    assert io.match_columns(["E(B-V)", "e_E(B-V)", "(B-V)0", "e_(B-V)0"]) == {"ebv": "E(B-V)", "ebv_err": "e_E(B-V)",
                                                                           "b_v0": "(B-V)0", "b_v0_err": "e_(B-V)0"}
    keys: dict[str, set] = {}
    for canon, names in io.ALIASES.items():
        for name in names:
            keys.setdefault(io.column_key(name), set()).add(canon)
    assert all(len(v) == 1 for v in keys.values())


def test_error_columns_take_the_unit_suffix_their_values_take():
    """bp_rp0_mag, abs_g0_mag, parallax_mas, prot_days were read, but bp_rp0_err_mag, e_bp_rp0_mag, parallax_err_mas,
    e_prot_days... were ignored: the default error was used without a word."""
    units = ("_days", "_d", "_mag", "_mas", "_k")
    keys = {io.column_key(a): canon for canon, names in io.ALIASES.items() for a in names}
    expected = {"bp_rp0_err_mag": "bp_rp0_err", "e_bp_rp0_mag": "bp_rp0_err", "abs_g0_err_mag": "abs_g0_err",
                "parallax_err_mas": "parallax_err", "e_prot_days": "prot_err", "e_prot_d": "prot_err",
                "prot_error_days": "prot_err", "b_v0_err_mag": "b_v0_err", "v_ks0_err_mag": "v_ks0_err"}
    for canon, names in io.ALIASES.items():
        if f"{canon}_err" not in io.ALIASES:
            continue
        for name in names:
            unit = next((u for u in units if name.endswith(u)), None)
            if unit is not None:
                base = name[: -len(unit)]
                expected[f"{base}_err{unit}"] = f"{canon}_err"
                if keys.get(io.column_key(f"e_{base}{unit}"), f"{canon}_err") == f"{canon}_err":  # e_bp_rp_mag: E(BP-RP)
                    expected[f"e_{base}{unit}"] = f"{canon}_err"
    wrong = {name: io.match_columns([name]) for name, canon in expected.items() if io.match_columns([name]) != {canon: name}}
    assert not wrong, wrong


def test_the_array_api_takes_the_same_colours(model):
    sun = model.posterior(25.4, teff=5772.0, teff_err=50.0)
    c, e = teff_to_bp_rp0(5772.0, 50.0)
    np.testing.assert_allclose(sun.pdf, model.posterior(25.4, c, e).pdf, rtol=1e-9)
    assert sun.inputs["colour_source"][0] == "teff"
    red = model.posterior([12.0, 8.0], bp_rp=[1.1, 1.5], av=0.2, av_err=0.1)
    ref = model.estimate(pd.DataFrame({"prot": [12.0, 8.0], "bp_rp": [1.1, 1.5], "av": 0.2, "av_err": 0.1}),
                         settings(model))
    np.testing.assert_allclose(red.summaries()["age_p50_myr"], ref["age_p50_myr"], rtol=1e-9)
    with pytest.raises(UserError, match="found BP-RP but no reddening"):
        model.posterior(12.0, bp_rp=1.1)
    ebv = model.posterior([12.0, 8.0], bp_rp=[1.1, 1.5], ebv=0.05, ebv_err=0.02)
    scale = R_V * k_obs([1.1, 1.5], R_V * 0.05)
    np.testing.assert_allclose(ebv.pdf, model.posterior([12.0, 8.0], bp_rp=[1.1, 1.5], ebprp=0.05 * scale,
                                                        ebprp_err=0.02 * scale).pdf, rtol=1e-9)
    assert list(ebv.inputs["colour_source"]) == ["bp_rp-ebv"] * 2
    bv = model.posterior(25.4, b_v0=0.653, b_v0_err=0.01)
    np.testing.assert_allclose(bv.pdf, model.posterior(25.4, *sequence_to_bp_rp0("b_v0", 0.653, 0.01)).pdf, rtol=1e-9)
    assert bv.inputs["colour_source"][0] == "b_v0"
    vk = model.posterior(25.4, v_ks0=1.56)
    assert vk.inputs["colour_source"][0] == "v_ks0"


def test_a_reddening_without_its_error_records_the_error_as_0():
    """README: the reddening's error defaults to 0; ebprp_err_used says so where a reddening was used without one."""
    from gyroage.core.colours import conversion_columns, input_colours

    obs = pd.DataFrame({"prot": [12.0] * 5, "bp_rp": ["1.1", "1.1", "1.1", "", "1.1"],
                        "ebprp": ["", "0.1", "0.1", "", "-0.2"], "ebprp_err": ["", "", "0.02", "", ""],
                        "teff": ["", "", "", "5000", ""]})
    colours = input_colours(obs, io.require_columns(list(obs.columns)), Reddening(ebprp=0.03))
    got = conversion_columns(colours, np.full(5, 0.0275))
    assert list(got["colour_source"]) == ["bp_rp-ebprp"] * 3 + ["teff", "bp_rp-ebprp"]
    np.testing.assert_array_equal(got["ebprp_used"], [0.03, 0.1, 0.1, np.nan, -0.2])
    # the option without --ebprp-err, a column value without its error: 0; given: itself; no reddening used, or an
    # unusable one (invalid_reddening, no colour): none
    np.testing.assert_array_equal(got["ebprp_err_used"], [0.0, 0.0, 0.02, np.nan, np.nan])


def _beside_bp_rp0(**columns) -> pd.DataFrame:
    return pd.DataFrame({"prot": [8.0, 12.0], "bp_rp0": [1.1, 1.4], **columns})


@pytest.mark.parametrize("columns, se, e", [
    ({"ebprp_err": [0.3, 0.05]}, [0.3, 0.05], np.nan),  # no ebprp column: was dropped
    # A_V and E(B-V) at the rows' (BP-RP)0 1.1 and 1.4 and their A_0 (0 without a value)
    ({"av": [0.3, 0.2], "av_err": [0.7, 0.1]}, [0.7, 0.1] * ebprp_per_a0([1.1, 1.4], [0.3, 0.2]),
     [0.3, 0.2] * ebprp_per_a0([1.1, 1.4], [0.3, 0.2])),  # was dropped
    ({"av_err": [0.7, 0.1]}, [0.7, 0.1] * ebprp_per_a0([1.1, 1.4], 0.0), np.nan),
    ({"ebv": [0.1, 0.1], "ebv_err": [0.2, 0.05]}, [0.2 * R_V, 0.05 * R_V] * ebprp_per_a0([1.1, 1.4], 0.1 * R_V),
     0.1 * R_V * ebprp_per_a0([1.1, 1.4], 0.1 * R_V)),
    ({"ebv_err": [0.2, 0.05]}, [0.2 * R_V, 0.05 * R_V] * ebprp_per_a0([1.1, 1.4], 0.0), np.nan)])
def test_a_reddening_error_beside_bp_rp0_is_added_whether_or_not_its_value_is_given(model, columns, se, e):
    """README: a reddening's error (ebprp_err, av_err or ebv_err; 0 without one) is added in quadrature to the colour
    uncertainty. Beside bp_rp0 only ebprp_err with an ebprp column was: av_err, ebv_err, a lone ebprp_err were not.
    The reference has the row's E(BP-RP) where it has one (NaN: none), which bounds E >= 0 (README)."""
    got = model.estimate(_beside_bp_rp0(**columns), settings(model))
    ref = model.estimate(_beside_bp_rp0(ebprp=np.broadcast_to(e, (2,)), ebprp_err=se), settings(model))
    plain = model.estimate(_beside_bp_rp0(), settings(model))
    assert_same_ages(got, ref)
    assert not np.allclose(got["age_p16_myr"], plain["age_p16_myr"])


def test_beside_bp_rp0_the_first_reddening_a_row_has_gives_its_error(model):
    """The row's reddening is its ebprp cell (value or error), else av, else ebv, as for bp_rp; without an error, 0."""
    from gyroage.core.modelcard import load_card
    from gyroage.core.stars import check_stars

    frame = pd.DataFrame({"prot": [8.0] * 5, "bp_rp0": [1.1] * 5, "ebprp": ["0.1", "", "", "", ""],
                          "ebprp_err": ["", "0.05", "", "", ""], "av": ["", "", "0.3", "0.3", ""],
                          "av_err": ["0.7", "0.7", "0.7", "", ""], "ebv_err": ["0.2"] * 5})
    stars = check_stars(frame, load_card(None, verify=False)[0])
    assert list(stars.status) == ["ok"] * 5
    k_av, k_0 = float(ebprp_per_a0(1.1, 0.3)), float(ebprp_per_a0(1.1, 0.0))
    np.testing.assert_allclose(stars.ebprp_err, [np.nan, 0.05, 0.7 * k_av, np.nan, 0.2 * R_V * k_0])
    np.testing.assert_allclose(stars.ebprp, [0.1, np.nan, 0.3 * k_av, 0.3 * k_av, np.nan])


def test_a_bad_reddening_error_beside_bp_rp0_is_a_row_status():
    """Text or a negative error was dropped (or squared) without a word: the row gets invalid_reddening."""
    from gyroage.core.modelcard import load_card
    from gyroage.core.stars import check_stars

    frame = pd.DataFrame({"prot": [8.0] * 5, "bp_rp0": ["1.1", "1.1", "1.1", "1.1", ""],
                          "av_err": ["big", "-0.1", "inf", "", "big"]})
    stars = check_stars(frame, load_card(None, verify=False)[0])
    assert list(stars.status) == [statuses.INVALID_REDDENING] * 3 + [statuses.OK, statuses.INVALID_COLOUR]


def test_the_sampler_and_group_age_take_the_reddening_error_beside_bp_rp0(model, monkeypatch):
    from gyroage.core import estimate
    from gyroage.core.groups import group_ages

    frame = _beside_bp_rp0(av_err=[0.7, 0.1])
    seen = {}

    class Stop(Exception):
        pass

    def capture(density, prior, inputs, *args, **kw):
        seen["inputs"] = inputs
        raise Stop

    monkeypatch.setattr(estimate, "sample_stars", capture)
    with pytest.raises(Stop):
        model.estimate(frame, settings(model, method="mcmc"))
    se = [0.7, 0.1] * ebprp_per_a0([1.1, 1.4], 0.0)
    np.testing.assert_allclose(seen["inputs"].ebprp_err, se)
    assert np.isnan(seen["inputs"].ebprp).all()  # no value: the sampler does not truncate (test_sampler)
    kw = dict(n_grid=201, systematic_dex=0.0)
    got = group_ages(frame, model.density, None, model.default_prior, **kw)
    ref = group_ages(_beside_bp_rp0(ebprp=[np.nan, np.nan], ebprp_err=se),  # no value: nothing truncated
                     model.density, None, model.default_prior, **kw)
    plain = group_ages(_beside_bp_rp0(), model.density, None, model.default_prior, **kw)
    assert got["age_p50_myr"][0] == pytest.approx(ref["age_p50_myr"][0], rel=1e-9)
    assert got["age_p16_myr"][0] != pytest.approx(plain["age_p16_myr"][0], rel=1e-6)


def test_the_invalid_reddening_text_names_every_reddening_it_covers():
    # the status text omitted E(B-V) and the bp_rp0 rows whose reddening error is bad (the README had them)
    text = statuses.ESTIMATE[statuses.INVALID_REDDENING]
    assert all(name in text for name in ("E(BP-RP)", "A_V", "E(B-V)", "bp_rp0"))


def test_the_reading_lines_k_is_the_extinction_laws_own():
    """K_NOTE wrote 0.424 and 0.391 by hand: they are ebprp_per_a0's at the Sun's colour and at the reddest dwarf
    the law covers, now computed from it, so a change of the law changes the line."""
    from gyroage.core.colours import K_NOTE
    from gyroage.core.photometry import FITZ19_COLOUR_MAX, SUN_BP_RP0, ebprp_per_a0

    sun, m_dwarf = (float(ebprp_per_a0(c, 0.0)) for c in (SUN_BP_RP0, FITZ19_COLOUR_MAX))
    assert (round(sun, 3), round(m_dwarf, 3)) == (0.424, 0.391)
    assert f"{sun:.3f} at the Sun's colour, {m_dwarf:.3f} for M dwarfs" in K_NOTE
    assert float(ebprp_per_a0(FITZ19_COLOUR_MAX + 1, 0.0)) == pytest.approx(m_dwarf, abs=1e-12)  # the edge value


@pytest.mark.parametrize("parallax, said", [
    (["5.3", "6.1"], "magnitudes from 'G_0' and 'parallax' (main-sequence term)"),
    (["-", "abc"], "no magnitudes ('parallax' holds no number in its first 2 rows)"),
    (["", "nan"], "no magnitudes ('parallax' holds no number in its first 2 rows)"),
    (["5,3", "-"], "no magnitudes ('parallax' holds no number in its first 2 rows)"),  # a ',' file's "5,3" is text
])
def test_the_reading_line_names_no_magnitude_column_without_a_number(parallax, said):
    """With the rows, the line named 'parallax' among the magnitudes read though none of its cells held a number."""
    from gyroage.core.colours import input_notes

    frame = pd.DataFrame({"Prot": ["7.5", "12.25"], "BPRP_0": ["1.1", "0.9"], "G_0": ["5.5", "6.0"],
                          "parallax": parallax})
    line = input_notes(frame, magnitudes=True)[-1]
    assert line == f"reading prot from 'Prot' (d), colour from 'BPRP_0', {said}", line
    assert input_notes(frame.columns, magnitudes=True)[-1].endswith("and 'parallax' (main-sequence term)")  # names only
    both = input_notes(frame.assign(G_0=["x", ""], parallax=["-", ""]).iloc[:1], magnitudes=True)[-1]
    assert both.endswith(", no magnitudes ('G_0' and 'parallax' hold no number in their first row)"), both



def test_estimates_reading_line_names_no_parallax_that_holds_no_number(tmp_path):
    """`estimate` said 'magnitudes from G_0 and parallax' from the header alone, though every parallax cell was '-'."""
    import subprocess
    import sys

    src = tmp_path / "stars.csv"
    src.write_text("Prot,BPRP_0,G_0,parallax\n7.5,1.1,5.5,-\n12.25,0.9,6.0,-\n")
    res = subprocess.run([sys.executable, "-m", "gyroage.cli", "estimate", str(src), "-o", str(tmp_path / "o.csv")],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert "no magnitudes ('parallax' holds no number in its first 2 rows)" in res.stderr, res.stderr
    assert "and 'parallax' (main-sequence term)" not in res.stderr
