"""Figures: files are written, valid and refuse bad options; sequence bands behave."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.conftest import run_cli


@pytest.fixture()
def stars_csv(tmp_path):
    p = tmp_path / "stars.csv"
    pd.DataFrame({"name": ["a", "b", "c"], "prot": [10.0, -1.0, 2.0], "bp_rp0": [1.2, 1.0, 2.5]}).to_csv(p, index=False)
    return p


def test_plot_posterior_png_and_pdf(tmp_path, stars_csv):
    from gyroage.plots import plot_posterior

    png = plot_posterior(str(stars_csv), 0, tmp_path / "p.png", true_age_myr=700)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    pdf = plot_posterior(str(stars_csv), 2, tmp_path / "p.pdf")
    assert pdf.read_bytes()[:5] == b"%PDF-"


def test_plot_posterior_errors(tmp_path, stars_csv):
    from gyroage.errors import UserError
    from gyroage.plots import plot_posterior

    for row, out in ((1, "x.png"), (7, "x.png"), (0, "x.jpg")):
        with pytest.raises(UserError):
            plot_posterior(str(stars_csv), row, tmp_path / out)
    res = run_cli("plot", "posterior", str(stars_csv), "--row", "1")
    assert res.returncode == 2 and "status invalid_period" in res.stderr and "Traceback" not in res.stderr


def test_plot_sequence_cli(tmp_path, stars_csv):
    out = tmp_path / "seq.png"
    res = run_cli("plot", "sequence", "-o", str(out), "--age", "100", "--age", "1000", "--data", str(stars_csv))
    assert res.returncode == 0, res.stderr
    assert out.read_bytes()[:4] == b"\x89PNG"


def test_sequence_bands_ordered_and_spin_down(model):
    from gyroage.plots import sequence_bands

    colours = np.linspace(1.0, 1.6, 7)  # FGK stars on the slow sequence spin down with age
    b = sequence_bands(model, [150.0, 1500.0], colours)
    assert b.shape == (2, 7, 3)
    assert np.all(np.diff(b, axis=2) >= 0)
    assert np.all(b[1, :, 1] > b[0, :, 1])
