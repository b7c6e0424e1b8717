"""What group-age says of a membership column it was not told to read (review V23, findings 1 and 2)."""

import numpy as np
import pandas as pd
import pytest

from gyroage.core.membership import membership_note


def test_a_percent_hint_does_not_tell_a_column_with_a_percent_unit_to_be_divided():
    """V23 finding 1: 'divide them by 100' was said of a FITS/ECSV/units-row column in %, which --membership
    converts itself; followed, the memberships were 100 times too small. The frame no longer knows the unit, so the
    hint says what --membership does in either case."""
    note = membership_note(pd.DataFrame({"PMem": [99.0, 80.0]}))
    assert "divide them by 100, then give" not in note
    assert note.endswith("its values reach 99: give --membership PMem, which converts them if the column's unit "
                         "is % (FITS, ECSV, a CSV units row); with no unit, divide them by 100 first")


@pytest.mark.parametrize("cells", [["Y", "N", "Y"], [np.nan, np.nan, np.nan], ["", " ", "NA"]])
def test_no_membership_advice_for_a_column_the_option_refuses(cells):
    """V23 finding 2: 'give --membership Mem' was said of a Y/N or empty column, which --membership refuses."""
    note = membership_note(pd.DataFrame({"Mem": pd.Series(cells, dtype=object)}))
    assert "give --membership" not in note
    assert note == "not reading 'Mem' as membership probabilities: it holds no numbers"


def test_a_fraction_column_is_still_told_to_be_given():
    assert membership_note(pd.DataFrame({"PMem": [0.9, 0.2]})).endswith("give --membership PMem")
