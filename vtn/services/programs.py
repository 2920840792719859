"""Programs and events: written by BL, read by VENs through targeting.

BL's writes by id touch real objects only: sandbox programs and events (vtn/sandbox) are invisible
to it, so one of their ids is answered as a missing one.
"""

from __future__ import annotations

from shared.enums import ObjectType
from shared.errors import BadRequest, NotFound
from shared.models import Event, EventRequest, Program, ProgramRequest
from shared.models.common import ProgramId
from shared.wire.oadr3_json import StoredDocs
from vtn.core.visibility import hide_targets, hide_targets_text, hide_targets_texts
from vtn.storage import Reads, Tx
from vtn.storage.filters import EventFilter, Page, Permission, ProgramFilter


async def create_program(tx: Tx, req: ProgramRequest) -> Program:
    program = tx.programs.new(req)
    return await tx.programs.insert(program)


async def list_programs(tx: Tx, flt: ProgramFilter) -> list[Program]:
    """The programs `flt.permission` lets its caller see, their targets hidden as it says."""
    return [hide_targets(p, flt.permission) for p in await tx.programs.list(flt)]


async def get_program(tx: Tx, permission: Permission, program_id: str) -> Program:
    found = await tx.programs.visible(program_id, permission)
    if found is None:
        raise NotFound(f"no program with id {program_id!r}")
    return hide_targets(found, permission)


async def _visible_text(reads: Reads, kind: ObjectType, permission: Permission, object_id: str) -> str:
    return await reads.require(kind, object_id, permission=permission)


async def program_text(reads: Reads, permission: Permission, program_id: str) -> str:
    """get_program as the stored document, its targets hidden as `permission` says."""
    found = await _visible_text(reads, ObjectType.PROGRAM, permission, program_id)
    return hide_targets_text(found, Program, permission)


async def program_texts(reads: Reads, flt: ProgramFilter) -> StoredDocs:
    """list_programs as stored documents."""
    return hide_targets_texts(await reads.page(ObjectType.PROGRAM, flt), Program, flt.permission)


async def replace_program(tx: Tx, program_id: str, req: ProgramRequest) -> Program:
    old = await tx.programs.require(program_id, tx.programs.real())
    now = tx.programs.clock()
    new = Program.stamped(req, old.id, old.created_date_time, now)
    return await tx.programs.replace(new)


async def delete_program(tx: Tx, program_id: str) -> Program:
    old = await tx.programs.require(program_id, tx.programs.real())
    tx.cascaded.extend(await _all_events_of(tx, program_id))
    await tx.programs.delete(program_id)
    return old


async def _all_events_of(tx: Tx, program_id: str) -> list[Event]:
    found: list[Event] = []
    while batch := await tx.events.list(
        EventFilter(program_id=ProgramId(program_id), page=Page(skip=len(found), limit=500))
    ):
        found.extend(batch)
    return found


async def _check_program(tx: Tx, program_id: str) -> None:
    if not await tx.programs.exists(program_id, tx.programs.real()):
        raise BadRequest(f"programID {program_id!r} names no program", pointer="/programID")


async def create_event(tx: Tx, req: EventRequest) -> Event:
    await _check_program(tx, req.program_id)
    event = tx.events.new(req)
    return await tx.events.insert(event)


async def list_events(tx: Tx, flt: EventFilter) -> list[Event]:
    """The events `flt.permission` lets its caller see, their targets hidden as it says."""
    return [hide_targets(e, flt.permission) for e in await tx.events.list(flt)]


async def get_event(tx: Tx, permission: Permission, event_id: str) -> Event:
    found = await tx.events.visible(event_id, permission)
    if found is None:
        raise NotFound(f"no event with id {event_id!r}")
    return hide_targets(found, permission)


async def event_text(reads: Reads, permission: Permission, event_id: str) -> str:
    """get_event as the stored document, its targets hidden as `permission` says."""
    found = await _visible_text(reads, ObjectType.EVENT, permission, event_id)
    return hide_targets_text(found, Event, permission)


async def event_texts(reads: Reads, flt: EventFilter, grants_stamp: bytes | None = None) -> StoredDocs:
    """list_events as stored documents (`grants_stamp`: Reads.page's, Core.permitted's)."""
    if flt.permission.access is None:  # nothing to hide
        return await reads.page(ObjectType.EVENT, flt, grants_stamp)
    texts, targeted = await reads.event_page(flt, grants_stamp)
    return hide_targets_texts(texts, Event, flt.permission, targeted)


async def replace_event(tx: Tx, event_id: str, req: EventRequest) -> Event:
    old = await tx.events.require(event_id, tx.events.real())
    await _check_program(tx, req.program_id)
    now = tx.events.clock()
    new = Event.stamped(req, old.id, old.created_date_time, now)
    if new.program_id != old.program_id:
        await tx.reports.move_event(event_id, new.program_id)
    return await tx.events.replace(new)


async def delete_event(tx: Tx, event_id: str) -> Event:
    old = await tx.events.require(event_id, tx.events.real())
    await tx.events.delete(event_id)
    return old
