"""gyroage.read_stars and AgeModel.estimate on an astropy Table: a table read outside gyroage lost its units (hours
read as days: a 13 Myr star came out 5.5 Gyr) and a CSV's units row became a star that shifted every MCMC stream."""

from __future__ import annotations

import io
import os
import re
import warnings

import numpy as np
import pandas as pd
import pytest

import gyroage
from tests.conftest import ROOT, run_cli

STARS = pd.DataFrame({"prot": [25.4, 8.0, 0.9, 3.0], "bp_rp0": [0.82, 1.1, 1.3, 2.0],
                      "bp_rp0_err": [0.01, 0.02, 0.05, 0.03]})
AGES = ["age_p2.5_myr", "age_p50_myr", "age_p97.5_myr", "age_map_myr", "p_outlier"]


def _hours_table():
    import astropy.units as u
    from astropy.table import Table

    t = Table.from_pandas(STARS)
    t["prot"] = t["prot"] * 24
    t["prot"].unit = u.h
    t["bp_rp0"].unit = u.mag
    t["bp_rp0_err"] = t["bp_rp0_err"] * 1000
    t["bp_rp0_err"].unit = u.mmag
    return t


def _cli(tmp_path, path, *args) -> pd.DataFrame:
    out = tmp_path / "cli.csv"
    res = run_cli("estimate", str(path), "-o", str(out), "-q", "--threads", "1", *args)
    assert res.returncode == 0, res.stderr
    return pd.read_csv(out)


def test_read_stars_converts_units_as_estimate_reads_the_file(model, tmp_path):
    pytest.importorskip("astropy")
    path = tmp_path / "hours.fits"
    _hours_table().write(path)
    with pytest.warns(UserWarning, match=r"^gyroage: converted column .*prot.* h"):
        frame = gyroage.read_stars(path)
    np.testing.assert_allclose(frame["prot"], STARS["prot"], rtol=1e-12)
    np.testing.assert_allclose(frame["bp_rp0_err"], STARS["bp_rp0_err"], rtol=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ages = model.estimate(frame)
    cli = _cli(tmp_path, path)
    for name in AGES:
        np.testing.assert_allclose(ages[name], cli[name], rtol=1e-5, err_msg=name)
    assert list(ages["status"]) == list(cli["status"])


def test_read_stars_reads_a_units_row_as_units_not_a_star(model, tmp_path):
    path = tmp_path / "units.csv"
    path.write_text("name,prot,bp_rp0,bp_rp0_err\n,h,mag,mmag\n"
                    + "".join(f"s{i},{p * 24},{c},{e * 1000}\n" for i, (p, c, e) in enumerate(STARS.to_numpy())))
    with pytest.warns(UserWarning, match="converted column"):
        frame = gyroage.read_stars(path)
    assert list(frame["name"]) == ["s0", "s1", "s2", "s3"]  # no row 0 of units
    mcmc = gyroage.EstimateSettings(method="mcmc", seed=3, sampler=gyroage.SamplerSettings(max_steps=300))
    ages = model.estimate(frame, mcmc)
    cli = _cli(tmp_path, path, "--method", "mcmc", "--seed", "3", "--max-steps", "300")
    for name in AGES:
        np.testing.assert_allclose(ages[name], cli[name], rtol=1e-5, err_msg=name)


def test_estimate_takes_an_astropy_table_with_its_units(model):
    pytest.importorskip("astropy")
    table = _hours_table()
    with pytest.warns(UserWarning, match="converted column"):
        ages = model.estimate(table)
    expected = model.estimate(STARS)
    for name in AGES:
        np.testing.assert_allclose(ages[name], expected[name], rtol=1e-9, err_msg=name)
    assert table["prot"].unit == "h" and table["prot"][0] == pytest.approx(25.4 * 24)  # the caller's table unchanged
    from astropy.table import QTable

    with pytest.warns(UserWarning, match="converted column"):
        q = model.estimate(QTable(table))
    np.testing.assert_allclose(q["age_p50_myr"], expected["age_p50_myr"], rtol=1e-9)


def test_estimate_names_read_stars_for_what_it_cannot_take(model):
    with pytest.raises(TypeError, match=r"read_stars"):
        model.estimate(STARS.to_numpy())


def test_read_stars_in_threads_gives_every_notice_and_leaves_the_callers_filters(tmp_path, monkeypatch):
    """Review V15, finding 2: the readers silence astropy in process-wide ``warnings.catch_warnings()``; eight reads
    on four threads delivered 0-2 of their 8 notices and left ('ignore', None, Warning) on top of the filters. A slow
    read (a sleep inside it) makes the reads overlap every time."""
    pytest.importorskip("astropy")
    import time
    from concurrent.futures import ThreadPoolExecutor

    from gyroage import formats

    path = tmp_path / "hours.fits"
    _hours_table().write(path)
    read_fits = formats.read_fits

    def slow(src, source):
        time.sleep(0.05)
        return read_fits(src, source)

    monkeypatch.setattr(formats, "read_fits", slow)
    with warnings.catch_warnings(record=True) as got:
        warnings.simplefilter("always")
        before = list(warnings.filters)
        with ThreadPoolExecutor(4) as ex:
            frames = list(ex.map(gyroage.read_stars, [path] * 8))
        assert warnings.filters == before
        unit_notes = [w for w in got if "converted column" in str(w.message) and "'prot'" in str(w.message)]
        assert len(unit_notes) == 8, [str(w.message) for w in got]
    assert all(np.allclose(f["prot"], STARS["prot"]) for f in frames)


def test_read_stars_takes_a_format_name_as_input_format_does(tmp_path):
    """Review V15, finding 3: fmt="FITS" or "auto" (which --input-format takes) and a bad name were bare KeyErrors."""
    pytest.importorskip("astropy")
    path = tmp_path / "hours.fits"
    _hours_table().write(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for fmt in ("FITS", "auto", "fits", None):
            np.testing.assert_allclose(gyroage.read_stars(path, fmt=fmt)["prot"], STARS["prot"], rtol=1e-12)
    for bad in ("vot", "bogus"):
        with pytest.raises(gyroage.UserError, match=rf"^unknown fmt '{bad}' \(choose csv, .*\)$"):
            gyroage.read_stars(path, fmt=bad)
    # Review V17, finding 7: a format that is no text (a number, a format-like object) was an AttributeError traceback
    for bad in (123, b"fits", ["fits"]):
        with pytest.raises(gyroage.UserError, match=rf"^fmt must be a format name \(csv, .*\), not {type(bad).__name__} "
                                                    rf"{re.escape(repr(bad))}$") as err:
            gyroage.read_stars(path, fmt=bad)
        assert "\n" not in str(err.value)


def test_estimate_takes_an_astropy_table_with_time_and_skycoord_columns(model):
    """Review V15, finding 4: a Time or SkyCoord column (which the command line reads from ECSV or FITS) crashed
    estimate(Table) with an AttributeError; it is read as the file path reads it, as plain columns."""
    pytest.importorskip("astropy")
    import astropy.units as u
    from astropy.coordinates import SkyCoord
    from astropy.table import QTable
    from astropy.time import Time

    table = QTable(_hours_table())
    table["obs"] = Time(59000.0 + np.arange(len(STARS)), format="mjd")
    table["coord"] = SkyCoord(ra=[10.0, 20, 30, 40] * u.deg, dec=[-5.0, 0, 5, 10] * u.deg)
    with pytest.warns(UserWarning, match="converted column"):
        ages = model.estimate(table)
    expected = model.estimate(STARS)
    for name in AGES:
        np.testing.assert_allclose(ages[name], expected[name], rtol=1e-9, err_msg=name)
    np.testing.assert_allclose(ages["obs"], 59000.0 + np.arange(len(STARS)))
    np.testing.assert_allclose(ages["coord.ra"], [10.0, 20, 30, 40])
    assert isinstance(table["obs"], Time)  # the caller's table unchanged


def test_an_astropy_magnitude_column_is_read_as_mag_from_a_table_and_a_file(model, tmp_path):
    """Review V15, finding 7: a QTable column holding u.Magnitude (unit mag(1)) was refused "has a logarithmic unit
    'mag': give it in mag, not its log". Review V17, finding 5: then it was refused with Python advice ("give a plain
    u.mag Quantity (its .value * u.mag)"), on the command line too for a FITS file astropy reads it from. A
    dimensionless Magnitude's value is the magnitude: it is read as mag, its numbers unchanged, and said once."""
    pytest.importorskip("astropy")
    import astropy.units as u
    from astropy.table import QTable

    table = QTable({"prot": [10.0, 5.0] * u.d, "bp_rp0": u.Magnitude([1.0, 1.2])})
    plain = model.estimate(pd.DataFrame({"prot": [10.0, 5.0], "bp_rp0": [1.0, 1.2]}))
    with pytest.warns(UserWarning, match=r"converted column 'bp_rp0' from mag\(1\)") as got:
        ages = model.estimate(table)
    assert sum("'bp_rp0'" in str(w.message) for w in got) == 1
    pd.testing.assert_frame_equal(ages, plain)
    path = tmp_path / "magn.fits"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # astropy: mag(1) has no FITS TUNIT (it keeps it in its own meta)
        table.write(path)
    with pytest.warns(UserWarning, match=r"converted column 'bp_rp0' from mag\(1\)"):
        frame = gyroage.read_stars(path)
    assert frame["bp_rp0"].tolist() == [1.0, 1.2]
    res = run_cli("estimate", str(path), "-o", str(tmp_path / "out.csv"), "--threads", "1")
    assert res.returncode == 0, res.stderr
    assert res.stderr.count("converted column 'bp_rp0' from mag(1)") == 1, res.stderr
    np.testing.assert_allclose(pd.read_csv(tmp_path / "out.csv")["age_p50_myr"], plain["age_p50_myr"], rtol=1e-5)


# A thread still reading stdin makes a normal exit a fatal error (its buffer's lock is held): leave at once
_EXIT = "\nimport os as _os, sys as _sys\n_sys.stdout.flush()\n_os._exit(0)\n"


def _run_script(tmp_path, code: str) -> str:
    """``code`` run in a fresh Python (its stdin a pipe nobody writes, so a read of '-' blocks), its stdout; killed
    after 60 s, so that a read that hangs fails the test instead of stalling the run."""
    import os
    import subprocess
    import sys
    import textwrap
    from pathlib import Path

    (tmp_path / "hours.csv").write_text("prot,bp_rp0\nh,mag\n240,1.0\n288,0.9\n")
    (tmp_path / "plain.csv").write_text("prot,bp_rp0\n10,1.0\n12,0.9\n")
    root = str(Path(gyroage.__file__).parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
    stdin, unwritten = os.pipe()
    try:
        with subprocess.Popen([sys.executable, "-c", textwrap.dedent(code) + _EXIT], cwd=tmp_path, env=env, text=True,
                              stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
            try:
                out, err = proc.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                out, err = proc.communicate()
                pytest.fail(f"hung: {out} {err}")
    finally:
        os.close(stdin)
        os.close(unwritten)  # only now: a read of '-' in the script waited on it
    assert proc.returncode == 0, err
    return out


def test_a_forked_child_reads_and_warns_while_a_parent_thread_was_mid_read(tmp_path):
    """Review V17, finding 1a: a thread inside a read (on a stdin nobody writes yet; inside astropy's reader) held
    the API's warnings lock when the process forked, and the child's first read_stars hung for ever. The child now
    reads, warns, and has the filters the parent had before that thread's read silenced them."""
    pytest.importorskip("astropy")
    out = _run_script(tmp_path, """
        import os, signal, threading, warnings
        import gyroage
        from gyroage import formats
        warnings.simplefilter("always")
        inside, release = threading.Event(), threading.Event()
        read_fits = formats.read_fits
        def blocked(src, source):
            inside.set(); release.wait()
            return read_fits(src, source)
        formats.read_fits = blocked
        _hours = gyroage.read_stars("hours.csv")
        import astropy.units as u
        from astropy.table import Table
        Table({"prot": [240.0] * u.h, "bp_rp0": [1.0] * u.mag}).write("hours.fits")
        before = list(warnings.filters)  # astropy's import adds its own
        threading.Thread(target=gyroage.read_stars, args=("-",), daemon=True).start()  # blocked on stdin
        threading.Thread(target=gyroage.read_stars, args=("hours.fits",), daemon=True).start()
        inside.wait(10)
        pid = os.fork()
        if pid == 0:
            signal.alarm(10)
            with warnings.catch_warnings(record=True) as got:
                warnings.simplefilter("always")
                frame = gyroage.read_stars("hours.csv")
            ok = warnings.filters == before and any("converted" in str(w.message) for w in got)
            print("child", len(frame), ok, flush=True)
            os._exit(0)
        _, status = os.waitpid(pid, 0)
        print("status", status)
        release.set()
    """)
    assert "child 2 True" in out and "status 0" in out, out


def test_a_callers_showwarning_lock_and_a_slow_read_stall_no_other_read(tmp_path):
    """Review V17, finding 1b: the lock was held across the whole read and while the caller's showwarning ran, so a
    showwarning taking a lock the caller holds around a read on another thread deadlocked both, and a read of a
    stdin nobody writes kept every other thread's warning (and read) waiting. Neither waits now."""
    out = _run_script(tmp_path, """
        import threading, time, warnings
        import gyroage
        warnings.simplefilter("always")
        state, log = threading.Lock(), []
        showing = threading.Event()
        def show(message, category, filename, lineno, file=None, line=None):
            showing.set()
            with state:
                log.append(str(message))
        warnings.showwarning = show
        threading.Thread(target=gyroage.read_stars, args=("-",), daemon=True).start()  # blocked on stdin
        time.sleep(0.5)
        with state:
            worker = threading.Thread(target=gyroage.read_stars, args=("hours.csv",), daemon=True)
            worker.start()
            showing.wait(10)                      # the worker waits for state in show()
            done = []
            reader = threading.Thread(target=lambda: done.append(len(gyroage.read_stars("plain.csv"))), daemon=True)
            reader.start(); reader.join(10)       # a read with no warning, under the caller's lock
            stuck = reader.is_alive()
        worker.join(10)
        print("read", done, "stuck", stuck, "worker done", not worker.is_alive(), "notices", sum("converted" in m for m in log))
    """)
    assert "read [2] stuck False worker done True notices 1" in out, out


def test_a_quiet_section_keeps_another_reads_strict_csv_filter():
    """A CSV read turns pandas' "a row longer than the header" warning into an error (csv_layout.strict_parse) while
    it streams, without holding the readers' lock; another thread's astropy read meanwhile ignored every warning in
    its quiet section, so the long row would be cut short without an error. The strict filter now stays on top."""
    from gyroage import notices

    message = "Length of header or names does not match length of data"
    with notices.filter_inside("error", "Length of header or names does not match", pd.errors.ParserWarning):
        with notices.quiet():
            with pytest.raises(pd.errors.ParserWarning):
                warnings.warn(message, pd.errors.ParserWarning, stacklevel=1)
            with warnings.catch_warnings(record=True) as got:  # everything else stays quiet
                warnings.warn("astropy's note", UserWarning, stacklevel=1)
            assert got == []
        with pytest.raises(pd.errors.ParserWarning):
            warnings.warn(message, pd.errors.ParserWarning, stacklevel=1)
    assert not any(f[0] == "error" and f[2] is pd.errors.ParserWarning for f in warnings.filters)


def test_a_filter_section_leaves_the_callers_own_identical_filter_where_it_was():
    """Review V21, 2: ``filterwarnings`` moves a filter the caller already holds to the top, and filter_inside then
    removed it on exit: a caller's ``simplefilter("ignore", ...)`` of the same category was gone for good after a
    read (or a MAST query)."""
    import threading

    from gyroage import notices

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pd.errors.ParserWarning)
        warnings.filterwarnings("error", "something else", UserWarning)  # above the caller's filter: kept above
        before = list(warnings.filters)
        with notices.filter_inside("ignore", "", pd.errors.ParserWarning):
            assert warnings.filters[0] == ("ignore", None, pd.errors.ParserWarning, None, 0)
        assert warnings.filters == before
        # two sections at once (threads): the caller's filter still back where it was when the last one leaves
        inside, release = threading.Barrier(3), threading.Event()

        def section() -> None:
            with notices.filter_inside("ignore", "", pd.errors.ParserWarning):
                inside.wait(10)
                assert release.wait(10)

        threads = [threading.Thread(target=section, daemon=True) for _ in range(2)]
        for t in threads:
            t.start()
        inside.wait(10)
        release.set()
        for t in threads:
            t.join(10)
        assert warnings.filters == before
    # and a filter the caller did not hold is still removed
    before = list(warnings.filters)
    with notices.filter_inside("ignore", "", pd.errors.ParserWarning):
        pass
    assert warnings.filters == before


def test_one_rule_says_which_given_errors_are_unusable():
    """The rule (given, i.e. not NaN, but not a finite number >= 0) was written out in five places; io.bad_error
    now says it, with zero_ok=False for a colour error estimate refuses at 0 and missing_ok=False for an array
    where NaN is no "not given"."""
    from gyroage.io import bad_error

    e = np.array([np.nan, 0.0, 0.1, -0.1, np.inf, -np.inf])
    assert bad_error(e).tolist() == [False, False, False, True, True, True]
    assert bad_error(e, zero_ok=False).tolist() == [False, True, False, True, True, True]
    assert bad_error(e, missing_ok=False).tolist() == [True, False, False, True, True, True]


def test_every_error_column_is_judged_by_the_same_rule(model):
    """Each error column's bad values (negative, inf, text) are refused, a missing one never: only the colour error's
    0 differs, on purpose (below the trained range; group-age, zero_colour_err, clips it up)."""
    from gyroage import statuses
    from gyroage.core.stars import check_stars

    errs = [np.nan, 0.0, 0.1, -0.1, np.inf, "x"]
    bad = [False, False, False, True, True, True]
    base = {"prot": 10.0, "bp_rp0": 1.0}
    cases = [("prot_err", base, statuses.INVALID_PERIOD_ERR),
             ("bp_rp0_err", base, statuses.INVALID_COLOUR_ERR),
             ("ebprp_err", base, statuses.INVALID_REDDENING),
             ("av_err", {"prot": 10.0, "bp_rp": 1.2, "av": 0.3}, statuses.INVALID_REDDENING)]
    for col, cols, status in cases:
        frame = pd.DataFrame({**cols, col: pd.Series(errs, dtype=object)})
        got = (check_stars(frame, model.card).status == status).tolist()
        assert got == ([False, True] + bad[2:] if col == "bp_rp0_err" else bad), col
        if col == "bp_rp0_err":
            assert (check_stars(frame, model.card, zero_colour_err=True).status == status).tolist() == bad
    frame = pd.DataFrame({**base, "abs_g0": 4.5, "abs_g0_err": pd.Series(errs, dtype=object)})
    assert np.isnan(check_stars(frame, model.card).abs_g).tolist() == bad


@pytest.mark.parametrize("buffer", [io.StringIO("prot,bp_rp0\n25.4,0.82\n"), io.BytesIO(b"prot,bp_rp0\n25.4,0.82\n")])
def test_read_stars_refuses_an_in_memory_buffer_in_one_line_naming_what_it_takes(buffer):
    """A StringIO or BytesIO raised Python's bare "expected str, bytes or os.PathLike object, not StringIO" from deep in
    the format sniffing (review V41 7): read_stars takes a path, or '-' for stdin, as the command line does."""
    with pytest.raises(gyroage.UserError) as err:
        gyroage.read_stars(buffer)
    msg = str(err.value)
    assert "\n" not in msg and msg.startswith("read_stars takes a path") and type(buffer).__name__ in msg
    assert "'-'" in msg and "estimate(frame)" in msg


def test_read_stars_reads_a_path_given_as_bytes(tmp_path):
    """os.fsencode'd paths passed its check, then pathlib raised a bare TypeError traceback (review V42 8)."""
    (tmp_path / "s.csv").write_text("prot,bp_rp0\n25.4,0.82\n")
    assert list(gyroage.read_stars(os.fsencode(tmp_path / "s.csv"))["prot"]) == ["25.4"]


def test_read_stars_gives_csv_cells_as_text_and_readme_says_how_to_get_numbers(tmp_path):
    """A CSV's columns come back as text, an empty cell '' (as estimate reads them: every cell judged as the command
    line judges it): arithmetic, isna and sorting on them went silently wrong, and README did not say so (V41 6)."""
    (tmp_path / "s.csv").write_text("prot,bp_rp0,bp_rp0_err\n25.4,0.82,\n8.0,1.1,0.02\n")
    f = gyroage.read_stars(tmp_path / "s.csv")
    assert f["bp_rp0_err"].tolist() == ["", "0.02"] and not f["bp_rp0_err"].isna().any()
    assert pd.to_numeric(f["bp_rp0_err"], errors="coerce").isna().tolist() == [True, False]
    readme = " ".join((ROOT / "README.md").read_text().split())
    para = readme[readme.index("`gyroage.read_stars(path)` reads a file exactly as"):][:2000]
    assert "as text" in para and "empty cells `''`" in para and "pd.to_numeric(frame[col], errors=\"coerce\")" in para
