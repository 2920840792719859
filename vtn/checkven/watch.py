"""What the VEN did, seen from the VTN: every request, with its client, status and report event.

A middleware put in front of the VTN application: it records each request under the 3.1 base (or
the 2.0b prefix, with the message read by watch20b.py) after the VTN answered it, and while an
outage is on, answers 503 without passing it on.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web

from shared.errors import Unauthorized
from vtn.checkven.watch20b import Message, read_message
from vtn.core.state import STATE

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Seen:
    at: float  # time.monotonic()
    method: str
    path: str  # relative to the 3.1 base
    status: int
    client_id: str | None
    event_id: str | None = None  # POST /reports: the event reported on
    message: Message | None = None  # 2.0b: the message kind and its acknowledgements


@dataclass
class Watch:
    base: str
    oadr20b: bool = False  # base is the 2.0b prefix: record each message (watch20b)
    seen: list[Seen] = field(default_factory=list)
    outage_until: float = 0.0

    def outage(self, seconds: float) -> None:
        self.outage_until = time.monotonic() + seconds

    def by(self, client_id: str) -> list[Seen]:
        return [s for s in self.seen if s.client_id == client_id]

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        path = request.path
        if not path.startswith(self.base):
            return await handler(request)
        client = _client_of(request)
        event_id = await _reported_event(request) if request.method == "POST" and not self.oadr20b else None
        message = read_message(await request.read()) if self.oadr20b and request.method == "POST" else None
        relative = path[len(self.base) :] or "/"
        if time.monotonic() < self.outage_until:
            self.seen.append(Seen(time.monotonic(), request.method, relative, 503, client, event_id, message))
            return web.json_response(
                {
                    "type": "about:blank",
                    "title": "Service Unavailable",
                    "status": 503,
                    "detail": "check-ven: injected outage",
                },
                status=503,
                content_type="application/problem+json",
                headers={"Retry-After": "1"},
            )
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            self.seen.append(
                Seen(time.monotonic(), request.method, relative, exc.status, client, event_id, message)
            )
            raise
        self.seen.append(
            Seen(time.monotonic(), request.method, relative, response.status, client, event_id, message)
        )
        return response


def _client_of(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return None
    try:
        return request.app[STATE].tokens.verify(header[7:]).client_id
    except Unauthorized:
        return None


async def _reported_event(request: web.Request) -> str | None:
    if not request.path.endswith("/reports"):
        return None
    try:
        doc = json.loads(await request.read())  # aiohttp keeps the body for the handler
    except ValueError:
        return None
    found = doc.get("eventID") if isinstance(doc, dict) else None
    return found if isinstance(found, str) else None
