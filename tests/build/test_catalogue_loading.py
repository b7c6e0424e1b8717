"""Loading a user's training catalogue: unit slips in the ages, cluster names spelt two ways, rows and clusters the
selection leaves out, column names spelt as ``estimate`` reads them, and early stopping a small catalogue loses.

The catalogues here are tiny synthetic ones written by each test (never the shared data).
"""

from __future__ import annotations

import re

import pytest

from gyroage.build.catalogue import load_catalogue
from gyroage.errors import UserError
from tests.build.test_catalogue import assert_one_line_error, build_cli, synthetic, write


@pytest.mark.parametrize("ages, span, hint", [
    ((1.0, 2.5, 4.0), "1-4", "in Gyr? multiply by 1000"),  # old clusters, the x1000 forgotten
    ((7.0, 8.2, 9.4), "7-9.4", "in log10(yr)? give 10**age / 1e6"),
])
def test_ages_in_gyr_or_log10_yr_within_the_grid_are_refused(tmp_path, ages, span, hint):
    """Ages 1.0-4.0 (Gyr) or 7.0-9.4 (log10 yr) lie inside 1-10000 Myr: they trained as Myr, exit 0, and a Sun-like
    star was dated 12 Myr."""
    frame = synthetic()
    frame["fiducial_age_Myr"] = frame["cluster"].map(dict(zip(("Alpha", "Beta", "Gamma"), ages)))
    path = write(frame, tmp_path / "cat.csv")
    with pytest.raises(UserError, match=re.escape(f"ages must be in Myr: column fiducial_age_Myr spans {span}")) as err:
        load_catalogue(path)
    assert hint in str(err.value)
    assert_one_line_error(build_cli("train", "--catalog", str(path), "--out", str(tmp_path / "o")), hint)
    assert not (tmp_path / "o").exists()


def test_ages_in_myr_with_one_cluster_over_14_myr_are_read(tmp_path):
    """The published catalogue's ages start at 1.57 Myr: young clusters are fine beside one older than 14 Myr."""
    frame = synthetic()
    frame["fiducial_age_Myr"] = frame["cluster"].map({"Alpha": 1.57, "Beta": 8.0, "Gamma": 15.0})
    assert load_catalogue(write(frame, tmp_path / "cat.csv"))["fiducial_age_Myr"].max() == 15.0
