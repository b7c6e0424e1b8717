"""Every ```python block of the README runs as written (the API block's `model.estimate(frame)` raised NameError).

Each block is run in a fresh namespace, from the directory a reader would be in: the checkout for the API block,
a directory where the bash line before it wrote ``post.parquet`` for the posteriors block (the onnxruntime-only
block, too, runs from the checkout, where README's commands run: it named the graph as if in ``models/``). The one
block that needs a SLURM cluster and object storage is only compiled.
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.conftest import EXAMPLES, ROOT, run_cli

BLOCKS = re.findall(r"^```python\n(.*?)^```", (ROOT / "README.md").read_text(), flags=re.S | re.M)
# a block's first line -> where it runs (None: compiled only, with the reason)
WHERE = {
    "from gyroage import AgeModel": "checkout",
    "# SLURM, with dask-jobqueue": None,  # needs dask-jobqueue, a SLURM scheduler and an s3:// survey
    "import numpy as np, pandas as pd": "posteriors",
    "import numpy as np, onnxruntime as ort": "checkout",
    "import numpy as np, pandas as pd, gyroage": "checkout",  # Coeval groups: group-age from Python
    # --processes from Python: run as a script, its __main__ guard true
    "from gyroage import AgeModel, EstimateSettings, SamplerSettings, read_stars": "checkout",
    "import gyroage, pandas as pd": "scratch",  # Priors: a --prior-table file in Python (writes sfh.csv)
}


def first_line(block: str) -> str:
    return block.splitlines()[0].strip()


def test_every_python_block_is_accounted_for():
    assert sorted(first_line(b) for b in BLOCKS) == sorted(WHERE), "a README python block this test does not run"


@pytest.mark.parametrize("block", BLOCKS, ids=first_line)
def test_readme_python_block_runs_as_written(block, tmp_path, monkeypatch):
    where = WHERE[first_line(block)]
    code = compile(block, "README.md", "exec")
    if where is None:
        return
    if where == "checkout":
        monkeypatch.chdir(ROOT)
    elif where == "scratch":
        monkeypatch.chdir(tmp_path)
    else:  # the README's bash line before it: gyroage estimate stars.csv -o ages.csv --posteriors post.parquet
        pytest.importorskip("pyarrow")
        stars = tmp_path / "stars.csv"
        stars.write_text((EXAMPLES / "field_stars.csv").read_text())
        res = subprocess.run([sys.executable, "-m", "gyroage.cli", "estimate", "stars.csv", "-o", "ages.csv",
                              "--posteriors", "post.parquet", "-q"], cwd=tmp_path, capture_output=True, text=True,
                             timeout=120)
        assert res.returncode == 0, res.stderr
        monkeypatch.chdir(tmp_path)
    exec(code, {"__name__": "__main__" if 'if __name__ == "__main__":' in block else "__readme__"})


def test_readme_group_recipe_gives_group_age_numbers(tmp_path, monkeypatch):
    """The Coeval groups recipe gave group_posterior's defaults as group-age's: no systematic error and no colour
    marginal, intervals ~2.6x too narrow. Both its DataFrame and its array call now give the command's numbers."""
    import numpy as np
    import pandas as pd

    block = next(b for b in BLOCKS if first_line(b) == "import numpy as np, pandas as pd, gyroage")
    monkeypatch.chdir(ROOT)
    ns: dict = {"__name__": "__readme__"}
    exec(compile(block, "README.md", "exec"), ns)
    ns["members"].to_csv(tmp_path / "members.csv", index=False)
    res = run_cli("group-age", str(tmp_path / "members.csv"), "--by", "cluster", "-o", str(tmp_path / "out.csv"), "-q")
    assert res.returncode == 0, res.stderr
    cli = pd.read_csv(tmp_path / "out.csv")
    for name, value in ns["gp"].summaries().items():
        np.testing.assert_allclose(value, cli[name], rtol=1e-5, err_msg=name)  # the CSV's 6 significant digits
        np.testing.assert_allclose(ns["ages"][name], cli[name], rtol=1e-5, err_msg=name)


def test_readme_prior_table_recipe_gives_the_cli_numbers(tmp_path, monkeypatch):
    """A --prior-table file's linear densities passed as Prior.table (log densities) put medians 0.2 dex off: the
    README's make_prior recipe gives the command line's ages."""
    import numpy as np
    import pandas as pd

    block = next(b for b in BLOCKS if first_line(b) == "import gyroage, pandas as pd")
    monkeypatch.chdir(tmp_path)
    ns: dict = {"__name__": "__readme__"}
    exec(compile(block, "README.md", "exec"), ns)
    pd.DataFrame({"prot": [25.4, 8.0], "bp_rp0": [0.82, 1.1]}).to_csv("stars.csv", index=False)
    res = run_cli("estimate", "stars.csv", "--prior", "tabulated", "--prior-table", "sfh.csv", "--age-max-myr", "8000",
                  "-o", "out.csv", "-q", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    cli = pd.read_csv(tmp_path / "out.csv")
    for name, value in ns["post"].summaries().items():
        np.testing.assert_allclose(value, cli[name], rtol=1e-5, err_msg=name)
