"""jsonschema-rs (what shared.validation runs) against `jsonschema` (the reference implementation).

Documents are generated from the translated component schemas themselves (one per discriminator
branch and anyOf branch), taken from the spec examples, and mutated one place at a time (a member
dropped, a value replaced by junk or by a near miss of a pattern); both libraries must give every
one the same verdict, and a rejected one must yield a problem pointer that exists in the document
or names the missing member. The reference sees the patterns in Python's dialect (`$` -> `\\Z`), as
the old validator did; jsonschema-rs reads them as ECMA-262, which the schema files are written in.
"""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft7Validator
from referencing import Registry
from referencing.jsonschema import DRAFT7

from shared.errors import SchemaViolation
from shared.validation import DRAFT7 as DRAFT7_URI
from shared.validation import SchemaRegistry, strip_nulls, translate

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = json.loads((ROOT / "tests" / "fixtures" / "openadr3_examples.json").read_text(encoding="utf-8"))
_COMPONENTS = "#/components/schemas/"

# What the VTN validates on the way in, and the VEN on the way in from the VTN.
SCHEMAS = [
    "programRequest", "eventRequest", "reportRequest", "subscriptionRequest", "venRequest",
    "resourceRequest", "clientCredentialRequest", "BlVenRequest", "VenVenRequest", "BlResourceRequest",
    "VenResourceRequest", "program", "event", "report", "subscription", "ven", "resource", "notification",
    "problem", "intervalPeriod",
]  # fmt: skip

# Values that pass or just miss the schemas' patterns and bounds, and values of every JSON type.
SAMPLES: dict[str, str] = {
    "duration": "PT1H",
    "objectID": "object-1",
    "date-time": "2024-06-01T00:00:00Z",
}
NEAR_MISSES: list[Any] = [
    "PT1H\n", "PT\uff11H", "P", "PT", "-P1D", "P1W", "PT0.5S", "P1Y2M3DT4H5M6.7S", "1H",
    "2024-06-01T00:00:00Z\n", "2024-06-01T00:00:00", "2024-13-01T00:00:00Z", "2024-06-01 00:00:00+05:30",
    "2024-06-01t00:00:00z", "0001-01-01", "0001-01-01T00:00:00", "\uff12024-06-01T00:00:00Z",
    "a b", "a/b", "x" * 128, "x" * 129, "", "é", "e1\n",
    -1, 0, 1, 3, 4, 100, 101, 2**31 - 1, 2**31, -(2**31), 1.5, 1.0, float("1e308"),
    None, True, False, [], [None], {}, {"x": 1}, {"x": 1, "y": 2}, "GET", "READ", "PATCH", "EVENT",
]  # fmt: skip


def python_dialect(node: Any) -> Any:
    r"""ECMA-262 patterns as Python's `re.search` must see them: a final `$` does not match before "\n"."""
    if isinstance(node, list):
        return [python_dialect(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: python_dialect(v) for k, v in node.items()}
    pattern = out.get("pattern")
    if isinstance(pattern, str) and pattern.endswith("$") and not pattern.endswith("\\$"):
        out["pattern"] = pattern[:-1] + r"\Z"
    return out


class Reference:
    """The `jsonschema` library's verdicts on the same translated document."""

    def __init__(self, registry: SchemaRegistry) -> None:
        document = python_dialect(translate(registry.openapi_document()))
        document["$schema"] = DRAFT7_URI
        self._uri = "urn:reference:openapi.json"
        self._registry: Registry[Any] = Registry().with_resource(self._uri, DRAFT7.create_resource(document))
        self._validators: dict[str, Draft7Validator] = {}

    def is_valid(self, schema: str, doc: Any) -> bool:
        found = self._validators.get(schema)
        if found is None:
            ref = {"$ref": f"{self._uri}{_COMPONENTS}{schema}"}
            found = self._validators[schema] = Draft7Validator(ref, registry=self._registry)
        return bool(found.is_valid(doc))


class Generator:
    """Builds documents that follow a translated schema, choosing branches at random."""

    def __init__(self, registry: SchemaRegistry, rng: random.Random) -> None:
        self._registry = registry
        self._rng = rng

    def document(self, schema: str) -> Any:
        return self.make(self._registry.component(schema), depth=0)

    def make(self, schema: Any, depth: int) -> Any:
        rng = self._rng
        if not isinstance(schema, dict) or depth > 40:
            return "x"
        if "$ref" in schema:
            return self.make(self._registry.component(schema["$ref"][len(_COMPONENTS) :]), depth + 1)
        if "anyOf" in schema or "oneOf" in schema:
            return self.make(rng.choice(schema.get("anyOf") or schema["oneOf"]), depth + 1)
        if "enum" in schema:
            return rng.choice(schema["enum"])
        if "const" in schema:
            return schema["const"]
        if "pattern" in schema:
            name = "date-time" if schema.get("format") == "date-time" else None
            for key in SAMPLES:
                if schema["pattern"] == self._pattern_of(key):
                    name = key
            return SAMPLES[name or "objectID"]
        kind = schema.get("type")
        if kind == "object" or "properties" in schema:
            return self._object(schema, depth)
        if kind == "array":
            count = max(schema.get("minItems", 0), rng.randint(0, 2))
            count = min(count, schema.get("maxItems", count))
            return [self.make(schema.get("items", {}), depth + 1) for _ in range(count)]
        if kind == "string":
            low, high = schema.get("minLength", 0), schema.get("maxLength", 12)
            return "s" * rng.randint(max(low, 1) if high else 0, min(high, max(low, 1) + 4))
        if kind in ("integer", "number"):
            low = schema.get("minimum", schema.get("exclusiveMinimum", -10) + 1)
            high = schema.get("maximum", schema.get("exclusiveMaximum", 1000) - 1)
            value = rng.randint(int(low), int(high))
            return value if kind == "integer" or rng.random() < 0.5 else value + 0.5 * (value < high)
        if kind == "boolean":
            return rng.random() < 0.5
        return rng.choice([1, "s", True])

    def _object(self, schema: dict[str, Any], depth: int) -> dict[str, Any]:
        rng = self._rng
        out: dict[str, Any] = {}
        for part in schema.get("allOf", []):  # the parts first: the object's own properties pin them
            if "if" not in part:
                made = self.make(part, depth + 1)
                out.update(made if isinstance(made, dict) else {})
        required = set(schema.get("required", []))
        for name, sub in schema.get("properties", {}).items():
            pinned = isinstance(sub, dict) and len(sub.get("enum", ())) == 1  # e.g. objectType PROGRAM
            if name in required or name in out or pinned or rng.random() < 0.7:
                out[name] = self.make(sub, depth + 1)
        branches = [b for b in schema.get("allOf", []) if "if" in b]
        if branches:  # a discriminated union: pick one value, then that branch's schema
            branch = rng.choice(branches)
            ((prop, rule),) = branch["if"]["properties"].items()
            chosen = self.make(branch["then"], depth + 1)
            out = {**out, **(chosen if isinstance(chosen, dict) else {}), prop: rule["const"]}
        return out

    def _pattern_of(self, name: str) -> Any:
        return self._registry.component(name).get("pattern") if name in ("duration", "objectID") else None


def mutations(doc: Any, rng: random.Random, count: int) -> list[Any]:
    """Documents that differ from `doc` in one place: a member dropped, a value replaced."""
    out = []
    for _ in range(count):
        mutated = copy.deepcopy(doc)
        slots = _slots(mutated)
        if not slots:
            out.append(rng.choice(NEAR_MISSES))
            continue
        parent, key = rng.choice(slots)
        if isinstance(parent, dict) and rng.random() < 0.25:
            del parent[key]
        else:
            parent[key] = copy.deepcopy(rng.choice(NEAR_MISSES))
        out.append(mutated)
    return out


def _slots(doc: Any) -> list[tuple[Any, Any]]:
    slots: list[tuple[Any, Any]] = []

    def walk(node: Any) -> None:
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for key, value in items:
            slots.append((node, key))
            walk(value)

    walk(doc)
    return slots


def resolves(doc: Any, pointer: str) -> bool:
    """Whether `pointer` names a value in `doc`, or a missing member of an object in it."""
    node = doc
    parts = [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]]
    for i, part in enumerate(parts):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return isinstance(node, dict) and i == len(parts) - 1
    return True


@pytest.fixture(scope="module")
def registry() -> SchemaRegistry:
    return SchemaRegistry()


def test_generated_documents_follow_the_schemas(registry: SchemaRegistry) -> None:
    generator, reference = Generator(registry, random.Random(7)), Reference(registry)
    for schema in SCHEMAS:
        for _ in range(10):
            doc = generator.document(schema)
            assert registry.is_valid(schema, doc) and reference.is_valid(schema, doc), (schema, doc)


def test_same_verdicts_as_the_reference_on_mutated_documents(registry: SchemaRegistry) -> None:
    rng = random.Random(20240601)
    generator, reference = Generator(registry, rng), Reference(registry)
    corpus = [(s, generator.document(s)) for s in SCHEMAS for _ in range(6)]
    corpus += [(e["schema"], strip_nulls(e["document"])) for e in EXAMPLES["valid"] + EXAMPLES["invalid"]]
    verdicts = {True: 0, False: 0}
    for schema, doc in corpus:
        for candidate in [doc, *mutations(doc, rng, 25)]:
            verdict = registry.is_valid(schema, candidate)
            assert verdict == reference.is_valid(schema, candidate), (schema, candidate)
            verdicts[verdict] += 1
            if not verdict:
                with pytest.raises(SchemaViolation) as info:
                    registry.validate(schema, candidate)
                assert resolves(candidate, info.value.pointer or ""), (schema, candidate, info.value)
    assert verdicts[True] > 500 and verdicts[False] > 1000, verdicts


def test_same_verdicts_on_enumerated_values(registry: SchemaRegistry) -> None:
    rng = random.Random(3)
    generator = Generator(registry, rng)
    checked = 0
    for kind, enumeration in (("event", "event-interval-payloads"), ("report", "report-payloads")):
        for type_name, definition in registry.enumeration_schema(enumeration)["definitions"].items():
            translated = {**translate(definition), "$schema": DRAFT7_URI}
            expected = Draft7Validator(python_dialect(translated))
            values = generator.make(translated, depth=0)
            for candidate in [values, *mutations(values, rng, 15)]:
                try:
                    registry.validate_values_map(kind, type_name, candidate)
                    verdict = True
                except SchemaViolation:
                    verdict = False
                assert verdict == expected.is_valid(candidate), (type_name, candidate)
                checked += 1
    assert checked > 300


def test_unicode_digits_and_trailing_newlines_fail_as_in_ecma_262(registry: SchemaRegistry) -> None:
    # The two places where regex dialects differ; both libraries must refuse these.
    reference = Reference(registry)
    for value in ("PT\uff11H", "PT1H\n", "P\u0661D"):
        assert not registry.is_valid("duration", value) and not reference.is_valid("duration", value)
    for value in ("2024-06-01T00:00:00Z\n", "\u0662024-06-01T00:00:00Z"):
        assert not registry.is_valid("dateTime", value) and not reference.is_valid("dateTime", value)
    assert not registry.is_valid("objectID", "e1\n")
