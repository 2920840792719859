"""/events: BL writes, VENs read through targeting; `active` hides events that have transpired."""

from __future__ import annotations

from aiohttp import web

from shared.enums import Operation
from shared.models import EventRequest
from vtn.handlers._http import (
    body,
    bool_param,
    caller,
    mutate,
    page,
    path_id,
    respond,
    respond_list,
    state,
    targets_param,
    text_param,
)
from vtn.services import programs as svc
from vtn.storage.filters import EventFilter


async def list_events(request: web.Request) -> web.Response:
    st = state(request)
    flt = EventFilter(
        program_id=text_param(request, "programID"),
        active_at=st.store.clock() if bool_param(request, "active") else None,
        page=page(request),
    )
    async with st.store.read() as tx:
        found = await svc.list_events(tx, caller(request), flt, targets_param(request))
    return respond_list(found)


async def create_event(request: web.Request) -> web.Response:
    req = await body(request, "eventRequest", EventRequest)
    return await mutate(request, Operation.CREATE, lambda tx: svc.create_event(tx, req), 201)


async def get_event(request: web.Request) -> web.Response:
    async with state(request).store.read() as tx:
        found = await svc.get_event(tx, caller(request), path_id(request, "eventID"), targets_param(request))
    return respond(found)


async def update_event(request: web.Request) -> web.Response:
    req = await body(request, "eventRequest", EventRequest)
    return await mutate(
        request, Operation.UPDATE, lambda tx: svc.replace_event(tx, path_id(request, "eventID"), req)
    )


async def delete_event(request: web.Request) -> web.Response:
    return await mutate(
        request, Operation.DELETE, lambda tx: svc.delete_event(tx, path_id(request, "eventID"))
    )
