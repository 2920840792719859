"""The VTN's store: one engine, and per-transaction repositories for each kind of object.

Usage: `async with store.transaction() as tx: await tx.programs.insert(...)`. The transaction
commits when the block exits normally, so a write is acknowledged only after it is committed.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shared.durations import utcnow
from shared.enums import ObjectType
from shared.models.base import ObjectMetadata
from shared.wire.oadr3_json import StoredTexts
from vtn.storage import sqlite_driver
from vtn.storage.areas import AreaRepo, RunRepo
from vtn.storage.audit import AuditRepo
from vtn.storage.clients import ClientRecord, ClientRepo, NewClient
from vtn.storage.console_queries import ConsoleQueries
from vtn.storage.engine import SQLITE_BEGIN, create_engine
from vtn.storage.events import EventRepo
from vtn.storage.group_commit import GroupCommit
from vtn.storage.logins import LoginRepo
from vtn.storage.mqtt_queries import MqttAudienceRepo
from vtn.storage.oadr20b.store import Oadr20bStore
from vtn.storage.operators import OperatorRepo
from vtn.storage.outbox import OutboxRepo
from vtn.storage.programs import ProgramRepo
from vtn.storage.reads import Reads
from vtn.storage.reports import ReportInsert, ReportRepo, ReportStatements
from vtn.storage.subscriptions import SubscriptionRepo
from vtn.storage.tx_notes import TxNotes
from vtn.storage.usage import Usage, owned_count, report_usage
from vtn.storage.vens import ResourceRepo, VenRepo
from vtn.storage.versions import StampRepo

__all__ = ["ClientRecord", "NewClient", "Reads", "Store", "Tx", "TxNotes", "Writer", "open_store"]

T = TypeVar("T")


R = TypeVar("R")


class _made_once(Generic[R]):  # noqa: N801 - used as a decorator, like the cached_property it replaces
    """functools.cached_property without its lock: Python 3.11's takes an RLock at each first use,
    which is every use here (a fresh Tx per unit of work; ~1.2 µs each). A Tx is used by one task."""

    def __init__(self, make: Callable[[Any], R]) -> None:
        self._make = make
        self._name = make.__name__

    def __get__(self, tx: object, owner: type | None = None) -> R:
        # Kept in the instance's __dict__, which later look-ups find before this (non-data) descriptor.
        made = tx.__dict__[self._name] = self._make(tx)
        return made


class Tx:
    """Repositories bound to one connection and transaction, each made at its first use: a unit
    of work uses two or three of the nine (a report's: reports, subscriptions), and group commit
    binds a fresh Tx to every unit of a batch."""

    def __init__(
        self,
        conn: AsyncConnection,
        clock: Callable[[], datetime],
        new_id: Callable[[], str],
        texts: StoredTexts,
        report_statements: ReportStatements,
        notes: TxNotes | None = None,
    ) -> None:
        self.conn = conn
        self._clock = clock
        self._new_id = new_id
        self._texts = texts
        self._report_statements = report_statements
        # Objects removed along with the one a request deleted (a program's events, a ven's
        # resources), so that their DELETE notifications go out in the same transaction.
        self.cascaded: list[ObjectMetadata] = []
        # Objects created along with the one a request wrote (3.0.1: a ven's embedded resources), so
        # that their CREATE notifications go out in the same transaction, before the request's own.
        self.created_along: list[ObjectMetadata] = []
        self.notes = TxNotes() if notes is None else notes

    @_made_once
    def programs(self) -> ProgramRepo:
        return ProgramRepo(self.conn, self._clock, self._new_id, self._texts)

    @_made_once
    def events(self) -> EventRepo:
        return EventRepo(self.conn, self._clock, self._new_id, self._texts)

    @_made_once
    def reports(self) -> ReportRepo:
        return ReportRepo(
            self.conn, self._clock, self._new_id, self._texts, self._report_statements, self.notes
        )

    @_made_once
    def subscriptions(self) -> SubscriptionRepo:
        return SubscriptionRepo(self.conn, self._clock, self._new_id, self._texts)

    @_made_once
    def vens(self) -> VenRepo:
        return VenRepo(self.conn, self._clock, self._new_id, self._texts)

    @_made_once
    def resources(self) -> ResourceRepo:
        return ResourceRepo(self.conn, self._clock, self._new_id, self._texts)

    @_made_once
    def clients(self) -> ClientRepo:
        return ClientRepo(self.conn, self._clock)

    @_made_once
    def outbox(self) -> OutboxRepo:
        return OutboxRepo(self.conn)

    @_made_once
    def stamps(self) -> StampRepo:
        return StampRepo(self.conn)

    def audit(self) -> AuditRepo:
        """The audit log (vtn/audit), written in this transaction."""
        return AuditRepo(self.conn, self._clock)

    def logins(self) -> LoginRepo:
        """Refused logins and lockouts per client id."""
        return LoginRepo(self.conn, self._clock)

    async def report_usage(self, client_ids: Sequence[str]) -> dict[str, Usage]:
        """What each of `client_ids` stores in reports (per-VEN quotas); clients without reports
        are left out."""
        return await report_usage(self.conn, client_ids)

    async def owned_count(self, kind: ObjectType, client_id: str) -> int:
        """How many vens, resources or subscriptions `client_id` owns (per-VEN quotas)."""
        return await owned_count(self.conn, kind, client_id)

    def mqtt_audience(self) -> MqttAudienceRepo:
        """Who may hear of a change over MQTT (the vens and their topics), in this transaction."""
        return MqttAudienceRepo(self.conn)

    def areas(self) -> AreaRepo:
        """Grid areas (program automation), in this transaction."""
        return AreaRepo(self.conn)

    def runs(self) -> RunRepo:
        """Program runs: per (job, day) the published event and the claim (program automation)."""
        return RunRepo(self.conn)

    def operators(self) -> OperatorRepo:
        """Console operators and their sessions, in this transaction."""
        return OperatorRepo(self.conn)

    def console(self) -> ConsoleQueries:
        """The operator console's own queries (VEN pages, outbox health, ...), in this transaction."""
        return ConsoleQueries(self.conn)

    def oadr20b(self, clock: Callable[[], datetime], *, read_only: bool = False) -> Oadr20bStore:
        """The 2.0b side tables in this transaction (`read_only`: raises NeedsWrite at a write)."""
        return Oadr20bStore(self.conn, clock, read_only=read_only)


def random_uuid() -> str:
    """What str(uuid.uuid4()) gives, without building a UUID object (~7 µs down to ~1.5: every
    created object's id, and on an intake worker's path most of the serving process's share)."""
    raw = bytearray(os.urandom(16))
    raw[6] = raw[6] & 0x0F | 0x40  # version 4
    raw[8] = raw[8] & 0x3F | 0x80  # the RFC 4122 variant
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


class Store:
    def __init__(
        self,
        engine: AsyncEngine,
        *,
        clock: Callable[[], datetime] = utcnow,
        new_id: Callable[[], str] = random_uuid,
        inline_reads: bool = True,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.new_id = new_id
        self._sqlite = engine.dialect.name == "sqlite"
        self._write_lock = asyncio.Lock()
        self._group = GroupCommit(self)
        self.report_statements = ReportStatements()
        # The JSON of the objects written last: a write's answer is the text it stored.
        self.texts = StoredTexts()
        # The API's hot reads, one statement each without a transaction (reads.py); `inline_reads=False`
        # lets SQLAlchemy run them on a pooled connection (the library path).
        self.reads = Reads(engine, inline=inline_reads)

    def bind(self, conn: AsyncConnection, notes: TxNotes | None = None) -> Tx:
        """Fresh repositories on an open connection (one unit of work inside a shared transaction)."""
        return self._tx(conn, notes)

    async def write(self, work: Callable[[Tx], Awaitable[T]], ahead: ReportInsert | None = None) -> T:
        """Run a write through group commit: its own savepoint, a commit shared with concurrent writes.
        `ahead`: the prepared report `work` inserts first (group commit may run it with its batch's)."""
        return await self._group.run(work, ahead)

    def _tx(self, conn: AsyncConnection, notes: TxNotes | None = None) -> Tx:
        return Tx(conn, self.clock, self.new_id, self.texts, self.report_statements, notes)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        """A read-write transaction, committed on normal exit and rolled back on error."""
        if self._sqlite:
            # One writer at a time in this process: SQLite serialises writers anyway, and waiting
            # here is cheaper than waiting in its busy handler on a worker thread. The lock first:
            # writers waiting for it do not hold pool connections meanwhile.
            async with self._write_lock, self.engine.connect() as conn:
                conn = await conn.execution_options(**{SQLITE_BEGIN: "IMMEDIATE"})
                async with conn.begin():
                    yield self._tx(conn)
            return
        async with self.engine.begin() as conn:
            yield self._tx(conn)

    @asynccontextmanager
    async def writer(self) -> AsyncIterator[Writer]:
        """One connection for several write transactions in a row (group commit's batches): the pool
        checkout and return, and on PostgreSQL the pre-ping round trip, once instead of per batch."""
        async with self.engine.connect() as conn:
            if not self._sqlite:
                yield Writer(self, conn)
                return
            driver = (await conn.get_raw_connection()).driver_connection
            if not isinstance(driver, sqlite_driver.Connection):
                conn = await conn.execution_options(**{SQLITE_BEGIN: "IMMEDIATE"})
                yield Writer(self, conn)
                return
            # Our driver: each batch's transaction is begun and committed on the driver itself
            # (Writer.transaction). SQLAlchemy's own, begun here without a BEGIN sent, only spans
            # the hold, so that statements run through SQLAlchemy never begin one themselves.
            conn = await conn.execution_options(**{SQLITE_BEGIN: None})
            await conn.begin()
            yield Writer(self, conn, driver)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[Tx]:
        """A read-only unit of work (rolled back at the end)."""
        async with self.engine.connect() as conn:
            yield self._tx(conn)

    async def close(self) -> None:
        self.reads.close()
        await self.engine.dispose()


class Writer:
    """A connection held for write transactions, one after another (Store.writer)."""

    def __init__(
        self, store: Store, conn: AsyncConnection, driver: sqlite_driver.Connection | None = None
    ) -> None:
        self._store = store
        self.conn = conn
        self._driver = driver

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        """A read-write transaction on this connection, committed on normal exit, else rolled back."""
        store = self._store
        driver = self._driver
        if driver is not None:
            # BEGIN and COMMIT straight on our SQLite driver: through SQLAlchemy's transaction they
            # cost ~4x the CPU (greenlet hops, its bookkeeping, the begin event), once per batch.
            # The same statements, lock and durability (the COMMIT, and its fsync, on the thread).
            async with store._write_lock:
                await driver.begin("IMMEDIATE")
                try:
                    yield store._tx(self.conn)
                except BaseException:
                    await driver.rollback()
                    raise
                await driver.commit()
            return
        if store._sqlite:
            # The same lock as Store.transaction's (one writer at a time in this process).
            async with store._write_lock, self.conn.begin():
                yield store._tx(self.conn)
            return
        async with self.conn.begin():
            yield store._tx(self.conn)


def open_store(url: str, **kwargs: object) -> Store:
    """Open (not migrate) the store at a plain database URL."""
    return Store(create_engine(url), **kwargs)  # type: ignore[arg-type]
