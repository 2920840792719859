"""/reports: written by VENs (and BL), private to the writer's clientID."""

from __future__ import annotations

from aiohttp import web

from shared.enums import ObjectType, Operation
from shared.models import ReportRequest
from shared.wire import oadr3_json
from vtn.handlers._http import (
    JSON,
    body,
    caller,
    granted_targets,
    mutate,
    page,
    path_id,
    raw_body,
    respond,
    respond_list,
    state,
    text_param,
)
from vtn.intake.pool import IntakePool
from vtn.services import reports as svc
from vtn.storage import Tx
from vtn.storage.filters import ReportFilter


async def list_reports(request: web.Request) -> web.Response:
    flt = ReportFilter(
        program_id=text_param(request, "programID"),
        event_id=text_param(request, "eventID"),
        client_name=text_param(request, "clientName"),
        page=page(request),
    )
    async with state(request).store.read() as tx:
        found = await svc.list_reports(tx, caller(request), flt)
    return respond_list(found)


async def create_report(request: web.Request) -> web.Response:
    st = state(request)
    if st.intake is not None:
        return await _create_report_by_intake(request, st.intake)
    req = await body(request, "reportRequest", ReportRequest)
    who = caller(request)
    granted = await granted_targets(request, who)
    return await mutate(request, Operation.CREATE, lambda tx: svc.create_report(tx, who, req, granted), 201)


async def _create_report_by_intake(request: web.Request, intake: IntakePool) -> web.Response:
    """create_report with the body validated and serialised by an intake worker (vtn/intake)."""
    st = state(request)
    raw = await raw_body(request)
    who = caller(request)
    granted = await granted_targets(request, who)
    prepared = await intake.prepare(raw, who.client_id)

    async def unit(tx: Tx) -> int:
        await svc.create_prepared_report(tx, who, prepared, granted)
        program_id = tx.reports.written_program(prepared.id)
        return await st.notifier.changed_if_heard(
            tx, Operation.CREATE, ObjectType.REPORT, program_id, prepared.model
        )

    # Group commit as for every write: answered only after the commit.
    if await st.store.write(unit):
        st.notifier.wake()
    answer = oadr3_json.encode_stored(prepared.doc, prepared.model)
    return web.Response(body=answer, status=201, content_type=JSON)


async def get_report(request: web.Request) -> web.Response:
    async with state(request).store.read() as tx:
        found = await svc.get_report(tx, caller(request), path_id(request, "reportID"))
    return respond(found)


async def update_report(request: web.Request) -> web.Response:
    req = await body(request, "reportRequest", ReportRequest)
    return await mutate(
        request,
        Operation.UPDATE,
        lambda tx: svc.replace_report(tx, caller(request), path_id(request, "reportID"), req),
    )


async def delete_report(request: web.Request) -> web.Response:
    return await mutate(
        request,
        Operation.DELETE,
        lambda tx: svc.delete_report(tx, caller(request), path_id(request, "reportID")),
    )
