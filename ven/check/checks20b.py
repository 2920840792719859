"""2.0b checks: registration, reports, events and opt, poll, signatures, cancellation.

Clauses are named by service and message of the OpenADR 2.0b Profile Specification (simpleHttp
pull). They run in order, as a VEN would: query, register, offer reports, ask for events, opt,
poll, report, and finally cancel the registration.
"""

from __future__ import annotations

from datetime import timedelta

from shared.oadr20b import messages as m
from shared.oadr20b.parts import (
    AvailableWindow,
    EventResponse,
    OptType,
    QualifiedEventId,
    ResponseRequired,
    Target,
)
from ven.check.ctx20b import Ctx20b, now, rid
from ven.check.model import Fail, Skip
from ven.check.runner import Check

_MAX_POLLS = 10


def _code(what: str, response: object, request_id: str | None = None) -> None:
    code = getattr(response, "code", None)
    if code != 200:
        raise Fail(f"{what}: responseCode {code} ({getattr(response, 'description', None)}), expected 200")
    echoed = getattr(response, "request_id", None)
    if request_id is not None and echoed not in (request_id, "", None):
        raise Fail(f"{what}: requestID {echoed!r} does not echo ours ({request_id!r})")


async def query(ctx: Ctx20b) -> str:
    request_id = rid()
    got = await ctx.link.expect(m.QueryRegistration(request_id=request_id), m.CreatedPartyRegistration)
    assert isinstance(got, m.CreatedPartyRegistration)
    _code("oadrCreatedPartyRegistration", got.response, request_id)
    if not got.vtn_id:
        raise Fail("oadrCreatedPartyRegistration names no vtnID")
    transports = dict(got.profiles).get("2.0b", ())
    if "simpleHttp" not in transports:
        raise Fail(f"the VTN does not offer profile 2.0b over simpleHttp: {got.profiles}")
    ctx.vtn_id = got.vtn_id
    return f"vtnID {got.vtn_id}, profiles {dict(got.profiles)}"


async def register(ctx: Ctx20b) -> str:
    request_id = rid()
    msg = m.CreatePartyRegistration(
        request_id=request_id, ven_name=ctx.ven_name, xml_signature=ctx.options.sign, http_pull_model=True
    )
    got = await ctx.link.expect(msg, m.CreatedPartyRegistration)
    assert isinstance(got, m.CreatedPartyRegistration)
    _code(f"registration of venName {ctx.ven_name}", got.response, request_id)
    if not got.ven_id or not got.registration_id:
        raise Fail("oadrCreatedPartyRegistration with code 200 but without venID and registrationID")
    if ctx.vtn_id is not None and got.vtn_id != ctx.vtn_id:
        raise Fail(f"the vtnID changed between query ({ctx.vtn_id}) and registration ({got.vtn_id})")
    ctx.ven_id, ctx.registration_id, ctx.poll_freq = got.ven_id, got.registration_id, got.poll_freq
    poll = f", poll every {got.poll_freq.total_seconds():g} s" if got.poll_freq else ""
    return f"venID {got.ven_id}, registrationID {got.registration_id}{poll}"


async def register_report(ctx: Ctx20b) -> str:
    ven_id = ctx.registered()
    request_id = rid()
    msg = m.RegisterReport(request_id=request_id, reports=(ctx.metadata(),), ven_id=ven_id)
    got = await ctx.link.expect(msg, m.RegisteredReport)
    assert isinstance(got, m.RegisteredReport)
    _code("oadrRegisteredReport", got.response, request_id)
    ctx.take(got)
    if got.requests:
        await _accept_requests(ctx, got.response.request_id or request_id)
    asked = ", ".join(r.report_request_id for r in got.requests) or "none yet"
    return f"METADATA_TELEMETRY_USAGE registered; report requests: {asked}"


async def _accept_requests(ctx: Ctx20b, request_id: str) -> None:
    pending = tuple(r.report_request_id for r in ctx.requests)
    answer = await ctx.link.exchange(
        m.CreatedReport(response=ctx.ok(request_id), pending=pending, ven_id=ctx.ven_id)
    )
    if isinstance(answer.msg, m.Response) and answer.msg.response.code != 200:
        raise Fail(f"oadrCreatedReport was answered with code {answer.msg.response.code}")


async def request_event(ctx: Ctx20b) -> str:
    ven_id = ctx.registered()
    request_id = rid()
    got = await ctx.link.expect(m.RequestEvent(request_id=request_id, ven_id=ven_id), m.DistributeEvent)
    assert isinstance(got, m.DistributeEvent)
    if got.vtn_id != ctx.vtn_id:
        raise Fail(f"oadrDistributeEvent from vtnID {got.vtn_id}, registered with {ctx.vtn_id}")
    for event in got.events:
        if not event.signals or any(not s.intervals for s in event.signals):
            raise Fail(f"event {event.event_id} has a signal without intervals")
        total = sum((i.duration for i in event.signals[0].intervals), timedelta())
        if event.active_period.duration and total > event.active_period.duration:
            raise Fail(f"event {event.event_id}: intervals last {total}, longer than the active period")
    ctx.take(got)
    names = ", ".join(f"{e.event_id} (mod {e.modification_number}, {e.event_status})" for e in got.events)
    return f"{len(got.events)} event(s): {names or 'none'}"


async def created_event(ctx: Ctx20b) -> str:
    ven_id = ctx.registered()
    wanted = [e for e in ctx.events if e.response_required is ResponseRequired.ALWAYS]
    if not wanted:
        raise Skip("the VTN distributed no event that asks for a response: publish one for this VEN")
    request_id = rid()
    answers = tuple(
        EventResponse(
            code=200,
            description="OK",
            request_id=request_id,
            event=QualifiedEventId(event_id=e.event_id, modification_number=e.modification_number),
            opt_type=OptType.OPT_IN,
        )
        for e in wanted
    )
    msg = m.CreatedEvent(response=ctx.ok(request_id), ven_id=ven_id, event_responses=answers)
    got = await ctx.link.exchange(msg)
    if got.msg is not None:
        if not isinstance(got.msg, m.Response):
            raise Fail(f"oadrCreatedEvent was answered with {got.msg.TAG}, expected oadrResponse")
        _code("oadrResponse to oadrCreatedEvent", got.msg.response)
    ctx.answered.update((e.event_id, e.modification_number) for e in wanted)
    return f"optIn to {', '.join(e.event_id for e in wanted)} acknowledged"


async def create_opt(ctx: Ctx20b) -> str:
    ven_id = ctx.registered()
    opt_id = rid()
    event = ctx.events[0] if ctx.events else None
    msg = m.CreateOpt(
        opt_id=opt_id,
        opt_type=OptType.OPT_OUT,
        opt_reason="notParticipating",
        ven_id=ven_id,
        created_date_time=now(),
        request_id=rid(),
        target=Target(ven_ids=(ven_id,)),
        event=None
        if event is None
        else QualifiedEventId(event_id=event.event_id, modification_number=event.modification_number),
        availability=None
        if event is not None
        else (AvailableWindow(dtstart=now() + timedelta(days=1), duration=timedelta(hours=1)),),
    )
    got = await ctx.link.exchange(msg, http_errors=False)
    if got.status == 404:
        raise Skip(
            "the VTN does not serve EiOpt (HTTP 404 on EiOpt); event opt-in/out goes by oadrCreatedEvent"
        )
    if not isinstance(got.msg, m.CreatedOpt):
        raise Fail(
            f"oadrCreateOpt was answered with {got.msg.TAG if got.msg else f'HTTP {got.status}, no payload'}"
        )
    _code("oadrCreatedOpt", got.msg.response)
    if got.msg.opt_id != opt_id:
        raise Fail(f"oadrCreatedOpt names optID {got.msg.opt_id}, not ours ({opt_id})")
    what = f"event {event.event_id}" if event is not None else "an availability window"
    return f"optOut of {what} acknowledged (oadrCreatedOpt {opt_id})"


async def poll(ctx: Ctx20b) -> str:
    ven_id = ctx.registered()
    seen: list[str] = []
    for _ in range(_MAX_POLLS):
        got = await ctx.link.exchange(m.Poll(ven_id=ven_id))
        msg = got.msg
        if isinstance(msg, m.Response):
            _code("oadrResponse to oadrPoll", msg.response)
            if msg.ven_id not in (None, ven_id):
                raise Fail(f"oadrResponse to oadrPoll names venID {msg.ven_id}, not {ven_id}")
            return f"oadrPoll answered {' -> '.join([*seen, 'oadrResponse'])}"
        if msg is None:
            raise Fail("oadrPoll was answered with an empty body (expected a payload, at least oadrResponse)")
        seen.append(msg.TAG)
        await _answer_polled(ctx, msg)
    raise Fail(f"after {_MAX_POLLS} polls the VTN still had messages queued: {seen}")


async def _answer_polled(ctx: Ctx20b, msg: m.Message) -> None:
    ctx.take(msg)
    if isinstance(msg, m.DistributeEvent):
        new = [
            e
            for e in msg.events
            if e.response_required is ResponseRequired.ALWAYS
            and (e.event_id, e.modification_number) not in ctx.answered
        ]
        if new:
            await created_event(ctx)
    elif isinstance(msg, m.CreateReport):
        await _accept_requests(ctx, msg.request_id)
    elif isinstance(msg, m.RegisterReport):
        await ctx.link.exchange(m.RegisteredReport(response=ctx.ok(msg.request_id), ven_id=ctx.ven_id))
    elif isinstance(msg, m.CancelReport):
        await ctx.link.exchange(m.CanceledReport(response=ctx.ok(msg.request_id), ven_id=ctx.ven_id))
    elif isinstance(msg, m.RequestReregistration | m.CancelPartyRegistration):
        raise Fail(f"the VTN polled {msg.TAG} right after a successful registration")


async def update_report(ctx: Ctx20b) -> str:
    ven_id = ctx.registered()
    ours = [r for r in ctx.requests if ctx.data(r).intervals]
    if not ours:
        raise Skip("the VTN requested none of the offered telemetry (no oadrReportRequest naming our rIDs)")
    request = ours[-1]
    request_id = rid()
    msg = m.UpdateReport(request_id=request_id, reports=(ctx.data(request),), ven_id=ven_id)
    got = await ctx.link.exchange(msg)
    if got.msg is not None:
        if not isinstance(got.msg, m.UpdatedReport):
            raise Fail(f"oadrUpdateReport was answered with {got.msg.TAG}, expected oadrUpdatedReport")
        _code("oadrUpdatedReport", got.msg.response)
    rids = [p.r_id for p in request.payloads]
    return f"data for reportRequestID {request.report_request_id} ({', '.join(rids)}) accepted"


async def unknown_ven(ctx: Ctx20b) -> str:
    ctx.registered()
    got = await ctx.link.exchange(m.Poll(ven_id=f"ven-check-unknown-{rid()[:8]}"), http_errors=False)
    msg = got.msg
    if got.status != 200:
        return f"a poll naming an unknown venID: HTTP {got.status}"
    if isinstance(msg, m.Response) and msg.response.code != 200:
        return f"a poll naming an unknown venID: responseCode {msg.response.code}"
    if isinstance(msg, m.RequestReregistration | m.CancelPartyRegistration):
        return f"a poll naming an unknown venID: {msg.TAG}"
    raise Fail(
        f"a poll naming an unknown venID was answered as a registered VEN's ({msg.TAG if msg else 'empty'})"
    )


async def signatures(ctx: Ctx20b) -> str:
    if not ctx.options.sign:
        raise Skip("XML signatures not configured (give --sign with --cert and --key)")
    if ctx.link.signed_answers == 0:
        raise Fail("no signed answer was received from the VTN")
    count = ctx.link.signed_answers
    return f"our signed messages accepted; {count} answers signed by the VTN's certificate, verified"


async def cancel(ctx: Ctx20b) -> str:
    ven_id = ctx.registered()
    assert ctx.registration_id is not None
    request_id = rid()
    msg = m.CancelPartyRegistration(request_id=request_id, registration_id=ctx.registration_id, ven_id=ven_id)
    got = await ctx.link.expect(msg, m.CanceledPartyRegistration)
    assert isinstance(got, m.CanceledPartyRegistration)
    _code("oadrCanceledPartyRegistration", got.response, request_id)
    ctx.ven_id = None
    return f"registration {ctx.registration_id} cancelled"


_REG = "2.0b Profile, EiRegisterParty"
CHECKS: tuple[Check[Ctx20b], ...] = (
    Check("2.0b.query-registration", "query registration", f"{_REG}: oadrQueryRegistration", query),
    Check("2.0b.registration", "register the VEN", f"{_REG}: oadrCreatePartyRegistration", register),
    Check(
        "2.0b.register-report",
        "offer telemetry reports",
        "2.0b Profile, EiReport: oadrRegisterReport, oadrCreatedReport",
        register_report,
    ),
    Check(
        "2.0b.request-event",
        "event distribution",
        "2.0b Profile, EiEvent: oadrRequestEvent, oadrDistributeEvent",
        request_event,
    ),
    Check(
        "2.0b.event-opt",
        "opt in to events",
        "2.0b Profile, EiEvent: oadrCreatedEvent (optIn/optOut)",
        created_event,
    ),
    Check(
        "2.0b.create-opt", "opt schedule", "2.0b Profile, EiOpt: oadrCreateOpt, oadrCreatedOpt", create_opt
    ),
    Check(
        "2.0b.poll", "poll until nothing is queued", "2.0b Profile, OadrPoll: oadrPoll, oadrResponse", poll
    ),
    Check(
        "2.0b.update-report",
        "report updates",
        "2.0b Profile, EiReport: oadrUpdateReport, oadrUpdatedReport",
        update_report,
    ),
    Check(
        "2.0b.unknown-ven",
        "unknown venID refused",
        "2.0b Profile, response codes 452/463; oadrRequestReregistration",
        unknown_ven,
    ),
    Check(
        "2.0b.signatures",
        "signed messages",
        "2.0b Profile, Security: XML signatures (ds:Signature, ReplayProtect)",
        signatures,
    ),
    Check(
        "2.0b.cancel-registration", "cancel the registration", f"{_REG}: oadrCancelPartyRegistration", cancel
    ),
)
