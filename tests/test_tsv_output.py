"""Output names: a ``.tsv`` or ``.tab`` (``.tsv.gz``, ``.tab.gz``) table is tab-separated from every command;
``.mrt``/``.cds``/``.tbl``/``.ipac`` (read only) and names of formats gyroage does not write (``.xlsx``) are refused."""

from __future__ import annotations

import gzip

import pandas as pd
import pytest
from typer.testing import CliRunner

from gyroage.cli import app
from tests.conftest import count_chunks, one_line_error

STARS = pd.DataFrame({"name": ["sun", "k_dwarf", "young", "late_k", "bad"], "Prot": [25.4, 12.0, 3.5, 30.0, -1.0],
                      "BPRP0": [0.82, 1.1, 0.95, 1.6, 1.0], "cluster": ["a", "a", "b", "b", "b"]})


def run(*args: str, stdin: str | None = None):
    res = CliRunner().invoke(app, [*args, "-q"], input=stdin)
    assert res.exit_code == 0, (res.output, res.exception)
    return res


@pytest.fixture
def stars(tmp_path):
    path = tmp_path / "stars.csv"
    STARS.to_csv(path, index=False)
    return path


def tabbed(csv_bytes: bytes) -> bytes:
    """The comma-separated output with tabs for its commas (no cell here holds a comma)."""
    return csv_bytes.replace(b",", b"\t")


def test_estimate_writes_tsv_with_tabs_through_every_path(tmp_path, stars):
    run("estimate", str(stars), "-o", str(tmp_path / "ref.csv"), "--chunksize", "2")
    ref = (tmp_path / "ref.csv").read_bytes()
    assert ref.count(b",") > 20 and b"\t" not in ref
    run("estimate", str(stars), "-o", str(tmp_path / "out.tsv"), "--chunksize", "2")  # chunks assembled (resumable)
    run("estimate", "-", "-o", str(tmp_path / "stdin.tsv"), "--chunksize", "2", stdin=stars.read_text())  # streamed
    run("estimate", str(stars), "-o", str(tmp_path / "OUT.TSV.GZ"), "--chunksize", "2")
    run("estimate", "-", "-o", str(tmp_path / "stdin.tsv.gz"), stdin=stars.read_text())
    assert (tmp_path / "out.tsv").read_bytes() == tabbed(ref)
    assert (tmp_path / "stdin.tsv").read_bytes() == tabbed(ref)
    assert gzip.decompress((tmp_path / "OUT.TSV.GZ").read_bytes()) == tabbed(ref)
    assert gzip.decompress((tmp_path / "stdin.tsv.gz").read_bytes()) == tabbed(ref)
    # what it wrote reads back as a table
    back = pd.read_csv(tmp_path / "out.tsv", sep="\t")
    assert back["name"].tolist() == STARS["name"].tolist() and back["status"].iloc[-1] == "invalid_period"


def test_a_tab_output_is_tab_separated_as_a_tsv_one_and_as_a_tab_input_is_read(tmp_path, stars):
    """-o out.tab wrote commas, though a .tab input is read as the tab-separated table it is."""
    run("estimate", str(stars), "-o", str(tmp_path / "ref.csv"), "--chunksize", "2")
    ref = (tmp_path / "ref.csv").read_bytes()
    run("estimate", str(stars), "-o", str(tmp_path / "out.tab"), "--chunksize", "2")
    run("estimate", "-", "-o", str(tmp_path / "stdin.tab"), "--chunksize", "2", stdin=stars.read_text())
    run("estimate", str(stars), "-o", str(tmp_path / "OUT.TAB.GZ"))
    for name in ("out.tab", "stdin.tab"):
        assert (tmp_path / name).read_bytes() == tabbed(ref)
    assert gzip.decompress((tmp_path / "OUT.TAB.GZ").read_bytes()) == tabbed(ref)
    # the input side agrees: a .tab written here reads back as the stars it came from
    (tmp_path / "in.tab").write_bytes(tabbed(stars.read_bytes()))
    run("estimate", str(tmp_path / "in.tab"), "-o", str(tmp_path / "from_tab.csv"), "--chunksize", "2")
    assert (tmp_path / "from_tab.csv").read_bytes() == ref
    run("group-age", str(stars), "--by", "cluster", "-o", str(tmp_path / "g.csv"))
    run("group-age", str(stars), "--by", "cluster", "-o", str(tmp_path / "g.tab"))
    assert (tmp_path / "g.tab").read_bytes() == tabbed((tmp_path / "g.csv").read_bytes())


def test_stdout_and_an_explicit_csv_format_keep_commas(tmp_path, stars):
    run("estimate", str(stars), "-o", str(tmp_path / "ref.csv"))
    ref = (tmp_path / "ref.csv").read_bytes()
    assert run("estimate", str(stars)).stdout_bytes == ref
    run("estimate", str(stars), "-o", str(tmp_path / "out.tsv"), "--output-format", "csv")
    assert (tmp_path / "out.tsv").read_bytes() == ref


def test_a_resumed_tsv_output_is_tab_separated_throughout(tmp_path, stars, monkeypatch):
    run("estimate", str(stars), "-o", str(tmp_path / "ref.csv"), "--chunksize", "2")
    out = tmp_path / "out.tsv"
    count_chunks(monkeypatch, die_at=2)
    res = CliRunner().invoke(app, ["estimate", str(stars), "-o", str(out), "--chunksize", "2", "-q"])
    assert isinstance(res.exception, RuntimeError) and not out.exists()
    calls = count_chunks(monkeypatch)
    run("estimate", str(stars), "-o", str(out), "--chunksize", "2", "--resume")
    assert calls == [2, 1]  # the first chunk came from the interrupted run
    assert out.read_bytes() == tabbed((tmp_path / "ref.csv").read_bytes())


def test_group_age_writes_tsv_with_tabs(tmp_path, stars):
    run("group-age", str(stars), "--by", "cluster", "-o", str(tmp_path / "g.csv"))
    run("group-age", str(stars), "--by", "cluster", "-o", str(tmp_path / "g.tsv"))
    ref = (tmp_path / "g.csv").read_bytes()
    assert b"," in ref.splitlines()[0]
    assert (tmp_path / "g.tsv").read_bytes() == tabbed(ref)


@pytest.mark.parametrize("name", ["out.mrt", "out.cds", "OUT.MRT.gz", "out.tbl", "out.ipac", "OUT.IPAC.gz"])
def test_output_names_of_formats_gyroage_cannot_write_are_refused_before_any_work(tmp_path, stars, name, monkeypatch):
    import gyroage.cli

    def no_model(*a, **k):
        raise AssertionError("the model was loaded before the output name was checked")

    monkeypatch.setattr(gyroage.cli, "density_and_prior", no_model)
    for args in (["estimate", str(stars)], ["estimate", "-"], ["group-age", str(stars), "--by", "cluster"],
                 ["estimate", str(stars), "--output-format", "ascii"]):
        res = CliRunner().invoke(app, [*args, "-o", str(tmp_path / name)], input=stars.read_text())
        one_line_error(res, name, "cannot write")
    res = CliRunner().invoke(app, ["crossmatch", str(stars), "-o", str(tmp_path / name), "--no-cache", "--retries", "1",
                                   "--gaia-url", "http://127.0.0.1:9", "--vizier-url", "http://127.0.0.1:9",
                                   "--mast-url", "http://127.0.0.1:9"])
    one_line_error(res, name, "cannot write")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["stars.csv"]


def refuse_everywhere(tmp_path, stars, name: str, *words: str) -> None:
    """``-o name`` is one line, exit 2, from estimate (a file, stdin), group-age and crossmatch, and nothing is
    written."""
    for args in (["estimate", str(stars)], ["estimate", "-"], ["group-age", str(stars), "--by", "cluster"]):
        res = CliRunner().invoke(app, [*args, "-o", str(tmp_path / name)], input=stars.read_text())
        one_line_error(res, name, *words)
    res = CliRunner().invoke(app, ["crossmatch", str(stars), "-o", str(tmp_path / name), "--no-cache", "--retries", "1",
                                   "--gaia-url", "http://127.0.0.1:9", "--vizier-url", "http://127.0.0.1:9",
                                   "--mast-url", "http://127.0.0.1:9"])
    one_line_error(res, name, *words)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["stars.csv"]


@pytest.mark.parametrize(("name", "kind"), [("ages.xlsx", "Excel"), ("ages.XLS", "Excel"), ("ages.h5", "HDF5"),
                                            ("ages.hdf5", "HDF5"), ("ages.json", "JSON"), ("ages.npy", "NumPy"),
                                            ("ages.xlsx.gz", "Excel"), ("ages.csv.bz2", "bzip2"),
                                            ("ages.csv.xz", "xz"), ("ages.zip", "ZIP")])
def test_an_output_named_for_a_format_gyroage_does_not_write_is_refused(tmp_path, stars, name, kind):
    """-o ages.xlsx (.h5, .json, ...) wrote CSV under that name, exit 0: a file Excel or h5py refuses to open."""
    refuse_everywhere(tmp_path, stars, name, "cannot write", kind, "--output-format csv")


def test_output_format_csv_writes_csv_under_any_name_and_an_unknown_suffix_is_csv(tmp_path, stars):
    """The way out the refusal names; and a suffix that names no format (.out, .ages, none) stays CSV (README)."""
    run("estimate", str(stars), "-o", str(tmp_path / "ref.csv"))
    ref = (tmp_path / "ref.csv").read_bytes()
    run("estimate", str(stars), "-o", str(tmp_path / "ages.xlsx"), "--output-format", "csv")
    run("group-age", str(stars), "--by", "cluster", "-o", str(tmp_path / "g.json"), "--output-format", "csv")
    for name in ("ages.out", "stars.ages", "ages"):
        run("estimate", str(stars), "-o", str(tmp_path / name))
        assert (tmp_path / name).read_bytes() == ref, name
    assert (tmp_path / "ages.xlsx").read_bytes() == ref
    assert (tmp_path / "g.json").read_text().startswith("cluster,n_stars,")


def test_an_unwritable_output_name_is_refused_on_resume_too(tmp_path, stars):
    """--resume into a name it cannot write is refused before any work, like a first run."""
    for name in ("ages.xlsx", "ages.tbl"):
        res = CliRunner().invoke(app, ["estimate", str(stars), "-o", str(tmp_path / name), "--resume", "-q"])
        one_line_error(res, name, "cannot write")


@pytest.mark.parametrize("command", [["group-age", "-"], ["crossmatch", "-", "--no-cache"]])
def test_an_unwritable_output_name_is_refused_before_stdin_is_read(tmp_path, command):
    """Review V23 (finding 6): group-age and crossmatch reading stdin refused '-o x.h5' only once input arrived (in a
    pipe, after every upstream query), where estimate refuses it at once. stdin is held open and empty here."""
    import subprocess
    import sys

    from tests.conftest import ROOT

    err_path = tmp_path / "err"
    with open(err_path, "w") as err_file:  # communicate() would close stdin: the run must not need it to end
        proc = subprocess.Popen([sys.executable, "-m", "gyroage.cli", *command, "-o", str(tmp_path / "x.h5")],
                                stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=err_file, cwd=ROOT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            pytest.fail(f"{command[0]} waited for stdin before refusing -o x.h5")
        finally:
            proc.stdin.close()
    err = err_path.read_text()
    assert proc.returncode == 2 and "cannot write" in err and len(err.splitlines()) == 1, err


@pytest.mark.parametrize("name", ["ages.tar.gz", "ages.zip", "ages.csv.bz2"])
def test_a_compressed_output_name_is_told_a_name_gyroage_writes(tmp_path, name):
    """Review V23 (finding 8): '-o ages.tar.gz' was told "name it .gz (gzip)", a name it already had."""
    from gyroage.errors import UserError
    from gyroage.formats import output_format

    with pytest.raises(UserError) as refused:
        output_format(str(tmp_path / name))
    assert ("which gyroage does not write: name it .csv.gz, .fits.gz or .vot.gz (gzip, the one compression gyroage "
            "writes)") in str(refused.value), refused.value
