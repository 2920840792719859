"""The driver under SQLAlchemy's aiosqlite dialect: sqlite3 with one thread hop per statement, none
while the connection holds the write lock.

Why: aiosqlite hands every cursor call (cursor, execute, fetchall, close) to the connection's
thread separately: four hops per statement, each ~25 µs of CPU and, when the event loop is busy,
a wait of up to the interpreter's switch interval for the GIL to come back. A group-commit batch
runs its statements one after another, so those waits added up to most of a report's latency and
a third of its CPU. Here:

- a statement is one hop: execute and fetch run together on the connection's thread;
- inside `BEGIN IMMEDIATE` (our write transactions, see engine.py) statements run on the event
  loop itself: the connection already holds SQLite's write lock, so they do not wait for locks,
  and a typical write unit's statements take microseconds each. BEGIN (which may wait for the
  lock), COMMIT (the fsync), executemany of many rows and every statement of a read transaction
  still go to the thread, so the loop keeps serving while a commit is on its way to the disk.
  The price: one large statement in a write (say a program deleted with thousands of events)
  holds the loop for its duration, where before it held only the writer, which waited anyway.

What SQL runs, in which transaction and with what durability is unchanged; only the thread does.
SQLAlchemy's aiosqlite dialect keeps mapping errors (aiosqlite's exceptions are sqlite3's).
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
from collections.abc import Callable, Sequence
from queue import SimpleQueue
from typing import Any, TypeVar

T = TypeVar("T")

# executemany with more rows than this goes to the thread: it may take milliseconds (fan-out).
INLINE_MANY = 64
_LOCKING = ("IMMEDIATE", "EXCLUSIVE")


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.done():  # the awaiting task was cancelled
        return
    if error is None:
        future.set_result(result)
    else:
        future.set_exception(error)


class _Worker:
    """One thread per connection, as aiosqlite: calls on one sqlite3 connection never overlap."""

    def __init__(self) -> None:
        self._jobs: SimpleQueue[tuple[asyncio.Future[Any] | None, Callable[[], Any]] | None] = SimpleQueue()
        self._thread = threading.Thread(target=self._loop, name="sqlite-connection", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while (job := self._jobs.get()) is not None:
            future, fn = job
            result: Any = None
            error: BaseException | None = None
            try:
                result = fn()
            except BaseException as exc:  # noqa: BLE001 - handed to the awaiting task
                error = exc
            if future is None:  # fire and forget (force close)
                continue
            with contextlib.suppress(RuntimeError):  # a closed loop: nobody is waiting any more
                future.get_loop().call_soon_threadsafe(_settle, future, result, error)

    async def call(self, fn: Callable[[], T]) -> T:
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._jobs.put((future, fn))
        return await future

    def detach(self, fn: Callable[[], Any]) -> None:
        """Run `fn` on the thread without waiting for it."""
        self._jobs.put((None, fn))

    def stop(self) -> None:
        self._jobs.put(None)


class Cursor:
    """Async cursor over a sqlite3 cursor; rows are fetched with the statement, in the same hop."""

    arraysize = 1

    def __init__(self, owner: Connection) -> None:
        self._owner = owner
        self._cursor = owner._conn.cursor()
        self.description: Any = None
        self.rowcount = -1
        self.lastrowid: int | None = None
        self._rows: list[Any] = []

    async def __aenter__(self) -> Cursor:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    def _done(self) -> None:
        cursor = self._cursor
        self.description = cursor.description
        self.rowcount = cursor.rowcount
        self.lastrowid = cursor.lastrowid
        self._rows = cursor.fetchall() if cursor.description else []

    def _execute(self, sql: str, parameters: Sequence[Any]) -> None:
        self._cursor.execute(sql, parameters)
        self._done()

    def _executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self._cursor.executemany(sql, rows)
        self._done()

    async def execute(self, sql: str, parameters: Sequence[Any] = ()) -> Cursor:
        await self._owner.run(lambda: self._execute(sql, parameters), begins=sql)
        return self

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> Cursor:
        rows = list(rows)
        await self._owner.run(lambda: self._executemany(sql, rows), inline=len(rows) <= INLINE_MANY)
        return self

    async def fetchall(self) -> list[Any]:
        rows, self._rows = self._rows, []
        return rows

    async def fetchone(self) -> Any:
        return self._rows.pop(0) if self._rows else None

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        n = self.arraysize if size is None else size
        rows, self._rows = self._rows[:n], self._rows[n:]
        return rows

    async def close(self) -> None:
        self._rows = []
        self._cursor.close()  # releases the statement; no I/O


class Connection:
    """What SQLAlchemy's aiosqlite adapter expects of an aiosqlite.Connection."""

    def __init__(self, conn: sqlite3.Connection, worker: _Worker, busy_ms: int = 0) -> None:
        self._connection: sqlite3.Connection | None = conn  # the adapter tests this attribute
        self._worker = worker
        self._writing = False  # inside BEGIN IMMEDIATE/EXCLUSIVE: statements run on the loop
        self._busy_ms = busy_ms  # how long the connection's own statements wait for a lock

    @property
    def _conn(self) -> sqlite3.Connection:
        if self._connection is None:
            raise ValueError("no active connection")
        return self._connection

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    async def run(self, fn: Callable[[], T], *, begins: str = "", inline: bool = True) -> T:
        """Run one call on the connection: on the loop while writing, else on the thread."""
        if self._writing and inline:
            try:
                return fn()
            finally:
                # A COMMIT/ROLLBACK sent as a statement ends the transaction: back to the thread.
                self._writing = self._conn.in_transaction
        words = begins.split(None, 2)
        # Only a transaction that took the write lock at BEGIN can never wait for it later.
        locking = len(words) > 1 and words[0].upper() == "BEGIN" and words[1].upper() in _LOCKING
        if locking and self._busy_ms:
            taken = self._begin_now(fn)
            if taken:
                self._writing = self._conn.in_transaction
                return taken[0]
        result = await self._worker.call(fn)
        if words and words[0].upper() == "BEGIN":
            self._writing = locking and self._conn.in_transaction
        return result

    def _begin_now(self, begin: Callable[[], T]) -> list[T]:
        """Take the write lock on the loop if it is free this instant (a thread hop less per write
        transaction: the group commit's batches): [what `begin` returned]; [] if another
        connection holds the lock, and the caller waits for it on the thread as before."""
        conn = self._conn
        conn.execute("PRAGMA busy_timeout = 0").close()
        try:
            return [begin()]
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
                return []
            raise
        finally:
            conn.execute(f"PRAGMA busy_timeout = {self._busy_ms}").close()

    @property
    def writing(self) -> bool:
        """Inside a write transaction (statements run on the loop)."""
        return self._writing

    def execute_now(self, sql: str) -> None:
        """Run a statement without results (e.g. SAVEPOINT) at once; only while writing."""
        if not self._writing:
            raise RuntimeError("execute_now outside a write transaction")
        self._conn.execute(sql).close()

    def fetch_now(self, sql: str, parameters: Sequence[Any]) -> list[Any]:
        """Run a statement and fetch its rows at once; only while writing (see direct.py)."""
        if not self._writing:
            raise RuntimeError("fetch_now outside a write transaction")
        cursor = self._conn.execute(sql, parameters)
        try:
            return cursor.fetchall()
        finally:
            cursor.close()

    def cursor(self) -> Cursor:
        return Cursor(self)

    async def begin(self, mode: str = "IMMEDIATE") -> None:
        """BEGIN `mode` sent straight to sqlite3 (group commit's batches, Store.writer): taken on the
        loop if the write lock is free this instant, else on the thread, as a BEGIN statement."""
        sql = f"BEGIN {mode}"
        await self.run(lambda: self._conn.execute(sql).close(), begins=sql)

    async def commit(self) -> None:
        self._writing = False
        if self._conn.in_transaction:  # a COMMIT with nothing open is a hop for nothing
            await self._worker.call(self._conn.commit)

    async def rollback(self) -> None:
        # Also the pool's reset of every returned connection, mostly with no transaction open.
        self._writing = False
        if self._conn.in_transaction:
            await self._worker.call(self._conn.rollback)

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._conn.create_function(*args, **kwargs)  # registers a callback; no I/O

    async def close(self) -> None:
        conn, self._connection = self._connection, None
        if conn is None:
            return
        try:
            await self._worker.call(conn.close)
        finally:
            self._worker.stop()

    def stop(self) -> None:
        """Terminate without waiting (SQLAlchemy's force close): close on the thread, then end it."""
        conn, self._connection = self._connection, None
        if conn is not None:
            self._worker.detach(conn.close)
        self._worker.stop()


async def connect(database: str, *, timeout: float) -> Connection:
    """Open `database` on a new connection thread, in autocommit mode (engine.py issues BEGIN)."""
    worker = _Worker()

    def opened() -> sqlite3.Connection:
        # check_same_thread=False: while writing, the loop thread uses the connection too; calls
        # never overlap (SQLAlchemy serialises them per connection, and writes hold the lock).
        return sqlite3.connect(database, timeout=timeout, isolation_level=None, check_same_thread=False)

    try:
        conn = await worker.call(opened)
    except BaseException:
        worker.stop()
        raise
    return Connection(conn, worker, busy_ms=int(timeout * 1000))
