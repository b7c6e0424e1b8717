"""What ``gyroage train / export / validate`` and ``estimate --model`` say to a user retraining on their own
catalogue: folders that cannot be written, colour errors a retrained card clips, magnitudes a model cannot use,
calibration widths kept (tiny toy catalogues only)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("onnx")

from tests.build.test_build_guards import FAST, cli, toy_catalogue, write_config  # noqa: E402
from tests.conftest import one_line_error  # noqa: E402

UNWRITABLE = Path("/proc")  # not even root can make a folder here


@pytest.mark.skipif(not UNWRITABLE.is_dir(), reason="needs Linux's /proc")
@pytest.mark.parametrize("option", ["--out", "--export"])
def test_train_refuses_a_folder_it_cannot_create_before_training(tmp_path, option):
    """train --export /proc/m trained, then died in a FileNotFoundError traceback from mkdir (--out: the same, from
    commands.py); now one line, exit 2, and nothing trained."""
    cat = toy_catalogue(tmp_path / "cat.csv")
    out, export_to = tmp_path / "run", tmp_path / "m"
    if option == "--out":
        out = UNWRITABLE / "gyroage-run"
    else:
        export_to = UNWRITABLE / "gyroage-model"
    res = cli("train", "--catalogue", str(cat), "--out", str(out), "--config", str(write_config(tmp_path, FAST)),
              "--export", str(export_to))
    one_line_error(res, f"{option} {UNWRITABLE}/gyroage-", f"cannot create the directory in {UNWRITABLE}",
                   "No such file or directory")
    assert not (tmp_path / "run").exists() and not (tmp_path / "m").exists()


@pytest.mark.skipif(not UNWRITABLE.is_dir(), reason="needs Linux's /proc")
@pytest.mark.parametrize("command", ["export", "validate"])
def test_export_and_validate_refuse_a_folder_they_cannot_write_in(tmp_path, command):
    args = ["--checkpoint", str(tmp_path)] if command == "export" else ["--catalogue", str(tmp_path / "cat.csv")]
    one_line_error(cli(command, *args, "--out", str(UNWRITABLE)), f"--out {UNWRITABLE}: cannot write in it")


def test_the_probe_leaves_no_trace(tmp_path):
    """The writability probe makes and removes an empty folder: a refused run still leaves --out as it was."""
    cat = toy_catalogue(tmp_path / "cat.csv")
    (tmp_path / "run").mkdir()
    res = cli("train", "--catalogue", str(cat), "--out", str(tmp_path / "run" / "new"), "--max-epochs", "0")
    assert res.exit_code == 2
    assert os.listdir(tmp_path / "run") == []


@pytest.fixture(scope="module")
def toy_model(tmp_path_factory) -> Path:
    """A model exported from a two-epoch toy run: colour errors 0.01-0.05 mag, no main-sequence term, no
    calibration."""
    tmp = tmp_path_factory.mktemp("toy")
    cat = toy_catalogue(tmp / "cat.csv")
    res = cli("train", "--catalogue", str(cat), "--out", str(tmp / "run"), "--config", str(write_config(tmp, FAST)),
              "--export", str(tmp / "m"), "-q")
    assert res.exit_code == 0, res.output
    return tmp / "m"


def _estimate(tmp_path: Path, text: str, *args: str):
    stars = tmp_path / "stars.csv"
    stars.write_text(text)
    res = cli("estimate", str(stars), "-o", str(tmp_path / "out.csv"), *args)
    assert res.exit_code == 0, res.output
    import pandas as pd

    return res, pd.read_csv(tmp_path / "out.csv", keep_default_na=False)


def test_colour_errors_clipped_by_a_retrained_model_are_flagged_and_counted_once(tmp_path, toy_model):
    """A retrained card clips colour errors to its catalogue's largest (here under 0.05 mag): a 0.2 mag error was
    dated as 0.05 with only the per-star flag; the run now says how many and to what."""
    import json

    hi = json.loads((toy_model / "gyroage-model.json").read_text())["domain"]["bp_rp0_err"][1]
    assert hi < 0.05
    res, out = _estimate(tmp_path, "prot,bp_rp0,bp_rp0_err\n10,1.0,0.02\n10,1.0,0.2\n10,1.0,0.3\n12,1.2,\n",
                         "--model", str(toy_model))
    wide = out["bp_rp0_err"].replace("", "nan").astype(float) > hi
    assert list(wide) == [False, True, True, False]
    flagged = out["age_flags"].str.contains("colour_err_beyond_training")
    assert list(flagged) == list(wide)
    lines = [ln for ln in res.stderr.splitlines() if "trained range" in ln]
    assert lines == [f"estimate: 2 stars' colour errors exceed the model's trained range (its catalogue's largest, "
                     f"{hi:.4g} mag) and were dated as {hi:.4g} mag (flagged colour_err_beyond_training): if one is a "
                     "sentinel (99) for a missing colour, that star has no colour to date"]


def test_no_clipped_colour_error_no_line(tmp_path, toy_model):
    res, _ = _estimate(tmp_path, "prot,bp_rp0,bp_rp0_err\n10,1.0,0.02\n", "--model", str(toy_model))
    assert "trained range" not in res.stderr


@pytest.mark.parametrize("columns, row, named", [
    ("abs_g0", "2.0", "'abs_g0'"),
    ("g0,parallax", "9.0,10.0", "'g0', 'parallax'"),
])
def test_magnitudes_a_model_without_a_main_sequence_term_cannot_read_are_said_unread(tmp_path, toy_model, columns,
                                                                                    row, named):
    """A model from train --export has no main-sequence term: a subgiant's abs_g0 was ignored without a word (the
    reading line named only the period and colour) and the star came back ok, dated as a dwarf."""
    res, out = _estimate(tmp_path, f"prot,bp_rp0,{columns}\n10,1.0,{row}\n", "--model", str(toy_model), "-q")
    assert res.stderr.splitlines() == [f"gyroage: {named} not read: model {toy_model} has no main-sequence term, so "
                                       "ages rest on rotation alone (a star above the main sequence is not flagged; "
                                       "README, Retraining)"]
    assert "above_main_sequence" not in out["age_flags"][0]


@pytest.mark.parametrize("columns, args", [
    ("prot,bp_rp0,abs_g0\n10,1.0,2.0\n", ["--no-main-sequence"]),  # the user switched the term off
    ("prot,bp_rp0,parallax\n10,1.0,10.0\n", []),  # a parallax alone: no model reads it
])
def test_no_unread_magnitudes_line_where_nothing_would_be_read(tmp_path, toy_model, columns, args):
    res, _ = _estimate(tmp_path, columns, "--model", str(toy_model), "-q", *args)
    assert "main-sequence term" not in res.stderr


CLIPPED_ROWS = "prot,bp_rp0,bp_rp0_err\n10,1.0,0.02\n10,1.0,0.2\n10,1.0,0.3\n12,1.2,\n"  # two errors beyond 0.05


def _clipped_line(model: Path, n: int = 2) -> str:
    """The clipped-errors note (without its prefix) as the local engine's test above spells it."""
    import json

    hi = json.loads((model / "gyroage-model.json").read_text())["domain"]["bp_rp0_err"][1]
    return (f"{n} stars' colour errors exceed the model's trained range (its catalogue's largest, {hi:.4g} mag) and "
            f"were dated as {hi:.4g} mag (flagged colour_err_beyond_training): if one is a sentinel (99) for a "
            "missing colour, that star has no colour to date")


def test_the_dask_engine_says_the_clipped_colour_errors_once_for_all_partitions(tmp_path, toy_model, capsys):
    """71a3279 counted the clipped colour errors on the local engine only: --engine dask said nothing. The count is
    now the run's, summed over every partition (here two), said once."""
    pytest.importorskip("distributed")
    from distributed import Client, LocalCluster

    from gyroage.core.estimate import EstimateSettings
    from gyroage.engines import dask_engine

    src = tmp_path / "s.csv"
    src.write_text(CLIPPED_ROWS)
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        dask_engine.run_dask(str(src), tmp_path / "out.parquet", EstimateSettings(), model=toy_model, blocksize=30,
                             client=client)
    import pandas as pd

    assert len(list((tmp_path / "out.parquet").glob("part.*.parquet"))) == 2
    assert pd.read_parquet(tmp_path / "out.parquet")["age_flags"].str.contains("colour_err_beyond_training").sum() == 2
    lines = [ln for ln in capsys.readouterr().err.splitlines() if "trained range" in ln]
    assert lines == [f"estimate: {_clipped_line(toy_model)}"]


def _warned(call) -> list[str]:
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        call()
    return [str(w.message) for w in caught if issubclass(w.category, UserWarning)]


def test_the_api_warns_of_clipped_colour_errors_as_estimate_says_them(toy_model):
    """AgeModel.estimate and AgeModel.posterior clipped a retrained card's colour errors with only the per-star flag:
    the command line's count and its text now come as one UserWarning, as its other end-of-run notes do."""
    import io

    import numpy as np
    import pandas as pd

    from gyroage import AgeModel

    model = AgeModel.load(toy_model)
    frame = pd.read_csv(io.StringIO(CLIPPED_ROWS))
    line = f"gyroage: {_clipped_line(toy_model)}"
    assert [w for w in _warned(lambda: model.estimate(frame)) if "trained range" in w] == [line]
    assert [w for w in _warned(lambda: model.posterior(frame["prot"].to_numpy(), frame["bp_rp0"].to_numpy(),
                                                       frame["bp_rp0_err"].to_numpy()))
            if "trained range" in w] == [line]
    assert not [w for w in _warned(lambda: model.posterior(np.array([10.0]), np.array([1.0]), np.array([0.02])))
                if "trained range" in w]


def test_the_api_warns_of_magnitudes_a_model_without_a_main_sequence_term_cannot_read(toy_model):
    """2430c78's line ('abs_g0' not read: model M has no main-sequence term) was the command line's only: a
    pipeline's AgeModel.estimate (and posterior(abs_g0=...)) dated a subgiant as a dwarf without a word."""
    import numpy as np
    import pandas as pd

    from gyroage import AgeModel
    from gyroage.core.estimate import EstimateSettings

    model = AgeModel.load(toy_model)
    line = (f"gyroage: 'abs_g0' not read: model {toy_model} has no main-sequence term, so ages rest on rotation alone "
            "(a star above the main sequence is not flagged; README, Retraining)")
    frame = pd.DataFrame({"prot": [10.0], "bp_rp0": [1.0], "abs_g0": [2.0]})
    assert [w for w in _warned(lambda: model.estimate(frame)) if "main-sequence term" in w] == [line]
    assert [w for w in _warned(lambda: model.posterior(np.array([10.0]), np.array([1.0]), abs_g0=np.array([2.0])))
            if "main-sequence term" in w] == [line]
    # the user's choice, or nothing the shipped model would read: no line
    assert not [w for w in _warned(lambda: model.estimate(frame, EstimateSettings(main_sequence=False)))
                if "main-sequence term" in w]
    assert not [w for w in _warned(lambda: model.posterior(np.array([10.0]), np.array([1.0]), parallax=np.array([9.0])))
                if "main-sequence term" in w]


def test_group_ages_warns_of_its_members_clipped_colour_errors_as_group_age_says_them(tmp_path, toy_model):
    """gyroage group-age says how many used members' colour errors a card clipped; gyroage.group_ages, its API, gave
    a retrained card's clip without a word: now the same text, one UserWarning."""
    import io
    import json

    import pandas as pd

    from gyroage import AgeModel, group_ages

    model = AgeModel.load(toy_model)
    frame = pd.read_csv(io.StringIO(CLIPPED_ROWS)).assign(cluster="x")
    hi = json.loads((toy_model / "gyroage-model.json").read_text())["domain"]["bp_rp0_err"][1]
    text = (f"2 of 4 used members' colour errors exceed the trained range (above {hi:.4g} mag) and are clipped to it: "
            "if one is a sentinel (99) for a missing colour, that member has no colour to date")
    caught = _warned(lambda: group_ages(frame, model.density, "cluster", model.default_prior, 201))
    assert [w for w in caught if "trained range" in w] == [f"gyroage: {text}"]
    res = cli("group-age", str(_csv(tmp_path, frame)), "--by", "cluster", "--model", str(toy_model), "--grid", "201",
              "-o", str(tmp_path / "g.csv"))
    assert res.exit_code == 0, res.output
    assert [ln for ln in res.stderr.splitlines() if "trained range" in ln] == [f"group-age: {text}"]


def _csv(tmp_path: Path, frame) -> Path:
    frame.to_csv(tmp_path / "g_in.csv", index=False)
    return tmp_path / "g_in.csv"
