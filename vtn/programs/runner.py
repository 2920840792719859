"""Running the program jobs that are due, exactly once per (job, day) across processes.

A run claims its (job, day) in the database with a lease (a compare-and-set, committed before any
work starts), does the work, and marks the day done. A process killed mid-run leaves a claim that
expires after `lease_s`; whichever process looks next takes the day over. The work itself is
idempotent per day (vtn/programs/publish.py), so a taken-over day still ends with one event.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from shared.errors import BadRequest, OadrError
from vtn.core.core import Changes, Core
from vtn.core.queries import Tx
from vtn.programs import feeds
from vtn.programs.capacity_job import run_capacity
from vtn.programs.jobs import JobKind, ProgramJob
from vtn.programs.prices import publish_prices

log = logging.getLogger("vtn.programs")


class Outcome(StrEnum):
    PUBLISHED = "published"
    ALREADY_DONE = "already done"
    HELD = "held by another process"
    LOST = "claim lost to another process"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class RunResult:
    job: str
    day: date
    outcome: Outcome
    detail: str = ""


class JobRunner:
    def __init__(
        self, core: Core, jobs: tuple[ProgramJob, ...], *, lease_s: float, owner: str | None = None
    ) -> None:
        self._core = core
        self.jobs = jobs
        self.lease_s = lease_s
        self.owner = owner or f"vtn-{uuid.uuid4().hex[:12]}"

    async def run_due(self) -> list[RunResult]:
        """Run every job whose latest due day is not done yet (a restart catches up the same way)."""
        now = self._core.clock()
        return [await self.run(job, job.due_day(now)) for job in self.jobs]

    async def run(self, job: ProgramJob, day: date) -> RunResult:
        core, owner, key = self._core, self.owner, job.name

        async def claim(tx: Tx, _: Changes) -> tuple[bool, bool]:
            runs = tx.runs()
            got = await runs.claim(key, day.isoformat(), owner, core.clock(), self.lease_s)
            found = await runs.get(key, day.isoformat())
            return got, found is not None and found.done is not None

        got, done = await core.run(claim)
        if not got:
            return RunResult(key, day, Outcome.ALREADY_DONE if done else Outcome.HELD)
        try:
            detail = await self._work(job, day)
        except (OadrError, OSError) as exc:
            log.error("program job %s for %s failed: %s", key, day, exc)

            async def release(tx: Tx, _: Changes) -> None:
                await tx.runs().release(key, day.isoformat(), owner)

            await core.run(release)
            return RunResult(key, day, Outcome.FAILED, str(exc))

        async def complete(tx: Tx, _: Changes) -> bool:
            return await tx.runs().complete(key, day.isoformat(), owner, core.clock())

        if not await core.run(complete):
            return RunResult(key, day, Outcome.LOST, detail)
        log.info("program job %s for %s: %s", key, day, detail)
        return RunResult(key, day, Outcome.PUBLISHED, detail)

    async def _work(self, job: ProgramJob, day: date) -> str:
        source = job.source_for(day)
        if job.kind is JobKind.PRICES:
            if source is None:
                raise BadRequest(f"price job {job.name} has no source")
            series = await feeds.load(source, job.tz)
            done = await publish_prices(
                self._core, job.program, series, job.tz, currency=job.currency, units=job.units
            )
            assert done.event is not None
            return f"{done.operation.value} event {done.event.id} ({len(series.slots)} intervals)"
        forecast = None if source is None else await feeds.load(source, job.tz)
        decision = await run_capacity(self._core, job, day, forecast)
        return decision.summary
