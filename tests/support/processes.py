"""Real `vtn serve` processes for end-to-end tests: free ports, lab settings, readiness, SIGKILL."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import aiohttp

from shared.enums import Role
from vtn.storage import open_store

BIN = Path(sys.executable).parent
BASE_PATH = "/openadr3/3.1.0"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def vtn_command() -> list[str]:
    script = BIN / "vtn"
    return [str(script)] if script.exists() else [sys.executable, "-m", "vtn"]


def lab_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VTN_", "VEN_"))}
    return {
        **env,
        "PYTHONUNBUFFERED": "1",
        "VTN_WEBHOOK_REQUIRE_HTTPS": "false",
        "VTN_WEBHOOK_ALLOW_PRIVATE": "true",
        **extra,
    }


async def add_clients_here(db: str, role: Role, names: list[str]) -> list[dict[str, str]]:
    """Like add_client for many clients, but in this process: one `vtn clients add` costs a second of
    interpreter start-up, and the store code it runs is the same."""
    store = open_store(db)
    try:
        async with store.transaction() as tx:
            made = [await tx.clients.add(name, role) for name in names]
    finally:
        await store.close()
    return [{"client_id": m.record.client_id, "client_secret": m.secret} for m in made]


def add_client(db: str, name: str, role: str) -> dict[str, str]:
    out = subprocess.run(
        [*vtn_command(), "clients", "add", "--db", db, "--name", name, "--role", role, "--json"],
        check=True,
        capture_output=True,
        env=lab_env(),
    )
    creds: dict[str, str] = json.loads(out.stdout)
    return creds


class VtnProcess:
    """One `vtn serve`; `kill()` is SIGKILL (no cleanup at all), `start()` may be called again."""

    def __init__(self, db: str, log: Path, env: dict[str, str], port: int | None = None) -> None:
        self.db, self.log, self.env = db, log, env
        self.port = port or free_port()
        self.base = f"http://127.0.0.1:{self.port}{BASE_PATH}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                [*vtn_command(), "serve", "--db", self.db, "--port", str(self.port)],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=self.env,
            )

    async def ready(self, timeout: float = 30) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        async with aiohttp.ClientSession() as session:
            while True:
                assert self.proc is not None and self.proc.poll() is None, self.log.read_text()[-3000:]
                try:
                    async with session.get(self.base + "/auth/server") as resp:
                        if resp.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                assert loop.time() < deadline, "vtn serve did not come up"
                await asyncio.sleep(0.1)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
