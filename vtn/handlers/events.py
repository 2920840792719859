"""/events: BL writes, VENs read through targeting; `active` hides events that have transpired."""

from __future__ import annotations

from aiohttp import web

from shared.enums import Operation
from shared.models import Event, EventRequest
from shared.models.common import ProgramId
from vtn.core.queries import EventFilter, Page, Permission
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
from vtn.http_answer import Answer
from vtn.services import programs as svc


def _list_query(request: web.Request) -> tuple[frozenset[str] | None, ProgramId | None, bool, Page]:
    """The list's query parameters: requested targets, programID, active, the page."""
    active = bool_param(request, "active")
    return targets_param(request), id_param(request, "programID", ProgramId), bool(active), page(request)


async def list_events(request: web.Request) -> web.StreamResponse:
    st = state(request)
    core = st.core
    targets, program_id, active, pg = st.queries.read(request, _list_query)

    async def answer(permission: Permission, grants_stamp: bytes | None) -> web.StreamResponse:
        # Everything the answer depends on; the permission (not the client) so equal grants share it.
        key = ("events", permission, program_id, active, pg)
        body_bytes = core.cached_answer(key)  # the hot path of polling VENs: no more than a lookup
        if body_bytes is not None:
            return Answer(body_bytes)
        flt = EventFilter(
            program_id=program_id,
            permission=permission,
            active_at=core.clock() if active else None,
            page=pg,
        )

        async def build() -> list[str]:
            return await svc.event_texts(core.reads, flt, grants_stamp)

        return await cached_stored_list(request, key, build, Event, clocked=active)

    return await core.permitted(caller(request), targets, answer)


async def create_event(request: web.Request) -> web.StreamResponse:
    req = await body(request, "eventRequest", EventRequest)
    return await mutate(request, Operation.CREATE, lambda tx: svc.create_event(tx, req), 201)


async def get_event(request: web.Request) -> web.StreamResponse:
    core = state(request).core
    permission = await core.permission(caller(request), targets_param(request))
    found = await svc.event_text(core.reads, permission, path_id(request, "eventID"))
    return respond_stored(found, Event)


async def update_event(request: web.Request) -> web.StreamResponse:
    req = await body(request, "eventRequest", EventRequest)
    return await mutate(
        request, Operation.UPDATE, lambda tx: svc.replace_event(tx, path_id(request, "eventID"), req)
    )


async def delete_event(request: web.Request) -> web.StreamResponse:
    return await mutate(
        request, Operation.DELETE, lambda tx: svc.delete_event(tx, path_id(request, "eventID"))
    )
