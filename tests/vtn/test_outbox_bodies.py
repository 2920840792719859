"""Outbox storage of a fan-out: a shared body stored once, settling by id lists, purging bodies."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select

from vtn.storage import Store, open_store
from vtn.storage.outbox import OutboxItem
from vtn.storage.tables import notification_bodies, outbox, subscription_health

LEASE_US = 30_000_000
HOUR = 3_600_000_000
SHARED = '{"objectType":"EVENT","operation":"CREATE","object":{"id":"e1"}}'


@pytest.fixture
async def store(db_url: str) -> AsyncIterator[Store]:
    s = open_store(db_url)
    yield s
    await s.close()


def row(sub: str, n: int, body: str) -> OutboxItem:
    return OutboxItem(f"{sub}-{n}", f"sub:{sub}", sub, f"http://127.0.0.1:9/{sub}", None, None, body)


async def stored(store: Store) -> tuple[int, dict[str, tuple[str | None, bool]]]:
    """Body rows, and per notification: its inline body and whether it refers to a body row."""
    async with store.read() as tx:
        bodies = (await tx.conn.execute(select(func.count()).select_from(notification_bodies))).scalar_one()
        rows = (
            await tx.conn.execute(select(outbox.c.notification_id, outbox.c.body, outbox.c.body_id))
        ).all()
    return int(bodies), {r[0]: (r[1], r[2] is not None) for r in rows}


async def test_a_body_several_rows_share_is_stored_once_and_claimed_whole(store: Store) -> None:
    own = '{"n":1}'
    items = [row(s, 1, SHARED) for s in "abc"] + [row("d", 1, own)]
    async with store.transaction() as tx:
        await tx.outbox.enqueue(items, 0)
    bodies, rows = await stored(store)
    assert bodies == 1
    assert rows == {"a-1": (None, True), "b-1": (None, True), "c-1": (None, True), "d-1": (own, False)}
    async with store.transaction() as tx:
        claimed = await tx.outbox.claim("w", 0, LEASE_US, 100)
    assert [(c.notification_id, c.body) for c in claimed] == [
        ("a-1", SHARED),
        ("b-1", SHARED),
        ("c-1", SHARED),
        ("d-1", own),
    ]
    assert claimed[0].target == "http://127.0.0.1:9/a" and claimed[0].attempts == 0


async def test_one_change_to_one_sink_keeps_its_body_inline(store: Store) -> None:
    async with store.transaction() as tx:
        await tx.outbox.enqueue([row("a", 1, SHARED)], 0)
        await tx.outbox.enqueue([], 0)
    assert await stored(store) == (0, {"a-1": (SHARED, False)})


async def test_a_body_goes_with_the_last_row_that_refers_to_it(store: Store) -> None:
    async with store.transaction() as tx:
        await tx.outbox.enqueue([row(s, 1, SHARED) for s in "ab"], 0)
    async with store.transaction() as tx:
        claimed = {c.notification_id: c.id for c in await tx.outbox.claim("w", 0, LEASE_US, 100)}
        await tx.outbox.delivered("w", [claimed["a-1"]], 1 * HOUR)
        await tx.outbox.release("w", [claimed["b-1"]], 1 * HOUR)  # b stays pending
    async with store.transaction() as tx:
        assert await tx.outbox.purge(before_us=5 * HOUR, limit=100) == 1  # a's row; the body stays
    assert await stored(store) == (1, {"b-1": (None, True)})
    async with store.transaction() as tx:
        (b,) = await tx.outbox.claim("w", 2 * HOUR, LEASE_US, 100)
        assert b.body == SHARED
        await tx.outbox.give_up("w", [b.id], 2 * HOUR)
    async with store.transaction() as tx:
        assert await tx.outbox.purge(before_us=5 * HOUR, limit=100) == 2  # b's row, then the body
    assert await stored(store) == (0, {})


async def test_settling_many_rows_at_once_respects_the_lease_owner(store: Store) -> None:
    n = 6000  # more ids than one IN list used to take
    async with store.transaction() as tx:
        await tx.outbox.enqueue([row(f"s{k}", 1, SHARED) for k in range(n)], 0)
    async with store.transaction() as tx:
        ids = [c.id for c in await tx.outbox.claim("w", 0, LEASE_US, n)]
    async with store.transaction() as tx:
        await tx.outbox.delivered("someone-else", ids, 5)  # not the holder: nothing happens
        await tx.outbox.delivered("w", ids[: n // 2], 5)
        await tx.outbox.release("w", ids[n // 2 :], 5)
    async with store.read() as tx:
        counts = dict(
            (await tx.conn.execute(select(outbox.c.status, func.count()).group_by(outbox.c.status))).all()
        )
        leased = (
            await tx.conn.execute(
                select(func.count()).where(
                    outbox.c.lease_owner.is_not(None), outbox.c.lease_until_us.is_not(None)
                )
            )
        ).scalar_one()
    assert counts == {"delivered": n // 2, "pending": n // 2} and leased == 0


async def test_mark_healthy_resets_only_existing_health_rows(store: Store) -> None:
    async with store.transaction() as tx:
        await tx.conn.execute(
            subscription_health.insert(),
            [
                {"subscription_id": s, "status": "unhealthy", "consecutive_failures": 3, "last_error": "x"}
                for s in ("s1", "s2")
            ],
        )
        await tx.outbox.mark_healthy(["s1", "s3", "s1"], 7)
    async with store.read() as tx:
        rows = (
            await tx.conn.execute(
                select(
                    subscription_health.c.subscription_id,
                    subscription_health.c.status,
                    subscription_health.c.consecutive_failures,
                    subscription_health.c.last_success_us,
                ).order_by(subscription_health.c.subscription_id)
            )
        ).all()
    assert [tuple(r) for r in rows] == [("s1", "healthy", 0, 7), ("s2", "unhealthy", 3, None)]
