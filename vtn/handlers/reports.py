"""/reports: written by VENs (and BL), private to the writer's clientID."""

from __future__ import annotations

from aiohttp import web

from shared.enums import Operation
from shared.models import Report, ReportRequest
from shared.models.common import EventId, ProgramId
from shared.wire import oadr3_json
from vtn.audit.record import origin
from vtn.core.ids import key_scope
from vtn.core.queries import ReportFilter
from vtn.handlers.http_io import (
    body,
    caller,
    id_param,
    mutate,
    page,
    path_id,
    raw_body,
    respond_stored,
    respond_stored_list,
    state,
    text_param,
)
from vtn.http_answer import Answer
from vtn.limits.quotas import admit_report, report_deleted
from vtn.services import reports as svc


async def list_reports(request: web.Request) -> web.StreamResponse:
    flt = ReportFilter(
        program_id=id_param(request, "programID", ProgramId),
        event_id=id_param(request, "eventID", EventId),
        client_name=text_param(request, "clientName"),
        page=page(request),
    )
    found = await svc.report_texts(state(request).core.reads, caller(request), flt)
    return respond_stored_list(found, Report)


async def create_report(request: web.Request) -> web.StreamResponse:
    st = state(request)
    who = caller(request)
    raw = await raw_body(request)
    if st.intake is not None:
        await admit_report(request, who)
        # Validated and serialised by an intake worker (vtn/intake).
        prepared = await st.intake.prepare(raw, who)
    else:
        core = st.core
        prepared = svc.prepare_report_body(
            st.registry, raw, core.new_id(), core.clock(), who.client_id, key_scope(who)
        )
        await admit_report(request, who)
    # The core's write path as for every write: answered only after the commit; a BL write leaves
    # its audit row (vtn/audit) in the same transaction.
    await st.core.write_prepared_report(who, prepared, origin(request))
    answer = oadr3_json.encode_stored(prepared.doc, prepared.model, prepared.canonical)
    return Answer(answer, 201)


async def get_report(request: web.Request) -> web.StreamResponse:
    found = await svc.report_text(state(request).core.reads, caller(request), path_id(request, "reportID"))
    return respond_stored(found, Report)


async def update_report(request: web.Request) -> web.StreamResponse:
    req = await body(request, "reportRequest", ReportRequest)
    who = caller(request)
    permission = await state(request).core.permission(who)
    return await mutate(
        request,
        Operation.UPDATE,
        lambda tx: svc.replace_report(tx, who, permission, path_id(request, "reportID"), req),
    )


async def delete_report(request: web.Request) -> web.StreamResponse:
    answer = await mutate(
        request,
        Operation.DELETE,
        lambda tx: svc.delete_report(tx, caller(request), path_id(request, "reportID")),
    )
    report_deleted(request, caller(request))
    return answer
