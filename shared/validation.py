r"""JSON Schema validation of OpenADR 3.1 documents against our own schemas (shared/schemas/, package data).

`openadr3/3.1.0/openapi.json` is an OpenAPI 3.0 document. Its component schemas are translated once
into JSON Schema draft 7: a discriminated `oneOf`/`anyOf` becomes one `if`/`then` per discriminator value
(so an error names the real field, not "valid under none of the given schemas"), boolean
`exclusiveMaximum` becomes numeric, and `\d` in patterns is spelled `[0-9]` (ECMA-262's meaning, which
then every regex engine agrees on). `nullable` is ignored: callers run `strip_nulls` first, since an
optional member sent as null counts as absent.

jsonschema-rs (a Rust validator) checks the documents: "valid?" for a 24-interval report costs about
5 µs, and only a document it rejects has its errors collected, the best of which becomes the RFC 9457
problem (shared/schema_errors.py). `format` is not asserted (draft 7's default); the date-time fields
carry a pattern instead. tests/shared/test_schema_library.py checks its verdicts against the
`jsonschema` reference implementation on generated and mutated documents.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

import jsonschema_rs

from shared.errors import SchemaViolation
from shared.resources import schema_dir
from shared.schema_errors import best_error, json_pointer, pattern_labels, violation

__all__ = [
    "DRAFT7",
    "SchemaRegistry",
    "ValuesMapKind",
    "ascii_digits",
    "json_pointer",
    "schema_validator",
    "strip_nulls",
    "translate",
]

OPENAPI_PATH = Path("openadr3/3.1.0/openapi.json")
ENUMERATIONS_DIR = Path("openadr3/3.1.0/enumerations")
DRAFT7 = "http://json-schema.org/draft-07/schema#"
_COMPONENTS = "#/components/schemas/"
# The translated document's name inside the validators' registry (a name only: nothing is fetched).
_BASE_URI = "urn:energy-coordination:openadr3:3.1.0:openapi.json"

ValuesMapKind = Literal["event", "report", "program", "ven", "resource"]

# The enumeration file that defines the known valuesMap types of each kind of owning object.
_ENUMERATION_FOR_KIND: dict[str, str] = {
    "event": "event-interval-payloads",
    "report": "report-payloads",
    "program": "program-attributes",
    "ven": "ven-resource-attributes",
    "resource": "ven-resource-attributes",
}


def schema_validator(
    schema: dict[str, Any], registry: jsonschema_rs.Registry | None = None
) -> jsonschema_rs.Validator:
    """A draft 7 validator as every caller here wants it: `format` not asserted, nothing fetched."""
    return jsonschema_rs.Draft7Validator(schema, validate_formats=False, registry=registry)


def _always(_: object) -> bool:
    return True


def strip_nulls(doc: Any) -> Any:
    """Return a copy of `doc` without object members whose value is null, at any depth.

    Nulls inside arrays stay: they are values, not absent members, and must still fail validation.
    """
    if isinstance(doc, dict):
        return {k: strip_nulls(v) for k, v in doc.items() if v is not None}
    if isinstance(doc, list):
        return [strip_nulls(v) for v in doc]
    return doc


class SchemaRegistry:
    """Loads our OpenAPI document once and validates documents against its component schemas.

    Validators are compiled lazily, once per component and per instance (no module-level state), so
    tests can point a registry at another `root`.
    """

    def __init__(self, root: Path | None = None) -> None:
        self.root = root if root is not None else schema_dir()
        openapi_file = self.root / OPENAPI_PATH
        self._openapi: dict[str, Any] = json.loads(openapi_file.read_text(encoding="utf-8"))
        translated = translate(self._openapi)  # a new tree: the shipped document stays as it is
        translated["$schema"] = DRAFT7
        self._components: dict[str, Any] = translated.get("components", {}).get("schemas", {})
        self._registry = jsonschema_rs.Registry([(_BASE_URI, translated)], draft=jsonschema_rs.Draft7)
        self._validators: dict[str, jsonschema_rs.Validator] = {}
        self._labels = pattern_labels(self._components)
        self._enumerations: dict[str, dict[str, Any]] = {}
        self._values_validators: dict[tuple[str, str], jsonschema_rs.Validator | None] = {}
        self._values_by_kind: dict[str, dict[str, Any]] = {}

    # ------------------------------------------------------------------ OpenAPI document

    def openapi_document(self) -> dict[str, Any]:
        """The parsed openapi.json as shipped (shared: do not mutate)."""
        return self._openapi

    def schema_names(self) -> list[str]:
        """Names of the component schemas that `validate` accepts."""
        return list(self._components)

    def component(self, schema: str) -> dict[str, Any]:
        """The translated (draft 7) component `schema` (shared: do not mutate)."""
        found: dict[str, Any] = self._components[schema]
        return found

    def validator(self, schema: str) -> jsonschema_rs.Validator:
        """The validator of component `schema` (KeyError if there is no such component)."""
        found = self._validators.get(schema)
        if found is None:
            if schema not in self._components:
                raise KeyError(f"no component schema named {schema!r}")
            ref = {"$schema": DRAFT7, "$ref": f"{_BASE_URI}{_COMPONENTS}{schema}"}
            found = self._validators[schema] = schema_validator(ref, self._registry)
        return found

    def is_valid(self, schema: str, doc: object) -> bool:
        """Whether `doc` matches component `schema`, without building an error."""
        return self.validator(schema).is_valid(doc)

    def validate(self, schema: str, doc: object) -> None:
        """Raise `SchemaViolation` naming the most relevant offending member of `doc`.

        Pass `strip_nulls(body)` for request bodies: null optional members are otherwise type errors.
        """
        validator = self.validator(schema)
        if validator.is_valid(doc):
            return
        error = best_error(validator.iter_errors(doc))
        if error is not None:
            raise violation(error, self._labels)

    # ------------------------------------------------------------------ enumerations

    def enumeration_schema(self, name: str) -> dict[str, Any]:
        """Parsed `enumerations/{name}.schema.json`, e.g. "event-interval-payloads" or "units"."""
        found = self._enumerations.get(name)
        if found is None:
            path = self.root / ENUMERATIONS_DIR / f"{name}.schema.json"
            found = json.loads(path.read_text(encoding="utf-8"))
            self._enumerations[name] = found
        return found

    def validate_values_map(
        self, kind: ValuesMapKind, type_name: str, values: object, *, pointer: str = ""
    ) -> None:
        """Check the `values` of a valuesMap whose `type` is enumerated for `kind`; private types pass.

        `kind` is the owning object: event (interval payloads), report (payloads), program, ven or
        resource (attributes). `pointer` locates `values` in the enclosing document and prefixes the
        pointer of the raised `SchemaViolation`.
        """
        validator = self._values_validator(kind, type_name)
        if validator is None or validator.is_valid(values):
            return
        error = best_error(validator.iter_errors(values))
        if error is not None:
            found = violation(error, self._labels, prefix=f"{type_name} values: ")
            raise SchemaViolation(found.detail or "", pointer=pointer + (found.pointer or ""))

    def validate_payloads(self, kind: ValuesMapKind, doc: object) -> None:
        """Check every enumerated valuesMap of a schema-valid event, report, program, ven or resource.

        Events: intervals[].payloads[]; reports: resources[].intervals[].payloads[]; others: attributes[].
        """
        if not isinstance(doc, Mapping) or self._payloads_valid(kind, doc):
            return
        for where, values_map in _values_maps(kind, doc):
            if isinstance(values_map, Mapping) and isinstance(values_map.get("type"), str):
                self.validate_values_map(
                    kind, values_map["type"], values_map.get("values"), pointer=where + "/values"
                )

    # ------------------------------------------------------------------ internals

    def _values_validator(self, kind: ValuesMapKind, type_name: str) -> jsonschema_rs.Validator | None:
        """The validator of an enumerated valuesMap type (None: not enumerated for `kind`)."""
        key = (kind, type_name)
        if key in self._values_validators:
            return self._values_validators[key]
        definitions = self.enumeration_schema(_ENUMERATION_FOR_KIND[kind]).get("definitions", {})
        definition = definitions.get(type_name)
        found = None
        if isinstance(definition, dict):
            found = schema_validator({**translate(definition), "$schema": DRAFT7})
        self._values_validators[key] = found
        return found

    def _payloads_valid(self, kind: ValuesMapKind, doc: Mapping[str, Any]) -> bool:
        """validate_payloads' common case, without building a JSON pointer per valuesMap (those
        cost more than the checks); on False, validate_payloads walks again to name the culprit."""
        known = self._values_by_kind.setdefault(kind, {})  # type name -> its is_valid (private: always)
        for values_map in _values_maps_only(kind, doc):
            # Exact type tests first (parsed JSON is dicts and strs): a call less per valuesMap.
            if type(values_map) is dict or _is_mapping(values_map):
                type_name = values_map.get("type")
                if type(type_name) is str or isinstance(type_name, str):
                    check = known.get(type_name)
                    if check is None:
                        found = self._values_validator(kind, type_name)
                        check = known[type_name] = found.is_valid if found is not None else _always
                    if not check(values_map.get("values")):
                        return False
        return True


# ---------------------------------------------------------------------- valuesMap walking


def _values_maps(kind: str, doc: Mapping[str, Any]) -> Iterable[tuple[str, Any]]:
    def items(container: Any, key: str, at: str) -> Iterable[tuple[str, Any]]:
        seq = container.get(key) if isinstance(container, Mapping) else None
        if isinstance(seq, list):
            for i, item in enumerate(seq):
                yield f"{at}/{key}/{i}", item

    if kind == "event":
        for at, interval in items(doc, "intervals", ""):
            yield from items(interval, "payloads", at)
    elif kind == "report":
        for at_r, resource in items(doc, "resources", ""):
            for at_i, interval in items(resource, "intervals", at_r):
                yield from items(interval, "payloads", at_i)
    else:
        yield from items(doc, "attributes", "")


def _is_mapping(x: Any) -> bool:
    # A JSON object is a dict: test that first, the ABC check costs ten times as much.
    return isinstance(x, (dict, Mapping))


def _members(container: Any, key: str) -> list[Any]:
    seq = container.get(key) if _is_mapping(container) else None
    return seq if isinstance(seq, list) else []


def _values_maps_only(kind: str, doc: Mapping[str, Any]) -> list[Any]:
    """What _values_maps yields, without the pointers."""
    if kind == "event":
        return [p for interval in _members(doc, "intervals") for p in _members(interval, "payloads")]
    if kind == "report":
        found: list[Any] = []
        for resource in _members(doc, "resources"):
            for interval in _members(resource, "intervals"):
                # _members inlined for the common case (a dict holding a list): 24+ intervals a report.
                payloads = interval.get("payloads") if type(interval) is dict else None
                found += payloads if type(payloads) is list else _members(interval, "payloads")
        return found
    return _members(doc, "attributes")


# ---------------------------------------------------------------------- OpenAPI 3.0 -> draft 7


def translate(node: Any) -> Any:
    """OpenAPI 3.0 schema dialect -> JSON Schema draft 7, recursively (returns a new tree)."""
    if isinstance(node, list):
        return [translate(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: translate(v) for k, v in node.items()}
    for bound in ("maximum", "minimum"):
        key = "exclusive" + bound.capitalize()
        if isinstance(out.get(key), bool):
            # Draft 4 / OpenAPI 3.0 form: a flag on `maximum`; draft 7 wants the number itself.
            exclusive = out.pop(key)
            if exclusive and bound in out:
                out[key] = out.pop(bound)
    if isinstance(out.get("pattern"), str):
        out["pattern"] = ascii_digits(out["pattern"])
    discriminator = out.get("discriminator")
    if isinstance(discriminator, dict) and "propertyName" in discriminator:
        del out["discriminator"]
        for keyword in ("oneOf", "anyOf"):
            if keyword in out:
                _dispatch(out, keyword, discriminator)
                break
    return out


def _dispatch(schema: dict[str, Any], keyword: str, discriminator: dict[str, Any]) -> None:
    """Replace `oneOf`/`anyOf` + discriminator by a check of the discriminator and one `if`/`then` per value.

    With plain oneOf, a typo deep inside a ven body would only yield "not valid under any of the given
    schemas"; dispatching on the discriminator validates exactly the selected branch.
    """
    prop = discriminator["propertyName"]
    mapping: dict[str, str] = dict(discriminator.get("mapping", {}))
    if not mapping:
        raise ValueError(f"discriminator on {prop!r} needs an explicit mapping")
    del schema[keyword]
    schema["type"] = "object"
    schema["required"] = sorted({*schema.get("required", []), prop})
    schema["properties"] = {**schema.get("properties", {}), prop: {"type": "string", "enum": list(mapping)}}
    branches = [
        {"if": {"required": [prop], "properties": {prop: {"const": value}}}, "then": {"$ref": target}}
        for value, target in mapping.items()
    ]
    schema["allOf"] = [*schema.get("allOf", []), *branches]


_REGEX_TOKEN = re.compile(r"\\.|\[|\]")  # an escape, or a character-class bracket


def ascii_digits(pattern: str) -> str:
    r"""`\d` spelled as ECMA-262 means it, `[0-9]`: some engines (Python's, fancy-regex inside a
    lookahead) also match other scripts' digits."""
    out: list[str] = []
    in_class = False
    pos = 0
    for m in _REGEX_TOKEN.finditer(pattern):
        out.append(pattern[pos : m.start()])
        token = m.group()
        if token == r"\d":
            token = "0-9" if in_class else "[0-9]"
        elif token == "[":
            in_class = True
        elif token == "]":
            in_class = False
        out.append(token)
        pos = m.end()
    out.append(pattern[pos:])
    return "".join(out)
