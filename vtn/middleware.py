"""The per-request HTTP stack: two middlewares, `front` and `authenticate`, built per application.

`front` (outermost) gives the request its id, applies the checks that need no caller (address rate
limit, JSON-only bodies, documented query parameters, the TLS client certificate), and is the one
exit for every error: whatever a handler or a check raises becomes an RFC 9457 problem, including
the TLS layer's refusal of a client certificate (tls_runtime.CertificateRefused), so all problems
share one shape and one challenge. It then counts, notes and logs the answer (vtn.observability).
It then checks the bearer token and the route's scopes, then the client's rate limit, in the same
frame. Only when a guard must run between the request checks and the token checks (a proxy's
forwarded certificate, vtn/proxy_tls.py: `add_guard`) do the token checks become a middleware of
their own, `authenticate`, after it: each middleware is one more coroutine frame, a partial and
aiohttp's wrapper call on every request.

Why one pass and not a middleware per concern: each aiohttp middleware is a coroutine frame and a
few app look-ups on every request, and what a route needs (scopes, query rules, its template) is
resolved once per route into a `RoutePlan`, not per request.

Only `front` has a broad `except`: whatever escapes a handler becomes a 500 problem with a reference
id that is also logged, so nothing a client sends can produce an unexplained failure.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from dataclasses import dataclass

from aiohttp import hdrs, web
from aiohttp.typedefs import Middleware

from shared.enums import Scope
from shared.errors import (
    PROBLEM_CONTENT_TYPE,
    Forbidden,
    OadrError,
    Problem,
    TooManyRequests,
    Unauthorized,
)
from shared.wire.oadr3_json import encode_doc
from vtn.auth.revocation import CLIENTS, ClientDirectory, verify_token
from vtn.auth.tokens import UnknownClient
from vtn.core.state import PRINCIPAL_KEY, STATE, Handler, VtnState
from vtn.http_answer import Answer
from vtn.limits.middleware import BODY_METHODS, LIMITS, RequestLimits, require_json
from vtn.limits.query import QUERY_RULES, QueryParam, check_query
from vtn.limits.rate import retry_after
from vtn.observability.access import AccessLog
from vtn.observability.http import (
    CLIENT_GONE,
    REQUEST_ID_HEADER,
    UNMATCHED_INFO,
    RequestIds,
    account,
    login_client,
    route_info,
)
from vtn.observability.logs import REQUEST_ID
from vtn.observability.state import OBSERVE, Observability, RouteInfo, RouteKind
from vtn.principal import Principal
from vtn.tls_runtime import CertificateRefused, check_token_binding, client_certificate_guard

log = logging.getLogger("vtn.http")
ROUTE_SCOPES = web.AppKey("vtn_route_scopes", dict)
SERVER_NAME = "OpenADR VTN"  # aiohttp would announce `Python/3.x aiohttp/3.y`; versions help only attackers


def problem_response(problem: Problem, headers: dict[str, str] | None = None) -> Answer:
    return Answer(encode_doc(problem.to_dict()), problem.status, PROBLEM_CONTENT_TYPE, headers)


def occurrence() -> str:
    """The problem's `instance`: an absolute URI naming this occurrence, as the OpenADR document asks
    (`format: uri`, "an absolute URI that identifies the specific occurrence of the problem")."""
    return f"urn:uuid:{uuid.uuid4()}"


def _challenge(exc: Unauthorized) -> str:
    reason = (exc.detail or "").replace('"', "'").replace("\n", " ")
    return f'Bearer realm="openadr3", error="invalid_token", error_description="{reason}"'


@dataclass(frozen=True, slots=True)
class RoutePlan:
    """What the stack needs to know of one route, resolved on its first request."""

    info: RouteInfo
    scopes: frozenset[Scope] | None  # None: public
    query: tuple[QueryParam, ...]  # documented query parameters to check
    json_body: bool  # bodies of POST/PUT/PATCH must be JSON


_UNMATCHED = RoutePlan(UNMATCHED_INFO, None, (), False)
MAX_CHECKED_QUERIES = 4096


class RequestStack:
    """The middleware of one application (`front`; `authenticate` too when a guard needs it)."""

    def __init__(self, app: web.Application) -> None:
        self._app = app
        # Token checks inside `front` until a guard must run before them (add_guard).
        self._inline_auth = True
        self._plans: dict[object, RoutePlan] = {}
        self._ids = RequestIds()
        # (method, raw path and query) whose query parameters passed check_query: polling VENs send
        # the same few URLs again and again. Refused ones are never kept; cleared when full.
        self._queries_ok: set[tuple[str, str]] = set()
        self._ready = False
        # Filled on the first request: create_app and `vtn serve` set these app keys after this.
        self._obs: Observability | None = None
        self._access: AccessLog | None = None
        self._limits: RequestLimits | None = None
        self._state: VtnState | None = None
        self._clients: ClientDirectory | None = None

    def _load(self) -> None:
        app = self._app
        self._obs = app.get(OBSERVE)
        if self._obs is not None and self._obs.access_log:
            self._access = AccessLog(logging.getLogger("vtn.access"))
        self._limits = app.get(LIMITS)
        self._state = app.get(STATE)
        self._clients = app.get(CLIENTS)
        self._ready = True

    def add_guard(self, guard: Middleware) -> None:
        """Run `guard` after `front`'s request checks and before the token checks, which then run in
        `authenticate`, a middleware of their own after it. Call before the application starts."""
        self._inline_auth = False
        middlewares = self._app.middlewares
        at = middlewares.index(self.front) + 1
        middlewares.insert(at, guard)
        middlewares.insert(at + 1, self.authenticate)

    def plan(self, request: web.Request) -> RoutePlan:
        route = request.match_info.route
        found = self._plans.get(route)
        if found is not None:
            return found
        resource = route.resource
        if resource is None:  # no route matched (404, 405): a new object per request, never kept
            return _UNMATCHED
        app = self._app
        limits = self._limits
        found = self._plans[route] = RoutePlan(
            info=route_info(resource),
            scopes=app[ROUTE_SCOPES].get(route),
            query=app.get(QUERY_RULES, {}).get(route, ()),
            json_body=limits is not None and route in limits.json_routes,
        )
        return found

    def _check_query(self, params: tuple[QueryParam, ...], request: web.Request) -> None:
        key = (request.method, request.raw_path)  # the method and path select the route: `params`
        seen = self._queries_ok
        if key in seen:
            return
        check_query(params, request)
        if len(seen) >= MAX_CHECKED_QUERIES:
            seen.clear()
        seen.add(key)

    @web.middleware
    async def front(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if not self._ready:
            self._load()
        rid = self._ids.of(request)
        context = REQUEST_ID.set(rid)
        started = time.perf_counter()
        status = 500
        plan = _UNMATCHED
        try:
            try:
                plan = self.plan(request)
                if self._limits is not None:
                    self._limits.admit_address(request)
                    if plan.json_body and request.method in BODY_METHODS:
                        require_json(request)
                if plan.query:
                    self._check_query(plan.query, request)
                client_certificate_guard(request)
                if self._inline_auth and plan.scopes is not None:
                    added = self._authorize(request, plan.scopes)
                    if added is not None:
                        await self._authorize_added(request, plan.scopes, added)
                response = await handler(request)
            except OadrError as exc:
                response = self._problem(exc)
            except web.HTTPException as exc:
                if exc.status < 400:  # redirects and the like: aiohttp answers them
                    status = exc.status
                    exc.headers[REQUEST_ID_HEADER] = rid
                    exc.headers["Server"] = SERVER_NAME
                    raise
                response = self._http_problem(exc)
            except ConnectionError:
                # The client went away (an aborted upload): the answer goes nowhere; no traceback.
                log.info("client disconnected during %s %s", request.method, request.path)
                problem = Problem(
                    status=400, title="Bad Request", detail="the connection was lost", instance=occurrence()
                )
                response = problem_response(problem)
            except asyncio.CancelledError:
                status = CLIENT_GONE
                raise
            except Exception:
                ref = occurrence()
                log.exception("unhandled error (%s) on %s %s", ref, request.method, request.path)
                problem = Problem(
                    status=500, title="Internal Server Error", detail=f"reference {ref}", instance=ref
                )
                response = problem_response(problem)
            status = response.status
            if not response.prepared:
                headers = response.headers
                headers[REQUEST_ID_HEADER] = rid
                headers[hdrs.SERVER] = SERVER_NAME
            return response
        finally:
            elapsed = time.perf_counter() - started
            obs = self._obs
            if obs is not None:
                info = plan.info
                login = await login_client(request) if info.kind is RouteKind.TOKEN else None
                account(
                    obs, self._access, request, info, request.get(PRINCIPAL_KEY), status, elapsed, rid, login
                )
            REQUEST_ID.reset(context)

    def _problem(self, exc: OadrError) -> Answer:
        headers = {"WWW-Authenticate": _challenge(exc)} if isinstance(exc, Unauthorized) else None
        if isinstance(exc, TooManyRequests):
            headers = {"Retry-After": retry_after(exc.retry_after)}
        response = problem_response(exc.problem(instance=occurrence()), headers)
        if isinstance(exc, CertificateRefused):
            response.force_close()
        return response

    def _http_problem(self, exc: web.HTTPException) -> Answer:
        title = exc.reason or "Error"
        detail = exc.text if exc.text and exc.text != f"{exc.status}: {exc.reason}" else None
        if exc.status == 413 and self._state is not None:
            detail = f"request body over {self._state.config.max_body_bytes} bytes"
        kept = {k: v for k, v in exc.headers.items() if k.lower() in ("allow",)}
        return problem_response(
            Problem(status=exc.status, title=title, detail=detail, instance=occurrence()), kept
        )

    @web.middleware
    async def authenticate(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """The token checks as a middleware of their own, after a guard (add_guard)."""
        required = self.plan(request).scopes
        if required is not None:
            added = self._authorize(request, required)
            if added is not None:
                await self._authorize_added(request, required, added)
        return await handler(request)

    def _authorize(self, request: web.Request, required: frozenset[Scope]) -> str | None:
        """Check the bearer token, the scopes and the client's rate limit, and note the caller; or
        return the token when its client is not in the directory (perhaps added since its last
        load): `_authorize_added` looks it up in the store."""
        header = request.headers.get(hdrs.AUTHORIZATION, "")
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if not token or scheme.lower() != "bearer":
            raise Unauthorized("a bearer access token is required")
        st = self._state
        assert st is not None, "create_app sets the state"
        try:
            who = st.tokens.verify(token)
        except UnknownClient:
            return token
        self._admit(request, required, who)
        return None

    async def _authorize_added(self, request: web.Request, required: frozenset[Scope], token: str) -> None:
        st = self._state
        assert st is not None, "create_app sets the state"
        self._admit(request, required, await verify_token(st.tokens, self._clients, st.core.read, token))

    def _admit(self, request: web.Request, required: frozenset[Scope], who: Principal) -> None:
        # RFC 8705: a certificate-bound token (cnf/x5t#S256) only works over that client certificate.
        check_token_binding(request, who)
        if required.isdisjoint(who.scopes):  # no set built, as `required & who.scopes` would
            wanted = " or ".join(sorted(s.value for s in required))
            raise Forbidden(f"this operation needs scope {wanted}")
        request[PRINCIPAL_KEY] = who
        if self._limits is not None:
            self._limits.admit_client(who.client_id)


REQUEST_STACK = web.AppKey("vtn_request_stack", RequestStack)
