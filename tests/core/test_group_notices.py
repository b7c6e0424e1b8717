"""What group-age says of its groups that their ages do not show (review V61): groups the height term never reached
under --main-sequence, stars listed in several groups or twice in one, one reddening option for many groups, and a
per-star GSP-Phot reddening."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gyroage.core.groups import group_ages
from gyroage.core.main_sequence import MainSequenceTerm
from tests.conftest import run_cli


def _members(model, age_myr: float = 600.0, n: int = 12, seed: int = 4, lo: float = 1.3,
             hi: float = 2.2) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    colour = rng.uniform(lo, hi, n)
    prot = model.sample_periods(age_myr, colour, n=1, seed=seed + 100, bp_rp0_err=np.full(n, 0.02))[:, 0]
    return pd.DataFrame({"prot": prot, "bp_rp0": colour, "bp_rp0_err": 0.02})


def _on_sequence(model, frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with an abs_g0 0.1 mag below the card's main sequence (a height the term reads)."""
    term = MainSequenceTerm.from_card(model.density.card)
    return frame.assign(abs_g0=np.interp(frame["bp_rp0"], term.ms_colour, term.ms_mag) - 0.1)


def _term_groups(model) -> pd.DataFrame:
    """A with magnitudes the term reads; B with blank magnitudes; C with magnitudes, but colours bluer than the
    term's range (0.9-1.1, the term starts at 1.2); D with magnitudes 4 mag off the sequence."""
    a = _on_sequence(model, _members(model, seed=1)).assign(cluster="A")
    b = _members(model, seed=2).assign(cluster="B", abs_g0=np.nan)
    c = _on_sequence(model, _members(model, seed=3, lo=0.9, hi=1.1)).assign(cluster="C")
    d = _on_sequence(model, _members(model, seed=5)).assign(cluster="D")
    d["abs_g0"] += 6.0
    return pd.concat([a, b, c, d], ignore_index=True)


def test_main_sequence_says_which_groups_the_height_term_never_reached(tmp_path, model):
    """Review V61, finding 4: under --main-sequence a group none of whose members the height term reads (blank
    magnitudes, colours outside the term's, heights off it) was dated from rotation alone with nothing said, while
    the output's metadata says main_sequence: used."""
    src = tmp_path / "m.csv"
    _term_groups(model).to_csv(src, index=False)
    res = run_cli("group-age", str(src), "--by", "cluster", "--main-sequence", "--grid", "201")
    assert res.returncode == 0, res.stderr
    line = ("group-age: --main-sequence: 3 groups have no member whose magnitude the height term uses (B, C, D): "
            "dated from rotation alone")
    assert line in res.stderr.splitlines(), res.stderr
    with pytest.warns(UserWarning) as caught:
        group_ages(_term_groups(model), model.density, "cluster", model.default_prior, 201, main_sequence=True)
    assert [str(w.message) for w in caught if "height term" in str(w.message)] == [
        "gyroage: main_sequence=True: 3 groups have no member whose magnitude the height term uses (B, C, D): "
        "dated from rotation alone"]
    # every group reached: nothing said; without --main-sequence nothing either
    _term_groups(model).query("cluster == 'A'").to_csv(src, index=False)
    res = run_cli("group-age", str(src), "--by", "cluster", "--main-sequence", "--grid", "201")
    assert res.returncode == 0 and "height term" not in res.stderr, res.stderr
    _term_groups(model).to_csv(src, index=False)
    res = run_cli("group-age", str(src), "--by", "cluster", "--grid", "201")
    assert res.returncode == 0 and "height term" not in res.stderr, res.stderr


def test_the_list_of_groups_the_height_term_never_reached_is_capped(model):
    frame = pd.concat([_members(model, seed=1).assign(cluster="A", abs_g0=np.nan)] +
                      [_members(model, seed=s).assign(cluster=f"G{s}", abs_g0=np.nan) for s in range(2, 8)] +
                      [_on_sequence(model, _members(model, seed=9)).assign(cluster="Z")], ignore_index=True)
    with pytest.warns(UserWarning) as caught:
        group_ages(frame, model.density, "cluster", model.default_prior, 201, main_sequence=True)
    assert [str(w.message) for w in caught if "height term" in str(w.message)] == [
        "gyroage: main_sequence=True: 7 groups have no member whose magnitude the height term uses (A, G2, G3, ...): "
        "dated from rotation alone"]
