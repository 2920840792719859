"""Reads by id that queue for a connection share a round trip on PostgreSQL (vtn/storage/_pg_reads.py):
each read gets what it would get alone, whatever it shared the round trip with."""

from __future__ import annotations

import asyncio

from support.api_data import bl_ven, create, event, program
from support.harness import Api, Vtn

from shared.enums import ObjectType
from vtn.core.visibility import targeting
from vtn.storage.filters import Page, VenFilter


async def test_concurrent_reads_by_id_get_their_own_answers(vtn: Vtn, bl: Api, ven_a: Api) -> None:
    vens = [await create(bl, "/vens", bl_ven(f"v{i}", f"client-{i}")) for i in range(6)]
    p = await create(bl, "/programs", program("p"))
    hidden = await create(bl, "/events", event(p["id"], targets=["g9"]))
    seen = await create(bl, "/events", event(p["id"]))
    reads = vtn.store.reads
    ids = [v["id"] for v in vens] + ["no-such-ven"]
    alone = {i: await reads.one(ObjectType.VEN, i) for i in ids}
    ven_view = targeting(frozenset())
    at_once = await asyncio.gather(
        *(reads.one(ObjectType.VEN, ids[n % len(ids)]) for n in range(70)),
        *(reads.one(ObjectType.EVENT, e["id"], permission=ven_view) for e in (hidden, seen) * 10),
        *(reads.program_of(e["id"]) for e in (hidden, seen) * 5),
    )
    assert list(at_once[:70]) == [alone[ids[n % len(ids)]] for n in range(70)]
    assert alone["no-such-ven"] is None and all(alone[i] is not None for i in ids[:-1])
    events = at_once[70:90]
    assert events[0::2] == [None] * 10  # targeted at a group the VEN is not in
    assert all(doc is not None and seen["id"] in doc for doc in events[1::2])
    assert list(at_once[90:]) == [p["id"]] * 10
    pg = reads._pg  # noqa: SLF001
    if vtn.store.engine.dialect.name == "postgresql":
        assert pg is not None and pg.shared > 0  # some went together (4 connections, 100 reads)


async def test_the_same_page_read_at_once_is_read_once_for_all(vtn: Vtn, bl: Api) -> None:
    for i in range(8):
        await create(bl, "/vens", bl_ven(f"v{i}", f"client-{i}"))
    reads = vtn.store.reads
    pages = [VenFilter(page=Page(limit=5, max_bytes=1 << 20)), VenFilter(page=Page(skip=5, limit=5))]
    alone = [await reads.page(ObjectType.VEN, flt) for flt in pages]
    assert [len(a) for a in alone] == [5, 3]
    at_once = await asyncio.gather(*(reads.page(ObjectType.VEN, pages[n % 2]) for n in range(40)))
    assert list(at_once) == [alone[n % 2] for n in range(40)]
    if vtn.store.engine.dialect.name == "postgresql":
        assert reads._pg is not None and reads._pg.shared > 0  # noqa: SLF001
