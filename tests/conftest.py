"""Shared test helpers: import them as ``from tests.conftest import ...`` (tests is a package)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "catalogs" / "examples"
CATALOG = Path(os.environ.get("GYROAGE_CATALOG", ROOT.parent / "shared" / "data" / "open_cluster_rotators.csv"))


def pytest_collection_modifyitems(config, items) -> None:
    """Skip the ``remote`` tests (real services, network) unless ``-m`` names them: CI has no network.

    A hook rather than ``addopts = -m 'not remote'``: any ``-m`` on the command line (``-m "not slow"``)
    would replace that one and send the remote tests out.
    """
    if "remote" in (config.getoption("markexpr") or ""):
        return
    skip = pytest.mark.skip(reason="talks to the real Gaia/VizieR/MAST services: run with pytest -m remote")
    for item in items:
        if "remote" in item.keywords:
            item.add_marker(skip)


def run_cli(*args: str, input: str | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run the console entry point in a fresh interpreter, as a user would."""
    return subprocess.run([sys.executable, "-m", "gyroage.cli", *args], input=input, capture_output=True,
                          text=True, cwd=cwd or ROOT, timeout=120)


@pytest.fixture(scope="session")
def catalog_path() -> Path:
    if not CATALOG.is_file():
        pytest.skip(f"rotator catalogue not found at {CATALOG} (set GYROAGE_CATALOG)")
    return CATALOG


@pytest.fixture(scope="session")
def model():
    from gyroage import AgeModel

    return AgeModel.load()


@pytest.fixture
def uncalibrated_model(tmp_path) -> Path:
    """A copy of the shipped model whose card has no calibration, as `gyroage train --export` writes it."""
    import json
    import shutil

    model = tmp_path / "model"
    shutil.copytree(ROOT / "models", model)
    card = json.loads((model / "gyroage-model.json").read_text())
    card["calibration"] = {}
    (model / "gyroage-model.json").write_text(json.dumps(card))
    return model


@pytest.fixture
def termless_model(tmp_path) -> Path:
    """A copy of the shipped model whose card has no main-sequence term, as `gyroage train --export` writes it."""
    import json
    import shutil

    model = tmp_path / "termless"
    shutil.copytree(ROOT / "models", model)
    card = json.loads((model / "gyroage-model.json").read_text())
    card["main_sequence"] = {}
    (model / "gyroage-model.json").write_text(json.dumps(card))
    return model


def one_line_error(res, *words: str) -> str:
    """Assert a CliRunner result is a user error: exit 2, no traceback, one ``gyroage: error:`` line holding
    ``words``; return that line."""
    assert res.exit_code == 2, (res.exit_code, res.output)
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gyroage: error:"), res.stderr
    for w in words:
        assert w in lines[0], lines[0]
    return lines[0]


def invoke_quiet(command: str, *args: str, stdin: str | bytes | None = None):
    """``gyroage COMMAND ARGS -q`` in-process (typer's CliRunner), ``stdin`` piped in."""
    from typer.testing import CliRunner

    from gyroage.cli import app

    return CliRunner().invoke(app, [command, *args, "-q"], input=stdin)


def ok_output(res) -> str:
    """A CliRunner result's stdout, asserting the run succeeded."""
    assert res.exit_code == 0, (res.exit_code, res.output)
    return res.stdout
