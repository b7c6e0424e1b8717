"""Prior tables (``--prior-table``): read from CSV, every row used or refused by name (:mod:`gyroage.core.priors`
builds the tabulated prior from them)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gyroage.errors import UserError

LN10 = float(np.log(10.0))  # the one ln 10 (priors imports it: a per-Myr density is LN10 * t per dex)


def read_prior_table(path: str | Path) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """(log10 age, log density per dex) from a CSV with ``log10_age`` or ``age_myr`` and ``density``."""
    return read_table(path)[0]


def read_table(path: str | Path) -> tuple[tuple[tuple[float, ...], tuple[float, ...]], str]:
    """:func:`read_prior_table`'s table, and which age column (``log10_age`` or ``age_myr``) it was read from."""
    import pandas as pd

    from gyroage import io
    from gyroage.pandas_compat import CSV_FLOAT_OPTIONS

    p = Path(path)
    if not p.is_file():
        raise UserError(f"prior table not found: {p}")
    try:
        frame = pd.read_csv(p, **CSV_FLOAT_OPTIONS)  # exact decimals under pandas < 3.1 too
    except Exception as exc:  # pandas raises many types for a bad file
        raise UserError(f"cannot read prior table {p}: {str(exc).splitlines()[0]}") from None
    dcol, xcol, tcol = (io.find_column(frame.columns, name) for name in ("density", "log10_age", "age_myr"))
    if dcol is None or (xcol is None and tcol is None):
        raise UserError(f"prior table {p} needs columns density and log10_age or age_myr (comma-separated, the "
                        f"header first){io.file_has(frame.columns, 8, '; it has ', quote=True)}")
    if xcol is not None and tcol is not None:  # which one was meant is not ours to guess: their ages may differ
        raise UserError(f"prior table {p} has both log10_age and age_myr: keep the one its ages are in")
    dens = io.numeric(frame, dcol)
    acol = xcol if xcol is not None else tcol
    age = io.numeric(frame, acol)
    # Every row is used or refused by name: a dropped row changed the prior without a word (a negative or unreadable
    # density was a flat prior, an age of 0 Myr cut the prior off below the next row's age).
    refuse_rows(p, frame, acol, ~np.isfinite(age), "ages must be numbers")
    if xcol is None:
        refuse_rows(p, frame, acol, age <= 0, "a table must start at an age > 0")
    refuse_rows(p, frame, dcol, ~(np.isfinite(dens) & (dens >= 0)),
                 "density must be a finite number >= 0")
    if xcol is not None:
        x = age
        jac = np.ones_like(x)
    else:
        t = age
        x = np.log10(t * 1e6)
        jac = t * LN10  # p per dex = p per Myr * dt/dx
    dens = dens * jac
    if len(x) < 2 or not np.any(dens > 0):
        # every density is a number >= 0 by now (refuse_rows): what can still be missing is rows, or mass
        what = f"has {len(x)} row{'' if len(x) == 1 else 's'}" if len(x) < 2 else "has a density of 0 in every row"
        raise UserError(f"prior table {p} {what}: it needs at least two rows, and a density above 0 in one")
    order = np.argsort(x)
    x, dens = x[order], dens[order]
    if np.any(np.diff(x) <= 0):
        raise UserError(f"prior table {p} has repeated ages")
    with np.errstate(divide="ignore"):
        lp = np.log(dens)
    return (tuple(float(v) for v in x), tuple(float(v) for v in lp)), "log10_age" if xcol is not None else "age_myr"


# A table whose ages (age_myr) all lie at or below this many Myr, under age bounds reaching GYR_BOUND_MYR or beyond, reads
# as one given in Gyr (0.1-13): it dated every star ~10 Myr.
GYR_LIKE_MYR = 14.0
GYR_BOUND_MYR = 1000.0


def refuse_gyr_table(path, table: tuple[tuple[float, ...], tuple[float, ...]], column: str,
                      bounds: list[float]) -> None:
    """Refuse an ``age_myr`` table that reads as one in Gyr (every age <= :data:`GYR_LIKE_MYR`) under bounds that
    reach :data:`GYR_BOUND_MYR`: the tenth of the bounds it covers would date every star young. A prior of young ages
    alone passes with an --age-max-myr near its last age."""
    if column != "age_myr":
        return
    last = 10 ** (table[0][-1] - 6)
    if last <= GYR_LIKE_MYR * (1 + 1e-9) and 10 ** (bounds[1] - 6) >= GYR_BOUND_MYR:
        first = 10 ** (table[0][0] - 6)
        raise UserError(f"prior table {path}: its ages (age_myr) run {first:.4g}-{last:.4g} Myr, a sliver of the age "
                        f"bounds ({10 ** (bounds[0] - 6):.6g}-{10 ** (bounds[1] - 6):.6g} Myr): did you give Gyr? (age_myr "
                        f"is in Myr, 13 Gyr is 13000); for a prior of young ages alone, add --age-max-myr {last:.4g}")


def refuse_rows(path: Path, frame, column: str, bad: np.ndarray, why: str) -> None:
    """Refuse a prior table whose ``bad`` rows' ``column`` is unusable, in one line naming them (1-based data rows,
    as read) and ``why``."""
    rows = np.flatnonzero(bad)
    if rows.size:
        cells = frame[column].iloc[rows[:3]]
        shown = ", ".join(f"{i + 1} ({column} {v!r})" for i, v in zip(rows[:3], cells.tolist()))
        more = f" and {rows.size - 3} more" if rows.size > 3 else ""
        raise UserError(f"prior table {path}: {why}: data row{'s' if rows.size > 1 else ''} {shown}{more}")
