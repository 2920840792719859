"""POST /reports: one INSERT … SELECT checks the event, resolves its program and writes the report."""

from __future__ import annotations

import asyncio

from support.api_data import bl_ven, create, event, ok_json, problem, program, report, twenty_reports_two_bad
from support.harness import Api, Vtn

from vtn.core.ids import assigned_id


async def test_a_granted_vens_reports_follow_the_targeting_rule(vtn: Vtn, bl: Api, ven_a: Api) -> None:
    p = await create(bl, "/programs", program("p"))
    only_g1 = await create(bl, "/events", event(p["id"], targets=["g1"]))
    g1_or_g2 = await create(bl, "/events", event(p["id"], targets=["g1", "g2"]))
    untargeted = await create(bl, "/events", event(p["id"]))
    await create(bl, "/vens", bl_ven("gw", ven_a.client_id, ["g2", "g3"]))
    await problem(await ven_a.post("/reports", json=report(only_g1["id"])), 400, pointer="/eventID")
    await create(ven_a, "/reports", report(g1_or_g2["id"]))
    await create(ven_a, "/reports", report(untargeted["id"]))
    made_by_bl = await create(bl, "/reports", report(only_g1["id"]))  # BL sees every event
    assert made_by_bl["eventID"] == only_g1["id"]
    assert await vtn.count("reports") == 3


async def test_the_events_program_is_resolved_for_the_report(bl: Api, ven_a: Api) -> None:
    p1 = await create(bl, "/programs", program("p1"))
    p2 = await create(bl, "/programs", program("p2"))
    e1 = await create(bl, "/events", event(p1["id"]))
    e2 = await create(bl, "/events", event(p2["id"]))
    r1 = await create(ven_a, "/reports", report(e1["id"]))
    r2 = await create(ven_a, "/reports", report(e2["id"]))
    assert [r["id"] for r in await ok_json(await ven_a.get(f"/reports?programID={p1['id']}"))] == [r1["id"]]
    assert [r["id"] for r in await ok_json(await ven_a.get(f"/reports?programID={p2['id']}"))] == [r2["id"]]


async def test_concurrent_reports_are_answered_one_by_one(vtn: Vtn, bl: Api, ven_a: Api) -> None:
    _, bodies = await twenty_reports_two_bad(bl)
    answers = await asyncio.gather(*(ven_a.post("/reports", json=b) for b in bodies))
    statuses = sorted(a.status for a in answers)
    assert statuses == [201] * 18 + [400, 409]
    assert await vtn.count("reports") == 18
    for answer, body in zip(answers, bodies, strict=True):
        if answer.status == 201:
            made = await answer.json()
            assert made["id"] == assigned_id(ven_a.client_id, body["id"])  # a key (docs/security.md)
            assert made["clientID"] == ven_a.client_id
            assert await ok_json(await ven_a.get(f"/reports/{made['id']}")) == made
