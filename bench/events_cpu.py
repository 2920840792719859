"""CPU per request of VENs' uncached `GET /events` (3.1.0 and 3.0.1), in process, through the app.

`python bench/events_cpu.py [-n 2000] [--rounds 5]` serves the endpoint sweep's seeded SQLite
database (bench/sweep.py: 20 events × 24 intervals, a VEN sees 11, one of them targeted at its
group) with the read cache and the grant cache off, as the sweep's cache-off pass runs it, and
runs each request through `app._handle` (router, middleware chain, handler), rotating over the
1,000 VENs' tokens. It prints the best of `--rounds` rounds of CPU µs per request (process time),
so that other load on a shared machine counts as little as possible; BL's `GET /events` (no
grants, no target hidden) is printed for comparison. No sockets: aiohttp's response writing and
the kernel are not in it (bench/side_by_side.py measures those).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aiohttp import web  # noqa: E402

from bench.common import DATA  # noqa: E402
from bench.middleware_chain import plain_request  # noqa: E402
from bench.seed import Manifest, ensure, mint_tokens  # noqa: E402
from bench.sweep import SPEC  # noqa: E402
from shared.enums import Role  # noqa: E402
from vtn.app import build_app  # noqa: E402
from vtn.config import VtnConfig  # noqa: E402
from vtn.storage import open_store  # noqa: E402


async def _best(app: web.Application, path: str, tokens: list[str], n: int, rounds: int) -> float:
    heads = [{"Authorization": f"Bearer {t}"} for t in tokens]
    best = float("inf")
    for r in range(rounds + 1):  # the first round warms up
        requests = [plain_request(app, "GET", path, heads[i % len(heads)]) for i in range(n)]
        gc.collect()
        started = time.process_time()
        for req in requests:
            response = await app._handle(req)
            assert response.status == 200, response.status
        if r:
            best = min(best, (time.process_time() - started) / n * 1e6)
    return best


async def _run(url: str, ven_tokens: list[str], bl_token: str, args: argparse.Namespace) -> None:
    store = open_store(url)
    config = VtnConfig(
        db_url=url,
        delivery_worker=False,
        rate_per_client=0.0,
        rate_per_address=0.0,
        read_cache_seconds=0.0,
        grant_cache_seconds=0.0,
    )
    app = await build_app(config, store)
    app.freeze()
    try:
        for api in args.api:
            path = f"/openadr3/{api}/events"
            for role, tokens in (("VEN", ven_tokens), ("BL", [bl_token])):
                if role in args.role:
                    us = await _best(app, path, tokens, args.n, args.rounds)
                    load = os.getloadavg()[0]
                    print(f"{api} GET /events {role}: {us:6.1f} µs CPU/req (load {load:.1f})", flush=True)
    finally:
        await store.close()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-n", type=int, default=2000, help="requests per round")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--api", nargs="+", default=["3.1.0", "3.0.1"], choices=["3.1.0", "3.0.1"])
    p.add_argument("--role", nargs="+", default=["VEN", "BL"], choices=["VEN", "BL"])
    p.add_argument(
        "--sqlite",
        help="a copy of the sweep's seeded database to serve (default: seeded here as bench/sweep.py "
        "seeds it); its manifest must be bench/.data's (for comparing checkouts on one database)",
    )
    args = p.parse_args()
    if args.sqlite is None:
        manifest = ensure(SPEC, "sqlite", "")
    else:
        manifest = Manifest.load(DATA / f"sqlite-{SPEC.name}.json")
    source = args.sqlite or manifest.url.removeprefix("sqlite:///")
    ven_tokens = mint_tokens(manifest.url, manifest.client_ids)
    bl_token = mint_tokens(manifest.url, [manifest.bl_client_id], Role.BL)[0]
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "events.db"
        shutil.copy(source, copy)
        sys.stderr = open(os.devnull, "w")  # noqa: SIM115 (the access log, for the rest of the process)
        asyncio.run(_run(f"sqlite:///{copy}", ven_tokens, bl_token, args))


if __name__ == "__main__":
    main()
