"""Group commit: concurrent writes share one transaction, hence one fsync.

Why: a durable commit (SQLite synchronous=FULL, PostgreSQL fsync) costs milliseconds on real disks,
so one commit per request caps a VTN at a few hundred writes per second. Here each write runs in
its own savepoint inside a shared transaction: a write that fails is rolled back alone and gets its
own exception; the others commit together. Every caller is answered only after the commit, so an
acknowledged write is still a committed write. Batches form by themselves: while one commit is in
flight the next writes queue up; a lone write never waits for company.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from vtn.storage import Store, Tx

T = TypeVar("T")
Work = Callable[["Tx"], Awaitable[Any]]


class GroupCommit:
    def __init__(self, store: Store, max_batch: int = 64) -> None:
        self._store = store
        self._max_batch = max_batch
        self._queue: list[tuple[Work, asyncio.Future[Any]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def run(self, work: Callable[[Tx], Awaitable[T]]) -> T:
        """Run `work` in a savepoint of the next group transaction; returns after the commit."""
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._queue.append((work, future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._drain(), name="group-commit")
        return await future

    async def _drain(self) -> None:
        while self._queue:
            batch, self._queue = self._queue[: self._max_batch], self._queue[self._max_batch :]
            await self._commit(batch)

    async def _commit(self, batch: list[tuple[Work, asyncio.Future[Any]]]) -> None:
        outcomes: list[tuple[asyncio.Future[Any], Any, BaseException | None]] = []
        try:
            if len(batch) == 1:
                # Alone: the transaction itself isolates the write, no savepoint needed.
                (work, future), failed = batch[0], None
                try:
                    async with self._store.transaction() as tx:
                        outcomes.append((future, await work(tx), None))
                except Exception as exc:
                    failed = exc
                if failed is not None:
                    outcomes = [(future, None, failed)]
            else:
                async with self._store.transaction() as shared:
                    for work, future in batch:
                        tx = self._store.bind(shared.conn)
                        try:
                            async with shared.conn.begin_nested():
                                outcomes.append((future, await work(tx), None))
                        except Exception as exc:  # the caller gets it; its savepoint is rolled back
                            outcomes.append((future, None, exc))
        except Exception as exc:  # the commit itself failed: nobody's write is durable
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        for future, result, error in outcomes:
            if future.done():  # the caller went away (cancelled request)
                continue
            if error is None:
                future.set_result(result)
            else:
                future.set_exception(error)
