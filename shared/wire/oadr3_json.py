"""OpenADR 3 JSON codec: bytes <-> models, with schema validation on the way in.

Pure (no I/O). Decoding order: parse JSON, drop null members (the spec treats an optional field
sent as null as absent), validate against the named schema, then build the typed model.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, TypeVar

from pydantic import ValidationError

from shared.errors import BadRequest, SchemaViolation
from shared.models.base import WireModel
from shared.validation import SchemaRegistry, ValuesMapKind, strip_nulls

M = TypeVar("M", bound=WireModel)


def parse_json(body: bytes) -> Any:
    """Parse a JSON body; malformed input is a 400 that says where parsing stopped."""
    try:
        return json.loads(body)
    except UnicodeDecodeError as exc:
        raise BadRequest("request body is not UTF-8") from exc
    except json.JSONDecodeError as exc:
        raise BadRequest(f"malformed JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from exc


# Request schemas whose valuesMaps are also checked against the enumerations (e.g. SIMPLE is 0..3).
_PAYLOAD_KINDS: dict[str, ValuesMapKind] = {
    "eventRequest": "event",
    "reportRequest": "report",
    "programRequest": "program",
    "venRequest": "ven",
    "resourceRequest": "resource",
}


def decode(registry: SchemaRegistry, schema: str, model: type[M], body: bytes) -> M:
    """Bytes -> validated model; raises BadRequest/SchemaViolation with a JSON pointer."""
    return decode_doc(registry, schema, model, parse_json(body))


def decode_doc(registry: SchemaRegistry, schema: str, model: type[M], doc: Any) -> M:
    doc = strip_nulls(doc)
    registry.validate(schema, doc)
    kind = _PAYLOAD_KINDS.get(schema)
    if kind is not None:
        registry.validate_payloads(kind, doc)
    try:
        return model.model_validate(doc)
    except ValidationError as exc:
        # The schema should have caught it; still answer 400 with a pointer, never 500.
        first = exc.errors()[0]
        pointer = "/" + "/".join(str(p) for p in first["loc"]) if first["loc"] else ""
        raise SchemaViolation(first["msg"], pointer=pointer) from exc


def encode(obj: WireModel) -> bytes:
    return json.dumps(obj.to_wire(), separators=(",", ":")).encode()


def encode_list(objs: Sequence[WireModel]) -> bytes:
    return json.dumps([o.to_wire() for o in objs], separators=(",", ":")).encode()


def encode_doc(doc: Any) -> bytes:
    return json.dumps(doc, separators=(",", ":")).encode()
