"""/subscriptions: private to the writer's clientID; delivery lives in the notifier."""

from __future__ import annotations

from aiohttp import web

from shared.durations import from_us
from shared.enums import ObjectType, Operation
from shared.models import Subscription, SubscriptionRequest
from shared.models.common import ProgramId
from shared.wire.oadr3_json import encode_doc
from vtn.core.queries import SubscriptionFilter
from vtn.handlers.http_io import (
    body,
    caller,
    id_param,
    mutate,
    objects_param,
    page,
    path_id,
    respond_stored,
    respond_stored_list,
    state,
    text_param,
)
from vtn.http_answer import Answer
from vtn.limits.quotas import admit_objects
from vtn.notify.callbacks import check_callbacks
from vtn.services import reports as svc


async def list_subscriptions(request: web.Request) -> web.StreamResponse:
    flt = SubscriptionFilter(
        program_id=id_param(request, "programID", ProgramId),
        client_name=text_param(request, "clientName"),
        objects=objects_param(request),
        page=page(request),
    )
    found = await svc.subscription_texts(state(request).core.reads, caller(request), flt)
    return respond_stored_list(found, Subscription)


async def create_subscription(request: web.Request) -> web.StreamResponse:
    req = await body(request, "subscriptionRequest", SubscriptionRequest)
    await check_callbacks((op.callback_url for op in req.object_operations), state(request).callbacks)
    who = caller(request)
    await admit_objects(request, who, ObjectType.SUBSCRIPTION)
    permission = await state(request).core.permission(who)
    return await mutate(
        request, Operation.CREATE, lambda tx: svc.create_subscription(tx, who, permission, req), 201
    )


async def get_subscription(request: web.Request) -> web.StreamResponse:
    found = await svc.subscription_text(
        state(request).core.reads, caller(request), path_id(request, "subscriptionID")
    )
    return respond_stored(found, Subscription)


async def update_subscription(request: web.Request) -> web.StreamResponse:
    req = await body(request, "subscriptionRequest", SubscriptionRequest)
    st = state(request)
    # Read as GET reads it (one statement, no transaction): replace_subscription reads it again in the write.
    old = await svc.read_subscription(st.core.reads, caller(request), path_id(request, "subscriptionID"))
    # Only new or changed callback URLs are challenged again.
    known = {op.callback_url for op in old.object_operations}
    await check_callbacks(
        (op.callback_url for op in req.object_operations if op.callback_url not in known), st.callbacks
    )
    who = caller(request)
    permission = await st.core.permission(who)
    return await mutate(
        request,
        Operation.UPDATE,
        lambda tx: svc.replace_subscription(tx, who, permission, path_id(request, "subscriptionID"), req),
    )


async def delete_subscription(request: web.Request) -> web.StreamResponse:
    return await mutate(
        request,
        Operation.DELETE,
        lambda tx: svc.delete_subscription(tx, caller(request), path_id(request, "subscriptionID")),
    )


async def list_deliveries(request: web.Request) -> web.StreamResponse:
    """Extension: recent delivery attempts (newest first) and the health of one subscription."""
    limit = page(request).limit
    async with state(request).core.read() as tx:
        health, attempts = await svc.delivery_log(
            tx, caller(request), path_id(request, "subscriptionID"), limit
        )
    doc = {
        "subscriptionID": path_id(request, "subscriptionID"),
        "health": {
            "status": health.status,
            "consecutiveFailures": health.consecutive_failures,
            "lastSuccess": _ts(health.last_success_us),
            "lastFailure": _ts(health.last_failure_us),
            "lastError": health.last_error,
            "pending": health.pending,
        },
        "attempts": [
            {
                "notificationID": a.notification_id,
                "at": _ts(a.at_us),
                "statusCode": a.status_code,
                "error": a.error,
                "durationMs": a.duration_ms,
            }
            for a in attempts
        ],
    }
    return Answer(encode_doc(doc))


def _ts(value: int | None) -> str | None:
    return None if value is None else from_us(value).isoformat().replace("+00:00", "Z")
