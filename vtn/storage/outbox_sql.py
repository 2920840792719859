"""The outbox's claim and settle statements (vtn/storage/outbox.py runs them), built once each.

The claim leases the deliverable rows: due, unleased, the head of their sink. Settling updates the
rows of a batch by one statement with one list parameter (`ids`), whatever the batch's size.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import BigInteger, Integer, String, bindparam, func, literal_column, or_, select, update
from sqlalchemy.dialects.postgresql import ARRAY

from vtn.storage.tables import outbox, subscription_health

_PENDING: Any = literal_column("'pending'")  # a literal: see OUTBOX_PENDING


def claim_statement(returning: Sequence[Any], for_update: bool) -> Any:
    """UPDATE ... RETURNING of the rows a claim leases (one statement instead of select, update,
    select of the same ids); its values are bound at execution (c_now, c_limit, c_until, c_owner)."""
    due, older = outbox.alias("due"), outbox.alias("older")
    head = ~(
        select(older.c.id)
        .where(older.c.sink == due.c.sink, older.c.status == _PENDING, older.c.id < due.c.id)
        .exists()
    )
    now = bindparam("c_now", type_=outbox.c.next_attempt_us.type)
    pick = (
        select(due.c.id)
        .where(
            due.c.status == _PENDING,
            due.c.next_attempt_us <= now,
            # Rows leased before claims moved next_attempt_us (older versions) are still skipped.
            or_(due.c.lease_until_us.is_(None), due.c.lease_until_us < now),
            head,
        )
        # The order of ix_outbox_pending_next_id: the scan stops after `limit` rows, no sort.
        .order_by(due.c.next_attempt_us, due.c.id)
        .limit(bindparam("c_limit", type_=Integer))
    )
    if for_update:  # PostgreSQL: several VTN processes share the work
        pick = pick.with_for_update(skip_locked=True, of=due)
    until = bindparam("c_until", type_=outbox.c.lease_until_us.type)
    return (
        update(outbox)
        .where(outbox.c.id.in_(pick))
        .values(
            lease_until_us=until,
            lease_owner=bindparam("c_owner", type_=outbox.c.lease_owner.type),
            next_attempt_us=until,
        )
        .returning(*returning)
    )


def _in_list(column: Any, for_pg: bool) -> Any:
    """`column` IN the values bound as `ids`: one parameter however many values (an array on
    PostgreSQL, a JSON array read with json_each on SQLite). Settling a fan-out's batch as
    IN (500 bound ids) cost SQLAlchemy more CPU (rendering and processing the expanded list at
    each execution) than the database spent on it, and 500 single-row UPDATEs cost SQLite more."""
    if for_pg:
        return column == func.any(bindparam("ids", type_=ARRAY(column.type)))
    each: Any = select(literal_column("value")).select_from(func.json_each(bindparam("ids", type_=String)))
    return column.in_(each.scalar_subquery())


def _settle_statement(for_pg: bool, **values: Any) -> Any:
    """UPDATE of leased rows (`ids`, `owner`); `at` is the time the values may use."""
    return (
        update(outbox)
        .where(_in_list(outbox.c.id, for_pg), outbox.c.lease_owner == bindparam("owner"))
        .values(**values)
    )


def _settle_statements(for_pg: bool) -> dict[str, Any]:
    at = bindparam("at", type_=BigInteger)
    plus_one = outbox.c.attempts + 1
    return {
        "delivered": _settle_statement(
            for_pg, status="delivered", done_us=at, lease_until_us=None, attempts=plus_one
        ),
        "dead": _settle_statement(for_pg, status="dead", done_us=at, lease_until_us=None, attempts=plus_one),
        "release": _settle_statement(for_pg, next_attempt_us=at, lease_until_us=None),
        "healthy": update(subscription_health)
        .where(_in_list(subscription_health.c.subscription_id, for_pg))
        .values(status="healthy", consecutive_failures=0, last_success_us=at),
    }


SETTLE = _settle_statements(for_pg=False)
SETTLE_PG = _settle_statements(for_pg=True)
