"""Driver for `openadr3-client` (ElaadNL) in OpenADR 3.0.1 mode, against our /openadr3/3.0.1 API.

3.0.1 mode has no /auth/server discovery (the token URL is given), nests resources under vens, and uses
valuesMap targets. The harness sets OAUTHLIB_INSECURE_TRANSPORT=1 for the plain-HTTP lab run.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

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
from openadr3_client._auth.token_manager import OAuthTokenManager, OAuthTokenManagerConfig
from openadr3_client._models.common.interval import Interval
from openadr3_client._models.common.interval_period import IntervalPeriod
from openadr3_client.bl.http_factory import BusinessLogicHttpClientFactory
from openadr3_client.oadr301.models.event.event import NewEvent
from openadr3_client.oadr301.models.event.event_payload import EventPayload, EventPayloadType
from openadr3_client.oadr301.models.program.program import NewProgram, ProgramUpdate
from openadr3_client.oadr301.models.report.report import NewReport, ReportResource
from openadr3_client.oadr301.models.report.report_payload import ReportPayload, ReportPayloadType
from openadr3_client.oadr301.models.subscriptions.subscription import (
    NewSubscription,
    Object,
    ObjectOperation,
    Operation,
)
from openadr3_client.oadr301.models.ven.resource import NewResource
from openadr3_client.oadr301.models.ven.ven import NewVen
from openadr3_client.ven.http_factory import VirtualEndNodeHttpClientFactory
from openadr3_client.version import OADRVersion

V = OADRVersion.OADR_301


def main() -> None:
    cfg = load_config()
    base, tag, token_url = cfg["base_url"], cfg["tag"], cfg["token_url"]
    fx = Fixture(cfg)
    state: dict[str, Any] = {}

    def manager(who: str) -> OAuthTokenManager:
        creds = cfg[who]
        return OAuthTokenManager(
            OAuthTokenManagerConfig(creds["client_id"], creds["client_secret"], token_url, None, None)
        )

    with step("auth_ven") as s:
        manager("ven").get_access_token()
        s.detail = "POST /openadr3/3.0.1/auth/token with HTTP Basic client authentication"
    with step("auth_bl"):
        manager("bl").get_access_token()
    common = {"vtn_base_url": base, "token_url": token_url, "version": V}
    ven = VirtualEndNodeHttpClientFactory.create_http_ven_client(
        client_id=cfg["ven"]["client_id"], client_secret=cfg["ven"]["client_secret"], **common
    )
    bl = BusinessLogicHttpClientFactory.create_http_bl_client(
        client_id=cfg["bl"]["client_id"], client_secret=cfg["bl"]["client_secret"], **common
    )

    program_name = f"{tag}-program"
    with step("bl_create_program") as s:
        state["program"] = bl.programs.create_program(
            NewProgram(program_name=program_name, program_long_name="Interop", country="NL")
        )
        s.detail = f"program {state['program'].id} with 3.0.1 fields programLongName, country"
    program_id = state["program"].id if "program" in state else fx.program(program_name)["id"]
    with step("bl_create_event") as s:
        event = NewEvent(
            program_id=program_id,
            event_name=f"{tag}-event",
            interval_period=IntervalPeriod(
                start=datetime.now(UTC) + timedelta(minutes=5), duration=timedelta(hours=1)
            ),
            intervals=(
                Interval(id=0, payloads=(EventPayload(type=EventPayloadType.PRICE, values=(0.25,)),)),
            ),
        )
        state["event"] = bl.events.create_event(event)
        s.detail = f"event {state['event'].id}"
    event_id = state["event"].id if "event" in state else fx.event(program_id, f"{tag}-event")["id"]
    with step("bl_update_program") as s:
        existing = bl.programs.get_program_by_id(program_id)
        updated = bl.programs.update_program_by_id(
            program_id, existing.update(ProgramUpdate(retailer_name="ACME"))
        )
        assert updated.retailer_name == "ACME"
        s.detail = "retailerName, stored as a 3.1 RETAILER_NAME attribute"

    with step("ven_register") as s:
        found = ven.vens.get_vens(ven_name=f"{tag}-ven", target=None, pagination=None)
        state["ven"] = found[0] if found else ven.vens.create_ven(NewVen(ven_name=f"{tag}-ven"))
        s.detail = f"ven {state['ven'].id}"
    ven_id = state["ven"].id if "ven" in state else fx.ven_object(f"{tag}-ven")["id"]
    with step("resource_register") as s:
        res = ven.vens.create_ven_resource(ven_id, NewResource(resource_name=f"{tag}-meter", ven_id=ven_id))
        again = ven.vens.get_ven_resource_by_id(ven_id, res.id)
        assert again.resource_name == f"{tag}-meter"
        s.detail = f"resource {res.id} under /vens/{{venID}}/resources"

    with step("list_programs") as s:
        programs = ven.programs.get_programs(target=None, pagination=None)
        mine = [p for p in programs if p.program_name == program_name]
        assert mine and mine[0].retailer_name == "ACME", "program (or its retailerName) not listed"
        s.detail = f"{len(programs)} program(s)"
    with step("find_event") as s:
        events = ven.events.get_events(target=None, pagination=None, program_id=program_id)
        assert event_id in [e.id for e in events], "event not listed"
        s.detail = f"{len(events)} event(s)"

    with step("report_create") as s:
        report = NewReport(
            program_id=program_id,
            event_id=event_id,
            client_name=f"{tag}-ven",
            resources=(
                ReportResource(
                    resource_name=f"{tag}-meter",
                    intervals=(
                        Interval(
                            id=0, payloads=(ReportPayload(type=ReportPayloadType.USAGE, values=(1.5,)),)
                        ),
                    ),
                ),
            ),
        )
        state["report"] = ven.reports.create_report(report)
        s.detail = f"report {state['report'].id}"
    with step("report_read") as s:
        got = ven.reports.get_report_by_id(state["report"].id)
        assert got.program_id == program_id and got.event_id == event_id
        s.detail = "programID filled in by the VTN"

    with step("subscription_create") as s:
        sub = NewSubscription(
            client_name=f"{tag}-ven",
            program_id=program_id,
            object_operations=(
                ObjectOperation(
                    objects=(Object.EVENT,),
                    operations=(Operation.POST, Operation.PUT),
                    callback_url=cfg["receiver_url"],
                    bearer_token=BEARER,
                ),
            ),
        )
        made = ven.subscriptions.create_subscription(sub)
        verbs = [o.value for o in made.object_operations[0].operations]
        s.detail = f"subscription {made.id}; operations come back as {verbs}"
    with step("notification") as s:
        new = fx.event(program_id, f"{tag}-event-2")
        note = wait_for(notification_for(cfg["receiver_url"], new["id"]), what="webhook notification")
        s.detail = describe_notification(note) + " (harness receiver: the library has none)"
    not_applicable("mqtt_notification", "MQTT notifiers are 3.1.0 only")


if __name__ == "__main__":
    main()
