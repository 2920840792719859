"""`make demo`: two weeks and an event day of program automation at a fast clock, in about a minute.

One VTN (its real HTTP API, on loopback) runs on a simulated clock. Five simulated devices
(ven/adapters: EV charger, battery, heat pump, water heater, PV inverter), each behind its own VEN
client, read their events over the API every simulated hour, respond to them and report their
hourly USAGE. Four of them are in area `feeder-12`, the PV inverter in `feeder-7`.

- The scheduler publishes each day's prices at 13:00 the day before (day-ahead), from price files
  of "the utility's system" (var/demo-day/prices/DATE.csv), exactly as `vtn serve` would.
- After 14 ordinary days, the utility's forecast for Monday shows feeder-12 overloaded in the
  evening; the capacity job publishes an IMPORT_CAPACITY_LIMIT event targeted at feeder-12 with a
  price incentive. The devices of feeder-12 shift; the PV inverter of feeder-7 never sees it.
- On the event day the heat pump's gateway holds its evening reports back until 23:00 (late) and
  the water heater's gateway loses the 18:00 hour (missing).
- At the end: the verification table of the capacity event (also in var/demo-day/verification.csv).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import shutil
import socket
import sys
import time
import tomllib
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from shared.enums import Role
from shared.models import Event
from ven.adapters.base import DeviceAdapter
from ven.adapters.registry import AdapterRegistry
from ven.timeline import Timeline
from vtn.app import build_app
from vtn.config import VtnConfig
from vtn.core.state import STATE
from vtn.programs.areas import members
from vtn.programs.jobs import JobKind, ProgramJob
from vtn.programs.publish import day_event, job_key
from vtn.programs.scheduler import ProgramScheduler
from vtn.programs.verification.collect import verify
from vtn.programs.verification.render import to_csv, to_table
from vtn.storage import Store, migrate
from vtn.storage.engine import create_engine

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "var" / "demo-day"
EVENT_DAY = date(2026, 12, 7)  # a Monday
HISTORY_DAYS = 14
H = timedelta(hours=1)
DEVICES = {  # device -> area
    "ev-charger": "feeder-12",
    "battery": "feeder-12",
    "heat-pump": "feeder-12",
    "water-heater": "feeder-12",
    "pv-inverter": "feeder-7",
}
# EUR/kWh by hour: cheap nights and a solar midday, an evening peak.
PRICE_CURVE = [0.14] * 6 + [0.24] * 4 + [0.18, 0.10, 0.09, 0.11] + [0.20] * 3 + [0.34] * 4 + [0.22] * 3
INCENTIVE = 0.80  # EUR/kWh during the hours at risk: above every device's high_price (0.45)


class SimClock:
    def __init__(self, start: datetime) -> None:
        self.moment = start

    def now(self) -> datetime:
        return self.moment


@dataclass
class Device:
    name: str
    area: str
    resource: str
    adapter: DeviceAdapter
    token: str = ""
    meter: float = 0.0
    held: list[dict[str, Any]] = field(default_factory=list)  # reports not sent yet
    hourly: dict[datetime, float] = field(default_factory=dict)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# Household settings for a day-long run (the example VEN configs are tuned for a few live minutes):
# the car comes home at 17:00 and leaves at 07:00, hot water is drawn at 07:00 and 18:00, and it is
# cold outside; so a normal evening is the feeder's busiest time.
DAY_OPTIONS: dict[str, dict[str, object]] = {
    "ev-charger": {"arrival": "17:00", "departure": "07:00", "max_power_kw": 7.4, "arrival_soc": 40.0},
    "heat-pump": {"outdoor_c": 2.0},
    "water-heater": {"draws": {"07:00": 60, "18:00": 80}},
}


def device(name: str, area: str) -> Device:
    doc = tomllib.loads((ROOT / "examples" / f"ven-{name}.toml").read_text())
    res = doc["resources"][0]
    options = {**res.get("options", {}), **DAY_OPTIONS.get(name, {})}
    for live_only in ("arrival", "departure") if name != "ev-charger" else ():
        options.pop(live_only, None)
    adapter = AdapterRegistry(discover=False).factory(res["adapter"])(options)
    return Device(name, area, res["name"], adapter)


def write_prices(day: date) -> None:
    rows = [
        f"{datetime(day.year, day.month, day.day, h, tzinfo=UTC).isoformat()},{p}"
        for h, p in enumerate(PRICE_CURVE)
    ]
    (WORK / "prices" / f"{day}.csv").write_text("start,price\n" + "\n".join(rows) + "\n")


class Api:
    def __init__(self, session: aiohttp.ClientSession, base: str) -> None:
        self.session, self.base = session, base

    async def token(self, client_id: str, secret: str) -> str:
        form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
        async with self.session.post(f"{self.base}/auth/token", data=form) as resp:
            return str((await resp.json())["access_token"])

    async def call(self, method: str, path: str, token: str, body: object = None) -> Any:
        headers = {"Authorization": f"Bearer {token}"}
        async with self.session.request(method, self.base + path, json=body, headers=headers) as resp:
            if resp.status >= 400:
                raise SystemExit(f"demo: {method} {path}: {resp.status} {await resp.text()}")
            return await resp.json()


async def main(args: argparse.Namespace) -> None:
    started = time.monotonic()
    shutil.rmtree(WORK, ignore_errors=True)
    (WORK / "prices").mkdir(parents=True)
    (WORK / "forecast").mkdir()
    url = f"sqlite:///{WORK / 'vtn.db'}"
    await asyncio.to_thread(migrate.upgrade, url)  # alembic runs its own event loop
    first_day = EVENT_DAY - timedelta(days=HISTORY_DAYS)
    clock = SimClock(datetime(first_day.year, first_day.month, first_day.day, tzinfo=UTC))
    store = Store(create_engine(url), clock=clock.now)
    config = VtnConfig(db_url=url, token_ttl_seconds=10**8, delivery_worker=False)
    app = await build_app(config, store)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    core = app[STATE].core
    base = f"http://127.0.0.1:{port}{config.base_path}"
    for day in (first_day + timedelta(days=d) for d in range(-1, HISTORY_DAYS + 2)):
        write_prices(day)
    prices = ProgramJob(
        kind=JobKind.PRICES, program="day-ahead", publish_at=datetime.min.time().replace(hour=13),
        source=str(WORK / "prices" / "{date}.csv"), currency="EUR",
    )  # fmt: skip
    capacity = ProgramJob(
        kind=JobKind.CAPACITY, program="feeder-capacity", area="feeder-12",
        publish_at=datetime.min.time().replace(hour=14), source=str(WORK / "forecast" / "{date}.csv"),
        price_incentive=INCENTIVE,
    )  # fmt: skip
    price_scheduler = ProgramScheduler(core, (prices,), lease_s=300, check_s=60)
    capacity_scheduler: ProgramScheduler | None = None
    devices = [device(name, area) for name, area in DEVICES.items()]
    say = print
    async with aiohttp.ClientSession() as session:
        api = Api(session, base)
        async with store.transaction() as tx:
            bl_new = await tx.clients.add("demo-bl", Role.BL)
            made = {d.name: await tx.clients.add(d.name, Role.VEN) for d in devices}
        bl = await api.token(bl_new.record.client_id, bl_new.secret)
        for d in devices:
            cred = made[d.name]
            d.token = await api.token(cred.record.client_id, cred.secret)
            ven = await api.call(
                "POST",
                "/vens",
                bl,
                {"objectType": "BL_VEN_REQUEST", "venName": d.name, "clientID": cred.record.client_id},
            )
            await api.call(
                "POST",
                "/resources",
                bl,
                {
                    "objectType": "BL_RESOURCE_REQUEST",
                    "resourceName": d.resource,
                    "venID": ven["id"],
                    "clientID": cred.record.client_id,
                },
            )
        telemetry = await api.call("POST", "/programs", bl, {"programName": "telemetry"})
        tele_event = await api.call("POST", "/events", bl, telemetry_event(telemetry["id"], clock.now()))
        say(f"[demo] VTN on {base}, simulated clock from {clock.now():%Y-%m-%d}; five VENs, five devices")

        end = datetime(EVENT_DAY.year, EVENT_DAY.month, EVENT_DAY.day, tzinfo=UTC) + timedelta(days=1)
        while clock.moment < end:
            now = clock.moment
            await price_scheduler.check()
            if capacity_scheduler is not None:
                await capacity_scheduler.check()
            for d in devices:
                events = [Event.model_validate(e) for e in await api.call("GET", "/events", d.token)]
                signals = Timeline(events, seed=zlib.crc32(d.name.encode())).signals_at(now)
                await d.adapter.apply(signals, now)
                d.adapter.step(now + H)
                kwh = d.adapter.readings().energy_kwh - d.meter
                d.meter += kwh
                d.hourly[now] = kwh
                report = usage_report(tele_event["id"], d, now, kwh)
                on_event_day = now.date() == EVENT_DAY
                if on_event_day and d.name == "water-heater" and now.hour == 18:
                    continue  # the gateway lost this hour
                if on_event_day and d.name == "heat-pump" and 16 <= now.hour <= 21:
                    d.held.append(report)  # the gateway was offline; it catches up at 23:00
                    continue
                clock.moment = now + H + timedelta(minutes=2)  # reports arrive just after the hour
                await api.call("POST", "/reports", d.token, report)
                if d.held and now.hour == 22:
                    for late in d.held:
                        await api.call("POST", "/reports", d.token, late)
                    d.held.clear()
                clock.moment = now
            if now.date() == EVENT_DAY - timedelta(days=1) and now.hour == 0:
                # The utility's forecast for feeder-12, made from two weeks of metered usage: a
                # normal day, with a cold snap on Monday evening 17:00-20:00 that adds heating load
                # (+35%, and at least 15% above the capacity, set 5% above a normal day's peak).
                await setup_areas(api, bl, devices)
                normal = typical_day([d for d in devices if d.area == "feeder-12"], EVENT_DAY)
                capacity_kw = round(max(normal.values()) * 1.05, 1)
                area = {"name": "feeder-12", "kind": "feeder", "importKW": capacity_kw, "exportKW": 10}
                await api.call("POST", "/areas", bl, area)
                for d in devices:
                    if d.area == "feeder-12":
                        await api.call("PUT", f"/areas/feeder-12/vens/{d.name}", bl)
                for offset in (-1, 0, 1):
                    day = EVENT_DAY + timedelta(days=offset)
                    rows = []
                    for hour, kw in normal.items():
                        if offset == 0 and 17 <= hour.hour <= 19:
                            kw = max(kw * 1.35, capacity_kw * 1.15)
                        rows.append(f"{(hour + timedelta(days=offset)).isoformat()},{kw:.3f}")
                    (WORK / "forecast" / f"{day}.csv").write_text("start,kw\n" + "\n".join(rows) + "\n")
                say(f"[demo] area feeder-12: import capacity {capacity_kw} kW (a normal day peaks at "
                    f"{max(normal.values()):.1f} kW); Monday's forecast: a cold evening, 17-20h")  # fmt: skip
                capacity_scheduler = ProgramScheduler(core, (capacity,), lease_s=300, check_s=60)
            if now.hour == 0 and now.date() > first_day:
                published, _ = await day_event(
                    core, job_key("prices", await program_id(api, bl, "day-ahead")), now.date()
                )
                say(f"[demo] {now:%a %Y-%m-%d}: prices published by the scheduler: {bool(published)}")
            clock.moment = now + H

        cap_event, _ = await day_event(
            core, job_key("capacity", await program_id(api, bl, "feeder-capacity"), "feeder-12"), EVENT_DAY
        )
        if cap_event is None:
            raise SystemExit("demo: no capacity event was published")
        seen = {d.name: [e["eventName"] for e in await api.call("GET", "/events", d.token)] for d in devices}
        say(
            f"[demo] capacity event {cap_event.event_name}: {len(cap_event.intervals or [])} h at risk, "
            f"targets {cap_event.targets}"
        )
        for name, names in seen.items():
            say(
                f"[demo]   {name:<13} ({DEVICES[name]}) sees: "
                f"{', '.join(n for n in names if 'prices' not in n)}"
            )
        found = await verify(core, cap_event.id)
        (WORK / "verification.csv").write_text(to_csv(found))
        area = await members(core, "feeder-12")
        say(
            f"[demo] verification ({len(area.vens)} VENs in feeder-12; "
            "also in var/demo-day/verification.csv):"
        )
        print(to_table(found))
    await runner.cleanup()
    say(f"[demo] done in {time.monotonic() - started:.0f} s of wall time")


def telemetry_event(program_id: str, start: datetime) -> dict[str, Any]:
    """An event that only asks for hourly USAGE reports, open-ended (P9999Y)."""
    return {
        "programID": program_id,
        "eventName": "hourly usage",
        "intervalPeriod": {"start": start.isoformat(), "duration": "P9999Y"},
        "reportDescriptors": [{"payloadType": "USAGE", "readingType": "DIRECT_READ", "units": "KWH"}],
        "intervals": [{"id": 0, "payloads": [{"type": "SIMPLE", "values": [0]}]}],
    }


def usage_report(event_id: str, d: Device, hour: datetime, kwh: float) -> dict[str, Any]:
    interval = {
        "id": 0,
        "intervalPeriod": {"start": hour.isoformat(), "duration": "PT1H"},
        "payloads": [{"type": "USAGE", "values": [round(kwh, 4)]}],
    }
    descriptor = {"objectType": "REPORT_PAYLOAD_DESCRIPTOR", "payloadType": "USAGE", "units": "KWH"}
    return {
        "eventID": event_id,
        "clientName": d.name,
        "reportName": f"usage {hour:%Y-%m-%dT%H}",
        "payloadDescriptors": [descriptor],
        "resources": [{"resourceName": d.resource, "intervals": [interval]}],
    }


def typical_day(devices: list[Device], day: date) -> dict[datetime, float]:
    """Per hour of `day`: the devices' summed mean usage at that hour over the last 10 days (kW)."""
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    out: dict[datetime, float] = {}
    for h in range(24):
        hour = start + h * H
        past = [[d.hourly.get(hour - timedelta(days=k)) for k in range(2, 12)] for d in devices]
        out[hour] = sum(
            sum(v for v in p if v is not None) / max(1, sum(v is not None for v in p)) for p in past
        )
    return out


async def setup_areas(api: Api, bl: str, devices: list[Device]) -> None:
    await api.call(
        "POST", "/areas", bl, {"name": "feeder-7", "kind": "feeder", "importKW": 50, "exportKW": 50}
    )
    for d in devices:
        if d.area == "feeder-7":
            await api.call("PUT", f"/areas/feeder-7/vens/{d.name}", bl)


async def program_id(api: Api, bl: str, name: str) -> str:
    found: list[Mapping[str, Any]] = await api.call("GET", "/programs", bl)
    return str(next(p["id"] for p in found if p["programName"] == name))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(main(parser.parse_args()))
    sys.exit(0)
