"""Read-only queries behind the operational gauges and the readiness check."""

from __future__ import annotations

from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from vtn.storage.tables import outbox, subscription_health


async def outbox_pending(conn: AsyncConnection) -> tuple[int, int | None]:
    """Pending notifications, and the creation time (us) of the oldest one (None when none waits)."""
    query = select(func.count(), func.min(outbox.c.created_us)).where(outbox.c.status == "pending")
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
