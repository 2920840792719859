"""Driver for `openadr3-client` (ElaadNL) in OpenADR 3.1.0 mode: typed VEN and BL clients (Python >= 3.12).

Over plain HTTP it needs OAUTHLIB_INSECURE_TRANSPORT=1 (set by the harness) and allow_insecure_http=True.
Its token requests use HTTP Basic client authentication; the token URL is found through /auth/server.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from _common import BEARER, Fixture, describe_notification, load_config, notification_for, step, wait_for
from openadr3_client._auth.config_builder import build_token_manager_config
from openadr3_client._auth.token_manager import OAuthTokenManager
from openadr3_client._models.common.interval import Interval
from openadr3_client._models.common.interval_period import IntervalPeriod
from openadr3_client.bl.http_factory import BusinessLogicHttpClientFactory
from openadr3_client.oadr310.models.event.event import ExistingEvent, NewEvent
from openadr3_client.oadr310.models.event.event_payload import EventPayload, EventPayloadType
from openadr3_client.oadr310.models.program.program import NewProgram, ProgramUpdate
from openadr3_client.oadr310.models.report.report import NewReport, ReportResource
from openadr3_client.oadr310.models.report.report_payload import ReportPayload, ReportPayloadType
from openadr3_client.oadr310.models.resource.resource import NewResourceVenRequest
from openadr3_client.oadr310.models.subscriptions.subscription import (
    NewSubscription,
    Object,
    ObjectOperation,
    Operation,
)
from openadr3_client.oadr310.models.ven.ven import NewVenVenRequest
from openadr3_client.ven.http_factory import VirtualEndNodeHttpClientFactory
from openadr3_client.version import OADRVersion

V = OADRVersion.OADR_310


def _token(cfg: dict[str, Any], who: str) -> str:
    creds = cfg[who]
    config = build_token_manager_config(
        client_id=creds["client_id"],
        client_secret=creds["client_secret"],
        token_url=None,
        scopes=None,
        audience=None,
        vtn_base_url=cfg["base_url"],
        verify_vtn_tls_certificate=True,
        version=V,
        factory_name="interop",
    )
    return OAuthTokenManager(config).get_access_token()


def _event(program_id: str, name: str) -> NewEvent:
    return NewEvent(
        program_id=program_id,
        event_name=name,
        interval_period=IntervalPeriod(
            start=datetime.now(UTC) + timedelta(minutes=5), duration=timedelta(hours=1)
        ),
        intervals=(Interval(id=0, payloads=(EventPayload(type=EventPayloadType.PRICE, values=(0.25,)),)),),
    )


def _mqtt_step(cfg: dict[str, Any], ven: Any, fx: Fixture, program_id: str, ven_id: str) -> None:
    from openadr3_client.oadr310._vtn.mqtt.client import MQTTClient

    tag = cfg["tag"]
    with step("mqtt_notification") as s:
        details = ven.notifiers.get_notifiers()
        topics = ven.notifiers.get_event_topics_for_ven(ven_id).topics
        uri = urlsplit(str(details.mqtt.uris[0]))
        got: list[dict[str, Any]] = []
        arrived = threading.Event()

        def on_message(_c: Any, _u: Any, msg: Any) -> None:
            got.append(json.loads(msg.payload))
            arrived.set()

        client = MQTTClient(details.mqtt)
        client.on_message = on_message
        client.connect(uri.hostname or "127.0.0.1", uri.port or 1883)
        client.subscribe(topics.create, qos=1)
        client.loop_start()
        try:
            wait_for(client.is_connected, what="MQTT connection")
            new = fx.event(program_id, f"{tag}-event-3")
            note = wait_for(
                lambda: next((g for g in got if g.get("object", {}).get("id") == new["id"]), None),
                what="MQTT notification",
            )
            ExistingEvent.model_validate(note["object"])
            s.detail = f"{note['operation']} on {topics.create}; object parsed as ExistingEvent"
        finally:
            client.loop_stop()
            client.disconnect()


def main() -> None:
    cfg = load_config()
    base, tag = cfg["base_url"], cfg["tag"]
    fx = Fixture(cfg)
    state: dict[str, Any] = {}
    common = {"vtn_base_url": base, "token_url": None, "allow_insecure_http": True, "version": V}

    with step("auth_ven") as s:
        _token(cfg, "ven")
        s.detail = "token URL from GET /auth/server; client_secret_basic (HTTP Basic) via oauthlib"
    ven = VirtualEndNodeHttpClientFactory.create_http_ven_client(
        client_id=cfg["ven"]["client_id"], client_secret=cfg["ven"]["client_secret"], **common
    )
    with step("auth_bl"):
        _token(cfg, "bl")
    bl = BusinessLogicHttpClientFactory.create_http_bl_client(
        client_id=cfg["bl"]["client_id"], client_secret=cfg["bl"]["client_secret"], **common
    )

    program_name = f"{tag}-program"
    with step("bl_create_program") as s:
        state["program"] = bl.programs.create_program(NewProgram(program_name=program_name))
        s.detail = f"program {state['program'].id} (body sends every unset field as null)"
    program_id = state["program"].id if "program" in state else fx.program(program_name)["id"]
    with step("bl_create_event") as s:
        state["event"] = bl.events.create_event(_event(program_id, f"{tag}-event"))
        s.detail = f"event {state['event'].id}"
    event_id = state["event"].id if "event" in state else fx.event(program_id, f"{tag}-event")["id"]
    with step("bl_update_program") as s:
        period = IntervalPeriod(start=datetime(2030, 1, 1, tzinfo=UTC), duration=timedelta(days=1))
        updated = bl.programs.update_program_by_id(
            program_id, ProgramUpdate(program_name=program_name, interval_period=period)
        )
        assert updated.interval_period is not None and updated.interval_period.duration == timedelta(days=1)
        s.detail = "PUT with intervalPeriod"

    with step("ven_register") as s:
        found = ven.vens.get_vens(ven_name=f"{tag}-ven", target=None, pagination=None)
        state["ven"] = found[0] if found else ven.vens.create_ven(NewVenVenRequest(ven_name=f"{tag}-ven"))
        s.detail = f"ven {state['ven'].id}, clientID {state['ven'].client_id}"
    ven_id = state["ven"].id if "ven" in state else fx.ven_object(f"{tag}-ven")["id"]
    with step("resource_register") as s:
        res = ven.resources.create_resource(
            NewResourceVenRequest(resource_name=f"{tag}-meter", ven_id=ven_id)
        )
        listed = ven.resources.get_resources(ven_id=ven_id)
        assert [r.id for r in listed] == [res.id], "resource not listed under its ven"
        s.detail = f"resource {res.id}"

    with step("list_programs") as s:
        programs = ven.programs.get_programs(target=None, pagination=None)
        assert program_name in [p.program_name for p in programs], "program not listed"
        s.detail = f"{len(programs)} program(s)"
    with step("find_event") as s:
        events = ven.events.get_events(target=None, pagination=None, program_id=program_id)
        assert event_id in [e.id for e in events], "event not listed"
        s.detail = f"{len(events)} event(s)"

    with step("report_create") as s:
        report = NewReport(
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
        s.detail = f"report {state['report'].id}, clientID {state['report'].client_id}"
    with step("report_read") as s:
        got = ven.reports.get_report_by_id(state["report"].id)
        listed = ven.reports.get_reports(
            pagination=None, program_id=None, event_id=event_id, client_name=None
        )
        assert got.event_id == event_id and state["report"].id in [r.id for r in listed]
        s.detail = "by id and by eventID"

    with step("subscription_create", expect="parsing the VTN's answer") as s:
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
        made = ven.subscriptions.create_subscription(sub)  # typed read-only for VENs, but implemented
        s.detail = f"subscription {made.id}"
    with step("notification") as s:
        stored = fx.ven.call("GET", "/subscriptions", query={"programID": program_id})
        assert stored, "the subscription was not stored"
        new = fx.event(program_id, f"{tag}-event-2")
        note = wait_for(notification_for(cfg["receiver_url"], new["id"]), what="webhook notification")
        ExistingEvent.model_validate(note["object"])
        s.detail = describe_notification(note) + "; object parsed as ExistingEvent (harness receiver)"

    if cfg.get("mqtt_broker"):
        _mqtt_step(cfg, ven, fx, program_id, ven_id)
    else:
        from _common import not_applicable

        not_applicable("mqtt_notification", "no MQTT broker on 127.0.0.1:1883 for this run")


if __name__ == "__main__":
    main()
