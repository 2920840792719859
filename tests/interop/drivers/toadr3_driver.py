"""Driver for `toadr3` (prelectai): a small async 3.0.x VEN library, against our /openadr3/3.0.1 API.

toadr3 reads programs and events, posts and reads reports, and manages subscriptions; BL program/event
creation, vens and resources are not part of it (the harness makes those with plain HTTP).
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import toadr3
from _common import (
    BEARER,
    Fixture,
    describe_notification,
    load_config,
    not_applicable,
    notification_for,
    step,
    wait_for,
)
from toadr3.models import Interval, ObjectOperation, Report, ReportData, Subscription, ValuesMap


async def run(cfg: dict[str, Any], session: aiohttp.ClientSession) -> None:
    base, tag = cfg["base_url"], cfg["tag"]
    fx = Fixture(cfg)
    state: dict[str, Any] = {}

    def oauth(who: str) -> toadr3.OAuthConfig:
        creds = cfg[who]
        return toadr3.OAuthScopeConfig(
            cfg["token_url"], "client_credentials", "read_all", creds["client_id"], creds["client_secret"]
        )

    with step("auth_ven") as s:
        token = await toadr3.acquire_access_token_from_config(session, oauth("ven"))
        s.detail = f"form post with scope=read_all; expires_in honoured ({token.expires_at:%H:%M} UTC)"
    client = toadr3.ToadrClient(base, oauth("ven"), session=session)
    with step("auth_bl") as s:
        bl_token = await toadr3.acquire_access_token_from_config(session, oauth("bl"))
        s.detail = "BL token (toadr3's BL calls: GET/PUT/DELETE /programs)"

    not_applicable("bl_create_program", "toadr3 cannot create programs (only GET/PUT/DELETE)")
    program = fx.program(f"{tag}-program")
    not_applicable("bl_create_event", "toadr3 cannot create events")
    event = fx.event(program["id"], f"{tag}-event")
    with step("bl_update_program") as s:
        found = await toadr3.get_program_by_id(session, base, bl_token, program["id"])
        assert found is not None, "get_program_by_id found nothing"
        updated = found.model_copy(update={"program_long_name": "renamed by toadr3"})
        back = await toadr3.put_program_by_id(session, base, bl_token, program["id"], updated)
        assert back.program_long_name == "renamed by toadr3", back
        s.detail = "get_program_by_id + put_program_by_id through 3.0.1 (programLongName)"
    not_applicable("ven_register", "toadr3 has no ven calls")
    not_applicable("resource_register", "toadr3 has no resource calls")

    with step("list_programs") as s:
        programs = await client.get_programs()
        assert program["id"] in [p.id for p in programs], "program not listed"
        s.detail = f"{len(programs)} program(s), 3.0.1 shapes"
    with step("find_event") as s:
        events = await client.get_events(program_id=program["id"])
        assert event["id"] in [e.id for e in events], "event not listed"
        s.detail = f"{len(events)} event(s)"

    with step("report_create") as s:
        report = Report(
            program_id=program["id"],
            event_id=event["id"],
            client_name=f"{tag}-ven",
            report_name="interop",
            resources=[
                ReportData(
                    resource_name=f"{tag}-meter",
                    intervals=[Interval(id=0, payloads=[ValuesMap(type="USAGE", values=[1.5])])],
                )
            ],
        )
        made = await toadr3.post_report(session, base, await client.token, report)
        state["report_id"] = made.id
        s.detail = f"report {made.id} with programID"
    with step("report_read") as s:
        reports = await toadr3.get_reports(session, base, await client.token, event_id=event["id"])
        assert state["report_id"] in [r.id for r in reports], "report not listed"
        assert all(r.program_id == program["id"] for r in reports)
        s.detail = "programID filled in by the VTN"

    with step("subscription_create") as s:
        sub = Subscription(
            client_name=f"{tag}-ven",
            program_id=program["id"],
            object_operations=[
                ObjectOperation(
                    objects=[toadr3.models.ObjectType.EVENT],
                    operations=[toadr3.models.OperationType.POST, toadr3.models.OperationType.PUT],
                    callback_url=cfg["receiver_url"],
                    bearer_token=BEARER,
                )
            ],
        )
        made_sub = await client.post_subscription(sub)
        assert [o.value for o in made_sub.object_operations[0].operations] == ["POST", "PUT"]
        s.detail = f"subscription {made_sub.id}, operations echoed as verbs"
    with step("notification") as s:
        new = fx.event(program["id"], f"{tag}-event-2")
        note = wait_for(notification_for(cfg["receiver_url"], new["id"]), what="webhook notification")
        s.detail = describe_notification(note) + " (harness receiver: toadr3 has none)"
    not_applicable("mqtt_notification", "toadr3 has no MQTT support")


async def main() -> None:
    async with aiohttp.ClientSession() as session:
        await run(load_config(), session)


if __name__ == "__main__":
    asyncio.run(main())
