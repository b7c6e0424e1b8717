"""benchmarks/label_floor.py: which clusters it counts as supported by the rest of the catalogue (review V46, 6).
Tiny --loco tables and group-ages tables written here; no folds, no catalogue."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.test_benchmark_scripts import load

GROUP_AGES_HEAD = ("| cluster | n_stars | n_used | fiducial_age_myr | age_p16_myr | age_p50_myr | age_p84_myr | "
                   "log_ratio_dex |\n|---|---|---|---|---|---|---|---|\n")


def _loco(d: Path, clusters: dict[str, float]) -> Path:
    """A validate --out directory's tables for one seed: ``clusters`` (name -> age in Myr), every error 0.05 dex."""
    d.mkdir()
    (d / "loco_summary.json").write_text(json.dumps({"train_settings": {"seed": 0}}))
    (d / "loco_clusters.csv").write_text("cluster,fiducial_age_myr,error_dex\n"
                                         + "".join(f"{c},{a},0.05\n" for c, a in clusters.items()))
    (d / "loco_stars.csv").write_text("cluster,true_age_myr,pit,error_dex,age_p16_myr,age_p84_myr,log_score\n")
    return d


def _group_ages(path: Path, rows: dict[str, float]) -> Path:
    path.write_text(GROUP_AGES_HEAD + "".join(f"| {c} | 30 | 30 | 100 | 50 | 100 | 200 | {v:+.3f} |\n"
                                              for c, v in rows.items()))
    return path


def test_names_with_spaces_and_hyphens_are_read(tmp_path):
    """The name column was read with \\w+: "NGC 2516" or "Alpha-Per" never matched, so the row was lost."""
    lf = load("label_floor")
    got = lf.in_sample(_group_ages(tmp_path / "g.md", {"NGC 2516": 0.15, "Alpha-Per": -0.02, "M67": 0.01}))
    assert got.to_dict() == {"NGC 2516": 0.15, "Alpha-Per": -0.02, "M67": 0.01}


def test_a_cluster_without_an_in_sample_age_is_refused_in_one_line(tmp_path, capsys):
    """A LOCO cluster with no row in --group-ages had NaN for its in-sample error; abs(NaN) > 0.1 is False, so it
    was counted among the supported clusters and moved their medians, without a word."""
    lf = load("label_floor")
    run = _loco(tmp_path / "run", {"A Per": 68, "M67": 4000, "NGC 2516": 150})
    ages = _group_ages(tmp_path / "g.md", {"M67": 0.01})
    with pytest.raises(SystemExit) as excinfo:
        lf.main(["--loco", str(run), "--group-ages", str(ages)])
    out, err = capsys.readouterr()
    assert excinfo.value.code == 2 and len(err.strip().splitlines()) == 1, err
    message = err.strip()
    assert str(ages) in message and "A Per" in message and "NGC 2516" in message and "M67" not in message
    assert out == ""  # refused before any table is printed


def test_a_run_without_a_cluster_to_take_a_median_over_is_said_not_a_traceback(tmp_path, capsys):
    """A run with no cluster >= 30 Myr (or none supported, as the 2-cluster /tmp/V47/v1) had a None median, and
    formatting it was a TypeError traceback; such a median is now said "none", the other figures as before."""
    lf = load("label_floor")
    run = _loco(tmp_path / "run", {"A": 10, "B": 20})
    (run / "loco_stars.csv").write_text("cluster,true_age_myr,pit,error_dex,age_p16_myr,age_p84_myr,log_score\n"
                                        "A,10,0.5,0.1,5,20,-1\nB,20,0.9,-0.3,10,40,-2\n")
    ages = _group_ages(tmp_path / "g.md", {"A": 0.5, "B": -0.4})  # both unsupported
    assert lf.main(["--loco", str(run), "--group-ages", str(ages)]) == 0
    out = capsys.readouterr().out
    assert "LOCO median |error| of the mean errors: 0.050 / none; over the supported clusters alone: none / none" \
        in out, out
    assert "| all: all / >= 30 Myr | 0.0500 / none | 0.0500 / none |" in out, out
    assert "| supported clusters (1 seeds) | none |" in out, out


def test_a_loco_folder_without_its_summary_is_one_line(tmp_path, capsys):
    """A --loco folder without loco_summary.json (an interrupted validate, a typo) was a FileNotFoundError
    traceback (review V49, 11); so was one whose summary is there but not its star table."""
    lf = load("label_floor")
    half = tmp_path / "half"
    (half / "folds").mkdir(parents=True)
    ages = _group_ages(tmp_path / "g.md", {"A": 0.5})
    for d, said in ((half, "holds no loco_summary.json"), (tmp_path / "nonexist", "holds no loco_summary.json")):
        with pytest.raises(SystemExit) as excinfo:
            lf.main(["--loco", str(d), "--group-ages", str(ages)])
        err = capsys.readouterr().err
        assert excinfo.value.code == 2 and len(err.strip().splitlines()) == 1 and said in err, err
    run = _loco(tmp_path / "run", {"A": 10})
    (run / "loco_stars.csv").unlink()
    with pytest.raises(SystemExit) as excinfo:
        lf.main(["--loco", str(run), "--group-ages", str(ages)])
    err = capsys.readouterr().err
    assert excinfo.value.code == 2 and "holds no loco_stars.csv" in err, err
