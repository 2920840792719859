"""Subscriptions: VEN-private; the HMAC secret is kept in its own column, never in the document."""

from __future__ import annotations

import builtins
from typing import Any

from sqlalchemy import ColumnElement, or_, select

from shared.models import Subscription
from vtn.storage._docrepo import DocRepo
from vtn.storage._rows import load
from vtn.storage.filters import SubscriptionFilter
from vtn.storage.tables import subscriptions


def _objects_key(obj: Subscription) -> str:
    # ",EVENT,PROGRAM," lets an `objects` filter be a portable LIKE on both stores.
    kinds = sorted({o.value for op in obj.object_operations for o in op.objects})
    return "," + ",".join(kinds) + ","


class SubscriptionRepo(DocRepo[Subscription]):
    table = subscriptions
    model = Subscription
    kind = "SUBSCRIPTION"
    conflict = "a subscription with this id already exists"
    has_targets = True

    def columns(self, obj: Subscription) -> dict[str, Any]:
        return {
            "client_id": obj.client_id,
            "client_name": obj.client_name,
            "program_id": obj.program_id,
            "objects": _objects_key(obj),
            "secret": obj.secret,
        }

    def owned(self, owner: str | None) -> ColumnElement[bool] | None:
        return None if owner is None else subscriptions.c.client_id == owner

    async def list(self, flt: SubscriptionFilter) -> list[Subscription]:
        where: list[ColumnElement[bool]] = []
        if flt.owner is not None:
            where.append(subscriptions.c.client_id == flt.owner)
        if flt.program_id is not None:
            where.append(subscriptions.c.program_id == flt.program_id)
        if flt.client_name is not None:
            where.append(subscriptions.c.client_name == flt.client_name)
        if flt.objects:
            where.append(or_(*(subscriptions.c.objects.like(f"%,{o.value},%") for o in flt.objects)))
        return await self.select_page(where, flt.page)

    async def candidates(
        self, kind: str, program_id: str | None
    ) -> builtins.list[tuple[Subscription, str, str | None]]:
        """Subscriptions that name `kind` (and, for program-bound objects, this program or none)."""
        where: list[ColumnElement[bool]] = [subscriptions.c.objects.like(f"%,{kind},%")]
        if program_id is not None:
            where.append(subscriptions.c.program_id.is_(None) | (subscriptions.c.program_id == program_id))
        query = select(subscriptions.c.doc, subscriptions.c.role, subscriptions.c.secret).where(*where)
        rows = (await self.conn.execute(query.order_by(subscriptions.c.created_us, subscriptions.c.id))).all()
        return [(load(Subscription, r[0]), str(r[1]), r[2]) for r in rows]

    async def secret_of(self, subscription_id: str) -> str | None:
        row = (
            await self.conn.execute(
                select(subscriptions.c.secret).where(subscriptions.c.id == subscription_id)
            )
        ).first()
        return None if row is None or row[0] is None else str(row[0])
