"""The outbox and its delivery worker: ordering, leases, crash safety, bulk settling, health."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy import select, update

from shared.durations import to_us, utcnow
from vtn.notify.policy import DeliveryPolicy
from vtn.notify.worker import DeliveryWorker
from vtn.storage import Store, open_store
from vtn.storage.outbox import Attempt, Claimed, Failure, OutboxItem
from vtn.storage.tables import outbox, subscription_health

LEASE_US = 30_000_000


@pytest.fixture
async def store(db_url: str) -> AsyncIterator[Store]:
    s = open_store(db_url)
    yield s
    await s.close()


def row(sub: str, n: int, url: str = "http://127.0.0.1:9/h") -> OutboxItem:
    return OutboxItem(f"{sub}-{n}", f"sub:{sub}", sub, url, None, None, f'{{"n":{n}}}')


async def enqueue(store: Store, items: list[OutboxItem], now_us: int = 0) -> None:
    async with store.transaction() as tx:
        await tx.outbox.enqueue(items, now_us)


async def claim(store: Store, owner: str, now_us: int, lease_us: int = LEASE_US) -> list[str]:
    async with store.transaction() as tx:
        return [c.notification_id for c in await tx.outbox.claim(owner, now_us, lease_us, 100)]


async def ids_of(store: Store, notification_ids: list[str]) -> list[int]:
    async with store.read() as tx:
        query = select(outbox.c.id).where(outbox.c.notification_id.in_(notification_ids))
        return sorted(r[0] for r in (await tx.conn.execute(query)).all())


# ------------------------------------------------------------------------------------------- outbox


async def test_only_the_head_of_each_sink_is_claimed_and_only_once(store: Store) -> None:
    await enqueue(store, [row("a", 1), row("a", 2), row("b", 1)])
    assert await claim(store, "w1", 10) == ["a-1", "b-1"]
    assert await claim(store, "w2", 10) == []  # leased, and a-2 waits behind a-1
    async with store.transaction() as tx:
        await tx.outbox.delivered("w1", await ids_of(store, ["a-1"]), 11)
    assert await claim(store, "w2", 12) == ["a-2"]


async def test_an_expired_lease_is_taken_over_and_the_old_holder_cannot_settle(store: Store) -> None:
    await enqueue(store, [row("a", 1), row("a", 2)])
    assert await claim(store, "crashed", 10, lease_us=100) == ["a-1"]
    assert await claim(store, "w2", 50) == []  # still leased
    assert await claim(store, "w2", 111) == ["a-1"]  # the lease ran out: taken over
    (a1,) = await ids_of(store, ["a-1"])
    async with store.transaction() as tx:
        await tx.outbox.retry_later("crashed", [(a1, 0)])  # a late settle by the old holder: ignored
        await tx.outbox.delivered("crashed", [a1], 112)
    assert await claim(store, "w3", 113) == []  # a-1 is still w2's, so a-2 still waits
    async with store.transaction() as tx:
        await tx.outbox.delivered("w2", [a1], 114)
        assert await tx.outbox.pending_count() == 1
    assert await claim(store, "w3", 115) == ["a-2"]


async def test_a_released_row_is_claimable_at_once_without_an_attempt(store: Store) -> None:
    await enqueue(store, [row("a", 1)])
    assert await claim(store, "w1", 10) == ["a-1"]
    async with store.transaction() as tx:
        await tx.outbox.release("w1", await ids_of(store, ["a-1"]), 20)
    async with store.transaction() as tx:
        (again,) = await tx.outbox.claim("w2", 20, LEASE_US, 10)
    assert again.notification_id == "a-1" and again.attempts == 0


async def test_failures_count_per_subscription(store: Store) -> None:
    async with store.transaction() as tx:
        await tx.outbox.record_failures([Failure("s1", 5, "HTTP 503", False)])
        await tx.outbox.record_failures([Failure("s1", 6, "HTTP 500", False), Failure("s2", 6, "x", True)])
        await tx.outbox.mark_healthy(["s3"], 7)  # no row: nothing to reset
        health = {r.subscription_id: r for r in (await tx.conn.execute(select(subscription_health))).all()}
    assert set(health) == {"s1", "s2"}
    assert (health["s1"].status, health["s1"].consecutive_failures, health["s1"].last_error) == (
        "healthy",
        2,
        "HTTP 500",
    )
    assert (health["s2"].status, health["s2"].consecutive_failures) == ("unhealthy", 1)
    async with store.transaction() as tx:
        await tx.outbox.mark_healthy(["s1", "s2"], 8)
        fixed = (await tx.conn.execute(select(subscription_health))).all()
    assert {(r.status, r.consecutive_failures, r.last_success_us) for r in fixed} == {("healthy", 0, 8)}


# ------------------------------------------------------------------------------------------- worker


@dataclass
class Hooks:
    """A receiver with a path per subscription; `/slow/...` answers late, `fail` rates fail with 503."""

    fail: float = 0.0
    slow_s: float = 1.5
    got: list[tuple[str, str, float]] = field(default_factory=list)  # (path, notification id, at)
    rng: random.Random = field(default_factory=lambda: random.Random(7))
    server: TestServer | None = None

    async def start(self) -> str:
        async def hook(request: web.Request) -> web.Response:
            if request.path.startswith("/slow/"):
                await asyncio.sleep(self.slow_s)
            if self.rng.random() < self.fail:
                return web.Response(status=503)
            self.got.append((request.path, request.headers["X-Notification-ID"], time.monotonic()))
            return web.Response(text="ok")

        app = web.Application()
        app.router.add_post("/{kind}/{sub}", hook)
        self.server = TestServer(app, host="127.0.0.1")
        await self.server.start_server()
        return str(self.server.make_url("")).rstrip("/")

    async def until(self, count: int, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.got) < count:
            assert time.monotonic() < deadline, f"{len(self.got)} of {count} delivered"
            await asyncio.sleep(0.02)


@pytest.fixture
async def hooks() -> AsyncIterator[Hooks]:
    h = Hooks()
    yield h
    if h.server is not None:
        await h.server.close()


def worker(store: Store, **policy: float) -> DeliveryWorker:
    quick = {"base_delay_s": 0.02, "max_delay_s": 0.1, "poll_interval_s": 0.05, **policy}
    return DeliveryWorker(store, DeliveryPolicy(**quick), clock=utcnow)  # type: ignore[arg-type]


async def test_per_subscription_order_survives_failures_and_retries(store: Store, hooks: Hooks) -> None:
    base = await hooks.start()
    hooks.fail = 0.3
    subs, per_sub = 30, 5
    items = [row(f"s{s}", n, f"{base}/fast/s{s}") for n in range(per_sub) for s in range(subs)]
    await enqueue(store, items, to_us(utcnow()))
    w = worker(store, concurrency=7, batch=20, settle_batch=9)
    await w.start()
    try:
        await hooks.until(subs * per_sub)
    finally:
        await w.stop()
    for s in range(subs):
        seen = [nid for path, nid, _ in hooks.got if path == f"/fast/s{s}"]
        assert seen == [f"s{s}-{n}" for n in range(per_sub)]  # each once, in order
    async with store.read() as tx:
        assert await tx.outbox.pending_count() == 0
        health = await tx.outbox.health_of("s0")
        attempts = await tx.outbox.attempts_for("s0", 100)
    assert health.status == "healthy" and health.consecutive_failures == 0
    assert len(attempts) >= per_sub and all(a.error in (None, "HTTP 503") for a in attempts)


async def test_a_slow_receiver_holds_up_only_itself(store: Store, hooks: Hooks) -> None:
    base = await hooks.start()
    slow = [row("slow", 0, f"{base}/slow/x")]
    fast = [row(f"f{i}", 0, f"{base}/fast/f{i}") for i in range(40)]
    await enqueue(store, slow + fast, to_us(utcnow()))
    w = worker(store, concurrency=4)
    started = time.monotonic()
    await w.start()
    try:
        await hooks.until(40)
        assert time.monotonic() - started < hooks.slow_s  # the fast ones did not wait for it
        await hooks.until(41)
    finally:
        await w.stop()


async def test_a_row_that_would_outlive_its_lease_is_released_not_sent(store: Store, hooks: Hooks) -> None:
    """One sender, 0.2 s per answer, 0.6 s timeout, 1.2 s leases: from the fourth row on, an attempt
    could end past the lease, so those rows are given back and claimed again instead."""
    base = await hooks.start()
    hooks.slow_s = 0.2
    await enqueue(store, [row(f"s{i}", 0, f"{base}/slow/s{i}") for i in range(5)], to_us(utcnow()))
    w = worker(store, concurrency=1, lease_s=1.2, timeout_s=0.6)
    released: list[int] = []
    write = w._write

    async def spy(done: list[tuple[Claimed, Attempt]], unsent: list[Claimed]) -> None:
        released.append(len(unsent))
        await write(done, unsent)

    w._write = spy  # type: ignore[method-assign]
    await w.start()
    try:
        await hooks.until(5)
        await asyncio.sleep(0.2)
    finally:
        await w.stop()
    assert sum(released) >= 1
    assert sorted(nid for _, nid, _ in hooks.got) == [f"s{i}-0" for i in range(5)]  # each once
    async with store.read() as tx:
        rows = (await tx.conn.execute(select(outbox.c.status, outbox.c.attempts))).all()
    assert {tuple(r) for r in rows} == {("delivered", 1)}  # releases are not attempts


async def test_rows_of_a_crashed_worker_are_delivered_after_its_lease(store: Store, hooks: Hooks) -> None:
    base = await hooks.start()
    await enqueue(store, [row("a", 0, f"{base}/fast/a"), row("a", 1, f"{base}/fast/a")], to_us(utcnow()))
    assert await claim(store, "crashed", to_us(utcnow()), lease_us=400_000) == ["a-0"]
    w = worker(store)
    started = time.monotonic()
    await w.start()
    try:
        await hooks.until(2)
    finally:
        await w.stop()
    assert [nid for _, nid, _ in hooks.got] == ["a-0", "a-1"]
    assert time.monotonic() - started >= 0.3


async def test_stop_settles_what_finished_and_gives_back_what_never_started(
    store: Store, hooks: Hooks
) -> None:
    base = await hooks.start()
    hooks.slow_s = 0.5
    await enqueue(store, [row(f"s{i}", 0, f"{base}/slow/s{i}") for i in range(4)], to_us(utcnow()))
    w = worker(store, concurrency=1)
    await w.start()
    await hooks.until(1)
    await asyncio.sleep(0.1)  # the second is in flight, two wait in the queue
    await w.stop()
    async with store.read() as tx:
        rows = (await tx.conn.execute(select(outbox.c.notification_id, outbox.c.status))).all()
    status = dict(rows)
    assert status["s0-0"] == "delivered"
    now = to_us(utcnow())
    # The queued ones are claimable at once; the one cut short stays leased (sent again later).
    assert len(await claim(store, "next", now)) == 2


def test_a_lease_must_outlast_the_timeout() -> None:
    with pytest.raises(ValueError, match="lease"):
        DeliveryPolicy(lease_s=10, timeout_s=10)


# ------------------------------------------------------------------------------------------- purge


async def _statuses(store: Store) -> dict[str, str]:
    async with store.read() as tx:
        rows = (await tx.conn.execute(select(outbox.c.notification_id, outbox.c.status))).all()
    return {str(r[0]): str(r[1]) for r in rows}


async def _log_ids(store: Store) -> list[str]:
    from vtn.storage.tables import delivery_attempts

    async with store.read() as tx:
        rows = (await tx.conn.execute(select(delivery_attempts.c.notification_id))).all()
    return sorted(str(r[0]) for r in rows)


async def test_purge_removes_only_old_finished_rows_and_log_entries(store: Store) -> None:
    hour = 3_600_000_000
    await enqueue(store, [row("a", 1), row("b", 1), row("c", 1), row("d", 1)])
    claimed = {c: await ids_of(store, [f"{c}-1"]) for c in "abcd"}
    async with store.transaction() as tx:
        got = await tx.outbox.claim("w", 0, LEASE_US, 100)
        by_id = {c.notification_id: c for c in got}
        await tx.outbox.delivered("w", claimed["a"], 1 * hour)  # old, delivered
        await tx.outbox.give_up("w", claimed["b"], 1 * hour)  # old, given up
        await tx.outbox.delivered("w", claimed["c"], 9 * hour)  # recent
        # d stays leased/pending, however old
        await tx.outbox.log_attempts(
            [
                (by_id["a-1"], Attempt("a-1", 1 * hour, 200, None, 5)),
                (by_id["c-1"], Attempt("c-1", 9 * hour, 200, None, 5)),
            ]
        )
    async with store.transaction() as tx:
        assert await tx.outbox.purge(before_us=5 * hour, limit=100) == 3  # a, b and a's log entry
    assert await _statuses(store) == {"c-1": "delivered", "d-1": "pending"}
    assert await _log_ids(store) == ["c-1"]


async def test_purge_works_in_batches(store: Store) -> None:
    await enqueue(store, [row("a", n) for n in range(25)])
    async with store.transaction() as tx:  # as if all had been delivered long ago
        await tx.conn.execute(update(outbox).values(status="delivered", done_us=10))
    gone = []
    for _ in range(4):
        async with store.transaction() as tx:
            gone.append(await tx.outbox.purge(before_us=100, limit=10))
    assert gone == [10, 10, 5, 0]
    assert await _statuses(store) == {}


async def test_the_worker_purges_past_the_retention(store: Store) -> None:
    await enqueue(store, [row("a", 1), row("b", 1)])
    async with store.transaction() as tx:
        await tx.outbox.claim("w", 0, LEASE_US, 100)
        await tx.outbox.delivered("w", await ids_of(store, ["a-1"]), 0)  # the epoch: long past
    w = worker(store, retention_s=3600.0, purge_interval_s=0.05)
    await w.start()
    try:
        deadline = time.monotonic() + 5
        while "a-1" in await _statuses(store):
            assert time.monotonic() < deadline, "not purged"
            await asyncio.sleep(0.05)
    finally:
        await w.stop()
    assert "b-1" in await _statuses(store)  # pending rows are never purged
