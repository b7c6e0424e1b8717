"""Output files on disk: permissions, reproducible gzip, the sidecar's life (discard, checks, lock, leftovers)."""

from __future__ import annotations

import os
import stat

import pandas as pd
import pytest

from gyroage import writers
from gyroage.core.estimate import EstimateSettings
from gyroage.engines import local as engines
from tests.test_engines import stars


@pytest.fixture(scope="module")
def density():
    from gyroage.core.density import FlowDensity

    return FlowDensity(threads=1)


@pytest.fixture(scope="module")
def settings(density):
    from gyroage.core.priors import Prior

    g = density.card.age_grid
    return EstimateSettings(prior=Prior("uniform_log_age", g["log10_age_min"], g["log10_age_max"]), n_grid=g["n"])


@pytest.fixture
def umask():
    """Set the umask for one test (``umask(0o077)``), and put the old one back after it."""
    old = os.umask(0o022)
    os.umask(old)
    yield os.umask
    os.umask(old)


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_outputs_follow_the_umask_and_keep_a_replaced_files_mode(tmp_path, umask, density, settings):
    """Every output was 0644 whatever the umask: a private umask (077) left results readable by all, a group one
    (002) kept the group from them. New files now get 0666 less the umask; a replaced file keeps its mode."""
    frame = pd.DataFrame({"a": [1.0, 2.0]})
    src = tmp_path / "in.csv"
    stars(30).to_csv(src, index=False)
    for mask, want in ((0o077, 0o600), (0o002, 0o664), (0o027, 0o640)):
        umask(mask)
        for name in (f"w{mask:o}.csv", f"w{mask:o}.parquet", f"w{mask:o}.fits"):
            with writers.AtomicWriter(tmp_path / name) as w:
                w.write(frame)
            assert mode(tmp_path / name) == want, name
        out = tmp_path / f"est{mask:o}.csv"  # through the resumable sidecar
        engines.run_local(src, out, density, settings, chunksize=10, quiet=True)
        assert mode(out) == want
    umask(0o022)
    kept = tmp_path / "kept.csv"
    kept.write_text("old\n")
    os.chmod(kept, 0o640)
    with writers.AtomicWriter(kept) as w:
        w.write(frame)
    assert mode(kept) == 0o640 and kept.read_text() == "a\n1\n2\n"
    os.chmod(kept, 0o604)
    engines.run_local(src, kept, density, settings, chunksize=10, quiet=True)
    assert mode(kept) == 0o604
