"""Crossmatch's colours: Gaia BP-RP de-reddened by GSP-Phot or an input column (converted as ``gyroage estimate``
converts it), the reddening's error, the A_G that goes with it (``g0``), and how error columns are spelt.

Pure functions of the fetched Gaia rows and the input frame (:func:`colours`); :mod:`gyroage.crossmatch.run`
chooses the columns and joins the results.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from gyroage import io
from gyroage.columns import ALIASES, REDDENING_NAMES, column_key, column_matches, error_of
from gyroage.core.colours import REDDENINGS
from gyroage.core.photometry import a0_of_ebprp, a_g_per_a0, ebprp_per_unit

# 2.5/ln(10): magnitude error from a flux signal-to-noise ratio.
MAG_PER_FLUX_SNR = 2.5 / math.log(10)
# The reddening kinds --extinction column:NAME[:KIND] reads (its :KIND, else its column role), each with its A_0 per
# unit as estimate converts it (gyroage.core.colours' REDDENINGS; None: an E(BP-RP), subtracted as it is). A name of
# no role is an E(BP-RP) too.
A0_PER_UNIT: dict[str, float | None] = {name: a0_per for name, a0_per, _ in REDDENINGS}
# How a note names each kind (REDDENINGS' own labels are colour_source values).
REDDENING_LABELS = dict(zip(REDDENING_NAMES, ("E(BP-RP)", "A_V", "E(B-V)"), strict=True))
# How the error of --extinction column:NAME is spelt around NAME: e_NAME, NAME_err, NAME_error, then the spellings
# estimate's reddening errors put around their values' names (sigma_av, av_err_mag, e_ebv_mag: gyroage.columns).
ERROR_SPELLINGS = tuple(dict.fromkeys(("e_{}", "{}_err", "{}_error", *sorted(
    err.replace(value, "{}", 1) for name in REDDENING_NAMES for err in ALIASES[f"{name}_err"]
    for value in ALIASES[name] if value in err and "{" not in err))))
# How error columns are spelt around their value's name X, whatever X: refused as --extinction column:NAME when X is an
# input column too. A lower-case e_ only (E_X is a reddening E(X), unless e_X is beside it: VizieR's upper error).
ERROR_PREFIXES = ("e_", "err_", "sig_", "sigma_")
ERROR_SUFFIXES = ("_err", "_error", "_unc", "_uncertainty", "_sig", "_sigma", "_e")


def error_by_name(col: str, columns: list[str]) -> str | None:
    """``"an error of 'X'"`` when ``col`` is spelt as an error (:data:`ERROR_PREFIXES`, :data:`ERROR_SUFFIXES`) of
    another input column X, whatever X is; ``"the upper error beside 'e_X'"`` for VizieR's ``E_X`` beside ``e_X``;
    else None. What gyroage reads as errors is refused by role; this catches the names it does not read
    (``Av_SFD_err``, ``sig_Av_SFD``), which ``column:NAME`` subtracted as reddenings."""
    name = str(col).lstrip("\ufeff").strip()
    values = {column_key(c): c for c in reversed(columns) if c != col and error_of(c) is None}
    stems = [name[len(p):] for p in ERROR_PREFIXES if (name if p == "e_" else name.lower()).startswith(p)]
    stems += [name[: -len(s)] for s in ERROR_SUFFIXES if name.lower().endswith(s) and len(name) > len(s)]
    for stem in stems:
        if stem and column_key(stem) in values:
            return f"an error of '{values[column_key(stem)]}'"
    if name.startswith("E_"):  # E_X is a reddening E(X), unless its e_X is there: then it is the upper error
        lower = next((c for c in columns if c != col and (rest := error_of(c)) is not None and str(c).startswith("e_")
                      and column_key(rest) == column_key(name[2:])), None)
        if lower is not None:
            return f"the upper error beside '{lower}'"
    return None


def role_in(columns: list[str], col: str) -> str | None:
    """The canonical name ``col`` has among ``columns`` (``E_BP-RP`` beside ``e_BP-RP`` is an upper error), or None."""
    return next((role for role, cols in column_matches(columns).items() if col in cols), None)




@dataclass(frozen=True)
class Colours:
    bp_rp: np.ndarray        # observed BP-RP
    ebprp: np.ndarray          # E(BP-RP) where known (NaN elsewhere)
    ebprp_err: np.ndarray    # its error: GSP-Phot's half 16-84% interval, or a column:NAME's error column
    applied: np.ndarray      # whether E(BP-RP) was subtracted
    invalid: np.ndarray      # E(BP-RP) negative: neither subtracted nor ignored (the row gets invalid_reddening)
    source: np.ndarray       # where E(BP-RP) came from: gspphot / column:NAME / none / none_within_100pc
    bp_rp0: np.ndarray
    bp_rp0_err: np.ndarray
    ag: np.ndarray           # A_G that goes with the E(BP-RP) (g0), where it is applied


def colours(frame: pd.DataFrame, g: pd.DataFrame, extinction: str, ext_col: str | None, ext_err: str | None,
             a0_per: float | None, near: np.ndarray, near_source: str) -> Colours:
    """Dereddened BP-RP and its error from the Gaia rows ``g`` (aligned with ``frame``); ``ext_err``: the error
    column of the reddening column ``ext_col``, whose A_0 per unit is ``a0_per`` (None: an E(BP-RP)).

    Under gspphot, ``near`` stars keep their observed colour, with ``ebp_rp_source`` ``near_source``.
    """
    n = len(frame)
    bp, rp = g["phot_bp_mean_mag"].to_numpy(float), g["phot_rp_mean_mag"].to_numpy(float)
    bp_rp = bp - rp
    with np.errstate(divide="ignore", invalid="ignore"):
        e_bp = MAG_PER_FLUX_SNR / g["phot_bp_mean_flux_over_error"].to_numpy(float)
        e_rp = MAG_PER_FLUX_SNR / g["phot_rp_mean_flux_over_error"].to_numpy(float)
    colour_err = np.hypot(e_bp, e_rp)
    # Extinction: E(BP-RP) and its uncertainty (half the GSP-Phot 16-84% interval).
    if extinction == "gspphot":
        ebprp = g["ebpminrp_gspphot"].to_numpy(float)
        ebprp_err = (g["ebpminrp_gspphot_upper"].to_numpy(float) - g["ebpminrp_gspphot_lower"].to_numpy(float)) / 2
        # GSP-Phot's A0 is biased high at low extinction (its prior keeps A0 >= 0; Andrae et al. 2023, A&A 674, A27),
        # while within ~100 pc the true E(BP-RP) is about 0 (Lallement et al. 2019): near stars keep their colour
        ebprp = np.where(near, np.nan, ebprp)
        ebprp_err = np.where(near, np.nan, ebprp_err)
        bad_err = np.zeros(n, dtype=bool)
        source = np.where(near, near_source, np.where(np.isfinite(ebprp), "gspphot", "none"))
        value = ebprp
        # GSP-Phot's own A_G, from the fit that gives its E(BP-RP) (the spectrum's, not one ratio for all colours)
        ag = g["ag_gspphot"].to_numpy(float, copy=True)
        # else the A_G of its E(BP-RP), as an A_V's: five fixed-point steps, so only where GSP-Phot gives none
        missing = ~np.isfinite(ag)
        if missing.any():
            ag[missing] = ag_of_ebprp(bp_rp[missing] - ebprp[missing], ebprp[missing])
    elif ext_col is not None:
        value = io.numeric(frame, ext_col)
        err = io.numeric(frame, ext_err)
        # an error given but not a number >= 0 makes the row invalid_reddening, as estimate's reddening errors do
        bad_err = io.unparsed(frame, ext_err, err) | io.bad_error(err)
        # an A_V or E(B-V) is not an E(BP-RP): converted with estimate's own arithmetic, so crossmatch | estimate
        # gives the (BP-RP)0 estimate gives for the observed colour and that column
        if a0_per is None:
            ebprp, ebprp_err, ag = value, err, ag_of_ebprp(bp_rp - value, value)
        else:
            scale, a0 = ebprp_per_unit(bp_rp, value, a0_per)  # estimate's k x a0_per, for the value and its error
            ebprp, ebprp_err = scale * value, scale * err
            ag = a_g_per_a0(bp_rp - ebprp, a0) * a0  # the same law's A_G, at the colour it leaves
        source = np.where(np.isfinite(value), f"column:{ext_col}", "none")
    else:
        ebprp, ebprp_err, source = np.full(n, np.nan), np.full(n, np.nan), np.full(n, "none", dtype=object)
        value = ag = ebprp
        bad_err = np.zeros(n, dtype=bool)
    # A negative E(BP-RP) is no reddening at all (estimate refuses it as invalid_reddening): subtracting it would
    # redden the colour, and keeping the observed colour would hide the bad value, so the row gets no bp_rp0.
    # Judged on the value as given (``value``): a converted one is NaN where the colour is.
    invalid = np.isfinite(value) & ((value < 0) | bad_err)
    applied = np.isfinite(value) & ~invalid
    bp_rp0 = np.where(invalid, np.nan, bp_rp - np.where(applied, ebprp, 0.0))
    # the bad value shown as given (ebp_rp) where it is an E(BP-RP): the row's reason. An A_V or E(B-V) is not one,
    # and ebp_rp holds E(BP-RP)s only: such a row's ebp_rp is empty, its value left in its own column.
    ebprp = np.where(invalid, value if a0_per is None else np.nan, ebprp)
    # the reddening's error goes to ebp_rp_err, GSP-Phot's as a column's: estimate adds it in full, while of
    # bp_rp0_err it takes only the part above the card's default colour error (already in the flow)
    return Colours(bp_rp, ebprp, ebprp_err, applied, invalid, source, bp_rp0,
                    np.where(invalid, np.nan, colour_err), ag)


def ag_of_ebprp(bp_rp0: np.ndarray, ebprp: np.ndarray) -> np.ndarray:
    """A_G of E(BP-RP)s ``ebprp`` in front of intrinsic colours ``bp_rp0``: the EDR3 law's k_G A_0 of the A_0 that
    gives them (:func:`gyroage.core.photometry.a0_of_ebprp`), as an A_V column gets, so that either form of one
    reddening gives one g0 (1.91 E(BP-RP) took 0.04 mag less from a G dwarf behind an E(BP-RP) of 0.26)."""
    with np.errstate(invalid="ignore", divide="ignore"):  # NaN rows (nothing to subtract) stay NaN
        a0 = a0_of_ebprp(bp_rp0, ebprp)
        return a_g_per_a0(bp_rp0, a0) * a0
