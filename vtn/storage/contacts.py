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

    The known clients' contacts move in one statement, which names them (UPDATE ... RETURNING);
    each client never seen before is inserted on its own (a first contact: rare after the first
    flush)."""
    ids = sorted(seen)
    if not ids:
        return []
    name = conn.dialect.name
    touch = _TOUCH_SQLITE if name == "sqlite" else _TOUCH_PG
    touched = await conn.execute(touch, {"ids": _ids(name, ids), "now": now_us})
    known = {str(r[0]) for r in touched}
    dialect = postgresql if name == "postgresql" else sqlite
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
