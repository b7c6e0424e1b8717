"""Progress lines on stderr: rate and ETA, throttled, silenced by ``--quiet``."""

from __future__ import annotations

import sys
import time


class Progress:
    """Report ``done/total`` with rate and ETA at most every ``every`` seconds."""

    def __init__(self, label: str, total: int | None = None, unit: str = "", quiet: bool = False,
                 every: float = 1.0) -> None:
        self.label, self.total, self.unit, self.quiet, self.every = label, total, unit, quiet, every
        self.start = self._last = time.perf_counter()
        self.done = 0

    def update(self, n: int = 1, extra: str = "", force: bool = False) -> None:
        self.done += n
        now = time.perf_counter()
        if self.quiet or (not force and now - self._last < self.every):
            return
        self._last = now
        elapsed = max(now - self.start, 1e-9)
        rate = self.done / elapsed
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
