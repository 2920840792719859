"""The sandbox's request rate: a sliding one-minute window per sandbox client, in this process.

Kept on the front-end's object (one per application), not in the store: it only guards against a
runaway script, and a restart forgetting it is harmless. The count limit, which must hold across
processes, is checked in the write's transaction (vtn/services/sandbox.py).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from shared.errors import TooManyRequests

WINDOW_S = 60.0


class RateLimit:
    def __init__(self, per_minute: int, clock: Callable[[], float]) -> None:
        self._per_minute = per_minute
        self._clock = clock
        self._seen: dict[str, deque[float]] = {}

    def take(self, client_id: str) -> None:
        """Count one request of `client_id`, or refuse it with a 429 problem saying when to retry."""
        now = self._clock()
        seen = self._seen.setdefault(client_id, deque())
        while seen and seen[0] <= now - WINDOW_S:
            seen.popleft()
        if len(seen) >= self._per_minute:
            wait = max(1, int(seen[0] + WINDOW_S - now + 0.999))
            raise TooManyRequests(
                f"sandbox limit of {self._per_minute} requests a minute reached "
                f"(sandbox_requests_per_minute): retry in {wait} s"
            )
        seen.append(now)
