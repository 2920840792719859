"""`vtn check-ven`: passes our VEN agent (`ven run` as a subprocess), fails a VEN that misbehaves."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
from pathlib import Path
from typing import Any

import aiohttp
from support.checkven import BIN, clean_env, run_check_ven
from support.processes import free_port

from vtn.checkven.runner import Credentials, Options, run


def _agent_toml(creds: dict[str, str]) -> str:
    return f"""
[vtn]
url = "{creds["url"]}"
client_id = "{creds["client_id"]}"
client_secret = "{creds["client_secret"]}"

[ven]
name = "partner-ven"

[events]
mode = "poll"
poll_seconds = 0.3

[[resources]]
id = "battery-1"
name = "battery-1"
type = "BATTERY"
adapter = "battery"

[[telemetry]]
name = "telemetry"
every_seconds = 0.5
payload_types = ["USAGE"]
"""


async def test_our_ven_agent_passes(tmp_path: Path) -> None:
    def start_agent(creds: dict[str, str]) -> subprocess.Popen[bytes]:
        config = tmp_path / "ven.toml"
        config.write_text(_agent_toml(creds))
        with open(tmp_path / "agent.log", "wb") as log:
            return subprocess.Popen(
                [str(BIN / "ven"), "run", "--config", str(config)],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=clean_env(VEN_STATE_DIR=str(tmp_path / "state")),
                cwd=tmp_path,
            )

    graded = await run_check_ven(tmp_path, "3.1.0", start_agent)
    result = graded.result
    failed = [c for c in result["checks"] if c["status"] != "PASS"]
    assert not failed, (failed, (tmp_path / "agent.log").read_text()[-3000:])
    assert graded.returncode == 0 and result["passed"] is True
    assert len(result["checks"]) == 10
    assert b"client_secret" in graded.stderr  # the credentials go to stderr with --json


class BadVen:
    """A VEN that reports every reading twice and never notices a cancellation."""

    def __init__(self, creds: Credentials) -> None:
        self.creds = creds
        self.known: set[str] = set()

    async def run(self) -> None:
        async with aiohttp.ClientSession() as http:
            form = {
                "grant_type": "client_credentials",
                "client_id": self.creds.client_id,
                "client_secret": self.creds.client_secret,
            }
            async with http.post(f"{self.creds.url}/auth/token", data=form) as resp:
                token = (await resp.json())["access_token"]
            auth = {"Authorization": f"Bearer {token}"}
            ven = {"objectType": "VEN_VEN_REQUEST", "venName": "bad-ven"}
            await http.post(f"{self.creds.url}/vens", json=ven, headers=auth)
            tick = 0
            while True:
                tick += 1
                with contextlib.suppress(aiohttp.ClientError, ValueError, TypeError):
                    async with http.get(f"{self.creds.url}/events", headers=auth) as resp:
                        if resp.status == 200:
                            self.known.update(e["id"] for e in await resp.json())
                    for event_id in sorted(self.known):  # every event ever seen, cancelled or not
                        report = _report(event_id, tick)
                        for _ in range(2):
                            await http.post(f"{self.creds.url}/reports", json=report, headers=auth)
                await asyncio.sleep(0.3)


def _report(event_id: str, tick: int) -> dict[str, Any]:
    interval = {"id": 0, "payloads": [{"type": "USAGE", "values": [1.0 + tick]}]}
    interval["intervalPeriod"] = {
        "start": f"2030-01-01T00:{tick // 60 % 60:02d}:{tick % 60:02d}Z",
        "duration": "PT1S",
    }
    return {
        "eventID": event_id,
        "clientName": "bad-ven",
        "reportName": "usage",
        "resources": [{"resourceName": "meter", "intervals": [interval]}],
    }


async def test_a_misbehaving_ven_fails_with_reasons() -> None:
    tasks: list[asyncio.Task[None]] = []

    async def ready(creds: Credentials) -> None:
        tasks.append(asyncio.create_task(BadVen(creds).run()))

    try:
        outcome = await run(Options(port=free_port(), unit=0.5, onboard_timeout=10), ready)
    finally:
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    verdicts = {v.name: v for v in outcome.verdicts}
    assert not outcome.passed
    assert not verdicts["reports.exactly-once"].passed
    assert "reported more than once" in verdicts["reports.exactly-once"].detail
    assert not verdicts["events.cancellation"].passed
    assert "sent after it" in verdicts["events.cancellation"].detail
    # What it does right still passes.
    assert verdicts["onboard.token"].passed and verdicts["onboard.ven"].passed
    assert verdicts["events.read"].passed
