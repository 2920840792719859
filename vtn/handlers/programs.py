"""/programs: BL writes, VENs read through targeting."""

from __future__ import annotations

from aiohttp import web

from shared.enums import Operation
from shared.models import ProgramRequest
from vtn.handlers._http import (
    body,
    caller,
    mutate,
    page,
    path_id,
    respond,
    respond_list,
    state,
    targets_param,
)
from vtn.services import programs as svc
from vtn.storage.filters import ProgramFilter


async def list_programs(request: web.Request) -> web.Response:
    flt = ProgramFilter(page=page(request))
    async with state(request).store.read() as tx:
        found = await svc.list_programs(tx, caller(request), flt, targets_param(request))
    return respond_list(found)


async def create_program(request: web.Request) -> web.Response:
    req = await body(request, "programRequest", ProgramRequest)
    return await mutate(request, Operation.CREATE, lambda tx: svc.create_program(tx, req), 201)


async def get_program(request: web.Request) -> web.Response:
    async with state(request).store.read() as tx:
        found = await svc.get_program(
            tx, caller(request), path_id(request, "programID"), targets_param(request)
        )
    return respond(found)


async def update_program(request: web.Request) -> web.Response:
    req = await body(request, "programRequest", ProgramRequest)
    return await mutate(
        request, Operation.UPDATE, lambda tx: svc.replace_program(tx, path_id(request, "programID"), req)
    )


async def delete_program(request: web.Request) -> web.Response:
    return await mutate(
        request, Operation.DELETE, lambda tx: svc.delete_program(tx, path_id(request, "programID"))
    )
