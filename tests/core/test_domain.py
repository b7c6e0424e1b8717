"""Honest per-star answers: member ages with p_outlier beside them, and no extrapolation passed off as 'ok'."""

import numpy as np
import pytest

from gyroage import statuses
from gyroage.core.domain import SequenceDomain, flag_text
from gyroage.core.grid_cdf import trapezoid
from tests.conftest import needs_torch


@pytest.fixture(scope="module")
def domain(model):
    d = SequenceDomain.from_card(model.card)
    if d is None:
        pytest.skip("the shipped card has no domain.sequence")
    return d


def test_the_outlier_term_does_not_leak_into_a_solar_analogs_tail(model):
    post = model.posterior(25.4, 0.82, 0.01)
    p2_5 = post.quantile(0.025)[0]
    assert p2_5 >= 300.0  # with the 5% outlier mixture in the posterior it was ~20 Myr
    assert 0.0 < post.p_outlier[0] < 0.2


def test_a_period_far_off_the_sequence_is_a_likely_outlier(model):
    post = model.posterior([0.05, 12.0], [1.0, 1.0], 0.02)
    assert post.p_outlier[0] > 0.5 > post.p_outlier[1]
    assert statuses.LIKELY_OUTLIER in post.age_flags[0] and statuses.LIKELY_OUTLIER not in post.age_flags[1]


def test_a_fast_m_dwarf_dated_under_10_myr_is_flagged_but_stays_ok(model):
    # 1.8 d at 3.35: a pre-main-sequence period that Praesepe's M dwarfs (700 Myr) share; 0.4 d at 3.0 and a solar
    # analogue are dated older
    post = model.posterior([1.8, 0.4, 25.4], [3.35, 3.0, 0.82], 0.02)
    median = post.summaries()["age_p50_myr"]
    assert median[0] < 10.0 < median[1] < median[2]
    assert [statuses.PRE_MAIN_SEQUENCE_AGE in f for f in post.age_flags] == [True, False, False]
    assert list(post.status) == ["ok", "ok", "ok"]


def test_stars_outside_the_sequence_domain_are_extrapolated_not_ok(model, domain):
    # above the Kraft break; an 80-day K dwarf; a solar-coloured star whose period wants > 4 Gyr
    post = model.posterior([3.0, 80.0, 12.0, 40.0], [0.3, 1.0, 1.0, 0.9], 0.02)
    assert list(post.status) == ["extrapolated", "extrapolated", "ok", "extrapolated"]
    assert statuses.BLUE_OF_KRAFT_BREAK in post.age_flags[0]
    assert statuses.PERIOD_OUTSIDE_TRAINING in post.age_flags[1]
    assert statuses.AGE_OUTSIDE_TRAINING in post.age_flags[3]
    assert np.all(np.isfinite(post.summaries()["age_p50_myr"]))  # extrapolated ages are still given


def test_domain_bounds_come_from_the_card(domain, model):
    assert 0.3 < domain.kraft_break < 0.9
    lo, hi = domain.age_range(np.array([1.0, 3.5]))
    # M67 at FGK colours, padded by 0.1 dex (its own members are not outside for being at its age)
    assert hi[0] == pytest.approx(max(model.card.domain["log10_age_trained"]) + 0.1, abs=0.01)
    assert hi[1] < hi[0]  # no old cluster reaches mid-M dwarfs


def test_flag_text_joins_names_in_order():
    t = [True, False, True]
    f = [False, False, True]
    assert list(flag_text(t, f, f, t, f)) == [
        f"{statuses.BLUE_OF_KRAFT_BREAK};{statuses.LIKELY_OUTLIER}", "",
        ";".join([statuses.BLUE_OF_KRAFT_BREAK, statuses.PERIOD_OUTSIDE_TRAINING, statuses.AGE_OUTSIDE_TRAINING,
                  statuses.LIKELY_OUTLIER, statuses.PRE_MAIN_SEQUENCE_AGE])]


def test_the_level_scale_leaves_old_posteriors_whole(model):
    """Calibration's level scale narrows young posteriors only: an old star keeps density at the grid's ends."""
    from gyroage.core.calibration import Calibration
    from gyroage.core.posterior import quantiles

    cal = Calibration((7.0, 8.0), (0.0, 0.0), level_knots=(7.0, 7.5), level_scale=0.6)
    grid = np.linspace(6.0, 10.0, 201)
    pdf = np.exp(-0.5 * ((grid - 9.5) / 0.4) ** 2)[None, :]
    out = cal.apply(pdf / trapezoid(pdf, grid), grid)
    assert out[0, 0] > 0 and out[0, -1] > 0
    young = np.exp(-0.5 * ((grid - 6.8) / 0.4) ** 2)[None, :]
    narrowed = cal.apply(young / trapezoid(young, grid), grid)
    # the young one is narrowed: its tails thin (never cut to zero, no walls) and its 68% interval shrinks
    assert 0 < narrowed[0, -1] < young[0, -1] / trapezoid(young, grid) and narrowed[0, 40] > 0
    width = (lambda p: np.diff(quantiles(p, grid, [0.16, 0.84]), axis=1)[0, 0])  # noqa: E731
    assert width(narrowed) < 0.7 * width(young / trapezoid(young, grid))


@needs_torch
def test_the_cards_sequence_domain_is_its_training_stars_statistics(model):
    """The shipped card's domain.sequence is what training derives (card_sequence_domain: the catalogue's quality
    selection with the card's relabelled clusters; benchmarks/sequence_domain.py --write-card writes it)."""
    from gyroage.build.catalogue import default_catalogue_path, load_catalogue, quality_select, training_set
    from gyroage.build.training import card_sequence_domain
    from gyroage.core.modelcard import sha256

    path = default_catalogue_path()
    if not path.is_file() or sha256(path) != model.card.training["catalog"]["sha256"]:
        pytest.skip("the card's training catalogue is not here")
    data = training_set(quality_select(load_catalogue(path, notices=False)))
    assert card_sequence_domain(model.card.training, data) == model.card.domain["sequence"]



def test_finer_bins_flag_slow_f_stars(model, domain):
    """At 0.60-0.70 the clusters >= 100 Myr show no spin-down with age (slopes -0.41, 0.19 in 0.05-mag bins) and
    nothing at 0.60-0.65 spins slower than 12 d: the 0.2-mag bins' break (0.6) and period range (31 d, from the redder
    half) dated 20 d there 780 Myr, ok. The break is now 0.7; 8 d at 0.72 (a ~2 Gyr G dwarf) stays ok."""
    assert domain.kraft_break == pytest.approx(0.7)
    post = model.posterior([19.56, 21.9, 8.0], [0.6, 0.6, 0.72], 0.02)
    assert list(post.status) == ["extrapolated", "extrapolated", "ok"]
    for f in post.age_flags[:2]:
        assert statuses.BLUE_OF_KRAFT_BREAK in f and statuses.PERIOD_OUTSIDE_TRAINING in f


def test_periods_under_breakup_are_outside_the_training_range(model, domain):
    """Blue bins took their fastest period from sub-breakup "periods" (0.031 d at 0.2-0.4: pulsations, orbits,
    aliases), so 0.05 d at 0.2 was inside. A mean A-F dwarf breaks up at ~0.2 d (Keplerian, R and M from
    Mamajek's table); a 0.2-d M dwarf (breakup 0.03 d) stays inside."""
    from gyroage.build.sequence_domain import breakup_log10_prot

    assert 10 ** breakup_log10_prot(np.array([0.2, 0.82, 3.0])) == pytest.approx([0.196, 0.116, 0.025], abs=0.005)
    post = model.posterior([0.05, 0.2], [0.2, 3.0], 0.02)
    assert statuses.PERIOD_OUTSIDE_TRAINING in post.age_flags[0]
    assert statuses.PERIOD_OUTSIDE_TRAINING not in post.age_flags[1]
    assert domain.prot_lo[0] >= breakup_log10_prot(np.array([domain.edges[0], domain.edges[1]])).min() - 1e-3


def test_age_bounds_are_read_between_bin_centres_without_a_cliff():
    """A bound read per bin jumped at each edge (30 d at 2.59 ok, at 2.61 extrapolated: the limit fell 0.73 dex
    across 0.02 mag); read linearly between bin centres, it moves by the share of the step the colour covers."""
    d = SequenceDomain({"colour_edges": [2.4, 2.6, 2.8], "log10_age_min": [7.0, 6.0], "log10_age_max": [9.7, 8.9],
                        "log10_prot_min": [-1.0, -1.0], "log10_prot_max": [2.0, 2.0], "kraft_break_bp_rp0": 0.7})
    lo, hi = d.age_range(np.array([2.3, 2.5, 2.59, 2.61, 2.7, 2.9]))
    assert hi == pytest.approx([9.7, 9.7, 9.34, 9.26, 8.9, 8.9])
    assert lo == pytest.approx([7.0, 7.0, 6.55, 6.45, 6.0, 6.0])


def test_the_oldest_clusters_members_are_not_outside_for_being_at_its_age(model):
    """M67 (3.87 Gyr) bounded the ages exactly: 30.4 d at 1.216, an M67 member, was age_outside_training."""
    post = model.posterior([30.4], [1.216], 0.02)
    assert statuses.AGE_OUTSIDE_TRAINING not in post.age_flags[0] and post.status[0] == "ok"


def test_a_posterior_peaking_beyond_the_oldest_cluster_is_extrapolated(model):
    # review D, finding 4: slow G dwarfs at 0.65 whose MAP sits at the grid's 10 Gyr edge, 35-44% of the posterior
    # beyond M67's 3.9 Gyr: the median stayed inside, and the row was a plain ok. The Sun stays ok.
    post = model.posterior([12.9, 15.88, 25.4], [0.65, 0.65, 0.82], 0.01)
    assert (post.summaries()["age_map_myr"][:2] > 5000).all()
    assert [statuses.AGE_OUTSIDE_TRAINING in f for f in post.age_flags] == [True, True, False]
    assert list(post.status) == [statuses.EXTRAPOLATED, statuses.EXTRAPOLATED, statuses.OK]


def test_a_prior_bound_that_cuts_off_most_of_the_likelihood_is_said(model):
    # review D, finding 5: under --age-max-myr 3000 a 36.5 d K dwarf (5.9 Gyr, age_outside_training, without the
    # bound) came out 1.8 Gyr with its MAP at the bound, a plain ok. It now carries the caution group-age gives.
    from gyroage.core.priors import Prior

    prot, colour = [36.54, 8.0, 2.0], [1.0, 0.82, 1.5]
    bounded = model.posterior(prot, colour, 0.01, prior=Prior(log10_age_max=np.log10(3000e6)))
    said = [statuses.AGE_BEYOND_PRIOR_BOUND in f for f in bounded.age_flags]
    assert said == [True, False, False]
    free = model.posterior(prot, colour, 0.01)
    assert not any(statuses.AGE_BEYOND_PRIOR_BOUND in f for f in free.age_flags)
    # a caution: the status is what the flags of the domain make it
    assert bounded.status[1] == statuses.OK


def test_the_prior_bound_caution_in_the_cli(tmp_path):
    from tests.conftest import run_cli

    res = run_cli("estimate", "-", "-q", "--age-min-myr", "2000", input="prot_days,bp_rp0\n2.0,1.5\n25.4,0.82\n")
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert "age_beyond_prior_bound" in lines[1] and "age_beyond_prior_bound" not in lines[2]
