"""Delivery settings and the retry schedule (exponential backoff with jitter, then give up)."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class DeliveryPolicy:
    timeout_s: float = 10.0
    concurrency: int = 256
    # Webhook POSTs with our own HTTP/1.1 client (vtn/notify/webhooks.py); False: aiohttp's client.
    raw_http_client: bool = True
    # Up to this many webhook POSTs to one host go out together on one keep-alive connection
    # (pipelined, one write); 1: one request at a time per connection.
    pipeline: int = 8
    # Rows claimed at a time; the worker claims again when fewer than half that (or `concurrency`)
    # wait to be sent.
    batch: int = 1000
    # Outcomes settle in one transaction once this many are in, or after the linger, or when idle.
    settle_batch: int = 500
    settle_linger_s: float = 0.05
    # A claimed row belongs to its worker this long; after a crash another worker takes it.
    lease_s: float = 30.0
    base_delay_s: float = 1.0
    max_delay_s: float = 3600.0
    # Retries stop once the first attempt is this old; the subscription is then marked unhealthy.
    give_up_after_s: float = 86400.0
    jitter: float = 0.2
    poll_interval_s: float = 0.5
    # Finished rows (delivered or given up) and the delivery log are deleted once this old, in
    # batches every purge_interval_s; 0 keeps them forever (the tables then grow without bound).
    retention_s: float = 7 * 86400.0
    purge_interval_s: float = 300.0
    purge_batch: int = 10_000
    # Deliver to callback hosts resolving to private, loopback or reserved addresses? Checked at each
    # new connection, on the very addresses connected to, so that a host re-pointed after its
    # subscription was accepted (DNS rebinding) cannot reach the VTN's own network.
    allow_private: bool = True

    def __post_init__(self) -> None:
        if self.pipeline < 1:
            raise ValueError(f"delivery_pipeline must be at least 1 (1: no pipelining), not {self.pipeline}")
        # A row is attempted only if the attempt (at most timeout_s) ends within the row's lease, so
        # that no other process can take it over meanwhile; a lease no longer than the timeout would
        # leave every row unsent.
        if self.lease_s <= self.timeout_s:
            raise ValueError(
                f"the outbox lease ({self.lease_s} s) must be longer than the delivery timeout "
                f"({self.timeout_s} s)"
            )

    def next_delay(self, attempts: int, rng: random.Random) -> float:
        """Delay before retry number `attempts` (1 = first retry): base * 2^(n-1), capped, +- jitter."""
        delay = min(self.max_delay_s, self.base_delay_s * 2.0 ** max(0, attempts - 1))
        return max(0.0, delay * (1 + rng.uniform(-self.jitter, self.jitter)))
