"""Request limits: rate limits per address and per client, and JSON-only bodies.

The request stack (vtn/middleware.py) checks the address before any token work and the client right
after authentication (it needs the caller). Both answer 429 with Retry-After (RFC 6585).
"""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from shared.errors import TooManyRequests, UnsupportedMediaType
from vtn.config import VtnConfig
from vtn.limits.rate import RateLimiter

BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


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

    def admit_address(self, request: web.Request) -> None:
        """Raise TooManyRequests if the request's address is over its rate (a no-op at rate 0)."""
        if self.per_address.rate > 0:
            wait = self.per_address.take(request.remote or "unknown")
            if wait > 0:
                raise TooManyRequests("too many requests from this address; retry later", retry_after=wait)

    def admit_client(self, client_id: str) -> None:
        """Raise TooManyRequests if the client is over its rate (a no-op at rate 0)."""
        if self.per_client.rate > 0:
            wait = self.per_client.take(client_id)
            if wait > 0:
                raise TooManyRequests("too many requests from this client; retry later", retry_after=wait)


LIMITS = web.AppKey("vtn_request_limits", RequestLimits)


def require_json(request: web.Request) -> None:
    """A body declared as anything but JSON is refused (415); no Content-Type at all is let through."""
    if "Content-Type" not in request.headers or not request.body_exists:
        return  # no body (e.g. PUT of a membership), or none declared: nothing to refuse
    kind = request.content_type
    if kind == "application/json" or (kind.startswith("application/") and kind.endswith("+json")):
        return
    raise UnsupportedMediaType(f"request bodies must be application/json, not {kind!r}")
