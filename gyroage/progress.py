"""Progress lines on stderr: rate and ETA, throttled, silenced by ``--quiet``."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator, Mapping
from typing import TypeVar

T = TypeVar("T")


class Progress:
    """Report ``done/total`` with rate and ETA at most every ``every`` seconds.

    Shared by every long command (estimate, train, validate, crossmatch)::

        with Progress("validate", total=len(clusters), unit="clusters", quiet=quiet) as p:
            for c in p.track(clusters):
                ...

    ``quiet=True`` silences everything, including :meth:`log`.
    """

    def __init__(self, label: str, total: int | None = None, unit: str = "", quiet: bool = False,
                 every: float = 1.0) -> None:
        self.label, self.total, self.unit, self.quiet, self.every = label, total, unit, quiet, every
        self.start = self._last = time.perf_counter()
        self.done = 0
        self.skipped = 0  # of done: taken over (a resumed run's finished rows), not in the rate

    def skip(self, n: int) -> None:
        """Count ``n`` as done without doing them (rows a resumed run takes over): in ``done``, not in the rate."""
        self.done += n
        self.skipped += n

    def update(self, n: int = 1, extra: str = "", force: bool = False) -> None:
        self.done += n
        now = time.perf_counter()
        if self.quiet or (not force and (now - self._last < self.every or (self.total and self.done >= self.total))):
            return  # the last line is close()'s, with its summary
        self._last = now
        elapsed = max(now - self.start, 1e-9)
        rate = (self.done - self.skipped) / elapsed
        parts = [f"{self.label}: {self.done}"]
        if self.total:
            parts[0] += f"/{self.total}"
            if rate > 0 and self.done < self.total:
                parts.append(f"ETA {(self.total - self.done) / rate:.0f} s")
        parts.append(f"{rate:.3g} {self.unit}/s".strip())
        if extra:
            parts.append(extra)
        print(" | ".join(parts), file=sys.stderr, flush=True)

    def log(self, message: str) -> None:
        if not self.quiet:
            print(f"{self.label}: {message}", file=sys.stderr, flush=True)

    def close(self, extra: str = "") -> None:
        self.update(0, extra=extra, force=True)

    def track(self, items: Iterable[T], weight=None) -> Iterator[T]:
        """Yield ``items``, counting each (or ``weight(item)``) as done after its body ran."""
        for item in items:
            yield item
            self.update(weight(item) if weight else 1)

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()


def counts_text(counts: Mapping[str, int]) -> str:
    """Status counts for a closing progress line: ``name count, ...`` in name order."""
    return ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
