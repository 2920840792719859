"""The hottest write statements, sent straight to the database driver inside a write transaction.

Why: SQLAlchemy's execution layer (cache-key lookup, parameter processing, result wrapping, the
greenlet hop) cost about as much CPU as SQLite's own work for a report insert, i.e. a sixth of a
report's path. Here a statement built once with SQLAlchemy's expression language is compiled
once per dialect and run with its positional parameters by the driver, and only where that is
safe: our SQLite driver holding the write lock (its statements then run on the loop, see
sqlite_driver.py) or an asyncpg connection already inside a transaction. Anywhere else (no
transaction yet, another driver) SQLAlchemy runs it as usual. Same SQL, same transaction.

The compiled form is kept in the DBAPI connection's `info` dict (SQLAlchemy's per-connection
store), so it lives and dies with each pooled connection. `create_engine(...,
direct_statements=False)` turns the shortcut off (the library path: SQLAlchemy runs everything);
tests/vtn/test_direct_statements.py runs the same statements both ways, docs/performance.md has
the measured difference.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from asyncpg.exceptions import IntegrityConstraintViolationError
from sqlalchemy import Executable
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from vtn.storage import sqlite_driver

# What an integrity violation raises, whichever way the statement ran (first_row's callers catch it).
UNIQUE_VIOLATIONS = (IntegrityError, sqlite3.IntegrityError, IntegrityConstraintViolationError)


@dataclass(frozen=True)
class _Compiled:
    sql: str
    order: tuple[str, ...]  # parameter names in positional order
    fixed: dict[str, Any]  # values the statement itself binds (literals of the expression)


# Keys of the DBAPI connection's `info` dict (ConnectionPoolEntry.info) used here.
ENABLED = "vtn.direct_statements"  # set by engine.create_engine; absent counts as on
_CACHE = "vtn.direct_compiled"
_KEPT = "vtn.direct_kept"


def _compiled(info: dict[Any, Any], statement: Executable, conn: AsyncConnection) -> _Compiled:
    # Keyed by the statement object: callers keep their statements for the life of the process.
    cache: dict[int, tuple[Executable, _Compiled]] = info.setdefault(_CACHE, {})
    found = cache.get(id(statement))
    if found is not None and found[0] is statement:
        return found[1]
    # The dialect only when compiling: AsyncConnection.dialect is a chain of proxies (~1 % of a
    # BL report's CPU when read on every statement).
    dialect: Dialect = conn.dialect
    compiled = statement.compile(dialect=dialect)  # type: ignore[attr-defined]
    order = tuple(compiled.positiontup or ())
    fixed = {name: bind.value for name, bind in compiled.binds.items() if not bind.required}
    result = _Compiled(compiled.string, order, fixed)
    cache[id(statement)] = (statement, result)
    return result


async def first_row(
    conn: AsyncConnection, statement: Executable, params: dict[str, Any]
) -> tuple[Any, ...] | None:
    """The first row `statement` returns with `params`, run as cheaply as this connection allows."""
    pooled = conn.sync_connection.connection if conn.sync_connection else None
    driver = pooled.driver_connection if pooled is not None and pooled.info.get(ENABLED, True) else None
    if isinstance(driver, sqlite_driver.Connection) and driver.writing:
        assert pooled is not None
        c = _compiled(pooled.info, statement, conn)
        rows = driver.fetch_now(c.sql, [params[k] if k in params else c.fixed[k] for k in c.order])
        return tuple(rows[0]) if rows else None
    if conn.dialect.driver == "asyncpg" and driver is not None and driver.is_in_transaction():
        assert pooled is not None
        c = _compiled(pooled.info, statement, conn)
        record = await driver.fetchrow(c.sql, *[params[k] if k in params else c.fixed[k] for k in c.order])
        return None if record is None else tuple(record)
    row = (await conn.execute(statement, params)).first()
    return None if row is None else tuple(row)


async def rows(conn: AsyncConnection, statement: Executable, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Every row `statement` returns with `params`, run as cheaply as this connection allows (see
    first_row)."""
    pooled = conn.sync_connection.connection if conn.sync_connection else None
    driver = pooled.driver_connection if pooled is not None and pooled.info.get(ENABLED, True) else None
    if isinstance(driver, sqlite_driver.Connection) and driver.writing:
        assert pooled is not None
        c = _compiled(pooled.info, statement, conn)
        return [
            tuple(r)
            for r in driver.fetch_now(c.sql, [params[k] if k in params else c.fixed[k] for k in c.order])
        ]
    if conn.dialect.driver == "asyncpg" and driver is not None and driver.is_in_transaction():
        assert pooled is not None
        c = _compiled(pooled.info, statement, conn)
        records = await driver.fetch(c.sql, *[params[k] if k in params else c.fixed[k] for k in c.order])
        return [tuple(record) for record in records]
    return [tuple(row) for row in (await conn.execute(statement, params)).all()]


def enabled(conn: AsyncConnection) -> bool:
    """Whether this connection may run statements straight on its driver (create_engine's switch)."""
    pooled = conn.sync_connection.connection if conn.sync_connection else None
    return pooled is not None and bool(pooled.info.get(ENABLED, True))


async def all_rows(
    conn: AsyncConnection, statement: Executable, params: list[dict[str, Any]]
) -> list[tuple[Any, ...]] | None:
    """Every row `statement` returns for each of `params`, all in one round trip (asyncpg pipelines
    the executions: fetchmany), on an asyncpg connection inside a transaction; None elsewhere.
    One execution that fails fails them all (and the transaction)."""
    pooled = conn.sync_connection.connection if conn.sync_connection else None
    driver = pooled.driver_connection if pooled is not None and pooled.info.get(ENABLED, True) else None
    if conn.dialect.driver != "asyncpg" or driver is None or not driver.is_in_transaction():
        return None
    assert pooled is not None
    c = _compiled(pooled.info, statement, conn)
    order, fixed = c.order, c.fixed
    records = await driver.fetchmany(c.sql, [[p[k] if k in p else fixed[k] for k in order] for p in params])
    return [tuple(record) for record in records]


async def execute(conn: AsyncConnection, statement: Executable, params: dict[str, Any]) -> None:
    """Run a statement that returns no rows (an INSERT, UPDATE or DELETE), as cheaply as this
    connection allows (see first_row)."""
    pooled = conn.sync_connection.connection if conn.sync_connection else None
    driver = pooled.driver_connection if pooled is not None and pooled.info.get(ENABLED, True) else None
    if isinstance(driver, sqlite_driver.Connection) and driver.writing:
        assert pooled is not None
        c = _compiled(pooled.info, statement, conn)
        driver.fetch_now(c.sql, [params[k] if k in params else c.fixed[k] for k in c.order])
        return
    if conn.dialect.driver == "asyncpg" and driver is not None and driver.is_in_transaction():
        assert pooled is not None
        c = _compiled(pooled.info, statement, conn)
        await driver.execute(c.sql, *[params[k] if k in params else c.fixed[k] for k in c.order])
        return
    await conn.execute(statement, params)


async def execute_many(conn: AsyncConnection, statement: Executable, params: list[dict[str, Any]]) -> None:
    """`execute` once per item of `params` (an executemany where the driver has one)."""
    pooled = conn.sync_connection.connection if conn.sync_connection else None
    driver = pooled.driver_connection if pooled is not None and pooled.info.get(ENABLED, True) else None
    if isinstance(driver, sqlite_driver.Connection) and driver.writing:
        assert pooled is not None
        c = _compiled(pooled.info, statement, conn)
        for p in params:  # in process and inline: one call per row costs no hop
            driver.fetch_now(c.sql, [p[k] if k in p else c.fixed[k] for k in c.order])
        return
    if conn.dialect.driver == "asyncpg" and driver is not None and driver.is_in_transaction():
        assert pooled is not None
        c = _compiled(pooled.info, statement, conn)
        await driver.executemany(c.sql, [[p[k] if k in p else c.fixed[k] for k in c.order] for p in params])
        return
    await conn.execute(statement, params)


def kept(conn: AsyncConnection, key: Any, build: Callable[[], Executable]) -> Executable:
    """The statement `build()` makes, built once per pooled connection and `key` (statements whose
    shape depends on the values given, e.g. an INSERT of the columns an object has): `_compiled`
    then finds it by identity."""
    pooled = conn.sync_connection.connection if conn.sync_connection else None
    if pooled is None:
        return build()
    store: dict[Any, Executable] = pooled.info.setdefault(_KEPT, {})
    found = store.get(key)
    if found is None:
        found = store[key] = build()
    return found
