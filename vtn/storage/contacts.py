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
    """Record a contact at `now_us` of each client in `seen` (client id -> role); the new ones.

    Per chunk of ids: one SELECT of the known ones, one UPDATE of them, and one multi-row INSERT of
    the others that skips (and does not return) ids another process recorded in between, which are
    then updated too. Why: one INSERT per new client cost ~260 µs of CPU on SQLite, on the event
    loop, so a flush after thousands of VENs' first calls held the loop for a second (at 1,000,000
    VENs every lookup a VEN made was a first contact: ~200 µs per request, bench/findings.md).
    """
    ids = sorted(seen)
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    new: list[str] = []
    for i in range(0, len(ids), _CHUNK):
        chunk = ids[i : i + _CHUNK]
        rows = await conn.execute(select(cc.c.client_id).where(cc.c.client_id.in_(chunk)))
        known = {str(r[0]) for r in rows}
        if known:
            await conn.execute(update(cc).where(cc.c.client_id.in_(known)).values(last_seen_us=now_us))
        fresh = [c for c in chunk if c not in known]
        if not fresh:
            continue
        values = [
            {"client_id": c, "role": seen[c], "first_seen_us": now_us, "last_seen_us": now_us} for c in fresh
        ]
        stmt = dialect.insert(cc).on_conflict_do_nothing().returning(cc.c.client_id)
        inserted = {str(r[0]) for r in await conn.execute(stmt, values)}
        new.extend(c for c in fresh if c in inserted)
        taken = [c for c in fresh if c not in inserted]  # another process recorded them first
        if taken:
            await conn.execute(update(cc).where(cc.c.client_id.in_(taken)).values(last_seen_us=now_us))
    return new


async def seen_since(conn: AsyncConnection, role: str, since_us: int) -> int:
    """How many clients of `role` called at or after `since_us`."""
    query = select(func.count()).select_from(cc).where(cc.c.role == role, cc.c.last_seen_us >= since_us)
    return int((await conn.execute(query)).scalar_one())
