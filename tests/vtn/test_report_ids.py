"""Client-chosen report ids (our extension): a retried report is stored once."""

from __future__ import annotations

from support.harness import Api, Vtn


async def test_retried_report_with_same_id_is_stored_once(vtn: Vtn, bl: Api, ven_a: Api) -> None:
    program = await (await bl.post("/programs", json={"programName": "p"})).json()
    event = await (await bl.post("/events", json={"programID": program["id"]})).json()
    report = {
        "id": "gw1-usage-0001",
        "eventID": event["id"],
        "clientName": "gw1",
        "resources": [
            {"resourceName": "r1", "intervals": [{"id": 0, "payloads": [{"type": "USAGE", "values": [2]}]}]}
        ],
    }
    first = await ven_a.post("/reports", json=report)
    # A VEN's id is a key: the VTN assigns the report's id from it (docs/security.md).
    assert first.status == 201 and (await first.json())["id"].startswith("gw1-usage-0001-")
    again = await ven_a.post("/reports", json=report)
    assert again.status == 409
    assert await vtn.count("reports") == 1
    bad = await ven_a.post("/reports", json={**report, "id": "has space"})
    assert bad.status == 400 and (await bad.json())["pointer"] == "/id"
