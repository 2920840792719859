"""The list attack of issue 15: one VEN stores 41 reports of ~1 MiB, then asks 6 times at once for
GET /reports?limit=50. Prints the server's RSS before and at peak, each answer's time and size, and
how long /health took meanwhile. Not part of `make bench`; run: .venv/bin/python bench/list_attack.py

PYTHONPATH=<another checkout> measures that code instead (e.g. `git archive main`).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

PORT = 18577
BASE = f"http://127.0.0.1:{PORT}/openadr3/3.1.0"
VTN = [sys.executable, "-m", "vtn"]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cli(*args: str) -> str:
    return subprocess.run([*VTN, *args], check=True, capture_output=True, text=True).stdout


async def token(session: aiohttp.ClientSession, creds: dict[str, str]) -> dict[str, str]:
    form = {"grant_type": "client_credentials", **creds}
    async with session.post(BASE + "/auth/token", data=form) as resp:
        return {"Authorization": f"Bearer {(await resp.json())['access_token']}"}


async def main() -> None:
    tmp = Path(tempfile.mkdtemp())
    db = f"sqlite:///{tmp / 'vtn.db'}"
    cli("db", "upgrade", "--db", db)
    bl = json.loads(cli("clients", "add", "--db", db, "--name", "bl", "--role", "bl", "--json"))
    ven = json.loads(cli("clients", "add", "--db", db, "--name", "ven", "--role", "ven", "--json"))
    env = {**os.environ, "VTN_DELIVERY_WORKER": "false", "VTN_LOG_LEVEL": "WARNING"}
    server = subprocess.Popen([*VTN, "serve", "--db", db, "--port", str(PORT)], env=env)
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=300)) as session:
            for _ in range(100):
                try:
                    async with session.get(f"http://127.0.0.1:{PORT}/health") as resp:
                        if resp.status == 200:
                            break
                except aiohttp.ClientError:
                    await asyncio.sleep(0.1)
            bl_h, ven_h = await token(session, bl), await token(session, ven)
            async with session.post(BASE + "/programs", json={"programName": "p"}, headers=bl_h) as r:
                program = await r.json()
            async with session.post(BASE + "/events", json={"programID": program["id"]}, headers=bl_h) as r:
                event = await r.json()
            pad = "x" * (1024 * 1024 - 400)
            stored = 0
            for n in range(41):
                report = {"eventID": event["id"], "clientName": f"c{n}", "reportName": pad, "resources": []}
                async with session.post(BASE + "/reports", json=report, headers=ven_h) as r:
                    stored += r.status == 201
            before = rss_mb(server.pid)
            peak = before
            done = asyncio.Event()

            async def watch() -> None:
                nonlocal peak
                while not done.is_set():
                    peak = max(peak, rss_mb(server.pid))
                    await asyncio.sleep(0.02)

            async def one() -> tuple[float, int, int]:
                t = time.monotonic()
                async with session.get(BASE + "/reports", params={"limit": "50"}, headers=ven_h) as r:
                    body = await r.read()
                return time.monotonic() - t, len(json.loads(body)), len(body)

            async def health() -> float:
                await asyncio.sleep(0.05)
                t = time.monotonic()
                async with session.get(f"http://127.0.0.1:{PORT}/health") as r:
                    await r.read()
                return time.monotonic() - t

            watcher = asyncio.create_task(watch())
            results = await asyncio.gather(*(one() for _ in range(6)), health())
            done.set()
            await watcher
            after = rss_mb(server.pid)
            lists, health_s = results[:6], results[6]
            print(f"reports stored: {stored} of 41 (~1 MiB each)")
            print(f"RSS before: {before:.0f} MB, peak: {peak:.0f} MB, after: {after:.0f} MB")
            for seconds, count, size in lists:  # type: ignore[misc]
                print(f"GET /reports?limit=50: {seconds:.2f} s, {count} reports, {size / 1e6:.1f} MB")
            print(f"/health during the lists: {health_s:.3f} s")
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    asyncio.run(main())
