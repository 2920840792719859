"""Console page load times at 100,000 VENs: `python -m bench.console_pages [--backend sqlite|postgresql]`.

Seeds (or reuses, bench/seed.py's cache) 100,000 VENs with one resource each and 100,000 OAuth
clients, starts the VTN in-process on 127.0.0.1, logs an operator in through the form and times
each console page over HTTP: the median and the 95th percentile of 30 loads after 3 warm-ups, the
server-side render included, the browser's not (see docs/console.md for the figures).
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import time

import aiohttp
from aiohttp import web

from bench.common import DEFAULT_PG_URL
from bench.seed import SeedSpec, ensure, working_copy
from shared.durations import to_us, utcnow
from shared.enums import OperatorRole
from vtn.app import build_app
from vtn.auth.passwords import hash_password
from vtn.config import VtnConfig
from vtn.storage import open_store

PASSWORD = "bench console password"
RUNS, WARM = 30, 3


async def measure(url: str, ven_names: list[str], ven_id: str) -> list[tuple[str, float, float, int]]:
    store = open_store(url)
    async with store.transaction() as tx:
        if await tx.operators().get("bench") is None:
            await tx.operators().add("bench", OperatorRole.ADMIN, hash_password(PASSWORD), to_us(utcnow()))
    runner = web.AppRunner(await build_app(VtnConfig(db_url=url, delivery_worker=False), store))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    origin = f"http://127.0.0.1:{runner.addresses[0][1]}"
    middle = ven_names[len(ven_names) // 2]
    pages = [
        ("overview", "/console/"),
        ("VENs, first page", "/console/vens"),
        ("VENs, page after the 50,000th", f"/console/vens?after={middle}"),
        ("VENs, name search (prefix)", f"/console/vens?q={ven_names[-1][:-2]}"),
        ("VEN page", f"/console/vens/{ven_id}"),
        ("programs and events", "/console/events"),
        ("subscriptions", "/console/subscriptions"),
        ("clients, first page", "/console/clients"),
    ]
    found = []
    try:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            login = await (await http.get(f"{origin}/console/login")).text()
            csrf = re.search(r'name="csrf" value="([^"]+)"', login)
            assert csrf
            done = await http.post(
                f"{origin}/console/login", data={"csrf": csrf.group(1), "name": "bench", "password": PASSWORD}
            )
            assert done.status == 200 and "Overview" in await done.text()
            for label, path in pages:
                times = []
                size = 0
                for i in range(WARM + RUNS):
                    start = time.perf_counter()
                    got = await http.get(origin + path)
                    body = await got.read()
                    elapsed = time.perf_counter() - start
                    assert got.status == 200, (path, got.status)
                    if i >= WARM:
                        times.append(elapsed * 1000)
                    size = len(body)
                times.sort()
                found.append((label, statistics.median(times), times[int(len(times) * 0.95) - 1], size))
    finally:
        await runner.cleanup()
        await store.close()
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--vens", type=int, default=100_000)
    parser.add_argument("--pg", default=DEFAULT_PG_URL)
    args = parser.parse_args()
    manifest = ensure(SeedSpec("console", args.vens, resources_per_ven=1), args.backend, args.pg)
    url = working_copy(manifest, args.backend, args.pg, "console")
    rows = asyncio.run(measure(url, manifest.ven_names, manifest.ven_ids[len(manifest.ven_ids) // 3]))
    print(f"console pages at {args.vens:,} VENs ({args.backend}); ms over HTTP, {RUNS} loads each")
    print(f"{'page':34} {'median':>8} {'p95':>8} {'bytes':>8}")
    for label, median, p95, size in rows:
        print(f"{label:34} {median:8.1f} {p95:8.1f} {size:8d}")


if __name__ == "__main__":
    main()
