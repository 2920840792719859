"""/events: BL writes, VENs read through targeting; `active` hides events that have transpired."""

from __future__ import annotations

from aiohttp import web

from shared.enums import Operation
from shared.models import Event, EventRequest
from vtn.handlers._http import (
    body,
    bool_param,
    cached_list,
    caller,
    granted_targets,
    mutate,
    page,
    path_id,
    respond,
    state,
    targets_param,
    text_param,
)
from vtn.services import programs as svc
from vtn.storage.filters import EventFilter


async def list_events(request: web.Request) -> web.Response:
    st = state(request)
    who = caller(request)
    requested = targets_param(request)
    active = bool_param(request, "active")
    flt = EventFilter(
        program_id=text_param(request, "programID"),
        active_at=st.store.clock() if active else None,
        page=page(request),
    )
    granted = await granted_targets(request, who)
    access = None if granted is None else (granted if requested is None else granted & requested)
    # Everything the answer depends on; `access` (not the client) so VENs with equal grants share it.
    key = ("events", who.is_bl, requested if who.is_bl else access, flt.program_id, bool(active), flt.page)

    async def build() -> list[Event]:
        async with st.store.read() as tx:
            return await svc.list_events(tx, who, flt, requested, granted)

    return await cached_list(request, key, build, clocked=bool(active))


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
