"""What every handler needs: app state keys, the caller, body decoding, query parsing, responses."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from aiohttp import web

from shared.enums import ObjectType, Operation
from shared.errors import BadRequest, NotFound, OadrError, PayloadTooLarge, Unauthorized
from shared.models.base import WireModel
from shared.validation import SchemaRegistry
from shared.wire import oadr3_json
from shared.wire.oadr3_json import check_text
from vtn.auth.tokens import TokenService
from vtn.config import VtnConfig
from vtn.intake.pool import IntakePool
from vtn.notify.callbacks import CallbackPolicy
from vtn.principal import Principal
from vtn.services.notifier import AnyObject, Notifier
from vtn.services.read_cache import ReadCache
from vtn.storage import Store, Tx, versions
from vtn.storage.filters import MAX_LIMIT, Page

M = TypeVar("M", bound=WireModel)
Obj = TypeVar("Obj", bound=AnyObject)

JSON = "application/json"

# The spec's objectID: ids outside it cannot exist, so they are answered 404 without a query.
OBJECT_ID = re.compile(r"^[a-zA-Z0-9_-]{1,128}\Z")
# Up to this many (client, target) grant rows are cached as one snapshot; beyond it, per client.
MAX_GRANT_SNAPSHOT = 500_000
# OFFSET must fit the stores' 64-bit integers.
MAX_SKIP = 2**62

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class VtnState:
    """Everything a handler may use, built once by create_app."""

    config: VtnConfig
    store: Store
    registry: SchemaRegistry
    tokens: TokenService
    notifier: Notifier
    callbacks: CallbackPolicy
    cache: ReadCache
    intake: IntakePool | None = None  # report intake workers (config intake_workers), None: in-process


STATE = web.AppKey("vtn_state", VtnState)
PRINCIPAL_KEY = web.RequestKey("vtn_principal", Principal)


def state(request: web.Request) -> VtnState:
    return request.app[STATE]


def caller(request: web.Request) -> Principal:
    who = request.get(PRINCIPAL_KEY)
    if not isinstance(who, Principal):
        raise Unauthorized("no access token")
    return who


async def raw_body(request: web.Request) -> bytes:
    """The request body, not empty and within max_body_bytes."""
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge as exc:
        raise PayloadTooLarge(f"request body over {state(request).config.max_body_bytes} bytes") from exc
    if not raw:
        raise BadRequest("request body is empty; a JSON object is expected")
    return raw


async def body(request: web.Request, schema: str, model: type[M]) -> M:
    """Read, validate and decode the JSON body against a schema of shared/schemas/."""
    return oadr3_json.decode(state(request).registry, schema, model, await raw_body(request))


def respond(obj: WireModel, status: int = 200) -> web.Response:
    return web.Response(body=oadr3_json.encode(obj), status=status, content_type=JSON)


async def mutate(
    request: web.Request, operation: Operation, work: Callable[[Tx], Awaitable[Obj]], status: int = 200
) -> web.Response:
    """Run a write and its notification fan-out in one transaction; answer only after the commit."""
    st = state(request)

    async def unit(tx: Tx) -> tuple[Obj, int]:
        obj = await work(tx)
        if obj.object_type in ("VEN", "RESOURCE"):
            await versions.bump(tx.conn, versions.GRANTS)
        elif obj.object_type in ("PROGRAM", "EVENT"):
            await versions.bump(tx.conn, versions.OBJECTS)
        queued = await st.notifier.changed(tx, operation, obj)
        for gone in tx.cascaded:
            queued += await st.notifier.changed(tx, Operation.DELETE, gone)  # type: ignore[arg-type]
        return obj, queued

    # Group commit: concurrent writes share one durable commit; each is answered after it.
    obj, queued = await st.store.write(unit)
    # After the commit: forget cached answers this write made stale, start delivering at once.
    kind = obj.object_type
    if kind in ("VEN", "RESOURCE"):
        st.cache.grants_changed()
    elif kind in ("PROGRAM", "EVENT"):
        st.cache.objects_changed()
    if queued:
        st.notifier.wake()
    return respond(obj, status)


async def granted_targets(request: web.Request, who: Principal) -> frozenset[str] | None:
    """The targets BL granted a VEN caller (None for BL), from the read cache when fresh."""
    if who.is_bl:
        return None
    st = state(request)
    granted = st.cache.grants(who.client_id)
    if granted is None and st.cache.needs_snapshot():
        async with st.cache.snapshot_lock:  # one loader; the others wait for its snapshot
            if st.cache.needs_snapshot():
                async with st.store.read() as tx:
                    st.cache.keep_snapshot(await tx.vens.all_grants(MAX_GRANT_SNAPSHOT))
        granted = st.cache.grants(who.client_id)
    if granted is None:
        async with st.store.read() as tx:
            granted = await tx.vens.granted_targets(who.client_id)
        st.cache.keep_grants(who.client_id, granted)
    return granted


async def cached_list(
    request: web.Request,
    key: tuple[object, ...],
    build: Callable[[], Awaitable[Sequence[WireModel]]],
    *,
    clocked: bool = False,
) -> web.Response:
    """Serve a list answer from the read cache, or build, encode and keep it.

    `clocked`: the answer also depends on the time (e.g. `active=true`), not only on what is stored.
    """
    st = state(request)
    body_bytes = st.cache.answer(key)
    if body_bytes is None:
        since = st.cache.generation
        body_bytes = oadr3_json.encode_list(await build())
        st.cache.keep_answer(key, body_bytes, clocked=clocked, since=since)
    return web.Response(body=body_bytes, content_type=JSON)


def respond_list(objs: Sequence[WireModel]) -> web.Response:
    return web.Response(body=oadr3_json.encode_list(objs), content_type=JSON)


def _int_param(request: web.Request, name: str, default: int, low: int, high: int | None) -> int:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise BadRequest(f"query parameter {name!r} must be an integer, got {raw!r}") from exc
    if value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise BadRequest(f"query parameter {name!r} must be {bound}, got {value}")
    return value


def page(request: web.Request) -> Page:
    return Page(
        skip=_int_param(request, "skip", 0, 0, MAX_SKIP),
        limit=_int_param(request, "limit", MAX_LIMIT, 0, MAX_LIMIT),
    )


def text_param(request: web.Request, name: str) -> str | None:
    value = request.query.get(name)
    if value:
        check_text(value, f"query parameter {name!r}")
    return value if value else None


def targets_param(request: web.Request) -> frozenset[str] | None:
    """`targets` is a repeated query parameter (form, explode); absent means no target filter."""
    values = [v for v in request.query.getall("targets", []) if v]
    for value in values:
        check_text(value, "query parameter 'targets'")
    return frozenset(values) if values else None


def bool_param(request: web.Request, name: str) -> bool | None:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return None
    lowered = raw.lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise BadRequest(f"query parameter {name!r} must be true or false, got {raw!r}")


def objects_param(request: web.Request) -> frozenset[ObjectType] | None:
    values = [v for v in request.query.getall("objects", []) if v]
    if not values:
        return None
    try:
        return frozenset(ObjectType(v) for v in values)
    except ValueError as exc:
        allowed = ", ".join(o.value for o in ObjectType)
        raise BadRequest(f"query parameter 'objects' takes {allowed}") from exc


def path_id(request: web.Request, name: str) -> str:
    """An object id from the path; one that could never have been issued is simply not found."""
    value = request.match_info[name]
    if not OBJECT_ID.match(value):
        raise NotFound(f"no object with id {value[:130]!r}")
    return value


__all__ = ["OadrError"]
