"""The OpenADR 3.0.1 API: reports, subscriptions and notifications across versions."""

# ruff: noqa: F811  (the shared 3.0.1 fixtures are imported from support.oadr301 and used as arguments)

from __future__ import annotations

from typing import Any

import pytest
from support.api_data import create, ok_json, problem
from support.harness import Api
from support.oadr301 import BASE_301, Api301, bl301, create301, event_301, ven301, vtn  # noqa: F401
from support.receiver import Receiver

# --------------------------------------------------------------------------------- reports, subscriptions


def report_301(program_id: str | None, event_id: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "eventID": event_id,
        "clientName": "eisy.client",
        "resources": [
            {"resourceName": "r1", "intervals": [{"id": 0, "payloads": [{"type": "USAGE", "values": [2]}]}]}
        ],
    }
    if program_id is not None:
        body["programID"] = program_id
    return body


async def test_reports_carry_program_id_both_ways(bl: Api, ven_a: Api, ven301: Api301) -> None:
    prog = await create(bl, "/programs", {"programName": "p"})
    ev = await create(bl, "/events", {"programID": prog["id"]})
    made = await create301(ven301, "/reports", report_301(prog["id"], ev["id"]))
    assert made["programID"] == prog["id"] and "clientID" not in made
    as31 = await ok_json(await ven_a.get(f"/reports/{made['id']}"))
    assert "programID" not in as31 and as31["clientID"] == ven_a.client_id
    await problem(await ven301.post("/reports", json=report_301("wrong", ev["id"])), 400, "/programID")
    from_31 = await create(ven_a, "/reports", report_301(None, ev["id"]))
    listed = await ok_json(await ven301.get("/reports", params={"programID": prog["id"]}))
    assert {r["id"]: r["programID"] for r in listed} == {made["id"]: prog["id"], from_31["id"]: prog["id"]}
    put = await ok_json(
        await ven301.put(f"/reports/{made['id']}", json={**report_301(None, ev["id"]), "reportName": "n"})
    )
    assert put["reportName"] == "n" and put["programID"] == prog["id"]
    await ok_json(await ven301.delete(f"/reports/{made['id']}"))


async def test_subscriptions_speak_verbs_in_301_and_names_in_31(bl: Api, ven_a: Api, ven301: Api301) -> None:
    prog = await create(bl, "/programs", {"programName": "p"})
    body = {
        "clientName": "c",
        "programID": prog["id"],
        "objectOperations": [
            {"objects": ["EVENT"], "operations": ["POST", "PUT"], "callbackUrl": "http://127.0.0.1:9/cb"}
        ],
        "targets": [{"type": "VEN_NAME", "values": ["v"]}],
    }
    made = await create301(ven301, "/subscriptions", body)
    op = made["objectOperations"][0]
    assert op["operations"] == ["POST", "PUT"] and op["bearerToken"] is None
    as31 = await ok_json(await ven_a.get(f"/subscriptions/{made['id']}"))
    assert as31["objectOperations"][0]["operations"] == ["CREATE", "UPDATE"] and as31["targets"] == [
        "VEN_NAME:v"
    ]
    from_31 = await create(
        ven_a,
        "/subscriptions",
        {
            "clientName": "c",
            "objectOperations": [
                {
                    "objects": ["PROGRAM"],
                    "operations": ["READ", "DELETE"],
                    "callbackUrl": "http://127.0.0.1:9/x",
                }
            ],
        },
    )
    seen = await ok_json(await ven301.get(f"/subscriptions/{from_31['id']}"))
    assert seen["objectOperations"][0]["operations"] == ["GET", "DELETE"] and "programID" not in seen
    listed = await ok_json(await ven301.get("/subscriptions", params={"programID": prog["id"]}))
    assert [s["id"] for s in listed] == [made["id"]]
    body["objectOperations"][0]["operations"] = ["CREATE"]  # 3.0.1's schema spelling works as well
    put = await ok_json(await ven301.put(f"/subscriptions/{made['id']}", json=body))
    assert put["objectOperations"][0]["operations"] == ["POST"]
    await ok_json(await ven301.delete(f"/subscriptions/{made['id']}"))
    assert (await ven_a.get(f"/subscriptions/{made['id']}")).status == 404


# ------------------------------------------------------------------------------------ notifications


async def _subscribe_both(ven_a: Api, ven301: Api301, url: str, program_id: str) -> None:
    hook = {"objects": ["EVENT"], "callbackUrl": url}
    await create(
        ven_a,
        "/subscriptions",
        {"clientName": "c31", "objectOperations": [{**hook, "operations": ["CREATE"], "bearerToken": "t31"}]},
    )
    body = {"clientName": "c301", "programID": program_id}
    ops = [{**hook, "operations": ["POST"], "bearerToken": "t301"}]
    await create301(ven301, "/subscriptions", {**body, "objectOperations": ops})


async def test_a_301_write_notifies_31_and_301_subscribers(
    bl: Api, ven_a: Api, bl301: Api301, ven301: Api301
) -> None:
    receiver = Receiver()
    url = await receiver.start()
    try:
        prog = await create(bl, "/programs", {"programName": "p"})
        await _subscribe_both(ven_a, ven301, url, prog["id"])
        ev = await create301(bl301, "/events", event_301(prog["id"]))
        got = {r.headers["Authorization"]: r.json() for r in await receiver.wait_for(2)}
        assert got["Bearer t31"]["operation"] == "CREATE" and got["Bearer t31"]["object"]["id"] == ev["id"]
        assert got["Bearer t301"]["object"]["id"] == ev["id"]
    finally:
        await receiver.stop()


@pytest.mark.xfail(
    reason="3.0.1 subscribers still get the 3.1 body: the notifier needs the subscription's API version "
    "(docs/interop.md, 'Notifications to 3.0.1 subscribers')",
    strict=False,
)
async def test_301_subscribers_get_301_notifications(bl: Api, ven_a: Api, ven301: Api301) -> None:
    receiver = Receiver()
    url = await receiver.start()
    try:
        prog = await create(bl, "/programs", {"programName": "p"})
        await _subscribe_both(ven_a, ven301, url, prog["id"])
        await create(bl, "/events", {"programID": prog["id"], "targets": ["g1"]})
        got = {r.headers["Authorization"]: r.json() for r in await receiver.wait_for(2)}
        assert got["Bearer t301"]["operation"] == "POST"
    finally:
        await receiver.stop()
