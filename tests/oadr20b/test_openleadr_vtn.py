"""Interoperability the other way: our VEN agent (ven/oadr20b) against an OpenLEADR VTN (PyPI).

The OpenLEADR VTN runs in its own virtualenv (conftest.py: `openleadr_python`) as a subprocess
(openleadr_vtn.py) on a free loopback port, with mutual TLS, signing every message and checking
every VEN message's TLS fingerprint and XML signature. Certificates come from vtn.pki. Our agent,
in the test's event loop, signs with its TLS certificate and requires the VTN's signatures. The
test passes when the agent is registered, has the VTN's event on its timeline (the water heater
sees SIMPLE = 1), opted in, and the VTN printed at least three telemetry reports from it.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from pathlib import Path
from typing import Any

from support.oadr20b import Pki20, short_fingerprint

from ven.agent import VenRuntime, build_agent
from ven.config import VenConfig
from ven.oadr20b.transport import Oadr20bTransport

DRIVER = Path(__file__).with_name("openleadr_vtn.py")
VTN_ID = "OpenLEADR-VTN"
VEN_NAME = "our-agent"
DEADLINE_S = 60.0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _lines(stream: asyncio.StreamReader, sink: list[dict[str, Any]]) -> None:
    while line := await stream.readline():
        if line.startswith(b"{"):
            sink.append(json.loads(line))


async def test_our_agent_with_an_openleadr_vtn_over_mtls_with_signatures(
    tmp_path: Path, openleadr_python: Path
) -> None:
    pki = Pki20.create(tmp_path / "pki")
    ven_cert, ven_key = pki.client("our-agent")
    port = _free_port()
    args = [str(port), VTN_ID, str(pki.server_cert), str(pki.server_key), str(pki.ca.cert_path)]
    args += [VEN_NAME, short_fingerprint(ven_cert), str(DEADLINE_S)]
    proc = await asyncio.create_subprocess_exec(
        str(openleadr_python),
        str(DRIVER),
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    seen: list[dict[str, Any]] = []
    reader = asyncio.create_task(_lines(proc.stdout, seen))
    errors = asyncio.create_task(proc.stderr.read())
    config = VenConfig.from_dict(
        {
            "vtn": {
                "protocol": "2.0b",
                "url": f"https://127.0.0.1:{port}/OpenADR2/Simple/2.0b",
                "vtn_id": VTN_ID,
                "sign": True,
                "require_signatures": True,
                "report_seconds": 1,
                "tls": {
                    "ca_file": str(pki.ca.cert_path),
                    "cert_file": str(ven_cert),
                    "key_file": str(ven_key),
                },
            },
            "ven": {"name": VEN_NAME, "state_dir": str(tmp_path / "ven"), "seed": 3},
            "events": {"poll_seconds": 5},
            "resources": [{"id": "heater-1", "name": "heater-1", "adapter": "water_heater"}],
            "telemetry": [{"name": "telemetry", "every_seconds": 1, "payload_types": ["DEMAND", "USAGE"]}],
        },
        {},
    )
    agent = build_agent(config)
    try:
        # The peer's interpreter start is slow on a busy machine: wait for it to listen (or die).
        until = time.monotonic() + 90
        while not any("listening" in line for line in seen) and time.monotonic() < until:
            assert proc.returncode is None, (await errors).decode()[-3000:]
            await asyncio.sleep(0.1)
        assert any("listening" in line for line in seen), "the OpenLEADR VTN did not start listening"
        await asyncio.wait_for(agent.start(), 30)
        until = time.monotonic() + DEADLINE_S
        while time.monotonic() < until:
            reports = [line for line in seen if "report" in line]
            if any("opt" in line for line in seen) and len(reports) >= 3:
                break
            await asyncio.sleep(0.2)
    finally:
        await agent.stop()
        if proc.returncode is None:
            proc.terminate()
        await proc.wait()
        await reader
    log = (await errors).decode()[-3000:]
    assert [line for line in seen if "registered" in line] == [
        {"registered": VEN_NAME, "fingerprint": short_fingerprint(ven_cert), "accepted": True}
    ], log
    assert (agent.ven_id, _transport(agent).registration_id, _transport(agent).vtn_id) == (
        "ven-openleadr-1",
        "reg-openleadr-1",
        VTN_ID,
    )
    assert agent.timeline.signals_at(agent.clock())["SIMPLE"].values == (1.0,)
    assert [(line["opt"], line["event_id"]) for line in seen if "opt" in line] == [
        ("optIn", "openleadr-event-1")
    ], log
    offered = {(line["offered"], line["measurement"]) for line in seen if "offered" in line}
    assert offered == {("heater-1", "RealPower"), ("heater-1", "RealEnergy")}, log
    reports = [line for line in seen if "report" in line]
    assert len(reports) >= 3, log
    assert {r["measurement"] for r in reports} == {"RealPower", "RealEnergy"}
    # Every VTN answer was signed and verified against the VTN's TLS certificate.
    assert len(_transport(agent).client.verifier.nonces) >= 5


def _transport(agent: VenRuntime) -> Oadr20bTransport:
    assert isinstance(agent.transport, Oadr20bTransport)
    return agent.transport
