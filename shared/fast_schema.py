"""Fast "valid?" predicates for the JSON Schema draft 7 subset of our OpenADR schemas.

Private to shared/validation.py, which still lets jsonschema produce every error: a predicate only
answers valid / invalid, an order of magnitude faster than jsonschema, and a document it rejects
is handed to jsonschema for the message. The common shapes (an object with properties and required
members, a bounded array of one item schema, a bounded or patterned string, a bounded number, an
anyOf of plain types) compile into one closure each instead of one per keyword: a 24-interval
report is ~1,000 nodes, so every nested call on the way costs microseconds.
Anything outside the subset raises `Unsupported`, so a constraint is never silently skipped.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

Check = Callable[[Any], bool]


class Unsupported(Exception):
    """The fast compiler does not handle this schema; jsonschema's own is_valid is used instead."""


# Keywords that never constrain an instance here (`format` is not asserted by jsonschema by default).
ANNOTATIONS = frozenset(
    {
        "$schema",
        "$comment",
        "$id",
        "title",
        "description",
        "default",
        "example",
        "examples",
        "format",
        "nullable",
        "readOnly",
        "writeOnly",
        "deprecated",
        "externalDocs",
        "xml",
        "definitions",
    }
)


def always(_: Any) -> bool:
    return True


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _is_integer(x: Any) -> bool:
    # Draft 6+: 1.0 is an integer, True is not.
    return (isinstance(x, int) and not isinstance(x, bool)) or (isinstance(x, float) and x.is_integer())


TYPE_TESTS: dict[str, Check] = {
    "object": lambda x: isinstance(x, dict),
    "array": lambda x: isinstance(x, list),
    "string": lambda x: isinstance(x, str),
    "boolean": lambda x: isinstance(x, bool),
    "null": lambda x: x is None,
    "number": _is_number,
    "integer": _is_integer,
}

# Python classes of the plain JSON types, for merging `anyOf` branches into one isinstance().
_CLASSES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "boolean": (bool,),
    "null": (type(None),),
    "number": (int, float),  # bool is an int: excluded below unless boolean is allowed too
}


def all_of(checks: list[Check]) -> Check:
    if not checks:
        return always
    if len(checks) == 1:
        return checks[0]
    frozen = tuple(checks)

    def check(x: Any) -> bool:
        # A plain loop: all() over a generator costs a generator object per call on the hot path.
        for c in frozen:  # noqa: SIM110
            if not c(x):
                return False
        return True

    return check


def _any_of(checks: tuple[Check, ...]) -> Check:
    def check(x: Any) -> bool:
        for c in checks:  # noqa: SIM110 - see all_of
            if c(x):
                return True
        return False

    return check


class FastCompiler:
    """Compiles a schema into nested closures returning valid / invalid."""

    def __init__(self, resolve: Callable[[str], Any]) -> None:
        self._resolve = resolve
        self._refs: dict[str, Check] = {}

    def compile(self, schema: Any) -> Check:
        if schema is True:
            return always
        if not isinstance(schema, dict):
            raise Unsupported(repr(schema))
        if "$ref" in schema:  # draft 7 ignores the siblings of $ref
            return self._ref(schema["$ref"])
        keywords = {k: v for k, v in schema.items() if k not in ANNOTATIONS and k not in ("then", "else")}
        fused = self._fused(keywords)
        if fused is not None:
            return fused
        checks: list[Check] = []
        for keyword, value in keywords.items():
            make = getattr(self, "_kw_" + keyword, None)
            if make is None:
                raise Unsupported(keyword)
            checks.append(make(value, schema))
        return all_of(checks)

    def _ref(self, ref: str) -> Check:
        found = self._refs.get(ref)
        if found is None:
            cell: list[Check] = []
            # A placeholder first, so that a recursive schema refers back to itself.
            self._refs[ref] = lambda x: cell[0](x)
            cell.append(self.compile(self._resolve(ref)))
            found = self._refs[ref] = cell[0]
        return found

    # ------------------------------------------------------------------ fused shapes

    def _fused(self, kw: dict[str, Any]) -> Check | None:
        """One closure for a whole common schema shape (None: compile keyword by keyword)."""
        kind = kw.get("type")
        names = set(kw)
        if kind == "object" and names <= {"type", "properties", "required"}:
            return self._object(kw, strict=True)
        if "type" not in names and names and names <= {"properties", "required"}:
            return self._object(kw, strict=False)
        array_shape = names <= {"type", "items", "minItems", "maxItems"}
        if kind == "array" and array_shape and not isinstance(kw.get("items", True), list):
            return self._array(kw)
        if kind == "string" and names <= {"type", "pattern", "minLength", "maxLength"}:
            return self._string(kw)
        if kind in ("number", "integer") and names <= {"type", "minimum", "maximum"}:
            return self._number(kw)
        if names == {"anyOf"} and isinstance(kw["anyOf"], list):
            return self._merged_any_of(kw["anyOf"])
        return None

    def _object(self, kw: dict[str, Any], *, strict: bool) -> Check:
        compiled = {name: self.compile(sub) for name, sub in kw.get("properties", {}).items()}
        rules = tuple((n, c) for n, c in compiled.items() if c is not always)
        rule_of = dict(rules).get
        required = tuple(kw.get("required", ()))

        def check(x: Any) -> bool:
            if not isinstance(x, dict):
                return not strict
            for name in required:
                if name not in x:
                    return False
            if len(x) <= len(rules):  # walk whichever is shorter: the members or the rules
                for name, value in x.items():
                    rule = rule_of(name)
                    if rule is not None and not rule(value):
                        return False
            else:
                for name, rule in rules:
                    if name in x and not rule(x[name]):
                        return False
            return True

        return check

    def _array(self, kw: dict[str, Any]) -> Check:
        item = self.compile(kw.get("items", True))
        low: int = kw.get("minItems", 0)
        high: int | None = kw.get("maxItems")

        def check(x: Any) -> bool:
            if not isinstance(x, list):
                return False
            n = len(x)
            if n < low or (high is not None and n > high):
                return False
            return item is always or all(map(item, x))

        return check

    def _string(self, kw: dict[str, Any]) -> Check:
        search = re.compile(kw["pattern"]).search if "pattern" in kw else None
        low: int = kw.get("minLength", 0)
        high: int | None = kw.get("maxLength")

        def check(x: Any) -> bool:
            if not isinstance(x, str):
                return False
            n = len(x)
            if n < low or (high is not None and n > high):
                return False
            return search is None or search(x) is not None

        return check

    def _number(self, kw: dict[str, Any]) -> Check:
        is_type = TYPE_TESTS[kw["type"]]
        low: float | None = kw.get("minimum")
        high: float | None = kw.get("maximum")

        def check(x: Any) -> bool:
            return bool(is_type(x) and (low is None or x >= low) and (high is None or x <= high))

        return check

    def _merged_any_of(self, branches: list[Any]) -> Check:
        """anyOf whose plain-type branches ({"type": "number"}, ...) become one isinstance()."""
        plain: set[str] = set()
        rest: list[Check] = []
        for branch in branches:
            bare = None
            if isinstance(branch, dict):
                bare = {k: v for k, v in branch.items() if k not in ANNOTATIONS}
            if bare is not None and set(bare) == {"type"} and isinstance(bare["type"], str):
                plain.add(bare["type"])
            else:
                rest.append(self.compile(branch))
        if "integer" in plain and "number" not in plain:
            plain.discard("integer")  # 1.0 is an integer: not an isinstance() test
            rest.insert(0, _is_integer)
        plain.discard("integer")  # within number
        if not plain:
            return _any_of(tuple(rest))
        classes = tuple(c for name in sorted(plain) for c in _CLASSES[name])
        no_bool = "number" in plain and "boolean" not in plain
        others = tuple(rest)

        def check(x: Any) -> bool:
            if isinstance(x, classes) and not (no_bool and isinstance(x, bool)):
                return True
            for c in others:  # noqa: SIM110 - see all_of
                if c(x):
                    return True
            return False

        return check

    # ------------------------------------------------------------------ one keyword each

    def _kw_type(self, value: Any, _: dict[str, Any]) -> Check:
        names = [value] if isinstance(value, str) else list(value)
        tests = tuple(TYPE_TESTS[n] for n in names)
        if len(tests) == 1:
            return tests[0]
        return lambda x: any(t(x) for t in tests)

    def _kw_properties(self, value: dict[str, Any], _: dict[str, Any]) -> Check:
        props = tuple((name, self.compile(sub)) for name, sub in value.items())

        def check(x: Any) -> bool:
            if isinstance(x, dict):
                for name, c in props:
                    if name in x and not c(x[name]):
                        return False
            return True

        return check

    def _kw_required(self, value: list[str], _: dict[str, Any]) -> Check:
        names = tuple(value)

        def check(x: Any) -> bool:
            if isinstance(x, dict):
                for n in names:
                    if n not in x:
                        return False
            return True

        return check

    def _kw_items(self, value: Any, _: dict[str, Any]) -> Check:
        if isinstance(value, list):
            raise Unsupported("items (tuple form)")
        item = self.compile(value)
        return lambda x: not isinstance(x, list) or all(map(item, x))

    def _kw_enum(self, value: list[Any], _: dict[str, Any]) -> Check:
        if not all(isinstance(v, str) for v in value):
            raise Unsupported("enum of non-strings")  # jsonschema's equality rules differ from ==
        allowed = frozenset(value)
        return lambda x: isinstance(x, str) and x in allowed

    def _kw_const(self, value: Any, _: dict[str, Any]) -> Check:
        if not isinstance(value, str):
            raise Unsupported("const of a non-string")
        return lambda x: isinstance(x, str) and x == value

    def _kw_pattern(self, value: str, _: dict[str, Any]) -> Check:
        search = re.compile(value).search
        return lambda x: not isinstance(x, str) or search(x) is not None

    def _kw_minLength(self, value: int, _: dict[str, Any]) -> Check:
        return lambda x: not isinstance(x, str) or len(x) >= value

    def _kw_maxLength(self, value: int, _: dict[str, Any]) -> Check:
        return lambda x: not isinstance(x, str) or len(x) <= value

    def _kw_minItems(self, value: int, _: dict[str, Any]) -> Check:
        return lambda x: not isinstance(x, list) or len(x) >= value

    def _kw_maxItems(self, value: int, _: dict[str, Any]) -> Check:
        return lambda x: not isinstance(x, list) or len(x) <= value

    def _kw_minimum(self, value: float, _: dict[str, Any]) -> Check:
        return lambda x: not _is_number(x) or x >= value

    def _kw_maximum(self, value: float, _: dict[str, Any]) -> Check:
        return lambda x: not _is_number(x) or x <= value

    def _kw_exclusiveMinimum(self, value: float, _: dict[str, Any]) -> Check:
        return lambda x: not _is_number(x) or x > value

    def _kw_exclusiveMaximum(self, value: float, _: dict[str, Any]) -> Check:
        return lambda x: not _is_number(x) or x < value

    def _kw_allOf(self, value: list[Any], _: dict[str, Any]) -> Check:
        return all_of([self.compile(sub) for sub in value])

    def _kw_anyOf(self, value: list[Any], _: dict[str, Any]) -> Check:
        return _any_of(tuple(self.compile(sub) for sub in value))

    def _kw_oneOf(self, value: list[Any], _: dict[str, Any]) -> Check:
        subs = tuple(self.compile(sub) for sub in value)
        return lambda x: sum(1 for c in subs if c(x)) == 1

    def _kw_not(self, value: Any, _: dict[str, Any]) -> Check:
        sub = self.compile(value)
        return lambda x: not sub(x)

    def _kw_if(self, value: Any, schema: dict[str, Any]) -> Check:
        cond = self.compile(value)
        then = self.compile(schema.get("then", True))
        otherwise = self.compile(schema.get("else", True))
        return lambda x: then(x) if cond(x) else otherwise(x)
