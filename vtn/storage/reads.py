"""The API's hot reads (an object by id, a page of a list: shapes.py), run as cheaply as the
database allows: one statement each, outside any transaction, compiled once per shape.

Why: read through a pooled SQLAlchemy connection, `GET /vens/{id}` cost ~1 ms of CPU: BEGIN, SELECT
and ROLLBACK each went to the SQLite connection's thread and back (GIL hand-offs included), and
SQLAlchemy compiled and executed each. A single statement needs no transaction (it reads one
snapshot), so:

- SQLite (a file, WAL mode): the statement runs on the event loop itself, on a connection of its own
  that only reads. A WAL reader never waits for the write lock, and a read of a few rows by key
  takes microseconds. Bounded: a statement that runs longer than INLINE_STEPS virtual-machine steps
  (a deep `skip`, a target filter over a large table) is interrupted and run again on the thread
  path below, as is one that finds the database busy (busy_timeout 0: never waits on the loop).
- PostgreSQL (asyncpg): the statement goes straight to the driver on a connection of the reads' own
  (_pg_reads.py; asyncpg prepares it once per connection), without BEGIN/ROLLBACK around it and
  without the pool's ping. Reads that queue for a connection share a round trip: those of one
  statement by id as one pipelined batch, those of one page with the same values as one read.
- Anywhere else, or with `inline=False` (the library path, for comparison and as a way back):
  SQLAlchemy runs the same statement on a pooled connection (tests/vtn/test_reads_diff.py compares).

What is read is unchanged: the same statements the repositories run (shapes.statement), each
seeing one committed snapshot; a write acknowledged before the read began is seen.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from operator import itemgetter
from typing import Any, NamedTuple, TypeVar
from urllib.parse import quote

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.enums import ObjectType
from shared.errors import NotFound
from shared.models.base import ObjectMetadata
from shared.models.common import VenId
from shared.wire.oadr3_json import StoredDocs
from vtn.storage import shapes, versions
from vtn.storage._docrepo import load_page
from vtn.storage._pg_reads import PgConnections, tagged
from vtn.storage.filters import EventFilter, Page, Permission, ResourceFilter
from vtn.storage.shapes import Query, cached, statement

M = TypeVar("M", bound=ObjectMetadata)

# An inline statement is interrupted after this many progress calls of PROGRESS_EVERY VM steps each
# (~200,000 steps, about a millisecond) and run on the connection thread instead.
PROGRESS_EVERY = 1000
INLINE_STEPS = 200
# asyncpg connections kept for reads besides SQLAlchemy's pool (up to 20 per process): concurrent reads
# beyond it wait; 4 round trips of ~0.2 ms at once serve ~20,000 reads/s, and several processes
# sharing one server stay well under its max_connections.
PG_CONNECTIONS = 4


class _Compiled:
    __slots__ = ("fixed", "order", "sql", "together")

    def __init__(self, sql: str, order: tuple[str, ...], fixed: dict[str, Any], together: str | None) -> None:
        self.sql = sql
        self.order = order  # parameter names in positional order
        self.fixed = fixed  # values the statement binds itself (e.g. a LIKE pattern)
        self.together = together  # PostgreSQL: the statement as several reads share a round trip

    def args(self, params: dict[str, Any]) -> list[Any]:
        fixed = self.fixed
        return [params[k] if k in params else fixed[k] for k in self.order]


class GrantsMoved(Exception):
    """The grants a page's permission was built under changed before the page was read."""


# A page's extra columns (shapes.EXTRA_COLUMNS) without and with the grants stamp, the stamp last.
_STAMPED: tuple[tuple[str, ...], tuple[str, ...]] = ((), ("grants_stamp",))
_TARGETED: tuple[tuple[str, ...], tuple[str, ...]] = (("targeted",), ("targeted", "grants_stamp"))
_FLAG = itemgetter(2)
_GRANTS = (versions.GRANTS,)
_DOC = itemgetter(0)
_CANONICAL = itemgetter(1)  # a page's rows: (doc, canonical, *extra), shapes.statement


# A ven of a page (Reads.ven_rows): its stored document, canonical flag, id and resources' stamp
# (tables.vens.resources_stamp). The statement's row as it comes: a NamedTuple per row cost ~0.5 µs,
# a copy ~0.1 µs, 50 a page.
VenRow = tuple[str, Any, str, int]
# A report of a page (Reads.report_rows): its stored document, canonical flag, id and its event's
# programID (None: no such event).
ReportRow = tuple[str, Any, str, str | None]


class VenResources(NamedTuple):
    """A ven's resources (stored documents, list order) and, when read in the same statement, its
    resources' stamp (None: read otherwise, or no such ven)."""

    stamp: int | None
    docs: list[str]


def _within(cursor: sqlite3.Cursor, budget: int) -> list[Any]:
    """The leading rows whose documents (first column) sum to less than `budget` characters before
    each is added, the first always: what shapes' window query (_rows.page_query) keeps."""
    rows: list[Any] = []
    total = 0
    for row in cursor:
        if rows and total >= budget:
            break
        rows.append(row)
        total += len(row[0])
    return rows


def _same_time(listed: list[tuple[int, str, str]]) -> bool:
    return any(a[0] == b[0] for a, b in zip(listed, listed[1:], strict=False))


class Reads:
    """Runs shapes.Query reads for one store (one per engine)."""

    def __init__(self, engine: AsyncEngine, *, inline: bool = True) -> None:
        self._engine = engine
        self.dialect = engine.dialect.name
        self._compiled: dict[tuple[Any, ...], _Compiled] = {}
        self._templates: dict[Any, Any] = {}  # shapes.cached: for the reads SQLAlchemy runs
        self._path: str | None = None
        self._conn: sqlite3.Connection | None = None
        self._steps = 0
        self.max_steps = INLINE_STEPS
        self.rerun = 0  # inline statements interrupted or busy, run again through SQLAlchemy
        self._pg: PgConnections | None = None
        if inline and engine.dialect.driver == "asyncpg":
            dsn = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
            self._pg = PgConnections(dsn, PG_CONNECTIONS)
        if inline and self.dialect == "sqlite":
            database = engine.url.database
            # A file only: ":memory:" or a URI would be another database on a connection of our own.
            if database and database != ":memory:" and not engine.url.query:
                self._path = database

    @property
    def inline(self) -> bool:
        """Whether reads bypass SQLAlchemy (SQLite on the loop, asyncpg directly)."""
        return self._path is not None or self._pg is not None

    async def one(
        self,
        kind: ObjectType,
        object_id: str,
        *,
        owner: str | None = None,
        permission: Permission | None = None,
    ) -> str | None:
        """The stored document of object `object_id` if the caller may see it (shapes.one), else None."""
        return await self.doc(shapes.one(kind, object_id, self.dialect, owner=owner, permission=permission))

    async def require(
        self,
        kind: ObjectType,
        object_id: str,
        *,
        owner: str | None = None,
        permission: Permission | None = None,
    ) -> str:
        """`one`, or NotFound (an object the caller may not see is not found either)."""
        found = await self.one(kind, object_id, owner=owner, permission=permission)
        if found is None:
            raise NotFound(f"no {kind.value.lower()} with id {object_id!r}")
        return found

    async def page(
        self, kind: ObjectType, flt: shapes.AnyFilter, grants_stamp: bytes | None = None
    ) -> StoredDocs:
        """The stored documents of one page of a list (shapes.page), marked canonical if all are.

        `grants_stamp`: the grants change stamp the filter's permission was built under, unread
        since; the page reads the stamp in its own statement and raises GrantsMoved if it is not
        that one any more (an empty page reads it after: a stamp never comes back, so one still
        current after the page was current during it)."""
        query = shapes.page(kind, flt, self.dialect, _STAMPED[grants_stamp is not None])
        rows = await self._proven(query, grants_stamp)
        return StoredDocs(map(_DOC, rows), all(map(_CANONICAL, rows)))

    async def event_page(
        self, flt: EventFilter, grants_stamp: bytes | None = None
    ) -> tuple[StoredDocs, list[bool]]:
        """`page` of events with each one's `targeted` column (tables.events): where it is false
        the document has no targets to hide."""
        query = shapes.page(ObjectType.EVENT, flt, self.dialect, _TARGETED[grants_stamp is not None])
        rows = await self._proven(query, grants_stamp)
        return StoredDocs(map(_DOC, rows), all(map(_CANONICAL, rows))), list(map(_FLAG, rows))

    async def _proven(self, query: Query, grants_stamp: bytes | None) -> list[Any]:
        """The rows of `query`, whose last column is the grants stamp if `grants_stamp` is given
        (`page`): GrantsMoved if it is not that one."""
        rows = await self.rows(query)
        if grants_stamp is not None:
            current = rows[0][-1] if rows else (await self.stamps(_GRANTS)).get(versions.GRANTS)
            if bytes(current or b"") != grants_stamp:
                raise GrantsMoved
        return rows

    async def objects(self, model: type[M], kind: ObjectType, flt: shapes.AnyFilter) -> list[M]:
        """`page` as typed objects (the 3.0.1 API converts them to its dialect)."""
        return await load_page(model, await self.page(kind, flt))

    async def program_of(self, event_id: str) -> str | None:
        """The programID of event `event_id` (shapes.program_of), None if there is no such event."""
        return await self.doc(shapes.program_of(event_id, self.dialect))

    async def programs_of(self, event_ids: frozenset[str]) -> dict[str, str]:
        """program_of of several events in one statement (shapes.programs_of): eventID -> programID
        of those that exist."""
        if not event_ids:
            return {}
        return {str(r[0]): str(r[1]) for r in await self.rows(shapes.programs_of(event_ids, self.dialect))}

    async def ven_rows(self, flt: shapes.AnyFilter) -> list[VenRow]:
        """`page` of vens with each one's id and resources' stamp (the 3.0.1 API embeds a ven's
        resources: a ven answered before, with the same stamp, needs them not read again)."""
        query = shapes.page(ObjectType.VEN, flt, self.dialect, ("id", "resources_stamp"))
        return await self.rows(query)

    async def report_rows(self, flt: shapes.AnyFilter) -> list[ReportRow]:
        """`page` of reports with each one's id and its event's programID (the 3.0.1 API's reports
        carry it), in the same statement."""
        query = shapes.page(ObjectType.REPORT, flt, self.dialect, ("id", "event_program"))
        return await self.rows(query)

    async def resources_of(
        self, ven_ids: frozenset[str], *, owner: str | None, limit: int
    ) -> dict[str, VenResources]:
        """The stored documents of the first `limit` resources (list order) of each ven `ven_ids`
        (those of client `owner`; None: anyone's), as `page` would give them ven by ven, with the
        ven's resources_stamp read in the same statement (shapes.resources_of) where it can: venID ->
        VenResources (a ven that does not exist: none, no stamp).

        The rows come unordered and are put in list order here (created_us, then id). Where that
        cannot be certain, the ven's page is read as before, with no stamp: more rows than every
        ven's `limit` (the statement's cap: memory stays bounded as with one page per ven), or,
        outside SQLite (whose text order is Python's), two resources of one ven created in the same
        microsecond."""
        found: dict[str, list[tuple[int, str, str]]] = {v: [] for v in ven_ids}
        stamps: dict[str, int] = {}
        cap = len(ven_ids) * limit + 1
        rows = (
            await self.rows(shapes.resources_of(ven_ids, self.dialect, owner=owner, cap=cap))
            if ven_ids
            else []
        )
        for ven_id, stamp, created_us, object_id, doc in rows:
            stamps[str(ven_id)] = int(stamp)
            if object_id is not None:
                found[str(ven_id)].append((int(created_us), str(object_id), str(doc)))
        out: dict[str, VenResources] = {}
        for ven_id, listed in found.items():
            listed.sort()
            if len(rows) >= cap or (self.dialect != "sqlite" and _same_time(listed)):
                flt = ResourceFilter(ven_id=VenId(ven_id), owner=owner, page=Page(limit=limit))  # type: ignore[arg-type]
                out[ven_id] = VenResources(None, await self.page(ObjectType.RESOURCE, flt))
            else:
                out[ven_id] = VenResources(stamps.get(ven_id), [doc for _, _, doc in listed[:limit]])
        return out

    async def granted(self, client_id: str) -> frozenset[str]:
        """The targets BL granted to client `client_id` (shapes.grants): VenRepo.granted_targets
        without a transaction, for a caller whose grants are not cached."""
        return frozenset(str(row[0]) for row in await self.rows(shapes.grants(client_id, self.dialect)))

    async def stamps(self, names: tuple[str, ...]) -> dict[str, bytes]:
        """The change stamps `names` (versions.read) in one statement without a transaction: what
        every process polls a few times a second (on PostgreSQL one round trip instead of the
        pool's ping, BEGIN, SELECT and ROLLBACK)."""
        return {str(k): bytes(v) for k, v in await self.rows(Query(("stamps", names), {}))}

    async def doc(self, query: Query) -> str | None:
        rows = await self.rows(query)
        return str(rows[0][0]) if rows else None

    async def rows(self, query: Query) -> list[Any]:
        if self._path is not None:
            found = self._on_loop(query)
            if found is not None:
                return found
            self.rerun += 1
        elif self._pg is not None:
            if query.shape[0] == "page" and query.shape[4]:
                return await self._pg_page(query)
            c = self._compile(query)
            return await self._pg.fetch(c.sql, c.args(query.params), c.together)
        async with self._engine.connect() as conn:
            return list((await conn.execute(cached(self._templates, query), query.params)).all())

    async def _pg_page(self, query: Query) -> list[Any]:
        """A page with a byte budget on PostgreSQL: the plain page's (id, length, doc, canonical, *extra)
        rows, cut here at the budget as on SQLite (shapes' window query cost the database ~15x the
        plain page).

        Memory stays bounded without the window: a document over budget/limit characters comes as
        NULL (shapes.sized_page) and is read by id only if the page keeps it, so what this process
        holds is at most ~2x the budget plus one document. Such a document is read in a second
        statement: if it was deleted in between it is left out, if replaced the newer one is sent.
        """
        assert self._pg is not None
        params = query.params
        budget: int = params["max_bytes"]
        sized = Query(
            ("sized", *query.shape[1:]), {**params, "inline_max": max(budget // max(params["limit"], 1), 1)}
        )
        c = self._compile(sized, shapes.sized_page)
        rows = await self._pg.fetch(c.sql, c.args(sized.params))
        kept: list[Any] = []
        total = 0
        for row in rows:
            if kept and total >= budget:
                break
            kept.append(row)
            total += row[1]
        if all(row[2] is not None for row in kept):
            return [(row[2], *row[3:]) for row in kept]
        kind = query.shape[1]
        docs: list[Any] = []
        for object_id, _, doc, canonical, *extra in kept:
            if doc is None:
                doc = await self.doc(shapes.one(kind, object_id, self.dialect))  # type: ignore[arg-type]
                canonical = False  # possibly replaced since: not known
            if doc is not None:
                docs.append((doc, canonical, *extra))
        return docs

    def _compile(self, query: Query, build: Callable[[Query], Select[Any]] = statement) -> _Compiled:
        found = self._compiled.get(query.shape)
        if found is None:
            compiled = build(query).compile(dialect=self._engine.dialect)
            # Named parameters carry the first query's values: `args` takes each query's own instead.
            fixed = {name: bind.value for name, bind in compiled.binds.items() if name not in query.params}
            order = tuple(compiled.positiontup or ())
            # Rows of a page keep their order only alone: pages never share a round trip.
            alone = query.shape[0] in ("page", "sized")
            together = tagged(compiled.string, len(order)) if self._pg and not alone else None
            found = _Compiled(compiled.string, order, fixed, together)
            self._compiled[query.shape] = found
        return found

    def _on_loop(self, query: Query) -> list[Any] | None:
        """The rows, read on the loop; None if the statement was interrupted or found the database busy."""
        budget = query.params.get("max_bytes") if query.shape[0] == "page" else None
        if budget is not None:
            # The page's byte budget is kept here as the rows come (shapes' window query cost ~4x the
            # plain page on SQLite): what stays in memory is the same, the documents that fit.
            query = Query((*query.shape[:4], False, *query.shape[5:]), query.params)
        c = self._compile(query)
        conn = self._conn or self._open()
        self._steps = 0
        try:
            cursor = conn.execute(c.sql, c.args(query.params))
            try:
                return cursor.fetchall() if budget is None else _within(cursor, budget)
            finally:
                cursor.close()  # ends the statement's read snapshot
        except sqlite3.OperationalError as exc:
            # "interrupted" (INLINE_STEPS), "database is locked"/"busy" (e.g. a WAL recovery).
            if self._steps > self.max_steps or "lock" in str(exc) or "busy" in str(exc):
                return None
            raise

    def _open(self) -> sqlite3.Connection:
        assert self._path is not None
        # check_same_thread=False: opened and used on the loop's thread, closed wherever the store is.
        # mode=rw: never creates a database file where there is none.
        uri = f"file:{quote(self._path)}?mode=rw"
        conn = sqlite3.connect(uri, uri=True, timeout=0, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA query_only=ON").close()
        conn.execute("PRAGMA busy_timeout=0").close()
        conn.set_progress_handler(self._progress, PROGRESS_EVERY)
        self._conn = conn
        return conn

    def _progress(self) -> int:
        self._steps += 1
        return 1 if self._steps > self.max_steps else 0

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()
        if self._pg is not None:
            self._pg.close()
