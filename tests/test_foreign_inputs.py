"""Inputs gyroage does not read (an Excel workbook, a zip, bzip2, xz, HDF5, an old .xls) are named by their first
bytes in a one-line error, not told "not UTF-8 text; re-save it as UTF-8" or "missing required column"."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import zipfile

import pytest
from typer.testing import CliRunner

from gyroage.cli import app
from tests.conftest import one_line_error

CSV = b"name,prot,bp_rp0,cluster\nsun,25.4,0.82,a\nk,12.0,1.1,a\n"


def xlsx(compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    """A zip holding the parts an .xlsx holds (their XML made up here): what Excel saves."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as z:
        z.writestr("[Content_Types].xml", "<?xml version='1.0'?><Types>" + "<Default/>" * 50 + "</Types>")
        z.writestr("xl/worksheets/sheet1.xml", "<worksheet>" + "<row><c>25.4</c></row>" * 200 + "</worksheet>")
    return buf.getvalue()


KINDS = {
    "xlsx": (xlsx(), ("ZIP archive", "Excel", "CSV")),
    "stored zip": (xlsx(zipfile.ZIP_STORED), ("ZIP archive",)),  # its first bytes decode as UTF-8
    "bzip2": (bz2.compress(CSV), ("bzip2", "gzip")),
    "xz": (lzma.compress(CSV), ("xz", "gzip")),
    "hdf5": (b"\x89HDF\r\n\x1a\n" + bytes(range(256)) * 4, ("HDF5",)),
    "old xls": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(range(256)) * 4, ("Excel", ".xls")),
    "gzip of bzip2": (gzip.compress(bz2.compress(CSV), mtime=0), ("bzip2",)),
}


@pytest.mark.parametrize("kind", list(KINDS))
def test_an_input_of_a_kind_gyroage_does_not_read_is_named(tmp_path, kind):
    data, words = KINDS[kind]
    path = tmp_path / "stars.csv"
    path.write_bytes(data)
    for args, stdin in ((["estimate", str(path)], None), (["estimate", "-"], data),
                        (["group-age", str(path), "--by", "cluster"], None)):
        res = CliRunner().invoke(app, [*args, "-q"], input=stdin)
        line = one_line_error(res, *words)
        assert "not UTF-8 text" not in line and "missing required column" not in line, line


@pytest.mark.parametrize("kind", ["xlsx", "bzip2", "xz"])
def test_input_format_csv_does_not_hide_what_the_file_is(tmp_path, kind):
    data, words = KINDS[kind]
    path = tmp_path / "stars.csv"
    path.write_bytes(data)
    res = CliRunner().invoke(app, ["estimate", str(path), "--input-format", "csv", "-q"])
    one_line_error(res, *words)


@pytest.mark.parametrize("header", ["BZh,prot,bp_rp0", "PK,prot,bp_rp0", "7z,prot,bp_rp0"])
def test_a_csv_whose_header_starts_like_a_magic_number_is_still_read(tmp_path, header):
    path = tmp_path / "stars.csv"
    path.write_text(f"{header}\nsun,25.4,0.82\n")
    res = CliRunner().invoke(app, ["estimate", str(path), "-q"])
    assert res.exit_code == 0, res.output
    assert res.stdout.splitlines()[1].endswith(",ok")
