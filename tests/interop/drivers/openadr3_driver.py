"""Driver for `openadr3` (grid-coordination/python-oa3): an entity library with an httpx client, 3.1.0."""

from __future__ import annotations

from typing import Any

import openadr3
from _common import (
    BEARER,
    LONG_NAME,
    Fixture,
    describe_notification,
    event_body,
    load_config,
    not_applicable,
    notification_for,
    report_body,
    step,
    wait_for,
)


def main() -> None:
    cfg = load_config()
    base, tag = cfg["base_url"], cfg["tag"]
    fx = Fixture(cfg)
    state: dict[str, Any] = {}

    with step("auth_ven") as s:
        ven_token = openadr3.fetch_token(base, cfg["ven"]["client_id"], cfg["ven"]["client_secret"])
        ven = openadr3.create_ven_client(base, ven_token)
        s.detail = "token via GET /auth/server discovery + form post"
    with step("auth_bl"):
        bl_token = openadr3.fetch_token(base, cfg["bl"]["client_id"], cfg["bl"]["client_secret"])
        bl = openadr3.create_bl_client(base, bl_token)

    with step("bl_create_program") as s:
        resp = bl.create_program({"programName": f"{tag}-program"})
        resp.raise_for_status()
        state["program"] = openadr3.coerce(resp.json())
        s.detail = f"program {state['program'].id}"
    program_id = state["program"].id if "program" in state else fx.program(f"{tag}-program")["id"]

    with step("bl_create_event") as s:
        resp = bl.create_event(event_body(program_id, f"{tag}-event"))
        resp.raise_for_status()
        state["event"] = openadr3.coerce(resp.json())
        s.detail = f"event {state['event'].id}"
    event_id = state["event"].id if "event" in state else fx.event(program_id, f"{tag}-event")["id"]

    with step("bl_update_program") as s:
        resp = bl.update_program(program_id, {"programName": f"{tag}-program", "attributes": LONG_NAME})
        resp.raise_for_status()
        assert resp.json()["attributes"] == LONG_NAME, resp.text
        s.detail = "PUT /programs/{id} with a PROGRAM_LONG_NAME attribute"
    with step("ven_register") as s:
        found = ven.find_ven_by_name(f"{tag}-ven")
        if found is None:
            resp = ven.create_ven({"objectType": "VEN_VEN_REQUEST", "venName": f"{tag}-ven"})
            resp.raise_for_status()
            found = openadr3.coerce(resp.json())
        state["ven"] = found
        s.detail = f"ven {found.id} ({type(found).__name__})"
    ven_id = state["ven"].id if "ven" in state else fx.ven_object(f"{tag}-ven")["id"]

    with step("resource_register") as s:
        resp = ven.create_resource(
            {"objectType": "VEN_RESOURCE_REQUEST", "resourceName": f"{tag}-meter", "venID": ven_id}
        )
        resp.raise_for_status()
        res = openadr3.coerce(resp.json())
        assert [r.id for r in ven.resources(venID=ven_id)] == [res.id], "resource not listed under its ven"
        s.detail = f"resource {res.id}"

    with step("list_programs") as s:
        names = [p.program_name for p in ven.programs()]
        assert f"{tag}-program" in names, f"program not among {names}"
        s.detail = f"{len(names)} program(s)"
    with step("find_event") as s:
        events = ven.events(programID=program_id)
        assert event_id in [e.id for e in events], "event not listed"
        s.detail = f"{len(events)} event(s) in the program"

    with step("report_create") as s:
        resp = ven.create_report(report_body(event_id, f"{tag}-ven", f"{tag}-meter"))
        resp.raise_for_status()
        state["report"] = openadr3.coerce(resp.json())
        s.detail = f"report {state['report'].id}"
    with step("report_read") as s:
        got = ven.report(state["report"].id)
        assert got.event_id == event_id and got.resources[0].resource_name == f"{tag}-meter"
        assert state["report"].id in [r.id for r in ven.reports(eventID=event_id)]
        s.detail = "by id and in the eventID list"

    with step("subscription_create") as s:
        resp = ven.create_subscription(
            {
                "clientName": f"{tag}-ven",
                "programID": program_id,
                "objectOperations": [
                    {
                        "objects": ["EVENT"],
                        "operations": ["CREATE", "UPDATE"],
                        "callbackUrl": cfg["receiver_url"],
                        "bearerToken": BEARER,
                    }
                ],
            }
        )
        resp.raise_for_status()
        sub = openadr3.coerce(resp.json())
        s.detail = f"subscription {sub.id}"
    with step("notification") as s:
        new = fx.event(program_id, f"{tag}-event-2")
        note = wait_for(notification_for(cfg["receiver_url"], new["id"]), what="webhook notification")
        parsed = openadr3.coerce_notification({k: v for k, v in note.items() if not k.startswith("_")})
        s.detail = describe_notification(note) + f"; parsed by the library as {type(parsed).__name__}"
    not_applicable("mqtt_notification", "openadr3 has no MQTT client (python-oa3-client adds one)")


if __name__ == "__main__":
    main()
