"""The posterior graph with magnitudes (gyroage-posterior-mag.onnx), used as another language would: onnxruntime
alone, against ``gyroage estimate --exact-grid`` on the same stars with ``abs_g0`` and ``abs_g0_err``."""

import io
import subprocess

import numpy as np
import pandas as pd
import pytest

from tests.build.test_posterior_graph import (
    MODELS,
    NODE_DIR,
    QUANTILE_COLUMNS,
    card,
    estimate_csv,
    flag_text,
    node_runtime,
    run_raw,
    stars,
)

MAG_GRAPH = MODELS / "gyroage-posterior-mag.onnx"

def run(path, frame):
    """:func:`run_raw` (a fresh interpreter, onnxruntime alone) with arrays."""
    return {k: np.array(v) for k, v in run_raw(path, frame).items() if k != "card"}


def with_magnitudes(frame, seed=0):
    """``frame`` plus absolute magnitudes from 1.5 mag below to 4 mag above the card's main sequence (its term
    silent beyond -1 and 3.5), and errors from 0 to 0.7 mag (silent over 0.5), with unknown and bad values mixed in."""
    term = card()["main_sequence"]["term"]
    rng = np.random.default_rng(seed)
    n = len(frame)
    colour = np.nan_to_num(frame["bp_rp0"].to_numpy(), nan=1.5, posinf=1.5, neginf=1.5)
    abs_g = np.interp(colour, term["ms_colour"], term["ms_mag"]) - rng.uniform(-1.5, 4.0, n)
    err = rng.uniform(0.0, 0.7, n)
    abs_g[20:30] = np.nan
    err[30:40] = np.nan
    err[40:44] = [-0.1, np.inf, -np.inf, np.nan]
    return frame.assign(abs_g0=abs_g, abs_g0_err=err)


@pytest.fixture(scope="module")
def compared():
    """(frame, the graph's outputs, estimate's with the same magnitudes, the rotation graph's outputs)."""
    frame = with_magnitudes(stars(300, seed=2))
    return (frame, run(MAG_GRAPH, frame), estimate_csv(frame, "--exact-grid"),
            run(MODELS / "gyroage-posterior.onnx", frame[["prot_days", "bp_rp0", "bp_rp0_err"]]))


def test_magnitude_graph_reproduces_estimate(compared):
    frame, raw, ref, _ = compared
    assert list(raw["ok"]) == list(ref["status"] == "ok")
    assert list(raw["extrapolated"]) == list(ref["status"] == "extrapolated")
    assert flag_text(raw["age_flags"]) == list(ref["age_flags"])
    dated = raw["ok"] | raw["extrapolated"]
    assert 100 < dated.sum() < len(frame) - 11
    above = ref["age_flags"].str.contains("above_main_sequence")
    assert 10 < above.sum() < dated.sum() - 10  # the flag is set for some stars and not others
    # estimate writes 6 significant digits; the graph must agree to 1e-4 dex
    dex = np.abs(np.log10(raw["age_quantiles_myr"][dated]) - np.log10(ref.loc[dated, QUANTILE_COLUMNS].to_numpy()))
    assert dex.max() <= 1e-4, dex.max()
    assert np.abs(np.log10(raw["age_map_myr"][dated]) - np.log10(ref.loc[dated, "age_map_myr"])).max() <= 1e-4
    assert np.abs(raw["p_outlier"][dated] - ref.loc[dated, "p_outlier"]).max() <= 1e-4
    height = raw["ms_height_mag"]
    ref_height = pd.to_numeric(ref["ms_height_mag"], errors="coerce").to_numpy()  # "" where the term is silent
    # estimate writes no height on a row without an age; the shipped graph does where the term applies (README)
    informed = (height != -1) & dated
    assert list(informed) == list(~np.isnan(ref_height))
    assert np.abs(height[informed] - ref_height[informed]).max() <= 1e-5
    assert 50 < (informed & dated).sum() < dated.sum() - 50  # the term informed some stars and not others


def test_magnitude_graph_dates_informed_stars_by_their_height(compared):
    """Stars the term informs get other ages than from rotation alone (a graph ignoring magnitudes fails here);
    the others get the rotation graph's ages exactly."""
    _, raw, _, rotation = compared
    dated = raw["ok"] | raw["extrapolated"]
    informed = (raw["ms_height_mag"] != -1) & dated
    moved = np.abs(np.log10(raw["age_quantiles_myr"][informed, 2] / rotation["age_quantiles_myr"][informed, 2]))
    assert np.median(moved) > 0.05
    rest = dated & ~informed
    assert np.allclose(raw["age_quantiles_myr"][rest], rotation["age_quantiles_myr"][rest], rtol=1e-12, atol=0)
    assert np.allclose(raw["p_outlier"][rest], rotation["p_outlier"][rest], rtol=1e-12, atol=0)


def test_magnitude_graph_without_magnitudes_is_the_rotation_graph():
    frame = stars(60, seed=4).assign(abs_g0=np.nan, abs_g0_err=np.nan)
    raw = run(MAG_GRAPH, frame)
    rotation = run(MODELS / "gyroage-posterior.onnx", frame[["prot_days", "bp_rp0", "bp_rp0_err"]])
    assert np.all(raw["ms_height_mag"] == -1)
    assert list(raw["ok"]) == list(rotation["ok"]) and list(raw["age_flags"]) == list(rotation["age_flags"])
    assert np.allclose(raw["age_quantiles_myr"], rotation["age_quantiles_myr"], rtol=1e-12, atol=0)
    assert np.allclose(raw["posterior"], rotation["posterior"], rtol=1e-9, atol=1e-12)


def test_magnitude_graph_takes_zero_stars():
    import onnxruntime as ort

    s = ort.InferenceSession(str(MAG_GRAPH), providers=["CPUExecutionProvider"])
    feed = dict.fromkeys(("prot_days", "bp_rp0", "bp_rp0_err", "abs_g0", "abs_g0_err"), np.zeros(0))
    out = dict(zip([o.name for o in s.get_outputs()], s.run(None, feed)))
    assert out["posterior"].shape == (0, card()["age_grid"]["n"]) and out["ms_height_mag"].shape == (0,)


def test_magnitude_graph_from_javascript(compared):
    """examples/node/posterior.js feeds every input the graph declares and writes ms_height_mag when it has one."""
    node = node_runtime()
    if node is None:
        pytest.skip("node or onnxruntime-node not installed (cd examples/node && npm install --ignore-scripts)")
    frame, _, ref, _ = compared
    res = subprocess.run([node, "posterior.js", str(MAG_GRAPH)], input=frame.to_csv(index=False, na_rep="nan"),
                         capture_output=True, text=True, cwd=NODE_DIR, timeout=120)
    assert res.returncode == 0, res.stderr
    got = pd.read_csv(io.StringIO(res.stdout), dtype={"status": str, "age_flags": str}, keep_default_na=False,
                      na_values={c: [""] for c in (*QUANTILE_COLUMNS, "age_map_myr", "p_outlier", "ms_height_mag")})
    dated = ref["status"].isin(["ok", "extrapolated"]).to_numpy()
    assert list(got["status"][dated]) == list(ref["status"][dated]) and list(got["age_flags"]) == list(ref["age_flags"])
    dex = np.abs(np.log10(got.loc[dated, QUANTILE_COLUMNS].to_numpy()) - np.log10(ref.loc[dated, QUANTILE_COLUMNS].to_numpy()))
    assert dex.max() <= 1e-4
    ref_height = pd.to_numeric(ref["ms_height_mag"], errors="coerce").to_numpy()
    assert list(got["ms_height_mag"].isna()) == list(np.isnan(ref_height))  # posterior.js: only on dated rows
    assert np.nanmax(np.abs(got["ms_height_mag"].to_numpy() - ref_height)) <= 1e-5


def test_the_height_description_says_what_the_graph_gives_on_undated_rows():
    """The graph gives heights on rows it does not date (a bad or out-of-domain period), where estimate leaves the
    column empty; its description said "NaN elsewhere" (review V41 2). Exports now say so; the shipped graph's
    embedded text predates that (the models are not re-exported), and README says which to believe."""
    import json

    import onnxruntime as ort

    from gyroage.build.main_sequence_graph import MAGNITUDE_DOC

    s = ort.InferenceSession(str(MAG_GRAPH), providers=["CPUExecutionProvider"])
    term = card()["main_sequence"]["term"]
    prot, colour = np.array([-3.0, 0.0, np.inf, 500.0, 10.0]), np.full(5, 1.8)  # the term's colours: 1.2-3.7
    feed = {"prot_days": prot, "bp_rp0": colour, "bp_rp0_err": np.full(5, np.nan),
            "abs_g0": np.interp(colour, term["ms_colour"], term["ms_mag"]) - 1.0, "abs_g0_err": np.full(5, 0.1)}
    out = dict(zip([o.name for o in s.get_outputs()], s.run(None, feed)))
    dated = out["ok"] | out["extrapolated"]
    assert list(dated) == [False] * 4 + [True] and np.isfinite(out["ms_height_mag"]).all()
    text = MAGNITUDE_DOC["outputs"]["ms_height_mag"]
    assert "neither ok nor extrapolated" in text and "read it only where ok or extrapolated" in text
    embedded = json.loads(s.get_modelmeta().custom_metadata_map["gyroage_graph"])["outputs"]["ms_height_mag"]
    row = next(line for line in (MODELS.parent / "README.md").read_text().splitlines()
               if line.startswith("| output `ms_height_mag`"))
    if embedded != text:  # the shipped graph's own text is stale until the next export: README says so
        assert "NaN elsewhere" in embedded and "shipped graph's embedded description" in row
