"""The ``above_main_sequence`` flag with the shipped card: a G dwarf's rotation age is marked when its magnitude
puts it on the subgiant branch, in the CLI, the API and the sampler alike."""

import io

import numpy as np
import pandas as pd
import pytest

from gyroage import statuses
from gyroage.core.api import AgeModel
from gyroage.core.main_sequence import AboveFlag, MainSequenceTerm
from gyroage.core.modelcard import load_card
from tests.conftest import run_cli

# a G dwarf at 12 d: about 1-2 Gyr by rotation, where a star of this colour is on the main sequence
COLOUR, PROT = 0.85, 12.0


def shipped() -> tuple[MainSequenceTerm, AboveFlag]:
    card, _ = load_card()
    return MainSequenceTerm.from_card(card), AboveFlag.from_card(card)


def rows() -> pd.DataFrame:
    """The same rotator on the main sequence, 2 mag above it (a subgiant), without a magnitude, and 2 mag above it
    with a poor parallax."""
    t, _ = shipped()
    ms = float(np.interp(COLOUR, t.ms_colour, t.ms_mag))
    return pd.DataFrame({"prot_days": PROT, "bp_rp0": COLOUR, "abs_g0": [ms, ms - 2.0, np.nan, ms - 2.0],
                         "abs_g0_err": [0.05, 0.05, np.nan, 0.8]})


def test_the_shipped_card_bounds_the_flag_above_the_binaries():
    t, flag = shipped()
    assert flag is not None
    assert t.binary_max < flag.height_mag < 1.5 and flag.colour_max == t.colour_range[0]


def test_the_cli_flags_a_subgiant_and_leaves_the_dwarf_ok():
    res = run_cli("estimate", "-", "-q", input=rows().to_csv(index=False))
    assert res.returncode == 0, res.stderr
    out = pd.read_csv(io.StringIO(res.stdout), keep_default_na=False)
    assert list(out["status"]) == ["ok", "extrapolated", "ok", "ok"]
    assert [statuses.ABOVE_MAIN_SEQUENCE in f for f in out["age_flags"]] == [False, True, False, False]
    # the flag marks the age; it does not move it
    assert out["age_p50_myr"].iloc[1] == pytest.approx(out["age_p50_myr"].iloc[2], rel=1e-9)
    off = run_cli("estimate", "-", "-q", "--no-main-sequence", input=rows().to_csv(index=False))
    assert list(pd.read_csv(io.StringIO(off.stdout), keep_default_na=False)["status"]) == ["ok"] * 4


def test_the_api_and_the_sampler_flag_the_same_star():
    r = rows()
    post = AgeModel.load().posterior(r["prot_days"], r["bp_rp0"], abs_g0=r["abs_g0"], abs_g0_err=r["abs_g0_err"])
    assert list(post.status) == ["ok", "extrapolated", "ok", "ok"]
    res = run_cli("estimate", "-", "-q", "--method", "mcmc", "--seed", "1", input=r.iloc[:2].to_csv(index=False))
    assert res.returncode == 0, res.stderr
    out = pd.read_csv(io.StringIO(res.stdout), keep_default_na=False)
    assert list(out["status"]) == ["ok", "extrapolated"]


def evolved_rows() -> pd.DataFrame:
    """Review D's evolved stars (findings 2 and 3): subgiants 3.0-3.4 mag above the main sequence at (BP-RP)0 1.25-1.6
    with 20 d periods (dated 2.2-2.5 Gyr), and giants 6-10 mag above it with 1-5 d periods (dated 10-22 Myr, under
    the old flag's 100 Myr); last, a main-sequence K dwarf at 1.6 that stays ok."""
    t, _ = shipped()
    ms = lambda c: float(np.interp(c, t.ms_colour, t.ms_mag))  # noqa: E731
    return pd.DataFrame({"prot_days": [20.0, 20.0, 20.0, 5.0, 5.0, 1.0, 20.0],
                         "bp_rp0": [1.6, 1.4, 1.25, 1.2, 2.5, 1.6, 1.6],
                         "abs_g0": [ms(1.6) - 3.0, ms(1.4) - 3.0, ms(1.25) - 3.4, 0.5, -1.0, -1.0, ms(1.6)]})


def test_subgiants_and_giants_are_flagged_at_every_colour_and_age():
    res = run_cli("estimate", "-", "-q", input=evolved_rows().to_csv(index=False))
    assert res.returncode == 0, res.stderr
    out = pd.read_csv(io.StringIO(res.stdout), keep_default_na=False)
    assert list(out["status"]) == ["extrapolated"] * 6 + ["ok"]
    assert [statuses.ABOVE_MAIN_SEQUENCE in f for f in out["age_flags"]] == [True] * 6 + [False]
    # the giants: dated young (the flag no longer needs a median age of 100 Myr)
    assert (out["age_p50_myr"].iloc[3:6] < 100).all()


def test_the_card_bounds_young_heights_above_the_term_range_and_below_the_red_giants():
    t, flag = shipped()
    assert len(flag.young_height_mag) == len(flag.young_colour_edges) - 1
    # young members reach 5.2 mag above the sequence (Sco-Cen, 3.7 Myr); a red clump giant at 1.2 lies 5.8 above
    assert min(flag.young_height_mag) > t.binary_max + 2.0 and flag.young_bound(t, [1.2])[0] < 5.75


def test_a_card_without_young_bounds_falls_back_to_the_term_range():
    t, flag = shipped()
    old = AboveFlag(flag.height_mag, flag.colour_max, flag.age_min_myr)
    ms = float(np.interp(2.0, t.ms_colour, t.ms_mag))
    assert list(old.flags(t, [2.0, 2.0], [ms - 3.6, ms - 3.4], None, [20.0, 20.0])) == [True, False]
