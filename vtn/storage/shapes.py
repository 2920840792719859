"""The API's reads of stored documents (one object by id, one page of a list) as statements whose
SQL depends only on their shape: which filters are present, never on their values.

Why: a statement whose values are all bound by name can be compiled once per shape and run with
new values by the driver itself (reads.py), with no SQLAlchemy compilation or execution per
request; SQLAlchemy runs the very same statements in a transaction (the repositories' `list`,
`visible`, `permitted`). A set of targets is bound as ONE parameter (a JSON array on SQLite, an
array on PostgreSQL): an expanding IN would render new SQL per request.

The visibility rule's SQL lives here, once (`_clause`): a plain target filter is "any of these
targets"; a VEN's access is "untargeted, or one of its granted targets" (`untargeted` alone when it
was granted nothing); sandbox objects are seen only by their sandbox client ("real" otherwise).
"""

from __future__ import annotations

import json
from collections.abc import Hashable
from typing import Any, NamedTuple

from sqlalchemy import (
    ARRAY,
    BigInteger,
    ColumnElement,
    Integer,
    Select,
    Table,
    Text,
    any_,
    bindparam,
    case,
    func,
    or_,
    select,
    union,
)

from shared.enums import ObjectType
from vtn.storage import _rows, versions
from vtn.storage.filters import (
    EventFilter,
    Page,
    Permission,
    ProgramFilter,
    ReportFilter,
    ResourceFilter,
    SubscriptionFilter,
    VenFilter,
)
from vtn.storage.tables import events, object_targets, programs, reports, resources, subscriptions, vens

TABLES: dict[ObjectType, Table] = {
    ObjectType.PROGRAM: programs,
    ObjectType.EVENT: events,
    ObjectType.VEN: vens,
    ObjectType.RESOURCE: resources,
    ObjectType.REPORT: reports,
    ObjectType.SUBSCRIPTION: subscriptions,
}
# Programs and events: rows a sandbox client owns follow Permission.sandbox.
SANDBOXED = frozenset({ObjectType.PROGRAM, ObjectType.EVENT})
# Equality filters: the filter's name -> its column, where they differ.
_COLUMN = {"owner": "client_id"}
_OBJECTS = "objects:"  # subscriptions' `objects` filter: the kinds are part of the shape

AnyFilter = VenFilter | ResourceFilter | ReportFilter | SubscriptionFilter | EventFilter | ProgramFilter


class Query(NamedTuple):
    """A read: `shape` determines the SQL (it is the compiled statement's cache key), `params` the values."""

    shape: tuple[Hashable, ...]
    params: dict[str, Any]


def bind_set(dialect: str, values: frozenset[str]) -> Any:
    """A set of targets as the one parameter `_in_set` binds: on SQLite a JSON array, its strings
    spelled by json's own string encoder (json.dumps of the list cost ~6x, on every VEN list read)."""
    if dialect == "sqlite":
        return "[" + ",".join(map(_json_string, sorted(values))) + "]"
    return sorted(values)


_json_string = json.encoder.encode_basestring_ascii


def _in_set(
    dialect: str, name: str, value: Any, target: ColumnElement[str] = object_targets.c.target
) -> ColumnElement[bool]:
    if dialect == "sqlite":
        listed = func.json_each(bindparam(name, value, type_=Text)).table_valued("value")
        return target.in_(select(listed.c.value))
    if dialect == "postgresql":
        return target == any_(bindparam(name, value, type_=ARRAY(Text)))
    return target.in_(bindparam(name, value, expanding=True, type_=Text))


def _permission(
    names: list[str], params: dict[str, Any], kind: ObjectType, permission: Permission, dialect: str
) -> None:
    if permission.targets is not None:
        names.append("targets")
        params["targets"] = bind_set(dialect, permission.targets)
    if permission.access is not None:
        if len(permission.access) == 1:
            # One granted target (the common VEN): compared to, not looked up in a bound set
            # (json_each's table cost a VEN's list of 20 events ~4 µs of SQLite's time).
            names.append("access_one")
            params["access"] = next(iter(permission.access))
        elif permission.access:
            names.append("access")
            params["access"] = bind_set(dialect, permission.access)
        else:
            names.append("untargeted")
    if kind in SANDBOXED:
        if permission.sandbox is not None:
            names.append("sandbox")
            params["sandbox"] = permission.sandbox
        else:
            names.append("real")


def _clause(
    table: Table, kind: ObjectType, name: str, dialect: str, params: dict[str, Any]
) -> ColumnElement[bool]:
    value = params.get(name)
    if name == "targets":
        return _rows.has_target_where(kind, table.c.id, _in_set(dialect, name, value))
    if name == "access":
        granted = _rows.has_target_where(kind, table.c.id, _in_set(dialect, name, value))
        return _rows.is_untargeted(kind, table) | granted
    if name == "access_one":
        condition = object_targets.c.target == bindparam("access", params.get("access"), type_=Text)
        granted = _rows.has_target_where(kind, table.c.id, condition)
        return _rows.is_untargeted(kind, table) | granted
    if name == "untargeted":
        return _rows.is_untargeted(kind, table)
    if name == "sandbox":
        column = table.c.sandbox_client
        return _rows.sandbox_clause(column, bindparam(name, value, type_=column.type))
    if name == "real":
        return _rows.sandbox_clause(table.c.sandbox_client, None)
    if name == "active_at":
        return table.c.end_us.is_(None) | (table.c.end_us > bindparam(name, value, type_=BigInteger))
    if name.startswith(_OBJECTS):
        return or_(*(table.c.objects.like(f"%,{o},%") for o in name[len(_OBJECTS) :].split(",")))
    column = table.c[_COLUMN.get(name, name)]
    return column == bindparam(name, value, type_=column.type)


def clauses(query: Query) -> list[ColumnElement[bool]]:
    """The where clauses of `query` (values bound by name, so SQLAlchemy can run them too)."""
    _, kind, dialect, names = query.shape[:4]
    table = TABLES[kind]  # type: ignore[index]
    return [_clause(table, kind, n, dialect, query.params) for n in names]  # type: ignore[arg-type, attr-defined]


def permission_clauses(kind: ObjectType, permission: Permission, dialect: str) -> list[ColumnElement[bool]]:
    """What `permission` lets its caller see of `kind` (programs, events), as where clauses."""
    names: list[str] = []
    params: dict[str, Any] = {}
    _permission(names, params, kind, permission, dialect)
    return clauses(Query(("where", kind, dialect, tuple(names)), params))


def one(
    kind: ObjectType,
    object_id: str,
    dialect: str,
    *,
    owner: str | None = None,
    permission: Permission | None = None,
) -> Query:
    """The document of object `object_id` if `owner` (VEN-private kinds; None: anyone's) or
    `permission` (programs, events) lets the caller see it."""
    names: list[str] = []
    params: dict[str, Any] = {"id": object_id}
    if owner is not None:
        names.append("owner")
        params["owner"] = owner
    if permission is not None:
        _permission(names, params, kind, permission, dialect)
    return Query(("one", kind, dialect, tuple(names)), params)


def program_of(event_id: str, dialect: str, permission: Permission | None = None) -> Query:
    """The programID of event `event_id`: whoever may see it (3.0.1 reports carry it), or only if
    `permission` lets its caller see the event (a report written about it)."""
    names: list[str] = []
    params: dict[str, Any] = {"id": event_id}
    if permission is not None:
        _permission(names, params, ObjectType.EVENT, permission, dialect)
    return Query(("program_of", ObjectType.EVENT, dialect, tuple(names)), params)


def programs_of(event_ids: frozenset[str], dialect: str) -> Query:
    """(eventID, programID) of the events `event_ids` that exist, whoever may see them: program_of
    for a page of 3.0.1 reports in one statement."""
    return Query(("programs_of", ObjectType.EVENT, dialect, ()), {"ids": bind_set(dialect, event_ids)})


def resources_of(ven_ids: frozenset[str], dialect: str, *, owner: str | None, cap: int) -> Query:
    """(venID, resources_stamp, created_us, id, document) of the resources of the vens `ven_ids`,
    those of client `owner` only (None: anyone's), at most `cap` rows, in no order, and a row of
    (venID, resources_stamp, NULL, NULL, NULL) for a ven with none of them (a ven that does not exist
    has no row): a page of 3.0.1 vens with their resources in one statement instead of one per ven,
    with the stamp of each ven's resources as they were read (the caller orders and cuts them:
    sorting the documents in SQLite cost twice reading them)."""
    names = ("owner",) if owner is not None else ()
    params: dict[str, Any] = {"ids": bind_set(dialect, ven_ids), "cap": cap, "owner": owner}
    return Query(("resources_of", ObjectType.RESOURCE, dialect, names), params)


def _resources_of(query: Query) -> Select[Any]:
    params = query.params
    on = resources.c.ven_id == vens.c.id
    if "owner" in query.shape[3]:  # type: ignore[operator]
        owner = bindparam("owner", params.get("owner"), type_=resources.c.client_id.type)
        on &= resources.c.client_id == owner
    listed = _in_set(query.shape[2], "ids", params.get("ids"), vens.c.id)  # type: ignore[arg-type]
    columns = (vens.c.id, vens.c.resources_stamp, resources.c.created_us, resources.c.id, resources.c.doc)
    return (
        select(*columns)
        .select_from(vens.outerjoin(resources, on))
        .where(listed)
        .limit(bindparam("cap", params.get("cap"), type_=Integer))
    )


# Columns a page may bring after (doc, canonical), by name (the shape's last element): the row's
# id, a ven's resources_stamp, a report's event's programID (NULL: no such event), for a front-end
# that answers in another shape; an event's `targeted`; the grants stamp as of the page (Reads.page's
# `grants_stamp`).
EXTRA_COLUMNS = ("id", "resources_stamp", "event_program", "targeted", "grants_stamp")


def _selected(table: Table, columns: tuple[Any, ...], extra: tuple[str, ...]) -> Select[Any]:
    """select(*columns, *the `extra` columns) from `table`, and for "event_program" from the events
    its reports belong to (a LEFT JOIN: SQLite ran a correlated subquery per row at ~3x its cost)."""
    picked = list(columns)
    source: Any = table
    for name in extra:
        if name == "id":
            picked.append(table.c.id)
        elif name == "resources_stamp":
            picked.append(table.c.resources_stamp)
        elif name == "targeted":
            picked.append(events.c.targeted)
        elif name == "grants_stamp":
            picked.append(versions.grants_column())
        elif name == "event_program":
            picked.append(events.c.program_id)
            source = source.outerjoin(events, events.c.id == table.c.event_id)
        else:
            raise ValueError(f"no extra column {name!r}")
    return select(*picked).select_from(source)


def page(kind: ObjectType, flt: AnyFilter, dialect: str, extra: tuple[str, ...] = ()) -> Query:
    """One page of documents of `kind` that `flt` selects, in list order (rows of doc, canonical and
    the `extra` columns: EXTRA_COLUMNS)."""
    names: list[str] = []
    params: dict[str, Any] = {}

    def equal(name: str, value: str | None) -> None:
        if value is not None:
            names.append(name)
            params[name] = value

    if isinstance(flt, (ProgramFilter, EventFilter)):
        _permission(names, params, kind, flt.permission, dialect)
    if isinstance(flt, (VenFilter, ResourceFilter)) and flt.targets is not None:
        names.append("targets")
        params["targets"] = bind_set(dialect, flt.targets)
    if isinstance(flt, EventFilter):
        equal("program_id", flt.program_id)
        if flt.active_at is not None:
            names.append("active_at")
            params["active_at"] = _rows.to_us(flt.active_at)
    if isinstance(flt, (VenFilter, ResourceFilter, ReportFilter, SubscriptionFilter)):
        equal("owner", flt.owner)
    if isinstance(flt, VenFilter):
        equal("ven_name", flt.ven_name)
    if isinstance(flt, ResourceFilter):
        equal("resource_name", flt.resource_name)
        equal("ven_id", flt.ven_id)
    if isinstance(flt, (ReportFilter, SubscriptionFilter)):
        equal("program_id", flt.program_id)
        equal("client_name", flt.client_name)
    if isinstance(flt, ReportFilter):
        equal("event_id", flt.event_id)
    if isinstance(flt, SubscriptionFilter) and flt.objects:
        names.append(_OBJECTS + ",".join(sorted(o.value for o in flt.objects)))
    pg: Page = flt.page
    params["skip"] = pg.skip
    params["limit"] = pg.limit
    if pg.max_bytes is not None:
        params["max_bytes"] = pg.max_bytes
    return Query(("page", kind, dialect, tuple(names), pg.max_bytes is not None, extra), params)


def grants(client_id: str, dialect: str) -> Query:
    """The targets BL granted to client `client_id` on its ven objects and their resources, one row each."""
    return Query(("grants", None, dialect), {"client_id": client_id})


def _grants(client_id: str | None) -> Any:
    owner = bindparam("client_id", client_id, type_=vens.c.client_id.type)
    ven_ids = select(vens.c.id).where(vens.c.client_id == owner)
    res_ids = select(resources.c.id).where(resources.c.client_id == owner)
    return union(
        select(object_targets.c.target).where(
            object_targets.c.kind == ObjectType.VEN, object_targets.c.object_id.in_(ven_ids)
        ),
        select(object_targets.c.target).where(
            object_targets.c.kind == ObjectType.RESOURCE, object_targets.c.object_id.in_(res_ids)
        ),
    )


def statement(query: Query) -> Select[Any]:
    """The statement of `query`, its values bound (SQLAlchemy runs it as it is; reads.py compiles
    it once per shape and binds each query's values itself). With no params: the shape's template,
    every value bound at execution (`cached`)."""
    verb, kind = query.shape[0], query.shape[1]
    if verb == "grants":
        return _grants(query.params.get("client_id"))  # type: ignore[no-any-return]
    if verb == "stamps":
        return versions.read_statement(kind)  # type: ignore[arg-type]
    table = TABLES[kind]  # type: ignore[index]
    where = clauses(query)
    params = query.params
    if verb == "program_of":
        event_id = bindparam("id", params.get("id"), type_=events.c.id.type)
        return select(events.c.program_id).where(events.c.id == event_id, *where)
    if verb == "programs_of":
        listed = _in_set(query.shape[2], "ids", params.get("ids"), events.c.id)  # type: ignore[arg-type]
        return select(events.c.id, events.c.program_id).where(listed)
    if verb == "resources_of":
        return _resources_of(query)
    if verb == "one":
        return select(table.c.doc).where(
            table.c.id == bindparam("id", params.get("id"), type_=table.c.id.type), *where
        )
    budget, extra = query.shape[4], query.shape[5]  # the shape decides, as for every clause
    # A page's rows: (doc, canonical, *extra) (reads.py answers a page of canonical documents unchecked).
    return _rows.page_query(
        _selected(table, (table.c.doc, table.c.canonical), extra).where(*where),  # type: ignore[arg-type]
        table,
        bindparam("skip", params.get("skip"), type_=Integer),
        bindparam("limit", params.get("limit"), type_=Integer),
        bindparam("max_bytes", params.get("max_bytes"), type_=BigInteger) if budget else None,
    )


def sized_page(query: Query) -> Select[Any]:
    """`query`'s page (one with a byte budget) as rows of (id, length of doc, doc or NULL, canonical,
    *extra), in list order, with no window: the caller keeps the budget as the rows come (reads.py on
    PostgreSQL). A document longer than the bound `inline_max` comes as NULL (its length still
    counted), so one statement never brings more than limit x inline_max characters; the caller
    reads those few by id.
    """
    kind = query.shape[1]
    table = TABLES[kind]  # type: ignore[index]
    params = query.params
    size = func.length(table.c.doc)
    capped = case((size <= bindparam("inline_max", params["inline_max"], type_=BigInteger), table.c.doc))
    plain = Query((*query.shape[:4], False, *query.shape[5:]), params)
    columns = (table.c.id, size, capped, table.c.canonical)
    return _rows.page_query(
        _selected(table, columns, query.shape[5]).where(*clauses(plain)),  # type: ignore[arg-type]
        table,
        bindparam("skip", params["skip"], type_=Integer),
        bindparam("limit", params["limit"], type_=Integer),
    )


# Key of a pooled DBAPI connection's `info` dict (ConnectionPoolEntry.info) that holds its templates.
TEMPLATES = "vtn.shape_templates"


def cached(store: dict[Any, Any], query: Query) -> Select[Any]:
    """The template of `query`'s shape, built once per `store` (a dict as long-lived as a pooled
    connection): run it with `query.params`. Why: a statement tree built per request (subqueries,
    aliases, bound values) cost its building and cache-keying, and left thousands of objects in
    reference cycles between collections (bench/findings.md, "Soak"); a shape's statement never
    changes, and there are few shapes."""
    found = store.get(query.shape)
    if found is None:
        found = store[query.shape] = statement(Query(query.shape, {}))
    return found
