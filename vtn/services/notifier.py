"""Fan-out of object changes into the outbox, inside the transaction of the change.

The core's write path (vtn/core/core.py) calls `await notifier.changed(tx, Operation.CREATE, obj)`
before its transaction commits; the rows become visible to the delivery worker only if the change
itself commits, so a notification is never sent for a change that was rolled back and never lost
for one that was acknowledged. After the commit it calls `notifier.wake()` so the in-process worker
starts at once.

Bodies are the 3.1 notification document. A front-end whose subscriptions want another shape
registers a renderer for its API version (`register_renderer`); the notifier knows no front-end.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
from collections.abc import Awaitable, Callable
from datetime import datetime

from shared.durations import to_us
from shared.enums import ObjectType, Operation, Role
from shared.models import Event, Program, Report, Resource, Subscription, Ven
from shared.models.base import ObjectMetadata
from vtn.core.visibility import sees_sandbox_object
from vtn.services.matching import PROGRAM_BOUND, Audience, Verdict, judge
from vtn.storage import Tx, versions
from vtn.storage.outbox import OutboxItem
from vtn.storage.subscriptions import Candidate

log = logging.getLogger("vtn.notify")

AnyObject = Program | Event | Report | Subscription | Ven | Resource

# Publishing sinks beyond webhooks (MQTT) plug in here: each turns a change into outbox items.
# The last argument is the sandbox client owning the object (sandbox_owner), None for real objects.
ExtraSink = Callable[
    [Tx, Operation, AnyObject, Callable[[Verdict], str], str | None], Awaitable[list[OutboxItem]]
]

_BodyKey = tuple[bool, tuple[str, ...] | None]
# A front-end's notification shape: (the 3.1 body, the programID of the object) -> its body.
Renderer = Callable[[str, str | None], str]


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


def notification_ids(count: int) -> list[str]:
    """`count` random (version 4) UUIDs from one read of the OS random source.

    Formatted from one hex string rather than through uuid.UUID, a third of the cost per id.
    """
    raw = bytearray(os.urandom(16 * count))
    raw[6::16] = bytes((b & 0x0F) | 0x40 for b in raw[6::16])  # version 4
    raw[8::16] = bytes((b & 0x3F) | 0x80 for b in raw[8::16])  # RFC 4122 variant
    h = raw.hex()
    return [
        f"{h[i : i + 8]}-{h[i + 8 : i + 12]}-{h[i + 12 : i + 16]}-{h[i + 16 : i + 20]}-{h[i + 20 : i + 32]}"
        for i in range(0, 32 * count, 32)
    ]


class _Bodies:
    """The bodies of one change, built once per distinct view (target hiding, API version)."""

    def __init__(
        self, operation: Operation, obj: AnyObject, program_id: str | None, renderers: dict[str, Renderer]
    ) -> None:
        self._operation = operation
        self._obj = obj
        self._program_id = program_id
        self._renderers = renderers
        self._v31: dict[_BodyKey, str] = {}
        self._other: dict[tuple[str, _BodyKey], str] = {}

    def body(self, verdict: Verdict) -> str:
        key = _key(verdict)
        found = self._v31.get(key)
        if found is None:
            found = self._v31[key] = notification_body(self._operation, self._obj, verdict)
        return found

    def for_subscriber(self, verdict: Verdict, api_version: str | None) -> str:
        render = self._renderers.get(api_version) if api_version is not None else None
        if render is None:
            return self.body(verdict)
        key = (api_version or "", _key(verdict))
        found = self._other.get(key)
        if found is None:
            # Same view, the front-end's shape: rendered from the 3.1 body.
            try:
                found = render(self.body(verdict), self._program_id)
            except Exception:
                # This runs inside the write being notified: a rendering bug must not fail that write.
                log.exception(
                    "no %s body for %s %s; sending 3.1", api_version, self._obj.object_type, self._obj.id
                )
                found = self.body(verdict)
            self._other[key] = found
        return found


def _key(verdict: Verdict) -> _BodyKey:
    return verdict.hide, tuple(verdict.shown_targets) if verdict.shown_targets is not None else None


class Notifier:
    def __init__(
        self,
        clock: Callable[[], datetime],
        wake: Callable[[], None] | None = None,
        max_cached_keys: int = 4096,
    ) -> None:
        self._clock = clock
        self._wake = wake
        self.extra_sinks: list[ExtraSink] = []
        # Notification shapes of other API versions, by subscriptions.api_version.
        self.renderers: dict[str, Renderer] = {}
        # Fan-out candidates per (object kind, programID), valid for one subscriptions stamp: every
        # write looks its candidates up, and the query cost a report write about a third of its CPU.
        self._candidates: dict[tuple[ObjectType, str | None], list[Candidate]] = {}
        self._candidates_stamp: bytes | None = None
        self._max_cached_keys = max_cached_keys
        # VEN subscribers' granted targets, valid for one grants stamp: a targeted event's write
        # needs every VEN subscriber's grants, and the query was a fifth of an event write's CPU.
        self._grants = _GrantMemo(max_cached_keys * 64)

    def register_renderer(self, api_version: str, render: Renderer) -> None:
        """Send subscriptions marked with `api_version` the bodies `render` makes of the 3.1 ones."""
        self.renderers[api_version] = render

    def wake(self) -> None:
        if self._wake is not None:
            self._wake()

    async def changed(self, tx: Tx, operation: Operation, obj: AnyObject) -> int:
        """Queue the notifications of one change; returns how many rows were queued."""
        kind = ObjectType(obj.object_type)
        if kind is ObjectType.SUBSCRIPTION:
            notes = tx.notes
            if notes.subscription_stamp is None and not notes.wrote_subscriptions:
                # Read before the bump: candidates cached as of it are the committed ones this
                # transaction's own subscription writes are then applied to (_candidates_for).
                notes.subscription_stamp = await tx.stamps.read_subscriptions()
            # Other processes (and later transactions here) see the stamp move and drop their caches.
            await tx.stamps.bump(versions.SUBSCRIPTIONS)
            notes.wrote_subscriptions = True
            notes.written_subscriptions[obj.id] = _heard(obj, operation)
        program_id = await _program_of(tx, obj)
        candidates = await self._candidates_for(tx, kind, program_id)
        if not candidates and not self.extra_sinks:
            return 0  # nobody subscribed to this kind here: the common case of a report write
        bodies = _Bodies(operation, obj, program_id, self.renderers)
        sandbox = await sandbox_owner(tx, obj)
        # (subscription, its hooks for this change, its verdict) for each subscriber that hears of it.
        hearing = await _audience(tx, kind, operation, obj, candidates, self._grants, sandbox)
        ids = notification_ids(sum(len(hooks) for _, hooks, _ in hearing))
        items: list[OutboxItem] = []
        signed: dict[str, bytes] = {}  # body -> its bytes, encoded once for all the HMACs over it
        # (verdict, API version) -> body: verdicts are shared, a handful per change.
        chosen: dict[tuple[int, str | None], str] = {}
        for sub, hooks, verdict in hearing:
            body = chosen.get((id(verdict), sub.api_version))
            if body is None:
                body = chosen[id(verdict), sub.api_version] = bodies.for_subscriber(verdict, sub.api_version)
            signature = None
            if sub.secret:
                raw = signed.get(body)
                if raw is None:
                    raw = signed[body] = body.encode()
                signature = sign(sub.secret, raw)
            sink = f"sub:{sub.id}"
            for url, token in hooks:
                items.append(OutboxItem(ids[len(items)], sink, sub.id, url, token, signature, body))
        for extra in self.extra_sinks:
            items.extend(await extra(tx, operation, obj, bodies.body, sandbox))
        await tx.outbox.enqueue(items, to_us(self._clock()))
        return len(items)

    async def test(self, tx: Tx, sub: Candidate, operation: Operation, obj: AnyObject) -> int:
        """Queue a test notification of `obj` to every callback of one subscription, whatever
        objects and operations it asked for (the sandbox's "test my webhook"); returns the rows."""
        bodies = _Bodies(operation, obj, await _program_of(tx, obj), self.renderers)
        body = bodies.for_subscriber(Verdict(True), sub.api_version)
        signature = sign(sub.secret, body.encode()) if sub.secret else None
        unique = {(h.callback_url, h.bearer_token) for h in sub.hooks}
        hooks = sorted(unique, key=lambda h: (h[0], h[1] or ""))
        ids = notification_ids(len(hooks))
        items = [
            OutboxItem(ids[i], f"sub:{sub.id}", sub.id, url, token, signature, body)
            for i, (url, token) in enumerate(hooks)
        ]
        await tx.outbox.enqueue(items, to_us(self._clock()))
        return len(items)

    async def changed_if_heard(
        self,
        tx: Tx,
        operation: Operation,
        kind: ObjectType,
        program_id: str | None,
        build: Callable[[], AnyObject],
    ) -> int:
        """`changed` for an object not built yet (a report stored as prepared text): built by
        `build` only if some subscription may hear of it."""
        if not self.extra_sinks and not await self._candidates_for(tx, kind, program_id):
            return 0
        return await self.changed(tx, operation, build())

    async def _candidates_for(self, tx: Tx, kind: ObjectType, program_id: str | None) -> list[Candidate]:
        """The subscriptions that may hear of a change, cached while the subscriptions stamp holds.

        The stamp is read once per transaction, in it, so a subscription any process committed before
        this transaction began is never missed. A transaction that wrote a subscription itself reads
        its own (uncommitted) view and caches nothing.
        """
        notes = tx.notes
        if notes.wrote_subscriptions:
            cached = self._candidates.get((kind, program_id))
            if cached is not None and notes.subscription_stamp == self._candidates_stamp:
                own = _past_own_writes(cached, notes.written_subscriptions, kind, program_id)
                if own is not None:
                    return own
            return await tx.subscriptions.candidates(kind, program_id)
        if notes.subscription_stamp is None:
            notes.subscription_stamp = await tx.stamps.read_subscriptions()
        if notes.subscription_stamp != self._candidates_stamp:
            self._candidates.clear()
            self._candidates_stamp = notes.subscription_stamp
        key = (kind, program_id)
        found = self._candidates.get(key)
        if found is None:
            found = await tx.subscriptions.candidates(kind, program_id)
            if len(self._candidates) >= self._max_cached_keys:
                self._candidates.clear()  # rare (one key per program and kind): cheap to rebuild
            self._candidates[key] = found
        return found


def _heard(obj: AnyObject, operation: Operation) -> tuple[frozenset[str], str | None] | None:
    """What decides whether a written subscription is a candidate (SubscriptionRepo.candidates)."""
    if operation is Operation.DELETE or not isinstance(obj, Subscription):
        return None
    return frozenset(o.value for op in obj.object_operations for o in op.objects), obj.program_id


def _past_own_writes(
    committed: list[Candidate],
    written: dict[str, tuple[frozenset[str], str | None] | None],
    kind: ObjectType,
    program_id: str | None,
) -> list[Candidate] | None:
    """The candidates a transaction that wrote `written` sees, from the committed ones; None if a
    written subscription is one (its place in the list is its row's: the caller queries)."""
    for heard in written.values():
        if heard is None or kind.value not in heard[0]:
            continue
        if program_id is None or heard[1] is None or heard[1] == program_id:
            return None
    if not any(c.id in written for c in committed):
        return committed
    return [c for c in committed if c.id not in written]


async def sandbox_owner(tx: Tx, obj: AnyObject) -> str | None:
    """The sandbox client owning a program or event (vtn/sandbox), None for real objects and for
    every other kind (a sandbox client's reports and subscriptions are its own, as any VEN's)."""
    if isinstance(obj, Program):
        return await tx.programs.sandbox_owner(obj.id)
    if isinstance(obj, Event):
        return await tx.events.sandbox_owner(obj.id)
    return None


class _GrantMemo:
    """VEN clients' granted targets as of one grants stamp (the stamp moves with every ven or
    resource write, in any process; a random stamp never comes back, vtn/storage/versions.py).

    The stamp is read once per transaction, in it, before the grants; a transaction that changed
    grants itself (`TxNotes.wrote_grants`) reads them from the database and keeps nothing.
    """

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._stamp: bytes | None = None
        self._by_client: dict[str, frozenset[str]] = {}
        self._sets: dict[frozenset[str], frozenset[str]] = {}  # equal grants share one frozenset

    async def of(self, tx: Tx, client_ids: set[str]) -> dict[str, frozenset[str]]:
        notes = tx.notes
        if notes.wrote_grants:
            return await tx.vens.granted_targets_of(client_ids)
        if notes.grants_stamp is None:
            notes.grants_stamp = await tx.stamps.read_grants()
        known, sets = self._by_client, self._sets
        if notes.grants_stamp != self._stamp or len(known) + len(client_ids) > self._limit:
            known.clear()
            sets.clear()
            self._stamp = notes.grants_stamp
        missing = [c for c in client_ids if c not in known]
        if missing:
            for client, granted in (await tx.vens.granted_targets_of(missing)).items():
                known[client] = sets.setdefault(granted, granted)
        return {c: known[c] for c in client_ids if c in known}


async def _audience(
    tx: Tx,
    kind: ObjectType,
    operation: Operation,
    obj: AnyObject,
    candidates: list[Candidate],
    grant_memo: _GrantMemo,
    sandbox: str | None = None,
) -> list[tuple[Candidate, list[tuple[str, str | None]], Verdict]]:
    """The subscribers that asked for this change and may see it (matching.py), with their hooks."""
    owner = getattr(obj, "client_id", None)
    targets = getattr(obj, "targets", None)
    kind_name, op_name = kind.value, operation.value
    asking: list[tuple[Candidate, list[tuple[str, str | None]]]] = []
    for sub in candidates:
        if len(sub.hooks) == 1:  # the common case, without a set and a sort per subscriber
            h = sub.hooks[0]
            if (
                kind_name in h.objects
                and op_name in h.operations
                and sees_sandbox_object(sandbox, sub.client_id)
            ):
                asking.append((sub, [(h.callback_url, h.bearer_token)]))
            continue
        unique = {
            (h.callback_url, h.bearer_token)
            for h in sub.hooks
            if kind_name in h.objects and op_name in h.operations
        }
        if unique and sees_sandbox_object(sandbox, sub.client_id):
            asking.append((sub, sorted(unique, key=lambda h: (h[0], h[1] or ""))))
    grants: dict[str, frozenset[str]] = {}
    if kind in PROGRAM_BOUND and targets:
        # Targeted programs/events need the grants of every VEN subscriber that asked for this change.
        vens = {s.client_id for s, _ in asking if s.role is not Role.BL}
        if vens:
            grants = await grant_memo.of(tx, vens)
    no_grants: frozenset[str] = frozenset()
    out: list[tuple[Candidate, list[tuple[str, str | None]], Verdict]] = []
    # judge() reads the subscriber's client id only against the owner: one verdict per distinct
    # (BL or not, owner or not, targets filter, grants) serves 100,000 subscribers of one event.
    verdicts: dict[tuple[bool, bool, frozenset[str] | None, frozenset[str]], Verdict] = {}
    for sub, hooks in asking:
        is_bl = sub.role is Role.BL
        granted = grants.get(sub.client_id, no_grants)
        key = (is_bl, sub.client_id == owner, sub.targets, granted)
        verdict = verdicts.get(key)
        if verdict is None:
            audience = Audience(client_id=sub.client_id, is_bl=is_bl, targets=sub.targets, granted=granted)
            verdict = verdicts[key] = judge(kind, owner, targets, audience)
        if verdict.visible:
            out.append((sub, hooks, verdict))
    return out


async def _program_of(tx: Tx, obj: AnyObject) -> str | None:
    if isinstance(obj, Program):
        return obj.id
    if isinstance(obj, Event):
        return obj.program_id
    if isinstance(obj, Report):
        # Known when this transaction wrote the report: no query on the hot ingest path.
        return tx.reports.written_program(obj.id) or await tx.events.program_of(obj.event_id)
    if isinstance(obj, Subscription):
        return obj.program_id
    return None
