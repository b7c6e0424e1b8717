"""Shim: ``python cli.py ...`` runs the ``gyroage`` command from a checkout."""

from gyroage.cli import main

if __name__ == "__main__":
    main()
