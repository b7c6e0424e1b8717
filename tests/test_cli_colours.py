"""`gyroage estimate` and `group-age` on observed colours with --ebprp/--av/--ebv, and on Teff."""

import io

import numpy as np
import pandas as pd
import pytest

from gyroage.core.colours import teff_to_bp_rp0
from gyroage.core.photometry import EBPRP_PER_EBV, R_V, deredden
from tests.conftest import needs_dask, run_cli

AGES = ["age_p2.5_myr", "age_p16_myr", "age_p50_myr", "age_p84_myr", "age_p97.5_myr", "age_map_myr", "p_outlier"]
OBS = pd.DataFrame({"prot": [12.0, 8.0, 20.0], "bp_rp": [1.05, 1.5, 1.3], "bp_rp_err": [0.01, 0.05, 0.03]})


def run(command: str, frame: pd.DataFrame, *args: str) -> pd.DataFrame:
    res = run_cli(command, "-", "-q", *args, input=frame.to_csv(index=False))
    assert res.returncode == 0, res.stderr
    return pd.read_csv(io.StringIO(res.stdout))


def k_obs(bp_rp, a0) -> np.ndarray:
    """E(BP-RP)/A_0 of the Gaia EDR3 law at the intrinsic colour an observed colour behind A_0 has."""
    return deredden(bp_rp, a0)[1]


def dereddened(e, se) -> pd.DataFrame:
    return pd.DataFrame({"prot": OBS["prot"], "bp_rp0": OBS["bp_rp"] - e, "bp_rp0_err": OBS["bp_rp_err"],
                         "ebprp": e, "ebprp_err": se})


@pytest.mark.parametrize("options, e, se", [(("--ebprp", "0.03", "--ebprp-err", "0.01"), 0.03, 0.01),
                                            (("--av", "0.1", "--av-err", "0.05"), 0.1 * k_obs(OBS["bp_rp"], 0.1),
                                             0.05 * k_obs(OBS["bp_rp"], 0.1)),
                                            (("--ebv", "0.04", "--ebv-err", "0.01"),
                                             0.04 * R_V * k_obs(OBS["bp_rp"], 0.04 * R_V),
                                             0.01 * R_V * k_obs(OBS["bp_rp"], 0.04 * R_V))])
def test_estimate_reddening_options_give_the_ages_of_the_dereddened_csv(options, e, se):
    got = run("estimate", OBS, *options)
    ref = run("estimate", dereddened(e, se))
    assert (got["status"] == "ok").all()
    np.testing.assert_allclose(got[AGES].to_numpy(float), ref[AGES].to_numpy(float), rtol=1e-6)
    assert list(got.columns[: len(OBS.columns) + 5]) == [*OBS.columns, "colour_source", "bp_rp0_used",
                                                         "bp_rp0_err_used", "ebprp_used", "ebprp_err_used"]
    np.testing.assert_allclose(got["bp_rp0_used"], OBS["bp_rp"] - e, atol=1e-5)  # as written: 5 decimals


def test_estimate_on_teff():
    got = run("estimate", pd.DataFrame({"prot": [25.0, 12.0], "Teff": [5772, 20000], "e_Teff": [80, 100]}))
    assert list(got["status"]) == ["ok", "teff_out_of_range"] and list(got["colour_source"]) == ["teff", "teff"]


def test_estimate_and_group_age_on_literature_colours():
    # a cluster table of the older literature: (B-V)0 for FGK stars, (V-Ks)0 for an M dwarf
    table = pd.DataFrame({"cluster": ["A"] * 4, "Prot": [7.5, 8.3, 9.6, 15.0], "(B-V)0": [0.65, 0.80, 1.00, None],
                          "e_(B-V)0": [0.02] * 3 + [None], "(V-Ks)0": [None] * 3 + [4.2]})
    got = run("estimate", table)
    assert list(got["colour_source"]) == ["b_v0", "b_v0", "b_v0", "v_ks0"] and (got["status"] == "ok").all()
    colours = pd.DataFrame({"cluster": table["cluster"], "Prot": table["Prot"], "bp_rp0": got["bp_rp0_used"],
                            "bp_rp0_err": got["bp_rp0_err_used"]})
    by_colour = run("group-age", colours, "--by", "cluster")
    by_literature = run("group-age", table, "--by", "cluster")
    np.testing.assert_allclose(by_literature[AGES[:-1]].to_numpy(float), by_colour[AGES[:-1]].to_numpy(float),
                               rtol=1e-4)


@pytest.mark.parametrize("header, message", [
    ("prot,bp_rp", "found BP-RP but no reddening: give --ebprp, --av or --ebv, or an E(BP-RP)/A_V/E(B-V) column"),
    ("prot,colour_index", "missing colour: give bp_rp0 (de-reddened), or bp_rp with E(BP-RP)/A_V/E(B-V), or teff"),
])
def test_missing_colour_or_reddening_is_one_line_exit_2(header, message):
    res = run_cli("estimate", "-", input=f"{header}\n12,1.0\n")
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert res.stderr.strip().startswith(f"gyroage: error: {message}")
    assert res.stderr.strip().count("\n") == 0


@pytest.mark.parametrize("options", [("--ebprp", "0.1", "--av", "0.3"), ("--av", "0.3", "--ebv", "0.1")])
def test_estimate_refuses_two_reddening_options(options):
    res = run_cli("estimate", "-", *options, input=OBS.to_csv(index=False))
    assert res.returncode == 2 and "give one of --ebprp, --av and --ebv, not" in res.stderr


def test_an_ebv_column_dereddens_bp_rp_row_by_row_after_ebprp_and_av():
    # a cluster table's E(B-V) (WEBDA style); rows with an E(BP-RP) or A_V keep those (E(B-V) was ignored before)
    table = OBS.assign(**{"E(B-V)": [0.04, 0.04, 0.04], "e_ebv": [0.01, 0.01, 0.01], "ebprp": [None, 0.02, None],
                          "A_V": [None, None, 0.31]})
    got = run("estimate", table)
    assert list(got["colour_source"]) == ["bp_rp-ebv", "bp_rp-ebprp", "bp_rp-av"] and (got["status"] == "ok").all()
    k_ebv, k_av = R_V * k_obs(OBS["bp_rp"][0], 0.04 * R_V), k_obs(OBS["bp_rp"][2], 0.31)
    np.testing.assert_allclose(got["ebprp_used"], [0.04 * k_ebv, 0.02, 0.31 * k_av], rtol=1e-5)  # 6 digits
    np.testing.assert_allclose(got["ebprp_err_used"], [0.01 * k_ebv, 0.0, 0.0], rtol=1e-5)
    np.testing.assert_allclose(got["bp_rp0_used"], OBS["bp_rp"] - got["ebprp_used"], atol=1e-6)
    neg = run("estimate", OBS.assign(ebv=[-0.1, 0.0, 0.05]))
    assert list(neg["status"]) == ["invalid_reddening", "ok", "ok"]


def test_group_age_reads_observed_colours_and_teff():
    ebv = 0.05 / EBPRP_PER_EBV
    colour0 = OBS["bp_rp"] - ebv * R_V * k_obs(OBS["bp_rp"], ebv * R_V)
    teff = pd.DataFrame({"prot": OBS["prot"], "teff": [5000.0, 4200.0, 4600.0], "g": "a"})
    ref_teff = pd.DataFrame({"prot": OBS["prot"], "bp_rp0": teff_to_bp_rp0(teff["teff"])[0], "g": "a"})
    for got, ref in ((run("group-age", OBS.assign(g="a"), "--by", "g", "--ebv", f"{ebv!r}"),
                      run("group-age", pd.DataFrame({"prot": OBS["prot"], "bp_rp0": colour0, "bp_rp0_err": OBS["bp_rp_err"],
                                                    "g": "a"}), "--by", "g")),
                     (run("group-age", teff, "--by", "g"), run("group-age", ref_teff, "--by", "g"))):
        assert got["status"].iloc[0] == "ok" and got["n_used"].iloc[0] == 3
        np.testing.assert_allclose(got[AGES[:-1]].to_numpy(float), ref[AGES[:-1]].to_numpy(float), rtol=1e-6)


@needs_dask
def test_dask_engine_refuses_a_colour_without_reddening_in_one_line(tmp_path):
    src = tmp_path / "obs.csv"
    OBS.to_csv(src, index=False)
    res = run_cli("estimate", str(src), "--engine", "dask", "--workers", "1", "-q", "-o", str(tmp_path / "o.parquet"))
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert res.stderr.strip().splitlines()[-1].startswith("gyroage: error: found BP-RP but no reddening")
    assert not (tmp_path / "o.parquet").exists()


# VizieR's asymmetric errors: e_X the lower, E_X the upper error of X.
VIZIER = pd.DataFrame({"cluster": "A", "Prot": OBS["prot"], "BP-RP": OBS["bp_rp"], "e_BP-RP": [0.004, 0.04, 0.02],
                       "E_BP-RP": [0.006, 0.06, 0.04]})


@pytest.mark.parametrize("command, extra", [("estimate", ()), ("group-age", ("--by", "cluster"))])
def test_vizier_upper_error_beside_a_colour_is_its_error_not_a_reddening(command, extra):
    # E_BP-RP beside e_BP-RP is BP-RP's upper error (VizieR): never subtracted; the colour's error is their mean
    res = run_cli(command, "-", *extra, "--ebprp", "0.03", input=VIZIER.to_csv(index=False))
    assert res.returncode == 0, res.stderr
    assert "colour from 'BP-RP' (error mean of 'e_BP-RP' and 'E_BP-RP') - --ebprp 0.03" in res.stderr
    assert "several columns" not in res.stderr
    mean = VIZIER.drop(columns=["e_BP-RP", "E_BP-RP"]).assign(bp_rp_err=(VIZIER["e_BP-RP"] + VIZIER["E_BP-RP"]) / 2)
    ref = run(command, mean, *extra, "--ebprp", "0.03")
    got = pd.read_csv(io.StringIO(res.stdout))
    cols = AGES if command == "estimate" else AGES[:-1]
    np.testing.assert_array_equal(got[cols].to_numpy(float), ref[cols].to_numpy(float))
    # without a reddening the observed colour is refused, as with e_BP-RP alone
    res = run_cli(command, "-", *extra, input=VIZIER.to_csv(index=False))
    assert res.returncode == 2 and "found BP-RP but no reddening" in res.stderr


def test_vizier_asymmetric_period_errors_are_averaged_whatever_their_order():
    # e_Prot (lower) and E_Prot (upper) beside each other: the period's error is their mean, either alone where the
    # other is blank, as a colour's; the first column won before, so MCMC ages hung on the column order
    vizier = pd.DataFrame({"Prot": [10.0, 4.0], "e_Prot": [0.2, 0.5], "E_Prot": [3.0, np.nan], "bp_rp0": [1.0, 1.3]})
    mean = vizier.drop(columns=["e_Prot", "E_Prot"]).assign(e_Prot=[1.6, 0.5])
    args = ("--method", "mcmc", "--seed", "3")
    res = run_cli("estimate", "-", *args, input=vizier.to_csv(index=False))
    assert res.returncode == 0, res.stderr
    assert "reading prot from 'Prot' (d; error mean of 'e_Prot' and 'E_Prot')" in res.stderr
    assert "several columns" not in res.stderr
    ref = run("estimate", mean, *args)[AGES].to_numpy(float)
    for frame in (vizier, vizier[["E_Prot", "bp_rp0", "Prot", "e_Prot"]]):
        np.testing.assert_array_equal(run("estimate", frame, *args)[AGES].to_numpy(float), ref)


@pytest.mark.parametrize("command, extra", [("estimate", ()), ("group-age", ("--by", "cluster"))])
def test_an_upper_colour_error_is_averaged_only_with_its_own_lower_error(command, extra):
    # sigma_bp_rp read first, then VizieR's e_BP-RP/E_BP-RP pair: the colour's error was the mean of sigma_bp_rp and
    # E_BP-RP (another error's upper half, 0.004 with 0.3), where the period's rule reads the first error as it is
    frame = VIZIER.assign(**{"e_BP-RP": [0.2, 0.25, 0.3], "E_BP-RP": [0.3, 0.35, 0.4]})
    frame.insert(3, "sigma_bp_rp", [0.004, 0.01, 0.02])
    res = run_cli(command, "-", *extra, "--ebprp", "0.03", input=frame.to_csv(index=False))
    assert res.returncode == 0, res.stderr
    assert "colour from 'BP-RP' (error 'sigma_bp_rp') - --ebprp 0.03" in res.stderr, res.stderr
    assert "several columns are bp_rp_err: using 'sigma_bp_rp', ignoring 'e_BP-RP', 'E_BP-RP'" in res.stderr
    ref = run(command, frame.drop(columns=["e_BP-RP", "E_BP-RP"]), *extra, "--ebprp", "0.03")
    cols = AGES if command == "estimate" else AGES[:-1]
    np.testing.assert_array_equal(pd.read_csv(io.StringIO(res.stdout))[cols].to_numpy(float), ref[cols].to_numpy(float))


def test_group_age_drops_no_member_for_text_in_an_upper_period_error():
    # the joint age never reads a period's error, nor VizieR's upper one beside e_Prot
    frame = OBS.assign(g="a", e_Prot=[0.1, 0.2, 0.3], E_Prot=["<0.01", "-99", "0.3"])
    got = run("group-age", frame, "--by", "g", "--ebprp", "0.03")
    assert got["n_used"].iloc[0] == 3 and got["status"].iloc[0] == "ok"


def test_an_upper_case_e_reddening_alone_is_said_to_be_taken_as_the_reddening():
    res = run_cli("estimate", "-", input=VIZIER.drop(columns=["e_BP-RP"]).to_csv(index=False))
    assert res.returncode == 0, res.stderr
    assert "colour from 'BP-RP' - 'E_BP-RP' (taken as the reddening E(BP-RP): no 'e_BP-RP' beside it)" in res.stderr


def test_an_unusable_lower_or_upper_error_refuses_the_row_as_a_single_bad_error_does():
    # each part is checked before the mean: a signed lower error (-0.2 beside 3.0) or a 99/-99 sentinel pair
    # averaged into a "valid" error, so whether the row was dated hung on the other part's size
    lower = [-0.2, -0.5, 0.2, 0.2, -99.0, np.nan, 0.2]
    upper = [3.0, 0.3, 3.0, -99.0, 99.0, 0.2, np.inf]
    frame = pd.DataFrame({"Prot": 10.0, "e_Prot": lower, "E_Prot": upper, "bp_rp0": 1.0})
    bad, ok = "invalid_period_err", "ok"
    assert list(run("estimate", frame)["status"]) == [bad, bad, ok, bad, bad, ok, bad]
    colours = pd.DataFrame({"Prot": 10.0, "bp_rp0": 1.0, "e_bp_rp0": [-0.02, 0.02, 0.02], "E_bp_rp0": [0.05, -1, 0.05]})
    assert list(run("estimate", colours)["status"]) == ["invalid_colour_err", "invalid_colour_err", ok]


@pytest.mark.parametrize("command, extra", [("estimate", ()), ("group-age", ("--by", "cluster"))])
def test_an_upper_error_before_a_plain_error_column_is_not_read_as_the_error(command, extra):
    # E_BP-RP, sigma_bp_rp, e_BP-RP: the unmatched upper error was merged back in input order, so the one-sided upper
    # half E_BP-RP became the colour's error and the table's symmetric sigma_bp_rp was ignored (review V30, 4); the
    # period's E_Prot, Prot_err, e_Prot likewise
    frame = VIZIER[["cluster", "Prot", "BP-RP"]].copy()
    frame.insert(2, "E_Prot", [3.0, 2.5, 4.0])
    frame.insert(3, "Prot_err", [0.1, 0.2, 0.3])
    frame.insert(4, "e_Prot", [2.0, 1.5, 3.5])
    frame.insert(6, "E_BP-RP", [0.3, 0.35, 0.4])
    frame.insert(7, "sigma_bp_rp", [0.004, 0.01, 0.02])
    frame.insert(8, "e_BP-RP", [0.2, 0.25, 0.3])
    res = run_cli(command, "-", *extra, "--ebprp", "0.03", input=frame.to_csv(index=False))
    assert res.returncode == 0, res.stderr
    assert "error 'sigma_bp_rp'" in res.stderr, res.stderr
    assert "several columns are bp_rp_err: using 'sigma_bp_rp', ignoring 'e_BP-RP', 'E_BP-RP'" in res.stderr
    if command == "estimate":
        assert "several columns are prot_err: using 'Prot_err', ignoring 'e_Prot', 'E_Prot'" in res.stderr
    ref = run(command, frame.drop(columns=["e_BP-RP", "E_BP-RP", "e_Prot", "E_Prot"]), *extra, "--ebprp", "0.03")
    cols = AGES if command == "estimate" else AGES[:-1]
    np.testing.assert_array_equal(pd.read_csv(io.StringIO(res.stdout))[cols].to_numpy(float), ref[cols].to_numpy(float))


def test_an_upper_error_without_its_lower_one_comes_after_a_plain_error_column():
    # E_Prot / E_BP-RP0 with no e_Prot / e_BP-RP0 beside them took the plain error role in input order, so the
    # one-sided upper error was read ahead of a later Prot_err / sigma_bp_rp0, against README (review V34, 3)
    frame = pd.DataFrame({"Prot": [1.0, 10.0, 20.0], "E_Prot": [0.3, 3.0, 6.0], "Prot_err": [0.1, 0.2, 0.4],
                          "BP-RP0": [2.6, 1.0, 1.5], "E_BP-RP0": [0.3, 0.3, 0.3], "sigma_bp_rp0": [0.02, 0.01, 0.03]})
    res = run_cli("estimate", "-", input=frame.to_csv(index=False))
    assert res.returncode == 0, res.stderr
    assert "several columns are prot_err: using 'Prot_err', ignoring 'E_Prot'" in res.stderr, res.stderr
    assert "error 'sigma_bp_rp0'" in res.stderr, res.stderr
    ref = run("estimate", frame.drop(columns=["E_Prot", "E_BP-RP0"]))
    np.testing.assert_array_equal(pd.read_csv(io.StringIO(res.stdout))[AGES].to_numpy(float), ref[AGES].to_numpy(float))
    # alone, an E_Prot is the period's error as any other
    alone = run_cli("estimate", "-", input=frame.drop(columns=["Prot_err"]).to_csv(index=False))
    assert "(d; error 'E_Prot')" in alone.stderr, alone.stderr
