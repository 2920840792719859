"""The VEN runtime: one lifecycle, device loop, outbox sender and status for every protocol.

A protocol is a `VenTransport` (ven/oadr31.py for OpenADR 3.1, ven/oadr20b/transport.py for 2.0b
simpleHttp) holding the protocol client. The runtime owns what does not depend on the protocol:

- start: onboard through the transport, retried with backoff while the VTN cannot be reached
  (`transport.retryable`); any other failure (e.g. 401 bad credentials) ends the start;
- devices follow the `Timeline` the transport sets: `apply` gives each device the signals in force
  and schedules itself at the next interval boundary. The VTN being down never stops the devices;
- reports: the transport builds them, the runtime queues them in the local outbox (SQLite) and a
  sender task drains it in order through `transport.deliver`, backing off while the VTN is away
  and retrying as soon as anything gets through again;
- status: `status.json` in the state directory, read by `ven status`.

The transport and the outbox are injected (`build_agent` in ven/agent.py makes the real ones), so
a test can hand in a fake protocol client and still run all of this logic.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import json
import logging
import random
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ven.adapters.base import DeviceAdapter, Readings
from ven.adapters.registry import AdapterRegistry
from ven.client import VtnUnavailable
from ven.config import ResourceConfig, VenConfig
from ven.jobs import Jobs
from ven.outbox import PendingReport, ReportOutbox
from ven.timeline import ActiveInterval, Timeline

if TYPE_CHECKING:
    import ssl

    from ven.config import TlsClientConfig

log = logging.getLogger("ven")
MAX_BACKOFF_S = 60.0


def utcnow() -> datetime:
    return datetime.now(UTC)


class Device:
    """A configured resource with its adapter and the readings at the last telemetry sample."""

    def __init__(self, config: ResourceConfig, adapter: DeviceAdapter) -> None:
        self.config = config
        self.adapter = adapter
        self.last_sample: dict[str, tuple[datetime, Readings]] = {}


def make_devices(config: VenConfig, registry: AdapterRegistry | None = None) -> list[Device]:
    """Every configured resource with its adapter; a bad option fails here, before any I/O."""
    registry = registry or AdapterRegistry()
    return [Device(r, registry.create(r.adapter, r.options)) for r in config.resources]


class Delivery(enum.Enum):
    SENT = "sent"  # stored by the VTN (or already stored by an earlier attempt)
    REJECTED = "rejected"  # refused as invalid: kept in the outbox with the reason, never resent


@dataclass(frozen=True, slots=True)
class Outcome:
    delivery: Delivery
    reason: str = ""
    # The id the VTN gave the report, if it said: the outbox's id is a key it may derive one from.
    vtn_id: str | None = None


class VenTransport(Protocol):
    """What a protocol supplies to the runtime; `bind` is called once, before anything else."""

    protocol: str  # "3.1" or "2.0b": shown in status.json
    retryable: tuple[type[Exception], ...]  # onboarding failures that mean "try again later"
    fatal: tuple[type[Exception], ...]  # ... except these, which waiting will not mend

    @property
    def ven_id(self) -> str | None: ...

    @property
    def onboarded(self) -> bool: ...

    def bind(self, runtime: VenRuntime) -> None: ...

    async def onboard(self) -> None:
        """One onboarding attempt (idempotent): register/find our ven, read the current events."""

    async def begin(self) -> list[Coroutine[Any, Any, None]]:
        """After onboarding: start push channels, add periodic jobs (`runtime.jobs`); return loops."""

    async def deliver(self, pending: PendingReport) -> Outcome:
        """Send one queued report; VtnUnavailable when the VTN cannot be reached."""

    def status(self) -> dict[str, Any]:
        """Protocol fields added to (or overriding) the common status document."""

    async def close(self) -> None: ...


class TransportBase:
    """What every transport keeps the same way: the runtime it is bound to and the ven id it got."""

    def __init__(self) -> None:
        self._ven_id: str | None = None
        self._rt: VenRuntime | None = None

    @property
    def rt(self) -> VenRuntime:
        assert self._rt is not None, "bind() first"
        return self._rt

    @property
    def ven_id(self) -> str | None:
        return self._ven_id

    def bind(self, runtime: VenRuntime) -> None:
        self._rt = runtime


class VenRuntime:
    def __init__(
        self,
        config: VenConfig,
        transport: VenTransport,
        *,
        outbox: ReportOutbox,
        devices: list[Device],
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.config = config
        self.clock = clock
        self.devices = devices
        self.outbox = outbox
        self.timeline = Timeline([], seed=config.seed)
        self.last_contact: datetime | None = None
        self.last_error: str | None = None
        self.jobs = Jobs()
        self._send_wakeup = asyncio.Event()
        self._vtn_answered = asyncio.Event()  # set on every contact: a backing-off sender retries now
        self._tasks: list[asyncio.Task[None]] = []
        self.transport = transport
        transport.bind(self)

    @property
    def ven_id(self) -> str | None:
        return self.transport.ven_id

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
        loops = await self.transport.begin()
        self._tasks.append(asyncio.create_task(self._send_loop(), name="ven-outbox"))
        self._tasks.extend(asyncio.create_task(loop) for loop in loops)
        await self.apply()

    async def stop(self) -> None:
        await self.jobs.stop()
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.transport.close()
        self.write_status()
        self.outbox.close()

    async def _onboard(self) -> None:
        delay = 1.0
        while True:
            try:
                await self.transport.onboard()
                return
            except self.transport.fatal:
                raise
            except self.transport.retryable as exc:
                self.failed(exc)
                log.warning(
                    "cannot onboard (%s): is the VTN running, and is vtn.url right? retrying in %.0f s",
                    exc,
                    delay,
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_BACKOFF_S)

    # -- devices -----------------------------------------------------------------------------------

    def follow(self, timeline: Timeline) -> None:
        """Make `timeline` the one the devices follow (applied by the caller's next `apply`)."""
        self.timeline = timeline

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
            self.jobs.at("apply", nxt, now, self.apply)
        self.write_status()

    def sample(self, now: datetime) -> dict[str, Readings]:
        """Every device's readings at `now`, by resource id."""
        readings = {}
        for device in self.devices:
            device.adapter.step(now)
            readings[device.config.id] = device.adapter.readings()
        return readings

    # -- reports -----------------------------------------------------------------------------------

    def queue(self, body: Mapping[str, Any]) -> str:
        """Store a report in the outbox and wake the sender; returns the report's id."""
        report_id = self.outbox.add(self.config.ven_name, dict(body))
        self._send_wakeup.set()
        return report_id

    async def _send_loop(self) -> None:
        delay = 1.0
        while True:
            pending = self.outbox.next_pending()
            if pending is None:
                self._send_wakeup.clear()
                await self._send_wakeup.wait()
                continue
            try:
                outcome = await self.transport.deliver(pending)
            except VtnUnavailable as exc:
                self.outbox.mark_attempt(pending.seq, str(exc))
                self.failed(exc)
                # Back off, but retry as soon as anything else gets through: the VTN is back.
                self._vtn_answered.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._vtn_answered.wait(), delay * random.uniform(0.8, 1.2))
                delay = min(delay * 2, MAX_BACKOFF_S)
                continue
            if outcome.delivery is Delivery.SENT:
                self.outbox.mark_sent(pending.seq)
                stored = f", stored as {outcome.vtn_id}" if outcome.vtn_id else ""
                log.info("report %s reached the VTN%s", pending.report_id, stored)
            else:
                self.outbox.mark_rejected(pending.seq, outcome.reason)
                log.error(
                    "VTN rejected report %s: %s (kept in the outbox as rejected)",
                    pending.report_id,
                    outcome.reason,
                )
            self.contact()
            delay = 1.0

    # -- status ------------------------------------------------------------------------------------

    def contact(self) -> None:
        """The VTN answered."""
        self.last_contact = self.clock()
        self.last_error = None
        self._vtn_answered.set()

    def failed(self, exc: BaseException) -> None:
        self.last_error = f"{type(exc).__name__}: {exc}"

    def status(self) -> dict[str, Any]:
        now = self.clock()
        doc: dict[str, Any] = {
            "venName": self.config.ven_name,
            "venID": self.transport.ven_id,
            "onboarded": self.transport.onboarded,
            "protocol": self.transport.protocol,
            "resources": [d.config.id for d in self.devices],
            "current": [interval_doc(a) for a in self.timeline.active_at(now)],
            "next": [interval_doc(a) for a in self.timeline.upcoming(now, timedelta(days=2))[:5]],
            "outboxDepth": self.outbox.depth(),
            "lastContact": self.last_contact.isoformat() if self.last_contact else None,
            "lastError": self.last_error,
            "updated": now.isoformat(),
        }
        doc.update(self.transport.status())
        return doc

    def write_status(self) -> None:
        path = Path(self.config.state_dir) / "status.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.status(), indent=2))
        tmp.replace(path)


def interval_doc(a: ActiveInterval) -> dict[str, Any]:
    """An active or upcoming interval in status.json."""
    return {
        "eventID": a.event_id,
        "eventName": a.event_name,
        "intervalID": a.interval_id,
        "start": a.start.isoformat(),
        "end": a.end.isoformat(),
        "signals": {s.payload_type: list(s.values) for s in a.signals},
    }


def client_ssl(tls: TlsClientConfig) -> ssl.SSLContext | None:
    """The TLS context for the VTN connection; None when the config asks for nothing special.

    shared.tls (cryptography, ~10 MB resident) is imported only when the configuration needs it.
    """
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
