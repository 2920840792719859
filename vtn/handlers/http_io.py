"""What the JSON front-ends' handlers share: the caller, body decoding, query parsing, responses.

The 3.1 handlers use all of it; the 3.0.1 layer uses the query parsing and `caller`. Writes and
reads go to the core (`state(request).core`), never to storage.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from aiohttp import web

from shared.enums import ObjectType, Operation
from shared.errors import BadRequest, NotFound, PayloadTooLarge
from shared.models.base import WireModel
from shared.wire import oadr3_json
from shared.wire.oadr3_json import check_text
from vtn.audit.record import origin
from vtn.core.queries import MAX_LIMIT, Page, Tx
from vtn.core.state import Handler, caller, state
from vtn.http_answer import Answer
from vtn.services.notifier import AnyObject

M = TypeVar("M", bound=WireModel)
IdT = TypeVar("IdT", bound=str)
Obj = TypeVar("Obj", bound=AnyObject)


# The spec's objectID: ids outside it cannot exist, so they are answered 404 without a query.
OBJECT_ID = re.compile(r"^[a-zA-Z0-9_-]{1,128}\Z")
# The OpenAPI document bounds skip to int32.
MAX_SKIP = 2**31 - 1

__all__ = ["Handler", "caller", "state"]


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


def json_answer(body: bytes, status: int = 200) -> Answer:
    """The JSON answer `body`."""
    return Answer(body, status)


def respond(obj: WireModel, status: int = 200) -> Answer:
    return Answer(oadr3_json.encode(obj), status)


def respond_stored(text: str, model: type[WireModel]) -> Answer:
    """The answer for an object read as its stored document (the services' *_text reads)."""
    return Answer(oadr3_json.encode_stored(text, lambda: model.model_validate_json(text)))


def respond_stored_list(texts: Sequence[str], model: type[WireModel]) -> Answer:
    return json_answer(oadr3_json.encode_stored_list(texts, model))


async def mutate(
    request: web.Request, operation: Operation, work: Callable[[Tx], Awaitable[Obj]], status: int = 200
) -> web.StreamResponse:
    """Write through the core (one transaction with its notifications); answer after the commit."""
    core = state(request).core
    # BL writes leave an audit row in the same transaction (vtn/audit): the origin says where from.
    obj = await core.write(caller(request), operation, work, origin(request))
    return Answer(oadr3_json.encode(obj, core.stored_texts), status)


async def cached_list(
    request: web.Request,
    key: tuple[object, ...],
    build: Callable[[], Awaitable[Sequence[WireModel]]],
    *,
    clocked: bool = False,
) -> Answer:
    """Serve a list answer from the core's read cache, or build, encode and keep it.

    `clocked`: the answer also depends on the time (e.g. `active=true`), not only on what is stored.
    """
    core = state(request).core
    body_bytes = core.cached_answer(key)  # the hot path of polling VENs: no more than a lookup
    if body_bytes is None:

        async def encoded() -> bytes:
            return oadr3_json.encode_list(await build())

        body_bytes = await core.cached(key, encoded, clocked=clocked)
    return json_answer(body_bytes)


async def cached_stored_list(
    request: web.Request,
    key: tuple[object, ...],
    build: Callable[[], Awaitable[Sequence[str]]],
    model: type[WireModel],
    *,
    clocked: bool = False,
) -> Answer:
    """cached_list for a list read as stored documents."""
    core = state(request).core
    body_bytes = core.cached_answer(key)
    if body_bytes is None:

        async def encoded() -> bytes:
            return oadr3_json.encode_stored_list(await build(), model)

        body_bytes = await core.cached(key, encoded, clocked=clocked)
    return json_answer(body_bytes)


def respond_list(objs: Sequence[WireModel]) -> Answer:
    return json_answer(oadr3_json.encode_list(objs))


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
        max_bytes=state(request).config.list_max_bytes or None,
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


def id_param(request: web.Request, name: str, kind: Callable[[str], IdT]) -> IdT | None:
    """An id query parameter (e.g. `programID`) as the id type `kind` (a NewType of shared.models)."""
    value = text_param(request, name)
    return None if value is None else kind(value)


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
