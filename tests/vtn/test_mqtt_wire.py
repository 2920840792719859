"""The VTN's own MQTT publisher (vtn/notify/mqtt_wire.py) against a real broker."""

from __future__ import annotations

import uuid

import pytest
from support.mqtt import HOST, SHARED_PORT, Listener, port_open, unavailable
from support.processes import free_port

from vtn.notify.mqtt_wire import MqttWire, MqttWireError


@pytest.fixture
def shared_broker() -> int:
    if not port_open(SHARED_PORT):
        unavailable(f"no MQTT broker at {HOST}:{SHARED_PORT} (start mosquitto to run this test)")
    return SHARED_PORT


async def test_publish_many_delivers_every_topic_through_a_small_window(shared_broker: int) -> None:
    """More topics than the window (and than one write batch): each arrives once, and publish_many
    returns only after every PUBACK, so the connection serves the next batch."""
    prefix = f"test-{uuid.uuid4().hex[:12]}"
    topics = [f"{prefix}/vens/v{i:04d}/events/create" for i in range(1200)]
    async with Listener(shared_broker) as listener:
        await listener.subscribe(f"{prefix}/#")
        wire = await MqttWire.open(HOST, shared_broker, client_id=f"t-{prefix}", window=50)
        try:
            await wire.publish_many(topics[:1000], b'{"n":1}')
            assert not wire._unacked
            await wire.publish_many(topics[1000:], b'{"n":2}')
        finally:
            wire.close()
        got = await listener.wait_for(len(topics))
    assert sorted(t for t, _ in got) == sorted(topics)
    assert [doc["n"] for _, doc in got].count(2) == 200


async def test_unreachable_broker_and_lost_connection_raise() -> None:
    with pytest.raises(MqttWireError, match="cannot connect"):
        await MqttWire.open(HOST, free_port(), client_id="t", timeout_s=2.0)


async def test_a_closed_connection_refuses_to_publish(shared_broker: int) -> None:
    wire = await MqttWire.open(HOST, shared_broker, client_id=f"t-{uuid.uuid4().hex[:8]}")
    wire.transport.abort()  # type: ignore[union-attr]  # as if the broker went away
    with pytest.raises(MqttWireError):
        await wire.publish_many(["x/y"], b"{}")
