"""The OpenADR 3.1 MQTT notifier binding: topic names, the outbox sink and the broker publisher.

- `TopicScheme` is the one place topic names are made: the topic endpoints hand out exactly the
  names the sink publishes to.
- `MqttSink` (a `Notifier.extra_sinks` entry) turns a change into outbox rows inside the change's
  transaction: BL-only all-objects and program-scoped topics carry the unhidden notification; each
  VEN that may see the object gets its own VEN-scoped copy with target hiding applied, so object
  privacy rests on per-VEN topics plus the broker's ACL (docs/mqtt-acl.md), never on client filtering.
- `MqttPublisher` is the worker's publisher: QoS 1, waits for every PUBACK, raises on any failure so
  the row stays in the outbox and is retried. A broker outage delays notifications; it never loses them.

Row format: all MQTT rows share the outbox sink "mqtt", which the outbox delivers strictly one row
at a time, in order. One row per topic would make an untargeted event for 10k vens 10k sequential
claim/settle rounds (minutes to hours). So a row carries one notification body and the topics it goes
to, newline-separated in `target` (MQTT_TOPICS_PER_ROW at most); the publisher sends them concurrently.
Per-topic order still holds: a change lists each topic once, and rows go out one after the other.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import ssl
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import aiomqtt

from shared.enums import ObjectType, Operation
from shared.models import Event, Program, Resource, Ven
from vtn.config import VtnConfig
from vtn.services.matching import PROGRAM_BOUND, Audience, Verdict, judge
from vtn.services.notifier import AnyObject
from vtn.storage import Tx
from vtn.storage.outbox import Claimed, OutboxItem

log = logging.getLogger("vtn.notify.mqtt")

SINK = "mqtt"  # the worker hands rows of this sink to the publisher
DEFAULT_PREFIX = "openadr3"
ALL_OBJECT_KINDS = ("programs", "events", "reports", "subscriptions", "vens", "resources")
VEN_SCOPED_KINDS = ("events", "programs", "resources", "reports", "subscriptions", "ven")
PUBLISHED = (Operation.CREATE, Operation.UPDATE, Operation.DELETE)  # no READ notifications (spec §6)

_PLURAL = {
    ObjectType.PROGRAM: "programs",
    ObjectType.EVENT: "events",
    ObjectType.REPORT: "reports",
    ObjectType.SUBSCRIPTION: "subscriptions",
    ObjectType.VEN: "vens",
    ObjectType.RESOURCE: "resources",
}
# Under vens/{venID}/: a ven's own object is singular ("ven"), everything else a collection.
_VEN_SCOPED = {**_PLURAL, ObjectType.VEN: "ven"}
# `/`, `+`, `#` would widen a subscription or an ACL grant; newlines separate topics in a row.
_FORBIDDEN_IN_LEVEL = frozenset("/+#\0\r\n")
TOPICS_PER_ROW = 1000  # bounds a row's size and what one failed publish round sends again


def topic_level(value: str) -> str:
    """An id used as one topic level, refused if it could widen or split a topic (see _FORBIDDEN_IN_LEVEL)."""
    if not value or _FORBIDDEN_IN_LEVEL & set(value):
        raise ValueError(f"{value!r} cannot be used as an MQTT topic level")
    return value


@dataclass(frozen=True, slots=True)
class Topics:
    """One topic family: `{base}/create|update|delete`, and `{base}/+` for ALL."""

    base: str
    creatable: bool = True  # per-object families have no CREATE: the object does not exist yet

    def for_op(self, operation: Operation) -> str:
        return f"{self.base}/{operation.value.lower()}"

    def response(self) -> dict[str, str]:
        """The `topics` member of a notifierTopicsResponse."""
        ops = PUBLISHED if self.creatable else PUBLISHED[1:]
        names = {op.value: self.for_op(op) for op in ops}
        names["ALL"] = f"{self.base}/+"
        return names


class TopicScheme:
    """Topic names under a configurable prefix (default `openadr3`)."""

    def __init__(self, prefix: str = DEFAULT_PREFIX) -> None:
        levels = prefix.split("/")
        for level in levels:
            topic_level(level)
        self.prefix = prefix

    def all_objects(self, kind: str) -> Topics:
        """`{prefix}/{kind}/{op}`: every object of a kind, BL only."""
        if kind not in ALL_OBJECT_KINDS:
            raise ValueError(f"no all-objects topics for {kind!r}")
        return Topics(f"{self.prefix}/{kind}")

    def program(self, program_id: str) -> Topics:
        """`{prefix}/programs/{programID}/{update|delete}`: one program, BL only."""
        return Topics(f"{self.prefix}/programs/{topic_level(program_id)}", creatable=False)

    def program_events(self, program_id: str) -> Topics:
        """`{prefix}/programs/{programID}/events/{op}`: a program's events, BL only."""
        return Topics(f"{self.prefix}/programs/{topic_level(program_id)}/events")

    def ven_root(self, ven_id: str) -> str:
        """Everything private to one ven lives below this; the broker ACL grants `{root}/#` to it."""
        return f"{self.prefix}/vens/{topic_level(ven_id)}"

    def ven_scoped(self, ven_id: str, kind: str) -> Topics:
        """`{prefix}/vens/{venID}/{kind}/{op}`: what one ven may see, with its view of the object."""
        if kind not in VEN_SCOPED_KINDS:
            raise ValueError(f"no VEN-scoped topics for {kind!r}")
        return Topics(f"{self.ven_root(ven_id)}/{kind}", creatable=kind != "ven")


BodyFor = Callable[[Verdict], str]


class MqttSink:
    """Notifier extra sink: the outbox rows of one change (sink "mqtt", target = topics, one a line)."""

    def __init__(self, topics: TopicScheme) -> None:
        self.topics = topics

    async def __call__(
        self, tx: Tx, operation: Operation, obj: AnyObject, body_for: BodyFor, sandbox: str | None = None
    ) -> list[OutboxItem]:
        if operation not in PUBLISHED:
            return []
        kind = ObjectType(obj.object_type)
        if sandbox is not None:
            # A sandbox object goes to its sandbox client's ven topics alone: the BL topics would show
            # it to everyone else (the visibility rule, vtn/core/visibility.py).
            return await self._sandboxed(tx, kind, operation, obj, body_for, sandbox)
        names = [self.topics.all_objects(_PLURAL[kind]).for_op(operation)]
        try:
            if isinstance(obj, Program) and operation is not Operation.CREATE:
                names.append(self.topics.program(obj.id).for_op(operation))
            if isinstance(obj, Event):
                names.append(self.topics.program_events(obj.program_id).for_op(operation))
        except ValueError:
            # An id that is not URL-safe has no per-program topic; the write itself must not fail.
            log.warning("%s %r has no usable per-program MQTT topic", kind.value, obj.id)
        # body -> its topics; a VEN's view of an untargeted object is the BL body, so they share rows.
        by_body: dict[str, list[str]] = {body_for(Verdict(True)): names}
        for ven_id, verdict in await self.audience(tx, kind, obj):
            try:
                name = self.topics.ven_scoped(ven_id, _VEN_SCOPED[kind]).for_op(operation)
            except ValueError:
                # An id that is not URL-safe cannot get a private topic; skip it rather than fail the write.
                log.warning("ven %r has no usable MQTT topic; not notified", ven_id)
                continue
            by_body.setdefault(body_for(verdict), []).append(name)
        return [
            _item(topics[i : i + TOPICS_PER_ROW], body)
            for body, topics in by_body.items()
            for i in range(0, len(topics), TOPICS_PER_ROW)
        ]

    async def _sandboxed(
        self, tx: Tx, kind: ObjectType, operation: Operation, obj: AnyObject, body_for: BodyFor, owner: str
    ) -> list[OutboxItem]:
        names: list[str] = []
        for ven_id, _ in await tx.mqtt_audience().vens_of_clients([owner]):
            try:
                names.append(self.topics.ven_scoped(ven_id, _VEN_SCOPED[kind]).for_op(operation))
            except ValueError:
                log.warning("ven %r has no usable MQTT topic; not notified", ven_id)
        body = body_for(Verdict(True))
        return [_item(names[i : i + TOPICS_PER_ROW], body) for i in range(0, len(names), TOPICS_PER_ROW)]

    async def audience(self, tx: Tx, kind: ObjectType, obj: AnyObject) -> list[tuple[str, Verdict]]:
        """Each ven that may see `obj`, with what it may see (judged as for webhooks and reads)."""
        repo = tx.mqtt_audience()
        owner = getattr(obj, "client_id", None)
        targets: list[str] | None = getattr(obj, "targets", None)
        granted: dict[str, set[str]] = {}
        if kind in PROGRAM_BOUND:
            if targets:
                vens: dict[str, str] = {}
                for ven_id, client_id, target in await repo.vens_granted(targets):
                    vens[ven_id] = client_id
                    # Grants are per client (all its vens and resources), as judge() expects.
                    granted.setdefault(client_id, set()).add(target)
            else:
                vens = dict(await repo.all_vens())
        elif isinstance(obj, Ven):
            vens = {obj.id: obj.client_id}
        elif isinstance(obj, Resource):
            vens = {obj.ven_id: obj.client_id}
        else:  # reports and subscriptions: every ven of their owner
            vens = dict(await repo.vens_of_clients([owner] if owner else []))
        out: list[tuple[str, Verdict]] = []
        for ven_id in sorted(vens):
            client_id = vens[ven_id]
            audience = Audience(
                client_id=client_id,
                is_bl=False,
                targets=None,
                granted=frozenset(granted.get(client_id, ())),
            )
            verdict = judge(kind, owner, targets, audience)
            if verdict.visible:
                out.append((ven_id, verdict))
        return out


def row_topics(target: str) -> list[str]:
    """The topics of an MQTT outbox row (its `target`)."""
    return [t for t in target.split("\n") if t]


def _item(topics: list[str], body: str) -> OutboxItem:
    return OutboxItem(
        notification_id=str(uuid.uuid4()),
        sink=SINK,
        subscription_id=None,
        target="\n".join(topics),
        bearer_token=None,
        signature=None,
        body=body,
    )


@dataclass(frozen=True, slots=True)
class BrokerAddress:
    host: str
    port: int
    tls: bool
    username: str | None = None
    password: str | None = None

    @classmethod
    def parse(cls, url: str, username: str | None = None, password: str | None = None) -> BrokerAddress:
        """`mqtt://host:1883` or `mqtts://host:8883` (also tcp://, ssl://); explicit credentials win."""
        parts = urlsplit(url)
        schemes = {"mqtt": False, "tcp": False, "mqtts": True, "ssl": True}
        if parts.scheme not in schemes or not parts.hostname:
            raise ValueError(f"MQTT broker URL must look like mqtt://host:port or mqtts://host:port: {url!r}")
        tls = schemes[parts.scheme]
        return cls(
            host=parts.hostname,
            port=parts.port or (8883 if tls else 1883),
            tls=tls,
            username=username or (unquote(parts.username) if parts.username else None),
            password=password or (unquote(parts.password) if parts.password else None),
        )

    def public_uri(self) -> str:
        """The URI without credentials, as advertised to clients by default."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'mqtts' if self.tls else 'mqtt'}://{host}:{self.port}"


class MqttPublishError(RuntimeError):
    """A RuntimeError so that the worker records the attempt and retries the row with backoff."""


class MqttPublisher:
    """Publishes claimed outbox rows at QoS 1 over one broker connection, reconnecting as needed."""

    def __init__(
        self, address: BrokerAddress, *, timeout_s: float = 10.0, retain: bool = False, window: int = 256
    ) -> None:
        self.address = address
        self.timeout_s = timeout_s
        self.window = window  # QoS 1 publishes awaiting their PUBACK at once
        # Not retained by default: clients must re-read state over REST after (re)connecting (spec §16.2),
        # and a retained message would replay an old object to every new subscriber of the topic.
        self.retain = retain
        self.identifier = f"vtn-{secrets.token_hex(6)}"
        self._client: aiomqtt.Client | None = None
        self._lock = asyncio.Lock()

    async def __call__(self, item: Claimed) -> None:
        topics = row_topics(item.target)
        client, reused = await self._connection()
        try:
            await self._publish(client, topics, item.body.encode())
            return
        except aiomqtt.MqttError as exc:
            await self._drop(client)
            if not reused:
                raise MqttPublishError(f"publish to {topics[0]!r}... failed: {exc}") from exc
        # A connection that worked before may have died since (broker restart): reconnect once at
        # once rather than wait a retry interval. At least once: topics already acknowledged in the
        # failed round (or whose PUBACK was lost) get the notification twice.
        client, _ = await self._connection()
        try:
            await self._publish(client, topics, item.body.encode())
        except aiomqtt.MqttError as exc:
            await self._drop(client)
            raise MqttPublishError(f"publish to {topics[0]!r}... failed: {exc}") from exc

    async def _publish(self, client: aiomqtt.Client, topics: list[str], payload: bytes) -> None:
        """Publish to every topic; return only once the broker acknowledged each (QoS 1 PUBACK)."""
        gate = asyncio.Semaphore(self.window)

        async def one(topic: str) -> None:
            async with gate:
                await client.publish(topic, payload, qos=1, retain=self.retain, timeout=self.timeout_s)

        outcomes = await asyncio.gather(*(one(t) for t in topics), return_exceptions=True)
        for outcome in outcomes:
            if isinstance(outcome, aiomqtt.MqttError):
                raise outcome
            if isinstance(outcome, BaseException):
                raise aiomqtt.MqttError(f"{type(outcome).__name__}: {outcome}") from outcome

    async def _connection(self) -> tuple[aiomqtt.Client, bool]:
        async with self._lock:
            if self._client is not None:
                return self._client, True
            a = self.address
            client = aiomqtt.Client(
                a.host,
                a.port,
                username=a.username,
                password=a.password,
                identifier=self.identifier,
                tls_context=ssl.create_default_context() if a.tls else None,
                timeout=self.timeout_s,
                keepalive=30,
                max_inflight_messages=self.window,
            )
            client.pending_calls_threshold = self.window  # a full window is normal, not a warning
            try:
                await client.__aenter__()
            except aiomqtt.MqttError as exc:
                raise MqttPublishError(f"MQTT broker {a.public_uri()} unreachable: {exc}") from exc
            log.info("connected to MQTT broker %s as %s", a.public_uri(), self.identifier)
            self._client = client
            return client, False

    async def _drop(self, client: aiomqtt.Client) -> None:
        async with self._lock:
            if self._client is client:
                self._client = None
        with contextlib.suppress(aiomqtt.MqttError, OSError):
            await client.__aexit__(None, None, None)

    async def close(self) -> None:
        if self._client is not None:
            await self._drop(self._client)


def advertised_uris(config: VtnConfig) -> list[str]:
    """What GET /notifiers tells clients: `mqtt_public_uris` (list or CSV), else the broker URL."""
    raw = config.mqtt_public_uris
    if raw:
        values = raw.split(",") if isinstance(raw, str) else list(raw)
        uris = [v.strip() for v in values if v.strip()]
        if uris:
            return uris
    if not config.mqtt_broker_url:
        return []
    return [BrokerAddress.parse(config.mqtt_broker_url).public_uri()]


def topic_scheme(config: VtnConfig) -> TopicScheme:
    return TopicScheme(config.mqtt_topic_prefix or DEFAULT_PREFIX)


def mqtt_binding(config: VtnConfig) -> tuple[MqttSink, MqttPublisher] | None:
    """The sink and publisher for a configured broker; None when MQTT is off."""
    if not config.mqtt_broker_url:
        return None
    address = BrokerAddress.parse(config.mqtt_broker_url, config.mqtt_username, config.mqtt_password)
    publisher = MqttPublisher(address, timeout_s=config.delivery_timeout_seconds)
    return MqttSink(topic_scheme(config)), publisher
