"""Shim: ``python cli.py ...`` runs the ``gyroage`` command from a checkout."""

import os
import sys

if __name__ == "__main__":
    try:  # what it loads, inside a guard as the console script's: a Ctrl-C now is one line, not a traceback
        import shlex

        from gyroage.__main__ import main
    except KeyboardInterrupt:
        print("gyroage: interrupted", file=sys.stderr, flush=True)
        os._exit(130)  # as gyroage.__main__ ends: no teardown of half-imported modules
    # click would name the program 'cli.py', and an error's "see 'cli.py estimate --help'" is no command to run: name
    # it as started, by the running interpreter's name and the script's path, each quoted for a shell (a space)
    interpreter = os.path.basename(sys.executable) or "python"
    main(prog_name=f"{shlex.quote(interpreter)} {shlex.quote(sys.argv[0])}")
