"""Crossmatch's quiet sections and other threads' warnings (the Python API may run a cross-match beside a read or
an estimate): the sections change the process-wide warning filters under gyroage's readers' lock
(:mod:`gyroage.notices`), or add only the filter they need."""

from __future__ import annotations

import io as _io
import threading
import warnings

import pandas as pd
import pytest

pytest.importorskip("astroquery")

from gyroage import notices  # noqa: E402
from gyroage.core.arguments import warn_caller  # noqa: E402


def _blocking(original, inside: threading.Event, release: threading.Event):
    """``original``, called only once the test has seen the section open (``inside``) and let it go (``release``)."""
    def call(*args, **kwargs):
        inside.set()
        assert release.wait(10)
        return original(*args, **kwargs)
    return call


def _coordinate(monkeypatch, inside, release):
    import astropy.coordinates

    from gyroage.crossmatch.resolve import coordinate

    monkeypatch.setattr(astropy.coordinates, "Angle", _blocking(astropy.coordinates.Angle, inside, release))
    frame = pd.DataFrame({"ra": ["03 47 00.0"]})
    return lambda: coordinate(frame, "ra", hours=True)


def _votable(monkeypatch, inside, release):
    import astropy.io.votable
    from astropy.table import Table

    from gyroage.crossmatch.answers import read_votable

    buf = _io.BytesIO()
    Table({"source_id": [1, 2]}).write(buf, format="votable")
    monkeypatch.setattr(astropy.io.votable, "parse", _blocking(astropy.io.votable.parse, inside, release))
    return lambda: read_votable(buf.getvalue(), "Gaia")


def _mast(monkeypatch, inside, release):
    from astropy.table import Table
    from astroquery.exceptions import NoResultsWarning

    from gyroage.crossmatch.answers import transient_errors
    from gyroage.crossmatch.services import MastTic

    transient_errors()  # imports requests, whose urllib3 adds its warning filters: before the test notes them

    def query_criteria(**_):
        # still ignored: raised as astroquery raises it, from its own module (stacklevel 1)
        warnings.warn_explicit("Query returned no results.", NoResultsWarning, "discovery_portal.py", 301,
                               module="astroquery.mast.discovery_portal")
        return Table({"ID": [1]})

    class Client:
        pass

    client = Client()
    client.query_criteria = _blocking(query_criteria, inside, release)
    service = MastTic("http://127.0.0.1:9")
    service.__dict__["_client"] = client  # the cached property, never built: no request is sent
    return lambda: service.query("ID", [1])


SECTIONS = {"coordinate": _coordinate, "read_votable": _votable, "mast_query": _mast}


@pytest.mark.parametrize("section", SECTIONS)
def test_a_caller_warning_on_another_thread_is_not_swallowed(monkeypatch, section):
    """Review FB, 1: coordinate's, read_votable's and MAST's queries silenced warnings in a bare process-wide
    ``catch_warnings()`` + ``simplefilter("ignore")``: a warning gyroage gave a caller on another thread meanwhile
    (:func:`warn_caller`, which waits only for sections under the readers' lock) was lost."""
    inside, release = threading.Event(), threading.Event()
    run = SECTIONS[section](monkeypatch, inside, release)
    with warnings.catch_warnings(record=True) as got:
        warnings.simplefilter("always")
        before = list(warnings.filters)
        worker = threading.Thread(target=run, daemon=True)
        worker.start()
        assert inside.wait(10)
        caller = threading.Thread(target=warn_caller, args=("gyroage: a note for the caller",), daemon=True)
        caller.start()
        caller.join(0.5)  # it may wait for a section under the lock; it must not be swallowed
        release.set()
        worker.join(10)
        caller.join(10)
        assert not worker.is_alive() and not caller.is_alive()
        assert warnings.filters == before
    messages = [str(w.message) for w in got]
    assert messages == ["gyroage: a note for the caller"]


@pytest.mark.parametrize("section", SECTIONS)
def test_a_quiet_read_overlapping_the_section_leaves_no_filter_behind(monkeypatch, section):
    """Review FB, 1: a gyroage read's :func:`notices.quiet` opened on another thread while coordinate's or
    read_votable's bare ``catch_warnings()`` was open, and closed after it, put back the "ignore" it had found on
    top: every later warning of the process was ignored."""
    inside, release = threading.Event(), threading.Event()
    run = SECTIONS[section](monkeypatch, inside, release)
    reading, done = threading.Event(), threading.Event()

    def read() -> None:
        with notices.quiet():
            reading.set()
            assert done.wait(10)

    with warnings.catch_warnings():
        warnings.simplefilter("always")
        before = list(warnings.filters)
        worker = threading.Thread(target=run, daemon=True)
        worker.start()
        assert inside.wait(10)
        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        reading.wait(0.5)  # may wait for the section to close (it holds the lock)
        release.set()
        worker.join(1)  # closing a filter_inside section waits for the read's lock: the read ends after a while
        done.set()
        worker.join(10)
        reader.join(10)
        assert not worker.is_alive() and not reader.is_alive()
        assert warnings.filters == before


def test_a_mast_query_leaves_the_callers_own_astropy_filter(monkeypatch):
    """Review V21, 2: after a MAST query the astronomer's usual ``warnings.simplefilter("ignore", AstropyWarning)``
    was gone (the section added the same filter, then removed it), and astropy's notes came back."""
    from astropy.utils.exceptions import AstropyWarning

    inside, release = threading.Event(), threading.Event()
    release.set()
    run = _mast(monkeypatch, inside, release)
    with warnings.catch_warnings(record=True) as got:
        warnings.simplefilter("always")
        warnings.simplefilter("ignore", AstropyWarning)
        before = list(warnings.filters)
        run()
        assert warnings.filters == before
        warnings.warn("an astropy note the caller silenced", AstropyWarning, stacklevel=1)
    assert [str(w.message) for w in got] == []


def test_a_callers_astropy_warning_on_another_thread_during_a_mast_fetch_is_seen(monkeypatch):
    """Review V21, 4: the MAST fetch ignored every AstropyWarning process-wide, so an astropy note the caller got on
    another thread meanwhile (a FITS card fixed, a unit not understood) was lost; only those raised from astropy's or
    astroquery's modules are ignored now."""
    from astropy.utils.exceptions import AstropyUserWarning

    inside, release = threading.Event(), threading.Event()
    run = _mast(monkeypatch, inside, release)
    with warnings.catch_warnings(record=True) as got:
        warnings.simplefilter("always")
        worker = threading.Thread(target=run, daemon=True)
        worker.start()
        assert inside.wait(10)
        warnings.warn("the caller's own astropy note", AstropyUserWarning, stacklevel=1)
        release.set()
        worker.join(10)
        assert not worker.is_alive()
    assert [str(w.message) for w in got] == ["the caller's own astropy note"]


def test_an_empty_mast_answer_still_says_nothing(tmp_path, sky, monkeypatch):
    """Review V21, 4: the narrower filter (astropy's and astroquery's modules only) still hides astroquery's
    NoResultsWarning for an empty MAST answer (an answer: the stars have no TIC entry), which astropy's logger
    would print as "WARNING: NoResultsWarning: Query returned no results."."""
    import json

    from werkzeug import Response

    from tests.conftest import run_cli
    from tests.crossmatch.fakesky import GB, GD

    def emptied(response: Response) -> Response:
        answer = json.loads(response.get_data(as_text=True))
        answer["data"] = []
        return Response(json.dumps(answer), content_type=response.content_type)

    sky.mangle["mast"] = [emptied]
    sky.mangle_all.add("mast")
    ids = tmp_path / "ids.csv"
    ids.write_text(f"source_id\n{GB}\n{GD}\n")
    cm = run_cli("crossmatch", str(ids), "--no-cache", "--retries", "1", "--gaia-url", sky.url, "--vizier-url",
                 sky.url, "--mast-url", sky.url)
    assert cm.returncode == 0, cm.stderr
    assert sky.queries("mast")  # the empty answer was asked for and read
    assert "Warning" not in cm.stderr and "WARNING" not in cm.stderr, cm.stderr


def test_a_held_filter_goes_back_among_the_callers_filters_in_their_order():
    """Review V23 (finding 7): a caller's filter held before a section was put back at its old index, even when
    the caller had added a filter meanwhile, which then fell below it: the older choice won (warnings ignored that
    the caller had just made errors)."""
    from astropy.utils.exceptions import AstropyWarning

    with warnings.catch_warnings():
        warnings.resetwarnings()
        warnings.simplefilter("ignore", AstropyWarning)
        section = notices.filter_inside("ignore", "", AstropyWarning)
        section.__enter__()
        warnings.simplefilter("error", AstropyWarning)  # the caller, on another thread, while the section is open
        section.__exit__(None, None, None)
        assert [f[0] for f in warnings.filters[:2]] == ["error", "ignore"], warnings.filters
        with pytest.raises(AstropyWarning):
            warnings.warn("the caller asked for this as an error", AstropyWarning, stacklevel=1)
        warnings.resetwarnings()
        warnings.simplefilter("ignore", AstropyWarning)
        warnings.simplefilter("default")  # the caller's later, wider choice, above the older one
        before = list(warnings.filters)
        first = notices.filter_inside("ignore", "", AstropyWarning)
        other = notices.filter_inside("error", "Length of header", pd.errors.ParserWarning)
        first.__enter__()
        other.__enter__()
        first.__exit__(None, None, None)
        other.__exit__(None, None, None)
        assert warnings.filters == before
