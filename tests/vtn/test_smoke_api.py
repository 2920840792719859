"""A first walk through the API as BL and as a VEN (the README quickstart, as a test)."""

from __future__ import annotations

from support.harness import Api, Vtn


async def test_quickstart_flow(vtn: Vtn, bl: Api, ven_a: Api) -> None:
    resp = await bl.post("/programs", json={"programName": "tariff-1"})
    assert resp.status == 201
    program = await resp.json()
    resp = await bl.post(
        "/events",
        json={
            "programID": program["id"],
            "intervalPeriod": {"start": "2030-01-01T00:00:00Z", "duration": "PT1H"},
            "intervals": [{"id": 0, "payloads": [{"type": "PRICE", "values": [0.25]}]}],
        },
    )
    assert resp.status == 201
    event = await resp.json()

    resp = await ven_a.post(
        "/vens", json={"objectType": "VEN_VEN_REQUEST", "venName": "gateway-1", "id": "gw-1"}
    )
    assert resp.status == 201, await resp.text()
    ven = await resp.json()
    # The chosen id is a key: the VTN assigns the ven's id from it (docs/security.md).
    assert ven["id"].startswith("gw-1-") and ven["clientID"] == ven_a.client_id

    resp = await ven_a.post(
        "/resources",
        json={
            "objectType": "VEN_RESOURCE_REQUEST",
            "resourceName": "charger-1",
            "venID": ven["id"],
            "id": "ch-1",
        },
    )
    assert resp.status == 201, await resp.text()

    resp = await ven_a.get("/events")
    assert [e["id"] for e in await resp.json()] == [event["id"]]

    report = {
        "eventID": event["id"],
        "clientName": "gateway-1",
        "resources": [
            {
                "resourceName": "charger-1",
                "intervals": [{"id": 0, "payloads": [{"type": "USAGE", "values": [1.5]}]}],
            }
        ],
    }
    resp = await ven_a.post("/reports", json=report)
    assert resp.status == 201, await resp.text()
    resp = await bl.get("/reports", params={"eventID": event["id"]})
    reports = await resp.json()
    assert len(reports) == 1 and reports[0]["clientID"] == ven_a.client_id
    assert reports[0]["resources"][0]["intervals"][0]["payloads"][0]["values"] == [1.5]
