"""Programs: unique by name across the VTN."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from shared.enums import ObjectType
from shared.models import Program
from vtn.storage import _rows
from vtn.storage._docrepo import DocRepo
from vtn.storage.filters import Permission
from vtn.storage.tables import events, programs


class ProgramRepo(DocRepo[Program]):
    table = programs
    model = Program
    kind = ObjectType.PROGRAM
    conflict = "a program with this programName already exists"
    has_targets = True
    has_sandbox = True

    def columns(self, obj: Program) -> dict[str, Any]:
        return {"program_name": obj.program_name}

    async def visible(self, program_id: str, permission: Permission) -> Program | None:
        return await self.get(program_id, self.permitted_one(permission))

    async def sandbox_owner(self, program_id: str) -> str | None:
        """The sandbox client owning program `program_id` (None: a real program, or none).

        Program automation and verification (vtn/programs) skip programs for which this is set;
        their lists with a default `Permission` never return them in the first place.
        """
        query = select(programs.c.sandbox_client).where(programs.c.id == program_id)
        row = (await self.conn.execute(query)).first()
        return None if row is None or row[0] is None else str(row[0])

    async def sandbox_program(self, client_id: str) -> Program | None:
        """The sandbox program of sandbox client `client_id`, if made yet."""
        doc = await _rows.fetch_doc(self.conn, programs, programs.c.sandbox_client == client_id)
        return None if doc is None else _rows.load(Program, doc)

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
