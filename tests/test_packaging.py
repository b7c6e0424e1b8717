"""The wheel and sdist build offline, and the installed wheel dates stars with its packaged model."""

import importlib.util
import io
import os
import site
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import EXAMPLES, ROOT

# The one exception to the 60 s limit (pyproject.toml): building the wheel alone may take 120 s (dist), then a fresh
# venv installs it.
pytestmark = [pytest.mark.packaging, pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def dist(tmp_path_factory):
    missing = [m for m in ("build", "hatchling") if importlib.util.find_spec(m) is None]
    if missing:
        pytest.skip(f"{' and '.join(missing)} not installed (pip install build hatchling, or the 'dev' extra): "
                    "cannot build offline")
    out = tmp_path_factory.mktemp("dist")
    res = subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(ROOT)],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    return out


def test_wheel_and_sdist_contents(dist):
    (wheel,), (sdist,) = dist.glob("*.whl"), dist.glob("*.tar.gz")
    names = zipfile.ZipFile(wheel).namelist()
    for f in ("gyroage-model.json", "gyroage-density.onnx", "gyroage-posterior.onnx"):
        assert f"gyroage/_models/{f}" in names
    assert any(n.endswith("entry_points.txt") for n in names)
    members = tarfile.open(sdist).getnames()
    assert any(m.endswith("models/gyroage-posterior.onnx") for m in members)
    assert any(m.endswith("gyroage/core/api.py") for m in members)
    assert any(m.endswith("/CITATION.cff") for m in members)
    assert not any("node_modules" in m or m.endswith(".part") for m in members)


def test_installed_wheel_estimates_from_another_directory(dist, tmp_path):
    (wheel,) = dist.glob("*.whl")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=60)
    py = venv / "bin" / "python"
    # Reuse the running environment's dependencies (offline). Plain paths in a .pth file are appended
    # to sys.path without processing the .pth files found there, so an editable gyroage stays out.
    target = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                            capture_output=True, text=True, check=True).stdout.strip()
    (Path(target) / "_reuse_deps.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    # Offline: no index, dependencies reused from the system site-packages; force over any other gyroage.
    res = subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "-q", "--no-index", "--no-deps",
                          "--force-reinstall", "--disable-pip-version-check", str(wheel)],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    work = tmp_path / "elsewhere"
    work.mkdir()
    res = subprocess.run([str(venv / "bin" / "gyroage"), "estimate", str(EXAMPLES / "synthetic_stars.csv"), "-q"],
                         capture_output=True, text=True, cwd=work, env=env, timeout=120)
    assert res.returncode == 0, res.stderr
    out = pd.read_csv(io.StringIO(res.stdout))
    assert len(out) == len(pd.read_csv(EXAMPLES / "synthetic_stars.csv")) and out["status"].isin(["ok", "extrapolated"]).mean() > 0.9
    where = subprocess.run([str(py), "-c", "import gyroage, gyroage.core.modelcard as m; print(gyroage.__file__); "
                            "print(m.default_model_dir())"], capture_output=True, text=True, cwd=work, env=env, timeout=60)
    module, models = where.stdout.split()
    assert module.startswith(str(venv)) and models.startswith(str(venv)) and models.endswith("_models"), where.stdout
