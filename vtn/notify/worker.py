"""The delivery worker: claims outbox rows, sends them, settles the outcomes in bulk.

Webhooks are POSTed to the callback URL with the subscription's bearer token, the notification id
(`X-Notification-ID`, for de-duplication by receivers) and, when the subscription has a secret, the
`X-Payload-Signature` HMAC. A 2xx answer settles the row; anything else is retried with backoff.
Rows for the MQTT sink are handed to the publisher, which confirms them at QoS 1.

Flow: the pump task claims rows into a queue whenever it runs low; up to `concurrency` sender tasks
take rows from the queue one at a time, or the next few going to the same host when the client would
pipeline them there (`pipeline`, WebhookClient.post_many: one write, one wake-up for the lot); the
pump settles finished rows in batches, one transaction each, while the senders go on. A slow
receiver therefore holds up one sender, not a whole batch.
The next row of a sink becomes claimable only once the previous one is settled (outbox ordering).
A sender starts a row only if the attempt (bounded by `timeout_s`) ends before the row's lease does;
a row that waited too long is released unsent, so no other process can take it over mid-attempt.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import secrets
import time
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import datetime

from shared.durations import to_us
from vtn.notify.mqtt import is_mqtt_sink
from vtn.notify.policy import DeliveryPolicy
from vtn.notify.webhooks import WebhookClient
from vtn.observability.logs import redact_url
from vtn.storage import Store
from vtn.storage.outbox import Attempt, Claimed, Failure

log = logging.getLogger("vtn.notify")

# Publishes one claimed MQTT row; raises on failure. Provided by vtn.notify.mqtt when a broker is set.
Publisher = Callable[[Claimed], Awaitable[None]]
# Told (sink kind "webhook"/"mqtt", outcome "delivered"/"retry"/"given_up", count) after each settle.
OutcomeSink = Callable[[str, str, int], None]


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
        self._webhooks: WebhookClient | None = None
        self._task: asyncio.Task[None] | None = None
        self._queue: deque[Claimed] = deque()  # claimed, not yet started
        self._done: list[tuple[Claimed, Attempt]] = []  # attempted, not yet settled
        self._unsent: list[Claimed] = []  # to release: their lease would run out mid-attempt
        self._senders: set[asyncio.Task[None]] = set()
        self._kick = asyncio.Event()
        # A claim may find rows: woken by a write, rows settled, or polled since the last short claim.
        self._more = True
        self._next_purge = 0.0  # loop time of the next purge of old finished rows
        self._stopping = False
        self.on_outcomes: OutcomeSink | None = None
        # Claim again while there is still work queued: a claim takes a few tens of milliseconds
        # (more on a busy PostgreSQL), long enough for the senders to run dry otherwise.
        self._low_water = max(policy.concurrency, policy.batch // 2)

    @property
    def running(self) -> bool:
        """Started, and its loop has not ended (a crashed loop makes the VTN not ready)."""
        return self._task is not None and not self._task.done()

    def wake(self) -> None:
        self._more = True
        self._kick.set()

    async def start(self) -> None:
        self._webhooks = WebhookClient(
            self.policy.concurrency,
            self.policy.timeout_s,
            library=not self.policy.raw_http_client,
            allow_private=self.policy.allow_private,
        )
        # The first purge waits a little: a restart is not the moment for extra write transactions.
        self._next_purge = asyncio.get_running_loop().time() + min(60.0, self.policy.purge_interval_s)
        self._task = asyncio.create_task(self._run(), name="outbox-worker")

    async def stop(self) -> None:
        self._stopping = True
        if self._task is not None:
            # Python 3.11's wait_for can swallow a cancellation that races with its inner future
            # completing (the kick), leaving the loop running: cancel until the task has ended.
            while not self._task.done():
                self._task.cancel()
                await asyncio.wait([self._task], timeout=1.0)
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        senders = list(self._senders)
        for task in senders:
            task.cancel()
        await asyncio.gather(*senders, return_exceptions=True)
        # Settle what finished and give back what never started, so that a restart need not wait
        # for those leases to run out. Attempts cut short stay leased: they are retried (at least once).
        self._unsent.extend(self._queue)
        self._queue.clear()
        if self._done or self._unsent:
            try:
                await asyncio.wait_for(self._settle(), self.policy.timeout_s)
            except Exception:
                log.warning("could not settle %d deliveries on stop", len(self._done) + len(self._unsent))
        if self._webhooks is not None:
            await self._webhooks.close()

    async def _run(self) -> None:
        while not self._stopping:
            self._kick.clear()
            try:
                await self._step()
            except asyncio.CancelledError:
                raise
            except Exception:
                # The store may be briefly unavailable; unsettled outcomes are kept for the next round.
                log.exception("delivery round failed; retrying")
                await asyncio.sleep(self.policy.poll_interval_s)
                self._more = True
                continue
            if self._ready():
                continue
            await self._purge_if_due()
            unsettled = bool(self._done or self._unsent)
            try:
                await asyncio.wait_for(
                    self._kick.wait(),
                    self.policy.settle_linger_s if unsettled else self.policy.poll_interval_s,
                )
            except TimeoutError:
                self._more = True  # poll: retries fall due, other processes enqueue

    async def _purge_if_due(self) -> None:
        """Delete finished rows and log entries past the retention, a batch per transaction.

        Every process's worker purges (the deletes are idempotent); one that fails is retried at
        the next interval, and a failure never stops deliveries.
        """
        loop_time = asyncio.get_running_loop().time()
        if self.policy.retention_s <= 0 or loop_time < self._next_purge:
            return
        self._next_purge = loop_time + self.policy.purge_interval_s
        before_us = to_us(self.clock()) - int(self.policy.retention_s * 1e6)
        try:
            while True:
                async with self.store.transaction() as tx:
                    gone = await tx.outbox.purge(before_us, self.policy.purge_batch)
                if gone < self.policy.purge_batch:
                    break
                await asyncio.sleep(0)  # let deliveries and requests in between batches
        except Exception:
            log.warning(
                "could not purge old outbox rows; retrying in %.0f s",
                self.policy.purge_interval_s,
                exc_info=True,
            )

    def _ready(self) -> bool:
        """Is there work for the pump right now (rather than after a wake-up or a timeout)?"""
        unsettled = len(self._done) + len(self._unsent)
        if unsettled >= self.policy.settle_batch or (unsettled and not self._senders):
            return True
        return self._more and len(self._queue) < self._low_water

    async def _step(self) -> None:
        if self._done or self._unsent:
            await self._settle()
            self._more = True  # settled rows may have unblocked the next rows of their sinks
        if self._more and len(self._queue) < self._low_water:
            now_us = to_us(self.clock())
            async with self.store.transaction() as tx:
                claimed = await tx.outbox.claim(
                    self.owner, now_us, int(self.policy.lease_s * 1e6), self.policy.batch
                )
            self._more = len(claimed) == self.policy.batch
            self._queue.extend(claimed)
            while len(self._senders) < min(self.policy.concurrency, len(self._queue)):
                task = asyncio.create_task(self._sender())
                self._senders.add(task)
                task.add_done_callback(self._sender_done)

    def _sender_done(self, task: asyncio.Task[None]) -> None:
        self._senders.discard(task)
        if not self._senders:
            self._kick.set()  # the last one: settle now rather than after the linger

    async def _sender(self) -> None:
        timeout_us = int(self.policy.timeout_s * 1e6)
        depth = self.policy.pipeline if self.policy.raw_http_client else 1
        queue = self._queue
        while queue:
            item = queue.popleft()
            now_us = to_us(self.clock())
            if now_us + timeout_us >= item.lease_until_us:
                self._unsent.append(item)
            elif (
                depth > 1
                and queue
                and not is_mqtt_sink(item.sink)
                and len(batch := self._batch(item, depth, now_us + timeout_us)) > 1
            ):
                await self._send_many(batch, now_us)
            else:
                attempt = await self._send(item, now_us)
                # Appended only now: the pump swaps in a new list while sends are in flight.
                self._done.append((item, attempt))
            if len(self._done) + len(self._unsent) >= self.policy.settle_batch or (
                self._more and len(queue) < self._low_water
            ):
                self._kick.set()

    def _batch(self, first: Claimed, depth: int, ends_us: int) -> list[Claimed]:
        """`first` and the rows after it in the queue that go to the same pool, as many as the
        client would pipeline there now, whose lease outlasts an attempt ending at `ends_us`."""
        assert self._webhooks is not None, "start() the worker first"
        client, queue = self._webhooks, self._queue
        batch = [first]
        try:
            key = client.pool_key(first)
            depth = client.depth(key, depth)
            while len(batch) < depth and queue:
                nxt = queue[0]
                if is_mqtt_sink(nxt.sink) or ends_us >= nxt.lease_until_us or client.pool_key(nxt) != key:
                    break
                batch.append(queue.popleft())
        except ValueError:
            pass  # a callback URL that does not parse: that row fails on its own when sent
        return batch

    async def _send_many(self, batch: list[Claimed], at_us: int) -> None:
        """Rows of one pool, pipelined on one connection (WebhookClient.post_many)."""
        assert self._webhooks is not None, "start() the worker first"
        started = time.perf_counter()
        outcomes = await self._webhooks.post_many(batch)
        ms = int((time.perf_counter() - started) * 1000)
        done = self._done
        for item, outcome in zip(batch, outcomes, strict=True):
            if outcome is None:
                self._unsent.append(item)  # not answered after a keep-alive close: not attempted
            elif isinstance(outcome, int):
                error = None if 200 <= outcome < 300 else f"HTTP {outcome}"
                done.append((item, Attempt(item.notification_id, at_us, outcome, error, ms)))
            else:
                error = f"{type(outcome).__name__}: {outcome}"[:500]
                done.append((item, Attempt(item.notification_id, at_us, None, error, ms)))

    async def _send(self, item: Claimed, at_us: int) -> Attempt:
        started = time.perf_counter()
        status: int | None = None
        error: str | None = None
        try:
            if is_mqtt_sink(item.sink):
                if self.publisher is None:
                    raise RuntimeError("no MQTT broker configured")
                await self.publisher(item)
            else:
                assert self._webhooks is not None, "start() the worker first"
                status = await self._webhooks.post(item)
                if not 200 <= status < 300:
                    error = f"HTTP {status}"
        except Exception as exc:
            # Whatever went wrong is this attempt's failure (retried, logged); it must not end the sender.
            error = f"{type(exc).__name__}: {exc}"[:500]
        return Attempt(
            item.notification_id, at_us, status, error, int((time.perf_counter() - started) * 1000)
        )

    async def _settle(self) -> None:
        """Record the outcomes gathered so far in one transaction (kept for the next try if it fails)."""
        done, self._done = self._done, []
        unsent, self._unsent = self._unsent, []
        try:
            await self._write(done, unsent)
        except BaseException:
            self._done[:0] = done
            self._unsent[:0] = unsent
            raise

    async def _write(self, done: list[tuple[Claimed, Attempt]], unsent: list[Claimed]) -> None:
        now_us = to_us(self.clock())
        ok: list[Claimed] = []
        retries: list[tuple[int, int]] = []
        dead: list[int] = []
        failures: list[Failure] = []
        for item, attempt in done:
            if attempt.error is None:
                ok.append(item)
                continue
            gone = (now_us - item.created_us) / 1e6 >= self.policy.give_up_after_s
            if gone:
                dead.append(item.id)
                log.warning(
                    "giving up on notification %s to %s (subscription %s) after %d attempts: %s",
                    item.notification_id,
                    item.target if is_mqtt_sink(item.sink) else redact_url(item.target),
                    item.subscription_id,
                    item.attempts + 1,
                    attempt.error,
                )
            else:
                delay = self.policy.next_delay(item.attempts + 1, self.rng)
                retries.append((item.id, now_us + int(delay * 1e6)))
            if item.subscription_id:
                failures.append(Failure(item.subscription_id, now_us, attempt.error, gone))
        async with self.store.transaction() as tx:
            outbox = tx.outbox
            await outbox.delivered(self.owner, [c.id for c in ok], now_us)
            await outbox.retry_later(self.owner, retries)
            await outbox.give_up(self.owner, dead, now_us)
            await outbox.release(self.owner, [c.id for c in unsent], now_us)
            await outbox.log_attempts(done)
            await outbox.mark_healthy([c.subscription_id for c in ok if c.subscription_id], now_us)
            await outbox.record_failures(failures)
        if self.on_outcomes is not None:
            self._count(done, dead)

    def _count(self, done: list[tuple[Claimed, Attempt]], dead: list[int]) -> None:
        assert self.on_outcomes is not None
        gone = set(dead)
        counts: dict[tuple[str, str], int] = {}
        for item, attempt in done:
            outcome = "delivered" if attempt.error is None else "given_up" if item.id in gone else "retry"
            key = ("mqtt" if is_mqtt_sink(item.sink) else "webhook", outcome)
            counts[key] = counts.get(key, 0) + 1
        for (kind, outcome), n in counts.items():
            self.on_outcomes(kind, outcome, n)
