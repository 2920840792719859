"""Push channels that tell the agent "something changed, re-read your events".

The agent never acts on a notification's body alone: every push triggers a re-read of the events
from the VTN, so a lost, duplicated or reordered notification can delay an update but never corrupt
the agent's view. The periodic reconciliation poll covers anything a push channel misses.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Callable

from aiohttp import web

log = logging.getLogger("ven.receive")


class WebhookReceiver:
    """A small HTTP listener: answers the VTN's echo challenge and accepts notification POSTs."""

    def __init__(self, host: str, port: int, on_notify: Callable[[], None], token: str | None = None) -> None:
        self.host = host
        self.port = port
        self.token = token or secrets.token_urlsafe(24)
        self._on_notify = on_notify
        self._runner: web.AppRunner | None = None
        self.bound_port: int | None = None

    async def start(self) -> None:
        app = web.Application(client_max_size=2 * 1024 * 1024)
        app.router.add_get("/notify", self._echo)
        app.router.add_post("/notify", self._notify)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        self.bound_port = sockets[0].getsockname()[1] if sockets else self.port
        log.info("webhook receiver listening on http://%s:%s/notify", self.host, self.bound_port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.bound_port}/notify"

    async def _echo(self, request: web.Request) -> web.Response:
        return web.Response(text=request.query.get("echo", ""))

    async def _notify(self, request: web.Request) -> web.Response:
        expected = f"Bearer {self.token}"
        if not hmac.compare_digest(request.headers.get("Authorization", ""), expected):
            return web.Response(status=401)
        await request.read()
        log.debug("notification %s received", request.headers.get("X-Notification-ID"))
        self._on_notify()
        return web.Response(text="ok")
