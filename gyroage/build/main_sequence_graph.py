"""The main-sequence term's stages of the ONNX posterior graph with magnitudes
(:mod:`gyroage.build.posterior_graph`), each mirroring gyroage.core.main_sequence and the magnitude
checks of gyroage.core.stars.input_abs_g."""

from __future__ import annotations

import numpy as np
from onnx import TensorProto

from gyroage.core.main_sequence import MAX_ABS_G_ERR, AboveFlag, MainSequenceTerm
from gyroage.core.normal import ERFC

# The graph with magnitudes (POSTERIOR_MAG_FILE) takes these too, and gives the height it used.
MAGNITUDE_DOC = {
    "inputs": {
        "abs_g0": "de-reddened absolute Gaia G, mag (float64, [n_stars]): g0 + 5 log10(parallax_mas / 100); NaN: "
                  "unknown, the star is dated from rotation alone",
        "abs_g0_err": "its uncertainty, mag (float64, [n_stars]), e.g. 2.17 parallax_error / parallax; NaN: none "
                      "known; added to the term's width in quadrature; over 0.5 mag, or not a number >= 0, the "
                      "star is dated from rotation alone",
    },
    "outputs": {
        # also on undated rows (a bad period): the graph does not mask it as estimate's column is (review V41 2)
        "ms_height_mag": "float64 [n_stars]: height above the main sequence, M_MS(colour) - abs_g0, where the "
                         "main-sequence term applies to the star, NaN elsewhere; also on rows neither ok nor "
                         "extrapolated, where gyroage estimate leaves it empty: read it only where ok or extrapolated",
    },
}


class MainSequenceStages:
    """Mixed into the posterior graph's builder, whose ``op``/``const`` helpers, constants and ``grid`` these
    stages use."""

    def magnitude_inputs(self, abs_g: str, err: str) -> tuple[str, str]:
        """(absolute G as used, its error as used): input_abs_g's rule, then magnitude_error's.

        An error that is given but not a number >= 0 leaves the star to rotation alone (its magnitude NaN); a NaN
        error is none known (0).
        """
        op = self.op
        err_nan = op("IsNaN", err)
        good_err = op("And", op("Not", op("IsInf", err)), op("GreaterOrEqual", err, self.zero))
        bad = op("And", op("Not", err_nan), op("Not", good_err))
        return op("Where", bad, self.nan, abs_g), op("Where", err_nan, self.zero, err)

    def interp(self, x: str, xp, fp) -> str:
        """np.interp(x, xp, fp) for [n] ``x`` (constant beyond the ends; NaN stays NaN): a sum of linear hat weights."""
        w = self.hat_weights(x, xp)
        return self.op("ReduceSum", self.op("Mul", w, self.const(np.asarray(fp, dtype=np.float64)[None, :])), self.axis1,
                       keepdims=0)

    def mean_height(self, slope: str, log10_t_zams: str, log10_age: str) -> str:
        """gyroage.core.main_sequence.mean_height, s max(0, log10 t_z - log10 t) (broadcast): the term's expected
        height, as its likelihood and the above_main_sequence flag both read it."""
        return self.op("Mul", slope, self.op("Max", self.op("Sub", log10_t_zams, log10_age), self.zero))

    def height(self, term: MainSequenceTerm, colour: str, abs_g: str) -> str:
        """MainSequenceTerm.height: D = M_MS(colour) - M_G (NaN where either is unknown)."""
        return self.op("Sub", self.interp(colour, term.ms_colour, term.ms_mag), abs_g)

    def usable_magnitude(self, err: str) -> str:
        """gyroage.core.main_sequence.usable_magnitude of the error as used (unknown already 0)."""
        return self.op("LessOrEqual", err, self.const(MAX_ABS_G_ERR))

    def term_applies(self, term: MainSequenceTerm, colour: str, height: str, usable: str) -> str:
        """MainSequenceTerm.applies (false for NaN colours or heights); ``usable``: :meth:`usable_magnitude`."""
        op = self.op
        inside = op("And", self.between(colour, *term.colour_range), self.between(height, *term.height_range))
        return op("And", inside, usable)

    def term_log_likelihood(self, term: MainSequenceTerm, colour: str, height: str, err: str, applies: str) -> str:
        """MainSequenceTerm.log_likelihood on the grid (stars x grid); 0 where the term does not apply."""
        op, col = self.op, (lambda v: self.op("Unsqueeze", v, self.axis1))  # noqa: E731
        safe_c = op("Where", applies, colour, self.const(float(term.colour_range[0])))
        safe_d = op("Where", applies, height, self.zero)  # rows the term skips stay finite, then get 0
        safe_e = op("Where", applies, err, self.zero)
        s, tz, sig0 = (self.interp(safe_c, term.knot_colour, v) for v in (term.slope, term.log10_t_zams, term.sigma))
        sig = col(op("Sqrt", op("Add", op("Mul", sig0, sig0), op("Mul", safe_e, safe_e))))
        mu = self.mean_height(col(s), col(tz), self.const(self.grid[None, :]))
        z = op("Div", op("Sub", col(safe_d), mu), sig)
        w_s, w_b, w_o = term.weights
        single = op("Div", op("Exp", op("Mul", self.const(-0.5), op("Mul", z, z))),
                    op("Mul", sig, self.const(np.sqrt(2.0 * np.pi))))
        shifted = op("Sub", z, op("Div", self.const(term.binary_max), sig))
        binary = op("Div", op("Sub", self.normal_cdf(z), self.normal_cdf(shifted)), self.const(term.binary_max))
        floor = 1.0 / (term.height_range[1] - term.height_range[0])
        total = op("Add", op("Add", op("Mul", self.const(w_s), single), op("Mul", self.const(w_b), binary)),
                   self.const(w_o * floor))
        return op("Where", col(applies), op("Log", total), self.zero)

    def normal_cdf(self, z: str) -> str:
        """gyroage.core.normal.normal_cdf: Numerical Recipes' erfc, same coefficients (onnxruntime's Erf is float32)."""
        op = self.op
        a = op("Div", op("Abs", z), self.const(np.sqrt(2.0)))
        t = op("Div", self.one, op("Add", self.one, op("Mul", self.half, a)))
        poly = self.horner(ERFC, t)
        half_erfc = op("Mul", op("Mul", self.half, t), op("Exp", op("Add", op("Neg", op("Mul", a, a)), poly)))
        return op("Where", op("GreaterOrEqual", z, self.zero), op("Sub", self.one, half_erfc), half_erfc)

    def main_sequence_prior(self, term: MainSequenceTerm, colour: str, log_prior: str) -> tuple[str, str, str, str]:
        """(log prior rows with the height term added, which stars it informs, the height, whose magnitude is usable),
        as gyroage.core.posterior.grid_posterior puts the term on the prior's side; writes the ``ms_height_mag``
        output."""
        op = self.op
        abs_g, err = self.magnitude_inputs("abs_g0", "abs_g0_err")
        height = self.height(term, colour, abs_g)
        usable = self.usable_magnitude(err)
        applies = self.term_applies(term, colour, height, usable)
        op("Where", applies, height, self.nan, out="ms_height_mag")
        return op("Add", log_prior, self.term_log_likelihood(term, colour, height, err, applies)), applies, height, usable

    def above_flag(self, term: MainSequenceTerm, flag: AboveFlag, colour: str, height: str, usable: str,
                   median_myr: str) -> str:
        """AboveFlag.flags (false where the height or colour is NaN: comparisons with NaN are false)."""
        op, c = self.op, self.const
        s, tz = (self.interp(colour, term.knot_colour, v) for v in (term.slope, term.log10_t_zams))
        log_age = op("Add", op("Div", op("Log", median_myr), c(np.log(10.0))), self.six)
        mu = self.mean_height(s, tz, log_age)
        mu = op("Where", op("Less", colour, c(flag.colour_max)), self.zero, mu)
        old = op("And", op("GreaterOrEqual", median_myr, c(flag.age_min_myr)),
                 op("Greater", op("Sub", height, mu), c(flag.height_mag)))
        if flag.young_height_mag:
            # AboveFlag.young_bound: searchsorted(edges, colour, side="right") - 1, clipped = inner edges <= colour
            inner = c(np.asarray(flag.young_colour_edges[1:-1], dtype=np.float64)[None, :])
            b = op("ReduceSum", op("Cast", op("LessOrEqual", inner, op("Unsqueeze", colour, self.axis1)),
                                   to=TensorProto.INT64), self.axis1, keepdims=0)
            bound = op("Gather", c(np.asarray(flag.young_height_mag, dtype=np.float64)), b, axis=0)
        else:
            bound = c(float(term.height_range[1]))
        return op("And", op("Or", old, op("Greater", height, bound)), usable)
