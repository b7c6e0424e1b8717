"""The main-sequence height term: where it speaks, that it is a density, and which way it points."""

import numpy as np
import pytest

from gyroage.core.grid_cdf import trapezoid
from gyroage.core.main_sequence import ROWS_PER_PASS, AboveFlag, MainSequenceTerm, absolute_g

GRID = np.linspace(6.0, 10.0, 201)


def term(**kw) -> MainSequenceTerm:
    base = dict(ms_colour=(1.0, 4.0), ms_mag=(6.0, 13.0), knot_colour=(1.5, 3.0), slope=(1.0, 1.5),
                log10_t_zams=(7.8, 8.2), sigma=(0.2, 0.3), colour_range=(1.2, 3.7))
    return MainSequenceTerm(**{**base, **kw})


def test_absolute_g_is_the_distance_modulus_and_nan_without_a_parallax():
    assert absolute_g([10.0], [10.0])[0] == pytest.approx(5.0)  # 100 pc
    assert absolute_g([10.0], [100.0])[0] == pytest.approx(10.0)  # 10 pc
    assert np.isnan(absolute_g([10.0, 10.0], [0.0, -1.0])).all()


def test_the_term_is_silent_outside_its_colours_heights_and_without_a_magnitude():
    t = term()
    colour = np.array([0.8, 3.9, 2.0, 2.0, 2.0])
    ms = np.interp(colour, t.ms_colour, t.ms_mag)
    abs_g = np.array([ms[0] - 1.0, ms[1] - 1.0, np.nan, ms[3] - 5.0, ms[4] + 2.0])  # blue, red, none, giant, far below
    assert not t.log_likelihood(colour, abs_g, GRID).any()


def test_it_is_a_density_over_the_height_at_every_age():
    t = term()
    d = np.linspace(-6.0, 8.0, 28001)
    colour = np.full(len(d), 2.4)
    abs_g = np.interp(colour, t.ms_colour, t.ms_mag) - d
    for x in (6.5, 7.5, 8.5, 9.5):
        like = np.exp(t.log_likelihood(colour, abs_g, np.array([x]))[:, 0])
        inside = (d >= t.height_range[0]) & (d <= t.height_range[1])
        # outside the height range the term is 1 by design (no information), so integrate inside it only
        total = trapezoid(like[inside], d[inside])
        assert total == pytest.approx(1.0, abs=0.02)


def test_a_star_above_the_sequence_is_young_and_one_on_it_is_not():
    t = term()
    colour = np.array([2.75, 2.75])
    ms = float(np.interp(2.75, t.ms_colour, t.ms_mag))
    ll = t.log_likelihood(colour, np.array([ms - 1.6, ms]), GRID)
    young, old = np.searchsorted(GRID, 7.0), np.searchsorted(GRID, 8.5)
    assert ll[0, young] > ll[0, old] + 3.0
    assert ll[1, old] > ll[1, young] + 3.0


def test_a_binary_on_the_sequence_is_not_pushed_to_the_pre_main_sequence():
    # an equal-mass binary sits 0.75 mag above the single-star sequence at any age past t_zams
    t = term()
    ms = float(np.interp(2.75, t.ms_colour, t.ms_mag))
    ll = t.log_likelihood(np.array([2.75]), np.array([ms - 0.7]), GRID)[0]
    old, pms = ll[np.searchsorted(GRID, 8.7):], ll[:np.searchsorted(GRID, 7.0)]
    assert old.min() > ll.max() - np.log(10.0)  # within a factor 10 of the best age: rotation decides
    assert old.min() > pms.max() + 2.0  # never read as a star of a few Myr


def test_the_card_round_trip_keeps_every_field():
    t = term()
    assert MainSequenceTerm.from_dict(t.to_dict()) == t


def test_a_magnitude_error_widens_the_height_in_quadrature():
    """A star 1.6 mag above the sequence, as measured exactly and with a 0.4 mag error: the same height, read less
    sharply. The error-free widths are cluster members', so a field star's parallax error must add to them."""
    t = term()
    ms = float(np.interp(2.75, t.ms_colour, t.ms_mag))
    colour, abs_g = np.array([2.75, 2.75]), np.array([ms - 1.6, ms - 1.6])
    sharp, wide = t.log_likelihood(colour, abs_g, GRID, np.array([0.0, 0.4]))
    np.testing.assert_array_equal(sharp, t.log_likelihood(colour[:1], abs_g[:1], GRID)[0])  # 0 is no error
    assert np.ptp(wide) < np.ptp(sharp) - 1.0
    # equal to the error-free term of a wider sequence: sigma at 2.75 is 0.275, so 0.4 makes hypot(0.275, 0.4)
    s_at = float(np.interp(2.75, t.knot_colour, t.sigma))
    wider = term(sigma=(np.hypot(s_at, 0.4),) * 2)
    np.testing.assert_allclose(wide, wider.log_likelihood(colour[:1], abs_g[:1], GRID)[0], rtol=1e-12)


def test_an_unknown_error_counts_as_none_and_a_large_one_silences_the_term():
    t = term()
    ms = float(np.interp(2.0, t.ms_colour, t.ms_mag))
    colour, abs_g = np.full(3, 2.0), np.full(3, ms - 1.0)
    ll = t.log_likelihood(colour, abs_g, GRID, np.array([np.nan, 0.49, 0.51]))
    np.testing.assert_array_equal(ll[0], t.log_likelihood(colour[:1], abs_g[:1], GRID)[0])
    assert ll[1].any() and not ll[2].any()
    assert t.informs(colour, abs_g, np.array([np.nan, 0.49, 0.51])).tolist() == [True, True, False]


def test_the_sampler_density_and_the_grid_agree_with_an_error():
    t = term()
    ms = float(np.interp(2.2, t.ms_colour, t.ms_mag))
    colour, abs_g, err = np.array([2.2, 2.2]), np.array([ms - 0.8, ms - 0.1]), np.array([0.3, np.nan])
    on_grid = t.log_likelihood(colour, abs_g, GRID, err)
    at = t.log_density(colour[:, None], abs_g[:, None], GRID[None, :], err[:, None])
    np.testing.assert_allclose(at, on_grid, rtol=1e-12, atol=1e-12)


def test_a_star_gets_the_same_term_in_a_crowd_as_alone():
    # the grid is evaluated in passes of ROWS_PER_PASS stars: a star's values must not depend on its pass
    t = term()
    rng = np.random.default_rng(3)
    n = 2 * ROWS_PER_PASS + 37
    colour = rng.uniform(1.0, 4.0, n)
    abs_g = np.interp(colour, t.ms_colour, t.ms_mag) - rng.uniform(-0.5, 2.0, n)
    err = np.where(rng.random(n) < 0.2, np.nan, rng.uniform(0.0, 0.6, n))
    crowd = t.log_likelihood(colour, abs_g, GRID, err)
    alone = np.concatenate([t.log_likelihood(colour[i:i + 1], abs_g[i:i + 1], GRID, err[i:i + 1]) for i in range(n)])
    assert (crowd != 0).any(axis=1).sum() > ROWS_PER_PASS + 1  # the informed stars span more than one pass
    np.testing.assert_array_equal(crowd, alone)


def test_a_parallax_error_becomes_a_magnitude_error():
    from gyroage.core.main_sequence import absolute_g_error

    # 10% in parallax is 0.217 mag: 5 / ln 10 x 0.1
    np.testing.assert_allclose(absolute_g_error([10.0, 2.0], [1.0, 0.1]), [0.21715, 0.10857], rtol=1e-4)
    assert np.isnan(absolute_g_error([0.0, -1.0, 5.0], [0.1, 0.1, -0.1])).all()


def test_the_above_flag_marks_stars_far_above_the_sequence_once_they_should_be_on_it():
    t = term()  # main sequence M_G = 6 at (BP-RP)0 1.0, 8.33 at 2.0
    flag = AboveFlag(height_mag=1.0, colour_max=1.2, age_min_myr=100.0)
    colour = np.array([1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 2.0, 2.0, 2.0, 2.0])
    height = np.array([1.5, 0.9, 1.5, 1.5, 1.5, np.nan, 2.0, 4.0, 0.9, 2.0])
    err = np.array([0.0, 0.0, 0.0, 0.6, np.nan, 0.0, 0.0, 0.0, 0.0, 0.0])
    median = np.array([500.0, 500.0, 50.0, 500.0, 500.0, 500.0, 500.0, 500.0, 500.0, 5.0])
    abs_g = np.interp(colour, t.ms_colour, t.ms_mag) - height
    got = flag.flags(t, colour, abs_g, err, median)
    # a subgiant; on the sequence; dated pre-main-sequence; a poor magnitude; an unknown error (none); no magnitude;
    # a red subgiant (review D, finding 2: every colour); a red giant above the term's heights (no young bounds: the
    # term's range, whatever the age); a red dwarf with a binary's height; a red star dated pre-main-sequence
    assert list(got) == [True, False, False, False, True, False, True, True, False, False]


def test_the_above_flag_round_trips_through_a_card():
    class Card:
        main_sequence = {"above_flag": {"height_mag": 1.02, "colour_max": 1.2, "age_min_myr": 100.0, "note": "x"}}

    assert AboveFlag.from_card(Card()) == AboveFlag(1.02, 1.2, 100.0)
    young = {"young_colour_edges": [0.5, 1.0, 2.0], "young_height_mag": [3.0, 4.0]}
    Card.main_sequence = {"above_flag": {**Card.main_sequence["above_flag"], **young}}
    flag = AboveFlag.from_card(Card())
    assert flag == AboveFlag(1.02, 1.2, 100.0, (0.5, 1.0, 2.0), (3.0, 4.0))
    assert {k: v for k, v in flag.to_dict().items() if k.startswith("young")} == young
    Card.main_sequence = {}
    assert AboveFlag.from_card(Card()) is None
