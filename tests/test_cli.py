import io
import re

import numpy as np
import pandas as pd
import pytest

from gyroage.core.modelcard import UNCALIBRATED
from tests.conftest import EXAMPLES, invoke_quiet, ok_output, run_cli


@pytest.fixture(scope="module")
def example_out() -> pd.DataFrame:
    """``gyroage estimate`` of the synthetic example, run once for the tests that read it."""
    res = run_cli("estimate", str(EXAMPLES / "synthetic_stars.csv"), "-q")
    assert res.returncode == 0, res.stderr
    return pd.read_csv(io.StringIO(res.stdout))


def test_estimate_example_keeps_rows_and_columns(example_out):
    out = example_out
    inp = pd.read_csv(EXAMPLES / "synthetic_stars.csv")
    assert list(out["star_id"]) == list(inp["star_id"])
    assert list(out.columns[: len(inp.columns)]) == list(inp.columns)
    for col in ("age_p2.5_myr", "age_p16_myr", "age_p50_myr", "age_p84_myr", "age_p97.5_myr", "age_map_myr", "status"):
        assert col in out.columns
    ok = out["status"].isin(["ok", "extrapolated"])  # rows with ages (extrapolated: see age_flags)
    assert ok.mean() > 0.95
    q = out.loc[ok, ["age_p2.5_myr", "age_p16_myr", "age_p50_myr", "age_p84_myr", "age_p97.5_myr"]].to_numpy()
    assert np.all(np.diff(q, axis=1) >= 0)


def test_synthetic_ages_track_truth(example_out):
    """Stars drawn from the model at known ages: medians correlate with truth and mostly fall inside 95%."""
    out = example_out
    ok = out["status"].isin(["ok", "extrapolated"])
    truth = np.log10(out.loc[ok, "true_age_myr"])
    med = np.log10(out.loc[ok, "age_p50_myr"])
    assert np.corrcoef(truth, med)[0, 1] > 0.6
    inside = (out.loc[ok, "true_age_myr"] >= out.loc[ok, "age_p2.5_myr"]) & (
        out.loc[ok, "true_age_myr"] <= out.loc[ok, "age_p97.5_myr"])
    assert inside.mean() > 0.85


def test_bad_rows_get_statuses_in_order():
    csv = "ID,PROT,bprp_0\na,10,1.0\nb,-3,1.0\nc,0,1.0\nd,,1.0\ne,text,1.0\nf,5,\ng,5,9.9\nh,1e9,1.0\ni,8,1.2\n"
    res = run_cli("estimate", "-", "-q", input=csv)
    assert res.returncode == 0, res.stderr
    out = pd.read_csv(io.StringIO(res.stdout), keep_default_na=False)
    assert list(out["ID"]) == list("abcdefghi")
    assert list(out["status"]) == ["ok", "invalid_period", "invalid_period", "invalid_period", "invalid_period",
                                   "invalid_colour", "colour_out_of_domain", "period_out_of_domain", "ok"]
    assert out.loc[1, "age_p50_myr"] == ""


@pytest.mark.parametrize("method", ["grid", "mcmc"])
def test_a_bad_period_error_is_invalid_period_err_and_gets_no_age(method):
    """README's status table: a period uncertainty given but not a non-negative finite number is
    ``invalid_period_err``; nothing else checked it, and the grid method never reads the error."""
    csv = "name,prot,bp_rp0,e_Prot\nneg,10,1.0,-3\ntext,10,1.0,abc\ninf,10,1.0,inf\nnone,10,1.0,\n"
    res = invoke_quiet("estimate", "-", "--method", method, "--seed", "1", stdin=csv)
    out = pd.read_csv(io.StringIO(ok_output(res)), keep_default_na=False)
    assert list(out["name"]) == ["neg", "text", "inf", "none"]
    assert list(out["status"]) == ["invalid_period_err"] * 3 + ["ok"]
    assert list(out["age_p50_myr"].iloc[:3]) == [""] * 3 and out["age_p50_myr"].iloc[3] != ""


def test_missing_required_column_is_one_line_exit_2(tmp_path):
    f = tmp_path / "s.csv"
    f.write_text("name,period\nx,10\n")
    res = run_cli("estimate", str(f))
    assert res.returncode == 2
    assert res.stderr.strip().count("\n") == 0
    assert "bp_rp0" in res.stderr and "Traceback" not in res.stderr


def test_missing_input_file_exit_2(tmp_path):
    res = run_cli("estimate", str(tmp_path / "nope.csv"))
    assert res.returncode == 2 and "not found" in res.stderr and "Traceback" not in res.stderr


@pytest.mark.parametrize("cmd", [["estimate"], ["estimate", "--input-format", "fits"], ["group-age", "--by", "x"]])
def test_a_directory_as_input_is_named_as_one(tmp_path, cmd):
    """A folder given as the input exists: 'input file not found' would send the user looking for it."""
    res = run_cli(cmd[0], str(tmp_path), *cmd[1:], "-q")
    assert res.returncode == 2 and res.stderr.strip() == f"gyroage: error: input {tmp_path} is a directory, not a table"


@pytest.mark.parametrize("cmd", [["estimate"], ["group-age", "--by", "cluster"]])
def test_an_empty_output_name_is_one_line(tmp_path, cmd):
    """-o '' used to be reported as 'output . is a directory'."""
    src = tmp_path / "in.csv"
    src.write_text("cluster,prot_days,bp_rp0\na,10,1.0\n")
    res = run_cli(cmd[0], str(src), *cmd[1:], "-o", "", "-q", cwd=tmp_path)
    assert res.returncode == 2 and res.stderr.strip() == "gyroage: error: -o needs a file name"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]


def test_parquet_roundtrip_and_atomic_output(tmp_path):
    src = pd.DataFrame({"prot": [10.0, 25.4], "bp_rp0": [1.2, 0.82]})
    src.to_parquet(tmp_path / "in.parquet")
    res = run_cli("estimate", str(tmp_path / "in.parquet"), "-o", str(tmp_path / "out.parquet"), "-q")
    assert res.returncode == 0, res.stderr
    out = pd.read_parquet(tmp_path / "out.parquet")
    assert len(out) == 2 and (out["status"] == "ok").all()
    assert not list(tmp_path.glob(".*part"))


def test_header_only_input(tmp_path):
    f = tmp_path / "h.csv"
    f.write_text("prot,bp_rp0\n")
    res = run_cli("estimate", str(f), "-q")
    assert res.returncode == 0, res.stderr
    assert res.stdout.splitlines()[0].startswith("prot,bp_rp0,age_p2.5_myr")


@pytest.mark.parametrize("err", [0.01, 0.05])
def test_sun_is_gyr_old(model, err):
    s = model.posterior(25.4, 0.82, bp_rp0_err=err).summaries()
    assert 2000 < s["age_p50_myr"][0] < 8000
    assert s["age_p16_myr"][0] < 4570 < s["age_p97.5_myr"][0]


def test_version_names_the_model_and_its_sha256():
    import json

    from tests.conftest import ROOT

    card = json.loads((ROOT / "models" / "gyroage-model.json").read_text())
    res = run_cli("--version")
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith("gyroage ") and card["files"]["gyroage-density.onnx"]["sha256"] in res.stdout


def test_id_option_names_the_posteriors_columns(tmp_path):
    """--id, repeated or comma-separated, picks the posteriors' id columns; an unknown one is one line, exit 2."""
    src = tmp_path / "in.csv"
    pd.DataFrame({"name": ["a", "b"], "TIC": ["11", "22"], "kepid": ["7", "8"], "prot": [8.0, 12.0],
                  "bp_rp0": [1.2, 1.5]}).to_csv(src, index=False)
    post = tmp_path / "post.parquet"
    res = run_cli("estimate", str(src), "-o", str(tmp_path / "out.csv"), "--posteriors", str(post),
                  "--id", "tic,NAME", "--id", "kepid", "-q")
    assert res.returncode == 0, res.stderr
    table = pd.read_parquet(post)
    assert list(table.columns[:4]) == ["row", "TIC", "name", "kepid"] and list(table["TIC"]) == ["11", "22"]
    res = run_cli("estimate", str(src), "-o", str(tmp_path / "out.csv"), "--posteriors", str(post), "--id", "gaia_id")
    assert res.returncode == 2 and res.stderr.strip() == "gyroage: error: --id column 'gaia_id' is not a column of the input"
    res = run_cli("estimate", str(src), "--id", "name")
    assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1 and "--posteriors" in res.stderr


def test_group_age_refuses_a_bad_option_before_loading_the_model(tmp_path):
    """A typo in --grid is reported first, not after a model load and a full read of the input."""
    r = run_cli("group-age", str(tmp_path / "none.csv"), "--by", "cluster", "--grid", "10",
                "--model", str(tmp_path / "no-model"))
    assert r.returncode == 2 and "--grid must be at least 50" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.parametrize("command", [("group-age",), ("estimate",), ("plot", "posterior")])
def test_a_grid_too_large_for_memory_is_one_line(tmp_path, command):
    """--grid 30001 ran out of memory in the calibration's grid x grid kernel, with numpy's traceback (exit 1)."""
    src = tmp_path / "in.csv"
    src.write_text("cluster,prot,bp_rp0\nA,8.0,1.0\n")
    extra = {"group-age": ("--by", "cluster"), "plot": ("-o", str(tmp_path / "p.png"))}.get(command[0], ())
    r = run_cli(*command, str(src), *extra, "--grid", "30001")
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert r.stderr.strip().splitlines() == [
        "gyroage: error: --grid must be at most 5001 (memory grows as its square: 5001 points step the age grid in "
        "under 0.001 dex)"]


def test_estimate_says_when_the_model_has_no_calibration(uncalibrated_model):
    """A card without calibration (as `gyroage train --export` writes it) gets one stderr line; the shipped one none."""
    model = uncalibrated_model
    star = "prot_days,bp_rp0\n12.0,1.2\n"
    bare = run_cli("estimate", "-", "--model", str(model), input=star)
    shipped = run_cli("estimate", "-", input=star)
    assert bare.returncode == 0 and shipped.returncode == 0, bare.stderr + shipped.stderr
    said = [line for line in bare.stderr.splitlines() if "no calibration" in line]
    assert len(said) == 1 and said[0].startswith("estimate: ")
    assert "no calibration" not in shipped.stderr
    assert "no calibration" not in run_cli("estimate", "-", "--model", str(model), "-q", input=star).stderr


def test_group_age_says_when_the_model_has_no_calibration(uncalibrated_model):
    """group-age said nothing on a card without calibration, whose intervals can be ~10x too narrow; now estimate's
    line, once, unless -q or --systematic-dex (the user's own width)."""
    group = "cluster,prot_days,bp_rp0\n" + "".join(f"a,{p},{c}\n" for p, c in ((8.0, 1.0), (9.0, 1.1), (10.0, 1.2)))
    bare = run_cli("group-age", "-", "--model", str(uncalibrated_model), input=group)
    shipped = run_cli("group-age", "-", input=group)
    assert bare.returncode == 0 and shipped.returncode == 0, bare.stderr + shipped.stderr
    said = [line for line in bare.stderr.splitlines() if "no calibration" in line]
    assert said == [f"group-age: {UNCALIBRATED}"], bare.stderr
    assert "no calibration" not in shipped.stderr
    for extra in (["-q"], ["--systematic-dex", "0.1"]):
        r = run_cli("group-age", "-", "--model", str(uncalibrated_model), *extra, input=group)
        assert r.returncode == 0 and "no calibration" not in r.stderr, r.stderr


@pytest.mark.parametrize("preset", [None, "3"])
def test_estimate_asks_blas_for_one_thread_unless_the_user_chose(preset):
    """estimate runs one block per CPU itself: BLAS threads in the calibration's matrix products only oversubscribe."""
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT

    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
    if preset is not None:
        env["OPENBLAS_NUM_THREADS"] = preset
    code = ("import os, sys\n"
            "from gyroage.cli import app\n"  # not main(): it leaves through os._exit
            f"app(['estimate', r'{EXAMPLES / 'field_stars.csv'}', '-q'], standalone_mode=False)\n"
            "print('BLAS', os.environ.get('OPENBLAS_NUM_THREADS'), file=sys.stderr)\n")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)
    assert res.returncode == 0, res.stderr
    assert f"BLAS {preset or '1'}" in res.stderr, res.stderr


@pytest.mark.parametrize("to_file", [False, True])
def test_a_full_disk_is_one_line_not_a_traceback(tmp_path, to_file):
    """Output that the disk refuses (here a file-size limit, EFBIG, as a full disk gives ENOSPC) is one line, exit 2."""
    import resource
    import signal
    import subprocess
    import sys

    from tests.conftest import ROOT

    src = tmp_path / "in.csv"
    src.write_text("prot,bp_rp0\n" + "10,1.0\n25.4,0.82\n" * 50)

    def limit() -> None:  # in the child: writes past 2 kB fail with EFBIG instead of killing it with SIGXFSZ
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (2048, 2048))

    out = tmp_path / "out.csv"
    args = [sys.executable, "-m", "gyroage.cli", "estimate", str(src), "-q"] + (["-o", str(out)] if to_file else [])
    with open(tmp_path / "stdout.csv", "w") as stdout:
        res = subprocess.run(args, stdout=stdout, stderr=subprocess.PIPE, text=True, cwd=ROOT, timeout=120,
                             preexec_fn=limit)
    assert res.returncode == 2, res.stderr
    assert res.stderr.strip() == "gyroage: error: cannot write output: File too large"
    assert not out.exists() and not list(tmp_path.glob(".out.csv*"))


def test_group_age_refuses_negative_threads_as_estimate_does(tmp_path):
    """--threads -1 is one line, exit 2, with the same words from both commands (group-age used to run with it)."""
    src = tmp_path / "in.csv"
    src.write_text("cluster,prot_days,bp_rp0\na,10,1.0\n")
    said = []
    for cmd in (["group-age", str(src), "--by", "cluster"], ["estimate", str(src)]):
        res = run_cli(*cmd, "--threads", "-1", "-q")
        assert res.returncode == 2 and "Traceback" not in res.stderr, res.stderr
        said.append(res.stderr.strip())
    # 0 is the CPUs this process may use (density.default_threads), not onnxruntime's default: one check, its words
    assert said[0] == said[1] == "gyroage: error: --threads must be >= 0 (0: the CPUs available)"


def test_group_age_summary_counts_groups_not_the_row_of_rows_without_one(tmp_path):
    """'3 groups, 2 ok' counted the no_group row (the input rows with a blank group cell) as a group."""
    src = tmp_path / "g.csv"
    pd.DataFrame({"cluster": ["A", "A", "", "B", None, "C"], "prot": [8.0, 9.0, 7.0, 10.0, 12.0, -1.0],
                  "bp_rp0": [1.0, 1.1, 1.0, 1.2, 1.3, 1.0]}).to_csv(src, index=False)
    res = run_cli("group-age", str(src), "--by", "cluster", "--grid", "201")
    assert res.returncode == 0, res.stderr
    assert res.stderr.strip().splitlines()[-1] == "group-age: 3 groups, 2 ok; 2 rows without a group", res.stderr
    pd.DataFrame({"cluster": ["A", "B"], "prot": [8.0, 10.0], "bp_rp0": [1.0, 1.2]}).to_csv(src, index=False)
    res = run_cli("group-age", str(src), "--by", "cluster", "--grid", "201")
    assert res.stderr.strip().splitlines()[-1] == "group-age: 2 groups, 2 ok", res.stderr
    pd.DataFrame({"prot": [8.0, 10.0], "bp_rp0": [1.0, 1.2]}).to_csv(src, index=False)
    one = run_cli("group-age", str(src), "--grid", "101")  # one group: said in the singular
    assert one.stderr.strip().splitlines()[-1] == "group-age: 1 group, 1 ok", one.stderr


def test_group_age_says_how_many_members_colour_errors_it_clipped(tmp_path):
    """A member's e_BPRP_0 of 99 gave the same group age as 0.4616 without a word (estimate flags such a star)."""
    src = tmp_path / "g.csv"
    pd.DataFrame({"cluster": ["A", "A", "A", "B"], "prot": [8.0, 9.0, 8.5, 10.0], "bp_rp0": [1.0, 1.1, 1.05, 1.2],
                  "bp_rp0_err": [99.0, 0.05, 1.0, 0.05]}).to_csv(src, index=False)
    res = run_cli("group-age", str(src), "--by", "cluster", "--grid", "201")
    assert res.returncode == 0, res.stderr
    said = [line for line in res.stderr.splitlines() if "clipped" in line]
    assert said == ["group-age: 2 of 4 used members' colour errors exceed the trained range (above 0.4616 mag) and "
                    "are clipped to it: if one is a sentinel (99) for a missing colour, that member has no colour to "
                    "date"], res.stderr
    quiet = run_cli("group-age", str(src), "--by", "cluster", "--grid", "201", "-q")
    assert quiet.stderr == "", quiet.stderr


def test_group_age_counts_clipped_colour_errors_among_the_used_members(tmp_path):
    """Review V7: "2 of 7 members' colour errors exceed the trained range" divided the used members it counted by
    every member, those left out too. It now says "K of M used members"."""
    src = tmp_path / "g.csv"
    pd.DataFrame({"cluster": ["A"] * 5 + ["B"] * 2, "prot": [8.0, 9.0, 8.5, -1.0, -1.0, 10.0, -1.0],
                  "bp_rp0": [1.0, 1.1, 1.05, 1.0, 1.0, 1.2, 1.2],
                  "bp_rp0_err": [99.0, 0.05, 1.0, 99.0, 0.05, 0.05, 99.0]}).to_csv(src, index=False)
    res = run_cli("group-age", str(src), "--by", "cluster", "--grid", "201")
    assert res.returncode == 0, res.stderr
    said = [line for line in res.stderr.splitlines() if "clipped" in line]
    assert said == ["group-age: 2 of 4 used members' colour errors exceed the trained range (above 0.4616 mag) and "
                    "are clipped to it: if one is a sentinel (99) for a missing colour, that member has no colour to "
                    "date"], res.stderr


@pytest.mark.parametrize("column", ["Mem", "PMem", "p_mem", "membership"])
def test_group_age_says_it_does_not_read_a_membership_column_it_was_not_given(tmp_path, column):
    """Review R8: a member list's Mem column was silently not read without --membership (every member counts once)."""
    src = tmp_path / "g.csv"
    pd.DataFrame({"cluster": ["A"] * 5, "prot": [8.0, 9.0, 10.0, 11.0, 12.0], "bp_rp0": [1.0, 1.1, 1.2, 1.3, 1.4],
                  column: [0.9, 0.8, 0.9, 0.95, 0.1]}).to_csv(src, index=False)
    res = run_cli("group-age", str(src), "--by", "cluster", "--grid", "201")
    assert res.returncode == 0, res.stderr
    assert (f"group-age: not reading '{column}' as membership probabilities (every member counts once): give "
            f"--membership {column}") in res.stderr.splitlines(), res.stderr
    given = run_cli("group-age", str(src), "--by", "cluster", "--grid", "201", "--membership", column)
    assert given.returncode == 0 and "not reading" not in given.stderr, given.stderr


def test_group_age_hint_for_a_membership_column_in_percent_says_to_divide_it_first(tmp_path):
    """Review R1 (finding 7): the hint said "give --membership PMem" for a column in percent, which --membership
    then refused (values above 1)."""
    src = tmp_path / "g.csv"
    pd.DataFrame({"cluster": ["A"] * 5, "prot": [8.0, 9.0, 10.0, 11.0, 12.0], "bp_rp0": [1.0, 1.1, 1.2, 1.3, 1.4],
                  "PMem": [90, 80, 99, 95, 10]}).to_csv(src, index=False)
    res = run_cli("group-age", str(src), "--by", "cluster", "--grid", "201")
    assert res.returncode == 0, res.stderr
    assert ("group-age: not reading 'PMem' as membership probabilities (every member counts once): its values reach "
            "99: give --membership PMem, which converts them if the column's unit is % (FITS, ECSV, a CSV units row); "
            "with no unit, divide them by 100 first") in res.stderr.splitlines(), res.stderr
    given = run_cli("group-age", str(src), "--by", "cluster", "--grid", "201", "--membership", "PMem")
    assert given.returncode == 2 and "divide by 100" in given.stderr, given.stderr


@pytest.mark.parametrize("args, words", [
    (["estimate", "stars.csv", "--nonexistent"], "No such option: --nonexistent (see '"),
    (["estimate", "stars.csv", "--seed", "abc"], "Invalid value for '--seed'"),
    (["group-age", "stars.csv", "--by"], "Option '--by' requires an argument."),
    (["nosuch"], "No such command 'nosuch'."),
])
def test_a_usage_mistake_is_one_line_not_a_box(args, words):
    """Typer drew unknown options, missing option values and bad types in a box of five lines."""
    res = run_cli(*args)
    assert res.returncode == 2 and res.stdout == ""
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gyroage: error: ") and words in lines[0], res.stderr
    assert lines[0].endswith(" --help')"), res.stderr  # where to look next


@pytest.mark.parametrize("args, where", [
    (["group-age", "stars.csv", "--by"], "group-age"),
    (["estimate", "stars.csv", "-o"], "estimate"),
    (["estimate", "stars.csv", "--quiet=yes"], "estimate"),  # a flag given a value: the same kind of mistake
    (["crossmatch", "ids.csv", "--id-column"], "crossmatch"),
    (["plot", "posterior", "stars.csv", "--row"], "plot posterior"),
    (["plot", "sequence", "--age"], "plot sequence"),
])
def test_an_option_without_its_value_points_to_its_own_subcommands_help(args, where):
    """The hint named the top-level help ('gyroage --help'), which does not list the option."""
    res = run_cli(*args)  # the program is 'python -m gyroage.cli' here, 'gyroage' as the console script
    assert res.returncode == 2 and res.stdout == ""
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gyroage: error: Option '"), res.stderr
    assert re.search(rf" \(see '(gyroage|python -m gyroage\.cli) {where} --help'\)$", lines[0]), res.stderr


@pytest.mark.parametrize("as_glob", [False, True])
def test_a_folder_or_pattern_of_parquet_parts_says_which_engine_reads_it(tmp_path, as_glob):
    """A partitioned export (part-*.parquet, as --engine dask itself writes) was 'a directory, not a table' or 'not
    found' (a quoted pattern), with no word that --engine dask reads both (review V48, 2)."""
    parts = tmp_path / "parts"
    parts.mkdir()
    for i in range(2):
        pd.DataFrame({"Prot": [10.0], "bp_rp0": [1.0]}).to_parquet(parts / f"part-{i}.parquet")
    src = str(parts / "*.parquet") if as_glob else str(parts)
    res = run_cli("estimate", src, "-o", str(tmp_path / "o.csv"), "-q")
    assert res.returncode == 2 and "--engine dask" in res.stderr and len(res.stderr.strip().splitlines()) == 1, \
        res.stderr


@pytest.mark.parametrize("name", ["*.csv", "stars[1].csv", "stars?.csv"])
def test_a_pattern_matching_no_parquet_parts_gets_no_parts_hint(tmp_path, name):
    """Review V49, 8: any glob character matching anything was told "a pattern of parts is read by --engine dask",
    a typo for a literal name (stars[1].csv, matching stars1.csv) too, which that engine would then read."""
    pd.DataFrame({"Prot": [10.0], "bp_rp0": [1.0]}).to_csv(tmp_path / "stars1.csv", index=False)
    res = run_cli("estimate", name, "-o", str(tmp_path / "o.csv"), "-q", cwd=tmp_path)
    assert res.returncode == 2 and res.stderr.strip() == f"gyroage: error: input file not found: {name}", res.stderr


@pytest.mark.parametrize("command", [["group-age"], ["crossmatch", "-o", "x.csv"], ["estimate", "-o", "o.csv"]])
def test_the_parts_hint_says_only_estimate_reads_parts(tmp_path, command):
    """Review V49, 12: group-age and crossmatch were told a folder of parts "is read by `gyroage estimate --engine
    dask`", as if their own command would read it with that option."""
    (tmp_path / "parts").mkdir()
    pd.DataFrame({"Prot": [10.0], "bp_rp0": [1.0]}).to_parquet(tmp_path / "parts" / "part-0.parquet")
    res = run_cli(command[0], "parts", *command[1:], cwd=tmp_path)
    assert res.returncode == 2 and res.stderr.strip() == "gyroage: error: input parts is a directory, not a table " \
        "(only `gyroage estimate --engine dask` reads a folder or a pattern of Parquet parts; otherwise concatenate " \
        "them)", res.stderr
