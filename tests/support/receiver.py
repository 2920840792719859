"""A real HTTP webhook receiver on loopback that records what it is sent."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        import json

        return json.loads(self.body)


@dataclass
class Receiver:
    """Answers the echo challenge; `fail_with` makes POSTs fail with that status until cleared."""

    echo: bool = True
    fail_with: int | None = None
    got: list[Received] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    server: TestServer | None = None

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/hook", self._get)
        app.router.add_post("/hook", self._post)
        return app

    async def _get(self, request: web.Request) -> web.Response:
        if not self.echo:
            return web.Response(text="nope")
        return web.Response(text=request.query.get("echo", ""))

    async def _post(self, request: web.Request) -> web.Response:
        if self.fail_with is not None:
            return web.Response(status=self.fail_with)
        self.got.append(Received(dict(request.headers), await request.read()))
        self.arrived.set()
        return web.Response(text="ok")

    async def start(self) -> str:
        self.server = TestServer(self.app(), host="127.0.0.1")
        await self.server.start_server()
        return str(self.server.make_url("/hook"))

    async def stop(self) -> None:
        if self.server is not None:
            await self.server.close()

    async def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        async def until() -> None:
            while len(self.got) < count:
                self.arrived.clear()
                await self.arrived.wait()

        await asyncio.wait_for(until(), timeout)
        return self.got
