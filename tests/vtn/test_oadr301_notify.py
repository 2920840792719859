"""The OpenADR 3.0.1 API: reports, subscriptions and notifications across versions."""

# ruff: noqa: F811  (the shared 3.0.1 fixtures are imported from support.oadr301 and used as arguments)

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

import pytest
from sqlalchemy import update
from support.api_data import bl_resource, bl_ven, create, ok_json, problem
from support.harness import Api, Vtn
from support.oadr301 import BASE_301, Api301, bl301, create301, event_301, ven301, vtn  # noqa: F401
from support.receiver import Received, Receiver

from vtn.core.state import STATE
from vtn.oadr301 import notifications as oadr301_notifications
from vtn.storage.tables import subscriptions

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


async def test_a_program_id_sent_never_names_the_program_of_an_event_the_ven_cannot_see(
    bl: Api, ven301: Api301
) -> None:
    # The programID is checked in the write, after the insert that only finds visible events: an
    # event targeted at a group the VEN is not in is "no event you can see", whatever the programID.
    prog = await create(bl, "/programs", {"programName": "p"})
    hidden = await create(bl, "/events", {"programID": prog["id"], "targets": ["group-not-granted"]})
    refused = await problem(
        await ven301.post("/reports", json=report_301("wrong", hidden["id"])), 400, "/eventID"
    )
    assert prog["id"] not in str(refused)
    listed = await ok_json(await ven301.get("/reports"))
    assert listed == []


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


async def _subscribe_both(
    ven_a: Api, ven301: Api301, url: str, program_id: str | None, objects: str = "EVENT"
) -> dict[str, Any]:
    """A 3.1 subscription (token t31, HMAC secret k31) and a 3.0.1 one (t301); returns the latter."""
    hook = {"objects": [objects], "callbackUrl": url}
    ops31 = [{**hook, "operations": ["CREATE"], "bearerToken": "t31"}]
    await create(ven_a, "/subscriptions", {"clientName": "c31", "objectOperations": ops31, "secret": "k31"})
    body: dict[str, Any] = {"clientName": "c301"}
    if program_id is not None:
        body["programID"] = program_id
    ops = [{**hook, "operations": ["POST"], "bearerToken": "t301"}]
    return await create301(ven301, "/subscriptions", {**body, "objectOperations": ops})


def _by_token(received: list[Received]) -> dict[str, Any]:
    """Notification documents by bearer token; the 3.1 one's HMAC signature is checked."""
    out: dict[str, Any] = {}
    for r in received:
        token = r.headers["Authorization"].removeprefix("Bearer ")
        if token == "t31":
            digest = base64.b64encode(hmac.new(b"k31", r.body, hashlib.sha256).digest()).decode()
            assert r.headers["X-Payload-Signature"] == digest
        else:  # the 3.0.1 API has no `secret` extension, so nothing to sign with
            assert "X-Payload-Signature" not in r.headers
        out[token] = r.json()
    return out


async def test_a_301_write_notifies_31_and_301_subscribers(
    bl: Api, ven_a: Api, bl301: Api301, ven301: Api301
) -> None:
    receiver = Receiver()
    url = await receiver.start()
    try:
        prog = await create(bl, "/programs", {"programName": "p"})
        await _subscribe_both(ven_a, ven301, url, prog["id"])
        ev = await create301(bl301, "/events", event_301(prog["id"]))
        got = _by_token(await receiver.wait_for(2))
        assert got["t31"]["operation"] == "CREATE" and got["t31"]["object"]["id"] == ev["id"]
        assert got["t301"]["operation"] == "POST" and got["t301"]["object"]["id"] == ev["id"]
    finally:
        await receiver.stop()


async def test_301_subscribers_get_301_notifications(bl: Api, ven_a: Api, ven301: Api301) -> None:
    receiver = Receiver()
    url = await receiver.start()
    try:
        prog = await create(bl, "/programs", {"programName": "p"})
        await create(bl, "/vens", bl_ven("granted", ven_a.client_id, ["g1"]))
        await _subscribe_both(ven_a, ven301, url, prog["id"])
        ev = await create(bl, "/events", {"programID": prog["id"], "targets": ["g1", "VEN_NAME:other"]})
        got = _by_token(await receiver.wait_for(2))
        v31, v301 = got["t31"], got["t301"]
        # Both hide the targets the VEN was not granted; 3.0.1 spells them as valuesMaps.
        assert v31["operation"] == "CREATE" and v31["targets"] == ["g1"]
        assert v31["object"]["targets"] == ["g1"]
        assert v301["operation"] == "POST" and v301["objectType"] == "EVENT"
        assert v301["targets"] == [{"type": "GROUP", "values": ["g1"]}]
        assert v301["object"]["targets"] == [{"type": "GROUP", "values": ["g1"]}]
        assert v301["object"]["id"] == ev["id"] and v301["object"]["programID"] == prog["id"]
    finally:
        await receiver.stop()


async def test_301_report_notifications_carry_the_program(bl: Api, ven_a: Api, ven301: Api301) -> None:
    receiver = Receiver()
    url = await receiver.start()
    try:
        prog = await create(bl, "/programs", {"programName": "p"})
        ev = await create(bl, "/events", {"programID": prog["id"]})
        await _subscribe_both(ven_a, ven301, url, None, objects="REPORT")
        made = await create(ven_a, "/reports", report_301(None, ev["id"]))
        got = _by_token(await receiver.wait_for(2))
        assert got["t31"]["operation"] == "CREATE" and "programID" not in got["t31"]["object"]
        assert got["t301"]["operation"] == "POST" and got["t301"]["object"]["id"] == made["id"]
        assert got["t301"]["object"]["programID"] == prog["id"]
    finally:
        await receiver.stop()


async def test_the_api_of_the_last_write_decides(bl: Api, ven_a: Api, ven301: Api301) -> None:
    """A 3.0.1 subscription rewritten through 3.1 gets 3.1 bodies, and 3.0.1 ones again after a 3.0.1 PUT."""
    receiver = Receiver()
    url = await receiver.start()
    try:
        prog = await create(bl, "/programs", {"programName": "p"})
        sub = await create301(
            ven301,
            "/subscriptions",
            {
                "clientName": "c",
                "objectOperations": [
                    {"objects": ["EVENT"], "operations": ["POST"], "callbackUrl": url, "bearerToken": "t"}
                ],
            },
        )
        as31 = await ok_json(await ven_a.get(f"/subscriptions/{sub['id']}"))
        body31 = {k: as31[k] for k in ("clientName", "objectOperations")}
        await ok_json(await ven_a.put(f"/subscriptions/{sub['id']}", json=body31))
        await create(bl, "/events", {"programID": prog["id"], "eventName": "a"})
        (first,) = await receiver.wait_for(1)
        assert first.json()["operation"] == "CREATE"
        await ok_json(await ven301.put(f"/subscriptions/{sub['id']}", json={k: sub[k] for k in body31}))
        await create(bl, "/events", {"programID": prog["id"], "eventName": "b"})
        second = (await receiver.wait_for(2))[1]
        assert second.json()["operation"] == "POST" and second.json()["object"]["eventName"] == "b"
    finally:
        await receiver.stop()


async def test_a_signature_covers_the_301_body_as_sent(vtn: Vtn, bl: Api, ven301: Api301) -> None:
    """The 3.0.1 API cannot set a secret; one stored anyway (a later extension) signs the 3.0.1 body."""
    receiver = Receiver()
    url = await receiver.start()
    try:
        prog = await create(bl, "/programs", {"programName": "p"})
        ops = [{"objects": ["EVENT"], "operations": ["POST"], "callbackUrl": url, "bearerToken": "t"}]
        sub = await create301(ven301, "/subscriptions", {"clientName": "c", "objectOperations": ops})
        async with vtn.store.transaction() as tx:
            await tx.conn.execute(
                update(subscriptions).where(subscriptions.c.id == sub["id"]).values(secret="k")
            )
        await create(bl, "/events", {"programID": prog["id"]})
        (got,) = await receiver.wait_for(1)
        digest = base64.b64encode(hmac.new(b"k", got.body, hashlib.sha256).digest()).decode()
        assert got.headers["X-Payload-Signature"] == digest and got.json()["operation"] == "POST"
    finally:
        await receiver.stop()


async def test_every_kind_of_change_reaches_a_301_subscriber_in_301_shape(
    bl: Api, bl301: Api301, ven_a: Api
) -> None:
    receiver = Receiver()
    url = await receiver.start()
    try:
        kinds = ["PROGRAM", "EVENT", "REPORT", "SUBSCRIPTION", "VEN", "RESOURCE"]
        ops = [{"objects": kinds, "operations": ["POST", "PUT", "DELETE"], "callbackUrl": url}]
        await create301(bl301, "/subscriptions", {"clientName": "all", "objectOperations": ops})
        prog = await create(bl, "/programs", {"programName": "p", "targets": ["g1"]})
        await ok_json(await bl.put(f"/programs/{prog['id']}", json={"programName": "p2"}))
        ev = await create(bl, "/events", {"programID": prog["id"], "targets": ["g1", "VEN_NAME:v"]})
        ven = await create(bl, "/vens", bl_ven("v", ven_a.client_id, ["g1"]))
        await create(bl, "/resources", bl_resource("r", ven["id"], ven_a.client_id))
        await create(ven_a, "/reports", report_301(None, ev["id"]))
        await ok_json(await bl.delete(f"/programs/{prog['id']}"))  # and, with it, its event
        expected = [
            ("POST", "SUBSCRIPTION"),  # its own creation
            ("POST", "PROGRAM"),
            ("PUT", "PROGRAM"),
            ("POST", "EVENT"),
            ("POST", "VEN"),
            ("POST", "RESOURCE"),
            ("POST", "REPORT"),
            ("DELETE", "PROGRAM"),
            ("DELETE", "EVENT"),
        ]
        got = [r.json() for r in await receiver.wait_for(len(expected))]
        assert sorted((d["operation"], d["objectType"]) for d in got) == sorted(expected)
        by_kind = {(d["operation"], d["objectType"]): d for d in got}
        assert by_kind["POST", "PROGRAM"]["targets"] == [{"type": "GROUP", "values": ["g1"]}]
        assert by_kind["POST", "EVENT"]["object"]["targets"] == [  # a BL sees them all
            {"type": "GROUP", "values": ["g1"]},
            {"type": "VEN_NAME", "values": ["v"]},
        ]
        assert by_kind["POST", "REPORT"]["object"]["programID"] == prog["id"]
        assert "clientID" not in by_kind["POST", "VEN"]["object"]
        assert by_kind["POST", "SUBSCRIPTION"]["object"]["objectOperations"][0]["operations"] == [
            "POST",
            "PUT",
            "DELETE",
        ]
    finally:
        await receiver.stop()


async def test_a_rendering_failure_does_not_fail_the_write(
    vtn: Vtn, bl: Api, ven301: Api301, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(body: str, program_id: str | None = None) -> str:
        raise KeyError("a bug")

    receiver = Receiver()
    url = await receiver.start()
    try:
        prog = await create(bl, "/programs", {"programName": "p"})
        ops = [{"objects": ["EVENT"], "operations": ["POST"], "callbackUrl": url}]
        await create301(ven301, "/subscriptions", {"clientName": "c", "objectOperations": ops})
        renderers = vtn.client.app[STATE].core.notifier.renderers
        monkeypatch.setitem(renderers, oadr301_notifications.API_VERSION, broken)
        await create(bl, "/events", {"programID": prog["id"]})  # 201 all the same
        (got,) = await receiver.wait_for(1)
        assert got.json()["operation"] == "CREATE"  # the 3.1 body, as before 3.0.1 bodies existed
    finally:
        await receiver.stop()
