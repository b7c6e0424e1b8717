"""A period error at least the period itself leaves the period saying little or nothing: such a star carries the
caution ``period_err_uninformative`` and the run says how many (review V70 finding 1: a 99 d sentinel error on a 12 d
star gave the prior's age, 102 Myr, status ok, with no word; --method mcmc gave not_converged)."""

import numpy as np
import pandas as pd
import pytest

from gyroage import EstimateSettings, estimate_chunk, statuses
from gyroage.core.domain import with_flag
from gyroage.core.stars import ChunkCounts, uninformative_note

FLAG = "period_err_uninformative"


def test_flag_is_last_in_the_flag_order():
    """Appended, so that the bit masks pipelines read keep their meaning (bit 512)."""
    assert statuses.FLAG_ORDER[-1] == FLAG and statuses.FLAG_ORDER.index(FLAG) == 9
    assert FLAG not in statuses.GROUP_FLAG_ORDER


def test_grid_posterior_is_added_in_the_flag_order():
    text = with_flag(np.array([FLAG, "likely_outlier;" + FLAG, "", "likely_outlier"], dtype=object),
                     np.array([True, True, True, False]))
    assert list(text) == [f"grid_posterior;{FLAG}", f"likely_outlier;grid_posterior;{FLAG}", "grid_posterior",
                          "likely_outlier"]


def test_estimate_flags_period_errors_of_the_period_or_more_and_keeps_their_ages(model):
    errs = [0.0, np.nan, 6.0, 11.9, 12.0, 99.0, 1e300]
    frame = pd.DataFrame({"prot": 12.0, "prot_err": errs, "bp_rp0": 1.2, "bp_rp0_err": 0.02})
    counted = []
    out = estimate_chunk(frame, model.density, EstimateSettings(), on_counts=counted.append)
    assert [FLAG in f.split(";") for f in out["age_flags"]] == [False, False, False, False, True, True, True]
    assert list(out["status"]) == [statuses.OK] * 7
    assert counted[0].uninformative == 3
    # a caution: the ages are those without the flag (as before it), 283 Myr at 100%, the prior's ~100 beyond
    alone = estimate_chunk(frame.iloc[[4, 5]], model.density, EstimateSettings())
    assert np.array_equal(alone["age_p50_myr"], out["age_p50_myr"].iloc[[4, 5]])


def test_flag_only_on_rows_with_an_age(model):
    frame = pd.DataFrame({"prot": [12.0, -1.0, 12.0], "prot_err": 99.0, "bp_rp0": [1.2, 1.2, 9.0]})
    out = estimate_chunk(frame, model.density, EstimateSettings())
    assert list(out["status"]) == [statuses.OK, statuses.INVALID_PERIOD, statuses.COLOUR_OUT_OF_DOMAIN]
    assert list(out["age_flags"]) == [FLAG, "", ""]


@pytest.mark.parametrize("n", [1, 3])
def test_the_end_of_run_line_counts_them(n):
    note = uninformative_note(n)
    assert note.startswith(f"{n} star") and FLAG in note and uninformative_note(0) is None
    assert ChunkCounts.of(np.array([FLAG] * n + ["", "likely_outlier"], dtype=object), np.zeros(n + 2),
                          False).uninformative == n


def test_the_command_line_says_how_many(tmp_path):
    from tests.conftest import run_cli

    src = tmp_path / "in.csv"
    pd.DataFrame({"prot": [12.0, 12.0, 5.0], "prot_err": [99.0, 1.0, 5.0], "bp_rp0": 1.2}).to_csv(src, index=False)
    run = run_cli("estimate", str(src), "-o", str(tmp_path / "o.csv"))
    assert run.returncode == 0, run.stderr
    lines = [s for s in run.stderr.splitlines() if FLAG in s]
    assert len(lines) == 1 and lines[0].startswith("estimate: 2 stars have a period error"), run.stderr
