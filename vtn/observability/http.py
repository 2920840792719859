"""The observing middleware: request id, access log line, request metrics, token outcomes, contacts.

It runs outermost, so it sees every answer, errors turned into problems included. Routes are logged
and counted by their template (`/openadr3/3.1.0/events/{eventID}`), never by the raw path, and
requests that matched no route under one label, so neither logs nor metrics grow with what clients
send. Nothing from the body or the Authorization header is logged, except the client id of a login.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import re
import secrets
import time
from urllib.parse import unquote_plus

from aiohttp import web

from vtn.core.state import PRINCIPAL_KEY, Handler
from vtn.observability.logs import REQUEST_ID
from vtn.observability.state import OBSERVE, Observability, RouteInfo, RouteKind

access = logging.getLogger("vtn.access")
auth_log = logging.getLogger("vtn.auth")

REQUEST_ID_HEADER = "X-Request-ID"
# What we accept from a client or proxy as a request id; anything else is replaced by our own.
_SAFE_ID = re.compile(r"[A-Za-z0-9._:@/+=-]{1,128}")
UNMATCHED = "(unmatched)"
# The client went away before the answer (nginx's convention): logged and counted, never sent.
CLIENT_GONE = 499
_METHODS = frozenset({"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"})
# /auth/token refusals by HTTP status (the body carries RFC 6749's code; its status tells it too).
_TOKEN_REFUSALS = {400: "invalid_request", 401: "invalid_client", 429: "throttled", 501: "not_issued"}


def request_id(request: web.Request) -> str:
    given = request.headers.get(REQUEST_ID_HEADER)
    if given is not None and _SAFE_ID.fullmatch(given):
        return given
    return secrets.token_hex(8)


def _route_info(obs: Observability, request: web.Request) -> RouteInfo:
    resource = request.match_info.route.resource
    if resource is None:
        return RouteInfo(UNMATCHED, RouteKind.OTHER, "")
    found = obs.routes.get(resource)
    if found is None:
        template = resource.canonical
        api = next((v for v in ("3.1.0", "3.0.1") if f"/{v}/" in template), "")
        kind = RouteKind.OTHER
        if api and template.endswith("/auth/token"):
            kind = RouteKind.TOKEN
        elif api and template.endswith("/reports"):
            kind = RouteKind.REPORTS
        found = obs.routes[resource] = RouteInfo(template, kind, api)
    return found


@web.middleware
async def observe(request: web.Request, handler: Handler) -> web.StreamResponse:
    obs = request.app[OBSERVE]
    rid = request_id(request)
    token = REQUEST_ID.set(rid)
    started = time.perf_counter()
    status = 500
    try:
        try:
            response = await handler(request)
        except web.HTTPException as exc:  # redirects and the like, re-raised by `problems`
            status = exc.status
            exc.headers[REQUEST_ID_HEADER] = rid
            raise
        except asyncio.CancelledError:
            status = CLIENT_GONE
            raise
        status = response.status
        if not response.prepared:
            response.headers[REQUEST_ID_HEADER] = rid
        return response
    finally:
        elapsed = time.perf_counter() - started
        await _account(obs, request, status, elapsed, rid)
        REQUEST_ID.reset(token)


async def _account(obs: Observability, request: web.Request, status: int, elapsed: float, rid: str) -> None:
    info = _route_info(obs, request)
    who = request.get(PRINCIPAL_KEY)
    client = who.client_id if who is not None else None
    if who is not None and not who.is_bl:
        obs.contacts.note(who.client_id, who.role)
    m = obs.metrics
    if info.kind is RouteKind.TOKEN:
        client = await _login_client(request)
        refused = status != 200
        reason = _TOKEN_REFUSALS.get(status, f"http_{status}") if refused else ""
        if refused:
            auth_log.warning(
                "refused login for client %r from %s: %s (HTTP %d)", client, request.remote, reason, status
            )
        if m is not None:
            m.tokens.labels("refused" if refused else "granted", reason).inc()
    if m is not None:
        method = request.method if request.method in _METHODS else "OTHER"
        m.request_done(info.template, method, status, elapsed)
        if info.kind is RouteKind.REPORTS and status == 201 and request.method == "POST":
            m.reports.labels(info.api).inc()
    if obs.access_log and access.isEnabledFor(logging.INFO):
        access.info(
            "%s %s %d %.1fms client=%s",
            request.method,
            info.template,
            status,
            elapsed * 1000,
            client or "-",
            extra={
                "method": request.method,
                "route": info.template,
                "status": status,
                "duration_ms": round(elapsed * 1000, 2),
                "client_id": client,
                "request_id": rid,
            },
        )


async def _login_client(request: web.Request) -> str | None:
    """The client id a token request named (Basic user name, else the form or JSON body's client_id).

    Only the id: the secret next to it is never looked at. The body was read by the handler already,
    so these calls return aiohttp's cached copy.
    """
    header = request.headers.get("Authorization", "")
    if header[:6].lower() == "basic ":
        try:
            user = base64.b64decode(header[6:].strip(), validate=True).decode().partition(":")[0]
        except (binascii.Error, UnicodeDecodeError):
            return None
        return unquote_plus(user)[:128] or None
    try:
        if request.content_type == "application/json":
            doc = await request.json()
            value = doc.get("client_id") if isinstance(doc, dict) else None
        else:
            value = (await request.post()).get("client_id")
    except Exception:  # whatever the body was, the handler has answered it already
        return None
    return str(value)[:128] if isinstance(value, str) and value else None
