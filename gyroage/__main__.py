"""``python -m gyroage ...``: the ``gyroage`` command, for an environment without the console script on PATH."""

from gyroage.cli import main

if __name__ == "__main__":
    main()  # click names the program 'python -m gyroage' in usage lines and error hints
