"""Self-describing ONNX files and the posterior graph, used as another language would: onnxruntime alone."""

import io
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from tests.conftest import ROOT, run_cli

MODELS = ROOT / "models"
QUANTILE_COLUMNS = ["age_p2.5_myr", "age_p16_myr", "age_p50_myr", "age_p84_myr", "age_p97.5_myr"]
# Parts of the card that define the numbers a graph computes; they must match what the graph carries.
DEFINING = ("normalisation", "domain", "outlier", "default_bp_rp0_err", "flow", "age_grid", "training")

# Run in a fresh interpreter so that nothing of gyroage can be imported by accident.
RAW_ONNX = r"""
import json, sys
import numpy as np
import onnxruntime as ort
path, src = sys.argv[1], json.loads(sys.stdin.read())
sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
feed = {k: np.asarray(src[k], dtype=np.float64) for k in ("prot_days", "bp_rp0", "bp_rp0_err")}
names = [o.name for o in sess.get_outputs()]
out = dict(zip(names, sess.run(None, feed)))
assert not [m for m in sys.modules if m.split(".")[0] in ("gyroage", "torch")]
meta = sess.get_modelmeta().custom_metadata_map
json.dump({"ok": out["ok"].tolist(), "q": np.where(np.isnan(out["age_quantiles_myr"]), -1, out["age_quantiles_myr"]).tolist(),
           "map": np.nan_to_num(out["age_map_myr"], nan=-1).tolist(), "grid": out["log10_age_grid"].tolist(),
           "post": np.nan_to_num(out["posterior"], nan=-1).tolist(), "card": json.loads(meta["gyroage_model_card"])},
          sys.stdout)
"""


def card():
    return json.loads((MODELS / "gyroage-model.json").read_text())


def stars(n=300, seed=0):
    """Random stars over (and a bit beyond) the card's domain, with bad rows mixed in."""
    c = card()
    rng = np.random.default_rng(seed)
    plo, phi = c["domain"]["log10_prot"]
    clo, chi = c["domain"]["bp_rp0"]
    elo, ehi = c["domain"]["bp_rp0_err"]
    prot = 10 ** rng.uniform(plo - 0.2, phi + 0.2, n)
    colour = rng.uniform(clo - 0.2, chi + 0.2, n)
    err = rng.uniform(elo / 2, ehi * 1.2, n)
    prot[:4], colour[4:7], err[7:11] = [np.nan, -1.0, 0.0, np.inf], [np.nan, np.inf, -np.inf], [np.nan, 0.0, -0.1, np.inf]
    return pd.DataFrame({"prot_days": prot, "bp_rp0": colour, "bp_rp0_err": err})


def run_raw(path, frame):
    feed = {k: frame[k].tolist() for k in frame}  # Python's json writes NaN and Infinity
    res = subprocess.run([sys.executable, "-c", RAW_ONNX, str(path)], input=json.dumps(feed), capture_output=True,
                         text=True, timeout=120, cwd="/", env={**os.environ, "PYTHONPATH": ""})
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


def estimate_csv(frame, *args):
    res = run_cli("estimate", "-", "-q", *args, input=frame.to_csv(index=False))
    assert res.returncode == 0, res.stderr
    return pd.read_csv(io.StringIO(res.stdout))


def test_every_onnx_file_carries_the_card():
    import onnxruntime as ort

    c = card()
    files = sorted(MODELS.glob("*.onnx"))
    assert {f.name for f in files} >= {"gyroage-density.onnx", "gyroage-posterior.onnx"}
    assert set(c["files"]) == {f.name for f in files}
    for f in files:
        meta = ort.InferenceSession(str(f), providers=["CPUExecutionProvider"]).get_modelmeta().custom_metadata_map
        embedded = json.loads(meta["gyroage_model_card"])
        assert "files" not in embedded
        for key in DEFINING:
            assert embedded[key] == c[key], (f.name, key)


def test_posterior_graph_reproduces_estimate_without_gyroage():
    frame = stars()
    raw = run_raw(MODELS / "gyroage-posterior.onnx", frame)
    ref = estimate_csv(frame, "--exact-grid")  # the graph evaluates every grid point
    ok = np.array(raw["ok"])
    assert list(ok) == list(ref["status"] == "ok")
    assert 100 < ok.sum() < len(frame) - 11  # both valid and out-of-domain stars were exercised
    q = np.array(raw["q"])
    assert np.all(q[~ok] == -1) and np.all(np.isnan(ref.loc[~ok, QUANTILE_COLUMNS].to_numpy()))
    dex = np.abs(np.log10(q[ok]) - np.log10(ref.loc[ok, QUANTILE_COLUMNS].to_numpy()))
    # estimate writes 6 significant digits (<= 2.2e-6 dex of rounding); the graph must agree to 1e-4 dex.
    assert dex.max() <= 1e-4, dex.max()
    assert np.abs(np.log10(np.array(raw["map"])[ok]) - np.log10(ref.loc[ok, "age_map_myr"])).max() <= 1e-4
    # The default (refined grid) gives the same medians well within the 0.01 dex the grid is held to.
    fast = estimate_csv(frame)
    assert np.abs(np.log10(q[ok][:, 2]) - np.log10(fast.loc[ok, "age_p50_myr"].to_numpy())).max() <= 3e-3
    grid, post = np.array(raw["grid"]), np.array(raw["post"])
    g = raw["card"]["age_grid"]
    assert len(grid) == g["n"] and grid[0] == pytest.approx(g["log10_age_min"]) and grid[-1] == pytest.approx(g["log10_age_max"])
    assert np.allclose(np.trapezoid(post[ok], grid, axis=1), 1.0, atol=1e-9)


def test_posterior_graph_regenerates_from_density_and_card(tmp_path):
    """``gyroage export --posterior-only --out DIR`` rebuilds the graph from the density ONNX + card alone."""
    pytest.importorskip("onnx")
    d = tmp_path / "m"
    d.mkdir()
    for name in ("gyroage-density.onnx", "gyroage-model.json"):
        shutil.copy(MODELS / name, d / name)
    c = json.loads((d / "gyroage-model.json").read_text())
    c["outlier"]["weight"] = 0.2  # a different mixture must change the graph's answers
    c["files"].pop("gyroage-posterior.onnx", None)
    (d / "gyroage-model.json").write_text(json.dumps(c))
    res = subprocess.run([sys.executable, "-m", "gyroage.cli", "export", "--posterior-only", "--out", str(d)],
                         capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert res.returncode == 0, res.stderr
    assert "gyroage-posterior.onnx" in json.loads((d / "gyroage-model.json").read_text())["files"]
    frame = stars(60, seed=3)
    raw = run_raw(d / "gyroage-posterior.onnx", frame)
    ref = estimate_csv(frame, "--model", str(d), "--exact-grid")
    ok = np.array(raw["ok"])
    assert ok.sum() > 20
    assert np.abs(np.log10(np.array(raw["q"])[ok]) - np.log10(ref.loc[ok, QUANTILE_COLUMNS].to_numpy())).max() <= 1e-4
    shipped = estimate_csv(frame)
    assert not np.allclose(shipped.loc[ok, "age_p97.5_myr"], ref.loc[ok, "age_p97.5_myr"])


NODE_DIR = ROOT / "examples" / "node"


def node_runtime() -> str | None:
    node = shutil.which("node")
    if node is None:
        return None
    probe = subprocess.run([node, "-e", "require.resolve('onnxruntime-node')"], cwd=NODE_DIR, capture_output=True, timeout=60)
    return node if probe.returncode == 0 else None


def test_posterior_graph_from_javascript():
    node = node_runtime()
    if node is None:
        pytest.skip("node or onnxruntime-node not installed (cd examples/node && npm install --ignore-scripts)")
    frame = stars(80, seed=5)
    csv = frame.to_csv(index=False, na_rep="nan")
    res = subprocess.run([node, "posterior.js", str(MODELS / "gyroage-posterior.onnx")], input=csv, capture_output=True,
                         text=True, cwd=NODE_DIR, timeout=120)
    assert res.returncode == 0, res.stderr
    got = pd.read_csv(io.StringIO(res.stdout))
    ref = estimate_csv(frame, "--exact-grid")  # the graph evaluates every grid point
    assert len(got) == len(frame)
    ok = (ref["status"] == "ok").to_numpy()
    assert list(got["ok"]) == list(ok)
    dex = np.abs(np.log10(got.loc[ok, QUANTILE_COLUMNS].to_numpy()) - np.log10(ref.loc[ok, QUANTILE_COLUMNS].to_numpy()))
    assert dex.max() <= 1e-4


def test_export_writes_the_posterior_graph_and_its_hash(tmp_path, monkeypatch):
    """``gyroage export`` (export_model) regenerates the posterior graph; the flow's graph is the shipped one."""
    pytest.importorskip("torch")
    import onnx

    from gyroage.build import export
    from gyroage.core.modelcard import ModelCard, load_card, sha256

    monkeypatch.setattr(export, "build_density", lambda model: onnx.load(str(MODELS / "gyroage-density.onnx")))
    monkeypatch.setattr(export, "parity", lambda *a, **k: 0.0)
    c = ModelCard.from_dict(card())
    c.files = {}
    export.export_model(None, tmp_path, c)
    written, _ = load_card(tmp_path)  # verifies every listed file's SHA-256
    assert set(written.files) == {"gyroage-density.onnx", "gyroage-posterior.onnx"}
    assert written.files["gyroage-posterior.onnx"]["sha256"] == sha256(tmp_path / "gyroage-posterior.onnx")
    frame = stars(40, seed=7)
    a, b = run_raw(tmp_path / "gyroage-posterior.onnx", frame), run_raw(MODELS / "gyroage-posterior.onnx", frame)
    assert a["ok"] == b["ok"] and np.allclose(a["q"], b["q"], rtol=1e-12)


def test_posterior_graph_and_api_take_zero_stars(model):
    import onnxruntime as ort

    s = ort.InferenceSession(str(MODELS / "gyroage-posterior.onnx"), providers=["CPUExecutionProvider"])
    empty = np.zeros(0)
    out = dict(zip([o.name for o in s.get_outputs()], s.run(None, dict.fromkeys(("prot_days", "bp_rp0", "bp_rp0_err"), empty))))
    assert out["posterior"].shape == (0, card()["age_grid"]["n"]) and out["age_quantiles_myr"].shape == (0, 5)
    post = model.posterior([], [])
    assert post.pdf.shape[0] == 0 and len(post.to_frame()) == 0 and post.summaries()["age_p50_myr"].shape == (0,)
