"""OpenADR 3.1 for the VEN runtime: onboarding, event sync, push channels and telemetry reports.

- onboard: find or create our ven and one resource per configured device (idempotent, so the
  runtime may repeat it while the VTN is away); the targets granted to both are kept;
- `sync` re-reads the events this VEN may see (targets re-read too: BL may grant or withdraw them
  at any time) and hands a new Timeline to the runtime; it runs every poll interval, or every
  reconciliation interval when a push channel (webhook or MQTT, ven/receivers.py) triggers syncs in
  between. A push never carries data the agent acts on: it only triggers a re-read;
- telemetry: per `[[telemetry]]` entry, sample every device and queue one report per active event.

Everything received is validated by the VtnClient against the 3.1 schemas (shared/wire).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

from shared.errors import Conflict, OadrError
from shared.models import Event, ObjectOperation, ReportRequest, SubscriptionRequest, ValuesMap
from shared.validation import SchemaRegistry
from ven.client import TlsVerificationFailed, VtnClient, VtnUnavailable
from ven.config import ResourceConfig, TelemetryConfig, VenConfig
from ven.outbox import PendingReport
from ven.reporting import Sample, report_body
from ven.runtime import Delivery, Outcome, TransportBase, client_ssl
from ven.timeline import Timeline, changed_events

if TYPE_CHECKING:
    from collections.abc import Coroutine

    from ven.receivers import MqttReceiver, WebhookReceiver

log = logging.getLogger("ven")


def make_client(config: VenConfig) -> VtnClient:
    """The 3.1 client for `config`; answers are validated against the 3.1 schemas, as the VTN does."""
    return VtnClient(
        config.vtn_url,
        client_id=config.client_id,
        client_secret=config.client_secret,
        ssl=client_ssl(config.tls),
        schemas=SchemaRegistry(),
    )


class NoMqttBroker(RuntimeError):
    """`events.mode = "mqtt"` but the VTN offers no MQTT notifier."""


class Oadr31Transport(TransportBase):
    protocol = "3.1"
    fatal: tuple[type[Exception], ...] = (TlsVerificationFailed,)
    retryable: tuple[type[Exception], ...] = (VtnUnavailable,)

    def __init__(self, client: VtnClient) -> None:
        super().__init__()
        self.client = client
        self.targets: list[str] = []
        self.receiver: WebhookReceiver | MqttReceiver | None = None
        self._sync_wakeup = asyncio.Event()

    @property
    def onboarded(self) -> bool:
        return self._ven_id is not None

    # -- onboarding --------------------------------------------------------------------------------

    async def onboard(self) -> None:
        config = self.rt.config
        ven = await self.client.ensure_ven(config.ven_name, ven_id=config.ven_id)
        targets = set(ven.targets or [])
        for device in self.rt.devices:
            res = await self.client.ensure_resource(
                ven.id,
                device.config.name,
                resource_id=device.config.id,
                attributes=_attributes(device.config),
            )
            targets.update(res.targets or [])
        self._ven_id, self.targets = ven.id, sorted(targets)
        self.rt.contact()
        log.info("onboarded as ven %s with %d resources", ven.id, len(self.rt.devices))

    async def begin(self) -> list[Coroutine[Any, Any, None]]:
        receive = self.rt.config.receive
        if receive.mode == "webhook":
            await self._start_webhook()
        elif receive.mode == "mqtt":
            await self._start_mqtt()
        await self.sync()
        every = receive.poll_seconds if receive.mode == "poll" else receive.reconcile_seconds
        jobs = self.rt.jobs
        jobs.every("sync", every, self.sync)
        for tele in self.rt.config.telemetry:
            jobs.every(f"telemetry-{tele.name}", tele.every_seconds, partial(self.telemetry, tele))
        return [self._push_loop()]

    async def _granted_targets(self) -> list[str]:
        if self._ven_id is None:
            return self.targets
        targets = set((await self.client.get_ven(self._ven_id)).targets or [])
        async for res in self.client.iter_resources(ven_id=self._ven_id):
            targets.update(res.targets or [])
        return sorted(targets)

    async def _start_mqtt(self) -> None:
        """Subscribe to this VEN's own topics (events and programs) on the broker the VTN names."""
        from ven.receivers import MqttReceiver

        notifiers = await self.client.get_notifiers()
        binding = notifiers.get("MQTT")
        uris = binding.get("URIS") if isinstance(binding, dict) else None
        if not uris:
            raise NoMqttBroker(
                f"events.mode is mqtt but the VTN at {self.client.base_url} offers no MQTT broker "
                '(GET /notifiers): use mode = "poll" or "webhook", or start the VTN with an MQTT broker'
            )
        topics: list[str] = []
        for kind in ("events", "programs"):
            named = await self.client.mqtt_topics(f"vens/{self._ven_id}/{kind}")
            topics.extend([named["ALL"]] if "ALL" in named else [t for k, t in named.items() if k != "ALL"])
        self.receiver = MqttReceiver(str(uris[0]), topics, self._sync_wakeup.set)
        await self.receiver.start()

    async def _start_webhook(self) -> None:
        from ven.receivers import WebhookReceiver

        config, outbox = self.rt.config, self.rt.outbox
        receive = config.receive
        token = outbox.get_state("webhook_token")
        self.receiver = WebhookReceiver(
            receive.webhook_host, receive.webhook_port, self._sync_wakeup.set, token
        )
        await self.receiver.start()
        outbox.set_state("webhook_token", self.receiver.token)
        url = receive.webhook_public_url or self.receiver.url
        ops = [
            ObjectOperation(
                objects=["EVENT", "PROGRAM"],
                operations=["CREATE", "UPDATE", "DELETE"],
                callback_url=url,
                bearer_token=self.receiver.token,
            )
        ]
        mine = [s for s in await self.client.list_subscriptions(client_name=config.ven_name)]
        req = SubscriptionRequest(client_name=config.ven_name, object_operations=ops)
        if mine:
            await self.client.update_subscription(mine[0].id, req)
        else:
            await self.client.create_subscription(req)
        log.info("subscribed to event notifications at %s", url)

    # -- events ------------------------------------------------------------------------------------

    async def sync(self) -> None:
        """Re-read our events and rebuild the timeline; log what arrived, changed or went away."""
        rt = self.rt
        try:
            self.targets = await self._granted_targets()
            events = [e async for e in self.client.iter_events(targets=self.targets or None, active=True)]
        except (VtnUnavailable, OadrError) as exc:
            rt.failed(exc)
            log.warning("event sync failed (%s); keeping the last known timeline", exc)
            rt.write_status()
            return
        rt.contact()
        changes = changed_events(rt.timeline.events, events)
        if not changes:
            rt.write_status()  # keeps lastContact/lastError in `ven status` current
            return
        for eid in changes.added:
            log.info("event %s arrived (%s)", eid, _describe(events, eid))
        for eid in changes.changed:
            log.info("event %s changed", eid)
        for eid in changes.removed:
            log.info("event %s removed", eid)
        rt.follow(Timeline(events, seed=rt.config.seed))
        await rt.apply()

    async def _push_loop(self) -> None:
        while True:
            await self._sync_wakeup.wait()
            self._sync_wakeup.clear()
            await self.sync()

    # -- reports -----------------------------------------------------------------------------------

    async def telemetry(self, tele: TelemetryConfig) -> None:
        """Sample every device and queue one report per active event."""
        rt = self.rt
        now = rt.clock()
        readings = rt.sample(now)
        samples = []
        for device in rt.devices:
            start, prev = device.last_sample.get(
                tele.name, (now - timedelta(seconds=tele.every_seconds), None)
            )
            current = readings[device.config.id]
            samples.append(Sample(device.config.name, start, now, current, prev))
            device.last_sample[tele.name] = (now, current)
        for active in rt.timeline.active_at(now):
            body = report_body(
                event_id=active.event_id,
                client_name=rt.config.ven_name,
                report_name=tele.name,
                interval_id=active.interval_id,
                payload_types=tele.payload_types,
                samples=samples,
            )
            if body is not None:
                report_id = rt.queue(body)
                log.info("report %s queued for event %s", report_id, active.event_id)

    async def deliver(self, pending: PendingReport) -> Outcome:
        try:
            made = await self.client.create_report(ReportRequest.model_validate(pending.body))
        except Conflict:
            # Our id (a key the VTN derives the report's id from) is already stored: an earlier
            # attempt got through before we saw the answer.
            return Outcome(Delivery.SENT)
        except OadrError as exc:
            return Outcome(Delivery.REJECTED, f"{exc.status} {exc}")
        return Outcome(Delivery.SENT, vtn_id=made.id)

    def status(self) -> dict[str, Any]:
        return {}

    async def close(self) -> None:
        if self.receiver is not None:
            await self.receiver.stop()
        await self.client.close()


def _attributes(config: ResourceConfig) -> list[ValuesMap] | None:
    if not config.attributes:
        return None
    return [
        ValuesMap(type=k, values=list(v) if isinstance(v, list) else [v])
        for k, v in config.attributes.items()
    ]


def _describe(events: list[Event], event_id: str) -> str:
    for event in events:
        if event.id == event_id:
            n = len(event.intervals or [])
            return f"{event.event_name or 'unnamed'}, program {event.program_id}, {n} intervals"
    return "?"
