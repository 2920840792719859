"""Discovery endpoints: the OpenAPI document we implement, and a health check."""

from __future__ import annotations

from aiohttp import web

from vtn.core.state import state


async def openapi(request: web.Request) -> web.Response:
    return web.json_response(state(request).registry.openapi_document())


async def health(request: web.Request) -> web.Response:
    async with state(request).core.read() as tx:
        await tx.clients.get("__health__")
    return web.json_response({"status": "ok"})
