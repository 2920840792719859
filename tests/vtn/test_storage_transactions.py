"""An acknowledged write is committed, a failed one leaves nothing behind (outbox included)."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from shared.models import Program
from vtn.storage import Store, Tx, open_store
from vtn.storage.filters import Page, ProgramFilter
from vtn.storage.outbox import OutboxItem


async def _count(store: Store, table: str) -> int:
    async with store.read() as tx:
        return int((await tx.conn.execute(text(f'SELECT count(*) FROM "{table}"'))).scalar_one())


async def test_a_failed_transaction_leaves_no_object_and_no_outbox_row(db_url: str) -> None:
    store = open_store(db_url)
    try:
        with pytest.raises(RuntimeError):
            async with store.transaction() as tx:
                program = Program.model_validate({**tx.programs.stamp(None), "program_name": "rolled-back"})
                await tx.programs.insert(program)  # a savepoint inside: must not commit on its own
                item = OutboxItem("n1", "sub:x", None, "http://127.0.0.1:9/h", None, None, "{}")
                await tx.outbox.enqueue([item], 1)
                raise RuntimeError("the request fails after the writes")
        assert await _count(store, "programs") == 0
        assert await _count(store, "outbox") == 0
    finally:
        await store.close()


async def test_concurrent_writers_all_commit(db_url: str) -> None:
    store = open_store(db_url)

    async def write(i: int) -> None:
        async with store.transaction() as tx:
            await tx.programs.get("nothing")  # read first, then write: the case a deferred BEGIN breaks
            program = Program.model_validate({**tx.programs.stamp(None), "program_name": f"p{i}"})
            await tx.programs.insert(program)

    try:
        await asyncio.gather(*(write(i) for i in range(40)))
        assert await _count(store, "programs") == 40
    finally:
        await store.close()


async def test_group_commit_isolates_a_failing_write_and_commits_the_rest(db_url: str) -> None:
    store = open_store(db_url)

    async def write(i: int) -> str:
        async def unit(tx: Tx) -> str:
            program = Program.model_validate({**tx.programs.stamp(None), "program_name": f"g{i}"})
            await tx.programs.insert(program)
            if i == 7:
                raise RuntimeError("this one fails after writing")
            return program.id

        return await store.write(unit)

    try:
        results = await asyncio.gather(*(write(i) for i in range(30)), return_exceptions=True)
        failed = [r for r in results if isinstance(r, BaseException)]
        assert len(failed) == 1 and isinstance(failed[0], RuntimeError)
        assert await _count(store, "programs") == 29
        async with store.read() as tx:
            names = {p.program_name for p in await tx.programs.list(ProgramFilter(page=Page(limit=50)))}
        assert "g7" not in names and "g8" in names
    finally:
        await store.close()
