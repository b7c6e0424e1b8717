"""The ``gyroage`` console script, and ``python -m gyroage`` for an environment without it on PATH."""

from __future__ import annotations

import os
import sys


def main(prog_name: str | None = None) -> None:
    """Run the ``gyroage`` command (``prog_name``: as :func:`gyroage.cli.main`).

    The CLI is imported here, not at the top: a Ctrl-C while typer and the commands load, or while typer builds
    the commands (the first ~0.3 s of a run), is then one line and exit 130, as a Ctrl-C inside a command is, not a
    traceback.
    """
    try:
        from gyroage.cli import main as run

        run(prog_name)  # ends the process itself
    except KeyboardInterrupt as exc:
        from gyroage.cli_process import interrupted

        code = interrupted(exc)
        sys.stderr.flush()
        os._exit(code)  # as the command's own end: no teardown of half-imported modules


if __name__ == "__main__":
    main()  # click names the program 'python -m gyroage' in usage lines and error hints
