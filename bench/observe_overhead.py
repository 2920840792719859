"""CPU cost of the observing part of the request stack per request (vtn/observability/), in process.

`python bench/observe_overhead.py` runs a polling request (`GET /openadr3/3.1.0/events` by a VEN)
through the front middleware (vtn/middleware.py; rate limits off) around a handler that does
nothing, with metrics on, with metrics off, and without the middleware, and prints the CPU time per
request of each (the best of several rounds, so that other load on the machine counts as little as
possible). The difference is what metrics,
request ids and contacts add to every request; compare it with the VTN's CPU per polling request
in docs/performance.md. The access log is measured too (to /dev/null).
"""

from __future__ import annotations

import asyncio
import logging
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aiohttp import web  # noqa: E402

from bench.middleware_chain import plain_request  # noqa: E402
from shared.enums import ROLE_SCOPES, Role  # noqa: E402
from vtn.app import build_app  # noqa: E402
from vtn.config import VtnConfig  # noqa: E402
from vtn.core.state import PRINCIPAL_KEY  # noqa: E402
from vtn.principal import Principal  # noqa: E402
from vtn.storage import migrate, open_store  # noqa: E402

N = 3_000
ROUNDS = 5
PATH = "/openadr3/3.1.0/events?targets=group-1"


async def nothing(request: web.Request) -> web.StreamResponse:
    return web.Response(body=b"[]", content_type="application/json")


async def per_request_us(config: VtnConfig, wrapped: bool) -> float:
    store = open_store(config.db_url)
    app = await build_app(config, store)
    front = app.middlewares[0]
    who = Principal("ven-1", Role.VEN, frozenset(ROLE_SCOPES[Role.VEN]))
    probe = plain_request(app, "GET", PATH, {})
    match = await app.router.resolve(probe)
    match.add_app(app)
    match.freeze()
    best = float("inf")
    for _ in range(ROUNDS):
        requests = []
        for _ in range(N):
            req = plain_request(app, "GET", PATH, {"X-Request-ID": "bench-1"})
            req._match_info = match  # what aiohttp's router sets before the middlewares run
            req[PRINCIPAL_KEY] = who
            requests.append(req)
        started = time.process_time()
        if wrapped:
            for req in requests:
                await front(req, nothing)
        else:
            for req in requests:
                await nothing(req)
        best = min(best, (time.process_time() - started) / N * 1e6)
    await store.close()
    return best


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/vtn.db"
        await migrate.upgrade_async(url)
        logging.getLogger("vtn.access").addHandler(logging.FileHandler("/dev/null"))
        base = dict(db_url=url, delivery_worker=False, rate_per_client=0.0, rate_per_address=0.0)
        logging.getLogger().setLevel(logging.WARNING)
        bare = await per_request_us(VtnConfig(**base), wrapped=False)
        off = await per_request_us(VtnConfig(**base, metrics=False), wrapped=True)
        on = await per_request_us(VtnConfig(**base), wrapped=True)
        logging.getLogger().setLevel(logging.INFO)
        logged = await per_request_us(VtnConfig(**base), wrapped=True)
    print(f"handler alone:                           {bare:6.2f} µs CPU per request")
    print(f"+ middleware, metrics off, no access log: {off - bare:6.2f} µs")
    print(f"+ middleware, metrics on,  no access log: {on - bare:6.2f} µs  (metrics: {on - off:.2f} µs)")
    print(f"+ middleware, metrics on,  access log:    {logged - bare:6.2f} µs  (line: {logged - on:.2f} µs)")


if __name__ == "__main__":
    asyncio.run(main())
