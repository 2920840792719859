"""The MQTT notifier binding end to end, against real Mosquitto brokers (no mocks).

The shared broker at 127.0.0.1:1883 serves the delivery and privacy tests; every test publishes under
its own topic prefix so that concurrent runs cannot hear each other. The outage and ACL tests start a
private mosquitto on a free port, which they stop and restart themselves.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiomqtt
import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import text
from support.api_data import bl_resource, bl_ven, create, event, program
from support.harness import Api, Vtn
from support.mqtt import (
    HOST,
    REGISTRY,
    SHARED_PORT,
    Listener,
    Mosquitto,
    drained,
    mqtt_vtn,
    names,
    parties,
    passwd,
    pending_mqtt,
    port_open,
    topics_of,
    unavailable,
)

from shared.enums import Operation, Role
from shared.models import Event, Ven
from vtn.notify import mqtt
from vtn.notify.mosquitto_acl import render_acl
from vtn.notify.mqtt import MqttSink, TopicScheme, row_topics
from vtn.services.matching import Verdict
from vtn.services.notifier import notification_body
from vtn.storage import open_store


@pytest.fixture
def shared_broker() -> int:
    if not port_open(SHARED_PORT):
        unavailable(f"no MQTT broker at {HOST}:{SHARED_PORT} (start mosquitto to run this test)")
    return SHARED_PORT


@pytest.fixture
def prefix() -> str:
    return f"test-{uuid.uuid4().hex[:12]}/openadr3"


# ---------------------------------------------------------------------- delivery and privacy


async def test_ven_topics_carry_only_what_the_ven_may_see(
    db_url: str, shared_broker: int, prefix: str
) -> None:
    url = f"mqtt://{HOST}:{shared_broker}"
    async with mqtt_vtn(db_url, mqtt_broker_url=url, mqtt_topic_prefix=prefix) as vtn:
        bl, ven_a, _, a_id, _, program_id = await parties(vtn)
        mine = await topics_of(ven_a, f"/vens/{a_id}/events")
        assert set(mine) == {"CREATE", "UPDATE", "DELETE", "ALL"}
        assert mine["ALL"] == f"{prefix}/vens/{a_id}/events/+"
        every = await topics_of(bl, "/events")
        in_program = await topics_of(bl, f"/programs/{program_id}/events")
        await drained(vtn)
        async with Listener(shared_broker) as a, Listener(shared_broker) as b_l, Listener(shared_broker) as p:
            await a.subscribe(mine["CREATE"], mine["UPDATE"], mine["DELETE"])
            await b_l.subscribe(every["ALL"])
            await p.subscribe(in_program["ALL"])
            await create(bl, "/events", event(program_id, eventName="for-all"))
            e_a = await create(
                bl, "/events", event(program_id, eventName="for-a", targets=["grp-a", "secret"])
            )
            await create(bl, "/events", event(program_id, eventName="for-b", targets=["grp-b"]))
            await create(bl, "/events", event(program_id, eventName="via-resource", targets=["grp-r"]))
            resp = await bl.put(
                f"/events/{e_a['id']}", json=event(program_id, eventName="for-a", targets=["grp-a"])
            )
            assert resp.status == 200, await resp.text()
            assert (await bl.delete(f"/events/{e_a['id']}")).status == 200
            # Everything goes out in outbox order: once the sentinel is in, nothing else is on its way.
            await create(bl, "/events", event(program_id, eventName="sentinel"))

            got_a = await a.wait_for(6)
            await asyncio.sleep(0.3)
            assert names(a.got) == (
                "CREATE for-all, CREATE for-a, CREATE via-resource, "
                "UPDATE for-a, DELETE for-a, CREATE sentinel"
            )
            assert [t for t, _ in got_a] == [
                mine[op] for op in ("CREATE",) * 3 + ("UPDATE", "DELETE", "CREATE")
            ]
            # Target hiding as for webhooks: A sees only the targets it holds.
            doc_a = got_a[1][1]
            assert doc_a["objectType"] == "EVENT" and doc_a["object"]["id"] == e_a["id"]
            assert doc_a["object"]["targets"] == ["grp-a"] and doc_a["targets"] == ["grp-a"]
            assert got_a[2][1]["object"]["targets"] == ["grp-r"]

            for listener in (b_l, p):
                assert names(await listener.wait_for(7)) == (
                    "CREATE for-all, CREATE for-a, CREATE for-b, CREATE via-resource, "
                    "UPDATE for-a, DELETE for-a, CREATE sentinel"
                )
            # BL topics carry the object unhidden.
            assert b_l.got[1][1]["object"]["targets"] == ["grp-a", "secret"]
            assert b_l.got[0][0] == every["CREATE"] and b_l.got[4][0] == every["UPDATE"]


async def test_ven_scoped_topics_for_own_ven_and_resources(
    db_url: str, shared_broker: int, prefix: str
) -> None:
    url = f"mqtt://{HOST}:{shared_broker}"
    async with mqtt_vtn(db_url, mqtt_broker_url=url, mqtt_topic_prefix=prefix) as vtn:
        bl, ven_a, ven_b, a_id, b_id, _ = await parties(vtn)
        ven_topics = await topics_of(ven_a, f"/vens/{a_id}")
        res_topics = await topics_of(ven_a, f"/vens/{a_id}/resources")
        await drained(vtn)
        async with Listener(shared_broker) as a:
            await a.subscribe(ven_topics["ALL"], res_topics["ALL"])
            await create(bl, "/resources", bl_resource("meter-b", b_id, ven_b.client_id))
            await create(bl, "/resources", bl_resource("meter-a2", a_id, ven_a.client_id))
            body = bl_ven("gw-a", ven_a.client_id, ["grp-a", "grp-a2"])
            assert (await bl.put(f"/vens/{a_id}", json=body)).status == 200
            got = await a.wait_for(2)
            await asyncio.sleep(0.3)
            assert [(t, d["objectType"], d["operation"]) for t, d in a.got] == [
                (res_topics["CREATE"], "RESOURCE", "CREATE"),
                (ven_topics["UPDATE"], "VEN", "UPDATE"),
            ]
            assert got[0][1]["object"]["resourceName"] == "meter-a2"


# ---------------------------------------------------------------------- discovery and access


async def test_get_notifiers_shape(db_url: str, vtn: Vtn, bl: Api, ven_a: Api) -> None:
    # Without a broker: only webhooks, and topic endpoints answer 404.
    for api in (bl, ven_a):
        resp = await api.get("/notifiers")
        assert resp.status == 200 and await resp.json() == {"WEBHOOK": True}
    resp = await bl.get("/notifiers/mqtt/topics/events")
    assert resp.status == 404
    assert (await resp.json())["detail"] == "MQTT notifier not configured"

    async with mqtt_vtn(db_url, mqtt_broker_url="mqtt://127.0.0.1:1883") as lab:
        ven = await lab.login("ven-x", Role.VEN)
        doc = await (await ven.get("/notifiers")).json()
        REGISTRY.validate("notifiersResponse", doc)
        assert doc == {
            "WEBHOOK": True,
            "MQTT": {
                "URIS": ["mqtt://127.0.0.1:1883"],
                "serialization": "JSON",
                "authentication": {"method": "ANONYMOUS"},
            },
        }
    public = "mqtts://broker.example.com:8883, mqtts://backup.example.com:8883"
    async with mqtt_vtn(db_url, mqtt_broker_url="mqtt://127.0.0.1:1883", mqtt_public_uris=public) as lab:
        ven = await lab.login("ven-y", Role.VEN)
        doc = await (await ven.get("/notifiers")).json()
        REGISTRY.validate("notifiersResponse", doc)
        assert doc["MQTT"]["URIS"] == ["mqtts://broker.example.com:8883", "mqtts://backup.example.com:8883"]


async def test_topic_endpoint_access(db_url: str, prefix: str) -> None:
    # No broker needs to run: topic names come from the configuration alone.
    async with mqtt_vtn(db_url, mqtt_broker_url="mqtt://127.0.0.1:1883", mqtt_topic_prefix=prefix) as vtn:
        bl, ven_a, _, a_id, b_id, program_id = await parties(vtn)
        bl_only = ["/programs", "/events", "/reports", "/subscriptions", "/vens", "/resources"]
        for kind in bl_only:
            topics = await topics_of(bl, kind)
            base = f"{prefix}{kind}"
            assert topics == {
                "CREATE": f"{base}/create",
                "UPDATE": f"{base}/update",
                "DELETE": f"{base}/delete",
                "ALL": f"{base}/+",
            }
        assert await topics_of(bl, f"/programs/{program_id}") == {
            "UPDATE": f"{prefix}/programs/{program_id}/update",
            "DELETE": f"{prefix}/programs/{program_id}/delete",
            "ALL": f"{prefix}/programs/{program_id}/+",
        }
        assert (await topics_of(bl, f"/programs/{program_id}/events"))["CREATE"] == (
            f"{prefix}/programs/{program_id}/events/create"
        )
        await topics_of(bl, "/programs/no-such-program", 404)
        # The program routes document no 403 (issue 15): a VEN is answered as if there were no topics.
        program_routes = ["/programs", f"/programs/{program_id}"]
        for path in program_routes:
            await topics_of(ven_a, path, 404)
        for path in [p for p in bl_only if p not in program_routes]:
            await topics_of(ven_a, path, 403)
        # A program's event topics are named to a VEN that may see the program (docs/interop.md).
        assert await topics_of(ven_a, f"/programs/{program_id}/events") == await topics_of(
            bl, f"/programs/{program_id}/events"
        )
        for_b = (await create(bl, "/programs", program("p-b", targets=["grp-b"])))["id"]
        await topics_of(ven_a, f"/programs/{for_b}/events", 404)
        await topics_of(ven_a, "/programs/no-such-program/events", 404)

        ven_scoped = {"": "ven", "/events": "events", "/programs": "programs", "/resources": "resources"}
        for suffix, kind in ven_scoped.items():
            mine = await topics_of(ven_a, f"/vens/{a_id}{suffix}")
            assert mine["ALL"] == f"{prefix}/vens/{a_id}/{kind}/+"
            assert ("CREATE" in mine) is (kind != "ven")  # a ven's own object: no CREATE topic
            await topics_of(ven_a, f"/vens/{b_id}{suffix}", 404)  # another VEN's: as if missing
            await topics_of(ven_a, f"/vens/no-such-ven{suffix}", 404)
            assert (await topics_of(bl, f"/vens/{b_id}{suffix}"))["ALL"] == f"{prefix}/vens/{b_id}/{kind}/+"


async def test_sink_fans_out_with_one_query(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Many vens: one audience query per change, a topic per ven that may see it, hidden per ven,
    and few outbox rows (one per distinct body, at most TOPICS_PER_ROW topics each)."""
    monkeypatch.setattr(mqtt, "TOPICS_PER_ROW", 150)
    monkeypatch.setattr(mqtt, "SHARDS", 1)  # the row shapes below; sharding: the next test
    store = open_store(db_url)
    try:
        now = datetime.now(UTC)
        async with store.transaction() as tx:
            for i in range(400):
                targets = ["half"] if i % 2 else None
                stamp = {"id": f"v{i:04d}", "created_date_time": now, "modification_date_time": now}
                await tx.vens.insert(
                    Ven.model_validate(
                        {**stamp, "client_id": f"c{i}", "ven_name": f"n{i}", "targets": targets}
                    )
                )
        sink = MqttSink(TopicScheme("p"))
        statements: list[str] = []

        def record(*args: Any) -> None:
            statements.append(str(args[2]))

        bl_topics = ["p/events/create", "p/programs/p1/events/create"]
        # Untargeted: every ven sees the BL body, so 2 + 400 topics share it, in rows of 150.
        # Targeted: the BL body (2 topics) and the hidden body for the 200 granted vens (150 + 50).
        for targets, rows, ven_count in (
            (None, [150, 150, 102], 400),
            (["half", "other"], [2, 150, 50], 200),
        ):
            ev = Event.model_validate(
                {"id": "e1", "created_date_time": now, "modification_date_time": now, "program_id": "p1"}
                | ({"targets": targets} if targets else {})
            )

            def body_for(verdict: Verdict, ev: Event = ev) -> str:
                return notification_body(Operation.CREATE, ev, verdict)

            async with store.transaction() as tx:
                sa_event.listen(store.engine.sync_engine, "before_cursor_execute", record)
                try:
                    statements.clear()
                    items = await sink(tx, Operation.CREATE, ev, body_for)
                finally:
                    sa_event.remove(store.engine.sync_engine, "before_cursor_execute", record)
            assert len(statements) == 1, statements
            assert all(i.sink == "mqtt:0" for i in items)
            assert [len(row_topics(i.target)) for i in items] == rows
            assert row_topics(items[0].target)[:2] == bl_topics
            topics = [t for i in items for t in row_topics(i.target)]
            ven_topics = [t for t in topics if t.startswith("p/vens/")]
            assert len(ven_topics) == len(set(ven_topics)) == ven_count
            if targets:
                assert json.loads(items[0].body)["object"]["targets"] == ["half", "other"]
                assert all(json.loads(i.body)["object"]["targets"] == ["half"] for i in items[1:])
                assert "p/vens/v0001/events/create" in ven_topics
                assert "p/vens/v0000/events/create" not in ven_topics
    finally:
        await store.close()


# ---------------------------------------------------------------------- private brokers


@pytest.fixture
def private_brokers() -> Iterator[list[Mosquitto]]:
    started: list[Mosquitto] = []
    yield started
    for broker in started:
        broker.stop()


def test_topics_are_sharded_by_ven_so_each_ven_keeps_its_order(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every topic in exactly one row; a ven's topics (and the BL topics) always in the same sink, so
    its order holds; and the shards spread the vens so that they go out side by side."""
    monkeypatch.setattr(mqtt, "TOPICS_PER_ROW", 50)
    vens = [f"v{i:04d}" for i in range(1000)]
    bl = [("p/events/create", ""), ("p/programs/p1/events/create", "")]
    first = mqtt._items(bl + [(f"p/vens/{v}/events/create", v) for v in vens], "a")
    second = mqtt._items(bl + [(f"p/vens/{v}/events/delete", v) for v in reversed(vens)], "b")
    for items in (first, second):
        seen = [t for i in items for t in row_topics(i.target)]
        assert len(seen) == len(set(seen)) == 1002
        assert all(len(row_topics(i.target)) <= 50 and mqtt.is_mqtt_sink(i.sink) for i in items)

    def sinks(items: list[Any]) -> dict[str, str]:
        return {
            t.split("/")[2] if "/vens/" in t else "BL": i.sink for i in items for t in row_topics(i.target)
        }

    assert sinks(first) == sinks(second)
    assert len(set(sinks(first).values())) == mqtt.SHARDS
    assert not mqtt.is_mqtt_sink("sub:mqtt") and mqtt.is_mqtt_sink("mqtt")


async def test_broker_outage_delays_but_loses_nothing(
    db_url: str, tmp_path: Path, prefix: str, private_brokers: list[Mosquitto]
) -> None:
    broker = Mosquitto(
        tmp_path, ["allow_anonymous true", "persistence true", f"persistence_location {tmp_path}/"]
    )
    private_brokers.append(broker)
    await broker.start()
    url = f"mqtt://{HOST}:{broker.port}"
    async with mqtt_vtn(db_url, mqtt_broker_url=url, mqtt_topic_prefix=prefix) as vtn:
        bl = await vtn.login("bl", Role.BL)
        program_id = (await create(bl, "/programs", program("p-outage")))["id"]
        topic = (await topics_of(bl, "/events"))["ALL"]
        # A persistent session (clean_session off): the restarted broker keeps the subscription and
        # queues what arrives while this listener is away, so the test cannot race the VTN's retries.
        durable = {"identifier": f"bl-{uuid.uuid4().hex[:8]}", "clean_session": False}
        async with Listener(broker.port, **durable) as listener:
            await listener.subscribe(topic)
            await create(bl, "/events", event(program_id, eventName="before"))
            await listener.wait_for(1)  # the VTN's publisher is connected now
            # Delivery is at least once: a row settles when its PUBACK is back. Stopping the broker
            # before that would have "before" sent again after the restart (correct, not this test).
            await drained(vtn)
        broker.stop()

        wanted = [f"e{i}" for i in range(5)]
        for name in wanted:
            await create(bl, "/events", event(program_id, eventName=name))  # writes never wait for MQTT
        await asyncio.sleep(0.8)
        assert await pending_mqtt(vtn) >= len(wanted)
        async with vtn.store.read() as tx:
            failed = text("SELECT count(*) FROM delivery_attempts WHERE error IS NOT NULL")
            assert int((await tx.conn.execute(failed)).scalar_one()) > 0

        await broker.start()
        async with Listener(broker.port, **durable) as listener:
            got = await listener.wait_for(len(wanted))
            await asyncio.sleep(0.3)
            assert [doc["object"]["eventName"] for _, doc in listener.got] == wanted
            assert all(doc["operation"] == "CREATE" for _, doc in got)
        await drained(vtn)


async def test_acl_keeps_ven_topics_private(
    db_url: str, tmp_path: Path, prefix: str, private_brokers: list[Mosquitto]
) -> None:
    # The VTN comes first: the ACL is generated from its ven table, then the broker starts. Rows
    # written meanwhile wait in the outbox and go out once the broker is up.
    users = {"vtn": "vtn-pw", "bl-reader": "bl-pw", "user-a": "a-pw", "user-b": "b-pw"}
    passwd(tmp_path / "passwd", users)
    broker = Mosquitto(
        tmp_path,
        ["allow_anonymous false", f"password_file {tmp_path / 'passwd'}", f"acl_file {tmp_path / 'acl'}"],
    )
    private_brokers.append(broker)
    url = f"mqtt://{HOST}:{broker.port}"
    overrides = {"mqtt_username": "vtn", "mqtt_password": "vtn-pw"}
    async with mqtt_vtn(db_url, mqtt_broker_url=url, mqtt_topic_prefix=prefix, **overrides) as vtn:
        bl, ven_a, ven_b, a_id, b_id, program_id = await parties(vtn)
        acl = render_acl("vtn", ["bl-reader"], {"user-a": [a_id], "user-b": [b_id]}, prefix=prefix)
        (tmp_path / "acl").write_text(acl)
        await broker.start()
        await drained(vtn)  # the VTN's login to the broker works: the backlog went out

        a_topics = await topics_of(ven_a, f"/vens/{a_id}/events")
        b_topics = await topics_of(ven_b, f"/vens/{b_id}/events")
        async with (
            Listener(broker.port, username="user-a", password="a-pw") as a,
            Listener(broker.port, username="user-b", password="b-pw") as b,
            Listener(broker.port, username="bl-reader", password="bl-pw") as reader,
        ):
            await a.subscribe(a_topics["ALL"])
            # VEN A tries to listen in. Mosquitto 2.0 grants the SUBSCRIBE and filters each message
            # against the ACL on delivery, so the proof is in what A receives, below.
            await a.subscribe(b_topics["ALL"], f"{prefix}/#")
            await b.subscribe(b_topics["ALL"])
            await reader.subscribe(f"{prefix}/events/+")
            # A VEN user cannot publish either: a forged notification on its own topic goes nowhere.
            await a.publish(
                a_topics["CREATE"], '{"objectType": "EVENT", "operation": "CREATE", "object": {}}'
            )

            await create(bl, "/events", event(program_id, eventName="only-b", targets=["grp-b"]))
            await create(bl, "/events", event(program_id, eventName="sentinel"))

            assert names(await b.wait_for(2)) == "CREATE only-b, CREATE sentinel"
            assert names(await reader.wait_for(2)) == "CREATE only-b, CREATE sentinel"
            await a.wait_for(1)
            await asyncio.sleep(0.3)
            # The sentinel went out after only-b, so had the broker let it through A would have it by now.
            assert [(t, d["object"]["eventName"]) for t, d in a.got] == [(a_topics["CREATE"], "sentinel")]

        with pytest.raises(aiomqtt.MqttError):  # no anonymous access at all
            async with Listener(broker.port):
                pass


def test_render_acl_grants_and_refusals() -> None:
    acl = render_acl("vtn", ["bl-2", "bl-1"], {"ven-user": ["v2", "v1"]}, prefix="site/openadr3")
    grants = [line for line in acl.splitlines() if line and not line.startswith("#")]
    assert grants == [
        "user vtn",
        "topic write site/openadr3/#",
        "user bl-1",
        "topic read site/openadr3/#",
        "user bl-2",
        "topic read site/openadr3/#",
        "user ven-user",
        "topic read site/openadr3/vens/v1/#",
        "topic read site/openadr3/vens/v2/#",
    ]
    for bad_user in ("", " padded", "two\nlines"):
        with pytest.raises(ValueError):
            render_acl("vtn", [], {bad_user: ["v1"]})
    for bad_id in ("+", "#", "a/b", "x\ntopic write #"):
        with pytest.raises(ValueError):
            render_acl("vtn", [], {"ven-user": [bad_id]})
    with pytest.raises(ValueError):
        render_acl("vtn", [], {}, prefix="openadr3/#")


def test_ven_topic_is_the_ven_scoped_family_topic() -> None:
    scheme = TopicScheme("p/q")
    for kind in mqtt.VEN_SCOPED_KINDS:
        for op in mqtt.PUBLISHED:
            assert scheme.ven_topic("v-1", kind, op.value.lower()) == scheme.ven_scoped("v-1", kind).for_op(
                op
            )
    with pytest.raises(ValueError):
        scheme.ven_topic("v/1", "events", "create")
