"""The posterior graph: per-star age posteriors from onnxruntime alone, for pipelines in any language.

Built by composing the shipped density graph with plain ONNX operators (no
torch): tile stars x the card's age grid, evaluate the flow (averaged over
Gauss-Hermite nodes of the true colour for stars with a colour error beyond
the training colours'), add the default prior, normalise (trapezoid rule),
take the outlier probability from the evidence, convolve with the card's
calibration kernel, integrate the CDF and interpolate quantiles linearly, and
flag stars outside the card's sequence domain, exactly as
:func:`gyroage.core.posterior.grid_posterior`, :func:`gyroage.core.estimate.star_flags`
and :func:`gyroage.core.stars.check_stars` do. So it can be regenerated from
``gyroage-density.onnx`` and the card alone::

    gyroage export --posterior-only --out models/

Needs ``onnx`` (the ``train`` extra) to build; using the result needs only an
onnxruntime in any language.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, compose, helper

from gyroage import statuses
from gyroage.build.calibration_graph import CalibrationStages
from gyroage.build.density_graph import Graph, set_metadata
from gyroage.build.graph_doc import GRAPH_DOC, GRAPH_KEY, graph_doc, graph_io
from gyroage.build.main_sequence_graph import MainSequenceStages
from gyroage.build.model_swap import staged
from gyroage.core.calibration import Calibration
from gyroage.core.domain import AGE_OUTSIDE_MAX, MAP_BEYOND_DEX, OUTLIER_FLAG_MIN, PRE_MAIN_SEQUENCE_MAX_MYR, SequenceDomain
from gyroage.core.grid_cdf import trapezoid
from gyroage.core.likelihood import COLOUR_NODE_TIERS, tier_nodes
from gyroage.core.main_sequence import AboveFlag, MainSequenceTerm
from gyroage.core.modelcard import (
    DENSITY_FILE,
    DENSITY_INPUTS,
    DENSITY_OUTPUT,
    METADATA_KEY,
    POSTERIOR_FILE,
    POSTERIOR_GRAPHS,
    POSTERIOR_MAG_FILE,
    ModelCard,
    load_card,
    outlier_log_density,
    sha256,
    write_card,
)
from gyroage.core.posterior import QUANTILES, age_grid
from gyroage.errors import ModelError
from gyroage.files import atomic_path, json_text

PREFIX = "flow/"
D, F, I64, B = TensorProto.DOUBLE, TensorProto.FLOAT, TensorProto.INT64, TensorProto.BOOL

def build_posterior_model(density: onnx.ModelProto, card: ModelCard, magnitudes: bool = False) -> onnx.ModelProto:
    """The posterior graph for ``card``'s default prior, grid, outlier weight, calibration and sequence domain.

    ``magnitudes``: with the inputs ``abs_g0`` and ``abs_g0_err`` and the card's main-sequence term (and its
    calibration for the stars the term informs), as ``gyroage estimate`` dates stars with magnitudes.
    """
    a = card.age_grid
    grid = age_grid(float(a["log10_age_min"]), float(a["log10_age_max"]), a["n"])
    if len(grid) < 3:
        raise ValueError("the age grid needs at least 3 points")
    names = tuple(i.name for i in density.graph.input)
    if sorted(names) != sorted(DENSITY_INPUTS) or [o.name for o in density.graph.output] != [DENSITY_OUTPUT]:
        raise ValueError(f"not a gyroage density graph: inputs {names}")
    term = MainSequenceTerm.from_card(card) if magnitudes else None
    if magnitudes and term is None:
        raise ValueError("the card has no main-sequence term: no graph with magnitudes")
    b = _Builder(grid)
    prot, colour, err = GRAPH_DOC["inputs"]
    lp, valid, e_clip = b.check_stars(prot, colour, err, card)
    sigma = b.excess_colour_sigma(e_clip, card)
    ll = b.colour_marginal_log_likelihood(density, lp, colour, e_clip, sigma, card)
    # The default prior (uniform in log age over the grid) is zero on the grid; kept as a
    # tensor so another prior is a one-array change.
    log_prior = np.zeros((1, len(grid)))
    prior, informed, own, height, usable = b.const(log_prior), None, None, None, None
    if term is not None:  # the height term: on the prior's side, so the evidence for p_outlier stays rotation's
        prior, informed, height, usable = b.main_sequence_prior(term, colour, prior)
        own = Calibration.from_dict(card.main_sequence.get("calibration"))
    log_post = b.op("Add", ll, prior)
    pdf = b.calibrate_split(b.normalise(log_post), colour, Calibration.from_card(card), own, informed)
    p_out = b.outlier_probability(b.log_evidence(log_post, log_prior if term is None else prior), card)
    q_myr = b.quantiles_myr(pdf)
    median_myr = b.op("Gather", q_myr, b.i64(2), axis=1)
    flag = AboveFlag.from_card(card) if term is not None else None
    above = None if flag is None else b.above_flag(term, flag, colour, height, usable, median_myr)
    map_myr = b.map_myr(pdf)
    flags, extrapolated = b.star_flags(card, colour, lp, pdf, p_out, median_myr, above, map_myr)
    # statuses: check_stars' "ok" rows are dated; those outside the sequence domain are "extrapolated"
    b.op("And", valid, b.op("Not", extrapolated), out="ok")
    b.op("And", valid, extrapolated, out="extrapolated")
    b.op("Where", valid, flags, b.i64(0), out="age_flags")
    b.op("Where", valid, p_out, b.nan, out="p_outlier")
    valid_col = b.op("Unsqueeze", valid, b.axis1)
    b.op("Where", valid_col, q_myr, b.nan, out="age_quantiles_myr")
    b.op("Where", valid_col, pdf, b.nan, out="posterior")
    b.op("Where", valid, map_myr, b.nan, out="age_map_myr")
    b.op("Identity", b.g_grid, out="log10_age_grid")
    return _model(b.g, density, len(grid), magnitudes)


class _Builder(CalibrationStages, MainSequenceStages):
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
        self._cdfs: dict[str, str] = {}  # pdf tensor -> its CDF: a tensor's value never changes, build it once

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
        """(log10 period, whether check_stars gives status "ok", colour error as used): gyroage.core.stars.check_stars."""
        op, const, dom = self.op, self.const, card.domain
        lp = op("Div", op("Log", prot), const(np.log(10.0)))
        ok_p = op("And", self.finite_positive(prot), self.between(lp, *dom["log10_prot"]))
        ok_c = self.between(colour, *dom["bp_rp0"])  # false for NaN and +-inf (outside any finite range)
        e_nan = op("IsNaN", err)
        ok = op("And", op("And", ok_p, ok_c), op("Or", e_nan, self.finite_positive(err)))
        # colour error: NaN -> card default, then clipped to the trained range
        e_fill = op("Where", e_nan, const(card.default_bp_rp0_err), err)
        e_clip = op("Min", op("Max", e_fill, const(dom["bp_rp0_err"][0])), const(dom["bp_rp0_err"][1]))
        return lp, ok, e_clip

    def excess_colour_sigma(self, err: str, card: ModelCard) -> str:
        """gyroage.core.colours.excess_colour_sigma (no reddening input): sqrt(max(err^2 - default^2, 0))."""
        op = self.op
        excess = op("Sub", op("Mul", err, err), self.const(card.default_bp_rp0_err ** 2))
        return op("Sqrt", op("Max", excess, self.zero))

    def flow(self, density: onnx.ModelProto, lp: str, colour: str, err: str) -> str:
        """Flow log density (rows x grid, float64 from float32) of each row at every grid age.

        The rows are flattened with the grid into the density graph's (prefixed)
        inputs, float32 as FlowDensity feeds it; no outlier term (grid_log_likelihood
        with outlier_weight=0).
        """
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
        return op("Cast", op("Reshape", PREFIX + DENSITY_OUTPUT, i64([-1, self.n])), to=D)

    def colour_marginal_log_likelihood(self, density: onnx.ModelProto, lp: str, colour: str, err: str, sigma: str,
                                       card: ModelCard) -> str:
        """gyroage.core.likelihood.colour_marginal_log_likelihood: stars x grid, float32 values in float64.

        One flow pass, as there, over the stars of each COLOUR_NODE_TIERS tier in
        turn, each at its tier's node colours (likelihood.tier_nodes; its own colour for a
        one-node tier; every colour clipped to the trained range); a tier's weighted
        log-sum-exp (float64, rounded to float32 as there) gives its stars' rows.
        """
        op, i64 = self.op, self.i64
        lo, hi = (float(v) for v in card.domain["bp_rp0"])
        bounds = [-np.inf] + [b for b, _ in COLOUR_NODE_TIERS]
        tiers = []  # (star indices, nodes, log weights)
        cols, lps, errs = [], [], []
        for k, (_, n_nodes) in enumerate(COLOUR_NODE_TIERS):
            above = op("Greater", sigma, self.const(bounds[k])) if np.isfinite(bounds[k]) else None
            below = op("LessOrEqual", sigma, self.const(bounds[k + 1])) if np.isfinite(bounds[k + 1]) else None
            mask = below if above is None else (above if below is None else op("And", above, below))
            idx = op("Squeeze", op("NonZero", mask), i64([0]))
            t, w = tier_nodes(n_nodes)
            tiers.append((idx, n_nodes, np.log(w / np.sqrt(np.pi))))
            pick = (lambda v, idx=idx: op("Unsqueeze", op("Gather", v, idx, axis=0), self.axis1))  # noqa: E731
            shape = op("Concat", op("Shape", idx), i64([n_nodes]), axis=0)
            repeat = (lambda v, pick=pick, shape=shape: op("Reshape", op("Expand", pick(v), shape), self.minus1))  # noqa: E731
            cols.append(op("Reshape", op("Add", pick(colour), op("Mul", pick(sigma), self.const(np.sqrt(2.0) * t))),
                           self.minus1))
            lps.append(repeat(lp))
            errs.append(repeat(err))
        rows_colour = op("Min", op("Max", op("Concat", *cols, axis=0), self.const(lo)), self.const(hi))
        ll = self.flow(density, op("Concat", *lps, axis=0), rows_colour, op("Concat", *errs, axis=0))
        out = op("ConstantOfShape", op("Concat", op("Shape", lp), i64([self.n]), axis=0),
                 value=helper.make_tensor("zero", D, [1], [0.0]))
        start = i64([0])
        for idx, n_nodes, lw in tiers:
            end = op("Add", start, op("Mul", op("Shape", idx), i64([n_nodes])))
            block = op("Slice", ll, start, end, i64([0]))
            if n_nodes > 1:
                nodes = op("Reshape", block, i64([-1, n_nodes, self.n]))
                weighted = op("Add", nodes, self.const(lw[None, :, None]))
                block = op("Cast", op("Cast", self.log_sum_exp(weighted, self.axis1, keepdims=0), to=F), to=D)
            out = op("ScatterND", out, op("Unsqueeze", idx, self.axis1), block)
            start = end
        return out

    def log_sum_exp(self, v: str, axes: str, keepdims: int = 1) -> str:
        """log(sum(exp(v))) along ``axes``, shifted by the (finite) peak as numpy's logaddexp.reduce."""
        op = self.op
        peak = self.finite_peak(v, axes)
        total = op("ReduceSum", op("Exp", op("Sub", v, peak)), axes, keepdims=1)
        out = op("Add", op("Log", total), peak)
        return out if keepdims else op("Squeeze", out, axes)

    def trapezoid(self, p: str) -> str:
        """trapezoid(p, grid, axis=-1) of rows, keepdims."""
        p_trap = self.op("Div", self.op("Mul", self.dx, self.op("Add", self.tail(p), self.head(p))), self.two)
        return self.op("ReduceSum", p_trap, self.axis1, keepdims=1)

    def peak_shifted_exp(self, logpost: str) -> tuple[str, str]:
        """(exp(v - peak), peak) per row, the peak 0 where not finite, as normalise and log_evidence shift."""
        peak = self.finite_peak(logpost, self.axis1)
        return self.op("Exp", self.op("Sub", logpost, peak)), peak

    def finite_peak(self, v: str, axes: str) -> str:
        """max of ``v`` along ``axes`` (keepdims), 0 where that is not finite."""
        peak = self.op("ReduceMax", v, axes, keepdims=1)
        return self.op("Where", self.op("Or", self.op("IsInf", peak), self.op("IsNaN", peak)), self.zero, peak)

    def normalise(self, logpost: str) -> str:
        """gyroage.core.posterior.normalise: pdf per dex (trapezoid rule)."""
        p, _ = self.peak_shifted_exp(logpost)
        return self.op("Div", p, self.trapezoid(p))

    def log_evidence(self, log_post: str, log_prior: np.ndarray | str) -> str:
        """gyroage.core.posterior.log_evidence (stars): log of the integral of L x prior, the prior normalised on the grid.

        ``log_post`` is log L + log prior. A constant prior (an array) has its log integral computed here, as numpy
        does; per-star prior rows (a tensor) are integrated in the graph.
        """
        log_mass = self.log_mass(log_post)
        if isinstance(log_prior, str):
            prior_mass = self.log_mass(log_prior)
        else:
            peak = float(np.max(log_prior))
            prior_mass = self.const(np.log(trapezoid(np.exp(log_prior - peak), self.grid, axis=-1)) + peak)
        return self.op("Squeeze", self.op("Sub", log_mass, prior_mass), self.axis1)

    def log_mass(self, log_values: str) -> str:
        """log of each row's trapezoid integral of exp(values), shifted by its peak (keepdims)."""
        p, peak = self.peak_shifted_exp(log_values)
        return self.op("Add", self.op("Log", self.trapezoid(p)), peak)

    def outlier_probability(self, log_evidence: str, card: ModelCard) -> str:
        """gyroage.core.posterior.outlier_probability with the card's weight: w u / (w u + (1 - w) Z)."""
        weight = float(card.outlier["weight"])
        if weight <= 0:
            return self.op("Mul", log_evidence, self.zero)  # zeros (NaN stays NaN, masked with the invalid rows)
        a = np.log(weight) + outlier_log_density(card.outlier["log10_prot_range"])
        b = self.op("Add", log_evidence, self.const(np.log1p(-weight)))
        # exp(a - logaddexp(a, b)) = 1 / (1 + exp(b - a))
        return self.op("Sigmoid", self.op("Sub", self.const(a), b))

    def cdf(self, pdf: str) -> str:
        """gyroage.core.posterior.cdf: the trapezoid CDF of each row, scaled to end at 1 (once per pdf tensor)."""
        if pdf not in self._cdfs:
            op = self.op
            f_seg = op("Mul", op("Mul", self.half, op("Add", self.tail(pdf), self.head(pdf))), self.dx)
            c_raw = op("Pad", op("CumSum", f_seg, self.i1), self.i64([0, 1, 0, 0]))
            self._cdfs[pdf] = op("Div", c_raw, op("Slice", c_raw, self.minus1, self.i64([self.n + 1]), self.axis1))
        return self._cdfs[pdf]

    def cdf_at(self, c: str, x: str) -> str:
        """gyroage.core.posterior.cdf_at: each row's CDF ``c`` at its own ``x`` ([n]), linear between grid points."""
        op, i1 = self.op, self.i1
        x_col = op("Unsqueeze", x, self.axis1)
        below = op("ReduceSum", op("Cast", op("Less", self.const(self.grid[None, :]), x_col), to=I64), self.axis1,
                   keepdims=1)  # np.searchsorted(grid, x) (side="left")
        j = op("Min", op("Max", op("Sub", below, i1), self.i0), self.imax)
        j1 = op("Add", j, i1)
        g0, g1 = op("Gather", self.g_grid, j), op("Gather", self.g_grid, j1)
        t = op("Min", op("Max", op("Div", op("Sub", x_col, g0), op("Sub", g1, g0)), self.zero), self.one)
        c0, c1 = op("GatherElements", c, j, axis=1), op("GatherElements", c, j1, axis=1)
        return op("Squeeze", op("Add", c0, op("Mul", t, op("Sub", c1, c0))), self.axis1)

    def mass_outside(self, pdf: str, lo: str, hi: str) -> str:
        """gyroage.core.posterior.GridPosterior.mass_outside: probability below ``lo`` or above ``hi`` (NaN: all)."""
        op, c = self.op, self.cdf(pdf)
        upper = self.cdf_at(c, op("Where", op("IsNaN", hi), self.const(-np.inf), hi))
        lower = self.cdf_at(c, op("Where", op("IsNaN", lo), self.const(np.inf), lo))
        return op("Min", op("Max", op("Sub", self.one, op("Sub", upper, lower)), self.zero), self.one)

    def star_flags(self, card: ModelCard, colour: str, lp: str, pdf: str, p_out: str,
                   median_myr: str, above: str | None = None, map_myr: str | None = None) -> tuple[str, str]:
        """gyroage.core.estimate.star_flags: (the flags bit mask, int64, whether the age is extrapolated); ``above``:
        the above_main_sequence flag (None: never set); ``map_myr``: the MAP age (None: not checked)."""
        op = self.op
        likely = op("Greater", p_out, self.const(OUTLIER_FLAG_MIN))
        young = op("Less", median_myr, self.const(PRE_MAIN_SEQUENCE_MAX_MYR))
        above = op("And", likely, self.const(False, bool)) if above is None else above
        domain = SequenceDomain.from_card(card)
        if domain is None:
            return self.bit_mask((likely, young, above), first=len(statuses.DOMAIN_FLAGS)), above
        # SequenceDomain._bin: searchsorted(edges, colour, side="right") - 1, clipped = how many inner edges <= colour
        inner = self.const(domain.edges[None, 1:-1])
        b = op("ReduceSum", op("Cast", op("LessOrEqual", inner, op("Unsqueeze", colour, self.axis1)), to=I64),
               self.axis1, keepdims=0)
        table = (lambda v: op("Gather", self.const(v), b, axis=0))  # noqa: E731
        blue = op("Less", colour, self.const(domain.kraft_break))
        period_out = op("Not", op("And", op("GreaterOrEqual", lp, table(domain.prot_lo)),
                                  op("LessOrEqual", lp, table(domain.prot_hi))))
        # SequenceDomain.age_range: linear between bin centres; i = how many inner centres <= colour, t clipped 0-1
        i = op("ReduceSum", op("Cast", op("LessOrEqual", self.const(domain.centres[None, 1:-1]),
                                          op("Unsqueeze", colour, self.axis1)), to=I64), self.axis1, keepdims=0)
        at = (lambda v: op("Gather", self.const(v), i, axis=0))  # noqa: E731
        t = op("Min", op("Max", op("Div", op("Sub", colour, at(domain.centres)), at(domain.centre_step)), self.zero),
               self.one)
        bound = (lambda v, dv: op("Add", at(v), op("Mul", t, at(dv))))  # noqa: E731
        hi = bound(domain.age_hi, domain.age_hi_step)
        outside = self.mass_outside(pdf, bound(domain.age_lo, domain.age_lo_step), hi)
        age_out = op("Greater", outside, self.const(AGE_OUTSIDE_MAX))
        if map_myr is not None:  # the MAP beyond the oldest trained age (+ MAP_BEYOND_DEX)
            map_log = op("Add", op("Div", op("Log", map_myr), self.const(np.log(10.0))), self.six)
            beyond = op("Greater", map_log, op("Add", hi, self.const(MAP_BEYOND_DEX)))
            age_out = op("Or", age_out, beyond)
        extrapolated = op("Or", op("Or", op("Or", blue, period_out), age_out), above)
        return self.bit_mask((blue, period_out, age_out, likely, young, above)), extrapolated

    def bit_mask(self, masks: tuple[str, ...], first: int = 0) -> str:
        """sum of mask_i << (first + i), int64 (gyroage.core.domain.flag_text's code)."""
        bits = [self.op("Mul", self.op("Cast", m, to=I64), self.i64(1 << (first + i))) for i, m in enumerate(masks)]
        out = bits[0]
        for bit in bits[1:]:
            out = self.op("Add", out, bit)
        return out

    def quantiles_myr(self, pdf: str) -> str:
        """gyroage.core.posterior.quantiles at QUANTILES, in Myr."""
        return self.op("Pow", self.ten, self.op("Sub", self.quantiles_log(pdf, QUANTILES), self.six))

    def quantiles_log(self, pdf: str, levels) -> str:
        """gyroage.core.posterior.quantiles: linear in the CDF (log10 yr), rows x levels."""
        op, i1 = self.op, self.i1
        c = self.cdf(pdf)
        g_qs = self.const(np.asarray(levels, dtype=np.float64))
        below = op("Cast", op("Less", op("Unsqueeze", c, self.axis2), g_qs), to=I64)
        j = op("Min", op("Max", op("Sub", op("ReduceSum", below, self.axis1, keepdims=0), i1), self.i0), self.imax)
        j1 = op("Add", j, i1)
        c0, c1 = op("GatherElements", c, j, axis=1), op("GatherElements", c, j1, axis=1)
        t_raw = op("Div", op("Sub", g_qs, c0), op("Sub", c1, c0))
        t = op("Min", op("Max", op("Where", op("Greater", c1, c0), t_raw, self.zero), self.zero), self.one)
        g0, g1 = op("Gather", self.g_grid, j), op("Gather", self.g_grid, j1)
        return op("Add", g0, op("Mul", t, op("Sub", g1, g0)))

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


def _model(g: Graph, density: onnx.ModelProto, n_grid: int, magnitudes: bool = False) -> onnx.ModelProto:
    """The checked ONNX model: the builder's nodes with the documented inputs and outputs."""
    star = ["n_stars"]
    doc = graph_io(magnitudes)
    inputs = [helper.make_tensor_value_info(n, D, star) for n in doc["inputs"]]
    outputs = [
        helper.make_tensor_value_info("ok", B, star),
        helper.make_tensor_value_info("log10_age_grid", D, [n_grid]),
        helper.make_tensor_value_info("posterior", D, ["n_stars", n_grid]),
        helper.make_tensor_value_info("age_quantiles_myr", D, ["n_stars", len(QUANTILES)]),
        helper.make_tensor_value_info("age_map_myr", D, star),
        helper.make_tensor_value_info("p_outlier", D, star),
        helper.make_tensor_value_info("extrapolated", B, star),
        helper.make_tensor_value_info("age_flags", I64, star),
    ]
    if magnitudes:
        outputs.append(helper.make_tensor_value_info("ms_height_mag", D, star))
    graph = helper.make_graph(g.nodes, "gyroage_posterior", inputs, outputs, initializer=g.inits)
    for v in outputs + inputs:
        v.doc_string = {**doc["inputs"], **doc["outputs"]}[v.name]
    model = helper.make_model(graph, opset_imports=list(density.opset_import), producer_name="gyroage",
                              doc_string="gyroage age posteriors: " + json_text(doc))
    model.ir_version = density.ir_version
    onnx.checker.check_model(model)
    return model


def embed_metadata(model: onnx.ModelProto, card: ModelCard, magnitudes: bool = False) -> None:
    set_metadata(model, {METADATA_KEY: card.to_dict(include_files=False), GRAPH_KEY: graph_doc(card, magnitudes)})


def write_posterior(density_path: str | Path, card: ModelCard, path: str | Path, magnitudes: bool = False) -> Path:
    """Build the posterior graph (``magnitudes``: the one with the main-sequence term) from a density ONNX file and
    its card; write it atomically to ``path``."""
    path = Path(path)
    model = build_posterior_model(onnx.load(str(density_path)), card, magnitudes)
    embed_metadata(model, card, magnitudes)
    return save_atomic(model, path)


def write_posteriors(density_path: str | Path, card: ModelCard, model_dir: str | Path) -> None:
    """Both posterior graphs in ``model_dir`` (a staging folder, :func:`gyroage.build.model_swap.staged`):
    POSTERIOR_FILE, and POSTERIOR_MAG_FILE when the card has a main-sequence term (a stale one in the model folder is
    removed when the staged files move in, after the card)."""
    model_dir = Path(model_dir)
    write_posterior(density_path, card, model_dir / POSTERIOR_FILE)
    if MainSequenceTerm.from_card(card) is not None:
        write_posterior(density_path, card, model_dir / POSTERIOR_MAG_FILE, magnitudes=True)


def save_atomic(model: onnx.ModelProto, path: str | Path) -> Path:
    """Write ``model`` to ``path`` atomically: never a half-written graph."""
    with atomic_path(path, suffix=".tmp") as tmp:
        onnx.save(model, str(tmp))
    return Path(path)


def regenerate(model_dir: str | Path) -> Path:
    """Rebuild the posterior graphs in ``model_dir`` from its density graph and card; rewrite the card."""
    model_dir = Path(model_dir)
    card, _ = load_card(model_dir, verify=False)
    if not (model_dir / DENSITY_FILE).is_file():
        # a card without the checkpoint's SHA-256 cannot check the flow without the graph: the rebuild needs the
        # user's word, or it refuses (review V58, 1)
        trust = "" if card.training.get("checkpoint_sha256") else " --trust-checkpoint"
        vouch = (" if you know that flow is the card's (the card records no checkpoint SHA-256 to check it by)"
                 if trust else "")
        raise ModelError(f"{model_dir} holds no {DENSITY_FILE} to rebuild the posterior graph from: 'gyroage export "
                         f"--rebuild{trust} --out {model_dir}' writes it from gyroage-flow.pt (needs torch){vouch}")
    # The density graph must be the one the card describes; the posterior graph is derived from it.
    if sha256(model_dir / DENSITY_FILE) != card.files.get(DENSITY_FILE, {}).get("sha256"):
        raise ModelError(f"{model_dir / DENSITY_FILE} does not match its card (SHA-256 differs)")
    with staged(model_dir) as stage:  # the card hashes the old graphs until the new ones are all in
        shutil.copyfile(model_dir / DENSITY_FILE, stage / DENSITY_FILE)
        write_posteriors(stage / DENSITY_FILE, card, stage)
        write_card(card, stage, built=POSTERIOR_GRAPHS)  # hashes every graph staged, the new ones included
    return model_dir / POSTERIOR_FILE
