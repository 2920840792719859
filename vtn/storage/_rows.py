"""Row <-> model plumbing shared by the per-object repositories (private to vtn/storage)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

from sqlalchemy import (
    ColumnElement,
    Executable,
    Select,
    Table,
    bindparam,
    delete,
    false,
    func,
    insert,
    select,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.durations import from_us as from_us  # re-exported for the repositories
from shared.durations import to_us as to_us
from shared.enums import ObjectType
from shared.errors import Conflict
from shared.models.base import WireModel
from vtn.storage import direct
from vtn.storage.tables import events, object_targets, programs

M = TypeVar("M", bound=WireModel)


def load(model: type[M], doc: str) -> M:
    return model.model_validate_json(doc)


# The write statements are built once (per table and set of columns) and sent straight to the
# driver inside a write transaction (direct.py): building, cache-keying and running each through
# SQLAlchemy cost more than SQLite's own work for an object's write (bench/findings.md, issue 16).


def _insert_of(table: Table, names: tuple[str, ...]) -> Executable:
    return insert(table).values({name: bindparam(name, type_=table.c[name].type) for name in names})


def _update_of(table: Table, names: tuple[str, ...]) -> Executable:
    # SET parameters named apart from the columns: SQLAlchemy reserves a column's own name.
    sets = {name: bindparam(f"set_{name}", type_=table.c[name].type) for name in names}
    return table.update().where(table.c.id == bindparam("where_id", type_=table.c.id.type)).values(sets)


async def insert_row(conn: AsyncConnection, table: Table, values: dict[str, Any], conflict: str) -> None:
    """Insert, turning a uniqueness violation into a 409 whose detail says what clashed."""
    # No savepoint of its own: every write runs in a unit (transaction or group-commit savepoint)
    # that is rolled back as a whole when this raises.
    names = tuple(values)
    statement = direct.kept(conn, ("insert", table.name, names), lambda: _insert_of(table, names))
    try:
        await direct.execute(conn, statement, values)
    except direct.UNIQUE_VIOLATIONS as exc:
        raise Conflict(_what_clashed(table, values, exc, conflict)) from exc


def _what_clashed(table: Table, values: dict[str, Any], exc: Exception, conflict: str) -> str:
    """Say so when the id clashed (ids are unique across all owners) rather than a named field."""
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc)
    # SQLite: "UNIQUE constraint failed: resources.id"; PostgreSQL: '... constraint "pk_resources"'.
    if text.rstrip().endswith(f"{table.name}.id") or f'"pk_{table.name}"' in text:
        kind = table.name.removesuffix("s")
        taken = values.get("id")
        return f"a {kind} with id {taken!r} already exists (ids are unique on this VTN): choose another id"
    return conflict


async def update_row(
    conn: AsyncConnection, table: Table, object_id: str, values: dict[str, Any], conflict: str
) -> None:
    names = tuple(values)
    statement = direct.kept(conn, ("update", table.name, names), lambda: _update_of(table, names))
    params = {f"set_{name}": value for name, value in values.items()}
    params["where_id"] = object_id
    try:
        await direct.execute(conn, statement, params)
    except direct.UNIQUE_VIOLATIONS as exc:
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
        .select_from(*query.get_final_froms())  # a join's, not each column's table
        .where(table.c.id.in_(fitting))
        .order_by(table.c.created_us, table.c.id)
    )


_ID = bindparam("object_id", type_=object_targets.c.object_id.type)
_KIND = bindparam("kind", type_=object_targets.c.kind.type)
_TARGETS_OF = delete(object_targets).where(object_targets.c.kind == _KIND, object_targets.c.object_id == _ID)
_ADD_TARGET = insert(object_targets).values(
    kind=_KIND, object_id=_ID, target=bindparam("target", type_=object_targets.c.target.type)
)


async def set_targets(
    conn: AsyncConnection, kind: ObjectType, object_id: str, targets: Iterable[str] | None
) -> None:
    """Replace the indexed target rows of one object."""
    await direct.execute(conn, _TARGETS_OF, {"kind": kind, "object_id": object_id})
    unique = sorted(set(targets or ()))
    if unique:
        rows = [{"kind": kind, "object_id": object_id, "target": t} for t in unique]
        await direct.execute_many(conn, _ADD_TARGET, rows)


async def clear_targets(conn: AsyncConnection, kind: ObjectType, object_ids: Sequence[str]) -> None:
    if len(object_ids) == 1:
        await direct.execute(conn, _TARGETS_OF, {"kind": kind, "object_id": object_ids[0]})
    elif object_ids:
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


def is_untargeted(kind: ObjectType, table: Table) -> ColumnElement[bool]:
    """SQL: the object (a row of `table`) has no targets at all. An event says so in its own row
    (events.targeted, written with its target rows): a correlated NOT EXISTS per event cost a VEN's
    list of 20 events ~4 µs of SQLite's time."""
    if table is events:
        return events.c.targeted == false()
    return ~(
        select(object_targets.c.object_id)
        .where(object_targets.c.kind == kind, object_targets.c.object_id == table.c.id)
        .exists()
    )


def sandbox_clause(column: Any, sandbox: Any) -> ColumnElement[bool]:
    """SQL: a real object (no sandbox owner), or one of the sandbox client `sandbox` (a clientID or
    a bind parameter; None: real objects only)."""
    real: ColumnElement[bool] = column.is_(None)
    return real if sandbox is None else real | (column == sandbox)


# BL's writes by id touch real objects only (DocRepo.real): one clause per table, built once, which
# DocRepo recognises by identity to run its prebuilt statements.
REAL: dict[str, ColumnElement[bool]] = {
    t.name: sandbox_clause(t.c.sandbox_client, None) for t in (programs, events)
}
