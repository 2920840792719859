"""What VtnClient sends and how it reads what comes back: query pairs, object paths, request
bodies, and answer documents checked into typed models."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote

from pydantic import ValidationError

from shared.errors import BadRequest
from shared.models import Event, Program, Report, Resource, Subscription, SubscriptionRequest, Ven, WireModel
from ven.client.errors import InvalidAnswer
from ven.client.transport import Params

if TYPE_CHECKING:
    from shared.validation import SchemaRegistry

M = TypeVar("M", bound=WireModel)
QueryValue = str | int | bool | Iterable[str] | None


def query(**values: QueryValue) -> Params:
    """Query pairs in wire names; lists (targets, objects) repeat the parameter, None is left out."""
    pairs: list[tuple[str, str]] = []
    for name, value in values.items():
        if value is None:
            continue
        if isinstance(value, bool):
            pairs.append((name, "true" if value else "false"))
        elif isinstance(value, str | int):
            pairs.append((name, str(value)))
        else:
            pairs.extend((name, str(v)) for v in value)
    return pairs


def object_path(collection: str, object_id: str, suffix: str = "") -> str:
    return f"/{collection}/{quote(object_id, safe='')}{suffix}"


def request_body(req: WireModel) -> dict[str, Any]:
    doc = req.to_wire()
    # `secret` is excluded from dumps so the VTN never echoes it; a client must still send it.
    if isinstance(req, SubscriptionRequest) and req.secret is not None:
        doc["secret"] = req.secret
    return doc


# The component schema each answer is validated against (schemas/openadr3/3.1.0/openapi.json).
_SCHEMAS: dict[type[WireModel], str] = {
    Program: "program",
    Event: "event",
    Report: "report",
    Subscription: "subscription",
    Ven: "ven",
    Resource: "resource",
}


def answer_model(model: type[M], doc: Any, where: str, schemas: SchemaRegistry | None) -> M:
    """An answer document as `model`: checked against its 3.1 schema first when given `schemas`."""
    try:
        if schemas is None:
            return model.from_wire(doc)
        from shared.wire.oadr3_json import decode_doc

        return decode_doc(schemas, _SCHEMAS[model], model, doc)
    except BadRequest as exc:  # SchemaViolation included: the VTN's fault, not ours
        at = f" at {exc.pointer}" if exc.pointer else ""
        raise InvalidAnswer(f"{where}: the VTN sent an invalid {model.__name__}{at}: {exc}") from exc
    except ValidationError as exc:
        raise InvalidAnswer(f"{where}: the VTN sent an invalid {model.__name__}: {exc}") from exc
