"""The HTTP server's own limits: slow clients, connection cap, and aiohttp's errors as problems.

aiohttp closes idle keep-alive connections (`keepalive_timeout`, our idle timeout) but has no timeout
for a request head or body that trickles in: a client sending one byte a minute holds a connection
and a file descriptor for ever. `GuardedHandler` adds both:
- head: from the first byte of a request (or the connection's start) until its head is parsed, at
  most `header_timeout_s`, else the connection is closed;
- body: from the parsed head until the body's last byte, at most `body_timeout_s`, else closed (the
  handler reading it sees a disconnection, logged in one line, not a traceback).
Connections beyond `max_connections` are closed as soon as they are accepted. The errors aiohttp
answers itself, before any middleware runs (a header over 8,190 bytes, NUL in a header, a bad method,
Content-Length with Transfer-Encoding), are answered as problem+json like every other error.
"""

from __future__ import annotations

import asyncio
import logging
import resource
import uuid
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from aiohttp import web
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest
from aiohttp.web_server import Server

from shared.errors import PROBLEM_CONTENT_TYPE, Problem
from shared.wire.oadr3_json import encode_doc
from vtn.config import VtnConfig

log = logging.getLogger("vtn.http")
# File descriptors kept free of connections: the database pool, log files, the delivery worker.
_FD_RESERVE = 256


@dataclass(frozen=True)
class ServerLimits:
    header_timeout_s: float
    body_timeout_s: float
    idle_timeout_s: float
    max_connections: int

    @classmethod
    def from_config(cls, config: VtnConfig) -> ServerLimits:
        cap = config.max_connections
        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft != resource.RLIM_INFINITY and soft > _FD_RESERVE:
            cap = min(cap, soft - _FD_RESERVE)
        return cls(
            header_timeout_s=config.header_timeout_seconds,
            body_timeout_s=config.body_timeout_seconds,
            idle_timeout_s=config.idle_timeout_seconds,
            max_connections=max(1, cap),
        )


def _problem_response(status: int, detail: str | None) -> web.Response:
    try:
        title = HTTPStatus(status).phrase
    except ValueError:
        title = "Error"
    problem = Problem(status=status, title=title, detail=detail, instance=f"urn:uuid:{uuid.uuid4()}")
    response = web.Response(
        body=encode_doc(problem.to_dict()), status=status, content_type=PROBLEM_CONTENT_TYPE
    )
    response.headers["Server"] = "OpenADR VTN"
    response.force_close()
    return response


class GuardedHandler(RequestHandler):
    def __init__(self, manager: Server, *, limits: ServerLimits, **kwargs: Any) -> None:
        super().__init__(manager, **kwargs)
        self._limits = limits
        # The head deadline is checked lazily: `_head_since` says when the pending request head began
        # (None: none pending), and one timer per connection looks at it when it fires, re-arming
        # itself only while a head is pending. Arming and cancelling a timer for every request on a
        # kept-alive connection cost more than the rest of this class.
        self._head_since: float | None = None
        self._head_timer: asyncio.TimerHandle | None = None
        self._body_timers: list[asyncio.TimerHandle] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        manager = self._manager
        if manager is not None and len(manager.connections) > self._limits.max_connections:
            log.warning(
                "connection limit (%d) reached: closing a new connection", self._limits.max_connections
            )
            transport.close()
            return
        self._arm_head_timer()

    def data_received(self, data: bytes) -> None:
        if self._head_since is None and not self._request_in_progress and not self._messages:
            self._arm_head_timer()  # the first bytes of a new request on a kept-alive connection
        parsed = self._request_count
        super().data_received(data)
        if self._request_count != parsed:
            self._head_since = None  # the head is in; the timer, if it fires, finds nothing pending
            body_timeout = self._limits.body_timeout_s
            if body_timeout <= 0:
                return
            messages = self._messages  # the requests just parsed are its last ones
            for k in range(max(0, len(messages) - (self._request_count - parsed)), len(messages)):
                payload = messages[k][1]
                if not payload.is_eof():  # GETs have none: the common case arms nothing
                    timer = asyncio.get_running_loop().call_later(body_timeout, self._body_deadline, payload)
                    self._body_timers.append(timer)

    def connection_lost(self, exc: BaseException | None) -> None:
        self._disarm_head_timer()
        for timer in self._body_timers:
            timer.cancel()
        self._body_timers.clear()
        super().connection_lost(exc)

    def handle_error(
        self,
        request: BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        """aiohttp's own error answers (bad request line or headers) as problem+json."""
        if isinstance(exc, ConnectionError):
            log.info("client %s disconnected during a request", request.remote)
        elif status >= 500:
            log.error("error handling a request from %s", request.remote, exc_info=exc)
        else:
            log.debug("refused a malformed request from %s: %s", request.remote, exc)
        if request.writer.output_size > 0:
            raise ConnectionError("the answer has begun: no error can be sent")
        detail = getattr(exc, "message", None) if status < 500 else None
        if isinstance(detail, str):
            detail = "".join(c if c.isprintable() else "?" for c in detail)[:200]
        else:
            detail = None
        return _problem_response(status, detail)

    def _arm_head_timer(self) -> None:
        timeout = self._limits.header_timeout_s
        if timeout > 0:
            loop = asyncio.get_running_loop()
            self._head_since = loop.time()
            if self._head_timer is None:
                self._head_timer = loop.call_later(timeout, self._head_deadline)

    def _disarm_head_timer(self) -> None:
        self._head_since = None
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_deadline(self) -> None:
        self._head_timer = None
        since = self._head_since
        if since is None or self._request_in_progress or self._messages or self.transport is None:
            return  # no head pending: the next request's first bytes arm the timer again
        loop = asyncio.get_running_loop()
        left = since + self._limits.header_timeout_s - loop.time()
        if left > 0:  # this head began after the timer was armed (for an earlier one): wait on
            self._head_timer = loop.call_later(left, self._head_deadline)
            return
        log.info("closing a connection: no complete request head in %.0f s", self._limits.header_timeout_s)
        self.transport.close()

    def _body_deadline(self, payload: Any) -> None:
        if payload.is_eof() or self.transport is None:
            return
        log.info("closing a connection: request body not received in %.0f s", self._limits.body_timeout_s)
        self.transport.close()


class GuardedServer(Server):
    def __init__(self, limits: ServerLimits, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._limits = limits

    def __call__(self) -> RequestHandler:
        return GuardedHandler(self, limits=self._limits, loop=self._loop, **self._kwargs)


class GuardedRunner(web.AppRunner):
    """web.AppRunner whose server is a GuardedServer (see the module docstring)."""

    def __init__(self, app: web.Application, limits: ServerLimits, **kwargs: Any) -> None:
        super().__init__(app, keepalive_timeout=limits.idle_timeout_s, **kwargs)
        self._limits = limits

    async def _make_server(self) -> Server:
        plain = await super()._make_server()
        return GuardedServer(
            self._limits,
            plain.request_handler,
            request_factory=plain.request_factory,
            handler_cancellation=plain.handler_cancellation,
            loop=plain._loop,
            **plain._kwargs,
        )


def make_runner(app: web.Application, config: VtnConfig, **kwargs: Any) -> GuardedRunner:
    return GuardedRunner(app, ServerLimits.from_config(config), **kwargs)
