"""Reports: VEN-private, found by event, program (resolved at write time) and client name."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, update

from shared.models import Report
from vtn.storage._docrepo import DocRepo
from vtn.storage.filters import ReportFilter
from vtn.storage.tables import reports


class ReportRepo(DocRepo[Report]):
    table = reports
    model = Report
    kind = "REPORT"
    conflict = "a report with this id already exists"

    def columns(self, obj: Report) -> dict[str, Any]:
        # program_id is passed as `extra` by the service: 3.1 reports no longer carry it.
        return {"event_id": obj.event_id, "client_id": obj.client_id, "client_name": obj.client_name}

    def owned(self, owner: str | None) -> ColumnElement[bool] | None:
        return None if owner is None else reports.c.client_id == owner

    async def list(self, flt: ReportFilter) -> list[Report]:
        where: list[ColumnElement[bool]] = []
        if flt.owner is not None:
            where.append(reports.c.client_id == flt.owner)
        if flt.program_id is not None:
            where.append(reports.c.program_id == flt.program_id)
        if flt.event_id is not None:
            where.append(reports.c.event_id == flt.event_id)
        if flt.client_name is not None:
            where.append(reports.c.client_name == flt.client_name)
        return await self.select_page(where, flt.page)

    async def move_event(self, event_id: str, program_id: str) -> None:
        """Keep the resolved programID of an event's reports in step when BL moves the event."""
        await self.conn.execute(
            update(reports).where(reports.c.event_id == event_id).values(program_id=program_id)
        )
