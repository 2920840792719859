"""Validation of OpenADR 3.0.1 request bodies against schemas/openadr3/3.0.1/requests.schema.json.

The file is our own JSON Schema (draft 7), written from the 3.0.1 YAML. Bodies are checked against it
first (errors point into the 3.0.1 document), then translated and checked again by the 3.1 registry,
so everything stored through 3.0.1 also satisfies the 3.1 schemas.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from jsonschema import Draft7Validator
from jsonschema.exceptions import best_match

from shared.errors import SchemaViolation
from shared.validation import json_pointer, strip_nulls

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "schemas" / "openadr3" / "3.0.1" / "requests.schema.json"
_MAX_DETAIL = 240


def _python_patterns(node: Any) -> Any:
    r"""ECMA-262 -> Python `re.search`: `\d` is ASCII only, a final `$` must not match before a newline."""
    if isinstance(node, list):
        return [_python_patterns(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: _python_patterns(v) for k, v in node.items()}
    pattern = out.get("pattern")
    if isinstance(pattern, str):
        pattern = pattern.replace(r"\d", "[0-9]")
        out["pattern"] = pattern[:-1] + r"\Z" if pattern.endswith("$") else pattern
    return out


@lru_cache(maxsize=1)
def _document() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    return _python_patterns(doc)  # type: ignore[no-any-return]


@lru_cache(maxsize=16)
def _validator(name: str) -> Draft7Validator:
    doc = _document()
    if name not in doc["definitions"]:
        raise KeyError(f"no 3.0.1 request schema named {name!r}")
    schema = {"$ref": f"#/definitions/{name}", "definitions": doc["definitions"]}
    return Draft7Validator(schema)


def validate(name: str, doc: Any) -> Any:
    """Strip null members, check `doc` against definition `name`, and return the stripped document."""
    doc = strip_nulls(doc)
    error = best_match(_validator(name).iter_errors(doc))
    if error is None:
        return doc
    parts: list[str | int] = list(error.absolute_path)
    if error.validator == "required" and isinstance(error.instance, dict):
        missing = [n for n in error.validator_value if n not in error.instance]
        if missing:
            parts.append(missing[0])
    detail = error.message if len(error.message) <= _MAX_DETAIL else error.message[: _MAX_DETAIL - 1] + "…"
    raise SchemaViolation(f"OpenADR 3.0.1 {name}: {detail}", pointer=json_pointer(parts))
