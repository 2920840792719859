"""Query parameters checked against the OpenAPI document we serve: its types, bounds, patterns, lengths.

One source of truth: the rules are read from the document (`SchemaRegistry.openapi_document`) for
every 3.1.0 route when the app is built, so a parameter's `maxLength` or `pattern` holds exactly as
documented, and an out-of-range `skip` is a 400 whatever a handler would do with it. Parameters the
document does not name are left to the handlers; so is `active` (boolean, the handler parses it).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from shared.errors import BadRequest
from shared.validation import SchemaRegistry

_REF = "#/components/schemas/"
Check = Callable[[str], str | None]  # a value -> what is wrong with it (None: fine)


@dataclass(frozen=True)
class QueryParam:
    name: str
    many: bool
    check: Check


def _component_check(registry: SchemaRegistry, name: str) -> Check:
    schema = registry.openapi_document()["components"]["schemas"][name]

    def check(value: str) -> str | None:
        if registry.is_valid(name, value):
            return None
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            return f"longer than {schema['maxLength']} characters"
        if "enum" in schema:
            return f"not one of {', '.join(schema['enum'])}"
        return f"does not match the {name} schema" + (
            f" ({schema['pattern']})" if "pattern" in schema else ""
        )

    return check


def _integer_check(schema: Mapping[str, Any]) -> Check:
    low, high = schema.get("minimum"), schema.get("maximum")

    def check(value: str) -> str | None:
        try:
            number = int(value)
        except ValueError:
            return "not an integer"
        if (low is not None and number < low) or (high is not None and number > high):
            return f"not between {low} and {high}"
        return None

    return check


def _check_for(registry: SchemaRegistry, schema: Mapping[str, Any]) -> Check | None:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith(_REF):
        return _component_check(registry, ref[len(_REF) :])
    if schema.get("type") == "integer":
        return _integer_check(schema)
    return None


def query_rules(
    app: web.Application, registry: SchemaRegistry, base: str
) -> dict[object, tuple[QueryParam, ...]]:
    """The documented query parameters of every route of `app` under `base` (the 3.1.0 base path)."""
    paths: Mapping[str, Any] = registry.openapi_document().get("paths", {})
    rules: dict[object, tuple[QueryParam, ...]] = {}
    for route in app.router.routes():
        canonical = route.resource.canonical if route.resource is not None else ""
        if not canonical.startswith(base + "/"):
            continue
        operation = paths.get(canonical[len(base) :], {}).get(route.method.lower())
        if not isinstance(operation, dict):
            continue
        params: list[QueryParam] = []
        for p in operation.get("parameters", []):
            if p.get("in") != "query":
                continue
            schema = p.get("schema", {})
            many = schema.get("type") == "array"
            check = _check_for(registry, schema.get("items", {}) if many else schema)
            if check is not None:
                params.append(QueryParam(p["name"], many, check))
        if params:
            rules[route] = tuple(params)
    return rules


QUERY_RULES = web.AppKey("vtn_query_rules", dict)


def check_query(params: tuple[QueryParam, ...], request: web.Request) -> None:
    """Raise BadRequest for the first documented query parameter of `params` whose value is wrong."""
    query = request.query
    for param in params:
        values = query.getall(param.name, ())
        for value in values if param.many else values[-1:]:
            if value == "" and not param.many:
                continue  # an empty value is "not given", as the handlers read it
            wrong = param.check(value)
            if wrong is not None:
                raise BadRequest(f"query parameter {param.name!r} is {wrong}: {value[:130]!r}")
