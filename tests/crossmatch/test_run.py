"""The run: joining, period adoption, extinction, output columns and order, the CLI."""

from __future__ import annotations

import dataclasses
import io as _io
import json
import math
import re

import pandas as pd
import pytest

pytest.importorskip("astroquery")
pytest.importorskip("pytest_httpserver")

from gyroage.crossmatch import CrossmatchSettings, run_crossmatch  # noqa: E402
from gyroage.errors import UserError  # noqa: E402
from tests.conftest import run_cli  # noqa: E402
from tests.crossmatch.fakesky import GA, GAIA, GAIA_NOT_FOUND, GB, GC, GD, GE, replaced_by, run_rows, services_for  # noqa: E402


def test_crossmatch_gaia_ids_queries_and_join(tmp_path, sky):
    rows = f"name,Source_ID\na,{GA}\nb,{GB}\nc,Gaia DR3 {GC}\nd,{GD}\nmissing,{GAIA_NOT_FOUND}\nbad,abc\n"
    out = run_rows(tmp_path, sky, rows)
    # every row, in order, with a status
    assert out["name"].tolist() == ["a", "b", "c", "d", "missing", "bad"]
    assert out["crossmatch_status"].tolist() == ["ok", "ok", "ok", "no_period", "not_found", "invalid_id"]
    assert out["source_id"].tolist()[:4] == [GA, GB, GC, GD]
    # identifiers joined through dr2_neighbourhood + TIC
    assert out["tic"].tolist()[:4] == [2000001, 2000002, 2000003, 2000004]
    assert out.loc[0, "kic"] == 1000001
    # adoption rule: Kepler (McQuillan) > Kepler (Santos) > TESS > Gaia; every candidate kept
    assert out["prot_source"].tolist()[:3] == ["mcquillan2014", "holcomb2022", "gaiadr3"]
    assert out["prot"].tolist()[:3] == [12.3, 5.2, 3.3]
    assert out.loc[0, "prot_santos2021_days"] == 12.5 and out.loc[0, "prot_gaiadr3_days"] == 6.1
    assert out.loc[0, "prot_n_candidates"] == 3
    assert out.loc[1, "prot_holcomb2022_days"] == 5.2  # the catalogue's duplicate row (5.3) is dropped
    # colours: BP-RP minus GSP-Phot E(BP-RP); error from the flux-over-error columns (+ E(BP-RP) half-width)
    a = GAIA[GA]
    assert out.loc[0, "bp_rp0"] == pytest.approx(a[3] - a[4] - a[9], abs=1e-5)
    e_col = math.hypot(1.0857362 / a[5], 1.0857362 / a[6])
    assert out.loc[0, "bp_rp0_err"] == pytest.approx(e_col, rel=1e-4)
    assert out.loc[0, "ebp_rp_err"] == pytest.approx((a[11] - a[10]) / 2, rel=1e-4)  # GSP-Phot's half-interval
    assert out.loc[2, "bp_rp0"] == pytest.approx(GAIA[GC][3] - GAIA[GC][4], abs=1e-5)  # no GSP-Phot value
    assert out.loc[2, "ebp_rp_source"] == "none_within_100pc"  # at 50 pc: no correction wanted
    assert math.isnan(out.loc[3, "prot"]) and not math.isnan(out.loc[3, "bp_rp0"])
    # G de-reddened by GSP-Phot's own A_G (ag_gspphot); observed G where the colour is observed
    assert out.loc[0, "g0"] == pytest.approx(a[2] - 0.17, abs=1e-4)  # CSV: 6 digits
    assert out.loc[2, "g0"] == pytest.approx(GAIA[GC][2], abs=1e-5)
    assert out["g0"][4:].isna().all()  # not found, invalid id
    assert out["parallax_error_mas"][:4].tolist() == [0.02] * 4 and out["parallax_error_mas"][4:].isna().all()

    # the queries sent: one batched ADQL per table, one VizieR list per catalogue, one TIC filter
    gaia_q = sky.queries("gaia")
    main = [q for q in gaia_q if "gaiadr3.gaia_source AS g" in q]
    assert len(main) == 1
    in_list = {int(x) for x in re.findall(r"\d+", main[0].split(" IN (")[1])}
    assert in_list == {GA, GB, GC, GD, GAIA_NOT_FOUND}  # the invalid id is never sent
    assert "LEFT OUTER JOIN gaiadr3.vari_rotation_modulation" in main[0]
    assert "best_rotation_period" in main[0] and "ebpminrp_gspphot" in main[0] and "g.ag_gspphot" in main[0]
    assert "phot_bp_mean_flux_over_error" in main[0] and "ruwe" in main[0]
    nb = [q for q in gaia_q if "dr2_neighbourhood" in q]
    assert len(nb) == 2 and "n.dr3_source_id IN" in nb[0] and str(GAIA_NOT_FOUND) in nb[0]
    # and forward from the one DR2 id DR3 renumbered (GC's), to check its TIC leads back to GC (review V50, 1)
    assert "n.dr2_source_id IN (5200000000000000099)" in nb[1]
    viz = sky.queries("vizier")
    assert sorted(q.split()[0] for q in viz) == ["-source=J/ApJ/936/138/table1", "-source=J/ApJS/211/24/table1",
                                                 "-source=J/ApJS/244/21/table3", "-source=J/ApJS/255/17/table1"]
    assert "TIC=2000001,2000002,2000003,2000004" in [q.split()[1] for q in viz]
    mast = sky.queries("mast")
    assert len(mast) == 1 and json.loads(mast[0])[0]["paramName"] == "GAIA"


def test_crossmatch_extinction_options(tmp_path, sky, capsys):
    rows = f"source_id,my_ebv\n{GA},0.2\n{GB},\n{GC},0.0\n"
    out = run_rows(tmp_path, sky, rows, extinction="none")
    a = GAIA[GA]
    assert out.loc[0, "bp_rp0"] == pytest.approx(a[3] - a[4], abs=1e-5)
    err = capsys.readouterr().err
    assert "2 star(s) beyond 100 pc" in err  # A (500 pc) and B (250 pc); C is at 50 pc
    out = run_rows(tmp_path, sky, rows, extinction="column:MY_EBV")
    assert out.loc[0, "bp_rp0"] == pytest.approx(a[3] - a[4] - 0.2, abs=1e-5)
    assert out["ebp_rp_source"].tolist() == ["column:my_ebv", "none", "column:my_ebv"]
    assert "1 star(s) beyond 100 pc" in capsys.readouterr().err
    with pytest.raises(UserError, match="no column 'nope'"):
        run_rows(tmp_path, sky, rows, extinction="column:nope")
    with pytest.raises(UserError, match="gspphot, none or column"):
        run_rows(tmp_path, sky, rows, extinction="sfd")


def test_crossmatch_header_only_input_sends_nothing(tmp_path, sky):
    out = run_rows(tmp_path, sky, "kic,name\n")
    assert len(out) == 0 and sky.log == []
    assert {"input_kic", "kic", "prot", "prot_err", "bp_rp0", "bp_rp0_err", "crossmatch_status"} <= set(out.columns)
    # the same header on stdin, which cannot be read a second time
    cm = run_cli("crossmatch", "-", "--quiet", "--no-cache", "--gaia-url", sky.url, "--vizier-url", sky.url,
                 "--mast-url", sky.url, input="kic,name\n")
    assert cm.returncode == 0, cm.stderr
    assert cm.stdout.splitlines()[0].split(",")[:2] == ["input_kic", "name"] and len(cm.stdout.splitlines()) == 1
    assert sky.log == []


def test_crossmatch_cli_pipes_into_estimate(tmp_path, sky, monkeypatch):
    ids = tmp_path / "ids.csv"
    ids.write_text(f"source_id,prot\n{GA},99\n{GB},99\n{GC},99\n{GAIA_NOT_FOUND},99\n")
    for name in ("GYROAGE_GAIA_TAP_URL", "GYROAGE_VIZIER_URL", "GYROAGE_MAST_URL"):
        monkeypatch.setenv(name, sky.url)  # the subprocess inherits them
    monkeypatch.setenv("GYROAGE_CACHE_DIR", str(tmp_path / "cache"))
    cm = run_cli("crossmatch", str(ids), "--quiet", "--retries", "1")
    assert cm.returncode == 0, cm.stderr
    est = run_cli("estimate", "-", "--quiet", input=cm.stdout)
    assert est.returncode == 0, est.stderr
    xm = pd.read_csv(_io.StringIO(cm.stdout))
    assert xm["crossmatch_status"].tolist() == ["ok", "ok", "ok", "not_found"]
    assert xm["input_prot"].tolist() == [99] * 4  # the user's own period column cannot shadow ours
    res = pd.read_csv(_io.StringIO(est.stdout))
    assert len(res) == 4 and (res["status"][:3].isin(["ok", "extrapolated"])).all() and res["status"][3] == "invalid_period"
    assert res["crossmatch_status"].tolist() == xm["crossmatch_status"].tolist()  # why, for README's not-ok rows
    assert res["prot"].tolist()[:3] == [12.3, 5.2, 3.3]
    # g0 and parallax_mas reach the main-sequence term: star C ((BP-RP)0 1.6, M_G 6.5) is in its colours, A and B
    # (1.0, 1.15) are bluer than its 1.2
    height = res["ms_height_mag"].tolist()
    assert math.isfinite(height[2]) and all(math.isnan(h) for h in height[:2] + height[3:]), height


def test_crossmatch_failing_in_a_pipe_gives_one_error(tmp_path):
    import shlex
    import subprocess
    import sys

    from tests.conftest import ROOT

    ids = tmp_path / "ids.csv"
    ids.write_text(f"source_id\n{GA}\n")
    gy = f"{shlex.quote(sys.executable)} -m gyroage.cli"
    pipe = (f"set -o pipefail; {gy} crossmatch {shlex.quote(str(ids))} -q --no-cache --retries 1 "
            f"--gaia-url http://127.0.0.1:9 | {gy} estimate - -q; echo \"codes ${{PIPESTATUS[*]}}\"")
    res = subprocess.run(["bash", "-c", pipe], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert res.stderr.count("\n") == 1 and "gaia service at http://127.0.0.1:9 failed" in res.stderr, res.stderr
    assert res.stdout.strip() == "codes 2 3"  # crossmatch's user error; estimate: nothing came through the pipe
    # a header-only table through a pipe is a valid empty table; an empty file given by name is still an error
    assert run_cli("estimate", "-", "-q", input="prot,bp_rp0\n").returncode == 0
    (tmp_path / "empty.csv").write_text("")
    res = run_cli("estimate", str(tmp_path / "empty.csv"), "-q")
    assert res.returncode == 2 and "is empty" in res.stderr


def test_crossmatch_chunks_keep_order(tmp_path, sky):
    src = tmp_path / "ids.csv"
    src.write_text("kic\n" + "\n".join(["1000001", "1000005", "x", "1000001", "42"]) + "\n")
    services = services_for(sky)
    run_crossmatch(src, tmp_path / "o.parquet", services, CrossmatchSettings(), chunksize=2, quiet=True)
    out = pd.read_parquet(tmp_path / "o.parquet")
    assert out["crossmatch_status"].tolist() == ["ok", "ambiguous", "invalid_id", "ok", "not_found"]
    assert out["prot"].tolist()[::3] == [12.3, 12.3]
    assert out["source_id"].tolist()[::3] == [GA, GA]  # exact 19-digit ids in Parquet (nullable int64)


def test_crossmatch_settings_reused_for_two_runs_give_the_same_report(tmp_path, sky, capsys):
    # settings are frozen; counts, far-star count and warnings belong to each run's report
    settings = CrossmatchSettings(extinction="none")
    src = tmp_path / "ids.csv"
    src.write_text(f"source_id\n{GA}\n{GB}\n{GC}\n")
    services = services_for(sky)
    reports, errs = [], []
    for _ in range(2):
        reports.append(run_crossmatch(src, tmp_path / "out.csv", services, settings, quiet=True))
        errs.append(capsys.readouterr().err)
    assert reports[0] == reports[1]
    assert reports[0].counts == {"ok": 3} and reports[0].uncorrected_far == 2 and len(reports[0].messages) == 1
    assert errs[0] == errs[1] and "2 star(s) beyond 100 pc" in errs[1]  # not 4 the second time
    assert settings == CrossmatchSettings(extinction="none")
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.extinction = "gspphot"


def test_crossmatch_input_columns_never_get_a_duplicate_name(tmp_path, sky):
    # 'prot' is renamed input_prot, as README says, and the input's own input_prot moves on to input_input_prot
    src = tmp_path / "ids.csv"
    src.write_text(f"source_id,prot,input_prot\n{GA},99,98\n")
    for name in ("out.csv", "out.parquet"):
        run_crossmatch(src, tmp_path / name, services_for(sky), CrossmatchSettings(), quiet=True)
    header = (tmp_path / "out.csv").read_text().splitlines()[0].split(",")
    assert len(header) == len(set(header))
    assert header[:3] == ["input_source_id", "input_prot", "input_input_prot"]
    assert pd.read_parquet(tmp_path / "out.parquet").columns.tolist() == header
    out = pd.read_csv(tmp_path / "out.csv")
    assert out["input_prot"].tolist() == [99] and out["input_input_prot"].tolist() == [98]
    assert out["prot"].tolist() == [12.3] and out["crossmatch_status"].tolist() == ["ok"]


def test_crossmatch_keeps_an_input_column_that_shares_a_name_with_one_it_writes(tmp_path, sky):
    """A user's own ruwe or parallax_mas was overwritten by Gaia's without a word: both are kept now."""
    src = tmp_path / "ids.csv"
    src.write_text(f"source_id,ruwe,parallax_mas,note\n{GA},7.5,-1,mine\n")
    run_crossmatch(src, tmp_path / "out.csv", services_for(sky), CrossmatchSettings(), quiet=True)
    out = pd.read_csv(tmp_path / "out.csv")
    assert out["input_ruwe"].tolist() == [7.5] and out["input_parallax_mas"].tolist() == [-1]
    assert out["ruwe"].tolist() != [7.5] and out["parallax_mas"].tolist() != [-1]  # Gaia's own values
    assert out["note"].tolist() == ["mine"]  # a name we do not write stays as it is


def test_crossmatch_reads_fits_and_writes_fits(tmp_path, sky):
    """Identifiers from a FITS table (int64, one masked) give what the same CSV gives; -o .fits is FITS."""
    from astropy.table import MaskedColumn, Table

    from gyroage.formats import exact_to_pandas

    ids = [GA, GB, GC, GAIA_NOT_FOUND, 0]
    (tmp_path / "ids.csv").write_text("name,source_id\n" + "".join(f"n{i},{s if s else ''}\n" for i, s in enumerate(ids)))
    Table({"name": [f"n{i}" for i in range(5)],
           "source_id": MaskedColumn(ids, mask=[s == 0 for s in ids])}).write(tmp_path / "ids.fits")
    services = services_for(sky)
    for name in ("ids.csv", "ids.fits"):
        run_crossmatch(tmp_path / name, tmp_path / f"{name}.out.fits", services, CrossmatchSettings(), quiet=True)
    # read back as gyroage reads: astropy < 7's to_pandas takes a masked int64 column through float64
    a, b = (exact_to_pandas(Table.read(tmp_path / f"{n}.out.fits")) for n in ("ids.csv", "ids.fits"))
    assert b["crossmatch_status"].tolist() == a["crossmatch_status"].tolist()
    assert a["crossmatch_status"].tolist()[:4] == [b"ok", b"ok", b"ok", b"not_found"]
    assert b["prot"].tolist()[:3] == a["prot"].tolist()[:3] == [12.3, 5.2, 3.3]
    assert b["source_id"].tolist()[:3] == [GA, GB, GC]


@pytest.mark.parametrize("name", ["out.fits", "out.ecsv"])
def test_crossmatchs_own_columns_carry_the_units_their_names_give(tmp_path, sky, name):
    """Review V63, 9: typed outputs gave a unit to estimate's ages only; crossmatch's parallax_mas,
    parallax_error_mas, phot_g_mean_mag and match_sep_arcsec carried none. An input column keeps none, whatever its
    name (an isochrone's age_p50_myr, once given Myr)."""
    from astropy.table import Table

    (tmp_path / "ids.csv").write_text(f"source_id,age_p50_myr\n{GA},4600\n")
    run_crossmatch(tmp_path / "ids.csv", tmp_path / name, services_for(sky), CrossmatchSettings(), quiet=True)
    back = Table.read(tmp_path / name)
    units = {c: str(back[c].unit) for c in ("parallax_mas", "parallax_error_mas", "phot_g_mean_mag",
                                            "match_sep_arcsec")}
    assert units == {"parallax_mas": "mas", "parallax_error_mas": "mas", "phot_g_mean_mag": "mag",
                     "match_sep_arcsec": "arcsec"}
    assert back["age_p50_myr"].unit is None and back["prot"].unit is None


def test_crossmatch_negative_extinction_column_is_invalid_reddening(tmp_path, sky):
    """A negative E(BP-RP) from column:NAME was subtracted (bp_rp0 = observed + 0.2, status ok); the row now gets
    invalid_reddening and no colour, as estimate does, while valid and empty cells behave as before."""
    rows = f"source_id,ebv\n{GA},-0.2\n{GB},\n{GC},0.1\n"
    out = run_rows(tmp_path, sky, rows, extinction="column:ebv")
    a, c = GAIA[GA], GAIA[GC]
    assert out["crossmatch_status"].tolist()[0] == "invalid_reddening"
    assert math.isnan(out.loc[0, "bp_rp0"]) and math.isnan(out.loc[0, "bp_rp0_err"]) and math.isnan(out.loc[0, "g0"])
    assert math.isnan(out.loc[0, "prot"])
    assert math.isnan(out.loc[0, "ebp_rp"]) and out.loc[0, "input_ebv"] == -0.2  # an E(B-V): not an E(BP-RP)
    assert out.loc[0, "bp_rp_obs"] == pytest.approx(a[3] - a[4], abs=1e-5)
    assert out.loc[1, "ebp_rp_source"] == "none" and out.loc[1, "bp_rp0"] == pytest.approx(out.loc[1, "bp_rp_obs"])
    # an E(B-V) of 0.1: 3.16k x 0.1 of E(BP-RP), as estimate converts it
    from gyroage.core.photometry import R_V, ebprp_per_unit
    assert out.loc[2, "bp_rp0"] == pytest.approx(c[3] - c[4] - ebprp_per_unit(c[3] - c[4], 0.1, R_V)[0] * 0.1, abs=1e-5)
    assert out["crossmatch_status"].tolist()[1:] == run_rows(tmp_path, sky, rows, extinction="none")[
        "crossmatch_status"].tolist()[1:]


def test_crossmatch_reads_a_gz_csv_as_the_plain_one(tmp_path, sky):
    import gzip

    text = f"name,source_id\na,{GA}\nb,{GB}\nbad,abc\n".encode()
    (tmp_path / "ids.csv").write_bytes(text)
    (tmp_path / "ids.csv.gz").write_bytes(gzip.compress(text))
    services = services_for(sky)
    for name, out in (("ids.csv", "ref.csv"), ("ids.csv.gz", "out.csv")):
        run_crossmatch(tmp_path / name, tmp_path / out, services, CrossmatchSettings(), chunksize=2, quiet=True)
    assert (tmp_path / "out.csv").read_bytes() == (tmp_path / "ref.csv").read_bytes()
    assert pd.read_csv(tmp_path / "out.csv")["crossmatch_status"].tolist() == ["ok", "ok", "invalid_id"]


@pytest.mark.parametrize("name", ["out.tsv", "out.tab"])
def test_crossmatch_writes_a_tsv_output_tab_separated(tmp_path, sky, name):
    """-o out.tsv (and out.tab) was comma-separated under its name; it is now what the .csv output is, with tabs."""
    (tmp_path / "ids.csv").write_text(f"name,source_id\na,{GA}\nb,{GB}\nbad,abc\n")
    services = services_for(sky)
    for out in ("ref.csv", name):
        run_crossmatch(tmp_path / "ids.csv", tmp_path / out, services, CrossmatchSettings(), chunksize=2, quiet=True)
    ref = (tmp_path / "ref.csv").read_bytes()
    assert b"\t" not in ref and b"," in ref.splitlines()[0]
    assert (tmp_path / name).read_bytes() == ref.replace(b",", b"\t")


def test_crossmatch_extinction_column_is_never_an_error_column():
    """--extinction column:E(BP-RP) (names compared case-insensitively) took e_BP-RP, the error of BP-RP."""
    settings = CrossmatchSettings(extinction="column:E(BP-RP)")
    assert settings.extinction_for(["source_id", "e_BP-RP", "E(BP-RP)"]).column == "E(BP-RP)"
    assert settings.extinction_for(["source_id", "E_BP_RP"]).column == "E_BP_RP"
    with pytest.raises(UserError, match=re.escape("no column 'E(BP-RP)'")):
        settings.extinction_for(["source_id", "e_BP-RP"])


def test_crossmatch_csv_output_keeps_every_digit_of_a_typed_inputs_columns(tmp_path, sky):
    # a Parquet target list's own ra/dec were written to CSV at 6 significant digits (123.457: 1.8 arcsec off)
    src = tmp_path / "ids.parquet"
    pd.DataFrame({"source_id": [GA, GB], "my_ra": [123.456789012, 359.99991],
                  "my_dec": [-45.1234567, 0.00012345678]}).to_parquet(src, index=False)
    run_crossmatch(src, tmp_path / "out.csv", services_for(sky), CrossmatchSettings(), chunksize=1, quiet=True)
    out = pd.read_csv(tmp_path / "out.csv")
    assert out["my_ra"].tolist() == [123.456789012, 359.99991]
    assert out["my_dec"].tolist() == [-45.1234567, 0.00012345678]


def test_stdout_output_is_held_until_the_run_ends(tmp_path, sky, capsys):
    """`crossmatch | estimate -`: a service failing part-way left the chunks already written on stdout, a shorter
    table that looked complete to the next command. Stdout now gets the whole table at the end, or nothing."""
    from tests.crossmatch.fakesky import replaced_by

    src = tmp_path / "ids.csv"
    src.write_text(f"source_id\n{GA}\n{GB}\n{GC}\n")
    run_crossmatch(src, tmp_path / "out.csv", services_for(sky), CrossmatchSettings(), chunksize=1, quiet=True)
    capsys.readouterr()
    run_crossmatch(src, None, services_for(sky), CrossmatchSettings(), chunksize=1, quiet=True)
    assert capsys.readouterr().out == (tmp_path / "out.csv").read_text()
    # the first chunk's three VizieR queries are answered, then VizieR is down
    sky.mangle["vizier"] = [lambda r: r] * 3 + [replaced_by("down", 500, "text/plain")] * 10
    with pytest.raises(UserError):
        run_crossmatch(src, "-", services_for(sky), CrossmatchSettings(), chunksize=1, quiet=True)
    assert capsys.readouterr().out == ""


def test_a_fifo_or_device_output_is_held_until_the_run_ends_as_stdout_is(tmp_path, sky):
    """`-o /dev/stdout` (or a named pipe) still streamed each chunk: a service failing part-way left a shorter
    table the reader took as whole. AtomicWriter's hold spools it as it spools stdout: all at the end, or nothing."""
    import os

    from tests.crossmatch.fakesky import replaced_by

    src = tmp_path / "ids.csv"
    src.write_text(f"source_id\n{GA}\n{GB}\n{GC}\n")
    run_crossmatch(src, tmp_path / "out.csv", services_for(sky), CrossmatchSettings(), chunksize=1, quiet=True)
    fifo = tmp_path / "pipe"

    def through_fifo(fail: bool) -> str:
        os.mkfifo(fifo)
        # the reader's end opened first (non-blocking): the writer's open never waits, and the pipe holds the
        # small table until it is read
        rfd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
        try:
            if fail:  # the first chunk's three VizieR queries are answered, then VizieR is down
                sky.mangle["vizier"] = [lambda r: r] * 3 + [replaced_by("down", 500, "text/plain")] * 10
                with pytest.raises(UserError):
                    run_crossmatch(src, fifo, services_for(sky), CrossmatchSettings(), chunksize=1, quiet=True)
            else:
                run_crossmatch(src, fifo, services_for(sky), CrossmatchSettings(), chunksize=1, quiet=True)
            try:
                return os.read(rfd, 1 << 20).decode()
            except BlockingIOError:  # a writer that opened and left nothing
                return ""
        finally:
            os.close(rfd)
            fifo.unlink()

    assert through_fifo(False) == (tmp_path / "out.csv").read_text()
    assert through_fifo(True) == ""


def test_a_failed_rerun_keeps_the_previous_output(tmp_path, sky):
    """README: readers see the old target or the complete new one. A rerun into the same output whose VizieR
    answers 500 after the first chunk (written into the temporary file by then) stops and leaves out.csv as it was."""
    src = tmp_path / "ids.csv"
    src.write_text(f"source_id\n{GA}\n{GB}\n{GC}\n")
    out = tmp_path / "out.csv"
    run_crossmatch(src, out, services_for(sky), CrossmatchSettings(), chunksize=1, quiet=True)
    before = out.read_bytes()
    assert len(before.splitlines()) == 4
    sky.mangle["vizier"] = [lambda r: r] * 3 + [replaced_by("down", 500, "text/plain")] * 10
    with pytest.raises(UserError):
        run_crossmatch(src, out, services_for(sky), CrossmatchSettings(), chunksize=1, quiet=True)
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ids.csv", "out.csv"]  # no temporary file left


def test_a_source_without_bp_rp_is_no_colour(tmp_path, sky):
    """README's crossmatch statuses: matched, but Gaia DR3 has no BP or RP photometry, is no_colour (never
    produced by a test before); the row keeps its period and gets no colour, and estimate would not date it."""
    out = run_rows(tmp_path, sky, f"name,source_id\na,{GA}\ne,{GE}\n")
    assert out["crossmatch_status"].tolist() == ["ok", "no_colour"]
    assert out.loc[1, "source_id"] == GE and out.loc[1, "prot_gaiadr3_days"] == 4.2
    assert math.isnan(out.loc[1, "bp_rp0"])


def test_crossmatch_holds_its_output_as_estimate_does(tmp_path, sky):
    """Review V5 #8a: crossmatch wrote without the output's lock: a killed run's temporary files stayed beside its
    output, and a second run into the same -o went ahead. A killed run's are removed now, and a second run refused."""
    from tests.test_output_files import hold_lock

    stale = tmp_path / ".out.csv.gyroage-abcd1234.part"
    stale.write_text("a killed run's rows")
    run_rows(tmp_path, sky, f"source_id\n{GA}\n")
    assert not stale.exists()
    holder = hold_lock(tmp_path / "out.csv")
    try:
        with pytest.raises(UserError, match=r"^another gyroage run is writing .*out\.csv$"):
            run_rows(tmp_path, sky, f"source_id\n{GB}\n")
    finally:
        holder.communicate("")


def _exact_rows(tmp_path, sky, rows: str, **settings) -> pd.DataFrame:
    """run_rows into Parquet: every digit of the floats (the CSV output keeps 6)."""
    (tmp_path / "ids.csv").write_text(rows)
    run_crossmatch(tmp_path / "ids.csv", tmp_path / "out.parquet", services_for(sky), CrossmatchSettings(**settings),
                   quiet=True)
    return pd.read_parquet(tmp_path / "out.parquet")


@pytest.mark.parametrize("name, value", [("av", 0.62), ("A_V", 0.62), ("ebv", 0.2), ("E(B-V)", 0.2)])
def test_crossmatch_extinction_column_converts_av_and_ebv_as_estimate_does(tmp_path, sky, name, value):
    """--extinction column:av (or ebv) subtracted the column as an E(BP-RP) whatever it held: A_V 0.62 took 0.62 mag
    off BP-RP, where estimate (k x A_V, 3.16k x E(B-V), the Gaia EDR3 law) takes about 0.26; bp_rp0 is now estimate's,
    to the last digit, for the same observed colour and column."""
    from gyroage.core.colours import input_colours
    from gyroage.io import match_columns

    rows = f"source_id,{name}\n{GA},{value}\n{GB},\n{GC},{value}\n"
    out = _exact_rows(tmp_path, sky, rows, extinction=f"column:{name}")
    frame = pd.DataFrame({"bp_rp": out["bp_rp_obs"], name: [value, math.nan, value]})
    want = input_colours(frame, match_columns(frame.columns)).bp_rp0
    assert out.loc[[0, 2], "bp_rp0"].tolist() == want[[0, 2]].tolist()
    assert out["ebp_rp"].tolist()[0] == pytest.approx(out.loc[0, "bp_rp_obs"] - want[0], abs=1e-12)
    assert 0.2 < out.loc[0, "ebp_rp"] < 0.3  # A_V 0.62 or E(B-V) 0.2: about 0.26 mag of E(BP-RP)
    assert out.loc[1, "bp_rp0"] == out.loc[1, "bp_rp_obs"] and out.loc[1, "ebp_rp_source"] == "none"


def test_crossmatch_extinction_column_of_unknown_role_is_an_ebprp(tmp_path, sky):
    """A column whose name says no reddening gyroage knows (my_red) is subtracted as E(BP-RP), as the README says."""
    out = _exact_rows(tmp_path, sky, f"source_id,my_red\n{GA},0.2\n", extinction="column:my_red")
    assert out.loc[0, "bp_rp0"] == out.loc[0, "bp_rp_obs"] - 0.2


@pytest.mark.parametrize("extinction", ["gspphot", "none"])
def test_crossmatch_says_which_input_reddenings_it_sets_aside(tmp_path, sky, capsys, extinction):
    """Under gspphot (or none) the input's av and E(B-V) columns were renamed input_av, input_E(B-V) and never used,
    without a word: one line (printed under -q too, as crossmatch's warnings are) now names them and the option
    that uses one."""
    rows = f"source_id,av,E(B-V),e_av\n{GA},0.62,0.2,0.05\n{GB},0.1,,\n"
    out = run_rows(tmp_path, sky, rows, extinction=extinction)
    assert {"input_av", "input_E(B-V)"} <= set(out.columns)
    lines = [line for line in capsys.readouterr().err.splitlines() if "input_av" in line]
    assert len(lines) == 1, lines
    assert lines[0].startswith("crossmatch: note: ") and "'av' (as input_av), 'E(B-V)' (as input_E(B-V))" in lines[0]
    assert f"--extinction {extinction}" in lines[0] and "--extinction column:NAME" in lines[0]
    run_rows(tmp_path, sky, rows, extinction="column:av")  # the column is used: nothing to say
    assert "input_av" not in capsys.readouterr().err


def test_crossmatch_keeps_the_observed_colour_of_stars_within_100_pc(tmp_path, sky, capsys, monkeypatch):
    """GSP-Phot's E(BP-RP) was subtracted for stars inside the Local Bubble, where it is biased high (A0 >= 0 prior)
    and the true reddening is about 0: a K dwarf at 40 pc with 0.08 got bp_rp0 1.12 for an observed 1.20. Under
    gspphot a star within 100 pc now keeps its observed colour and G, its ebp_rp_source says why, and the run's
    summary line counts such stars; farther stars are corrected as before."""
    from tests.crossmatch import fakesky

    c = list(GAIA[GC])
    c[7], c[9:12] = 25.0, [0.08, 0.06, 0.10]  # 40 pc, GSP-Phot E(BP-RP) 0.08 (0.06-0.10)
    monkeypatch.setitem(fakesky.GAIA, GC, tuple(c))
    (tmp_path / "ids.csv").write_text(f"source_id\n{GA}\n{GC}\n{GD}\n")
    run_crossmatch(tmp_path / "ids.csv", tmp_path / "out.parquet", services_for(sky), CrossmatchSettings())
    out = pd.read_parquet(tmp_path / "out.parquet")
    assert out["ebp_rp_source"].tolist() == ["gspphot", "none_within_100pc", "none"]
    assert out.loc[1, "bp_rp0"] == out.loc[1, "bp_rp_obs"] and out.loc[1, "g0"] == c[2]
    assert math.isnan(out.loc[1, "ebp_rp"])  # nothing subtracted, as for none
    assert out.loc[1, "bp_rp0_err"] == pytest.approx(math.hypot(1.0857362 / c[5], 1.0857362 / c[6]), rel=1e-6)
    a = GAIA[GA]
    assert out.loc[0, "bp_rp0"] == pytest.approx(a[3] - a[4] - a[9], abs=1e-12)  # 500 pc: corrected
    err = capsys.readouterr().err
    assert err.count("1 star(s) within 100 pc") == 1 and "kept the observed colour" in err, err  # said once
    assert "1 star(s) beyond 100 pc" in err  # D, at 200 pc without GSP-Phot: still warned of
    out = run_rows(tmp_path, sky, f"source_id\n{GC}\n", extinction="none")  # none: nothing to keep from
    assert out["ebp_rp_source"].tolist() == ["none"]


def test_crossmatch_g0_takes_a_g_from_gspphot_or_the_edr3_law(tmp_path, sky):
    """g0 took A_G = 1.91 E(BP-RP) at every colour (Wang & Chen 2019's constant law), 0.09 mag too bright for a
    reddened M dwarf. Under gspphot it now takes GSP-Phot's own ag_gspphot; an A_V or E(B-V) column takes the EDR3
    law's k_G A_0 at the star's colour; an E(BP-RP) column, and GSP-Phot without ag_gspphot, the same law's k_G A_0
    of the A_0 that gives that E(BP-RP) (1.91 E(BP-RP) until the next change)."""
    from gyroage.core.photometry import AG_PER_EBPRP, a0_of_ebprp, a_g_per_a0
    from tests.crossmatch.fakesky import AG_GSPPHOT

    a, b = GAIA[GA], GAIA[GB]
    out = _exact_rows(tmp_path, sky, f"source_id\n{GA}\n{GB}\n")
    assert out.loc[0, "g0"] == a[2] - AG_GSPPHOT[GA]
    assert GB not in AG_GSPPHOT  # without ag_gspphot: the EDR3 law's A_G of the A_0 behind GSP-Phot's E(BP-RP)
    a0 = a0_of_ebprp(out.loc[1, "bp_rp0"], b[9])
    assert out.loc[1, "g0"] == b[2] - a_g_per_a0(out.loc[1, "bp_rp0"], a0) * a0
    assert abs(b[2] - out.loc[1, "g0"] - AG_PER_EBPRP * b[9]) > 0.005  # no longer the constant 1.91
    for name in ("av", "ebv"):
        out = _exact_rows(tmp_path, sky, f"source_id,{name}\n{GA},0.3\n", extinction=f"column:{name}")
        a0 = 0.3 * (1.0 if name == "av" else 3.16)
        assert out.loc[0, "g0"] == a[2] - a_g_per_a0(out.loc[0, "bp_rp0"], a0) * a0
    out = _exact_rows(tmp_path, sky, f"source_id,my_red\n{GA},0.2\n", extinction="column:my_red")
    a0 = a0_of_ebprp(out.loc[0, "bp_rp0"], 0.2)
    assert out.loc[0, "g0"] == a[2] - a_g_per_a0(out.loc[0, "bp_rp0"], a0) * a0


def test_crossmatch_g0_is_one_for_either_form_of_one_reddening(tmp_path, sky):
    """column:av 0.62 and column:ebprp 0.2575 (the E(BP-RP) that A_V leaves) gave one bp_rp0 but g0 11.4704 against
    11.5080: an E(BP-RP) took A_G = 1.91 E(BP-RP). Its A_0 is now solved through the EDR3 law at the intrinsic colour
    (photometry.a0_of_ebprp) and A_G is k_G A_0, as for the A_V: one g0."""
    av = _exact_rows(tmp_path, sky, f"source_id,av\n{GA},0.62\n{GB},1.5\n", extinction="column:av")
    e = av["ebp_rp"].tolist()
    out = _exact_rows(tmp_path, sky, f"source_id,ebprp\n{GA},{e[0]!r}\n{GB},{e[1]!r}\n", extinction="column:ebprp")
    assert out["bp_rp0"].tolist() == av["bp_rp0"].tolist()
    # to 1e-6 mag: the A_V's E(BP-RP) is deredden's, whose last step leaves it 4e-7 mag off its own A_0 at A_V 1.5
    assert out["g0"].to_numpy() == pytest.approx(av["g0"].to_numpy(), abs=1e-6)
    assert out.loc[0, "g0"] == pytest.approx(av.loc[0, "g0"], abs=1e-9)


def test_crossmatch_extinction_column_keeps_its_error_as_estimate_reads_it(tmp_path, sky):
    """--extinction column:av dropped av_err (renamed input_av_err and never read): bp_rp0_err was the photometric
    0.0026 and crossmatch | estimate dated the star with a 2.5% bound of 38 Myr, where estimate on the same colour with
    av/av_err gave 5.5 Myr. The error is now converted as the value is (k x A_V) and written as ebp_rp_err, which
    estimate reads beside bp_rp0 as it reads av_err beside bp_rp: the same bp_rp0_err_used and ages, every digit."""
    import numpy as np

    from gyroage.core.modelcard import load_card
    from gyroage.core.stars import fill_colour_err

    (tmp_path / "ids.csv").write_text(f"source_id,av,av_err\n{GA},0.62,0.30\n{GB},0.2,\n")
    run_crossmatch(tmp_path / "ids.csv", tmp_path / "xm.parquet", services_for(sky),
                   CrossmatchSettings(extinction="column:av"), quiet=True)
    xm = pd.read_parquet(tmp_path / "xm.parquet")
    assert 0.1 < xm.loc[0, "ebp_rp_err"] < 0.15 and math.isnan(xm.loc[1, "ebp_rp_err"])
    direct = xm.drop(columns=["bp_rp0", "bp_rp0_err", "ebp_rp", "ebp_rp_err", "input_av", "input_av_err"]).assign(
        bp_rp=xm["bp_rp_obs"], bp_rp_err=xm["bp_rp0_err"], av=[0.62, 0.2], av_err=[0.30, math.nan])
    direct.to_parquet(tmp_path / "direct.parquet")
    for name in ("xm", "direct"):
        res = run_cli("estimate", str(tmp_path / f"{name}.parquet"), "-q", "-o", str(tmp_path / f"{name}.est.parquet"))
        assert res.returncode == 0, res.stderr
    a, b = (pd.read_parquet(tmp_path / f"{n}.est.parquet") for n in ("xm", "direct"))
    assert a["status"].tolist() == b["status"].tolist() and a["status"].isin(["ok", "extrapolated"]).all()
    for col in ("age_p2.5_myr", "age_p16_myr", "age_p50_myr", "age_p84_myr", "age_p97.5_myr", "age_map_myr",
                "p_outlier", "age_flags"):
        assert a[col].tolist() == b[col].tolist(), col
    assert xm["bp_rp0"].tolist() == b["bp_rp0_used"].tolist() and xm["ebp_rp"].tolist() == b["ebprp_used"].tolist()
    assert xm.loc[0, "ebp_rp_err"] == b.loc[0, "ebprp_err_used"]
    # estimate's bp_rp0_err_used: the colour's error as the flow takes it, with the reddening's in quadrature
    card, _ = load_card()
    used = np.hypot(fill_colour_err(xm["bp_rp0_err"].to_numpy(), card), np.nan_to_num(xm["ebp_rp_err"].to_numpy()))
    assert used.tolist() == b["bp_rp0_err_used"].tolist() and 0.12 < used[0] < 0.13
    # an error given but not a number >= 0 is refused as estimate refuses it: invalid_reddening
    rows = f"source_id,av,e_av\n{GA},0.62,-0.1\n{GB},0.62,abc\n{GC},0.62,0.1\n"
    out = _exact_rows(tmp_path, sky, rows, extinction="column:av")
    assert out["crossmatch_status"].tolist() == ["invalid_reddening", "invalid_reddening", "ok"]


def test_crossmatch_gspphot_error_is_a_reddening_error_as_estimate_reads_one(tmp_path, sky, monkeypatch):
    """GSP-Phot's E(BP-RP) half-interval was folded into bp_rp0_err, of which estimate takes only the part above the
    card's default colour error (0.0275 mag, already in the flow), so it widened no age. It is now ebp_rp_err, read
    by estimate as a reddening error in full, as a column's error is: crossmatch | estimate gives estimate's ages on
    the observed colour with ebprp and ebprp_err, every digit. The half-interval is 0.15 mag here: the fake's 0.02
    lies within the grid's one-node colour tier, where the ages are the same with or without it, so the check that
    ebp_rp_err is read (the ages differ without it) could not fail."""
    from tests.crossmatch import fakesky

    a = list(GAIA[GA])
    a[9:12] = [0.10, 0.0, 0.30]  # GSP-Phot E(BP-RP) 0.10, 16-84% interval 0.0-0.30: half-interval 0.15 mag
    monkeypatch.setitem(fakesky.GAIA, GA, tuple(a))
    run_crossmatch_to = tmp_path / "xm.parquet"
    (tmp_path / "ids.csv").write_text(f"source_id\n{GA}\n")
    run_crossmatch(tmp_path / "ids.csv", run_crossmatch_to, services_for(sky), CrossmatchSettings(), quiet=True)
    xm = pd.read_parquet(run_crossmatch_to)
    assert xm.loc[0, "ebp_rp_err"] == pytest.approx((a[11] - a[10]) / 2, rel=1e-6)
    direct = xm.drop(columns=["bp_rp0", "bp_rp0_err", "ebp_rp", "ebp_rp_err"]).assign(
        bp_rp=xm["bp_rp_obs"], bp_rp_err=xm["bp_rp0_err"], ebprp=xm["ebp_rp"], ebprp_err=xm["ebp_rp_err"])
    direct.to_parquet(tmp_path / "direct.parquet")
    xm.drop(columns=["ebp_rp_err"]).to_parquet(tmp_path / "unread.parquet")  # as if ebp_rp_err were not read
    for name in ("xm", "direct", "unread"):
        res = run_cli("estimate", str(tmp_path / f"{name}.parquet"), "-q", "-o", str(tmp_path / f"{name}.est.parquet"))
        assert res.returncode == 0, res.stderr
    x, d, u = (pd.read_parquet(tmp_path / f"{n}.est.parquet") for n in ("xm", "direct", "unread"))
    assert x["status"].tolist() == d["status"].tolist() and x.loc[0, "status"] in ("ok", "extrapolated")
    ages = ["age_p2.5_myr", "age_p16_myr", "age_p50_myr", "age_p84_myr", "age_p97.5_myr"]
    for col in (*ages, "p_outlier", "age_flags"):
        assert x[col].tolist() == d[col].tolist(), col
    assert d.loc[0, "ebprp_err_used"] == pytest.approx(0.15)  # the reddening error both runs read, in full
    assert x[ages].values.tolist() != u[ages].values.tolist()  # and it widens the ages: ebp_rp_err is read


def test_crossmatch_extinction_column_takes_an_explicit_kind(tmp_path, sky):
    """column:Av_SFD (a name gyroage does not read as an A_V) was subtracted as E(BP-RP), 2.4x too much for an A_V;
    column:NAME:av|ebv|ebprp (any case) now says what it holds, converted as that kind, its error (e_NAME or
    NAME_err) with it."""
    ref = _exact_rows(tmp_path, sky, f"source_id,av,av_err\n{GA},0.62,0.3\n", extinction="column:av")
    out = _exact_rows(tmp_path, sky, f"source_id,Av_SFD,e_Av_SFD\n{GA},0.62,0.3\n", extinction="column:Av_SFD:AV")
    for col in ("bp_rp0", "bp_rp0_err", "ebp_rp", "ebp_rp_err", "g0", "crossmatch_status"):
        assert out[col].tolist() == ref[col].tolist(), col
    assert out.loc[0, "ebp_rp_source"] == "column:Av_SFD"
    ref = _exact_rows(tmp_path, sky, f"source_id,ebv\n{GA},0.2\n", extinction="column:ebv")
    out = _exact_rows(tmp_path, sky, f"source_id,ebv_sfd\n{GA},0.2\n", extinction="column:ebv_sfd:ebv")
    assert out["bp_rp0"].tolist() == ref["bp_rp0"].tolist() and out["g0"].tolist() == ref["g0"].tolist()
    out = _exact_rows(tmp_path, sky, f"source_id,av\n{GA},0.2\n", extinction="column:av:ebprp")  # the kind wins
    assert out.loc[0, "bp_rp0"] == out.loc[0, "bp_rp_obs"] - 0.2


def test_crossmatch_says_how_it_reads_a_reddening_column_of_unknown_role(tmp_path, sky, capsys):
    """An unknown name (A_V_bayestar) was taken as E(BP-RP) without a word: one line on stderr now says so and how
    to say otherwise, under -q too; a known name or a kind given says nothing."""
    run_rows(tmp_path, sky, f"source_id,A_V_bayestar\n{GA},0.3\n{GB},0.1\n", extinction="column:A_V_bayestar")
    lines = [x for x in capsys.readouterr().err.splitlines() if "A_V_bayestar" in x and "is not named as" in x]
    assert len(lines) == 1 and lines[0].startswith("crossmatch: note: ") and "as E(BP-RP)" in lines[0], lines
    assert "--extinction column:A_V_bayestar:av" in lines[0]
    for extinction in ("column:A_V_bayestar:av", "column:A_V_bayestar:ebprp"):
        run_rows(tmp_path, sky, f"source_id,A_V_bayestar\n{GA},0.3\n", extinction=extinction)
        assert "is not named as" not in capsys.readouterr().err


@pytest.mark.parametrize("columns, name", [("av,av_err", "av_err"), ("ebv,e_ebv", "e_ebv"),
                                           ("e_BP-RP,E_BP-RP", "E_BP-RP"), ("Av_SFD,e_Av_SFD", "e_Av_SFD")])
def test_crossmatch_refuses_an_error_column_as_the_reddening(tmp_path, sky, columns, name):
    """column:av_err was subtracted as a reddening (0.30 mag of E(BP-RP) for an A_V's error): a name whose role is
    an error column is now refused in one line, before any query."""
    (tmp_path / "ids.csv").write_text(f"source_id,{columns}\n{GA},0.3,0.1\n")
    with pytest.raises(UserError, match=rf"^--extinction column:{re.escape(name)}: '{re.escape(name)}' is an error "
                                        r"column, not a reddening"):
        run_crossmatch(tmp_path / "ids.csv", tmp_path / "out.csv", services_for(sky),
                       CrossmatchSettings(extinction=f"column:{name}"), quiet=True)
    assert sky.log == [] and not (tmp_path / "out.csv").exists()


@pytest.mark.parametrize("column, shown", [("ebprp", -0.2), ("E(B-V)", None), ("av", None), ("A_V_sfd:av", None),
                                           ("my_red", -0.2)])
def test_crossmatch_ebp_rp_is_an_e_bp_rp_on_invalid_rows_too(tmp_path, sky, column, shown):
    """An invalid_reddening row's ebp_rp showed an A_V or E(B-V) as given (-0.62 of A_V) beside the converted
    E(BP-RP)s of valid rows: ebp_rp now holds E(BP-RP)s only, a negative E(BP-RP) as given (the row's reason), and is
    empty where the column holds an A_V or E(B-V), whose value stays in its own column."""
    name = column.split(":")[0]
    out = _exact_rows(tmp_path, sky, f"source_id,{name}\n{GA},-0.2\n{GB},0.2\n", extinction=f"column:{column}")
    assert out["crossmatch_status"].tolist() == ["invalid_reddening", "ok"]
    assert (math.isnan(out.loc[0, "ebp_rp"]) if shown is None else out.loc[0, "ebp_rp"] == shown)
    assert out.loc[1, "ebp_rp"] == pytest.approx(out.loc[1, "bp_rp_obs"] - out.loc[1, "bp_rp0"], abs=1e-12)


def test_crossmatch_counts_the_stars_within_100_pc_under_quiet_too(tmp_path, sky, monkeypatch, capsys):
    """Under -q only the far stars' count was said; the stars within 100 pc whose GSP-Phot E(BP-RP) was not subtracted
    were counted only in the progress summary, which -q silences. Both counts now go the same warning way."""
    from tests.crossmatch import fakesky

    c = list(GAIA[GC])
    c[9:12] = [0.08, 0.06, 0.10]  # at 50 pc, with a GSP-Phot E(BP-RP)
    monkeypatch.setitem(fakesky.GAIA, GC, tuple(c))
    run_rows(tmp_path, sky, f"source_id\n{GC}\n{GD}\n")  # quiet
    err = capsys.readouterr().err.splitlines()
    assert any(x.startswith("crossmatch: ") and "1 star(s) within 100 pc" in x and "none_within_100pc" in x
               for x in err), err
    assert any("1 star(s) beyond 100 pc" in x for x in err), err


@pytest.mark.parametrize("header, extinction, error", [
    ("A_V,e_A_V,A0,e_A0", "column:A0", "e_A0"),
    ("ebv,e_ebv,ebmv,e_ebmv", "column:ebmv", "e_ebmv"),
    ("A0,e_A0,A_V,e_A_V", "column:A_V", "e_A_V"),
    ("Av_SFD,sigma_Av_SFD,av,e_av", "column:Av_SFD:av", "sigma_Av_SFD"),  # the role's spelling, built on NAME
    ("A0,e_av", "column:A0", "e_av"),  # NAME the role's only value column: the role's error is its own
    ("av,A0,e_A0", "column:av", None),  # e_A0 is A0's, not av's (estimate pairs it with av: first av_err)
    ("ebv_sfd,ebv,e_ebv", "column:ebv_sfd:ebv", None),  # e_ebv is ebv's
])
def test_crossmatch_extinction_error_is_the_named_columns_own(header, extinction, error):
    """The reddening's error was the ROLE's first error column, not NAME's: with A_V,e_A_V,A0,e_A0 and column:A0,
    A0 took e_A_V's 0.02 for its own 0.3 (p2.5 38 Myr against estimate's own 5.5 Myr on A0 and e_A0). NAME's own
    error (e_NAME, NAME_err, NAME_error, the reddening errors' spellings built on NAME) is now taken first, the
    role's only when NAME is the role's only value column; otherwise none (and a note says why)."""
    assert CrossmatchSettings(extinction=extinction).extinction_for(header.split(",")).error == error


def test_crossmatch_extinction_error_of_a_second_av_column_dates_as_that_column_alone(tmp_path, sky, capsys):
    """Beside A_V and e_A_V, column:A0 gives what A0 and e_A0 alone give: its own error converted, every digit."""
    both = _exact_rows(tmp_path, sky, f"source_id,A_V,e_A_V,A0,e_A0\n{GA},0.3,0.02,0.62,0.3\n", extinction="column:A0")
    alone = _exact_rows(tmp_path, sky, f"source_id,A0,e_A0\n{GA},0.62,0.3\n", extinction="column:A0")
    for col in ("bp_rp0", "bp_rp0_err", "ebp_rp", "ebp_rp_err", "g0", "crossmatch_status"):
        assert both[col].tolist() == alone[col].tolist(), col
    assert 0.1 < both.loc[0, "ebp_rp_err"] < 0.15  # 0.3 of A_V, not 0.02
    run_rows(tmp_path, sky, f"source_id,av,A0,e_A0\n{GA},0.62,0.3,0.1\n", extinction="column:av")
    lines = [x for x in capsys.readouterr().err.splitlines() if "e_A0" in x and "column:av:" in x]
    assert len(lines) == 1 and lines[0].startswith("crossmatch: note: --extinction column:av: ") and "'A0'" in lines[0]


@pytest.mark.parametrize("columns, name", [
    ("Av_SFD,Av_SFD_err", "Av_SFD_err"), ("Av_SFD,Av_SFD_err", "Av_SFD_err:av"), ("Av_SFD,AV_SFD_ERROR", "AV_SFD_ERROR"),
    ("Av_SFD,Av_SFD_unc", "Av_SFD_unc"), ("Av_SFD,sig_Av_SFD", "sig_Av_SFD:ebprp"), ("my_red,sigma_my_red", "sigma_my_red"),
    ("Av_SFD,Av_SFD_e", "Av_SFD_e:AV"),
    ("Av_SFD,e_Av_SFD,E_Av_SFD", "E_Av_SFD"), ("Av_SFD,e_Av_SFD,E_Av_SFD", "E_Av_SFD:av"),  # VizieR's upper error
])
def test_crossmatch_refuses_an_error_of_any_input_column_as_the_reddening(tmp_path, sky, columns, name):
    """Error columns of names gyroage does not read (Av_SFD_err, Av_SFD_unc, E_Av_SFD beside e_Av_SFD) were
    subtracted as reddenings when named (bp_rp0 0.1-0.25 mag off): a NAME that is X_err, X_error, X_unc, e_X, sig_X,
    sigma_X (...) of another input column X, or E_X beside e_X, is now refused in one line, before any query."""
    n = columns.count(",") + 1
    (tmp_path / "ids.csv").write_text(f"source_id,{columns}\n{GA}," + ",".join(["0.3"] * n) + "\n")
    col = name.rsplit(":", 1)[0] if name.lower().endswith((":av", ":ebprp")) else name
    with pytest.raises(UserError, match=rf"^--extinction column:{re.escape(name)}: '{re.escape(col)}' is an error "
                                        r"column, not a reddening \(by its name, (an error of|the upper error beside) '[^']+'\)"):
        run_crossmatch(tmp_path / "ids.csv", tmp_path / "out.csv", services_for(sky),
                       CrossmatchSettings(extinction=f"column:{name}"), quiet=True)
    assert sky.log == [] and not (tmp_path / "out.csv").exists()


@pytest.mark.parametrize("columns, name", [("ebv,ebv_sfd", "ebv_sfd"), ("Av_SFD,E_Av_SFD", "E_Av_SFD"),
                                           ("Av_SFD_err", "Av_SFD_err"), ("E_BP_RP,BP_RP", "E_BP_RP")])
def test_crossmatch_takes_a_reddening_named_like_no_error_of_another_column(columns, name):
    """Not refused: a suffix that is no error's (ebv_sfd), E_X without e_X (a reddening E(X)), X_err without X."""
    settings = CrossmatchSettings(extinction=f"column:{name}")
    assert settings.extinction_for(["source_id", *columns.split(",")]).column == name


@pytest.mark.parametrize("header, extinction, said", [
    ("Av_SFD,sig_Av_SFD", "column:Av_SFD:av", ["no error column for 'Av_SFD'", "e_Av_SFD, Av_SFD_err",
                                                "'sig_Av_SFD' is not read as its error"]),
    ("Av_SFD,Av_SFD_unc", "column:Av_SFD:av", ["no error column for 'Av_SFD'", "'Av_SFD_unc' is not read"]),
    ("my_red,x", "column:my_red", ["no error column for 'my_red'", "e_my_red, my_red_err, my_red_error"]),
    ("av,av_err", "column:av", ["the error of 'av' is 'av_err'"]),
    ("Av_SFD,e_Av_SFD", "column:Av_SFD:av", ["the error of 'Av_SFD' is 'e_Av_SFD'"]),
])
def test_crossmatch_says_which_error_column_it_pairs_with_the_reddening(tmp_path, sky, capsys, header, extinction,
                                                                        said):
    """An error column spelt otherwise (sig_Av_SFD, Av_SFD_unc) was dropped without a word, and ebp_rp_err left
    empty: one note line (under -q too) now names the error column paired with NAME, or says none was found, which
    spellings are read, and which column looks like its error but is not read."""
    run_rows(tmp_path, sky, f"source_id,{header}\n{GA},0.62,0.3\n", extinction=extinction)  # quiet
    name = extinction.split(":")[1]
    lines = [x for x in capsys.readouterr().err.splitlines() if f"'{name}'" in x and "error" in x]
    assert len(lines) == 1 and lines[0].startswith(f"crossmatch: note: --extinction {extinction}: "), lines
    assert all(part in lines[0] for part in said), lines[0]


def test_crossmatch_extinction_column_whose_name_holds_a_colon(tmp_path, sky):
    """--extinction column:x:av with a column literally named 'x:av' stopped with "no column 'x'" and no hint: the
    whole rest is now the name when NAME is no column but NAME:KIND is one (NAME wins when both are), and a name
    found neither way is refused saying how it was read."""
    settings = CrossmatchSettings(extinction="column:x:av")
    assert settings.extinction_for(["source_id", "x:av"]).column == "x:av"
    ext = settings.extinction_for(["source_id", "x:av"])
    assert (ext.a0_per, ext.known) == (None, False)  # no kind: read as E(BP-RP), with a note
    assert settings.extinction_for(["source_id", "x", "x:av"]).column == "x"
    ext = settings.extinction_for(["source_id", "x", "x:av"])
    assert (ext.a0_per, ext.known) == (1.0, True)
    with pytest.raises(UserError, match=r"^--extinction column:x:av: no column 'x' \(column:NAME:KIND read as NAME "
                                        r"'x', KIND av\), nor 'x:av', in the input$"):
        settings.extinction_for(["source_id", "y"])
    out = run_rows(tmp_path, sky, f"source_id,x:av\n{GA},0.2\n", extinction="column:x:av")
    assert out.loc[0, "bp_rp0"] == pytest.approx(out.loc[0, "bp_rp_obs"] - 0.2)
    assert out.loc[0, "ebp_rp_source"] == "column:x:av"


def test_crossmatch_csv_output_gives_estimate_the_parquet_outputs_ages(tmp_path, sky, monkeypatch):
    """Through CSV crossmatch wrote 6 significant digits of bp_rp0, ebp_rp_err, g0 and the parallax, so estimate's
    ages moved in the 5th digit (p16 8.52912 against 8.52936 through Parquet): those columns are now written with
    every digit, so crossmatch | estimate gives the ages of the Parquet route, every digit."""
    from tests.crossmatch import fakesky

    a = list(GAIA[GA])
    a[2:5], a[7] = [12.0123456789, 12.5123456789, 11.4012345678], 2.123456789  # digits beyond the 6th
    monkeypatch.setitem(fakesky.GAIA, GA, tuple(a))
    (tmp_path / "ids.csv").write_text(f"source_id,av,av_err\n{GA},0.62,0.3\n{GB},0.3,0.1\n{GC},0.1,0.05\n")
    ages = []
    for name in ("xm.csv", "xm.parquet"):
        run_crossmatch(tmp_path / "ids.csv", tmp_path / name, services_for(sky),
                       CrossmatchSettings(extinction="column:av"), quiet=True)
        res = run_cli("estimate", str(tmp_path / name), "-q", "-o", str(tmp_path / f"{name}.est.parquet"))
        assert res.returncode == 0, res.stderr
        ages.append(pd.read_parquet(tmp_path / f"{name}.est.parquet"))
    assert ages[0]["ms_height_mag"].notna().any()  # g0 and the parallax are read
    for col in ("age_p2.5_myr", "age_p16_myr", "age_p50_myr", "age_p84_myr", "age_p97.5_myr", "age_map_myr",
                "p_outlier", "ms_height_mag", "status"):
        assert ages[0][col].equals(ages[1][col]), col  # every bit (NaN where NaN)


def test_crossmatch_works_out_the_extinction_once_a_run(tmp_path, sky, monkeypatch, capsys):
    """Each chunk worked the --extinction column, its error and its kind out again from the same header: now once a
    run (CrossmatchSettings.extinction_for), handed to every chunk, with the same notes said once."""
    calls = []
    real = CrossmatchSettings.extinction_for
    monkeypatch.setattr(CrossmatchSettings, "extinction_for", lambda self, cols: calls.append(cols) or real(self, cols))
    src = tmp_path / "ids.csv"
    src.write_text(f"source_id,my_red\n{GA},0.1\n{GB},0.2\n{GC},0.3\n")
    run_crossmatch(src, tmp_path / "out.csv", services_for(sky), CrossmatchSettings(extinction="column:my_red"),
                   chunksize=1, quiet=True)
    assert len(calls) == 1
    notes = [x for x in capsys.readouterr().err.splitlines() if "my_red" in x]
    assert len(notes) == 2, notes  # no error column; not named as a reddening gyroage reads


def test_crossmatch_reddening_kinds_are_estimates():
    """crossmatch restated estimate's reddening kinds (A_0 per unit) in two tables of its own: now derived from
    gyroage.core.colours.REDDENINGS, one entry per kind, with a label for each."""
    from gyroage.core.colours import REDDENINGS
    from gyroage.crossmatch import colours, run

    assert colours.A0_PER_UNIT == {name: a0_per for name, a0_per, _ in REDDENINGS}
    assert set(colours.REDDENING_LABELS) == set(colours.A0_PER_UNIT)
    assert not hasattr(run, "EXTINCTION_KINDS")


def test_crossmatch_gspphot_a_g_of_the_e_bprp_only_where_gspphot_gives_none(monkeypatch):
    """Under gspphot the A_G of the E(BP-RP) (five fixed-point steps) was worked out for every row, though used only
    where ag_gspphot is missing: now for those rows alone, the same values."""
    import numpy as np

    from gyroage.crossmatch import colours as xc

    sizes = []
    real = xc.ag_of_ebprp
    monkeypatch.setattr(xc, "ag_of_ebprp", lambda c, e: sizes.append(len(c)) or real(c, e))
    g = pd.DataFrame({"phot_bp_mean_mag": [12.0, 13.0, 14.0], "phot_rp_mean_mag": [11.0, 12.1, 12.9],
                      "phot_bp_mean_flux_over_error": [500.0] * 3, "phot_rp_mean_flux_over_error": [600.0] * 3,
                      "ebpminrp_gspphot": [0.2, 0.3, 0.4], "ebpminrp_gspphot_upper": [0.25, 0.35, 0.45],
                      "ebpminrp_gspphot_lower": [0.15, 0.25, 0.35], "ag_gspphot": [0.4, np.nan, 0.8]})
    near = np.zeros(3, dtype=bool)
    c = xc.colours(pd.DataFrame(index=range(3)), g, "gspphot", None, None, None, near, "none_within_100pc")
    assert sizes == [1]
    assert c.ag[0] == 0.4 and c.ag[2] == 0.8
    assert c.ag[1] == real(np.array([13.0 - 12.1 - 0.3]), np.array([0.3]))[0]


def test_crossmatch_resolve_notes_have_one_message_table():
    """Three near-identical blocks said resolve's notes: one table keyed by the notes now, one loop, the same texts."""
    from gyroage.crossmatch import run
    from gyroage.crossmatch.resolve import AMBIGUOUS_DR2, AMBIGUOUS_TIC, DR2_PREFIX, FAR_DR2, FAR_DR3, SPLIT_DR2

    assert list(run.RESOLVE_WARNINGS) == [FAR_DR3, FAR_DR2, AMBIGUOUS_DR2, SPLIT_DR2, AMBIGUOUS_TIC, DR2_PREFIX]
    assert run.RESOLVE_WARNINGS[FAR_DR3].format(n=2).startswith("warning: 2 TIC/KIC star(s) not_found")
