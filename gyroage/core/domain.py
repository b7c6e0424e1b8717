"""The sequence domain: where the training clusters constrain an age, and the flags for stars outside it.

The card's ``domain.sequence`` (written at export from the training catalogue,
``gyroage.build.catalogue.sequence_domain``) holds, per (BP-RP)0 bin, the
log-age range the clusters span and the period range of their stars, and the
Kraft break. A star outside them still gets an age, with status
``extrapolated`` and the reason in its ``age_flags``.
"""

from __future__ import annotations

import numpy as np

from gyroage import statuses
from gyroage.core.modelcard import ModelCard

# A posterior with more than this mass outside the trained ages is an extrapolation ("mostly").
AGE_OUTSIDE_MAX = 0.5
# ... and so is one whose MAP lies more than this (dex) beyond the oldest trained age at the star's colour (review D,
# finding 4: slow G dwarfs at 0.65 peaked at the grid's 10 Gyr edge with 35-44% of the mass beyond M67, median inside,
# ok). The pad spares the oldest clusters' own members, which scatter about their age: on the quality-selected
# catalogue the rule adds the flag to 55 of 6,685 dated members with no pad (M67 23 of 282), 36 with 0.1 dex
# (M67 12, NGC 6811 7, NGC 6819 8: their MAPs 0.1 dex past M67's 3.9 Gyr), 1 of the 401 of review D's training sample.
MAP_BEYOND_DEX = 0.1
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

    @classmethod
    def from_card(cls, card: ModelCard) -> SequenceDomain | None:
        table = card.domain.get("sequence")
        return cls(table) if table else None

    def _bin(self, colour: np.ndarray) -> np.ndarray:
        return np.clip(np.searchsorted(self.edges, colour, side="right") - 1, 0, len(self.edges) - 2)

    def age_range(self, colour: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(lowest, highest) log10 age of the training clusters at each colour (NaN where none)."""
        b = self._bin(np.asarray(colour, dtype=float))
        return self.age_lo[b], self.age_hi[b]

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
