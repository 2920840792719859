"""Vens and resources: VEN-private objects keyed by the owner's clientID; their targets are grants."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, bindparam, func, select, union, update

from shared.enums import ObjectType
from shared.models import Resource, Ven
from vtn.storage import _rows, shapes
from vtn.storage._docrepo import DocRepo
from vtn.storage.tables import object_targets, resources, vens


def new_stamp() -> int:
    """A value for vens.resources_stamp that no ven has had (63 random bits: signed BIGINT)."""
    return secrets.randbits(63)


# The vens of resource `resource_id` (before this write) and ven `ven_id` get a new resources_stamp.
_RESTAMP = (
    update(vens)
    .where(
        vens.c.id.in_(
            union(
                select(resources.c.ven_id).where(
                    resources.c.id == bindparam("resource_id", type_=resources.c.id.type)
                ),
                select(bindparam("ven_id", type_=vens.c.id.type)),
            )
        )
    )
    .values(resources_stamp=bindparam("stamp", type_=vens.c.resources_stamp.type))
)


class VenRepo(DocRepo[Ven]):
    table = vens
    model = Ven
    kind = ObjectType.VEN
    conflict = "a ven with this venName already exists"
    has_targets = True

    def columns(self, obj: Ven) -> dict[str, Any]:
        return {"client_id": obj.client_id, "ven_name": obj.ven_name}

    def owned(self, owner: str | None) -> ColumnElement[bool] | None:
        return None if owner is None else vens.c.client_id == owner

    async def insert(self, obj: Ven, extra: dict[str, Any] | None = None) -> Ven:
        # A stamp of its own: a ven created again with the same id and text is not the old one.
        return await super().insert(obj, {"resources_stamp": new_stamp(), **(extra or {})})

    async def granted_targets(self, client_id: str) -> frozenset[str]:
        """Targets BL granted to a client through its ven objects and their resources."""
        # The statement the API's reads run too (shapes.grants, Reads.granted).
        query = shapes.statement(shapes.grants(client_id, self.conn.dialect.name))
        return frozenset(str(r[0]) for r in (await self.conn.execute(query)).all())

    async def granted_targets_of(self, client_ids: Iterable[str]) -> dict[str, frozenset[str]]:
        """granted_targets for many clients in two queries (notification fan-out to thousands)."""
        wanted = sorted(set(client_ids))
        found: dict[str, set[str]] = {c: set() for c in wanted}
        for start in range(0, len(wanted), 5000):  # stay below bind-parameter limits
            chunk = wanted[start : start + 5000]
            for owner_table, kind in ((vens, ObjectType.VEN), (resources, ObjectType.RESOURCE)):
                query = (
                    select(owner_table.c.client_id, object_targets.c.target)
                    .join(
                        object_targets,
                        (object_targets.c.kind == kind) & (object_targets.c.object_id == owner_table.c.id),
                    )
                    .where(owner_table.c.client_id.in_(chunk))
                )
                for client_id, target in (await self.conn.execute(query)).all():
                    found[str(client_id)].add(str(target))
        return {c: frozenset(t) for c, t in found.items()}

    async def all_grants(self, max_rows: int) -> dict[str, frozenset[str]] | None:
        """Every client's granted targets in one pass, or None when there are more than `max_rows`.

        DISTINCT: a client's resources mostly carry the same targets (100,000 VENs with 1,000,000
        resources are ~100,000 pairs, not 1,000,000 rows in memory at once), and equal target sets
        are shared, so the snapshot of 100,000 clients costs a few MB.
        """
        # First a bounded count of the ven grants, which stops early: at 1,000,000 VENs the DISTINCT
        # join below ran 20 s before finding too many pairs. Each ven's target row counts here,
        # although vens of one client holding the same target make one pair: refused a bit early.
        ven_rows = select(object_targets.c.target).where(object_targets.c.kind == ObjectType.VEN)
        bounded = select(func.count()).select_from(ven_rows.limit(max_rows + 1).subquery())
        if int((await self.conn.execute(bounded)).scalar_one()) > max_rows:
            return None
        found: dict[str, set[str]] = {}
        seen = 0
        for owner_table, kind in ((vens, ObjectType.VEN), (resources, ObjectType.RESOURCE)):
            query = (
                select(owner_table.c.client_id, object_targets.c.target)
                .join(
                    object_targets,
                    (object_targets.c.kind == kind) & (object_targets.c.object_id == owner_table.c.id),
                )
                .distinct()
                .limit(max_rows + 1 - seen)
            )
            rows = (await self.conn.execute(query)).all()
            seen += len(rows)
            if seen > max_rows:
                return None
            for client_id, target in rows:
                found.setdefault(str(client_id), set()).add(str(target))
            del rows
        shared: dict[frozenset[str], frozenset[str]] = {}
        return {c: shared.setdefault(frozenset(t), frozenset(t)) for c, t in found.items()}

    async def has_ven(self, client_id: str) -> bool:
        row = (
            await self.conn.execute(select(vens.c.id).where(vens.c.client_id == client_id).limit(1))
        ).first()
        return row is not None

    async def delete(self, object_id: str) -> None:
        # Resources go with their ven (FK cascade); their target rows must go too.
        res_ids = [
            r[0]
            for r in (
                await self.conn.execute(select(resources.c.id).where(resources.c.ven_id == object_id))
            ).all()
        ]
        await _rows.clear_targets(self.conn, ObjectType.RESOURCE, res_ids)
        await super().delete(object_id)


class ResourceRepo(DocRepo[Resource]):
    table = resources
    model = Resource
    kind = ObjectType.RESOURCE
    conflict = "this ven already has a resource with this resourceName"
    has_targets = True

    def columns(self, obj: Resource) -> dict[str, Any]:
        return {"ven_id": obj.ven_id, "client_id": obj.client_id, "resource_name": obj.resource_name}

    def owned(self, owner: str | None) -> ColumnElement[bool] | None:
        return None if owner is None else resources.c.client_id == owner

    async def insert(self, obj: Resource, extra: dict[str, Any] | None = None) -> Resource:
        await self._restamp(obj.id, obj.ven_id)
        return await super().insert(obj, extra)

    async def replace(self, obj: Resource, extra: dict[str, Any] | None = None) -> Resource:
        await self._restamp(obj.id, obj.ven_id)  # before: the ven it leaves, if it moves, too
        return await super().replace(obj, extra)

    async def delete(self, object_id: str) -> None:
        await self._restamp(object_id, None)
        await super().delete(object_id)

    async def _restamp(self, resource_id: str, ven_id: str | None) -> None:
        """A new vens.resources_stamp for ven `ven_id` and the ven resource `resource_id` has now,
        in the write's transaction: whoever sees the write sees the new stamp."""
        params = {"resource_id": resource_id, "ven_id": ven_id, "stamp": new_stamp()}
        await self.conn.execute(_RESTAMP, params)
