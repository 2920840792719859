"""OpenADR 2.0b simpleHttp (pull) for the VEN runtime: the same devices and timeline as 3.1.

Onboarding: oadrQueryRegistration, oadrCreatePartyRegistration (venID, registrationID and poll
period from the answer; kept in the state directory for the next start), oadrRegisterReport of our
telemetry (requests in the answer are served at once and confirmed with oadrCreatedReport),
oadrRequestEvent. Then every poll period oadrPoll, answering what the VTN queued and polling again
until it answers a plain oadrResponse:

- oadrDistributeEvent: the events become 3.1 events (events.py) on a new Timeline, devices get the
  signals in force, and every event version that asks for it is answered in one oadrCreatedEvent
  (optIn, or optOut 460 when no signal is understood);
- oadrCreateReport / oadrCancelReport: start / stop requests (oadrCreatedReport / oadrCanceledReport);
- oadrRegisterReport (the VTN's own reports): acknowledged with an empty oadrRegisteredReport;
- oadrRequestReregistration / oadrCancelPartyRegistration (or 463 on a poll): register again.

Telemetry: a 1 s tick samples the devices for the requests that are due (reports.py); each
oadrUpdateReport is queued unsigned in the runtime's outbox and signed when sent (fresh nonce).
Everything received goes through the shared 2.0b codec (XSD-validated, signatures checked).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Coroutine
from datetime import timedelta
from typing import Any, TypeVar

from shared.oadr20b import Oadr20bCodec, Oadr20bError, Oadr20bSchema
from shared.oadr20b import messages as m
from shared.oadr20b.errors import ResponseCode
from shared.oadr20b.parts import EiResponse, EventResponse, QualifiedEventId, ResponseRequired
from shared.oadr20b.signing import XmlSigner, XmlVerifier
from ven.client import TlsVerificationFailed, VtnUnavailable
from ven.config import VenConfig
from ven.oadr20b.client import Oadr20bClient
from ven.oadr20b.config import Oadr20bVenSettings
from ven.oadr20b.events import opt_for, to_event31
from ven.oadr20b.reports import Point, Reporter, metadata, offered_points
from ven.outbox import PendingReport
from ven.runtime import Delivery, Outcome, TransportBase, VenRuntime, client_ssl
from ven.timeline import Timeline

log = logging.getLogger("ven.oadr20b")
M = TypeVar("M")
_MAX_REPOLLS = 20


def make_client(config: VenConfig, settings: Oadr20bVenSettings) -> Oadr20bClient:
    """The simpleHttp client for `config`: TLS, our signer and the verifier of the VTN's signatures."""
    signer = None
    if settings.sign and settings.sign_cert_file and settings.sign_key_file:
        signer = XmlSigner.from_files(settings.sign_cert_file, settings.sign_key_file)
    return Oadr20bClient(
        config.vtn_url,
        Oadr20bCodec(Oadr20bSchema()),
        ssl_context=client_ssl(config.tls),
        signer=signer,
        verifier=XmlVerifier(window=timedelta(seconds=settings.replay_window_seconds)),
        vtn_fingerprint=settings.vtn_fingerprint,
        require_signatures=settings.require_signatures,
    )


class Oadr20bTransport(TransportBase):
    protocol = "2.0b"
    fatal: tuple[type[Exception], ...] = (TlsVerificationFailed,)
    retryable: tuple[type[Exception], ...] = (VtnUnavailable, Oadr20bError)

    def __init__(self, client: Oadr20bClient, settings: Oadr20bVenSettings) -> None:
        super().__init__()
        self.client = client
        self.settings = settings
        self.registration_id: str | None = None
        self.vtn_id: str | None = None
        self.poll_period = timedelta(seconds=10)
        self.answered: dict[str, int] = {}  # eventID -> modificationNumber answered with oadrCreatedEvent
        self.points: tuple[Point, ...] = ()
        self.reporter = Reporter(())

    @property
    def onboarded(self) -> bool:
        return self.registration_id is not None

    def bind(self, runtime: VenRuntime) -> None:
        super().bind(runtime)
        config = runtime.config
        payload_types = [p for t in config.telemetry for p in t.payload_types]
        self.points = offered_points([(d.config.id, d.config.name) for d in runtime.devices], payload_types)
        self.reporter = Reporter(self.points)
        self.poll_period = timedelta(seconds=config.receive.poll_seconds)
        self._ven_id = runtime.outbox.get_state("oadr20b_ven_id")
        self.registration_id = runtime.outbox.get_state("oadr20b_registration_id")

    # -- registration ------------------------------------------------------------------------------

    async def onboard(self) -> None:
        await self.register()

    async def begin(self) -> list[Coroutine[Any, Any, None]]:
        jobs = self.rt.jobs
        jobs.every("poll", max(self.poll_period.total_seconds(), 0.1), self.poll)
        jobs.every("reports", 1.0, self.tick)
        return []

    async def register(self) -> None:
        """Query, register (again), offer our reports and ask for the current events."""
        rt = self.rt
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
        self._ven_id, self.registration_id = answer.ven_id, answer.registration_id
        rt.outbox.set_state("oadr20b_ven_id", answer.ven_id)
        rt.outbox.set_state("oadr20b_registration_id", answer.registration_id)
        if answer.poll_freq is not None and answer.poll_freq > timedelta(0):
            self.poll_period = min(answer.poll_freq, timedelta(hours=24))
            rt.jobs.reschedule("poll", max(self.poll_period.total_seconds(), 0.1))
        rt.contact()
        log.info(
            "registered with %s as venID %s (poll every %s)", self.vtn_id, self._ven_id, self.poll_period
        )
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
            ven_id=self._ven_id if registration_id else None,
            ven_name=self.rt.config.ven_name,
            xml_signature=self.settings.sign,
            http_pull_model=True,
        )
        return await self._expect(m.CreatedPartyRegistration, msg)

    async def _register_reports(self) -> None:
        if not self.points:
            return
        telemetry = self.rt.config.telemetry
        seconds = self.settings.report_seconds or min((t.every_seconds for t in telemetry), default=10.0)
        offer = metadata(self.points, timedelta(seconds=seconds), self.rt.clock())
        msg = m.RegisterReport(request_id=_rid(), reports=(offer,), ven_id=self._ven_id)
        answer = await self._expect(m.RegisteredReport, msg)
        if answer.requests:
            await self._accept_requests(answer.requests, answer.response.request_id)

    async def _accept_requests(self, requests: tuple[Any, ...], request_id: str) -> None:
        now = self.rt.clock()
        accepted = [r.report_request_id for r in requests if self.reporter.accept(r, now)]
        code = 200 if accepted or not requests else 452
        response = EiResponse(
            code=code, description="OK" if code == 200 else "unknown report", request_id=request_id
        )
        await self.client.send(
            m.CreatedReport(response=response, pending=self.reporter.request_ids, ven_id=self._ven_id)
        )
        log.info("serving report requests %s", ", ".join(accepted) or "none")

    # -- polling -----------------------------------------------------------------------------------

    async def poll(self) -> None:
        if self._ven_id is None:
            return
        try:
            for _ in range(_MAX_REPOLLS):
                answer = await self.client.send(m.Poll(ven_id=self._ven_id))
                self.rt.contact()
                if not await self._handle(answer):
                    break
        except (VtnUnavailable, Oadr20bError) as exc:
            self.rt.failed(exc)
            log.warning("poll failed (%s); keeping the last known timeline", exc)
        self.rt.write_status()

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
                m.CanceledReport(response=resp, pending=self.reporter.request_ids, ven_id=self._ven_id)
            )
        elif isinstance(msg, m.RegisterReport):
            resp = EiResponse(request_id=msg.request_id)
            await self.client.send(m.RegisteredReport(response=resp, ven_id=self._ven_id))
        elif isinstance(msg, m.RequestReregistration):
            await self.client.send(m.Response(response=EiResponse(), ven_id=self._ven_id))
            await self.register()
        elif isinstance(msg, m.CancelPartyRegistration):
            resp = EiResponse(request_id=msg.request_id)
            reg_id = msg.registration_id
            await self.client.send(
                m.CanceledPartyRegistration(response=resp, registration_id=reg_id, ven_id=self._ven_id)
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
        rt = self.rt
        if self.vtn_id is not None and msg.vtn_id != self.vtn_id:
            log.warning(
                "ignoring oadrDistributeEvent from vtnID %s (registered with %s)", msg.vtn_id, self.vtn_id
            )
            return
        events31 = [e for e in (to_event31(ev) for ev in msg.events) if e is not None]
        before = set(rt.timeline.events)
        rt.follow(Timeline(events31, seed=rt.config.seed))
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
        if answers and self._ven_id is not None:
            created = m.CreatedEvent(
                response=EiResponse(request_id=msg.request_id),
                ven_id=self._ven_id,
                event_responses=tuple(answers),
            )
            reply = await self.client.send(created)
            if reply is None or (isinstance(reply, m.Response) and reply.response.code == 200):
                for answer in answers:
                    self.answered[answer.event.event_id] = answer.event.modification_number
            log.info("answered %s", ", ".join(f"{a.event.event_id}={a.opt_type.value}" for a in answers))
        await rt.apply()

    # -- reports -----------------------------------------------------------------------------------

    async def tick(self) -> None:
        """Sample the devices if a request is due; queue the updates that are due."""
        now = self.rt.clock()
        if not self.reporter.wants_sample(now):
            return
        readings = self.rt.sample(now)
        for report in self.reporter.tick(now, readings):
            msg = m.UpdateReport(request_id=_rid(), reports=(report,), ven_id=self._ven_id)
            self.rt.queue({"oadr20b": self.client.codec.build(msg).decode()})

    async def deliver(self, pending: PendingReport) -> Outcome:
        try:
            answer = await self.client.post(m.REPORT, str(pending.body["oadr20b"]).encode())
        except Oadr20bError as exc:
            return Outcome(Delivery.REJECTED, f"{int(exc.code)} {exc.description}")
        if isinstance(answer, m.UpdatedReport) and answer.cancel is not None:
            self.reporter.cancel(answer.cancel.report_request_ids)
        code = answer.response.code if isinstance(answer, m.UpdatedReport | m.Response) else 200
        if code != 200:
            return Outcome(Delivery.REJECTED, f"{code} {getattr(answer, 'response', None)}")
        return Outcome(Delivery.SENT)

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

    def status(self) -> dict[str, Any]:
        return {"vtnID": self.vtn_id, "reportRequests": list(self.reporter.request_ids)}

    async def close(self) -> None:
        await self.client.close()


def _rid() -> str:
    return uuid.uuid4().hex


def _code(value: int) -> ResponseCode:
    try:
        return ResponseCode(value)
    except ValueError:
        return ResponseCode.DEPLOYMENT_ERROR_OR_OTHER_ERROR
