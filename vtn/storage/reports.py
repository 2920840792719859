"""Reports: VEN-private, found by event, program (resolved at write time) and client name."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import ARRAY, ColumnElement, Insert, Text, any_, bindparam, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.enums import ObjectType
from shared.errors import Conflict
from shared.models import Report
from shared.wire.oadr3_json import StoredTexts
from vtn.storage import _rows, direct, versions
from vtn.storage._docrepo import DocRepo
from vtn.storage.filters import Permission
from vtn.storage.tables import events, object_targets, reports
from vtn.storage.tx_notes import TxNotes

# Bound per report by insert_for_visible_event; event_id and program_id come from the event row.
_BOUND = ("id", "created_us", "modified_us", "doc", "canonical", "client_id", "client_name")
Rule = Literal["all", "untargeted", "granted"]


def _granted(dialect: str) -> ColumnElement[bool]:
    """SQL: `object_targets.target` is one of the caller's grants, bound as ONE parameter (see
    _bind_grants). The generic expanding IN renders its SQL anew on every execution, ~20 µs on
    SQLite and ~45 µs on PostgreSQL per report; a fixed statement is a plain cache hit."""
    target = object_targets.c.target
    if dialect == "sqlite":
        grants = func.json_each(bindparam("access", type_=Text)).table_valued("value")
        return target.in_(select(grants.c.value))
    if dialect == "postgresql":
        return target == any_(bindparam("access", type_=ARRAY(Text)))
    return target.in_(bindparam("access", expanding=True, type_=Text))


def _bind_grants(dialect: str, access: frozenset[str]) -> Any:
    return json.dumps(sorted(access)) if dialect == "sqlite" else sorted(access)


def _insert_for_visible_event(rule: Rule, dialect: str, sandboxed: bool) -> Insert:
    """INSERT … SELECT from the event row: the visibility check, the programID lookup and the insert
    are one statement (one round trip) instead of three. `rule` mirrors DocRepo.target_clauses:
    "all" (BL), "untargeted" (a VEN without grants), "granted" (untargeted, or a granted target);
    `sandboxed`: the caller is a sandbox client (Permission.sandbox), bound as `sandbox`."""
    sandbox = bindparam("sandbox", type_=events.c.sandbox_client.type) if sandboxed else None
    where: list[ColumnElement[bool]] = [
        events.c.id == bindparam("event_id", type_=events.c.id.type),
        _rows.sandbox_clause(events.c.sandbox_client, sandbox),
    ]
    if rule != "all":
        untargeted = _rows.is_untargeted(ObjectType.EVENT, events)
        if rule == "granted":
            untargeted = untargeted | _rows.has_target_where(ObjectType.EVENT, events.c.id, _granted(dialect))
        where.append(untargeted)
    picked = select(
        *(bindparam(name, type_=reports.c[name].type) for name in _BOUND), events.c.id, events.c.program_id
    ).where(*where)
    # RETURNING the programID: what the notification fan-out needs (see written_program); and the
    # id, which tells the rows of several reports inserted at once apart (insert_ahead).
    return (
        insert(reports)
        .from_select([*_BOUND, "event_id", "program_id"], picked)
        .returning(reports.c.program_id, reports.c.id)
    )


class ReportStatements:
    """The report inserts, built once per store (one per rule and dialect).

    A statement object reused as it is keeps its cache key, so SQLAlchemy neither rebuilds nor
    re-hashes it per report (that was a third of the insert's CPU).
    """

    def __init__(self, max_grants: int = 4096) -> None:
        self._insert_for: dict[tuple[Rule, str, bool], Insert] = {}
        # A VEN's grants bound as one parameter, per set of grants: VENs post report after report
        # with the same grants, and encoding them anew cost a sorted() and a json.dumps per report.
        self._grants: dict[tuple[str, frozenset[str]], Any] = {}
        self._max_grants = max_grants

    def grants(self, dialect: str, access: frozenset[str]) -> Any:
        key = (dialect, access)
        found = self._grants.get(key)
        if found is None:
            if len(self._grants) >= self._max_grants:
                self._grants.clear()
            found = self._grants[key] = _bind_grants(dialect, access)
        return found

    def insert_for(self, rule: Rule, dialect: str, sandboxed: bool) -> Insert:
        key = (rule, dialect, sandboxed)
        found = self._insert_for.get(key)
        if found is None:
            found = self._insert_for[key] = _insert_for_visible_event(rule, dialect, sandboxed)
        return found


@dataclass(frozen=True)
class PreparedReport:
    """A report ready to store: its columns and its document (the Report's wire JSON).

    What `POST /reports` writes when an intake worker (vtn/intake) validated and serialised the
    request in another process: the serving process stores and answers the text, and builds the
    typed Report only if a subscriber is to hear of it.
    """

    id: str
    event_id: str
    client_name: str
    client_id: str
    created: datetime
    doc: str
    canonical: bool  # oadr3_json.canonical(doc), decided where the document was written

    def model(self) -> Report:
        return Report.model_validate_json(self.doc)


@dataclass(frozen=True)
class ReportInsert:
    """The insert a prepared report's unit of work starts with (ReportRepo.insert_prepared), which
    group commit may run ahead of the units, with its batch mates' (insert_ahead)."""

    report: PreparedReport
    permission: Permission


async def insert_ahead(
    conn: AsyncConnection, statements: ReportStatements, notes: TxNotes, inserts: list[ReportInsert]
) -> bool:
    """Run the inserts of a batch of prepared reports now, one round trip per statement shape on
    PostgreSQL (asyncpg pipelines the executions) instead of one per report, and note each
    outcome for its unit's insert_prepared. False, with nothing run, where that saves nothing
    (SQLite runs each insert inline in microseconds). A failure (a duplicate id) raises, as the
    same insert run by its unit would have; the caller rolls the batch back and runs it one by one.

    The transaction starts with the subscriptions stamp (the notifier reads it once per write
    transaction; read here, SQLAlchemy's BEGIN rides with a statement the batch needs anyway).
    """
    if conn.dialect.driver != "asyncpg" or not direct.enabled(conn):
        return False
    if notes.subscription_stamp is None and not notes.wrote_subscriptions:
        notes.subscription_stamp = await versions.read_subscriptions(conn)
    dialect = conn.dialect.name
    shapes: dict[tuple[Rule, bool], list[dict[str, Any]]] = {}
    for item in inserts:
        params, rule, sandboxed = _insert_params(statements, dialect, item.report, item.permission)
        shapes.setdefault((rule, sandboxed), []).append(params)
    found = notes.reports_ahead
    for (rule, sandboxed), batch in shapes.items():
        for params in batch:
            found[params["id"]] = None  # no row back: no visible event, nothing written
        rows = await direct.all_rows(conn, statements.insert_for(rule, dialect, sandboxed), batch)
        if rows is None:
            raise RuntimeError("a statement run ahead outside a transaction")  # a bug: checked above
        for program_id, report_id in rows:
            found[str(report_id)] = str(program_id)
    return True


def _insert_params(
    statements: ReportStatements, dialect: str, report: PreparedReport, permission: Permission
) -> tuple[dict[str, Any], Rule, bool]:
    """The parameters of a prepared report's insert, and which statement (rule, sandboxed) runs it."""
    at = _rows.to_us(report.created)
    params: dict[str, Any] = {
        "id": report.id,
        "created_us": at,
        "modified_us": at,
        "doc": report.doc,
        "canonical": report.canonical,
        "client_id": report.client_id,
        "client_name": report.client_name,
        "event_id": report.event_id,
    }
    return (params, *_add_permission(statements, dialect, params, permission))


def _add_permission(
    statements: ReportStatements, dialect: str, params: dict[str, Any], permission: Permission
) -> tuple[Rule, bool]:
    access = permission.access
    rule: Rule = "all" if access is None else "granted" if access else "untargeted"
    if access:
        params["access"] = statements.grants(dialect, access)
    sandboxed = permission.sandbox is not None
    if sandboxed:
        params["sandbox"] = permission.sandbox
    return rule, sandboxed


class ReportRepo(DocRepo[Report]):
    table = reports
    model = Report
    kind = ObjectType.REPORT
    conflict = "a report with this id already exists"

    def columns(self, obj: Report) -> dict[str, Any]:
        # program_id is passed as `extra` by the service: 3.1 reports no longer carry it.
        return {"event_id": obj.event_id, "client_id": obj.client_id, "client_name": obj.client_name}

    def owned(self, owner: str | None) -> ColumnElement[bool] | None:
        return None if owner is None else reports.c.client_id == owner

    def __init__(
        self,
        conn: AsyncConnection,
        clock: Callable[[], datetime],
        new_id: Callable[[], str],
        texts: StoredTexts,
        statements: ReportStatements,
        notes: TxNotes,
    ) -> None:
        super().__init__(conn, clock, new_id, texts)
        self._statements = statements
        self._notes = notes
        self._programs: dict[str, str] = {}  # report id -> programID, of the reports written here

    def written_program(self, report_id: str) -> str | None:
        """The programID resolved when this transaction wrote report `report_id` (None: unknown),
        so that the notification fan-out of the same write needs no query for it."""
        return self._programs.get(report_id)

    async def insert_for_visible_event(self, obj: Report, permission: Permission) -> bool:
        """Insert `obj` with its event's programID if that event is visible under `permission`;
        False, with nothing written, if there is no such event."""
        doc, canonical = self.texts.keep(obj)
        params: dict[str, Any] = {
            "id": obj.id,
            "created_us": _rows.to_us(obj.created_date_time),
            "modified_us": _rows.to_us(obj.modification_date_time),
            "doc": doc,
            "canonical": canonical,
            "client_id": obj.client_id,
            "client_name": obj.client_name,
            "event_id": obj.event_id,
        }
        return await self._insert_if_visible(params, permission)

    async def insert_prepared(self, report: PreparedReport, permission: Permission) -> bool:
        """insert_for_visible_event for a report whose document is already serialised (run already
        if group commit ran its batch's inserts ahead: insert_ahead)."""
        ahead = self._notes.reports_ahead
        if report.id in ahead:
            program_id = ahead.pop(report.id)
            if program_id is None:
                return False
            self._programs[report.id] = program_id
            return True
        params, rule, sandboxed = _insert_params(self._statements, self.conn.dialect.name, report, permission)
        return await self._run_insert(params, rule, sandboxed)

    async def _insert_if_visible(self, params: dict[str, Any], permission: Permission) -> bool:
        dialect = self.conn.dialect.name
        rule, sandboxed = _add_permission(self._statements, dialect, params, permission)
        return await self._run_insert(params, rule, sandboxed)

    async def _run_insert(self, params: dict[str, Any], rule: Rule, sandboxed: bool) -> bool:
        dialect = self.conn.dialect.name
        statement = self._statements.insert_for(rule, dialect, sandboxed)
        try:
            row = await direct.first_row(self.conn, statement, params)
        except direct.UNIQUE_VIOLATIONS as exc:
            raise Conflict(self.conflict) from exc
        if row is None:
            return False
        self._programs[params["id"]] = str(row[0])
        return True

    async def move_event(self, event_id: str, program_id: str) -> None:
        """Keep the resolved programID of an event's reports in step when BL moves the event."""
        await self.conn.execute(
            update(reports).where(reports.c.event_id == event_id).values(program_id=program_id)
        )
