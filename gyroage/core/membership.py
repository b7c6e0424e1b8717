"""group-age's ``--membership`` column: read as probabilities (a % unit or name converted, True/False as 1/0), checked,
and the note on a membership-like column it was not told to read."""

from __future__ import annotations

import numpy as np
import pandas as pd

from gyroage import io
from gyroage.column_notes import membership_column, membership_in, membership_percent, percent_advice, true_false
from gyroage.columns import percent_base
from gyroage.errors import UserError

# The largest membership probability taken (as 1): a probability rounded up, never a percentage.
MEMBERSHIP_MAX = 1.0001


def membership_values(frame: pd.DataFrame, name: str) -> np.ndarray:
    """The ``--membership`` column as probabilities (a ``%`` unit, from an astropy format or a CSV's units row, is
    converted on reading); values above 1 refused (:func:`check_membership`), and so is a column with no number at
    all (text such as Y/N, or blank)."""
    col = membership_in(frame.columns, name) or io.require_column(list(frame.columns), name)  # PMem: 'PMem (%)'
    cells = io.first_column(frame, col)
    values = true_false(cells, io.numeric(frame, col))  # a member flag True/False: 1/0
    if len(cells) and not np.isfinite(values).any():  # Y/N or blank: every star would drop out, with no word said
        text = cells[cells.notna()].astype(str).str.strip()
        text = text[~text.str.lower().isin(io.NA_TOKENS)]
        if text.empty:
            raise UserError(f"--membership {name} has no value in any row")
        raise UserError(f"--membership {name} holds no numbers (e.g. {text.iloc[0]!r}): give membership "
                        "probabilities 0-1")
    fractions = membership_percent(values, col)  # 'PMem (%)': its name's unit
    if percent_base(col) is None:
        check_membership(fractions, f"--membership {name}")
    else:  # quoted as the file gives it (100.4, not 1.004), with no advice to divide again (review V65)
        check_membership(values, f"--membership {name}: column '{col}', read in % as its name says,", percent=True)
    return fractions


def membership_note(frame: pd.DataFrame) -> str | None:
    """What ``group-age`` says of a column named like a membership probability that ``--membership`` did not name
    (never read on its own); a % unit, which ``--membership`` converts, is not in the frame read without it."""
    if (col := membership_column(frame.columns)) is None:
        return None
    values = true_false(io.first_column(frame, col), io.numeric(frame, col))
    if not np.isfinite(top := values[np.isfinite(values)].max(initial=-np.inf)):  # Y/N, blank: --membership refuses
        return f"not reading '{col}' as membership probabilities: it holds no numbers"
    note = f"not reading '{col}' as membership probabilities (every member counts once): "
    if (advice := percent_advice(frame.columns, col, top)) is not None:  # 'PMem (%)': read in %
        return note + advice
    if top > MEMBERSHIP_MAX:
        return note + (f"its values reach {top:g}: give --membership {col}, which converts them if the column's unit "
                       "is % (FITS, ECSV, a CSV units row); with no unit, divide them by 100 first")
    return note + f"give --membership {col}"


def check_membership(values: np.ndarray, what: str, percent: bool = False) -> None:
    """Refuse membership probabilities above 1 (beyond rounding): a column in percent made every star a member.
    ``percent``: ``values`` are a column's percentages, refused above 100 (as 1 is above)."""
    finite = values[np.isfinite(values)]
    top = finite.max(initial=-np.inf)
    if percent and top > 100 * MEMBERSHIP_MAX:
        raise UserError(f"{what} has values up to {top:g}% (above 100%): give percentages 0-100")
    if not percent and top > MEMBERSHIP_MAX:
        raise UserError(f"{what} has values up to {top:g} (above 1): give probabilities 0-1 "
                        "(a percentage: divide by 100)")
