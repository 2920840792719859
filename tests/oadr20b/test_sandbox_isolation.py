"""Sandbox events never reach 2.0b VENs: the 2.0b front-end reads through the same visibility rule."""

from __future__ import annotations

from support.oadr20b import Lab, bl_event, bl_program, bl_ven, register
from support.sandbox import sandbox_login, trigger

from shared.oadr20b import messages as m


async def test_a_2_0b_ven_polls_real_events_only(lab: Lab) -> None:
    ven = await bl_ven(lab, "ven-a")
    await register(lab, "ven-a")
    partner = await sandbox_login(lab.vtn, "partner")
    await trigger(partner, template="SIMPLE_LEVEL", value=2)
    await trigger(partner, template="PRICE_CURVE")
    real = await bl_event(lab, await bl_program(lab))
    answer = await lab.ven.send(m.RequestEvent(request_id="re-1", ven_id=ven["id"]))
    assert isinstance(answer, m.DistributeEvent)
    assert [e.event_id for e in answer.events] == [real["id"]]
