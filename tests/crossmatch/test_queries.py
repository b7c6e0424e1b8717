"""The queries: batch sizes, the sync row cap, the period catalogues and their column spellings."""

from __future__ import annotations

import math
import re

import pytest

pytest.importorskip("astroquery")
pytest.importorskip("pytest_httpserver")

from gyroage.crossmatch import CrossmatchSettings, queries  # noqa: E402
from gyroage.errors import UserError  # noqa: E402
from tests.crossmatch.fakesky import GA, GAIA_NOT_FOUND, GB, GC, GD, VIZIER, run_rows  # noqa: E402


def test_crossmatch_batches_are_bounded(tmp_path, sky, monkeypatch):
    monkeypatch.setattr(queries, "GAIA_BATCH", 2)
    monkeypatch.setattr(queries, "VIZIER_BATCH", 3)
    ids = [GA, GB, GC, GD, GAIA_NOT_FOUND]
    out = run_rows(tmp_path, sky, "source_id\n" + "\n".join(map(str, ids)) + "\n")
    assert out["crossmatch_status"].tolist() == ["ok", "ok", "ok", "no_period", "not_found"]
    main = [q for q in sky.queries("gaia") if "gaiadr3.gaia_source AS g" in q]
    lists = [re.findall(r"\d+", q.split(" IN (")[1]) for q in main]
    assert [len(x) for x in lists] == [2, 2, 1] and sorted(int(i) for x in lists for i in x) == sorted(ids)
    tess = [q for q in sky.queries("vizier") if "936/138" in q]
    assert [len(q.split("TIC=")[1].split(",")) for q in tess] == [3, 1]


def test_crossmatch_row_cap_splits_a_full_answer(tmp_path, sky, monkeypatch):
    monkeypatch.setattr(queries, "SYNC_ROW_CAP", 2)  # a 2-row answer may be truncated: redo as halves
    out = run_rows(tmp_path, sky, f"source_id\n{GA}\n{GB}\n{GC}\n")
    assert out["crossmatch_status"].tolist() == ["ok", "ok", "ok"]
    main = [q for q in sky.queries("gaia") if "gaiadr3.gaia_source AS g" in q]
    assert [len(re.findall(r"\d{12,}", q)) for q in main] == [3, 1, 2, 1, 1]


def test_crossmatch_period_sources_order_and_column_fallback(tmp_path, sky, monkeypatch, capsys):
    out = run_rows(tmp_path, sky, f"source_id\n{GA}\n{GB}\n", sources=("gaiadr3", "mcquillan2014"))
    assert out["prot_source"].fillna("").tolist() == ["gaiadr3", ""] and out.loc[0, "prot"] == 6.1
    assert out["crossmatch_status"].tolist() == ["ok", "no_period"]  # TESS not asked for: B has no period
    assert "prot_holcomb2022_days" not in out and not any("936/138" in q for q in sky.queries("vizier"))
    assert out.loc[0, "prot_max_rel_diff"] == pytest.approx((12.3 - 6.1) / 6.1, rel=1e-5)
    with pytest.raises(UserError, match="unknown period source 'tess'"):
        CrossmatchSettings(sources=("tess",))
    # a table whose columns are spelled differently: aliases first, then skip with a warning
    monkeypatch.setitem(VIZIER, "J/ApJS/211/24/table1", ("KIC", [(1000001, 12.3, 0.4)], ("KIC", "Per", "e_Per")))
    monkeypatch.setitem(VIZIER, "J/ApJS/255/17/table1", ("KIC", [(1000001, 12.5, 0.6)], ("KIC", "Xyz", "e_Xyz")))
    out = run_rows(tmp_path, sky, f"source_id\n{GA}\n")
    assert out.loc[0, "prot"] == 12.3 and out.loc[0, "prot_err"] == 0.4
    assert math.isnan(out.loc[0, "prot_santos2021_days"])
    assert "J/ApJS/255/17/table1 has no KIC/Prot column" in capsys.readouterr().err
