"""Discovery endpoints: the OpenAPI document we implement and the notifier bindings."""

from __future__ import annotations

from aiohttp import web

from vtn.handlers._http import state


async def openapi(request: web.Request) -> web.Response:
    return web.json_response(state(request).registry.openapi_document())


async def notifiers(request: web.Request) -> web.Response:
    # Webhook delivery is the only binding until an MQTT broker is configured.
    return web.json_response({"WEBHOOK": True})


async def health(request: web.Request) -> web.Response:
    async with state(request).store.read() as tx:
        await tx.clients.get("__health__")
    return web.json_response({"status": "ok"})
