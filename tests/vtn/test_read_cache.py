"""The read cache never serves a stale or foreign answer after a local write, and is shared safely."""

from __future__ import annotations

from support.harness import Api

from shared.models.ven import BL_VEN_REQUEST


async def test_new_event_shows_at_once_despite_the_cache(bl: Api, ven_a: Api) -> None:
    program = await (await bl.post("/programs", json={"programName": "p"})).json()
    assert await (await ven_a.get("/events")).json() == []  # cached empty answer
    event = await (await bl.post("/events", json={"programID": program["id"]})).json()
    assert [e["id"] for e in await (await ven_a.get("/events")).json()] == [event["id"]]
    assert (await bl.delete(f"/events/{event['id']}")).status == 200
    assert await (await ven_a.get("/events")).json() == []


async def test_a_grant_takes_effect_at_once_and_answers_never_cross_vens(
    bl: Api, ven_a: Api, ven_b: Api
) -> None:
    program = await (await bl.post("/programs", json={"programName": "p"})).json()
    event = await (await bl.post("/events", json={"programID": program["id"], "targets": ["g1"]})).json()
    assert await (await ven_a.get("/events")).json() == []  # nothing granted yet: cached
    ven = {"objectType": BL_VEN_REQUEST, "venName": "a", "clientID": ven_a.client_id, "targets": ["g1"]}
    assert (await bl.post("/vens", json=ven)).status == 201
    assert [e["id"] for e in await (await ven_a.get("/events")).json()] == [event["id"]]
    # VEN B asks the same question and must not get VEN A's (cached) answer.
    assert await (await ven_b.get("/events")).json() == []
    assert await (await ven_b.get("/events", params={"targets": "g1"})).json() == []
