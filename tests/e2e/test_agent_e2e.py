"""End to end: `vtn serve` and `ven run` as subprocesses talking over loopback sockets.

Each test gets its own VTN (a copy of the migrated SQLite template, a free port, credentials written
to its database by the test process while it starts; `vtn clients add` itself runs in test_outbox_crash)
and its own agents (a TOML config and VEN_STATE_DIR under tmp_path,
stdout captured to a log file). BL actions go through the typed VtnClient. Every wait polls with a
deadline; every subprocess is killed when the test ends, whatever happens.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from support.processes import add_clients_here

from shared.enums import Role
from shared.models import Event, EventRequest, Program, ProgramRequest, Report
from ven.client import VtnClient
from vtn.core.ids import assigned_id

BIN = Path(sys.executable).parent
BASE_PATH = "/openadr3/3.1.0"
REPORT_TYPES = ["USAGE", "DEMAND", "STORAGE_CHARGE_LEVEL", "OPERATING_STATE"]
DEVICE_LINE = re.compile(r"device (?P<res>\S+): (?P<sig>.+?) -> (?P<kw>-?\d+\.\d+) kW \((?P<state>\w+)\)")


def command(name: str) -> list[str]:
    """The console script next to this interpreter (.venv/bin/vtn), else `python -m name`."""
    script = BIN / name
    return [str(script)] if script.exists() else [sys.executable, "-m", name]


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VTN_", "VEN_"))}
    return {**env, "PYTHONUNBUFFERED": "1", **extra}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def utcnow() -> datetime:
    return datetime.now(UTC)


def tail(path: Path, lines: int = 40) -> str:
    if not path.exists():
        return f"({path.name}: no output)"
    return f"--- {path} ---\n" + "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


async def wait_for(
    check: Callable[[], Any],
    what: str,
    timeout: float,
    *,
    diagnostics: Callable[[], str] = lambda: "",
    interval: float = 0.1,
) -> Any:
    """Poll `check` (sync or async) until it returns something truthy; fail after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}\n{diagnostics()}")
        await asyncio.sleep(interval)


def stop_process(
    proc: subprocess.Popen[bytes] | None, sig: int = signal.SIGTERM, timeout: float = 10
) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


# -- the VTN -----------------------------------------------------------------------------------------


class VtnProcess:
    def __init__(self, workdir: Path, template: Path) -> None:
        self.workdir = workdir
        self.db_path = workdir / "vtn.db"
        shutil.copy(template, self.db_path)
        self.db = f"sqlite:///{self.db_path}"
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}{BASE_PATH}"
        self.log_path = workdir / "vtn.log"
        self.proc: subprocess.Popen[bytes] | None = None
        # Webhooks to a plain-HTTP loopback receiver: relax the production checks.
        self.env = clean_env(
            VTN_WEBHOOK_REQUIRE_HTTPS="false",
            VTN_WEBHOOK_ALLOW_PRIVATE="true",
            # The machine's Mosquitto; a unique prefix keeps concurrent runs apart.
            VTN_MQTT_BROKER_URL="mqtt://127.0.0.1:1883",
            VTN_MQTT_TOPIC_PREFIX=f"e2e{self.port}",
        )

    def start(self) -> None:
        with open(self.log_path, "ab") as out:
            self.proc = subprocess.Popen(
                [*command("vtn"), "serve", "--db", self.db, "--port", str(self.port), "--no-migrate"],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=self.env,
            )

    async def wait_ready(self, timeout: float = 20) -> None:
        async with aiohttp.ClientSession() as session:

            async def up() -> bool:
                assert self.proc is not None
                if self.proc.poll() is not None:
                    raise AssertionError(
                        f"vtn serve exited with {self.proc.returncode}\n{tail(self.log_path)}"
                    )
                try:
                    async with session.get(f"{self.base}/auth/server") as resp:
                        return resp.status == 200
                except aiohttp.ClientError:
                    return False

            await wait_for(
                up, "the VTN to answer /auth/server", timeout, diagnostics=lambda: tail(self.log_path)
            )

    def stop(self, sig: int = signal.SIGTERM) -> None:
        stop_process(self.proc, sig)


# -- a VEN agent -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OutboxRow:
    seq: int
    report_id: str
    status: str
    created: float
    attempts: int
    error: str | None


class AgentProcess:
    def __init__(self, workdir: Path, name: str, config: str) -> None:
        self.name = name
        self.dir = workdir / name
        self.dir.mkdir()
        self.config_path = self.dir / "ven.toml"
        self.config_path.write_text(config)
        self.state_dir = self.dir / "state"
        self.log_path = self.dir / "agent.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.run_offset = 0  # where the current run's output starts in the log

    @property
    def env(self) -> dict[str, str]:
        return clean_env(VEN_STATE_DIR=str(self.state_dir))

    def start(self) -> None:
        self.run_offset = len(self.log(whole=True))
        with open(self.log_path, "ab") as out:
            self.proc = subprocess.Popen(
                [*command("ven"), "run", "--config", str(self.config_path)],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=self.env,
                cwd=self.dir,
            )

    def stop(self, sig: int = signal.SIGTERM) -> None:
        stop_process(self.proc, sig)

    def log(self, *, whole: bool = False) -> str:
        """The captured output of the current run (or of all runs)."""
        if not self.log_path.exists():
            return ""
        text = self.log_path.read_text(errors="replace")
        return text if whole else text[self.run_offset :]

    async def wait_log(self, needle: str, timeout: float, what: str | None = None) -> None:
        def found() -> bool:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"agent {self.name} exited with {self.proc.returncode}\n{tail(self.log_path)}"
                )
            return needle in self.log()

        await wait_for(found, what or repr(needle), timeout, diagnostics=lambda: tail(self.log_path))

    def outbox(self) -> list[OutboxRow]:
        path = self.state_dir / "ven.db"
        if not path.exists():
            return []
        db = sqlite3.connect(path, timeout=5)
        try:
            rows = db.execute(
                "SELECT seq, report_id, status, created, attempts, error FROM reports ORDER BY seq"
            ).fetchall()
        finally:
            db.close()
        return [OutboxRow(*row) for row in rows]

    def sent(self) -> list[OutboxRow]:
        return [r for r in self.outbox() if r.status == "sent"]

    def depth(self) -> int:
        return sum(1 for r in self.outbox() if r.status == "pending")

    def status(self, *, as_json: bool = True) -> Any:
        args = [*command("ven"), "status", "--config", str(self.config_path)]
        result = subprocess.run(
            [*args, "--json"] if as_json else args, capture_output=True, text=True, env=self.env, timeout=60
        )
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout) if as_json else result.stdout


def agent_toml(
    vtn: VtnProcess,
    creds: dict[str, str],
    name: str,
    *,
    events: str = 'mode = "poll"\npoll_seconds = 0.5',
) -> str:
    """Two resources of different adapters, telemetry every second."""
    return f"""
[vtn]
url = "{vtn.base}"
client_id = "{creds["client_id"]}"
client_secret = "{creds["client_secret"]}"

[ven]
name = "{name}"
seed = 7

[events]
{events}

[[resources]]
id = "battery-1"
name = "battery-1"
type = "BATTERY"
adapter = "battery"
[resources.options]
capacity_kwh = 13.5
max_power_kw = 5.0
soc = 50.0
low_price = 0.12
high_price = 0.45
[resources.attributes]
MAX_POWER_CONSUMPTION = 5.0

[[resources]]
id = "heat-pump-1"
name = "heat-pump-1"
type = "HEAT_PUMP"
adapter = "heat_pump"
[resources.options]
rated_kw = 3.0
low_price = 0.12
high_price = 0.45

[[telemetry]]
name = "telemetry"
every_seconds = 1
payload_types = {json.dumps(REPORT_TYPES)}
"""


# -- the stack fixture -------------------------------------------------------------------------------


class Stack:
    def __init__(self, workdir: Path, vtn: VtnProcess, bl: dict[str, str], ven: dict[str, str]) -> None:
        self.workdir = workdir
        self.vtn = vtn
        self.bl_creds = bl
        self.ven_creds = ven
        self.agents: list[AgentProcess] = []

    def agent(self, name: str, *, events: str | None = None) -> AgentProcess:
        kw = {} if events is None else {"events": events}
        agent = AgentProcess(self.workdir, name, agent_toml(self.vtn, self.ven_creds, name, **kw))
        self.agents.append(agent)
        return agent

    def bl(self) -> VtnClient:
        return VtnClient(
            self.vtn.base, client_id=self.bl_creds["client_id"], client_secret=self.bl_creds["client_secret"]
        )

    def diagnostics(self) -> str:
        return "\n".join([tail(self.vtn.log_path), *(tail(a.log_path) for a in self.agents)])

    def close(self) -> None:
        for agent in self.agents:
            stop_process(agent.proc, signal.SIGKILL)
        self.vtn.stop(signal.SIGKILL)


@pytest.fixture
async def stack(tmp_path: Path, sqlite_template: Path) -> AsyncIterator[Stack]:
    vtn = VtnProcess(tmp_path, sqlite_template)
    made = Stack(tmp_path, vtn, {}, {})
    try:
        vtn.start()
        # Credentials straight into the database while the server starts.
        (made.bl_creds,) = await add_clients_here(vtn.db, Role.BL, ["e2e-bl"])
        (made.ven_creds,) = await add_clients_here(vtn.db, Role.VEN, ["e2e-ven"])
        await vtn.wait_ready()
        yield made
    finally:
        made.close()


# -- BL helpers --------------------------------------------------------------------------------------


async def program(bl: VtnClient, name: str) -> Program:
    return await bl.create_program(ProgramRequest(program_name=name))


def price_event_request(
    program_id: str, start: datetime, seconds: float, prices: list[float]
) -> EventRequest:
    return EventRequest.model_validate(
        {
            "programID": program_id,
            "eventName": f"price-{start:%H%M%S}",
            "payloadDescriptors": [
                {
                    "objectType": "EVENT_PAYLOAD_DESCRIPTOR",
                    "payloadType": "PRICE",
                    "units": "KWH",
                    "currency": "EUR",
                }
            ],
            "intervalPeriod": {"start": start.isoformat(), "duration": f"PT{seconds:g}S"},
            "intervals": [
                {"id": i, "payloads": [{"type": "PRICE", "values": [p]}]} for i, p in enumerate(prices)
            ],
        }
    )


async def price_event(
    bl: VtnClient, program_id: str, start: datetime, seconds: float, prices: list[float]
) -> Event:
    return await bl.create_event(price_event_request(program_id, start, seconds, prices))


async def reports_of(bl: VtnClient, event_id: str) -> list[Report]:
    return [r async for r in bl.iter_reports(event_id=event_id)]


def payload_map(report: Report, resource: str) -> dict[str, list[Any]]:
    (res,) = [r for r in report.resources if r.resource_name == resource]
    return {p.type: list(p.values) for i in res.intervals for p in i.payloads}


def device_steps(log: str, resource: str) -> list[tuple[str, float, str]]:
    """(signals, kW, state) of each `device ...` line of one resource, consecutive repeats collapsed."""
    steps: list[tuple[str, float, str]] = []
    for m in DEVICE_LINE.finditer(log):
        if m["res"] != resource:
            continue
        step = (m["sig"], float(m["kw"]), m["state"])
        if not steps or steps[-1] != step:
            steps.append(step)
    return steps


def at_vtn(stack: Stack, report_id: str) -> str:
    """The id our VTN gives a report the agent sent with id `report_id`: a VEN's id is a key the VTN
    derives the report's id from (vtn/core/ids.py, docs/security.md)."""
    return assigned_id(stack.ven_creds["client_id"], report_id) or report_id


# -- a. onboarding, a multi-interval event, reports ------------------------------------------------


async def test_onboarding_event_intervals_and_reports(stack: Stack) -> None:
    agent = stack.agent("gw-a")
    agent.start()
    await agent.wait_log("onboarded as ven", 20)
    async with stack.bl() as bl:
        (ven,) = await bl.list_vens("gw-a")
        resources = await bl.list_resources(ven_id=ven.id)
        assert sorted(r.resource_name for r in resources) == ["battery-1", "heat-pump-1"]
        battery = next(r for r in resources if r.resource_name == "battery-1")
        assert [(a.type, list(a.values)) for a in battery.attributes or []] == [
            ("MAX_POWER_CONSUMPTION", [5.0])
        ]

        prog = await program(bl, "tariff-a")
        start = utcnow() + timedelta(seconds=1.5)
        event = await price_event(bl, prog.id, start, 2, [0.05, 0.60, 0.05])
        await agent.wait_log(f"event {event.id} arrived", 5, "the event to reach the agent")

        def after_arrival() -> str:
            log = agent.log()
            return log[log.index(f"event {event.id} arrived") :]

        def finished() -> bool:
            steps = device_steps(after_arrival(), "battery-1")
            return any(s[0].startswith("PRICE") for s in steps) and steps[-1][0] == "no signal"

        await wait_for(
            finished, "the device to go through the event and back", 15, diagnostics=stack.diagnostics
        )

        # The devices changed their behaviour at each interval boundary, as the prices say.
        priced = [s for s in device_steps(after_arrival(), "battery-1") if s[0] != "no signal"]
        assert priced == [
            ("PRICE=0.05", 5.0, "RUNNING_HEIGHTENED"),
            ("PRICE=0.6", -5.0, "RUNNING_CURTAILED"),
            ("PRICE=0.05", 5.0, "RUNNING_HEIGHTENED"),
        ], after_arrival()
        assert device_steps(after_arrival(), "battery-1")[-1] == ("no signal", 0.0, "IDLE_NORMAL")
        heat = [s for s in device_steps(after_arrival(), "heat-pump-1") if s[0] != "no signal"]
        assert [(s[0], s[2]) for s in heat] == [
            ("PRICE=0.05", "RUNNING_HEIGHTENED"),
            ("PRICE=0.6", "IDLE_CURTAILED"),
            ("PRICE=0.05", "RUNNING_HEIGHTENED"),
        ], after_arrival()
        assert heat[1][1] < heat[0][1]

        # Reports for every interval arrived and are what a BL sees through GET /reports.
        await wait_for(lambda: agent.outbox() and agent.depth() == 0, "the outbox to drain", 10)
        # Every report the agent made was accepted: none kept as rejected.
        rows = agent.outbox()
        assert [(r.status, r.error) for r in rows if r.status != "sent"] == []
        reports = await reports_of(bl, event.id)
        assert sorted(at_vtn(stack, r.report_id) for r in rows) == sorted(r.id for r in reports)
        assert {r.resources[0].intervals[0].id for r in reports} == {0, 1, 2}
        for report in reports:
            assert report.client_name == "gw-a"
            assert report.client_id == stack.ven_creds["client_id"]
            assert report.report_name == "telemetry"
            assert [r.resource_name for r in report.resources] == ["battery-1", "heat-pump-1"]
            assert list(payload_map(report, "battery-1")) == REPORT_TYPES
            # A heat pump has no state of charge.
            assert list(payload_map(report, "heat-pump-1")) == ["USAGE", "DEMAND", "OPERATING_STATE"]
            assert [(d.payload_type, d.units) for d in report.payload_descriptors or []] == [
                ("USAGE", "KWH"),
                ("DEMAND", "KW"),
                ("STORAGE_CHARGE_LEVEL", "PERCENT"),
                ("OPERATING_STATE", None),
            ]
        by_interval: dict[int, list[dict[str, list[Any]]]] = {0: [], 1: [], 2: []}
        for report in reports:
            by_interval[report.resources[0].intervals[0].id].append(payload_map(report, "battery-1"))
        assert any(
            p["DEMAND"] == [5.0] and p["OPERATING_STATE"] == ["RUNNING_HEIGHTENED"] for p in by_interval[0]
        )
        # Discharging: the battery imports nothing (DEMAND has minimum 0 in 3.1) and says it is curtailed.
        assert any(
            p["DEMAND"] == [0.0] and p["OPERATING_STATE"] == ["RUNNING_CURTAILED"] for p in by_interval[1]
        )


# -- b. a VTN outage ---------------------------------------------------------------------------------


async def test_reports_made_during_a_vtn_outage_arrive_once_and_in_order(stack: Stack) -> None:
    agent = stack.agent("gw-b")
    agent.start()
    await agent.wait_log("onboarded as ven", 20)
    async with stack.bl() as bl:
        prog = await program(bl, "tariff-b")
        start = utcnow()
        event = await price_event(bl, prog.id, start, 120, [0.30])
        await wait_for(
            lambda: len(agent.sent()) >= 2, "two reports delivered", 10, diagnostics=stack.diagnostics
        )

    stack.vtn.stop(signal.SIGTERM)  # graceful: it stops listening at once, exits a little later
    down = time.time()
    delivered_before = {r.report_id for r in agent.sent()}

    def made_while_down() -> list[OutboxRow]:
        return [r for r in agent.outbox() if r.created > down]

    await wait_for(
        lambda: time.time() - down >= 4 and len(made_while_down()) >= 3, "reports queued while down", 10
    )
    assert {r.status for r in made_while_down()} == {"pending"}
    assert agent.proc is not None and agent.proc.poll() is None  # the agent rides it out

    stack.vtn.start()
    await stack.vtn.wait_ready()
    back = time.time()
    await wait_for(lambda: agent.depth() == 0, "the outbox to drain", 20, diagnostics=stack.diagnostics)

    async with stack.bl() as bl:
        # End the event now, so telemetry stops and the outbox holds still for an exact comparison.
        seconds = int((utcnow() - start).total_seconds()) + 1
        await bl.update_event(event.id, price_event_request(prog.id, start, seconds, [0.30]))
        end = start + timedelta(seconds=seconds)
        # Changed, or removed once it is over (the agent reads active events only).
        seen = (f"event {event.id} changed", f"event {event.id} removed")
        await wait_for(lambda: any(n in agent.log() for n in seen), "the agent to see the shortened event", 5)
        await wait_for(
            lambda: utcnow() > end + timedelta(seconds=1.2) and agent.depth() == 0,
            "the last reports to drain",
            10,
            diagnostics=stack.diagnostics,
        )
        reports = await reports_of(bl, event.id)
    rows = agent.outbox()
    ids = [r.id for r in reports]
    assert len(ids) == len(set(ids)), "a report was stored twice"
    assert {r.status for r in rows} == {"sent"}
    assert len(ids) == len(rows)
    # Same reports, and the VTN stored them (creation order of GET /reports) in outbox order.
    assert ids == [at_vtn(stack, r.report_id) for r in rows]
    created = [r.created_date_time for r in reports]
    assert created == sorted(created)
    outage = [r for r in rows if down < r.created < back]
    assert len(outage) >= 3
    assert {at_vtn(stack, r.report_id) for r in outage} <= set(ids)
    # The first report the VTN did not get before it went away was tried while it was down (the
    # failure is kept in `error`), then delivered once it was back.
    held = next(r for r in rows if r.report_id not in delivered_before)
    assert held.attempts >= 2 and held.error, held


# -- c. agent restart --------------------------------------------------------------------------------


async def test_a_killed_agent_restarts_without_duplicates(stack: Stack) -> None:
    agent = stack.agent("gw-c")
    agent.start()
    await agent.wait_log("onboarded as ven", 20)
    async with stack.bl() as bl:
        prog = await program(bl, "tariff-c")
        event = await price_event(bl, prog.id, utcnow(), 60, [0.30])
        await wait_for(
            lambda: len(agent.sent()) >= 2, "two reports delivered", 10, diagnostics=stack.diagnostics
        )
        (ven_before,) = await bl.list_vens()
        resources_before = {r.resource_name: r.id for r in await bl.list_resources()}
        assert set(resources_before) == {"battery-1", "heat-pump-1"}

        agent.stop(signal.SIGKILL)
        # The answer to the last delivery was "lost": the outbox still holds it as pending.
        with sqlite3.connect(agent.state_dir / "ven.db") as db:
            seq, replayed = db.execute(
                "SELECT seq, report_id FROM reports WHERE status = 'sent' ORDER BY seq DESC LIMIT 1"
            ).fetchone()
            db.execute("UPDATE reports SET status = 'pending' WHERE seq = ?", (seq,))
        before = len(agent.outbox())

        agent.start()
        await agent.wait_log("onboarded as ven", 20)
        await wait_for(
            lambda: agent.log().count("reached the VTN") >= 2 and len(agent.outbox()) > before + 1,
            "new reports after the restart",
            10,
            diagnostics=stack.diagnostics,
        )
        assert next(r for r in agent.outbox() if r.report_id == replayed).status == "sent"

        vens = await bl.list_vens()
        assert [(v.ven_name, v.id) for v in vens] == [("gw-c", ven_before.id)]
        resources = await bl.list_resources()
        assert {r.resource_name: r.id for r in resources} == resources_before
        assert len(resources) == 2

        agent.stop(signal.SIGKILL)  # freeze the outbox for the comparison
        rows = agent.outbox()
        reports = await reports_of(bl, event.id)
    ids = [r.id for r in reports]
    assert len(ids) == len(set(ids)), "a report was stored twice"
    sent = {at_vtn(stack, r.report_id) for r in rows if r.status == "sent"}
    pending = {at_vtn(stack, r.report_id) for r in rows if r.status == "pending"}
    assert sent <= set(ids)
    assert ids.count(at_vtn(stack, replayed)) == 1
    # Only a report in flight at the final SIGKILL may be at the VTN but not yet marked sent.
    assert len(set(ids) - sent) <= 1 and set(ids) - sent <= pending
    assert "rejected" not in {r.status for r in rows}


# -- d. webhook --------------------------------------------------------------------------------------


async def test_webhook_push_brings_a_new_event_within_two_seconds(stack: Stack) -> None:
    port = free_port()
    agent = stack.agent(
        "gw-d",
        events=f'mode = "webhook"\npoll_seconds = 30\nreconcile_seconds = 30\nwebhook_port = {port}',
    )
    agent.start()
    started = time.monotonic()
    url = f"http://127.0.0.1:{port}/notify"
    await agent.wait_log(f"subscribed to event notifications at {url}", 20)
    async with stack.bl() as bl:
        subs = await bl.list_subscriptions(client_name="gw-d")
        assert [op.callback_url for s in subs for op in s.object_operations] == [url]
        prog = await program(bl, "tariff-d")

        sent_at = time.monotonic()
        event = await price_event(bl, prog.id, utcnow() + timedelta(minutes=5), 60, [0.30])
        await agent.wait_log(f"event {event.id} arrived", 5, "the pushed event")
        assert time.monotonic() - sent_at < 2.0
        # Only the push can explain it: the first reconciliation read is 30 s after the start.
        assert time.monotonic() - started < 30

        sent_at = time.monotonic()
        await bl.update_event(
            event.id, price_event_request(prog.id, utcnow() + timedelta(minutes=5), 60, [0.5])
        )
        await agent.wait_log(f"event {event.id} changed", 5, "the pushed update")
        assert time.monotonic() - sent_at < 2.0
        assert time.monotonic() - started < 30
    assert "sync failed" not in agent.log()


# -- d2. MQTT ---------------------------------------------------------------------------------------


def _broker_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 1883), timeout=1):
            return True
    except OSError:
        return False


async def test_mqtt_push_brings_a_new_event_within_two_seconds(stack: Stack) -> None:
    if not _broker_up():
        if os.environ.get("CI"):
            pytest.fail("Mosquitto is not reachable at 127.0.0.1:1883 in CI; .ci/run should have started it")
        pytest.skip("Mosquitto not reachable at 127.0.0.1:1883 (start it to run the MQTT variant)")
    agent = stack.agent("gw-m", events='mode = "mqtt"\npoll_seconds = 30\nreconcile_seconds = 30')
    agent.start()
    started = time.monotonic()
    await agent.wait_log("subscribed to 2 MQTT topics", 20)
    async with stack.bl() as bl:
        prog = await program(bl, "tariff-m")
        sent_at = time.monotonic()
        event = await price_event(bl, prog.id, utcnow() + timedelta(minutes=5), 60, [0.30])
        await agent.wait_log(f"event {event.id} arrived", 5, "the event pushed over MQTT")
        assert time.monotonic() - sent_at < 2.0
        assert time.monotonic() - started < 30
    assert "sync failed" not in agent.log()


# -- e. ven status -----------------------------------------------------------------------------------


async def test_ven_status_shows_onboarding_current_interval_and_outbox_depth(stack: Stack) -> None:
    agent = stack.agent("gw-e")
    agent.start()
    await agent.wait_log("onboarded as ven", 20)
    async with stack.bl() as bl:
        (ven,) = await bl.list_vens("gw-e")
        prog = await program(bl, "tariff-e")
        event = await price_event(bl, prog.id, utcnow(), 30, [0.05, 0.60])
    await agent.wait_log(f"event {event.id} arrived", 5)
    await wait_for(lambda: agent.sent(), "a report delivered", 10, diagnostics=stack.diagnostics)

    doc = agent.status()
    assert doc["onboarded"] is True
    assert doc["venID"] == ven.id
    assert doc["venName"] == "gw-e"
    assert doc["resources"] == ["battery-1", "heat-pump-1"]
    assert [(c["eventID"], c["intervalID"], c["signals"]) for c in doc["current"]] == [
        (event.id, 0, {"PRICE": [0.05]})
    ]
    assert [(n["eventID"], n["intervalID"]) for n in doc["next"]] == [(event.id, 0), (event.id, 1)]
    assert isinstance(doc["outboxDepth"], int) and doc["outboxDepth"] <= 1
    assert doc["reports"].get("sent", 0) >= 1
    assert doc["lastError"] is None
    contact = datetime.fromisoformat(doc["lastContact"])
    assert utcnow() - contact < timedelta(seconds=5)

    # With the VTN down, reports pile up in the outbox and status says so.
    stack.vtn.stop(signal.SIGTERM)
    await wait_for(lambda: agent.depth() >= 2, "reports queued while the VTN is down", 10)

    def shows_outage() -> Any:
        doc = agent.status()
        return doc if doc["outboxDepth"] >= 2 and doc["lastError"] else None

    down = await wait_for(shows_outage, "status to show the outage", 10, diagnostics=stack.diagnostics)
    assert down["onboarded"] is True and down["venID"] == ven.id
    assert "VtnUnavailable" in down["lastError"]
    assert down["current"][0]["eventID"] == event.id

    text = agent.status(as_json=False)
    assert f"VEN gw-e: onboarded as {ven.id}" in text
    assert re.search(r"outbox: +\d+ pending", text)
    assert f"event {event.id} interval 0" in text
