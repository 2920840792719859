"""Schemathesis against the OpenAPI document a real `vtn serve` serves, as BL and as VEN.

Bounded (`MAX_EXAMPLES` per operation and phase) with a fixed seed, so a run is repeatable and takes
well under a minute; the checks are those that matter to clients: no 5xx, and every status code,
content type, header and body as the document declares. Rate limits are off for the run (the fuzzer is
one client at thousands of requests a second); the token endpoint's lockout stays on and its 429 is
documented.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.processes import VtnProcess, add_client, lab_env

SEED = 15
MAX_EXAMPLES = 2
CHECKS = (
    "not_a_server_error,status_code_conformance,content_type_conformance,"
    "response_schema_conformance,response_headers_conformance"
)
# Installed by `make install` on its own path (Makefile: its jsonschema-rs pin differs from ours).
FUZZ_TOOLS = Path(__file__).resolve().parents[2] / ".venv" / "fuzz"
ST = [sys.executable, "-m", "schemathesis.cli"]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[VtnProcess]:
    tmp = tmp_path_factory.mktemp("fuzz")
    (tmp / "vtn.db").write_bytes(sqlite_template.read_bytes())
    env = lab_env(
        VTN_DELIVERY_WORKER="false",
        VTN_RATE_PER_CLIENT="0",
        VTN_RATE_PER_ADDRESS="0",
        VTN_TOKEN_RATE_PER_ADDRESS="0",
        VTN_LOG_LEVEL="WARNING",
    )
    proc = VtnProcess(f"sqlite:///{tmp / 'vtn.db'}", tmp / "vtn.log", env)
    proc.start()
    try:
        asyncio.run(proc.ready())
        yield proc
    finally:
        proc.stop()


def _token(base: str, creds: dict[str, str]) -> str:
    form = {"grant_type": "client_credentials", **{k: creds[k] for k in ("client_id", "client_secret")}}
    with urllib.request.urlopen(base + "/auth/token", urllib.parse.urlencode(form).encode()) as resp:
        return str(json.load(resp)["access_token"])


def _fuzz(base: str, token: str, cwd: Path) -> subprocess.Popen[str]:
    argv = [*ST, "run", base + "/openapi.json", "--url", base, "-H", f"Authorization: Bearer {token}"]
    argv += ["--max-examples", str(MAX_EXAMPLES), "--seed", str(SEED), "--checks", CHECKS, "--no-color"]
    argv += ["--phases", "examples,coverage,fuzzing"]
    env = {**os.environ, "PYTHONPATH": str(FUZZ_TOOLS)}
    # cwd: its cache directory goes beside the VTN's database, not into the checkout.
    return subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=cwd
    )


def test_fuzz_finds_no_5xx_and_no_answer_outside_the_document(served: VtnProcess) -> None:
    assert (FUZZ_TOOLS / "schemathesis").is_dir(), "schemathesis is missing: run `make install`"
    # Both roles at once: the two runs are independent, and wall time matters in CI.
    runs = {
        role: _fuzz(
            served.base, _token(served.base, add_client(served.db, f"fuzz-{role}", role)), served.log.parent
        )
        for role in ("bl", "ven")
    }
    for role, run in runs.items():
        out, _ = run.communicate(timeout=300)
        cases = re.search(r"(\d+) generated", out)
        print(f"{role}: {cases.group(1) if cases else '?'} cases, exit {run.returncode}")
        assert run.returncode == 0, out[-6000:]
        assert cases is not None and int(cases.group(1)) > 500, out[-6000:]
