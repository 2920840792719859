"""The delivery worker: claims outbox rows, sends them, settles the outcome in one transaction.

Webhooks are POSTed to the callback URL with the subscription's bearer token, the notification id
(`X-Notification-ID`, for de-duplication by receivers) and, when the subscription has a secret, the
`X-Payload-Signature` HMAC. A 2xx answer settles the row; anything else is retried with backoff.
Rows for the MQTT sink are handed to the publisher, which confirms them at QoS 1.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import secrets
import time
from collections.abc import Awaitable, Callable
from datetime import datetime

import aiohttp

from vtn.notify.policy import DeliveryPolicy
from vtn.storage import Store
from vtn.storage._rows import to_us
from vtn.storage.outbox import Attempt, Claimed

log = logging.getLogger("vtn.notify")

# Publishes one claimed MQTT row; raises on failure. Provided by vtn.notify.mqtt when a broker is set.
Publisher = Callable[[Claimed], Awaitable[None]]


class DeliveryWorker:
    def __init__(
        self,
        store: Store,
        policy: DeliveryPolicy,
        *,
        clock: Callable[[], datetime],
        publisher: Publisher | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.store = store
        self.policy = policy
        self.clock = clock
        self.publisher = publisher
        self.rng = rng or random.Random()
        self.owner = f"w-{secrets.token_hex(6)}"
        self._wakeup = asyncio.Event()
        self._session: aiohttp.ClientSession | None = None
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        self._wakeup.set()

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=self.policy.concurrency),
            timeout=aiohttp.ClientTimeout(total=self.policy.timeout_s),
        )
        self._task = asyncio.create_task(self._run(), name="outbox-worker")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._session is not None:
            await self._session.close()

    async def _run(self) -> None:
        while True:
            try:
                busy = await self.deliver_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                # The store may be briefly unavailable; the rows stay in the outbox for the next round.
                log.exception("delivery round failed; retrying")
                busy = 0
            if busy:
                continue
            self._wakeup.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), self.policy.poll_interval_s)

    async def deliver_once(self) -> int:
        """Claim one batch, send it, settle it; returns how many rows were handled."""
        now_us = to_us(self.clock())
        async with self.store.transaction() as tx:
            claimed = await tx.outbox.claim(
                self.owner, now_us, int(self.policy.lease_s * 1e6), self.policy.batch
            )
        if not claimed:
            return 0
        gate = asyncio.Semaphore(self.policy.concurrency)

        async def guarded(item: Claimed) -> tuple[Claimed, Attempt]:
            async with gate:
                return item, await self._send(item)

        outcomes = await asyncio.gather(*(guarded(c) for c in claimed))
        await self._settle(outcomes)
        return len(claimed)

    async def _send(self, item: Claimed) -> Attempt:
        started = time.perf_counter()
        at_us = to_us(self.clock())
        status: int | None = None
        error: str | None = None
        try:
            if item.sink == "mqtt":
                if self.publisher is None:
                    raise RuntimeError("no MQTT broker configured")
                await self.publisher(item)
            else:
                status = await self._post(item)
                if not 200 <= status < 300:
                    error = f"HTTP {status}"
        except (aiohttp.ClientError, TimeoutError, OSError, RuntimeError) as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
        return Attempt(
            item.notification_id, at_us, status, error, int((time.perf_counter() - started) * 1000)
        )

    async def _post(self, item: Claimed) -> int:
        assert self._session is not None, "start() the worker first"
        headers = {"Content-Type": "application/json", "X-Notification-ID": item.notification_id}
        if item.bearer_token:
            headers["Authorization"] = f"Bearer {item.bearer_token}"
        if item.signature:
            headers["X-Payload-Signature"] = item.signature
        if item.subscription_id:
            headers["X-Subscription-ID"] = item.subscription_id
        async with self._session.post(
            item.target, data=item.body.encode(), headers=headers, allow_redirects=False
        ) as resp:
            await resp.read()
            return resp.status

    async def _settle(self, outcomes: list[tuple[Claimed, Attempt]]) -> None:
        now_us = to_us(self.clock())
        ok = [c for c, a in outcomes if a.error is None]
        async with self.store.transaction() as tx:
            await tx.outbox.delivered([c.id for c in ok], now_us)
            await tx.outbox.log_attempts(outcomes)
            await tx.outbox.mark_healthy([c.subscription_id for c in ok if c.subscription_id], now_us)
            for item, attempt in outcomes:
                if attempt.error is None:
                    continue
                age_s = (now_us - item.created_us) / 1e6
                dead = age_s >= self.policy.give_up_after_s
                if dead:
                    await tx.outbox.give_up(item.id, now_us)
                    log.warning(
                        "giving up on notification %s to %s: %s",
                        item.notification_id,
                        item.target,
                        attempt.error,
                    )
                else:
                    delay = self.policy.next_delay(item.attempts + 1, self.rng)
                    await tx.outbox.retry_later(item.id, now_us + int(delay * 1e6))
                if item.subscription_id:
                    await tx.outbox.record_health(
                        item.subscription_id, False, now_us, attempt.error, unhealthy=dead
                    )
