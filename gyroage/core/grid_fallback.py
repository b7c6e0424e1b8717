"""The end-of-run line of ``estimate --method mcmc``'s stars that took the grid's posterior (age_flags
``grid_posterior``) although their rows give a period error.

Under ``--prior uniform_age`` 82 of the 200 example stars with 10% or 30% period errors took it (seed 1, 16
walkers); at 30% their medians moved 0.13 dex (median, up to 0.95 dex) from their own chains', younger on average,
while the grid ignored the period error (V38); it averages over it now (gyroage.core.period_nodes), as the chain does,
so the line says only which posterior they took.
"""

from __future__ import annotations

from collections.abc import Iterable

from gyroage.statuses import GRID_POSTERIOR

# The walkers that kept the chains of 77 of the 82 example stars with 30% period errors that the default 16 sent to
# the grid (uniform_age, seed 1; 13.9 s against 3.6 s on one process; 32 walkers: 79), and of the stars of V36a's
# two.csv that 32 and 128 walkers sent there (V38). Under other priors they keep fewer (V39b: --age-max-myr 10, 35 ->
# 8 of 40 stars), so the line gives no counts: README's grid_posterior row has them, measured under uniform_age.
WALKERS_THAT_KEEP = 512


def grid_error_note(counts: Iterable[int], said: str | None = None, walkers: int | None = None) -> str | None:
    """The run's one line from each chunk's rows that took the grid's posterior with a period error above 0
    (:class:`gyroage.core.stars.ChunkCounts`' ``grid_error``, as :func:`gyroage.core.estimate.estimate_chunk` counts
    them); None when there are none. ``said``: the run's
    line of the stars that took the grid's posterior under a prior it cannot resolve
    (:func:`gyroage.core.estimate.narrow_prior_note`), which this count then ends, so the run says one line.
    ``walkers``: the run's walkers per star (None: the default); from :data:`WALKERS_THAT_KEEP` up, no advice to use
    that many."""
    k = int(sum(counts))
    if k == 0:
        return said
    many = k > 1
    if walkers is not None and walkers >= WALKERS_THAT_KEEP:
        advice = f"{walkers} walkers did not keep {'their chains' if many else 'its chain'}"
    else:
        advice = (f"more walkers keep more chains, in more time: --walkers {WALKERS_THAT_KEEP}, in Python "
                  f"SamplerSettings(n_walkers={WALKERS_THAT_KEEP})")
    if said is not None:
        return (f"{said}; {k} of the stars that took it {'have' if many else 'has'} a period error, which that grid "
                f"averages over as the chain does ({advice})")
    return (f"{k} star{'s' if many else ''} with a period error took the grid's posterior (age_flags "
            f"{GRID_POSTERIOR}), which averages over prot_err as the chain does ({advice})")
