"""The calibration's stages of the ONNX posterior graph (:mod:`gyroage.build.posterior_graph`): the kernel
blend by colour, the level scale and the normal scores it needs, each mirroring gyroage.core.calibration."""

from __future__ import annotations

import numpy as np

from gyroage.core.calibration import CDF_CLIP, Calibration, hat_slopes, trapezoid_weights
from gyroage.core.normal import ACKLAM_A, ACKLAM_B, ACKLAM_C, ACKLAM_D, ACKLAM_LOW


class CalibrationStages:
    """Mixed into the posterior graph's builder, whose ``op``/``const`` helpers, constants, ``grid``,
    ``cdf``, ``quantiles_log`` and ``trapezoid`` these stages use."""

    def calibrate(self, pdf: str, calibration: Calibration, colour: str) -> str:
        """gyroage.core.calibration.Calibration.apply: one MatMul with the (trapezoid weights x kernel) matrix
        (with colour knots, with every knot's kernel side by side, blended by the star's hat weights),
        then the level scale on normal scores (Calibration._scale_levels)."""
        op = self.op
        out = op("Where", op("IsNaN", pdf), self.zero, pdf)
        if calibration.smears:
            w = trapezoid_weights(self.grid)[:, None]
            kernels = calibration.kernels(self.grid)
            out = op("MatMul", out, self.const(np.concatenate([w * k for k in kernels], axis=1)))
            if len(kernels) > 1:
                per_knot = op("Reshape", out, self.i64([-1, len(kernels), self.n]))
                lam = op("Unsqueeze", self.colour_weights(colour, calibration), self.axis2)
                out = op("ReduceSum", op("Mul", per_knot, lam), self.axis1, keepdims=0)
        out = op("Div", out, self.trapezoid(out))
        if calibration.level_scale != 1.0:
            lo, hi = calibration.level_knots
            c = self.cdf(out)
            median = self.quantiles_log(out, [0.5])
            t = op("Min", op("Max", op("Div", op("Sub", median, self.const(lo)), self.const(hi - lo)), self.zero), self.one)
            scale = op("Add", self.const(calibration.level_scale), op("Mul", t, self.const(1.0 - calibration.level_scale)))
            z = self.normal_score(op("Min", op("Max", c, self.const(CDF_CLIP)), self.const(1.0 - CDF_CLIP)))
            # pdf * phi(z / s) / (s phi(z))
            inv_s2 = op("Sub", op("Div", self.one, op("Mul", scale, scale)), self.one)
            out = op("Div", op("Mul", out, op("Exp", op("Mul", op("Mul", self.const(-0.5), op("Mul", z, z)), inv_s2))), scale)
            out = op("Div", out, self.trapezoid(out))
        # a row with any non-finite value stays NaN (inf * 0 and NaN * 0 are NaN)
        bad = op("IsNaN", op("ReduceSum", op("Mul", pdf, self.zero), self.axis1, keepdims=1))
        return op("Where", bad, self.nan, out)

    def calibrate_split(self, pdf: str, colour: str, calibration: Calibration | None, own: Calibration | None,
                        informed: str | None) -> str:
        """gyroage.core.posterior.calibrate: ``own`` for the rows ``informed`` (when both are given), ``calibration``
        for the rest (None: left as they are). Each row meets one kernel: the rows are gathered, not masked."""
        if own is None or informed is None:
            return self.calibrate(pdf, calibration, colour) if calibration is not None else pdf
        op, out = self.op, pdf
        for mask, cal in ((informed, own), (op("Not", informed), calibration)):
            if cal is not None:
                idx = op("Squeeze", op("NonZero", mask), self.i64([0]))
                rows = self.calibrate(op("Gather", pdf, idx, axis=0), cal, op("Gather", colour, idx, axis=0))
                out = op("ScatterND", out, op("Unsqueeze", idx, self.axis1), rows)
        return out

    def colour_weights(self, colour: str, calibration: Calibration) -> str:
        """gyroage.core.calibration.Calibration.weights: (stars x colour knots) hat weights; a NaN colour takes the
        first knot's."""
        knots = np.asarray(calibration.colour_knots, dtype=np.float64)
        return self.hat_weights(self.op("Where", self.op("IsNaN", colour), self.const(knots[0]), colour), knots)

    def hat_weights(self, x: str, knots) -> str:
        """gyroage.core.calibration.colour_weights: ([n] x knots) linear hat weights, min(rise, fall) in [0, 1],
        constant beyond the end knots."""
        op, knots = self.op, np.asarray(knots, dtype=np.float64)
        x = op("Unsqueeze", op("Min", op("Max", x, self.const(knots[0])), self.const(knots[-1])), self.axis1)
        d = op("Sub", x, self.const(knots[None, :]))
        inv_left, inv_right = hat_slopes(knots)
        rise = op("Add", self.one, op("Mul", d, self.const(inv_left[None, :])))
        fall = op("Sub", self.one, op("Mul", d, self.const(inv_right[None, :])))
        return op("Min", op("Max", op("Min", rise, fall), self.zero), self.one)

    def horner(self, coefficients, x: str) -> str:
        """The polynomial with ``coefficients`` (innermost first) at ``x``, as gyroage.core.normal._horner."""
        out = self.const(coefficients[0])
        for c in coefficients[1:]:
            out = self.op("Add", self.op("Mul", out, x), self.const(c))
        return out

    def normal_score(self, p: str) -> str:
        """gyroage.core.normal.normal_score: Acklam's approximation of Phi^-1, same coefficients."""
        op, horner = self.op, self.horner
        q = op("Sub", p, self.half)
        r = op("Mul", q, q)
        central = op("Div", op("Mul", q, horner(ACKLAM_A, r)), horner(ACKLAM_B, r))
        t = op("Sqrt", op("Mul", self.const(-2.0), op("Log", op("Min", p, op("Sub", self.one, p)))))
        tail = op("Div", horner(ACKLAM_C, t), horner(ACKLAM_D, t))
        is_central = op("LessOrEqual", op("Abs", q), self.const(0.5 - ACKLAM_LOW))
        return op("Where", is_central, central, op("Where", op("Less", q, self.zero), tail, op("Neg", tail)))
