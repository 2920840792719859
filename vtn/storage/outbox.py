"""The notification outbox: enqueue inside the change's transaction, claim with a lease, settle.

Ordering: only the oldest pending row of a sink is ever claimable, so one subscription's
notifications go out strictly in order while different subscriptions proceed in parallel.
Crash safety: a claim is a lease (`lease_until_us`); if the process that holds it dies, the lease
runs out and any process claims the row again. Delivery is therefore at least once.
On PostgreSQL the claim uses FOR UPDATE SKIP LOCKED so several VTN processes share the work.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import and_, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from vtn.storage.tables import delivery_attempts, outbox, subscription_health


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """One notification for one sink, as enqueued."""

    notification_id: str
    sink: str
    subscription_id: str | None
    target: str
    bearer_token: str | None
    signature: str | None
    body: str


@dataclass(frozen=True, slots=True)
class Claimed:
    id: int
    notification_id: str
    sink: str
    subscription_id: str | None
    target: str
    bearer_token: str | None
    signature: str | None
    body: str
    attempts: int
    created_us: int


@dataclass(frozen=True, slots=True)
class Attempt:
    notification_id: str
    at_us: int
    status_code: int | None
    error: str | None
    duration_ms: int


@dataclass(frozen=True, slots=True)
class Health:
    status: str
    consecutive_failures: int
    last_success_us: int | None
    last_failure_us: int | None
    last_error: str | None
    pending: int


class OutboxRepo:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def enqueue(self, items: Sequence[OutboxItem], now_us: int) -> None:
        if not items:
            return
        rows = [
            {
                "notification_id": i.notification_id,
                "sink": i.sink,
                "subscription_id": i.subscription_id,
                "target": i.target,
                "bearer_token": i.bearer_token,
                "signature": i.signature,
                "body": i.body,
                "status": "pending",
                "attempts": 0,
                "created_us": now_us,
                "next_attempt_us": now_us,
            }
            for i in items
        ]
        await self.conn.execute(insert(outbox), rows)

    async def claim(self, owner: str, now_us: int, lease_us: int, limit: int) -> list[Claimed]:
        """Lease up to `limit` deliverable rows: due, unleased, and the head of their sink."""
        older = outbox.alias("older")
        head = ~(
            select(older.c.id)
            .where(older.c.sink == outbox.c.sink, older.c.status == "pending", older.c.id < outbox.c.id)
            .exists()
        )
        query = (
            select(outbox.c.id)
            .where(
                outbox.c.status == "pending",
                outbox.c.next_attempt_us <= now_us,
                (outbox.c.lease_until_us.is_(None)) | (outbox.c.lease_until_us < now_us),
                head,
            )
            .order_by(outbox.c.id)
            .limit(limit)
        )
        if self.conn.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True, of=outbox)
        ids = [r[0] for r in (await self.conn.execute(query)).all()]
        if not ids:
            return []
        await self.conn.execute(
            update(outbox)
            .where(outbox.c.id.in_(ids))
            .values(lease_until_us=now_us + lease_us, lease_owner=owner)
        )
        rows = (
            await self.conn.execute(select(outbox).where(outbox.c.id.in_(ids)).order_by(outbox.c.id))
        ).all()
        return [
            Claimed(
                id=r.id,
                notification_id=r.notification_id,
                sink=r.sink,
                subscription_id=r.subscription_id,
                target=r.target,
                bearer_token=r.bearer_token,
                signature=r.signature,
                body=r.body,
                attempts=r.attempts,
                created_us=r.created_us,
            )
            for r in rows
        ]

    async def delivered(self, ids: Sequence[int], now_us: int) -> None:
        if ids:
            await self.conn.execute(
                update(outbox)
                .where(outbox.c.id.in_(list(ids)))
                .values(
                    status="delivered", done_us=now_us, lease_until_us=None, attempts=outbox.c.attempts + 1
                )
            )

    async def retry_later(self, item_id: int, next_attempt_us: int) -> None:
        await self.conn.execute(
            update(outbox)
            .where(outbox.c.id == item_id)
            .values(next_attempt_us=next_attempt_us, lease_until_us=None, attempts=outbox.c.attempts + 1)
        )

    async def give_up(self, item_id: int, now_us: int) -> None:
        await self.conn.execute(
            update(outbox)
            .where(outbox.c.id == item_id)
            .values(status="dead", done_us=now_us, lease_until_us=None, attempts=outbox.c.attempts + 1)
        )

    async def log_attempts(self, rows: Sequence[tuple[Claimed, Attempt]]) -> None:
        if rows:
            await self.conn.execute(
                insert(delivery_attempts),
                [
                    {
                        "outbox_id": c.id,
                        "notification_id": a.notification_id,
                        "subscription_id": c.subscription_id,
                        "at_us": a.at_us,
                        "status_code": a.status_code,
                        "error": a.error,
                        "duration_ms": a.duration_ms,
                    }
                    for c, a in rows
                ],
            )

    async def record_health(
        self, subscription_id: str, ok: bool, now_us: int, error: str | None, unhealthy: bool
    ) -> None:
        """Track consecutive failures; `unhealthy` marks a subscription whose retries ran out."""
        current = (
            await self.conn.execute(
                select(subscription_health).where(subscription_health.c.subscription_id == subscription_id)
            )
        ).first()
        failures = 0 if ok else (current.consecutive_failures if current else 0) + 1
        values = {
            "status": "unhealthy"
            if unhealthy
            else ("healthy" if ok else (current.status if current else "healthy")),
            "consecutive_failures": failures,
            "last_success_us": now_us if ok else (current.last_success_us if current else None),
            "last_failure_us": (current.last_failure_us if current else None) if ok else now_us,
            "last_error": (current.last_error if current else None) if ok else error,
        }
        if current is None:
            await self.conn.execute(
                insert(subscription_health).values(subscription_id=subscription_id, **values)
            )
        else:
            await self.conn.execute(
                update(subscription_health)
                .where(subscription_health.c.subscription_id == subscription_id)
                .values(**values)
            )

    async def mark_healthy(self, subscription_ids: Sequence[str], now_us: int) -> None:
        """A delivery succeeded: reset the failure streak of those that have a health row."""
        ids = sorted(set(subscription_ids))
        if ids:
            await self.conn.execute(
                update(subscription_health)
                .where(subscription_health.c.subscription_id.in_(ids))
                .values(status="healthy", consecutive_failures=0, last_success_us=now_us)
            )

    async def attempts_for(self, subscription_id: str, limit: int) -> list[Attempt]:
        rows = (
            await self.conn.execute(
                select(delivery_attempts)
                .where(delivery_attempts.c.subscription_id == subscription_id)
                .order_by(delivery_attempts.c.id.desc())
                .limit(limit)
            )
        ).all()
        return [Attempt(r.notification_id, r.at_us, r.status_code, r.error, r.duration_ms) for r in rows]

    async def health_of(self, subscription_id: str) -> Health:
        row = (
            await self.conn.execute(
                select(subscription_health).where(subscription_health.c.subscription_id == subscription_id)
            )
        ).first()
        pending = int(
            (
                await self.conn.execute(
                    select(func.count())
                    .select_from(outbox)
                    .where(and_(outbox.c.subscription_id == subscription_id, outbox.c.status == "pending"))
                )
            ).scalar_one()
        )
        if row is None:
            # No failure was ever recorded: healthy once anything got through.
            ok = (
                await self.conn.execute(
                    select(delivery_attempts.c.id)
                    .where(
                        delivery_attempts.c.subscription_id == subscription_id,
                        delivery_attempts.c.error.is_(None),
                    )
                    .limit(1)
                )
            ).first()
            return Health("healthy" if ok else "new", 0, None, None, None, pending)
        return Health(
            row.status,
            row.consecutive_failures,
            row.last_success_us,
            row.last_failure_us,
            row.last_error,
            pending,
        )

    async def pending_count(self) -> int:
        query = select(func.count()).select_from(outbox).where(outbox.c.status == "pending")
        return int((await self.conn.execute(query)).scalar_one())
