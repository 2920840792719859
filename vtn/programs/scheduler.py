"""The program jobs of the VTN config on a schedule (APScheduler 3), in every serving process.

Each job fires at its `publish_at` in its time zone; a check every `programs_check_seconds` (and
one at start) runs whatever is due and not done, which catches up after a restart and takes over
a day whose claimant died. The runner's database claim makes each (job, day) happen once however
many processes schedule it.
"""

from __future__ import annotations

import asyncio
import logging

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from vtn.core.core import Core
from vtn.programs.jobs import ProgramJob
from vtn.programs.runner import JobRunner

log = logging.getLogger("vtn.programs")


class ProgramScheduler:
    def __init__(self, core: Core, jobs: tuple[ProgramJob, ...], *, lease_s: float, check_s: float) -> None:
        self.runner = JobRunner(core, jobs, lease_s=lease_s)
        self._check_s = check_s
        self._scheduler: AsyncIOScheduler | None = None
        self._lock = asyncio.Lock()  # one pass at a time in this process
        self.first_check: asyncio.Task[None] | None = None  # the catch-up pass at start

    async def check(self) -> None:
        async with self._lock:
            try:
                await self.runner.run_due()
            except Exception:  # a bad pass must not stop the schedule; the next one retries
                log.exception("program jobs: check failed")

    async def start(self) -> None:
        scheduler = AsyncIOScheduler()
        for job in self.runner.jobs:
            trigger = CronTrigger(hour=job.publish_at.hour, minute=job.publish_at.minute, timezone=job.tz)
            scheduler.add_job(
                self.check, trigger, id=f"at:{job.name}", coalesce=True, misfire_grace_time=None
            )
        scheduler.add_job(
            self.check, IntervalTrigger(seconds=self._check_s), id="check", coalesce=True, max_instances=1
        )
        scheduler.start()
        self._scheduler = scheduler
        self.first_check = asyncio.get_running_loop().create_task(
            self.check(), name="program-jobs-first-check"
        )

    async def stop(self) -> None:
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
            self._scheduler = None
