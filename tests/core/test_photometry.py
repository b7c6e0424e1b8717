"""The Gaia EDR3 extinction law's A_G (gyroage.core.photometry.a_g_per_a0), which ``crossmatch``'s g0 uses."""

from __future__ import annotations

import numpy as np

from gyroage.core.photometry import DWARF_SEQUENCE, a_g_per_a0, ebprp_per_a0

# Fitz19_EDR3_MainSequence.csv's (kG, BPRP) row, typed from the file (ESA; as copied in mfouesneau/dustapprox):
# the same law in (BP-RP)0 rather than Teff, a check of the Teff row the code holds
KG_BPRP = (0.995969721536602, -0.159726460302015, 0.0122380738156057, 0.00090726555099859, -0.0377160263914123,
           0.00151347495244888, -2.52364537395142e-05, 0.0114522658102451, -0.000936914989014318,
           -0.000260296774134201)


def _k(c, x, a):
    return (c[0] + c[1] * x + c[2] * x**2 + c[3] * x**3 + c[4] * a + c[5] * a**2 + c[6] * a**3
            + c[7] * a * x + c[8] * a * x**2 + c[9] * x * a**2)


def test_a_g_per_a0_follows_the_esa_colour_polynomial():
    """k_G = A_G/A_0 from the Teff row agrees with the file's (BP-RP)0 row within 1% for (BP-RP)0 0-1.2 at any
    A_0; it falls from A to M dwarfs and is flat beyond the grid's 3500 K, as ebprp_per_a0 is."""
    x = np.linspace(0.0, 1.2, 13)
    for a0 in (0.0, 1.0, 3.0):
        np.testing.assert_allclose(a_g_per_a0(x, a0), _k(KG_BPRP, x, a0), rtol=0.01)
    kg = a_g_per_a0(DWARF_SEQUENCE[:, 2], 0.5)
    assert (np.diff(kg) <= 0).all() and kg[-1] == kg[DWARF_SEQUENCE[:, 0] <= 3500][0]
    assert np.isnan(a_g_per_a0(np.nan, 0.5))


def test_a_g_over_ebprp_depends_on_the_colour():
    """A_G/E(BP-RP) of the EDR3 law: about 2.06 at the Sun's colour and 1.86 for M dwarfs, where the constant 1.91
    of Wang & Chen 2019 (AG_PER_EBPRP) is one value for all."""
    ratio = a_g_per_a0([0.823, 2.8], 0.0) / ebprp_per_a0([0.823, 2.8], 0.0)
    np.testing.assert_allclose(ratio, [2.065, 1.855], atol=0.005)


def test_a0_of_ebprp_inverts_the_edr3_law():
    """An E(BP-RP) had no A_0 of its own (crossmatch's g0 took 1.91 E(BP-RP)): a0_of_ebprp gives the A_0 the law turns
    into that E(BP-RP) at the intrinsic colour, so the A_G of an E(BP-RP) is the A_G of the A_V behind it."""
    from gyroage.core.photometry import a0_of_ebprp

    colour = np.array([0.0, 0.823, 1.2, 2.0, 3.0, np.nan])
    for a0 in (0.0, 0.3, 1.5, 5.0):
        e = ebprp_per_a0(colour, a0) * a0
        got = a0_of_ebprp(colour, e)
        # the fixed point's few steps: 3e-8 mag at A_0 = 1.5, 2e-6 mag at 5 (A dwarfs, whose k varies most with A_0)
        assert np.allclose(got[:-1], a0, rtol=1e-6, atol=1e-12) and np.isnan(got[-1])


def test_a0_of_ebprp_reads_the_colour_once(monkeypatch):
    """a0_of_ebprp read the colour as a Teff again at every fixed-point step (through ebprp_per_a0): the colour does
    not change, so it is read once and the steps loop on the law's polynomial alone (the same numbers)."""
    from gyroage.core import photometry

    calls = []
    real = photometry._fitz19_teff_norm
    monkeypatch.setattr(photometry, "_fitz19_teff_norm", lambda x: calls.append(1) or real(x))
    colour = np.array([0.1, 0.82, 1.5, 2.6, np.nan])
    e = np.array([0.05, 0.3, 1.0, 2.0, 0.1])
    got = photometry.a0_of_ebprp(colour, e)
    assert len(calls) == 1
    # the steps as they were, through ebprp_per_a0: the same bytes
    a0 = e / photometry.EBPRP_PER_AV
    for _ in range(photometry.DEREDDEN_ITERATIONS):
        a0 = e / photometry.ebprp_per_a0(colour, a0)
    assert got.tobytes() == a0.tobytes()
    assert not hasattr(photometry, "ebprp_of_reddening")  # used only by a test: ebprp_per_unit gives its factor
