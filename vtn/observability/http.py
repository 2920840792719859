"""What the per-request stack observes: request id, access log line, request metrics, token outcomes,
contacts. `vtn.middleware.RequestStack` calls these around every request, so they see every answer,
errors turned into problems included.

Routes are logged and counted by their template (`/openadr3/3.1.0/events/{eventID}`), never by the
raw path, and requests that matched no route under one label, so neither logs nor metrics grow with
what clients send. Nothing from the body or the Authorization header is logged, except the client id
of a login.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import logging
import re
import secrets
from urllib.parse import unquote_plus

from aiohttp import web
from multidict import istr

from vtn.observability.access import AccessLog
from vtn.observability.state import Observability, RouteInfo, RouteKind
from vtn.principal import Principal

auth_log = logging.getLogger("vtn.auth")

# An istr: multidict looks it up without case-folding it first (on every request, twice).
REQUEST_ID_HEADER = istr("X-Request-ID")
# What we accept from a client or proxy as a request id; anything else is replaced by our own.
_SAFE_ID = re.compile(r"[A-Za-z0-9._:@/+=-]{1,128}")
UNMATCHED = "(unmatched)"
UNMATCHED_INFO = RouteInfo(UNMATCHED, RouteKind.OTHER, "")
# The client went away before the answer (nginx's convention): logged and counted, never sent.
CLIENT_GONE = 499
_METHODS = frozenset({"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"})
# /auth/token refusals by HTTP status (the body carries RFC 6749's code; its status tells it too).
_TOKEN_REFUSALS = {400: "invalid_request", 401: "invalid_client", 429: "throttled", 501: "not_issued"}
_ID_BASE = 1 << 64


class RequestIds:
    """Our request ids: 16 hex digits, a random 64-bit start per application counted up by one.

    Why not 8 random bytes per request: that is an os.urandom system call on every request. Ids only
    need to be unique (within a process they are, for 2^64 requests; across processes the random
    starts make an overlap as unlikely as a collision of random ids), not unguessable.
    """

    def __init__(self) -> None:
        # Counted from 2**64 up, so that `hex()` spells every id with 17 digits, the first of
        # them (a 1, or in 2**68 requests a 2) dropped: 16 hex digits without a format specification
        # (half its cost per request).
        self._next = itertools.count(_ID_BASE | secrets.randbits(64))

    def of(self, request: web.Request) -> str:
        """The client's or proxy's X-Request-ID if it is safe to log, else a new id of ours."""
        given = request.headers.get(REQUEST_ID_HEADER)
        if given is not None and _SAFE_ID.fullmatch(given):
            return given
        return hex(next(self._next))[3:]


def route_info(resource: web.AbstractResource | None) -> RouteInfo:
    """The route's template and what kind of route it is (None: the request matched no route)."""
    if resource is None:
        return UNMATCHED_INFO
    template = resource.canonical
    api = next((v for v in ("3.1.0", "3.0.1") if f"/{v}/" in template), "")
    kind = RouteKind.OTHER
    if api and template.endswith("/auth/token"):
        kind = RouteKind.TOKEN
    elif api and template.endswith("/reports"):
        kind = RouteKind.REPORTS
    return RouteInfo(template, kind, api)


def account(
    obs: Observability,
    access: AccessLog | None,
    request: web.Request,
    info: RouteInfo,
    who: Principal | None,
    status: int,
    elapsed: float,
    rid: str,
    login: str | None = None,
) -> None:
    """Count, note and log one answered request (`login`: the client id a token request named)."""
    client: str | None = who.client_id if who is not None else None
    if who is not None and not who.is_bl:
        obs.contacts.note(who.client_id, who.role)
    m = obs.metrics
    method = request.method
    if info.kind is RouteKind.TOKEN:
        client = login
        refused = status != 200
        reason = _TOKEN_REFUSALS.get(status, f"http_{status}") if refused else ""
        if refused:
            auth_log.warning(
                "refused login for client %r from %s: %s (HTTP %d)", client, request.remote, reason, status
            )
        if m is not None:
            m.tokens.labels("refused" if refused else "granted", reason).inc()
    if m is not None:
        m.request_done(info.template, method if method in _METHODS else "OTHER", status, elapsed)
        if info.kind is RouteKind.REPORTS and status == 201 and method == "POST":
            m.reports.labels(info.api).inc()
    if access is not None:
        access.write(method, info.template, status, elapsed, client, rid)


async def login_client(request: web.Request) -> str | None:
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
