"""Publishing one event per (job, day) through the core: created the first time, replaced after.

The (job, day) row of program runs remembers the event, and is written in the transaction of the
event, so however often a job runs for a day (a re-run, a second process, a restart) the program
has one event for it: a re-run writes a new version of that event and subscribers hear an UPDATE.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from shared.enums import Operation
from shared.models import Event, EventRequest, Program, ProgramRequest
from vtn.core.core import Changes, Core
from vtn.core.queries import Tx


@dataclass(frozen=True, slots=True)
class Published:
    event: Event | None  # None: the day's event was withdrawn (deleted)
    operation: Operation


def job_key(kind: str, program_id: str, *parts: str) -> str:
    return ":".join((kind, program_id, *parts))


async def ensure_program(core: Core, name: str) -> Program:
    """The program called `name`, created (untargeted, no descriptors) if it does not exist yet."""
    async with core.read() as tx:
        found = await tx.programs.named(name)
    if found is not None:
        return found

    async def work(tx: Tx, changes: Changes) -> Program:
        again = await tx.programs.named(name)
        if again is not None:
            return again
        req = ProgramRequest.model_validate({"programName": name})
        program = tx.programs.new(req)
        created = await tx.programs.insert(program)
        await core.notify(tx, changes, Operation.CREATE, created)
        return created

    return await core.run(work)


async def publish(core: Core, job: str, day: date, req: EventRequest, state: str | None = None) -> Published:
    """Write the day's event of `job` (create or replace) and remember it, in one transaction."""

    async def work(tx: Tx, changes: Changes) -> Published:
        runs = tx.runs()
        run = await runs.get(job, day.isoformat())
        old = None
        if run is not None and run.event_id is not None:
            old = await tx.events.get(run.event_id)
        now = tx.events.clock()
        if old is None:
            event = tx.events.new(req)
            event = await tx.events.insert(event)
            operation = Operation.CREATE
        else:
            event = Event.stamped(req, old.id, old.created_date_time, now)
            event = await tx.events.replace(event)
            operation = Operation.UPDATE
        await runs.record(job, day.isoformat(), event_id=event.id, state=state)
        await core.notify(tx, changes, operation, event)
        return Published(event, operation)

    return await core.run(work)


async def withdraw(core: Core, job: str, day: date, state: str | None = None) -> Published | None:
    """Delete the day's event of `job`, if it has one (subscribers hear a DELETE)."""

    async def work(tx: Tx, changes: Changes) -> Published | None:
        runs = tx.runs()
        run = await runs.get(job, day.isoformat())
        if run is None or run.event_id is None:
            await runs.record(job, day.isoformat(), event_id=None, state=state)
            return None
        old = await tx.events.get(run.event_id)
        await runs.record(job, day.isoformat(), event_id=None, state=state)
        if old is None:
            return None
        await tx.events.delete(old.id)
        await core.notify(tx, changes, Operation.DELETE, old)
        return Published(None, Operation.DELETE)

    return await core.run(work)


async def day_event(core: Core, job: str, day: date) -> tuple[Event | None, str | None]:
    """The event and remembered state of `job` for `day`."""
    async with core.read() as tx:
        run = await tx.runs().get(job, day.isoformat())
        if run is None:
            return None, None
        event = None if run.event_id is None else await tx.events.get(run.event_id)
        return event, run.state
