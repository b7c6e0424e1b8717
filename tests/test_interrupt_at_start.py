"""Ctrl-C in the first instants of a run, before a command's own handler is reached: one line, exit 130."""

from __future__ import annotations

import subprocess
import sys

import pytest
import tomllib

from tests.conftest import ROOT

# The interrupt is raised where a real Ctrl-C would land, deterministically: as a module is imported, or inside a
# step typer runs before the command's body.
ON_IMPORT = """
import sys

class Interrupt:
    def find_spec(self, name, path=None, target=None):
        if name == {module!r}:
            raise KeyboardInterrupt

sys.meta_path.insert(0, Interrupt())
from gyroage.__main__ import main
main()
"""

IN_STEP = """
import gyroage.core.modelcard as card

def interrupted(*args, **kwargs):
    raise KeyboardInterrupt

card.load_card = interrupted
from gyroage.__main__ import main
main()
"""

WHILE_BUILT = """
import typer.main

def interrupted(*args, **kwargs):
    raise KeyboardInterrupt

typer.main.get_group = interrupted
from gyroage.__main__ import main
main()
"""


# onnxruntime's native module, interrupted while it starts: pybind11 raises "ImportError: initialization failed",
# the KeyboardInterrupt its __cause__, and onnxruntime re-raises that
NATIVE_IMPORT = """
import sys

class Interrupt:
    def find_spec(self, name, path=None, target=None):
        if name == "onnxruntime":
            try:
                raise KeyboardInterrupt
            except KeyboardInterrupt as exc:
                raise ImportError("initialization failed") from exc

sys.meta_path.insert(0, Interrupt())
from gyroage.__main__ import main
main()
"""


def _run(code: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("module", ["typer", "gyroage.cli", "gyroage.cli_options"])
def test_ctrl_c_while_the_command_loads_is_one_line(module):
    """A Ctrl-C while the console script imported the CLI (typer, the options: the first ~0.1 s) was a KeyboardInterrupt
    traceback; the script's entry now imports it inside the same guard as a command's."""
    res = _run(ON_IMPORT.format(module=module), "--version")
    assert (res.returncode, res.stderr) == (130, "gyroage: interrupted\n"), res.stderr[-500:]


def test_ctrl_c_in_a_step_typer_runs_before_the_command_is_one_line():
    """Typer turns a Ctrl-C outside the command's body (an option's callback: --version reading the card) into exit
    130 without a word; the run said nothing about why it stopped."""
    res = _run(IN_STEP, "--version")
    assert (res.returncode, res.stderr) == (130, "gyroage: interrupted\n"), res.stderr[-500:]


def test_ctrl_c_while_typer_builds_the_commands_is_one_line():
    """Typer builds the click commands from the functions' annotations before it parses anything (~0.1 s): a
    Ctrl-C then was a traceback through typing's evaluation of an option."""
    res = _run(WHILE_BUILT, "--version")
    assert (res.returncode, res.stderr) == (130, "gyroage: interrupted\n"), res.stderr[-500:]


def test_ctrl_c_inside_a_command_is_still_said_once(tmp_path):
    src = tmp_path / "in.csv"
    src.write_text("prot_days,bp_rp0\n10,1.0\n")
    res = _run(IN_STEP, "estimate", str(src), "-q")
    assert (res.returncode, res.stderr) == (130, "gyroage: interrupted\n"), res.stderr[-500:]


def test_the_console_script_is_the_guarded_entry():
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts == {"gyroage": "gyroage.__main__:main"}


@pytest.mark.parametrize("command", ["estimate", "plot"])
def test_ctrl_c_while_onnxruntime_starts_is_one_line(tmp_path, command):
    """A Ctrl-C while onnxruntime's native module initialised (~0.5 s into every estimate) came out as a 70-line
    ImportError traceback, exit 1 (review V52, 12): the interrupt is now raised as itself where onnxruntime is
    imported."""
    src = tmp_path / "in.csv"
    src.write_text("prot_days,bp_rp0\n10,1.0\n")
    args = ["estimate", str(src), "-q", "-o", "-"] if command == "estimate" else \
        ["plot", "posterior", str(src), "-q", "-o", str(tmp_path / "f.png")]
    res = _run(NATIVE_IMPORT, *args)
    assert (res.returncode, res.stderr) == (130, "gyroage: interrupted\n"), res.stderr[-500:]


SHIM = """
import runpy
import sys

class Interrupt:
    def find_spec(self, name, path=None, target=None):
        if name == {module!r}:
            raise KeyboardInterrupt

sys.modules.pop({module!r}, None)
sys.meta_path.insert(0, Interrupt())
sys.argv = ["cli.py", "--version"]
runpy.run_path("cli.py", run_name="__main__")
"""


@pytest.mark.parametrize("module", ["shlex", "gyroage", "gyroage.__main__"])
def test_ctrl_c_while_the_checkouts_shim_loads_is_one_line(module):
    """``python cli.py`` imported shlex (and so re) and gyroage outside any guard: a Ctrl-C in its first instants
    was a traceback (review V52, 11); they load inside the shim's guard now."""
    res = _run(SHIM.format(module=module))
    assert (res.returncode, res.stderr) == (130, "gyroage: interrupted\n"), res.stderr[-500:]
