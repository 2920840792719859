"""`vtn check-ven --protocol 2.0b` grades OpenLEADR's 2.0b client (PyPI, its own virtualenv) a pass.

The OpenLEADR VEN (openleadr_ven.py) registers by venName over plain HTTP, opts in to every event
version and offers a 1 s telemetry report; check-ven runs as a subprocess with its fast clock.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

BIN = Path(sys.executable).parent
DRIVER = Path(__file__).with_name("openleadr_ven.py")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_openleadr_ven_passes_check_ven(openleadr_python: Path, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VTN_", "VEN_"))}
    creds_file = tmp_path / "creds.json"
    check = subprocess.Popen(
        [str(BIN / "vtn"), "check-ven", "--protocol", "2.0b", "--port", str(_free_port()), "--fast"]
        + ["--json", "--onboard-timeout", "30", "--credentials-file", str(creds_file)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    ven: subprocess.Popen[bytes] | None = None
    try:
        deadline = time.monotonic() + 30
        while not (creds_file.exists() and creds_file.stat().st_size) and check.poll() is None:
            assert time.monotonic() < deadline, "check-ven printed no venName"
            await asyncio.sleep(0.1)
        creds = json.loads(creds_file.read_text())
        with open(tmp_path / "openleadr.log", "wb") as log:
            ven = subprocess.Popen(
                [str(openleadr_python), str(DRIVER), creds["url"], creds["ven_name"], "60"],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
            )
        out, _ = await asyncio.to_thread(check.communicate, timeout=90)
    finally:
        for proc in (ven, check):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                proc.wait(10)
    result = json.loads(out)
    failed = [c for c in result["checks"] if c["status"] != "PASS"]
    assert not failed, (failed, (tmp_path / "openleadr.log").read_text()[-3000:])
    assert check.returncode == 0 and result["passed"] is True
    # OpenLEADR offered a telemetry report: its cadence was graded, not skipped.
    cadence = next(c for c in result["checks"] if c["name"] == "reports.cadence")
    assert "updates" in cadence["detail"]
