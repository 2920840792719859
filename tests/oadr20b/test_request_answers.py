"""oadrRequestEvent answers kept per VEN (vtn/oadr20b/answers.py): given again without reading the
store while its change stamps and the time allow, never once a write (in any process) or the clock
changed the answer. Two services on one store stand for two VTN processes sharing the database."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from support.oadr20b import Lab, bl_event, bl_program, bl_ven, event_body, register

from shared.enums import Role
from shared.oadr20b import Oadr20bCodec
from shared.oadr20b import messages as m
from shared.oadr20b.parts import EventStatus
from vtn.core.core import Core
from vtn.oadr20b.service import Oadr20bService
from vtn.services.notifier import Notifier
from vtn.services.read_cache import ReadCache
from vtn.storage.vens import VenRepo


class Counted:
    """Counts the units of work a service runs (each reads the store in a transaction)."""

    def __init__(self, service: Oadr20bService) -> None:
        self.runs = 0
        run = service.run

        async def counted(work: Callable[[Any], Awaitable[Any]], *args: Any, **kw: Any) -> Any:
            self.runs += 1
            return await run(work, *args, **kw)

        service.run = counted  # type: ignore[method-assign]


def _other(lab: Lab, codec: Oadr20bCodec) -> Oadr20bService:
    """A second VTN process on the same database, with no read cache of its own."""
    store = lab.vtn.store
    return Oadr20bService(Core(store, Notifier(store.clock), ReadCache()), lab.service.settings, codec)


async def _request(service: Oadr20bService, codec: Oadr20bCodec, ven_id: str, rid: str) -> m.Message:
    body = await service.handle(m.EVENT, codec.build(m.RequestEvent(request_id=rid, ven_id=ven_id)))
    return codec.parse(body)


async def _events(service: Oadr20bService, codec: Oadr20bCodec, ven_id: str, rid: str = "r") -> list[Any]:
    answer = await _request(service, codec, ven_id, rid)
    assert isinstance(answer, m.DistributeEvent) and answer.response is not None
    assert answer.response.code == 200 and answer.request_id == answer.response.request_id == rid
    return [(e.event_id, e.modification_number, e.event_status) for e in answer.events]


async def test_a_repeated_request_is_answered_from_memory_with_its_own_request_id(
    lab: Lab, codec: Oadr20bCodec
) -> None:
    ven = await bl_ven(lab, "ven-a")
    await register(lab, "ven-a")
    event = await bl_event(lab, await bl_program(lab))
    first = await _request(lab.service, codec, ven["id"], "r1")  # records the delivery (a write)
    second = await _request(lab.service, codec, ven["id"], "r2")  # read-only: kept
    counted = Counted(lab.service)
    for rid in ("r3", "r&<4>", "é"):
        again = await _request(lab.service, codec, ven["id"], rid)
        assert isinstance(again, m.DistributeEvent) and again.response is not None
        assert (again.request_id, again.response.request_id) == (rid, rid)
        assert again.events == second.events == first.events  # type: ignore[attr-defined]
    assert counted.runs == 0
    assert [e.event_id for e in again.events] == [event["id"]]
    # Another VEN, or the same VEN asking for fewer events, is not given this answer.
    assert isinstance(await _request(lab.service, codec, "ven-unknown", "r5"), m.DistributeEvent)
    assert counted.runs == 1


async def test_another_process_write_shows_at_the_next_request(lab: Lab, codec: Oadr20bCodec) -> None:
    ven = await bl_ven(lab, "ven-a")
    await register(lab, "ven-a")
    program_id = await bl_program(lab)
    first = await bl_event(lab, program_id)
    other = _other(lab, codec)
    await _events(other, codec, ven["id"])
    assert await _events(other, codec, ven["id"]) == [(first["id"], 0, EventStatus.FAR)]  # kept
    counted = Counted(other)
    # Written through "this process" (lab): the other one's kept answer is not given again.
    second = await bl_event(lab, program_id, targets=["group-a"])
    assert await _events(other, codec, ven["id"]) == [(first["id"], 0, EventStatus.FAR)]
    assert counted.runs > 0
    # The event becomes the VEN's when BL grants the VEN its target (a grants write).
    granted = {"objectType": "BL_VEN_REQUEST", "venName": "ven-a", "clientID": "client-ven-a"}
    resp = await lab.bl.put(f"/vens/{ven['id']}", json={**granted, "targets": ["group-a"]})
    assert resp.status == 200, await resp.text()
    await _events(other, codec, ven["id"])
    assert sorted(await _events(other, codec, ven["id"])) == sorted(
        [(first["id"], 0, EventStatus.FAR), (second["id"], 0, EventStatus.FAR)]
    )
    # A modified event: the next answer counts the new version, and the one after gives it again.
    resp = await lab.bl.put(f"/events/{first['id']}", json=event_body(program_id, values=(0.5,)))
    assert resp.status == 200, await resp.text()
    for _ in range(2):
        assert (first["id"], 1, EventStatus.FAR) in await _events(other, codec, ven["id"])
    # The VEN cancels its registration: it is no longer answered with events.
    reg = await lab.service.run(lambda ctx: ctx.st.registration(ven["id"]))
    assert reg is not None
    cancel = m.CancelPartyRegistration(request_id="c", registration_id=reg.registration_id, ven_id=ven["id"])
    assert (await lab.ven.send(cancel)).response.code == 200  # type: ignore[attr-defined]
    refused = await _request(other, codec, ven["id"], "r")
    assert isinstance(refused, m.DistributeEvent) and refused.response is not None
    assert refused.response.code != 200 and refused.events == ()


async def test_a_kept_answer_ends_when_an_event_starts_or_ends(lab: Lab, codec: Oadr20bCodec) -> None:
    ven = await bl_ven(lab, "ven-a")
    await register(lab, "ven-a")
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
    event = await bl_event(lab, await bl_program(lab), start=start)  # 30 minutes long
    other = _other(lab, codec)
    now = datetime.now(UTC)
    other.core.clock = lambda: now
    await _events(other, codec, ven["id"])
    assert await _events(other, codec, ven["id"]) == [(event["id"], 0, EventStatus.FAR)]
    now = start + timedelta(minutes=1)
    assert await _events(other, codec, ven["id"]) == [(event["id"], 0, EventStatus.ACTIVE)]
    assert await _events(other, codec, ven["id"]) == [(event["id"], 0, EventStatus.ACTIVE)]
    now = start - timedelta(minutes=1)  # a clock set back: not the answer kept since the start
    assert await _events(other, codec, ven["id"]) == [(event["id"], 0, EventStatus.FAR)]
    now = start + timedelta(minutes=30)
    assert await _events(other, codec, ven["id"]) == []


async def test_a_certificate_registered_for_the_client_ends_the_kept_answer(
    lab: Lab, codec: Oadr20bCodec
) -> None:
    ven = await bl_ven(lab, "ven-a")
    await register(lab, "ven-a")
    await bl_event(lab, await bl_program(lab))
    other = _other(lab, codec)
    await _events(other, codec, ven["id"])
    assert len(await _events(other, codec, ven["id"])) == 1  # kept, for a caller admitted by name
    # The operator adds the VEN's client with a certificate (a clients write): unsigned messages
    # for its ven objects are refused from now on, in every process.
    async with lab.vtn.store.transaction() as tx:
        await tx.clients.add("ven-a", Role.VEN, client_id="client-ven-a", cert_fingerprint="ab" * 32)
    refused = await _request(other, codec, ven["id"], "r")
    assert isinstance(refused, m.DistributeEvent) and refused.response is not None
    assert refused.response.code == 463 and refused.events == ()


async def test_after_an_event_write_the_ven_is_not_read_again(
    lab: Lab, codec: Oadr20bCodec, monkeypatch: pytest.MonkeyPatch
) -> None:
    ven = await bl_ven(lab, "ven-a")
    await register(lab, "ven-a")
    program_id = await bl_program(lab)
    first = await bl_event(lab, program_id)
    await _events(lab.service, codec, ven["id"])
    reads: list[str] = []
    get = VenRepo.get

    async def counted(self: VenRepo, object_id: str, *args: Any, **kw: Any) -> Any:
        reads.append(object_id)
        return await get(self, object_id, *args, **kw)

    monkeypatch.setattr(VenRepo, "get", counted)
    second = await bl_event(lab, program_id)  # moves OBJECTS only: the VEN's identity and grants hold
    assert sorted(await _events(lab.service, codec, ven["id"])) == sorted(
        [(first["id"], 0, EventStatus.FAR), (second["id"], 0, EventStatus.FAR)]
    )
    assert reads == []
    granted = {"objectType": "BL_VEN_REQUEST", "venName": "ven-a", "clientID": "client-ven-a"}
    resp = await lab.bl.put(f"/vens/{ven['id']}", json={**granted, "targets": ["group-a"]})
    assert resp.status == 200, await resp.text()
    reads.clear()  # the PUT's own read of the ven
    await _events(lab.service, codec, ven["id"])  # GRANTS moved: the VEN is read again
    assert reads == [ven["id"]]
