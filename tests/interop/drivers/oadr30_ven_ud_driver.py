"""Driver for `oadr30-ven-ud` (Universal Devices): a polling 3.0.1 VEN (requests + dicts), /openadr3/3.0.1.

It asks for `scope=read_all` also as BL, posts ven objects without objectType and with embedded
resources, posts one report per resource, and has no subscriptions, notifications or report reads.
It writes ven.json into the working directory (the harness runs it in a temporary directory).
"""

from __future__ import annotations

import logging
from typing import Any

from _common import Fixture, HttpError, event_body, load_config, not_applicable, step, wait_for
from oadr30.descriptors import ReportPayloadDescriptor
from oadr30.events import Events
from oadr30.vtn import VTNOps


def main() -> None:
    cfg = load_config()
    base, tag = cfg["base_url"], cfg["tag"]
    logging.disable(logging.CRITICAL)  # the library logs every non-200 status at error level
    fx = Fixture(cfg)
    state: dict[str, Any] = {}
    ven_ops = VTNOps(base, cfg["ven"]["client_id"], cfg["ven"]["client_secret"])
    bl_ops = VTNOps(base, cfg["bl"]["client_id"], cfg["bl"]["client_secret"])

    with step("auth_ven") as s:
        token = ven_ops.__get_token__()
        assert token and token.get("access_token"), f"no token: {token}"
        s.detail = f"POST /auth/token, scope=read_all, answered scope={token.get('scope')!r}"
    with step("auth_bl") as s:
        token = bl_ops.__get_token__()
        assert token and token.get("access_token"), f"no token: {token}"
        s.detail = "BL asks for scope=read_all too; the 3.0.1 token endpoint grants the role's scopes"

    program_name = f"{tag}-program"
    with step("bl_create_program") as s:
        made = bl_ops.create_program("client-chosen-id", programName=program_name)
        assert made and made.get("id"), f"create_program returned {made!r}"
        state["program_id"] = made["id"]
        s.detail = f"program {made['id']} (its client-chosen id, programType and country are accepted)"
    program_id = state.get("program_id") or fx.program(program_name)["id"]

    with step("bl_create_event") as s:
        bl_ops.create_events(Events([event_body(program_id, f"{tag}-event")]))
        listed = fx.bl.call("GET", "/events", query={"programID": program_id})
        assert listed, "create_events() created no event in the program (it rewrites programID to '0')"
        state["event_id"] = listed[0]["id"]
    event_id = state.get("event_id") or fx.event(program_id, f"{tag}-event")["id"]
    not_applicable("bl_update_program", "oadr30-ven-ud cannot update programs")

    with step("ven_register") as s:
        ven = ven_ops.create_ven(name=f"{tag}-ven", resources=[{"resourceName": f"{tag}-meter"}])
        assert ven and ven.get("id"), f"create_ven returned {ven!r}"
        state["ven"] = ven
        again = ven_ops.create_ven(name=f"{tag}-ven")  # restores ven.json, then GET /vens/{id}
        assert again and again["id"] == ven["id"], "the saved ven was not found again"
        s.detail = f"ven {ven['id']} (POST /vens without objectType), found again with GET /vens/{{id}}"
    with step("resource_register") as s:
        names = [r.get("resourceName") for r in state["ven"].get("resources") or []]
        assert names == [f"{tag}-meter"], f"ven resources: {names}"
        seen = fx.ven.call("GET", "/resources", query={"venID": state["ven"]["id"]})
        assert [r["resourceName"] for r in seen] == names, "the embedded resource is not a 3.1 resource"
        s.detail = "embedded in POST /vens; visible as a resource in 3.1"

    with step("list_programs") as s:
        programs = ven_ops.get_programs()
        assert programs is not None, "get_programs failed"
        assert program_name in [p.get("programName") for p in programs], "program not listed"
        s.detail = f"{len(programs)} program(s)"
    with step("find_event") as s:
        events = ven_ops.get_events(program_id)
        assert events is not None, "get_events failed"
        assert event_id in [e.getId() for e in events], "event not listed"
        s.detail = f"{len(events)} event(s), parsed into the library's time series"

    with step("report_create") as s:
        if "ven" not in state:
            raise RuntimeError("no ven to report for")
        descriptor = ReportPayloadDescriptor({"payloadType": "OPERATING_STATE"})
        ven_ops.send_report(event_id, program_id, state["ven"], descriptor)

        def stored() -> list[Any]:
            try:
                return fx.ven.call("GET", "/reports", query={"eventID": event_id})  # type: ignore[no-any-return]
            except HttpError:
                return []

        reports = wait_for(stored, timeout=5, what="stored report")
        s.detail = (
            f"{len(reports)} report(s), clientName {reports[0]['clientName']!r} (read back with plain HTTP)"
        )
    not_applicable("report_read", "oadr30-ven-ud cannot read reports")
    not_applicable("subscription_create", "oadr30-ven-ud has no subscriptions (it polls)")
    not_applicable("notification", "oadr30-ven-ud has no notification receiver (it polls)")
    not_applicable("mqtt_notification", "oadr30-ven-ud has no MQTT support")


if __name__ == "__main__":
    main()
