"""Shim: ``python cli.py ...`` runs the ``gyroage`` command from a checkout."""

import sys

from gyroage.cli import main

if __name__ == "__main__":
    # click would name the program 'cli.py', and an error's "see 'cli.py estimate --help'" is no command to run
    main(prog_name=f"python {sys.argv[0]}")
