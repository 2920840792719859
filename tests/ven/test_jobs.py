"""ven/jobs.py: periodic jobs never overlap themselves and survive failures; `at` replaces itself."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from ven.jobs import Job, Jobs


async def test_a_periodic_job_runs_at_its_rate_and_a_failure_does_not_stop_it() -> None:
    jobs = Jobs()
    runs: list[float] = []
    done = asyncio.Event()
    loop = asyncio.get_running_loop()

    async def job() -> None:
        runs.append(loop.time())
        if len(runs) == 2:
            raise RuntimeError("boom")  # logged; the third run still comes
        if len(runs) == 4:
            done.set()

    start = loop.time()
    jobs.every("tick", 0.02, job)
    await asyncio.wait_for(done.wait(), 5)
    await jobs.stop()
    assert len(runs) == 4
    assert runs[0] - start >= 0.015  # the first run is one period away, not immediate


async def test_a_slow_run_is_not_overlapped_and_missed_runs_are_skipped() -> None:
    jobs = Jobs()
    active, most, runs = 0, 0, 0
    done = asyncio.Event()

    async def slow() -> None:
        nonlocal active, most, runs
        active += 1
        most = max(most, active)
        await asyncio.sleep(0.05)  # five periods
        active -= 1
        runs += 1
        if runs == 3:
            done.set()

    loop = asyncio.get_running_loop()
    start = loop.time()
    jobs.every("slow", 0.01, slow)
    await asyncio.wait_for(done.wait(), 5)
    elapsed = loop.time() - start
    await jobs.stop()
    assert most == 1
    assert elapsed >= 0.15  # three whole runs, one after the other


async def test_reschedule_changes_the_period_from_the_next_wait() -> None:
    jobs = Jobs()
    seen = asyncio.Event()

    async def job() -> None:
        seen.set()

    jobs.every("poll", 3600, job)
    jobs.reschedule("poll", 0.01)  # read before the first wait
    await asyncio.wait_for(seen.wait(), 5)
    await jobs.stop()


async def test_at_runs_once_and_a_later_at_replaces_the_earlier_one() -> None:
    jobs = Jobs()
    ran: list[str] = []
    done = asyncio.Event()
    now = datetime.now(UTC)

    def record(tag: str) -> Job:
        async def job() -> None:
            ran.append(tag)
            done.set()

        return job

    jobs.at("apply", now + timedelta(seconds=0.01), now, record("first"))
    jobs.at("apply", now + timedelta(seconds=0.03), now, record("second"))
    await asyncio.wait_for(done.wait(), 5)
    await asyncio.sleep(0.03)  # time for a (wrong) second run to show up
    await jobs.stop()
    assert ran == ["second"]
    jobs.at("apply", now, now, record("after stop"))
    await asyncio.sleep(0.01)
    assert ran == ["second"]
