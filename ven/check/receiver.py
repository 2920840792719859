"""The webhook receiver the kit runs: answers echo challenges and records notifications.

`GET <path>?echo=V` is answered 200 with V (Definition, Webhooks), except under `/wrong-echo/`,
which answers something else so the kit can see the VTN refuse a failed challenge. Every POST is
recorded with its path, Authorization header and JSON body; `wait_for` awaits a matching one.
The VTN must reach it: by default it listens on 127.0.0.1 at an ephemeral port, and `public_url`
names it as the VTN should call it (e.g. a tunnel or https front for VTNs that refuse loopback).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

WRONG_ECHO = "wrong-echo"


@dataclass(frozen=True, slots=True)
class Received:
    path: str
    authorization: str | None
    doc: Any  # decoded JSON, or None when the body was not JSON
    raw: bytes


class Receiver:
    def __init__(self, host: str = "127.0.0.1", port: int = 0, public_url: str | None = None) -> None:
        self.host, self.port = host, port
        self._public_url = public_url.rstrip("/") if public_url else None
        self.challenges: list[tuple[str, str]] = []  # (path, echo value)
        self.notifications: list[Received] = []
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        """Base URL for callbacks (no trailing slash)."""
        if self._public_url is not None:
            return self._public_url
        return f"http://{self.host}:{self.port}"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/{tail:.*}", self._get)
        app.router.add_post("/{tail:.*}", self._post)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _get(self, request: web.Request) -> web.Response:
        value = request.query.get("echo")
        if value is None:
            return web.Response(status=404, text="not a callback")
        self.challenges.append((request.path, value))
        if WRONG_ECHO in request.path:
            return web.Response(text="not-the-challenge")
        return web.Response(text=value)

    async def _post(self, request: web.Request) -> web.Response:
        raw = await request.read()
        try:
            doc: Any = json.loads(raw) if raw else None
        except (UnicodeDecodeError, json.JSONDecodeError):
            doc = None
        async with self._changed:
            self.notifications.append(Received(request.path, request.headers.get("Authorization"), doc, raw))
            self._changed.notify_all()
        return web.Response(status=200)

    async def wait_for(self, match: Callable[[Received], bool], timeout: float) -> Received | None:
        """The first notification (received before or within `timeout` s) that `match` accepts."""

        def found() -> Received | None:
            return next((n for n in self.notifications if match(n)), None)

        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(lambda: found() is not None), timeout)
            except TimeoutError:
                return None
        return found()
