"""/vens: a partner's gateway objects; BL grants targets on them."""

from __future__ import annotations

from aiohttp import web

from shared.enums import ObjectType, Operation
from shared.models import Ven, VenRequest
from vtn.core.queries import VenFilter
from vtn.handlers.http_io import (
    body,
    caller,
    mutate,
    page,
    path_id,
    respond_stored,
    respond_stored_list,
    state,
    targets_param,
    text_param,
)
from vtn.limits.quotas import admit_objects
from vtn.services import vens as svc


async def list_vens(request: web.Request) -> web.StreamResponse:
    flt = VenFilter(
        ven_name=text_param(request, "venName"), targets=targets_param(request), page=page(request)
    )
    found = await svc.ven_texts(state(request).core.reads, caller(request), flt)
    return respond_stored_list(found, Ven)


async def create_ven(request: web.Request) -> web.StreamResponse:
    req = await body(request, "venRequest", VenRequest)
    await admit_objects(request, caller(request), ObjectType.VEN)
    return await mutate(request, Operation.CREATE, lambda tx: svc.create_ven(tx, caller(request), req), 201)


async def get_ven(request: web.Request) -> web.StreamResponse:
    found = await svc.ven_text(state(request).core.reads, caller(request), path_id(request, "venID"))
    return respond_stored(found, Ven)


async def update_ven(request: web.Request) -> web.StreamResponse:
    req = await body(request, "venRequest", VenRequest)
    return await mutate(
        request,
        Operation.UPDATE,
        lambda tx: svc.replace_ven(tx, caller(request), path_id(request, "venID"), req),
    )


async def delete_ven(request: web.Request) -> web.StreamResponse:
    return await mutate(
        request, Operation.DELETE, lambda tx: svc.delete_ven(tx, caller(request), path_id(request, "venID"))
    )
