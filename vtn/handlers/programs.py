"""/programs: BL writes, VENs read through targeting."""

from __future__ import annotations

from aiohttp import web

from shared.enums import Operation
from shared.models import Program, ProgramRequest
from vtn.handlers._http import (
    body,
    cached_list,
    caller,
    granted_targets,
    mutate,
    page,
    path_id,
    respond,
    state,
    targets_param,
)
from vtn.services import programs as svc
from vtn.storage.filters import ProgramFilter


async def list_programs(request: web.Request) -> web.Response:
    st = state(request)
    who = caller(request)
    requested = targets_param(request)
    flt = ProgramFilter(page=page(request))
    granted = await granted_targets(request, who)
    access = None if granted is None else (granted if requested is None else granted & requested)
    key = ("programs", who.is_bl, requested if who.is_bl else access, flt.page)

    async def build() -> list[Program]:
        async with st.store.read() as tx:
            return await svc.list_programs(tx, who, flt, requested, granted)

    return await cached_list(request, key, build)


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
