"""Grid areas and capacity programs over a running VTN: an area's overload forecast produces events
targeted at that area, which only its VENs see; a noisy forecast does not flap them; a recovered
forecast withdraws them. Areas are managed over our API extension."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from support.api_data import bl_ven, create, ok_json
from support.harness import Api, Vtn

from vtn.core.core import Core
from vtn.core.state import STATE
from vtn.programs.capacity_job import run_capacity
from vtn.programs.feeds import Series, Slot
from vtn.programs.jobs import JobKind, ProgramJob
from vtn.programs.verification.collect import verify

DAY = date(2026, 12, 7)
JOB = ProgramJob(
    kind=JobKind.CAPACITY,
    program="feeder-capacity",
    area="feeder-12",
    publish_at=time(14),
    price_incentive=0.3,
)


def _core(vtn: Vtn) -> Core:
    return vtn.client.server.app[STATE].core


def _forecast(loads: list[float]) -> Series:
    start = datetime(2026, 12, 7, tzinfo=UTC)
    return Series(
        tuple(Slot(start + timedelta(hours=h), timedelta(hours=1), kw) for h, kw in enumerate(loads))
    )


BASE = [60.0] * 24


def _with(hours: dict[int, float]) -> list[float]:
    return [hours.get(h, v) for h, v in enumerate(BASE)]


async def _areas(bl: Api, ven_a: Api, ven_b: Api) -> None:
    await create(bl, "/vens", bl_ven("house-a", ven_a.client_id, None))
    await create(bl, "/vens", bl_ven("house-b", ven_b.client_id, None))
    for name, kw in (("feeder-12", 100), ("feeder-7", 80)):
        resp = await bl.post("/areas", json={"name": name, "kind": "feeder", "importKW": kw, "exportKW": 20})
        assert resp.status == 201, await resp.text()
    await ok_json(await bl.put("/areas/feeder-12/vens/house-a"))
    await ok_json(await bl.put("/areas/feeder-7/vens/house-b"))


async def _event_hours(api: Api) -> list[list[dict[str, Any]]]:
    events: list[dict[str, Any]] = await ok_json(await api.get("/events"))
    return events


async def test_areas_over_the_api(bl: Api, ven_a: Api, ven_b: Api) -> None:
    await _areas(bl, ven_a, ven_b)
    listed = await ok_json(await bl.get("/areas"))
    assert [(a["name"], a["importKW"]) for a in listed] == [("feeder-12", 100.0), ("feeder-7", 80.0)]
    one = await ok_json(await bl.get("/areas/feeder-12"))
    assert [v["venName"] for v in one["members"]["vens"]] == ["house-a"]
    # Membership is the OpenADR target on the ven object, visible as such to BL.
    (house_a,) = await ok_json(await bl.get("/vens", params={"venName": "house-a"}))
    assert house_a["targets"] == ["feeder-12"]
    assert (await ven_a.get("/areas")).status == 403
    dup = await bl.post("/areas", json={"name": "feeder-7", "kind": "feeder", "importKW": 1})
    assert dup.status == 409
    bad = await bl.post("/areas", json={"name": "x", "kind": "planet", "importKW": 1})
    assert bad.status == 400
    gone = await bl.delete("/areas/feeder-12")
    assert gone.status == 200
    (house_a,) = await ok_json(await bl.get("/vens", params={"venName": "house-a"}))
    assert house_a.get("targets") in (None, [])


async def test_an_overload_forecast_reaches_only_that_areas_vens(
    vtn: Vtn, bl: Api, ven_a: Api, ven_b: Api
) -> None:
    await _areas(bl, ven_a, ven_b)
    core = _core(vtn)
    decision = await run_capacity(core, JOB, DAY, _forecast(_with({17: 110, 18: 130, 19: 105, 20: 85})))
    assert [s.start.hour for s in decision.at_risk] == [17, 18, 19]
    assert decision.excess_kwh == 10 + 30 + 5

    (seen,) = await ok_json(await ven_a.get("/events"))
    assert seen["targets"] == ["feeder-12"]
    assert seen["intervalPeriod"]["start"].startswith("2026-12-07T17:00:00")
    assert [[(p["type"], p["values"]) for p in i["payloads"]] for i in seen["intervals"]] == [
        [("IMPORT_CAPACITY_LIMIT", [100.0]), ("PRICE", [0.3])]
    ] * 3
    assert await ok_json(await ven_b.get("/events")) == []
    # The same through OpenADR 3.0.1: targeting is the one visibility rule for every protocol.
    for api, count in ((ven_a, 1), (ven_b, 0)):
        resp = await api.client.get(
            "/openadr3/3.0.1/events", headers={"Authorization": f"Bearer {api.token}"}
        )
        assert resp.status == 200 and len(await resp.json()) == count
    # Verification takes what the event asked from the forecast it was published on.
    found = await verify(core, str(decision.event_id))
    (area_row,) = [r for r in found.rows if r.level == "area"]
    assert (area_row.area, area_row.figures.asked_kwh) == ("feeder-12", 45.0)

    # A noisy re-forecast hovering around the limit: the same event, the same hours.
    noisy = _with({16: 97, 17: 101, 18: 96, 19: 92, 20: 99, 21: 88})
    again = await run_capacity(core, JOB, DAY, _forecast(noisy))
    assert again.event_id == decision.event_id
    assert [s.start.hour for s in again.at_risk] == [17, 18, 19, 20]
    (seen,) = await ok_json(await ven_a.get("/events"))
    assert len(seen["intervals"]) == 4

    # The forecast recovers: the event is withdrawn.
    calm = await run_capacity(core, JOB, DAY, _forecast(BASE))
    assert calm.at_risk == [] and calm.event_id is None
    assert await ok_json(await ven_a.get("/events")) == []
    assert await ok_json(await bl.get("/events")) == []
