"""/events: BL writes, VENs read through targeting; `active` hides events that have transpired."""

from __future__ import annotations

from aiohttp import web

from shared.models import EventRequest
from vtn.handlers._http import (
    body,
    bool_param,
    caller,
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
    async with state(request).store.transaction() as tx:
        created = await svc.create_event(tx, req)
    return respond(created, 201)


async def get_event(request: web.Request) -> web.Response:
    async with state(request).store.read() as tx:
        found = await svc.get_event(tx, caller(request), path_id(request, "eventID"), targets_param(request))
    return respond(found)


async def update_event(request: web.Request) -> web.Response:
    req = await body(request, "eventRequest", EventRequest)
    async with state(request).store.transaction() as tx:
        updated = await svc.replace_event(tx, path_id(request, "eventID"), req)
    return respond(updated)


async def delete_event(request: web.Request) -> web.Response:
    async with state(request).store.transaction() as tx:
        deleted = await svc.delete_event(tx, path_id(request, "eventID"))
    return respond(deleted)
