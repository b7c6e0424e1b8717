"""Output writing: what each output column keeps of its values, headers across chunks, resume's hash and messages."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

from gyroage.engines import local as engines
from gyroage.pandas_compat import PANDAS_BEFORE_3_1
from tests.conftest import ROOT, invoke_quiet, ok_output, one_line_error, run_cli
from tests.test_engines import density, stars  # noqa: F401  (fixtures; settings from conftest)

RA = [123.456789012, 359.99991, 10.0, 200.5]
DEC = [-45.1234567, 0.00012345678, 1e-7, 89.9999999999]


def _parquet_input(tmp_path, n: int = 4):
    frame = stars(n)
    frame["ra"], frame["dec"] = RA[:n], DEC[:n]
    src = tmp_path / "in.parquet"
    frame.to_parquet(src, index=False)
    return src


@pytest.mark.parametrize("chunksize", [100, 1])
def test_parquet_input_columns_keep_every_digit_in_csv(tmp_path, density, settings, chunksize):  # noqa: F811
    """Input floats from a typed input come out repr-exact; gyroage's own columns keep their 6 digits."""
    src = _parquet_input(tmp_path)
    out = tmp_path / "out.csv"
    engines.run_local(src, out, density, settings, chunksize=chunksize, quiet=True)
    back = pd.read_csv(out)
    assert back["ra"].tolist() == RA and back["dec"].tolist() == DEC
    text = out.read_text()
    assert "123.456789012" in text and "0.00012345678" in text
    ages = back["age_p50_myr"].dropna().to_numpy()
    assert ages.size and (ages == np.array([float(f"{a:.6g}") for a in ages])).all()


def test_parquet_input_columns_keep_every_digit_when_resumed(tmp_path, density, settings, monkeypatch):  # noqa: F811
    from tests.test_engines import interrupt_after

    src = _parquet_input(tmp_path)
    ref, out = tmp_path / "ref.csv", tmp_path / "out.csv"
    engines.run_local(src, ref, density, settings, chunksize=1, quiet=True)
    real, _ = interrupt_after(monkeypatch, "estimate_chunk", 2)
    with pytest.raises(KeyboardInterrupt):
        engines.run_local(src, out, density, settings, chunksize=1, quiet=True)
    monkeypatch.setattr(engines, "estimate_chunk", real)
    engines.run_local(src, out, density, settings, chunksize=1, quiet=True, resume=True)
    assert out.read_bytes() == ref.read_bytes()
    assert pd.read_csv(out)["ra"].tolist() == RA


def test_parquet_input_to_stdout_keeps_every_digit(tmp_path):
    src = _parquet_input(tmp_path)
    r = run_cli("estimate", str(src), "-q")
    assert r.returncode == 0, r.stderr
    assert "123.456789012,-45.1234567" in r.stdout and "359.99991,0.00012345678" in r.stdout


def test_group_age_parquet_label_keeps_every_digit(tmp_path):
    frame = stars(40)
    frame["cluster"] = np.where(np.arange(40) < 20, 1.0000001, 2.5)
    src = tmp_path / "in.parquet"
    frame.to_parquet(src, index=False)
    out = tmp_path / "groups.csv"
    r = run_cli("group-age", str(src), "--by", "cluster", "-o", str(out), "-q")
    assert r.returncode == 0, r.stderr
    assert pd.read_csv(out)["cluster"].tolist() == [1.0000001, 2.5]


@pytest.mark.parametrize("name", ["nl_out.csv", "nl_out.tsv", "nl_out.csv.gz"])
def test_header_cell_with_a_newline_is_written_once(tmp_path, name):
    """Chunks after the first are joined without their header, however many lines its quoted cells span."""
    src = tmp_path / "nl.csv"
    src.write_text('"star\nname",prot,bp_rp0\nA,25.4,0.82\nB,8.0,1.1\nC,12.0,1.3\n')
    out = tmp_path / name
    r = run_cli("estimate", str(src), "-o", str(out), "--chunksize", "1", "-q")
    assert r.returncode == 0, r.stderr
    back = pd.read_csv(out, sep="\t" if name.endswith(".tsv") else ",")
    assert back["star\nname"].tolist() == ["A", "B", "C"]
    one = tmp_path / ("one" + name[6:])
    assert run_cli("estimate", str(src), "-o", str(one), "-q").returncode == 0
    assert pd.read_csv(one, sep="\t" if name.endswith(".tsv") else ",").equals(back)


def test_resume_refuses_a_card_refitted_in_place(tmp_path, density, settings, monkeypatch):  # noqa: F811
    """Same ONNX files, a calibration written into the card since: the old rows are not resumed into."""
    import copy
    import dataclasses

    from gyroage.errors import UserError
    from tests.test_engines import interrupted_run

    src, out = interrupted_run(tmp_path, density, settings, monkeypatch)
    refit = copy.copy(density)
    refit.card = dataclasses.replace(density.card, calibration={**density.card.calibration, "refit": True})
    assert refit.card.files == density.card.files
    with pytest.raises(UserError, match="model card differs"):
        engines.run_local(src, out, refit, settings, chunksize=100, quiet=True, resume=True)



def test_settings_hash_ignores_what_does_not_change_results(density, settings):  # noqa: F811
    import dataclasses

    from gyroage.core.sampler import SamplerSettings

    def h(**kw):
        return engines.settings_hash(density, dataclasses.replace(settings, **kw), 100)

    mcmc = {"method": "mcmc", "seed": 3}
    assert h(**mcmc, sampler=SamplerSettings(processes=1)) == h(**mcmc, sampler=SamplerSettings(processes=2))
    assert h(**mcmc, sampler=SamplerSettings(max_steps=500)) != h(**mcmc)
    assert h(**mcmc) != h(method="mcmc", seed=4)
    # the grid draws nothing: its seed and the sampler's settings do not change a row
    assert h(seed=1) == h(seed=2) == h(sampler=SamplerSettings(max_steps=500, processes=2))
    assert h(n_grid=settings.n_grid + 10) != h()


def _interrupt(tmp_path, density, settings, monkeypatch, finished: int) -> KeyboardInterrupt:  # noqa: F811
    """A 300-star run into out.csv in chunks of 100, interrupted after ``finished`` chunks: what it raised."""
    from tests.test_engines import interrupt_after

    src = tmp_path / "in.csv"
    stars(300).to_csv(src, index=False)
    interrupt_after(monkeypatch, "estimate_chunk", finished)
    with pytest.raises(KeyboardInterrupt) as info:
        engines.run_local(src, tmp_path / "out.csv", density, settings, chunksize=100, quiet=True)
    return info.value


def test_interrupt_says_what_is_kept_and_how_to_continue(tmp_path, density, settings, monkeypatch):  # noqa: F811
    message = str(_interrupt(tmp_path, density, settings, monkeypatch, finished=2))
    assert "200 rows" in message and "--resume" in message and "\n" not in message, message


def test_interrupt_before_any_chunk_keeps_nothing(tmp_path, density, settings, monkeypatch):  # noqa: F811
    assert "--resume" not in str(_interrupt(tmp_path, density, settings, monkeypatch, finished=0))
    assert not engines.sidecar_dir(tmp_path / "out.csv").exists()


def test_interrupt_line_on_the_command_line(capsys):
    import typer

    from gyroage.cli import user_errors

    for raised, line in ((KeyboardInterrupt(), "gyroage: interrupted"),
                         (KeyboardInterrupt("interrupted: 5 rows kept"), "gyroage: interrupted: 5 rows kept")):
        def fn(raised=raised):
            raise raised

        with pytest.raises(typer.Exit) as info:
            user_errors(fn)()
        assert info.value.exit_code == 130
        assert capsys.readouterr().err.splitlines() == [line]


def test_resume_says_so_at_the_start_once(tmp_path, density, settings, monkeypatch, capsys):  # noqa: F811
    from tests.test_engines import interrupted_run

    src, out = interrupted_run(tmp_path, density, settings, monkeypatch, n=300, finished=2)
    capsys.readouterr()
    engines.run_local(src, out, density, settings, chunksize=100, quiet=False, resume=True)
    err = capsys.readouterr().err.replace("\r", "\n").strip().splitlines()
    assert err[0] == "estimate: resumed: 200 rows taken from the interrupted run", err
    assert sum("resumed" in line for line in err) == 1, err


def test_fits_float32_input_columns_are_written_as_stored(tmp_path, density, settings):  # noqa: F811
    """A single-precision column keeps the digits that name its value, not those of its double widening."""
    from astropy.table import Table

    frame = stars(3)
    t = Table.from_pandas(frame)
    t["ra"] = np.array([123.45679, 0.00012345678, 359.9999], dtype=np.float32)
    src = tmp_path / "in.fits"
    t.write(src)
    out = tmp_path / "out.csv"
    engines.run_local(src, out, density, settings, quiet=True)
    assert out.read_text().splitlines()[1].split(",")[4] == "123.45679"
    assert pd.read_csv(out)["ra"].astype(np.float32).tolist() == t["ra"].tolist()


@pytest.mark.xfail(PANDAS_BEFORE_3_1, strict=True,
                   reason="pandas < 3.1 drops a too-long row's extra fields at a chunk start (README, Dependencies)")
def test_a_failed_rerun_leaves_the_previous_output_byte_identical(tmp_path):
    """README: readers see the old target or the complete new one. A second run into the same -o that stops on a
    user error (a row longer than the header, after three chunks were computed) must leave the first run's file."""
    good, bad, out = tmp_path / "good.csv", tmp_path / "bad.csv", tmp_path / "out.csv"
    good.write_text("prot,bp_rp0\n10,1.0\n12,1.1\n")
    bad.write_text("prot,bp_rp0\n10,1.0\n12,1.1\n8,1.2\n9,1.3,x\n")
    ok_output(invoke_quiet("estimate", str(good), "-o", str(out)))
    before = out.read_bytes()
    assert before.count(b"\n") == 3
    one_line_error(invoke_quiet("estimate", str(bad), "-o", str(out), "--chunksize", "1"), "line 5")
    assert out.read_bytes() == before


def test_a_missing_parent_directory_of_the_output_is_created(tmp_path):
    """README: a missing parent directory of -o is created."""
    src = tmp_path / "in.csv"
    src.write_text("prot,bp_rp0\n10,1.0\n")
    out = tmp_path / "new" / "sub" / "out.csv"
    assert ok_output(invoke_quiet("estimate", str(src), "-o", str(out))) == ""
    assert out.read_text().splitlines()[1].startswith("10,1.0,")


def test_an_output_path_whose_link_cannot_be_read_is_not_a_traceback(tmp_path, monkeypatch):
    """`-o /proc/1/fd/1` ended in a PermissionError traceback: comparing it with the input resolved its link, which
    another process's /proc entry does not let us read. Paths are then compared as given."""
    from gyroage import files

    def no_realpath(p, *a, **k):
        raise PermissionError(13, "Permission denied", str(p))

    monkeypatch.setattr(files.os.path, "realpath", no_realpath)
    assert not files.same_file(tmp_path / "in.csv", "/proc/1/fd/1")
    assert files.same_file(tmp_path / "a.csv", tmp_path / "a.csv")


def test_an_output_path_we_may_not_look_at_is_one_line():
    """`-o /proc/1/fd/1` (another process's stdout) ended in a PermissionError traceback from the first look at it;
    it is one line, exit 2."""
    src = ROOT / "catalogs" / "examples" / "field_stars.csv"
    try:
        os.stat("/proc/1/fd/1")
    except PermissionError:
        pass
    else:
        pytest.skip("this process may look at /proc/1/fd/1 (run as its owner): nothing to refuse")
    res = run_cli("estimate", str(src), "-q", "-o", "/proc/1/fd/1")
    assert res.returncode == 2 and res.stderr == "gyroage: error: cannot write /proc/1/fd/1: Permission denied\n", (
        res.stderr)
