"""/reports: written by VENs (and BL), private to the writer's clientID."""

from __future__ import annotations

from aiohttp import web

from shared.enums import Operation
from shared.models import Report, ReportRequest
from shared.models.common import EventId, ProgramId
from shared.wire import oadr3_json
from vtn.core.queries import ReportFilter
from vtn.handlers.http_io import (
    JSON,
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
from vtn.intake.pool import IntakePool
from vtn.limits.quotas import admit_report, report_deleted
from vtn.services import reports as svc


async def list_reports(request: web.Request) -> web.Response:
    flt = ReportFilter(
        program_id=id_param(request, "programID", ProgramId),
        event_id=id_param(request, "eventID", EventId),
        client_name=text_param(request, "clientName"),
        page=page(request),
    )
    found = await svc.report_texts(state(request).core.reads, caller(request), flt)
    return respond_stored_list(found, Report)


async def create_report(request: web.Request) -> web.Response:
    st = state(request)
    if st.intake is not None:
        return await _create_report_by_intake(request, st.intake)
    req = await body(request, "reportRequest", ReportRequest)
    who = caller(request)
    await admit_report(request, who)
    permission = await st.core.permission(who)
    return await mutate(
        request, Operation.CREATE, lambda tx: svc.create_report(tx, who, req, permission), 201
    )


async def _create_report_by_intake(request: web.Request, intake: IntakePool) -> web.Response:
    """create_report with the body validated and serialised by an intake worker (vtn/intake)."""
    raw = await raw_body(request)
    who = caller(request)
    await admit_report(request, who)
    prepared = await intake.prepare(raw, who)
    # The core's write path as for every write: answered only after the commit.
    await state(request).core.write_prepared_report(who, prepared)
    answer = oadr3_json.encode_stored(prepared.doc, prepared.model)
    return web.Response(body=answer, status=201, content_type=JSON)


async def get_report(request: web.Request) -> web.Response:
    found = await svc.report_text(state(request).core.reads, caller(request), path_id(request, "reportID"))
    return respond_stored(found, Report)


async def update_report(request: web.Request) -> web.Response:
    req = await body(request, "reportRequest", ReportRequest)
    who = caller(request)
    permission = await state(request).core.permission(who)
    return await mutate(
        request,
        Operation.UPDATE,
        lambda tx: svc.replace_report(tx, who, permission, path_id(request, "reportID"), req),
    )


async def delete_report(request: web.Request) -> web.Response:
    answer = await mutate(
        request,
        Operation.DELETE,
        lambda tx: svc.delete_report(tx, caller(request), path_id(request, "reportID")),
    )
    report_deleted(request, caller(request))
    return answer
