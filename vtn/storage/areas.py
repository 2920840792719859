"""Grid areas and program runs (program automation's two tables). Private SQL of vtn/programs.

An area's members are not stored here: they are the ven and resource objects granted the area's
name as a target (object_targets), so every protocol's VEN receives area events through targeting.

A program run is one row per (job, day): the event the job published for that day (so a re-run
updates it rather than adding a second), the claim of the process running it (`claimed_by` with
a lease, so a process killed mid-run leaves a claim that expires and another process takes the
day over), `done_us` once the day is complete, and the job's last decision (`state`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.durations import from_us, to_us
from shared.errors import Conflict
from vtn.storage.tables import areas, program_runs


@dataclass(frozen=True, slots=True)
class AreaRecord:
    name: str
    kind: str
    import_kw: float
    export_kw: float
    created: datetime


@dataclass(frozen=True, slots=True)
class RunRecord:
    job: str
    day: str
    event_id: str | None
    claimed_by: str | None
    lease_until: datetime | None
    done: datetime | None
    state: str | None


class AreaRepo:
    __slots__ = ("_conn",)

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, record: AreaRecord) -> None:
        values = {
            "name": record.name,
            "kind": record.kind,
            "import_kw": record.import_kw,
            "export_kw": record.export_kw,
            "created_us": to_us(record.created),
        }
        try:
            async with self._conn.begin_nested():
                await self._conn.execute(insert(areas).values(**values))
        except IntegrityError as exc:
            raise Conflict(f"an area named {record.name!r} already exists") from exc

    async def get(self, name: str) -> AreaRecord | None:
        row = (await self._conn.execute(select(areas).where(areas.c.name == name))).first()
        return None if row is None else _area(row)

    async def list(self) -> list[AreaRecord]:
        rows = (await self._conn.execute(select(areas).order_by(areas.c.name))).all()
        return [_area(r) for r in rows]

    async def remove(self, name: str) -> bool:
        result = await self._conn.execute(delete(areas).where(areas.c.name == name))
        return bool(result.rowcount)


def _area(row: object) -> AreaRecord:
    m = row._mapping  # type: ignore[attr-defined]
    return AreaRecord(
        name=str(m["name"]),
        kind=str(m["kind"]),
        import_kw=float(m["import_kw"]),
        export_kw=float(m["export_kw"]),
        created=from_us(int(m["created_us"])),
    )


class RunRepo:
    __slots__ = ("_conn",)

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def get(self, job: str, day: str) -> RunRecord | None:
        query = select(program_runs).where(program_runs.c.job == job, program_runs.c.day == day)
        row = (await self._conn.execute(query)).first()
        if row is None:
            return None
        m = row._mapping
        lease, done = m["lease_until_us"], m["done_us"]
        return RunRecord(
            job=job,
            day=day,
            event_id=m["event_id"],
            claimed_by=m["claimed_by"],
            lease_until=None if lease is None else from_us(int(lease)),
            done=None if done is None else from_us(int(done)),
            state=m["state"],
        )

    async def _ensure(self, job: str, day: str) -> None:
        if await self.get(job, day) is None:
            try:
                async with self._conn.begin_nested():
                    await self._conn.execute(insert(program_runs).values(job=job, day=day))
            except IntegrityError:  # another process made the row first: it is there either way
                pass

    async def claim(self, job: str, day: str, owner: str, now: datetime, lease_s: float) -> bool:
        """Take the (job, day) claim unless the day is done or another owner's lease is still running.

        A compare-and-set on the lease: of two processes racing for an expired claim one wins.
        """
        await self._ensure(job, day)
        found = await self.get(job, day)
        assert found is not None
        if found.done is not None:
            return False
        expired = found.lease_until is None or found.lease_until <= now or found.claimed_by == owner
        if not expired:
            return False
        lease_col = program_runs.c.lease_until_us
        old = None if found.lease_until is None else to_us(found.lease_until)
        query = (
            update(program_runs)
            .where(
                program_runs.c.job == job,
                program_runs.c.day == day,
                program_runs.c.done_us.is_(None),
                lease_col.is_(None) if old is None else lease_col == old,
            )
            .values(claimed_by=owner, lease_until_us=to_us(now) + int(lease_s * 1_000_000))
        )
        return bool((await self._conn.execute(query)).rowcount)

    async def complete(self, job: str, day: str, owner: str, now: datetime) -> bool:
        """Mark the day done, if `owner` still holds the claim (False: it lost it to another)."""
        query = (
            update(program_runs)
            .where(
                program_runs.c.job == job,
                program_runs.c.day == day,
                program_runs.c.claimed_by == owner,
                program_runs.c.done_us.is_(None),
            )
            .values(done_us=to_us(now), lease_until_us=None)
        )
        return bool((await self._conn.execute(query)).rowcount)

    async def release(self, job: str, day: str, owner: str) -> None:
        """Give a claim back after a failed run, so the next attempt need not wait for the lease."""
        await self._conn.execute(
            update(program_runs)
            .where(program_runs.c.job == job, program_runs.c.day == day, program_runs.c.claimed_by == owner)
            .values(lease_until_us=None, claimed_by=None)
        )

    async def record(self, job: str, day: str, *, event_id: str | None, state: str | None = None) -> None:
        """Remember the event published for the day (None: withdrawn) and the job's decision."""
        await self._ensure(job, day)
        await self._conn.execute(
            update(program_runs)
            .where(program_runs.c.job == job, program_runs.c.day == day)
            .values(event_id=event_id, state=state)
        )

    async def of_event(self, event_id: str) -> RunRecord | None:
        """The run that published `event_id`, if a program job did."""
        query = select(program_runs.c.job, program_runs.c.day).where(program_runs.c.event_id == event_id)
        row = (await self._conn.execute(query)).first()
        return None if row is None else await self.get(str(row[0]), str(row[1]))
