"""The sequence domain written into the model card: per (BP-RP)0 bin, where the training clusters constrain an age
from a period (the Kraft break, the period range, the ages the clusters span), and the breakup period below which a
"period" is no rotation. Read at run time by :class:`gyroage.core.domain.SequenceDomain`.

Split from :mod:`gyroage.build.catalogue`, which loads and selects the training stars.
"""

from __future__ import annotations

import numpy as np

from gyroage.build.catalogue import TrainingSet, domain_of

# The sequence domain: where the training data constrain an age from a period (see sequence_domain).
# 0.05 mag: the finest width at which (nearly) every bin from 0.55 to 2.45 still holds >= 3 clusters >= 100 Myr with
# >= 5 members, so its slope can be measured; at 0.2 mag the 0.6-0.8 bin's slope (0.50) and period range (31 d) came
# from its redder half, while 0.60-0.65 (slope -0.41, nothing slower than 12 d) and 0.65-0.70 (0.19) carry no age.
SEQUENCE_BIN_MAG = 0.05
SEQUENCE_MIN_STARS = 40         # a bin with fewer stars is merged with its redder neighbours (the sparse A/F and
                                # late-M ends)
SEQUENCE_MIN_MEMBERS = 5        # members of a cluster in a colour window for it to count there
SEQUENCE_AGE_WINDOW_MAG = 0.2   # the age range counts clusters within +-0.1 mag of a bin's centre (or the bin if wider)
SEQUENCE_AGE_PAD_DEX = 0.1      # beyond the clusters' ages: a cluster's own members stay inside (M67: 3.87 Gyr)
SEQUENCE_MIN_SLOPE = 0.3        # d median log10 Prot / d log10 age (dex/dex) among clusters >= 100 Myr
SEQUENCE_BREAK_RUN = 4          # bins in a row at or above SEQUENCE_MIN_SLOPE that start at the Kraft break
SEQUENCE_PERIOD_PAD_DEX = 0.1   # beyond the 0.5-99.5% period range of a colour bin

# Breakup (Keplerian) period 2 pi sqrt(R^3 / G M) = 0.1159 d (R/Rsun)^1.5 (M/Msun)^-0.5 of mean dwarfs, with radii
# and masses rounded from E. Mamajek's dwarf table (Pecaut & Mamajek 2013; A0V, F0V, F5V, G2V, K5V, M0V, M5V): ~0.2 d
# for A-F dwarfs (0.196 d at 0.2), 0.116 d for G2V, 0.025 d for M5V. A shorter "period" is no rotation (a pulsation,
# an orbit, an alias). The Roche critical period (equatorial radius 1.5 x polar) is 1.84 times longer still (the
# 0.2-0.35 d often quoted for A-F stars), so this floor errs on the side of keeping a period.
BREAKUP_BP_RP0 = np.array([0.0, 0.377, 0.587, 0.823, 1.43, 1.84, 3.01])
BREAKUP_LOG10_PROT = np.log10(0.1159 * np.array([1.8, 1.73, 1.47, 1.0, 0.71, 0.59, 0.196]) ** 1.5
                              / np.sqrt([2.3, 1.6, 1.33, 1.0, 0.69, 0.57, 0.162]))


def breakup_log10_prot(bp_rp0: np.ndarray) -> np.ndarray:
    """log10 breakup period (days) of a mean dwarf of this (BP-RP)0 (:data:`BREAKUP_LOG10_PROT`, linear in colour,
    flat beyond the table's ends)."""
    return np.interp(np.asarray(bp_rp0, dtype=float), BREAKUP_BP_RP0, BREAKUP_LOG10_PROT)


def sequence_edges(bp_rp0: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Colour bin edges over [lo, hi]: :data:`SEQUENCE_BIN_MAG` bins, each merged with its redder neighbours until it
    holds :data:`SEQUENCE_MIN_STARS` stars (a short remainder at the red end joins the last full bin)."""
    w = SEQUENCE_BIN_MAG
    fine = np.round(w * np.arange(np.floor(lo / w + 1e-9), np.ceil(hi / w - 1e-9) + 1), 6)
    counts = np.histogram(bp_rp0, fine)[0]
    edges, n = [fine[0]], 0
    for k, c in enumerate(counts):  # build time, ~90 bins
        n += c
        if n >= SEQUENCE_MIN_STARS:
            edges.append(fine[k + 1])
            n = 0
    if n or len(edges) == 1:
        edges[-1:] = [fine[-1]] if len(edges) > 1 else [fine[0], fine[-1]]
    return np.array(edges, dtype=float)


def sequence_domain(data: TrainingSet) -> dict:
    """Where the training clusters constrain an age from a period, per colour bin, for the model card.

    Bins: :func:`sequence_edges` over the 0.5-99.5% colour range (0.05 mag, merged where sparse). Per bin:

    - ages: the log-age range of the clusters with at least ``SEQUENCE_MIN_MEMBERS`` members within
      ``SEQUENCE_AGE_WINDOW_MAG`` about the bin's centre, widened by ``SEQUENCE_AGE_PAD_DEX``
      (:meth:`gyroage.core.domain.SequenceDomain.age_range` reads it linearly between bin centres);
    - periods: of the training stars (any cluster, any number of members) whose period is above breakup
      (:func:`breakup_log10_prot`), the 99.5% quantile of log10 Prot of those in the bin and the 0.5% quantile of
      those in the age window, widened by ``SEQUENCE_PERIOD_PAD_DEX``; the minimum never below the bin's breakup;
    - slope: d median log10 Prot / d log10 age over the bin's clusters >= 100 Myr with ``SEQUENCE_MIN_MEMBERS``
      members (at least 3 such clusters).

    The blue edge (the Kraft break) is the blue edge of the bluest bin that starts ``SEQUENCE_BREAK_RUN`` bins in a
    row whose slopes are all at least ``SEQUENCE_MIN_SLOPE``, counting only bins whose slope can be measured: bluer
    stars keep their spin and their period carries no age (without such a run, the first bin at that slope; without
    one, the bluest edge). Bins with too few
    clusters to measure a slope are kept when a redder bin has one (M dwarfs), and their age range then marks
    where no cluster reaches.
    """
    lo, hi = domain_of(data)["bp_rp0"]
    edges = sequence_edges(data.bp_rp0, lo, hi)
    which = np.digitize(data.bp_rp0, edges) - 1
    # sub-breakup periods are no rotation: they do not widen any bin's period range
    spinning = data.log10_prot >= breakup_log10_prot(data.bp_rp0)
    half = SEQUENCE_AGE_WINDOW_MAG / 2
    age_lo, age_hi, p_lo, p_hi, slope = [], [], [], [], []
    for b in range(len(edges) - 1):  # build time, ~70 bins
        a, z = edges[b], edges[b + 1]
        c = (a + z) / 2
        win = (data.bp_rp0 >= min(a, c - half)) & (data.bp_rp0 < max(z, c + half))
        names, counts = np.unique(data.cluster[win], return_counts=True)
        rich = names[counts >= SEQUENCE_MIN_MEMBERS]
        ages = np.array([np.median(data.log10_age[win & (data.cluster == n)]) for n in rich])
        age_lo.append(float(ages.min()) - SEQUENCE_AGE_PAD_DEX if len(ages) else np.nan)
        age_hi.append(float(ages.max()) + SEQUENCE_AGE_PAD_DEX if len(ages) else np.nan)
        sel = which == b
        # the slow edge is the old clusters' sequence, sharp in colour (finding: nothing slower than 12 d at
        # 0.60-0.65, 27 d at 0.65-0.70), so it is the bin's own; the fast edge is set by a few rare fast rotators
        # of young clusters, noisy in 0.05-mag bins (0.81 d at 1.20-1.25, 0.2 d around it), so it uses the window
        fast, slow = data.log10_prot[win & spinning], data.log10_prot[sel & spinning]
        floor = float(breakup_log10_prot(np.array([a, z])).min())
        p_lo.append(max(float(np.quantile(fast, 0.005)) - SEQUENCE_PERIOD_PAD_DEX, floor) if len(fast) else np.nan)
        p_hi.append(float(np.quantile(slow, 0.995)) + SEQUENCE_PERIOD_PAD_DEX if len(slow) else np.nan)
        names, inv, counts = np.unique(data.cluster[sel], return_inverse=True, return_counts=True)
        bin_ages = np.array([np.median(data.log10_age[sel][inv == k]) for k in range(len(names))])
        meds = np.array([np.median(data.log10_prot[sel][inv == k]) for k in range(len(names))])
        old = (counts >= SEQUENCE_MIN_MEMBERS) & (bin_ages >= 8.0)
        slope.append(float(np.polyfit(bin_ages[old], meds[old], 1)[0]) if old.sum() >= 3 else np.nan)
    slope = np.array(slope)
    blue = kraft_break(slope, edges)
    r = lambda v: [round(float(x), 3) + 0.0 if np.isfinite(x) else None for x in v]  # noqa: E731  (None: strict JSON)
    return {
        "colour_edges": r(edges), "log10_age_min": r(age_lo), "log10_age_max": r(age_hi),
        "log10_prot_min": r(p_lo), "log10_prot_max": r(p_hi), "period_age_slope": r(slope),
        "kraft_break_bp_rp0": round(blue, 3),
        "rule": (f"colour bins of {SEQUENCE_BIN_MAG} mag, merged redwards to >= {SEQUENCE_MIN_STARS} stars; ages "
                 f"spanned by clusters with >= {SEQUENCE_MIN_MEMBERS} members within {SEQUENCE_AGE_WINDOW_MAG} mag "
                 f"about the bin's centre +- {SEQUENCE_AGE_PAD_DEX} dex, read linearly between bin centres; periods "
                 f"0.5% (stars in that window) to 99.5% (in the bin) of those above breakup +- "
                 f"{SEQUENCE_PERIOD_PAD_DEX} dex, never below breakup; "
                 f"blue edge where {SEQUENCE_BREAK_RUN} bins in a row have median periods of clusters >= 100 Myr "
                 f"growing by >= {SEQUENCE_MIN_SLOPE} dex per dex of age"),  # unchanged: the shipped card's words
    }


def kraft_break(slope: np.ndarray, edges: np.ndarray) -> float:
    """The blue edge of the bluest bin starting :data:`SEQUENCE_BREAK_RUN` measured bins in a row whose ``slope`` is
    at least :data:`SEQUENCE_MIN_SLOPE` (without such a run the first such bin; without one ``edges[0]``).

    A bin whose slope cannot be measured (NaN: fewer than 3 clusters >= 100 Myr with enough members there) is
    skipped, neither steep nor flat: counted as flat, one such bin between steep ones (NGC 2516 with 4 members at
    0.80-0.85 in a five-cluster catalogue) moved the break past them to 0.85, and the Sun came back extrapolated.
    """
    measured = np.flatnonzero(np.isfinite(slope))
    steep = slope[measured] >= SEQUENCE_MIN_SLOPE
    ones = np.ones(SEQUENCE_BREAK_RUN, dtype=int)
    hits = np.flatnonzero(np.convolve(steep, ones, "valid") == SEQUENCE_BREAK_RUN) if len(steep) >= len(ones) else []
    run = measured[hits]
    first = run if len(run) else measured[steep]
    return float(edges[first[0]]) if len(first) else float(edges[0])
