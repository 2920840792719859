"""The VEN agent: onboard, keep the event set current, drive devices on the timeline, report.

Loop model: APScheduler runs four kinds of jobs on the asyncio loop:
- `sync`: re-read the events this VEN may see and rebuild the timeline (every poll interval, or
  every reconciliation interval when a push channel triggers syncs in between);
- `apply`: at each interval boundary, give every device the signals in force and log its answer;
- `telemetry-*`: sample the devices and queue a report per active event in the local outbox;
- the outbox sender is a task of its own that drains reports in order whenever the VTN answers.
The VTN being down never stops the devices: they keep following the last known timeline.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import ssl
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from shared.errors import Conflict, OadrError
from shared.models import ObjectOperation, ReportRequest, SubscriptionRequest, ValuesMap
from ven.adapters.base import DeviceAdapter, Readings
from ven.adapters.registry import AdapterRegistry
from ven.client import VtnClient, VtnUnavailable
from ven.config import ResourceConfig, TelemetryConfig, VenConfig
from ven.outbox import ReportOutbox
from ven.reporting import Sample, report_body
from ven.timeline import Timeline, changed_events

if TYPE_CHECKING:
    from ven.receivers import MqttReceiver, WebhookReceiver

# shared.tls (cryptography, ~10 MB resident) and ven.receivers (aiohttp.web) are imported only when
# the configuration needs them: most gateways run neither client TLS options nor a webhook.

log = logging.getLogger("ven")


def utcnow() -> datetime:
    return datetime.now(UTC)


class Device:
    """A configured resource with its adapter and the readings at the last telemetry sample."""

    def __init__(self, config: ResourceConfig, adapter: DeviceAdapter) -> None:
        self.config = config
        self.adapter = adapter
        self.last_sample: dict[str, tuple[datetime, Readings]] = {}


class VenAgent:
    def __init__(
        self,
        config: VenConfig,
        *,
        registry: AdapterRegistry | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.config = config
        self.clock = clock
        registry = registry or AdapterRegistry()
        # Build every adapter before contacting the VTN, so a bad option fails fast and clearly.
        self.devices = [Device(r, registry.create(r.adapter, r.options)) for r in config.resources]
        self.outbox = ReportOutbox(config.state_dir)
        self.client = VtnClient(
            config.vtn_url, client_id=config.client_id, client_secret=config.client_secret, ssl=self._ssl()
        )
        self.timeline = Timeline([], seed=config.seed)
        self.ven_id: str | None = None
        self.targets: list[str] = []
        self.last_contact: datetime | None = None
        self.last_error: str | None = None
        self.scheduler = AsyncIOScheduler(timezone=UTC)
        self._send_wakeup = asyncio.Event()
        self._sync_wakeup = asyncio.Event()
        self._vtn_answered = asyncio.Event()  # set by a successful sync: a backing-off sender retries now
        self._tasks: list[asyncio.Task[None]] = []
        self.receiver: WebhookReceiver | MqttReceiver | None = None

    def _ssl(self) -> ssl.SSLContext | None:
        tls = self.config.tls
        if not (tls.ca_file or tls.cert_file or tls.pin_sha256 or tls.insecure):
            return None
        from shared.tls import client_ssl_context

        return client_ssl_context(
            ca_file=tls.ca_file,
            cert_file=tls.cert_file,
            key_file=tls.key_file,
            pin_sha256=tls.pin_sha256,
            insecure=tls.insecure,
        )

    # -- lifecycle ---------------------------------------------------------------------------------

    async def run(self) -> None:
        """Run until cancelled; a failed start (e.g. the VTN refusing our credentials) still cleans up."""
        try:
            await self.start()
            await asyncio.Event().wait()
        finally:
            await self.stop()

    async def start(self) -> None:
        await self._onboard()
        if self.config.receive.mode == "webhook":
            await self._start_webhook()
        elif self.config.receive.mode == "mqtt":
            await self._start_mqtt()
        await self.sync()
        receive = self.config.receive
        every = receive.poll_seconds if receive.mode == "poll" else receive.reconcile_seconds
        self.scheduler.add_job(
            self.sync, "interval", seconds=every, id="sync", max_instances=1, coalesce=True
        )
        for tele in self.config.telemetry:
            self.scheduler.add_job(
                self.telemetry,
                "interval",
                seconds=tele.every_seconds,
                args=[tele],
                id=f"telemetry-{tele.name}",
                max_instances=1,
                coalesce=True,
            )
        self.scheduler.start()
        self._tasks.append(asyncio.create_task(self._send_loop(), name="ven-outbox"))
        self._tasks.append(asyncio.create_task(self._push_loop(), name="ven-push"))
        await self.apply()

    async def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.scheduler.shutdown(wait=False)
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.receiver is not None:
            await self.receiver.stop()
        await self.client.close()
        self.write_status()
        self.outbox.close()

    # -- onboarding ----------------------------------------------------------------------------------

    async def _onboard(self) -> None:
        """Find or create our ven and resources; retried until the VTN answers (idempotent)."""
        delay = 1.0
        while True:
            try:
                ven = await self.client.ensure_ven(self.config.ven_name, ven_id=self.config.ven_id)
                targets = set(ven.targets or [])
                for device in self.devices:
                    res = await self.client.ensure_resource(
                        ven.id,
                        device.config.name,
                        resource_id=device.config.id,
                        attributes=_attributes(device.config),
                    )
                    targets.update(res.targets or [])
                self.ven_id, self.targets = ven.id, sorted(targets)
                self._contact()
                log.info("onboarded as ven %s with %d resources", ven.id, len(self.devices))
                return
            except VtnUnavailable as exc:
                self._failed(exc)
                log.warning("VTN unreachable during onboarding (%s); retrying in %.0f s", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 60.0)

    async def _granted_targets(self) -> list[str]:
        if self.ven_id is None:
            return self.targets
        targets = set((await self.client.get_ven(self.ven_id)).targets or [])
        async for res in self.client.iter_resources(ven_id=self.ven_id):
            targets.update(res.targets or [])
        return sorted(targets)

    async def _start_mqtt(self) -> None:
        """Subscribe to this VEN's own topics (events and programs) on the broker the VTN names."""
        from ven.receivers import MqttReceiver

        notifiers = await self.client.get_notifiers()
        binding = notifiers.get("MQTT")
        uris = binding.get("URIS") if isinstance(binding, dict) else None
        if not uris:
            raise RuntimeError("events.mode is mqtt but the VTN offers no MQTT notifier (GET /notifiers)")
        topics: list[str] = []
        for kind in ("events", "programs"):
            named = await self.client.mqtt_topics(f"vens/{self.ven_id}/{kind}")
            topics.extend([named["ALL"]] if "ALL" in named else [t for k, t in named.items() if k != "ALL"])
        self.receiver = MqttReceiver(str(uris[0]), topics, self._sync_wakeup.set)
        await self.receiver.start()

    async def _start_webhook(self) -> None:
        from ven.receivers import WebhookReceiver

        receive = self.config.receive
        token = self.outbox.get_state("webhook_token")
        self.receiver = WebhookReceiver(
            receive.webhook_host, receive.webhook_port, self._sync_wakeup.set, token
        )
        await self.receiver.start()
        self.outbox.set_state("webhook_token", self.receiver.token)
        url = receive.webhook_public_url or self.receiver.url
        ops = [
            ObjectOperation(
                objects=["EVENT", "PROGRAM"],
                operations=["CREATE", "UPDATE", "DELETE"],
                callback_url=url,
                bearer_token=self.receiver.token,
            )
        ]
        mine = [s for s in await self.client.list_subscriptions(client_name=self.config.ven_name)]
        req = SubscriptionRequest(client_name=self.config.ven_name, object_operations=ops)
        if mine:
            await self.client.update_subscription(mine[0].id, req)
        else:
            await self.client.create_subscription(req)
        log.info("subscribed to event notifications at %s", url)

    # -- events ----------------------------------------------------------------------------------------

    async def sync(self) -> None:
        """Re-read our events and rebuild the timeline; log what arrived, changed or went away."""
        try:
            # BL may grant or withdraw targets at any time: re-read them with the events.
            self.targets = await self._granted_targets()
            events = [e async for e in self.client.iter_events(targets=self.targets or None, active=True)]
        except (VtnUnavailable, OadrError) as exc:
            self._failed(exc)
            log.warning("event sync failed (%s); keeping the last known timeline", exc)
            self.write_status()
            return
        self._contact()
        self._vtn_answered.set()
        changes = changed_events(self.timeline.events, events)
        if not changes:
            self.write_status()  # keeps lastContact/lastError in `ven status` current
            return
        for eid in changes.added:
            log.info("event %s arrived (%s)", eid, _describe(self.timeline, events, eid))
        for eid in changes.changed:
            log.info("event %s changed", eid)
        for eid in changes.removed:
            log.info("event %s removed", eid)
        self.timeline = Timeline(events, seed=self.config.seed)
        await self.apply()

    async def apply(self) -> None:
        """Give each device the signals in force now; schedule the next boundary."""
        now = self.clock()
        signals = self.timeline.signals_at(now)
        for device in self.devices:
            device.adapter.step(now)
            response = await device.adapter.apply(signals, now)
            shown = ", ".join(f"{k}={v.values[0] if v.values else '-'}" for k, v in sorted(signals.items()))
            log.info(
                "device %s: %s -> %.2f kW (%s) %s",
                device.config.id,
                shown or "no signal",
                response.setpoint_kw,
                response.state,
                response.note,
            )
        nxt = self.timeline.next_change_after(now)
        if nxt is not None and nxt - now < timedelta(days=3650):
            self.scheduler.add_job(self.apply, "date", run_date=nxt, id="apply", replace_existing=True)
        self.write_status()

    # -- reports ---------------------------------------------------------------------------------------

    async def telemetry(self, tele: TelemetryConfig) -> None:
        """Sample every device and queue one report per active event."""
        now = self.clock()
        samples = []
        for device in self.devices:
            device.adapter.step(now)
            readings = device.adapter.readings()
            start, prev = device.last_sample.get(
                tele.name, (now - timedelta(seconds=tele.every_seconds), None)
            )
            samples.append(Sample(device.config.name, start, now, readings, prev))
            device.last_sample[tele.name] = (now, readings)
        active = {a.event_id: a for a in self.timeline.active_at(now)}
        for event_id, interval in active.items():
            body = report_body(
                event_id=event_id,
                client_name=self.config.ven_name,
                report_name=tele.name,
                interval_id=interval.interval_id,
                payload_types=tele.payload_types,
                samples=samples,
            )
            if body is not None:
                report_id = self.outbox.add(self.config.ven_name, body)
                log.info("report %s queued for event %s", report_id, event_id)
        self._send_wakeup.set()

    async def _send_loop(self) -> None:
        delay = 1.0
        while True:
            pending = self.outbox.next_pending()
            if pending is None:
                self._send_wakeup.clear()
                await self._send_wakeup.wait()
                continue
            try:
                await self.client.create_report(ReportRequest.model_validate(pending.body))
                self.outbox.mark_sent(pending.seq)
                log.info("report %s reached the VTN", pending.report_id)
            except Conflict:
                # Our id is already stored: an earlier attempt got through before we saw the answer.
                self.outbox.mark_sent(pending.seq)
            except VtnUnavailable as exc:
                self.outbox.mark_attempt(pending.seq, str(exc))
                self._failed(exc)
                # Back off, but retry as soon as an event sync gets through: the VTN is back.
                self._vtn_answered.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._vtn_answered.wait(), delay * random.uniform(0.8, 1.2))
                delay = min(delay * 2, 60.0)
                continue
            except OadrError as exc:
                self.outbox.mark_rejected(pending.seq, f"{exc.status} {exc}")
                log.error(
                    "VTN rejected report %s: %s (kept in the outbox as rejected)", pending.report_id, exc
                )
            self._contact()
            delay = 1.0

    async def _push_loop(self) -> None:
        while True:
            await self._sync_wakeup.wait()
            self._sync_wakeup.clear()
            await self.sync()

    # -- status ----------------------------------------------------------------------------------------

    def _contact(self) -> None:
        self.last_contact = self.clock()
        self.last_error = None

    def _failed(self, exc: BaseException) -> None:
        self.last_error = f"{type(exc).__name__}: {exc}"

    def status(self) -> dict[str, Any]:
        now = self.clock()
        return {
            "venName": self.config.ven_name,
            "venID": self.ven_id,
            "onboarded": self.ven_id is not None,
            "resources": [d.config.id for d in self.devices],
            "current": [_interval_doc(a) for a in self.timeline.active_at(now)],
            "next": [_interval_doc(a) for a in self.timeline.upcoming(now, timedelta(days=2))[:5]],
            "outboxDepth": self.outbox.depth(),
            "lastContact": self.last_contact.isoformat() if self.last_contact else None,
            "lastError": self.last_error,
            "updated": now.isoformat(),
        }

    def write_status(self) -> None:
        path = Path(self.config.state_dir) / "status.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.status(), indent=2))
        tmp.replace(path)


def _attributes(config: ResourceConfig) -> list[ValuesMap] | None:
    if not config.attributes:
        return None
    return [
        ValuesMap(type=k, values=list(v) if isinstance(v, list) else [v])
        for k, v in config.attributes.items()
    ]


def _interval_doc(a: Any) -> dict[str, Any]:
    return {
        "eventID": a.event_id,
        "eventName": a.event_name,
        "intervalID": a.interval_id,
        "start": a.start.isoformat(),
        "end": a.end.isoformat(),
        "signals": {s.payload_type: list(s.values) for s in a.signals},
    }


def _describe(_: Timeline, events: list[Any], event_id: str) -> str:
    for event in events:
        if event.id == event_id:
            n = len(event.intervals or [])
            return f"{event.event_name or 'unnamed'}, program {event.program_id}, {n} intervals"
    return "?"
