"""A cross-match's typed output says what made it: the gyroage version, the command, the services asked (Gaia's TAP
service as queried, the others' base URLs: an environment variable can set them unseen in the command) and the
period tables in adoption order, the extinction and the identifiers read. It carried none: an astronomer publishing
its periods and colours could not say which VizieR tables or which mirror they came from. CSV stays as it was (a
comment line would break its readers).
"""

from __future__ import annotations

import filecmp

import pytest
from typer.testing import CliRunner

pytest.importorskip("astroquery")
pytest.importorskip("pytest_httpserver")

from gyroage.cli import app  # noqa: E402
from tests.crossmatch.fakesky import GA, GB  # noqa: E402
from tests.test_provenance import record  # noqa: E402


@pytest.fixture
def ids(tmp_path, sky, monkeypatch):
    """A Gaia id list as ids.csv in the working directory; the services' URLs from the environment."""
    (tmp_path / "ids.csv").write_text(f"name,source_id\na,{GA}\nb,{GB}\n")
    for name in ("GYROAGE_GAIA_TAP_URL", "GYROAGE_VIZIER_URL", "GYROAGE_MAST_URL"):
        monkeypatch.setenv(name, sky.url)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def crossmatch(*args: str) -> None:
    res = CliRunner().invoke(app, ["crossmatch", *args])
    assert res.exit_code == 0, (res.output, res.exception)


@pytest.mark.parametrize("suffix", ["parquet", "fits", "ecsv", "vot"])
def test_a_typed_crossmatch_output_records_the_services_and_tables(ids, sky, suffix):
    crossmatch("ids.csv", "-o", f"out.{suffix}", "--periods", "holcomb2022,gaiadr3", "--extinction", "none",
               "--no-cache", "-q")
    got = record(ids / f"out.{suffix}")
    from gyroage import __version__

    assert got["version"] == __version__
    # where the output went, the cache and -q decide no bit of the table
    assert got["command"] == "gyroage crossmatch ids.csv --periods holcomb2022,gaiadr3 --extinction none"
    # the Gaia TAP service queried: ESA's /tap-server/tap under a URL without a path (it said the URL as given)
    assert got["gaia_url"] == sky.url + "/tap-server/tap" and got["vizier_url"] == got["mast_url"] == sky.url
    assert got["period_sources"] == "holcomb2022 (VizieR J/ApJ/936/138/table1), gaiadr3 (gaiadr3.vari_rotation_modulation)"
    assert got["extinction"] == "none"
    assert got["ids"] == "source_id (gaia)"


def test_the_record_leaves_out_what_decides_no_bit_of_the_table(ids, sky):
    """Two runs differing only in where the output goes, the cache, retries and -q write the same bytes; chunking
    (Parquet row groups, the same rows) the same record."""
    crossmatch("ids.csv", "-o", "a.parquet")
    crossmatch("ids.csv", "--output", "b.parquet", "--cache-dir", "c2", "--retries", "2", "--backoff", "0", "--quiet")
    crossmatch("ids.csv", "-o", "c.parquet", "--chunksize", "1", "--no-cache")
    assert record(ids / "a.parquet")["command"] == "gyroage crossmatch ids.csv"
    assert filecmp.cmp(ids / "a.parquet", ids / "b.parquet", shallow=False)
    assert record(ids / "c.parquet") == record(ids / "a.parquet")


def test_positions_record_the_cone_radius(tmp_path, sky, monkeypatch):
    (tmp_path / "pos.csv").write_text("ra,dec\n10.0,-5.0\n")
    for name in ("GYROAGE_GAIA_TAP_URL", "GYROAGE_VIZIER_URL", "GYROAGE_MAST_URL"):
        monkeypatch.setenv(name, sky.url)
    monkeypatch.chdir(tmp_path)
    crossmatch("pos.csv", "-o", "out.fits", "--radius-arcsec", "1.5", "--no-cache")
    got = record(tmp_path / "out.fits")
    assert got["ids"] == "ra, dec (radec)" and got["radius_arcsec"] == "1.5"
    assert got["extinction"] == "gspphot"
    assert got["period_sources"].startswith("mcquillan2014 (VizieR J/ApJS/211/24/table1), santos2021")


def test_a_csv_crossmatch_output_carries_no_record(ids, sky):
    crossmatch("ids.csv", "-o", "out.csv", "--no-cache")
    assert "gyroage" not in (ids / "out.csv").read_text()


def test_the_record_names_the_gaia_tap_service_asked(ids, sky, monkeypatch):
    """--gaia-url http://host/mirror/tap is asked at its path: the record names that TAP service."""
    monkeypatch.setenv("GYROAGE_GAIA_TAP_URL", sky.url + "/mirror/tap/")
    crossmatch("ids.csv", "-o", "out.parquet", "--periods", "gaiadr3", "--extinction", "none", "--no-cache", "-q")
    assert record(ids / "out.parquet")["gaia_url"] == sky.url + "/mirror/tap"
