"""client_contacts: when each client first and last called the VTN.

Each process gathers the clients it saw in memory and records them here in one short transaction
every few seconds (vtn/observability/contacts.py), so a poll costs no write. Several processes may
record the same client: the insert of a first contact is conditional, so exactly one of them learns
that the client is new.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from vtn.storage.tables import client_contacts as cc

_CHUNK = 500


async def record(conn: AsyncConnection, seen: Mapping[str, str], now_us: int) -> list[str]:
    """Record a contact at `now_us` of each client in `seen` (client id -> role); the new ones."""
    ids = sorted(seen)
    known: set[str] = set()
    for i in range(0, len(ids), _CHUNK):
        chunk = ids[i : i + _CHUNK]
        rows = await conn.execute(select(cc.c.client_id).where(cc.c.client_id.in_(chunk)))
        known.update(str(r[0]) for r in rows)
        stale = [c for c in chunk if c in known]
        if stale:
            await conn.execute(update(cc).where(cc.c.client_id.in_(stale)).values(last_seen_us=now_us))
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    new: list[str] = []
    for client_id in ids:
        if client_id in known:
            continue
        values = {"client_id": client_id, "role": seen[client_id], "first_seen_us": now_us}
        stmt = dialect.insert(cc).values(**values, last_seen_us=now_us).on_conflict_do_nothing()
        if (await conn.execute(stmt)).rowcount == 1:
            new.append(client_id)
        else:  # another process recorded it first
            await conn.execute(update(cc).where(cc.c.client_id == client_id).values(last_seen_us=now_us))
    return new


async def seen_since(conn: AsyncConnection, role: str, since_us: int) -> int:
    """How many clients of `role` called at or after `since_us`."""
    query = select(func.count()).select_from(cc).where(cc.c.role == role, cc.c.last_seen_us >= since_us)
    return int((await conn.execute(query)).scalar_one())
