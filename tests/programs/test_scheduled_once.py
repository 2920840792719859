"""The scheduled price job publishes a day exactly once across processes, even when the process
holding the day's claim is SIGKILLed mid-run (its lease expires, another process takes over)."""

from __future__ import annotations

import asyncio
import signal
from datetime import UTC, datetime
from pathlib import Path

from aiohttp import web
from aiohttp.test_utils import TestServer
from support.processes import lab_env, vtn_command

from vtn.cli.core_session import standalone_core
from vtn.config import VtnConfig
from vtn.programs.runner import JobRunner, Outcome
from vtn.storage import open_store
from vtn.storage.filters import EventFilter, Page

PRICES = "start,price\n{day}T00:00:00Z,0.20\n{day}T01:00:00Z,0.25\n{day}T02:00:00Z,0.30\n"


class Utility:
    """The utility's own price system: counts fetches; while `hang` is set it never answers."""

    def __init__(self) -> None:
        self.fetches: list[str] = []
        self.hang = True
        self.asked = asyncio.Event()

    async def prices(self, request: web.Request) -> web.Response:
        day = request.match_info["day"]
        self.fetches.append(day)
        self.asked.set()
        if self.hang:
            await asyncio.Event().wait()  # until the client goes away
        return web.Response(text=PRICES.format(day=day), content_type="text/csv")


async def _run_due(config: Path, db: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        *vtn_command(), "programs", "run-due", "--config", str(config), "--db", db,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, env=lab_env(),
    )  # fmt: skip
    out, _ = await proc.communicate()
    return int(proc.returncode or 0), out.decode()


async def _held(config: Path, db: str, expected: Outcome = Outcome.HELD) -> datetime | None:
    """Run the due jobs in this process, expecting `expected`; the end of the day's lease."""
    cfg = VtnConfig.load(config, env={})
    async with standalone_core(db) as core:
        (result,) = await JobRunner(core, cfg.programs_prices, lease_s=2).run_due()
        assert result.outcome is expected
        async with core.read() as tx:
            run = await tx.runs().get(result.job, result.day.isoformat())
    assert run is not None
    assert (run.done is None) is (expected is Outcome.HELD)
    return run.lease_until


async def _events(db: str) -> int:
    store = open_store(db)
    try:
        async with store.read() as tx:
            return len(await tx.events.list(EventFilter(page=Page(0, 50))))
    finally:
        await store.close()


async def test_two_processes_and_a_sigkill_publish_the_day_once(db_url: str, tmp_path: Path) -> None:
    utility = Utility()
    app = web.Application()
    app.router.add_get("/prices/{day}.csv", utility.prices)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    config = tmp_path / "vtn.toml"
    config.write_text(
        "[programs]\nlease_seconds = 2\n\n[[programs.prices]]\n"
        'program = "day-ahead"\npublish_at = "00:00"\ntimezone = "UTC"\n'
        f'source = "http://127.0.0.1:{server.port}/prices/{{date}}.csv"\n'
    )
    try:
        # The first process claims the day and hangs on the utility's system: SIGKILL it there.
        first = await asyncio.create_subprocess_exec(
            *vtn_command(), "programs", "run-due", "--config", str(config), "--db", db_url,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL, env=lab_env(),
        )  # fmt: skip
        await asyncio.wait_for(utility.asked.wait(), 30)
        first.send_signal(signal.SIGKILL)
        assert await first.wait() == -signal.SIGKILL

        # Its claim is still leased: another runner leaves the day alone.
        lease_until = await _held(config, db_url)
        assert lease_until is not None
        assert await _events(db_url) == 0

        # The lease runs out; two processes race for the day: exactly one publishes it.
        utility.hang = False
        await asyncio.sleep(max(0.0, (lease_until - datetime.now(UTC)).total_seconds()) + 0.05)
        results = await asyncio.gather(_run_due(config, db_url), _run_due(config, db_url))
        outs = [out for _, out in results]
        assert sum("published" in o for o in outs) == 1, outs
        assert sum(("already done" in o) or ("held by another process" in o) for o in outs) == 1, outs
        assert await _events(db_url) == 1
        assert len(utility.fetches) == 2  # the killed run's and the winner's

        # A restart on the same day finds it done.
        await _held(config, db_url, Outcome.ALREADY_DONE)
        assert await _events(db_url) == 1
    finally:
        await server.close()
