"""/subscriptions: private to the writer's clientID; delivery lives in the notifier."""

from __future__ import annotations

from aiohttp import web

from shared.models import SubscriptionRequest
from vtn.handlers._http import body, caller, objects_param, page, path_id, respond, respond_list, state, text_param
from vtn.services import reports as svc
from vtn.storage.filters import SubscriptionFilter


async def list_subscriptions(request: web.Request) -> web.Response:
    flt = SubscriptionFilter(
        program_id=text_param(request, "programID"),
        client_name=text_param(request, "clientName"),
        objects=objects_param(request),
        page=page(request),
    )
    async with state(request).store.read() as tx:
        found = await svc.list_subscriptions(tx, caller(request), flt)
    return respond_list(found)


async def create_subscription(request: web.Request) -> web.Response:
    req = await body(request, "subscriptionRequest", SubscriptionRequest)
    async with state(request).store.transaction() as tx:
        created = await svc.create_subscription(tx, caller(request), req)
    return respond(created, 201)


async def get_subscription(request: web.Request) -> web.Response:
    async with state(request).store.read() as tx:
        found = await svc.get_subscription(tx, caller(request), path_id(request, "subscriptionID"))
    return respond(found)


async def update_subscription(request: web.Request) -> web.Response:
    req = await body(request, "subscriptionRequest", SubscriptionRequest)
    async with state(request).store.transaction() as tx:
        updated = await svc.replace_subscription(tx, caller(request), path_id(request, "subscriptionID"), req)
    return respond(updated)


async def delete_subscription(request: web.Request) -> web.Response:
    async with state(request).store.transaction() as tx:
        deleted = await svc.delete_subscription(tx, caller(request), path_id(request, "subscriptionID"))
    return respond(deleted)
