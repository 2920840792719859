"""origin: where a request's write came from, for the audit row the write path leaves of a BL write
(`Core.write(..., origin=...)`, in the write's own transaction)."""

from __future__ import annotations

from aiohttp import web

from vtn.core.core import Origin


def origin(request: web.Request) -> Origin:
    """The client's address and "METHOD /path" of `request`."""
    return Origin(request.remote, f"{request.method} {request.path}")
