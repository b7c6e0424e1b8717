"""Shared test helpers: import them as ``from tests.conftest import ...`` (tests is a package)."""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "catalogs" / "examples"
CATALOG = Path(os.environ.get("GYROAGE_CATALOG", ROOT.parent / "shared" / "data" / "open_cluster_rotators.csv"))


def _needs(module: str, extra: str) -> pytest.MarkDecorator:
    """Skip (not fail) a test that needs an optional package when it is not installed, saying which extra has it."""
    try:
        missing = importlib.util.find_spec(module) is None
    except (ImportError, ValueError):  # a finder that refuses it, or a module set to None in sys.modules
        missing = True
    return pytest.mark.skipif(missing, reason=f"needs {module}: pip install 'gyroage[{extra}]'")


needs_matplotlib = _needs("matplotlib", "plots")
needs_torch = _needs("torch", "train")
needs_dask = _needs("distributed", "dask")

try:
    from hypothesis import settings as hypothesis_settings
except ImportError:  # the property tests import hypothesis themselves and say so
    pass
else:
    # Hypothesis draws new inputs on every run by default, so a failure in CI may not come back on a rerun: the
    # default profile draws the same ones every run (no example database either, whose replays differ per machine).
    # HYPOTHESIS_PROFILE=explore draws fresh ones when hunting for bugs.
    hypothesis_settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
    hypothesis_settings.register_profile("explore", derandomize=False)
    hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


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


@pytest.fixture(autouse=True)
def _own_crossmatch_cache(monkeypatch, tmp_path_factory) -> None:
    """Every test's crossmatch caches its answers in a folder of its own (review V42): the fake sky's rows went into
    the developer's ~/.cache/gyroage/crossmatch, keyed without the service's URL (a mirror keeps the cache), where a
    real query of the same text would have been answered with them; and -n auto's workers shared it."""
    monkeypatch.setenv("GYROAGE_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture(autouse=True)
def _signal_handlers_restored():
    """A test that sets a SIGINT/SIGTERM handler (Python's own Ctrl-C handler where CI's background job starts with
    SIGINT ignored; main()'s gyroage.cli_process handlers, which ignore a signal once it has fired) leaves the next
    tests of its worker the handlers they started with."""
    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    yield
    for s, handler in before.items():
        if handler is not None:
            signal.signal(s, handler)


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


def _model_without(folder: Path, section: str) -> Path:
    """A copy of the shipped model in ``folder`` whose card's ``section`` is empty."""
    import json
    import shutil

    shutil.copytree(ROOT / "models", folder)
    card = json.loads((folder / "gyroage-model.json").read_text())
    card[section] = {}
    for meta in card["files"].values():  # its graphs are taken as built from this card (as export would record)
        meta.pop("calibration_sha256", None)
    (folder / "gyroage-model.json").write_text(json.dumps(card))
    return folder


@pytest.fixture
def uncalibrated_model(tmp_path) -> Path:
    """A copy of the shipped model whose card has no calibration, as `gyroage train --export` writes it."""
    return _model_without(tmp_path / "model", "calibration")


@pytest.fixture
def termless_model(tmp_path) -> Path:
    """A copy of the shipped model whose card has no main-sequence term, as `gyroage train --export` writes it."""
    return _model_without(tmp_path / "termless", "main_sequence")


def count_chunks(monkeypatch, die_at: int | None = None) -> list[int]:
    """Patch the local engine's ``estimate_chunk`` to record each chunk's length, raising ``RuntimeError("killed")``
    at chunk ``die_at`` (1-based): a run killed part way, for ``--resume`` tests. Returns the list it fills."""
    from gyroage.engines import local

    real = getattr(local.estimate_chunk, "__wrapped__", local.estimate_chunk)  # never wrap a wrapper
    calls: list[int] = []

    def counted(frame, *a, **k):
        calls.append(len(frame))
        if die_at is not None and len(calls) == die_at:
            raise RuntimeError("killed")
        return real(frame, *a, **k)

    counted.__wrapped__ = real
    monkeypatch.setattr(local, "estimate_chunk", counted)
    return calls


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


@pytest.fixture(scope="module")
def density():
    """One single-threaded flow per test module (a module that wants another defines its own)."""
    from gyroage.core.density import FlowDensity

    return FlowDensity(threads=1)


@pytest.fixture(scope="module")
def settings(density):
    """estimate's settings under a flat prior in log age over the model's own grid."""
    from gyroage.core.estimate import EstimateSettings
    from gyroage.core.priors import Prior

    g = density.card.age_grid
    return EstimateSettings(prior=Prior("uniform_log_age", g["log10_age_min"], g["log10_age_max"]), n_grid=g["n"])
