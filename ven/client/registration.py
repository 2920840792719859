"""A VEN's idempotent registration: its ven and its resources found by name, else created, and
their attributes brought up to date. Safe to repeat and to race (a 409 on create reads again)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Protocol, TypeVar

from shared.errors import Conflict
from shared.models import Resource, ResourceRequest, ValuesMap, Ven, VenRequest
from shared.models.ven import VEN_RESOURCE_REQUEST, VEN_VEN_REQUEST

if TYPE_CHECKING:
    from ven.client.api import VtnClient


class _Registered(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def attributes(self) -> list[ValuesMap] | None: ...


R = TypeVar("R", bound=_Registered)


async def ensure_ven(
    vtn: VtnClient, ven_name: str, *, ven_id: str | None, attributes: list[ValuesMap] | None
) -> Ven:
    """What VtnClient.ensure_ven does (documented there)."""

    def request(key: str | None) -> VenRequest:
        return VenRequest(object_type=VEN_VEN_REQUEST, id=key, ven_name=ven_name, attributes=attributes)

    return await _ensure(
        lambda: _find_ven(vtn, ven_name),
        lambda: vtn.create_ven(request(ven_id)),
        lambda found: vtn.update_ven(found.id, request(None)),
        attributes,
    )


async def ensure_resource(
    vtn: VtnClient,
    ven_id: str,
    resource_name: str,
    *,
    resource_id: str | None,
    attributes: list[ValuesMap] | None,
) -> Resource:
    """What VtnClient.ensure_resource does (documented there)."""

    def request(key: str | None) -> ResourceRequest:
        return ResourceRequest(
            object_type=VEN_RESOURCE_REQUEST,
            id=key,
            resource_name=resource_name,
            ven_id=ven_id,
            attributes=attributes,
        )

    return await _ensure(
        lambda: _find_resource(vtn, ven_id, resource_name),
        lambda: vtn.create_resource(request(resource_id)),
        lambda found: vtn.update_resource(found.id, request(None)),
        attributes,
    )


async def _ensure(
    find: Callable[[], Awaitable[R | None]],
    create: Callable[[], Awaitable[R]],
    update: Callable[[R], Awaitable[R]],
    attributes: list[ValuesMap] | None,
) -> R:
    found = await find()
    if found is None:
        try:
            return await create()
        except Conflict:
            found = await find()
            if found is None:
                raise
    if attributes is not None and not _same_attributes(found.attributes, attributes):
        found = await update(found)
    return found


def _same_attributes(a: list[ValuesMap] | None, b: list[ValuesMap] | None) -> bool:
    return [v.to_wire() for v in a or []] == [v.to_wire() for v in b or []]


async def _find_ven(vtn: VtnClient, ven_name: str) -> Ven | None:
    async for ven in vtn.iter_vens(ven_name):
        if ven.ven_name == ven_name:
            return ven
    return None


async def _find_resource(vtn: VtnClient, ven_id: str, resource_name: str) -> Resource | None:
    async for res in vtn.iter_resources(resource_name, ven_id):
        if res.resource_name == resource_name and res.ven_id == ven_id:
            return res
    return None
