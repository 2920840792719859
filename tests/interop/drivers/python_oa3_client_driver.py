"""Driver for `python-oa3-client` (grid-coordination): VenClient / BlClient over `openadr3`, 3.1.0.

Its Flask webhook receiver does not answer the 3.1 echo challenge, so the harness runs this library's
VTN with VTN_WEBHOOK_ECHO_CHALLENGE=false.
"""

from __future__ import annotations

from typing import Any

from _common import (
    BEARER,
    LONG_NAME,
    Fixture,
    event_body,
    load_config,
    not_applicable,
    report_body,
    step,
    wait_for,
)
from openadr3_client import BlClient, VenClient


def _about(msgs: list[Any], object_id: str) -> Any:
    for m in msgs:
        obj = getattr(m.payload, "object", None)
        if getattr(obj, "id", None) == object_id:
            return m
    return None


def main() -> None:
    cfg = load_config()
    base, tag = cfg["base_url"], cfg["tag"]
    fx = Fixture(cfg)
    state: dict[str, Any] = {}
    ven = VenClient(url=base, client_id=cfg["ven"]["client_id"], client_secret=cfg["ven"]["client_secret"])
    bl = BlClient(url=base, client_id=cfg["bl"]["client_id"], client_secret=cfg["bl"]["client_secret"])

    with step("auth_ven") as s:
        ven.start()
        s.detail = "GET /auth/server, then form post"
    with step("auth_bl"):
        bl.start()

    program_name = f"{tag}-program"
    with step("bl_create_program") as s:
        resp = bl.create_program({"programName": program_name})
        resp.raise_for_status()
        state["program_id"] = resp.json()["id"]
        s.detail = f"program {state['program_id']}"
    program_id = state.get("program_id") or fx.program(program_name)["id"]
    with step("bl_create_event") as s:
        resp = bl.create_event(event_body(program_id, f"{tag}-event"))
        resp.raise_for_status()
        state["event_id"] = resp.json()["id"]
        s.detail = f"event {state['event_id']}"
    event_id = state.get("event_id") or fx.event(program_id, f"{tag}-event")["id"]

    with step("bl_update_program") as s:
        resp = bl.update_program(program_id, {"programName": program_name, "attributes": LONG_NAME})
        resp.raise_for_status()
        assert resp.json()["attributes"] == LONG_NAME, resp.text
        s.detail = "PUT /programs/{id} with a PROGRAM_LONG_NAME attribute"
    with step("ven_register") as s:
        ven.register(f"{tag}-ven")
        again = VenClient(url=base, token=ven.token).start().register(f"{tag}-ven")
        assert again.ven_id == ven.ven_id, "a second register() did not find the existing ven"
        s.detail = f"ven {ven.ven_id}; register() again finds it (GET /vens?targetType=VEN_NAME...)"
    ven_id = ven.ven_id or fx.ven_object(f"{tag}-ven")["id"]

    with step("resource_register") as s:
        resp = ven.create_resource(
            {"objectType": "VEN_RESOURCE_REQUEST", "resourceName": f"{tag}-meter", "venID": ven_id}
        )
        resp.raise_for_status()
        listed = [r.resource_name for r in ven.resources(venID=ven_id)]
        assert listed == [f"{tag}-meter"], listed
        s.detail = f"resource {resp.json()['id']}"

    with step("list_programs") as s:
        found = ven.find_program_by_name(program_name)
        assert found is not None and found.id == program_id, "find_program_by_name found nothing"
        s.detail = "find_program_by_name (GET /programs?targetType=PROGRAM_NAME...)"
    with step("find_event") as s:
        events = ven.poll_events(program_name)
        assert event_id in [e.id for e in events], "poll_events did not return the event"
        s.detail = "poll_events (programID, dateStart, dateEnd)"

    with step("report_create") as s:
        resp = ven.create_report(report_body(event_id, f"{tag}-ven", f"{tag}-meter"))
        resp.raise_for_status()
        state["report_id"] = resp.json()["id"]
        s.detail = f"report {state['report_id']}"
    with step("report_read"):
        got = ven.report(state["report_id"])
        assert got.event_id == event_id

    channel = ven.add_webhook(host="127.0.0.1", port=0, bearer_token=BEARER)
    with step("subscription_create") as s:
        channel.start()
        ven.subscribe([program_name], ["EVENT"], ["CREATE", "UPDATE"], channel)
        subs = ven.subscriptions(programID=program_id)
        assert any(o.callback_url == channel.callback_url for sub in subs for o in sub.object_operations)
        s.detail = f"webhook {channel.callback_url} (VTN echo challenge off: the receiver cannot answer it)"
    with step("notification") as s:
        new = fx.event(program_id, f"{tag}-event-2")
        msg = wait_for(lambda: _about(channel.messages, new["id"]), what="webhook notification")
        s.detail = f"{type(msg.payload).__name__} {msg.payload.operation} via the library's Flask receiver"

    if not cfg.get("mqtt_broker"):
        not_applicable("mqtt_notification", "no MQTT broker on 127.0.0.1:1883 for this run")
        return
    with step("mqtt_notification") as s:
        uris = ven.get_mqtt_broker_uris()
        assert uris, "GET /notifiers advertises no MQTT broker"
        mqtt = ven.add_mqtt(uris[0])
        mqtt.start()
        resp = ven.get_mqtt_topics_ven_events()
        resp.raise_for_status()
        topics = list(resp.json()["topics"].values())
        mqtt.subscribe_topics(topics)
        wait_for(lambda: mqtt.is_connected, what="MQTT connection")
        new = fx.event(program_id, f"{tag}-event-3")
        msg = wait_for(lambda: _about(mqtt.messages, new["id"]), what="MQTT notification")
        s.detail = (
            f"{type(msg.payload).__name__} on {msg.topic} (VEN-scoped topics; program topics are BL-only)"
        )


if __name__ == "__main__":
    main()
