"""Against a real `vtn serve`: `vtn clients rotate` and `vtn clients remove` from another process."""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from support.processes import VtnProcess, add_client, lab_env, vtn_command


@pytest.fixture
async def served(tmp_path: Path, sqlite_template: Path) -> AsyncIterator[VtnProcess]:
    db = f"sqlite:///{tmp_path / 'vtn.db'}"
    (tmp_path / "vtn.db").write_bytes(sqlite_template.read_bytes())
    proc = VtnProcess(db, tmp_path / "vtn.log", lab_env(VTN_DELIVERY_WORKER="false"))
    proc.start()
    try:
        await proc.ready()
        yield proc
    finally:
        proc.stop()


def _cli(db: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*vtn_command(), "clients", *args, "--db", db], capture_output=True, text=True, env=lab_env()
    )


async def _token(session: aiohttp.ClientSession, base: str, client_id: str, secret: str) -> str | None:
    form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    async with session.post(base + "/auth/token", data=form) as resp:
        return str((await resp.json())["access_token"]) if resp.status == 200 else None


async def test_rotate_then_remove_from_the_cli(served: VtnProcess) -> None:
    ven = add_client(served.db, "ven-1", "ven")
    async with aiohttp.ClientSession() as session:
        token = await _token(session, served.base, ven["client_id"], ven["client_secret"])
        assert token is not None
        headers = {"Authorization": f"Bearer {token}"}

        rotated = _cli(served.db, "rotate", "ven-1", "--grace-hours", "1", "--json")
        assert rotated.returncode == 0, rotated.stderr
        new_secret = json.loads(rotated.stdout)["client_secret"]
        assert await _token(session, served.base, ven["client_id"], new_secret) is not None
        assert await _token(session, served.base, ven["client_id"], ven["client_secret"]) is not None

        async with session.get(served.base + "/programs", headers=headers) as resp:
            assert resp.status == 200
        started = time.monotonic()
        removed = _cli(served.db, "remove", "ven-1")
        assert removed.returncode == 0, removed.stderr
        start = time.monotonic()
        while True:
            async with session.get(served.base + "/programs", headers=headers) as resp:
                if resp.status == 401:
                    break
                assert resp.status == 200
            assert time.monotonic() - start < 5, "token of a removed client still works after 5 s"
            await asyncio.sleep(0.02)
        done = time.monotonic()
        print(
            f"cut-off: {done - start:.3f} s after `vtn clients remove` returned "
            f"({done - started:.3f} s after it began)"
        )


def test_rotate_unknown_client_is_one_line(tmp_path: Path, sqlite_template: Path) -> None:
    (tmp_path / "vtn.db").write_bytes(sqlite_template.read_bytes())
    out = _cli(f"sqlite:///{tmp_path / 'vtn.db'}", "rotate", "nobody")
    assert out.returncode != 0 and "no client" in out.stderr and "Traceback" not in out.stderr
