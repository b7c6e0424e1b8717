"""benchmarks/group_calibration.py: where its single width and width floor come from (review V46, 4). A tiny
--loco run is written here: five clusters' folds of a few stars on a coarse grid, one seed."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.test_benchmark_scripts import load

GRID = (6.0, 10.0, 81)
# name: (age Myr, the table's joint-age error in dex); C4 is under 30 Myr and never counts in the floor
CLUSTERS = {"C0": (100.0, 0.10), "C1": (300.0, -0.20), "C2": (1000.0, 0.30), "C3": (3000.0, -0.90), "C4": (10.0, 0.50)}


def _run(out: Path) -> Path:
    """A validate --out directory: summary, cluster table and one fold per cluster (stars peaked near the label)."""
    from gyroage.build.loco import ValidateSettings

    train = {"seed": 0, "max_epochs": 5}
    ge30 = float(np.median([abs(e) for a, e in CLUSTERS.values() if a >= 30]))
    out.mkdir()
    (out / "loco_summary.json").write_text(json.dumps({
        "train_settings": train, "age_grid": list(GRID), "per_cluster": dict.fromkeys(CLUSTERS, {}),
        "loco_cluster_median_abs_dex_ge30myr": ge30}))
    (out / "loco_clusters.csv").write_text("cluster,fiducial_age_myr,error_dex\n"
                                           + "".join(f"{c},{a},{e}\n" for c, (a, e) in CLUSTERS.items()))
    d = ValidateSettings(train=train, grid=GRID).fold_dir(out)
    d.mkdir(parents=True)
    grid = np.linspace(*GRID[:2], GRID[2])
    for c, (age, err) in CLUSTERS.items():
        centre = np.log10(age * 1e6) + err
        ll = -0.5 * ((grid[None, :] - centre - np.array([[-0.1], [0.0], [0.1]])) / 0.3) ** 2
        np.savez(d / f"{c}.npz", loglike=ll.astype(np.float32), grid=grid, source_row=np.arange(3),
                 meta=json.dumps({}))
    return out


def test_the_floor_is_the_runs_own_and_each_nested_fit_leaves_its_cluster_out(monkeypatch, tmp_path, capsys):
    """The single width and --floor-at-single-width's floor came from the shipped card (0.0775 dex), whatever run
    --loco named, and each nested fit's floor held the left-out cluster's own error. Now the single width is the
    runs' own (mean over seeds of loco_cluster_median_abs_dex_ge30myr / 0.6745) and the nested fit of cluster c is
    floored at the same median over the >= 30 Myr clusters without c."""
    gc = load("group_calibration")
    calls = []
    monkeypatch.setattr(gc, "fit", lambda pdfs, grid, truth, start, min_width=0.0: calls.append(
        (len(pdfs), min_width, list(start))) or np.full(4, max(min_width, 0.3)))
    gc.main(["--loco", str(_run(tmp_path / "run")), "--floor-at-single-width"])
    out = capsys.readouterr().out
    full = 0.25 / 0.6745  # median of 0.1, 0.2, 0.3, 0.9
    assert f"single width {full:.4f} dex" in out
    without = {"C0": 0.3, "C1": 0.3, "C2": 0.2, "C3": 0.2, "C4": 0.25}  # medians of the others >= 30 Myr
    assert [c[0] for c in calls] == [4] * 5 + [5]  # five nested fits on the other clusters, then all of them
    for (_, floor, start), c in zip(calls, CLUSTERS):
        assert floor == pytest.approx(without[c] / 0.6745), c
        assert start == pytest.approx([without[c] / 0.6745] * 4), c  # nor does its start hold c
    assert calls[-1][1] == pytest.approx(full)


def test_without_the_floor_the_single_width_is_still_the_runs_own(monkeypatch, tmp_path, capsys):
    """The "single width" row scored the clusters with the shipped card's width, another model's."""
    gc = load("group_calibration")
    monkeypatch.setattr(gc, "fit", lambda pdfs, grid, truth, start, min_width=0.0: np.full(4, 0.3))
    seen = []
    scores = gc.scores
    monkeypatch.setattr(gc, "scores", lambda cal, *a: seen.append(cal.to_dict()["sigma_dex"]) or scores(cal, *a))
    gc.main(["--loco", str(_run(tmp_path / "run"))])
    assert seen[0] == pytest.approx([0.25 / 0.6745] * 4, abs=1e-4)  # to_dict keeps 4 decimals
    assert "single width 0.3706 dex" in capsys.readouterr().out
