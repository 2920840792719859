"""`ven check --protocol 2.0b` against OpenLEADR's VTN (PyPI, its own virtualenv): the kit passes.

The VTN is the driver of test_openleadr_vtn.py (openleadr_vtn.py): mutual TLS, every message
signed and checked against the VEN's certificate, one event for the VEN on registration, and a
report request for every offered rID. The kit runs with --cert/--key/--ca/--sign; the driver's
own log shows that it registered the kit, received its opt and its report, and cancelled it.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from pathlib import Path
from typing import Any

from support.oadr20b import Pki20, short_fingerprint

from ven.check import CheckOptions, Outcome, Protocol, run
from ven.check.reporters import text

DRIVER = Path(__file__).with_name("openleadr_vtn.py")
VEN_NAME = "kit-ven"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _lines(stream: asyncio.StreamReader, sink: list[dict[str, Any]]) -> None:
    while line := await stream.readline():
        if line.startswith(b"{"):
            sink.append(json.loads(line))


async def test_the_kit_passes_against_an_openleadr_vtn(tmp_path: Path, openleadr_python: Path) -> None:
    pki = Pki20.create(tmp_path / "pki")
    cert, key = pki.client(VEN_NAME)
    port = _free_port()
    args = [str(port), "OpenLEADR-VTN", str(pki.server_cert), str(pki.server_key), str(pki.ca.cert_path)]
    args += [VEN_NAME, short_fingerprint(cert), "60"]
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
    try:
        until = time.monotonic() + 20
        while not any("listening" in line for line in seen) and time.monotonic() < until:
            await asyncio.sleep(0.1)
        options = CheckOptions(
            vtn=f"https://127.0.0.1:{port}/OpenADR2/Simple/2.0b",
            protocol=Protocol.V20B,
            client_id=VEN_NAME,
            cert=str(cert),
            key=str(key),
            ca=str(pki.ca.cert_path),
            sign=True,
        )
        result = await run(options)
        until = time.monotonic() + 5
        while not any("report" in line for line in seen) and time.monotonic() < until:
            await asyncio.sleep(0.1)
    finally:
        if proc.returncode is None:
            proc.terminate()
        await proc.wait()
        await reader
    log = (await errors).decode()[-3000:]
    print(text(result))
    assert result.ok, text(result) + log
    outcomes = {r.check_id: r.outcome for r in result.results}
    assert outcomes["2.0b.signatures"] is Outcome.PASS
    assert outcomes["2.0b.update-report"] is Outcome.PASS
    assert [line["accepted"] for line in seen if "registered" in line] == [True], log
    assert [(line["opt"], line["event_id"]) for line in seen if "opt" in line][:1] == [
        ("optIn", "openleadr-event-1")
    ], log
    assert any("report" in line for line in seen), log
    assert [line["cancelled"] for line in seen if "cancelled" in line] == ["ven-openleadr-1"], log
