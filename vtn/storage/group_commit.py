"""Group commit: concurrent writes share one transaction, hence one fsync.

Why: a durable commit (SQLite synchronous=FULL, PostgreSQL fsync) costs milliseconds on real disks,
so one commit per request caps a VTN at a few hundred writes per second. Here a batch of writes
shares one transaction. It runs first without savepoints; if any write fails, the batch is rolled
back and runs again with each write in its own savepoint: a write that fails is rolled back alone
and gets its own exception; the others commit together. Every caller is answered only after the commit, so an
acknowledged write is still a committed write. Batches form by themselves: while one commit is in
flight the next writes queue up; a lone write never waits for company.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection

from vtn.storage import sqlite_driver
from vtn.storage.reports import ReportInsert, insert_ahead
from vtn.storage.tx_notes import TxNotes

if TYPE_CHECKING:
    from vtn.storage import Store, Tx, Writer

T = TypeVar("T")

# One name for every write's savepoint: they never nest (each is released before the next).
_SAVEPOINT = "SAVEPOINT group_write"
_ROLLBACK_TO = "ROLLBACK TO SAVEPOINT group_write"
_RELEASE = "RELEASE SAVEPOINT group_write"
Work = Callable[["Tx"], Awaitable[Any]]
# A write queued: its unit of work, its caller's future, and the report insert it starts with, if
# any (a batch of those runs its inserts ahead, together: _all_or_nothing).
Entry = tuple[Work, asyncio.Future[Any], ReportInsert | None]


class GroupCommit:
    def __init__(self, store: Store, max_batch: int = 64) -> None:
        self._store = store
        self._max_batch = max_batch
        self._queue: list[Entry] = []
        self._writer: asyncio.Task[None] | None = None

    async def run(self, work: Callable[[Tx], Awaitable[T]], ahead: ReportInsert | None = None) -> T:
        """Run `work` in a savepoint of the next group transaction; returns after the commit.
        `ahead`: the report insert `work` starts with (ReportRepo.insert_prepared), which may run
        ahead of it with its batch mates'."""
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._queue.append((work, future, ahead))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._drain(), name="group-commit")
        return await future

    async def _drain(self) -> None:
        # Batches that follow each other share one connection (Store.writer): the pool checkout
        # and return cost about as much CPU as the BEGIN and COMMIT themselves. After a failed
        # commit the next batch starts on a fresh connection.
        while self._queue:
            held = self._store.writer()
            try:
                writer = await held.__aenter__()
            except Exception as exc:  # no connection: the next batch gets the error
                _fail(self._next_batch(), exc)
                continue
            try:
                while self._queue and await self._commit(writer, self._next_batch()):
                    pass
            except BaseException as exc:  # cancelled (shutdown)
                await held.__aexit__(type(exc), exc, exc.__traceback__)
                raise
            with contextlib.suppress(Exception):  # every batch is answered already
                await held.__aexit__(None, None, None)

    def _next_batch(self) -> list[Entry]:
        batch, self._queue = self._queue[: self._max_batch], self._queue[self._max_batch :]
        return batch

    async def _commit(self, writer: Writer, batch: list[Entry]) -> bool:
        """Run and commit `batch`, answer its callers; False if the commit itself failed."""
        outcomes: list[tuple[asyncio.Future[Any], Any, BaseException | None]] = []
        try:
            if len(batch) == 1:
                # Alone: the transaction itself isolates the write, no savepoint needed.
                (work, future, _), failed = batch[0], None
                try:
                    async with writer.transaction() as tx:
                        outcomes.append((future, await work(tx), None))
                except Exception as exc:
                    failed = exc
                if failed is not None:
                    outcomes = [(future, None, failed)]
            else:
                found = await self._all_or_nothing(writer, batch)
                outcomes = found if found is not None else await self._one_by_one(writer, batch)
        except Exception as exc:  # the commit itself failed: nobody's write is durable
            _fail(batch, exc)
            return False
        for future, result, error in outcomes:
            if future.done():  # the caller went away (cancelled request)
                continue
            if error is None:
                future.set_result(result)
            else:
                future.set_exception(error)
        return True

    async def _all_or_nothing(
        self, writer: Writer, batch: list[Entry]
    ) -> list[tuple[asyncio.Future[Any], Any, BaseException | None]] | None:
        """The batch without savepoints; None, with nothing committed, as soon as one write fails.

        Writes rarely fail, and a savepoint per write cost a round trip each on PostgreSQL (about a
        fifth of a report's write). A unit of work is a function of the transaction, so after a
        failure the batch simply runs again, each write in its own savepoint (_one_by_one).

        A batch of prepared reports runs their inserts first, together (one round trip on
        PostgreSQL instead of one per report: reports.insert_ahead); each unit then finds its
        insert's outcome. Only when every write of the batch is one: reports do not see each
        other, so their order does not matter, whereas an event written beside them might.
        """
        results: list[Any] = []
        inserts = [ahead for _, _, ahead in batch if ahead is not None]
        try:
            async with writer.transaction() as shared:
                notes = TxNotes()
                if len(inserts) == len(batch):
                    try:
                        await insert_ahead(shared.conn, self._store.report_statements, notes, inserts)
                    except Exception as exc:
                        raise _WriteFailed from exc
                for work, _, _ in batch:
                    try:
                        results.append(await work(self._store.bind(shared.conn, notes)))
                    except Exception as exc:
                        raise _WriteFailed from exc
        except _WriteFailed:
            return None
        return [(future, result, None) for (_, future, _), result in zip(batch, results, strict=True)]

    async def _one_by_one(
        self, writer: Writer, batch: list[Entry]
    ) -> list[tuple[asyncio.Future[Any], Any, BaseException | None]]:
        """The batch with a savepoint per write: a write that fails is rolled back alone."""
        outcomes: list[tuple[asyncio.Future[Any], Any, BaseException | None]] = []
        async with writer.transaction() as shared:
            conn = shared.conn
            savepoints = await _Savepoints.on(conn)
            notes = TxNotes()  # shared by the batch's units: they share the transaction
            for work, future, _ in batch:
                await savepoints.open()
                try:
                    result = await work(self._store.bind(conn, notes))
                except Exception as exc:  # the caller gets it; its savepoint is rolled back
                    await savepoints.roll_back()
                    outcomes.append((future, None, exc))
                else:
                    await savepoints.release()
                    outcomes.append((future, result, None))
        return outcomes


def _fail(batch: list[Entry], exc: BaseException) -> None:
    for _, future, _ in batch:
        if not future.done():
            future.set_exception(exc)


class _WriteFailed(Exception):
    """A write of an all-or-nothing batch failed: roll the batch back and run it one by one."""


class _Savepoints:
    """The savepoint around each write of a batch, sent as cheaply as the driver allows.

    Plain statements, not begin_nested(): SQLAlchemy's nested-transaction bookkeeping cost ~2.5x
    the CPU of the two statements themselves, paid by every write of a batch. Subclasses skip
    SQLAlchemy altogether where that is safe.
    """

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    @staticmethod
    async def on(conn: AsyncConnection) -> _Savepoints:
        driver = (await conn.get_raw_connection()).driver_connection
        if isinstance(driver, sqlite_driver.Connection) and driver.writing:
            return _SqliteSavepoints(conn, driver)
        if conn.dialect.driver == "asyncpg":
            return _AsyncpgSavepoints(conn, driver)
        return _Savepoints(conn)

    async def _send(self, sql: str) -> None:
        await self._conn.exec_driver_sql(sql)

    async def open(self) -> None:
        await self._send(_SAVEPOINT)

    async def release(self) -> None:
        await self._send(_RELEASE)

    async def roll_back(self) -> None:
        await self._send(_ROLLBACK_TO)
        await self._send(_RELEASE)


class _SqliteSavepoints(_Savepoints):
    """sqlite_driver holding the write lock: straight to sqlite3, ~1 µs instead of ~30 µs each."""

    def __init__(self, conn: AsyncConnection, driver: sqlite_driver.Connection) -> None:
        super().__init__(conn)
        self._execute_now = driver.execute_now

    async def _send(self, sql: str) -> None:
        self._execute_now(sql)


class _AsyncpgSavepoints(_Savepoints):
    """asyncpg: one round trip per write instead of two, ~20 µs of CPU instead of ~130.

    A write's RELEASE travels with the next write's SAVEPOINT as one simple-protocol query; the
    last one is left to COMMIT, which ends every savepoint. The first SAVEPOINT goes through
    SQLAlchemy, whose asyncpg adapter sends BEGIN lazily, at its first statement.
    """

    def __init__(self, conn: AsyncConnection, driver: Any) -> None:
        super().__init__(conn)
        self._driver = driver
        self._begun = False
        self._pending_release = False

    async def open(self) -> None:
        if not self._begun:
            await self._conn.exec_driver_sql(_SAVEPOINT)
            self._begun = True
        elif self._pending_release:
            await self._driver.execute(f"{_RELEASE}; {_SAVEPOINT}")
        else:
            await self._driver.execute(_SAVEPOINT)
        self._pending_release = False

    async def release(self) -> None:
        self._pending_release = True

    async def roll_back(self) -> None:
        # At once: after an error PostgreSQL accepts nothing else, and a COMMIT would roll back all.
        await self._driver.execute(_ROLLBACK_TO)
        self._pending_release = True
