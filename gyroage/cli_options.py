"""Options that the run-time commands (cli.py) and the build commands (build/commands.py) share.

Defined once, so a shared option has the same name, type and help everywhere;
tests/test_cli_help.py checks that the shared options agree across every command.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated

import typer

QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress on stderr.")]
SeedOpt = Annotated[int, typer.Option("--seed", help="Random seed (>= 0): a rerun with the same seed gives the same results.")]


def comma_list(values: str | Iterable[str] | None) -> list[str]:
    """Items of an option given as ``a,b`` and/or repeated, stripped, blanks dropped (None: none)."""
    if values is None:
        return []
    items = [values] if isinstance(values, str) else values
    return [name.strip() for v in items for name in v.split(",") if name.strip()]
