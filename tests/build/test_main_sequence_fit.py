"""Fitting the main-sequence height term to clusters recovers a planted contraction law."""

import numpy as np
import pandas as pd
import pytest

from gyroage.build.main_sequence import PARALLAX, above_flag, fit_law, fit_main_sequence_term


def test_fit_law_recovers_slope_and_zero_age():
    log_age = np.log10(np.array([5, 10, 20, 40, 80, 150, 300, 700]) * 1e6)
    height = 1.3 * np.maximum(8.1 - log_age, 0.0)
    s, tz = fit_law(log_age, height)
    assert s == pytest.approx(1.3, abs=0.02)
    assert tz == pytest.approx(8.1, abs=0.011)


def synthetic_catalogue(rng) -> pd.DataFrame:
    ages = {"A": 8.0, "B": 15.0, "C": 30.0, "D": 60.0, "E": 120.0, "F": 300.0, "G": 700.0}
    rows = []
    for name, age in ages.items():
        colour = rng.uniform(1.0, 3.6, 300)
        ms = 4.0 + 2.5 * colour  # a straight main sequence, M_G
        lift = 1.2 * np.maximum(np.log10(150e6) - np.log10(age * 1e6), 0.0)
        mg = ms - lift + rng.normal(0, 0.1, colour.size)
        plx = 10.0  # 100 pc: G_0 = M_G + 5
        rows.append(pd.DataFrame({"cluster": name, "BPRP_0": colour, "G_0": mg + 5.0, PARALLAX: plx,
                                  "fiducial_age_Myr": age}))
    return pd.concat(rows, ignore_index=True)


def test_fit_main_sequence_term_recovers_a_planted_law():
    t = fit_main_sequence_term(synthetic_catalogue(np.random.default_rng(1)))
    assert t.colour_range == (1.2, 3.7)
    assert np.allclose(t.slope, 1.2, atol=0.15)
    assert np.allclose(t.log10_t_zams, np.log10(150e6), atol=0.08)
    assert all(0.1 <= s < 0.15 for s in t.sigma)  # the planted 0.1 mag, floored at 0.1
    # the main sequence comes from the 100 Myr-1 Gyr clusters (E, F, G here)
    assert np.interp(2.0, t.ms_colour, t.ms_mag) == pytest.approx(9.0, abs=0.1)


def test_the_above_flag_bound_is_the_dwarfs_spread_not_the_subgiants():
    rng = np.random.default_rng(3)
    t = fit_main_sequence_term(synthetic_catalogue(np.random.default_rng(1)))
    colour = rng.uniform(0.5, 1.2, 4000)
    ms = np.interp(colour, t.ms_colour, t.ms_mag)
    dwarfs = pd.DataFrame({"cluster": "H", "BPRP_0": colour[:3000], "fiducial_age_Myr": 400.0,
                           "G_0": ms[:3000] - rng.normal(0.0, 0.3, 3000) + 5.0})
    # subgiants of an old cluster and pre-main-sequence stars of a young one lie far above: neither sets the bound
    others = pd.DataFrame({"cluster": ["I"] * 500 + ["J"] * 500, "BPRP_0": colour[3000:],
                           "fiducial_age_Myr": [2300.0] * 500 + [20.0] * 500, "G_0": ms[3000:] - 2.0 + 5.0})
    frame = pd.concat([dwarfs, others], ignore_index=True).assign(**{PARALLAX: 10.0})
    flag = above_flag(frame, t)
    assert flag.height_mag == pytest.approx(0.3 * 2.576, abs=0.08)  # the 99.5% point of N(0, 0.3)
    assert flag.colour_max == t.colour_range[0] and flag.age_min_myr == 100.0
    with pytest.raises(ValueError, match="too few"):
        above_flag(others.assign(**{PARALLAX: 10.0}), t)
