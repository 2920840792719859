"""Request and response plumbing of the 3.0.1 API: bodies in, documents out, writes with notifications."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from aiohttp import web

from shared.enums import Operation
from shared.errors import BadRequest, PayloadTooLarge
from shared.models.base import WireModel
from shared.wire.oadr3_json import decode_doc, encode_doc, parse_json
from vtn.audit.record import origin
from vtn.core.queries import Tx
from vtn.handlers.http_io import caller, json_answer, state
from vtn.http_answer import Answer
from vtn.oadr301 import schema
from vtn.oadr301.targets import query_targets
from vtn.services.notifier import AnyObject

M = TypeVar("M", bound=WireModel)

Doc = dict[str, Any]


async def read_doc(request: web.Request, name: str) -> Doc:
    """The JSON body, nulls stripped and checked against 3.0.1 request schema `name`."""
    return (await read_body(request, name))[1]


async def read_body(request: web.Request, name: str) -> tuple[bytes, Doc]:
    """read_doc, and the body it was parsed from."""
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge as exc:
        raise PayloadTooLarge(f"request body over {state(request).config.max_body_bytes} bytes") from exc
    if not raw:
        raise BadRequest("request body is empty; a JSON object is expected")
    doc = parse_json(raw)
    if not isinstance(doc, dict):
        raise BadRequest("the request body must be a JSON object")
    # Only a body that spells `null` somewhere can hold a null member; skip the copying walk otherwise.
    validated: Doc = request.app[schema.SCHEMAS].validate(name, doc, nulls=b"null" in raw)
    return raw, validated


def as_31(request: web.Request, schema31: str, model: type[M], doc31: Doc) -> M:
    """Check a translated document against the 3.1 schemas (and enumerations) and build the model."""
    return decode_doc(state(request).registry, schema31, model, doc31)


def respond(doc: Any, status: int = 200) -> web.StreamResponse:
    return Answer(encode_doc(doc), status)


def respond_body(body: bytes, status: int = 200) -> web.StreamResponse:
    """An answer already encoded (vtn/oadr301/converted.py, outbound.stored_report_answer)."""
    return json_answer(body, status)


async def cached_answer(
    request: web.Request, key: tuple[object, ...], build: Callable[[], Awaitable[bytes]]
) -> web.StreamResponse:
    """An answer from the read cache (kept until a write drops it, as the 3.1 lists'), or built.

    `key` must hold everything the answer depends on: the permission, never the client."""
    core = state(request).core
    found = core.cached_answer(key)
    if found is None:
        found = await core.cached(key, build)
    return json_answer(found)


async def write(
    request: web.Request,
    operation: Operation,
    work: Callable[[Tx], Awaitable[tuple[AnyObject, Doc]]],
    status: int = 200,
) -> web.StreamResponse:
    """Run a write through the core's write path (one transaction, notifications, cascades) and
    answer in 3.0.1."""
    out: list[Doc] = []

    async def run(tx: Tx) -> AnyObject:
        obj, doc = await work(tx)
        out.append(doc)
        return obj

    # BL writes leave an audit row in the same transaction (vtn/audit), as through 3.1.0.
    await state(request).core.write(caller(request), operation, run, origin(request))
    # The last run is the committed one (group commit may run a unit of work twice).
    return respond(out[-1], status)


def targets_query(request: web.Request) -> frozenset[str] | None:
    """3.0.1 `targetType` + `targetValues` as the 3.1 `targets` filter."""
    return query_targets(request.query.get("targetType"), request.query.getall("targetValues", []))
