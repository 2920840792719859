"""Audience look-ups for the MQTT sink: which ven objects must hear of a change (one query each).

The MQTT binding publishes to one topic per VEN, so a change to an event may fan out to every ven.
Each look-up here is a single statement whatever the number of vens (10k+): the sink must never
issue one query per ven inside the transaction of the change.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select, union_all
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.enums import ObjectType
from vtn.storage.tables import object_targets, resources, vens


class MqttAudienceRepo:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def all_vens(self) -> list[tuple[str, str]]:
        """(venID, clientID) of every ven: an untargeted program or event concerns them all."""
        query = select(vens.c.id, vens.c.client_id).order_by(vens.c.id)
        return [(str(r[0]), str(r[1])) for r in (await self.conn.execute(query)).all()]

    async def vens_of_clients(self, client_ids: Iterable[str]) -> list[tuple[str, str]]:
        """(venID, clientID) of the vens owned by these clients (VEN-private objects)."""
        ids = sorted(set(client_ids))
        if not ids:
            return []
        query = select(vens.c.id, vens.c.client_id).where(vens.c.client_id.in_(ids)).order_by(vens.c.id)
        return [(str(r[0]), str(r[1])) for r in (await self.conn.execute(query)).all()]

    async def vens_granted(self, targets: Iterable[str]) -> list[tuple[str, str, str]]:
        """(venID, clientID, target) for each of `targets` BL granted on a ven or on one of its resources.

        The rows are the grants restricted to the object's targets, which is all that target matching
        and target hiding need (granted ∩ object targets), so no per-client grant query follows.
        """
        wanted = sorted(set(targets))
        if not wanted:
            return []
        on_ven = (
            select(vens.c.id, vens.c.client_id, object_targets.c.target)
            .select_from(object_targets.join(vens, vens.c.id == object_targets.c.object_id))
            .where(object_targets.c.kind == ObjectType.VEN, object_targets.c.target.in_(wanted))
        )
        # A resource's grant counts for the ven it belongs to (its clientID is always its ven's).
        on_resource = (
            select(vens.c.id, vens.c.client_id, object_targets.c.target)
            .select_from(
                object_targets.join(resources, resources.c.id == object_targets.c.object_id).join(
                    vens, vens.c.id == resources.c.ven_id
                )
            )
            .where(object_targets.c.kind == ObjectType.RESOURCE, object_targets.c.target.in_(wanted))
        )
        rows = (await self.conn.execute(union_all(on_ven, on_resource))).all()
        return sorted({(str(r[0]), str(r[1]), str(r[2])) for r in rows})
