"""The calibration's kernel and level scale (gyroage.core.calibration): shapes a reader can trust."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import ndtr, ndtri

from gyroage.core.calibration import KERNEL_DRAWS, Calibration, trapezoid_weights
from gyroage.core.chain_summary import summarise_chain
from gyroage.core.grid_cdf import QUANTILES, trapezoid
from gyroage.core.posterior import cdf, cdf_quantiles, quantiles

GRID = np.linspace(6.0, 10.0, 201)
SHIPPED_WIDTHS = Calibration((7.0, 8.0, 9.0, 9.6), (0.0, 0.44, 0.28, 0.28))


def summarise_samples(cal: Calibration, samples: np.ndarray, qs, rng: np.random.Generator,
                     colour: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Quantiles ``qs`` (of :data:`QUANTILES`) of the calibrated samples and the samples, as the sampler's
    ``summarise_chain`` gives them for one star's chain (flat prior; every sample kept)."""
    q, _, keep, *_ = summarise_chain(np.asarray(samples).reshape(-1, 1), 0, KERNEL_DRAWS * len(samples), rng, cal,
                               (GRID[0], GRID[-1]), colour)
    return q[[QUANTILES.index(v) for v in qs]], keep


def normalised(pdf: np.ndarray) -> np.ndarray:
    pdf = np.atleast_2d(pdf)
    return pdf / trapezoid(pdf, GRID, axis=1)[:, None]


def test_a_flat_posterior_stays_flat_where_the_width_changes():
    """A row-normalised kernel piled mass up where the width is small (a spike at 10 Myr): the kernel is balanced."""
    flat = normalised(np.ones(len(GRID)))
    out = SHIPPED_WIDTHS.apply(flat, GRID)
    np.testing.assert_allclose(out, flat, rtol=1e-9)


def test_the_kernel_keeps_every_ages_mass():
    k = SHIPPED_WIDTHS.kernel(GRID)
    w = trapezoid_weights(GRID)
    np.testing.assert_allclose(k @ w, 1.0, atol=1e-12)
    np.testing.assert_allclose(k, k.T)


def test_a_smooth_posterior_stays_smooth_through_the_zero_width_knot():
    """No kink or spike appears at 10 Myr (width 0) in a smooth posterior that straddles it."""
    pdf = normalised(np.exp(-0.5 * ((GRID - 7.1) / 0.5) ** 2))
    out = SHIPPED_WIDTHS.apply(pdf, GRID)[0]
    curvature = np.abs(np.diff(out, 2))
    assert curvature.max() < 5 * np.abs(np.diff(pdf[0], 2)).max()


def test_the_level_scale_narrows_on_normal_scores_without_walls():
    """Central intervals map as 2 Phi(s Phi^-1((1+q)/2)) - 1; the density never drops to zero inside the grid."""
    s = 0.5
    cal = Calibration((), (), level_knots=(7.0, 7.5), level_scale=s)
    pdf = normalised(np.exp(-0.5 * ((GRID - 6.8) / 0.5) ** 2))
    out = cal.apply(pdf, GRID)
    assert (out[0, 1:-1] > 0).all()
    for q in (0.68, 0.95):
        old_level = 2 * ndtr(s * ndtri((1 + q) / 2)) - 1
        want = quantiles(pdf, GRID, [(1 - old_level) / 2, (1 + old_level) / 2])
        got = quantiles(out, GRID, [(1 - q) / 2, (1 + q) / 2])
        np.testing.assert_allclose(got, want, atol=0.01)
    np.testing.assert_allclose(cdf_quantiles(cdf(out, GRID), GRID, [0.5]), cdf_quantiles(cdf(pdf, GRID), GRID, [0.5]),
                               atol=0.005)


def test_samples_meet_the_same_calibration_as_the_grid():
    """MCMC's calibrated samples (as the sampler summarises them) agree with apply() on the grid for the same posterior."""
    cal = Calibration((7.0, 8.0, 9.0, 9.6), (0.0, 0.44, 0.28, 0.28), level_knots=(7.0, 7.5), level_scale=0.5)
    rng = np.random.default_rng(1)
    for centre in (6.9, 8.3, 9.4):
        pdf = normalised(np.exp(-0.5 * ((GRID - centre) / 0.2) ** 2))
        samples = np.clip(rng.normal(centre, 0.2, 40_000), GRID[0], GRID[-1])
        got, _ = summarise_samples(cal, samples, [0.16, 0.5, 0.84], rng)
        want = quantiles(cal.apply(pdf, GRID), GRID, [0.16, 0.5, 0.84])[0]
        np.testing.assert_allclose(got, want, atol=0.03)


def test_the_samples_returned_are_those_the_quantiles_come_from_under_a_level_scale():
    """Under a flat prior the level scale moved the quantile levels alone: --posteriors, the MCMC plot and the MAP
    read samples whose quantiles (p97.5 ~970 Myr) were not the written ones (~68 Myr). The samples move now."""
    cal = Calibration((7.0, 8.0, 9.0, 9.6), (0.0, 0.44, 0.28, 0.28), level_knots=(7.0, 7.5), level_scale=0.45)
    qs = [0.025, 0.16, 0.5, 0.84, 0.975]
    samples = np.clip(np.random.default_rng(3).normal(6.6, 0.6, 20_000), GRID[0], GRID[-1])
    got, moved = summarise_samples(cal, samples, qs, np.random.default_rng(4))
    np.testing.assert_allclose(np.quantile(moved, qs), got, atol=0.01)
    assert np.ptp(got) < 0.8 * np.ptp(np.quantile(samples, qs))  # the level scale narrowed it


BY_COLOUR = Calibration((7.0, 8.0, 9.0, 9.6), ((0.0, 0.3, 0.4, 0.4), (0.0, 0.1, 0.05, 0.05), (0.0, 0.8, 0.6, 0.6)),
                        colour_knots=(0.7, 1.2, 2.0))


def test_colour_weights_are_hats_that_sum_to_one():
    from gyroage.core.calibration import colour_weights

    knots = (0.7, 1.2, 2.0)
    lam = colour_weights(np.array([0.0, 0.7, 0.95, 1.2, 1.6, 2.0, 3.5]), knots)
    want = [[1, 0, 0], [1, 0, 0], [0.5, 0.5, 0], [0, 1, 0], [0, 0.5, 0.5], [0, 0, 1], [0, 0, 1]]
    np.testing.assert_allclose(lam, want, atol=1e-12)


def test_a_star_at_a_colour_knot_meets_that_knots_widths_alone():
    """Between knots the posterior is the blend of the two knots' convolutions, by the hat weights."""
    pdf = normalised(np.exp(-0.5 * ((GRID - 9.3) / 0.15) ** 2))
    rows = BY_COLOUR.width_rows
    alone = [Calibration(BY_COLOUR.log10_age_knots, row).apply(pdf, GRID)[0] for row in rows]
    got = BY_COLOUR.apply(np.repeat(pdf, 3, axis=0), GRID, np.array([0.7, 1.2, 2.0]))
    np.testing.assert_allclose(got, np.array(alone), rtol=1e-9, atol=1e-12)
    between = BY_COLOUR.apply(pdf, GRID, np.array([0.95]))[0]
    np.testing.assert_allclose(between, 0.5 * (alone[0] + alone[1]), rtol=1e-9, atol=1e-12)
    # the G/K knot's narrow kernel leaves a narrower interval than the red knot's
    width = [np.diff(quantiles(a[None], GRID, [0.16, 0.84])[0])[0] for a in alone]
    assert width[1] < width[0] < width[2]


def test_widths_by_colour_keep_a_flat_posterior_flat_and_need_the_colour():
    flat = normalised(np.ones(len(GRID)))
    np.testing.assert_allclose(BY_COLOUR.apply(flat, GRID, np.array([1.0])), flat, rtol=1e-9)
    with pytest.raises(ValueError, match="colour"):
        BY_COLOUR.apply(flat, GRID)


def test_a_card_round_trips_with_and_without_colour_knots():
    """Cards written before widths by colour hold one flat list; both forms load and write back unchanged."""
    old = {"log10_age_knots": [7.0, 8.0], "sigma_dex": [0.0, 0.3], "level_knots": [7.0, 7.5], "level_scale": 0.5}
    assert Calibration.from_dict(old).to_dict() == old
    new = BY_COLOUR.to_dict()
    assert new["sigma_dex"][1] == [0.0, 0.1, 0.05, 0.05] and new["colour_knots"] == [0.7, 1.2, 2.0]
    assert Calibration.from_dict(new) == BY_COLOUR
    with pytest.raises(ValueError, match="row of widths per colour knot"):
        Calibration((7.0, 8.0), ((0.0, 0.3),), colour_knots=(0.7, 1.2))


def test_samples_meet_the_widths_of_their_colour():
    rng = np.random.default_rng(2)
    pdf = normalised(np.exp(-0.5 * ((GRID - 9.3) / 0.15) ** 2))
    samples = np.clip(rng.normal(9.3, 0.15, 40_000), GRID[0], GRID[-1])
    for colour in (0.7, 1.0, 2.0):
        got, _ = summarise_samples(BY_COLOUR, samples, [0.16, 0.5, 0.84], rng, colour)
        want = quantiles(BY_COLOUR.apply(pdf, GRID, np.array([colour])), GRID, [0.16, 0.5, 0.84])[0]
        np.testing.assert_allclose(got, want, atol=0.03)


def test_the_level_scale_from_parts_computed_once_is_apply_s():
    """calibration.fit bisects with the medians and normal scores taken once; that must be apply's map."""
    from gyroage.core.calibration import level_parts

    pdf = normalised(np.exp(-0.5 * ((GRID[None, :] - np.array([[6.6], [7.2], [8.5]])) / 0.4) ** 2))
    parts = level_parts(pdf, GRID)
    for s in (0.45, 0.7, 1.0):
        cal = Calibration(level_knots=(7.0, 7.5), level_scale=s)
        np.testing.assert_allclose(cal.scaled_levels(pdf, GRID, parts), cal.apply(pdf, GRID), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("card, words", [
    ({"log10_age_knots": [7.0, 8.0], "sigma_dex": [0.0, -0.1]}, "where.sigma_dex must hold one width >= 0 per age knot"),
    ({"log10_age_knots": [8.0, 7.0], "sigma_dex": [0.0, 0.1]}, "where.log10_age_knots must be one or more increasing"),
    ({"log10_age_knots": [7.0, 8.0], "sigma_dex": [0.0, float("nan")]}, "where.sigma_dex must be finite"),
    ({"log10_age_knots": [7.0, 8.0], "sigma_dex": [0.0, "wide"]}, "where.sigma_dex must be a list of numbers"),
    ({"log10_age_knots": [7.0], "sigma_dex": [0.1], "level_scale": 0.0}, "where.level_scale must be positive"),
    ({"log10_age_knots": [7.0], "sigma_dex": [0.1], "level_knots": [7.0]}, "where.level_knots must be two ages"),
    ({"log10_age_knots": [7.0], "sigma_dex": [0.1], "width": 1}, "where has unknown key 'width'"),
    ({"sigma_dex": [0.1]}, "where lacks log10_age_knots"),
])
def test_from_dict_is_the_one_validating_constructor_of_card_calibrations(card, words):
    """The card loader's checks (gyroage.core.modelcard) once re-spelled these; a calibration read from a dict is
    refused by them here, in one line naming the field as it sits in the card."""
    with pytest.raises(ValueError) as err:
        Calibration.from_dict(card, where="where")
    assert str(err.value) == words or str(err.value).startswith(words), str(err.value)


def test_the_constructor_refuses_what_the_card_would_but_keeps_a_fit_s_level_scale_alone():
    with pytest.raises(ValueError, match=r"calibration\.sigma_dex must hold one width >= 0"):
        Calibration((7.0, 8.0), (0.0, -0.1))
    with pytest.raises(ValueError, match=r"calibration\.level_scale must be positive"):
        Calibration(level_scale=-1.0)
    # calibration fits build level-scale-only calibrations (no age knots, no widths): valid, though no card holds one
    assert not Calibration(level_knots=(7.0, 7.5), level_scale=0.5).smears
    with pytest.raises(ValueError, match="log10_age_knots must be one or more increasing ages"):
        Calibration.from_dict({"log10_age_knots": [], "sigma_dex": []})


def test_the_level_map_of_samples_is_np_quantile_at_their_ranks():
    """The map took np.quantile at one level per sample (a partition per level: 20 s for 100 young stars); it is one
    interpolation on the sorted samples now, with the same values."""
    from gyroage.core.calibration import level_mapped
    from gyroage.core.normal import normal_cdf, normal_score

    x = np.random.default_rng(5).normal(6.8, 0.5, 3001)
    u = (np.argsort(np.argsort(x, kind="stable"), kind="stable") + 0.5) / x.size
    np.testing.assert_allclose(level_mapped(x, 0.45), np.quantile(x, normal_cdf(0.45 * normal_score(u))), atol=1e-12)


def test_kernel_draws_past_the_last_age_do_not_pile_up_on_it():
    """A sample moved past the grid's end was clipped onto it: an old star's p97.5 read exactly 10000 Myr (a point
    mass at the bound the grid posterior does not have). Draws past an end reflect back inside now."""
    rng = np.random.default_rng(2)
    samples = 10.0 - np.abs(rng.normal(0.0, 0.15, 20_000))
    got, moved = summarise_samples(SHIPPED_WIDTHS, samples, [0.5, 0.975], rng)
    assert np.mean(moved == GRID[-1]) < 1e-3 and got[1] < GRID[-1]
    assert moved.max() <= GRID[-1]
    pdf = normalised(np.exp(-0.5 * ((GRID - 10.0) / 0.15) ** 2))
    want = quantiles(SHIPPED_WIDTHS.apply(pdf, GRID), GRID, [0.5, 0.975])[0]
    np.testing.assert_allclose(got, want, atol=0.02)
