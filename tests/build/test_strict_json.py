"""Every JSON file gyroage writes is strict JSON: a non-finite number is ``null``, never Python's ``Infinity``/``NaN``
(which JavaScript's JSON.parse and jq refuse). ``n_val_clusters: 0`` left the card's ``val_nll`` at Infinity."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")

from tests.build.test_build_guards import FAST, cli, toy_catalogue, write_config  # noqa: E402


def strict(text: str):
    """``text`` parsed as a strict reader would: Infinity, -Infinity and NaN are refused."""
    def refuse(name: str):
        raise ValueError(f"not JSON: {name}")
    return json.loads(text, parse_constant=refuse)


def test_json_text_writes_non_finite_numbers_as_null_and_finite_ones_as_json_dumps_does():
    from gyroage.files import json_text

    obj = {"a": float("inf"), "b": [np.float64("nan"), -math.inf, (1.5, 2)], "c": {"d": 0.1 + 0.2, "e": "x"}}
    assert strict(json_text(obj)) == {"a": None, "b": [None, None, [1.5, 2]], "c": {"d": 0.1 + 0.2, "e": "x"}}
    finite = {"z": [np.float64(1) / 3, 7, None, True], "y": {"k": 1e-300}}
    assert json_text(finite, indent=2, sort_keys=True) == json.dumps(finite, indent=2, sort_keys=True)


def test_training_without_validation_clusters_writes_strict_json_that_gyroage_reads_back(tmp_path):
    """No validation cluster: no validation loss. train.json, the card and the card embedded in each ONNX file say
    null, and export and the card loader accept it."""
    from gyroage.core.modelcard import load_card

    cat = toy_catalogue(tmp_path / "cat.csv")
    res = cli("train", "--catalogue", str(cat), "--out", str(tmp_path / "run"),
              "--config", str(write_config(tmp_path, FAST)), "--export", str(tmp_path / "model"), "-q")
    assert res.exit_code == 0, res.output
    info = strict((tmp_path / "run" / "train.json").read_text())
    assert info["metrics"]["val_nll"] is None and math.isfinite(info["metrics"]["train_nll"])
    card = strict((tmp_path / "model" / "gyroage-model.json").read_text())
    assert card["metrics"]["val_nll"] is None
    graphs = sorted((tmp_path / "model").glob("*.onnx"))
    assert len(graphs) >= 2
    for path in graphs:
        model = onnx.load(str(path))
        for entry in model.metadata_props:
            strict(entry.value)
        if model.doc_string:
            strict(model.doc_string.split(": ", 1)[1])
    loaded, _ = load_card(tmp_path / "model", verify=True)
    assert loaded.metrics["val_nll"] is None
    # a plain export from the checkpoint reads the null back
    res = cli("export", "--checkpoint", str(tmp_path / "run"), "--out", str(tmp_path / "again"), "-q")
    assert res.exit_code == 0, res.output
    assert strict((tmp_path / "again" / "gyroage-model.json").read_text())["metrics"]["val_nll"] is None


def test_the_validation_summary_is_strict_json(tmp_path):
    """A held-out figure that is NaN (a cluster without a 68% interval to score) is null in loco_summary.json."""
    from gyroage.build.loco import write_tables

    write_tables(tmp_path, pd.DataFrame({"a": [1]}), pd.DataFrame({"b": [2]}),
                 {"star_coverage_68": float("nan"), "per_cluster": {"C0": {"error_dex": float("inf")}}})
    summary = strict((tmp_path / "loco_summary.json").read_text())
    assert summary == {"star_coverage_68": None, "per_cluster": {"C0": {"error_dex": None}}}
