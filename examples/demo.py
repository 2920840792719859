"""`make demo`: a VTN, three VEN agents with different devices, and a BL script, all on loopback.

Prints, as it happens, each event arriving at each VEN, the devices' responses and the reports
reaching the VTN. Everything lives in var/demo/ (deleted at start); Ctrl-C stops it all.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import signal
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DEVICES = ("ev-charger", "battery", "water-heater")
WANTED = ("arrived", "device ", "reached the VTN", "onboarded", "[BL]", "[VTN]", "ERROR", "error")


async def sh(*args: str) -> str:
    proc = await asyncio.create_subprocess_exec(*args, stdout=asyncio.subprocess.PIPE, cwd=ROOT)
    out, _ = await proc.communicate()
    if proc.returncode != 0:
        raise SystemExit(f"demo: {' '.join(args)} failed")
    return out.decode()


async def pump(name: str, proc: asyncio.subprocess.Process, verbose: bool) -> None:
    assert proc.stdout is not None
    async for raw in proc.stdout:
        line = raw.decode(errors="replace").rstrip()
        if verbose or any(w in line for w in WANTED):
            print(f"{name:>14} | {line}", flush=True)


async def wait_http(url: str, timeout: float = 20.0) -> None:
    import aiohttp

    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    async with aiohttp.ClientSession() as session:
        while True:
            try:
                async with session.get(url) as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            if loop.time() > end:
                raise SystemExit(f"demo: the VTN did not come up at {url}")
            await asyncio.sleep(0.2)


async def main(args: argparse.Namespace) -> None:
    work = ROOT / "var" / "demo"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    db = f"sqlite:///{work / 'vtn.db'}"
    base = f"http://127.0.0.1:{args.port}/openadr3/3.1.0"
    await sh(str(BIN / "vtn"), "db", "upgrade", "--db", db)
    bl = json.loads(
        await sh(
            str(BIN / "vtn"), "clients", "add", "--db", db, "--name", "demo-bl", "--role", "bl", "--json"
        )
    )
    procs: list[asyncio.subprocess.Process] = []
    pumps = []

    async def spawn(name: str, *cmd: str, env: dict[str, str] | None = None) -> asyncio.subprocess.Process:
        proc = await asyncio.create_subprocess_exec(
            *cmd,
            cwd=ROOT,
            env={**os.environ, **(env or {}), "PYTHONUNBUFFERED": "1"},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        procs.append(proc)
        pumps.append(asyncio.create_task(pump(name, proc, args.verbose)))
        return proc

    try:
        await spawn("vtn", str(BIN / "vtn"), "serve", "--db", db, "--port", str(args.port), "--no-migrate")
        await wait_http(f"{base}/auth/server")
        print(f"{'demo':>14} | VTN up at {base}")
        for device in DEVICES:
            creds = json.loads(
                await sh(
                    str(BIN / "vtn"),
                    "clients",
                    "add",
                    "--db",
                    db,
                    "--name",
                    device,
                    "--role",
                    "ven",
                    "--json",
                )
            )
            env = {
                "VEN_VTN_URL": base,
                "VEN_CLIENT_ID": creds["client_id"],
                "VEN_CLIENT_SECRET": creds["client_secret"],
                "VEN_STATE_DIR": str(work / device),
            }
            await spawn(device, str(BIN / "ven"), "run", "--config", f"examples/ven-{device}.toml", env=env)
        await asyncio.sleep(2)
        bl_cmd = [
            sys.executable,
            "examples/bl_price_event.py",
            "--url",
            base,
            "--client-id",
            bl["client_id"],
            "--client-secret",
            bl["client_secret"],
            "--intervals",
            "4",
            "--minutes",
            "1",
            "--watch",
            str(args.duration),
        ]
        bl_proc = await spawn("bl", *bl_cmd)
        await bl_proc.wait()
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
        await asyncio.gather(*(p.wait() for p in procs), return_exceptions=True)
        for task in pumps:
            task.cancel()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--port", type=int, default=8090, help="VTN port (default 8090)")
    parser.add_argument("--duration", type=float, default=90, help="seconds to watch reports (default 90)")
    parser.add_argument("--verbose", action="store_true", help="show every log line, not just the story")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main(parser.parse_args()))
