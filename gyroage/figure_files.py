"""Figure files: where ``-o``/``--format``/``--dpi`` put a figure (a file, a device, or stdout for ``-o -``), and
its atomic write with the run's metadata.

Split from :mod:`gyroage.plots`, which draws the figures; matplotlib is imported only to save one.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from io import BytesIO
from pathlib import Path

import numpy as np

from gyroage.errors import UserError
from gyroage.files import is_special
from gyroage.writers import prepare_target, write_stdout_bytes

FORMATS = ("png", "pdf", "svg")
STDOUT = "-"  # the -o that writes the figure to stdout
DPI = 200.0
# --dpi's sane range: below 10 nothing is legible; far above 2400 a figure's pixels outgrow memory
# (and matplotlib's integer sizes) with a traceback instead of an error.
DPI_MIN, DPI_MAX = 10.0, 2400.0


def figure_target(output: str | Path | None, fmt: str | None, dpi: float, stem: str = "figure") -> tuple[Path, str]:
    """(file path, format) for a figure: the format from ``fmt``, else the suffix, else png.

    A suffix naming another format than ``fmt`` is an error rather than a
    silent rename, so ``-o fig.png --format pdf`` never writes PDF bytes into a
    ``.png``. With no suffix, the format's suffix is appended.
    """
    if fmt is not None and fmt.lower().lstrip(".") not in FORMATS:
        raise UserError(f"unknown figure format {fmt!r} (choose {', '.join(FORMATS)})")
    if not (np.isfinite(dpi) and DPI_MIN <= dpi <= DPI_MAX):
        raise UserError(f"--dpi must be between {DPI_MIN:g} and {DPI_MAX:g}, not {dpi:g}")
    fmt = None if fmt is None else fmt.lower().lstrip(".")
    p = Path(output) if output is not None else Path(f"{stem}.{fmt or 'png'}")
    # A directory (., .., an existing folder) has no file name to add a suffix to: refuse it as estimate does,
    # rather than fail on the empty name of '.' or write a file called '...png'.
    if output is not None and str(output) == "":  # Path("") is ".": say what estimate says
        raise UserError("-o needs a file name")
    if output is not None and (p.is_dir() or p.name in ("", ".", "..") or str(output).endswith(("/", "\\"))):
        raise UserError(f"output {output} is a directory")
    suffix = p.suffix.lower().lstrip(".")
    # '-' is stdout, as for estimate's tables, and a device or FIFO (/dev/stdout) is written into: neither is a
    # file name to add a suffix to (that wrote '-.png' and a regular file /dev/stdout.png)
    if output is not None and (str(output) == STDOUT or (suffix not in FORMATS and is_special(p))):
        fmt = fmt or "png"
        if fmt != "svg" and (sys.stdout.isatty() if str(output) == STDOUT else _is_terminal(p)):
            raise UserError(f"a {fmt.upper()} figure would be raw bytes on the terminal: redirect stdout "
                            f"(> figure.{fmt}) or give -o FILE")
        if str(output) != STDOUT:
            prepare_target(p)
        return p, fmt
    if not suffix:
        fmt = fmt or "png"
        p = p.with_name(f"{p.name}.{fmt}")
    elif suffix not in FORMATS:
        raise UserError(f"figure file must end in .png, .pdf or .svg: {p}")
    elif fmt is not None and fmt != suffix:
        raise UserError(f"{p} ends in .{suffix} but --format is {fmt}: make them agree (or drop one)")
    prepare_target(p)  # a directory or an unwritable folder: one line, as for the tables
    return p, fmt or suffix


def _is_terminal(path: Path) -> bool:
    """Whether ``path`` (a device: /dev/stdout, /dev/tty, /dev/pts/3) is a terminal, as ``-o -`` asks of stdout.
    Only a character device is opened to ask: opening and closing a FIFO would end its reader's input."""
    import os
    import stat

    try:
        if not stat.S_ISCHR(os.stat(path).st_mode):
            return False
        fd = os.open(path, os.O_WRONLY | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return False
    try:
        return os.isatty(fd)
    finally:
        os.close(fd)


def save_figure(fig, path: Path, fmt: str, dpi: float, record: Mapping[str, str] | None = None) -> Path:
    """Write ``fig`` atomically in ``fmt`` (``dpi``: PNG pixels, and the rasterised data points of PDF/SVG), with
    ``record`` (what made it, :mod:`gyroage.provenance`) in its metadata."""
    import matplotlib.pyplot as plt

    from gyroage.files import atomic_path

    try:
        if str(path) == STDOUT:  # whole, once drawn: a failed figure leaves no half a file on stdout
            buf = BytesIO()
            fig.savefig(buf, format=fmt, dpi=dpi, metadata=_metadata(fmt, record))
            write_stdout_bytes(buf.getvalue())
        else:
            with atomic_path(path) as tmp:
                fig.savefig(tmp, format=fmt, dpi=dpi, metadata=_metadata(fmt, record))
    finally:
        plt.close(fig)
    return path


def _metadata(fmt: str, record: Mapping[str, str] | None = None) -> dict:
    """The file's metadata: gyroage's version, and ``record`` as JSON where each format keeps free text (a PNG text
    chunk ``gyroage``; PDF's Subject and SVG's Description, their only free-text fields)."""
    from gyroage import __version__

    creator = f"gyroage {__version__}"
    out = {"Creator": creator} if fmt in ("pdf", "svg") else {"Software": creator}
    if record:
        out[{"pdf": "Subject", "svg": "Description"}.get(fmt, "gyroage")] = json.dumps(dict(record))
    return out
