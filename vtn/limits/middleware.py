"""Request limits as middlewares: rate limits per address and per client, and JSON-only bodies.

`limit_addresses` runs right after the problem middleware (before any token work), `limit_clients`
after authentication (it needs the caller). Both answer 429 with Retry-After (RFC 6585).
"""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from shared.errors import TooManyRequests, UnsupportedMediaType
from vtn.config import VtnConfig
from vtn.core.state import PRINCIPAL_KEY, Handler
from vtn.limits.rate import RateLimiter

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


@dataclass(frozen=True)
class RequestLimits:
    per_address: RateLimiter
    per_client: RateLimiter
    json_routes: frozenset[object]  # routes whose bodies must be JSON (the JSON API's writes)

    @classmethod
    def from_config(cls, config: VtnConfig, json_routes: frozenset[object]) -> RequestLimits:
        return cls(
            per_address=RateLimiter(config.rate_per_address, config.burst_per_address),
            per_client=RateLimiter(config.rate_per_client, config.burst_per_client),
            json_routes=json_routes,
        )


LIMITS = web.AppKey("vtn_request_limits", RequestLimits)


@web.middleware
async def limit_addresses(request: web.Request, handler: Handler) -> web.StreamResponse:
    limits = request.app.get(LIMITS)
    if limits is None:
        return await handler(request)
    wait = limits.per_address.take(request.remote or "unknown")
    if wait > 0:
        raise TooManyRequests("too many requests from this address; retry later", retry_after=wait)
    if request.method in _BODY_METHODS and request.match_info.route in limits.json_routes:
        _require_json(request)
    return await handler(request)


def _require_json(request: web.Request) -> None:
    """A body declared as anything but JSON is refused (415); no Content-Type at all is let through."""
    if "Content-Type" not in request.headers or not request.body_exists:
        return  # no body (e.g. PUT of a membership), or none declared: nothing to refuse
    kind = request.content_type
    if kind == "application/json" or (kind.startswith("application/") and kind.endswith("+json")):
        return
    raise UnsupportedMediaType(f"request bodies must be application/json, not {kind!r}")


@web.middleware
async def limit_clients(request: web.Request, handler: Handler) -> web.StreamResponse:
    limits = request.app.get(LIMITS)
    who = request.get(PRINCIPAL_KEY)
    if limits is not None and who is not None:
        wait = limits.per_client.take(who.client_id)
        if wait > 0:
            raise TooManyRequests("too many requests from this client; retry later", retry_after=wait)
    return await handler(request)
