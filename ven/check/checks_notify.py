"""3.x checks of subscriptions, the webhook echo challenge, notifications and the MQTT notifier."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from ven.check.ctx3 import Ctx3
from ven.check.http3 import expect_object, expect_problem
from ven.check.model import Fail, Skip
from ven.check.receiver import WRONG_ECHO, Received
from ven.check.runner import Check


def _callback(ctx: Ctx3, what: str) -> str:
    return f"{ctx.receiver.url}/{ctx.run_id}/{what}"


def _bearer(ctx: Ctx3) -> str:
    return ctx.name("bearer")


async def subscription(ctx: Ctx3) -> dict[str, Any]:
    """The VEN's webhook subscription to EVENT operations (of the run's program when BL is given)."""

    async def make() -> dict[str, Any]:
        program_id = (await ctx.program())["id"] if ctx.bl_client is not None else None
        body = ctx.dialect.subscription(
            ctx.name("subscriber"), program_id, _callback(ctx, "events"), _bearer(ctx), ["EVENT"]
        )
        return await ctx.create(ctx.ven, "/subscriptions", body, "subscription")

    return await ctx.fixture("subscription", make)


async def echo(ctx: Ctx3) -> str:
    before = len(ctx.receiver.challenges)
    doc = await subscription(ctx)
    path = f"/{ctx.run_id}/events"
    challenged = [c for c in ctx.receiver.challenges[before:] if c[0].endswith(path)]
    if ctx.dialect.is_310 and not challenged:
        raise Fail(
            f"subscription {doc['id']} was created without the echo challenge "
            f"(no GET {_callback(ctx, 'events')}?echo=... arrived first)"
        )
    how = "after a GET ?echo= challenge" if challenged else "(3.0.1: no echo challenge, none required)"
    return f"subscription {doc['id']} created {how}"


async def echo_refused(ctx: Ctx3) -> str:
    if not ctx.dialect.is_310:
        raise Skip("the echo challenge is a 3.1.0 rule")
    body = ctx.dialect.subscription(
        ctx.name("bad-echo"), None, _callback(ctx, WRONG_ECHO), _bearer(ctx), ["EVENT"]
    )
    answer = await ctx.ven.post("/subscriptions", body)
    if answer.status in (200, 201):
        if isinstance(answer.doc, dict) and answer.doc.get("id"):
            sid = answer.doc["id"]
            ctx.on_cleanup(lambda: ctx.ven.delete(f"/subscriptions/{sid}"))
        raise Fail("the VTN created a subscription whose callback answered the echo challenge wrongly")
    if not 400 <= answer.status < 500:
        raise Fail(
            f"{answer.what} answered {answer.status} to a failed echo challenge, expected a 4xx problem"
        )
    title = expect_problem(answer, answer.status)
    if not any(WRONG_ECHO in c[0] for c in ctx.receiver.challenges):
        raise Fail(f"the VTN refused the subscription ({answer.status}) without sending the echo challenge")
    return f"a callback that fails the challenge: refused with a {answer.status} problem ({title})"


def _about(ctx: Ctx3, object_id: str, operation: str) -> Callable[[Received], bool]:
    def match(n: Received) -> bool:
        doc = n.doc
        if not isinstance(doc, dict) or not isinstance(doc.get("object"), dict):
            return False
        return (
            doc["object"].get("id") == object_id and ctx.dialect.operation(doc.get("operation")) == operation
        )

    return match


async def _notified(ctx: Ctx3, object_id: str, operation: str) -> Received:
    got = await ctx.receiver.wait_for(_about(ctx, object_id, operation), ctx.options.wait_seconds)
    if got is None:
        seen = [(n.doc or {}).get("operation") for n in ctx.receiver.notifications if isinstance(n.doc, dict)]
        raise Fail(
            f"no {operation} notification for {object_id} within {ctx.options.wait_seconds:g} s "
            f"({len(ctx.receiver.notifications)} received: {seen})"
        )
    return got


async def webhook(ctx: Ctx3) -> str:
    await subscription(ctx)
    program = await ctx.program()
    event = await ctx.create(
        ctx.bl, "/events", ctx.dialect.event(program["id"], ctx.name("notified")), "event"
    )
    created = await _notified(ctx, event["id"], "CREATE")
    where = f"notification POST {created.path}"
    if created.authorization != f"Bearer {_bearer(ctx)}":
        raise Fail(
            f"{where}: Authorization is {created.authorization!r}, expected the subscription's bearerToken"
        )
    ctx.shape("notification", created.doc, where)
    if created.doc.get("objectType") != "EVENT":
        raise Fail(f"{where}: objectType {created.doc.get('objectType')!r}, expected 'EVENT'")
    ctx.shape("event", created.doc["object"], where + " (object)")
    body = {**ctx.dialect.event(program["id"], ctx.name("notified"), price=0.5)}
    expect_object(await ctx.bl.put(f"/events/{event['id']}", body), 200)
    await _notified(ctx, event["id"], "UPDATE")
    expect_object(await ctx.bl.delete(f"/events/{event['id']}"), 200)
    await _notified(ctx, event["id"], "DELETE")
    return "CREATE, UPDATE and DELETE of an event notified, with the bearerToken, in the notification shape"


async def notify_privacy(ctx: Ctx3) -> str:
    if not ctx.dialect.is_310:
        raise Skip("notification targeting follows 3.1.0 object privacy")
    await subscription(ctx)
    program = await ctx.program()
    hidden = await ctx.create(
        ctx.bl,
        "/events",
        ctx.dialect.event(program["id"], ctx.name("hidden"), [ctx.name("not-granted-n")]),
        "event",
    )
    sentinel = await ctx.create(
        ctx.bl, "/events", ctx.dialect.event(program["id"], ctx.name("sentinel")), "event"
    )
    await _notified(ctx, sentinel["id"], "CREATE")
    await asyncio.sleep(0.3)  # a notification sent before the sentinel's may still be in flight
    if any(_about(ctx, hidden["id"], "CREATE")(n) for n in ctx.receiver.notifications):
        raise Fail(
            f"the VEN's subscription was notified of event {hidden['id']} targeted at a target it lacks"
        )
    return "an event targeted elsewhere was not notified; an untargeted one was"


async def mqtt(ctx: Ctx3) -> str:
    if not ctx.dialect.is_310:
        raise Skip("notifiers are a 3.1.0 feature")
    answer = await ctx.ven.get("/notifiers")
    doc = expect_object(answer, 200)
    if doc.get("WEBHOOK") is not True:
        raise Fail(f"{answer.what}: WEBHOOK is {doc.get('WEBHOOK')!r}, expected true")
    binding = doc.get("MQTT")
    if binding is None:
        raise Skip("the VTN offers no MQTT notifier (GET /notifiers: WEBHOOK only)")
    uris = binding.get("URIS") if isinstance(binding, dict) else None
    if not isinstance(uris, list) or not uris:
        raise Fail(f"{answer.what}: the MQTT binding lists no URIS")
    method = (binding.get("authentication") or {}).get("method")
    ven = await ctx.own_ven()
    topics_answer = await ctx.ven.get(f"/notifiers/mqtt/topics/vens/{ven['id']}/events")
    topics = expect_object(topics_answer, 200).get("topics")
    if not isinstance(topics, dict) or not isinstance(topics.get("CREATE"), str):
        raise Fail(f"{topics_answer.what}: no CREATE topic in {topics_answer.excerpt()}")
    if ctx.bl_client is None:
        return f"MQTT offered at {uris[0]} ({method}); topics {sorted(topics)} (no BL: nothing published)"
    if method not in ("ANONYMOUS", "OAUTH2_BEARER_TOKEN"):
        raise Skip(f"MQTT authentication {method} is not supported by the kit; discovery and topics passed")
    return await _mqtt_receive(ctx, str(uris[0]), binding, topics["CREATE"])


async def _mqtt_receive(ctx: Ctx3, uri: str, binding: dict[str, Any], topic: str) -> str:
    import aiomqtt
    from yarl import URL

    url = URL(uri)
    auth = binding.get("authentication") or {}
    username = password = None
    if auth.get("method") == "OAUTH2_BEARER_TOKEN":
        username = str(auth.get("username") or "{clientID}").replace("{clientID}", ctx.options.client_id)
        password = (await ctx.ven.token()).value
    tls = ctx.options.ssl_context() if url.scheme in ("mqtts", "ssl") else None
    program = await ctx.program()
    async with aiomqtt.Client(
        url.host or "127.0.0.1", port=url.port or 1883, username=username, password=password, tls_context=tls
    ) as client:
        await client.subscribe(topic)
        event = await ctx.create(
            ctx.bl, "/events", ctx.dialect.event(program["id"], ctx.name("mqtt")), "event"
        )
        try:
            async with asyncio.timeout(ctx.options.wait_seconds):
                async for message in client.messages:
                    doc = json.loads(bytes(message.payload))
                    if isinstance(doc, dict) and (doc.get("object") or {}).get("id") == event["id"]:
                        ctx.shape("notification", doc, f"MQTT message on {message.topic}")
                        return f"event CREATE published on {topic} in the notification shape"
        except TimeoutError:
            pass
    raise Fail(f"no MQTT message for event {event['id']} on {topic} within {ctx.options.wait_seconds:g} s")


CHECKS: tuple[Check[Ctx3], ...] = (
    Check(
        "subscriptions.echo",
        "webhook echo challenge",
        "Definition, Webhooks (echo challenge MUST); createSubscription",
        echo,
    ),
    Check(
        "subscriptions.echo-refused",
        "failed echo challenge refused",
        "Definition, Webhooks (MUST NOT allow creation)",
        echo_refused,
    ),
    Check(
        "notifications.webhook",
        "notifications reach the callback",
        "Definition, Subscriptions; Notification schema",
        webhook,
    ),
    Check(
        "notifications.targeting",
        "notifications respect targets",
        "Definition, Object Privacy (notifications use the subscription's clientID)",
        notify_privacy,
    ),
    Check(
        "notifications.mqtt",
        "MQTT notifier",
        "Definition, Notifications via Additional Protocols; listAllMqttNotifierTopicsVenEvents",
        mqtt,
    ),
)
