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
    """`rate` requests per second per key, bursts up to `burst`; rate 0 turns it off.

    A token bucket kept as one number per key: the moment the key's bucket was (or would have
    been) empty, from which its tokens now follow (`(now - empty) * rate`, at most `burst`). One
    float per key instead of a (tokens, at) tuple of two: ~100 bytes less per client, ~10 MB at
    100,000 polling VENs, and one allocation per request instead of three.
    """

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
        self._empty: dict[str, float] = {}  # key -> when its bucket was empty
        self._step = 1.0 / rate if rate > 0 else 0.0  # seconds per token
        self._full = self.burst * self._step  # seconds from empty to full

    def take(self, key: str) -> float:
        """Spend one token of `key`: 0.0 if allowed, else the seconds until one is available."""
        if self.rate <= 0:
            return 0.0
        now = self._clock()
        empty = self._empty.get(key)
        if empty is None or empty < now - self._full:
            empty = now - self._full  # a full bucket: tokens beyond `burst` are not saved up
        after = empty + self._step  # when the next token is there
        if after > now:
            return after - now
        if len(self._empty) >= self._max_keys and key not in self._empty:
            # Full buckets are the default: forgetting them all loses nothing but partial debts.
            self._empty.clear()
        self._empty[key] = after
        return 0.0


def retry_after(seconds: float) -> str:
    """The Retry-After header value: whole seconds, at least 1."""
    return str(max(1, math.ceil(seconds)))
