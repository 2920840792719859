"""Vens and resources. BL grants targets on them; a VEN writes only its own, without targets.

A VEN's PUT never touches BL's grants: the VEN request variants have no targets, so the stored
targets (and clientID) are carried over. A resource's clientID is always its ven's. An `id` chosen in
a POST is BL's verbatim, a VEN's a key the VTN derives the id from (vtn/core/ids.py).
"""

from __future__ import annotations

from shared.enums import ObjectType
from shared.errors import BadRequest, Forbidden, NotFound
from shared.models import Resource, ResourceRequest, Ven, VenRequest
from shared.models.common import VenId
from shared.models.ven import BL_RESOURCE_REQUEST, BL_VEN_REQUEST
from shared.wire.oadr3_json import StoredDocs
from vtn.core.ids import object_id
from vtn.core.visibility import owner
from vtn.principal import Principal
from vtn.storage import Reads, Tx
from vtn.storage.filters import Page, ResourceFilter, VenFilter
from vtn.storage.reads import VenResources, VenRow

_PAGE = Page(skip=0, limit=500)


def _check_variant(who: Principal, object_type: str, bl_variant: str, noun: str) -> None:
    if who.is_bl and object_type != bl_variant:
        raise BadRequest(f"BL writes {noun} objects as {bl_variant} with a clientID", pointer="/objectType")
    if not who.is_bl and object_type == bl_variant:
        raise Forbidden(f"only BL may send {bl_variant}")


async def create_ven(tx: Tx, who: Principal, req: VenRequest) -> Ven:
    _check_variant(who, req.object_type, BL_VEN_REQUEST, "ven")
    ven = Ven.model_validate(
        {
            **tx.vens.stamp(object_id(who, req.id)),
            "client_id": req.client_id if who.is_bl else who.client_id,
            "ven_name": req.ven_name,
            "targets": req.targets if who.is_bl else None,
            "attributes": [a.model_dump() for a in req.attributes] if req.attributes else None,
        }
    )
    return await tx.vens.insert(ven)


async def list_vens(tx: Tx, who: Principal, flt: VenFilter) -> list[Ven]:
    return await tx.vens.list(flt._replace(owner=owner(who)))


async def get_ven(tx: Tx, who: Principal, ven_id: str) -> Ven:
    return await tx.vens.require_owned(ven_id, owner(who))


async def ven_text(reads: Reads, who: Principal, ven_id: str) -> str:
    """get_ven as the stored document (the API's read path: no transaction, no model)."""
    return await reads.require(ObjectType.VEN, ven_id, owner=owner(who))


async def ven_texts(reads: Reads, who: Principal, flt: VenFilter) -> StoredDocs:
    """list_vens as stored documents."""
    return await reads.page(ObjectType.VEN, flt._replace(owner=owner(who)))


async def ven_rows(reads: Reads, who: Principal, flt: VenFilter) -> list[VenRow]:
    """ven_texts with each ven's id and resources' stamp (Reads.ven_rows)."""
    return await reads.ven_rows(flt._replace(owner=owner(who)))


async def replace_ven(tx: Tx, who: Principal, ven_id: str, req: VenRequest) -> Ven:
    _check_variant(who, req.object_type, BL_VEN_REQUEST, "ven")
    old = await get_ven(tx, who, ven_id)
    new = old.model_copy(
        update={
            "modification_date_time": tx.vens.clock(),
            "ven_name": req.ven_name,
            "attributes": req.attributes,
            "client_id": req.client_id if who.is_bl else old.client_id,
            "targets": req.targets if who.is_bl else old.targets,
        }
    )
    await tx.vens.replace(new)
    if new.client_id != old.client_id:
        await _move_resources(tx, ven_id, new.client_id)
    return new


async def _move_resources(tx: Tx, ven_id: str, client_id: str) -> None:
    skip = 0
    while batch := await tx.resources.list(
        ResourceFilter(ven_id=VenId(ven_id), page=_PAGE._replace(skip=skip))
    ):
        for res in batch:
            await tx.resources.replace(res.model_copy(update={"client_id": client_id}))
        skip += len(batch)


async def delete_ven(tx: Tx, who: Principal, ven_id: str) -> Ven:
    old = await get_ven(tx, who, ven_id)
    skip = 0
    while batch := await tx.resources.list(
        ResourceFilter(ven_id=VenId(ven_id), page=_PAGE._replace(skip=skip))
    ):
        tx.cascaded.extend(batch)
        skip += len(batch)
    await tx.vens.delete(ven_id)
    return old


async def _owned_ven(tx: Tx, who: Principal, ven_id: str) -> Ven:
    ven = await tx.vens.get_owned(ven_id, owner(who))
    if ven is None:
        raise NotFound(f"venID {ven_id!r} names no ven you own")
    return ven


async def create_resource(tx: Tx, who: Principal, req: ResourceRequest) -> Resource:
    _check_variant(who, req.object_type, BL_RESOURCE_REQUEST, "resource")
    ven = await _owned_ven(tx, who, req.ven_id)
    resource = Resource.model_validate(
        {
            **tx.resources.stamp(object_id(who, req.id)),
            "client_id": ven.client_id,
            "resource_name": req.resource_name,
            "ven_id": ven.id,
            "targets": req.targets if who.is_bl else None,
            "attributes": [a.model_dump() for a in req.attributes] if req.attributes else None,
        }
    )
    return await tx.resources.insert(resource)


async def list_resources(tx: Tx, who: Principal, flt: ResourceFilter) -> list[Resource]:
    return await tx.resources.list(flt._replace(owner=owner(who)))


async def get_resource(tx: Tx, who: Principal, resource_id: str) -> Resource:
    return await tx.resources.require_owned(resource_id, owner(who))


async def resource_text(reads: Reads, who: Principal, resource_id: str) -> str:
    """get_resource as the stored document."""
    return await reads.require(ObjectType.RESOURCE, resource_id, owner=owner(who))


async def resource_texts(reads: Reads, who: Principal, flt: ResourceFilter) -> StoredDocs:
    """list_resources as stored documents."""
    return await reads.page(ObjectType.RESOURCE, flt._replace(owner=owner(who)))


async def resource_texts_of(
    reads: Reads, who: Principal, ven_ids: frozenset[str], limit: int
) -> dict[str, VenResources]:
    """resource_texts of each ven `ven_ids` (the first `limit` of each), in one statement: venID ->
    its resources' stored documents, in list order, and their stamp (Reads.resources_of)."""
    return await reads.resources_of(ven_ids, owner=owner(who), limit=limit)


async def replace_resource(tx: Tx, who: Principal, resource_id: str, req: ResourceRequest) -> Resource:
    _check_variant(who, req.object_type, BL_RESOURCE_REQUEST, "resource")
    old = await get_resource(tx, who, resource_id)
    ven = await _owned_ven(tx, who, req.ven_id)
    new = old.model_copy(
        update={
            "modification_date_time": tx.resources.clock(),
            "resource_name": req.resource_name,
            "ven_id": ven.id,
            "client_id": ven.client_id,
            "attributes": req.attributes,
            "targets": req.targets if who.is_bl else old.targets,
        }
    )
    return await tx.resources.replace(new)


async def delete_resource(tx: Tx, who: Principal, resource_id: str) -> Resource:
    old = await get_resource(tx, who, resource_id)
    await tx.resources.delete(resource_id)
    return old
