"""gzip-compressed CSV input (``stars.csv.gz``): every command reads it as the same CSV uncompressed.

The stars are synthetic, made here (never rows of the shared catalogue).
"""

from __future__ import annotations

import gzip
import io
import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from gyroage import io as gio
from gyroage.cli import app
from gyroage.engines import local as engines
from gyroage.errors import UserError
from tests.conftest import one_line_error
from tests.test_engines import interrupt_after, stars


def invoke(*args: str, command: str = "estimate", input: bytes | None = None):
    return CliRunner().invoke(app, [command, *args], input=input)


def write_pair(tmp_path, text: bytes, name: str = "in") -> tuple:
    """(plain, gzipped) copies of ``text``: ``<name>.csv`` and ``<name>.csv.gz``."""
    plain, gz = tmp_path / f"{name}.csv", tmp_path / f"{name}.csv.gz"
    plain.write_bytes(text)
    gz.write_bytes(gzip.compress(text, mtime=0))
    return plain, gz


@pytest.fixture(scope="module")
def density():
    from gyroage.core.density import FlowDensity

    return FlowDensity(threads=2)


@pytest.mark.parametrize("chunksize", [7, 100, 10_000])
@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_gz_input_gives_the_bytes_of_the_plain_input(tmp_path, density, settings, chunksize, suffix):
    plain, gz = write_pair(tmp_path, stars(250).to_csv(index=False).encode())
    ref, out = tmp_path / f"ref{suffix}", tmp_path / f"out{suffix}"
    engines.run_local(plain, ref, density, settings, chunksize=chunksize, quiet=True)
    counts = engines.run_local(gz, out, density, settings, chunksize=chunksize, quiet=True)
    assert out.read_bytes() == ref.read_bytes() and sum(counts.values()) == 250


@pytest.mark.parametrize("text", [
    "\ufeffname;Prot;BPRP_0\r\na;12;1.1\r\nb;25.4;0.82\r\n",  # BOM, ';' and CRLF, detected on the decompressed text
    "name|Prot|BPRP_0|\na|12|1.1|\nb|25.4|0.82|\n",  # a trailing delimiter on every line
    "name,Prot,BPRP_0\n" + "".join(f"s{i},12,1.1{',' if i == 0 else ''}\n" for i in range(3)),  # on the first row only
    'name,"a, b",Prot,BPRP_0\nx,"1,2",12,1.1\n',  # the delimiter inside quotes
    "prot,bp_rp0\n",  # header only
])
def test_gz_csv_layouts_read_as_the_plain_ones(tmp_path, text):
    plain, gz = write_pair(tmp_path, text.encode())
    for chunksize in (1, 1000):
        a = pd.concat(gio.read_chunks(plain, chunksize), ignore_index=True)
        b = pd.concat(gio.read_chunks(gz, chunksize), ignore_index=True)
        pd.testing.assert_frame_equal(a, b)


def test_gz_layout_errors_are_the_plain_ones(tmp_path):
    plain, gz = write_pair(tmp_path, b"name,prot,bp_rp0\nstarA,1.0,10,0.05\n")
    for f in (plain, gz):
        one_line_error(invoke(str(f), "-q"), "line 2")
    plain, gz = write_pair(tmp_path, b"")  # an empty file compressed is still empty
    for f in (plain, gz):
        one_line_error(invoke(str(f), "-q"), "is empty")


def test_gzip_is_known_by_its_bytes_not_its_name(tmp_path):
    text = stars(20).to_csv(index=False).encode()
    (tmp_path / "ref.csv").write_bytes(text)
    (tmp_path / "gz_named.csv").write_bytes(gzip.compress(text))
    (tmp_path / "gz_no_suffix").write_bytes(gzip.compress(text))
    (tmp_path / "plain_named.csv.gz").write_bytes(text)  # a plain CSV under a .gz name still reads
    outputs = {}
    for name in ("ref.csv", "gz_named.csv", "gz_no_suffix", "plain_named.csv.gz"):
        res = invoke(str(tmp_path / name), "-q", "--chunksize", "6")
        assert res.exit_code == 0, (name, res.output)
        outputs[name] = res.stdout
    assert len(set(outputs.values())) == 1 and outputs["ref.csv"].count("\n") == 21
    res = invoke(str(tmp_path / "gz_named.csv"), "-q", "--input-format", "csv")
    assert res.exit_code == 0 and res.stdout == outputs["ref.csv"]


def test_gz_on_stdin(tmp_path):
    text = stars(30).to_csv(index=False).encode()
    plain = invoke("-", "-q", "--chunksize", "8", input=text)
    gz = invoke("-", "-q", "--chunksize", "8", input=gzip.compress(text))
    assert plain.exit_code == gz.exit_code == 0, gz.output
    assert gz.stdout == plain.stdout


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_resume_of_a_gz_input_takes_the_finished_chunks(tmp_path, density, settings, monkeypatch, suffix):
    """An interrupted run over a .csv.gz resumes where it stopped, in row order, with the uninterrupted bytes."""
    plain, gz = write_pair(tmp_path, stars(500).to_csv(index=False).encode())
    ref, out = tmp_path / f"ref{suffix}", tmp_path / f"out{suffix}"
    engines.run_local(plain, ref, density, settings, chunksize=100, quiet=True)
    real, _ = interrupt_after(monkeypatch, "estimate_chunk", 2)
    with pytest.raises(KeyboardInterrupt):
        engines.run_local(gz, out, density, settings, chunksize=100, quiet=True)
    manifest = json.loads((engines.sidecar_dir(out) / "manifest.json").read_text())
    assert sorted(manifest["chunks"]) == ["0", "1"] and not out.exists()
    recomputed = []

    def counting(frame, *a, **k):
        recomputed.append(int(frame.index[0]))
        return real(frame, *a, **k)

    monkeypatch.setattr(engines, "estimate_chunk", counting)
    engines.run_local(gz, out, density, settings, chunksize=100, quiet=True, resume=True)
    assert recomputed == [200, 300, 400]  # not from zero
    assert out.read_bytes() == ref.read_bytes()
    assert not engines.sidecar_dir(out).exists()


def test_resume_refuses_a_gz_input_that_changed(tmp_path, density, settings, monkeypatch):
    _, gz = write_pair(tmp_path, stars(300).to_csv(index=False).encode())
    out = tmp_path / "out.csv"
    real, _ = interrupt_after(monkeypatch, "estimate_chunk", 1)
    with pytest.raises(KeyboardInterrupt):
        engines.run_local(gz, out, density, settings, chunksize=100, quiet=True)
    monkeypatch.setattr(engines, "estimate_chunk", real)
    gz.write_bytes(gzip.compress(stars(300, seed=2).to_csv(index=False).encode()))
    with pytest.raises(UserError, match="input differs"):
        engines.run_local(gz, out, density, settings, chunksize=100, quiet=True, resume=True)


def test_progress_counts_the_rows_of_a_gz_input(tmp_path, density, settings, capsys):
    text = stars(250).to_csv(index=False).encode()
    plain, gz = write_pair(tmp_path, text)
    for f in (plain, gz):
        assert engines.scan_input(f, fingerprint=False)[1] == 250
    # multi-member gzip (cat a.gz b.gz) is one stream of text, as gzip reads it
    lines = text.splitlines(keepends=True)
    (tmp_path / "two.csv.gz").write_bytes(gzip.compress(b"".join(lines[:100])) + gzip.compress(b"".join(lines[100:])))
    assert engines.scan_input(tmp_path / "two.csv.gz", fingerprint=False)[1] == 250
    engines.run_local(gz, tmp_path / "out.csv", density, settings, chunksize=100, quiet=False)
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("estimate: 250/250 |"), err


def truncated(text: bytes, keep: float) -> bytes:
    data = gzip.compress(text, mtime=0)
    return data[: int(len(data) * keep)]


def corrupt(text: bytes) -> bytes:
    data = bytearray(gzip.compress(text, mtime=0))
    mid = len(data) // 2
    data[mid : mid + 16] = bytes(16)
    return bytes(data)


@pytest.mark.parametrize("damage, words", [(lambda t: truncated(t, 0.5), ["truncated"]),
                                           (lambda t: truncated(t, 0.999), ["truncated"]),
                                           (corrupt, ["corrupt"]),
                                           (lambda t: gzip.compress(t)[:-4] + b"\0\0\0\0", ["corrupt"])])  # bad length
def test_a_damaged_gz_input_is_one_line_and_no_output(tmp_path, damage, words):
    text = stars(2000).to_csv(index=False).encode()
    (tmp_path / "in.csv.gz").write_bytes(damage(text))
    for extra in ([], ["--chunksize", "100"], ["-o", str(tmp_path / "out.parquet")]):
        res = invoke(str(tmp_path / "in.csv.gz"), "-o", str(tmp_path / "out.csv"), *extra)
        one_line_error(res, "in.csv.gz", "gzip", *words)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv.gz"]  # no output, no sidecar, no temp file


def test_rows_streamed_before_a_truncation_stay_whole(tmp_path):
    """A gzip file is checked whole before any star is computed, even streaming to stdout with -q; stdin cannot be:
    there the damage is found where it is read, and the rows already written are whole rows, in order."""
    frame = pd.DataFrame({"star": [f"s{i}" for i in range(40_000)], "prot": "", "bp_rp0": "1.0"})
    frame.loc[::500, "prot"] = "12"  # a few stars to date; the rest are invalid_period, quick
    text = frame.to_csv(index=False).encode()
    ref = invoke("-", "-q", "--chunksize", "5000", input=text)
    (tmp_path / "in.csv.gz").write_bytes(truncated(text, 0.6))
    res = invoke(str(tmp_path / "in.csv.gz"), "-q", "--chunksize", "5000")
    one_line_error(res, "truncated")
    assert res.stdout == ""
    res = invoke("-", "-q", "--chunksize", "5000", input=truncated(text, 0.6))
    assert "truncated" in res.stderr and res.exit_code == 2
    out = pd.read_csv(io.StringIO(res.stdout), dtype=str, keep_default_na=False)
    whole = pd.read_csv(io.StringIO(ref.stdout), dtype=str, keep_default_na=False)
    assert 0 < len(out) < len(whole) and len(out) % 5000 == 0
    pd.testing.assert_frame_equal(out, whole.iloc[: len(out)])
    assert res.stdout.endswith("\n") and ref.stdout.startswith(res.stdout)


def test_group_age_reads_gz(tmp_path):
    frame = stars(60).assign(cluster=np.repeat(["a", "b", "c"], 20))
    plain, gz = write_pair(tmp_path, frame.to_csv(index=False).encode())
    for f, out in ((plain, "ref.csv"), (gz, "out.csv")):
        res = invoke(str(f), "--by", "cluster", "-q", "-o", str(tmp_path / out), command="group-age")
        assert res.exit_code == 0, res.output
    assert (tmp_path / "out.csv").read_bytes() == (tmp_path / "ref.csv").read_bytes()
    (tmp_path / "bad.csv.gz").write_bytes(truncated(frame.to_csv(index=False).encode(), 0.5))
    one_line_error(invoke(str(tmp_path / "bad.csv.gz"), "--by", "cluster", command="group-age"), "truncated")


def test_plot_reads_gz(tmp_path):
    pytest.importorskip("matplotlib")
    from gyroage.plots import plot_posterior, plot_sequence

    frame = pd.DataFrame({"name": ["a", "b", "c"], "prot": [10.0, -1.0, 2.0], "bp_rp0": [1.2, 1.0, 2.5]})
    _, gz = write_pair(tmp_path, frame.to_csv(index=False).encode())
    with pytest.raises(UserError, match=r"outside the input \(0\.\.2\)"):  # read: three rows
        plot_posterior(str(gz), 7, tmp_path / "p.png")
    with pytest.raises(UserError, match="status invalid_period"):
        plot_posterior(str(gz), 1, tmp_path / "p.png")
    out = plot_sequence(tmp_path / "s.png", [1000.0], data=str(gz))
    assert out.read_bytes()[:4] == b"\x89PNG"


def test_a_gz_of_a_gz_says_so(tmp_path):
    (tmp_path / "in.csv.gz").write_bytes(gzip.compress(gzip.compress(b"prot,bp_rp0\n10,1.0\n")))
    one_line_error(invoke(str(tmp_path / "in.csv.gz"), "-q"), "compressed twice")


def test_a_truncated_gz_on_stdin_is_one_line():
    res = invoke("-", "-q", input=truncated(stars(500).to_csv(index=False).encode(), 0.5))
    one_line_error(res, "input -", "truncated")


def test_dask_reads_gz_as_the_local_reader_does(tmp_path):
    """Each gzip file is one partition (gzip cannot be split); known by its bytes, mixed with plain files, in order."""
    pytest.importorskip("dask.dataframe")
    from gyroage.engines.dask_engine import read_dask

    frame = stars(300)
    d = tmp_path / "in"
    d.mkdir()
    text = {i: frame.iloc[i * 100 : (i + 1) * 100].to_csv(index=False).encode() for i in range(3)}
    (d / "a.csv.gz").write_bytes(gzip.compress(text[0]))
    (d / "b.csv").write_bytes(text[1])  # plain between the two compressed files
    (d / "c.csv").write_bytes(gzip.compress(text[2]))  # gzip without the name
    (tmp_path / "plain.csv.gz").write_bytes(text[0])  # a plain file under a .gz name
    local = pd.concat(gio.read_chunks(tmp_path / "plain.csv.gz"), ignore_index=True).astype(object)

    def same(ddf, expect: pd.DataFrame) -> None:  # Dask's string dtype is not pandas': compare the cells
        pd.testing.assert_frame_equal(ddf.compute(scheduler="synchronous").reset_index(drop=True).astype(object), expect)

    rest = [pd.read_csv(io.BytesIO(text[i]), dtype=str).astype(object) for i in (1, 2)]
    for blocksize in (None, 1000):
        one = read_dask(str(d / "a.csv.gz"), blocksize=blocksize)
        assert one.npartitions == 1
        same(one, local)
        plain = read_dask(str(tmp_path / "plain.csv.gz"), blocksize=1000)
        assert plain.npartitions > 1  # read as plain text, so split
        same(plain, local)
        same(read_dask(str(d / "*.csv*"), blocksize=blocksize), pd.concat([local, *rest], ignore_index=True))


def test_dask_estimate_of_a_gz_gives_the_plain_parts(tmp_path, settings, monkeypatch):
    pytest.importorskip("distributed")
    from distributed import Client, LocalCluster

    from gyroage.engines import dask_engine

    text = stars(400, seed=5).to_csv(index=False).encode()
    plain, gz = write_pair(tmp_path, text)
    (tmp_path / "bad.csv.gz").write_bytes(truncated(stars(30_000).to_csv(index=False).encode(), 0.9))
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        # one block of the plain file: the partitions the gzip file gets, so the parts are the same bytes
        dask_engine.run_dask(str(plain), tmp_path / "ref.parquet", settings, blocksize=1 << 30, quiet=True,
                             client=client)
        counts = dask_engine.run_dask(str(gz), tmp_path / "out.parquet", settings, quiet=True, client=client)
        with pytest.raises(UserError, match=r"bad\.csv\.gz is a truncated gzip file"):  # checked before any task
            dask_engine.run_dask(str(tmp_path / "bad.csv.gz"), tmp_path / "bad.parquet", settings, quiet=True,
                                 client=client)
        monkeypatch.setattr(dask_engine, "scan_input", lambda *a, **k: (None, None))  # found by a worker instead
        with pytest.raises(UserError, match=r"bad\.csv\.gz is a truncated gzip file"):
            dask_engine.run_dask(str(tmp_path / "bad.csv.gz"), tmp_path / "bad.parquet", settings, quiet=True,
                                 client=client)
    assert sum(counts.values()) == 400 and not (tmp_path / "bad.parquet").exists()
    ref, out = (sorted((tmp_path / n).glob("part.*.parquet")) for n in ("ref.parquet", "out.parquet"))
    assert len(out) == len(ref) >= 2 and [p.read_bytes() for p in out] == [p.read_bytes() for p in ref]


def test_a_gz_text_ecsv_or_fits_table_on_stdin_is_read_as_the_file(tmp_path):
    """gzip -c stars.txt | gyroage estimate - stopped with 'cannot read - as ascii: embedded null byte' (ECSV too;
    FITS: 'No SIMPLE card found'), where the .gz file, and a CSV or VOTable on stdin, are read decompressed."""
    from astropy.table import Table

    table = Table({"name": ["a", "b"], "prot": [12.0, 25.4], "bp_rp0": [1.1, 0.82]})
    for name, fmt, kind in (("t.txt", "ascii.basic", "ascii"), ("t.ecsv", "ascii.ecsv", "ecsv"), ("t.fits", "fits", "fits")):
        table.write(tmp_path / name, format=fmt)
        data = (tmp_path / name).read_bytes()
        want = invoke(str(tmp_path / name), "-q", "-o", "-")
        # --input-format: CliRunner's stdin cannot be peeked at, as a real one is sniffed (run_cli below)
        got = invoke("-", "-q", "-o", "-", "--input-format", kind, input=gzip.compress(data))
        assert want.exit_code == got.exit_code == 0 and got.stdout == want.stdout, (name, got.output)
    res = invoke("-", "-q", "-o", "-", "--input-format", "fits", input=truncated(gzip.compress(data), 0.5))
    one_line_error(res, "input -", "truncated")
    import subprocess
    import sys

    from tests.conftest import ROOT

    got = subprocess.run([sys.executable, "-m", "gyroage.cli", "estimate", "-", "-q", "-o", "-"], capture_output=True,
                         input=gzip.compress((tmp_path / "t.txt").read_bytes()), cwd=ROOT, timeout=60)
    assert got.returncode == 0, got.stderr
    assert got.stdout.decode() == invoke(str(tmp_path / "t.txt"), "-q", "-o", "-").stdout


def test_a_text_or_ecsv_table_that_cannot_be_read_says_why_in_the_csv_readers_words(tmp_path):
    """A second gzip layer ('embedded null byte', or a UTF-8 codec error), empty stdin ("Is a directory: '.'"), a
    header with no line break on stdin ('No such file or directory'), UTF-16 or Latin-1 text (a codec error; on stdin
    read with U+FFFD), a truncated .txt.gz (zlib's words): the CSV reader's one line for each (review V36b, 5-8)."""
    text = b"star prot bp_rp0\nCaf\xc3\xa9 7.0 1.1\n"
    twice = gzip.compress(gzip.compress(text))
    cases = [(twice, "t.txt.gz", "ascii", "gzip-compressed twice"), (twice, "t.ecsv.gz", "ecsv", "gzip-compressed twice"),
             (text.decode().encode("utf-16"), "t.txt", "ascii", "re-save it as UTF-8"),
             (text.decode().encode("latin-1"), "t.txt", "ascii", "not UTF-8 text (byte 0xe9 at offset 20)"),
             (truncated(text * 5000, 0.5), "t.txt.gz", "ascii", "truncated gzip file")]
    for data, name, kind, words in cases:
        (tmp_path / name).write_bytes(data)
        one_line_error(invoke(str(tmp_path / name), "-q"), f"input {tmp_path / name}", words)
        one_line_error(invoke("-", "-q", "--input-format", kind, input=data), "input -", words)
    for data in (b"", b"\xef\xbb\xbf", gzip.compress(b""), b"  \n"):
        for kind in ("ascii", "ecsv"):
            one_line_error(invoke("-", "-q", "--input-format", kind, input=data), "input - is empty (no header line)")
    res = invoke("-", "-q", "--input-format", "ascii", input=b"star prot bp_rp0")
    assert res.exit_code == 0 and res.stdout.startswith("star,prot,bp_rp0,age_p2.5_myr"), res.output
    from astropy.table import Table  # a .fits.gz cut in half: 'cannot read ... as fits: No table found'

    Table({"star": ["a"] * 20000, "prot": np.full(20000, 7.0), "bp_rp0": np.full(20000, 1.1)}).write(tmp_path / "t.fits")
    (tmp_path / "t.fits.gz").write_bytes(truncated((tmp_path / "t.fits").read_bytes(), 0.5))
    one_line_error(invoke(str(tmp_path / "t.fits.gz"), "-q"), "truncated gzip file")
