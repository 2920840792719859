"""EiOpt: availability schedules and event opts, stored per VEN; unknown ids get 452."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from support.oadr20b import Lab, bl_ven, register

from shared.oadr20b import messages as m
from shared.oadr20b.parts import AvailableWindow, OptType, QualifiedEventId, Target

NOW = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)


def create_opt(ven_id: str, opt_id: str = "opt-1", event: QualifiedEventId | None = None) -> m.CreateOpt:
    return m.CreateOpt(
        opt_id=opt_id,
        opt_type=OptType.OPT_OUT,
        opt_reason="x-schedule",
        ven_id=ven_id,
        created_date_time=NOW,
        request_id="o1",
        target=Target(resource_ids=("device-1",)),
        availability=None if event else (AvailableWindow(dtstart=NOW, duration=timedelta(hours=2)),),
        event=event,
    )


async def test_create_and_cancel_an_availability_opt(lab: Lab) -> None:
    ven = await bl_ven(lab, "ven-a")
    await register(lab, "ven-a")
    created = await lab.ven.send(create_opt(ven["id"]))
    assert isinstance(created, m.CreatedOpt)
    assert (created.response.code, created.response.request_id, created.opt_id) == (200, "o1", "opt-1")
    assert await lab.vtn.count("oadr20b_opts") == 1
    canceled = await lab.ven.send(m.CancelOpt(request_id="o2", opt_id="opt-1", ven_id=ven["id"]))
    assert isinstance(canceled, m.CanceledOpt) and (canceled.response.code, canceled.opt_id) == (200, "opt-1")


async def test_unknown_opt_or_event_gets_452(lab: Lab) -> None:
    ven = await bl_ven(lab, "ven-a")
    await register(lab, "ven-a")
    canceled = await lab.ven.send(m.CancelOpt(request_id="o3", opt_id="nope", ven_id=ven["id"]))
    assert isinstance(canceled, m.CanceledOpt) and canceled.response.code == 452
    created = await lab.ven.send(
        create_opt(ven["id"], event=QualifiedEventId(event_id="no-event", modification_number=0))
    )
    assert isinstance(created, m.CreatedOpt) and created.response.code == 452
    assert await lab.vtn.count("oadr20b_opts") == 0


async def test_opt_from_an_unregistered_ven_gets_463(lab: Lab) -> None:
    ven = await bl_ven(lab, "ven-a")
    created = await lab.ven.send(create_opt(ven["id"]))
    assert isinstance(created, m.CreatedOpt) and created.response.code == 463
