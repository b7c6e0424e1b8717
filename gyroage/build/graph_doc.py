"""What the posterior graph says about itself: its inputs and outputs, and the metadata (``gyroage_graph``) that tells
a pipeline in any language what it computes.

Split from :mod:`gyroage.build.posterior_graph`, which builds the graph and embeds this.
"""

from __future__ import annotations

from gyroage import statuses
from gyroage.build.main_sequence_graph import MAGNITUDE_DOC
from gyroage.core.likelihood import COLOUR_NODE_TIERS, EVEN_SPAN
from gyroage.core.modelcard import ModelCard
from gyroage.core.posterior import QUANTILES

GRAPH_KEY = "gyroage_graph"

GRAPH_DOC = {
    "inputs": {
        "prot_days": "rotation period, days (float64, shape [n_stars])",
        "bp_rp0": "de-reddened Gaia DR3 (BP-RP)0, mag (float64, [n_stars])",
        "bp_rp0_err": "uncertainty of (BP-RP)0, mag (float64, [n_stars]); NaN: the card's default_bp_rp0_err; "
                      "clipped to domain.bp_rp0_err as gyroage estimate does",
    },
    "outputs": {
        "ok": "bool [n_stars]: true where gyroage estimate gives status 'ok' (valid, inside the model's domain and "
              "not extrapolated)",
        "log10_age_grid": "float64 [n_grid]: the age grid, log10 years",
        "posterior": "float64 [n_stars, n_grid]: posterior density per dex of log10 age on the grid of the star as a "
                     "rotation-sequence member, calibration kernel applied (integrates to 1 by the trapezoid rule); "
                     "NaN where neither ok nor extrapolated",
        "age_quantiles_myr": "float64 [n_stars, 5]: 2.5, 16, 50, 84, 97.5 percentiles of age, Myr; NaN where neither ok "
                             "nor extrapolated",
        "age_map_myr": "float64 [n_stars]: maximum a posteriori age, Myr; NaN where neither ok nor extrapolated",
        "p_outlier": "float64 [n_stars]: probability that the period belongs to the outlier component, not the "
                     "rotation sequence; NaN where neither ok nor extrapolated",
        "extrapolated": "bool [n_stars]: true where gyroage estimate gives status 'extrapolated' (ages given, but "
                        "outside the card's sequence domain: see flags)",
        "age_flags": "int64 [n_stars]: gyroage estimate's flags column as a bit mask, bit i set for the i-th of "
                 + ", ".join(f"{i}: {n}" for i, n in enumerate(statuses.FLAG_ORDER))
                 + "; 0 where neither ok nor extrapolated",
    },
}


def graph_io(magnitudes: bool) -> dict:
    """The graph's documented inputs and outputs (with magnitudes: GRAPH_DOC's and MAGNITUDE_DOC's)."""
    if not magnitudes:
        return GRAPH_DOC
    return {k: {**GRAPH_DOC[k], **MAGNITUDE_DOC[k]} for k in ("inputs", "outputs")}


def graph_doc(card: ModelCard, magnitudes: bool = False) -> dict:
    """What the posterior graph computes, stored in its metadata under ``gyroage_graph``."""
    out = {**graph_io(magnitudes), "quantile_levels": list(QUANTILES), "age_grid": card.age_grid,
           "prior": "uniform in log10 age over the grid", "outlier": card.outlier,
           "colour_marginalisation": "nodes of the true colour, as many as the tier of "
                                     "sigma = sqrt(bp_rp0_err^2 - default_bp_rp0_err^2) gives: (upper bound in mag, "
                                     f"nodes) {[(float(b), n) for b, n in COLOUR_NODE_TIERS]}; Gauss-Hermite up to 5 "
                                     f"nodes, more evenly spaced over +-{EVEN_SPAN} sigma",
           "calibration": card.calibration or None, "flag_bits": list(statuses.FLAG_ORDER),
           "sequence_domain": bool(card.domain.get("sequence")),
           "algorithm": "gyroage.core.posterior.grid_posterior with every grid point evaluated: trapezoid "
                        "normalisation and CDF, quantiles linear in the CDF, parabolic MAP; flags and statuses "
                        "as gyroage.core.estimate.star_flags"}
    if magnitudes:
        out["main_sequence"] = ("the card's main_sequence.term on the prior's side for the stars it informs, and "
                                "main_sequence.calibration instead of calibration for them")
    return out
