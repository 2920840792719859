"""What one client stores: the figures per-VEN quotas are checked against."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.enums import ObjectType
from vtn.storage.tables import reports, resources, subscriptions, vens


@dataclass(frozen=True, slots=True)
class Usage:
    objects: int
    bytes: int


async def report_usage(conn: AsyncConnection, client_id: str) -> Usage:
    """Reports stored for `client_id`: how many, and their documents' total length."""
    query = select(func.count(), func.coalesce(func.sum(func.length(reports.c.doc)), 0)).where(
        reports.c.client_id == client_id
    )
    count, size = (await conn.execute(query)).one()
    return Usage(int(count), int(size))


_OWNED = {ObjectType.VEN: vens, ObjectType.RESOURCE: resources, ObjectType.SUBSCRIPTION: subscriptions}


async def owned_count(conn: AsyncConnection, kind: ObjectType, client_id: str) -> int:
    """How many vens, resources or subscriptions belong to `client_id` (by the indexed client_id)."""
    table = _OWNED[kind]
    query = select(func.count()).select_from(table).where(table.c.client_id == client_id)
    return int((await conn.execute(query)).scalar_one())
