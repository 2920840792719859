"""The audit log: every BL and operator change and every refused login (who, what, when, from where).

Rows are written in the transaction of the change they record, so a change and its audit row commit
together; reads page newest first by id. Retention deletes rows older than a cut-off.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, bindparam, delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from vtn.storage import _rows, direct
from vtn.storage.tables import audit_log

OPERATOR = "operator"

_COLUMNS = ("at_us", "actor", "role", "action", "object_type", "object_id", "address", "detail")
# RETURNING: direct.first_row runs statements that return a row (whichever way it runs them).
_ADD = insert(audit_log).values({name: bindparam(name) for name in _COLUMNS}).returning(audit_log.c.id)


@dataclass(frozen=True, slots=True)
class AuditEntry:
    actor: str
    role: str  # bl | ven | operator | unknown
    action: str
    object_type: str | None = None
    object_id: str | None = None
    address: str | None = None
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class AuditRecord:
    id: int
    at: datetime
    entry: AuditEntry

    def to_doc(self) -> dict[str, object]:
        """The entry as GET /audit answers it (our OpenAPI document's `auditEntry`)."""
        e = self.entry
        return {
            "id": self.id,
            "at": self.at.isoformat().replace("+00:00", "Z"),
            "actor": e.actor,
            "role": e.role,
            "action": e.action,
            "objectType": e.object_type,
            "objectID": e.object_id,
            "address": e.address,
            "detail": e.detail,
        }


class AuditRepo:
    def __init__(self, conn: AsyncConnection, clock: Callable[[], datetime]) -> None:
        self.conn = conn
        self.clock = clock

    async def add(self, entry: AuditEntry) -> None:
        # Built once, sent straight to the driver inside a write transaction (direct.py): every BL
        # write adds a row, and building and compiling the INSERT each time cost more than the write.
        params = {
            "at_us": _rows.to_us(self.clock()),
            "actor": entry.actor[:128],
            "role": entry.role,
            "action": entry.action,
            "object_type": entry.object_type,
            "object_id": entry.object_id[:128] if entry.object_id else None,
            "address": entry.address[:64] if entry.address else None,
            "detail": entry.detail,
        }
        await direct.first_row(self.conn, _ADD, params)

    async def page(
        self, *, skip: int, limit: int, actor: str | None = None, action: str | None = None
    ) -> list[AuditRecord]:
        query = select(audit_log).order_by(audit_log.c.id.desc()).offset(skip).limit(limit)
        if actor is not None:
            query = query.where(audit_log.c.actor == actor)
        if action is not None:
            query = query.where(audit_log.c.action == action)
        return [_record(r) for r in (await self.conn.execute(query)).all()]

    async def newest(
        self, *, before_id: int | None, limit: int, actor_prefix: str | None = None
    ) -> list[AuditRecord]:
        """A keyset page, newest first: rows with an id under `before_id` (None: from the newest)."""
        query = select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
        if before_id is not None:
            query = query.where(audit_log.c.id < before_id)
        if actor_prefix:
            query = query.where(audit_log.c.actor.startswith(actor_prefix, autoescape=True))
        return [_record(r) for r in (await self.conn.execute(query)).all()]

    async def purge(self, before: datetime) -> int:
        result = await self.conn.execute(delete(audit_log).where(audit_log.c.at_us < _rows.to_us(before)))
        return int(result.rowcount or 0)


def _record(r: Row[Any]) -> AuditRecord:
    return AuditRecord(
        id=int(r.id),
        at=_rows.from_us(r.at_us),
        entry=AuditEntry(
            actor=r.actor,
            role=r.role,
            action=r.action,
            object_type=r.object_type,
            object_id=r.object_id,
            address=r.address,
            detail=r.detail,
        ),
    )
