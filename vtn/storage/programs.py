"""Programs: unique by name across the VTN."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from shared.enums import ObjectType
from shared.models import Program
from vtn.storage import _rows
from vtn.storage._docrepo import DocRepo
from vtn.storage.filters import Permission, ProgramFilter
from vtn.storage.tables import events, programs


class ProgramRepo(DocRepo[Program]):
    table = programs
    model = Program
    kind = ObjectType.PROGRAM
    conflict = "a program with this programName already exists"
    has_targets = True

    def columns(self, obj: Program) -> dict[str, Any]:
        return {"program_name": obj.program_name}

    async def list(self, flt: ProgramFilter) -> list[Program]:
        return await self.select_page(self.permitted(flt.permission), flt.page)

    async def visible(self, program_id: str, permission: Permission) -> Program | None:
        clauses = self.permitted(permission)
        where = clauses[0] if clauses else None
        return await self.get(program_id, where)

    async def delete(self, object_id: str) -> None:
        # The events go with their program (FK cascade); their target rows must go too.
        event_ids = [
            r[0]
            for r in (
                await self.conn.execute(select(events.c.id).where(events.c.program_id == object_id))
            ).all()
        ]
        await _rows.clear_targets(self.conn, ObjectType.EVENT, event_ids)
        await super().delete(object_id)

    async def named(self, name: str) -> Program | None:
        """The program called `name` (names are unique), if any."""
        query = select(programs.c.doc).where(programs.c.program_name == name)
        row = (await self.conn.execute(query)).first()
        return None if row is None else _rows.load(Program, str(row[0]))
