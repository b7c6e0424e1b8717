"""The services: query cache, retries, one-line errors when a service stays down."""

from __future__ import annotations

import re
import sys

import pandas as pd
import pytest

pytest.importorskip("astroquery")
pytest.importorskip("pytest_httpserver")

from gyroage.crossmatch import GaiaArchive, MastTic, Services, VizierService  # noqa: E402
from gyroage.errors import UserError  # noqa: E402
from tests.crossmatch.fakesky import GA, GB, GC, GD, run_rows  # noqa: E402


def test_crossmatch_cache_second_run_sends_nothing(tmp_path, sky):
    rows = f"source_id\n{GA}\n{GB}\n{GC}\n"
    cache = tmp_path / "cache"
    first = run_rows(tmp_path, sky, rows, cache_dir=cache)
    n_sent = len(sky.log)
    assert n_sent >= 5
    second = run_rows(tmp_path, sky, rows, cache_dir=cache)
    assert len(sky.log) == n_sent  # nothing sent the second time
    pd.testing.assert_frame_equal(first, second)
    third = run_rows(tmp_path, sky, rows + f"{GD}\n", cache_dir=cache)
    assert third["crossmatch_status"].tolist()[-1] == "no_period"
    # a new star: only new queries go out. The cache is keyed by the query text (README), so the batches GD joins
    # are sent again, and a query already answered never is (the Kepler catalogues' KIC query: GD has no KIC).
    new = sky.log[n_sent:]
    assert new and not set(new) & set(sky.log[:n_sent]), new
    assert len(set(new)) == len(new) and all(str(GD) in q or "TIC=" in q for _, q in new), new


def test_crossmatch_service_error_mid_run_then_resume(tmp_path, sky):
    rows = f"source_id\n{GA}\n{GB}\n{GC}\n"
    cache = tmp_path / "cache"
    sky.fail["vizier"] = -1  # Gaia and MAST answer, VizieR is down
    with pytest.raises(UserError) as err:
        run_rows(tmp_path, sky, rows, cache_dir=cache, retries=2)
    msg = str(err.value)
    assert "\n" not in msg and "vizier" in msg and "2 attempts" in msg and "rerun to resume" in msg
    assert len(sky.queries("vizier")) == 2  # retried once
    assert not (tmp_path / "out.csv").exists()  # no partial output
    before = {s: len(sky.queries(s)) for s in ("gaia", "mast")}
    sky.fail.clear()
    out = run_rows(tmp_path, sky, rows, cache_dir=cache)
    assert out["crossmatch_status"].tolist() == ["ok", "ok", "ok"]
    # the rerun only sends what had not been answered
    assert {s: len(sky.queries(s)) for s in ("gaia", "mast")} == before
    assert len(sky.queries("vizier")) == 2 + 4  # the four VizieR tables, once each


def test_crossmatch_transient_error_is_retried(tmp_path, sky):
    sky.fail["gaia"] = 1
    out = run_rows(tmp_path, sky, f"source_id\n{GA}\n", retries=3)
    assert out["crossmatch_status"].tolist() == ["ok"]


def test_crossmatch_cli_unreachable_service_is_one_line(tmp_path):
    from typer.testing import CliRunner

    from gyroage.cli import app

    ids = tmp_path / "ids.csv"
    ids.write_text(f"source_id\n{GA}\n")
    out = tmp_path / "out.csv"
    res = CliRunner().invoke(app, ["crossmatch", str(ids), "-o", str(out), "--quiet", "--gaia-url",
                                   "http://127.0.0.1:9", "--no-cache", "--retries", "2", "--backoff", "0"])
    assert res.exit_code == 2
    assert res.output.count("\n") == 1 and "gaia service at http://127.0.0.1:9 failed after 2 attempts" in res.output
    # the essential part: the exception class and the reason, not requests' retelling of the URL
    assert re.search(r"\(ConnectionError, NewConnectionError: Failed to establish a new connection: "
                     r"\[Errno 111\] Connection refused\)$", res.output.strip())
    assert not out.exists()


def test_crossmatch_service_failure_is_shortened_at_a_word_boundary():
    words = [f"w{i:04d}x" for i in range(80)]  # 7 characters a word: a fixed cut lands mid-word

    def fetch():
        raise OSError(" ".join(words))

    with pytest.raises(UserError) as err:
        VizierService("http://127.0.0.1:9", retries=1)._run("q", fetch)
    msg = str(err.value)
    reason = msg[msg.index("(") + 1:msg.rindex(")")]
    assert msg.startswith("vizier service at http://127.0.0.1:9 failed after 1 attempt (OSError: w0000x w0001x")
    assert reason.endswith(" ...") and len(msg) < 240
    assert all(w in words for w in reason.removeprefix("OSError: ").removesuffix(" ...").split())


def test_crossmatch_never_imports_astroquery_gaia(tmp_path, sky, capsys):
    # astroquery.gaia calls ESA and prints at import (astroquery#3343): Gaia's sync TAP is asked over requests
    out = run_rows(tmp_path, sky, f"source_id\n{GA}\n")
    assert out["crossmatch_status"].tolist() == ["ok"]
    assert "astroquery.gaia" not in sys.modules and capsys.readouterr().out == ""
    assert GaiaArchive("https://gea.esac.esa.int/").sync_url == "https://gea.esac.esa.int/tap-server/tap/sync"
    # the query sent is the one astroquery's TAP+ client sent: TOP 2000 after SELECT
    assert all(q.startswith("SELECT  TOP 2000 ") for q in sky.queries("gaia"))


def test_crossmatch_service_urls_reach_astroquery():
    # the configured URL, https through VizierClass(vizier_server=...), http through the one subclass;
    # these also guard the astroquery internals the services rely on (see services.py)
    assert VizierService("https://vizier.example.org/mirror")._client._server_to_url() == \
        "https://vizier.example.org/mirror/viz-bin/votable"
    assert VizierService("http://127.0.0.1:8123")._client._server_to_url("asu-tsv") == \
        "http://127.0.0.1:8123/viz-bin/asu-tsv"
    portal = MastTic("http://127.0.0.1:8123/", timeout=7.0)._client._portal_api_connection
    assert portal.MAST_REQUEST_URL == "http://127.0.0.1:8123/api/v0/invoke" and portal.TIMEOUT == 7.0
    assert portal.COLUMNS_CONFIG_URL == "http://127.0.0.1:8123/portal/Mashup/Mashup.asmx/columnsconfig"


def test_crossmatch_cache_dir_default_is_the_readme_s(tmp_path, monkeypatch):
    from pathlib import Path

    from typer.testing import CliRunner

    from gyroage.cli import app
    from gyroage.crossmatch import default_cache_dir
    from tests.conftest import ROOT

    readme = " ".join((ROOT / "README.md").read_text().split())
    (stated,) = re.findall(r"under `--cache-dir` \([^)]*default `([^`]+)`\)", readme)
    for name in ("GYROAGE_CACHE_DIR", "XDG_CACHE_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_cache_dir() == Path(stated).expanduser() == tmp_path / ".cache" / "gyroage" / "crossmatch"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "gyroage" / "crossmatch"
    monkeypatch.setenv("GYROAGE_CACHE_DIR", str(tmp_path / "g"))
    assert default_cache_dir() == tmp_path / "g" / "crossmatch"
    out = " ".join(re.sub(r"[│\s]+", " ", CliRunner().invoke(app, ["crossmatch", "--help"], env={"COLUMNS": "200"}).output).split())
    assert f"default {stated})" in out


def test_crossmatch_failure_names_what_requests_wraps_three_deep():
    import requests

    from gyroage.crossmatch.services import describe_failure

    with pytest.raises(requests.ConnectionError) as err:
        requests.get("http://127.0.0.1:9/api/v0/invoke", timeout=5)
    # requests' own text repeats the pool, the URL and the wrapped error's text (and ran past any fixed cut)
    assert describe_failure(err.value) == ("ConnectionError, NewConnectionError: Failed to establish a new connection: "
                                           "[Errno 111] Connection refused")


def test_answers_cached_in_an_older_format_are_fetched_again(tmp_path, monkeypatch):
    """The cache's format is part of every key: an answer stored before a change of format is never read back."""
    import pandas as pd

    from gyroage.crossmatch.services import QueryCache

    cache = QueryCache(tmp_path)
    monkeypatch.setattr(QueryCache, "FORMAT", 1)
    cache.put("vizier", "https://vizier.cds.unistra.fr", "-source=J/X/1&KIC=1", pd.DataFrame({"a": []}))
    assert cache.get("vizier", "https://vizier.cds.unistra.fr", "-source=J/X/1&KIC=1") is not None
    monkeypatch.undo()
    assert cache.get("vizier", "https://vizier.cds.unistra.fr", "-source=J/X/1&KIC=1") is None


def test_a_run_against_another_url_never_takes_the_cached_answers_of_the_first(tmp_path, sky):
    """The cache was keyed by the query text alone: a run against one Gaia URL (a mirror, a test server) filled it,
    and a later run against another URL sent nothing and took those answers, its record naming the other URL."""
    rows = f"source_id\n{GA}\n{GB}\n"
    cache = tmp_path / "cache"
    run_rows(tmp_path, sky, rows, cache_dir=cache, gaia_url=sky.url + "/mirror/tap")
    n = len(sky.queries("gaia"))
    run_rows(tmp_path, sky, rows, cache_dir=cache, gaia_url=sky.url + "/tap")
    assert len(sky.queries("gaia")) == 2 * n  # asked again: another service
    # the same service spelled another way (case, trailing slash, default port) keeps its answers
    run_rows(tmp_path, sky, rows, cache_dir=cache, gaia_url=sky.url.upper().replace("HTTP://", "http://") + "/tap/")
    assert len(sky.queries("gaia")) == 2 * n


def test_one_service_spelled_two_ways_shares_the_cache(tmp_path):
    """ESA's URL with or without its TAP path, a default port, a trailing slash: one service, one cache key;
    another host, port or path is another service."""
    from gyroage.crossmatch.services import QueryCache

    cache = QueryCache(tmp_path)

    def key(cls, url):
        return cls(url, cache).cache_url

    esa = key(GaiaArchive, "https://gea.esac.esa.int")
    assert esa == key(GaiaArchive, "HTTPS://GEA.esac.esa.int:443/") == key(GaiaArchive,
                                                                          "https://gea.esac.esa.int/tap-server/tap/")
    assert esa != key(GaiaArchive, "https://gea.esac.esa.int:8443") != key(GaiaArchive, "http://gea.esac.esa.int")
    assert key(VizierService, "http://host:80/viz/") == key(VizierService, "http://host/viz")
    assert key(VizierService, "http://host/viz") != key(VizierService, "http://host/other")
    assert key(MastTic, "https://mast.stsci.edu") != key(MastTic, "https://mast.example.org")


@pytest.mark.parametrize("options, message", [
    (["--chunksize", "0"], "--chunksize must be at least 1"),
    (["--retries", "2", "--backoff", "nan"], "--backoff must be a finite number"),
    (["--retries", "2", "--backoff", "inf"], "--backoff must be a finite number"),
    (["--retries", "2", "--backoff", "-1"], "--backoff must be a finite number"),
    (["--retries", "0"], "--retries must be a whole number of at least 1"),
    (["--retries", "-1"], "--retries must be a whole number of at least 1"),
    (["--gaia-url", "notaurl"], "--gaia-url 'notaurl' is not a URL"),
    (["--vizier-url", "ftp://host"], "--vizier-url 'ftp://host' is not a URL"),
    (["--mast-url", "http://host:port"], "--mast-url 'http://host:port' is not a URL"),
    (["--vizier-url", "http://host/viz?x=1"], "--vizier-url 'http://host/viz?x=1' has a query"),
    (["--mast-url", "http://host/#top"], "--mast-url 'http://host/#top' has a fragment"),
    (["--vizier-url", "https://user:pw@host"], "--vizier-url 'https://user:pw@host' has a user name or password"),
])
def test_crossmatch_bad_options_are_one_line_before_any_query(tmp_path, monkeypatch, options, message):
    """These were tracebacks (ValueError, OverflowError, astroquery's ValueError) or, for --retries 0/-1,
    silently one attempt; each is now one line, exit 2, with no output and nothing asked of any service."""
    from typer.testing import CliRunner

    from gyroage.cli import app

    monkeypatch.setenv("GYROAGE_CACHE_DIR", str(tmp_path / "cache"))
    ids = tmp_path / "ids.csv"
    ids.write_text(f"source_id\n{GA}\n")
    out = tmp_path / "out.csv"
    res = CliRunner().invoke(app, ["crossmatch", str(ids), "-o", str(out), "--quiet", "--gaia-url", "http://127.0.0.1:9",
                                   *options])
    assert res.exit_code == 2, res.output
    assert res.output.count("\n") == 1 and message in res.output and "failed after" not in res.output, res.output
    assert not out.exists()


def test_crossmatch_service_url_from_environment_is_checked(monkeypatch):
    monkeypatch.setenv("GYROAGE_MAST_URL", "mast.stsci.edu")
    with pytest.raises(UserError, match="GYROAGE_MAST_URL 'mast.stsci.edu' is not a URL"):
        Services.create(cache_dir=None)


def test_gaia_url_path_is_the_tap_service(tmp_path, sky):
    """--gaia-url http://host/tap was asked at /tap-server/tap/sync (the path dropped); upper-case HTTPS went to
    port 80. The path is now the TAP service's (ESA's /tap-server/tap when there is none), the scheme any case."""
    assert GaiaArchive("https://gea.esac.esa.int/").sync_url == "https://gea.esac.esa.int/tap-server/tap/sync"
    assert GaiaArchive("HTTPS://Gea.Esac.Esa.Int").sync_url == "https://gea.esac.esa.int/tap-server/tap/sync"
    assert GaiaArchive("http://h:8080/tap/").sync_url == "http://h:8080/tap/sync"
    assert VizierService("HTTP://127.0.0.1:8123")._client._server_to_url() == "http://127.0.0.1:8123/viz-bin/votable"
    out = run_rows(tmp_path, sky, f"source_id\n{GA}\n", gaia_url=sky.url + "/mirror/tap")
    assert out["crossmatch_status"].tolist() == ["ok"]
    assert {p for p, _ in sky.raw if p.endswith("/sync")} == {"/mirror/tap/sync"}


@pytest.mark.skipif(sys.platform == "win32", reason="a bash pipeline")
def test_readme_s_pipefail_sentence_gives_the_statuses_bash_reports(tmp_path):
    """README said `set -o pipefail` makes the shell report crossmatch's status 2: bash reports the rightmost
    failure, estimate's 3 on the empty pipe; crossmatch's 2 is in ${PIPESTATUS[0]}."""
    import os
    import shutil
    import subprocess
    from pathlib import Path

    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("no bash")
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    (sentence,) = re.findall(r"in a pipe, `set -o pipefail`[^.]*\.", readme)
    # the pipeline's status, then crossmatch's own
    said = [int(n) for n in re.findall(r"status (\d+)", sentence) + re.findall(r"crossmatch's (\d+)", sentence)]
    (tmp_path / "ids.csv").write_text(f"source_id\n{GA}\n")
    dead = "http://127.0.0.1:9"
    py = f'"{sys.executable}" -m gyroage'
    script = (f"set -o pipefail; {py} crossmatch ids.csv --gaia-url {dead} --vizier-url {dead} --mast-url {dead} "
              f"--no-cache --retries 1 | {py} estimate - -o out.csv; echo $? ${{PIPESTATUS[0]}}")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parents[2]),
                                                       os.environ.get("PYTHONPATH", "")])}
    res = subprocess.run([bash, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=50, env=env)
    status, first = map(int, res.stdout.split())
    assert said == [status, first], (sentence, res.stdout, res.stderr)
