"""OpenADR 3 JSON codec: bytes <-> models, with schema validation on the way in.

Pure (no I/O). Decoding order: parse JSON, drop null members (the spec treats an optional field
sent as null as absent), validate against the named schema, then build the typed model.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any, TypeVar

from pydantic import ValidationError

from shared.errors import BadRequest, SchemaViolation
from shared.models.base import WireModel
from shared.validation import SchemaRegistry, ValuesMapKind, strip_nulls

M = TypeVar("M", bound=WireModel)


# Real OpenADR documents nest about eight levels; anything far deeper is an attack on the parser.
MAX_DEPTH = 32


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"number {text[:40]} is out of range")
    return value


def parse_json(body: bytes) -> Any:
    """Parse a JSON body; malformed or hostile input is a 400 that says what is wrong."""
    try:
        doc = json.loads(body, parse_constant=_no_constant, parse_float=_finite_float)
    except UnicodeDecodeError as exc:
        raise BadRequest("request body is not UTF-8") from exc
    except json.JSONDecodeError as exc:
        raise BadRequest(f"malformed JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from exc
    except RecursionError as exc:
        raise BadRequest(f"JSON nested deeper than {MAX_DEPTH} levels") from exc
    except ValueError as exc:
        raise BadRequest(f"malformed JSON: {exc}") from exc
    _check_document(doc)
    return doc


def _check_document(doc: Any) -> None:
    """Reject what no store can keep faithfully: deep nesting, NUL characters, lone surrogates."""
    stack: list[tuple[Any, int]] = [(doc, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise BadRequest(f"JSON nested deeper than {MAX_DEPTH} levels")
        if isinstance(node, str):
            _check_text(node)
        elif isinstance(node, dict):
            for key, value in node.items():
                _check_text(key)
                stack.append((value, depth + 1))
        elif isinstance(node, list):
            stack.extend((value, depth + 1) for value in node)


def check_text(value: str, what: str = "a string") -> None:
    """Raise BadRequest for text with NUL characters or lone surrogates (neither can be stored)."""
    if "\x00" in value:
        raise BadRequest(f"{what} contains a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise BadRequest(f"{what} contains an unpaired surrogate") from exc


def _check_text(value: str) -> None:
    check_text(value)


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
    doc = parse_json(body)
    # Only a body that spells `null` somewhere can hold a null member; skip the copying walk otherwise.
    return decode_doc(registry, schema, model, doc, nulls=b"null" in body)


def decode_doc(registry: SchemaRegistry, schema: str, model: type[M], doc: Any, *, nulls: bool = True) -> M:
    if nulls:
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
