"""Our VEN agent speaking 2.0b (ven/oadr20b) to our VTN, over plain HTTP and over mTLS with signatures.

The agent runs in the test's event loop with a simulated water heater; BL creates the ven object
and the event through the 3.1 API and reads the agent's optIn and telemetry through GET /reports.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from support.oadr20b import Pki20, TlsLab, short_fingerprint, start_tls_lab

from shared.oadr20b.signing import SignatureRefused
from ven.agent import VenRuntime, build_agent
from ven.config import VenConfig
from ven.oadr20b.transport import Oadr20bTransport
from vtn.oadr20b.settings import PREFIX

VEN_NAME = "agent-site"
DEADLINE_S = 30.0


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki20:
    pki = Pki20.create(tmp_path_factory.mktemp("pki"))
    pki.client("agent-client")
    return pki


def _config(lab: TlsLab, state: Path, **vtn: Any) -> VenConfig:
    doc = {
        "vtn": {"protocol": "2.0b", "url": lab.url + PREFIX, "report_seconds": 1, **vtn},
        "ven": {"name": VEN_NAME, "state_dir": str(state), "seed": 7},
        "events": {"poll_seconds": 1},
        "resources": [{"id": "heater-1", "name": "heater-1", "adapter": "water_heater"}],
        "telemetry": [{"name": "telemetry", "every_seconds": 1, "payload_types": ["DEMAND", "USAGE"]}],
    }
    return VenConfig.from_dict(doc, {})


async def _bl_setup(lab: TlsLab, client_id: str) -> str:
    await lab.bl(
        "POST", "/vens", json={"objectType": "BL_VEN_REQUEST", "venName": VEN_NAME, "clientID": client_id}
    )
    program = await lab.bl("POST", "/programs", json={"programName": "agent-program"})
    start = (datetime.now(UTC) - timedelta(minutes=1)).isoformat().replace("+00:00", "Z")
    event = await lab.bl(
        "POST",
        "/events",
        json={
            "programID": program["id"],
            "eventName": "shed",
            "intervalPeriod": {"start": start, "duration": "PT30M"},
            "intervals": [{"id": 0, "payloads": [{"type": "SIMPLE", "values": [2]}]}],
        },
    )
    return str(event["id"])


async def _run_until_reported(lab: TlsLab, agent: VenRuntime) -> tuple[list[Any], list[Any]]:
    await agent.start()
    opts: list[Any] = []
    telemetry: list[Any] = []
    try:
        until = time.monotonic() + DEADLINE_S
        while time.monotonic() < until:
            reports = await lab.bl("GET", "/reports", params={"clientName": VEN_NAME})
            opts = [r for r in reports if r["reportName"] == "OADR20B_OPT"]
            telemetry = [r for r in reports if r["reportName"] == "TELEMETRY_USAGE"]
            if opts and len(telemetry) >= 3:
                break
            await asyncio.sleep(0.3)
    finally:
        await agent.stop()
    return opts, telemetry


def _check(agent: VenRuntime, event_id: str, opts: list[Any], telemetry: list[Any]) -> None:
    assert agent.ven_id is not None and _transport(agent).registration_id is not None
    # The event reached the timeline: the device got SIMPLE = 2 (the 3.1 value, through 2.0b).
    signals = agent.timeline.signals_at(datetime.now(UTC))
    assert signals["SIMPLE"].values == (2.0,)
    assert [(o["eventID"], o["resources"][0]["intervals"][0]["payloads"][0]["values"]) for o in opts] == [
        (event_id, ["optIn"])
    ]
    assert len(telemetry) >= 3, telemetry
    for report in telemetry[:3]:
        (resource,) = report["resources"]
        assert resource["resourceName"] == "heater-1"
        kinds = {p["type"] for i in resource["intervals"] for p in i["payloads"]}
        assert kinds == {"DEMAND", "USAGE"}


async def test_agent_over_plain_http(db_url: str, pki: Pki20, tmp_path: Path) -> None:
    async for lab in start_tls_lab(db_url, pki, tls=False, poll_seconds=1.0):
        event_id = await _bl_setup(lab, "client-agent")
        agent = build_agent(_config(lab, tmp_path / "ven"))
        opts, telemetry = await _run_until_reported(lab, agent)
        _check(agent, event_id, opts, telemetry)
        assert _transport(agent).client.signer is None


async def test_agent_over_mtls_with_signatures(db_url: str, pki: Pki20, tmp_path: Path) -> None:
    async for lab in start_tls_lab(db_url, pki, poll_seconds=1.0, sign=True, require_signatures=True):
        await lab.add_client("agent-client", short_fingerprint(pki.root / "agent-client.crt"))
        event_id = await _bl_setup(lab, "agent-client")
        tls = {
            "ca_file": str(pki.ca.cert_path),
            "cert_file": str(pki.root / "agent-client.crt"),
            "key_file": str(pki.root / "agent-client.key"),
        }
        config = _config(lab, tmp_path / "ven", sign=True, require_signatures=True, tls=tls)
        agent = build_agent(config)
        opts, telemetry = await _run_until_reported(lab, agent)
        _check(agent, event_id, opts, telemetry)
        assert _transport(agent).client.signer is not None
        # Every answer was verified against the VTN's TLS certificate: nonces were recorded.
        assert len(_transport(agent).client.verifier.nonces) > 3


async def test_agent_pins_the_vtn_signing_certificate_by_fingerprint(
    db_url: str, pki: Pki20, tmp_path: Path
) -> None:
    """Over plain HTTP there is no TLS certificate to trust: vtn_fingerprint names the signer."""
    async for lab in start_tls_lab(db_url, pki, tls=False, sign=True):
        await _bl_setup(lab, "client-agent")
        good = short_fingerprint(pki.server_cert)
        agent = build_agent(_config(lab, tmp_path / "good", require_signatures=True, vtn_fingerprint=good))
        try:
            await _transport(agent).register()
            assert agent.ven_id is not None and agent.timeline.events
        finally:
            await agent.stop()
        wrong = short_fingerprint(pki.root / "agent-client.crt")
        agent = build_agent(_config(lab, tmp_path / "wrong", require_signatures=True, vtn_fingerprint=wrong))
        try:
            with pytest.raises(SignatureRefused, match="not signed by"):
                await _transport(agent).register()
            assert agent.ven_id is None
        finally:
            await agent.stop()


def _transport(agent: VenRuntime) -> Oadr20bTransport:
    assert isinstance(agent.transport, Oadr20bTransport)
    return agent.transport
