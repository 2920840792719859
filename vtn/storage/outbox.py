"""The notification outbox: enqueue inside the change's transaction, claim with a lease, settle.

Ordering: only the oldest pending row of a sink is ever claimable, so one subscription's
notifications go out strictly in order while different subscriptions proceed in parallel.
Crash safety: a claim is a lease (`lease_until_us`, `lease_owner`); if the process that holds it
dies, the lease runs out and any process claims the row again. Delivery is therefore at least once.
A claim also moves `next_attempt_us` to the end of the lease, so leased rows fall out of the "due"
range the claim query walks (in index order, stopping at its limit) instead of being re-examined
by every claim while they are in flight.
Settling is guarded by the lease owner: a worker whose lease ran out (and was taken over) cannot
overwrite the new holder's state.
On PostgreSQL the claim uses FOR UPDATE SKIP LOCKED so several VTN processes share the work.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any, NamedTuple, TypeVar

from sqlalchemy import (
    Table,
    and_,
    bindparam,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from vtn.storage.outbox_sql import SETTLE, SETTLE_PG, claim_statement
from vtn.storage.tables import (
    OUTBOX_PENDING,
    delivery_attempts,
    notification_bodies,
    outbox,
    subscription_health,
)

T = TypeVar("T")

# Ids per IN list: below the bind-parameter limits of SQLite (32,766) and asyncpg (32,767).
_CHUNK = 5000


_SINK = itemgetter(1)  # OutboxItem.sink


def _chunks(values: Sequence[T]) -> Iterator[list[T]]:
    for start in range(0, len(values), _CHUNK):
        yield list(values[start : start + _CHUNK])


# Named tuples rather than frozen dataclasses: fan-out and delivery handle 10,000s of them at once,
# and a frozen dataclass costs several times as much to construct.


class OutboxItem(NamedTuple):
    """One notification for one sink, as enqueued."""

    notification_id: str
    sink: str
    subscription_id: str | None
    target: str
    bearer_token: str | None
    signature: str | None
    body: str


class Claimed(NamedTuple):
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
    lease_until_us: int = 0  # the claimant may start a delivery only if it ends before this


class Attempt(NamedTuple):
    notification_id: str
    at_us: int
    status_code: int | None
    error: str | None
    duration_ms: int


class Failure(NamedTuple):
    """A failed delivery, for the subscription's health; `unhealthy` when its retries ran out."""

    subscription_id: str
    at_us: int
    error: str
    unhealthy: bool


@dataclass(frozen=True, slots=True)
class Health:
    status: str
    consecutive_failures: int
    last_success_us: int | None
    last_failure_us: int | None
    last_error: str | None
    pending: int


# Claimed's fields, then the body row of a row whose body is stored once for several (body NULL).
_CLAIMED_COLUMNS = [*(getattr(outbox.c, f) for f in Claimed._fields), outbox.c.body_id]
_BODY_AT = Claimed._fields.index("body")
# OutboxItem's fields, then the state of a new row.
_ENQUEUE_COLUMNS = (*OutboxItem._fields, "body_id", "status", "attempts", "created_us", "next_attempt_us")
_ATTEMPT_COLUMNS = (
    "outbox_id",
    "notification_id",
    "subscription_id",
    "at_us",
    "status_code",
    "error",
    "duration_ms",
)
_HEALTH_FIELDS = ("status", "consecutive_failures", "last_success_us", "last_failure_us", "last_error")


# Built once (as usage.py's statements): a claim runs several times a second even when idle, and a
# statement tree built per call left thousands of objects in reference cycles for the collector
# (bench/findings.md, "Soak"), besides the CPU of building and cache-keying it.
_CLAIM = claim_statement(_CLAIMED_COLUMNS, for_update=False)
_CLAIM_PG = claim_statement(_CLAIMED_COLUMNS, for_update=True)


class OutboxRepo:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def enqueue(self, items: Sequence[OutboxItem], now_us: int) -> None:
        """Insert the rows; a body several of them carry (a fan-out's) is stored once, in
        notification_bodies, and those rows refer to it: 100,000 copies of a 1 kB body were most
        of what a fan-out wrote, and again what each claim read back."""
        if not items:
            return
        if len(items) > 1:
            # In sink order (stable: one sink's rows keep theirs): a fan-out's sinks are random ids,
            # and inserting them in that order touched a random page of the sink and subscription
            # indexes per row (beyond the page cache at 100,000 rows); in order, each page once. The
            # claim, settle and delivery log then walk those indexes in order too.
            items = sorted(items, key=_SINK)
        uses: dict[str, int] = {}
        for item in items:
            uses[item.body] = uses.get(item.body, 0) + 1
        shared: dict[str, int] = {}
        for body, n in uses.items():
            if n > 1:
                statement = insert(notification_bodies).returning(notification_bodies.c.id)
                shared[body] = (
                    await self.conn.execute(statement, {"body": body, "created_us": now_us})
                ).scalar_one()
        rest = ("pending", 0, now_us, now_us)
        rows: list[tuple[Any, ...]]
        if not shared:
            rows = [(*i, None, *rest) for i in items]
        else:
            rows = [
                (*i[:-1], None, body_id, *rest)  # body is OutboxItem's last field
                if (body_id := shared.get(i.body)) is not None
                else (*i, None, *rest)
                for i in items
            ]
        await self._insert_many(outbox, _ENQUEUE_COLUMNS, rows)

    async def _insert_many(self, table: Table, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
        """executemany of an INSERT compiled for the dialect, with plain tuples: for 10,000s of rows
        SQLAlchemy's per-row parameter processing cost as much as the insert itself, and these values
        (str, int, None) need no conversion."""
        if not rows:
            return
        compiled = insert(table).compile(dialect=self.conn.dialect, column_keys=list(columns))
        order = compiled.positiontup
        if order is None:  # a named paramstyle: let SQLAlchemy bind (not the case for sqlite/asyncpg)
            await self.conn.execute(insert(table), [dict(zip(columns, r, strict=True)) for r in rows])
            return
        at = [columns.index(name) for name in order]
        if at != list(range(len(columns))):
            pick = itemgetter(*at)  # C-level reordering: a generator per row cost as much as the insert
            rows = [pick(r) for r in rows] if len(at) > 1 else [(r[at[0]],) for r in rows]
        await self.conn.exec_driver_sql(compiled.string, rows)

    async def claim(self, owner: str, now_us: int, lease_us: int, limit: int) -> list[Claimed]:
        """Lease up to `limit` deliverable rows: due, unleased, and the head of their sink."""
        claim = _CLAIM_PG if self.conn.dialect.name == "postgresql" else _CLAIM
        until = now_us + lease_us
        params = {"c_now": now_us, "c_limit": limit, "c_until": until, "c_owner": owner}
        rows = (await self.conn.execute(claim, params)).all()
        shared = {r[-1] for r in rows if r[-1] is not None}
        if not shared:
            return sorted((Claimed(*r[:-1]) for r in rows), key=lambda c: c.id)
        found = select(notification_bodies.c.id, notification_bodies.c.body).where(
            notification_bodies.c.id.in_(sorted(shared))
        )
        # One str per body for all its rows: the sender builds its bytes once, by that str.
        bodies: dict[int, str] = {r[0]: r[1] for r in (await self.conn.execute(found)).all()}
        claimed = [
            Claimed._make((*r[:_BODY_AT], bodies[r[-1]], *r[_BODY_AT + 1 : -1]))
            if r[-1] is not None
            else Claimed(*r[:-1])
            for r in rows
        ]
        claimed.sort(key=lambda c: c.id)
        return claimed

    async def delivered(self, owner: str, ids: Sequence[int], now_us: int) -> None:
        await self._settle("delivered", owner, ids, now_us)

    async def retry_later(self, owner: str, retries: Sequence[tuple[int, int]]) -> None:
        """(id, next_attempt_us) for each row to try again, in one executemany."""
        if retries:
            await self.conn.execute(
                update(outbox)
                .where(outbox.c.id == bindparam("b_id"), outbox.c.lease_owner == owner)
                .values(
                    next_attempt_us=bindparam("b_next"),
                    lease_until_us=None,
                    attempts=outbox.c.attempts + 1,
                ),
                [{"b_id": item_id, "b_next": next_us} for item_id, next_us in retries],
            )

    async def give_up(self, owner: str, ids: Sequence[int], now_us: int) -> None:
        await self._settle("dead", owner, ids, now_us)

    async def release(self, owner: str, ids: Sequence[int], now_us: int) -> None:
        """Give back leased rows that were not attempted: claimable again at once, no attempt counted."""
        await self._settle("release", owner, ids, now_us)

    async def _settle(self, what: str, owner: str | None, ids: Sequence[Any], at_us: int) -> None:
        if not ids:
            return
        pg = self.conn.dialect.name == "postgresql"
        statement = (SETTLE_PG if pg else SETTLE)[what]
        params = {"ids": list(ids) if pg else json.dumps(list(ids)), "at": at_us}
        if owner is not None:
            params["owner"] = owner
        await self.conn.execute(statement, params)

    async def log_attempts(self, rows: Sequence[tuple[Claimed, Attempt]]) -> None:
        await self._insert_many(
            delivery_attempts,
            _ATTEMPT_COLUMNS,
            [
                (c.id, a.notification_id, c.subscription_id, a.at_us, a.status_code, a.error, a.duration_ms)
                for c, a in rows
            ],
        )

    async def record_failures(self, failures: Sequence[Failure]) -> None:
        """Count consecutive failures per subscription (one read, then one executemany each way)."""
        if not failures:
            return
        ids = sorted({f.subscription_id for f in failures})
        state: dict[str, dict[str, Any]] = {}
        for chunk in _chunks(ids):
            query = select(subscription_health).where(subscription_health.c.subscription_id.in_(chunk))
            for row in (await self.conn.execute(query)).all():
                state[row.subscription_id] = dict(row._mapping)
        known = set(state)
        for f in failures:
            current = state.get(f.subscription_id)
            state[f.subscription_id] = {
                "subscription_id": f.subscription_id,
                "status": "unhealthy" if f.unhealthy else (current["status"] if current else "healthy"),
                "consecutive_failures": (current["consecutive_failures"] if current else 0) + 1,
                "last_success_us": current["last_success_us"] if current else None,
                "last_failure_us": f.at_us,
                "last_error": f.error,
            }
        touched = {f.subscription_id for f in failures}
        if new := [state[i] for i in sorted(touched - known)]:
            await self.conn.execute(insert(subscription_health), new)
        if old := sorted(touched & known):
            # Bind names must differ from the column names an UPDATE sets.
            await self.conn.execute(
                update(subscription_health)
                .where(subscription_health.c.subscription_id == bindparam("b_id"))
                .values({k: bindparam(f"b_{k}") for k in _HEALTH_FIELDS}),
                [{"b_id": i, **{f"b_{k}": state[i][k] for k in _HEALTH_FIELDS}} for i in old],
            )

    async def mark_healthy(self, subscription_ids: Sequence[str], now_us: int) -> None:
        """A delivery succeeded: reset the failure streak of those that have a health row."""
        await self._settle("healthy", None, sorted(set(subscription_ids)), now_us)

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
                    .where(and_(outbox.c.subscription_id == subscription_id, OUTBOX_PENDING))
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

    async def purge(self, before_us: int, limit: int) -> int:
        """Delete up to `limit` finished rows (delivered, dead) and log entries older than `before_us`.

        Oldest first by id (ids grow with time), so each batch reads little more than it deletes.
        Returns how many rows went, so the caller can go on while a batch comes back full.
        """
        finished = (
            select(outbox.c.id)
            .where(outbox.c.status.in_(("delivered", "dead")), outbox.c.done_us < before_us)
            .order_by(outbox.c.id)
            .limit(limit)
        )
        gone = (await self.conn.execute(delete(outbox).where(outbox.c.id.in_(finished)))).rowcount or 0
        logged = (
            select(delivery_attempts.c.id)
            .where(delivery_attempts.c.at_us < before_us)
            .order_by(delivery_attempts.c.id)
            .limit(limit)
        )
        gone += (
            await self.conn.execute(delete(delivery_attempts).where(delivery_attempts.c.id.in_(logged)))
        ).rowcount or 0
        # Shared bodies no outbox row refers to any more (their rows were purged above, or earlier).
        referred = select(outbox.c.id).where(outbox.c.body_id == notification_bodies.c.id).exists()
        unused = (
            select(notification_bodies.c.id)
            .where(notification_bodies.c.created_us < before_us, ~referred)
            .order_by(notification_bodies.c.id)
            .limit(limit)
        )
        gone += (
            await self.conn.execute(delete(notification_bodies).where(notification_bodies.c.id.in_(unused)))
        ).rowcount or 0
        return int(gone)

    async def pending_count(self) -> int:
        query = select(func.count()).select_from(outbox).where(OUTBOX_PENDING)
        return int((await self.conn.execute(query)).scalar_one())
