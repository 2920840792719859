"""Token-bucket rate limits keyed by client id or remote address (in this process's memory).

Why in memory: they protect this process's event loop and database pool from floods, which is a
per-process resource; N processes behind one port admit N times the rate, which docs/security.md
states. What must hold across processes (the login lockout, quotas) lives in the database.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable


class RateLimiter:
    """`rate` requests per second per key, bursts up to `burst`; rate 0 turns it off."""

    def __init__(
        self,
        rate: float,
        burst: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 100_000,
    ) -> None:
        self.rate = rate
        self.burst = max(1, burst)
        self._clock = clock
        self._max_keys = max_keys
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)

    def take(self, key: str) -> float:
        """Spend one token of `key`: 0.0 if allowed, else the seconds until one is available."""
        if self.rate <= 0:
            return 0.0
        now = self._clock()
        tokens, at = self._buckets.get(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - at) * self.rate)
        if tokens < 1.0:
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / self.rate
        if len(self._buckets) >= self._max_keys and key not in self._buckets:
            # Full buckets are the default: forgetting them all loses nothing but partial debts.
            self._buckets.clear()
        self._buckets[key] = (tokens - 1.0, now)
        return 0.0


def retry_after(seconds: float) -> str:
    """The Retry-After header value: whole seconds, at least 1."""
    return str(max(1, math.ceil(seconds)))
