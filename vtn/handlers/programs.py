"""/programs: BL writes, VENs read through targeting."""

from __future__ import annotations

from aiohttp import web

from shared.enums import Operation
from shared.models import Program, ProgramRequest
from vtn.core.queries import ProgramFilter
from vtn.handlers.http_io import (
    body,
    cached_stored_list,
    caller,
    mutate,
    page,
    path_id,
    respond_stored,
    state,
    targets_param,
)
from vtn.services import programs as svc


async def list_programs(request: web.Request) -> web.StreamResponse:
    core = state(request).core
    permission = await core.permission(caller(request), targets_param(request))
    flt = ProgramFilter(permission=permission, page=page(request))
    key = ("programs", permission, flt.page)

    async def build() -> list[str]:
        return await svc.program_texts(core.reads, flt)

    return await cached_stored_list(request, key, build, Program)


async def create_program(request: web.Request) -> web.StreamResponse:
    req = await body(request, "programRequest", ProgramRequest)
    return await mutate(request, Operation.CREATE, lambda tx: svc.create_program(tx, req), 201)


async def get_program(request: web.Request) -> web.StreamResponse:
    core = state(request).core
    permission = await core.permission(caller(request), targets_param(request))
    found = await svc.program_text(core.reads, permission, path_id(request, "programID"))
    return respond_stored(found, Program)


async def update_program(request: web.Request) -> web.StreamResponse:
    req = await body(request, "programRequest", ProgramRequest)
    return await mutate(
        request, Operation.UPDATE, lambda tx: svc.replace_program(tx, path_id(request, "programID"), req)
    )


async def delete_program(request: web.Request) -> web.StreamResponse:
    return await mutate(
        request, Operation.DELETE, lambda tx: svc.delete_program(tx, path_id(request, "programID"))
    )
