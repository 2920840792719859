"""The OpenADR 3.1 MQTT notifier binding: topic names, the outbox sink and the broker publisher.

- `TopicScheme` is the one place topic names are made: the topic endpoints hand out exactly the
  names the sink publishes to.
- `MqttSink` (a `Notifier.extra_sinks` entry) turns a change into outbox rows inside the change's
  transaction: BL-only all-objects and program-scoped topics carry the unhidden notification; each
  VEN that may see the object gets its own VEN-scoped copy with target hiding applied, so object
  privacy rests on per-VEN topics plus the broker's ACL (docs/mqtt-acl.md), never on client filtering.
- `MqttPublisher` is the worker's publisher: QoS 1, waits for every PUBACK, raises on any failure so
  the row stays in the outbox and is retried. A broker outage delays notifications; it never loses them.

Row format: a row carries one notification body and the topics it goes to, newline-separated in
`target` (TOPICS_PER_ROW at most); the publisher sends them all without waiting for each PUBACK.
One row per topic would make an untargeted event for 10k vens 10k claim/settle rounds.
Ordering: the outbox delivers the rows of one sink strictly one at a time, in order. All topics of
one ven go to the same of SHARDS sinks (`mqtt:<n>`, by a hash of the ven id), and all BL topics to
one, so a ven (and a BL) sees every change in order on all its topics, while the shards go out side
by side: with one sink, 100,000 VENs were 100 rounds one after the other. Between two vens (of one
client) there is no order. (Changing SHARDS while rows are pending may reorder those rows only;
rows of the old single sink "mqtt" are still delivered.)
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
import ssl
import uuid
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from shared.enums import ObjectType, Operation
from shared.models import Event, Program, Resource, Ven
from vtn.config import VtnConfig
from vtn.notify.mqtt_wire import MqttWire, MqttWireError
from vtn.services.matching import PROGRAM_BOUND, Audience, Verdict, judge
from vtn.services.notifier import AnyObject
from vtn.storage import Tx
from vtn.storage.outbox import Claimed, OutboxItem

log = logging.getLogger("vtn.notify.mqtt")

SINK = "mqtt"  # the worker hands rows of this sink, and of its shards `mqtt:<n>`, to the publisher
SHARDS = 16
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
_FORBIDDEN_IN_LEVEL = re.compile("[/+#\0\r\n]")
TOPICS_PER_ROW = 1000  # bounds a row's size and what one failed publish round sends again


def topic_level(value: str) -> str:
    """An id used as one topic level, refused if it could widen or split a topic (see _FORBIDDEN_IN_LEVEL)."""
    if not value or _FORBIDDEN_IN_LEVEL.search(value):
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

    def ven_topic(self, ven_id: str, kind: str, op: str) -> str:
        """`ven_scoped(ven_id, kind).for_op(op)` for a lower-case op, made as fan-out needs it for each
        of 100,000 vens (no Topics object)."""
        return f"{self.prefix}/vens/{topic_level(ven_id)}/{kind}/{op}"

    def ven_scoped(self, ven_id: str, kind: str) -> Topics:
        """`{prefix}/vens/{venID}/{kind}/{op}`: what one ven may see, with its view of the object."""
        if kind not in VEN_SCOPED_KINDS:
            raise ValueError(f"no VEN-scoped topics for {kind!r}")
        return Topics(f"{self.ven_root(ven_id)}/{kind}", creatable=kind != "ven")


BodyFor = Callable[[Verdict], str]


class MqttSink:
    """Notifier extra sink: the outbox rows of one change (sinks "mqtt:<n>", target = topics, one a line)."""

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
        scoped, op = _VEN_SCOPED[kind], operation.value.lower()
        # body -> its (topic, shard key); a VEN's view of an untargeted object is the BL body, so they
        # share rows. The BL topics are one shard key, each ven's topics another.
        by_body: dict[str, list[tuple[str, str]]] = {body_for(Verdict(True)): [(n, "") for n in names]}
        for ven_id, verdict in await self.audience(tx, kind, obj):
            try:
                name = self.topics.ven_topic(ven_id, scoped, op)
            except ValueError:
                # An id that is not URL-safe cannot get a private topic; skip it rather than fail the write.
                log.warning("ven %r has no usable MQTT topic; not notified", ven_id)
                continue
            by_body.setdefault(body_for(verdict), []).append((name, ven_id))
        return [item for body, topics in by_body.items() for item in _items(topics, body)]

    async def _sandboxed(
        self, tx: Tx, kind: ObjectType, operation: Operation, obj: AnyObject, body_for: BodyFor, owner: str
    ) -> list[OutboxItem]:
        names: list[tuple[str, str]] = []
        for ven_id, _ in await tx.mqtt_audience().vens_of_clients([owner]):
            try:
                names.append((self.topics.ven_scoped(ven_id, _VEN_SCOPED[kind]).for_op(operation), ven_id))
            except ValueError:
                log.warning("ven %r has no usable MQTT topic; not notified", ven_id)
        return _items(names, body_for(Verdict(True)))

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
        # judge() reads a VEN audience's client id only against the owner: one verdict per (owner or
        # not, grants) serves 100,000 vens of an untargeted event.
        verdicts: dict[tuple[bool, frozenset[str]], Verdict] = {}
        no_grants: frozenset[str] = frozenset()
        for ven_id in sorted(vens):
            client_id = vens[ven_id]
            grants = granted.get(client_id)
            key = (client_id == owner, frozenset(grants) if grants else no_grants)
            verdict = verdicts.get(key)
            if verdict is None:
                audience = Audience(client_id=client_id, is_bl=False, targets=None, granted=key[1])
                verdict = verdicts[key] = judge(kind, owner, targets, audience)
            if verdict.visible:
                out.append((ven_id, verdict))
        return out


def row_topics(target: str) -> list[str]:
    """The topics of an MQTT outbox row (its `target`)."""
    return [t for t in target.split("\n") if t]


def is_mqtt_sink(sink: str) -> bool:
    return sink == SINK or sink.startswith(SINK + ":")


def shard_of(key: str) -> int:
    """The shard of a ven id ("" for the BL topics): stable across processes and restarts."""
    return zlib.crc32(key.encode()) % SHARDS


def _items(topics: list[tuple[str, str]], body: str) -> list[OutboxItem]:
    """The rows of one body: its topics by shard of their key, TOPICS_PER_ROW at most a row."""
    shards: dict[int, list[str]] = {}
    for topic, key in topics:
        shards.setdefault(shard_of(key), []).append(topic)
    return [
        _item(names[i : i + TOPICS_PER_ROW], body, shard)
        for shard, names in sorted(shards.items())
        for i in range(0, len(names), TOPICS_PER_ROW)
    ]


def _item(topics: list[str], body: str, shard: int) -> OutboxItem:
    return OutboxItem(
        notification_id=str(uuid.uuid4()),
        sink=f"{SINK}:{shard}",
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
    """Publishes claimed outbox rows at QoS 1 over one broker connection, reconnecting as needed.

    Rows of different shards (sink `mqtt:<n>`) are published at once; they share the connection,
    each row waiting for its own PUBACKs (packet ids are per connection, so they never collide).
    """

    def __init__(
        self, address: BrokerAddress, *, timeout_s: float = 10.0, retain: bool = False, window: int = 2000
    ) -> None:
        self.address = address
        self.timeout_s = timeout_s
        self.window = window  # QoS 1 publishes awaiting their PUBACK at once, per row
        # Not retained by default: clients must re-read state over REST after (re)connecting (spec §16.2),
        # and a retained message would replay an old object to every new subscriber of the topic.
        self.retain = retain
        self.identifier = f"vtn-{secrets.token_hex(6)}"
        self._wire: MqttWire | None = None
        self._lock = asyncio.Lock()

    async def __call__(self, item: Claimed) -> None:
        topics = row_topics(item.target)
        payload = item.body.encode()
        wire, reused = await self._connection()
        try:
            await wire.publish_many(topics, payload, retain=self.retain)
            return
        except MqttWireError as exc:
            await self._drop(wire)
            if not reused:
                raise MqttPublishError(f"publish to {topics[0]!r}... failed: {exc}") from exc
        # A connection that worked before may have died since (broker restart): reconnect once at
        # once rather than wait a retry interval. At least once: topics already acknowledged in the
        # failed round (or whose PUBACK was lost) get the notification twice.
        wire, _ = await self._connection()
        try:
            await wire.publish_many(topics, payload, retain=self.retain)
        except MqttWireError as exc:
            await self._drop(wire)
            raise MqttPublishError(f"publish to {topics[0]!r}... failed: {exc}") from exc

    async def _connection(self) -> tuple[MqttWire, bool]:
        async with self._lock:
            if self._wire is not None and not self._wire.closed:
                return self._wire, True
            a = self.address
            try:
                wire = await MqttWire.open(
                    a.host,
                    a.port,
                    client_id=self.identifier,
                    username=a.username,
                    password=a.password,
                    tls=ssl.create_default_context() if a.tls else None,
                    keepalive=30,
                    window=self.window,
                    timeout_s=self.timeout_s,
                )
            except MqttWireError as exc:
                raise MqttPublishError(f"MQTT broker {a.public_uri()} unreachable: {exc}") from exc
            log.info("connected to MQTT broker %s as %s", a.public_uri(), self.identifier)
            self._wire = wire
            return wire, False

    async def _drop(self, wire: MqttWire) -> None:
        async with self._lock:
            if self._wire is wire:
                self._wire = None
        wire.close()

    async def close(self) -> None:
        if self._wire is not None:
            await self._drop(self._wire)


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
