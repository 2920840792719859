"""Row <-> model plumbing shared by the per-object repositories (private to vtn/storage)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, Table, delete, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.durations import from_us as from_us  # re-exported for the repositories
from shared.durations import to_us as to_us
from shared.enums import ObjectType
from shared.errors import Conflict
from shared.models.base import WireModel
from vtn.storage.tables import object_targets

M = TypeVar("M", bound=WireModel)


def load(model: type[M], doc: str) -> M:
    return model.model_validate_json(doc)


async def insert_row(conn: AsyncConnection, table: Table, values: dict[str, Any], conflict: str) -> None:
    """Insert, turning a uniqueness violation into a 409 whose detail says what clashed."""
    # No savepoint of its own: every write runs in a unit (transaction or group-commit savepoint)
    # that is rolled back as a whole when this raises.
    try:
        await conn.execute(insert(table).values(**values))
    except IntegrityError as exc:
        raise Conflict(_what_clashed(table, values, exc, conflict)) from exc


def _what_clashed(table: Table, values: dict[str, Any], exc: IntegrityError, conflict: str) -> str:
    """Say so when the id clashed (ids are unique across all owners) rather than a named field."""
    text = str(exc.orig if exc.orig is not None else exc)
    # SQLite: "UNIQUE constraint failed: resources.id"; PostgreSQL: '... constraint "pk_resources"'.
    if text.rstrip().endswith(f"{table.name}.id") or f'"pk_{table.name}"' in text:
        kind = table.name.removesuffix("s")
        taken = values.get("id")
        return f"a {kind} with id {taken!r} already exists (ids are unique on this VTN): choose another id"
    return conflict


async def update_row(
    conn: AsyncConnection, table: Table, object_id: str, values: dict[str, Any], conflict: str
) -> None:
    try:
        await conn.execute(table.update().where(table.c.id == object_id).values(**values))
    except IntegrityError as exc:
        raise Conflict(_what_clashed(table, values, exc, conflict)) from exc


async def fetch_doc(conn: AsyncConnection, table: Table, where: ColumnElement[bool]) -> str | None:
    row = (await conn.execute(select(table.c.doc).where(where))).first()
    return None if row is None else str(row[0])


def page_query(query: Select[Any], table: Table, skip: Any, limit: Any, max_bytes: Any = None) -> Select[Any]:
    """A doc query (its columns, the document first) in the stable list order (creation time, then
    id) with skip/limit (ints or bound parameters).

    With `max_bytes`, the database keeps only the leading documents of the page whose lengths sum
    to less than the budget before each is added (the first always), so oversized pages never reach
    this process: the running sum is a window over the page, not over everything before `skip`.
    """
    ordered = query.order_by(table.c.created_us, table.c.id).offset(skip).limit(limit)
    if max_bytes is None:
        return ordered
    # The page's ids and sizes first, without the documents (sorting megabytes of documents cost the
    # database hundreds of MB), then only the documents that fit.
    size = func.length(table.c.doc).label("n")
    page = ordered.with_only_columns(table.c.id, table.c.created_us, size).subquery()
    running = func.sum(page.c.n).over(order_by=(page.c.created_us, page.c.id))
    sized = select(page.c.id, page.c.n, running.label("run")).subquery()
    fitting = select(sized.c.id).where(sized.c.run - sized.c.n < max_bytes)
    return (
        select(*query.selected_columns)
        .where(table.c.id.in_(fitting))
        .order_by(table.c.created_us, table.c.id)
    )


async def set_targets(
    conn: AsyncConnection, kind: ObjectType, object_id: str, targets: Iterable[str] | None
) -> None:
    """Replace the indexed target rows of one object."""
    await conn.execute(
        delete(object_targets).where(object_targets.c.kind == kind, object_targets.c.object_id == object_id)
    )
    unique = sorted(set(targets or ()))
    if unique:
        await conn.execute(
            insert(object_targets), [{"kind": kind, "object_id": object_id, "target": t} for t in unique]
        )


async def clear_targets(conn: AsyncConnection, kind: ObjectType, object_ids: Sequence[str]) -> None:
    if object_ids:
        await conn.execute(
            delete(object_targets).where(
                object_targets.c.kind == kind, object_targets.c.object_id.in_(list(object_ids))
            )
        )


def has_target_where(kind: ObjectType, id_column: Any, condition: ColumnElement[bool]) -> ColumnElement[bool]:
    """SQL: the object has a target row meeting `condition` (on object_targets.target), so that a
    prebuilt statement can bind the targets as it likes (see reports.py)."""
    return (
        select(object_targets.c.object_id)
        .where(object_targets.c.kind == kind, object_targets.c.object_id == id_column, condition)
        .exists()
    )


def is_untargeted(kind: ObjectType, id_column: Any) -> ColumnElement[bool]:
    """SQL: the object has no targets at all."""
    return ~(
        select(object_targets.c.object_id)
        .where(object_targets.c.kind == kind, object_targets.c.object_id == id_column)
        .exists()
    )


def sandbox_clause(column: Any, sandbox: Any) -> ColumnElement[bool]:
    """SQL: a real object (no sandbox owner), or one of the sandbox client `sandbox` (a clientID or
    a bind parameter; None: real objects only)."""
    real: ColumnElement[bool] = column.is_(None)
    return real if sandbox is None else real | (column == sandbox)
