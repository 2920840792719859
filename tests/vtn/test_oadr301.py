"""The OpenADR 3.0.1 API (vtn/oadr301): CRUD through 3.0.1, and cross-version visibility both ways."""

# ruff: noqa: F811  (the shared 3.0.1 fixtures are imported from support.oadr301 and used as arguments)

from __future__ import annotations

import base64
from typing import Any

from support.api_data import bl_ven, create, ok_json, problem
from support.harness import Api, Vtn
from support.oadr301 import BASE_301, Api301, bl301, create301, event_301, ven301, vtn  # noqa: F401

from shared.enums import Role

PROGRAM_301 = {
    "id": "client-chosen",  # VTN-provisioned in 3.0.1: ignored
    "programName": "tou-301",
    "programLongName": "Time of use",
    "programType": "PRICING TARIFF",
    "country": "US",
    "bindingEvents": True,
    "timeZoneOffset": "PT1H",
    "intervalPeriod": {"start": "2030-01-01T00:00:00", "duration": "P1D"},
    "payloadDescriptors": [{"payloadType": "PRICE", "units": "KWH", "currency": "USD"}],
    "targets": [{"type": "GROUP", "values": ["g1"]}, {"type": "SERVICE_AREA", "values": ["north"]}],
}


# ---------------------------------------------------------------------------------------- auth


async def test_token_endpoint_grants_role_scopes_and_echoes_scope(vtn: Vtn) -> None:
    async with vtn.store.transaction() as tx:
        new = await tx.clients.add("bl-301", Role.BL)
    form = {
        "grant_type": "client_credentials",
        "client_id": new.record.client_id,
        "client_secret": new.secret,
        "scope": "read_all",
    }
    resp = await vtn.client.post(BASE_301 + "/auth/token", data=form)
    body = await ok_json(resp)
    assert body["scope"] == "read_all" and body["token_type"] == "Bearer" and body["expires_in"] > 0
    bl = Api301(Api(vtn.client, new.record.client_id, new.secret, body["access_token"]))
    await ok_json(await bl.post("/programs", json={"programName": "p"}), 201)  # not narrowed to read_all
    # HTTP Basic works too; a wrong secret is an RFC 6749 error in JSON
    auth = {"Authorization": "Basic " + base64.b64encode(f"{new.record.client_id}:x".encode()).decode()}
    resp = await vtn.client.post(
        BASE_301 + "/auth/token", data={"grant_type": "client_credentials"}, headers=auth
    )
    assert resp.status == 401 and (await resp.json())["error"] == "invalid_client"


async def test_scopes_and_authentication(vtn: Vtn, ven301: Api301) -> None:
    assert (await vtn.client.get(BASE_301 + "/programs")).status == 401
    await problem(await ven301.post("/programs", json={"programName": "x"}), 403)
    await ok_json(await ven301.get("/programs"))  # read_all in 3.0.1 = a VEN's read scopes


# --------------------------------------------------------------------------------- programs, events


async def test_program_crud_through_301_and_visible_in_31(bl: Api, bl301: Api301) -> None:
    created = await create301(bl301, "/programs", PROGRAM_301)
    assert created["id"] != "client-chosen" and created["objectType"] == "PROGRAM"
    assert created["programLongName"] == "Time of use" and created["bindingEvents"] is True
    assert created["targets"] == PROGRAM_301["targets"]
    assert created["intervalPeriod"]["start"] == "2030-01-01T00:00:00Z"  # naive read as UTC
    assert created["payloadDescriptors"][0]["objectType"] == "EVENT_PAYLOAD_DESCRIPTOR"
    as31 = await ok_json(await bl.get(f"/programs/{created['id']}"))
    assert as31["targets"] == ["g1", "SERVICE_AREA:north"]
    attrs = {a["type"]: a["values"] for a in as31["attributes"]}
    assert attrs["PROGRAM_LONG_NAME"] == ["Time of use"] and attrs["PROGRAM_TYPE"] == ["PRICING TARIFF"]
    assert attrs["BINDING_EVENTS"] == [True] and attrs["TIME_ZONE_OFFSET"] == ["PT1H"]
    # a 3.1-only attribute survives a 3.0.1 PUT, which cannot express it
    as31["attributes"].append({"type": "X_PRIVATE", "values": ["kept"]})
    await ok_json(await bl.put(f"/programs/{created['id']}", json=_request(as31)))
    put = await ok_json(await bl301.put(f"/programs/{created['id']}", json={**PROGRAM_301, "country": "NL"}))
    assert put["country"] == "NL" and "attributes" not in put
    attrs = {
        a["type"]: a["values"]
        for a in (await ok_json(await bl.get(f"/programs/{created['id']}")))["attributes"]
    }
    assert attrs["COUNTRY"] == ["NL"] and attrs["X_PRIVATE"] == ["kept"]
    gone = await ok_json(await bl301.delete(f"/programs/{created['id']}"))
    assert gone["id"] == created["id"]
    await problem(await bl301.get(f"/programs/{created['id']}"), 404)


def _request(obj: dict[str, Any]) -> dict[str, Any]:
    return {
        k: v
        for k, v in obj.items()
        if k not in ("id", "createdDateTime", "modificationDateTime", "objectType")
    }


async def test_31_program_and_event_read_through_301(bl: Api, bl301: Api301) -> None:
    prog = await create(
        bl,
        "/programs",
        {
            "programName": "p31",
            "targets": ["g1", "VEN_NAME:v1"],
            "attributes": [{"type": "RETAILER_NAME", "values": ["ACME"]}],
            "intervalPeriod": {"duration": "P1D"},
        },
    )
    doc = await ok_json(await bl301.get(f"/programs/{prog['id']}"))
    assert doc["targets"] == [{"type": "GROUP", "values": ["g1"]}, {"type": "VEN_NAME", "values": ["v1"]}]
    assert doc["retailerName"] == "ACME" and "attributes" not in doc
    assert doc["intervalPeriod"] == {"start": "0001-01-01T00:00:00Z", "duration": "P1D"}
    ev = await create(
        bl,
        "/events",
        {
            "programID": prog["id"],
            "duration": "P1D",
            "targets": ["g1"],
            "reportDescriptors": [
                {"payloadType": "USAGE", "reportIntervals": "SUB_INTERVALS", "targets": ["g1"]}
            ],
        },
    )
    doc = await ok_json(await bl301.get(f"/events/{ev['id']}"))
    assert doc["intervals"] == [] and "duration" not in doc
    assert doc["reportDescriptors"][0]["targets"] == [{"type": "GROUP", "values": ["g1"]}]
    assert "reportIntervals" not in doc["reportDescriptors"][0]
    # a 3.0.1 PUT keeps what 3.0.1 cannot express
    put = {**_request(doc), "eventName": "renamed"}
    await ok_json(await bl301.put(f"/events/{ev['id']}", json=put))
    again = await ok_json(await bl.get(f"/events/{ev['id']}"))
    assert again["eventName"] == "renamed" and again["duration"] == "P1D"
    assert again["reportDescriptors"][0]["reportIntervals"] == "SUB_INTERVALS"
    # targetType/targetValues filter for BL
    other = await create(bl, "/events", {"programID": prog["id"], "targets": ["g2"]})
    found = await ok_json(await bl301.get("/events", params={"targetType": "GROUP", "targetValues": "g2"}))
    assert [e["id"] for e in found] == [other["id"]]


async def test_event_crud_through_301(bl: Api, bl301: Api301) -> None:
    prog = await create301(bl301, "/programs", {"programName": "p"})
    no_intervals = await create301(bl301, "/events", {"programID": prog["id"]})  # liberal: optional
    assert no_intervals["intervals"] == []
    ev = await create301(
        bl301, "/events", event_301(prog["id"], targets=[{"type": "VEN_NAME", "values": ["v"]}])
    )
    assert (await ok_json(await bl.get(f"/events/{ev['id']}")))["targets"] == ["VEN_NAME:v"]
    listed = await ok_json(await bl301.get("/events", params={"programID": prog["id"]}))
    assert {e["id"] for e in listed} == {ev["id"], no_intervals["id"]}
    await problem(
        await bl301.post("/events", json={"programID": prog["id"], "priority": -1}), 400, "/priority"
    )
    await problem(
        await bl301.post(
            "/events", json={"programID": prog["id"], "targets": [{"type": "g", "values": ["x"]}]}
        ),
        400,
        "/targets/0/type",
    )
    await problem(await bl301.post("/programs", json={"programType": "x"}), 400, "/programName")
    await ok_json(await bl301.delete(f"/events/{ev['id']}"))
    await problem(await bl.get(f"/events/{ev['id']}"), 404)


async def test_ven_targeting_through_301(bl: Api, ven_a: Api, ven301: Api301) -> None:
    await create(bl, "/vens", bl_ven("ven-a", ven_a.client_id, targets=["g1"]))
    prog = await create(bl, "/programs", {"programName": "p"})
    hit = await create(bl, "/events", {"programID": prog["id"], "targets": ["g1"]})
    await create(bl, "/events", {"programID": prog["id"], "targets": ["g2"]})
    open_ev = await create(bl, "/events", {"programID": prog["id"]})
    found = await ok_json(await ven301.get("/events"))
    assert {e["id"] for e in found} == {hit["id"], open_ev["id"]}
    asked = await ok_json(await ven301.get("/events", params={"targetType": "GROUP", "targetValues": ["g1"]}))
    assert hit["id"] in {e["id"] for e in asked}


# ------------------------------------------------------------------------------------ vens, resources


async def test_ven_with_embedded_resources_and_nested_paths(
    bl: Api, ven_a: Api, ven_b: Api, ven301: Api301
) -> None:
    ven = await create301(
        ven301,
        "/vens",
        {
            "venName": "eisy",
            "targets": [{"type": "GROUP", "values": ["sneaky"]}],  # a VEN may not grant itself targets
            "resources": [{"resourceName": "thermostat"}],
        },
    )
    assert ven["objectType"] == "VEN" and "targets" not in ven and "clientID" not in ven
    assert [r["resourceName"] for r in ven["resources"]] == ["thermostat"]
    as31 = await ok_json(await ven_a.get("/resources", params={"venID": ven["id"]}))
    assert [r["resourceName"] for r in as31] == ["thermostat"] and as31[0]["clientID"] == ven_a.client_id
    res = await create301(ven301, f"/vens/{ven['id']}/resources", {"resourceName": "battery"})
    assert res["venID"] == ven["id"]
    await ok_json(await ven301.get(f"/vens/{ven['id']}/resources/{res['id']}"))
    named = await ok_json(
        await ven301.get(f"/vens/{ven['id']}/resources", params={"resourceName": "battery"})
    )
    assert [r["id"] for r in named] == [res["id"]]
    put = await ok_json(
        await ven301.put(f"/vens/{ven['id']}/resources/{res['id']}", json={"resourceName": "bat-2"})
    )
    assert put["resourceName"] == "bat-2"
    await problem(
        await ven301.post(f"/vens/{ven['id']}/resources", json={"resourceName": "x", "venID": "other"}), 400
    )
    # another VEN sees neither the ven nor its resources
    other = Api301(ven_b)
    await problem(await other.get(f"/vens/{ven['id']}/resources"), 404)
    assert await ok_json(await other.get("/vens")) == []
    # a 3.1 resource of another ven is not found under this ven's path
    ven2 = await create(bl, "/vens", bl_ven("ven-2", ven_a.client_id, targets=["g1"]))
    r2 = await create(
        bl,
        "/resources",
        {
            "objectType": "BL_RESOURCE_REQUEST",
            "clientID": ven_a.client_id,
            "resourceName": "r",
            "venID": ven2["id"],
        },
    )
    await problem(await ven301.get(f"/vens/{ven['id']}/resources/{r2['id']}"), 404)
    seen = await ok_json(await Api301(bl).get(f"/vens/{ven2['id']}"))
    assert seen["targets"] == [{"type": "GROUP", "values": ["g1"]}] and seen["resources"][0]["id"] == r2["id"]
    await ok_json(await ven301.delete(f"/vens/{ven['id']}/resources/{res['id']}"))
    await ok_json(await ven301.delete(f"/vens/{ven['id']}"))
    assert await ok_json(await ven_a.get("/resources", params={"venID": ven["id"]})) == []
