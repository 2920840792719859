"""One 2.0b request in, one 2.0b document out: parse, admit, dispatch, answer (never an empty body).

Admission (admission.py) settles who is calling (TLS client certificate, verified signature, or
nobody = lab admission by venName) before any transaction starts; answers are signed when the VTN
signs (queued messages too, each with a fresh nonce). Each request runs in one transaction: a
message that fails (bad XML, schema, admission, unknown ids) is answered with the matching 2.0b
response type carrying the error code, and nothing it might have written is kept. Handlers raise
`Oadr20bError`; anything else is a bug, logged and answered with 469 so the peer still receives a
valid document.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar

from shared.oadr20b import Oadr20bCodec
from shared.oadr20b import messages as m
from shared.oadr20b.errors import Oadr20bError, ResponseCode
from shared.oadr20b.parts import EiResponse
from shared.oadr20b.signing import XmlSigner, XmlVerifier
from vtn.core.core import Changes, Core
from vtn.core.queries import NeedsWrite, Tx
from vtn.oadr20b import events, opt, registration, reports
from vtn.oadr20b.admission import LAB, Admission, Caller, CrlSource
from vtn.oadr20b.answers import KnownVens, RequestAnswers, StampedVens
from vtn.oadr20b.context import Ctx
from vtn.oadr20b.mapping import DecodedDocs, Shapes
from vtn.oadr20b.pollcache import PollCache, ValidPayloads
from vtn.oadr20b.settings import Oadr20bSettings
from vtn.tls_runtime import PeerCertificate

log = logging.getLogger("vtn.oadr20b")
T = TypeVar("T")
_Handler = Callable[[Ctx, Any], Awaitable[m.Message | bytes]]


async def _ack(ctx: Ctx, msg: m.Response) -> m.Response:
    """A VEN's plain oadrResponse (e.g. to oadrRequestReregistration): acknowledged, never an empty body."""
    return m.Response(response=EiResponse(request_id=msg.response.request_id), ven_id=msg.ven_id)


HANDLERS: dict[type[Any], tuple[str | None, _Handler]] = {
    m.QueryRegistration: (m.REGISTER, registration.query),
    m.CreatePartyRegistration: (m.REGISTER, registration.create),
    m.CancelPartyRegistration: (m.REGISTER, registration.cancel),
    m.CanceledPartyRegistration: (m.REGISTER, registration.canceled),
    m.Poll: (m.POLL, events.poll),
    m.RequestEvent: (m.EVENT, events.request_event),
    m.CreatedEvent: (m.EVENT, events.created_event),
    m.CreateOpt: (m.OPT, opt.create_opt),
    m.CancelOpt: (m.OPT, opt.cancel_opt),
    m.RegisterReport: (m.REPORT, reports.register_report),
    m.RegisteredReport: (m.REPORT, reports.registered_report),
    m.CreatedReport: (m.REPORT, reports.created_report),
    m.UpdateReport: (m.REPORT, reports.update_report),
    m.CancelReport: (m.REPORT, reports.cancel_report),
    m.CanceledReport: (m.REPORT, reports.canceled_report),
    m.Response: (None, _ack),
}


def request_id_of(msg: m.Message | None) -> str:
    if msg is None:
        return ""
    found = getattr(msg, "request_id", None)
    if isinstance(found, str):
        return found
    response = getattr(msg, "response", None)
    return response.request_id if isinstance(response, EiResponse) else ""


def error_reply(msg: m.Message | None, err: Oadr20bError, settings: Oadr20bSettings) -> m.Message:
    """The answer type the peer expects for `msg`, carrying the error code."""
    rid = err.request_id or request_id_of(msg)
    resp = EiResponse(code=int(err.code), description=err.description[:400], request_id=rid)
    if isinstance(msg, m.QueryRegistration | m.CreatePartyRegistration):
        return m.CreatedPartyRegistration(response=resp, vtn_id=settings.vtn_id)
    if isinstance(msg, m.CancelPartyRegistration):
        return m.CanceledPartyRegistration(
            response=resp, registration_id=msg.registration_id, ven_id=msg.ven_id
        )
    if isinstance(msg, m.RequestEvent):
        return m.DistributeEvent(response=resp, request_id=rid, vtn_id=settings.vtn_id)
    if isinstance(msg, m.CreateOpt):
        return m.CreatedOpt(response=resp, opt_id=msg.opt_id)
    if isinstance(msg, m.CancelOpt):
        return m.CanceledOpt(response=resp, opt_id=msg.opt_id)
    if isinstance(msg, m.RegisterReport):
        return m.RegisteredReport(response=resp, ven_id=msg.ven_id)
    if isinstance(msg, m.UpdateReport):
        return m.UpdatedReport(response=resp, ven_id=msg.ven_id)
    if isinstance(msg, m.CancelReport):
        return m.CanceledReport(response=resp, ven_id=msg.ven_id)
    ven_id = getattr(msg, "ven_id", None)
    return m.Response(response=resp, ven_id=ven_id if isinstance(ven_id, str) else None)


class Oadr20bService:
    """The VTN's 2.0b endpoint logic, independent of HTTP; one per application."""

    def __init__(
        self, core: Core, settings: Oadr20bSettings, codec: Oadr20bCodec, crl: CrlSource | None = None
    ) -> None:
        """`crl`: the VTN's current CRL, if any (signatures by certificates it lists are refused)."""
        self.core = core
        self.polls = PollCache(core)
        self.payloads = ValidPayloads()
        self.shapes = Shapes()
        self.docs = DecodedDocs()
        self.settings = settings
        self.codec = codec
        self.answers = RequestAnswers(core, codec)
        self.known = KnownVens()
        self.signer = _signer(settings)
        self.verifier = XmlVerifier(window=settings.replay_window)
        self.admission = Admission(core, settings, self.verifier, crl)
        # Told each admitted message's tag and its caller's client id (metrics, VENs seen), if set.
        self.on_admitted: Callable[[str, str | None], None] | None = None

    async def handle(self, service: str, data: bytes, peer: PeerCertificate | None = None) -> bytes:
        """Answer one posted document; `peer` is the TLS client certificate, if any."""
        msg: m.Message | None = None
        try:
            cacheable = ValidPayloads.cacheable(data)
            msg = self.payloads.get(data) if cacheable else None
            root = None  # a remembered payload is unsigned: nothing to verify
            if msg is None:
                doc = self.codec.read(data)
                msg, root = doc.msg, doc.root
                if cacheable and isinstance(msg, m.Poll):
                    self.payloads.keep(data, msg)
            caller = await self.admission.caller(root, peer)
            if self.on_admitted is not None:
                self.on_admitted(msg.TAG, caller.client_id)
            if isinstance(msg, m.Poll) and service == m.POLL:
                return await self._poll(msg, caller)
            return await self._dispatch(service, msg, caller)
        except Oadr20bError as err:
            log.info("2.0b %s refused (%d): %s", service, int(err.code), err.description)
            return self.build(error_reply(msg, err, self.settings))
        except Exception:
            log.exception("2.0b %s failed", service)
            internal = Oadr20bError(ResponseCode.DEPLOYMENT_ERROR_OR_OTHER_ERROR, "internal error")
            return self.build(error_reply(msg, internal, self.settings))

    def build(self, answer: m.Message | bytes) -> bytes:
        """Serialise an answer (or a queued, already built one), signed when the VTN signs."""
        if isinstance(answer, bytes):
            return answer if self.signer is None else self.codec.sign_built(answer, self.signer)
        return self.codec.build(answer, self.signer)

    async def _poll(self, msg: m.Poll, caller: Caller) -> bytes:
        """oadrPoll, answered from this process's poll cache while nothing changed (pollcache.py)."""
        await self.polls.refresh()
        key = (msg.ven_id, caller.client_id)
        quiet = self.polls.quiet(key)
        if quiet is not None:
            return self.build(quiet)
        generation = self.polls.generation
        try:  # most polls only read: no writer lock unless they find something to write
            result = await self.run(lambda ctx: events.poll(ctx, msg), caller, read_only=True)
        except NeedsWrite:
            result = await self.run(lambda ctx: events.poll(ctx, msg), caller)
        if isinstance(result, m.Response) and result.response.code == 200:
            body = self.codec.build(result)
            self.polls.keep(key, body, generation)
            return self.build(body)
        return self.build(result)

    async def _dispatch(self, service: str, msg: m.Message, caller: Caller) -> bytes:
        entry = HANDLERS.get(type(msg))
        if entry is None:
            raise Oadr20bError(ResponseCode.NOT_RECOGNIZED, f"{msg.TAG} is not accepted by a VTN")
        expected, handler = entry
        if expected is not None and expected != service:
            raise Oadr20bError(ResponseCode.NOT_RECOGNIZED, f"{msg.TAG} belongs to {expected}, not {service}")
        if isinstance(msg, m.RequestEvent):
            return await self._request_event(msg, caller)
        result = await self.run(lambda ctx: handler(ctx, msg), caller)
        return self.build(result)

    async def _request_event(self, msg: m.RequestEvent, caller: Caller) -> bytes:
        """oadrRequestEvent: the answer kept for this VEN while nothing it depends on moved
        (answers.py), else built, read-only when the VEN was sent all of it before (writes nothing)."""
        key = (msg.ven_id, caller.client_id, msg.reply_limit)
        stamps = await self.answers.stamps()  # before anything the answer is built from
        request_id = msg.request_id
        if request_id:
            kept = self.answers.get(key, stamps, self.core.clock())
            if kept is not None:
                return self.build(self.codec.render(kept, request_id))

        async def answer(ctx: Ctx) -> tuple[m.DistributeEvent, datetime]:
            return await events.request_event(ctx, msg), ctx.now

        known = self.known.at(stamps)
        try:
            result, now = await self.run(answer, caller, read_only=True, known=known)
        except NeedsWrite:  # something to record: not kept (the next request reads it back)
            result, now = await self.run(answer, caller, known=known)
            return self.build(result)
        prepared = self.answers.keep(key, stamps, now, result) if request_id else None
        return self.build(result if prepared is None else self.codec.render(prepared, request_id))

    async def run(
        self,
        work: Callable[[Ctx], Awaitable[T]],
        caller: Caller = LAB,
        *,
        read_only: bool = False,
        known: StampedVens | None = None,
    ) -> T:
        """Run 2.0b work as one unit of the core's write path (also the entry point for VTN-side
        actions and tests): in one transaction, answered after the commit.

        `read_only`: in a read transaction, without the write path; the 2.0b store raises NeedsWrite
        at the first write, and the caller runs the work again read-write. `known`: vens as of the
        stamps read before this work (oadrRequestEvent only).
        """
        if read_only:
            async with self.core.read() as tx:
                return await work(self._ctx(tx, Changes(), caller, read_only=True, known=known))

        async def unit(tx: Tx, changes: Changes) -> T:
            ctx = self._ctx(tx, changes, caller, read_only=False, known=known)
            result = await work(ctx)
            if ctx.st.polls_changed:
                changes.after_commit.append(self.polls.forget)
            return result

        return await self.core.run(unit)

    def _ctx(
        self, tx: Tx, changes: Changes, caller: Caller, *, read_only: bool, known: StampedVens | None = None
    ) -> Ctx:
        clock = self.core.clock
        return Ctx(
            tx=tx,
            st=tx.oadr20b(clock, read_only=read_only),
            settings=self.settings,
            codec=self.codec,
            core=self.core,
            changes=changes,
            now=clock(),
            caller=caller,
            shapes=self.shapes,
            docs=self.docs,
            known=known,
        )


def _signer(settings: Oadr20bSettings) -> XmlSigner | None:
    if not settings.sign:
        return None
    if settings.sign_cert_file is None or settings.sign_key_file is None:
        raise ValueError(
            "oadr20b_sign needs a certificate and key: set oadr20b_sign_cert_file and oadr20b_sign_key_file "
            "(or tls cert_file and key_file)"
        )
    return XmlSigner.from_files(settings.sign_cert_file, settings.sign_key_file)
