"""The agent's timers: periodic jobs and one-shot jobs on the running asyncio loop.

The agent needs two kinds: "every N seconds" (event sync, 2.0b poll, telemetry) and "once at T"
(the next interval boundary, replaced whenever the timeline changes). A periodic job runs at a fixed
rate, never overlaps itself, and skips the runs it missed while busy (no burst of catch-up runs); a
failing run is logged and the next one runs as planned. The period is read before every wait, so
a job can be slowed down or sped up (the 2.0b poll period comes from the VTN) without a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

log = logging.getLogger("ven.jobs")

Job = Callable[[], Awaitable[None]]


class Jobs:
    def __init__(self) -> None:
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._periods: dict[str, float] = {}
        self._stopped = False

    def every(self, name: str, seconds: float, job: Job) -> None:
        """Run `job` every `seconds` (first run one period from now) until `stop`."""
        self._periods[name] = seconds
        self._tasks[name] = asyncio.create_task(self._periodic(name, job), name=f"ven-{name}")

    def reschedule(self, name: str, seconds: float) -> None:
        """A new period for job `name`, in force from its next wait."""
        self._periods[name] = seconds

    def at(self, name: str, when: datetime, now: datetime, job: Job) -> None:
        """Run `job` once at `when` (as seen on the clock that said `now`), replacing an earlier `at`."""
        if self._stopped:
            return
        earlier = self._timers.pop(name, None)
        if earlier is not None:
            earlier.cancel()
        delay = max((when - now).total_seconds(), 0.0)
        loop = asyncio.get_running_loop()
        self._timers[name] = loop.call_later(delay, lambda: self._spawn(name, job))

    async def stop(self) -> None:
        self._stopped = True
        for timer in self._timers.values():
            timer.cancel()
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()

    def _spawn(self, name: str, job: Job) -> None:
        self._timers.pop(name, None)
        # The task of a one-shot job is kept under its own key: a periodic job keeps its name.
        self._tasks[f"{name}@once"] = asyncio.create_task(self._run(name, job), name=f"ven-{name}")

    async def _periodic(self, name: str, job: Job) -> None:
        loop = asyncio.get_running_loop()
        due = loop.time()
        while True:
            period = self._periods[name]
            due += period
            now = loop.time()
            if due < now:  # runs missed while the last one was busy: skip them, keep the rhythm
                due += period * ((now - due) // period + 1)
            await asyncio.sleep(due - now)
            await self._run(name, job)

    @staticmethod
    async def _run(name: str, job: Job) -> None:
        try:
            await job()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("job %s failed; it runs again as planned", name)
