"""client_contacts: when each client first and last called the VTN.

Each process gathers the clients it saw in memory and records them here in one short transaction
every few seconds (vtn/observability/contacts.py), so a poll costs no write. Several processes may
record the same client: the insert of a first contact is conditional, so exactly one of them learns
that the client is new.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import ARRAY, ColumnElement, Text, Update, any_, bindparam, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from vtn.storage.tables import client_contacts as cc

_CHUNK = 500  # rows per multi-row INSERT of first contacts


def _among(dialect: str) -> ColumnElement[bool]:
    """SQL: client_id is one of the ids bound as ONE parameter `ids` (a JSON array on SQLite, an
    array on PostgreSQL): a fixed statement, where an expanding IN of 500 ids was rendered anew,
    with its 500 parameters, on every execution (most of a flush's CPU at 10,000 clients)."""
    if dialect == "sqlite":
        return cc.c.client_id.in_(
            select(func.json_each(bindparam("ids", type_=Text)).table_valued("value").c.value)
        )
    return cc.c.client_id == any_(bindparam("ids", type_=ARRAY(Text)))


def _touch(dialect: str) -> Update:
    """Move the last contact of the clients `ids` that are known to `now`, returning their ids."""
    return update(cc).where(_among(dialect)).values(last_seen_us=bindparam("now")).returning(cc.c.client_id)


# Built once per dialect (immutable statements: SQLAlchemy's compiled cache hits after the first).
_TOUCH_SQLITE = _touch("sqlite")
_TOUCH_PG = _touch("postgresql")


def _ids(dialect: str, ids: list[str]) -> Any:
    return json.dumps(ids) if dialect == "sqlite" else ids


async def record(conn: AsyncConnection, seen: Mapping[str, str], now_us: int) -> list[str]:
    """Record a contact at `now_us` of each client in `seen` (client id -> role); the new ones.

    The known clients' contacts move in one statement, which names them (UPDATE ... RETURNING).
    The others are inserted by one multi-row INSERT per chunk that skips (and does not return) ids
    another process recorded in between, which are then updated too. Why: one INSERT per new client
    cost ~260 µs of CPU on SQLite, on the event loop, so a flush after thousands of VENs' first calls
    held the loop for a second (at 1,000,000 VENs every lookup a VEN made was a first contact).
    """
    ids = sorted(seen)
    if not ids:
        return []
    name = conn.dialect.name
    touch = _TOUCH_SQLITE if name == "sqlite" else _TOUCH_PG
    touched = await conn.execute(touch, {"ids": _ids(name, ids), "now": now_us})
    known = {str(r[0]) for r in touched}
    dialect = postgresql if name == "postgresql" else sqlite
    fresh_ids = [c for c in ids if c not in known]
    new: list[str] = []
    for i in range(0, len(fresh_ids), _CHUNK):
        fresh = fresh_ids[i : i + _CHUNK]
        values = [
            {"client_id": c, "role": seen[c], "first_seen_us": now_us, "last_seen_us": now_us} for c in fresh
        ]
        stmt = dialect.insert(cc).on_conflict_do_nothing().returning(cc.c.client_id)
        inserted = {str(r[0]) for r in await conn.execute(stmt, values)}
        new.extend(c for c in fresh if c in inserted)
        taken = [c for c in fresh if c not in inserted]  # another process recorded them first
        if taken:
            await conn.execute(touch, {"ids": _ids(name, taken), "now": now_us})
    return new


async def seen_since(conn: AsyncConnection, role: str, since_us: int) -> int:
    """How many clients of `role` called at or after `since_us`."""
    query = select(func.count()).select_from(cc).where(cc.c.role == role, cc.c.last_seen_us >= since_us)
    return int((await conn.execute(query)).scalar_one())
