"""The sequence domain: where the training clusters constrain an age, and the flags for stars outside it.

The card's ``domain.sequence`` (written at export from the training catalogue,
``gyroage.build.sequence_domain.sequence_domain``) holds, per (BP-RP)0 bin, the
log-age range the clusters span (padded; read linearly between bin centres) and
the period range of their stars (read per bin), and the Kraft break. A star outside them still gets an age, with status
``extrapolated`` and the reason in its ``age_flags``.
"""

from __future__ import annotations

import numpy as np

from gyroage import statuses
from gyroage.core.modelcard import ModelCard

# A posterior with more than this mass outside the trained ages is an extrapolation ("mostly").
AGE_OUTSIDE_MAX = 0.5
# ... and so is one whose MAP lies more than this (dex) beyond the oldest trained age at the star's colour (a slow G
# dwarf at 0.65 peaked at the grid's 10 Gyr edge with 35-44% of the mass beyond M67, median inside, ok). The card's
# bounds are already padded by 0.1 dex (sequence_domain's SEQUENCE_AGE_PAD_DEX, which the mass rule needs too), so none
# is added here: the MAP rule fires 0.1 dex past the oldest cluster. That pad does not spare the oldest cluster's own
# members: dated in-sample from rotation alone, 699 of the quality-selected catalogue's 6,685 dated members carry
# age_outside_training, 135 of M67's 282, and the MAP rule alone adds 110 of them (M67 74, NGC 6819 8, NGC 6811 7):
# benchmarks/flag_counts.py.
MAP_BEYOND_DEX = 0.0
# A star more likely off the sequence than on it.
OUTLIER_FLAG_MIN = 0.5
# Median ages below this (Myr) are flagged: held out (LOCO, every seed of model v4), 31-40% of the stars dated this
# young were older than their p97.5, mostly M dwarfs of 0.1-0.7 Gyr clusters that have not spun down; 10-100 Myr, 7%.
PRE_MAIN_SEQUENCE_MAX_MYR = 10.0


class SequenceDomain:
    """The card's sequence domain as arrays; ``None`` from :meth:`from_card` when the card has none."""

    def __init__(self, table: dict) -> None:
        f = lambda k: np.array([np.nan if v is None else v for v in table[k]], dtype=float)  # noqa: E731
        self.edges = f("colour_edges")
        self.age_lo, self.age_hi = f("log10_age_min"), f("log10_age_max")
        self.prot_lo, self.prot_hi = f("log10_prot_min"), f("log10_prot_max")
        self.kraft_break = float(table["kraft_break_bp_rp0"])
        # age bounds are read linearly between bin centres (no cliff at a bin edge): per segment i, centre c_i, its
        # width to the next centre and the bounds' steps, so that the posterior graph computes the same numbers
        c = (self.edges[:-1] + self.edges[1:]) / 2
        self.centres = c
        self.centre_step = np.diff(c) if len(c) > 1 else np.ones(1)
        step = lambda v: np.diff(v) if len(v) > 1 else np.zeros(1)  # noqa: E731
        self.age_lo_step, self.age_hi_step = step(self.age_lo), step(self.age_hi)

    @classmethod
    def from_card(cls, card: ModelCard) -> SequenceDomain | None:
        table = card.domain.get("sequence")
        return cls(table) if table else None

    def _bin(self, colour: np.ndarray) -> np.ndarray:
        return np.clip(np.searchsorted(self.edges, colour, side="right") - 1, 0, len(self.edges) - 2)

    def _segment(self, colour: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(index i of the bin centre at or left of each colour, clipped to the segments; weight 0-1 towards i+1)."""
        c = self.centres
        i = np.clip(np.searchsorted(c, colour, side="right") - 1, 0, max(len(c) - 2, 0))
        return i, np.clip((colour - c[i]) / self.centre_step[i], 0.0, 1.0)

    def age_range(self, colour: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(lowest, highest) log10 age of the training clusters at each colour, padded as the card says, linear
        between bin centres and flat beyond the outer ones (NaN where a bin on either side has none)."""
        i, t = self._segment(np.asarray(colour, dtype=float))
        return self.age_lo[i] + t * self.age_lo_step[i], self.age_hi[i] + t * self.age_hi_step[i]

    def input_flags(self, colour: np.ndarray, log10_prot: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(bluer than the Kraft break, period outside the training range at that colour), per star."""
        colour = np.asarray(colour, dtype=float)
        b = self._bin(colour)
        lo, hi = self.prot_lo[b], self.prot_hi[b]
        return colour < self.kraft_break, ~((log10_prot >= lo) & (log10_prot <= hi))


def flag_text(*masks: np.ndarray, names=statuses.FLAG_ORDER) -> np.ndarray:
    """The ``age_flags`` column: for each row the names whose mask is true, ';'-joined ('' for none)."""
    code = sum(np.asarray(m, dtype=np.int64) << i for i, m in enumerate(masks))
    uniq, inv = np.unique(code, return_inverse=True)
    text = np.array([";".join(n for i, n in enumerate(names) if u >> i & 1) for u in uniq], dtype=object)
    return text[inv.reshape(-1)] if len(uniq) else np.zeros(0, dtype=object)


def with_flag(text: np.ndarray, mask: np.ndarray, name: str = statuses.GRID_POSTERIOR) -> np.ndarray:
    """``age_flags`` text with ``name`` added where ``mask``, in :data:`gyroage.statuses.FLAG_ORDER`'s order."""
    text = np.asarray(text, dtype=object)
    out, rows = text.copy(), np.flatnonzero(mask)
    if rows.size:
        rank = {f: i for i, f in enumerate(statuses.FLAG_ORDER)}
        uniq, inv = np.unique(text[rows].astype(str), return_inverse=True)
        joined = [";".join(sorted({*filter(None, u.split(";")), name}, key=lambda f: rank.get(f, len(rank))))
                  for u in uniq]
        out[rows] = np.array(joined, dtype=object)[inv.reshape(-1)]
    return out


def star_flags(domain: SequenceDomain | None, bp_rp0, log10_prot, age_outside, p_outlier,
               age_median_myr, above: np.ndarray | None = None,
               age_map_myr: np.ndarray | None = None,
               beyond_bound: np.ndarray | None = None,
               colour_err_beyond: np.ndarray | None = None,
               period_err_wide: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(the ``age_flags`` text, whether the age rests on extrapolation) per star, from the card's sequence domain,
    ``p_outlier``, the median age, ``above`` (:meth:`gyroage.core.main_sequence.AboveFlag.flags`; None: no star is flagged) and the MAP age
    (``age_outside_training`` also when it lies :data:`MAP_BEYOND_DEX` beyond the oldest trained age; None: not
    checked), and three cautions (None: no star): ``beyond_bound`` (:func:`gyroage.core.estimate.beyond_prior_bound`),
    ``colour_err_beyond`` (:attr:`gyroage.core.stars.StarArrays.colour_err_beyond`) and ``period_err_wide``
    (:func:`gyroage.core.stars.period_err_wide`)."""
    likely = np.asarray(p_outlier) > OUTLIER_FLAG_MIN
    young = np.asarray(age_median_myr) < PRE_MAIN_SEQUENCE_MAX_MYR
    none = np.zeros(len(bp_rp0), dtype=bool)
    above = none if above is None else np.asarray(above, dtype=bool)
    beyond = none if beyond_bound is None else np.asarray(beyond_bound, dtype=bool)
    wide = none if colour_err_beyond is None else np.asarray(colour_err_beyond, dtype=bool)
    # grid_posterior's place (with_flag adds it) comes before the period's
    tail = () if period_err_wide is None else (none, np.asarray(period_err_wide, dtype=bool))
    if domain is None:
        return flag_text(none, none, none, likely, young, above, beyond, wide, *tail), above
    blue, period_out = domain.input_flags(bp_rp0, log10_prot)
    age_out = np.asarray(age_outside) > AGE_OUTSIDE_MAX
    if age_map_myr is not None:
        with np.errstate(invalid="ignore", divide="ignore"):
            age_out |= np.log10(np.asarray(age_map_myr, dtype=np.float64)) + 6.0 > domain.age_range(bp_rp0)[1] + MAP_BEYOND_DEX
    return flag_text(blue, period_out, age_out, likely, young, above, beyond, wide, *tail), blue | period_out | age_out | above
