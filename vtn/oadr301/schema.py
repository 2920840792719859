"""Validation of OpenADR 3.0.1 request bodies against shared/schemas/openadr3/3.0.1/requests.schema.json.

The file is our own JSON Schema (draft 7), written from the 3.0.1 YAML. Bodies are checked against it
first (errors point into the 3.0.1 document), then translated and checked again by the 3.1 registry,
so everything stored through 3.0.1 also satisfies the 3.1 schemas. Same validator (jsonschema-rs) and
same choice and wording of errors as the 3.1 registry (shared/schema_errors.py).
"""

from __future__ import annotations

import json
from typing import Any

import jsonschema_rs
from aiohttp import web

from shared.resources import schema_dir
from shared.schema_errors import best_error, pattern_labels, violation
from shared.validation import ascii_digits, schema_validator, strip_nulls

SCHEMA_FILE = "openadr3/3.0.1/requests.schema.json"


def _ascii_digits(node: Any) -> Any:
    if isinstance(node, list):
        return [_ascii_digits(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: _ascii_digits(v) for k, v in node.items()}
    if isinstance(out.get("pattern"), str):
        out["pattern"] = ascii_digits(out["pattern"])
    return out


class RequestSchemas:
    """The 3.0.1 request schemas, read on first use; one per application (`app[SCHEMAS]`)."""

    def __init__(self) -> None:
        self._doc: dict[str, Any] | None = None
        self._validators: dict[str, jsonschema_rs.Validator] = {}

    def _document(self) -> dict[str, Any]:
        if self._doc is None:
            doc: dict[str, Any] = json.loads((schema_dir() / SCHEMA_FILE).read_text(encoding="utf-8"))
            self._doc = _ascii_digits(doc)
        return self._doc

    def _validator(self, name: str) -> jsonschema_rs.Validator:
        found = self._validators.get(name)
        if found is None:
            doc = self._document()
            if name not in doc["definitions"]:
                raise KeyError(f"no 3.0.1 request schema named {name!r}")
            found = self._validators[name] = schema_validator(
                {
                    "$schema": doc["$schema"],
                    "$ref": f"#/definitions/{name}",
                    "definitions": doc["definitions"],
                }
            )
        return found

    def validate(self, name: str, doc: Any, *, nulls: bool = True) -> Any:
        """Strip null members, check `doc` against definition `name`, and return the stripped document.

        `nulls=False`: the caller knows `doc` holds no null (its body never spells `null`)."""
        if nulls:
            doc = strip_nulls(doc)
        validator = self._validator(name)
        if validator.is_valid(doc):
            return doc
        error = best_error(validator.iter_errors(doc))
        if error is None:
            return doc
        labels = pattern_labels(self._document()["definitions"])
        raise violation(error, labels, prefix=f"OpenADR 3.0.1 {name}: ")


SCHEMAS = web.AppKey("oadr301_request_schemas", RequestSchemas)
