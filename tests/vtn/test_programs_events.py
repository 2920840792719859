"""Programs and events as BL writes them: CRUD, uniqueness, references, filters and pagination."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from support.api_data import counts, create, event, ids, ok_json, problem, program
from support.harness import Api, Vtn


def _ts(text: str) -> datetime:
    return datetime.fromisoformat(text)


# ---------------------------------------------------------------------- programs


async def test_program_create_and_read(bl: Api) -> None:
    body = program(
        "tariff-1",
        programDescriptions=[{"URL": "https://utility.example.com/tariff-1"}],
        attributes=[{"type": "LOCATION", "values": ["north"]}],
        targets=["g1"],
    )
    created = await create(bl, "/programs", body)
    assert created["objectType"] == "PROGRAM"
    assert created["programName"] == "tariff-1"
    assert created["programDescriptions"] == [{"URL": "https://utility.example.com/tariff-1"}]
    assert created["attributes"] == [{"type": "LOCATION", "values": ["north"]}]
    assert created["targets"] == ["g1"]
    assert created["id"]
    assert created["createdDateTime"] == created["modificationDateTime"]
    assert _ts(created["createdDateTime"]).tzinfo is not None
    assert abs(_ts(created["createdDateTime"]) - datetime.now(UTC)) < timedelta(minutes=1)

    assert await ok_json(await bl.get(f"/programs/{created['id']}")) == created
    assert await ok_json(await bl.get("/programs")) == [created]


async def test_program_get_unknown_is_404(bl: Api) -> None:
    doc = await problem(await bl.get("/programs/nope"), 404)
    assert doc["instance"].startswith("urn:uuid:")
    await problem(await bl.put("/programs/nope", json=program("x")), 404)
    await problem(await bl.delete("/programs/nope"), 404)


async def test_program_name_is_unique(vtn: Vtn, bl: Api) -> None:
    await create(bl, "/programs", program("tariff-1"))
    await problem(await bl.post("/programs", json=program("tariff-1")), 409)
    assert await vtn.count("programs") == 1


async def test_put_program_to_a_taken_name_is_409(bl: Api) -> None:
    await create(bl, "/programs", program("a"))
    b = await create(bl, "/programs", program("b"))
    await problem(await bl.put(f"/programs/{b['id']}", json=program("a")), 409)
    assert (await ok_json(await bl.get(f"/programs/{b['id']}")))["programName"] == "b"


async def test_put_program_replaces_and_keeps_metadata(bl: Api) -> None:
    old = await create(bl, "/programs", program("tariff-1", targets=["g1"]))
    await asyncio.sleep(0.01)
    body = program("tariff-2", id="other", createdDateTime="2000-01-01T00:00:00Z")
    new = await ok_json(await bl.put(f"/programs/{old['id']}", json=body))
    assert new["id"] == old["id"]
    assert new["createdDateTime"] == old["createdDateTime"]
    assert _ts(new["modificationDateTime"]) > _ts(old["modificationDateTime"])
    assert new["programName"] == "tariff-2"
    assert "targets" not in new  # PUT replaces: what is not sent is gone
    assert await ok_json(await bl.get(f"/programs/{old['id']}")) == new
    # Keeping its own name is not a conflict.
    assert (await bl.put(f"/programs/{old['id']}", json=program("tariff-2"))).status == 200


async def test_delete_program_returns_it_then_404(vtn: Vtn, bl: Api) -> None:
    created = await create(bl, "/programs", program("tariff-1"))
    deleted = await ok_json(await bl.delete(f"/programs/{created['id']}"))
    assert deleted == created
    await problem(await bl.get(f"/programs/{created['id']}"), 404)
    await problem(await bl.delete(f"/programs/{created['id']}"), 404)
    assert await vtn.count("programs") == 0
    # The name is free again.
    await create(bl, "/programs", program("tariff-1"))


async def test_delete_program_removes_its_events(vtn: Vtn, bl: Api) -> None:
    p1 = await create(bl, "/programs", program("p1"))
    p2 = await create(bl, "/programs", program("p2"))
    e1 = await create(bl, "/events", event(p1["id"], targets=["g1", "g2"]))
    await create(bl, "/events", event(p1["id"]))
    keep = await create(bl, "/events", event(p2["id"], targets=["g1"]))
    assert (await bl.delete(f"/programs/{p1['id']}")).status == 200
    await problem(await bl.get(f"/events/{e1['id']}"), 404)
    assert await ids(await bl.get("/events")) == [keep["id"]]
    assert await vtn.count("events") == 1
    assert await vtn.count("object_targets") == 1  # only keep's g1 remains


# ---------------------------------------------------------------------- events


async def test_event_crud(vtn: Vtn, bl: Api) -> None:
    p = await create(bl, "/programs", program("p"))
    body = event(p["id"], eventName="peak", priority=3, duration="PT2H", targets=["g1"])
    body["payloadDescriptors"] = [{"objectType": "EVENT_PAYLOAD_DESCRIPTOR", "payloadType": "PRICE"}]
    body["reportDescriptors"] = [{"payloadType": "USAGE"}]
    created = await create(bl, "/events", body)
    assert created["objectType"] == "EVENT"
    for key in ("programID", "eventName", "priority", "duration", "targets", "intervalPeriod", "intervals"):
        assert created[key] == body[key], key
    assert created["payloadDescriptors"][0]["payloadType"] == "PRICE"
    assert created["reportDescriptors"][0]["payloadType"] == "USAGE"
    assert await ok_json(await bl.get(f"/events/{created['id']}")) == created

    await asyncio.sleep(0.01)
    new = await ok_json(await bl.put(f"/events/{created['id']}", json=event(p["id"], eventName="renamed")))
    assert new["id"] == created["id"]
    assert new["createdDateTime"] == created["createdDateTime"]
    assert _ts(new["modificationDateTime"]) > _ts(created["modificationDateTime"])
    assert new["eventName"] == "renamed" and "targets" not in new and "priority" not in new

    assert await ok_json(await bl.delete(f"/events/{created['id']}")) == new
    await problem(await bl.get(f"/events/{created['id']}"), 404)
    await problem(await bl.put(f"/events/{created['id']}", json=event(p["id"])), 404)
    await problem(await bl.delete(f"/events/{created['id']}"), 404)
    assert await vtn.count("events") == 0
    assert await vtn.count("object_targets") == 0


async def test_event_names_need_not_be_unique(bl: Api) -> None:
    p = await create(bl, "/programs", program("p"))
    await create(bl, "/events", event(p["id"], eventName="same"))
    await create(bl, "/events", event(p["id"], eventName="same"))


async def test_event_with_unknown_program_is_400(vtn: Vtn, bl: Api) -> None:
    await problem(await bl.post("/events", json=event("no-such-program")), 400, pointer="/programID")
    assert await vtn.count("events") == 0
    p = await create(bl, "/programs", program("p"))
    e = await create(bl, "/events", event(p["id"]))
    await problem(await bl.put(f"/events/{e['id']}", json=event("no-such-program")), 400, "/programID")
    assert (await ok_json(await bl.get(f"/events/{e['id']}")))["programID"] == p["id"]


async def test_event_moves_to_another_program(bl: Api) -> None:
    p1 = await create(bl, "/programs", program("p1"))
    p2 = await create(bl, "/programs", program("p2"))
    e = await create(bl, "/events", event(p1["id"]))
    assert (await bl.put(f"/events/{e['id']}", json=event(p2["id"]))).status == 200
    assert await ids(await bl.get("/events", params={"programID": p1["id"]})) == []
    assert await ids(await bl.get("/events", params={"programID": p2["id"]})) == [e["id"]]


async def test_event_filter_program_id(bl: Api) -> None:
    p1 = await create(bl, "/programs", program("p1"))
    p2 = await create(bl, "/programs", program("p2"))
    a = await create(bl, "/events", event(p1["id"]))
    b = await create(bl, "/events", event(p2["id"]))
    c = await create(bl, "/events", event(p1["id"]))
    assert await ids(await bl.get("/events", params={"programID": p1["id"]})) == [a["id"], c["id"]]
    assert await ids(await bl.get("/events", params={"programID": p2["id"]})) == [b["id"]]
    assert await ids(await bl.get("/events", params={"programID": "unknown"})) == []
    assert await ids(await bl.get("/events")) == [a["id"], b["id"], c["id"]]


async def test_event_filter_targets_as_bl(bl: Api) -> None:
    p = await create(bl, "/programs", program("p"))
    g1 = await create(bl, "/events", event(p["id"], targets=["g1"]))
    g12 = await create(bl, "/events", event(p["id"], targets=["g1", "g2"]))
    g3 = await create(bl, "/events", event(p["id"], targets=["g3"]))
    none = await create(bl, "/events", event(p["id"]))
    assert await ids(await bl.get("/events", params={"targets": "g1"})) == [g1["id"], g12["id"]]
    both = await ids(await bl.get("/events", params=[("targets", "g2"), ("targets", "g3")]))
    assert both == [g12["id"], g3["id"]]
    assert await ids(await bl.get("/events", params={"targets": "zz"})) == []
    assert len(await ids(await bl.get("/events"))) == 4 and none["id"]


async def test_event_filter_active(bl: Api) -> None:
    p = await create(bl, "/programs", program("p"))
    past = await create(
        bl, "/events", event(p["id"], intervalPeriod={"start": "2020-01-01T00:00:00Z", "duration": "PT1H"})
    )
    future = await create(bl, "/events", event(p["id"]))  # 2030
    forever = await create(
        bl,
        "/events",
        event(
            p["id"], duration="P9999Y", intervalPeriod={"start": "2020-01-01T00:00:00Z", "duration": "PT1H"}
        ),
    )
    now = datetime.now(UTC)
    running = await create(
        bl,
        "/events",
        event(
            p["id"],
            intervalPeriod={"start": (now - timedelta(minutes=30)).isoformat(), "duration": "PT1H"},
        ),
    )
    untimed = await create(bl, "/events", {"programID": p["id"]})
    everything = [past["id"], future["id"], forever["id"], running["id"], untimed["id"]]
    assert await ids(await bl.get("/events")) == everything
    assert await ids(await bl.get("/events", params={"active": "false"})) == everything
    active = await ids(await bl.get("/events", params={"active": "true"}))
    assert active == [future["id"], forever["id"], running["id"], untimed["id"]]
    await problem(await bl.get("/events", params={"active": "maybe"}), 400)


async def test_event_with_infinite_interval_period_stays_active(bl: Api) -> None:
    p = await create(bl, "/programs", program("p"))
    period = {"start": "2020-01-01T00:00:00Z", "duration": "P9999Y"}
    forever = await create(bl, "/events", event(p["id"], intervalPeriod=period))
    assert await ids(await bl.get("/events", params={"active": "true"})) == [forever["id"]]


# ---------------------------------------------------------------------- pagination and query parameters


@pytest.mark.parametrize("kind", ["programs", "events"])
async def test_skip_limit_pages_in_creation_order(bl: Api, kind: str) -> None:
    host = await create(bl, "/programs", program("host"))
    made = [host["id"]] if kind == "programs" else []
    for i in range(7 - len(made)):
        body = program(f"p{i}") if kind == "programs" else event(host["id"], eventName=f"e{i}")
        made.append((await create(bl, f"/{kind}", body))["id"])
    assert len(made) == 7
    assert await ids(await bl.get(f"/{kind}")) == made
    pages = [await ids(await bl.get(f"/{kind}", params={"skip": s, "limit": 3})) for s in (0, 3, 6, 9)]
    assert pages == [made[0:3], made[3:6], made[6:7], []]
    assert await ids(await bl.get(f"/{kind}", params={"skip": 5})) == made[5:]
    assert await ids(await bl.get(f"/{kind}", params={"limit": 2})) == made[:2]


async def test_default_and_maximum_limit_is_50(bl: Api) -> None:
    for i in range(52):
        await create(bl, "/programs", program(f"p{i:02d}"))
    first = await ok_json(await bl.get("/programs"))
    assert [p["programName"] for p in first] == [f"p{i:02d}" for i in range(50)]
    assert len(await ids(await bl.get("/programs", params={"limit": 50}))) == 50
    assert len(await ids(await bl.get("/programs", params={"skip": 50}))) == 2


@pytest.mark.parametrize(
    "params",
    [{"limit": "51"}, {"limit": "-1"}, {"skip": "-1"}, {"limit": "abc"}, {"skip": "1.5"}],
)
@pytest.mark.parametrize("kind", ["programs", "events"])
async def test_bad_paging_is_400(bl: Api, kind: str, params: dict[str, str]) -> None:
    await problem(await bl.get(f"/{kind}", params=params), 400)


@pytest.mark.parametrize("kind", ["programs", "events"])
async def test_limit_zero_is_an_empty_list(bl: Api, kind: str) -> None:
    p = await create(bl, "/programs", program("p"))
    await create(bl, "/events", event(p["id"]))
    assert await ok_json(await bl.get(f"/{kind}", params={"limit": "0"})) == []


async def test_unknown_query_parameters_are_ignored(bl: Api) -> None:
    p = await create(bl, "/programs", program("p"))
    e = await create(bl, "/events", event(p["id"]))
    assert await ids(await bl.get("/programs", params={"colour": "blue", "targetType": "x"})) == [p["id"]]
    assert await ids(await bl.get("/events", params={"sort": "desc", "foo": ""})) == [e["id"]]


# ---------------------------------------------------------------------- request bodies


async def test_null_optional_fields_count_as_absent(bl: Api) -> None:
    p = await create(
        bl,
        "/programs",
        {"programName": "p", "targets": None, "intervalPeriod": None, "attributes": None},
    )
    assert "targets" not in p and "intervalPeriod" not in p and "attributes" not in p
    body = {
        "programID": p["id"],
        "targets": None,
        "eventName": None,
        "intervalPeriod": None,
        "priority": None,
        "intervals": [{"id": 0, "intervalPeriod": None, "payloads": [{"type": "PRICE", "values": [1]}]}],
    }
    e = await create(bl, "/events", body)
    for key in ("targets", "eventName", "intervalPeriod", "priority"):
        assert key not in e
    assert e["intervals"] == [{"id": 0, "payloads": [{"type": "PRICE", "values": [1]}]}]
    assert await ok_json(await bl.get(f"/events/{e['id']}")) == e


async def test_client_metadata_is_ignored_on_post(bl: Api) -> None:
    meta = {
        "id": "chosen-by-client",
        "createdDateTime": "2000-01-01T00:00:00Z",
        "modificationDateTime": "2000-01-01T00:00:00Z",
        "objectType": "PROGRAM",
    }
    p = await create(bl, "/programs", program("p", **meta))
    assert p["id"] != "chosen-by-client"
    assert _ts(p["createdDateTime"]).year > 2000 and _ts(p["modificationDateTime"]).year > 2000
    await problem(await bl.get("/programs/chosen-by-client"), 404)
    e = await create(bl, "/events", event(p["id"], **{**meta, "objectType": "EVENT"}))
    assert e["id"] not in ("chosen-by-client", p["id"])
    assert _ts(e["createdDateTime"]).year > 2000


async def test_rejected_writes_change_nothing(vtn: Vtn, bl: Api) -> None:
    p = await create(bl, "/programs", program("p", targets=["g1"]))
    e = await create(bl, "/events", event(p["id"], targets=["g1"]))
    before = await counts(vtn)
    await problem(await bl.post("/programs", json=program("p", targets=["g9"])), 409)
    await problem(await bl.put(f"/events/{e['id']}", json=event("nope", targets=["g9"])), 400)
    await problem(await bl.post("/events", json={"programID": p["id"], "priority": -1}), 400, "/priority")
    assert await counts(vtn) == before
    assert await ok_json(await bl.get(f"/events/{e['id']}")) == e
