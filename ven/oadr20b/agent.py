"""The VEN agent over OpenADR 2.0b simpleHttp (pull): the same devices and timeline as the 3.1 agent.

Start: oadrQueryRegistration, oadrCreatePartyRegistration (venID, registrationID and poll period
from the answer; kept in the state directory for the next start), oadrRegisterReport of our
telemetry (requests in the answer are served at once and confirmed with oadrCreatedReport),
oadrRequestEvent. Then every poll period oadrPoll, answering what the VTN queued and polling again
until it answers a plain oadrResponse:

- oadrDistributeEvent: the events become 3.1 events (events.py) on a new Timeline, devices get the
  signals in force (`apply`, as the 3.1 agent), and every event version that asks for it is
  answered in one oadrCreatedEvent (optIn, or optOut 460 when no signal is understood);
- oadrCreateReport / oadrCancelReport: start / stop requests (oadrCreatedReport / oadrCanceledReport);
- oadrRegisterReport (the VTN's own reports): acknowledged with an empty oadrRegisteredReport;
- oadrRequestReregistration / oadrCancelPartyRegistration (or 463 on a poll): register again.

Telemetry (telemetry.py): a 1 s tick samples the devices for the requests that are due
(reports.py); updates go through the local outbox, so a VTN outage loses nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from shared.oadr20b import Oadr20bCodec, Oadr20bError, Oadr20bSchema
from shared.oadr20b import messages as m
from shared.oadr20b.errors import ResponseCode
from shared.oadr20b.parts import EiResponse, EventResponse, QualifiedEventId, ResponseRequired
from shared.oadr20b.signing import XmlSigner, XmlVerifier
from ven.adapters.registry import AdapterRegistry
from ven.agent import Device
from ven.client import VtnUnavailable
from ven.config import VenConfig
from ven.oadr20b.client import Oadr20bClient
from ven.oadr20b.config import Oadr20bVenSettings
from ven.oadr20b.events import opt_for, to_event31
from ven.oadr20b.reports import Reporter, metadata, offered_points
from ven.oadr20b.telemetry import Telemetry, interval_doc, write_json
from ven.outbox import ReportOutbox
from ven.timeline import Timeline

log = logging.getLogger("ven.oadr20b")
M = TypeVar("M")
_MAX_REPOLLS = 20


def utcnow() -> datetime:
    return datetime.now(UTC)


class Oadr20bAgent:
    def __init__(
        self,
        config: VenConfig,
        *,
        registry: AdapterRegistry | None = None,
        clock: Callable[[], datetime] = utcnow,
        codec: Oadr20bCodec | None = None,
    ) -> None:
        self.config = config
        self.settings = config.oadr20b or Oadr20bVenSettings()
        self.clock = clock
        registry = registry or AdapterRegistry()
        self.devices = [Device(r, registry.create(r.adapter, r.options)) for r in config.resources]
        self.outbox = ReportOutbox(config.state_dir)
        self.client = self._client(codec or Oadr20bCodec(Oadr20bSchema()))
        self.timeline = Timeline([], seed=config.seed)
        payload_types = [p for t in config.telemetry for p in t.payload_types]
        self.points = offered_points([(d.config.id, d.config.name) for d in self.devices], payload_types)
        self.reporter = Reporter(self.points)
        self.telemetry = Telemetry(
            self.reporter,
            self.devices,
            self.outbox,
            self.client,
            ven_name=config.ven_name,
            clock=clock,
            on_contact=self._contact,
            on_failure=self._failed,
        )
        self.ven_id: str | None = self.outbox.get_state("oadr20b_ven_id")
        self.registration_id: str | None = self.outbox.get_state("oadr20b_registration_id")
        self.vtn_id: str | None = None
        self.poll_period = timedelta(seconds=config.receive.poll_seconds)
        self.answered: dict[str, int] = {}  # eventID -> modificationNumber answered with oadrCreatedEvent
        self.last_contact: datetime | None = None
        self.last_error: str | None = None
        self.scheduler = AsyncIOScheduler(timezone=UTC)
        self._tasks: list[asyncio.Task[None]] = []

    def _client(self, codec: Oadr20bCodec) -> Oadr20bClient:
        s, tls = self.settings, self.config.tls
        context = None
        if tls.ca_file or tls.cert_file or tls.pin_sha256 or tls.insecure:
            from shared.tls import client_ssl_context

            context = client_ssl_context(
                ca_file=tls.ca_file,
                cert_file=tls.cert_file,
                key_file=tls.key_file,
                pin_sha256=tls.pin_sha256,
                insecure=tls.insecure,
            )
        signer = None
        if s.sign and s.sign_cert_file and s.sign_key_file:
            signer = XmlSigner.from_files(s.sign_cert_file, s.sign_key_file)
        return Oadr20bClient(
            self.config.vtn_url,
            codec,
            ssl_context=context,
            signer=signer,
            verifier=XmlVerifier(window=timedelta(seconds=s.replay_window_seconds)),
            vtn_fingerprint=s.vtn_fingerprint,
            require_signatures=s.require_signatures,
        )

    # -- lifecycle ---------------------------------------------------------------------------------

    async def run(self) -> None:
        try:
            await self.start()
            await asyncio.Event().wait()
        finally:
            await self.stop()

    async def start(self) -> None:
        delay = 1.0
        while True:
            try:
                await self.register()
                break
            except (VtnUnavailable, Oadr20bError) as exc:
                self._failed(exc)
                log.warning("registration failed (%s); retrying in %.0f s", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 60.0)
        seconds = max(self.poll_period.total_seconds(), 0.1)
        self.scheduler.add_job(
            self.poll, "interval", seconds=seconds, id="poll", max_instances=1, coalesce=True
        )
        self.scheduler.add_job(
            self.telemetry.tick, "interval", seconds=1, id="reports", max_instances=1, coalesce=True
        )
        self.scheduler.start()
        self._tasks.append(asyncio.create_task(self.telemetry.send_loop(), name="ven-oadr20b-outbox"))
        await self.apply()

    async def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.scheduler.shutdown(wait=False)
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.client.close()
        self.write_status()
        self.outbox.close()

    # -- registration ------------------------------------------------------------------------------

    async def register(self) -> None:
        """Query, register (again), offer our reports and ask for the current events."""
        query = await self._expect(m.CreatedPartyRegistration, m.QueryRegistration(request_id=_rid()))
        self._check_vtn(query.vtn_id)
        answer = await self._create_registration(self.registration_id)
        if answer.response.code == 452 and self.registration_id is not None:
            answer = await self._create_registration(None)  # the VTN forgot us: start afresh
        if answer.response.code != 200 or not answer.ven_id or not answer.registration_id:
            raise Oadr20bError(
                _code(answer.response.code), f"registration refused: {answer.response.description}"
            )
        self.vtn_id = answer.vtn_id
        self.ven_id, self.registration_id = answer.ven_id, answer.registration_id
        self.telemetry.ven_id = answer.ven_id
        self.outbox.set_state("oadr20b_ven_id", answer.ven_id)
        self.outbox.set_state("oadr20b_registration_id", answer.registration_id)
        if answer.poll_freq is not None and answer.poll_freq > timedelta(0):
            self.poll_period = min(answer.poll_freq, timedelta(hours=24))
            with contextlib.suppress(Exception):
                self.scheduler.reschedule_job(
                    "poll", trigger="interval", seconds=self.poll_period.total_seconds()
                )
        self._contact()
        log.info("registered with %s as venID %s (poll every %s)", self.vtn_id, self.ven_id, self.poll_period)
        self.reporter.clear()
        self.answered.clear()
        await self._register_reports()
        distributed = await self._expect(
            m.DistributeEvent, m.RequestEvent(request_id=_rid(), ven_id=answer.ven_id)
        )
        await self._handle(distributed)

    async def _create_registration(self, registration_id: str | None) -> m.CreatedPartyRegistration:
        msg = m.CreatePartyRegistration(
            request_id=_rid(),
            registration_id=registration_id,
            ven_id=self.ven_id if registration_id else None,
            ven_name=self.config.ven_name,
            xml_signature=self.settings.sign,
            http_pull_model=True,
        )
        return await self._expect(m.CreatedPartyRegistration, msg)

    async def _register_reports(self) -> None:
        if not self.points:
            return
        seconds = self.settings.report_seconds or min(
            (t.every_seconds for t in self.config.telemetry), default=10.0
        )
        offer = metadata(self.points, timedelta(seconds=seconds), self.clock())
        msg = m.RegisterReport(request_id=_rid(), reports=(offer,), ven_id=self.ven_id)
        answer = await self._expect(m.RegisteredReport, msg)
        if answer.requests:
            await self._accept_requests(answer.requests, answer.response.request_id)

    async def _accept_requests(self, requests: tuple[Any, ...], request_id: str) -> None:
        now = self.clock()
        accepted = [r.report_request_id for r in requests if self.reporter.accept(r, now)]
        code = 200 if accepted or not requests else 452
        response = EiResponse(
            code=code, description="OK" if code == 200 else "unknown report", request_id=request_id
        )
        await self.client.send(
            m.CreatedReport(response=response, pending=self.reporter.request_ids, ven_id=self.ven_id)
        )
        log.info("serving report requests %s", ", ".join(accepted) or "none")

    # -- polling -----------------------------------------------------------------------------------

    async def poll(self) -> None:
        if self.ven_id is None:
            return
        try:
            for _ in range(_MAX_REPOLLS):
                answer = await self.client.send(m.Poll(ven_id=self.ven_id))
                self._contact()
                if not await self._handle(answer):
                    break
        except (VtnUnavailable, Oadr20bError) as exc:
            self._failed(exc)
            log.warning("poll failed (%s); keeping the last known timeline", exc)
        self.write_status()

    async def _handle(self, msg: m.Message | None) -> bool:
        """Act on one message from the VTN; True when it was not a plain 'nothing for you'."""
        if isinstance(msg, m.DistributeEvent):
            await self._events(msg)
        elif isinstance(msg, m.CreateReport):
            await self._accept_requests(msg.requests, msg.request_id)
        elif isinstance(msg, m.CancelReport):
            self.reporter.cancel(msg.report_request_ids)
            resp = EiResponse(request_id=msg.request_id)
            await self.client.send(
                m.CanceledReport(response=resp, pending=self.reporter.request_ids, ven_id=self.ven_id)
            )
        elif isinstance(msg, m.RegisterReport):
            resp = EiResponse(request_id=msg.request_id)
            await self.client.send(m.RegisteredReport(response=resp, ven_id=self.ven_id))
        elif isinstance(msg, m.RequestReregistration):
            await self.client.send(m.Response(response=EiResponse(), ven_id=self.ven_id))
            await self.register()
        elif isinstance(msg, m.CancelPartyRegistration):
            resp = EiResponse(request_id=msg.request_id)
            reg_id = msg.registration_id
            await self.client.send(
                m.CanceledPartyRegistration(response=resp, registration_id=reg_id, ven_id=self.ven_id)
            )
            self.registration_id = None
            await self.register()
        elif isinstance(msg, m.Response) and msg.response.code in (452, 463):
            log.warning("the VTN no longer knows us (%s): registering again", msg.response.description)
            self.registration_id = None
            await self.register()
            return False
        else:
            return False
        return True

    async def _events(self, msg: m.DistributeEvent) -> None:
        if self.vtn_id is not None and msg.vtn_id != self.vtn_id:
            log.warning(
                "ignoring oadrDistributeEvent from vtnID %s (registered with %s)", msg.vtn_id, self.vtn_id
            )
            return
        events31 = [e for e in (to_event31(ev) for ev in msg.events) if e is not None]
        before = set(self.timeline.events)
        self.timeline = Timeline(events31, seed=self.config.seed)
        for event in msg.events:
            if event.event_id not in before:
                log.info(
                    "event %s arrived (mod %d, %s)",
                    event.event_id,
                    event.modification_number,
                    event.event_status,
                )
        answers = []
        for event in msg.events:
            if event.response_required != ResponseRequired.ALWAYS:
                continue
            if self.answered.get(event.event_id) == event.modification_number:
                continue
            opt, code, text = opt_for(event)
            qualified = QualifiedEventId(
                event_id=event.event_id, modification_number=event.modification_number
            )
            answers.append(
                EventResponse(
                    code=code, description=text, request_id=msg.request_id, event=qualified, opt_type=opt
                )
            )
        if answers and self.ven_id is not None:
            created = m.CreatedEvent(
                response=EiResponse(request_id=msg.request_id),
                ven_id=self.ven_id,
                event_responses=tuple(answers),
            )
            reply = await self.client.send(created)
            if reply is None or (isinstance(reply, m.Response) and reply.response.code == 200):
                for answer in answers:
                    self.answered[answer.event.event_id] = answer.event.modification_number
            log.info("answered %s", ", ".join(f"{a.event.event_id}={a.opt_type.value}" for a in answers))
        await self.apply()

    # -- devices and telemetry ---------------------------------------------------------------------

    async def apply(self) -> None:
        """Give each device the signals in force now; schedule the next boundary (as the 3.1 agent)."""
        now = self.clock()
        signals = self.timeline.signals_at(now)
        for device in self.devices:
            device.adapter.step(now)
            response = await device.adapter.apply(signals, now)
            shown = ", ".join(f"{k}={v.values[0] if v.values else '-'}" for k, v in sorted(signals.items()))
            log.info(
                "device %s: %s -> %.2f kW (%s)",
                device.config.id,
                shown or "no signal",
                response.setpoint_kw,
                response.state,
            )
        nxt = self.timeline.next_change_after(now)
        if nxt is not None and nxt - now < timedelta(days=3650):
            self.scheduler.add_job(self.apply, "date", run_date=nxt, id="apply", replace_existing=True)
        self.write_status()

    # -- helpers -----------------------------------------------------------------------------------

    async def _expect(self, kind: type[M], msg: m.Message) -> M:
        answer = await self.client.send(msg)
        if not isinstance(answer, kind):
            raise Oadr20bError(_code(469), f"{msg.TAG} was answered with {type(answer).__name__}")
        return answer

    def _check_vtn(self, vtn_id: str) -> None:
        expected = self.settings.vtn_id
        if expected is not None and vtn_id != expected:
            raise Oadr20bError(_code(452), f"the VTN calls itself {vtn_id!r}, not {expected!r} (vtn.vtn_id)")

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
            "onboarded": self.registration_id is not None,
            "protocol": "2.0b",
            "vtnID": self.vtn_id,
            "resources": [d.config.id for d in self.devices],
            "current": [interval_doc(a) for a in self.timeline.active_at(now)],
            "next": [interval_doc(a) for a in self.timeline.upcoming(now, timedelta(days=2))[:5]],
            "reportRequests": list(self.reporter.request_ids),
            "outboxDepth": self.outbox.depth(),
            "lastContact": self.last_contact.isoformat() if self.last_contact else None,
            "lastError": self.last_error,
            "updated": now.isoformat(),
        }

    def write_status(self) -> None:
        write_json(Path(self.config.state_dir) / "status.json", self.status())


def _rid() -> str:
    return uuid.uuid4().hex


def _code(value: int) -> ResponseCode:
    try:
        return ResponseCode(value)
    except ValueError:
        return ResponseCode.DEPLOYMENT_ERROR_OR_OTHER_ERROR
