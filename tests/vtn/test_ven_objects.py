"""Vens, resources, reports and subscriptions: CRUD for BL and VENs, clientID stamping and privacy."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import pytest
from support.api_data import (
    bl_resource,
    bl_ven,
    counts,
    create,
    event,
    ids,
    lab_vtn,
    ok_json,
    problem,
    program,
    report,
    subscription,
    ven_resource,
    ven_ven,
)
from support.harness import Api, Vtn


@pytest.fixture
async def vtn(db_url: str) -> AsyncIterator[Vtn]:
    """This module's VTN: webhook checks relaxed (the `bl`, `ven_a`, `ven_b` fixtures use it)."""
    async with lab_vtn(db_url) as running:
        yield running


async def _event(bl: Api, name: str = "p", **extra: Any) -> dict[str, Any]:
    p = await create(bl, "/programs", program(name))
    return await create(bl, "/events", event(p["id"], **extra))


async def _estate(bl: Api, ven: Api, tag: str) -> dict[str, dict[str, Any]]:
    """One of each private object, written by `ven`."""
    e = await _event(bl, f"prog-{tag}")
    v = await create(ven, "/vens", ven_ven(f"gw-{tag}", f"gw-{tag}"))
    r = await create(ven, "/resources", ven_resource(f"res-{tag}", v["id"], f"res-{tag}"))
    rep = await create(ven, "/reports", report(e["id"], client_name=f"client-{tag}"))
    sub = await create(ven, "/subscriptions", subscription(f"client-{tag}"))
    return {"event": e, "vens": v, "resources": r, "reports": rep, "subscriptions": sub}


# ---------------------------------------------------------------------- vens


async def test_ven_crud_as_ven(vtn: Vtn, ven_a: Api) -> None:
    made = await create(ven_a, "/vens", ven_ven("gw-1", attributes=[{"type": "COLOR", "values": ["red"]}]))
    assert made["objectType"] == "VEN" and made["venName"] == "gw-1"
    assert made["clientID"] == ven_a.client_id
    assert made["id"] and made["createdDateTime"] == made["modificationDateTime"]
    assert made["attributes"] == [{"type": "COLOR", "values": ["red"]}]
    assert await ok_json(await ven_a.get(f"/vens/{made['id']}")) == made
    assert await ok_json(await ven_a.get("/vens")) == [made]
    await asyncio.sleep(0.01)
    new = await ok_json(await ven_a.put(f"/vens/{made['id']}", json=ven_ven("gw-2", "ignored-on-put")))
    assert new["id"] == made["id"] and new["createdDateTime"] == made["createdDateTime"]
    mod = datetime.fromisoformat(new["modificationDateTime"])
    assert mod > datetime.fromisoformat(made["modificationDateTime"])
    assert new["venName"] == "gw-2" and "attributes" not in new and new["clientID"] == ven_a.client_id
    assert await ok_json(await ven_a.delete(f"/vens/{made['id']}")) == new
    await problem(await ven_a.get(f"/vens/{made['id']}"), 404)
    await problem(await ven_a.delete(f"/vens/{made['id']}"), 404)
    assert await vtn.count("vens") == 0


async def test_ven_client_id_comes_from_the_token(bl: Api, ven_a: Api, ven_b: Api) -> None:
    made = await create(ven_a, "/vens", {**ven_ven("gw-1"), "clientID": ven_b.client_id})
    assert made["clientID"] == ven_a.client_id
    assert await ok_json(await ven_b.get("/vens")) == []
    e = await _event(bl)
    rep = await create(ven_a, "/reports", {**report(e["id"]), "clientID": ven_b.client_id})
    assert rep["clientID"] == ven_a.client_id
    sub = await create(ven_a, "/subscriptions", {**subscription(), "clientID": ven_b.client_id})
    assert sub["clientID"] == ven_a.client_id
    # BL may edit a VEN's report; it stays the VEN's.
    edited = await ok_json(await bl.put(f"/reports/{rep['id']}", json=report(e["id"], value=2.0)))
    assert edited["clientID"] == ven_a.client_id
    assert await ids(await ven_a.get("/reports")) == [rep["id"]]


async def test_ven_crud_as_bl(bl: Api, ven_a: Api) -> None:
    made = await create(bl, "/vens", bl_ven("gw-1", ven_a.client_id, ["g1"]))
    assert made["clientID"] == ven_a.client_id and made["targets"] == ["g1"]
    assert await ok_json(await ven_a.get("/vens")) == [made]  # the VEN it was made for sees it
    new = await ok_json(await bl.put(f"/vens/{made['id']}", json=bl_ven("gw-1", ven_a.client_id, ["g2"])))
    assert new["targets"] == ["g2"] and new["id"] == made["id"]
    assert await ok_json(await bl.delete(f"/vens/{made['id']}")) == new
    await problem(await bl.get(f"/vens/{made['id']}"), 404)


async def test_partner_chosen_ven_ids(vtn: Vtn, ven_a: Api, ven_b: Api) -> None:
    # A VEN's id is a key: the VTN assigns the id from it (docs/security.md, "Client-chosen ids").
    made = await create(ven_a, "/vens", ven_ven("gw-1", "gw_1-A"))
    assert made["id"].startswith("gw_1-A-")
    await problem(await ven_a.post("/vens", json=ven_ven("gw-2", "gw_1-A")), 409)  # a retry
    theirs = await create(ven_b, "/vens", ven_ven("gw-2", "gw_1-A"))  # another client's own
    assert theirs["id"] != made["id"]
    await problem(await ven_a.post("/vens", json=ven_ven("gw-3", "has space")), 400, pointer="/id")
    await problem(await ven_a.post("/vens", json=ven_ven("gw-4", "x" * 129)), 400, pointer="/id")
    await problem(await ven_a.post("/vens", json=ven_ven("gw-5", "")), 400, pointer="/id")
    assert await vtn.count("vens") == 2


async def test_ven_name_is_unique(vtn: Vtn, bl: Api, ven_a: Api, ven_b: Api) -> None:
    await create(ven_a, "/vens", ven_ven("gw-1"))
    await problem(await ven_b.post("/vens", json=ven_ven("gw-1")), 409)
    await problem(await bl.post("/vens", json=bl_ven("gw-1", ven_b.client_id)), 409)
    other = await create(ven_a, "/vens", ven_ven("gw-2"))
    await problem(await ven_a.put(f"/vens/{other['id']}", json=ven_ven("gw-1")), 409)
    assert (await ok_json(await ven_a.get(f"/vens/{other['id']}")))["venName"] == "gw-2"
    assert await vtn.count("vens") == 2


async def test_request_variant_must_match_the_role(vtn: Vtn, bl: Api, ven_a: Api) -> None:
    await problem(await ven_a.post("/vens", json=bl_ven("gw-1", ven_a.client_id, ["g1"])), 403)
    await problem(await bl.post("/vens", json=ven_ven("gw-1")), 400, pointer="/objectType")
    v = await create(ven_a, "/vens", ven_ven("gw-1", "gw-1"))
    gw1 = v["id"]
    await problem(await ven_a.put(f"/vens/{gw1}", json=bl_ven("gw-1", ven_a.client_id, ["g1"])), 403)
    await problem(await ven_a.post("/resources", json=bl_resource("r", gw1, ven_a.client_id)), 403)
    await problem(await bl.post("/resources", json=ven_resource("r", gw1)), 400, pointer="/objectType")
    assert await vtn.count("resources") == 0
    assert await ok_json(await bl.get(f"/vens/{gw1}")) == v


async def test_ven_filters(bl: Api, ven_a: Api, ven_b: Api) -> None:
    a = await create(bl, "/vens", bl_ven("gw-a", ven_a.client_id, ["g1", "g2"]))
    b = await create(bl, "/vens", bl_ven("gw-b", ven_b.client_id, ["g2"]))
    assert await ids(await bl.get("/vens")) == [a["id"], b["id"]]
    assert await ids(await bl.get("/vens", params={"venName": "gw-b"})) == [b["id"]]
    assert await ids(await bl.get("/vens", params={"venName": "zz"})) == []
    assert await ids(await bl.get("/vens", params={"targets": "g1"})) == [a["id"]]
    assert await ids(await bl.get("/vens", params={"targets": "g2"})) == [a["id"], b["id"]]
    assert await ids(await ven_a.get("/vens", params={"venName": "gw-b"})) == []
    assert await ids(await ven_a.get("/vens", params={"targets": "g2"})) == [a["id"]]
    assert await ids(await bl.get("/vens", params={"limit": 1, "skip": 1})) == [b["id"]]


# ---------------------------------------------------------------------- resources


async def test_resource_crud_and_client_id(vtn: Vtn, bl: Api, ven_a: Api) -> None:
    gw1 = (await create(ven_a, "/vens", ven_ven("gw-1", "gw-1")))["id"]
    made = await create(ven_a, "/resources", ven_resource("charger", gw1, "ch-1"))
    ch1 = made["id"]
    assert made["objectType"] == "RESOURCE" and ch1.startswith("ch-1-")
    assert made["clientID"] == ven_a.client_id and made["venID"] == gw1
    assert await ok_json(await ven_a.get(f"/resources/{ch1}")) == made
    new = await ok_json(await ven_a.put(f"/resources/{ch1}", json=ven_resource("charger-2", gw1)))
    assert new["resourceName"] == "charger-2" and new["createdDateTime"] == made["createdDateTime"]
    # BL's resource takes its clientID from the ven, whatever BL sends.
    by_bl = await create(bl, "/resources", bl_resource("meter", gw1, "someone-else", ["g1"]))
    assert by_bl["clientID"] == ven_a.client_id and by_bl["targets"] == ["g1"]
    # A VEN's PUT keeps BL's targets on the resource.
    kept = await ok_json(await ven_a.put(f"/resources/{by_bl['id']}", json=ven_resource("meter-2", gw1)))
    assert kept["targets"] == ["g1"] and kept["resourceName"] == "meter-2"
    assert await ok_json(await ven_a.delete(f"/resources/{ch1}")) == new
    await problem(await ven_a.get(f"/resources/{ch1}"), 404)
    assert await vtn.count("resources") == 1


async def test_resource_ids_and_names(vtn: Vtn, ven_a: Api) -> None:
    gw1 = (await create(ven_a, "/vens", ven_ven("gw-1", "gw-1")))["id"]
    gw2 = (await create(ven_a, "/vens", ven_ven("gw-2", "gw-2")))["id"]
    await create(ven_a, "/resources", ven_resource("charger", gw1, "r-1"))
    await problem(await ven_a.post("/resources", json=ven_resource("other", gw1, "r-1")), 409)
    await problem(await ven_a.post("/resources", json=ven_resource("x", gw1, "r 2")), 400, "/id")
    await problem(await ven_a.post("/resources", json=ven_resource("charger", gw1)), 409)
    same_name = await create(ven_a, "/resources", ven_resource("charger", gw2))
    assert same_name["venID"] == gw2
    await problem(await ven_a.put(f"/resources/{same_name['id']}", json=ven_resource("charger", gw1)), 409)
    assert await vtn.count("resources") == 2


async def test_resource_needs_an_owned_ven(vtn: Vtn, bl: Api, ven_a: Api, ven_b: Api) -> None:
    gwa = (await create(ven_a, "/vens", ven_ven("gw-a", "gw-a")))["id"]
    await problem(await ven_a.post("/resources", json=ven_resource("r", "no-such-ven")), 404)
    await problem(await ven_b.post("/resources", json=ven_resource("r", gwa)), 404)
    await problem(await bl.post("/resources", json=bl_resource("r", "no-such-ven", ven_a.client_id)), 404)
    mine = await create(ven_b, "/vens", ven_ven("gw-b", "gw-b"))
    res = await create(ven_b, "/resources", ven_resource("r", mine["id"]))
    # Moving a resource under somebody else's ven is refused too.
    await problem(await ven_b.put(f"/resources/{res['id']}", json=ven_resource("r", gwa)), 404)
    assert (await ok_json(await ven_b.get(f"/resources/{res['id']}")))["venID"] == mine["id"]
    assert await vtn.count("resources") == 1


async def test_deleting_a_ven_deletes_its_resources(vtn: Vtn, bl: Api, ven_a: Api) -> None:
    gw1 = (await create(ven_a, "/vens", ven_ven("gw-1", "gw-1")))["id"]
    gw2 = (await create(ven_a, "/vens", ven_ven("gw-2", "gw-2")))["id"]
    await create(bl, "/resources", bl_resource("r1", gw1, ven_a.client_id, ["g1"]))
    r2 = await create(ven_a, "/resources", ven_resource("r2", gw1, "r2"))
    keep = await create(ven_a, "/resources", ven_resource("r3", gw2))
    assert (await ven_a.delete(f"/vens/{gw1}")).status == 200
    await problem(await ven_a.get(f"/resources/{r2['id']}"), 404)
    assert await ids(await bl.get("/resources")) == [keep["id"]]
    assert await vtn.count("resources") == 1
    assert await vtn.count("object_targets") == 0


async def test_resource_filters(bl: Api, ven_a: Api, ven_b: Api) -> None:
    gwa = (await create(ven_a, "/vens", ven_ven("gw-a", "gw-a")))["id"]
    gwb = (await create(ven_b, "/vens", ven_ven("gw-b", "gw-b")))["id"]
    a1 = await create(bl, "/resources", bl_resource("meter", gwa, ven_a.client_id, ["g1"]))
    a2 = await create(ven_a, "/resources", ven_resource("charger", gwa))
    b1 = await create(bl, "/resources", bl_resource("meter", gwb, ven_b.client_id, ["g1", "g2"]))
    assert await ids(await bl.get("/resources")) == [a1["id"], a2["id"], b1["id"]]
    assert await ids(await bl.get("/resources", params={"resourceName": "meter"})) == [a1["id"], b1["id"]]
    assert await ids(await bl.get("/resources", params={"venID": gwb})) == [b1["id"]]
    assert await ids(await bl.get("/resources", params={"targets": "g2"})) == [b1["id"]]
    assert await ids(await bl.get("/resources", params={"targets": "g1", "venID": gwa})) == [a1["id"]]
    assert await ids(await ven_a.get("/resources", params={"resourceName": "meter"})) == [a1["id"]]
    assert await ids(await ven_a.get("/resources", params={"venID": gwb})) == []


# ---------------------------------------------------------------------- privacy


@pytest.mark.parametrize("kind", ["vens", "resources", "reports", "subscriptions"])
async def test_a_ven_cannot_touch_another_vens_objects(
    vtn: Vtn, bl: Api, ven_a: Api, ven_b: Api, kind: str
) -> None:
    a = await _estate(bl, ven_a, "a")
    b = await _estate(bl, ven_b, "b")
    target = a[kind]
    bodies = {
        "vens": ven_ven("stolen"),
        "resources": ven_resource("stolen", b["vens"]["id"]),
        "reports": report(a["event"]["id"], client_name="stolen"),
        "subscriptions": subscription("stolen"),
    }
    before = await counts(vtn)
    listed = await ok_json(await ven_b.get(f"/{kind}"))
    assert [o["clientID"] for o in listed] == [ven_b.client_id]
    assert target["id"] not in [o["id"] for o in listed]
    await problem(await ven_b.get(f"/{kind}/{target['id']}"), 404)
    await problem(await ven_b.put(f"/{kind}/{target['id']}", json=bodies[kind]), 404)
    await problem(await ven_b.delete(f"/{kind}/{target['id']}"), 404)
    assert await counts(vtn) == before
    assert await ok_json(await ven_a.get(f"/{kind}/{target['id']}")) == target
    # BL sees both VENs' objects.
    assert [o["clientID"] for o in await ok_json(await bl.get(f"/{kind}"))] == [
        ven_a.client_id,
        ven_b.client_id,
    ]
    assert await ok_json(await bl.get(f"/{kind}/{target['id']}")) == target


async def test_a_ven_without_objects_sees_empty_lists(vtn: Vtn, bl: Api, ven_a: Api, ven_b: Api) -> None:
    await _estate(bl, ven_a, "a")
    for kind in ("vens", "resources", "reports", "subscriptions"):
        assert await ok_json(await ven_b.get(f"/{kind}")) == []


# ---------------------------------------------------------------------- reports


async def test_report_crud(vtn: Vtn, bl: Api, ven_a: Api) -> None:
    e = await _event(bl)
    made = await create(ven_a, "/reports", report(e["id"], reportName="r1"))
    assert made["objectType"] == "REPORT" and made["clientID"] == ven_a.client_id
    assert made["eventID"] == e["id"] and made["reportName"] == "r1"
    assert await ok_json(await ven_a.get(f"/reports/{made['id']}")) == made
    new = await ok_json(await ven_a.put(f"/reports/{made['id']}", json=report(e["id"], value=9.0)))
    assert new["id"] == made["id"] and new["createdDateTime"] == made["createdDateTime"]
    assert new["clientID"] == ven_a.client_id and "reportName" not in new
    assert new["resources"][0]["intervals"][0]["payloads"][0]["values"] == [9.0]
    assert await ok_json(await ven_a.delete(f"/reports/{made['id']}")) == new
    await problem(await ven_a.get(f"/reports/{made['id']}"), 404)
    assert await vtn.count("reports") == 0


async def test_a_ven_cannot_edit_or_delete_another_vens_report(bl: Api, ven_a: Api, ven_b: Api) -> None:
    # Owner-only writes (services/reports.py get_report): another VEN's report is not found, unchanged.
    e = await _event(bl)
    made = await create(ven_a, "/reports", report(e["id"], reportName="mine"))
    await problem(await ven_b.put(f"/reports/{made['id']}", json=report(e["id"], value=5.0)), 404)
    await problem(await ven_b.delete(f"/reports/{made['id']}"), 404)
    assert await ok_json(await ven_a.get(f"/reports/{made['id']}")) == made
    edited = await ok_json(await bl.put(f"/reports/{made['id']}", json=report(e["id"], value=5.0)))
    assert edited["clientID"] == ven_a.client_id and edited["createdDateTime"] == made["createdDateTime"]


async def test_report_needs_a_visible_event(vtn: Vtn, bl: Api, ven_a: Api) -> None:
    await problem(await ven_a.post("/reports", json=report("no-such-event")), 400, pointer="/eventID")
    hidden = await _event(bl, "p1", targets=["g1"])
    await problem(await ven_a.post("/reports", json=report(hidden["id"])), 400, pointer="/eventID")
    assert await vtn.count("reports") == 0
    open_event = await _event(bl, "p2")
    made = await create(ven_a, "/reports", report(open_event["id"]))
    await problem(await ven_a.put(f"/reports/{made['id']}", json=report(hidden["id"])), 400, "/eventID")
    assert (await ok_json(await ven_a.get(f"/reports/{made['id']}")))["eventID"] == open_event["id"]
    # Once BL grants g1, the targeted event can be reported on.
    await create(bl, "/vens", bl_ven("gw", ven_a.client_id, ["g1"]))
    await create(ven_a, "/reports", report(hidden["id"]))


async def test_report_filters(bl: Api, ven_a: Api, ven_b: Api) -> None:
    p1 = await create(bl, "/programs", program("p1"))
    p2 = await create(bl, "/programs", program("p2"))
    e1 = await create(bl, "/events", event(p1["id"]))
    e2 = await create(bl, "/events", event(p1["id"]))
    e3 = await create(bl, "/events", event(p2["id"]))
    r1 = await create(ven_a, "/reports", report(e1["id"], client_name="alpha"))
    r2 = await create(ven_a, "/reports", report(e2["id"], client_name="beta"))
    r3 = await create(ven_b, "/reports", report(e3["id"], client_name="alpha"))
    r4 = await create(ven_b, "/reports", report(e1["id"], client_name="gamma"))
    assert await ids(await bl.get("/reports", params={"eventID": e1["id"]})) == [r1["id"], r4["id"]]
    assert await ids(await bl.get("/reports", params={"programID": p1["id"]})) == [
        r1["id"],
        r2["id"],
        r4["id"],
    ]
    assert await ids(await bl.get("/reports", params={"programID": p2["id"]})) == [r3["id"]]
    assert await ids(await bl.get("/reports", params={"clientName": "alpha"})) == [r1["id"], r3["id"]]
    both = {"programID": p1["id"], "clientName": "alpha"}
    assert await ids(await bl.get("/reports", params=both)) == [r1["id"]]
    assert await ids(await ven_a.get("/reports", params={"eventID": e1["id"]})) == [r1["id"]]
    assert await ids(await ven_b.get("/reports", params={"clientName": "beta"})) == []
    assert await ids(await bl.get("/reports", params={"eventID": "nope"})) == []


async def test_report_program_filter_follows_the_event(bl: Api, ven_a: Api) -> None:
    p1 = await create(bl, "/programs", program("p1"))
    p2 = await create(bl, "/programs", program("p2"))
    e = await create(bl, "/events", event(p1["id"]))
    r = await create(ven_a, "/reports", report(e["id"]))
    assert (await bl.put(f"/events/{e['id']}", json=event(p2["id"]))).status == 200
    assert await ids(await bl.get("/reports", params={"programID": p2["id"]})) == [r["id"]]
    assert await ids(await bl.get("/reports", params={"programID": p1["id"]})) == []


# ---------------------------------------------------------------------- subscriptions


async def test_subscription_crud_and_secret(vtn: Vtn, ven_a: Api) -> None:
    body = subscription("client-a", ["EVENT", "PROGRAM"], ["GET", "POST", "PUT", "DELETE"], secret="hmac-key")
    body["objectOperations"][0]["bearerToken"] = "cb-token"
    made = await create(ven_a, "/subscriptions", {**body, "targets": ["g1"]})
    assert made["objectType"] == "SUBSCRIPTION" and made["clientID"] == ven_a.client_id
    op = made["objectOperations"][0]
    assert op["operations"] == ["READ", "CREATE", "UPDATE", "DELETE"]
    assert op["objects"] == ["EVENT", "PROGRAM"] and op["bearerToken"] == "cb-token"
    assert made["targets"] == ["g1"]
    assert "secret" not in made
    got = await ok_json(await ven_a.get(f"/subscriptions/{made['id']}"))
    assert got == made and "secret" not in got
    assert all("secret" not in s for s in await ok_json(await ven_a.get("/subscriptions")))
    async with vtn.store.read() as tx:
        assert await tx.subscriptions.secret_of(made["id"]) == "hmac-key"
    new = await ok_json(await ven_a.put(f"/subscriptions/{made['id']}", json=subscription("client-b")))
    assert new["clientName"] == "client-b" and new["id"] == made["id"] and "secret" not in new
    assert new["createdDateTime"] == made["createdDateTime"] and "targets" not in new
    deleted = await ok_json(await ven_a.delete(f"/subscriptions/{made['id']}"))
    assert deleted == new
    await problem(await ven_a.get(f"/subscriptions/{made['id']}"), 404)
    assert await vtn.count("subscriptions") == 0


async def test_subscription_program_must_be_visible(vtn: Vtn, bl: Api, ven_a: Api) -> None:
    await problem(await ven_a.post("/subscriptions", json=subscription(programID="nope")), 400, "/programID")
    hidden = await create(bl, "/programs", program("hidden", targets=["g1"]))
    await problem(
        await ven_a.post("/subscriptions", json=subscription(programID=hidden["id"])), 400, "/programID"
    )
    assert await vtn.count("subscriptions") == 0
    made = await create(bl, "/subscriptions", subscription(programID=hidden["id"]))
    assert made["programID"] == hidden["id"] and made["clientID"] == bl.client_id


async def test_subscription_filters(bl: Api, ven_a: Api, ven_b: Api) -> None:
    p = await create(bl, "/programs", program("p"))
    s1 = await create(ven_a, "/subscriptions", subscription("alpha", ["EVENT"]))
    s2 = await create(ven_a, "/subscriptions", subscription("beta", ["PROGRAM", "REPORT"], programID=p["id"]))
    s3 = await create(ven_b, "/subscriptions", subscription("alpha", ["EVENT", "RESOURCE"]))
    assert await ids(await bl.get("/subscriptions", params={"objects": "EVENT"})) == [s1["id"], s3["id"]]
    two = [("objects", "REPORT"), ("objects", "RESOURCE")]
    assert await ids(await bl.get("/subscriptions", params=two)) == [s2["id"], s3["id"]]
    assert await ids(await bl.get("/subscriptions", params={"objects": "VEN"})) == []
    assert await ids(await bl.get("/subscriptions", params={"clientName": "alpha"})) == [s1["id"], s3["id"]]
    assert await ids(await bl.get("/subscriptions", params={"programID": p["id"]})) == [s2["id"]]
    assert await ids(await ven_a.get("/subscriptions", params={"objects": "EVENT"})) == [s1["id"]]
    await problem(await bl.get("/subscriptions", params={"objects": "BANANA"}), 400)


async def test_subscription_operation_must_be_known(vtn: Vtn, ven_a: Api) -> None:
    body = subscription(operations=["PATCH"])
    await problem(await ven_a.post("/subscriptions", json=body), 400)
    body = subscription(objects=["BANANA"])
    await problem(await ven_a.post("/subscriptions", json=body), 400)
    assert await vtn.count("subscriptions") == 0
