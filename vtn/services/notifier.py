"""Fan-out of object changes into the outbox, inside the transaction of the change.

A handler calls `await notifier.changed(tx, Operation.CREATE, obj)` before its transaction commits;
the rows become visible to the delivery worker only if the change itself commits, so a notification
is never sent for a change that was rolled back and never lost for one that was acknowledged.
After the commit the handler calls `notifier.wake()` so the in-process worker starts at once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime

from shared.enums import ObjectType, Operation
from shared.models import Event, Program, Report, Resource, Subscription, Ven
from shared.models.base import ObjectMetadata
from vtn.services.matching import PROGRAM_BOUND, Audience, Verdict, judge
from vtn.storage import Tx
from vtn.storage._rows import to_us
from vtn.storage.outbox import OutboxItem

AnyObject = Program | Event | Report | Subscription | Ven | Resource

# Publishing sinks beyond webhooks (MQTT) plug in here: each turns a change into outbox items.
ExtraSink = Callable[[Tx, Operation, AnyObject, Callable[[Verdict], str]], Awaitable[list[OutboxItem]]]


def sign(secret: str, body: bytes) -> str:
    """X-Payload-Signature: base64 HMAC-SHA256 of the raw body, keyed by the subscription secret."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def notification_body(operation: Operation, obj: ObjectMetadata, verdict: Verdict) -> str:
    """The spec's notification document, with target hiding applied for VEN subscribers."""
    doc = obj.to_wire()
    targets = doc.get("targets")
    if verdict.hide:
        targets = list(verdict.shown_targets or []) or None
        if targets is None:
            doc.pop("targets", None)
        else:
            doc["targets"] = targets
    body: dict[str, object] = {"objectType": doc["objectType"], "operation": operation.value, "object": doc}
    if targets:
        body["targets"] = targets
    return json.dumps(body, separators=(",", ":"))


class Notifier:
    def __init__(self, clock: Callable[[], datetime], wake: Callable[[], None] | None = None) -> None:
        self._clock = clock
        self._wake = wake
        self.extra_sinks: list[ExtraSink] = []

    def wake(self) -> None:
        if self._wake is not None:
            self._wake()

    async def changed(self, tx: Tx, operation: Operation, obj: AnyObject) -> int:
        """Queue the notifications of one change; returns how many rows were queued."""
        kind = ObjectType(obj.object_type)
        program_id = await _program_of(tx, obj)
        owner = getattr(obj, "client_id", None)
        targets = getattr(obj, "targets", None)
        grants: dict[str, frozenset[str]] = {}
        bodies: dict[tuple[bool, tuple[str, ...] | None], str] = {}

        def body_for(verdict: Verdict) -> str:
            key = (verdict.hide, tuple(verdict.shown_targets) if verdict.shown_targets is not None else None)
            if key not in bodies:
                bodies[key] = notification_body(operation, obj, verdict)
            return bodies[key]

        items: list[OutboxItem] = []
        candidates = await tx.subscriptions.candidates(kind.value, program_id)
        if kind in PROGRAM_BOUND and targets:
            # Targeted programs/events need every VEN subscriber's grants: fetch them all at once.
            grants = await tx.vens.granted_targets_of(
                s.client_id for s, role, _ in candidates if role != "bl"
            )
        for sub, role, secret in candidates:
            hooks = {
                (op.callback_url, op.bearer_token)
                for op in sub.object_operations
                if kind in op.objects and operation in op.operations
            }
            if not hooks:
                continue
            is_bl = role == "bl"
            # Grants matter only for targeted programs and events (prefetched above).
            audience = Audience(
                client_id=sub.client_id,
                is_bl=is_bl,
                targets=frozenset(sub.targets) if sub.targets else None,
                granted=grants.get(sub.client_id, frozenset()),
            )
            verdict = judge(kind, owner, targets, audience)
            if not verdict.visible:
                continue
            body = body_for(verdict)
            for url, token in sorted(hooks, key=lambda h: (h[0], h[1] or "")):
                items.append(
                    OutboxItem(
                        notification_id=str(uuid.uuid4()),
                        sink=f"sub:{sub.id}",
                        subscription_id=sub.id,
                        target=url,
                        bearer_token=token,
                        signature=sign(secret, body.encode()) if secret else None,
                        body=body,
                    )
                )
        for extra in self.extra_sinks:
            items.extend(await extra(tx, operation, obj, body_for))
        await tx.outbox.enqueue(items, to_us(self._clock()))
        return len(items)


async def _program_of(tx: Tx, obj: AnyObject) -> str | None:
    if isinstance(obj, Program):
        return obj.id
    if isinstance(obj, Event):
        return obj.program_id
    if isinstance(obj, Report):
        return await tx.events.program_of(obj.event_id)
    if isinstance(obj, Subscription):
        return obj.program_id
    return None
