"""The partner sandbox: simulated events for a sandbox client alone, test notifications, limits."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from support.harness import BASE, Api, Vtn
from support.receiver import Receiver
from support.sandbox import sandbox_login, trigger

from shared.enums import Role
from shared.validation import SchemaRegistry
from vtn.app import build_app
from vtn.cli import main
from vtn.config import VtnConfig
from vtn.oadr301.routes import BASE_301
from vtn.storage import migrate, open_store

USAGE = {"type": "USAGE", "values": [1]}
LAB = {
    "webhook_require_https": False,
    "webhook_allow_private": True,
    "retry_base_seconds": 0.05,
    "retry_max_seconds": 0.2,
}


async def _lab(db_url: str, **config: Any) -> AsyncIterator[Vtn]:
    store = open_store(db_url)
    app = await build_app(VtnConfig.load(env={}, overrides={"db_url": db_url, **LAB, **config}), store)
    async with TestClient(TestServer(app)) as client:
        yield Vtn(client, store)
    await store.close()


@pytest.fixture
async def lab(db_url: str) -> AsyncIterator[Vtn]:
    async for vtn in _lab(db_url):
        yield vtn


async def _ids(api: Api, path: str, base: str = BASE) -> set[str]:
    resp = await api.client.get(base + path, headers={"Authorization": f"Bearer {api.token}"})
    assert resp.status == 200, await resp.text()
    return {o["id"] for o in await resp.json()}


async def test_templates_make_valid_events_for_the_sandbox_client(lab: Vtn) -> None:
    partner = await sandbox_login(lab, "partner")
    registry = SchemaRegistry()
    price = await trigger(
        partner, template="PRICE_CURVE", start="2030-01-01T10:00:00Z", duration="PT2H", intervals=4, value=0.2
    )
    capacity = await trigger(partner, template="CAPACITY_LIMIT", duration="PT30M", value=7.5)
    simple = await trigger(partner, template="SIMPLE_LEVEL", value=2)
    for event in (price, capacity, simple):
        registry.validate("event", event)
        assert "targets" not in event or not event["targets"]
    assert price["intervalPeriod"] == {"start": "2030-01-01T10:00:00Z", "duration": "PT30M"}
    assert [i["payloads"][0]["values"][0] for i in price["intervals"]] == [0.15, 0.2, 0.3, 0.25]
    assert price["payloadDescriptors"][0]["payloadType"] == "PRICE"
    assert capacity["intervals"][0]["payloads"] == [{"type": "IMPORT_CAPACITY_LIMIT", "values": [7.5]}]
    assert simple["intervals"][0]["payloads"] == [{"type": "SIMPLE", "values": [2]}]
    # All three in one sandbox program, which the partner reads like any other.
    assert price["programID"] == capacity["programID"] == simple["programID"]
    program = await (await partner.get(f"/programs/{price['programID']}")).json()
    registry.validate("program", program)
    assert program["programName"] == f"sandbox-{partner.client_id}"
    assert await _ids(partner, "/events") == {price["id"], capacity["id"], simple["id"]}
    assert (await partner.get(f"/events/{price['id']}")).status == 200


async def test_sandbox_objects_are_invisible_to_everyone_else(lab: Vtn) -> None:
    bl = await lab.login("bl", Role.BL)
    other = await lab.login("other-ven", Role.VEN)
    other_sandbox = await sandbox_login(lab, "other-partner")
    partner = await sandbox_login(lab, "partner")
    real_program = await (await bl.post("/programs", json={"programName": "real"})).json()
    real_event = await (await bl.post("/events", json={"programID": real_program["id"]})).json()
    event = await trigger(partner, template="SIMPLE_LEVEL")
    program_id, event_id = event["programID"], event["id"]

    # The partner sees the real objects and its own sandbox ones.
    assert await _ids(partner, "/programs") == {real_program["id"], program_id}
    assert await _ids(partner, "/events") == {real_event["id"], event_id}
    for api in (bl, other, other_sandbox):
        assert await _ids(api, "/programs") == {real_program["id"]}
        assert await _ids(api, "/events") == {real_event["id"]}
        assert await _ids(api, f"/events?programID={program_id}") == set()
        assert (await api.get(f"/programs/{program_id}")).status == 404
        assert (await api.get(f"/events/{event_id}")).status == 404
        # The 3.0.1 front-end applies the same rule.
        assert await _ids(api, "/events", BASE_301) == {real_event["id"]}
        assert await _ids(api, "/programs", BASE_301) == {real_program["id"]}
    # BL can neither change nor delete them, nor add events to the sandbox program.
    assert (await bl.put(f"/programs/{program_id}", json={"programName": "mine"})).status == 404
    assert (await bl.delete(f"/programs/{program_id}")).status == 404
    assert (await bl.put(f"/events/{event_id}", json={"programID": program_id})).status == 404
    assert (await bl.delete(f"/events/{event_id}")).status == 404
    resp = await bl.post("/events", json={"programID": program_id})
    assert resp.status == 400 and resp.content_type == "application/problem+json"
    # Another VEN cannot report on a sandbox event; the partner can.
    report = {
        "eventID": event_id,
        "clientName": "x",
        "resources": [
            {"resourceName": "r", "intervals": [{"id": 0, "payloads": [{"type": "USAGE", "values": [1]}]}]}
        ],
    }
    assert (await other.post("/reports", json=report)).status in (400, 404)
    assert (await partner.post("/reports", json=report)).status == 201
    # Still there, unchanged, for the partner.
    assert (await (await partner.get(f"/events/{event_id}")).json())["id"] == event_id


async def test_only_sandbox_clients_may_use_the_sandbox(lab: Vtn) -> None:
    ven = await lab.login("ven", Role.VEN)
    bl = await lab.login("bl", Role.BL)
    for api in (ven, bl):
        resp = await api.post("/sandbox/events", json={"template": "SIMPLE_LEVEL"})
        assert resp.status == 403 and resp.content_type == "application/problem+json"
        assert "--sandbox" in (await resp.json())["detail"]


async def test_bad_requests_are_answered_with_problems(lab: Vtn) -> None:
    partner = await sandbox_login(lab, "partner")
    for body, pointer in (
        ({"template": "NOPE"}, "/template"),
        ({"template": "SIMPLE_LEVEL", "duration": "soon"}, "/duration"),
        ({"template": "SIMPLE_LEVEL", "duration": "P30D"}, "/duration"),
        ({"template": "SIMPLE_LEVEL", "value": 7}, "/value"),
        ({"template": "PRICE_CURVE", "intervals": 0}, "/intervals"),
        ({"template": "PRICE_CURVE", "start": "2030-01-01T10:00:00"}, "/start"),
    ):
        problem = await trigger(partner, 400, **body)
        assert problem["status"] == 400 and problem["detail"], problem
        assert problem["pointer"] == pointer, problem


@pytest.fixture
async def small(db_url: str) -> AsyncIterator[Vtn]:
    async for vtn in _lab(db_url, sandbox_max_events=2, sandbox_requests_per_minute=4):
        yield vtn


async def test_count_and_rate_limits_are_answered_with_problems(small: Vtn) -> None:
    partner = await sandbox_login(small, "partner")
    # Events that have ended do not count towards sandbox_max_events.
    await trigger(partner, template="SIMPLE_LEVEL", start="2020-01-01T00:00:00Z", duration="PT1M")
    await trigger(partner, template="SIMPLE_LEVEL")
    await trigger(partner, template="SIMPLE_LEVEL")
    full = await trigger(partner, 409, template="SIMPLE_LEVEL")
    assert full["status"] == 409 and "sandbox_max_events" in full["detail"]
    limited = await trigger(partner, 429, template="SIMPLE_LEVEL")
    assert limited["status"] == 429 and "sandbox_requests_per_minute" in limited["detail"]
    # The limits are per client.
    await trigger(await sandbox_login(small, "partner-2"), template="SIMPLE_LEVEL")


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    rx = Receiver()
    yield rx
    await rx.stop()


def _subscription(url: str, objects: list[str]) -> dict[str, Any]:
    return {
        "clientName": "hooks",
        "objectOperations": [
            {"objects": objects, "operations": ["CREATE", "UPDATE"], "callbackUrl": url, "bearerToken": "t"}
        ],
    }


async def test_notifications_reach_the_sandbox_client_alone(lab: Vtn, receiver: Receiver) -> None:
    url = await receiver.start()
    bl = await lab.login("bl", Role.BL)
    other = await lab.login("other-ven", Role.VEN)
    partner = await sandbox_login(lab, "partner")
    for api in (bl, other):
        assert (
            await api.post("/subscriptions", json=_subscription(url + "?who=other", ["PROGRAM", "EVENT"]))
        ).status == 201
    sub = await (
        await partner.post("/subscriptions", json=_subscription(url + "?who=partner", ["EVENT"]))
    ).json()
    event = await trigger(partner, template="CAPACITY_LIMIT")
    (got,) = await receiver.wait_for(1)
    # BL cannot subscribe to the sandbox program either (its programID check: real programs only).
    to_sandbox = {**_subscription(url + "?who=bl", ["EVENT"]), "programID": event["programID"]}
    resp = await bl.post("/subscriptions", json=to_sandbox)
    assert resp.status == 400 and (await resp.json())["pointer"] == "/programID", await resp.text()
    doc = got.json()
    assert (doc["objectType"], doc["operation"], doc["object"]["id"]) == ("EVENT", "CREATE", event["id"])
    assert got.headers["Authorization"] == "Bearer t"

    # The test notification: the sandbox program, to each callback of the subscription.
    resp = await partner.post(f"/sandbox/subscriptions/{sub['id']}/test")
    assert resp.status == 202, await resp.text()
    assert (await resp.json())["notifications"] == 1
    got = (await receiver.wait_for(2))[1]
    doc = got.json()
    assert (doc["objectType"], doc["operation"]) == ("PROGRAM", "UPDATE")
    assert doc["object"]["programName"] == f"sandbox-{partner.client_id}"
    # A real event afterwards reaches all three subscribers: nobody else heard of the sandbox ones.
    real = await (await bl.post("/programs", json={"programName": "real"})).json()
    await bl.post("/events", json={"programID": real["id"]})
    await receiver.wait_for(7)  # and now BL: program + event, other: program + event, partner: event
    later = [(r.json()["objectType"], r.json()["object"].get("programID")) for r in receiver.got[2:]]
    assert sorted(later) == sorted([("PROGRAM", None)] * 2 + [("EVENT", real["id"])] * 3)
    assert len(receiver.got) == 7


async def test_test_notification_only_for_own_subscriptions(lab: Vtn, receiver: Receiver) -> None:
    url = await receiver.start()
    other = await lab.login("other-ven", Role.VEN)
    partner = await sandbox_login(lab, "partner")
    sub = await (await other.post("/subscriptions", json=_subscription(url, ["EVENT"]))).json()
    resp = await partner.post(f"/sandbox/subscriptions/{sub['id']}/test")
    assert resp.status == 404 and resp.content_type == "application/problem+json"
    assert (await partner.post("/sandbox/subscriptions/nope/test")).status == 404


def test_cli_marks_sandbox_clients(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'vtn.db'}"
    migrate.upgrade(url)
    assert (
        main(["clients", "add", "--db", url, "--name", "acme", "--role", "ven", "--sandbox", "--json"]) == 0
    )
    made = json.loads(capsys.readouterr().out)
    assert main(["clients", "add", "--db", url, "--name", "plain", "--role", "ven", "--json"]) == 0
    capsys.readouterr()
    assert main(["clients", "list", "--db", url, "--json"]) == 0
    listed = {c["name"]: c for c in json.loads(capsys.readouterr().out)}
    assert listed["acme"]["sandbox"] is True and listed["acme"]["client_id"] == made["client_id"]
    assert listed["plain"]["sandbox"] is False
    assert main(["clients", "add", "--db", url, "--name", "bl", "--role", "bl", "--sandbox"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "vtn: error: --sandbox is for VEN clients: use --role ven"
