"""The poll cache (vtn/oadr20b/pollcache.py): empty polls from memory, never a stale answer for long.

Two services on one store stand for two VTN processes sharing the database.
"""

from __future__ import annotations

import asyncio

from support.oadr20b import Lab, bl_event, bl_program, bl_ven, register

from shared.oadr20b import Oadr20bCodec
from shared.oadr20b import messages as m
from vtn.core.core import Core
from vtn.oadr20b import registration
from vtn.oadr20b.service import Oadr20bService
from vtn.services.notifier import Notifier
from vtn.services.read_cache import ReadCache

TTL_S = 0.3


async def _poll(service: Oadr20bService, codec: Oadr20bCodec, ven_id: str) -> m.Message:
    return codec.parse(await service.handle(m.POLL, codec.build(m.Poll(ven_id=ven_id))))


async def test_empty_polls_come_from_memory_until_something_is_written(lab: Lab, codec: Oadr20bCodec) -> None:
    ven = await bl_ven(lab, "ven-a")
    await register(lab, "ven-a")
    service = lab.service
    assert isinstance(await _poll(service, codec, ven["id"]), m.Response)
    assert service.polls.quiet((ven["id"], None)) is not None
    # A BL event written through this process clears the cache at once: the next poll distributes.
    program_id = await bl_program(lab)
    event = await bl_event(lab, program_id)
    polled = await _poll(service, codec, ven["id"])
    assert isinstance(polled, m.DistributeEvent) and [e.event_id for e in polled.events] == [event["id"]]
    # The same bytes are parsed once: the second identical poll is served from the payload memo.
    assert service.payloads.get(codec.build(m.Poll(ven_id=ven["id"]))) == m.Poll(ven_id=ven["id"])


async def test_another_process_write_shows_within_the_read_cache_ttl(lab: Lab, codec: Oadr20bCodec) -> None:
    ven = await bl_ven(lab, "ven-a")
    await register(lab, "ven-a")
    store = lab.vtn.store
    other = Oadr20bService(
        Core(store, Notifier(store.clock), ReadCache(answer_ttl_s=TTL_S)), lab.service.settings, codec
    )
    assert isinstance(await _poll(other, codec, ven["id"]), m.Response)  # cached as quiet in `other`
    # "This process" queues a re-registration request: it bumps the 2.0b change stamp in the store.
    await lab.service.run(lambda ctx: registration.request_reregistration(ctx, ven["id"]))
    await asyncio.sleep(TTL_S + 0.1)
    assert await _poll(other, codec, ven["id"]) == m.RequestReregistration(ven_id=ven["id"])


async def test_cancelling_the_registration_ends_cached_answers(lab: Lab, codec: Oadr20bCodec) -> None:
    ven = await bl_ven(lab, "ven-a")
    await register(lab, "ven-a")
    assert isinstance(await _poll(lab.service, codec, ven["id"]), m.Response)
    # After cancellation the VEN is no longer registered: its next poll is refused, not answered from memory.
    answer = await lab.ven.send(
        m.CancelPartyRegistration(request_id="c", registration_id="x", ven_id=ven["id"])
    )
    assert isinstance(answer, m.CanceledPartyRegistration) and answer.response.code == 452
    reg = await lab.service.run(lambda ctx: ctx.st.registration(ven["id"]))
    assert reg is not None
    await lab.ven.send(
        m.CancelPartyRegistration(request_id="c", registration_id=reg.registration_id, ven_id=ven["id"])
    )
    refused = await _poll(lab.service, codec, ven["id"])
    assert isinstance(refused, m.Response) and refused.response.code == 463
