"""Fitting the main-sequence height term to clusters recovers a planted contraction law."""

import numpy as np
import pandas as pd
import pytest

from gyroage.build.main_sequence import PARALLAX, fit_law, fit_main_sequence_term


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
