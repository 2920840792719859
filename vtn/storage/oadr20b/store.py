"""Repository of the 2.0b side tables, bound to one connection (the caller's transaction).

Rows never leave this module: callers get the typed records of records.py. Upserts are written as
"update, else insert inside a savepoint, else update again" so that they work the same on SQLite
and PostgreSQL and survive two VEN requests racing.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import Table, and_, bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from vtn.storage import versions
from vtn.storage.oadr20b import tables as t
from vtn.storage.oadr20b.records import (
    DataPoint,
    Delivery,
    EventVersion,
    Queued,
    Registration,
    ReportMetadata,
    StoredRequest,
)


class NeedsWrite(Exception):
    """Raised by a read-only store at its first write: the caller redoes the work read-write."""


def _us(moment: datetime) -> int:
    return int(moment.timestamp() * 1_000_000)


# The statements of every oadrRequestEvent and poll, built once: SQLAlchemy then neither rebuilds
# nor re-keys them per request (a statement's cache key is kept on the statement object).
_REGISTRATION = select(t.registrations).where(
    t.registrations.c.ven_id == bindparam("ven_id", type_=t.registrations.c.ven_id.type)
)
_DELIVERIES = select(t.deliveries).where(
    t.deliveries.c.ven_id == bindparam("ven_id", type_=t.deliveries.c.ven_id.type)
)
_V = t.event_versions.c
_KNOWN = select(_V.event_id, _V.modification_number, _V.modified_us).where(
    _V.event_id.in_(bindparam("ids", expanding=True, type_=_V.event_id.type))
)


class Oadr20bStore:
    def __init__(
        self, conn: AsyncConnection, clock: Callable[[], datetime], *, read_only: bool = False
    ) -> None:
        self.conn = conn
        self.clock = clock
        # Read-only: most polls only read; they run without the writer lock and start over
        # read-write only when they find something to write (NeedsWrite).
        self.read_only = read_only
        # Set by writes that can change a VEN's poll answer (queue, registrations): the service
        # then clears this process's poll cache after the commit (pollcache.py).
        self.polls_changed = False

    def _write(self) -> None:
        if self.read_only:
            raise NeedsWrite

    async def _polls_change(self) -> None:
        self._write()
        if not self.polls_changed:
            self.polls_changed = True
            await versions.bump(self.conn, versions.OADR20B)

    def now_us(self) -> int:
        return _us(self.clock())

    async def _upsert(self, table: Table, key: dict[str, Any], values: dict[str, Any]) -> None:
        self._write()
        where = and_(*(table.c[k] == v for k, v in key.items()))
        if (await self.conn.execute(update(table).where(where).values(**values))).rowcount:
            return
        try:
            async with self.conn.begin_nested():
                await self.conn.execute(insert(table).values(**key, **values))
        except IntegrityError:
            await self.conn.execute(update(table).where(where).values(**values))

    # ------------------------------------------------------------------ registrations

    async def registration(self, ven_id: str) -> Registration | None:
        row = (await self.conn.execute(_REGISTRATION, {"ven_id": ven_id})).first()
        if row is None:
            return None
        return Registration(
            ven_id=row.ven_id,
            registration_id=row.registration_id,
            ven_name=row.ven_name,
            report_only=bool(row.report_only),
            xml_signature=bool(row.xml_signature),
            http_pull=row.http_pull,
            transport_address=row.transport_address,
        )

    async def save_registration(self, reg: Registration) -> None:
        await self._polls_change()
        values = asdict(reg)
        del values["ven_id"]
        await self._upsert(
            t.registrations, {"ven_id": reg.ven_id}, {**values, "registered_us": self.now_us()}
        )

    async def forget_ven(self, ven_id: str, *, keep_registration: bool = False) -> None:
        """Drop what a (re-)registration or cancellation invalidates: deliveries, reports, queue."""
        await self._polls_change()
        for table in (t.deliveries, t.report_metadata, t.report_requests, t.outbox):
            await self.conn.execute(delete(table).where(table.c.ven_id == ven_id))
        if not keep_registration:
            await self.conn.execute(delete(t.registrations).where(t.registrations.c.ven_id == ven_id))

    # ------------------------------------------------------------------ events

    async def event_version(self, event_id: str) -> EventVersion | None:
        c = t.event_versions.c
        row = (await self.conn.execute(select(t.event_versions).where(c.event_id == event_id))).first()
        if row is None:
            return None
        return EventVersion(
            event_id=row.event_id,
            modification_number=row.modification_number,
            market_context=row.market_context,
            doc=row.doc,
            cancelled=row.cancelled_us is not None,
        )

    async def known_versions(self, event_ids: list[str]) -> dict[str, tuple[int, int]]:
        """(modificationNumber, modificationDateTime in µs) of each of `event_ids` seen before: one
        query for a whole distribute, so `track_event` is only called for events new or changed."""
        out: dict[str, tuple[int, int]] = {}
        for first in range(0, len(event_ids), 500):
            chunk = event_ids[first : first + 500]
            rows = await self.conn.execute(_KNOWN, {"ids": chunk})
            for row in rows:
                out[row.event_id] = (int(row.modification_number), int(row.modified_us))
        return out

    @staticmethod
    def unchanged(known: tuple[int, int] | None, modified: datetime) -> int | None:
        """The known modificationNumber if the event was not modified since, else None."""
        return known[0] if known is not None and known[1] == _us(modified) else None

    async def track_event(self, event_id: str, modified: datetime, doc: str, market_context: str) -> int:
        """The event's modificationNumber: 0 when first seen, +1 whenever modificationDateTime changed.

        Reads first so that the common case (nothing changed) writes nothing; the conditional update
        and the savepointed insert keep two racing requests from counting one change twice.
        """
        c = t.event_versions.c
        modified_us = _us(modified)
        row = (
            await self.conn.execute(
                select(c.modification_number, c.modified_us).where(c.event_id == event_id)
            )
        ).first()
        if row is not None and row.modified_us == modified_us:
            return int(row.modification_number)
        self._write()
        if row is not None:
            await self.conn.execute(
                update(t.event_versions)
                .where(c.event_id == event_id, c.modified_us != modified_us)
                .values(
                    modification_number=c.modification_number + 1,
                    modified_us=modified_us,
                    doc=doc,
                    market_context=market_context,
                )
            )
        else:
            values = {"modification_number": 0, "modified_us": modified_us, "doc": doc}
            try:
                async with self.conn.begin_nested():
                    await self.conn.execute(
                        insert(t.event_versions).values(
                            event_id=event_id, market_context=market_context, **values
                        )
                    )
            except IntegrityError:
                pass
        found = await self.event_version(event_id)
        return 0 if found is None else found.modification_number

    async def cancel_event(self, event_id: str) -> EventVersion | None:
        """Mark a deleted event cancelled, bumping its modificationNumber once; None if never seen."""
        self._write()
        c = t.event_versions.c
        await self.conn.execute(
            update(t.event_versions)
            .where(c.event_id == event_id, c.cancelled_us.is_(None))
            .values(modification_number=c.modification_number + 1, cancelled_us=self.now_us())
        )
        return await self.event_version(event_id)

    async def deliveries(self, ven_id: str) -> dict[str, Delivery]:
        rows = (await self.conn.execute(_DELIVERIES, {"ven_id": ven_id})).all()
        return {
            row.event_id: Delivery(
                event_id=row.event_id,
                delivered_mod=row.delivered_mod,
                opt_type=row.opt_type,
                opt_mod=row.opt_mod,
                response_code=row.response_code,
            )
            for row in rows
        }

    async def mark_delivered(self, ven_id: str, event_id: str, modification_number: int) -> None:
        await self._upsert(
            t.deliveries, {"ven_id": ven_id, "event_id": event_id}, {"delivered_mod": modification_number}
        )

    async def record_answer(
        self, ven_id: str, event_id: str, modification_number: int, opt_type: str, code: int
    ) -> None:
        values = {
            "opt_type": opt_type,
            "opt_mod": modification_number,
            "response_code": code,
            "responded_us": self.now_us(),
        }
        await self._upsert(t.deliveries, {"ven_id": ven_id, "event_id": event_id}, values)

    async def drop_delivery(self, ven_id: str, event_id: str) -> None:
        if self.read_only:
            return  # housekeeping: the next read-write visit does it
        d = t.deliveries.c
        await self.conn.execute(delete(t.deliveries).where(d.ven_id == ven_id, d.event_id == event_id))

    # ------------------------------------------------------------------ opts

    async def save_opt(
        self,
        ven_id: str,
        opt_id: str,
        *,
        opt_type: str,
        opt_reason: str,
        event_id: str | None,
        modification_number: int | None,
        doc: dict[str, Any],
    ) -> None:
        values = {
            "opt_type": opt_type,
            "opt_reason": opt_reason,
            "event_id": event_id,
            "modification_number": modification_number,
            "doc": json.dumps(doc),
            "created_us": self.now_us(),
            "cancelled_us": None,
        }
        await self._upsert(t.opts, {"ven_id": ven_id, "opt_id": opt_id}, values)

    async def cancel_opt(self, ven_id: str, opt_id: str) -> bool:
        self._write()
        o = t.opts.c
        result = await self.conn.execute(
            update(t.opts).where(o.ven_id == ven_id, o.opt_id == opt_id).values(cancelled_us=self.now_us())
        )
        return bool(result.rowcount)

    # ------------------------------------------------------------------ reports

    async def save_metadata(self, meta: ReportMetadata) -> None:
        doc = json.dumps([asdict(p) for p in meta.points])
        key = {"ven_id": meta.ven_id, "report_specifier_id": meta.report_specifier_id}
        values = {"report_name": meta.report_name, "doc": doc, "registered_us": self.now_us()}
        await self._upsert(t.report_metadata, key, values)

    async def metadata(self, ven_id: str, report_specifier_id: str) -> ReportMetadata | None:
        c = t.report_metadata.c
        row = (
            await self.conn.execute(
                select(t.report_metadata).where(
                    c.ven_id == ven_id, c.report_specifier_id == report_specifier_id
                )
            )
        ).first()
        if row is None:
            return None
        points = tuple(DataPoint(**p) for p in json.loads(row.doc))
        return ReportMetadata(
            ven_id=ven_id, report_specifier_id=report_specifier_id, report_name=row.report_name, points=points
        )

    async def save_request(self, req: StoredRequest) -> None:
        doc = {
            "r_ids": list(req.r_ids),
            "granularity_s": req.granularity_s,
            "report_back_s": req.report_back_s,
        }
        values = {
            "ven_id": req.ven_id,
            "report_specifier_id": req.report_specifier_id,
            "event_id": req.event_id,
            "doc": json.dumps(doc),
            "status": req.status,
            "created_us": self.now_us(),
        }
        await self._upsert(t.report_requests, {"report_request_id": req.report_request_id}, values)

    async def request(self, report_request_id: str) -> StoredRequest | None:
        c = t.report_requests.c
        row = (
            await self.conn.execute(select(t.report_requests).where(c.report_request_id == report_request_id))
        ).first()
        if row is None:
            return None
        doc = json.loads(row.doc)
        return StoredRequest(
            report_request_id=row.report_request_id,
            ven_id=row.ven_id,
            report_specifier_id=row.report_specifier_id,
            event_id=row.event_id,
            r_ids=tuple(doc["r_ids"]),
            granularity_s=float(doc["granularity_s"]),
            report_back_s=float(doc["report_back_s"]),
            status=row.status,
        )

    async def set_request_status(self, report_request_id: str, status: str) -> None:
        self._write()
        c = t.report_requests.c
        await self.conn.execute(
            update(t.report_requests).where(c.report_request_id == report_request_id).values(status=status)
        )

    # ------------------------------------------------------------------ poll queue

    async def enqueue(self, ven_id: str, tag: str, body: bytes) -> None:
        await self._polls_change()
        values = {"ven_id": ven_id, "tag": tag, "body": body.decode(), "created_us": self.now_us()}
        await self.conn.execute(insert(t.outbox).values(**values))

    async def take_next(self, ven_id: str) -> Queued | None:
        """The oldest undelivered message for the VEN, marked delivered (pull: at most once)."""
        c = t.outbox.c
        row = (
            await self.conn.execute(
                select(c.id, c.tag, c.body)
                .where(c.ven_id == ven_id, c.delivered_us.is_(None))
                .order_by(c.id)
                .limit(1)
            )
        ).first()
        if row is None:
            return None
        self._write()
        await self.conn.execute(update(t.outbox).where(c.id == row.id).values(delivered_us=self.now_us()))
        return Queued(id=int(row.id), tag=str(row.tag), body=str(row.body).encode())
