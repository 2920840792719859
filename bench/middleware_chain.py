"""CPU cost of the VTN's per-request HTTP stack (the middleware chain), in process.

`python bench/middleware_chain.py` runs requests through `app._handle` (aiohttp's router, the
middleware chain and a handler) on a small SQLite database, with the defaults of `vtn serve`
(access log on, its text lines written to /dev/null; metrics on; rate limits on, then off), and
prints CPU µs per request:
- a cached polling GET /events by a VEN (what most requests are),
- the same request against a handler that answers at once (the stack alone),
- the same bare handler without any middleware (what aiohttp costs anyway),
- each middleware of the chain alone around that bare handler.
The best of several rounds is kept, so that other load on the machine counts as little as possible.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aiohttp import web  # noqa: E402
from aiohttp.test_utils import make_mocked_request  # noqa: E402

from shared.enums import Role  # noqa: E402
from vtn.app import build_app  # noqa: E402
from vtn.config import VtnConfig  # noqa: E402
from vtn.core.state import PRINCIPAL_KEY, STATE  # noqa: E402
from vtn.observability import logs  # noqa: E402
from vtn.storage import migrate, open_store  # noqa: E402

N = 2_000  # requests per round; `python bench/middleware_chain.py N` sets it
ROUNDS = 5
PATH = os.environ.get("CHAIN_PATH", "/openadr3/3.1.0/events")


class _Transport:
    """A plain TCP connection's transport (no TLS): what aiohttp and our middlewares ask of it."""

    def get_extra_info(self, key: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 40000), "sockname": ("127.0.0.1", 8080)}.get(key, default)

    def is_closing(self) -> bool:
        return False


class _Writer:
    def __init__(self, transport: _Transport) -> None:
        self.transport = transport
        self.output_size = 0


class _Protocol:
    max_field_size = 8190
    max_line_length = 8190
    max_headers = 128
    peername = ("127.0.0.1", 40000)
    sockname = ("127.0.0.1", 8080)
    ssl_context = None

    def __init__(self) -> None:
        self.transport = _Transport()
        self.writer = _Writer(self.transport)


def plain_request(app: web.Application, method: str, path: str, headers: dict[str, str]) -> web.Request:
    """A request as aiohttp makes one, over a plain connection (make_mocked_request's mocks cost
    more than the middlewares do: the certificate guard asks the transport a question)."""
    protocol = _Protocol()
    return make_mocked_request(
        method,
        path,
        app=app,
        headers=headers,
        protocol=protocol,
        transport=protocol.transport,
        writer=protocol.writer,
    )


async def nothing(request: web.Request) -> web.StreamResponse:
    return web.Response(body=b"[]", content_type="application/json")


def best_of(run: Callable[[list[web.Request]], Awaitable[None]], make: Callable[[], web.Request]) -> Any:
    async def timed() -> float:
        best = float("inf")
        for _ in range(ROUNDS):
            requests = [make() for _ in range(N)]
            started = time.process_time()
            await run(requests)
            best = min(best, (time.process_time() - started) / N * 1e6)
        return best

    return timed()


async def main() -> None:
    for rate in (1e9, 0.0):
        print(f"rate limits {'on (never reached)' if rate else 'off (as bench/run.py runs)'}:")
        await one(rate)


async def one(rate: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/vtn.db"
        await migrate.upgrade_async(url)
        store = open_store(url)
        async with store.transaction() as tx:
            ven = (await tx.clients.add("ven one", Role.VEN)).record.client_id
        # `vtn serve`'s logging (text lines on stderr), with stderr sent to /dev/null.
        sys.stderr = open(os.devnull, "w")  # noqa: SIM115 (for the rest of the process)
        logs.configure("INFO", logs.LogFormat.TEXT)
        app = await build_app(
            VtnConfig(db_url=url, delivery_worker=False, rate_per_client=rate, rate_per_address=rate), store
        )
        app.freeze()
        token = app[STATE].tokens.issue(ven, Role.VEN).access_token
        headers = {"Authorization": f"Bearer {token}"}

        def make() -> web.Request:
            return plain_request(app, "GET", PATH, headers)

        async def through_app(requests: list[web.Request]) -> None:
            for req in requests:
                response = await app._handle(req)
                assert response.status == 200, response.status

        full = await best_of(through_app, make)

        # The same chain around a handler that does nothing: swap the route's handler.
        probe = make()
        match = await app.router.resolve(probe)
        route = match.route
        real = route._handler
        route._handler = nothing
        from aiohttp import web_app

        web_app._cached_build_middleware.cache_clear()
        stack = await best_of(through_app, make)
        # Without middlewares: resolve and call, as aiohttp would with none.
        match.add_app(app)
        match.freeze()

        async def bare(requests: list[web.Request]) -> None:
            for req in requests:
                await app.router.resolve(req)
                await nothing(req)

        alone = await best_of(bare, make)
        route._handler = real
        web_app._cached_build_middleware.cache_clear()

        who = app[STATE].tokens.verify(token)
        each: dict[str, float] = {}
        for mw in app.middlewares:

            def make_matched() -> web.Request:
                req = make()
                req._match_info = match
                req[PRINCIPAL_KEY] = who
                return req

            async def wrapped(requests: list[web.Request], mw: Any = mw) -> None:
                for req in requests:
                    await mw(req, nothing)

            each[getattr(mw, "__name__", repr(mw))] = await best_of(wrapped, make_matched)

        async def direct(requests: list[web.Request]) -> None:
            for req in requests:
                await nothing(req)

        def make_plain() -> web.Request:
            req = make()
            req._match_info = match
            return req

        handler_only = await best_of(direct, make_plain)
        await store.close()
    print(f"cached GET /events through the app:       {full:6.2f} µs CPU per request")
    print(f"the middleware chain around a bare handler: {stack:6.2f} µs")
    print(f"router + bare handler, no middleware:     {alone:6.2f} µs")
    print(f"=> the chain adds                          {stack - alone:6.2f} µs")
    for name, us in each.items():
        print(f"  {name:38s} {us - handler_only:6.2f} µs")


if __name__ == "__main__":
    if len(sys.argv) > 1:
        N = int(sys.argv[1])
    asyncio.run(main())
