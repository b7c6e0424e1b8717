"""group-age's results: the groups' joint posteriors (:class:`GroupPosterior`) and the flags and cautions read from
them (extrapolation, too few or unused members, a prior bound, periods that misfit); none changes an age.

Split from :mod:`gyroage.core.groups`, which dates the groups and calls :func:`group_flags`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from gyroage import statuses
from gyroage.core.density import FlowDensity, mix_outlier
from gyroage.core.domain import AGE_OUTSIDE_MAX, PRE_MAIN_SEQUENCE_MAX_MYR, SequenceDomain, flag_text
from gyroage.core.grid_cdf import cdf, trapezoid
from gyroage.core.main_sequence import AboveFlag, MainSequenceTerm
from gyroage.core.posterior import GridPosterior


@dataclass
class GroupPosterior:
    """Joint age posteriors of groups of coeval stars on one grid (one row per group)."""

    groups: np.ndarray
    n_stars: np.ndarray
    n_used: np.ndarray
    grid: np.ndarray
    pdf: np.ndarray
    # per group, ln of the largest evidence at a larger outlier weight (OUTLIER_WEIGHTS_TRIED) over the evidence at
    # the weight used (NaN: no used members; -inf: no larger weight tried)
    outlier_log_odds: np.ndarray | None = None
    # per group, the rows not called non-members by a membership of 0 or below (None: n_stars): most_members_unused
    # compares n_used with it
    n_members: np.ndarray | None = None
    # per group, whether most of its members' likelihood lies beyond a prior bound (None: not checked)
    beyond_bound: np.ndarray | None = None
    # per input row, the index of its group in ``groups`` (what the flags read members by; None: not known)
    member_group: np.ndarray | None = None

    def summaries(self) -> dict[str, np.ndarray]:
        """Percentiles and MAP in Myr (NaN for groups without usable members)."""
        out = GridPosterior(self.grid, self.pdf).summaries()
        empty = self.n_used == 0
        return {k: np.where(empty, np.nan, v) for k, v in out.items()}



# many_outliers (study 30, benchmarks/group_outlier_check.py): the log odds over the weight used above which the group
# is flagged (20:1); the larger weights it is compared at are gyroage.core.groups.OUTLIER_WEIGHTS_TRIED.
MANY_OUTLIERS_LOG_ODDS = 3.0
# poor_fit (review R, finding 3; thresholds from the 26 catalogue clusters in-sample, none flagged, against their
# periods in hours, log10 or ln days and as frequencies): each used member's period is set against the model's period
# distribution (the flow mixed with the outlier term) at the group's joint median age and the member's colour, on
# FIT_PERIOD_POINTS log10 periods over the card's period domain. Flagged when the members' CDF values are far from
# uniform (Kolmogorov-Smirnov D above POOR_FIT_KS_D and above the 1% critical value POOR_FIT_KS_COEF / sqrt(n);
# catalogue: at most 0.18 with 20 members or more) or when their log-likelihoods fall short of their expectation by
# more than POOR_FIT_MEAN_NATS a member with z below POOR_FIT_Z (catalogue: at worst -0.29 nats, z -3.1).
FIT_PERIOD_POINTS = 256
FIT_BLOCK_MEMBERS = 4096
POOR_FIT_KS_D = 0.25
POOR_FIT_KS_COEF = 1.63
POOR_FIT_MEAN_NATS = -0.5
POOR_FIT_Z = -4.0
# age_outside_training: the median member's trained ages, widened by this (dex) on the young side (review D, finding
# 6: the widest range over members let one member at 2.45 bring 20 M dwarfs older than any cluster of theirs
# inside). Unpadded, the median bounds flagged Taurus, whose own age bounds its members' bins. The old side is not
# padded again (review V35, finding 1): the card's bounds are already the oldest cluster's age + 0.1 dex
# (SEQUENCE_AGE_PAD_DEX; FGK 9.688 = M67 + 0.1), and a second pad let 5-6 Gyr groups come out ok. Either way none of
# the catalogue's 26 clusters is flagged (with and without --main-sequence; Praesepe's M dwarfs alone: 686 Myr, M67
# 3.95 Gyr, both ok).
GROUP_AGE_PAD_DEX = 0.1
# few_members: a group dated from fewer used members than this carries the caution,
FEW_MEMBERS_MIN = 5
# and so does one dated from fewer than this whose joint median is under FEW_MEMBERS_YOUNG_MYR (review V35, finding
# 3; benchmarks/small_groups.py, 4,200 groups drawn at true ages log-uniform over 5 Myr-4 Gyr, review V36a: drawn from
# 20 Myr, the young misses sat where nothing older could land). Dated 10-300 Myr, groups of 5-12 members miss widely
# both ways (29-38% more than 0.1 dex young, 20-28% old; mean 0.02-0.04 dex young), from 15 members 18-27% and
# 12-22%; dated 300 Myr or older, 9% or less either way. By true age, 5-12 members at 30-300 Myr come out 0.09-0.19
# dex young on average. A caution read on the dated age: near 300 Myr --systematic-dex can move a group across it
FEW_MEMBERS_YOUNG_MIN = 15
FEW_MEMBERS_YOUNG_MYR = 300.0


def fit_statistics(density: FlowDensity, n_groups: int, member_gid: np.ndarray, log10_prot: np.ndarray,
                   bp_rp0: np.ndarray, bp_rp0_err: np.ndarray, log10_age: np.ndarray,
                   outlier_weight: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """How well each group's members' periods follow the model at the group's joint age: per group of the
    ``n_groups`` (Kolmogorov-Smirnov D of the members' period CDF values against uniform, the mean over members of
    log-likelihood minus its expectation in nats, and that sum's z score). NaN for a group without members.

    ``member_gid`` (each one's group index, :attr:`GroupPosterior.member_group`), ``log10_prot``, ``bp_rp0``,
    ``bp_rp0_err``: the used members (periods within the card's domain); ``log10_age``: each group's joint median,
    log10 yr. CDF and log-likelihood are the mixture's with
    ``outlier_weight`` (a larger weight asked for expects more members off the sequence), on
    :data:`FIT_PERIOD_POINTS` periods.
    """
    out = np.full(n_groups, np.nan), np.full(n_groups, np.nan), np.full(n_groups, np.nan)
    gid = np.asarray(member_gid, dtype=np.intp)
    if not len(gid):
        return out
    lo, hi = density.card.domain["log10_prot"]
    x = np.linspace(lo, hi, FIT_PERIOD_POINTS)
    u, surprise, var = (np.empty(len(gid)) for _ in range(3))
    for a in range(0, len(gid), FIT_BLOCK_MEMBERS):  # blocks of members: memory bounded by the block
        b = slice(a, a + FIT_BLOCK_MEMBERS)
        lp = np.asarray(density.log_prob_flow(x[None, :], log10_age[gid[b], None], bp_rp0[b, None],
                                              bp_rp0_err[b, None]), dtype=np.float64)
        rows = np.arange(len(lp))
        j = np.clip(np.searchsorted(x, log10_prot[b]), 1, len(x) - 1)
        t = (log10_prot[b] - x[j - 1]) / (x[j] - x[j - 1])
        lm = mix_outlier(lp, outlier_weight, density.outlier_log_density)
        pm = np.exp(lm)
        pm /= trapezoid(pm, x, axis=1)[:, None]
        c = cdf(pm, x)
        u[b] = c[rows, j - 1] + t * (c[rows, j] - c[rows, j - 1])
        # where the density is 0 (outlier weight 0, lm = -inf) it adds nothing to the expectations (not 0 * inf)
        plm = np.where(pm > 0, pm * lm, 0.0)
        expect = trapezoid(plm, x, axis=1)
        var[b] = np.maximum(trapezoid(plm * np.where(pm > 0, lm, 0.0), x, axis=1) - expect**2, 0.0)
        surprise[b] = lm[rows, j - 1] + t * (lm[rows, j] - lm[rows, j - 1]) - expect
    # KS D per group without a loop: members sorted by group, then by CDF value; ranks within each group
    order = np.lexsort((u, gid))
    g, us = gid[order], u[order]
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
    n = np.bincount(gid, minlength=n_groups)
    rank = np.arange(len(g)) - np.repeat(starts, np.diff(np.r_[starts, len(g)]))  # 0-based within its group
    size = n[g]
    gap = np.maximum((rank + 1) / size - us, us - rank / size)
    d, mean, z = out
    d[g[starts]] = np.maximum.reduceat(gap, starts)
    total = np.bincount(gid, weights=surprise, minlength=n_groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        has = n > 0
        mean[has] = total[has] / n[has]
        z[has] = total[has] / np.sqrt(np.bincount(gid, weights=var, minlength=n_groups)[has])
    return d, mean, z


def poor_fit(n_used: np.ndarray, ks_d: np.ndarray, mean_nats: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Whether each group's members' periods misfit the model at its joint age (:func:`fit_statistics`' numbers;
    thresholds: :data:`POOR_FIT_KS_D`...): periods in hours, log10 or ln days, or frequencies, read as days."""
    with np.errstate(invalid="ignore", divide="ignore"):
        shape = ks_d > np.maximum(POOR_FIT_KS_D, POOR_FIT_KS_COEF / np.sqrt(n_used))
        short = (mean_nats < POOR_FIT_MEAN_NATS) & (z < POOR_FIT_Z)
    return (n_used > 0) & (shape | short)


def member_above(card, term: MainSequenceTerm | None, member_gid: np.ndarray, bp_rp0, abs_g,
                 abs_g_err, median_myr: np.ndarray) -> np.ndarray | None:
    """Per used member, whether it is ``above_main_sequence`` (:meth:`AboveFlag.flags`) at its group's joint median
    age (``median_myr``, per group; ``member_gid``: each member's group index): coeval members share it. None
    without a term or the card's bounds (rotation alone: heights say nothing)."""
    flag = AboveFlag.from_card(card) if term is not None and abs_g is not None else None
    if flag is None:
        return None
    age = np.asarray(median_myr, dtype=np.float64)[np.asarray(member_gid, dtype=np.intp)]
    return flag.flags(term, bp_rp0, abs_g, abs_g_err, age)


def group_flags(domain: SequenceDomain | None, gp: GroupPosterior, member_gid: np.ndarray, bp_rp0: np.ndarray,
                log10_prot: np.ndarray, median_myr: np.ndarray,
                misfit: np.ndarray | None = None, above: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(the ``age_flags`` text, whether the joint age rests on extrapolation) per group of ``gp``.

    A group carries an input flag (blue of the Kraft break, period outside training) when more than
    half of its used members (``member_gid``: each one's group index; ``bp_rp0``, ``log10_prot``) do, and
    ``age_outside_training`` when more than half of its joint posterior lies outside the ages the
    training clusters span at its members' colours (the median member's bounds: the widest range over them let one
    member at a colour M67 reaches bring 20 M dwarfs older than any cluster of theirs inside), and
    ``above_main_sequence`` when more than half of its used members carry it (``above``, per used member:
    :func:`member_above`; None: none do); and the caution
    ``pre_main_sequence_age`` when its joint median (``median_myr``, from ``gp``'s summaries) is under 10 Myr, and
    ``many_outliers`` when its members fit a larger outlier weight with odds over 20:1 (study 30), and
    ``most_members_unused`` when fewer than half of its members (``gp.n_members``) date it, and ``few_members``
    when fewer than :data:`FEW_MEMBERS_MIN` do (or fewer than :data:`FEW_MEMBERS_YOUNG_MIN` and it is dated under
    :data:`FEW_MEMBERS_YOUNG_MYR`), and ``age_beyond_prior_bound`` when most of its members' likelihood
    lies beyond a prior bound, and ``poor_fit`` where ``misfit`` (:func:`poor_fit`) (all cautions: status
    unchanged).
    """
    n = len(gp.groups)
    if domain is None or n == 0:
        return np.full(n, "", dtype=object), np.zeros(n, dtype=bool)
    blue, period_out = domain.input_flags(bp_rp0, log10_prot)
    lo, hi = domain.age_range(bp_rp0)
    up = np.zeros(len(blue), dtype=bool) if above is None else np.asarray(above, dtype=bool)
    per = pd.DataFrame({"g": member_gid, "blue": blue, "period": period_out, "lo": lo, "hi": hi,
                        "up": up}).groupby("g")
    t = per.agg(blue=("blue", "mean"), period=("period", "mean"), lo=("lo", "median"), hi=("hi", "median"),
                up=("up", "mean"))
    t = t.reindex(np.arange(n))  # groups without used members: NaN, never flagged
    # the young side padded: the median member's bounds are often the group's own cluster's age (Taurus's young
    # bins), which half of a member cluster's joint posterior lies beyond; the old side is the card's, padded already
    lo_g, hi_g = t["lo"].to_numpy() - GROUP_AGE_PAD_DEX, t["hi"].to_numpy()
    age_out = GridPosterior(gp.grid, gp.pdf).mass_outside(lo_g, hi_g) > AGE_OUTSIDE_MAX
    age_out &= gp.n_used > 0
    blue_g, period_g, above_g = (t[k].to_numpy() > 0.5 for k in ("blue", "period", "up"))
    # a caution, as for stars: held out (LOCO, 17 seeds of model v4), every group dated under 10 Myr (Taurus, Sco-Cen)
    # missed its age by 0.3-0.5 dex
    with np.errstate(invalid="ignore"):
        young = median_myr < PRE_MAIN_SEQUENCE_MAX_MYR
        many = (np.zeros(n, dtype=bool) if gp.outlier_log_odds is None
                else gp.outlier_log_odds > MANY_OUTLIERS_LOG_ODDS)
    # a group dated from 1 of its 150 members (E(B-V) given on its first row only) was ok, with nothing said
    members = gp.n_stars if gp.n_members is None else gp.n_members
    unused = (gp.n_used > 0) & (2 * gp.n_used < members)
    # a 2 Gyr pair came out 162 Myr, ok, outside both members' 68% intervals: the product of two broad likelihoods
    with np.errstate(invalid="ignore"):  # NaN median: no used member, never flagged
        small_young = (gp.n_used < FEW_MEMBERS_YOUNG_MIN) & (median_myr < FEW_MEMBERS_YOUNG_MYR)
    few = (gp.n_used > 0) & ((gp.n_used < FEW_MEMBERS_MIN) | small_young)
    beyond = np.zeros(n, dtype=bool) if gp.beyond_bound is None else np.asarray(gp.beyond_bound, dtype=bool)
    misfit = np.zeros(n, dtype=bool) if misfit is None else np.asarray(misfit, dtype=bool)
    none = np.zeros(n, dtype=bool)
    return (flag_text(blue_g, period_g, age_out, none, young, above_g, many, unused, few, beyond, misfit,
                      names=statuses.GROUP_FLAG_ORDER),
            blue_g | period_g | age_out | above_g)
