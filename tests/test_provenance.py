"""Every typed output says what made it: gyroage's version, the model (its SHA-256 as ``gyroage --version`` prints
it) and the settings that decide the ages, read back with the reader an astronomer would use (pyarrow, astropy).

No output carried any of it: a Parquet file held pandas' schema only, a FITS header no gyroage keyword, ECSV and
VOTable nothing. CSV, TSV and text outputs stay as they were (a comment line would break their readers).
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import asdict, fields
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

import gyroage
from gyroage.cli import app
from gyroage.provenance import FITS_KEYWORDS, KEY
from tests.conftest import EXAMPLES, count_chunks, needs_dask

TYPED = ["parquet", "fits", "fits.gz", "ecsv", "vot", "vot.gz"]


def run(*args: str) -> None:
    res = CliRunner().invoke(app, list(args))
    assert res.exit_code == 0, (res.output, res.exception)


def record(path) -> dict[str, str]:
    """The record in ``path``, read as a user would: pyarrow's key-value metadata, the FITS header's cards, the ECSV
    table's meta, the VOTable's INFO elements."""
    name = str(path)
    if name.endswith(".parquet"):
        return json.loads(pq.read_schema(path).metadata[KEY.encode()])
    if ".fits" in name:
        from astropy.io import fits

        header = fits.getheader(path, 1)
        return {k: header[word] for k, (word, _) in FITS_KEYWORDS.items() if word in header}
    if name.endswith(".ecsv"):
        from astropy.table import Table

        return Table.read(path).meta[KEY]
    from astropy.io.votable import parse

    return {i.name.removeprefix(f"{KEY}."): i.value for i in parse(path).resources[0].infos}


@pytest.fixture
def here(tmp_path, monkeypatch):
    """A folder holding the Sun's row (the example) as stars.csv, as the working directory: the commands name
    their files relatively, as the record keeps them."""
    shutil.copy(EXAMPLES / "field_stars.csv", tmp_path / "stars.csv")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def version_sha() -> str:
    res = CliRunner().invoke(app, ["--version"])
    return re.search(r"sha256 ([0-9a-f]{64})", res.output).group(1)


@pytest.mark.parametrize("suffix", TYPED)
def test_every_typed_output_carries_the_runs_record(here, suffix):
    run("estimate", "stars.csv", "-o", f"out.{suffix}", "-q")
    got = record(here / f"out.{suffix}")
    assert got["version"] == gyroage.__version__
    assert got["model"] == "shipped" and got["model_sha256"] == version_sha()
    assert got["command"] == "gyroage estimate stars.csv"
    assert (got["method"], got["prior"], got["age_min_myr"], got["age_max_myr"]) == ("grid", "uniform_log_age", "1",
                                                                                      "10000")
    assert got["outlier_weight"] == "0.05" and got["calibration"] == "model card"
    assert got["columns"] == "prot=prot_days, prot_err=prot_err_days, bp_rp0=bp_rp0, bp_rp0_err=bp_rp0_err"
    # every format holds the same record
    run("estimate", "stars.csv", "-o", "ref.parquet", "-q")
    assert got == record(here / "ref.parquet")


def test_a_changed_setting_changes_the_record(here):
    run("estimate", "stars.csv", "-o", "a.fits", "-q")
    run("estimate", "stars.csv", "-o", "b.fits", "-q", "--prior", "uniform_age", "--age-max-myr", "5000",
        "--outlier-weight", "0.1", "--no-main-sequence")
    a, b = record(here / "a.fits"), record(here / "b.fits")
    changed = {k: (a.get(k), b.get(k)) for k in a.keys() | b.keys() if a.get(k) != b.get(k)}
    assert changed.pop("command")[1].endswith("--outlier-weight 0.1 --no-main-sequence")
    assert changed == {"prior": ("uniform_log_age", "uniform_age"), "age_max_myr": ("10000", "5000"),
                       "outlier_weight": ("0.05", "0.1"), "main_sequence": ("not used: no magnitudes", "off")}


@pytest.mark.parametrize("suffix", TYPED)
def test_two_identical_runs_give_the_same_bytes(here, suffix):
    out = here / f"out.{suffix}"
    run("estimate", "stars.csv", "-o", out.name, "-q", "--prior", "uniform_age")
    first = out.read_bytes()
    out.unlink()
    run("estimate", "stars.csv", "-o", out.name, "-q", "--prior", "uniform_age")
    assert out.read_bytes() == first


@pytest.mark.parametrize("suffix", ["csv", "tsv", "txt", "csv.gz"])
def test_csv_tsv_and_text_outputs_carry_no_record(here, suffix):
    """The rows and header alone, as before: a reader of CSV or whitespace text would take a comment for a row."""
    import gzip

    run("estimate", "stars.csv", "-o", f"out.{suffix}", "-q")
    data = (here / f"out.{suffix}").read_bytes()
    text = (gzip.decompress(data) if suffix.endswith(".gz") else data).decode()
    assert "gyroage" not in text and "sha256" not in text.lower()
    assert len(text.splitlines()) == 2 and text.startswith("name")


def test_a_resumed_output_is_the_uninterrupted_runs_byte_for_byte(here, monkeypatch):
    """--resume is left out of the recorded command: it decides nothing in the table."""
    pd.DataFrame({"prot": [25.4, 8.0, 3.0], "bp_rp0": [0.82, 1.1, 1.5]}).to_csv(here / "three.csv", index=False)
    for name in ("out.fits", "out.parquet"):
        run("estimate", "three.csv", "-o", name, "-q", "--chunksize", "1")
        ref = (here / name).read_bytes()
        (here / name).unlink()
        count_chunks(monkeypatch, die_at=2)
        res = CliRunner().invoke(app, ["estimate", "three.csv", "-o", name, "-q", "--chunksize", "1"])
        assert isinstance(res.exception, RuntimeError) and not (here / name).exists()
        calls = count_chunks(monkeypatch)
        run("estimate", "three.csv", "-o", name, "-q", "--chunksize", "1", "--resume")
        assert calls == [1, 1]  # the first chunk came from the interrupted run
        assert (here / name).read_bytes() == ref
        assert record(here / name)["chunksize"] == "1"


@pytest.mark.parametrize("rows", ["prot,bp_rp0\n25.4,0.82\n", "prot,bp_rp0\nabc,0.82\n"])
def test_the_posteriors_file_carries_the_record(here, rows):
    """Also when no star has a posterior (an empty table)."""
    (here / "in.csv").write_text(rows)
    run("estimate", "in.csv", "-o", "out.fits", "--posteriors", "post.parquet", "-q")
    run("estimate", "in.csv", "--posteriors", "post2.parquet", "-q")  # stdout: the streamed sink
    assert record(here / "post.parquet") == record(here / "out.fits")
    assert record(here / "post2.parquet")["command"] == "gyroage estimate in.csv"  # an output location, as -o


def test_group_age_outputs_carry_its_own_settings(here):
    (here / "g.csv").write_text("cluster,prot,bp_rp0\na,7.0,1.1\na,8.0,1.2\nb,10,1.0\nb,11,1.05\n")
    run("group-age", "g.csv", "--by", "cluster", "-o", "g.fits", "-q", "--grid", "201")
    run("group-age", "g.csv", "--by", "cluster", "-o", "g.parquet", "-q", "--grid", "201", "--systematic-dex", "0.1")
    a, b = record(here / "g.fits"), record(here / "g.parquet")
    assert a["command"] == "gyroage group-age g.csv --by cluster --grid 201"
    assert (a["by"], a["n_grid"], a["main_sequence"]) == ("cluster", "201", "off")
    assert a["calibration"] == "card widths by age (validation.group_calibration)"
    assert a["model_sha256"] == version_sha() and "systematic_dex" not in a
    assert (b["calibration"], b["systematic_dex"]) == ("--systematic-dex", "0.1")


def card_copy(folder, edit) -> str:
    """A copy of the shipped model in ``folder`` whose card ``edit`` (a function of the card's dict) changed."""
    from tests.conftest import ROOT

    shutil.copytree(ROOT / "models", folder)
    card = json.loads((folder / "gyroage-model.json").read_text())
    edit(card)
    for meta in card["files"].values():  # its graphs are taken as built from this card (as export would record)
        meta.pop("calibration_sha256", None)
    (folder / "gyroage-model.json").write_text(json.dumps(card))
    return str(folder)


def test_group_ages_calibration_entry_names_what_widened_the_joint_ages(here):
    """group-age widens with the card's group widths by age, else its scalar floor, never the per-star calibration:
    the entry said "model card" for a card without group widths (other ages) and "none" for one without the
    per-star calibration (the same ages)."""
    (here / "g.csv").write_text("cluster,prot,bp_rp0\na,7.0,1.1\na,8.0,1.2\n")

    def no_group_widths(card):
        del card["validation"]["group_calibration"]

    def no_validation(card):
        card["validation"] = {}
        card["calibration"] = {}

    def no_star_calibration(card):
        card["calibration"] = {}

    got = {}
    for name, edit in (("nogcal", no_group_widths), ("noval", no_validation), ("nocal", no_star_calibration)):
        run("group-age", "g.csv", "-o", f"{name}.parquet", "-q", "--grid", "201", "--model", card_copy(here / name, edit))
        got[name] = record(here / f"{name}.parquet")["calibration"]
    assert got["nogcal"] == "card scalar 0.07751767076 dex (validation.loco_cluster_median_abs_dex_ge30myr / 0.6745)"
    assert got["noval"] == "none (0 dex)"
    assert got["nocal"] == "card widths by age (validation.group_calibration)"


def test_the_python_api_records_no_command(tmp_path, density, settings):
    from gyroage.engines import run_local

    src = tmp_path / "in.csv"
    src.write_text("prot,bp_rp0\n25.4,0.82\n")
    run_local(src, tmp_path / "out.ecsv", density, settings, quiet=True)
    got = record(tmp_path / "out.ecsv")
    assert "command" not in got and got["version"] == gyroage.__version__ and got["engine"] == "local"


@needs_dask
def test_every_dask_part_carries_the_record(tmp_path):
    """Also a part rewritten because another part's text column held numbers (gyroage.engines.dask_engine)."""
    from distributed import Client, LocalCluster

    from gyroage.core.estimate import EstimateSettings
    from gyroage.engines import dask_engine

    src = tmp_path / "s.csv"
    src.write_text("prot,bp_rp0,note\n" + "25.4,0.82,1\n" * 40 + "25.4,0.82,x\n" * 40)
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        dask_engine.run_dask(str(src), tmp_path / "out.parquet", EstimateSettings(), blocksize=400, client=client,
                             quiet=True, command="gyroage estimate s.csv --engine dask -o out.parquet")
    parts = sorted((tmp_path / "out.parquet").glob("part.*.parquet"))
    assert len(parts) > 1
    for part in parts:
        got = record(part)
        assert got["engine"] == "dask" and got["command"].endswith("-o out.parquet"), part
        assert got["model_sha256"] == version_sha()
    assert pd.read_parquet(tmp_path / "out.parquet")["note"].tolist() == ["1"] * 40 + ["x"] * 40


def test_the_record_covers_every_setting_and_prior_field_and_fits_keywords_are_short():
    """A setting added to EstimateSettings or Prior must be added to the record (gyroage.provenance), or this fails."""
    from gyroage.core.estimate import EstimateSettings
    from gyroage.core.sampler import SamplerSettings

    recorded = {"prior", "n_grid", "refine_tol", "outlier_weight", "method", "seed", "sampler", "reddening",
                "main_sequence",
                "require_magnitudes"}  # refuses an input without magnitudes: decides no age
    assert {f.name for f in fields(EstimateSettings)} == recorded
    # and every field of the prior (a new one, without an entry, failed no test)
    from gyroage.core.priors import Prior
    from gyroage.provenance import PRIOR_KEYS

    assert {f.name for f in fields(Prior)} == set(PRIOR_KEYS)
    assert set(asdict(SamplerSettings())) >= {"n_walkers", "max_steps", "processes"}
    assert all(re.fullmatch(r"[A-Z][A-Z0-9_-]{0,7}", word) for word, _ in FITS_KEYWORDS.values())
    assert len({word for word, _ in FITS_KEYWORDS.values()}) == len(FITS_KEYWORDS)


def test_an_mcmc_record_holds_the_seed_and_sampler(here):
    (here / "in.csv").write_text("prot,bp_rp0\n25.4,0.82\n")
    run("estimate", "in.csv", "-o", "out.parquet", "-q", "--method", "mcmc", "--seed", "7", "--max-steps", "50")
    got = record(here / "out.parquet")
    assert got["method"] == "mcmc" and got["seed"] == "7"
    assert "max_steps=50" in got["sampler"] and "processes" not in got["sampler"]


def test_a_fits_record_keeps_a_non_ascii_or_control_character_escaped(here):
    """FITS cards hold printable ASCII: astropy dropped a card holding a tab (with a warning gyroage silences)."""
    shutil.copy(here / "stars.csv", here / "é\tb.csv")
    run("estimate", "é\tb.csv", "-o", "out.fits", "-q")
    assert record(here / "out.fits")["command"] == "gyroage estimate $'\\xc3\\xa9\\tb.csv'"


def test_a_non_ascii_argument_in_fits_is_its_utf8_bytes_which_bash_reads_back_in_any_locale(here):
    """FITS wrote a non-ASCII character as ``\\u00e9`` inside ``$'...'``, which bash turns back into the character
    only in a UTF-8 locale (under LC_ALL=C it stays ``\\u00E9``). It is written as its UTF-8 bytes, which bash
    gives back in any locale, and :func:`gyroage.provenance.split_command` decodes back; a 4-byte emoji too."""
    import subprocess

    from gyroage.provenance import shell_arg, split_command

    name = "\u00e9\U0001f600.csv"
    shutil.copy(here / "stars.csv", here / name)
    run("estimate", name, "-o", "out.fits", "-q")
    command = record(here / "out.fits")["command"]
    assert command == "gyroage estimate $'\\xc3\\xa9\\xf0\\x9f\\x98\\x80.csv'", command
    assert split_command(command) == ["gyroage", "estimate", name]
    undecodable = "a\udcff\u00e9"  # a file name's undecodable byte (surrogate escape) beside a character
    assert split_command(shell_arg(undecodable, ascii_only=True)) == [undecodable]
    if shutil.which("bash"):
        out = subprocess.run(["bash", "-c", f"printf %s {shell_arg(name, ascii_only=True)}"], capture_output=True,
                             env={"LC_ALL": "C", "PATH": "/usr/bin:/bin"}, check=True).stdout
        assert out == name.encode()


def test_a_control_character_or_newline_in_the_command_reads_back_alike_in_every_format(here):
    """A control character made the VOTable unreadable (XML 1.0 holds none), and a newline came back as a space from
    VOTable and ECSV: every format now keeps them escaped, as FITS did, and reads back the same command."""
    name = "a\x01\x1b\nb.csv"
    shutil.copy(here / "stars.csv", here / name)
    got = {}
    for suffix in TYPED:
        run("estimate", name, "-o", f"out.{suffix}", "-q")
        got[suffix] = record(here / f"out.{suffix}")["command"]
    assert set(got.values()) == {"gyroage estimate $'a\\x01\\x1b\\nb.csv'"}, got


def test_a_path_with_backslashes_and_one_with_a_tab_and_newline_record_apart_and_decode_back(here):
    """'C:\\tables\\new.csv' and the same text holding a real tab and newline recorded the same command, in every
    format: an argument with a control character is ANSI-C quoted ($'...', its backslashes escaped), any other kept
    as shlex.join quotes it; :func:`gyroage.provenance.split_command` gives back the arguments typed. A column name
    with a control character has its backslashes escaped too, so it decodes back."""
    import codecs

    from gyroage.provenance import escaped, split_command

    windows, control = "C:\\tables\\new.csv", "C:\tables\new.csv"
    for name in (windows, control):
        shutil.copy(here / "stars.csv", here / name)
    for suffix in TYPED:
        got = {}
        for tag, name in (("w", windows), ("c", control)):
            run("estimate", name, "-o", f"{tag}.{suffix}", "-q")
            got[tag] = record(here / f"{tag}.{suffix}")
        assert got["w"]["command"] == "gyroage estimate 'C:\\tables\\new.csv'", suffix
        assert got["c"]["command"] == "gyroage estimate $'C:\\tables\\new.csv'", suffix
        for tag, name in (("w", windows), ("c", control)):
            assert split_command(got[tag]["command"]) == ["gyroage", "estimate", name], suffix
    for value in ("n\\a\tme", "C:\\x\u00e9"):  # an entry other than the command: its Python escape, backslashes too
        assert codecs.decode(escaped(value, ascii_only=True), "unicode_escape") == value
    assert codecs.decode(escaped("n\\a\tme"), "unicode_escape") == "n\\a\tme"
    assert escaped("C:\\tables\\new.csv") == "C:\\\\tables\\\\new.csv"  # backslashes doubled: it decodes back


@pytest.mark.parametrize("ascii_only", [False, True])
def test_entries_other_than_the_command_tell_a_tab_from_a_typed_backslash_t(ascii_only):
    """``escaped('a\\\\tb') == escaped('a\\tb')``: a value holding no character to escape kept its backslashes as
    they were, so a column name with a typed backslash-t recorded as one with a tab. Backslashes are always doubled
    in the entries other than the command, which decode back; the command keeps its shell quoting."""
    from gyroage.provenance import _text

    names = ["a\\tb", "a\tb", "C:\\x\u00e9"]
    for key in ("by", "columns", "membership", "model", "prior_mean_column"):
        got = [_text({key: name}, ascii_only)[key] for name in names]
        assert len(set(got)) == len(names), got
        assert [t.encode("raw_unicode_escape").decode("unicode_escape") for t in got] == names, got
    command = "gyroage estimate 'C:\\tables\\new.csv'"
    assert _text({"command": command}, ascii_only)["command"] == command


@pytest.mark.parametrize("suffix", TYPED)
def test_runs_differing_only_in_output_name_quiet_or_threads_write_the_same_bytes(here, suffix):
    """The output's name, -q and --threads decide no bit of the table: they are left out of the recorded command
    (they made two such runs' typed outputs differ)."""
    run("estimate", "stars.csv", "-o", f"a.{suffix}", "-q", "--threads", "1", "--prior", "uniform_age")
    run("estimate", "stars.csv", "--prior", "uniform_age", f"--output=b.{suffix}", "--threads=2")
    assert (here / f"a.{suffix}").read_bytes() == (here / f"b.{suffix}").read_bytes()
    assert record(here / f"a.{suffix}")["command"] == "gyroage estimate stars.csv --prior uniform_age"


def test_the_posteriors_files_name_and_the_way_gyroage_was_started_leave_the_bytes_alone(here):
    """--posteriors pa.parquet and pb.parquet, or gyroage and python -m gyroage, gave different main-table bytes: the
    posteriors file is an output location, as -o is, and the program is recorded as gyroage."""
    import subprocess
    import sys

    run("estimate", "stars.csv", "-o", "a.parquet", "-q", "--posteriors", "pa.parquet")
    run("estimate", "stars.csv", "-o", "b.parquet", "-q", "--posteriors", "pb.parquet")
    assert (here / "a.parquet").read_bytes() == (here / "b.parquet").read_bytes()
    subprocess.run([sys.executable, "-m", "gyroage", "estimate", "stars.csv", "-o", "m.parquet", "-q", "--posteriors",
                    "pm.parquet"], check=True, cwd=here)
    assert (here / "m.parquet").read_bytes() == (here / "a.parquet").read_bytes()
    assert record(here / "m.parquet")["command"] == "gyroage estimate stars.csv"


@pytest.mark.parametrize(("args", "recorded"), [
    (["-qo", "x.fits", "in.csv", "--processes", "2", "--method", "mcmc"], "in.csv --method mcmc"),
    (["in.csv", "-ox.fits", "--workers", "3", "--scheduler", "tcp://h:1", "--engine", "local"], "in.csv --engine local"),
    (["in.csv", "-ox.fits", "--workers=3", "--scheduler", "tcp://h:1", "--engine", "dask"],
     "in.csv --workers=3 --scheduler tcp://h:1 --engine dask"),
    (["in.csv", "--resume", "--no-resume", "--prior-mean", "-q", "--", "-o"], "in.csv --prior-mean -q -- -o"),
    (["in.csv", "--posteriors", "p.parquet", "--id", "name", "--posteriors=q.parquet"], "in.csv --id name"),
])
def test_the_recorded_command_leaves_out_where_and_how_the_work_ran(args, recorded):
    """-o, -q, --threads, --processes, --workers, --scheduler and --resume with their values, however spelt; an
    option's value or an argument after ``--`` that looks like one is kept. With --engine dask the partitions follow
    the worker count and move the last bits: --workers and --scheduler were left out, they are kept."""
    import click
    import typer.main

    from gyroage.provenance import ARGV, command_line

    group = typer.main.get_command(app)
    root = click.Context(group, info_name="python -m gyroage")  # the program as started: recorded as gyroage
    ctx = click.Context(group.commands["estimate"], info_name="estimate", parent=root)
    ctx.meta[ARGV] = ["estimate", *args]
    ctx.params["engine"] = args[args.index("--engine") + 1] if "--engine" in args else "local"
    assert command_line(ctx) == f"gyroage estimate {recorded}"


def test_version_prints_the_cards_sha256_that_outputs_carry(here):
    """The density file's SHA-256 stays when the card's calibration or terms change (and the ages with them): the
    card's is the one to cite, so --version prints it too, after the line's earlier text."""
    from gyroage.core.modelcard import DENSITY_FILE, load_card

    card, model_dir = load_card(None, verify=False)
    res = CliRunner().invoke(app, ["--version"])
    run("estimate", "stars.csv", "-o", "out.fits", "-q")
    card_sha = record(here / "out.fits")["model_card_sha256"]
    assert res.output == (f"gyroage {gyroage.__version__}; model {model_dir} ({DENSITY_FILE} sha256 "
                          f"{card.files[DENSITY_FILE]['sha256']}); model card sha256 {card_sha}\n")


def test_the_card_sha256_is_the_card_files_as_sha256sum_prints_it(here):
    """model_card_sha256 was the SHA-256 of the card as gyroage re-serialised it (defaults filled, its inputs'
    descriptions replaced: it changed with gyroage's version and sha256sum of the file never gave it); it is the
    card file's bytes', in the record and in gyroage --version, for the shipped model and a --model folder."""
    import hashlib

    from gyroage.core.modelcard import CARD_FILE, default_model_dir

    def file_sha(folder):
        return hashlib.sha256((folder / CARD_FILE).read_bytes()).hexdigest()

    run("estimate", "stars.csv", "-o", "out.parquet", "-q")
    assert record(here / "out.parquet")["model_card_sha256"] == file_sha(default_model_dir())
    assert CliRunner().invoke(app, ["--version"]).output.endswith(f"model card sha256 {file_sha(default_model_dir())}\n")
    folder = Path(card_copy(here / "copy", lambda card: None))  # the card re-written as json.dumps writes it
    run("estimate", "stars.csv", "-o", "copy.parquet", "-q", "--model", str(folder))
    assert record(here / "copy.parquet")["model_card_sha256"] == file_sha(folder) != file_sha(default_model_dir())


def test_main_sequence_is_not_used_when_the_card_holds_no_term(here):
    """A card with a main_sequence section but no term (its flag bounds only) dates by rotation alone, as the
    estimate path decides (uses_magnitudes): the record said "used"."""
    (here / "m.csv").write_text("prot,bp_rp0,abs_g0\n25.4,0.82,4.7\n")

    def no_term(card):
        del card["main_sequence"]["term"]

    run("estimate", "m.csv", "-o", "shipped.parquet", "-q")
    run("estimate", "m.csv", "-o", "noterm.parquet", "-q", "--model", card_copy(here / "noterm", no_term))
    assert record(here / "shipped.parquet")["main_sequence"] == "used"
    assert "ms_height_mag" in pd.read_parquet(here / "shipped.parquet")
    assert record(here / "noterm.parquet")["main_sequence"] == "not in the model"
    assert "ms_height_mag" not in pd.read_parquet(here / "noterm.parquet")


def test_reddening_names_the_input_columns_that_dereddened_the_stars(here):
    """Reddening columns of the input take precedence over the options row by row: the record named the options
    only ("none" for stars all dereddened by their own ebprp)."""
    (here / "red.csv").write_text("prot,bp_rp,ebprp,ebprp_err\n25.4,0.9,0.08,0.05\n")
    run("estimate", "red.csv", "-o", "a.parquet", "-q")
    run("estimate", "red.csv", "-o", "b.parquet", "-q", "--av", "0.1", "--av-err", "0.05")
    run("estimate", "stars.csv", "-o", "c.parquet", "-q")
    columns = "input columns ebprp, ebprp_err, row by row (options fill only rows without them)"
    assert record(here / "a.parquet")["reddening"] == columns
    assert record(here / "b.parquet")["reddening"] == f"av=0.1, av_err=0.05; {columns}"
    assert record(here / "c.parquet")["reddening"] == "none"


def test_reddening_and_columns_name_only_the_reddening_columns_read(here):
    """A reddening value column beside a de-reddened bp_rp0 (no bp_rp, no reddening error) is never read: the record
    said "input columns ebprp, row by row" and listed ebprp=ebprp. An error column beside bp_rp0 widens the colour
    (read); a bp_rp without any reddening is not read either (the stderr reading line names neither)."""
    (here / "unread.csv").write_text("prot,bp_rp0,bp_rp0_err,ebprp\n25.4,0.82,0.01,0.3\n")
    (here / "observed.csv").write_text("prot,bp_rp0,bp_rp0_err,bp_rp\n25.4,0.82,0.01,1.2\n")
    (here / "errs.csv").write_text("prot,bp_rp0,bp_rp0_err,ebprp,ebprp_err\n25.4,0.82,0.01,0.3,0.05\n")
    # the Sun's row without its period error, which the grid reads (gyroage.core.period_nodes)
    (here / "plain.csv").write_text("prot,bp_rp0,bp_rp0_err\n25.4,0.82,0.01\n")
    run("estimate", "unread.csv", "-o", "a.parquet", "-q")
    run("estimate", "observed.csv", "-o", "b.parquet", "-q")
    run("estimate", "plain.csv", "-o", "c.parquet", "-q")
    run("estimate", "errs.csv", "-o", "e.parquet", "-q")
    a, b, c, e = (record(here / f"{n}.parquet") for n in "abce")
    assert a["reddening"] == b["reddening"] == "none"
    assert a["columns"] == b["columns"] == "prot=prot, bp_rp0=bp_rp0, bp_rp0_err=bp_rp0_err"
    assert pd.read_parquet(here / "a.parquet")["age_p50_myr"].equals(pd.read_parquet(here / "c.parquet")["age_p50_myr"])
    assert e["reddening"] == "input columns ebprp, ebprp_err, row by row (options fill only rows without them)"
    assert "ebprp_err=ebprp_err" in e["columns"]


def test_fits_comments_describe_their_entries_and_a_short_commands_fits():
    """GYCMD's comment was too long to fit beside any command (always left out), GYREDDEN's and GYCALIB's no longer
    said what the entry holds; group_provenance's card_systematic defaulted to 0.0, which records "none (0 dex)" for
    joint ages the card widened."""
    import inspect

    from gyroage.provenance import _fits_cards, group_provenance

    assert _fits_cards({"command": "gyroage estimate s.csv"})["GYCMD"][1] == "command, less -o and the like"
    assert "columns" in FITS_KEYWORDS["reddening"][1] and "widened" in FITS_KEYWORDS["calibration"][1]
    assert inspect.signature(group_provenance).parameters["card_systematic"].default is inspect.Parameter.empty


def test_the_streamed_sinks_record_is_a_plain_attribute():
    """Stream.meta was a property squeezed in beside the sidecar; it is the sink's own attribute, handed to its
    writer with each chunk."""
    from gyroage.engines.stream import Stream

    assert not isinstance(vars(Stream).get("meta"), property)


def test_votable_record_ids_never_collide_with_a_columns(here):
    """An INFO took its ID from its name (gyroage.version), as a FIELD does from its column's: a column of that
    name gave two elements one ID, which XML forbids. The INFO elements carry a name only (ID is optional)."""
    (here / "c.csv").write_text("prot,bp_rp0,gyroage.version\n25.4,0.82,1\n")
    run("estimate", "c.csv", "-o", "out.vot", "-q")
    ids = re.findall(r'\bID="([^"]*)"', (here / "out.vot").read_text())
    assert "gyroage.version" in ids and len(ids) == len(set(ids)), ids
    assert record(here / "out.vot")["version"] == gyroage.__version__


def test_fits_record_comments_are_whole_or_absent(here):
    """A 64-character SHA-256 fills its card: its comment came back cut to one letter (``/ S``). A comment that
    cannot fit beside its value is left out; every other comment is whole."""
    run("estimate", "stars.csv", "-o", "out.fits", "-q")
    from astropy.io import fits

    header = fits.getheader(here / "out.fits", 1)
    comments = {word: header.comments[word] for word, _ in FITS_KEYWORDS.values() if word in header}
    assert comments["GYMODSHA"] == comments["GYCARDSH"] == ""
    assert all(got in ("", FITS_KEYWORDS_BY_WORD[word]) for word, got in comments.items()), comments
    assert comments["GYROAGE"] == "gyroage version"


FITS_KEYWORDS_BY_WORD = dict(FITS_KEYWORDS.values())


def test_git_never_rewrites_the_model_cards_line_ends():
    """The card SHA-256 is the card file's bytes: a Windows checkout with core.autocrlf rewrote
    models/gyroage-model.json with CRLF and cited another SHA-256. .gitattributes marks the card -text (and the ONNX
    files binary), so git checks them out byte for byte."""
    root = Path(__file__).resolve().parents[1]
    if not (root / ".git").exists() or shutil.which("git") is None:
        pytest.skip("not a git checkout")
    import subprocess

    def attr(name: str, path: str) -> str:
        out = subprocess.run(["git", "check-attr", name, "--", path], cwd=root, capture_output=True, text=True,
                             check=True).stdout
        return out.rsplit(": ", 1)[-1].strip()

    assert attr("text", "models/gyroage-model.json") == "unset"
    assert attr("binary", "models/gyroage-density.onnx") == "set"


def test_the_api_estimate_frame_carries_the_record_a_typed_output_writes(here):
    import hashlib

    run("estimate", "stars.csv", "-o", "out.parquet", "-q")
    written = record(here / "out.parquet")
    model = gyroage.AgeModel.load()
    frame = gyroage.read_stars("stars.csv")
    frame.attrs["survey"] = "mine"
    out = model.estimate(frame)
    got = out.attrs[KEY]  # was {}: nothing in what a pipeline got back said which gyroage or model made the ages
    # no command or engine, and no chunksize: the call dates its frame as one chunk
    assert got == {k: v for k, v in written.items() if k not in ("command", "engine", "chunksize")}
    from gyroage.core.modelcard import default_model_dir

    card = (default_model_dir() / "gyroage-model.json").read_bytes()
    assert got["version"] == gyroage.__version__ and got["model"] == "shipped"
    assert got["model_card_sha256"] == model.card.file_sha256 == hashlib.sha256(card).hexdigest()
    assert out.attrs["survey"] == "mine" and frame.attrs == {"survey": "mine"}  # the caller's attrs kept, not changed
