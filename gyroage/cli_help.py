"""How ``--help`` shows parameters: flags without a value placeholder, arguments as ``INPUT``.

Typer (0.29) renders a type for every parameter, flags included (``--quiet <bool>``,
``--help <bool>``), and a required argument as ``{input}`` on the usage line. A flag
takes no value and click's convention for an argument is its upper-case name, so the
root group here gives every command under it (build commands and sub-groups included)
parameters that render that way. It also keeps the arguments as given, for the outputs' record of the command,
and says a Ctrl-C that lands outside a command's body in one line, as one inside it.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import typer
from typer import core as _typer_core
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

from gyroage.cli_process import interrupted
from gyroage.defaults import ARGV

try:  # the click that raises typer's usage errors: vendored from typer 0.29, the package before
    from typer import _click as _typer_click
except ImportError:
    import click as _typer_click
# typer 0.29 raises its own Abort; before, click's
_ABORT = getattr(_typer_core, "Abort", None) or _typer_click.exceptions.Abort

if TYPE_CHECKING:  # typer vendors click; only the annotations name it
    import typer._click as click


@contextlib.contextmanager
def _said_if_interrupted() -> Iterator[None]:
    """A Ctrl-C outside a command's body (a command's own is said by :func:`gyroage.cli.user_errors`): one line and
    its exit code, where typer would exit 130 without a word."""
    try:
        yield
    except KeyboardInterrupt as exc:
        raise typer.Exit(interrupted(exc)) from None


class _Flag(TyperOption):
    """An option taking no value (``--quiet``, ``--help``, ``--resume/--no-resume``): no type shown."""

    def display_type_rich(self, ctx: click.Context) -> str | None:
        return None


class _Repeated(TyperOption):
    """An option given once per value (``--age 100 --age 600``): its value's type, marked repeatable."""

    def display_type_rich(self, ctx: click.Context) -> str | None:
        shown = super().display_type_rich(ctx)
        if shown is None or self.metavar is not None:
            return shown
        inner = shown.removeprefix("<list[").removesuffix("]>")  # typer shows the annotation, list[float]
        return f"<{inner}> ..." if inner != shown else shown


class _Argument(TyperArgument):
    """A positional argument shown by its upper-case name, which is its placeholder: ``INPUT``."""

    @property
    def display_name_raw(self) -> str:
        return self.metavar or (self.name or "").upper()

    def display_type_rich(self, ctx: click.Context) -> str | None:
        return None

    def _usage_display_name(self) -> str:
        name = self.display_name_raw if self.required else f"[{self.display_name_raw}]"
        return name + ("..." if self.nargs != 1 else "")

    def get_error_hint(self, ctx: click.Context | None = None) -> str:
        # "Missing argument 'INPUT'": typer 0.27-0.28 named it by its parameter name, 'input' (0.29 passes no ctx)
        return f"'{self.display_name_raw}'"

    def make_metavar(self, ctx: click.Context, *, usage: bool = False) -> str:
        # typer 0.28 names an argument through this (``{input}``, ``input:TEXT``) where 0.29 uses the two above
        return self._usage_display_name() if usage else self.display_name_raw


def _plain(params: list[click.Parameter]) -> list[click.Parameter]:
    # Typer builds its parameter objects itself (typer.main.get_click_param) and takes no class
    # for them, so they are re-classed here, to subclasses that only change what help shows.
    for p in params:
        if type(p) is TyperOption and (p.is_flag or p.count):
            p.__class__ = _Flag
        elif type(p) is TyperOption and p.multiple:
            p.__class__ = _Repeated
        elif type(p) is TyperArgument:
            p.__class__ = _Argument
    return params


def _parse_in_context(parse, ctx: click.Context, args: list[str]) -> list[str]:
    """``parse(ctx, args)``, a usage error raised without a context given ``ctx``.

    click's option parser raises "Option '--by' requires an argument" (and "does not take a value") without the
    context, so the error's hint fell back to the top-level help, which does not list the option.
    """
    try:
        return parse(ctx, args)
    except _typer_click.exceptions.UsageError as exc:
        if exc.ctx is None:
            exc.ctx, exc.cmd = ctx, ctx.command
        raise


class PlainHelpCommand(TyperCommand):
    """A command whose help shows flags and arguments as above (its ``--help`` option included)."""

    def get_params(self, ctx: click.Context) -> list[click.Parameter]:
        return _plain(super().get_params(ctx))

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        return _parse_in_context(super().parse_args, ctx, args)


class PlainHelpGroup(TyperGroup):
    """A group (``typer.Typer(cls=PlainHelpGroup)``) passing the same help rendering to all it holds."""

    def get_params(self, ctx: click.Context) -> list[click.Parameter]:
        return _plain(super().get_params(ctx))

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        return _parse_in_context(super().parse_args, ctx, args)

    def make_context(self, info_name: str | None, args: list[str], parent: click.Context | None = None,
                     **extra: Any) -> click.Context:
        """Click's context, holding the arguments as given (parsing consumes them) for the outputs' record of the
        command (:func:`gyroage.provenance.command_line`; the context's meta is shared with the command's)."""
        given = list(args)
        with _said_if_interrupted():  # an option's callback (--version) runs while parsing
            ctx = super().make_context(info_name, args, parent, **extra)
        ctx.meta.setdefault(ARGV, given)
        return ctx

    def invoke(self, ctx: click.Context) -> Any:
        with _said_if_interrupted():
            return super().invoke(ctx)

    def main(self, args: Any = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        """Typer's main, but a usage mistake (an unknown option, an option without its value, a value of the wrong
        type) is one ``gyroage: error:`` line, exit 2, as every other user error is, not a box of several lines.

        Arguments reach the commands as the shell gave them: on Windows click would expand globs, ``~`` and
        ``%VAR%`` in every one, quoted or not (``'survey/part-*.csv'``, which the dask engine expands itself, became
        many inputs). Only a leading ``~`` is still the home folder there, as a POSIX shell makes it (cmd.exe and
        PowerShell leave it to the program): without it ``-o ~/ages.csv`` wrote into a folder named ``~``."""
        extra["windows_expand_args"] = False
        if os.name == "nt":
            args = [os.path.expanduser(a) if a.startswith("~") else a for a in (sys.argv[1:] if args is None else args)]
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        exceptions = _typer_click.exceptions
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except exceptions.UsageError as exc:
            if type(exc).__name__ == "NoArgsIsHelpError":  # no arguments: typer has shown the help already
                sys.exit(exc.exit_code)
            where = exc.ctx.command_path if exc.ctx is not None else "gyroage"
            message = " ".join(exc.format_message().split())
            print(f"gyroage: error: {message} (see '{where} --help')", file=sys.stderr)
            sys.exit(exc.exit_code)
        except exceptions.ClickException as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except _ABORT:
            print("Aborted!", file=sys.stderr)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        cmd = super().get_command(ctx, cmd_name)
        # Same reason as in _plain: typer instantiates the commands; a command registered anywhere
        # (the build commands, a sub-group's) gets the rendering without naming a class.
        if type(cmd) is TyperCommand:
            cmd.__class__ = PlainHelpCommand
        elif type(cmd) is TyperGroup:
            cmd.__class__ = PlainHelpGroup
        return cmd
