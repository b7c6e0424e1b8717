"""AgeModel.sample_periods and period_quantiles on many stars: evaluated in blocks, the same numbers."""

import numpy as np

from gyroage.core import api


def test_sample_periods_in_blocks_equal_the_whole(model, monkeypatch):
    """sample_periods evaluated every star at every one of n_points periods at once (~33 KB a star: a million stars
    were OOM-killed). It now goes in blocks of stars; the draws for a seed are those of the whole computation."""
    rng = np.random.default_rng(4)
    n = 700
    age = 10 ** rng.uniform(1.5, 3.8, n)
    colour = rng.uniform(0.5, 2.6, n)
    age[::50], colour[::77] = np.nan, 99.0  # invalid rows keep their NaN in their place
    calls: list[int] = []
    real = model.density.log_prob_flow

    def counted(x, *rest):
        out = real(x, *rest)
        calls.append(out.size)
        return out

    monkeypatch.setattr(api, "MIN_PERIOD_POINTS", 2)  # few points keep the test quick; the blocks are what it checks
    monkeypatch.setattr(api, "PERIOD_BLOCK_STARS", 10**9)
    whole = model.sample_periods(age, colour, n=3, seed=11, n_points=64)
    q_whole = model.period_quantiles(age, colour, n_points=64)
    monkeypatch.setattr(api, "PERIOD_BLOCK_STARS", 5)  # tiny: rounded up to whole onnxruntime batches
    monkeypatch.setattr(model.density, "log_prob_flow", counted)
    blocked = model.sample_periods(age, colour, n=3, seed=11, n_points=64)
    assert len(calls) > 1 and max(calls) < 0.5 * n * 64  # several blocks, none of all the stars
    assert np.array_equal(blocked, whole, equal_nan=True) and np.isnan(whole[::50]).all()
    assert np.array_equal(model.period_quantiles(age, colour, n_points=64), q_whole, equal_nan=True)
    # n_points that fill a batch only with several stars (96: 256 stars); an odd one (a block of whole batches)
    for points in (96, 101):
        monkeypatch.setattr(api, "PERIOD_BLOCK_STARS", 10**9)
        whole = model.sample_periods(age, colour, n=2, seed=1, n_points=points)
        monkeypatch.setattr(api, "PERIOD_BLOCK_STARS", 1)
        assert np.array_equal(model.sample_periods(age, colour, n=2, seed=1, n_points=points), whole, equal_nan=True)
