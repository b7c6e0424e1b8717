"""``--help`` of every command: flags take no value, arguments read INPUT, shared options agree."""

from __future__ import annotations

import os
import re

import pytest
import typer
from typer.core import TyperArgument, TyperGroup, TyperOption
from typer.testing import CliRunner

from gyroage import statuses
from gyroage.cli import app
from tests.conftest import ROOT

ANSI = re.compile(r"\x1b\[[0-9;]*m")
# Options several commands share: each must have one type and one help text wherever it appears.
SHARED = ("--quiet", "--seed", "--model", "--prior", "--prior-mean", "--prior-sigma", "--prior-table",
          "--age-min-myr", "--age-max-myr", "--catalogue")


def _commands() -> list[tuple[tuple[str, ...], object, object]]:
    """(path, command, context) of every command and group under the app, the app itself first."""
    root = typer.main.get_command(app)
    out = []

    def walk(cmd, path, parent):
        ctx = typer.Context(cmd, info_name=path[-1] if path else "gyroage", parent=parent)
        out.append((path, cmd, ctx))
        if isinstance(cmd, TyperGroup):
            for name in cmd.list_commands(ctx):
                walk(cmd.get_command(ctx, name), (*path, name), ctx)

    walk(root, (), None)
    return out


def _shown_type(p, ctx) -> str | None:
    """The type help shows beside an option: typer 0.29 asks display_type_rich, 0.20-0.28 make_metavar (a flag's
    then says ``BOOLEAN``, which their help leaves out)."""
    if isinstance(p, TyperArgument):  # an argument shows no type: its name is its placeholder (gyroage.cli_help)
        return None
    if hasattr(TyperOption, "display_type_rich"):  # typer's own (gyroage's subclasses define it on any typer)
        return p.display_type_rich(ctx)
    return None if p.is_flag else p.make_metavar(ctx)


def _help(path: tuple[str, ...]) -> str:
    res = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    return ANSI.sub("", res.output)


def test_every_help_shows_flags_without_a_value_and_arguments_as_names():
    cmds = _commands()
    assert {" ".join(p) for p, _, _ in cmds} >= {"", "estimate", "group-age", "crossmatch", "plot", "plot posterior",
                                                 "plot sequence", "train", "export", "validate"}
    for path, cmd, ctx in cmds:
        out = _help(path)
        assert "{" not in out and "<bool>" not in out and "<list[" not in out, (path, out)
        params = cmd.get_params(ctx)
        flags = [p for p in params if getattr(p, "is_flag", False)]  # before typer 0.29 --help is click's own Option
        assert any("--help" in p.opts for p in flags)
        for p in flags:
            assert _shown_type(p, ctx) is None and "<" not in p.get_help_record(ctx)[0], (path, p.opts)
            # the rendered row: the flag's names, then straight to its help text
            # the row that starts with the option's names (another option's help may name it: --write-card's
            # names --fit-calibration), else the first that holds it
            opt = re.escape(p.opts[0])
            rows = [line for line in out.splitlines() if re.search(rf"(?<![\w-]){opt}(?![\w-])", line)]
            row = next((r for r in rows if re.match(rf"^\W*(?:-[\w-]+\W+)*?{opt}(?![\w-])", r)), rows[0])
            assert "<" not in row.split(p.help[:12])[0], row
        usage = next(line for line in out.splitlines() if "Usage:" in line)
        for arg in (p for p in params if isinstance(p, TyperArgument)):
            assert arg.name.upper() in usage.split() and "<" not in arg.get_help_record(ctx)[0], (path, usage)


# group-age dates a group under one prior: its centre and width are numbers there, and its help says so.
OWN_HELP = {("group-age",): {"--prior-mean", "--prior-sigma"}}


def test_shared_options_have_one_type_and_one_help():
    seen: dict[str, set] = {}
    outputs: set = set()
    for path, cmd, ctx in _commands():
        for p in cmd.get_params(ctx):
            if not isinstance(p, TyperOption):
                continue
            for name in set(p.opts) & set(SHARED) - OWN_HELP.get(path, set()):
                seen.setdefault(name, set()).add((_shown_type(p, ctx), p.help))
            if "--output" in p.opts:  # a table or a figure: the help says which, the type is the same
                outputs.add((tuple(sorted(p.opts)), _shown_type(p, ctx)))
    assert set(seen) == set(SHARED)
    differing = {name: variants for name, variants in seen.items() if len(variants) > 1}
    assert not differing, differing
    assert len(outputs) == 1, outputs


def test_estimate_help_lists_the_statuses_and_where_aliases_are():
    out = " ".join(_help(("estimate",)).split())
    for status in statuses.ESTIMATE:
        shown = re.search(rf"(?<![\w]){status}(?![\w])", out) is not None
        assert shown == (status not in statuses.GROUP_ONLY), status  # a star never gets group-age's statuses
    readme = (ROOT / "README.md").read_text()
    for section in re.findall(r"README, '([^']+)'", out):
        assert f"### {section}\n" in readme, section
    assert "'Input columns'" in out and "aliases" in out


def _option_help(out: str, option: str, following: str) -> str:
    """The help text of ``option`` in a rendered --help (box and wrapping removed), up to the ``following`` option."""
    flat = " ".join(re.sub(r"[│╭╮╰╯─]+", " ", out).split())
    return flat.split(f"{option} ", 1)[1].split(f"{following} ", 1)[0]


def test_group_age_help_gives_its_prior_centre_and_width_as_numbers():
    """group-age's page said '(not in group-age) a column name' of its own options: it takes a number only."""
    for option, following in (("--prior-mean", "--prior-sigma"), ("--prior-sigma", "--prior-table")):
        group = _option_help(_help(("group-age",)), option, following)
        assert "a number" in group and "column" not in group and "group-age" not in group, group
        for path in (("estimate",), ("plot", "posterior")):  # a column per star there
            text = _option_help(_help(path), option, following)
            assert "a number, or a column name" in text and "group-age" not in text, (path, text)


def test_group_age_takes_a_number_for_the_prior_centre(tmp_path):
    f = tmp_path / "g.csv"
    f.write_text("prot,bp_rp0,cluster\n10,1.0,a\n")
    res = CliRunner().invoke(app, ["group-age", str(f), "--by", "cluster", "--prior", "gaussian_log_age",
                                   "--prior-mean", "age_col", "--prior-sigma", "0.2"])
    assert res.exit_code == 2 and res.output.count("\n") == 1 and "--prior-mean" in res.output


@pytest.mark.parametrize("args", [["estimate", "-q"], ["plot", "posterior", "--row", "0"]])
def test_missing_argument_is_named_by_its_placeholder(args):
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 2 and "INPUT" in ANSI.sub("", res.output)


def test_a_missing_argument_is_named_by_its_placeholder_as_every_typer_asks():
    """typer 0.27-0.28 ask get_error_hint(ctx) and named the argument 'input'; 0.29 asks get_error_hint()."""
    cmd, ctx = next((c, x) for p, c, x in _commands() if p == ("estimate",))
    param = next(p for p in cmd.get_params(ctx) if p.name == "input")
    assert param.get_error_hint(ctx) == param.get_error_hint() == "'INPUT'"


def test_comma_list_splits_repeated_and_comma_separated_values_alike():
    from gyroage.cli_options import comma_list

    assert comma_list(None) == []
    assert comma_list("a, b,,c ") == ["a", "b", "c"]
    assert comma_list(["M67,Praesepe", " Pleiades "]) == ["M67", "Praesepe", "Pleiades"]


@pytest.mark.parametrize("command, param", [(("estimate",), "input"), (("group-age",), "input"),
                                            (("crossmatch",), "input"), (("plot", "posterior"), "input"),
                                            (("plot", "sequence"), "data")])
def test_every_table_input_help_names_what_the_reader_reads(command, param):
    """plot posterior said 'CSV or Parquet' (and --data 'CSV/Parquet'), yet FITS, ECSV, VOTable, ASCII and stdin
    are read too: every argument or option read by io.read_chunks names each of formats.FORMATS and '-'."""
    from gyroage.formats import FORMATS

    shown = {"csv": "CSV", "parquet": "Parquet", "fits": "FITS", "votable": "VOTable", "ecsv": "ECSV", "ascii": "ASCII"}
    assert set(shown) == set(FORMATS)
    cmd, ctx = next((c, x) for p, c, x in _commands() if p == command)
    help_text = next(p.help for p in cmd.get_params(ctx) if p.name == param)
    for name in shown.values():
        assert re.search(rf"\b{name}\b", help_text), (command, name, help_text)
    assert "'-' for stdin" in help_text, help_text


@pytest.mark.parametrize("option", ["--ebprp", "--av", "--ebv"])
def test_reddening_options_say_every_column_that_overrides_them(option):
    """--ebprp's help named E(BP-RP) and A_V columns as overriding it, but an E(B-V) column does too."""
    helps = {path: " ".join(p.help.split()) for path, cmd, _ in _commands() for p in getattr(cmd, "params", [])
             if isinstance(p, TyperOption) and option in p.opts}
    assert ("estimate",) in helps and ("group-age",) in helps
    for path, text in helps.items():
        assert "rows with an E(BP-RP), A_V or E(B-V) column value use theirs" in text, (path, text)


def _param_help(command: tuple[str, ...], option: str) -> str:
    cmd, ctx = next((c, x) for p, c, x in _commands() if p == command)
    return " ".join(next(p.help for p in cmd.get_params(ctx) if option in getattr(p, "opts", ())).split())


def test_format_options_say_how_each_command_reads_and_writes():
    """group-age's and crossmatch's --input-format/--output-format said 'CSV and Parquet stream', as estimate's do:
    group-age reads the whole table and writes one row per group at the end; crossmatch writes to stdout or a pipe
    only at the end."""
    assert "CSV and Parquet stream" in _param_help(("estimate",), "--input-format")
    assert "CSV and Parquet stream" in _param_help(("estimate",), "--output-format")
    assert "CSV and Parquet stream" in _param_help(("crossmatch",), "--input-format")  # read_chunks
    group_in, group_out = _param_help(("group-age",), "--input-format"), _param_help(("group-age",), "--output-format")
    assert "stream" not in group_in and "whole table is read into memory" in group_in, group_in
    assert "stream" not in group_out and "written at the end" in group_out, group_out
    cross_out = _param_help(("crossmatch",), "--output-format")
    assert "stream" not in cross_out and "to stdout or a pipe whole at the end" in cross_out, cross_out


def test_method_help_names_the_default_sampler_not_emcee():
    """--method said 'mcmc (emcee sampler ...)', but the default backend is gyroage's own batched sampler."""
    from gyroage.core.sampler import SamplerSettings

    assert SamplerSettings().backend == "batched"
    text = _param_help(("estimate",), "--method")
    assert "gyroage's own" in text and "batched" in text and "emcee is the reference backend" in text, text


@pytest.mark.parametrize("command", [("train",), ("validate",)])
def test_catalogue_help_says_any_format_is_read(command):
    """train --catalog said 'Rotator catalogue CSV', but load_catalogue reads every format estimate reads."""
    text = _param_help(command, "--catalogue")
    assert "CSV " not in text.split("(")[0] and "any format" in text and "$GYROAGE_CATALOG" in text, text


def test_python_dash_m_gyroage_runs_the_command():
    """'python -m gyroage --help' said "No module named gyroage.__main__"."""
    import subprocess
    import sys

    res = subprocess.run([sys.executable, "-m", "gyroage", "--help"], capture_output=True, text=True, cwd=ROOT,
                         timeout=120, env={**__import__("os").environ, "COLUMNS": "200"})
    assert res.returncode == 0, res.stderr
    assert "Usage: python -m gyroage [OPTIONS] COMMAND" in res.stdout and "group-age" in res.stdout


@pytest.mark.parametrize("launcher", [["cli.py"], ["-m", "gyroage"]])
def test_an_error_hint_is_a_command_that_runs(launcher):
    """The checkout's shim said "(see 'cli.py estimate --help')", which no shell runs: the hint now names the
    program as it was started, and running it shows the command's help."""
    import shlex
    import subprocess
    import sys

    res = subprocess.run([sys.executable, *launcher, "estimate", "--sed"], capture_output=True, text=True, cwd=ROOT,
                         timeout=120)
    assert res.returncode == 2 and res.stderr.count("\n") == 1, res.stderr
    hint = re.search(r"\(see '(.+)'\)$", res.stderr.strip()).group(1)
    words = shlex.split(hint)
    interpreter = "python" if launcher[0] == "-m" else os.path.basename(sys.executable)
    assert words[0] == interpreter and words[1:] == [*launcher, "estimate", "--help"], hint
    shown = subprocess.run([sys.executable, *words[1:]], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert shown.returncode == 0 and "Usage:" in shown.stdout, shown.stderr


def test_the_shims_hint_quotes_a_path_with_a_space(tmp_path):
    """The shim's hint was `python {argv[0]}`, unquoted (a checkout under 'my dir' gave a hint no shell runs) and
    always 'python': it is the running interpreter's name and the script's path, each shell-quoted."""
    import shlex
    import shutil
    import subprocess
    import sys

    shim = tmp_path / "my dir" / "cli.py"
    shim.parent.mkdir()
    shutil.copy(ROOT / "cli.py", shim)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    res = subprocess.run([sys.executable, str(shim), "estimate", "--sed"], capture_output=True, text=True, env=env,
                         timeout=120)
    assert res.returncode == 2 and res.stderr.count("\n") == 1, res.stderr
    hint = re.search(r"\(see '(.+)'\)$", res.stderr.strip()).group(1)
    assert hint.startswith(f"{shlex.quote(os.path.basename(sys.executable))} '{shim}' "), hint
    assert shlex.split(hint)[1:] == [str(shim), "estimate", "--help"], hint
