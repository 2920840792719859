"""What clients store: the figures per-VEN quotas are checked against."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.enums import ObjectType
from vtn.storage.tables import reports, resources, subscriptions, vens


@dataclass(frozen=True, slots=True)
class Usage:
    objects: int
    bytes: int


NOTHING = Usage(0, 0)

# Built once: a statement object reused as it is keeps its cache key, so SQLAlchemy neither rebuilds
# nor re-hashes it per call (building it cost more CPU than running it for a client's first report).
_USAGE = (
    select(reports.c.client_id, func.count(), func.coalesce(func.sum(func.length(reports.c.doc)), 0))
    .where(reports.c.client_id.in_(bindparam("client_ids", expanding=True, type_=reports.c.client_id.type)))
    .group_by(reports.c.client_id)
)


async def report_usage(conn: AsyncConnection, client_ids: Sequence[str]) -> dict[str, Usage]:
    """Reports stored per client of `client_ids`: how many, and their documents' total length
    (clients without reports are left out). One statement for all of them."""
    rows = await conn.execute(_USAGE, {"client_ids": list(client_ids)})
    return {str(cid): Usage(int(count), int(size)) for cid, count, size in rows}


_OWNED = {ObjectType.VEN: vens, ObjectType.RESOURCE: resources, ObjectType.SUBSCRIPTION: subscriptions}


async def owned_count(conn: AsyncConnection, kind: ObjectType, client_id: str) -> int:
    """How many vens, resources or subscriptions belong to `client_id` (by the indexed client_id)."""
    table = _OWNED[kind]
    query = select(func.count()).select_from(table).where(table.c.client_id == client_id)
    return int((await conn.execute(query)).scalar_one())
