"""Read-only queries of the operator console (vtn/console) that no API answer needs.

Every query is bounded and indexed so that a page stays fast at 100,000 VENs: the VEN list pages by
keyset on the unique `ven_name` index (a name prefix is a range on it), counts run on indexes, the
reports-per-minute series reads the (created_us, id) index of one hour, and "online" reads the
(role, last_seen_us) index of client_contacts for the last few minutes, joined to VENs on their
indexed client_id. The one write here,
`retry_now`, runs only inside the core's write path (Core.run).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.enums import Role
from shared.models import Report, Ven
from vtn.storage import _rows
from vtn.storage.clients import ClientRecord, _record
from vtn.storage.tables import (
    OUTBOX_PENDING,
    client_contacts,
    clients,
    outbox,
    reports,
    resources,
    subscription_health,
    subscriptions,
    vens,
)

MINUTE_US = 60_000_000
_PREFIX_END = "\U0010ffff"


@dataclass(frozen=True, slots=True)
class VenPage:
    vens: list[Ven]
    next_after: str | None  # the ven_name to continue after, None on the last page
    resource_counts: dict[str, int]
    last_contact_us: dict[str, int]  # client_id -> when it last called; absent = never


@dataclass(frozen=True, slots=True)
class OutboxHealth:
    pending: int
    dead: int
    oldest_pending_us: int | None
    unhealthy_subscriptions: int


@dataclass(frozen=True, slots=True)
class SubscriptionRow:
    id: str
    client_name: str
    program_id: str | None
    objects: str
    status: str
    consecutive_failures: int
    last_error: str | None


class ConsoleQueries:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def ven_page(self, prefix: str, after: str | None, limit: int) -> VenPage:
        """VENs ordered by name whose name starts with `prefix`, after the name `after`."""
        query = select(vens.c.doc, vens.c.ven_name, vens.c.id)
        if prefix:
            query = query.where(vens.c.ven_name >= prefix, vens.c.ven_name < prefix + _PREFIX_END)
        if after is not None:
            query = query.where(vens.c.ven_name > after)
        rows = (await self.conn.execute(query.order_by(vens.c.ven_name).limit(limit + 1))).all()
        more = len(rows) > limit
        rows = rows[:limit]
        ids = [str(r.id) for r in rows]
        counts: dict[str, int] = {}
        if ids:
            counted = select(resources.c.ven_id, func.count()).where(resources.c.ven_id.in_(ids))
            for ven_id, n in (await self.conn.execute(counted.group_by(resources.c.ven_id))).all():
                counts[str(ven_id)] = int(n)
        loaded = [_rows.load(Ven, str(r.doc)) for r in rows]
        return VenPage(
            vens=loaded,
            next_after=str(rows[-1].ven_name) if more and rows else None,
            resource_counts=counts,
            last_contact_us=await self.last_contacts([v.client_id for v in loaded]),
        )

    async def last_contacts(self, client_ids: list[str]) -> dict[str, int]:
        """When each of `client_ids` last called the VTN (primary key lookups); absent = never."""
        if not client_ids:
            return {}
        query = select(client_contacts.c.client_id, client_contacts.c.last_seen_us).where(
            client_contacts.c.client_id.in_(sorted(set(client_ids)))
        )
        return {str(c): int(t) for c, t in (await self.conn.execute(query)).all()}

    async def vens_online(self, since_us: int) -> int:
        """VENs whose client called at or after `since_us`."""
        query = (
            select(func.count())
            .select_from(vens)
            .join(client_contacts, client_contacts.c.client_id == vens.c.client_id)
            .where(client_contacts.c.role == Role.VEN.value, client_contacts.c.last_seen_us >= since_us)
        )
        return int((await self.conn.execute(query)).scalar_one())

    async def last_reports(self, client_id: str, limit: int) -> list[Report]:
        """A client's newest reports, newest first (index on client_id)."""
        query = (
            select(reports.c.doc)
            .where(reports.c.client_id == client_id)
            .order_by(reports.c.created_us.desc(), reports.c.id.desc())
            .limit(limit)
        )
        return [_rows.load(Report, str(r[0])) for r in (await self.conn.execute(query)).all()]

    async def client_page(self, after: str | None, limit: int) -> tuple[list[ClientRecord], str | None]:
        """OAuth clients by name after `after` (unique index on name); the name to continue after."""
        query = select(clients).order_by(clients.c.name).limit(limit + 1)
        if after is not None:
            query = query.where(clients.c.name > after)
        rows = (await self.conn.execute(query)).all()
        found = [_record(r) for r in rows[:limit]]
        return found, found[-1].name if len(rows) > limit else None

    async def ven_count(self) -> int:
        return int((await self.conn.execute(select(func.count()).select_from(vens))).scalar_one())

    async def outbox_health(self) -> OutboxHealth:
        counts: dict[str, int] = dict(
            (await self.conn.execute(select(outbox.c.status, func.count()).group_by(outbox.c.status))).all()
        )
        oldest = (
            await self.conn.execute(select(func.min(outbox.c.created_us)).where(OUTBOX_PENDING))
        ).scalar_one()
        unhealthy = (
            await self.conn.execute(
                select(func.count())
                .select_from(subscription_health)
                .where(subscription_health.c.status == "unhealthy")
            )
        ).scalar_one()
        return OutboxHealth(
            pending=int(counts.get("pending", 0)),
            dead=int(counts.get("dead", 0)),
            oldest_pending_us=None if oldest is None else int(oldest),
            unhealthy_subscriptions=int(unhealthy),
        )

    async def reports_per_minute(self, now_us: int, minutes: int) -> list[int]:
        """Reports received in each of the last `minutes` minutes, oldest first."""
        start = now_us - minutes * MINUTE_US
        bucket = (reports.c.created_us - start) / MINUTE_US
        query = (
            select(func.floor(bucket), func.count())
            .where(reports.c.created_us >= start)
            .group_by(func.floor(bucket))
        )
        series = [0] * minutes
        for index, n in (await self.conn.execute(query)).all():
            i = int(index)
            if 0 <= i < minutes:
                series[i] += int(n)
        return series

    async def subscriptions(self, limit: int) -> list[SubscriptionRow]:
        query = (
            select(
                subscriptions.c.id,
                subscriptions.c.client_name,
                subscriptions.c.program_id,
                subscriptions.c.objects,
                subscription_health.c.status,
                subscription_health.c.consecutive_failures,
                subscription_health.c.last_error,
            )
            .outerjoin(subscription_health, subscription_health.c.subscription_id == subscriptions.c.id)
            .order_by(subscriptions.c.created_us, subscriptions.c.id)
            .limit(limit)
        )
        return [
            SubscriptionRow(
                id=str(r[0]),
                client_name=str(r[1]),
                program_id=None if r[2] is None else str(r[2]),
                objects=str(r[3]),
                status=str(r[4] or "healthy"),
                consecutive_failures=int(r[5] or 0),
                last_error=None if r[6] is None else str(r[6]),
            )
            for r in (await self.conn.execute(query)).all()
        ]

    async def retry_now(self, subscription_id: str, now_us: int) -> int:
        """Make a subscription's waiting and given-up notifications due now; how many."""
        result = await self.conn.execute(
            update(outbox)
            .where(
                and_(outbox.c.subscription_id == subscription_id, outbox.c.status.in_(("pending", "dead")))
            )
            .values(status="pending", next_attempt_us=now_us, lease_until_us=None, lease_owner=None)
        )
        await self.conn.execute(
            update(subscription_health)
            .where(subscription_health.c.subscription_id == subscription_id)
            .values(status="healthy", consecutive_failures=0)
        )
        return int(result.rowcount or 0)
