"""The density graph, laid out by hand: the flow of :mod:`gyroage.build.flow` in plain ONNX, built from its weights.

Same function as ``ConditionalFlow.forward`` (parity is checked at export), in
a layout onnxruntime runs fast on a CPU: every tensor is ``[features, n]``
(rows are parameters, columns are evaluations), so each node is a long,
contiguous, vectorised loop. A graph exported from torch keeps ``[n,
features]``: its softmax, cumsum, gather and softplus nodes then loop over
rows of 7-9 numbers and cost about 3x more than the matrix products
(docs/performance.md). Here:

- input normalisation is folded into the first layer;
- the conditioner is three ``Gemm`` nodes on transposed activations;
- the bins' softmax, exclusive cumsum and search run along axis 0;
- knots are picked with one ``GatherElements`` per spline, and the affine
  maps and the softplus run only on the values picked.

Needs ``onnx`` to build (the ``train`` extra); the graph needs only onnxruntime.
:class:`Graph` and :func:`set_metadata` also build the posterior graph
(:mod:`gyroage.build.posterior_graph`).
"""

from __future__ import annotations

import math

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from gyroage.core.modelcard import DENSITY_INPUTS, DENSITY_OUTPUT
from gyroage.files import json_text

OPSET = 18
LOG_2PI = math.log(2.0 * math.pi)
F32 = TensorProto.FLOAT


class Graph:
    """A tiny node/constant accumulator with unique names.

    ``dtype``: the type of constants given without one (float32 in the
    density graph, float64 in the posterior graph).
    """

    def __init__(self, dtype=np.float32) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self.dtype = dtype
        self._n = 0

    def _name(self, stem: str) -> str:
        self._n += 1
        return f"{stem}_{self._n}"

    def const(self, value, dtype=None, stem: str = "c") -> str:
        name = self._name(stem)
        self.inits.append(numpy_helper.from_array(np.asarray(value, dtype=dtype or self.dtype), name))
        return name

    def op(self, op_type: str, *inputs: str, outputs: int = 1, stem: str | None = None, out: str | None = None,
           **attrs):
        """Append a node; returns its output name(s). ``out`` names a single output (a graph output)."""
        outs = [out] if out is not None else [self._name(stem or op_type.lower()) for _ in range(outputs)]
        self.nodes.append(helper.make_node(op_type, list(inputs), outs, **attrs))
        return outs[0] if len(outs) == 1 else outs


def set_metadata(model: onnx.ModelProto, entries: dict[str, object]) -> None:
    """Replace the model's metadata with ``entries``, each value stored as sorted-key JSON."""
    del model.metadata_props[:]
    for key, value in entries.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, json_text(value, sort_keys=True)


def _spline(g: Graph, x: str, w: str, h: str, d: str, bins: int, bound: float, min_bin: float,
            min_deriv: float) -> tuple[str, str]:
    """(y, log|dy/dx|) of one RQ spline; ``x`` is [1, n], ``w``/``h`` [bins, n], ``d`` [bins - 1, n]."""
    scale, span = 1.0 - min_bin * bins, 2.0 * bound
    inside = g.op("And", g.op("Greater", x, g.const(-bound)), g.op("Less", x, g.const(bound)))
    xc = g.op("Clip", x, g.const(-bound), g.const(bound))
    zero_axis = g.const([0], np.int64)

    def softmax0(v: str) -> str:
        # Clipping instead of subtracting the maximum: a row-wise max costs a reduction, and the
        # conditioner's outputs stay far inside +-50 (about -4..7 even well outside the domain),
        # where exp is finite in float32 and softmax is unchanged.
        e = g.op("Exp", g.op("Clip", v, g.const(-50.0), g.const(50.0)))
        return g.op("Div", e, g.op("ReduceSum", e, zero_axis, keepdims=1))

    sw, sh = softmax0(w), softmax0(h)
    # Exclusive cumsum: row j is the left knot of bin j, as a fraction of the scaled part.
    cw = g.op("CumSum", sw, g.const(0, np.int64), exclusive=1)
    ch = g.op("CumSum", sh, g.const(0, np.int64), exclusive=1)
    # Interior knot j (1..bins-1) sits at j*min_bin + scale*cw[j] on the unit interval.
    interior = g.op("Slice", cw, g.const([1], np.int64), g.const([bins], np.int64), zero_axis)
    knots = g.op("Add", g.op("Mul", interior, g.const(scale)),
                 g.const((np.arange(1, bins) * min_bin).reshape(-1, 1)))
    xu = g.op("Mul", g.op("Add", xc, g.const(bound)), g.const(1.0 / span))
    count = g.op("ReduceSum", g.op("Cast", g.op("GreaterOrEqual", xu, knots), to=F32), zero_axis, keepdims=1)
    idx = g.op("Cast", count, to=TensorProto.INT64)  # [1, n]
    # One gather for the four bin quantities: stack them on axis 0 and pick row idx of each block.
    stacked = g.op("Concat", cw, sw, ch, sh, axis=0)
    picks = g.op("GatherElements", stacked, g.op("Add", idx, g.const(np.arange(4).reshape(-1, 1) * bins, np.int64)),
                 axis=0)  # [4, n]: cw_k, sw_k, ch_k, sh_k
    k_min = g.op("Mul", count, g.const(min_bin))
    cwk, swk, chk, shk = g.op("Split", picks, axis=0, num_outputs=4, outputs=4)
    x_k = g.op("Sub", g.op("Mul", g.op("Add", k_min, g.op("Mul", cwk, g.const(scale))), g.const(span)), g.const(bound))
    w_k = g.op("Mul", g.op("Add", g.const(min_bin), g.op("Mul", swk, g.const(scale))), g.const(span))
    y_k = g.op("Sub", g.op("Mul", g.op("Add", k_min, g.op("Mul", chk, g.const(scale))), g.const(span)), g.const(bound))
    h_k = g.op("Mul", g.op("Add", g.const(min_bin), g.op("Mul", shk, g.const(scale))), g.const(span))
    # Derivatives: interior knots from d (rows idx-1 and idx), the outer two are 1 (smooth identity tails).
    rows = g.op("Clip", g.op("Add", idx, g.const([[-1], [0]], np.int64)), g.const(0, np.int64),
                g.const(bins - 2, np.int64))
    z = g.op("GatherElements", d, rows, axis=0)  # [2, n]
    # softplus(z) = max(z, 0) + log(1 + exp(-|z|)): vectorised, no overflow.
    sp = g.op("Add", g.op("Relu", z), g.op("Log", g.op("Add", g.op("Exp", g.op("Neg", g.op("Abs", z))), g.const(1.0))))
    dd = g.op("Add", sp, g.const(min_deriv))
    edge = g.op("Equal", g.op("Add", idx, g.const([[0], [1]], np.int64)), g.const([[0], [bins]], np.int64))
    d_k, d_k1 = g.op("Split", g.op("Where", edge, g.const(1.0), dd), axis=0, num_outputs=2, outputs=2)
    s = g.op("Div", h_k, w_k)
    t = g.op("Div", g.op("Sub", xc, x_k), w_k)
    omt = g.op("Sub", g.const(1.0), t)
    t1 = g.op("Mul", t, omt)
    tt = g.op("Mul", t, t)
    two_s = g.op("Add", s, s)
    denom = g.op("Add", s, g.op("Mul", g.op("Sub", g.op("Add", d_k1, d_k), two_s), t1))
    y = g.op("Add", y_k, g.op("Div", g.op("Mul", h_k, g.op("Add", g.op("Mul", s, tt), g.op("Mul", d_k, t1))), denom))
    num = g.op("Mul", g.op("Mul", s, s), g.op("Add", g.op("Add", g.op("Mul", d_k1, tt), g.op("Mul", two_s, t1)),
                                               g.op("Mul", d_k, g.op("Mul", omt, omt))))
    logdet = g.op("Log", g.op("Div", num, g.op("Mul", denom, denom)))
    return g.op("Where", inside, y, x), g.op("Where", inside, logdet, g.const(0.0))


def _residual(g: Graph, prot: str, age: str, colour: str, coef: list[float]) -> str:
    """gyroage.build.reference_law.shift: log10 Prot - m(log10 age, colour), a shift (Jacobian 1)."""
    from gyroage.build.reference_law import COLOUR_RANGE

    n, b0, b1, b2 = (float(c) for c in coef[:4])
    if len(coef) == 5:  # the law's onset a0: m uses max(log10 age, a0)
        age = g.op("Max", age, g.const(float(coef[4])))
    x = g.op("Sub", g.op("Clip", colour, g.const(COLOUR_RANGE[0]), g.const(COLOUR_RANGE[1])), g.const(1.0))
    m = g.op("Add", g.op("Add", g.op("Mul", g.op("Sub", age, g.const(9.0)), g.const(n)), g.const(b0)),
             g.op("Mul", x, g.op("Add", g.const(b1), g.op("Mul", x, g.const(b2)))))
    return g.op("Sub", prot, m)


def build_density_graph(weights: dict[str, np.ndarray], config: dict, norm: dict[str, float],
                        reference: list[float] | None = None) -> onnx.ModelProto:
    """The density graph of a :class:`gyroage.build.flow.ConditionalFlow` from its state (numpy arrays).

    ``weights``: ``net.<i>.weight`` / ``net.<i>.bias`` of the conditioner's
    linear layers (``state_dict`` names); ``config``: ``FlowConfig`` as a dict;
    ``norm``: the normalisation constants; ``reference``: the coefficients of the
    spin-down law the flow models residuals about (:mod:`gyroage.build.reference_law`), if any.
    """
    g = Graph()
    n = "batch"
    inputs = [helper.make_tensor_value_info(k, F32, [n]) for k in DENSITY_INPUTS]
    prot, age, colour, err = DENSITY_INPUTS
    layers = sorted({int(k.split(".")[1]) for k in weights if k.startswith("net.")})
    w0 = np.asarray(weights[f"net.{layers[0]}.weight"], dtype=np.float64)
    b0 = np.asarray(weights[f"net.{layers[0]}.bias"], dtype=np.float64)
    # Fold the input normalisation into the first layer: W (x - m) / s + b = (W / s) x + (b - W m / s).
    feats = [(age, norm["age_mean"], norm["age_std"]), (colour, norm["colour_mean"], norm["colour_std"])]
    rows = [g.op("Unsqueeze", age, g.const([0], np.int64)), g.op("Unsqueeze", colour, g.const([0], np.int64))]
    if config.get("use_colour_err", True):
        clipped = g.op("Max", err, g.const(1e-4))
        logerr = g.op("Mul", g.op("Log", clipped), g.const(1.0 / math.log(10.0)))
        rows.append(g.op("Unsqueeze", logerr, g.const([0], np.int64)))
        feats.append((None, norm["err_mean"], norm["err_std"]))
    mean = np.array([m for _, m, _ in feats])
    std = np.array([s for _, _, s in feats])
    w_fold = w0 / std
    b_fold = b0 - w_fold @ mean
    h = g.op("Concat", *rows, axis=0)  # [features, n]
    mats = [(w_fold, b_fold)] + [(np.asarray(weights[f"net.{i}.weight"], dtype=np.float64),
                                  np.asarray(weights[f"net.{i}.bias"], dtype=np.float64)) for i in layers[1:]]
    for j, (w, b) in enumerate(mats):
        h = g.op("Gemm", g.const(w), h, g.const(b.reshape(-1, 1)))
        if j < len(mats) - 1:
            h = g.op("Mul", h, g.op("Sigmoid", h))  # SiLU
    bins, n_splines = int(config["bins"]), int(config["n_splines"])
    sizes = [1, 1] + [bins, bins, bins - 1] * n_splines
    parts = g.op("Split", h, g.const(sizes, np.int64), axis=0, outputs=len(sizes))
    shift, log_scale = parts[0], parts[1]
    target = prot if reference is None else _residual(g, prot, age, colour, reference)
    u = g.op("Mul", g.op("Sub", g.op("Unsqueeze", target, g.const([0], np.int64)), g.const(norm["prot_mean"])),
             g.const(1.0 / norm["prot_std"]))
    x = g.op("Mul", g.op("Sub", u, shift), g.op("Exp", g.op("Neg", log_scale)))
    logdet = g.op("Neg", log_scale)
    for k in range(n_splines):
        w, hh, d = parts[2 + 3 * k: 5 + 3 * k]
        x, ld = _spline(g, x, w, hh, d, bins, float(config["tail_bound"]), float(config["min_bin"]),
                        float(config["min_derivative"]))
        logdet = g.op("Add", logdet, ld)
    const = 0.5 * LOG_2PI + math.log(norm["prot_std"])
    out = g.op("Sub", g.op("Sub", logdet, g.op("Mul", g.op("Mul", x, x), g.const(0.5))), g.const(const))
    g.op("Squeeze", out, g.const([0], np.int64), out=DENSITY_OUTPUT)
    graph = helper.make_graph(g.nodes, "gyroage_density", inputs,
                              [helper.make_tensor_value_info(DENSITY_OUTPUT, F32, [n])], g.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="gyroage")
    model.ir_version = 8  # readable by onnxruntime releases from 1.10 on
    onnx.checker.check_model(model)
    return model
