"""Webhook notifications end to end with a real receiver on loopback."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient, TestServer
from support.harness import Api, Vtn
from support.receiver import Receiver

from shared.enums import Role
from vtn.app import build_app
from vtn.config import VtnConfig
from vtn.storage import open_store

LAB = {
    "webhook_require_https": False,
    "webhook_allow_private": True,
    "retry_base_seconds": 0.05,
    "retry_max_seconds": 0.2,
}


@pytest.fixture
async def lab_vtn(db_url: str) -> AsyncIterator[Vtn]:
    store = open_store(db_url)
    app = await build_app(VtnConfig.load(env={}, overrides={"db_url": db_url, **LAB}), store)
    async with TestClient(TestServer(app)) as client:
        yield Vtn(client, store)
    await store.close()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    rx = Receiver()
    yield rx
    await rx.stop()


async def _program_and_sub(bl: Api, ven: Api, url: str, secret: str | None = None) -> str:
    program = await (await bl.post("/programs", json={"programName": "p"})).json()
    sub = {
        "clientName": "ven",
        "programID": program["id"],
        "objectOperations": [
            {
                "objects": ["EVENT"],
                "operations": ["CREATE", "UPDATE"],
                "callbackUrl": url,
                "bearerToken": "tok-1",
            }
        ],
    }
    if secret:
        sub["secret"] = secret
    resp = await ven.post("/subscriptions", json=sub)
    assert resp.status == 201, await resp.text()
    return str(program["id"])


async def test_event_notification_content_token_and_signature(lab_vtn: Vtn, receiver: Receiver) -> None:
    url = await receiver.start()
    bl = await lab_vtn.login("bl", Role.BL)
    ven = await lab_vtn.login("ven", Role.VEN)
    program_id = await _program_and_sub(bl, ven, url, secret="s3cret")
    event = await (await bl.post("/events", json={"programID": program_id, "eventName": "e1"})).json()

    (got,) = await receiver.wait_for(1)
    assert got.headers["Authorization"] == "Bearer tok-1"
    expected = base64.b64encode(hmac.new(b"s3cret", got.body, hashlib.sha256).digest()).decode()
    assert got.headers["X-Payload-Signature"] == expected
    assert got.headers["X-Notification-ID"]
    doc = got.json()
    assert doc["objectType"] == "EVENT" and doc["operation"] == "CREATE"
    assert doc["object"]["id"] == event["id"] and doc["object"]["eventName"] == "e1"


async def test_echo_challenge_refusal_stores_nothing(lab_vtn: Vtn, receiver: Receiver) -> None:
    receiver.echo = False
    url = await receiver.start()
    bl = await lab_vtn.login("bl", Role.BL)
    ven = await lab_vtn.login("ven", Role.VEN)
    await bl.post("/programs", json={"programName": "p"})
    sub = {
        "clientName": "v",
        "objectOperations": [{"objects": ["EVENT"], "operations": ["CREATE"], "callbackUrl": url}],
    }
    resp = await ven.post("/subscriptions", json=sub)
    assert resp.status == 400
    assert "echo" in (await resp.json())["detail"]
    assert await lab_vtn.count("subscriptions") == 0


async def test_receiver_down_then_up_gets_everything_in_order(lab_vtn: Vtn, receiver: Receiver) -> None:
    url = await receiver.start()
    bl = await lab_vtn.login("bl", Role.BL)
    ven = await lab_vtn.login("ven", Role.VEN)
    program_id = await _program_and_sub(bl, ven, url)
    receiver.fail_with = 503
    names = [f"e{i}" for i in range(5)]
    for name in names:
        assert (await bl.post("/events", json={"programID": program_id, "eventName": name})).status == 201
    await asyncio.sleep(0.5)
    assert receiver.got == []
    receiver.fail_with = None
    got = await receiver.wait_for(5)
    assert [g.json()["object"]["eventName"] for g in got] == names
    sub_id = (await (await ven.get("/subscriptions")).json())[0]["id"]
    for _ in range(50):  # the last delivery settles just after the receiver saw it
        log = await (await ven.get(f"/subscriptions/{sub_id}/deliveries")).json()
        if log["health"]["pending"] == 0:
            break
        await asyncio.sleep(0.05)
    assert any(a["statusCode"] == 503 for a in log["attempts"])
    assert log["health"]["pending"] == 0 and log["health"]["status"] == "healthy"


async def test_ven_b_never_hears_of_ven_a_report(lab_vtn: Vtn, receiver: Receiver) -> None:
    url = await receiver.start()
    bl = await lab_vtn.login("bl", Role.BL)
    ven_a = await lab_vtn.login("ven-a", Role.VEN)
    ven_b = await lab_vtn.login("ven-b", Role.VEN)
    program = await (await bl.post("/programs", json={"programName": "p"})).json()
    event = await (await bl.post("/events", json={"programID": program["id"]})).json()
    for ven, token in ((ven_a, "a"), (ven_b, "b")):
        ops = [{"objects": ["REPORT"], "operations": ["CREATE"], "callbackUrl": url, "bearerToken": token}]
        assert (
            await ven.post("/subscriptions", json={"clientName": token, "objectOperations": ops})
        ).status == 201
    report = {
        "eventID": event["id"],
        "clientName": "a",
        "resources": [
            {"resourceName": "r", "intervals": [{"id": 0, "payloads": [{"type": "USAGE", "values": [1]}]}]}
        ],
    }
    assert (await ven_a.post("/reports", json=report)).status == 201
    (got,) = await receiver.wait_for(1)
    await asyncio.sleep(0.3)
    assert len(receiver.got) == 1 and got.headers["Authorization"] == "Bearer a"


async def test_deleting_a_program_notifies_the_deletion_of_its_events(
    lab_vtn: Vtn, receiver: Receiver
) -> None:
    url = await receiver.start()
    bl = await lab_vtn.login("bl", Role.BL)
    program = await (await bl.post("/programs", json={"programName": "p"})).json()
    event = await (await bl.post("/events", json={"programID": program["id"], "eventName": "gone"})).json()
    ops = [{"objects": ["EVENT"], "operations": ["DELETE"], "callbackUrl": url}]
    assert (await bl.post("/subscriptions", json={"clientName": "bl", "objectOperations": ops})).status == 201
    assert (await bl.delete(f"/programs/{program['id']}")).status == 200
    (got,) = await receiver.wait_for(1)
    doc = got.json()
    assert doc["operation"] == "DELETE" and doc["object"]["id"] == event["id"]
