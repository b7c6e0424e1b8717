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
    if len(grid) < 3:
        raise ValueError("the age grid needs at least 3 points")
    names = tuple(i.name for i in density.graph.input)
    if sorted(names) != sorted(DENSITY_INPUTS) or [o.name for o in density.graph.output] != [DENSITY_OUTPUT]:
        raise ValueError(f"not a gyroage density graph: inputs {names}")
    b = _Builder(grid)
    prot, colour, err = GRAPH_DOC["inputs"]
    lp, ok, e_clip = b.check_stars(prot, colour, err, card)
    ll = b.log_likelihood(density, lp, colour, e_clip, card)
    # The default prior (uniform in log age over the grid) is zero on the grid; kept as a
    # tensor so another prior is a one-array change.
    pdf = b.normalise(b.op("Add", ll, b.const(np.zeros((1, len(grid))))))
    ok_col = b.op("Unsqueeze", ok, b.axis1)
    b.op("Where", ok_col, b.quantiles_myr(pdf), b.nan, out="age_quantiles_myr")
    b.op("Where", ok_col, pdf, b.nan, out="posterior")
    b.op("Where", ok, b.map_myr(pdf), b.nan, out="age_map_myr")
    b.op("Identity", b.g_grid, out="log10_age_grid")
    return _model(b.g, density, len(grid))


class _Builder:
    """The posterior graph's stages over one age grid; each mirrors the numpy function it names."""

    def __init__(self, grid: np.ndarray) -> None:
        self.grid, self.n = grid, len(grid)
        self.g = Graph(np.float64)
        self.op, self.const = self.g.op, self.g.const
        self.zero, self.one, self.half, self.two, self.six, self.ten, self.nan = (
            self.const(v) for v in (0.0, 1.0, 0.5, 2.0, 6.0, 10.0, np.nan))
        self.i0, self.i1, self.imax = self.i64(0), self.i64(1), self.i64(self.n - 2)
        self.axis1, self.axis2, self.minus1 = self.i64([1]), self.i64([2]), self.i64([-1])
        self.g_grid, self.dx = self.const(grid), self.const(np.diff(grid)[None, :])

    def i64(self, v) -> str:
        return self.const(v, np.int64)

    def tail(self, v: str) -> str:  # v[:, 1:]
        return self.op("Slice", v, self.i64([1]), self.i64([self.n + 1]), self.axis1)

    def head(self, v: str) -> str:  # v[:, :-1]
        return self.op("Slice", v, self.i64([0]), self.minus1, self.axis1)

    def between(self, v: str, lo: float, hi: float) -> str:
        return self.op("And", self.op("GreaterOrEqual", v, self.const(lo)), self.op("LessOrEqual", v, self.const(hi)))

    def finite_positive(self, v: str) -> str:  # false for NaN, 0, negatives and +-inf
        return self.op("And", self.op("Not", self.op("IsInf", v)), self.op("Greater", v, self.zero))

    def check_stars(self, prot: str, colour: str, err: str, card: ModelCard) -> tuple[str, str, str]:
        """(log10 period, the "ok" status, colour error as used): gyroage.core.stars.check_stars."""
        op, const, dom = self.op, self.const, card.domain
        lp = op("Div", op("Log", prot), const(np.log(10.0)))
        ok_p = op("And", self.finite_positive(prot), self.between(lp, *dom["log10_prot"]))
        ok_c = self.between(colour, *dom["bp_rp0"])  # false for NaN and +-inf (outside any finite range)
        e_nan = op("IsNaN", err)
        ok = op("And", op("And", ok_p, ok_c), op("Or", e_nan, self.finite_positive(err)), out="ok")
        # colour error: NaN -> card default, then clipped to the trained range
        e_fill = op("Where", e_nan, const(card.default_bp_rp0_err), err)
        e_clip = op("Min", op("Max", e_fill, const(dom["bp_rp0_err"][0])), const(dom["bp_rp0_err"][1]))
        return lp, ok, e_clip

    def log_likelihood(self, density: onnx.ModelProto, lp: str, colour: str, err: str, card: ModelCard) -> str:
        """Stars x grid, flattened into the density graph's (prefixed) inputs, float32 as FlowDensity feeds it."""
        op, i64 = self.op, self.i64
        ng_shape = op("Concat", op("Shape", lp), i64([self.n]), axis=0)
        for src, name in ((lp, "log10_prot"), (colour, "bp_rp0"), (err, "bp_rp0_err")):
            op("Reshape", op("Expand", op("Unsqueeze", op("Cast", src, to=F), self.axis1), ng_shape), self.minus1,
               out=PREFIX + name)
        op("Reshape", op("Expand", self.const(self.grid[None, :], np.float32), ng_shape), self.minus1,
           out=PREFIX + "log10_age")
        dens = compose.add_prefix(density, PREFIX)
        self.g.nodes += dens.graph.node
        self.g.inits += dens.graph.initializer
        ll = op("Cast", op("Reshape", PREFIX + DENSITY_OUTPUT, i64([-1, self.n])), to=D)
        weight = float(card.outlier["weight"])
        if weight <= 0:
            return ll
        # log((1-w) p_flow + w p_out), as gyroage.core.density.mix_outlier, rounded to float32 as there
        outlier = self.const(np.log(weight) + outlier_log_density(card.outlier["log10_prot_range"]))
        mix_a = op("Add", ll, self.const(np.log1p(-weight)))
        mix_m = op("Max", mix_a, outlier)
        mix = op("Add", mix_m, op("Log", op("Add", op("Exp", op("Sub", mix_a, mix_m)),
                                                 op("Exp", op("Sub", outlier, mix_m)))))
        return op("Cast", op("Cast", mix, to=F), to=D)

    def normalise(self, logpost: str) -> str:
        """gyroage.core.posterior.normalise: pdf per dex (trapezoid rule)."""
        op = self.op
        peak_raw = op("ReduceMax", logpost, self.axis1, keepdims=1)
        peak_bad = op("Or", op("IsInf", peak_raw), op("IsNaN", peak_raw))
        p = op("Exp", op("Sub", logpost, op("Where", peak_bad, self.zero, peak_raw)))
        p_trap = op("Div", op("Mul", self.dx, op("Add", self.tail(p), self.head(p))), self.two)
        return op("Div", p, op("ReduceSum", p_trap, self.axis1, keepdims=1))

    def quantiles_myr(self, pdf: str) -> str:
        """gyroage.core.posterior.cdf, then quantiles linear in the CDF, in Myr."""
        op, i1 = self.op, self.i1
        f_seg = op("Mul", op("Mul", self.half, op("Add", self.tail(pdf), self.head(pdf))), self.dx)
        c_raw = op("Pad", op("CumSum", f_seg, i1), self.i64([0, 1, 0, 0]))
        c = op("Div", c_raw, op("Slice", c_raw, self.minus1, self.i64([self.n + 1]), self.axis1))
        g_qs = self.const(np.asarray(QUANTILES, dtype=np.float64))
        below = op("Cast", op("Less", op("Unsqueeze", c, self.axis2), g_qs), to=I64)
        j = op("Min", op("Max", op("Sub", op("ReduceSum", below, self.axis1, keepdims=0), i1), self.i0), self.imax)
        j1 = op("Add", j, i1)
        c0, c1 = op("GatherElements", c, j, axis=1), op("GatherElements", c, j1, axis=1)
        t_raw = op("Div", op("Sub", g_qs, c0), op("Sub", c1, c0))
        t = op("Min", op("Max", op("Where", op("Greater", c1, c0), t_raw, self.zero), self.zero), self.one)
        g0, g1 = op("Gather", self.g_grid, j), op("Gather", self.g_grid, j1)
        return op("Pow", self.ten, op("Sub", op("Add", g0, op("Mul", t, op("Sub", g1, g0))), self.six))

    def map_myr(self, pdf: str) -> str:
        """gyroage.core.posterior.map_estimate (parabolic refinement), in Myr."""
        op, i1, two, zero = self.op, self.i1, self.two, self.zero
        edge_k = op("ArgMax", pdf, axis=1, keepdims=1)
        k = op("Min", op("Max", edge_k, i1), self.imax)
        y0, y1, y2 = (op("GatherElements", pdf, kk, axis=1) for kk in (op("Sub", k, i1), k, op("Add", k, i1)))
        denom = op("Add", op("Sub", y0, op("Mul", y1, two)), y2)
        shift_raw = op("Div", op("Mul", self.half, op("Sub", y0, y2)), denom)
        shift = op("Min", op("Max", op("Where", op("Less", denom, zero), shift_raw, zero), self.const(-1.0)), self.one)
        x_ref = op("Add", op("Gather", self.g_grid, k), op("Mul", shift, self.const(self.grid[1] - self.grid[0])))
        at_edge = op("Or", op("Equal", edge_k, self.i0), op("Equal", edge_k, self.i64(self.n - 1)))
        map_log = op("Squeeze", op("Where", at_edge, op("Gather", self.g_grid, edge_k), x_ref), self.axis1)
        return op("Pow", self.ten, op("Sub", map_log, self.six))


def _model(g: Graph, density: onnx.ModelProto, n_grid: int) -> onnx.ModelProto:
    """The checked ONNX model: the builder's nodes with the documented inputs and outputs."""
    star = ["n_stars"]
    inputs = [helper.make_tensor_value_info(n, D, star) for n in GRAPH_DOC["inputs"]]
    outputs = [
        helper.make_tensor_value_info("ok", B, star),
        helper.make_tensor_value_info("log10_age_grid", D, [n_grid]),
        helper.make_tensor_value_info("posterior", D, ["n_stars", n_grid]),
        helper.make_tensor_value_info("age_quantiles_myr", D, ["n_stars", len(QUANTILES)]),
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
