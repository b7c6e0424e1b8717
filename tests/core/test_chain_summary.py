"""The MCMC MAP (gyroage.core.chain_summary.sample_mode) against sampler artefacts: a walker that never moved."""

from __future__ import annotations

import numpy as np
import pytest

from gyroage.core.chain_summary import summarise_chain


@pytest.mark.parametrize("walkers", [16, 6])
def test_a_stuck_walker_does_not_take_the_map(walkers):
    """A walker stuck at one age (exactly 7.0, where the card's calibration width is 0, so calibration does not
    spread it) made a pile of identical samples, whose own kernel width was near zero: it won the MAP (7.000 where
    the median is 8.445). A peak's width is now floored at a quarter of the pilot's and a peak needs more samples
    than one walker could give (at least 10%, and 1.5 walkers' worth) to be the MAP."""
    rng = np.random.default_rng(3)
    chain = rng.normal(8.5, 0.3, (4000 // walkers * 4, walkers))
    chain[:, 0] = 7.0
    q, mode, *_ = summarise_chain(chain, 0, 10, np.random.default_rng(0))
    assert q[2] == pytest.approx(8.45, abs=0.05)
    assert mode == pytest.approx(8.5, abs=0.1)


@pytest.mark.parametrize("share, jitter", [(0.015, 0.0), (0.03, 0.0), (0.015, 1e-3), (0.03, 1e-3), (0.035, 0.01)])
def test_a_few_percent_of_samples_piled_at_one_age_do_not_take_the_map(share, jitter):
    """1.5-3% of the samples piled at 7.2 (identical, or within 0.001 dex) took the MAP from the N(8.5, 0.3) posterior
    holding the rest."""
    rng = np.random.default_rng(0)
    n = 64_000
    k = int(share * n)
    x = np.concatenate([rng.normal(8.5, 0.3, n - k), 7.2 + jitter * rng.standard_normal(k)])
    mode = summarise_chain(rng.permutation(x).reshape(-1, 16), 0, 10, np.random.default_rng(0))[1]
    assert mode == pytest.approx(8.5, abs=0.05)
