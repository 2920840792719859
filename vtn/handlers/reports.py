"""/reports: written by VENs (and BL), private to the writer's clientID."""

from __future__ import annotations

from aiohttp import web

from shared.enums import Operation
from shared.models import ReportRequest
from vtn.handlers._http import (
    body,
    caller,
    granted_targets,
    mutate,
    page,
    path_id,
    respond,
    respond_list,
    state,
    text_param,
)
from vtn.services import reports as svc
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
    req = await body(request, "reportRequest", ReportRequest)
    who = caller(request)
    granted = await granted_targets(request, who)
    return await mutate(request, Operation.CREATE, lambda tx: svc.create_report(tx, who, req, granted), 201)


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
