"""Grid areas: a name, a kind, import and export capacity, and members granted the area's target.

Membership is the OpenADR target value `name` on the member's ven or resource object (written
through the core like any BL grant), so an event targeted at the area reaches exactly its members
over 3.1, 3.0.1 and 2.0b, and the one visibility rule keeps every other VEN from seeing it.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum

from shared.enums import Operation
from shared.errors import BadRequest, NotFound
from shared.models import Resource, Ven
from shared.models.common import VenId
from vtn.core.core import Core
from vtn.core.queries import AreaRecord, Page, ResourceFilter, Tx, VenFilter

__all__ = ["AreaKind", "AreaRecord", "MemberKind", "Members"]
from vtn.programs.automation import AUTOMATION

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")
_PAGE = 500

# Run inside the change's own transaction, e.g. the console's audit record.
Also = Callable[[Tx], Awaitable[None]]


class AreaKind(StrEnum):
    NEIGHBOURHOOD = "neighbourhood"
    FEEDER = "feeder"
    SUBSTATION = "substation"


class MemberKind(StrEnum):
    VEN = "ven"
    RESOURCE = "resource"


@dataclass(frozen=True, slots=True)
class Members:
    vens: list[Ven]
    resources: list[Resource]


def check_name(name: str) -> str:
    if not _NAME.match(name):
        raise BadRequest(f"area name {name!r}: letters, digits and _.:- only, at most 128 characters")
    return name


async def add_area(
    core: Core, name: str, kind: AreaKind, import_kw: float, export_kw: float, *, also: Also | None = None
) -> AreaRecord:
    check_name(name)
    if import_kw < 0 or export_kw < 0:
        raise BadRequest("capacities are in kW and may not be negative")
    record = AreaRecord(name, kind.value, float(import_kw), float(export_kw), core.clock())

    async def work(tx: Tx, _: object) -> AreaRecord:
        await tx.areas().add(record)
        if also is not None:
            await also(tx)
        return record

    return await core.run(work)


async def list_areas(core: Core) -> list[AreaRecord]:
    async with core.read() as tx:
        return await tx.areas().list()


async def get_area(core: Core, name: str) -> AreaRecord:
    async with core.read() as tx:
        found = await tx.areas().get(name)
    if found is None:
        raise NotFound(f"no area named {name!r}")
    return found


async def members(core: Core, name: str) -> Members:
    await get_area(core, name)
    async with core.read() as tx:
        return await members_in(tx, name)


async def members_in(tx: Tx, name: str) -> Members:
    targets = frozenset({name})
    vens: list[Ven] = []
    while batch := await tx.vens.list(VenFilter(targets=targets, page=Page(len(vens), _PAGE))):
        vens.extend(batch)
    resources: list[Resource] = []
    while batch2 := await tx.resources.list(
        ResourceFilter(targets=targets, page=Page(len(resources), _PAGE))
    ):
        resources.extend(batch2)
    return Members(vens, resources)


async def _ven_named(tx: Tx, ven_name: str) -> Ven:
    found = await tx.vens.list(VenFilter(ven_name=ven_name, page=Page(0, 1)))
    if not found:
        raise NotFound(f"no ven named {ven_name!r}")
    return found[0]


async def _resource_named(tx: Tx, path: str) -> Resource:
    ven_name, sep, resource_name = path.partition("/")
    if not sep or not resource_name:
        raise BadRequest(f"name a resource as VEN_NAME/RESOURCE_NAME, not {path!r}")
    ven = await _ven_named(tx, ven_name)
    found = await tx.resources.list(
        ResourceFilter(ven_id=VenId(ven.id), resource_name=resource_name, page=Page(0, 1))
    )
    if not found:
        raise NotFound(f"ven {ven_name!r} has no resource named {resource_name!r}")
    return found[0]


def _with(targets: list[str] | None, name: str, member: bool) -> list[str] | None:
    kept = [t for t in targets or () if t != name]
    if member:
        kept.append(name)
    return kept or None


async def set_member(
    core: Core, area: str, kind: MemberKind, name: str, *, member: bool, also: Also | None = None
) -> Ven | Resource:
    """Grant (or withdraw) the area's target on a ven (by venName) or resource (VEN_NAME/RESOURCE_NAME)."""
    await get_area(core, area)

    async def work(tx: Tx) -> Ven | Resource:
        if also is not None:
            await also(tx)
        now = core.clock()
        if kind is MemberKind.VEN:
            ven = await _ven_named(tx, name)
            new_ven = ven.model_copy(
                update={"targets": _with(ven.targets, area, member), "modification_date_time": now}
            )
            return await tx.vens.replace(new_ven)
        res = await _resource_named(tx, name)
        new_res = res.model_copy(
            update={"targets": _with(res.targets, area, member), "modification_date_time": now}
        )
        return await tx.resources.replace(new_res)

    return await core.write(AUTOMATION, Operation.UPDATE, work)


async def remove_area(core: Core, name: str) -> None:
    """Remove an area and withdraw its target from every member (their grants change with it)."""
    found = await members(core, name)
    for ven in found.vens:
        await set_member(core, name, MemberKind.VEN, ven.ven_name, member=False)
    for res in found.resources:
        owner_ven = next((v for v in found.vens if v.id == res.ven_id), None)
        ven_name = owner_ven.ven_name if owner_ven is not None else await _ven_name(core, res.ven_id)
        await set_member(core, name, MemberKind.RESOURCE, f"{ven_name}/{res.resource_name}", member=False)

    async def work(tx: Tx, _: object) -> bool:
        return await tx.areas().remove(name)

    await core.run(work)


async def _ven_name(core: Core, ven_id: str) -> str:
    async with core.read() as tx:
        ven = await tx.vens.require(ven_id)
    return ven.ven_name
