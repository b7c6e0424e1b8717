"""The relations colours are converted with: the mean dwarf sequence (Teff and intrinsic colours) and the Gaia
extinction law (E(BP-RP) from A_V or E(B-V), colour-dependent).

Split from :mod:`gyroage.core.colours`, which reads users' colour columns and calls these.
"""

from __future__ import annotations

import numpy as np

EBPRP_PER_AV = 1.002 - 0.589
"""E(BP-RP) / A_V = A_BP/A_V - A_RP/A_V = 1.002 - 0.589 = 0.413 (Wang & Chen 2019, ApJ 877, 116, Table 3).

Their average Milky Way extinction law (R_V = 3.16) for Gaia DR2 passbands, measured on red-clump stars: one
factor for every star. A_V and E(B-V) inputs no longer use it (the ratio depends on the star's spectrum:
:func:`ebprp_per_a0`); it is kept as the starting point of the fixed-point steps of :func:`deredden` (A_0 to
(BP-RP)0) and of :func:`a0_of_ebprp` (E(BP-RP) to A_0, which ``gyroage crossmatch``'s ``g0`` takes), and as the
denominator of :data:`AG_PER_EBPRP`, itself kept only for compatibility.
"""

R_V = 3.16
"""A_V / E(B-V) of the same law as :data:`EBPRP_PER_AV` (Wang & Chen 2019's own fit, 3.16 +- 0.15): an E(B-V)
input is taken as A_0 = 3.16 E(B-V) before :func:`ebprp_per_a0`."""

EBPRP_PER_EBV = EBPRP_PER_AV * R_V
"""E(BP-RP) / E(B-V) = 0.413 x 3.16 = 1.31 of the constant law of :data:`EBPRP_PER_AV`: kept for compatibility
(importable, as before; gyroage itself no longer converts with it). E(B-V) inputs now use 3.16 :func:`ebprp_per_a0`:
1.34 at the Sun's colour, as Casagrande & VandenBerg 2018 (MNRAS 479, L102) give."""

# Gaia EDR3 extinction law (ESA, https://www.cosmos.esa.int/web/gaia/edr3-extinction-law; Riello et al. 2021,
# A&A 649, A3; Fitzpatrick et al. 2019 curve on Castelli & Kurucz spectra, method of Danielski et al. 2018):
# k_X = A_X / A_0 = a1 + a2 T + a3 T^2 + a4 T^3 + a5 A0 + a6 A0^2 + a7 A0^3 + a8 T A0 + a9 A0 T^2 + a10 T A0^2,
# T = Teff / 5040 K. File Fitz19_EDR3_MainSequence.csv, rows (kBP, TeffNorm), (kRP, TeffNorm), (kG, TeffNorm), as copied in
# mfouesneau/dustapprox (gdr3_dustapprox/data/Fitz19_EDR3_extinctionlawcoefficients/).
FITZ19_KBP_TEFF = (0.888088914696666, 0.11318390480077, 0.0846337732558566, -0.0371265818793239,
                   -0.00296140793334905, 0.000538660562947277, -1.31018008013512e-05, -0.0164152179931537,
                   0.00323902299833464, 0.000169011297620409)
FITZ19_KRP_TEFF = (0.382719668454633, 0.505895415656219, -0.314981478333036, 0.0665302085130136,
                   -0.00383780468169498, 6.50490784002505e-05, 1.57894227640801e-06, -0.00348740736346628,
                   0.00110877159426768, -1.8313141658225e-05)
FITZ19_KG_TEFF = (0.259021858973784, 0.93676111876298, -0.437446499585492, 0.0783508476444952,
                  -0.00136127433235224, 0.000797222688660053, -2.52364537395233e-05, -0.029981504413869,
                  0.00555506017434798, 0.000402778419603886)
"""Row (kG, TeffNorm) of the same file: A_G / A_0 (:func:`a_g_per_a0`)."""
FITZ19_TEFF_RANGE_K = (3500.0, 10000.0)
"""The Teff of the model grid the ESA relation was fitted on: outside it the relation is clipped to its edge."""
FITZ19_A0_MAX = 20.0
"""The largest A_0 of the same grid (0.01 to 20 mag)."""
DEREDDEN_ITERATIONS = 5
"""Fixed-point steps of :func:`deredden`: each shrinks the error by |d k/d colour| A_0 (k changes by < 0.09 per
mag of colour), leaving (BP-RP)0 within 2e-8 mag of the solution at A_0 = 1.7, 1e-5 mag at A_0 = 5."""

AG_PER_EBPRP = 0.789 / EBPRP_PER_AV
"""A_G / E(BP-RP) = 0.789 / 0.413 = 1.91 (A_G/A_V = 0.789, Wang & Chen 2019's constant law, as
:data:`EBPRP_PER_AV`): kept for compatibility (importable, as before); gyroage itself no longer uses it.
``gyroage crossmatch``'s ``g0`` takes the EDR3 law's A_G, which varies with the spectrum (:func:`a_g_per_a0`:
A_G/E(BP-RP) 2.07 at the Sun's colour, 1.86 for M dwarfs), for an E(BP-RP) too (:func:`a0_of_ebprp`)."""

DWARF_SEQUENCE = np.array([
    # Teff [K], (B-V)0, (BP-RP)0, (V-Ks)0 [mag]: A0V ... M6V
    (9700, 0.000, -0.037, 0.041), (9300, 0.035, 0.005, 0.090), (8840, 0.070, 0.068, 0.178),
    (8600, 0.100, 0.110, 0.253), (8250, 0.140, 0.166, 0.353), (8100, 0.160, 0.194, 0.403),
    (7910, 0.185, 0.222, 0.465), (7760, 0.210, 0.263, 0.528), (7590, 0.250, 0.320, 0.601),
    (7400, 0.270, 0.327, 0.674), (7220, 0.295, 0.377, 0.734), (7020, 0.330, 0.434, 0.819),
    (6820, 0.370, 0.490, 0.925), (6750, 0.390, 0.518, 0.964), (6670, 0.410, 0.546, 1.012),
    (6550, 0.440, 0.587, 1.079), (6350, 0.486, 0.640, 1.190), (6280, 0.500, 0.670, 1.221),
    (6180, 0.530, 0.694, 1.290), (6050, 0.560, 0.719, 1.335), (5990, 0.580, 0.767, 1.403),
    (5930, 0.595, 0.784, 1.437), (5860, 0.622, 0.803, 1.500), (5770, 0.650, 0.823, 1.564),
    (5720, 0.660, 0.832, 1.588), (5680, 0.670, 0.841, 1.611), (5660, 0.680, 0.850, 1.635),
    (5600, 0.700, 0.869, 1.691), (5550, 0.710, 0.880, 1.705), (5480, 0.730, 0.900, 1.768),
    (5380, 0.775, 0.950, 1.857), (5290, 0.816, 0.983, 1.953), (5170, 0.857, 1.01, 2.06),
    (5100, 0.884, 1.10, 2.13), (4870, 0.990, 1.19, 2.35), (4600, 1.090, 1.34, 2.70),
    (4440, 1.150, 1.43, 2.88), (4300, 1.240, 1.53, 3.08), (4090, 1.340, 1.70, 3.35),
    (3990, 1.363, 1.73, 3.48), (3930, 1.400, 1.79, 3.55), (3850, 1.420, 1.84, 3.65),
    (3770, 1.445, 1.97, 3.84), (3660, 1.485, 2.09, 4.00), (3620, 1.495, 2.13, 4.10),
    (3560, 1.505, 2.23, 4.23), (3470, 1.522, 2.39, 4.43), (3430, 1.53, 2.50, 4.60),
    (3270, 1.60, 2.78, 5.00), (3210, 1.65, 2.94, 5.25), (3110, 1.69, 3.16, 5.65),
    (3060, 1.83, 3.35, 5.95), (2930, 1.94, 3.71, 6.50), (2810, 2.01, 4.16, 7.10),
])
"""Mean main-sequence dwarf Teff and intrinsic colours, A0V to M6V (spectral order: Teff falls, colours rise).

From E. Mamajek's "A Modern Mean Dwarf Stellar Color and Effective Temperature
Sequence" (http://www.pas.rochester.edu/~emamajek/EEM_dwarf_UBVIJHK_colors_Teff.txt,
version 2024.05.15; Pecaut & Mamajek 2013, ApJS 208, 9): its Teff, Johnson B-V, Gaia Bp-Rp and
Johnson-2MASS V-Ks columns, intrinsic colours of unreddened dwarfs, so the result is (BP-RP)0. Valid
for dwarfs only (giants and pre-main-sequence stars of the same Teff or colour have another BP-RP),
and for mean metallicity: B-V in particular shifts with [Fe/H].
"""

DWARF_TEFF_BP_RP0 = DWARF_SEQUENCE[:, [0, 2]][::-1]
"""(Teff, (BP-RP)0) of :data:`DWARF_SEQUENCE`, ascending Teff."""

SUN_BP_RP0 = 0.823
"""(BP-RP)0 of the Sun: :data:`DWARF_SEQUENCE`'s 5770 K (G2V) row."""

FITZ19_COLOUR_MAX = float(np.interp(np.log10(FITZ19_TEFF_RANGE_K[0]), np.log10(DWARF_TEFF_BP_RP0[:, 0]),
                                    DWARF_TEFF_BP_RP0[:, 1]))
"""(BP-RP)0 of a dwarf at :data:`FITZ19_TEFF_RANGE_K`'s coolest Teff (2.34, about M2.5V): :func:`ebprp_per_a0` holds
its value for redder dwarfs."""

SEQUENCE_COLUMN = {"teff": 0, "v_ks0": 3, "b_v0": 1}
"""The inputs read through :data:`DWARF_SEQUENCE` (their column in it), in the order a row takes them."""

SEQUENCE_RANGE = {k: (float(DWARF_SEQUENCE[:, c].min()), float(DWARF_SEQUENCE[:, c].max()))
                  for k, c in SEQUENCE_COLUMN.items()}
"""Range of each :data:`SEQUENCE_COLUMN` input in the table: outside it a row gets ``teff_out_of_range`` (Teff) or
``dwarf_colour_out_of_range`` (the colours)."""

TEFF_RANGE_K = SEQUENCE_RANGE["teff"]
"""Teff range of :data:`DWARF_TEFF_BP_RP0`: outside it a row gets status ``teff_out_of_range``."""


def ebprp_per_a0(bp_rp0, a0) -> np.ndarray:
    """E(BP-RP) / A_0 = k_BP - k_RP of the Gaia EDR3 extinction law (:data:`FITZ19_KBP_TEFF`) for dwarfs.

    The ESA fit is in Teff (its validity stated in Teff, :data:`FITZ19_TEFF_RANGE_K`), so the (BP-RP)0 is read as a
    Teff through :data:`DWARF_SEQUENCE` (linear in log Teff, its inverse) and clipped to 3500-9700 K: dwarfs redder
    than (BP-RP)0 = 2.34 (3500 K, about M2.5V) and bluer than -0.037 (A0V) take the edge's value. The ESA's own
    (BP-RP)0 polynomial, fitted to the models' colours, agrees within 1% for (BP-RP)0 0-1.0 (2% to 1.2) but turns
    up again beyond 1.8, where dwarf colours leave the grid (0.422 at 2.34, against 0.391 here). ``a0`` (A_0 ~ A_V,
    mag) is clipped to 0-20 mag. At A_0 -> 0: 0.424 at the Sun's 0.823 (0.413 from Wang & Chen 2019), 0.405 at
    1.2 (K5V), 0.391 for M dwarfs; less at A_0 = 1.7: 5% for A0V (0.491 -> 0.466), 4% at the Sun's colour, 2.7% for
    M dwarfs.
    NaN where ``bp_rp0`` is NaN.
    """
    return _k_bp_rp(_fitz19_teff_norm(bp_rp0), a0)


def _k_bp_rp(t: np.ndarray, a0) -> np.ndarray:
    """:func:`ebprp_per_a0` at T = Teff / 5040 K ``t`` already worked out (:func:`a0_of_ebprp`'s steps reuse it)."""
    a = np.clip(np.asarray(a0, dtype=float), 0.0, FITZ19_A0_MAX)
    return _fitz19_k(FITZ19_KBP_TEFF, t, a) - _fitz19_k(FITZ19_KRP_TEFF, t, a)


def a_g_per_a0(bp_rp0, a0) -> np.ndarray:
    """A_G / A_0 = k_G of the Gaia EDR3 extinction law (:data:`FITZ19_KG_TEFF`) for dwarfs, read as
    :func:`ebprp_per_a0` reads k_BP and k_RP (Teff through the dwarf sequence, clipped to the grid; ``a0`` to
    0-20 mag). 0.876 at the Sun's colour, 0.725 for M dwarfs, at A_0 -> 0: A_G / E(BP-RP) 2.07 and 1.86, where
    :data:`AG_PER_EBPRP` is 1.91 for all. NaN where ``bp_rp0`` is NaN.
    """
    a = np.clip(np.asarray(a0, dtype=float), 0.0, FITZ19_A0_MAX)
    return _fitz19_k(FITZ19_KG_TEFF, _fitz19_teff_norm(bp_rp0), a)


def _fitz19_teff_norm(bp_rp0) -> np.ndarray:
    """T = Teff / 5040 K of dwarfs of colour ``bp_rp0``, clipped to :data:`FITZ19_TEFF_RANGE_K`."""
    x = np.asarray(bp_rp0, dtype=float)
    # the sequence's colour rises as its Teff falls (DWARF_SEQUENCE): np.interp holds the end values beyond it
    log_teff = np.interp(x, DWARF_SEQUENCE[:, 2], np.log10(DWARF_SEQUENCE[:, 0]))
    return np.clip(10.0 ** log_teff, *FITZ19_TEFF_RANGE_K) / 5040.0


def _fitz19_k(c: tuple[float, ...], t: np.ndarray, a: np.ndarray) -> np.ndarray:
    """k_X = A_X / A_0 of the ESA polynomial (the comment above :data:`FITZ19_KBP_TEFF`), coefficients ``c``."""
    return (c[0] + c[1] * t + c[2] * t**2 + c[3] * t**3 + c[4] * a + c[5] * a**2 + c[6] * a**3
            + c[7] * t * a + c[8] * a * t**2 + c[9] * t * a**2)


def a0_of_ebprp(bp_rp0, ebprp) -> np.ndarray:
    """A_0 (mag) behind reddenings ``ebprp`` (E(BP-RP), mag) of dwarfs of intrinsic colour ``bp_rp0``: the A_0 that
    :func:`ebprp_per_a0` turns into that E(BP-RP), A_0 = E(BP-RP) / k(``bp_rp0``, A_0), solved as :func:`deredden`
    solves its colour, by :data:`DEREDDEN_ITERATIONS` fixed-point steps from the constant :data:`EBPRP_PER_AV`
    (measured: within 3e-8 mag of the solution at A_0 = 1.5, 2e-6 mag at A_0 = 5, worst for A dwarfs). So an
    E(BP-RP) gets the A_G (:func:`a_g_per_a0`) the A_V that gives it does. NaN where either is NaN.
    """
    e = np.asarray(ebprp, dtype=float)
    t = _fitz19_teff_norm(bp_rp0)  # the colour is fixed: read as a Teff once, only A_0 changes from step to step
    a0 = e / EBPRP_PER_AV
    for _ in range(DEREDDEN_ITERATIONS):
        a0 = e / _k_bp_rp(t, a0)  # ebprp_per_a0's own operations: the same bytes
    return a0


def deredden(bp_rp, a0) -> tuple[np.ndarray, np.ndarray]:
    """((BP-RP)0, E(BP-RP)/A_0) of observed colours ``bp_rp`` behind extinctions ``a0`` (A_0 ~ A_V, mag).

    The ratio depends on the intrinsic colour (:func:`ebprp_per_a0`), so (BP-RP)0 = bp_rp - k((BP-RP)0, A_0) A_0 is
    solved by :data:`DEREDDEN_ITERATIONS` fixed-point steps from the constant :data:`EBPRP_PER_AV`, vectorised
    over stars.
    """
    obs, a = np.asarray(bp_rp, dtype=float), np.asarray(a0, dtype=float)
    colour = obs - EBPRP_PER_AV * a
    for _ in range(DEREDDEN_ITERATIONS):
        ratio = ebprp_per_a0(colour, a)
        colour = obs - ratio * a
    return colour, ratio


def ebprp_per_unit(bp_rp, value, a0_per: float) -> tuple[np.ndarray, np.ndarray]:
    """(E(BP-RP) per unit of the reddening, A_0) of reddenings ``value`` in front of observed colours ``bp_rp``: A_V
    (``a0_per`` 1) or E(B-V) (``a0_per`` :data:`R_V`), through the EDR3 law at the intrinsic colour they leave
    (:func:`deredden`), k x ``a0_per``.

    The arithmetic of ``gyroage estimate``'s reddening columns (:mod:`gyroage.core.colours`), operation for operation,
    so ``bp_rp - factor x value`` is the (BP-RP)0 estimate gives for the same colour and reddening, to the last digit;
    the factor converts the reddening's error too, as estimate converts an ``av_err`` or ``ebv_err`` (``gyroage
    crossmatch --extinction column:NAME`` uses it). NaN where ``value`` is NaN."""
    value = np.asarray(value, dtype=float)
    a0 = value * a0_per
    with np.errstate(invalid="ignore"):
        ratio = deredden(bp_rp, a0)[1]
    return ratio * a0_per, a0
