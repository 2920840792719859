"""`vtn check-ven --protocol 2.0b`: passes our 2.0b VEN agent, fails a VEN that never acknowledges."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
from pathlib import Path

from support.checkven import BIN, clean_env, run_check_ven
from support.processes import free_port

from shared.oadr20b import Oadr20bCodec, Oadr20bSchema
from shared.oadr20b import messages as m
from ven.oadr20b.client import Oadr20bClient
from vtn.checkven.runner import Credentials, Options, run


def _agent_toml(creds: dict[str, str], state: Path) -> str:
    return f"""
[vtn]
protocol = "2.0b"
url = "{creds["url"]}"
report_seconds = 1

[ven]
name = "{creds["ven_name"]}"
state_dir = "{state}"

[events]
poll_seconds = 0.3

[[resources]]
id = "heater-1"
name = "heater-1"
adapter = "water_heater"

[[telemetry]]
name = "telemetry"
every_seconds = 0.5
payload_types = ["USAGE"]
"""


async def test_our_20b_ven_agent_passes(tmp_path: Path) -> None:
    def start_agent(creds: dict[str, str]) -> subprocess.Popen[bytes]:
        assert creds["vtn_id"] and creds["url"].endswith("/OpenADR2/Simple/2.0b")
        config = tmp_path / "ven.toml"
        config.write_text(_agent_toml(creds, tmp_path / "state"))
        with open(tmp_path / "agent.log", "wb") as log:
            return subprocess.Popen(
                [str(BIN / "ven"), "run", "--config", str(config)],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=clean_env(),
                cwd=tmp_path,
            )

    graded = await run_check_ven(tmp_path, "2.0b", start_agent)
    result, err = graded.result, graded.stderr
    failed = [c for c in result["checks"] if c["status"] != "PASS"]
    assert not failed, (failed, (tmp_path / "agent.log").read_text()[-3000:])
    assert graded.returncode == 0 and result["passed"] is True and result["protocol"] == "2.0b"
    names = [c["name"] for c in result["checks"]]
    assert names == [
        "register",
        "poll",
        "events.ack",
        "events.ack-capacity",
        "events.modification",
        "events.cancellation",
        "reports.cadence",
        "outage.retry",
    ]
    assert "updates" in result["checks"][6]["detail"]  # it registered reports: cadence was graded
    assert b"venName" in err  # what the partner configures goes to stderr with --json


async def _mute_ven(creds: Credentials) -> None:
    """Registers and polls, but never acknowledges an event (no oadrCreatedEvent) nor reports."""
    client = Oadr20bClient(creds.url, Oadr20bCodec(Oadr20bSchema()))
    try:
        answer = await client.send(
            m.CreatePartyRegistration(request_id="r1", ven_name=creds.client_id, http_pull_model=True)
        )
        assert isinstance(answer, m.CreatedPartyRegistration) and answer.ven_id
        while True:
            with contextlib.suppress(Exception):  # 503s and all: it just keeps polling
                await client.send(m.Poll(ven_id=answer.ven_id))
            await asyncio.sleep(0.1)
    finally:
        await client.close()


async def test_a_20b_ven_that_never_acknowledges_fails() -> None:
    tasks: list[asyncio.Task[None]] = []

    async def ready(creds: Credentials) -> None:
        tasks.append(asyncio.create_task(_mute_ven(creds)))

    try:
        options = Options(port=free_port(), protocol="2.0b", unit=0.5, onboard_timeout=10)
        outcome = await run(options, ready)
    finally:
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    verdicts = {v.name: v for v in outcome.verdicts}
    assert not outcome.passed
    for name in ("events.ack", "events.ack-capacity", "events.modification", "events.cancellation"):
        assert not verdicts[name].passed, name
        assert "no oadrCreatedEvent" in verdicts[name].detail
    # What it does right still passes.
    assert verdicts["register"].passed and verdicts["poll"].passed and verdicts["outage.retry"].passed
    assert "registered no reports" in verdicts["reports.cadence"].detail
