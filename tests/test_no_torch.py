import subprocess
import sys

import pytest

from tests.conftest import EXAMPLES, ROOT


def test_import_and_estimate_never_import_torch():
    code = (
        "import sys, gyroage\n"
        "from gyroage.cli import app\n"
        "from typer.testing import CliRunner\n"
        f"r = CliRunner().invoke(app, ['estimate', r'{EXAMPLES / 'field_stars.csv'}', '-q'])\n"
        "assert r.exit_code == 0, r.output\n"
        "from gyroage import AgeModel\n"
        "m = AgeModel.load()\n"
        "m.posterior([10.0, 20.0], 1.0).to_frame()\n"
        "m.log_likelihood(10.0, 1.0, 500.0); m.sample_periods(500.0, 1.0, n=10, seed=0)\n"
        "import gyroage.core.api, gyroage.io, gyroage.core.estimate, gyroage.engines\n"
        "bad = [m for m in sys.modules if m == 'torch' or m.startswith('torch.')]\n"
        "assert not bad, bad\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert res.returncode == 0, res.stderr


def test_every_public_name_resolves_without_torch():
    code = ("import sys, gyroage; [getattr(gyroage, n) for n in gyroage.__all__]; "
            "print('torch' in sys.modules, 'onnx' in sys.modules)")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == ["False", "False"]


@pytest.mark.parametrize("magnitudes", [False, True], ids=["rotation", "with-magnitudes"])
def test_a_csv_estimate_loads_no_heavy_optional_library(tmp_path, magnitudes):
    """Cold start: scipy (MCMC only), astropy (FITS/VOTable/ECSV only) and matplotlib stay unloaded for a CSV run,
    also when magnitudes bring in the card's main-sequence term (its normal CDF is numpy's, not scipy's)."""
    csv = EXAMPLES / "field_stars.csv"
    if magnitudes:
        csv = tmp_path / "m_dwarfs.csv"
        csv.write_text("prot_days,bp_rp0,g0,parallax\n1.2,2.4,14.1,10.0\n15.0,2.0,12.2,12.5\n")
    code = (
        "import sys\n"
        "from gyroage.cli import app\n"  # not main(): it leaves through os._exit
        f"app(['estimate', r'{csv}', '-q'], standalone_mode=False)\n"
        "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'scipy', 'astropy', 'matplotlib', 'torch', 'onnx'})\n"
        "print('HEAVY', heavy, file=sys.stderr)\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert res.returncode == 0, res.stderr
    assert "HEAVY []" in res.stderr, res.stderr
    if magnitudes:  # the term did run: both stars have a height in its range
        header, *rows = res.stdout.splitlines()
        assert "ms_height_mag" in header.split(","), header
        at = header.split(",").index("ms_height_mag")
        assert len(rows) == 2 and all(float(r.split(",")[at]) > 0 for r in rows), res.stdout
