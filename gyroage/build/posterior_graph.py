"""The posterior graph: per-star age posteriors from onnxruntime alone, for pipelines in any language.

Built by composing the shipped density graph with plain ONNX operators (no
torch): tile stars x the card's age grid, evaluate the flow, mix in the
outlier term, add the default prior, normalise (trapezoid rule), integrate
the CDF and interpolate quantiles linearly, exactly as
:mod:`gyroage.core.posterior` and :func:`gyroage.core.stars.check_stars` do. So it can be
regenerated from ``gyroage-density.onnx`` and the card alone::

    gyroage export --posterior-only --out models/

Needs ``onnx`` (the ``train`` extra) to build; using the result needs only an
onnxruntime in any language.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, compose, helper

from gyroage.build.density_graph import Graph, set_metadata
from gyroage.core.modelcard import (
    DENSITY_FILE,
    DENSITY_INPUTS,
    DENSITY_OUTPUT,
    METADATA_KEY,
    POSTERIOR_FILE,
    ModelCard,
    load_card,
    outlier_log_density,
    sha256,
    write_card,
)
from gyroage.core.posterior import QUANTILES, age_grid
from gyroage.errors import ModelError
from gyroage.files import atomic_path

GRAPH_KEY = "gyroage_graph"
PREFIX = "flow/"
D, F, I64, B = TensorProto.DOUBLE, TensorProto.FLOAT, TensorProto.INT64, TensorProto.BOOL

GRAPH_DOC = {
    "inputs": {
        "prot_days": "rotation period, days (float64, shape [n_stars])",
        "bp_rp0": "de-reddened Gaia DR3 (BP-RP)0, mag (float64, [n_stars])",
        "bp_rp0_err": "uncertainty of (BP-RP)0, mag (float64, [n_stars]); NaN: the card's default_bp_rp0_err; "
                      "clipped to domain.bp_rp0_err as gyroage estimate does",
    },
    "outputs": {
        "ok": "bool [n_stars]: true where gyroage estimate gives status 'ok' (valid and inside the model's domain)",
        "log10_age_grid": "float64 [n_grid]: the age grid, log10 years",
        "posterior": "float64 [n_stars, n_grid]: posterior density per dex of log10 age on the grid "
                     "(integrates to 1 by the trapezoid rule); NaN where not ok",
        "age_quantiles_myr": "float64 [n_stars, 5]: 2.5, 16, 50, 84, 97.5 percentiles of age, Myr; NaN where not ok",
        "age_map_myr": "float64 [n_stars]: maximum a posteriori age, Myr; NaN where not ok",
    },
}


def build_posterior_model(density: onnx.ModelProto, card: ModelCard) -> onnx.ModelProto:
    """The posterior graph for ``card``'s default prior, grid and outlier mixture around ``density``."""
    a = card.age_grid
    grid = age_grid(float(a["log10_age_min"]), float(a["log10_age_max"]), a["n"])
    n_grid = len(grid)
    if n_grid < 3:
        raise ValueError("the age grid needs at least 3 points")
    names = tuple(i.name for i in density.graph.input)
    if sorted(names) != sorted(DENSITY_INPUTS) or [o.name for o in density.graph.output] != [DENSITY_OUTPUT]:
        raise ValueError(f"not a gyroage density graph: inputs {names}")
    dom = card.domain
    weight = float(card.outlier["weight"])
    qs = np.asarray(QUANTILES, dtype=np.float64)

    g = Graph(np.float64)
    op, const = g.op, g.const
    i64 = lambda v: const(v, np.int64)  # noqa: E731
    zero, one, half, two, six, ten, nan = (const(v) for v in (0.0, 1.0, 0.5, 2.0, 6.0, 10.0, np.nan))
    i0, i1, imax = i64(0), i64(1), i64(n_grid - 2)
    axis1, axis2, minus1 = i64([1]), i64([2]), i64([-1])
    g_grid, dx = const(grid), const(np.diff(grid)[None, :])
    # Row slices [1:] and [:-1] along axis 1.
    tail = lambda v: op("Slice", v, i64([1]), i64([n_grid + 1]), axis1)  # noqa: E731
    head = lambda v: op("Slice", v, i64([0]), minus1, axis1)  # noqa: E731

    def between(v: str, lo: float, hi: float) -> str:
        return op("And", op("GreaterOrEqual", v, const(lo)), op("LessOrEqual", v, const(hi)))

    def finite_positive(v: str) -> str:  # false for NaN, 0, negatives and +-inf
        return op("And", op("Not", op("IsInf", v)), op("Greater", v, zero))

    # --- validation, mirroring gyroage.core.estimate.validate (the "ok" status) ---
    prot, colour, err = GRAPH_DOC["inputs"]
    lp = op("Div", op("Log", prot), const(np.log(10.0)))
    ok_p = op("And", finite_positive(prot), between(lp, *dom["log10_prot"]))
    ok_c = between(colour, *dom["bp_rp0"])  # false for NaN and +-inf (outside any finite range)
    e_nan = op("IsNaN", err)
    ok = op("And", op("And", ok_p, ok_c), op("Or", e_nan, finite_positive(err)), out="ok")
    # colour error: NaN -> card default, then clipped to the trained range
    e_fill = op("Where", e_nan, const(card.default_bp_rp0_err), err)
    e_clip = op("Min", op("Max", e_fill, const(dom["bp_rp0_err"][0])), const(dom["bp_rp0_err"][1]))

    # --- stars x grid, flattened into the density graph's (prefixed) inputs, float32 as FlowDensity feeds it ---
    ng_shape = op("Concat", op("Shape", prot), i64([n_grid]), axis=0)

    def feed(v: str, name: str) -> None:
        op("Reshape", op("Expand", v, ng_shape), minus1, out=PREFIX + name)

    for src, name in ((lp, "log10_prot"), (colour, "bp_rp0"), (e_clip, "bp_rp0_err")):
        feed(op("Unsqueeze", op("Cast", src, to=F), axis1), name)
    feed(const(grid[None, :], np.float32), "log10_age")
    dens = compose.add_prefix(density, PREFIX)
    g.nodes += dens.graph.node
    g.inits += dens.graph.initializer

    ll = op("Cast", op("Reshape", PREFIX + DENSITY_OUTPUT, i64([-1, n_grid])), to=D)
    if weight > 0:  # log((1-w) p_flow + w p_out), as gyroage.core.density.mix_outlier, rounded to float32 as there
        outlier = const(np.log(weight) + outlier_log_density(card.outlier["log10_prot_range"]))
        mix_a = op("Add", ll, const(np.log1p(-weight)))
        mix_m = op("Max", mix_a, outlier)
        mix = op("Add", mix_m, op("Log", op("Add", op("Exp", op("Sub", mix_a, mix_m)),
                                                 op("Exp", op("Sub", outlier, mix_m)))))
        ll = op("Cast", op("Cast", mix, to=F), to=D)
    # The default prior (uniform in log age over the grid) is zero on the grid; kept as a
    # tensor so another prior is a one-array change.
    logpost = op("Add", ll, const(np.zeros((1, n_grid))))

    # --- normalise (gyroage.core.posterior.normalise) ---
    peak_raw = op("ReduceMax", logpost, axis1, keepdims=1)
    peak_bad = op("Or", op("IsInf", peak_raw), op("IsNaN", peak_raw))
    p = op("Exp", op("Sub", logpost, op("Where", peak_bad, zero, peak_raw)))
    p_trap = op("Div", op("Mul", dx, op("Add", tail(p), head(p))), two)
    pdf = op("Div", p, op("ReduceSum", p_trap, axis1, keepdims=1))
    # --- CDF (gyroage.core.posterior.cdf) ---
    f_seg = op("Mul", op("Mul", half, op("Add", tail(pdf), head(pdf))), dx)
    c_raw = op("Pad", op("CumSum", f_seg, i1), i64([0, 1, 0, 0]))
    c = op("Div", c_raw, op("Slice", c_raw, minus1, i64([n_grid + 1]), axis1))
    # --- quantiles, linear in the CDF (gyroage.core.posterior.quantiles) ---
    g_qs = const(qs)
    below = op("Cast", op("Less", op("Unsqueeze", c, axis2), g_qs), to=I64)
    j = op("Min", op("Max", op("Sub", op("ReduceSum", below, axis1, keepdims=0), i1), i0), imax)
    j1 = op("Add", j, i1)
    c0, c1 = op("GatherElements", c, j, axis=1), op("GatherElements", c, j1, axis=1)
    t_raw = op("Div", op("Sub", g_qs, c0), op("Sub", c1, c0))
    t = op("Min", op("Max", op("Where", op("Greater", c1, c0), t_raw, zero), zero), one)
    g0, g1 = op("Gather", g_grid, j), op("Gather", g_grid, j1)
    q_myr = op("Pow", ten, op("Sub", op("Add", g0, op("Mul", t, op("Sub", g1, g0))), six))
    ok_col = op("Unsqueeze", ok, axis1)
    op("Where", ok_col, q_myr, nan, out="age_quantiles_myr")
    op("Where", ok_col, pdf, nan, out="posterior")
    # --- MAP with parabolic refinement (gyroage.core.posterior.map_estimate) ---
    edge_k = op("ArgMax", pdf, axis=1, keepdims=1)
    k = op("Min", op("Max", edge_k, i1), imax)
    y0, y1, y2 = (op("GatherElements", pdf, kk, axis=1) for kk in (op("Sub", k, i1), k, op("Add", k, i1)))
    denom = op("Add", op("Sub", y0, op("Mul", y1, two)), y2)
    shift_raw = op("Div", op("Mul", half, op("Sub", y0, y2)), denom)
    shift = op("Min", op("Max", op("Where", op("Less", denom, zero), shift_raw, zero), const(-1.0)), one)
    x_ref = op("Add", op("Gather", g_grid, k), op("Mul", shift, const(grid[1] - grid[0])))
    at_edge = op("Or", op("Equal", edge_k, i0), op("Equal", edge_k, i64(n_grid - 1)))
    map_log = op("Squeeze", op("Where", at_edge, op("Gather", g_grid, edge_k), x_ref), axis1)
    op("Where", ok, op("Pow", ten, op("Sub", map_log, six)), nan, out="age_map_myr")
    op("Identity", g_grid, out="log10_age_grid")

    star = ["n_stars"]
    inputs = [helper.make_tensor_value_info(n, D, star) for n in GRAPH_DOC["inputs"]]
    outputs = [
        helper.make_tensor_value_info("ok", B, star),
        helper.make_tensor_value_info("log10_age_grid", D, [n_grid]),
        helper.make_tensor_value_info("posterior", D, ["n_stars", n_grid]),
        helper.make_tensor_value_info("age_quantiles_myr", D, ["n_stars", len(qs)]),
        helper.make_tensor_value_info("age_map_myr", D, star),
    ]
    graph = helper.make_graph(g.nodes, "gyroage_posterior", inputs, outputs, initializer=g.inits)
    for v in outputs + inputs:
        v.doc_string = {**GRAPH_DOC["inputs"], **GRAPH_DOC["outputs"]}[v.name]
    model = helper.make_model(graph, opset_imports=list(density.opset_import), producer_name="gyroage",
                              doc_string="gyroage age posteriors: " + json.dumps(GRAPH_DOC))
    model.ir_version = density.ir_version
    onnx.checker.check_model(model)
    return model


def graph_doc(card: ModelCard) -> dict:
    """What the posterior graph computes, stored in its metadata under ``gyroage_graph``."""
    return {**GRAPH_DOC, "quantile_levels": list(QUANTILES), "age_grid": card.age_grid,
            "prior": "uniform in log10 age over the grid", "outlier": card.outlier,
            "algorithm": "gyroage.core.posterior: trapezoid normalisation and CDF, quantiles linear in the CDF"}


def embed_metadata(model: onnx.ModelProto, card: ModelCard) -> None:
    set_metadata(model, {METADATA_KEY: card.to_dict(include_files=False), GRAPH_KEY: graph_doc(card)})


def write_posterior(density_path: str | Path, card: ModelCard, path: str | Path) -> Path:
    """Build the posterior graph from a density ONNX file and its card; write it atomically to ``path``."""
    path = Path(path)
    model = build_posterior_model(onnx.load(str(density_path)), card)
    embed_metadata(model, card)
    return save_atomic(model, path)


def save_atomic(model: onnx.ModelProto, path: str | Path) -> Path:
    """Write ``model`` to ``path`` atomically: never a half-written graph."""
    with atomic_path(path, suffix=".tmp") as tmp:
        onnx.save(model, str(tmp))
    return Path(path)


def regenerate(model_dir: str | Path) -> Path:
    """Rebuild ``gyroage-posterior.onnx`` in ``model_dir`` from its density graph and card; rewrite the card."""
    model_dir = Path(model_dir)
    card, _ = load_card(model_dir, verify=False)
    # The density graph must be the one the card describes; the posterior graph is derived from it.
    if sha256(model_dir / DENSITY_FILE) != card.files.get(DENSITY_FILE, {}).get("sha256"):
        raise ModelError(f"{model_dir / DENSITY_FILE} does not match its card (SHA-256 differs)")
    write_posterior(model_dir / DENSITY_FILE, card, model_dir / POSTERIOR_FILE)
    write_card(card, model_dir)  # hashes every graph in the directory, the new one included
    return model_dir / POSTERIOR_FILE
