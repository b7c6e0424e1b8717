"""The posterior graph: per-star age posteriors from onnxruntime alone, for pipelines in any language.

Built by composing the shipped density graph with plain ONNX operators (no
torch): tile stars x the card's age grid, evaluate the flow, mix in the
outlier term, add the default prior, normalise (trapezoid rule), integrate
the CDF and interpolate quantiles linearly, exactly as
:mod:`gyroage.posterior` and :func:`gyroage.estimate.validate` do. So it can be
regenerated from ``gyroage-density.onnx`` and the card alone::

    python -m gyroage.export_posterior models/

Needs ``onnx`` (the ``train`` extra) to build; using the result needs only an
onnxruntime in any language.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, compose, helper, numpy_helper

from gyroage.errors import ModelError
from gyroage.modelcard import (
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
from gyroage.posterior import QUANTILES

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


def _const(name: str, value, dtype=np.float64) -> onnx.TensorProto:
    return numpy_helper.from_array(np.asarray(value, dtype=dtype), name)


def build_posterior_model(density: onnx.ModelProto, card: ModelCard) -> onnx.ModelProto:
    """The posterior graph for ``card``'s default prior, grid and outlier mixture around ``density``."""
    g = card.age_grid
    grid = np.linspace(float(g["log10_age_min"]), float(g["log10_age_max"]), int(g["n"]))
    n_grid = len(grid)
    if n_grid < 3:
        raise ValueError("the age grid needs at least 3 points")
    names = tuple(i.name for i in density.graph.input)
    if sorted(names) != sorted(DENSITY_INPUTS) or [o.name for o in density.graph.output] != [DENSITY_OUTPUT]:
        raise ValueError(f"not a gyroage density graph: inputs {names}")
    dom = card.domain
    weight = float(card.outlier["weight"])
    qs = np.asarray(QUANTILES, dtype=np.float64)

    init = [
        _const("ln10", np.log(10.0)), _const("six", 6.0), _const("ten", 10.0), _const("zero", 0.0),
        _const("one", 1.0), _const("half", 0.5), _const("nan", np.nan), _const("neg_one", -1.0),
        _const("default_err", card.default_bp_rp0_err),
        _const("err_lo", dom["bp_rp0_err"][0]), _const("err_hi", dom["bp_rp0_err"][1]),
        _const("prot_lo", dom["log10_prot"][0]), _const("prot_hi", dom["log10_prot"][1]),
        _const("col_lo", dom["bp_rp0"][0]), _const("col_hi", dom["bp_rp0"][1]),
        _const("grid", grid), _const("grid_row32", grid[None, :], np.float32),
        _const("dx", np.diff(grid)[None, :]), _const("dx0", grid[1] - grid[0]),
        # The default prior (uniform in log age over the grid) is zero on the grid; kept as a
        # tensor so another prior is a one-array change.
        _const("log_prior", np.zeros((1, n_grid))),
        _const("qs", qs), _const("n_grid_1d", [n_grid], np.int64), _const("minus1_1d", [-1], np.int64),
        _const("shape_rows", [-1, n_grid], np.int64), _const("axis1", [1], np.int64),
        _const("axis2", [2], np.int64), _const("i0", 0, np.int64), _const("i1", 1, np.int64),
        _const("ilast", n_grid - 1, np.int64), _const("imax", n_grid - 2, np.int64),
        _const("s0", [0], np.int64), _const("s1", [1], np.int64), _const("sm1", [-1], np.int64),
        _const("sbig", [n_grid + 1], np.int64), _const("pad_front", [0, 1, 0, 0], np.int64),
        _const("log1m_w", np.log1p(-weight) if weight > 0 else 0.0),
        _const("outlier_term", np.log(weight) + outlier_log_density(card.outlier["log10_prot_range"]) if weight > 0 else 0.0),
    ]
    N = helper.make_node
    nodes = [
        # --- validation, mirroring gyroage.estimate.validate (the "ok" status) ---
        N("Log", ["prot_days"], ["ln_prot"]),
        N("Div", ["ln_prot", "ln10"], ["lp"]),
        N("IsInf", ["prot_days"], ["p_inf"]), N("Not", ["p_inf"], ["p_not_inf"]),
        N("Greater", ["prot_days", "zero"], ["p_pos"]),  # false for NaN
        N("And", ["p_not_inf", "p_pos"], ["p_valid"]),
        N("GreaterOrEqual", ["lp", "prot_lo"], ["lp_ge"]), N("LessOrEqual", ["lp", "prot_hi"], ["lp_le"]),
        N("And", ["lp_ge", "lp_le"], ["lp_in"]), N("And", ["p_valid", "lp_in"], ["ok_p"]),
        N("GreaterOrEqual", ["bp_rp0", "col_lo"], ["c_ge"]), N("LessOrEqual", ["bp_rp0", "col_hi"], ["c_le"]),
        N("And", ["c_ge", "c_le"], ["ok_c"]),  # false for NaN and +-inf (outside any finite range)
        N("IsNaN", ["bp_rp0_err"], ["e_nan"]), N("IsInf", ["bp_rp0_err"], ["e_inf"]), N("Not", ["e_inf"], ["e_not_inf"]),
        N("Greater", ["bp_rp0_err", "zero"], ["e_pos"]), N("And", ["e_not_inf", "e_pos"], ["e_valid"]),
        N("Or", ["e_nan", "e_valid"], ["ok_e"]),
        N("And", ["ok_p", "ok_c"], ["ok_pc"]), N("And", ["ok_pc", "ok_e"], ["ok"]),
        # colour error: NaN -> card default, then clipped to the trained range
        N("Where", ["e_nan", "default_err", "bp_rp0_err"], ["e_fill"]),
        N("Max", ["e_fill", "err_lo"], ["e_lo"]), N("Min", ["e_lo", "err_hi"], ["e_clip"]),
        # --- stars x grid, flattened for the density graph (float32 inside, as FlowDensity feeds it) ---
        N("Shape", ["prot_days"], ["n_1d"]),
        N("Concat", ["n_1d", "n_grid_1d"], ["ng_shape"], axis=0),
        N("Cast", ["lp"], ["lp32"], to=F), N("Cast", ["bp_rp0"], ["col32"], to=F), N("Cast", ["e_clip"], ["err32"], to=F),
    ]
    # The density graph's inputs are DENSITY_INPUTS; feed its prefixed copies.
    for src, dst in (("lp32", "log10_prot"), ("col32", "bp_rp0"), ("err32", "bp_rp0_err")):
        nodes += [N("Unsqueeze", [src, "axis1"], [f"{src}_col"]),
                  N("Expand", [f"{src}_col", "ng_shape"], [f"{src}_ng"]),
                  N("Reshape", [f"{src}_ng", "minus1_1d"], [PREFIX + dst])]
    nodes += [N("Expand", ["grid_row32", "ng_shape"], ["grid_ng"]),
              N("Reshape", ["grid_ng", "minus1_1d"], [PREFIX + "log10_age"])]

    dens = compose.add_prefix(density, PREFIX)
    nodes += list(dens.graph.node)
    init += list(dens.graph.initializer)

    nodes += [N("Reshape", [PREFIX + DENSITY_OUTPUT, "shape_rows"], ["ll_flow32"]),
              N("Cast", ["ll_flow32"], ["ll_flow"], to=D)]
    if weight > 0:  # log((1-w) p_flow + w p_out), as gyroage.density.mix_outlier, rounded to float32 as there
        nodes += [N("Add", ["ll_flow", "log1m_w"], ["mix_a"]),
                  N("Max", ["mix_a", "outlier_term"], ["mix_m"]),
                  N("Sub", ["mix_a", "mix_m"], ["mix_da"]), N("Exp", ["mix_da"], ["mix_ea"]),
                  N("Sub", ["outlier_term", "mix_m"], ["mix_db"]), N("Exp", ["mix_db"], ["mix_eb"]),
                  N("Add", ["mix_ea", "mix_eb"], ["mix_s"]), N("Log", ["mix_s"], ["mix_ls"]),
                  N("Add", ["mix_m", "mix_ls"], ["ll64"]),
                  N("Cast", ["ll64"], ["ll32"], to=F), N("Cast", ["ll32"], ["ll"], to=D)]
    else:
        nodes += [N("Identity", ["ll_flow"], ["ll"])]
    nodes += [
        N("Add", ["ll", "log_prior"], ["logpost"]),
        # --- normalise (gyroage.posterior.normalise) ---
        N("ReduceMax", ["logpost", "axis1"], ["peak_raw"], keepdims=1),
        N("IsInf", ["peak_raw"], ["peak_inf"]), N("IsNaN", ["peak_raw"], ["peak_nan"]),
        N("Or", ["peak_inf", "peak_nan"], ["peak_bad"]),
        N("Where", ["peak_bad", "zero", "peak_raw"], ["peak"]),
        N("Sub", ["logpost", "peak"], ["shifted"]), N("Exp", ["shifted"], ["p"]),
        N("Slice", ["p", "s1", "sbig", "s1"], ["p_hi"]), N("Slice", ["p", "s0", "sm1", "s1"], ["p_lo"]),
        N("Add", ["p_hi", "p_lo"], ["p_sum"]), N("Mul", ["dx", "p_sum"], ["p_dsum"]),
        N("Div", ["p_dsum", "two"], ["p_trap"]),
        N("ReduceSum", ["p_trap", "axis1"], ["norm"], keepdims=1),
        N("Div", ["p", "norm"], ["pdf"]),
        # --- CDF (gyroage.posterior.cdf) ---
        N("Slice", ["pdf", "s1", "sbig", "s1"], ["f_hi"]), N("Slice", ["pdf", "s0", "sm1", "s1"], ["f_lo"]),
        N("Add", ["f_hi", "f_lo"], ["f_sum"]), N("Mul", ["half", "f_sum"], ["f_mid"]),
        N("Mul", ["f_mid", "dx"], ["f_seg"]),
        N("CumSum", ["f_seg", "i1"], ["f_cum"]),
        N("Pad", ["f_cum", "pad_front"], ["c_raw"]),
        N("Slice", ["c_raw", "sm1", "sbig", "s1"], ["c_end"]),
        N("Div", ["c_raw", "c_end"], ["c"]),
        # --- quantiles, linear in the CDF (gyroage.posterior.quantiles) ---
        N("Unsqueeze", ["c", "axis2"], ["c3"]),
        N("Less", ["c3", "qs"], ["below"]), N("Cast", ["below"], ["below_i"], to=I64),
        N("ReduceSum", ["below_i", "axis1"], ["n_below"], keepdims=0),
        N("Sub", ["n_below", "i1"], ["j_raw"]),
        N("Max", ["j_raw", "i0"], ["j_lo"]), N("Min", ["j_lo", "imax"], ["j"]),
        N("Add", ["j", "i1"], ["j1"]),
        N("GatherElements", ["c", "j"], ["c0"], axis=1), N("GatherElements", ["c", "j1"], ["c1"], axis=1),
        N("Sub", ["qs", "c0"], ["q_num"]), N("Sub", ["c1", "c0"], ["q_den"]),
        N("Div", ["q_num", "q_den"], ["t_raw"]), N("Greater", ["c1", "c0"], ["rising"]),
        N("Where", ["rising", "t_raw", "zero"], ["t_w"]),
        N("Max", ["t_w", "zero"], ["t_lo"]), N("Min", ["t_lo", "one"], ["t"]),
        N("Gather", ["grid", "j"], ["g0"]), N("Gather", ["grid", "j1"], ["g1"]),
        N("Sub", ["g1", "g0"], ["g_d"]), N("Mul", ["t", "g_d"], ["g_off"]), N("Add", ["g0", "g_off"], ["q_log"]),
        N("Sub", ["q_log", "six"], ["q_log_myr"]), N("Pow", ["ten", "q_log_myr"], ["q_myr"]),
        N("Unsqueeze", ["ok", "axis1"], ["ok_col"]),
        N("Where", ["ok_col", "q_myr", "nan"], ["age_quantiles_myr"]),
        N("Where", ["ok_col", "pdf", "nan"], ["posterior"]),
        # --- MAP with parabolic refinement (gyroage.posterior.map_estimate) ---
        N("ArgMax", ["pdf"], ["edge_k"], axis=1, keepdims=1),
        N("Max", ["edge_k", "i1"], ["k_lo"]), N("Min", ["k_lo", "imax"], ["k"]),
        N("Sub", ["k", "i1"], ["km"]), N("Add", ["k", "i1"], ["kp"]),
        N("GatherElements", ["pdf", "km"], ["y0"], axis=1), N("GatherElements", ["pdf", "k"], ["y1"], axis=1),
        N("GatherElements", ["pdf", "kp"], ["y2"], axis=1),
        N("Mul", ["y1", "two"], ["y1x2"]), N("Sub", ["y0", "y1x2"], ["d_a"]), N("Add", ["d_a", "y2"], ["denom"]),
        N("Sub", ["y0", "y2"], ["y02"]), N("Mul", ["half", "y02"], ["hy02"]), N("Div", ["hy02", "denom"], ["shift_raw"]),
        N("Less", ["denom", "zero"], ["concave"]), N("Where", ["concave", "shift_raw", "zero"], ["shift_w"]),
        N("Max", ["shift_w", "neg_one"], ["shift_lo"]), N("Min", ["shift_lo", "one"], ["shift"]),
        N("Gather", ["grid", "k"], ["gk"]), N("Mul", ["shift", "dx0"], ["gshift"]), N("Add", ["gk", "gshift"], ["x_ref"]),
        N("Equal", ["edge_k", "i0"], ["at_lo"]), N("Equal", ["edge_k", "ilast"], ["at_hi"]),
        N("Or", ["at_lo", "at_hi"], ["at_edge"]), N("Gather", ["grid", "edge_k"], ["g_edge"]),
        N("Where", ["at_edge", "g_edge", "x_ref"], ["map_log2"]),
        N("Squeeze", ["map_log2", "axis1"], ["map_log"]),
        N("Sub", ["map_log", "six"], ["map_log_myr"]), N("Pow", ["ten", "map_log_myr"], ["map_myr"]),
        N("Where", ["ok", "map_myr", "nan"], ["age_map_myr"]),
        N("Identity", ["grid"], ["log10_age_grid"]),
    ]
    init.append(_const("two", 2.0))

    star = ["n_stars"]
    inputs = [helper.make_tensor_value_info(n, D, star) for n in GRAPH_DOC["inputs"]]
    outputs = [
        helper.make_tensor_value_info("ok", B, star),
        helper.make_tensor_value_info("log10_age_grid", D, [n_grid]),
        helper.make_tensor_value_info("posterior", D, ["n_stars", n_grid]),
        helper.make_tensor_value_info("age_quantiles_myr", D, ["n_stars", len(qs)]),
        helper.make_tensor_value_info("age_map_myr", D, star),
    ]
    graph = helper.make_graph(nodes, "gyroage_posterior", inputs, outputs, initializer=init)
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
            "algorithm": "gyroage.posterior: trapezoid normalisation and CDF, quantiles linear in the CDF"}


def embed_metadata(model: onnx.ModelProto, card: ModelCard) -> None:
    del model.metadata_props[:]
    for key, value in ((METADATA_KEY, card.to_dict(include_files=False)), (GRAPH_KEY, graph_doc(card))):
        entry = model.metadata_props.add()
        entry.key, entry.value = key, json.dumps(value, sort_keys=True)


def write_posterior(density_path: str | Path, card: ModelCard, path: str | Path) -> Path:
    """Build the posterior graph from a density ONNX file and its card; write it atomically to ``path``."""
    path = Path(path)
    model = build_posterior_model(onnx.load(str(density_path)), card)
    embed_metadata(model, card)
    with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp", delete=False) as fh:
        tmp = Path(fh.name)
    try:
        onnx.save(model, str(tmp))
        tmp.chmod(0o644)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def regenerate(model_dir: str | Path) -> Path:
    """Rebuild ``gyroage-posterior.onnx`` in ``model_dir`` from its density graph and card; rewrite the card."""
    model_dir = Path(model_dir)
    card, _ = load_card(model_dir, verify=False)
    # The density graph must be the one the card describes; the posterior graph is derived from it.
    if sha256(model_dir / DENSITY_FILE) != card.files.get(DENSITY_FILE, {}).get("sha256"):
        raise ModelError(f"{model_dir / DENSITY_FILE} does not match its card (SHA-256 differs)")
    card.files = {k: v for k, v in card.files.items() if k != POSTERIOR_FILE}
    write_posterior(model_dir / DENSITY_FILE, card, model_dir / POSTERIOR_FILE)
    write_card(card, model_dir)
    load_card(model_dir, verify=True)
    return model_dir / POSTERIOR_FILE


def main(argv: list[str] | None = None) -> int:
    """``python -m gyroage.export_posterior [MODEL_DIR]``: regenerate the posterior graph in place."""
    args = sys.argv[1:] if argv is None else argv
    try:
        print(regenerate(args[0] if args else "models"))
    except ModelError as exc:
        print(f"gyroage: error: {exc}", file=sys.stderr)
        return exc.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
