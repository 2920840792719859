"""Change stamps that tell every VTN process sharing a database when its read cache is stale.

A write that changes what VENs may read (programs and events: "objects"; vens and resources:
"grants") stores a fresh random stamp in `settings` in its own transaction; each process polls the
stamps a few times a second and drops its cached answers when one moved. Subscription writes move
"subscriptions", which the notifier reads once per write transaction (not polled): its cached
fan-out candidates must never miss a subscription another process has committed. A random stamp (rather
than a counter) needs no read-modify-write, so concurrent writers never conflict on it.
"""

from __future__ import annotations

import secrets

from sqlalchemy import ScalarSelect, Select, bindparam, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from vtn.storage import direct
from vtn.storage.tables import settings

OBJECTS = "stamp:objects"
GRANTS = "stamp:grants"
SUBSCRIPTIONS = "stamp:subscriptions"
# 2.0b writes that change a VEN's poll answer (queued messages, registrations).
OADR20B = "stamp:oadr20b"
# Clients added, removed or rotated: every process reloads the client ids that tokens may name.
CLIENTS = "stamp:clients"

# Built once: read in every write transaction that notifies (straight on the driver where it may:
# direct.py, as the first statement of a report batch it was ~1/6 of the batch's own CPU).
_READ_SUBSCRIPTIONS = select(settings.c.value).where(settings.c.key == SUBSCRIPTIONS)
_READ_GRANTS = select(settings.c.value).where(settings.c.key == GRANTS)


def grants_column() -> ScalarSelect[bytes]:
    """The grants stamp as a column of another statement (NULL while there is none), read in that
    statement's snapshot: a page of events proves the grants it was filtered by still current."""
    return _READ_GRANTS.scalar_subquery()


def read_statement(names: tuple[str, ...]) -> Select[tuple[str, bytes]]:
    """The stamps `names` as (key, value) rows, the names bound as the statement's own values
    (reads.py compiles it once per tuple of names and runs it outside any transaction)."""
    key = settings.c.key
    return select(key, settings.c.value).where(
        or_(*(key == bindparam(f"stamp_{i}", name, type_=key.type) for i, name in enumerate(names)))
    )


# Built once and sent straight to the driver in a write transaction (direct.py): most writes bump.
_BUMP = (
    update(settings)
    .where(settings.c.key == bindparam("name", type_=settings.c.key.type))
    .values(value=bindparam("stamp", type_=settings.c.value.type))
    .returning(settings.c.key)
)


async def bump(conn: AsyncConnection, name: str) -> None:
    stamp = secrets.token_bytes(8)
    if await direct.first_row(conn, _BUMP, {"name": name, "stamp": stamp}) is None:
        try:
            async with conn.begin_nested():
                await conn.execute(insert(settings).values(key=name, value=stamp))
        except IntegrityError:  # another writer made the row first: any new stamp will do
            await conn.execute(update(settings).where(settings.c.key == name).values(value=stamp))


async def read(conn: AsyncConnection, names: tuple[str, ...] = (OBJECTS, GRANTS)) -> dict[str, bytes]:
    rows = (
        await conn.execute(select(settings.c.key, settings.c.value).where(settings.c.key.in_(names)))
    ).all()
    return {str(k): bytes(v) for k, v in rows}


async def read_subscriptions(conn: AsyncConnection) -> bytes:
    """The subscriptions stamp as this transaction sees it (b"" before the first subscription write)."""
    row = await direct.first_row(conn, _READ_SUBSCRIPTIONS, {})
    return b"" if row is None else bytes(row[0])


async def read_grants(conn: AsyncConnection) -> bytes:
    """The grants stamp as this transaction sees it (b"" before the first ven or resource write)."""
    row = await direct.first_row(conn, _READ_GRANTS, {})
    return b"" if row is None else bytes(row[0])


class StampRepo:
    """The change stamps, bound to one transaction's connection (what callers above storage use)."""

    __slots__ = ("_conn",)

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def bump(self, name: str) -> None:
        await bump(self._conn, name)

    async def read(self, names: tuple[str, ...] = (OBJECTS, GRANTS)) -> dict[str, bytes]:
        return await read(self._conn, names)

    async def read_subscriptions(self) -> bytes:
        return await read_subscriptions(self._conn)

    async def read_grants(self) -> bytes:
        return await read_grants(self._conn)
