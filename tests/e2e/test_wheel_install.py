"""The built wheel, installed the way users install it, serves and runs VENs from any directory.

Builds the wheel from this checkout, installs `energy-coordination[ven]` into one fresh virtualenv
(the partner's gateway: no server stack) and `energy-coordination[vtn]` into another, and runs,
from a folder outside the checkout: `vtn serve`, a 3.1 VEN agent and a 2.0b VEN agent, both from the
VEN-only install. Nothing from the checkout is importable there, so schemas and other data files
must come from the installed packages.

Slow (a wheel build and two `pip install`s, about two minutes): runs in CI (`CI=true`) or with
`EC_WHEEL_TEST=1`, and is skipped otherwise.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from support.processes import free_port

ROOT = Path(__file__).resolve().parents[2]
BASE = "/openadr3/3.1.0"
SERVER_STACK = ("sqlalchemy", "asyncpg", "aiosqlite", "alembic", "jwt")

pytestmark = pytest.mark.skipif(
    not (os.environ.get("CI") or os.environ.get("EC_WHEEL_TEST")),
    reason="slow: runs in CI, or locally with EC_WHEEL_TEST=1",
)


def _env() -> dict[str, str]:
    """No trace of the checkout or of our own virtualenv."""
    drop = ("VTN_", "VEN_", "PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")
    return {k: v for k, v in os.environ.items() if not k.startswith(drop)} | {"PYTHONUNBUFFERED": "1"}


def _run(*cmd: str | Path, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [str(c) for c in cmd], cwd=cwd, env=_env(), capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, f"{cmd}: {done.stdout[-2000:]}\n{done.stderr[-4000:]}"
    return done


def _venv(where: Path, wheel: Path, extra: str) -> Path:
    subprocess.run([sys.executable, "-m", "venv", str(where)], check=True)
    _run(where / "bin" / "pip", "install", "--quiet", f"{wheel}[{extra}]", cwd=where.parent)
    return where / "bin"


@pytest.fixture(scope="module")
def installs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path, Path]]:
    """(server bin, VEN-only bin, a working folder outside the checkout)."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"  # build from a copy: no build/ or egg-info left in the checkout
    shutil.copytree(
        ROOT,
        src,
        ignore=shutil.ignore_patterns(
            ".venv", ".git", "var", "build", "dist", "*.egg-info", "__pycache__", ".*_cache"
        ),
    )
    _run(sys.executable, "-m", "build", "--wheel", "--outdir", tmp / "dist", src, cwd=tmp)
    (wheel,) = (tmp / "dist").glob("energy_coordination-*.whl")
    site = tmp / "site"
    site.mkdir()
    yield _venv(tmp / "server", wheel, "vtn"), _venv(tmp / "gateway", wheel, "ven"), site


def test_ven_only_install_has_no_server_stack(installs: tuple[Path, Path, Path]) -> None:
    _, gateway, site = installs
    for module in SERVER_STACK:
        probe = subprocess.run([gateway / "python", "-c", f"import {module}"], cwd=site, env=_env())
        assert probe.returncode != 0, f"{module} is installed with [ven] only"
    done = subprocess.run(
        [gateway / "vtn", "clients", "list"], cwd=site, env=_env(), capture_output=True, text=True
    )
    assert done.returncode == 2
    assert "pip install 'energy-coordination[vtn]'" in done.stderr and "Traceback" not in done.stderr
    assert _run(gateway / "ven", "--help", cwd=site).stdout


async def _wait(check: Any, what: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"{what}: process exited\n{log.read_text()[-4000:]}"
        try:
            result = await check()
        except aiohttp.ClientError:
            result = None
        if result:
            return result
        await asyncio.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}\n{log.read_text()[-4000:]}")


def _ven_toml(vtn_section: str, name: str) -> str:
    return f"""[vtn]
{vtn_section}
[ven]
name = "{name}"
state_dir = "state-{name}"
seed = 3

[events]
mode = "poll"
poll_seconds = 1

[[resources]]
id = "{name}-heater"
name = "heater"
type = "WATER_HEATER"
adapter = "water_heater"

[[telemetry]]
name = "telemetry"
every_seconds = 1
payload_types = ["USAGE"]
"""


async def test_installed_vtn_serves_a_31_and_a_20b_ven_from_outside_the_checkout(
    installs: tuple[Path, Path, Path],
) -> None:
    server, gateway, site = installs
    db, port = "sqlite:///data/vtn.db", free_port()
    base = f"http://127.0.0.1:{port}"
    procs: list[subprocess.Popen[bytes]] = []

    def start(cmd: list[str | Path], log: Path, **env: str) -> subprocess.Popen[bytes]:
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                [str(c) for c in cmd], cwd=site, env=_env() | env, stdout=out, stderr=subprocess.STDOUT
            )
        procs.append(proc)
        return proc

    try:
        vtn_log = site / "vtn.log"
        vtn = start([server / "vtn", "serve", "--db", db, "--port", str(port)], vtn_log)
        async with aiohttp.ClientSession() as http:

            async def up() -> bool:
                async with http.get(base + BASE + "/openapi.json") as resp:
                    return resp.status == 200 and "openapi" in await resp.json()

            await _wait(up, "vtn serve", vtn, vtn_log)
            bl = json.loads(
                _run(
                    server / "vtn",
                    "clients",
                    "add",
                    "--db",
                    db,
                    "--name",
                    "bl",
                    "--role",
                    "bl",
                    "--json",
                    cwd=site,
                ).stdout
            )
            ven = json.loads(
                _run(
                    server / "vtn",
                    "clients",
                    "add",
                    "--db",
                    db,
                    "--name",
                    "gw",
                    "--role",
                    "ven",
                    "--json",
                    cwd=site,
                ).stdout
            )
            form = {"grant_type": "client_credentials", **bl}
            async with http.post(base + BASE + "/auth/token", data=form) as resp:
                token = (await resp.json())["access_token"]
            auth = {"Authorization": f"Bearer {token}"}

            async def get(path: str, **params: str) -> Any:
                async with http.get(base + BASE + path, headers=auth, params=params) as resp:
                    assert resp.status == 200, await resp.text()
                    return await resp.json()

            async def post(path: str, doc: dict[str, Any]) -> Any:
                async with http.post(base + BASE + path, headers=auth, json=doc) as resp:
                    assert resp.status == 201, await resp.text()
                    return await resp.json()

            # The 2.0b VEN is admitted by venName (plain HTTP lab): BL creates its ven object first.
            await post(
                "/vens", {"objectType": "BL_VEN_REQUEST", "venName": "site-20b", "clientID": "site-20b"}
            )
            program = await post("/programs", {"programName": "wheel"})
            start_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 60))
            await post(
                "/events",
                {
                    "programID": program["id"],
                    "eventName": "shed",
                    "intervalPeriod": {"start": start_at, "duration": "PT30M"},
                    "intervals": [{"id": 0, "payloads": [{"type": "SIMPLE", "values": [1]}]}],
                },
            )

            creds = f'client_id = "{ven["client_id"]}"\nclient_secret = "{ven["client_secret"]}"'
            (site / "ven31.toml").write_text(_ven_toml(f'url = "{base}{BASE}"\n{creds}', "site-31"))
            url20b = f"{base}/OpenADR2/Simple/2.0b"
            (site / "ven20b.toml").write_text(
                _ven_toml(f'protocol = "2.0b"\nurl = "{url20b}"\nreport_seconds = 1', "site-20b")
            )
            ven31 = start([gateway / "ven", "run", "--config", "ven31.toml"], site / "ven31.log")
            ven20b = start([gateway / "ven", "run", "--config", "ven20b.toml"], site / "ven20b.log")

            async def ven31_registered() -> bool:
                return any(v["venName"] == "site-31" for v in await get("/vens"))

            async def ven20b_opted_in() -> bool:
                reports = await get("/reports", clientName="site-20b")
                return any(r["reportName"] == "OADR20B_OPT" for r in reports)

            await _wait(ven31_registered, "the 3.1 VEN to register", ven31, site / "ven31.log")
            await _wait(ven20b_opted_in, "the 2.0b VEN to register and opt in", ven20b, site / "ven20b.log")
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
