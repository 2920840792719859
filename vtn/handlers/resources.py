"""/resources: devices behind a ven, with ids the partner may choose."""

from __future__ import annotations

from aiohttp import web

from shared.enums import ObjectType, Operation
from shared.models import Resource, ResourceRequest
from shared.models.common import VenId
from vtn.core.queries import ResourceFilter
from vtn.handlers.http_io import (
    body,
    caller,
    id_param,
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


async def list_resources(request: web.Request) -> web.StreamResponse:
    flt = ResourceFilter(
        resource_name=text_param(request, "resourceName"),
        ven_id=id_param(request, "venID", VenId),
        targets=targets_param(request),
        page=page(request),
    )
    found = await svc.resource_texts(state(request).core.reads, caller(request), flt)
    return respond_stored_list(found, Resource)


async def create_resource(request: web.Request) -> web.StreamResponse:
    req = await body(request, "resourceRequest", ResourceRequest)
    await admit_objects(request, caller(request), ObjectType.RESOURCE)
    return await mutate(
        request, Operation.CREATE, lambda tx: svc.create_resource(tx, caller(request), req), 201
    )


async def get_resource(request: web.Request) -> web.StreamResponse:
    found = await svc.resource_text(
        state(request).core.reads, caller(request), path_id(request, "resourceID")
    )
    return respond_stored(found, Resource)


async def update_resource(request: web.Request) -> web.StreamResponse:
    req = await body(request, "resourceRequest", ResourceRequest)
    return await mutate(
        request,
        Operation.UPDATE,
        lambda tx: svc.replace_resource(tx, caller(request), path_id(request, "resourceID"), req),
    )


async def delete_resource(request: web.Request) -> web.StreamResponse:
    return await mutate(
        request,
        Operation.DELETE,
        lambda tx: svc.delete_resource(tx, caller(request), path_id(request, "resourceID")),
    )
