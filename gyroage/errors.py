"""Errors a user can cause: reported as one line with exit code 2, never a traceback."""

from __future__ import annotations


class UserError(Exception):
    """A problem with the user's input, options or files (exit code 2)."""

    exit_code = 2


class ModelError(UserError):
    """A model file that is missing, corrupted or does not match its card."""
