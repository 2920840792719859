"""/events: BL writes, VENs read through targeting; `active` hides events that have transpired."""

from __future__ import annotations

from aiohttp import web

from shared.enums import Operation
from shared.models import Event, EventRequest
from shared.models.common import ProgramId
from vtn.core.queries import EventFilter
from vtn.handlers.http_io import (
    body,
    bool_param,
    cached_stored_list,
    caller,
    id_param,
    mutate,
    page,
    path_id,
    respond_stored,
    state,
    targets_param,
)
from vtn.services import programs as svc


async def list_events(request: web.Request) -> web.Response:
    core = state(request).core
    active = bool_param(request, "active")
    permission = await core.permission(caller(request), targets_param(request))
    flt = EventFilter(
        program_id=id_param(request, "programID", ProgramId),
        permission=permission,
        active_at=core.clock() if active else None,
        page=page(request),
    )
    # Everything the answer depends on; the permission (not the client) so equal grants share it.
    key = ("events", permission, flt.program_id, bool(active), flt.page)

    async def build() -> list[str]:
        return await svc.event_texts(core.reads, flt)

    return await cached_stored_list(request, key, build, Event, clocked=bool(active))


async def create_event(request: web.Request) -> web.Response:
    req = await body(request, "eventRequest", EventRequest)
    return await mutate(request, Operation.CREATE, lambda tx: svc.create_event(tx, req), 201)


async def get_event(request: web.Request) -> web.Response:
    core = state(request).core
    permission = await core.permission(caller(request), targets_param(request))
    found = await svc.event_text(core.reads, permission, path_id(request, "eventID"))
    return respond_stored(found, Event)


async def update_event(request: web.Request) -> web.Response:
    req = await body(request, "eventRequest", EventRequest)
    return await mutate(
        request, Operation.UPDATE, lambda tx: svc.replace_event(tx, path_id(request, "eventID"), req)
    )


async def delete_event(request: web.Request) -> web.Response:
    return await mutate(
        request, Operation.DELETE, lambda tx: svc.delete_event(tx, path_id(request, "eventID"))
    )
