"""Our SQLite driver (vtn/storage/sqlite_driver.py) against aiosqlite (`own_sqlite_driver=False`).

The same work runs on two copies of one database file through an engine on each driver: writes
inside BEGIN IMMEDIATE (run on the loop by ours), executemany below and above the inline limit,
savepoints rolled back, constraint violations, reads outside any write. Both must return the same
results, raise the same errors and leave the same rows.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import Column, Integer, MetaData, String, Table, func, insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from vtn.storage import sqlite_driver
from vtn.storage.engine import SQLITE_BEGIN, create_engine

meta = MetaData()
rows = Table(
    "rows",
    meta,
    Column("id", Integer, primary_key=True),
    Column("name", String, nullable=False, unique=True),
    Column("n", Integer, nullable=False),
)


async def workload(engine: AsyncEngine) -> tuple[list[Any], bool]:
    out: list[Any] = []
    async with engine.begin() as conn:
        await conn.run_sync(meta.create_all)

    async def write(conn: Any) -> Any:
        return await conn.execution_options(**{SQLITE_BEGIN: "IMMEDIATE"})

    async with engine.connect() as conn:
        conn = await write(conn)
        async with conn.begin():
            raw = await conn.get_raw_connection()
            ours = isinstance(raw.driver_connection, sqlite_driver.Connection)
            result = await conn.execute(insert(rows).returning(rows.c.id), [{"name": "a", "n": 1}])
            out.append(result.all())
            await conn.execute(insert(rows), [{"name": f"few-{i}", "n": i} for i in range(10)])
            await conn.execute(insert(rows), [{"name": f"many-{i}", "n": i} for i in range(500)])
            out.append(
                (await conn.execute(update(rows).where(rows.c.n < 5).values(n=rows.c.n + 100))).rowcount
            )
            await conn.execute(text("SAVEPOINT sp"))
            await conn.execute(insert(rows).values(name="kept-out", n=0))
            await conn.execute(text("ROLLBACK TO sp"))
            await conn.execute(text("RELEASE sp"))
            try:
                async with conn.begin_nested():
                    await conn.execute(insert(rows).values(name="a", n=9))
            except IntegrityError as exc:
                out.append(type(exc.orig).__name__)
    async with engine.connect() as conn:  # a read, outside any write
        out.append((await conn.execute(select(func.count(), func.sum(rows.c.n)))).one())
        out.append((await conn.execute(select(rows.c.name).where(rows.c.name == "kept-out"))).all())
        out.append((await conn.execute(select(rows).order_by(rows.c.id).limit(3))).all())
    try:  # a failing write transaction leaves nothing behind
        async with engine.connect() as conn:
            conn = await write(conn)
            async with conn.begin():
                await conn.execute(insert(rows).values(name="late", n=1))
                await conn.execute(insert(rows).values(name="late", n=2))
    except IntegrityError as exc:
        out.append(("rolled back", type(exc.orig).__name__))
    async with engine.connect() as conn:
        out.append((await conn.execute(select(func.count()).where(rows.c.name == "late"))).scalar())
    return out, ours


async def test_our_driver_and_aiosqlite_agree(tmp_path: Path) -> None:
    results = {}
    for own in (True, False):
        engine = create_engine(f"sqlite:///{tmp_path / f'own-{own}.db'}", own_sqlite_driver=own)
        try:
            results[own] = await workload(engine)
        finally:
            await engine.dispose()
    (ours, used_ours), (library, used_library) = results[True], results[False]
    assert used_ours and not used_library
    assert ours == library
    assert library[2] == "IntegrityError" and library[-1] == 0


async def test_begin_immediate_waits_on_the_thread_while_another_connection_writes(tmp_path: Path) -> None:
    """BEGIN IMMEDIATE is tried on the loop without waiting; if another connection holds the write
    lock it waits for it on the connection's thread (the loop keeps serving), as before."""
    path = tmp_path / "lock.db"
    sqlite3.connect(path).execute("PRAGMA journal_mode=WAL").close()
    conn = await sqlite_driver.connect(str(path), timeout=5)
    try:
        # Free: taken at once on the loop, and statements run there.
        await (await conn.cursor().execute("BEGIN IMMEDIATE")).close()
        assert conn.writing
        await (await conn.cursor().execute("CREATE TABLE t (x)")).close()
        await conn.commit()
        assert not conn.writing
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        begun = asyncio.ensure_future(conn.cursor().execute("BEGIN IMMEDIATE"))
        await asyncio.sleep(0.2)
        assert not begun.done()  # waiting for the lock, on the thread: the loop ran this line
        other.execute("INSERT INTO t VALUES (1)")
        other.execute("COMMIT")
        await asyncio.wait_for(begun, 5)
        assert conn.writing
        await (await conn.cursor().execute("INSERT INTO t VALUES (2)")).close()
        await conn.commit()
        other.close()
        # The connection's own lock wait is back to its timeout afterwards.
        cursor = await conn.cursor().execute("PRAGMA busy_timeout")
        assert await cursor.fetchall() == [(5000,)]
        assert sqlite3.connect(path).execute("SELECT x FROM t ORDER BY x").fetchall() == [(1,), (2,)]
    finally:
        await conn.close()
