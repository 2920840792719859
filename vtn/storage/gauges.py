"""Read-only queries behind the operational gauges and the readiness check."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from vtn.storage import contacts
from vtn.storage._rows import to_us
from vtn.storage.tables import OUTBOX_PENDING, outbox, subscription_health

if TYPE_CHECKING:
    from vtn.storage import Store


async def outbox_pending(conn: AsyncConnection) -> tuple[int, int | None]:
    """Pending notifications, and the creation time (us) of the oldest one (None when none waits)."""
    query = select(func.count(), func.min(outbox.c.created_us)).where(OUTBOX_PENDING)
    count, oldest = (await conn.execute(query)).one()
    return int(count), None if oldest is None else int(oldest)


async def unhealthy_subscriptions(conn: AsyncConnection) -> int:
    query = (
        select(func.count())
        .select_from(subscription_health)
        .where(subscription_health.c.status == "unhealthy")
    )
    return int((await conn.execute(query)).scalar_one())


async def schema_revision(conn: AsyncConnection) -> str | None:
    """The migration the database is at (None: never migrated)."""
    try:
        row = (await conn.execute(text("SELECT version_num FROM alembic_version"))).first()
    except DBAPIError:  # no alembic_version table: a database never migrated
        return None
    return None if row is None else str(row[0])


# -- whole reads on a store (what vtn.observability calls; it touches no connection itself) --------


@dataclass(frozen=True, slots=True)
class GaugeRows:
    now_us: int
    outbox_pending: int
    outbox_oldest_us: int | None
    subscriptions_unhealthy: int
    vens_seen_5m: int
    vens_seen_60m: int


async def ping(store: Store) -> None:
    """One round trip to the database (raises when it cannot be reached)."""
    async with store.read() as tx:
        await tx.conn.execute(text("SELECT 1"))


async def revision_of(store: Store) -> str | None:
    async with store.read() as tx:
        return await schema_revision(tx.conn)


async def read_gauges(store: Store) -> GaugeRows:
    now_us = to_us(store.clock())
    async with store.read() as tx:
        pending, oldest = await outbox_pending(tx.conn)
        unhealthy = await unhealthy_subscriptions(tx.conn)
        seen_5m = await contacts.seen_since(tx.conn, "ven", now_us - 300_000_000)
        seen_60m = await contacts.seen_since(tx.conn, "ven", now_us - 3_600_000_000)
    return GaugeRows(now_us, pending, oldest, unhealthy, seen_5m, seen_60m)


async def record_contacts(store: Store, seen: Mapping[str, str]) -> list[str]:
    """Record the clients seen (client id -> role) now; those never seen before by any process."""
    async with store.transaction() as tx:
        return await contacts.record(tx.conn, seen, to_us(store.clock()))
