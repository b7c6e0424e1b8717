"""group-age's domain flags read like estimate's (review D, findings 6 and 7): one member does not widen a group's
trained age range, and a group of subgiants is above_main_sequence."""

import io
import re

import numpy as np
import pandas as pd

from gyroage import statuses
from gyroage.core.main_sequence import MainSequenceTerm
from gyroage.core.modelcard import load_card
from tests.conftest import run_cli


def old_m_dwarfs(extra: bool) -> pd.DataFrame:
    """20 M dwarfs at (BP-RP)0 2.65-3.3 with 18-26 d periods (older than any cluster that reaches these colours);
    ``extra``: one more member at 2.45, a colour M67 reaches."""
    colour = np.linspace(2.65, 3.3, 20)
    prot = np.linspace(18.0, 26.0, 20)
    if extra:
        colour, prot = np.r_[colour, 2.45], np.r_[prot, 22.0]
    return pd.DataFrame({"cluster": "oldM", "prot": prot, "bp_rp0": colour})


def group_age(frame: pd.DataFrame, *args: str) -> pd.DataFrame:
    res = run_cli("group-age", "-", "-q", "--by", "cluster", *args, input=frame.to_csv(index=False))
    assert res.returncode == 0, res.stderr
    return pd.read_csv(io.StringIO(res.stdout), keep_default_na=False)


def test_one_member_does_not_widen_the_groups_trained_ages():
    alone, plus1 = group_age(old_m_dwarfs(False)), group_age(old_m_dwarfs(True))
    assert statuses.AGE_OUTSIDE_TRAINING in alone["age_flags"][0]
    assert statuses.AGE_OUTSIDE_TRAINING in plus1["age_flags"][0]
    assert list(plus1["status"]) == [statuses.EXTRAPOLATED]


def subgiants() -> pd.DataFrame:
    """12 G and K stars at 0.9-1.1 with 12-14 d periods (about 1.5 Gyr), 1.9-2.4 mag above the main sequence."""
    term = MainSequenceTerm.from_card(load_card()[0])
    colour = np.linspace(0.9, 1.1, 12)
    ms = np.interp(colour, term.ms_colour, term.ms_mag)
    return pd.DataFrame({"cluster": "subgiants", "prot": np.linspace(12.0, 14.0, 12), "bp_rp0": colour,
                         "abs_g0": ms - np.linspace(1.9, 2.4, 12)})


def test_a_group_of_subgiants_is_above_the_main_sequence():
    frame = subgiants()
    out = group_age(frame, "--main-sequence")
    assert statuses.ABOVE_MAIN_SEQUENCE in out["age_flags"][0]
    assert list(out["status"]) == [statuses.EXTRAPOLATED]
    # on the main sequence, or a minority above it: not flagged
    term = MainSequenceTerm.from_card(load_card()[0])
    ms = np.interp(frame["bp_rp0"], term.ms_colour, term.ms_mag)
    dwarfs = frame.assign(abs_g0=np.where(np.arange(12) < 5, frame["abs_g0"], ms))
    out = group_age(dwarfs, "--main-sequence")
    assert statuses.ABOVE_MAIN_SEQUENCE not in out["age_flags"][0]
    # rotation alone says nothing of heights
    assert statuses.ABOVE_MAIN_SEQUENCE not in group_age(frame.drop(columns="abs_g0"))["age_flags"][0]


def test_every_flag_has_its_row_in_the_readmes_flag_table():
    """statuses.FLAGS and GROUP_FLAGS held a second text of each flag's meaning that nothing read (and that drifted
    from the README's): dropped; the README's flag table is the one text, and it names every flag once."""
    from gyroage import statuses
    from tests.conftest import ROOT

    rows = re.findall(r"^\| `([a-z_]+)` \|", (ROOT / "README.md").read_text(), flags=re.M)
    assert sorted(r for r in rows if r in statuses.GROUP_FLAG_ORDER) == sorted(statuses.GROUP_FLAG_ORDER)
    assert not hasattr(statuses, "FLAGS") and not hasattr(statuses, "GROUP_FLAGS")


def test_a_group_older_than_the_padded_fgk_bound_is_extrapolated(model):
    """Review V35, finding 1: the group rule padded the card's bounds (already M67 + 0.1 dex, 4.9 Gyr for FGK
    colours) by another 0.1 dex, so FGK groups drawn from the model at 5-6 Gyr came out ok, while most of their
    members carry age_outside_training; a group at M67's age stays ok."""
    import gyroage

    colour = np.linspace(0.75, 1.5, 60)
    frames = [pd.DataFrame({"cluster": f"old{age}", "bp_rp0": colour,
                            "prot": model.sample_periods(age_myr=age, bp_rp0=colour, n=1, seed=age)[:, 0]})
              for age in (3900, 5500, 6000)]
    out = gyroage.group_ages(pd.concat(frames), model.density, "cluster", model.default_prior)
    assert 5000 < out["age_p50_myr"][1] < 6500 and 5000 < out["age_p50_myr"][2] < 7000  # dated near the truth
    assert list(out["status"]) == [statuses.OK, statuses.EXTRAPOLATED, statuses.EXTRAPOLATED]
    assert [statuses.AGE_OUTSIDE_TRAINING in f for f in out["age_flags"]] == [False, True, True]


def test_a_small_group_dated_young_carries_few_members(model):
    """Review V35, finding 3: groups of 5-12 members dated 10-300 Myr come out young on average (0.06-0.14 dex;
    benchmarks/small_groups.py), with no caution: under 15 members and under 300 Myr they carry few_members
    (status unchanged); 15 members, or 8 dated 1.5 Gyr, do not."""
    import gyroage

    def members(age: float, n: int, seed: int) -> pd.DataFrame:
        colour = np.random.default_rng(seed).uniform(0.8, 2.4, n)
        prot = model.sample_periods(age_myr=age, bp_rp0=colour, n=1, seed=seed + 1000)[:, 0]
        return pd.DataFrame({"cluster": f"{age}_{n}", "bp_rp0": colour, "prot": prot})

    frame = pd.concat([members(120, 8, 1), members(120, 14, 2), members(120, 15, 3), members(1500, 8, 4)])
    out = gyroage.group_ages(frame, model.density, "cluster", model.default_prior)
    assert list(out["n_used"]) == [8, 14, 15, 8]
    assert (out["age_p50_myr"][:3] < 300).all() and out["age_p50_myr"][3] > 300
    assert [statuses.FEW_MEMBERS in f for f in out["age_flags"]] == [True, True, False, False]
    assert list(out["status"]) == [statuses.OK] * 4  # a caution
