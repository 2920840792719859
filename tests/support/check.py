"""Support of the `ven check` tests: our VTN on a real loopback port, with BL and two VEN clients.

The kit's webhook receiver must be reachable by the VTN, so the VTN listens on a TCP port (not a
test client) and accepts loopback http:// callbacks; the echo challenge stays on (the kit checks it).
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from shared.enums import Role
from vtn.app import build_app
from vtn.config import TlsSettings, VtnConfig
from vtn.storage import Store, open_store
from vtn.tls_runtime import ServerTls

LAB = {
    "webhook_require_https": False,
    "webhook_allow_private": True,
    "webhook_echo_challenge": True,
    "retry_base_seconds": 0.05,
    "delivery_timeout_seconds": 2.0,
}


@dataclass
class Creds:
    client_id: str
    secret: str


@dataclass
class LiveVtn:
    root: str  # http://127.0.0.1:port
    store: Store
    bl: Creds
    ven: Creds
    ven2: Creds

    def base(self, version: str) -> str:
        return f"{self.root}/openadr3/{version}"


async def start_live_vtn(
    db_url: str, *, tls: TlsSettings | None = None, **overrides: object
) -> AsyncIterator[LiveVtn]:
    """Our VTN on a loopback port (HTTPS with `tls`), with clients check-bl, check-ven, check-ven2."""
    store = open_store(db_url)
    config = VtnConfig.load(env={}, overrides={"db_url": db_url, **LAB, **overrides})
    if tls is not None:
        config = dataclasses.replace(config, tls=tls)
    runner: web.AppRunner | None = None
    try:
        app = await build_app(config, store)
        server_tls = ServerTls(tls) if tls is not None else None
        if server_tls is not None:
            server_tls.install(app)
        # Connections left idle by clients must not hold up the teardown for long.
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        context = server_tls.context if server_tls is not None else None
        await web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context).start()
        port = runner.addresses[0][1]
        made = {}
        async with store.transaction() as tx:
            for name, role in (("bl", Role.BL), ("ven", Role.VEN), ("ven2", Role.VEN)):
                new = await tx.clients.add(f"check-{name}", role)
                made[name] = Creds(new.record.client_id, new.secret)
        scheme = "https" if tls is not None else "http"
        yield LiveVtn(f"{scheme}://127.0.0.1:{port}", store, made["bl"], made["ven"], made["ven2"])
    finally:
        if runner is not None:
            await runner.cleanup()
        await store.close()


async def bl_call(vtn: LiveVtn, method: str, path: str, body: dict[str, object] | None) -> dict[str, Any]:
    """One BL request to the 3.1.0 API (setup the kit cannot do itself, e.g. for 2.0b)."""
    import aiohttp

    base = vtn.base("3.1.0")
    async with aiohttp.ClientSession() as http:
        form = {
            "grant_type": "client_credentials",
            "client_id": vtn.bl.client_id,
            "client_secret": vtn.bl.secret,
        }
        async with http.post(base + "/auth/token", data=form) as resp:
            token = (await resp.json())["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        async with http.request(method, base + path, json=body, headers=headers) as resp:
            assert resp.status < 300, await resp.text()
            doc: dict[str, Any] = await resp.json()
            return doc


Mutate = Callable[[web.Request, int, str, bytes], Awaitable[tuple[int, str, bytes]]]


@asynccontextmanager
async def broken_proxy(target: str, mutate: Mutate) -> AsyncIterator[str]:
    """A VTN that breaks one rule: our VTN behind a proxy whose `mutate` rewrites answers.

    `mutate(request, status, content_type, body)` returns the (status, content_type, body) to send.
    Yields the proxy's root URL (same paths as `target`).
    """
    import aiohttp

    async with aiohttp.ClientSession(auto_decompress=True) as http:

        async def forward(request: web.Request) -> web.Response:
            headers = {k: v for k, v in request.headers.items() if k.lower() != "content-length"}
            async with http.request(
                request.method, target + request.path_qs, data=await request.read(), headers=headers
            ) as resp:
                body = await resp.read()
                status, content_type, body = await mutate(request, resp.status, resp.content_type, body)
            return web.Response(status=status, body=body, content_type=content_type)

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", forward)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        try:
            yield f"http://127.0.0.1:{runner.addresses[0][1]}"
        finally:
            await runner.cleanup()
