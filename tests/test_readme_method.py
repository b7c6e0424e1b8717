"""README's method description ("The model") says what gyroage computes, with the card's and the code's numbers.

Review V62 rederived `gyroage estimate`'s ages from the README and models/ alone and found seven places where the
description was wrong or not enough; each test here holds one of them to the code and the card.
"""

from __future__ import annotations

import dataclasses
import re

import numpy as np

from tests.conftest import ROOT


def model_section() -> str:
    """README's "The model" section up to "Embedding", its line breaks and indents taken as single spaces."""
    text = (ROOT / "README.md").read_text()
    start = text.index("\n## The model\n")
    return " ".join(text[start:text.index("\n### Embedding", start)].split())


def quantile(pdf: np.ndarray, grid: np.ndarray, q: float) -> float:
    """A pdf row's ``q`` quantile on the grid (log10 yr), by gyroage's own CDF and quantile rule."""
    from gyroage.core.grid_cdf import cdf, cdf_quantiles

    return float(cdf_quantiles(cdf(pdf, grid), grid, [q]).ravel()[0])


def median(pdf: np.ndarray, grid: np.ndarray) -> float:
    return quantile(pdf, grid, 0.5)


def test_under_a_prior_that_is_not_flat_the_likelihood_is_narrowed_before_the_prior(model):
    """Review V62 1: README said posteriors whose median is under 10 Myr are narrowed by the level scale; under a prior
    that is not flat the whole calibration acts on the likelihood, whose median decides the narrowing, and the prior
    multiplies after: 2 d at 3.6 mag under uniform_age has a 2.6 Gyr posterior median, narrowed all the same."""
    from gyroage.core.calibration import Calibration
    from gyroage.core.posterior import normalise
    from gyroage.core.priors import Prior

    prior, colour = Prior(kind="uniform_age"), np.array([3.6])
    post = model.posterior(2.0, 3.6, prior=prior, refine_tol=None)
    grid = post.grid
    ll = model.log_likelihood(2.0, 3.6, age_myr=10 ** (grid - 6), outlier_weight=0).astype(np.float64)[None, :]
    log_prior = prior.log_prob(grid[None, :])
    cal = Calibration.from_card(model.card)
    like = cal.apply(normalise(ll, grid), grid, colour)
    wide = dataclasses.replace(cal, level_scale=1.0).apply(normalise(ll, grid), grid, colour)  # not narrowed
    assert np.abs(post.pdf - normalise(np.log(like) + log_prior, grid)).max() < 1e-9 * post.pdf.max()
    m_like, m_post = median(wide, grid), median(post.pdf, grid)
    m_wide = median(normalise(np.log(wide) + log_prior, grid), grid)
    assert m_like < cal.level_knots[0] and m_post > cal.level_knots[1] + 1 and m_wide - m_post > 0.2
    text = model_section()
    assert (f"`level_scale` {cal.level_scale:g}" in text
            and f"`level_knots` {cal.level_knots[0]} and {cal.level_knots[1]}" in text)
    assert ("Under a prior that is not flat (below) this whole calibration, the narrowing included, acts on the "
            "normalised likelihood (with magnitudes, times the height term), whose median after the kernel decides "
            "the narrowing, before the prior multiplies it") in text
    assert (f"likelihood median {10 ** (m_like - 6):.0f} Myr, posterior median {10 ** (m_post - 9):.1f} Gyr, "
            f"{m_wide - m_post:.2f} dex younger than unnarrowed") in text
    assert "was fitted under the default prior only" in text


def test_between_colour_knots_the_posterior_is_a_blend_of_two_knots_convolutions(model):
    """Review V62 2: README said the widths are "linear in between" the colour knots; a star between two knots takes
    each knot's kernel and the two convolutions are mixed linearly in colour, which is not one kernel of interpolated
    widths (the Sun's p2.5 356 Myr, against 386 Myr from that reading)."""
    from gyroage.core.calibration import Calibration
    from gyroage.core.posterior import normalise

    cal = Calibration.from_card(model.card)
    knots, rows = cal.colour_knots, np.asarray(cal.sigma_dex)
    prot, colour = 25.4, 0.82  # the Sun, between the knots 0.7 and 1.2
    post = model.posterior(prot, colour, refine_tol=None)
    grid = post.grid
    like = normalise(model.log_likelihood(prot, colour, age_myr=10 ** (grid - 6), outlier_weight=0)
                     .astype(np.float64)[None, :], grid)

    def one_kernel(widths) -> np.ndarray:
        return dataclasses.replace(cal, colour_knots=(), sigma_dex=tuple(widths)).apply(like, grid)

    k = int(np.searchsorted(knots, colour))
    lam = (colour - knots[k - 1]) / (knots[k] - knots[k - 1])
    blend = normalise(np.log((1 - lam) * one_kernel(rows[k - 1]) + lam * one_kernel(rows[k])), grid)
    assert np.abs(post.pdf - blend).max() < 1e-9 * post.pdf.max()
    interpolated = one_kernel((1 - lam) * rows[k - 1] + lam * rows[k])
    ours, theirs = (10 ** (quantile(p, grid, 0.025) - 6) for p in (post.pdf, interpolated))
    assert theirs / ours > 1.05
    text = model_section()
    assert (f"Between two colour knots a star's posterior is convolved with each of the two knots' kernels and the "
            f"two results are mixed linearly in (BP-RP)0 (one knot's kernel alone bluer than {knots[0]:g} or redder "
            f"than {knots[-1]:g}), not convolved with one kernel of interpolated widths") in text
    assert f"(the Sun at {colour} mag: p2.5 {ours:.0f} Myr, not {theirs:.0f})" in text
    # the widths the sentence before quotes: at 100 Myr / from 1 Gyr on, per colour knot, at the card's age knots
    assert cal.log10_age_knots == (7.0, 8.0, 9.0, 9.6) and "`log10_age_knots` 7, 8, 9 and 9.6" in text
    for knot, row in zip(knots, rows):
        assert row[0] == 0 and row[2] == row[3] and f"{row[1]:g} / {row[2]:g}" in text and f"{knot:g}" in text


def test_the_balanced_kernel_built_as_the_readme_defines_it_is_gyroages(model):
    """Review V62 3: README called the kernel "balanced" without saying what that is; two natural readings (source
    or target width, rows or columns normalised) move medians by up to 0.14 dex. Built from the README's two
    sentences (rms width, the floor, symmetric Sinkhorn with trapezoid weights), it gives gyroage's posterior."""
    from gyroage.core.calibration import MIN_WIDTH, Calibration
    from gyroage.core.posterior import normalise

    cal = Calibration.from_card(model.card)
    text = model_section()
    floor = re.search(r"each width floored at ([0-9.e-]+) dex", text)
    assert floor and float(floor.group(1)) == MIN_WIDTH
    assert ("between ages i and j its Gaussian takes the rms of their widths, sqrt((s_i^2 + s_j^2) / 2)" in text
            and "symmetric Sinkhorn scaling with trapezoid weights makes every row and column integrate to 1" in text
            and "The posterior, times the trapezoid weights, is multiplied by that matrix" in text)
    prot, colour = 12.0, cal.colour_knots[1]  # a K dwarf on a colour knot: that knot's kernel alone
    post = model.posterior(prot, colour, refine_tol=None)
    grid = post.grid
    like = normalise(model.log_likelihood(prot, colour, age_myr=10 ** (grid - 6), outlier_weight=0)
                     .astype(np.float64)[None, :], grid)
    s = np.maximum(np.interp(grid, cal.log10_age_knots, cal.sigma_dex[1]), float(floor.group(1)))
    var = (s[:, None] ** 2 + s[None, :] ** 2) / 2
    kernel = np.exp(-((grid[:, None] - grid[None, :]) ** 2) / (2 * var)) / np.sqrt(var)
    t = np.full(grid.size, grid[1] - grid[0])
    t[[0, -1]] /= 2  # trapezoid weights
    d = np.ones(grid.size)
    for _ in range(5000):
        d = np.sqrt(d / (kernel @ (d * t)))
    balanced = d[:, None] * kernel * d[None, :]
    assert np.abs(balanced @ t - 1).max() < 1e-10
    mine = normalise(np.log((like * t) @ balanced), grid)
    assert median(post.pdf, grid) > cal.level_knots[1]  # no level scale: the kernel alone
    assert np.abs(mine - post.pdf).max() < 1e-8 * post.pdf.max()


def test_the_main_sequence_term_is_the_mixture_the_readme_writes_out(model):
    """Review V62 4: README said only that "the height falls as s (log10 t_z - log10 t) until t_z, per 0.25-mag colour
    bin, with room for unresolved binaries and a flat floor"; read per bin, 1.5 d at 2.0 mag and abs_g0 9.3 came out
    0.11 dex old. The mixture it now writes out, with the numbers read from the README, is the card's term."""
    from math import erf

    from gyroage.core.main_sequence import MAX_ABS_G_ERR, MainSequenceTerm

    term = MainSequenceTerm.from_card(model.card)
    text = " ".join((ROOT / "README.md").read_text().split())
    mix = re.search(r"p\(h \| c, t\) = ([0-9.]+) N\(h; h0, s\) \+ ([0-9.]+) x \(the mean of N\(h; h0 \+ u, s\) over u "
                    r"uniform in 0-([0-9.]+) mag: unresolved binaries\) \+ ([0-9.]+) / ([0-9.]+) per mag \(a flat "
                    r"floor over heights (-?[0-9.]+) to ([0-9.]+) mag\), with h0 = slope x max\(0, log10 t_z - log10 t\) "
                    r"and s\^2 = sigma\^2 \+ `abs_g0_err`\^2; slope, t_z and sigma are read linearly between the "
                    r"bins' centres \(`knot_colour`, ([0-9.]+)-([0-9.]+) mag\), held beyond", text)
    assert mix, "README's main-sequence mixture"
    w_s, w_b, box, w_o, span, lo, hi, first, last = map(float, mix.groups())
    assert (w_s, w_b, w_o) == term.weights and box == term.binary_max
    assert (lo, hi) == term.height_range and span == hi - lo and (first, last) == (term.knot_colour[0], term.knot_colour[-1])
    where = re.search(r"The term informs a star at \(BP-RP\)0 ([0-9.]+)-([0-9.]+) \(`colour_range`, both ends in\) "
                      r"whose h is within (-?[0-9.]+) to ([0-9.]+) mag and whose magnitude error is at most ([0-9.]+) "
                      r"mag; for any other it is 1", text)
    assert where, "README's range of the term"
    c_lo, c_hi, h_lo, h_hi, err_max = map(float, where.groups())
    assert (c_lo, c_hi) == term.colour_range and (h_lo, h_hi) == term.height_range and err_max == MAX_ABS_G_ERR

    # the formula as written, against the term, between and on bin centres, with and without a magnitude error
    phi = np.vectorize(lambda z: 0.5 * (1 + erf(z / np.sqrt(2))))
    x = np.linspace(6.0, 10.0, 41)
    for colour in (c_lo, 1.45, 2.0, 3.4, c_hi):
        for height in (h_lo + 1e-9, -0.4, 0.3, 1.2, 2.9, h_hi - 1e-9):  # the ends in (h is M_MS - abs_g0 again)
            for err in (np.nan, 0.2):
                abs_g = np.interp(colour, term.ms_colour, term.ms_mag) - height
                slope, tz, sigma = (np.interp(colour, term.knot_colour, v)
                                    for v in (term.slope, term.log10_t_zams, term.sigma))
                s = np.sqrt(sigma**2 + (0.0 if np.isnan(err) else err) ** 2)
                h0 = slope * np.maximum(0.0, tz - x)
                p = (w_s * np.exp(-0.5 * ((height - h0) / s) ** 2) / (s * np.sqrt(2 * np.pi))
                     + w_b * (phi((height - h0) / s) - phi((height - h0 - box) / s)) / box + w_o / span)
                got = term.log_likelihood([colour], [abs_g], x, [err])[0]
                assert np.abs(got - np.log(p)).max() < 1e-7, (colour, height, err)  # its own normal CDF
    outside = [(c_hi + 0.01, 1.0, np.nan), (c_lo - 0.01, 1.0, np.nan), (2.0, h_hi + 0.01, np.nan),
               (2.0, h_lo - 0.01, np.nan), (2.0, 1.0, err_max + 0.01)]
    for colour, height, err in outside:
        abs_g = np.interp(colour, term.ms_colour, term.ms_mag) - height
        assert not term.log_likelihood([colour], [abs_g], x, [err]).any(), (colour, height, err)


def test_with_magnitudes_the_member_evidence_weights_the_rotation_likelihood_by_the_height_term(model):
    """Review V62 5: with magnitudes p_outlier changes (1.5 d at 2.0 mag: 0.0575 with abs_g0 9.3, 0.0537 from rotation
    alone) and README did not say how: the member evidence is the rotation likelihood averaged over the prior times
    the height term, normalised; the outlier competes on the period alone."""
    from gyroage.core.main_sequence import MainSequenceTerm
    from gyroage.core.posterior import normalise_with_log_norm

    prot, colour, abs_g = 1.5, 2.0, 9.3
    with_mag = model.posterior(prot, colour, abs_g0=abs_g, refine_tol=None)
    alone = model.posterior(prot, colour, refine_tol=None)
    grid = with_mag.grid
    ll = model.log_likelihood(prot, colour, age_myr=10 ** (grid - 6), outlier_weight=0).astype(np.float64)[None, :]
    height = MainSequenceTerm.from_card(model.card).log_likelihood([colour], [abs_g], grid)
    assert height.any()  # the term informs this star
    log_z = normalise_with_log_norm(ll + height, grid)[1] - normalise_with_log_norm(height, grid)[1]  # flat prior
    w, u = model.card.outlier["weight"], 1 / np.diff(model.card.outlier["log10_prot_range"])[0]
    p_out = w * u / (w * u + (1 - w) * np.exp(log_z[0]))
    assert abs(p_out - with_mag.p_outlier[0]) < 1e-6 and abs(with_mag.p_outlier[0] - alone.p_outlier[0]) > 0.002
    text = model_section()
    assert ("posterior weight is the star's `p_outlier`, w u / (w u + (1 - w) Z) with u the outlier density and Z "
            "the member evidence: the (uncalibrated) rotation likelihood averaged over the prior, normalised on the "
            "grid, and with magnitudes over the prior times the height term, normalised") in text
    assert (f"({prot} d at {colour} mag: `p_outlier` {with_mag.p_outlier[0]:.4f} with `abs_g0` {abs_g}, "
            f"{alone.p_outlier[0]:.4f} with `--no-main-sequence`)") in text


def test_the_outlier_density_is_a_constant_per_dex_at_every_period_of_the_domain(model):
    """Review V62 6: README said "a uniform density in log10 Prot over 0.03-316 d"; it is the constant 1 / (b - a)
    = 1/4 per dex at every period the domain takes, also at 0.0286 d, below the card's 10^-1.5 d (a density 0 there
    would give p_outlier 0; gyroage gives 0.99)."""
    card = model.card
    lo, hi = card.outlier["log10_prot_range"]
    w = card.outlier["weight"]
    shortest = 10 ** card.domain["log10_prot"][0]
    prot = np.array([round(shortest + 5e-5, 4), 1.0, 100.0])
    ages = np.full(3, 100.0)
    flow = model.log_likelihood(prot, 2.5, age_myr=ages, outlier_weight=0, check_domain=False)
    mixed = model.log_likelihood(prot, 2.5, age_myr=ages, outlier_weight=w, check_domain=False)
    assert np.abs(mixed - np.log((1 - w) * np.exp(flow) + w / (hi - lo))).max() < 1e-5
    p_out = model.posterior(prot[0], 2.5).p_outlier[0]
    assert prot[0] < 10**lo and p_out > 0.9
    text = model_section()
    per_dex = re.search(r"Outlier term\*\*: a constant density of 1/([0-9.]+) per dex in log10 Prot \(uniform over the "
                        r"card's `log10_prot_range`, 10\^(-?[0-9.]+)-10\^([0-9.]+) d, ([0-9.]+)-([0-9.]+) d, but taken "
                        r"at every period of the domain, ([0-9.]+) d too", text)
    assert per_dex, "README's outlier density"
    n, a, b, a_days, b_days, low = map(float, per_dex.groups())
    assert n == hi - lo and (a, b) == (lo, hi) and (a_days, b_days) == (round(10**lo, 3), round(10**hi))
    assert low == prot[0] and f"`p_outlier` {p_out:.2f} there at 2.5 mag), weight {w} (`outlier` in the card)" in text


def test_the_density_graphs_types_shapes_and_log_are_the_readmes():
    """Review V62 7: README gave the density graph's inputs and output without types, beside a posterior-graph table
    of float64 inputs (a float64 feed is refused: "expected: (tensor(float))"), and did not say log_prob's log is
    natural. It is float32 [batch] in and out, and exp(log_prob) integrates to 1 over log10 Prot."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(ROOT / "models" / "gyroage-density.onnx"), providers=["CPUExecutionProvider"])
    names = {"float": "float32", "double": "float64"}
    kinds = {(a.type.removeprefix("tensor(").rstrip(")"), tuple(a.shape))
             for a in [*session.get_inputs(), *session.get_outputs()]}
    assert len(kinds) == 1
    kind, shape = kinds.pop()
    text = model_section()
    assert (f"(inputs `log10_prot` (log10 d), `log10_age` (log10 yr), `bp_rp0`, `bp_rp0_err` (mag), {names[kind]} "
            f"[{', '.join(shape)}] each; output `log_prob`, {names[kind]} [{', '.join(shape)}], the natural log of "
            "the flow's density per dex of log10 Prot, no outlier term") in text
    x = np.linspace(-3.0, 3.5, 4001)
    for log10_age, colour in ((7.0, 0.82), (8.5, 1.3), (9.5, 2.5)):
        feed = {"log10_prot": x.astype(np.float32)} | {k: np.full(x.size, v, dtype=np.float32) for k, v in
                                                         (("log10_age", log10_age), ("bp_rp0", colour),
                                                          ("bp_rp0_err", 0.0275))}
        log_prob = session.run(None, feed)[0]
        assert abs(np.trapezoid(np.exp(log_prob.astype(np.float64)), x) - 1) < 1e-4
