"""FastCompiler's predicates as generated code: one Python function per schema, shapes inlined.

Private to shared/validation.py. FastCompiler (shared/fast_schema.py) builds one closure per schema
node; a 24-interval report then costs ~250 nested calls, which were most of its ~50 µs. Here the
common shapes (objects with properties and required members, bounded arrays, bounded or patterned
strings, bounded numbers) become inline statements of one function, and loops over arrays become
`for` loops in it. Any other node, and a $ref met again while it is being inlined, is a call to
FastCompiler's closure for it, so the answers are FastCompiler's by construction (a test compares
them on a fuzzed corpus, and both against jsonschema).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from shared.fast_schema import _CLASSES, ANNOTATIONS, Check, FastCompiler, always

# Deeper than this, a node is a call instead of inline code (keeps the generated source small).
MAX_INLINE_DEPTH = 12
_MISSING = object()


class CodegenCompiler:
    """Compiles a schema into one generated function returning valid / invalid."""

    def __init__(self, fast: FastCompiler, resolve: Callable[[str], Any]) -> None:
        self._fast = fast
        self._resolve = resolve

    def compile(self, schema: Any) -> Check:
        closure = self._fast.compile(schema)  # raises Unsupported exactly where FastCompiler does
        gen = _Generator(self._fast, self._resolve)
        lines = gen.node(schema, "x0", 1, 0)
        if not lines:
            return closure  # nothing to inline (e.g. `always`)
        source = "\n".join(["def check(x0):", *lines, "    return True", ""])
        namespace = gen.namespace
        exec(compile(source, "<schema_codegen>", "exec"), namespace)  # noqa: S102 - our own schemas' code
        check: Check = namespace["check"]
        check.__doc__ = source  # for debugging: the generated code
        return check


class _Generator:
    def __init__(self, fast: FastCompiler, resolve: Callable[[str], Any]) -> None:
        self._fast = fast
        self._resolve = resolve
        self._refs: list[str] = []  # the $refs being inlined (a recursive one becomes a call)
        self._vars = 0
        self.namespace: dict[str, Any] = {"_MISSING": _MISSING}

    def _name(self, prefix: str, value: Any = None) -> str:
        self._vars += 1
        name = f"{prefix}{self._vars}"
        if value is not None:
            self.namespace[name] = value
        return name

    def _call(self, check: Check, var: str, ind: int) -> list[str]:
        if check is always:
            return []
        return [_at(ind, f"if not {self._name('_c', check)}({var}): return False")]

    def node(self, schema: Any, var: str, ind: int, depth: int) -> list[str]:
        """Statements that `return False` unless `var` matches `schema` (none: always matches)."""
        if schema is True:
            return []
        if depth > MAX_INLINE_DEPTH or not isinstance(schema, dict):
            return self._call(self._fast.compile(schema), var, ind)
        if "$ref" in schema:  # draft 7 ignores the siblings of $ref
            ref = schema["$ref"]
            if ref in self._refs:
                return self._call(self._fast.compile(schema), var, ind)
            self._refs.append(ref)
            try:
                return self.node(self._resolve(ref), var, ind, depth + 1)
            finally:
                self._refs.pop()
        kw = {k: v for k, v in schema.items() if k not in ANNOTATIONS and k not in ("then", "else")}
        kind, names = kw.get("type"), set(kw)
        # The shapes of FastCompiler._fused, in its order.
        if kind == "object" and names <= {"type", "properties", "required"}:
            return self._object(kw, var, ind, depth, strict=True)
        if "type" not in names and names and names <= {"properties", "required"}:
            return self._object(kw, var, ind, depth, strict=False)
        array_shape = names <= {"type", "items", "minItems", "maxItems"}
        if kind == "array" and array_shape and not isinstance(kw.get("items", True), list):
            return self._array(kw, var, ind, depth)
        if kind == "string" and names <= {"type", "pattern", "minLength", "maxLength"}:
            return self._string(kw, var, ind)
        if kind in ("number", "integer") and names <= {"type", "minimum", "maximum"}:
            return self._number(kw, var, ind)
        if names == {"anyOf"} and isinstance(kw["anyOf"], list):
            return self._any_of(kw["anyOf"], var, ind)
        return self._call(self._fast.compile(schema), var, ind)

    def _object(self, kw: dict[str, Any], var: str, ind: int, depth: int, *, strict: bool) -> list[str]:
        body: list[str] = []
        inner = ind if strict else ind + 1
        for name in kw.get("required", ()):
            body.append(_at(inner, f"if {name!r} not in {var}: return False"))
        for name, sub in kw.get("properties", {}).items():
            value = self._name("v")
            checks = self.node(sub, value, inner + 1, depth + 1)
            if checks:
                body.append(_at(inner, f"{value} = {var}.get({name!r}, _MISSING)"))
                body.append(_at(inner, f"if {value} is not _MISSING:"))
                body.extend(checks)
        if strict:
            return [_at(ind, f"if not isinstance({var}, dict): return False"), *body]
        return [_at(ind, f"if isinstance({var}, dict):"), *body] if body else []

    def _array(self, kw: dict[str, Any], var: str, ind: int, depth: int) -> list[str]:
        lines = _sized("list", kw.get("minItems", 0), kw.get("maxItems"), var, ind)
        item = self._name("x")
        checks = self.node(kw.get("items", True), item, ind + 1, depth + 1)
        if checks:
            lines.append(_at(ind, f"for {item} in {var}:"))
            lines.extend(checks)
        return lines

    def _string(self, kw: dict[str, Any], var: str, ind: int) -> list[str]:
        lines = _sized("str", kw.get("minLength", 0), kw.get("maxLength"), var, ind)
        if "pattern" in kw:
            search = self._name("_p", re.compile(kw["pattern"]).search)
            lines.append(_at(ind, f"if {search}({var}) is None: return False"))
        return lines

    def _number(self, kw: dict[str, Any], var: str, ind: int) -> list[str]:
        if kw["type"] == "integer":  # draft 6+: 1.0 is an integer, True is not
            integer = (
                f"(isinstance({var}, int) and not isinstance({var}, bool))"
                f" or (isinstance({var}, float) and {var}.is_integer())"
            )
            lines = [_at(ind, f"if not ({integer}): return False")]
        else:
            lines = [
                _at(ind, f"if not isinstance({var}, (int, float)) or isinstance({var}, bool): return False")
            ]
        for keyword, op in (("minimum", "<"), ("maximum", ">")):
            bound = kw.get(keyword)
            if bound is not None:
                lines.append(_at(ind, f"if {var} {op} {self._name('_b', bound)}: return False"))
        return lines

    def _any_of(self, branches: list[Any], var: str, ind: int) -> list[str]:
        """FastCompiler._merged_any_of inline: its plain-type branches as one isinstance()."""
        plain: set[str] = set()
        rest: list[Any] = []
        for branch in branches:
            bare = (
                {k: v for k, v in branch.items() if k not in ANNOTATIONS}
                if isinstance(branch, dict)
                else None
            )
            if bare is not None and set(bare) == {"type"} and isinstance(bare["type"], str):
                plain.add(bare["type"])
            else:
                rest.append(branch)
        if "integer" in plain and "number" not in plain:  # 1.0 is an integer: not an isinstance()
            return self._call(self._fast.compile({"anyOf": branches}), var, ind)
        plain.discard("integer")  # within number
        if not plain:
            return self._call(self._fast.compile({"anyOf": branches}), var, ind)
        classes = self._name("_k", tuple(c for name in sorted(plain) for c in _CLASSES[name]))
        no_bool = "number" in plain and "boolean" not in plain
        fails = f"not isinstance({var}, {classes})" + (f" or isinstance({var}, bool)" if no_bool else "")
        others = [f"{self._name('_c', self._fast.compile(b))}({var})" for b in rest]
        if not others:
            return [_at(ind, f"if {fails}: return False")]
        return [_at(ind, f"if ({fails}) and not ({' or '.join(others)}): return False")]


def _sized(cls: str, low: int, high: int | None, var: str, ind: int) -> list[str]:
    """`var` is a `cls` (list or str) of low..high members."""
    lines = [_at(ind, f"if not isinstance({var}, {cls}): return False")]
    if low:
        lines.append(_at(ind, f"if len({var}) < {int(low)}: return False"))
    if high is not None:
        lines.append(_at(ind, f"if len({var}) > {int(high)}: return False"))
    return lines


def _at(ind: int, text: str) -> str:
    return "    " * ind + text
