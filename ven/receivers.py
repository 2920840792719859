"""Push channels that tell the agent "something changed, re-read your events".

The agent never acts on a notification's body alone: every push triggers a re-read of the events
from the VTN, so a lost, duplicated or reordered notification can delay an update but never corrupt
the agent's view. The periodic reconciliation poll covers anything a push channel misses.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import secrets
import ssl
from collections.abc import Callable
from urllib.parse import urlsplit

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


class MqttReceiver:
    """Subscribes (QoS 1) to the VEN-scoped topics the VTN names; any message triggers a re-read.

    Reconnects with backoff when the broker goes away; the reconciliation poll covers the gap.
    """

    def __init__(self, uri: str, topics: list[str], on_notify: Callable[[], None]) -> None:
        parts = urlsplit(uri if "://" in uri else f"mqtt://{uri}")
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or (8883 if parts.scheme in ("mqtts", "ssl") else 1883)
        self.tls = parts.scheme in ("mqtts", "ssl")
        self.topics = topics
        self._on_notify = on_notify
        self._task: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="ven-mqtt")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        import aiomqtt  # only agents in mqtt mode pay for the client

        delay = 1.0
        while True:
            try:
                tls = ssl.create_default_context() if self.tls else None
                async with aiomqtt.Client(self.host, self.port, tls_context=tls) as client:
                    for topic in self.topics:
                        await client.subscribe(topic, qos=1)
                    log.info("subscribed to %d MQTT topics at %s:%s", len(self.topics), self.host, self.port)
                    self.connected.set()
                    delay = 1.0
                    async for _message in client.messages:
                        self._on_notify()
            except aiomqtt.MqttError as exc:
                self.connected.clear()
                log.warning("MQTT connection lost (%s); reconnecting in %.0f s", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 60.0)
