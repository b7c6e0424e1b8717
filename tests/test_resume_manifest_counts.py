"""A resumable run's manifest entries: every end-of-run count a finished chunk keeps (``narrow``'s stars and grid
errors, ``clipped``, ``unreddened``) is checked as a count of the chunk's rows before --resume sums it into the
run's lines (review V47, 9)."""

from __future__ import annotations

import json

import pytest

from gyroage.engines import local as engines
from tests.test_engines import interrupt_after, stars

OK = {"rows": 60, "counts": {"ok": 60}, "bytes": 10, "sha256": "0" * 64}


@pytest.mark.parametrize("edit, field", [
    ({"narrow": [1, 2]}, "narrow"),  # was a ValueError traceback (not enough values to unpack)
    ({"narrow": "x"}, "narrow"),
    ({"narrow": [0, None, 999]}, "narrow"),  # was said: 1028 stars with a period error took the grid's posterior
    ({"narrow": [0, None, -5]}, "narrow"),  # was taken: 24 stars said instead of 43
    ({"narrow": [61, 0.1, 0]}, "narrow"),
    ({"narrow": [1, -0.1, 0]}, "narrow"),
    ({"narrow": [1, "0.1", 0]}, "narrow"),
    ({"narrow": [True, None, 0]}, "narrow"),
    ({"clipped": 5000}, "clipped"),  # was said: 5043 stars' colour errors exceed the model's trained range
    ({"clipped": -1}, "clipped"),  # refused before, under "listed without its rows or status counts"
    ({"unreddened": [30, 31, 0]}, "unreddened"),  # each row is counted under one key: at most the rows in all
    ({"unreddened": [1, 2]}, "unreddened"),
])
def test_a_count_that_is_no_count_of_the_chunks_rows_is_refused_by_name(edit, field):
    from gyroage.engines.manifest import entry_fault

    assert entry_fault({**OK, **edit}) == f"listed with a bad {field} count (a count of its 60 rows)"


@pytest.mark.parametrize("counts, total", [({"ok": 5000}, 5000), ({}, 0), ({"ok": 59}, 59),
                                           ({"ok": 30, "extrapolated": 31}, 61)])
def test_status_counts_not_summing_to_the_rows_are_refused(counts, total):
    """Review V49, 2: the status counts were checked as whole numbers only, so a resumed 300-star run closed with
    "ok 5161" (and returned it). Each row has one status: they sum to the rows."""
    from gyroage.engines.manifest import entry_fault

    assert entry_fault({**OK, "counts": counts}) == \
        f"listed with bad status counts (counts summing to {total}, not its 60 rows)"


def test_a_width_too_large_for_a_float_is_a_bad_narrow_count_not_a_traceback():
    """Review V49, 3: math.isfinite(10**400) raised OverflowError: --resume was a traceback."""
    from gyroage.engines.manifest import entry_fault

    assert entry_fault({**OK, "narrow": [0, 10**400, 0]}) == "listed with a bad narrow count (a count of its 60 rows)"


@pytest.mark.parametrize("edit", [{}, {"counts": {"ok": 20, "extrapolated": 40}},
                                  {"narrow": [0, None, 14]}, {"narrow": [43, 0.05, 60]}, {"narrow": None},
                                  {"clipped": 60}, {"clipped": 0}, {"unreddened": [20, 30, 10]}])
def test_counts_of_the_chunks_rows_pass(edit):
    """The check refuses only what is no count of the rows (a gyroage writes the others)."""
    from gyroage.engines.manifest import entry_fault

    assert entry_fault({**OK, **edit}) is None


@pytest.mark.parametrize("edit", [{"narrow": [1, 2]}, {"narrow": [0, None, 999]}, {"clipped": 5000},
                                  {"unreddened": [0, 0, 101]}, {"counts": {"ok": 5000}}])
def test_a_resumed_run_computes_a_chunk_with_a_bad_count_again(tmp_path, density, settings, monkeypatch, capsys,
                                                                edit):
    """A hand-edited or damaged count in a finished chunk's entry was a traceback (``narrow`` [1, 2]) or summed
    into the end-of-run lines (impossible totals): the chunk now fails its check, named, and is computed again;
    output and lines are the uninterrupted run's."""
    from gyroage.engines.sinks import sidecar_dir

    src, out, ref = tmp_path / "in.csv", tmp_path / "out.csv", tmp_path / "ref.csv"
    frame = stars(300)
    frame.loc[::10, "e_BPRP_0"] = 0.6  # clipped: above the shipped card's 0.4616
    frame.to_csv(src, index=False)
    engines.run_local(src, ref, density, settings, chunksize=100)
    fresh = [ln for ln in capsys.readouterr().err.splitlines() if "trained range" in ln]
    real, _ = interrupt_after(monkeypatch, "estimate_chunk", 2)
    with pytest.raises(KeyboardInterrupt):
        engines.run_local(src, out, density, settings, chunksize=100, quiet=True)
    monkeypatch.setattr(engines, "estimate_chunk", real)
    manifest = sidecar_dir(out) / "manifest.json"
    m = json.loads(manifest.read_text())
    m["chunks"]["0"].update(edit)
    manifest.write_text(json.dumps(m))
    capsys.readouterr()
    engines.run_local(src, out, density, settings, chunksize=100, resume=True)
    err = capsys.readouterr().err
    field = next(iter(edit))
    why = "bad status counts (counts summing to 5000, not its 100 rows)" if field == "counts" else \
        f"a bad {field} count (a count of its 100 rows)"
    assert f"1 finished chunk of the interrupted run of {out} failed its check (chunk-0000000.csv listed with " \
           f"{why}): computing it again" in err, err
    assert [ln for ln in err.splitlines() if "trained range" in ln] == fresh
    assert out.read_bytes() == ref.read_bytes()
