"""Shim: ``python cli.py ...`` runs the ``gyroage`` command from a checkout."""

import os
import shlex
import sys

from gyroage.__main__ import main

if __name__ == "__main__":
    # click would name the program 'cli.py', and an error's "see 'cli.py estimate --help'" is no command to run: name
    # it as started, by the running interpreter's name and the script's path, each quoted for a shell (a space)
    interpreter = os.path.basename(sys.executable) or "python"
    main(prog_name=f"{shlex.quote(interpreter)} {shlex.quote(sys.argv[0])}")
