"""One run of `vtn check-ven`: our VTN in-process, the scripted scenario, the grades.

The script (scenario "basic", times in units of `unit` seconds, 10 by default):

  0    the VEN is onboarded (its client exists; it logs in and creates its ven object)
  0    publish a PRICE event (4 intervals of 3 units, reportDescriptors for USAGE every unit)
       and a CAPACITY event (12 units), both untargeted, in a program of their own
  4    modify the price event (new prices), cancel (delete) the capacity event
  7    outage: every request is answered 503 for 3 units
  14   grade

Everything is written through the core (`Core.write`) as a BL principal of the run's own.

With protocol 2.0b the same script reaches the VEN through the 2.0b front-end (vtn/oadr20b): BL
makes a ven object named VEN_NAME (labs admission by venName, docs/oadr20b.md), the script starts
once the VEN registered, and grade20b.py grades the messages it sent (watch20b.py).
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from aiohttp import web

from shared.durations import format_duration
from shared.enums import Operation, Role, Scope
from shared.models import EventRequest, ProgramRequest, Report
from shared.models.common import (
    ClientId,
    EventPayloadDescriptor,
    Interval,
    IntervalPeriod,
    ProgramId,
    ReportDescriptor,
    ValuesMap,
)
from shared.models.ven import VenRequest
from vtn.app import build_app
from vtn.checkven.grade import StoredReport, Timeline, Verdict, grade
from vtn.checkven.grade20b import grade_20b
from vtn.checkven.watch import Watch
from vtn.config import VtnConfig
from vtn.core.core import Core
from vtn.core.queries import Page, ReportFilter, VenFilter
from vtn.core.state import STATE
from vtn.oadr20b.settings import PREFIX, Oadr20bSettings
from vtn.principal import Principal
from vtn.services import programs as programs_svc
from vtn.services import reports as reports_svc
from vtn.services import vens as vens_svc
from vtn.storage import migrate, open_store

SCENARIOS = ("basic",)
VEN_NAME = "ven-under-test"
BL = Principal(client_id=ClientId("check-ven"), role=Role.BL, scopes=frozenset(Scope))


@dataclass(frozen=True)
class Options:
    port: int
    host: str = "127.0.0.1"
    protocol: str = "3.1.0"
    scenario: str = "basic"
    unit: float = 10.0
    onboard_timeout: float = 120.0


@dataclass(frozen=True)
class Credentials:
    url: str  # the 3.1 API base the VEN points at
    client_id: str  # 2.0b: the venName the VEN must register as
    client_secret: str  # 2.0b: empty (admitted by venName, labs)
    vtn_id: str = ""  # 2.0b: the VTN's vtnID


@dataclass(frozen=True)
class Outcome:
    credentials: Credentials
    verdicts: list[Verdict]

    @property
    def passed(self) -> bool:
        return all(v.passed for v in self.verdicts)


async def run(options: Options, on_ready: Callable[[Credentials], Awaitable[None]]) -> Outcome:
    """Serve the test VTN, wait for `on_ready` (told the credentials), play the scenario, grade."""
    with tempfile.TemporaryDirectory(prefix="check-ven-") as tmp:
        db_url = f"sqlite:///{Path(tmp) / 'vtn.db'}"
        await migrate.upgrade_async(db_url)
        store = open_store(db_url)
        config = VtnConfig.load(
            env={},
            overrides={
                "db_url": db_url,
                "host": options.host,
                "port": options.port,
                # The partner's webhook is wherever its VEN runs: plain http and private addresses too.
                "webhook_require_https": False,
                "webhook_allow_private": True,
                "read_cache_seconds": 0.0,
                # 2.0b VENs poll as often as oadrRequestedOadrPollFreq says: twice a unit.
                "oadr20b_poll_seconds": options.unit / 2,
            },
        )
        app = await build_app(config, store)
        oadr20b = options.protocol == "2.0b"
        watch = Watch(PREFIX, oadr20b=True) if oadr20b else Watch(config.base_path.rstrip("/"))
        app.middlewares.insert(0, watch.middleware)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        try:
            await web.TCPSite(runner, options.host, options.port).start()
            core = app[STATE].core
            async with store.transaction() as tx:
                new = await tx.clients.add("ven-under-test", Role.VEN)
            if oadr20b:
                # Labs admission (docs/oadr20b.md): a ven object BL created admits its venName.
                req = VenRequest.model_validate(
                    {"objectType": "BL_VEN_REQUEST", "venName": VEN_NAME, "clientID": new.record.client_id}
                )
                await core.write(BL, Operation.CREATE, lambda tx: vens_svc.create_ven(tx, BL, req))
                vtn_id = Oadr20bSettings.from_config(config).vtn_id
                creds = Credentials(f"http://{options.host}:{options.port}{PREFIX}", VEN_NAME, "", vtn_id)
            else:
                creds = Credentials(
                    f"http://{options.host}:{options.port}{config.base_path.rstrip('/')}",
                    new.record.client_id,
                    new.secret,
                )
            await on_ready(creds)
            return Outcome(creds, await _scenario(core, watch, new.record.client_id, options))
        finally:
            await runner.cleanup()
            await store.close()


async def _scenario(core: Core, watch: Watch, client_id: str, options: Options) -> list[Verdict]:
    u = options.unit
    oadr20b = options.protocol == "2.0b"
    deadline = time.monotonic() + options.onboard_timeout
    while time.monotonic() < deadline and not (
        _registered(watch) if oadr20b else await _has_ven(core, client_id)
    ):
        await asyncio.sleep(min(u, 0.2))
    program = await core.write(
        BL,
        Operation.CREATE,
        lambda tx: programs_svc.create_program(tx, ProgramRequest(program_name="check-ven")),
    )
    now = core.clock()
    price_req = _price_event(program.id, now, u, (0.2, 0.3, 0.45, 0.25))
    price = await core.write(BL, Operation.CREATE, lambda tx: programs_svc.create_event(tx, price_req))
    cap_req = _capacity_event(program.id, now, u)
    capacity = await core.write(BL, Operation.CREATE, lambda tx: programs_svc.create_event(tx, cap_req))
    published = time.monotonic()
    await _until(published + 4 * u)
    changed_req = _price_event(program.id, now, u, (0.1, 0.5, 0.6, 0.3))
    await core.write(BL, Operation.UPDATE, lambda tx: programs_svc.replace_event(tx, price.id, changed_req))
    await core.write(BL, Operation.DELETE, lambda tx: programs_svc.delete_event(tx, capacity.id))
    changed = time.monotonic()
    await _until(published + 7 * u)
    outage_from = time.monotonic()
    watch.outage(3 * u)
    await _until(outage_from + 3 * u)
    outage_to = time.monotonic()
    await _until(published + 14 * u)
    timeline = Timeline(
        unit=u,
        published=published,
        changed=changed,
        outage_from=outage_from,
        outage_to=outage_to,
        ended=published + 12 * u,
        price_event=price.id,
        capacity_event=capacity.id,
    )
    if oadr20b:
        return grade_20b(timeline, watch.seen)
    reports = await _reports(core, client_id)
    return grade(timeline, watch.by(client_id), reports, await _has_ven(core, client_id))


async def _until(at: float) -> None:
    await asyncio.sleep(max(0.0, at - time.monotonic()))


def _price_event(program_id: str, start: datetime, u: float, prices: tuple[float, ...]) -> EventRequest:
    return EventRequest(
        program_id=ProgramId(program_id),
        event_name="check-ven price",
        payload_descriptors=[EventPayloadDescriptor(payload_type="PRICE", units="KWH", currency="USD")],
        report_descriptors=[ReportDescriptor(payload_type="USAGE", frequency=max(1, round(u)))],
        interval_period=IntervalPeriod(start=start, duration=format_duration(timedelta(seconds=3 * u))),
        intervals=[
            Interval(id=i, payloads=[ValuesMap(type="PRICE", values=[p])]) for i, p in enumerate(prices)
        ],
    )


def _capacity_event(program_id: str, start: datetime, u: float) -> EventRequest:
    return EventRequest(
        program_id=ProgramId(program_id),
        event_name="check-ven capacity",
        payload_descriptors=[EventPayloadDescriptor(payload_type="IMPORT_CAPACITY_LIMIT", units="KW")],
        report_descriptors=[ReportDescriptor(payload_type="USAGE", frequency=max(1, round(u)))],
        interval_period=IntervalPeriod(start=start, duration=format_duration(timedelta(seconds=12 * u))),
        intervals=[Interval(id=0, payloads=[ValuesMap(type="IMPORT_CAPACITY_LIMIT", values=[3.0])])],
    )


def _registered(watch: Watch) -> bool:
    return any(
        s.status == 200 and s.message is not None and s.message.kind == "oadrCreatePartyRegistration"
        for s in watch.seen
    )


async def _has_ven(core: Core, client_id: str) -> bool:
    async with core.read() as tx:
        return bool(await tx.vens.list(VenFilter(owner=ClientId(client_id), page=Page(limit=1))))


async def _reports(core: Core, client_id: str) -> list[StoredReport]:
    """The VEN's stored reports, each with its store time on the monotonic clock of the run."""
    who = Principal(client_id=ClientId(client_id), role=Role.VEN, scopes=frozenset())
    found: list[Report] = []
    async with core.read() as tx:
        while batch := await reports_svc.list_reports(tx, who, ReportFilter(page=Page(skip=len(found)))):
            found.extend(batch)
    offset = time.monotonic() - core.clock().timestamp()
    return [StoredReport(r.created_date_time.timestamp() + offset, r) for r in found]
