"""Which clusters ``trim_dex`` flags from their in-sample errors, and which of them a relabel leaves at their labels.

No torch: the errors come from :func:`gyroage.build.training.in_sample_errors`.
"""

from __future__ import annotations

import numpy as np

from gyroage.build.catalogue import TrainingSet
from gyroage.progress import Progress

# A relabel moves a cluster's label by at most this (dex); a cluster dated further off in-sample keeps its label, as
# does one of fewer than RELABEL_MIN_MEMBERS stars (validate's --min-members, the early-stopping split's floor): too
# few to date itself (3 stars of a 462 Myr cluster were moved 1 dex; the shipped model's smallest relabel has 21).
RELABEL_MAX_DEX, RELABEL_MIN_MEMBERS = 1.0, 20


def flagged_clusters(errors: dict[str, float], data: TrainingSet, s, quiet: bool) -> tuple[dict, dict]:
    """(flagged, kept): the clusters of ``data`` whose in-sample ``errors`` (dex) exceed ``s.trim_dex``, never the
    youngest or oldest (they bound the age domain) nor one younger than ``s.trim_min_age_myr`` (name: error, dex);
    under ``s.trim_relabel`` without those left at their labels, ``kept`` (name: why), said in one line."""
    ages = {c: float(np.median(data.log10_age[data.cluster == c])) for c in errors}
    ends = {min(ages, key=ages.get), max(ages, key=ages.get)}
    drop = {c: round(e, 4) for c, e in errors.items()
            if abs(e) > s.trim_dex and c not in ends and 10 ** ages[c] / 1e6 >= s.trim_min_age_myr}
    if not s.trim_relabel:
        return drop, {}
    # An in-sample age more than a decade from the label is another solution of the cluster's joint posterior, not a
    # label conflict (seen: NGC 1647, 309 Myr, dated 1 Myr, its pre-main-sequence mode; the conflicts are 0.66 dex at
    # most in every stored fold). Relabelling it there would teach the flow that its periods mean 1 Myr.
    n = dict(zip(*np.unique(data.cluster, return_counts=True), strict=True))
    kept = {c: f"{e:+.2f}" if abs(e) > RELABEL_MAX_DEX else f"{n[c]} members" for c, e in sorted(drop.items())
            if abs(e) > RELABEL_MAX_DEX or n[c] < RELABEL_MIN_MEMBERS}
    if kept:
        Progress("train", quiet=quiet).log(f"left at their labels (in-sample age more than {RELABEL_MAX_DEX:g} dex "
                                          f"away, or under {RELABEL_MIN_MEMBERS} members): "
                                          + ", ".join(f"{c} {why}" for c, why in kept.items()))
    return {c: e for c, e in drop.items() if c not in kept}, kept
