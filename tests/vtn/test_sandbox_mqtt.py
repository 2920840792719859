"""Sandbox objects over MQTT: published to their sandbox client's ven topics only (real Mosquitto)."""

from __future__ import annotations

import uuid

import pytest
from support.api_data import bl_ven, create, event, program
from support.mqtt import (
    HOST,
    SHARED_PORT,
    Listener,
    drained,
    mqtt_vtn,
    names,
    port_open,
    topics_of,
    unavailable,
)
from support.sandbox import sandbox_login, trigger

from shared.enums import Role


@pytest.fixture
def shared_broker() -> int:
    if not port_open(SHARED_PORT):
        unavailable(f"no MQTT broker at {HOST}:{SHARED_PORT} (start mosquitto to run this test)")
    return SHARED_PORT


async def test_sandbox_events_reach_only_the_sandbox_clients_topics(db_url: str, shared_broker: int) -> None:
    prefix = f"test-{uuid.uuid4().hex[:12]}/openadr3"
    url = f"mqtt://{HOST}:{shared_broker}"
    async with mqtt_vtn(db_url, mqtt_broker_url=url, mqtt_topic_prefix=prefix) as vtn:
        bl = await vtn.login("bl", Role.BL)
        other = await vtn.login("other", Role.VEN)
        partner = await sandbox_login(vtn, "partner")
        other_ven = (await create(bl, "/vens", bl_ven("gw-other", other.client_id, None)))["id"]
        partner_ven = (await create(bl, "/vens", bl_ven("gw-partner", partner.client_id, None)))["id"]
        real = (await create(bl, "/programs", program("real")))["id"]
        sandboxed = await trigger(partner, template="SIMPLE_LEVEL", value=3)
        sandbox_program = sandboxed["programID"]
        # The sandbox program's event topics exist for its client alone.
        await topics_of(bl, f"/programs/{sandbox_program}/events", 404)
        await topics_of(other, f"/programs/{sandbox_program}/events", 404)
        assert (await topics_of(partner, f"/programs/{sandbox_program}/events"))["CREATE"].endswith("/create")
        mine = await topics_of(partner, f"/vens/{partner_ven}/events")
        theirs = await topics_of(other, f"/vens/{other_ven}/events")
        every = await topics_of(bl, "/events")
        await drained(vtn)
        async with Listener(shared_broker) as p, Listener(shared_broker) as o, Listener(shared_broker) as b:
            await p.subscribe(mine["ALL"])
            await o.subscribe(theirs["ALL"])
            await b.subscribe(every["ALL"], f"{prefix}/programs/+/events/+")
            await trigger(partner, template="PRICE_CURVE")
            await create(bl, "/events", event(real, eventName="sentinel"))
            assert names(await p.wait_for(2)) == "CREATE sandbox price curve, CREATE sentinel"
            # Everything goes out in outbox order: the sentinel arriving means nothing else is coming.
            assert names(await o.wait_for(1)) == "CREATE sentinel"
            assert names(await b.wait_for(2)) == "CREATE sentinel, CREATE sentinel"
