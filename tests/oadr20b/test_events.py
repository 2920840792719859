"""3.1 events reach 2.0b VENs as oadrDistributeEvent; opts come back and are visible to BL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from support.oadr20b import Lab, bl_event, bl_program, bl_ven, event_body, register

from shared.oadr20b import messages as m
from shared.oadr20b.parts import EiResponse, EventResponse, EventStatus, OptType, QualifiedEventId


async def _poll(lab: Lab, ven_id: str) -> m.Message:
    return await lab.ven.send(m.Poll(ven_id=ven_id))


async def _distributed(lab: Lab, ven_id: str) -> m.DistributeEvent:
    answer = await lab.ven.send(m.RequestEvent(request_id="re-1", ven_id=ven_id))
    assert isinstance(answer, m.DistributeEvent)
    assert answer.response is not None and answer.response.code == 200
    return answer


async def _setup(lab: Lab, targets: list[str] | None = None) -> tuple[str, str]:
    ven = await bl_ven(lab, "ven-a", targets)
    await register(lab, "ven-a")
    return ven["id"], await bl_program(lab)


async def test_untargeted_event_is_polled_once_with_signals_intervals_and_target(lab: Lab) -> None:
    ven_id, program_id = await _setup(lab)
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
    event = await bl_event(lab, program_id, start=start, values=(0.25, 0.3))
    polled = await _poll(lab, ven_id)
    assert isinstance(polled, m.DistributeEvent)
    assert polled.vtn_id == "EnergyCoordinationVTN"
    (sent,) = polled.events
    assert (sent.event_id, sent.modification_number, sent.event_status) == (event["id"], 0, EventStatus.FAR)
    assert sent.active_period.dtstart == start and sent.active_period.duration == timedelta(hours=1)
    assert sent.target.ven_ids == (ven_id,)
    (signal,) = sent.signals
    assert (signal.signal_name, signal.signal_type) == ("ELECTRICITY_PRICE", "price")
    assert [(i.value, i.duration) for i in signal.intervals] == [
        (0.25, timedelta(minutes=30)),
        (0.3, timedelta(minutes=30)),
    ]
    assert signal.intervals[0].dtstart == start and signal.intervals[1].dtstart is None
    assert isinstance(await _poll(lab, ven_id), m.Response)
    assert [e.event_id for e in (await _distributed(lab, ven_id)).events] == [event["id"]]


async def test_simple_and_capacity_payloads_map_to_2_0b_signals(lab: Lab) -> None:
    ven_id, program_id = await _setup(lab)
    await bl_event(lab, program_id, payload="SIMPLE", values=(2,))
    await bl_event(lab, program_id, payload="IMPORT_CAPACITY_LIMIT", values=(5.5,))
    names = {
        (e.signals[0].signal_name, e.signals[0].signal_type, e.signals[0].intervals[0].value)
        for e in (await _distributed(lab, ven_id)).events
    }
    assert names == {("SIMPLE", "level", 2.0), ("LOAD_CONTROL", "x-loadControlCapacity", 5.5)}


async def test_targeting_follows_the_targets_bl_granted_on_the_ven_object(lab: Lab) -> None:
    ven_id, program_id = await _setup(lab, targets=["group-a"])
    ours = await bl_event(lab, program_id, targets=["group-a", "group-z"])
    await bl_event(lab, program_id, targets=["group-b"])
    (sent,) = (await _distributed(lab, ven_id)).events
    assert sent.event_id == ours["id"]
    assert sent.target.group_ids == ("group-a",)  # target hiding: group-z is not the VEN's


async def test_modified_event_is_redistributed_with_the_next_modification_number(lab: Lab) -> None:
    ven_id, program_id = await _setup(lab)
    event = await bl_event(lab, program_id)
    assert isinstance(await _poll(lab, ven_id), m.DistributeEvent)
    resp = await lab.bl.put(f"/events/{event['id']}", json=event_body(program_id, values=(0.5,)))
    assert resp.status == 200, await resp.text()
    polled = await _poll(lab, ven_id)
    assert isinstance(polled, m.DistributeEvent)
    assert polled.events[0].modification_number == 1
    assert polled.events[0].signals[0].intervals[0].value == 0.5


async def test_deleted_event_is_sent_cancelled_until_the_ven_answers(lab: Lab) -> None:
    ven_id, program_id = await _setup(lab)
    event = await bl_event(lab, program_id)
    assert isinstance(await _poll(lab, ven_id), m.DistributeEvent)
    assert (await lab.bl.delete(f"/events/{event['id']}")).status == 200
    polled = await _poll(lab, ven_id)
    assert isinstance(polled, m.DistributeEvent)
    (cancelled,) = polled.events
    assert (cancelled.event_status, cancelled.modification_number) == (EventStatus.CANCELLED, 1)
    assert isinstance(await _poll(lab, ven_id), m.Response)
    await _answer(lab, ven_id, event["id"], 1, OptType.OPT_OUT)
    assert (await _distributed(lab, ven_id)).events == ()


async def _answer(lab: Lab, ven_id: str, event_id: str, number: int, opt: OptType) -> m.Message:
    return await lab.ven.send(
        m.CreatedEvent(
            response=EiResponse(request_id="d1"),
            ven_id=ven_id,
            event_responses=(
                EventResponse(
                    code=200,
                    request_id="d1",
                    event=QualifiedEventId(event_id=event_id, modification_number=number),
                    opt_type=opt,
                ),
            ),
        )
    )


async def _opt_reports(lab: Lab, event_id: str) -> list[dict[str, Any]]:
    resp = await lab.bl.get("/reports", params={"eventID": event_id, "clientName": "ven-a"})
    assert resp.status == 200
    return [r for r in await resp.json() if r["reportName"] == "OADR20B_OPT"]


async def test_opt_in_and_out_are_stored_and_readable_by_bl_as_a_report(lab: Lab) -> None:
    ven_id, program_id = await _setup(lab)
    event = await bl_event(lab, program_id)
    await _distributed(lab, ven_id)
    answer = await _answer(lab, ven_id, event["id"], 0, OptType.OPT_IN)
    assert isinstance(answer, m.Response) and (answer.response.code, answer.ven_id) == (200, ven_id)
    (report,) = await _opt_reports(lab, event["id"])
    payloads = report["resources"][0]["intervals"][0]["payloads"]
    assert {p["type"]: p["values"] for p in payloads} == {"OPT": ["optIn"], "MODIFICATION_NUMBER": [0]}
    await _answer(lab, ven_id, event["id"], 0, OptType.OPT_OUT)
    (report,) = await _opt_reports(lab, event["id"])
    assert report["resources"][0]["intervals"][0]["payloads"][0]["values"] == ["optOut"]


async def test_created_event_for_an_unknown_event_gets_452(lab: Lab) -> None:
    ven_id, _ = await _setup(lab)
    answer = await _answer(lab, ven_id, "no-such-event", 0, OptType.OPT_IN)
    assert isinstance(answer, m.Response) and answer.response.code == 452


async def test_request_event_from_an_unregistered_ven_gets_a_distribute_with_463(lab: Lab) -> None:
    ven = await bl_ven(lab, "ven-a")
    answer = await lab.ven.send(m.RequestEvent(request_id="re-2", ven_id=ven["id"]))
    assert isinstance(answer, m.DistributeEvent)
    assert answer.response is not None and answer.response.code == 463 and answer.events == ()
