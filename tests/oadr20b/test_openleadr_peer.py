"""Interoperability with a real peer: an OpenLEADR VEN (PyPI `openleadr`) against our VTN.

OpenLEADR runs from its own virtualenv (conftest.py: `openleadr_python`) as a subprocess
(openleadr_ven.py); our VTN runs in the test's event loop on a free loopback port. Two variants:

- plain HTTP, no signatures, lab admission (BL creates the ven object named as the VEN);
- mutual TLS and XML signatures required both ways: the VEN's certificate (from vtn.pki) is
  registered by its 2.0b short fingerprint for a VEN client that owns the ven object; the VTN signs
  every answer and the VEN checks them against our certificate's fingerprint.

Each passes when BL, through the 3.1 API, sees the VEN's optIn to the event it created and at least
three telemetry reports. Skipped (with the reason) when the virtualenv cannot be built, e.g.
offline; set EC_OPENLEADR=0 to skip on purpose.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from support.oadr20b import (
    Lab,
    Pki20,
    bl_event,
    bl_program,
    bl_ven,
    event_body,
    make_lab,
    short_fingerprint,
    start_tls_lab,
)

from shared.oadr20b import Oadr20bCodec
from vtn.oadr20b.settings import PREFIX, Oadr20bSettings

DRIVER = Path(__file__).with_name("openleadr_ven.py")
VEN_NAME = "openleadr-ven-1"
DEADLINE_S = 90.0
Reports = Callable[[], Awaitable[list[dict[str, Any]]]]


@pytest.fixture
async def peer_lab(tmp_path: Path, sqlite_template: Path, codec: Oadr20bCodec) -> AsyncIterator[Lab]:
    target = tmp_path / "vtn.db"
    target.write_bytes(sqlite_template.read_bytes())
    async for made in make_lab(f"sqlite:///{target}", codec, Oadr20bSettings(poll_freq=timedelta(seconds=1))):
        yield made


async def _drive(
    python: Path, args: list[str], reports: Reports
) -> tuple[list[Any], list[Any], list[Any], str]:
    """Run the OpenLEADR VEN until BL sees an opt and three telemetry reports (or the deadline)."""
    proc = await asyncio.create_subprocess_exec(
        str(python), str(DRIVER), *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    opts: list[dict[str, Any]] = []
    telemetry: list[dict[str, Any]] = []
    try:
        until = time.monotonic() + DEADLINE_S
        while time.monotonic() < until and proc.returncode is None:
            found = await reports()
            opts = [r for r in found if r["reportName"] == "OADR20B_OPT"]
            telemetry = [r for r in found if r["reportName"] == "TELEMETRY_USAGE"]
            if opts and len(telemetry) >= 3:
                break
            await asyncio.sleep(0.5)
    finally:
        if proc.returncode is None:
            proc.terminate()
        out, err = await proc.communicate()
    received = [json.loads(line) for line in out.decode().splitlines() if line.startswith("{")]
    return received, opts, telemetry, err.decode()[-3000:]


def _check(event_id: str, received: list[Any], opts: list[Any], telemetry: list[Any], log: str) -> None:
    assert [e["event_id"] for e in received][:1] == [event_id], log
    assert received[0]["signals"] == ["SIMPLE"]
    assert len(opts) == 1, log
    (opt,) = opts
    assert opt["eventID"] == event_id
    assert {p["type"]: p["values"] for p in opt["resources"][0]["intervals"][0]["payloads"]}["OPT"] == [
        "optIn"
    ]
    assert len(telemetry) >= 3, log
    for report in telemetry[:3]:
        resource = report["resources"][0]
        assert resource["resourceName"] == "meter-1"
        payload = resource["intervals"][0]["payloads"][0]
        assert payload == {"type": "DEMAND", "values": [1.2345]}


async def test_openleadr_ven_registers_gets_the_event_opts_in_and_reports(
    peer_lab: Lab, openleadr_python: Path
) -> None:
    lab = peer_lab
    await bl_ven(lab, VEN_NAME)
    program_id = await bl_program(lab, "openleadr-program")
    start = datetime.now(UTC) + timedelta(seconds=30)
    event = await bl_event(lab, program_id, start=start, payload="SIMPLE", values=(1.0,))
    url = str(lab.ven.client.make_url(PREFIX))

    async def reports() -> list[dict[str, Any]]:
        resp = await lab.bl.get("/reports", params={"clientName": VEN_NAME})
        assert resp.status == 200
        found: list[dict[str, Any]] = await resp.json()
        return found

    _check(event["id"], *await _drive(openleadr_python, [url, VEN_NAME, str(DEADLINE_S)], reports))


async def test_openleadr_ven_over_mutual_tls_with_signatures(
    tmp_path: Path, sqlite_template: Path, openleadr_python: Path
) -> None:
    target = tmp_path / "vtn.db"
    target.write_bytes(sqlite_template.read_bytes())
    pki = Pki20.create(tmp_path / "pki")
    cert, key = pki.client("openleadr-client")
    settings = {"poll_seconds": 1.0, "sign": True, "require_signatures": True}
    async for lab in start_tls_lab(f"sqlite:///{target}", pki, **settings):
        await lab.add_client("openleadr-client", short_fingerprint(cert))
        body = {"objectType": "BL_VEN_REQUEST", "venName": VEN_NAME, "clientID": "openleadr-client"}
        await lab.bl("POST", "/vens", json=body)
        program = await lab.bl("POST", "/programs", json={"programName": "openleadr-program"})
        start = datetime.now(UTC) + timedelta(seconds=30)
        event = await lab.bl(
            "POST", "/events", json=event_body(program["id"], start=start, payload="SIMPLE", values=(1.0,))
        )

        reports = partial(lab.bl, "GET", "/reports", params={"clientName": VEN_NAME})
        vtn_fp = short_fingerprint(pki.server_cert)
        args = [
            lab.url + PREFIX,
            VEN_NAME,
            str(DEADLINE_S),
            str(cert),
            str(key),
            str(pki.ca.cert_path),
            vtn_fp,
        ]
        received, opts, telemetry, log = await _drive(openleadr_python, args, reports)
        _check(event["id"], received, opts, telemetry, log)
        # Signed both ways: the VTN verified (and remembered) the VEN's nonces.
        service = lab.service
        assert len(service.verifier.nonces) >= 5, log
