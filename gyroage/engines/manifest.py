"""The checks a resumable run's manifest entries pass before ``--resume`` trusts them
(:class:`gyroage.engines.sinks.Sidecar`): their end-of-run counts are summed into the run's lines, so a damaged or
hand-edited entry is computed again, never believed."""

from __future__ import annotations

import math

from gyroage.core.photometry import SEQUENCE_COLUMN


def entry_fault(entry) -> str | None:
    """Why a manifest's chunk entry cannot be trusted (a field missing or of the wrong type, a count of more stars
    than its rows: a hand-edited manifest's end-of-run counts would be summed into the run's lines), or None."""
    def digest_ok(d) -> bool:
        return isinstance(d, dict) and _count(d.get("bytes")) and isinstance(d.get("sha256"), str)

    if not (isinstance(entry, dict) and _count(entry.get("rows")) and isinstance(entry.get("counts"), dict)
            and all(isinstance(k, str) and _count(v) for k, v in entry["counts"].items())):
        return "listed without its rows or status counts"
    rows = entry["rows"]
    unreddened = entry.get("unreddened", [0] * len(SEQUENCE_COLUMN))
    for field, ok in (("clipped", _count(entry.get("clipped", 0), rows)),
                      ("unreddened", _counts(unreddened) and sum(unreddened) <= rows),
                      ("narrow", entry.get("narrow") is None or _narrow(entry["narrow"], rows))):
        if not ok:
            return f"listed with a bad {field} count (a count of its {rows} rows)"
    if not digest_ok(entry) or ("posteriors" in entry and not digest_ok(entry["posteriors"])):
        return "listed without its size and SHA-256"
    return None


def _count(v, most: int | None = None) -> bool:
    """A whole number >= 0 (and <= ``most``, when given)."""
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0 and (most is None or v <= most)


def _narrow(v, rows: int) -> bool:
    """An mcmc chunk's [stars that took the grid's posterior, their least prior width (null: none), those with a
    period error] (:meth:`Sidecar.add`), both counts of its ``rows``."""
    return (isinstance(v, list) and len(v) == 3 and _count(v[0], rows) and _count(v[2], rows)
            and (v[1] is None or (isinstance(v[1], (int, float)) and not isinstance(v[1], bool)
                                  and math.isfinite(v[1]) and v[1] >= 0)))


def _counts(v) -> bool:
    """A chunk's unreddened rows, one count per :data:`~gyroage.core.photometry.SEQUENCE_COLUMN` key."""
    return isinstance(v, list) and len(v) == len(SEQUENCE_COLUMN) and all(map(_count, v))
