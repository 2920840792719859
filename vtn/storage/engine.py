"""Database URLs and engines: plain URLs in, the right async driver out.

Operators write `sqlite:///path/vtn.db` or `postgresql://user@host/db`; the code picks aiosqlite or
asyncpg. SQLite runs in WAL mode with synchronous=FULL so that an acknowledged write survives a crash.
Under SQLAlchemy's aiosqlite dialect, a file database uses our own driver (sqlite_driver.py): the
same SQL and durability with far fewer thread hops. `create_engine(..., own_sqlite_driver=False)`
runs aiosqlite itself instead (the library path; tests/vtn/test_sqlite_driver_diff.py runs the same
writes through both, docs/performance.md has the measured difference).
"""

from __future__ import annotations

from functools import partial
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from vtn.storage import direct, sqlite_driver


def async_url(url: str) -> URL:
    """Turn a plain database URL into its async-driver form."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return parsed.set(drivername="sqlite+aiosqlite")
    if backend in ("postgresql", "postgres"):
        return parsed.set(drivername="postgresql+asyncpg")
    raise ValueError(f"unsupported database URL {url!r}: use sqlite:///FILE or postgresql://USER@HOST/DB")


def sync_url(url: str) -> URL:
    """Plain-driver form, for tools that cannot run async (none today; kept for Alembic offline mode)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return parsed.set(drivername="sqlite")
    return parsed.set(drivername="postgresql")


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def create_engine(
    url: str, *, pool_size: int = 10, own_sqlite_driver: bool = True, direct_statements: bool = True
) -> AsyncEngine:
    """Create the async engine for `url`, with SQLite tuned for durability and concurrency.

    The library paths, for comparison and as a way back: `own_sqlite_driver=False` runs aiosqlite
    as it comes for a file database too (see the docstring); `direct_statements=False` lets
    SQLAlchemy run the statements that direct.py otherwise hands straight to the driver.
    """
    engine = _create_engine(url, pool_size, own_sqlite_driver)

    def mark(_: Any, record: Any) -> None:
        record.info[direct.ENABLED] = direct_statements

    event.listen(engine.sync_engine, "connect", mark)
    return engine


def _create_engine(url: str, pool_size: int, own_sqlite_driver: bool) -> AsyncEngine:
    target = async_url(url)
    if target.get_backend_name() == "sqlite":
        options: dict[str, Any] = {"connect_args": {"timeout": 30}}
        database = target.database
        if own_sqlite_driver and database and database != ":memory:" and not target.query:
            # A plain file: our driver (fewer thread hops, see sqlite_driver.py) under the same dialect.
            options = {"async_creator": partial(sqlite_driver.connect, database, timeout=30)}
        engine = create_async_engine(target, pool_size=pool_size, max_overflow=0, **options)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
        return engine
    return create_async_engine(target, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # The sqlite3 module otherwise delays BEGIN until the first write, so a SAVEPOINT would open
    # the transaction and its RELEASE commit it: we issue BEGIN ourselves (see _sqlite_begin).
    if dbapi_connection.isolation_level is not None:  # sqlite_driver connects in this mode already
        dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


SQLITE_BEGIN = "sqlite_begin"


def _sqlite_begin(conn: Any) -> None:
    # Writers take the write lock up front (IMMEDIATE): a deferred transaction that read first
    # would fail with SQLITE_BUSY, which no busy timeout retries, when another writer got in between.
    # None: the caller begins its transactions on the driver itself (Store.writer).
    mode = conn.get_execution_options().get(SQLITE_BEGIN, "DEFERRED")
    if mode is not None:
        conn.exec_driver_sql(f"BEGIN {mode}")
