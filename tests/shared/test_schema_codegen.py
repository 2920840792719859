"""shared.schema_codegen: generated predicates answer exactly as FastCompiler's closures."""

from __future__ import annotations

import random
from typing import Any

import pytest

from shared.fast_schema import FastCompiler, Unsupported
from shared.schema_codegen import MAX_INLINE_DEPTH, CodegenCompiler
from shared.validation import SchemaRegistry, strip_nulls
from tests.shared.test_validation import BAD, EXAMPLES, FULL, MINIMAL, _mutations


def _pair(defs: dict[str, Any]) -> tuple[FastCompiler, CodegenCompiler]:
    resolve = lambda ref: defs[ref.rsplit("/", 1)[-1]]  # noqa: E731
    fast = FastCompiler(resolve)
    return fast, CodegenCompiler(fast, resolve)


def test_generated_checks_agree_with_the_closures_on_every_schema() -> None:
    registry = SchemaRegistry()
    fast, gen = registry._fast, registry._codegen
    rng = random.Random(7)
    corpus: list[tuple[str, Any]] = [*FULL.items(), *MINIMAL.items()]
    corpus += [(e["schema"], strip_nulls(e["document"])) for e in EXAMPLES["valid"] + EXAMPLES["invalid"]]
    corpus += [(b[1], b[2]) for b in BAD]
    generated = 0
    for schema, doc in corpus:
        closure = fast.compile(registry._components[schema])
        check = gen.compile(registry._components[schema])
        generated += check.__doc__ is not None and check.__doc__.startswith("def check")
        for candidate in [doc, *_mutations(doc, rng, 30)]:
            assert check(candidate) == closure(candidate), (schema, candidate)
    assert generated == len(corpus)  # every one of them is generated code, not a closure


def test_report_request_is_one_function_with_loops() -> None:
    check = SchemaRegistry()._check("reportRequest")
    source = check.__doc__ or ""
    assert source.startswith("def check(x0):")
    assert source.count("for ") >= 3  # resources, intervals, payloads inline


def test_recursive_refs_become_calls_and_still_decide() -> None:
    defs = {
        "node": {
            "type": "object",
            "properties": {"name": {"type": "string", "minLength": 1}, "next": {"$ref": "#/node"}},
            "required": ["name"],
        }
    }
    fast, gen = _pair(defs)
    check = gen.compile({"$ref": "#/node"})
    assert "_c" in (check.__doc__ or "")  # the second visit of the ref is a call
    good = {"name": "a", "next": {"name": "b", "next": {"name": "c"}}}
    bad = {"name": "a", "next": {"name": "b", "next": {"name": ""}}}
    assert check(good) and not check(bad)
    assert check(bad) == fast.compile({"$ref": "#/node"})(bad)


def test_deep_schemas_stop_inlining() -> None:
    schema: Any = {"type": "string", "maxLength": 2}
    for _ in range(MAX_INLINE_DEPTH + 5):
        schema = {"type": "array", "items": schema, "maxItems": 3}
    fast, gen = _pair({})
    check = gen.compile(schema)
    assert "_c" in (check.__doc__ or "")  # the deepest levels are a call to the closure
    doc: Any = "ab"
    for _ in range(MAX_INLINE_DEPTH + 5):
        doc = [doc]
    assert check(doc) is True
    deep_bad: Any = "abc"
    for _ in range(MAX_INLINE_DEPTH + 5):
        deep_bad = [deep_bad]
    assert check(deep_bad) is False and fast.compile(schema)(deep_bad) is False


@pytest.mark.parametrize(
    ("schema", "values"),
    [
        ({"anyOf": [{"type": "number"}, {"type": "string"}]}, [1, 1.5, True, "x", None, [], {}]),
        ({"anyOf": [{"type": "integer"}, {"type": "null"}]}, [1, 1.0, 1.5, True, None, "x"]),
        ({"anyOf": [{"type": "boolean"}, {"type": "number"}]}, [True, 0, 2.5, "1", None]),
        (
            {"anyOf": [{"type": "number"}, {"type": "object", "required": ["x"]}]},
            [1, {"x": 1}, {}, "s", False],
        ),
        ({"type": "integer", "minimum": 0, "maximum": 10}, [0, 10, 11, -1, 5.0, 5.5, True, "3"]),
        ({"properties": {"a": {"type": "string"}}}, ["not an object", {"a": 1}, {"a": "x"}, {}]),
        ({"type": "string", "pattern": "^P", "minLength": 2}, ["PT1H", "P", "XT", 5]),
    ],
)
def test_shapes_answer_as_the_closures(schema: dict[str, Any], values: list[Any]) -> None:
    fast, gen = _pair({})
    check, closure = gen.compile(schema), fast.compile(schema)
    for value in values:
        assert check(value) == closure(value), (schema, value)
        assert check({"wrapped": value}) == closure({"wrapped": value})


def test_unsupported_schemas_raise_as_before() -> None:
    _, gen = _pair({})
    with pytest.raises(Unsupported):
        gen.compile({"type": "array", "items": [{"type": "string"}]})
