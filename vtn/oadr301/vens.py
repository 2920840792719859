"""3.0.1 /vens and /vens/{venID}/resources over the 3.1 ven and resource services.

A 3.0.1 ven embeds its resources: on output they are listed (what the caller may see), on POST an
embedded `resources` list creates those resources with the ven, in one transaction (oadr30-ven-ud
registers this way). PUT /vens ignores `resources`: they are written through the nested paths.
"""

from __future__ import annotations

from aiohttp import web

from shared.enums import ObjectType, Operation
from shared.errors import BadRequest, NotFound
from shared.models import Resource, ResourceRequest, Ven, VenRequest
from shared.models.common import VenId
from shared.wire.oadr3_json import joined_encoded
from vtn.core.queries import Page, Reads, ResourceFilter, Tx, VenFilter, VenRow
from vtn.core.visibility import owner
from vtn.handlers.http_io import caller, page, path_id, state, text_param
from vtn.limits.quotas import admit_objects
from vtn.oadr301 import converted, inbound, outbound
from vtn.oadr301._io import Doc, as_31, read_doc, respond_body, targets_query, write
from vtn.oadr301.converted import CONVERTED
from vtn.principal import Principal
from vtn.services import vens as svc
from vtn.services.notifier import AnyObject

_ALL = Page(skip=0, limit=500)


async def _ven_doc(tx: Tx, who: Principal, ven: Ven) -> Doc:
    resources = await svc.list_resources(tx, who, ResourceFilter(ven_id=VenId(ven.id), page=_ALL))
    return outbound.ven(ven, resources)


async def _read_vens(request: web.Request, reads: Reads, who: Principal, rows: list[VenRow]) -> bytes:
    """The JSON list of _ven_doc of stored vens for reads, without a transaction: those answered
    before with their resources as they are now from the vens' rows alone, the others' resources
    in one statement."""
    conv, scope = request.app[CONVERTED], owner(who)
    same = converted.same_vens(conv, rows, scope)
    if same is not None:
        return same
    found = converted.known_vens(conv, rows, scope)
    missing = frozenset(row[2] for row, done in zip(rows, found, strict=True) if done is None)
    if missing:
        resources = await svc.resource_texts_of(reads, who, missing, _ALL.limit)
        found = [
            converted.ven(conv, row[2], row[0], scope, resources[row[2]]) if done is None else done
            for row, done in zip(rows, found, strict=True)
        ]
    return converted.vens(conv, rows, scope, found)  # type: ignore[arg-type]


async def list_vens(request: web.Request) -> web.StreamResponse:
    who = caller(request)
    flt = VenFilter(
        ven_name=text_param(request, "venName"), targets=targets_query(request), page=page(request)
    )
    reads = state(request).core.reads
    found = await svc.ven_rows(reads, who, flt)
    return respond_body(await _read_vens(request, reads, who, found))


async def get_ven(request: web.Request) -> web.StreamResponse:
    who = caller(request)
    reads = state(request).core.reads
    ven_id = path_id(request, "venID")
    found = await svc.ven_text(reads, who, ven_id)
    resources = await svc.resource_texts_of(reads, who, frozenset({ven_id}), _ALL.limit)
    conv = request.app[CONVERTED]
    return respond_body(converted.ven(conv, ven_id, found, owner(who), resources[ven_id]))


def _resource_request(request: web.Request, doc: Doc, ven: Ven, pointer: str = "") -> ResourceRequest:
    if "venID" in doc and doc["venID"] != ven.id:
        raise BadRequest(
            f"venID {doc['venID']!r} differs from the ven of the path", pointer=pointer + "/venID"
        )
    translated = inbound.resource(doc, ven.id, caller(request), ven.client_id)
    return as_31(request, "resourceRequest", ResourceRequest, translated)


async def create_ven(request: web.Request) -> web.StreamResponse:
    who = caller(request)
    doc = await read_doc(request, "ven")
    req = as_31(request, "venRequest", VenRequest, inbound.ven(doc, who))
    await admit_objects(request, who, ObjectType.VEN)
    await admit_objects(request, who, ObjectType.RESOURCE, len(doc.get("resources") or []))

    async def work(tx: Tx) -> tuple[AnyObject, Doc]:
        ven = await svc.create_ven(tx, who, req)
        for i, embedded in enumerate(doc.get("resources") or []):
            res_req = _resource_request(request, embedded, ven, f"/resources/{i}")
            tx.created_along.append(await svc.create_resource(tx, who, res_req))
        return ven, await _ven_doc(tx, who, ven)

    return await write(request, Operation.CREATE, work, 201)


async def update_ven(request: web.Request) -> web.StreamResponse:
    who = caller(request)
    doc = await read_doc(request, "ven")
    ven_id = path_id(request, "venID")

    async def work(tx: Tx) -> tuple[AnyObject, Doc]:
        old = await svc.get_ven(tx, who, ven_id)
        req = as_31(request, "venRequest", VenRequest, inbound.ven(doc, who, old))
        new = await svc.replace_ven(tx, who, ven_id, req)
        return new, await _ven_doc(tx, who, new)

    return await write(request, Operation.UPDATE, work)


async def delete_ven(request: web.Request) -> web.StreamResponse:
    who = caller(request)

    async def work(tx: Tx) -> tuple[AnyObject, Doc]:
        ven_id = path_id(request, "venID")
        doc = await _ven_doc(tx, who, await svc.get_ven(tx, who, ven_id))
        gone = await svc.delete_ven(tx, who, ven_id)
        return gone, doc

    return await write(request, Operation.DELETE, work)


# --------------------------------------------------------------------------------------- resources


async def _resource_of_path(tx: Tx, who: Principal, request: web.Request) -> Resource:
    ven_id, resource_id = path_id(request, "venID"), path_id(request, "resourceID")
    return _of_ven(await svc.get_resource(tx, who, resource_id), ven_id)


def _of_ven(resource: Resource, ven_id: str) -> Resource:
    """`resource` if it is a resource of ven `ven_id` (the path's), else 404."""
    if resource.ven_id != ven_id:
        raise NotFound(f"ven {ven_id!r} has no resource with id {resource.id!r}")
    return resource


async def list_resources(request: web.Request) -> web.StreamResponse:
    who = caller(request)
    ven_id = path_id(request, "venID")
    flt = ResourceFilter(
        resource_name=text_param(request, "resourceName"),
        ven_id=VenId(ven_id),
        targets=targets_query(request),
        page=page(request),
    )
    reads = state(request).core.reads
    await svc.ven_text(reads, who, ven_id)  # 404 for a ven the caller cannot see
    found = await svc.resource_texts(reads, who, flt)
    return respond_body(joined_encoded(converted.resources(request.app[CONVERTED], found)))


async def get_resource(request: web.Request) -> web.StreamResponse:
    ven_id, resource_id = path_id(request, "venID"), path_id(request, "resourceID")
    found = await svc.resource_text(state(request).core.reads, caller(request), resource_id)
    if converted.member(found, "venID") != ven_id:
        raise NotFound(f"ven {ven_id!r} has no resource with id {resource_id!r}")
    return respond_body(converted.resources(request.app[CONVERTED], [found])[0])


async def create_resource(request: web.Request) -> web.StreamResponse:
    who = caller(request)
    doc = await read_doc(request, "resource")
    await admit_objects(request, who, ObjectType.RESOURCE)

    async def work(tx: Tx) -> tuple[AnyObject, Doc]:
        ven = await svc.get_ven(tx, who, path_id(request, "venID"))
        created = await svc.create_resource(tx, who, _resource_request(request, doc, ven))
        return created, outbound.resource(created)

    return await write(request, Operation.CREATE, work, 201)


async def update_resource(request: web.Request) -> web.StreamResponse:
    who = caller(request)
    doc = await read_doc(request, "resource")

    async def work(tx: Tx) -> tuple[AnyObject, Doc]:
        old = await _resource_of_path(tx, who, request)
        ven = await svc.get_ven(tx, who, old.ven_id)
        new = await svc.replace_resource(tx, who, old.id, _resource_request(request, doc, ven))
        return new, outbound.resource(new)

    return await write(request, Operation.UPDATE, work)


async def delete_resource(request: web.Request) -> web.StreamResponse:
    who = caller(request)

    async def work(tx: Tx) -> tuple[AnyObject, Doc]:
        old = await _resource_of_path(tx, who, request)
        gone = await svc.delete_resource(tx, who, old.id)
        return gone, outbound.resource(gone)

    return await write(request, Operation.DELETE, work)
