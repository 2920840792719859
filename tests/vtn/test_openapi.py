"""The published OpenAPI document is exactly what the VTN implements: same paths, methods and scopes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from support.harness import BASE, Vtn

from vtn.app import ROUTES, Route
from vtn.programs.routes import ROUTES as PROGRAM_ROUTES

DOCUMENT = Path(__file__).resolve().parents[2] / "shared/schemas/openadr3/3.1.0/openapi.json"
METHODS = ("get", "post", "put", "delete", "patch", "head", "options")

# Routes implemented but missing from the document (see the report).
_MQTT_TOPICS = [
    "/programs",
    "/programs/{programID}",
    "/programs/{programID}/events",
    "/events",
    "/reports",
    "/subscriptions",
    "/vens",
    "/resources",
    "/vens/{venID}",
    "/vens/{venID}/events",
    "/vens/{venID}/programs",
    "/vens/{venID}/resources",
]
# Routes missing from the document: route id -> reason (a strict xfail each). Empty: all documented.
UNDOCUMENTED: dict[str, str] = {}


def _document() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(DOCUMENT.read_text(encoding="utf-8"))
    return doc


def _documented() -> set[tuple[str, str]]:
    return {(m.upper(), path) for path, ops in _document()["paths"].items() for m in ops if m in METHODS}


def _route_id(route: Route) -> str:
    return f"{route.method} {route.path}"


def _route_params() -> list[Any]:
    params = []
    for route in ROUTES:
        rid = _route_id(route)
        marks = []
        if rid in UNDOCUMENTED:
            reason = f"BUG: shared/schemas/openadr3/3.1.0/openapi.json lacks {rid}: {UNDOCUMENTED[rid]}"
            marks.append(pytest.mark.xfail(reason=reason, strict=True))
        params.append(pytest.param(route, id=rid, marks=marks))
    return params


async def test_openapi_json_is_served(vtn: Vtn) -> None:
    resp = await vtn.client.get(BASE + "/openapi.json")
    assert resp.status == 200
    assert resp.content_type == "application/json"
    served = await resp.json()
    assert served == _document()
    assert served["openapi"].startswith("3.0")
    assert served["info"]["version"] == "3.1.0"
    assert served["servers"][0]["url"] == BASE


@pytest.mark.parametrize("route", _route_params())
def test_every_route_is_documented(route: Route) -> None:
    assert (route.method, route.path) in _documented()


@pytest.mark.parametrize("operation", sorted(_documented()), ids=lambda op: " ".join(op))
def test_every_documented_operation_is_routed(operation: tuple[str, str]) -> None:
    assert operation in {(r.method, r.path) for r in ROUTES}


async def test_the_running_app_serves_exactly_the_routes(vtn: Vtn) -> None:
    served = {
        (r.method, r.resource.canonical[len(BASE) :])
        for r in vtn.client.app.router.routes()
        if r.method != "HEAD"
        and r.resource is not None
        and r.resource.canonical.startswith(BASE + "/")
        # The Swagger UI page and its assets (vtn/apidocs.py) are not operations of the API.
        and not r.resource.canonical.startswith(BASE + "/docs")
    }
    # Our program automation extension (docs/programs.md) lives under the base path too.
    extension = {(method, path) for method, path, _, _ in PROGRAM_ROUTES}
    assert served - extension == {(r.method, r.path) for r in ROUTES}
    assert extension <= served


def _documented_routes() -> list[Any]:
    documented = _documented()
    return [pytest.param(r, id=_route_id(r)) for r in ROUTES if (r.method, r.path) in documented]


@pytest.mark.parametrize("route", _documented_routes())
def test_documented_scopes_are_accepted(route: Route) -> None:
    op = _document()["paths"][route.path][route.method.lower()]
    security = op.get("security")
    if route.scopes is None:
        assert not security, "a public route must not document a security requirement"
        return
    assert security, "a secured route must document its scope"
    documented = {s for req in security for scopes in req.values() for s in scopes}
    # A client holding just the documented scope must be let in.
    assert documented and documented <= {s.value for s in route.scopes}


def test_request_schemas_name_existing_components() -> None:
    doc = _document()
    components = doc["components"]["schemas"]
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            if method not in METHODS:
                continue
            content = op.get("requestBody", {}).get("content", {})
            for media in content.values():
                ref = media.get("schema", {}).get("$ref")
                if ref is not None:
                    assert ref.startswith("#/components/schemas/"), (method, path)
                    assert ref.rsplit("/", 1)[1] in components, (method, path, ref)
            if method in ("post", "put") and path != "/auth/token":
                assert content, f"{method} {path} documents no request body"
