"""Events: belong to a program; `end_us` caches when the event has fully transpired."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, func, select

from shared.enums import ObjectType
from shared.models import Event
from shared.timing import event_window
from vtn.storage import _rows, direct, shapes
from vtn.storage._docrepo import DocRepo, shaped
from vtn.storage.filters import Permission
from vtn.storage.tables import events

_SANDBOX_OWNER = select(events.c.sandbox_client).where(events.c.id == bindparam("id", type_=events.c.id.type))


class EventRepo(DocRepo[Event]):
    table = events
    model = Event
    kind = ObjectType.EVENT
    has_targets = True
    has_sandbox = True

    async def sandbox_owner(self, event_id: str) -> str | None:
        """The sandbox client owning event `event_id` (None: a real event, or none)."""
        row = await direct.first_row(self.conn, _SANDBOX_OWNER, {"id": event_id})
        return None if row is None or row[0] is None else str(row[0])

    async def sandbox_count(self, client_id: str, active_at: int) -> int:
        """How many events sandbox client `client_id` owns that have not ended at `active_at` (µs)."""
        query = (
            select(func.count())
            .select_from(events)
            .where(
                events.c.sandbox_client == client_id,
                events.c.end_us.is_(None) | (events.c.end_us > active_at),
            )
        )
        return int((await self.conn.execute(query)).scalar_one())

    def columns(self, obj: Event) -> dict[str, Any]:
        _, end = event_window(obj, obj.modification_date_time)
        return {
            "program_id": obj.program_id,
            "end_us": None if end is None else _rows.to_us(end),
            # Written with the target rows (DocRepo.insert/replace: set_targets of the same targets).
            "targeted": bool(obj.targets),
        }

    async def visible(self, event_id: str, permission: Permission) -> Event | None:
        return await self.get(event_id, self.permitted_one(permission))

    async def visible_program(self, event_id: str, permission: Permission) -> str | None:
        """The programID of an event the caller may see (None if none), without loading the event."""
        row = await shaped(self.conn, shapes.program_of(event_id, self.conn.dialect.name, permission))
        return None if row is None else str(row[0])

    async def program_of(self, event_id: str) -> str | None:
        row = await shaped(self.conn, shapes.program_of(event_id, self.conn.dialect.name))
        return None if row is None else str(row[0])
