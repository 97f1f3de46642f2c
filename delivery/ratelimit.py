"""A token bucket shared by the worker threads of one transport (``BUZON_SEND_RATE``)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class TokenBucket:
    """At most ``rate`` acquisitions per second on average, bursts up to ``burst``; 0 = unlimited.

    Each caller reserves the next free slot under the lock and sleeps outside it, so waiting
    threads never hold each other up and the order of reservations is the order of sends.
    """

    def __init__(
        self,
        rate: float,
        burst: float | None = None,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.rate = float(rate)
        self.burst = max(1.0, float(burst if burst is not None else min(rate, 10.0) or 1.0))
        self._monotonic = monotonic
        self._sleep = sleep
        self._lock = threading.Lock()
        # Instant the next slot frees up; starting ``burst`` slots back allows an initial burst.
        self._next = monotonic() - ((self.burst - 1) / self.rate if self.rate > 0 else 0.0)

    def acquire(self) -> float:
        """Wait for a slot; return the seconds waited."""
        if self.rate <= 0:
            return 0.0
        interval = 1.0 / self.rate
        with self._lock:
            now = self._monotonic()
            # Unused capacity accumulates up to ``burst`` slots, no more.
            start = max(self._next, now - (self.burst - 1) * interval)
            self._next = start + interval
        wait = start - now
        if wait > 0:
            self._sleep(wait)
            return wait
        return 0.0
