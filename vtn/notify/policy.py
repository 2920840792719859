"""Delivery settings and the retry schedule (exponential backoff with jitter, then give up)."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class DeliveryPolicy:
    timeout_s: float = 10.0
    concurrency: int = 256
    batch: int = 1000
    # A claimed row belongs to its worker this long; after a crash another worker takes it.
    lease_s: float = 30.0
    base_delay_s: float = 1.0
    max_delay_s: float = 3600.0
    # Retries stop once the first attempt is this old; the subscription is then marked unhealthy.
    give_up_after_s: float = 86400.0
    jitter: float = 0.2
    poll_interval_s: float = 0.5

    def next_delay(self, attempts: int, rng: random.Random) -> float:
        """Delay before retry number `attempts` (1 = first retry): base * 2^(n-1), capped, +- jitter."""
        delay = min(self.max_delay_s, self.base_delay_s * 2.0 ** max(0, attempts - 1))
        return max(0.0, delay * (1 + rng.uniform(-self.jitter, self.jitter)))
