"""group-age on tables as cluster astronomers download them: one cluster per file, membership columns in
percent or as text, observed magnitudes, group labels spelled two ways."""

from __future__ import annotations

from io import StringIO

import numpy as np
import pandas as pd

from gyroage.core.groups import group_ages
from tests.conftest import run_cli


def _members(model, age_myr: float = 600.0, n: int = 12, seed: int = 4) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    colour = rng.uniform(0.9, 2.2, n)
    prot = model.sample_periods(age_myr, colour, n=1, seed=seed + 100, bp_rp0_err=np.full(n, 0.02))[:, 0]
    return pd.DataFrame({"prot": prot, "bp_rp0": colour, "bp_rp0_err": 0.02})


def test_a_one_cluster_file_is_one_group_without_by(tmp_path, model):
    """Without --by, Typer printed its 'Missing option' box: a one-cluster file needed a column added first."""
    src = tmp_path / "praesepe_members.csv"
    _members(model).to_csv(src, index=False)
    res = run_cli("group-age", str(src), "--grid", "201")
    assert res.returncode == 0, res.stderr
    out = pd.read_csv(StringIO(res.stdout))
    assert list(out.columns[:3]) == ["group", "n_stars", "n_used"]
    assert out["group"].tolist() == ["praesepe_members"] and out["n_used"].tolist() == [12]
    # the same joint age as a --by column holding one label
    labelled = group_ages(_members(model).assign(cluster="x"), model.density, "cluster", model.default_prior, 201)
    assert np.isclose(out["age_p50_myr"][0], labelled["age_p50_myr"][0], rtol=1e-5)
    piped = run_cli("group-age", "-", "--grid", "201", "-q", input=_members(model).to_csv(index=False))
    assert piped.returncode == 0 and pd.read_csv(StringIO(piped.stdout))["group"].tolist() == ["all"], piped.stderr


def test_by_a_missing_column_says_how_to_date_the_whole_file(tmp_path, model):
    src = tmp_path / "m.csv"
    _members(model).to_csv(src, index=False)
    res = run_cli("group-age", str(src), "--by", "cluster")
    assert res.returncode == 2
    assert res.stderr.strip() == ("gyroage: error: missing column 'cluster' (without --by, all rows are one group)")
