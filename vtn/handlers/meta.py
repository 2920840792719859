"""Discovery endpoint: the OpenAPI document we implement (probes: vtn/observability/health.py)."""

from __future__ import annotations

from aiohttp import web

from vtn.core.state import state


async def openapi(request: web.Request) -> web.StreamResponse:
    return web.json_response(state(request).registry.openapi_document())
