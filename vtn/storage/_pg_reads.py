"""The asyncpg connections of the API's hot reads (reads.py) on PostgreSQL, and how reads share
round trips when they have to wait for one.

Why: a read on PostgreSQL is a round trip, and its CPU (asyncpg's protocol, a send, a receive and
the loop's wake-ups around them) cost about as much as the rest of a `GET /vens/{id}`. While every
connection is busy, reads queue; reads of the same statement that queued meanwhile then go
together as one pipelined round trip (asyncpg's fetchmany: one Bind/Execute per read, one Sync),
each execution tagged with its read's number so that the rows find their reads. A page (whose rows'
order must hold) shares only with queued reads of the same page, which get its rows. A read that
finds a connection free runs at once as before: nothing waits for company.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

import asyncpg

# Reads of one statement sent in one round trip at most (a few hundred kB of answers at most).
MAX_TOGETHER = 32


def tagged(sql: str, params: int) -> str:
    """`sql` with each row led by one more parameter (a read's number in a round trip shared by
    several). Only for statements whose rows' order does not matter or that return one row."""
    return f"SELECT ${params + 1}::int4, q.* FROM ({sql}) AS q"


class _Done:
    """What a read gets when a read of the same statement ran it along with its own."""

    __slots__ = ("rows",)

    def __init__(self, rows: list[Any]) -> None:
        self.rows = rows


class _Waiter:
    __slots__ = ("args", "future", "sql", "together")

    def __init__(self, future: asyncio.Future[Any], sql: str, args: list[Any], together: str | None) -> None:
        self.future = future
        self.sql = sql
        self.args = args
        self.together = together  # the tagged statement: may run with other reads of `sql`


class PgConnections:
    """A few asyncpg connections of the reads' own, each statement prepared once per connection
    (asyncpg's statement cache). Not SQLAlchemy's pool: its checkout pings the server (pool_pre_ping)
    and its return rolls back, two round trips more per read. Only single read statements run here,
    outside transactions, so a connection carries no state from one read to the next; one that
    failed or was cancelled mid-statement is closed, never reused."""

    def __init__(self, dsn: str, size: int) -> None:
        self._dsn = dsn
        self._size = size
        self._idle: list[Any] = []
        self._open = 0  # connections made or being made, idle or in use
        # Reads waiting while all `size` are in use: each gets a connection, None for a freed slot,
        # or its rows (_Done) when a read of the same statement ran it.
        # Not an asyncio.Semaphore: its async context manager was ~4 % of the VTN's CPU per read.
        self._waiters: deque[_Waiter] = deque()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.shared = 0  # reads that went in a round trip shared with others (for tests and benches)

    async def fetch(self, sql: str, args: list[Any], together: str | None = None) -> list[Any]:
        """The rows of `sql` with `args`; `together`: tagged(sql), if it may share a round trip."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # an asyncpg connection serves the loop it was made on only
            self.close()
            self._open = 0
            self._waiters.clear()
            self._loop = loop
        conn = self._idle.pop() if self._idle else await self._acquire(loop, sql, args, together)
        if type(conn) is _Done:
            return conn.rows
        mates = self._mates(sql, together, args)
        try:
            if mates and together is not None:
                rows = await self._together(conn, together, args, mates)
            else:
                rows = await conn.fetch(sql, *args)
                for mate in mates:  # the same statement with the same values, queued meanwhile
                    if not mate.future.done():
                        mate.future.set_result(_Done(rows))
                self.shared += len(mates)
        except BaseException:
            conn.terminate()
            self._open -= 1
            for mate in mates or ():
                if not mate.future.done():  # each runs on its own again (a slot is free)
                    mate.future.set_result(None)
            self._hand_off(None)
            raise
        self._hand_off(conn)
        return rows

    def _mates(self, sql: str, together: str | None, args: list[Any]) -> list[_Waiter]:
        """Take the reads that may share this one's round trip off the queue (up to MAX_TOGETHER -
        1): of the same statement if it may run `together`, else the same statement with the same
        values (they began before it runs, so its rows are what each would read)."""
        waiters = self._waiters
        if not waiters:
            return []
        mates: list[_Waiter] = []
        rest: deque[_Waiter] = deque()
        for waiter in waiters:
            same = waiter.together is not None if together is not None else waiter.args == args
            if same and waiter.sql == sql and len(mates) < MAX_TOGETHER - 1 and not waiter.future.done():
                mates.append(waiter)
            else:
                rest.append(waiter)
        if mates:
            self._waiters = rest
        return mates

    async def _together(self, conn: Any, sql: str, args: list[Any], mates: list[_Waiter]) -> list[Any]:
        """This read's rows, running it and its mates' in one round trip; the mates get theirs."""
        runs = [[*args, 0], *([*mate.args, i] for i, mate in enumerate(mates, 1))]
        found: list[list[Any]] = [[] for _ in runs]
        for record in await conn.fetchmany(sql, runs):
            found[record[0]].append(tuple(record)[1:])
        for mate, rows in zip(mates, found[1:], strict=True):
            if not mate.future.done():
                mate.future.set_result(_Done(rows))
        self.shared += len(runs)
        return found[0]

    async def _acquire(
        self, loop: asyncio.AbstractEventLoop, sql: str, args: list[Any], together: str | None
    ) -> Any:
        while True:
            if self._open < self._size:
                self._open += 1
                try:
                    return await asyncpg.connect(self._dsn)
                except BaseException:
                    self._open -= 1
                    self._hand_off(None)
                    raise
            waiter = _Waiter(loop.create_future(), sql, args, together)
            self._waiters.append(waiter)
            try:
                conn = await waiter.future
            except asyncio.CancelledError:
                future = waiter.future
                if future.done() and not future.cancelled() and type(future.result()) is not _Done:
                    self._hand_off(future.result())  # handed over as this read was cancelled
                raise
            if conn is not None:
                return conn
            # None: a connection was closed, its slot is this read's: open one (unless taken since).

    def _hand_off(self, conn: Any) -> None:
        """Give `conn` (or None: a free slot) to the first read waiting, else keep it idle."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.future.done():
                waiter.future.set_result(conn)
                return
        if conn is not None:
            self._idle.append(conn)

    def close(self) -> None:
        idle, self._idle = self._idle, []
        for conn in idle:
            conn.terminate()
