"""From jsonschema-rs errors to RFC 9457 problems: which error to report, where, and how to say it.

jsonschema-rs lists every error of a document. The one reported is chosen the way the `jsonschema`
library's `best_match` chooses (so pointers stayed what they were when that library decided): the
shallowest instance path, i.e. the outermost thing that is wrong; at equal depth a specific keyword
before an `anyOf`/`oneOf`; and inside an `anyOf`/`oneOf`, the deepest error of the branches whose
type the value has (a point without `y` is reported as a missing `y`, not as "matches no branch").
A missing member is pointed at itself, not at the object that lacks it.

Details are short and never embed a whole offending value, which may be huge or a secret.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from jsonschema_rs import ValidationError, ValidationErrorKind

from shared.errors import SchemaViolation

__all__ = ["best_error", "json_pointer", "pattern_labels", "violation"]

MAX_DETAIL = 240
_WEAK = frozenset({"anyOf", "oneOf"})
_DATE_TIME_LABEL = "an RFC 3339 date-time with a UTC offset"

# Readable names for pattern failures of these named schemas (the raw regexes are unreadable).
_NAMED_PATTERNS: dict[str, str] = {
    "duration": "an ISO 8601 duration",
    "objectID": "an objectID (1 to 128 of A-Z a-z 0-9 _ -)",
}

_LIMIT = {
    "minLength": "at least",
    "maxLength": "at most",
    "minItems": "at least",
    "maxItems": "at most",
    "minimum": "less than the minimum of",
    "maximum": "greater than the maximum of",
    "exclusiveMinimum": "not greater than",
    "exclusiveMaximum": "not less than",
}


def json_pointer(parts: Iterable[str | int]) -> str:
    """RFC 6901 pointer for a path of member names and array indexes ("" is the whole document)."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def pattern_labels(named: Mapping[str, Any]) -> dict[str, str]:
    """Pattern -> readable name, for the named schemas in `named` and every date-time pattern below them."""
    labels: dict[str, str] = {}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("format") == "date-time" and isinstance(node.get("pattern"), str):
                labels[node["pattern"]] = _DATE_TIME_LABEL
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(dict(named))
    for name, label in _NAMED_PATTERNS.items():
        pattern = named.get(name, {}).get("pattern")
        if isinstance(pattern, str):
            labels[pattern] = label
    return labels


def best_error(errors: Iterable[ValidationError]) -> ValidationError | None:
    """The error to report among `errors` (None if there is none)."""
    best = max(errors, key=_relevance, default=None)
    while best is not None:
        inner = _branch_error(best)
        if inner is None:
            return best
        best = inner
    return best


def violation(
    error: ValidationError, labels: Mapping[str, str] | None = None, prefix: str = ""
) -> SchemaViolation:
    """The problem for `error`: its pointer, and a short detail (`prefix` + description)."""
    parts: list[str | int] = list(error.instance_path)
    if isinstance(error.kind, ValidationErrorKind.Required):
        parts.append(error.kind.property)
    detail = prefix + describe(error, labels or {})
    if len(detail) > MAX_DETAIL:
        detail = detail[: MAX_DETAIL - 1] + "…"
    return SchemaViolation(detail, pointer=json_pointer(parts))


def describe(error: ValidationError, labels: Mapping[str, str]) -> str:
    """What is wrong, in one short sentence."""
    keyword, facts, value = error.kind.name, error.kind.as_dict(), error.instance
    if keyword == "required":
        return f"{facts['property']!r} is a required property"
    if keyword == "pattern":
        label = labels.get(facts["pattern"])
        if label:
            return f"{_show(value)} is not {label}"
        return f"{_show(value)} does not match the pattern {facts['pattern']}"
    if keyword in ("minLength", "maxLength") and isinstance(value, str):
        side = "short" if keyword == "minLength" else "long"
        return f"string is too {side}: {len(value)} characters, {_LIMIT[keyword]} {facts['limit']}"
    if keyword in ("minItems", "maxItems") and isinstance(value, list):
        side = "few" if keyword == "minItems" else "many"
        return f"array has too {side} items: {len(value)}, {_LIMIT[keyword]} {facts['limit']}"
    if keyword == "type":
        return f"{_show(value)} is not of type {_alternatives(facts['types'])}"
    if keyword in _LIMIT:
        return f"{_show(value)} is {_LIMIT[keyword]} {facts['limit']}"
    if keyword == "enum":
        return f"{_show(value)} is not one of {facts['options']!r}"
    if keyword == "const":
        return f"{_show(value)} is not {facts['expected_value']!r}"
    if isinstance(error.kind, ValidationErrorKind.OneOfMultipleValid):
        return f"{_show(value)} matches more than one of the allowed forms"
    if keyword in _WEAK:
        types = _branch_types(error)
        if types:  # every branch failed on the type alone: say which types would do
            return f"{_show(value)} is not of type {_alternatives(types)}"
        return f"{_show(value)} matches none of the allowed forms"
    return str(error.message)


def _relevance(error: ValidationError) -> tuple[int, bool]:
    return (-len(error.instance_path), error.kind.name not in _WEAK)


def _context(error: ValidationError) -> list[list[ValidationError]]:
    """The errors of each branch of an anyOf/oneOf that no branch satisfied ([] for anything else)."""
    kind = error.kind
    if isinstance(kind, (ValidationErrorKind.AnyOf, ValidationErrorKind.OneOfNotValid)):
        return kind.context
    return []


def _branch_error(error: ValidationError) -> ValidationError | None:
    """The error inside an anyOf/oneOf that says more than it does (None: the anyOf/oneOf itself)."""
    depth = len(error.instance_path)
    candidates = [
        e
        for branch in _context(error)
        for e in branch
        if not (e.kind.name == "type" and len(e.instance_path) == depth)  # a branch of another type
    ]
    if not candidates:
        return None
    deepest = max(len(e.instance_path) for e in candidates)
    found = [e for e in candidates if len(e.instance_path) == deepest]
    # Two equally deep errors from different places: no single one explains the failure.
    return found[0] if len(found) == 1 else None


def _branch_types(error: ValidationError) -> list[str]:
    """The types the branches allow, if each branch failed only on the value's type."""
    depth = len(error.instance_path)
    types: list[str] = []
    for branch in _context(error):
        if not branch or any(e.kind.name != "type" or len(e.instance_path) != depth for e in branch):
            return []
        for e in branch:
            types += [t for t in e.kind.as_dict()["types"] if t not in types]
    return types


def _alternatives(names: Iterable[str]) -> str:
    return " or ".join(repr(n) for n in names)


def _show(value: Any) -> str:
    """The offending value as short JSON (null, not None)."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 40 else text[:39] + "…"
