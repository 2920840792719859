"""Generic repository of objects stored as wire documents (private to vtn/storage)."""

from __future__ import annotations

import asyncio
import builtins
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Executable, Table, and_, bindparam, delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.enums import ObjectType
from shared.errors import NotFound
from shared.models.base import ObjectMetadata, WireModel
from shared.wire.oadr3_json import StoredTexts
from vtn.storage import _rows, direct, shapes
from vtn.storage.filters import Permission

M = TypeVar("M", bound=ObjectMetadata)
# Pages whose documents add up to more than this are decoded on a worker thread.
OFF_LOOP_BYTES = 256 * 1024


def _load_all(model: type[M], docs: Sequence[str]) -> list[M]:
    return [_rows.load(model, d) for d in docs]


async def load_page(model: type[M], docs: Sequence[str]) -> list[M]:
    """The objects stored as `docs` (one page of a list)."""
    if sum(len(d) for d in docs) > OFF_LOOP_BYTES:
        # Decoding megabytes takes tens of milliseconds: not on the event loop, which serves others.
        return await asyncio.to_thread(_load_all, model, docs)
    return _load_all(model, docs)


async def shaped(conn: AsyncConnection, query: shapes.Query) -> tuple[Any, ...] | None:
    """The first row of a read of shapes.py inside a transaction: its statement built once per
    shape and connection, its values bound by the driver (direct.py), as the API's reads are."""
    shape = query.shape
    template = direct.kept(conn, shape, lambda: shapes.statement(shapes.Query(shape, {})))
    return await direct.first_row(conn, template, query.params)


class DocRepo(Generic[M]):
    """Insert/get/replace/delete/list for one table; subclasses add columns and filters."""

    table: Table
    model: type[M]
    kind: ObjectType  # ObjectType value, also the key in object_targets
    conflict: str = "an object with these unique fields already exists"
    has_targets: bool = False
    # Programs and events: rows a sandbox client owns (`sandbox_client`) follow Permission.sandbox.
    has_sandbox: bool = False

    def __init__(
        self,
        conn: AsyncConnection,
        clock: Callable[[], datetime],
        new_id: Callable[[], str],
        texts: StoredTexts | None = None,
    ) -> None:
        self.conn = conn
        self.clock = clock
        self.new_id = new_id
        # The store's: the answer to a write is the very text stored, not encoded a second time.
        self.texts = StoredTexts() if texts is None else texts

    def columns(self, obj: M) -> dict[str, Any]:
        """Extra indexed columns derived from the object."""
        return {}

    def targets_of(self, obj: M) -> Sequence[str] | None:
        return getattr(obj, "targets", None)

    def stamp(self, object_id: str | None) -> dict[str, Any]:
        now = self.clock()
        return {"id": object_id or self.new_id(), "created_date_time": now, "modification_date_time": now}

    def new(self, req: WireModel) -> M:
        """The object a validated create request `req` makes, stamped with a new id and the time."""
        now = self.clock()
        return self.model.stamped(req, self.new_id(), now, now)

    async def insert(self, obj: M, extra: dict[str, Any] | None = None) -> M:
        doc, canonical = self.texts.keep(obj)
        values = {
            "id": obj.id,
            "created_us": _rows.to_us(obj.created_date_time),
            "modified_us": _rows.to_us(obj.modification_date_time),
            "doc": doc,
            "canonical": canonical,
            **self.columns(obj),
            **(extra or {}),
        }
        await _rows.insert_row(self.conn, self.table, values, self.conflict)
        if self.has_targets:
            await _rows.set_targets(self.conn, self.kind, obj.id, self.targets_of(obj))
        return obj

    async def get(self, object_id: str, where: ColumnElement[bool] | None = None) -> M | None:
        if where is None or where is self.real():
            row = await direct.first_row(self.conn, self._by_id("doc", where), {"id": object_id})
            return None if row is None else _rows.load(self.model, str(row[0]))
        doc = await _rows.fetch_doc(self.conn, self.table, (self.table.c.id == object_id) & where)
        return None if doc is None else _rows.load(self.model, doc)

    async def exists(self, object_id: str, where: ColumnElement[bool] | None = None) -> bool:
        """`get(...) is not None` without reading (or decoding) the document."""
        if where is None or where is self.real():
            return await direct.first_row(self.conn, self._by_id("id", where), {"id": object_id}) is not None
        clause = (self.table.c.id == object_id) & where
        return (await self.conn.execute(select(self.table.c.id).where(clause))).first() is not None

    async def exists_for(self, object_id: str, permission: Permission) -> bool:
        """`exists(object_id, permitted_one(permission))` on a prebuilt statement (`shaped`): a VEN
        naming a programID paid SQLAlchemy's building and compiling of the visibility clauses on
        every write (~20 % of a 3.0.1 VEN's POST /subscriptions)."""
        query = shapes.one(self.kind, object_id, self.conn.dialect.name, permission=permission)
        return await shaped(self.conn, query) is not None

    async def get_owned(self, object_id: str, owner: str | None) -> M | None:
        """`get(object_id, owned(owner))` (owner None: BL, anyone's) on a prebuilt statement (`shaped`)."""
        row = await shaped(self.conn, shapes.one(self.kind, object_id, self.conn.dialect.name, owner=owner))
        return None if row is None else _rows.load(self.model, str(row[0]))

    async def require_owned(self, object_id: str, owner: str | None) -> M:
        found = await self.get_owned(object_id, owner)
        if found is None:
            raise NotFound(f"no {self.kind.lower()} with id {object_id!r}")
        return found

    def _by_id(self, column: str, where: ColumnElement[bool] | None) -> Executable:
        """The column `column` of the row with id `:id` (and `where`: None or real()), built once."""
        table = self.table

        def build() -> Executable:
            clauses = [table.c.id == bindparam("id", type_=table.c.id.type)]
            return select(table.c[column]).where(*clauses, *(() if where is None else (where,)))

        return direct.kept(self.conn, (column, table.name, where is not None), build)

    async def require(self, object_id: str, where: ColumnElement[bool] | None = None) -> M:
        found = await self.get(object_id, where)
        if found is None:
            raise NotFound(f"no {self.kind.lower()} with id {object_id!r}")
        return found

    async def replace(self, obj: M, extra: dict[str, Any] | None = None) -> M:
        doc, canonical = self.texts.keep(obj)
        values = {
            "modified_us": _rows.to_us(obj.modification_date_time),
            "doc": doc,
            "canonical": canonical,
            **self.columns(obj),
            **(extra or {}),
        }
        await _rows.update_row(self.conn, self.table, obj.id, values, self.conflict)
        if self.has_targets:
            await _rows.set_targets(self.conn, self.kind, obj.id, self.targets_of(obj))
        return obj

    async def delete(self, object_id: str) -> None:
        table = self.table
        statement = direct.kept(
            self.conn,
            ("delete", table.name),
            lambda: delete(table).where(table.c.id == bindparam("id", type_=table.c.id.type)),
        )
        await direct.execute(self.conn, statement, {"id": object_id})
        if self.has_targets:
            await _rows.clear_targets(self.conn, self.kind, [object_id])

    async def list(self, flt: shapes.AnyFilter) -> list[M]:
        """One page of the objects `flt` selects (shapes.page: the same statement as reads.py runs)."""
        return await load_page(self.model, await self.list_docs(flt))

    async def list_docs(self, flt: shapes.AnyFilter) -> builtins.list[str]:
        """`list` as the stored documents, not decoded (for a caller that keeps decoded versions)."""
        query = shapes.page(self.kind, flt, self.conn.dialect.name)
        pooled = self.conn.sync_connection.connection if self.conn.sync_connection else None
        store: dict[Any, Any] = pooled.info.setdefault(shapes.TEMPLATES, {}) if pooled is not None else {}
        rows = await self.conn.execute(shapes.cached(store, query), query.params)
        return [str(row[0]) for row in rows.all()]

    def permitted(self, permission: Permission) -> builtins.list[ColumnElement[bool]]:
        """The clauses that keep only what `permission` lets its caller see (the rule: shapes.py)."""
        return shapes.permission_clauses(self.kind, permission, self.conn.dialect.name)

    def permitted_one(self, permission: Permission) -> ColumnElement[bool] | None:
        """`permitted` as one clause (None: no restriction), for a look-up by id."""
        if permission.targets is None and permission.access is None and permission.sandbox is None:
            # BL's: no more than real(), returned as itself so that get/exists run prebuilt statements.
            return self.real()
        clauses = self.permitted(permission)
        return and_(*clauses) if clauses else None

    def real(self) -> ColumnElement[bool] | None:
        """No sandbox object: what BL's writes by id may touch (sandbox objects are invisible to it)."""
        return _rows.REAL.get(self.table.name) if self.has_sandbox else None
