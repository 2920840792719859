"""Running `vtn check-ven` as a subprocess against a VEN subprocess, as a partner would."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from support.processes import free_port

BIN = Path(sys.executable).parent


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without VTN_/VEN_ settings (they would configure the processes under test)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VTN_", "VEN_"))}
    return {**env, "PYTHONUNBUFFERED": "1", **extra}


@dataclass
class Graded:
    result: dict[str, Any]
    stderr: bytes
    returncode: int


async def run_check_ven(
    tmp_path: Path,
    protocol: str,
    start_ven: Callable[[dict[str, str]], subprocess.Popen[bytes]],
) -> Graded:
    """Start `vtn check-ven --fast --json`, hand its credentials to `start_ven`, wait for the grade."""
    creds_file = tmp_path / "creds.json"
    check = subprocess.Popen(
        [str(BIN / "vtn"), "check-ven", "--protocol", protocol, "--port", str(free_port()), "--fast"]
        + ["--json", "--onboard-timeout", "30", "--credentials-file", str(creds_file)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=clean_env(),
    )
    ven: subprocess.Popen[bytes] | None = None
    try:
        deadline = time.monotonic() + 30
        while not (creds_file.exists() and creds_file.stat().st_size) and check.poll() is None:
            assert time.monotonic() < deadline, "check-ven wrote no credentials"
            await asyncio.sleep(0.1)
        ven = start_ven(json.loads(creds_file.read_text()))
        out, err = await asyncio.to_thread(check.communicate, timeout=90)
    finally:
        for proc in (ven, check):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                proc.wait(10)
    return Graded(json.loads(out), err, check.returncode)
