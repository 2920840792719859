"""origin: where a request's write came from, for the audit row the write path leaves of a BL write
(`Core.write(..., origin=...)`, in the write's own transaction)."""

from __future__ import annotations

from aiohttp import web


class RequestOrigin:
    """A request as the write path's `Origin` (vtn/core/core.py), read only for BL writes: the
    peer address costs a transport lookup, and VEN writes leave no audit row."""

    __slots__ = ("_request",)

    def __init__(self, request: web.Request) -> None:
        self._request = request

    @property
    def address(self) -> str | None:
        return self._request.remote

    @property
    def request(self) -> str:
        return f"{self._request.method} {self._request.path}"


def origin(request: web.Request) -> RequestOrigin:
    """The client's address and "METHOD /path" of `request`."""
    return RequestOrigin(request)
