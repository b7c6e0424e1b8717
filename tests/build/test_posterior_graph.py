"""Self-describing ONNX files and the posterior graph, used as another language would: onnxruntime alone."""

import io
import json
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from gyroage.core.grid_cdf import trapezoid
from tests.conftest import ROOT, run_cli

MODELS = ROOT / "models"
QUANTILE_COLUMNS = ["age_p2.5_myr", "age_p16_myr", "age_p50_myr", "age_p84_myr", "age_p97.5_myr"]
# Parts of the card that define the numbers a graph computes; they must match what the graph carries.
DEFINING = ("normalisation", "domain", "outlier", "default_bp_rp0_err", "flow", "age_grid", "training", "calibration")
# The graph's flags bit mask: bit i is the i-th name (gyroage.statuses.FLAG_ORDER).
FLAG_BITS = ("colour_blue_of_kraft_break", "period_outside_training", "age_outside_training", "likely_outlier",
             "pre_main_sequence_age", "above_main_sequence")
# estimate's caution for a colour error beyond the trained range (bit 7): no graph sets it (README, embedding)
COLOUR_ERR_FLAG = "colour_err_beyond_training"
# A card's sequence domain and calibration for the tests, so that they never need the catalogue: the
# domain is gyroage.build.sequence_domain.sequence_domain of the default catalogue (2026-12-01), with the ages of
# the reddest bin removed (a colour no cluster reaches: all of a posterior lies outside).
SEQUENCE = {
    "colour_edges": [0.0, 0.2, 0.4, 0.6, 0.8, 1.0, 1.2, 1.4, 1.6, 1.8, 2.0, 2.2, 2.4, 2.6, 2.8, 3.0, 3.2, 3.4, 3.6,
                     3.8, 4.0, 4.2, 4.4],
    "log10_age_min": [7.011, 7.056, 7.102, 7.102, 7.011, 6.951, 7.054, 7.006, 7.006, 7.006, 7.006, 7.006, 7.006, 7.006,
                      6.405, 6.238, 6.238, 6.35, 7.006, 6.271, 7.006, None],
    "log10_age_max": [8.866, 9.002, 9.002, 9.588, 9.588, 9.588, 9.588, 9.588, 9.588, 9.588, 9.588, 9.588, 9.588, 8.856,
                      8.856, 8.856, 8.856, 8.856, 7.987, 7.006, 7.006, None],
    "log10_prot_min": [-1.23, -1.506, -1.072, -0.66, -0.772, -0.72, -0.732, -0.748, -0.691, -0.722, -0.738, -0.772,
                       -0.924, -0.819, -0.845, -0.97, -0.967, -1.082, -0.941, -0.924, -0.761, -0.62],
    "log10_prot_max": [1.499, 1.459, 1.459, 1.495, 1.595, 1.57, 1.571, 1.539, 2.144, 2.241, 2.216, 2.235, 2.149, 1.614,
                       1.518, 1.49, 1.444, 1.512, 1.432, 1.258, 1.24, 1.21],
    "period_age_slope": [-0.918, -0.804, -0.301, 0.503, 0.596, 0.471, 0.39, 0.425, 0.508, 0.751, 0.945, 1.172, 1.283,
                         1.962, None, None, None, None, None, None, None, None],
    "kraft_break_bp_rp0": 0.6,
}
# Widths by colour (a row per colour knot), so that the graph's blend of kernels by hat weights is exercised.
CALIBRATION = {"log10_age_knots": [7.0, 8.0, 9.0, 9.6], "colour_knots": [0.7, 1.2, 2.0],
               "sigma_dex": [[0.0, 0.05, 0.15, 0.25], [0.0, 0.3, 0.02, 0.05], [0.0, 0.6, 0.5, 0.5]]}

# Run in a fresh interpreter so that nothing of gyroage can be imported by accident. Every input the graph declares is
# fed from the frame's column of that name; outputs come back by name (NaN as -1), with the embedded card.
RAW_ONNX = r"""
import json, sys
import numpy as np
import onnxruntime as ort
path, src = sys.argv[1], json.loads(sys.stdin.read())
sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
feed = {i.name: np.asarray(src[i.name], dtype=np.float64) for i in sess.get_inputs()}
out = dict(zip([o.name for o in sess.get_outputs()], sess.run(None, feed)))
assert not [m for m in sys.modules if m.split(".")[0] in ("gyroage", "torch")]
meta = sess.get_modelmeta().custom_metadata_map
json.dump({**{k: np.where(np.isnan(v), -1, v).tolist() if v.dtype.kind == "f" else v.tolist() for k, v in out.items()},
           "card": json.loads(meta["gyroage_model_card"])}, sys.stdout)
"""


def defining(c, key):
    """``c[key]``; a card written before calibrations existed has none, as ``{}`` says."""
    return c.get(key, {}) if key == "calibration" else c[key]


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


def flag_text(bits):
    """The graph's flags bit masks as gyroage estimate's ``age_flags`` column."""
    return [";".join(name for i, name in enumerate(FLAG_BITS) if b >> i & 1) for b in bits]


def excess_colour_sigma(frame):
    """Each row's colour error beyond the training colours' (as the grid method marginalises it), from the card alone."""
    c = card()
    err = np.clip(np.where(np.isnan(frame["bp_rp0_err"]), c["default_bp_rp0_err"], frame["bp_rp0_err"]),
                  *c["domain"]["bp_rp0_err"])
    return np.sqrt(np.maximum(err ** 2 - c["default_bp_rp0_err"] ** 2, 0.0))


def export_posterior(d, changes=None):
    """A model directory ``d`` with the shipped density graph and card (``changes`` applied), its posterior graph
    rebuilt by ``gyroage export --posterior-only``."""
    d.mkdir(exist_ok=True)
    for name in ("gyroage-density.onnx", "gyroage-model.json"):
        shutil.copy(MODELS / name, d / name)
    c = json.loads((d / "gyroage-model.json").read_text())
    if changes is not None:
        changes(c)
    c["files"].pop("gyroage-posterior.onnx", None)
    (d / "gyroage-model.json").write_text(json.dumps(c))
    res = subprocess.run([sys.executable, "-m", "gyroage.cli", "export", "--posterior-only", "--out", str(d)],
                         capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert res.returncode == 0, res.stderr
    assert "gyroage-posterior.onnx" in json.loads((d / "gyroage-model.json").read_text())["files"]
    return d


def with_sequence_and_calibration(c):
    c["domain"]["sequence"] = SEQUENCE
    c["calibration"] = CALIBRATION


@pytest.fixture(scope="module")
def domain_model(tmp_path_factory):
    """The shipped flow with a card carrying ``domain.sequence`` and ``calibration`` (SEQUENCE, CALIBRATION)."""
    pytest.importorskip("onnx")
    return export_posterior(tmp_path_factory.mktemp("domain") / "m", with_sequence_and_calibration)


def run_raw(path, frame):
    feed = {k: frame[k].tolist() for k in frame}  # Python's json writes NaN and Infinity
    res = subprocess.run([sys.executable, "-c", RAW_ONNX, str(path)], input=json.dumps(feed), capture_output=True,
                         text=True, timeout=120, cwd="/", env={**os.environ, "PYTHONPATH": ""})
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


def estimate_csv(frame, *args):
    """``gyroage estimate``'s table, its ``age_flags`` without the caution colour_err_beyond_training, which no graph
    sets (they clip the colour error without a word; README), kept as a column ``colour_err_flagged`` instead."""
    res = run_cli("estimate", "-", "-q", *args, input=frame.to_csv(index=False))
    assert res.returncode == 0, res.stderr
    out = pd.read_csv(io.StringIO(res.stdout), dtype={"status": str, "age_flags": str}, keep_default_na=False,
                      na_values={c: [""] for c in (*QUANTILE_COLUMNS, "age_map_myr", "p_outlier")})
    flags = out["age_flags"].str.split(";")
    out["colour_err_flagged"] = flags.map(lambda f: COLOUR_ERR_FLAG in f)
    out["age_flags"] = flags.map(lambda f: ";".join(n for n in f if n != COLOUR_ERR_FLAG))
    return out


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
            assert defining(embedded, key) == defining(c, key), (f.name, key)


@pytest.mark.parametrize("which", ["shipped", "sequence_and_calibration"])
def test_posterior_graph_reproduces_estimate_without_gyroage(which, request):
    """Ages, p_outlier, statuses and flags as ``gyroage estimate --exact-grid``, for the shipped card and for one
    with a sequence domain and a calibration kernel."""
    d = MODELS if which == "shipped" else request.getfixturevalue("domain_model")
    frame = stars()
    raw = run_raw(d / "gyroage-posterior.onnx", frame)
    ref = estimate_csv(frame, "--model", str(d), "--exact-grid")  # the graph evaluates every grid point
    ok, extrapolated = np.array(raw["ok"]), np.array(raw["extrapolated"])
    assert list(ok) == list(ref["status"] == "ok")
    assert list(extrapolated) == list(ref["status"] == "extrapolated")
    assert flag_text(raw["age_flags"]) == list(ref["age_flags"])
    dated = ok | extrapolated  # both carry ages
    # estimate's caution for a colour error the grid clips to the trained range's upper end (the graph clips it too)
    beyond = dated & (frame["bp_rp0_err"].to_numpy() > card()["domain"]["bp_rp0_err"][1])
    assert list(ref["colour_err_flagged"]) == list(beyond) and beyond.sum() > 5
    assert 100 < dated.sum() < len(frame) - 11  # both valid and out-of-domain stars were exercised
    # colour errors beyond the training colours' are marginalised over (Gauss-Hermite nodes), in both node tiers
    sigma = excess_colour_sigma(frame)[dated]
    assert ((sigma > 0.02) & (sigma <= 0.05)).sum() >= 3 and (sigma > 0.05).sum() > 50
    if "sequence" in raw["card"]["domain"]:
        assert ok.sum() > 20 and extrapolated.sum() > 20
        # every flag exercised, but above_main_sequence: it needs magnitudes (test_posterior_graph_mag.py)
        assert {f for fs in ref["age_flags"] for f in fs.split(";") if f} == set(FLAG_BITS) - {"above_main_sequence"}
    else:  # no sequence domain: nothing is extrapolated; likely_outlier and pre_main_sequence_age alone may be flagged
        assert not extrapolated.any() and all(b in (0, 8, 16, 24) for b in raw["age_flags"])
        assert 16 in raw["age_flags"]
    q = np.array(raw["age_quantiles_myr"])
    assert np.all(q[~dated] == -1) and np.all(np.isnan(ref.loc[~dated, QUANTILE_COLUMNS].to_numpy()))
    dex = np.abs(np.log10(q[dated]) - np.log10(ref.loc[dated, QUANTILE_COLUMNS].to_numpy()))
    # estimate writes 6 significant digits (<= 2.2e-6 dex of rounding); the graph must agree to 1e-4 dex.
    assert dex.max() <= 1e-4, dex.max()
    assert np.abs(np.log10(np.array(raw["age_map_myr"])[dated]) - np.log10(ref.loc[dated, "age_map_myr"])).max() <= 1e-4
    p_out = np.array(raw["p_outlier"])
    assert np.all(p_out[~dated] == -1) and np.all(np.isnan(ref.loc[~dated, "p_outlier"]))
    assert np.abs(p_out[dated] - ref.loc[dated, "p_outlier"]).max() <= 1e-4
    assert (p_out[dated] > 0.5).any() and (p_out[dated] < 0.1).any()  # likely and unlikely outliers
    # The default (refined grid) gives the same medians well within the 0.01 dex the grid is held to; stars
    # whose colour is marginalised over nodes (refined more loosely: they are averaged) within the 0.02 dex
    # that the grid and MCMC methods are held to.
    fast = estimate_csv(frame, "--model", str(d))
    miss = np.abs(np.log10(q[:, 2]) - np.log10(fast["age_p50_myr"].to_numpy()))
    one_node = excess_colour_sigma(frame) <= 0.02
    assert miss[dated & one_node].max() <= 3e-3
    assert miss[dated & ~one_node].max() <= 0.02
    grid, post = np.array(raw["log10_age_grid"]), np.array(raw["posterior"])
    g = raw["card"]["age_grid"]
    assert len(grid) == g["n"] and grid[0] == pytest.approx(g["log10_age_min"]) and grid[-1] == pytest.approx(g["log10_age_max"])
    assert np.allclose(trapezoid(post[dated], grid, axis=1), 1.0, atol=1e-9)
    assert np.all(post[~dated] == -1)


def test_posterior_graph_regenerates_from_density_and_card(tmp_path):
    """``gyroage export --posterior-only --out DIR`` rebuilds the graph from the density ONNX + card alone."""
    pytest.importorskip("onnx")

    def changes(c):
        c["outlier"]["weight"] = 0.2  # a different mixture must change the graph's answers (p_outlier) ...
        c["calibration"] = {"log10_age_knots": [7.0, 9.6], "sigma_dex": [0.1, 0.3]}  # ... and a calibration its ages

    d = export_posterior(tmp_path / "m", changes)
    frame = stars(60, seed=3)
    raw = run_raw(d / "gyroage-posterior.onnx", frame)
    ref = estimate_csv(frame, "--model", str(d), "--exact-grid")
    ok = np.array(raw["ok"]) | np.array(raw["extrapolated"])
    assert ok.sum() > 20
    assert np.abs(np.log10(np.array(raw["age_quantiles_myr"])[ok]) - np.log10(ref.loc[ok, QUANTILE_COLUMNS].to_numpy())).max() <= 1e-4
    assert np.abs(np.array(raw["p_outlier"])[ok] - ref.loc[ok, "p_outlier"]).max() <= 1e-4
    shipped = estimate_csv(frame)
    assert not np.allclose(shipped.loc[ok, "age_p97.5_myr"], ref.loc[ok, "age_p97.5_myr"])
    assert not np.allclose(shipped.loc[ok, "p_outlier"], ref.loc[ok, "p_outlier"])


NODE_DIR = ROOT / "examples" / "node"


def node_runtime() -> str | None:
    node = shutil.which("node")
    if node is None:
        return None
    probe = subprocess.run([node, "-e", "require.resolve('onnxruntime-node')"], cwd=NODE_DIR, capture_output=True, timeout=60)
    return node if probe.returncode == 0 else None


def test_posterior_graph_from_javascript(domain_model):
    node = node_runtime()
    if node is None:
        pytest.skip("node or onnxruntime-node not installed (cd examples/node && npm install --ignore-scripts)")
    frame = stars(80, seed=5)
    csv = frame.to_csv(index=False, na_rep="nan")
    res = subprocess.run([node, "posterior.js", str(domain_model / "gyroage-posterior.onnx")], input=csv,
                         capture_output=True, text=True, cwd=NODE_DIR, timeout=120)
    assert res.returncode == 0, res.stderr
    got = pd.read_csv(io.StringIO(res.stdout), dtype={"status": str, "age_flags": str}, keep_default_na=False,
                      na_values={c: [""] for c in (*QUANTILE_COLUMNS, "age_map_myr", "p_outlier")})
    ref = estimate_csv(frame, "--model", str(domain_model), "--exact-grid")  # the graph evaluates every grid point
    assert len(got) == len(frame)
    ok = (ref["status"] == "ok").to_numpy()
    dated = ok | (ref["status"] == "extrapolated").to_numpy()
    assert list(got["ok"]) == list(ok)
    assert list(got["status"][dated]) == list(ref["status"][dated]) and list(got["age_flags"]) == list(ref["age_flags"])
    assert ok.any() and (dated & ~ok).any()
    dex = np.abs(np.log10(got.loc[dated, QUANTILE_COLUMNS].to_numpy()) - np.log10(ref.loc[dated, QUANTILE_COLUMNS].to_numpy()))
    assert dex.max() <= 1e-4
    assert np.abs(got.loc[dated, "p_outlier"] - ref.loc[dated, "p_outlier"]).max() <= 1e-4


def js_constant(name: str):
    """The JSON literal of ``const NAME = ...;`` in examples/node/posterior.js."""
    m = re.search(rf"^const {name} = (.*?);$", (NODE_DIR / "posterior.js").read_text(), re.S | re.M)
    assert m, f"no const {name} in posterior.js"
    return json.loads(m.group(1))


def test_node_example_mirrors_gyroages_flags_and_column_names():
    """posterior.js names every flag bit (age_beyond_prior_bound was missing) and reads only names gyroage estimate
    reads as the same quantity (its list mirrors gyroage/columns.py's). No node needed."""
    from gyroage import statuses
    from gyroage.columns import column_role

    assert js_constant("FLAG_BITS") == list(statuses.FLAG_ORDER)
    aliases = js_constant("ALIASES")
    assert set(aliases) == {"prot_days", "bp_rp0", "bp_rp0_err", "abs_g0", "abs_g0_err"}
    for graph_input, names in aliases.items():
        quantity = "prot" if graph_input == "prot_days" else graph_input
        assert {n: getattr(column_role(n), "name", None) for n in names} == dict.fromkeys(names, quantity)


def test_node_example_units_mirror_gyroages():
    """posterior.js reads the units in a name that gyroage estimate reads, with columns.py's factors. No node needed."""
    from gyroage.columns import UNITS

    units = js_constant("UNITS")
    assert {u: tuple(v) for u, v in units.items()} == {u: UNITS[u] for u in units}
    assert {u for u, (kind, _) in UNITS.items() if kind in ("period", "magnitude")} <= set(units)


def test_node_example_refuses_only_the_units_gyroage_refuses_or_converts():
    """posterior.js refused `Prot (TESS)` ("names the unit 'TESS'"), a bracketed label gyroage estimate passes over
    (columns.py _unit_role: not a unit): a bracketed word on a period is now refused only when it is a time unit
    estimate converts and posterior.js does not (TIME_UNIT, as columns.py _days reads them), or a unit of another
    quantity; any other label is passed over as estimate does. The rules are checked without node; node, when
    installed, runs them too (onnxruntime-node stubbed)."""
    import astropy.units as u

    from gyroage.columns import UNITS, _days, column_role

    time_unit = re.compile("".join(js_constant("TIME_UNIT_PARTS")))  # the same syntax in both

    def js_bare(unit: str) -> bool:  # posterior.js isBareTime
        return bool(time_unit.match(unit) or (len(unit) > 2 and unit.endswith("s") and time_unit.match(unit[:-1]))
                    or re.fullmatch(r"(?:[kmun\u00b5\u03bc]?sec|m?jd)", unit, re.IGNORECASE))

    def js_time(unit: str) -> bool:  # posterior.js isTime: a scaled or powered time unit too
        core = re.sub(r"^[0-9.]+(?:[eE][-+]?[0-9]+)?\s*", "", unit)
        return js_bare(re.sub(r"\^\s*[-+]?[0-9.]+$", "", core))

    names = {n for unit in u.get_current_unit_registry().all_units if unit.is_equivalent(u.day) for n in unit.names}
    names |= {"sec", "mins", "secs", "yrs", "years", "weeks", "days", "hours", "minutes", "seconds", "Myrs", "Gyrs"}
    assert [n for n in sorted(names) if _days(n) is not None and not js_time(n)] == []
    labels = ["TESS", "K2", "Kepler", "ZTF", "lit", "ref", "ASAS-SN", "phot", "this work", "Gaia", "P1", "mean",
              "McQuillan", "S19", "LS", "ACF", "best", "adopted", "spec", "x"]
    # review V3: units estimate converts that the rule above missed (so posterior.js passed the column over)
    for unit in ("JD", "ksec", "msec", "2d", "0.5d", "10s", "h^1"):
        assert _days(unit) is not None and js_time(unit), unit
    for label in labels:
        assert _days(label) is None and not js_time(label), label
        assert column_role(f"Prot ({label})") is None and column_role(f"BPRP_0 [{label}]") is None, label
    prefixes = ["", "q", "r", "y", "z", "a", "f", "p", "n", "u", "\u00b5", "\u03bc", "m", "c", "d", "da", "h", "k", "M",
                "G", "T", "P", "E", "Z", "Y", "R", "Q"]
    for unit in (p + b for p in prefixes for b in ("s", "min", "h", "hr", "d", "a", "yr")):
        assert not js_time(unit) or _days(unit) is not None or unit.lower() in UNITS, unit
    node = shutil.which("node")
    if node is None:
        return
    for header, refused in (("Prot,BPRP_0,Prot (TESS)", False), ("Prot (TESS),Prot,BPRP_0", False),
                            ("Prot [s],BPRP_0", True), ("Prot [Myr],BPRP_0", True), ("Prot [mag],BPRP_0", True),
                            ("Prot [0.5d],BPRP_0", True), ("Prot (K2),Prot,BPRP_0", False)):
        res = stub_node(node, f"{header}\n5,1.0,5.1\n")
        if refused:
            assert res.returncode == 2 and "names the unit" in res.stderr, (header, res.stderr)
        else:
            assert res.returncode == 0 and "read prot_days from 'Prot', bp_rp0 from 'BPRP_0'" in res.stderr, (
                header, res.stderr)


# onnxruntime-node stood in for by a graph that only reports which columns fed it: the column rules run in node
_STUB = """
const Module = require("module");
const load = Module._load;
Module._load = function (request, ...rest) {
  if (request !== "onnxruntime-node") return load.call(this, request, ...rest);
  return {Tensor: class { constructor(type, data) { this.data = data; } },
          InferenceSession: {create: async () => ({inputNames: ["prot_days", "bp_rp0", "bp_rp0_err"], outputNames: [],
                                                   run: async () => process.exit(0)})}};
};
"""


def stub_node(node: str, csv: str) -> subprocess.CompletedProcess:
    return subprocess.run([node, "-e", _STUB + "require('./posterior.js');"], input=csv, capture_output=True,
                          text=True, cwd=NODE_DIR, timeout=60)


def run_node(node: str, graph, csv: str) -> subprocess.CompletedProcess:
    return subprocess.run([node, "posterior.js", str(graph)], input=csv, capture_output=True, text=True, cwd=NODE_DIR,
                          timeout=120)


@pytest.mark.parametrize("name", ["synthetic_stars.csv", "field_stars.csv"])
def test_node_example_reads_the_projects_own_catalogs(name, tmp_path):
    """synthetic_stars.csv (Prot, BPRP_0, e_BPRP_0) was read as all NaN with exit 0, and its ids were dropped: the
    columns are now found as gyroage estimate finds them, every input column comes out as it came in, and the ages
    are estimate's (--exact-grid: the graph evaluates every grid point), empty cells where estimate's are."""
    node = node_runtime()
    if node is None:
        pytest.skip("node or onnxruntime-node not installed (cd examples/node && npm install --ignore-scripts)")
    path = ROOT / "catalogs" / "examples" / name
    res = run_node(node, MODELS / "gyroage-posterior.onnx", path.read_text())
    assert res.returncode == 0, res.stderr
    assert "read prot_days from '" in res.stderr and "bp_rp0 from '" in res.stderr
    got = pd.read_csv(io.StringIO(res.stdout), dtype=str, keep_default_na=False)
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert list(got.columns[: raw.shape[1]]) == list(raw.columns)
    assert (got.iloc[:, : raw.shape[1]].to_numpy() == raw.to_numpy()).all()
    # the graph has no period error input: estimate reads the file without its period error column
    exact = tmp_path / name
    raw.drop(columns=[c for c in raw.columns if c in ("prot_err_days", "e_Prot")]).to_csv(exact, index=False)
    ref = pd.read_csv(io.StringIO(run_cli("estimate", str(exact), "-q", "--exact-grid", "-o", "-").stdout), dtype=str,
                      keep_default_na=False)
    assert len(got) == len(ref) and list(got["status"]) == list(ref["status"]) and list(got["age_flags"]) == list(ref["age_flags"])
    for c in (*QUANTILE_COLUMNS, "age_map_myr", "p_outlier"):
        assert list(got[c] == "") == list(ref[c] == "")
        dated = ref[c] != ""
        assert dated.any()
        assert np.abs(got.loc[dated, c].astype(float) - ref.loc[dated, c].astype(float)).max() \
            <= 1e-5 * ref.loc[dated, c].astype(float).abs().max()


def test_node_example_refuses_a_missing_column_in_one_line():
    node = node_runtime()
    if node is None:
        pytest.skip("node or onnxruntime-node not installed (cd examples/node && npm install --ignore-scripts)")
    res = run_node(node, MODELS / "gyroage-posterior.onnx", "id,rotation,BPRP_0\nx,12,1.0\n")
    assert res.returncode == 2 and res.stdout == ""
    assert res.stderr.strip().splitlines() == [res.stderr.strip()] and "missing column prot_days" in res.stderr


def test_node_example_reads_a_spreadsheets_csv():
    """A BOM, CRLF line ends and a quoted id holding a comma: the header comes out without the BOM, the id as it came
    in (quoted again), the unit-less names matched (Prot [d] is a period in days; e_Prot is not read)."""
    node = node_runtime()
    if node is None:
        pytest.skip("node or onnxruntime-node not installed (cd examples/node && npm install --ignore-scripts)")
    res = run_node(node, MODELS / "gyroage-posterior.onnx",
                   '\ufeffName,Prot [d],e_Prot,BP-RP0\r\n"a, b",12,1,1.0\r\nc,abc,1,1.0\r\n')
    assert res.returncode == 0, res.stderr
    assert "prot_days from 'Prot [d]'" in res.stderr and "bp_rp0 from 'BP-RP0'" in res.stderr
    assert res.stdout.startswith("Name,Prot [d],e_Prot,BP-RP0,ok,")
    got = pd.read_csv(io.StringIO(res.stdout), dtype=str, keep_default_na=False)
    assert list(got.columns[:5]) == ["Name", "Prot [d]", "e_Prot", "BP-RP0", "ok"]
    assert list(got["Name"]) == ["a, b", "c"] and list(got["status"]) == ["ok", ""]
    assert got.loc[1, "age_p50_myr"] == "" and float(got.loc[0, "age_p50_myr"]) > 0


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
    assert set(written.files) == {"gyroage-density.onnx", "gyroage-posterior.onnx", "gyroage-posterior-mag.onnx"}
    assert written.files["gyroage-posterior.onnx"]["sha256"] == sha256(tmp_path / "gyroage-posterior.onnx")
    frame = stars(40, seed=7)
    a, b = run_raw(tmp_path / "gyroage-posterior.onnx", frame), run_raw(MODELS / "gyroage-posterior.onnx", frame)
    assert a["ok"] == b["ok"] and np.allclose(a["age_quantiles_myr"], b["age_quantiles_myr"], rtol=1e-12)
    assert a["extrapolated"] == b["extrapolated"] and a["age_flags"] == b["age_flags"]
    assert np.allclose(a["p_outlier"], b["p_outlier"], rtol=1e-12)


def test_posterior_graph_and_api_take_zero_stars(model, domain_model):
    import onnxruntime as ort

    for d in (MODELS, domain_model):
        s = ort.InferenceSession(str(d / "gyroage-posterior.onnx"), providers=["CPUExecutionProvider"])
        empty = np.zeros(0)
        feed = dict.fromkeys(("prot_days", "bp_rp0", "bp_rp0_err"), empty)
        out = dict(zip([o.name for o in s.get_outputs()], s.run(None, feed)))
        assert out["posterior"].shape == (0, card()["age_grid"]["n"]) and out["age_quantiles_myr"].shape == (0, 5)
        assert out["p_outlier"].shape == out["age_flags"].shape == out["extrapolated"].shape == (0,)
    post = model.posterior([], [])
    assert post.pdf.shape[0] == 0 and len(post.to_frame()) == 0 and post.summaries()["age_p50_myr"].shape == (0,)


def test_posterior_graph_without_wide_colour_errors(domain_model):
    """No star over the colour-error threshold (no Gauss-Hermite rows at all) and one star alone."""
    frame = stars(40, seed=11)
    frame["bp_rp0_err"] = np.nan  # the card's default: nothing to marginalise
    for f in (frame, frame.iloc[20:21]):
        raw = run_raw(domain_model / "gyroage-posterior.onnx", f)
        ref = estimate_csv(f, "--model", str(domain_model), "--exact-grid")
        dated = np.array(raw["ok"]) | np.array(raw["extrapolated"])
        assert list(dated) == list(ref["status"].isin(["ok", "extrapolated"])) and flag_text(raw["age_flags"]) == list(ref["age_flags"])
        if dated.any():
            dex = np.abs(np.log10(np.array(raw["age_quantiles_myr"])[dated]) - np.log10(ref.loc[dated, QUANTILE_COLUMNS].to_numpy()))
            assert dex.max() <= 1e-4


def test_node_example_reads_numbers_units_and_clashing_names_as_estimate():
    """Number() read 0x10 as 16 d (estimate: invalid_period), 0b11 and 0o17 too; an input column named status came out
    twice in the header (estimate writes input_status); Period [d] was refused and Prot_h not read, which estimate
    reads (converting hours). The node example now reads decimal numbers only, renames clashing input columns by
    estimate's rule, and reads a name's unit as estimate does (refusing a unit of another quantity)."""
    node = node_runtime()
    if node is None:
        pytest.skip("node or onnxruntime-node not installed (cd examples/node && npm install --ignore-scripts)")
    csv = ("id,Period [d],BPRP_0 [mmag],status,input_status\n"
           "a,0x10,1000,x,y\nb,0b11,1000,x,y\nc,0o17,1000,x,y\nd,1_0,1000,x,y\ne,1e1,1000,x,y\nf,.5e1,1200,,\n")
    res = run_node(node, MODELS / "gyroage-posterior.onnx", csv)
    assert res.returncode == 0, res.stderr
    assert "prot_days from 'Period [d]'" in res.stderr and "'BPRP_0 [mmag]' (mmag, converted to mag)" in res.stderr
    got = pd.read_csv(io.StringIO(res.stdout), dtype=str, keep_default_na=False)
    ref = pd.read_csv(io.StringIO(run_cli("estimate", "-", "-q", "--exact-grid", "-o", "-", input=csv).stdout),
                      dtype=str, keep_default_na=False)
    assert list(got.columns[:5]) == list(ref.columns[:5]) == ["id", "Period [d]", "BPRP_0 [mmag]", "input_status",
                                                               "input_input_status"]
    assert list(ref["status"]) == ["invalid_period"] * 4 + ["ok"] * 2
    assert list(got["status"]) == [""] * 4 + ["ok"] * 2
    for c in (*QUANTILE_COLUMNS, "age_map_myr"):
        assert list(got[c] == "") == list(ref[c] == "")
        dated = ref[c] != ""
        np.testing.assert_allclose(got.loc[dated, c].astype(float), ref.loc[dated, c].astype(float), rtol=1e-5)
    hours = run_node(node, MODELS / "gyroage-posterior.onnx", "Prot_h,bp_rp0\n240,1.0\n")
    days = run_node(node, MODELS / "gyroage-posterior.onnx", "Prot,bp_rp0\n10,1.0\n")
    assert hours.returncode == 0 and "(h, converted to d)" in hours.stderr
    assert hours.stdout.splitlines()[1].split(",")[2:] == days.stdout.splitlines()[1].split(",")[2:]
    wrong = run_node(node, MODELS / "gyroage-posterior.onnx", "Prot [mag],bp_rp0\n10,1.0\n")
    assert wrong.returncode == 2 and wrong.stdout == "" and wrong.stderr.count("\n") == 1
    assert "column 'Prot [mag]' names the unit 'mag'" in wrong.stderr
