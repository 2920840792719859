"""3.0.1 /programs, /events, /reports and /subscriptions over the 3.1 services and store."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial

from aiohttp import web

from shared.enums import ObjectType, Operation
from shared.errors import BadRequest
from shared.models import EventRequest, ProgramRequest, Report, ReportRequest, SubscriptionRequest
from shared.models.common import EventId, ProgramId
from shared.wire.oadr3_json import joined_encoded
from vtn.audit.record import origin
from vtn.core.ids import key_scope
from vtn.core.queries import (
    EventFilter,
    Page,
    Permission,
    ProgramFilter,
    Reads,
    ReportFilter,
    ReportRow,
    SubscriptionFilter,
    Tx,
)
from vtn.handlers.http_io import caller, id_param, objects_param, page, path_id, state, text_param
from vtn.limits.quotas import admit_objects, admit_report, report_deleted
from vtn.notify.callbacks import check_callbacks
from vtn.oadr301 import converted, inbound, outbound
from vtn.oadr301._io import (
    Doc,
    as_31,
    cached_answer,
    read_body,
    read_doc,
    respond_body,
    targets_query,
    write,
)
from vtn.oadr301.converted import CONVERTED
from vtn.oadr301.notifications import API_VERSION
from vtn.services import programs as programs_svc
from vtn.services import reports as reports_svc
from vtn.services.notifier import AnyObject

# ---------------------------------------------------------------------------------------- programs


async def list_programs(request: web.Request) -> web.StreamResponse:
    core = state(request).core
    permission = await core.permission(caller(request), targets_query(request))
    flt = ProgramFilter(permission=permission, page=page(request))

    conv = request.app[CONVERTED]

    async def build() -> bytes:
        return joined_encoded(converted.programs(conv, await programs_svc.program_texts(core.reads, flt)))

    # As the 3.1 list (vtn/handlers/programs.py): keyed by the permission, dropped by any program write.
    return await cached_answer(request, (API_VERSION, "programs", permission, flt.page), build)


async def get_program(request: web.Request) -> web.StreamResponse:
    core = state(request).core
    permission = await core.permission(caller(request), targets_query(request))
    found = await programs_svc.program_text(core.reads, permission, path_id(request, "programID"))
    return respond_body(converted.programs(request.app[CONVERTED], [found])[0])


async def create_program(request: web.Request) -> web.StreamResponse:
    req = as_31(
        request, "programRequest", ProgramRequest, inbound.program(await read_doc(request, "program"))
    )

    async def work(tx: Tx) -> tuple[AnyObject, Doc]:
        created = await programs_svc.create_program(tx, req)
        return created, outbound.program(created)

    return await write(request, Operation.CREATE, work, 201)


async def update_program(request: web.Request) -> web.StreamResponse:
    doc = await read_doc(request, "program")
    program_id = path_id(request, "programID")

    async def work(tx: Tx) -> tuple[AnyObject, Doc]:
        old = await tx.programs.require(program_id, tx.programs.real())
        req = as_31(request, "programRequest", ProgramRequest, inbound.program(doc, old))
        new = await programs_svc.replace_program(tx, program_id, req)
        return new, outbound.program(new)

    return await write(request, Operation.UPDATE, work)


async def delete_program(request: web.Request) -> web.StreamResponse:
    async def work(tx: Tx) -> tuple[AnyObject, Doc]:
        gone = await programs_svc.delete_program(tx, path_id(request, "programID"))
        return gone, outbound.program(gone)

    return await write(request, Operation.DELETE, work)


# ------------------------------------------------------------------------------------------ events


def _events_query(request: web.Request) -> tuple[frozenset[str] | None, ProgramId | None, Page]:
    """The list's query parameters: requested targets, programID, the page (kept per raw path)."""
    return targets_query(request), id_param(request, "programID", ProgramId), page(request)


async def list_events(request: web.Request) -> web.StreamResponse:
    st = state(request)
    core = st.core
    # Polling VENs send the same few URLs: their query parameters are read once (as the 3.1 list's).
    targets, program_id, pg = st.queries.read(request, _events_query)

    async def answer(permission: Permission, grants_stamp: bytes | None) -> web.StreamResponse:
        # As the 3.1 list without `active` (3.0.1 has none): only an event or program write changes it.
        key = (API_VERSION, "events", permission, program_id, pg)
        found = core.cached_answer(key)  # the hot path of polling VENs: no more than a lookup
        if found is not None:
            return respond_body(found)
        flt = EventFilter(program_id=program_id, permission=permission, page=pg)
        conv = request.app[CONVERTED]

        async def build() -> bytes:
            texts = await programs_svc.event_texts(core.reads, flt, grants_stamp)
            return joined_encoded(converted.events(conv, texts))

        return await cached_answer(request, key, build)

    return await core.permitted(caller(request), targets, answer)


async def get_event(request: web.Request) -> web.StreamResponse:
    core = state(request).core
    permission = await core.permission(caller(request), targets_query(request))
    found = await programs_svc.event_text(core.reads, permission, path_id(request, "eventID"))
    return respond_body(converted.events(request.app[CONVERTED], [found])[0])


async def create_event(request: web.Request) -> web.StreamResponse:
    req = as_31(request, "eventRequest", EventRequest, inbound.event(await read_doc(request, "event")))

    async def work(tx: Tx) -> tuple[AnyObject, Doc]:
        created = await programs_svc.create_event(tx, req)
        return created, outbound.event(created)

    return await write(request, Operation.CREATE, work, 201)


async def update_event(request: web.Request) -> web.StreamResponse:
    doc = await read_doc(request, "event")
    event_id = path_id(request, "eventID")

    async def work(tx: Tx) -> tuple[AnyObject, Doc]:
        old = await tx.events.require(event_id, tx.events.real())
        req = as_31(request, "eventRequest", EventRequest, inbound.event(doc, old))
        new = await programs_svc.replace_event(tx, event_id, req)
        return new, outbound.event(new)

    return await write(request, Operation.UPDATE, work)


async def delete_event(request: web.Request) -> web.StreamResponse:
    async def work(tx: Tx) -> tuple[AnyObject, Doc]:
        gone = await programs_svc.delete_event(tx, path_id(request, "eventID"))
        return gone, outbound.event(gone)

    return await write(request, Operation.DELETE, work)


# ----------------------------------------------------------------------------------------- reports


class _Programs:
    """programID of reports (3.0.1 requires it; 3.1 reports reach the program through the event),
    each event's looked up once by `lookup`: in a write's transaction, or for reads without one."""

    def __init__(self, lookup: Callable[[str], Awaitable[str | None]]) -> None:
        self._lookup = lookup
        self._known: dict[str, str | None] = {}

    async def of(self, report: Report) -> str | None:
        if report.event_id not in self._known:
            self._known[report.event_id] = await self._lookup(report.event_id)
        return self._known[report.event_id]

    async def doc(self, report: Report) -> Doc:
        return outbound.report(report, await self.of(report))


async def _report_row(reads: Reads, report_id: str, text: str) -> ReportRow:
    """Stored report `report_id` as Reads.report_rows gives a page's (its event's programID read)."""
    event_id = converted.member(text, "eventID")
    programs = await reports_svc.programs_of_events(reads, frozenset({event_id}))
    return text, None, report_id, programs.get(event_id)


async def _checked_report(request: web.Request, tx: Tx, doc: Doc) -> ReportRequest:
    """The 3.1 report request; a 3.0.1 `programID`, when sent, must be the event's program."""
    req = as_31(request, "reportRequest", ReportRequest, inbound.report(doc))
    sent = doc.get("programID")
    if sent is not None:
        _check_program(sent, await tx.events.program_of(req.event_id), req.event_id)
    return req


def _check_program(sent: str, actual: str | None, event_id: str) -> None:
    """A 3.0.1 `programID` sent must be the program of the report's event (`actual`, None: no such
    event, which the write itself refuses)."""
    if actual is not None and actual != sent:
        raise BadRequest(
            f"programID {sent!r} is not the program of event {event_id!r} ({actual!r})",
            pointer="/programID",
        )


async def list_reports(request: web.Request) -> web.StreamResponse:
    flt = ReportFilter(
        program_id=id_param(request, "programID", ProgramId),
        event_id=id_param(request, "eventID", EventId),
        client_name=text_param(request, "clientName"),
        page=page(request),
    )
    found = await reports_svc.report_rows(state(request).core.reads, caller(request), flt)
    return respond_body(converted.reports(request.app[CONVERTED], found))


async def get_report(request: web.Request) -> web.StreamResponse:
    reads = state(request).core.reads
    report_id = path_id(request, "reportID")
    found = await reports_svc.report_text(reads, caller(request), report_id)
    row = await _report_row(reads, report_id, found)
    return respond_body(converted.report(request.app[CONVERTED], row))


async def create_report(request: web.Request) -> web.StreamResponse:
    raw, doc = await read_body(request, "report")
    who = caller(request)
    await admit_report(request, who)
    st = state(request)
    core = st.core
    # Validated against the 3.1 schemas and serialised straight from the translated body, as
    # 3.1 reports are (services.reports.prepare_report_body), outside the write's transaction.
    prepared = reports_svc.prepare_report_doc(
        st.registry, raw, inbound.report(doc), core.new_id(), core.clock(), who.client_id, key_scope(who)
    )
    sent = doc.get("programID")
    # A programID sent is checked in the write's transaction, against the programID its insert
    # resolves (a statement less than reading it beforehand; an event the caller cannot see fails
    # the insert first, so its program is never named).
    check = None if sent is None else partial(_check_program, sent, event_id=prepared.event_id)
    program_id = await core.write_prepared_report(who, prepared, origin(request), check)
    answer = outbound.stored_report_answer(prepared.doc, who.client_id, program_id, prepared.canonical)
    return respond_body(answer, 201)


async def update_report(request: web.Request) -> web.StreamResponse:
    doc = await read_doc(request, "report")
    who = caller(request)
    permission = await state(request).core.permission(who)

    async def work(tx: Tx) -> tuple[AnyObject, Doc]:
        req = await _checked_report(request, tx, doc)
        new = await reports_svc.replace_report(tx, who, permission, path_id(request, "reportID"), req)
        return new, await _Programs(tx.events.program_of).doc(new)

    return await write(request, Operation.UPDATE, work)


async def delete_report(request: web.Request) -> web.StreamResponse:
    async def work(tx: Tx) -> tuple[AnyObject, Doc]:
        gone = await reports_svc.delete_report(tx, caller(request), path_id(request, "reportID"))
        return gone, await _Programs(tx.events.program_of).doc(gone)

    answer = await write(request, Operation.DELETE, work)
    report_deleted(request, caller(request))
    return answer


# ----------------------------------------------------------------------------------- subscriptions


def _subscription_request(request: web.Request, doc: Doc) -> SubscriptionRequest:
    return as_31(request, "subscriptionRequest", SubscriptionRequest, inbound.subscription(doc))


async def list_subscriptions(request: web.Request) -> web.StreamResponse:
    # 3.0.1's targetType/targetValues filter on subscriptions is gone in 3.1; it is ignored here.
    flt = SubscriptionFilter(
        program_id=id_param(request, "programID", ProgramId),
        client_name=text_param(request, "clientName"),
        objects=objects_param(request),
        page=page(request),
    )
    found = await reports_svc.subscription_texts(state(request).core.reads, caller(request), flt)
    return respond_body(joined_encoded(converted.subscriptions(request.app[CONVERTED], found)))


async def get_subscription(request: web.Request) -> web.StreamResponse:
    sub_id = path_id(request, "subscriptionID")
    found = await reports_svc.subscription_text(state(request).core.reads, caller(request), sub_id)
    return respond_body(converted.subscriptions(request.app[CONVERTED], [found])[0])


async def create_subscription(request: web.Request) -> web.StreamResponse:
    req = _subscription_request(request, await read_doc(request, "subscription"))
    await check_callbacks((op.callback_url for op in req.object_operations), state(request).callbacks)
    who = caller(request)
    await admit_objects(request, who, ObjectType.SUBSCRIPTION)
    permission = await state(request).core.permission(who)

    async def work(tx: Tx) -> tuple[AnyObject, Doc]:
        created = await reports_svc.create_subscription(tx, who, permission, req)
        # Its notifications are sent in 3.0.1 shape (the renderer oadr301/routes.py registers).
        await tx.subscriptions.set_api_version(created.id, API_VERSION)
        return created, outbound.subscription(created)

    return await write(request, Operation.CREATE, work, 201)


async def update_subscription(request: web.Request) -> web.StreamResponse:
    req = _subscription_request(request, await read_doc(request, "subscription"))
    sub_id = path_id(request, "subscriptionID")
    st = state(request)
    # Read as GET reads it (one statement, no transaction), as the 3.1 handler does.
    old = await reports_svc.read_subscription(st.core.reads, caller(request), sub_id)
    known = {op.callback_url for op in old.object_operations}
    await check_callbacks(
        (op.callback_url for op in req.object_operations if op.callback_url not in known), st.callbacks
    )

    permission = await st.core.permission(caller(request))

    async def work(tx: Tx) -> tuple[AnyObject, Doc]:
        new = await reports_svc.replace_subscription(tx, caller(request), permission, sub_id, req)
        await tx.subscriptions.set_api_version(new.id, API_VERSION)
        return new, outbound.subscription(new)

    return await write(request, Operation.UPDATE, work)


async def delete_subscription(request: web.Request) -> web.StreamResponse:
    async def work(tx: Tx) -> tuple[AnyObject, Doc]:
        gone = await reports_svc.delete_subscription(tx, caller(request), path_id(request, "subscriptionID"))
        return gone, outbound.subscription(gone)

    return await write(request, Operation.DELETE, work)
