"""JSON Schema validation of OpenADR 3.1 documents against our own `schemas/` (no web framework, no ORM).

`schemas/openadr3/3.1.0/openapi.json` is an OpenAPI 3.0 document. Its component schemas are translated once
into JSON Schema draft 7: a discriminated `oneOf`/`anyOf` becomes one `if`/`then` per discriminator value
(so an error names the real field, not "valid under none of the given schemas"), boolean
`exclusiveMaximum` becomes numeric, and ECMA-262 regexes get Python equivalents. `nullable` is ignored:
callers run `strip_nulls` first, since an optional member sent as null counts as absent.

jsonschema is the authority and produces every error. Because it needs about 3 ms for a 24-interval event,
each schema is also compiled into plain Python predicates that answer "valid?" an order of magnitude
faster; jsonschema only runs when that answer is no.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

from jsonschema.exceptions import ValidationError, best_match
from jsonschema.protocols import Validator
from jsonschema.validators import validator_for
from referencing import Registry
from referencing.jsonschema import DRAFT7

from shared.errors import SchemaViolation
from shared.fast_schema import Check, FastCompiler, Unsupported, always
from shared.schema_codegen import CodegenCompiler

__all__ = ["SchemaRegistry", "ValuesMapKind", "json_pointer", "strip_nulls"]

OPENAPI_PATH = Path("openadr3/3.1.0/openapi.json")
ENUMERATIONS_DIR = Path("openadr3/3.1.0/enumerations")
_DRAFT7 = "http://json-schema.org/draft-07/schema#"
_COMPONENTS = "#/components/schemas/"
_MAX_DETAIL = 240

ValuesMapKind = Literal["event", "report", "program", "ven", "resource"]

# The enumeration file that defines the known valuesMap types of each kind of owning object.
_ENUMERATION_FOR_KIND: dict[str, str] = {
    "event": "event-interval-payloads",
    "report": "report-payloads",
    "program": "program-attributes",
    "ven": "ven-resource-attributes",
    "resource": "ven-resource-attributes",
}

# Readable names for pattern failures of these components (the raw regexes are unreadable).
_PATTERN_LABELS: dict[str, str] = {
    "duration": "an ISO 8601 duration",
    "objectID": "an objectID (1 to 128 of A-Z a-z 0-9 _ -)",
}


def _default_root() -> Path:
    return Path(__file__).resolve().parent.parent / "schemas"


def strip_nulls(doc: Any) -> Any:
    """Return a copy of `doc` without object members whose value is null, at any depth.

    Nulls inside arrays stay: they are values, not absent members, and must still fail validation.
    """
    if isinstance(doc, dict):
        return {k: strip_nulls(v) for k, v in doc.items() if v is not None}
    if isinstance(doc, list):
        return [strip_nulls(v) for v in doc]
    return doc


def json_pointer(parts: Iterable[str | int]) -> str:
    """RFC 6901 pointer for a path of member names and array indexes ("" is the whole document)."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


class SchemaRegistry:
    """Loads our OpenAPI document once and validates documents against its component schemas.

    Validators are compiled lazily, once per component and per instance (no module-level state), so
    tests can point a registry at another `root`.
    """

    def __init__(self, root: Path | None = None) -> None:
        self.root = root if root is not None else _default_root()
        openapi_file = self.root / OPENAPI_PATH
        self._openapi: dict[str, Any] = json.loads(openapi_file.read_text(encoding="utf-8"))
        translated = _translate(self._openapi)  # a new tree: the shipped document stays as it is
        translated["$schema"] = _DRAFT7
        self._components: dict[str, Any] = translated.get("components", {}).get("schemas", {})
        self._base_uri = openapi_file.resolve().as_uri()
        self._registry: Registry[Any] = Registry().with_resource(
            self._base_uri, DRAFT7.create_resource(translated)
        )
        self._validator_cls: type[Validator] = validator_for(translated)
        self._validators: dict[str, Validator] = {}
        self._fast = FastCompiler(self._component_for_ref)
        self._codegen = CodegenCompiler(self._fast, self._component_for_ref)
        self._checks: dict[str, Check] = {}
        self._pattern_labels = {
            self._components[name]["pattern"]: label
            for name, label in _PATTERN_LABELS.items()
            if "pattern" in self._components.get(name, {})
        }
        self._enumerations: dict[str, dict[str, Any]] = {}
        self._values_checks: dict[tuple[str, str], tuple[Check, Validator] | None] = {}
        self._values_by_kind: dict[str, dict[str, Check]] = {}

    # ------------------------------------------------------------------ OpenAPI document

    def openapi_document(self) -> dict[str, Any]:
        """The parsed openapi.json as shipped (shared: do not mutate)."""
        return self._openapi

    def schema_names(self) -> list[str]:
        """Names of the component schemas that `validate` accepts."""
        return list(self._components)

    def validator(self, schema: str) -> Validator:
        """The jsonschema validator of component `schema` (KeyError if there is no such component)."""
        found = self._validators.get(schema)
        if found is None:
            if schema not in self._components:
                raise KeyError(f"no component schema named {schema!r}")
            ref = {"$ref": f"{self._base_uri}{_COMPONENTS}{schema}"}
            found = self._validator_cls(ref, registry=self._registry)
            self._validators[schema] = found
        return found

    def is_valid(self, schema: str, doc: object) -> bool:
        """Whether `doc` matches component `schema`, without building an error."""
        if self._check(schema)(doc):
            return True
        # The predicate mirrors jsonschema (a test fuzzes both); were it ever stricter, jsonschema decides.
        return bool(self.validator(schema).is_valid(doc))

    def validate(self, schema: str, doc: object) -> None:
        """Raise `SchemaViolation` naming the most relevant offending member of `doc`.

        Pass `strip_nulls(body)` for request bodies: null optional members are otherwise type errors.
        """
        if self._check(schema)(doc):
            return
        error = best_match(self.validator(schema).iter_errors(doc))
        if error is not None:
            raise self._violation(error)

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
        compiled = self._values_check(kind, type_name)
        if compiled is None or compiled[0](values):
            return
        error = best_match(compiled[1].iter_errors(values))
        if error is not None:
            violation = self._violation(error)
            raise SchemaViolation(
                f"{type_name} values: {violation.detail}", pointer=pointer + (violation.pointer or "")
            )

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

    def _values_check(self, kind: ValuesMapKind, type_name: str) -> tuple[Check, Validator] | None:
        """The compiled check of an enumerated valuesMap type (None: not enumerated for `kind`)."""
        key = (kind, type_name)
        if key in self._values_checks:
            return self._values_checks[key]
        definitions = self.enumeration_schema(_ENUMERATION_FOR_KIND[kind]).get("definitions", {})
        definition = definitions.get(type_name)
        compiled = None
        if isinstance(definition, dict):
            translated = _translate(definition)
            compiled = (self._codegen.compile(translated), self._validator_cls(translated))
        self._values_checks[key] = compiled
        return compiled

    def _payloads_valid(self, kind: ValuesMapKind, doc: Mapping[str, Any]) -> bool:
        """validate_payloads' common case, without building a JSON pointer per valuesMap (those
        cost more than the checks); on False, validate_payloads walks again to name the culprit."""
        known = self._values_by_kind.setdefault(kind, {})  # type name -> its check (`always`: private)
        for values_map in _values_maps_only(kind, doc):
            if _is_mapping(values_map):
                type_name = values_map.get("type")
                if isinstance(type_name, str):
                    check = known.get(type_name)
                    if check is None:
                        compiled = self._values_check(kind, type_name)
                        check = known[type_name] = compiled[0] if compiled is not None else always
                    if not check(values_map.get("values")):
                        return False
        return True

    def _component_for_ref(self, ref: str) -> Any:
        if not ref.startswith(_COMPONENTS):
            raise Unsupported(ref)
        return self._components[ref[len(_COMPONENTS) :]]

    def _check(self, schema: str) -> Check:
        found = self._checks.get(schema)
        if found is None:
            if schema not in self._components:
                raise KeyError(f"no component schema named {schema!r}")
            try:
                found = self._codegen.compile(self._components[schema])
            except Unsupported:
                found = self.validator(schema).is_valid
            self._checks[schema] = found
        return found

    def _violation(self, error: ValidationError) -> SchemaViolation:
        parts: list[str | int] = list(error.absolute_path)
        if error.validator == "required" and isinstance(error.instance, Mapping):
            # Point at the missing member itself, not at the object that lacks it.
            for name in error.validator_value:
                if name not in error.instance and error.message.startswith(repr(name)):
                    parts.append(name)
                    break
        detail = self._describe(error)
        if len(detail) > _MAX_DETAIL:
            detail = detail[: _MAX_DETAIL - 1] + "…"
        return SchemaViolation(detail, pointer=json_pointer(parts))

    def _describe(self, error: ValidationError) -> str:
        """A short message: jsonschema's embed the whole offending value, which may be huge or a secret."""
        keyword, expected, value = error.validator, error.validator_value, error.instance
        if keyword == "pattern":
            if error.schema.get("format") == "date-time":
                return f"{_show(value)} is not an RFC 3339 date-time with a UTC offset"
            label = self._pattern_labels.get(expected)
            return f"{_show(value)} is not {label}" if label else f"{_show(value)} does not match the pattern"
        if keyword in ("minLength", "maxLength"):
            side = "short" if keyword == "minLength" else "long"
            return f"string is too {side}: {len(value)} characters, {_LIMIT[keyword]} {expected}"
        if keyword in ("minItems", "maxItems"):
            side = "few" if keyword == "minItems" else "many"
            return f"array has too {side} items: {len(value)}, {_LIMIT[keyword]} {expected}"
        if keyword == "type":
            names = [expected] if isinstance(expected, str) else list(expected)
            return f"{_show(value)} is not of type {' or '.join(repr(n) for n in names)}"
        if keyword in _LIMIT:
            return f"{_show(value)} is {_LIMIT[keyword]} {expected}"
        if keyword == "enum":
            return f"{_show(value)} is not one of {expected!r}"
        return str(error.message)


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


def _show(value: Any) -> str:
    """The offending value as short JSON (null, not None)."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 40 else text[:39] + "…"


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
        return [
            p
            for resource in _members(doc, "resources")
            for interval in _members(resource, "intervals")
            for p in _members(interval, "payloads")
        ]
    return _members(doc, "attributes")


# ---------------------------------------------------------------------- OpenAPI 3.0 -> draft 7


def _translate(node: Any) -> Any:
    """OpenAPI 3.0 schema dialect -> JSON Schema draft 7, recursively (returns a new tree)."""
    if isinstance(node, list):
        return [_translate(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: _translate(v) for k, v in node.items()}
    for bound in ("maximum", "minimum"):
        key = "exclusive" + bound.capitalize()
        if isinstance(out.get(key), bool):
            # Draft 4 / OpenAPI 3.0 form: a flag on `maximum`; draft 7 wants the number itself.
            exclusive = out.pop(key)
            if exclusive and bound in out:
                out[key] = out.pop(bound)
    if isinstance(out.get("pattern"), str):
        out["pattern"] = _python_pattern(out["pattern"])
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


def _python_pattern(pattern: str) -> str:
    r"""Make an ECMA-262 pattern behave the same under Python's `re.search`.

    Python's `\d` also matches non-ASCII digits and its `$` also matches before a final newline.
    """
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
    result = "".join(out)
    if result.endswith("$"):
        head = result[:-1]
        if (len(head) - len(head.rstrip("\\"))) % 2 == 0:  # an even run of backslashes: `$` is an anchor
            result = head + r"\Z"
    return result
