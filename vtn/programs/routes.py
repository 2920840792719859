"""Our API extension for BL (not OpenADR): grid areas and event verification, under the 3.1 base.

    GET    {base}/areas                                   list areas
    POST   {base}/areas                                   {"name", "kind", "importKW", "exportKW"}
    GET    {base}/areas/{name}                            the area and its members
    DELETE {base}/areas/{name}                            remove it (members lose its target)
    PUT    {base}/areas/{name}/vens/{venName}             grant the area's target to a ven
    DELETE {base}/areas/{name}/vens/{venName}             withdraw it
    PUT    {base}/areas/{name}/resources/{venName}/{resourceName}   (and DELETE): same for a resource
    GET    {base}/verification/{eventID}[?format=csv]     verification of an event (JSON or CSV)

Reads need read_bl, writes write_vens (membership is a grant on ven and resource objects).
"""

from __future__ import annotations

import json
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aiohttp import web

from shared.enums import Scope
from shared.errors import BadRequest
from vtn.core.queries import AreaRecord
from vtn.core.state import STATE, Handler, caller, state
from vtn.middleware import ROUTE_SCOPES
from vtn.programs import areas as svc
from vtn.programs.areas import AreaKind, MemberKind
from vtn.programs.verification.collect import verify
from vtn.programs.verification.render import to_csv, to_json

READ = frozenset({Scope.READ_BL})
WRITE = frozenset({Scope.WRITE_VENS})


def area_json(a: AreaRecord) -> dict[str, Any]:
    return {"name": a.name, "kind": a.kind, "importKW": a.import_kw, "exportKW": a.export_kw}


def members_json(found: svc.Members) -> dict[str, Any]:
    return {
        "vens": [{"venID": v.id, "venName": v.ven_name} for v in found.vens],
        "resources": [
            {"resourceID": r.id, "resourceName": r.resource_name, "venID": r.ven_id} for r in found.resources
        ],
    }


async def list_areas(request: web.Request) -> web.Response:
    found = await svc.list_areas(state(request).core)
    return web.json_response([area_json(a) for a in found])


def _number(doc: dict[str, Any], key: str, default: float | None = None) -> float:
    value = doc.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadRequest(f"{key}: a number of kW", pointer=f"/{key}")
    return float(value)


async def create_area(request: web.Request) -> web.Response:
    caller(request)
    try:
        doc = await request.json()
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest("the body is not JSON") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("name"), str):
        raise BadRequest('expected {"name": ..., "kind": ..., "importKW": ..., "exportKW": ...}')
    try:
        kind = AreaKind(str(doc.get("kind")))
    except ValueError as exc:
        raise BadRequest(f"kind: one of {', '.join(k.value for k in AreaKind)}", pointer="/kind") from exc
    area = await svc.add_area(
        state(request).core, doc["name"], kind, _number(doc, "importKW"), _number(doc, "exportKW", 0.0)
    )
    return web.json_response(area_json(area), status=201)


async def get_area(request: web.Request) -> web.Response:
    core, name = state(request).core, request.match_info["name"]
    area = await svc.get_area(core, name)
    return web.json_response({**area_json(area), "members": members_json(await svc.members(core, name))})


async def delete_area(request: web.Request) -> web.Response:
    core, name = state(request).core, request.match_info["name"]
    area = await svc.get_area(core, name)
    await svc.remove_area(core, name)
    return web.json_response(area_json(area))


def _member(kind: MemberKind, member: bool) -> Handler:
    async def handler(request: web.Request) -> web.Response:
        info = request.match_info
        name = info["venName"] if kind is MemberKind.VEN else f"{info['venName']}/{info['resourceName']}"
        core = state(request).core
        await svc.set_member(core, info["name"], kind, name, member=member)
        return web.json_response(members_json(await svc.members(core, info["name"])))

    return handler


async def verification(request: web.Request) -> web.Response:
    zone = request.query.get("timezone", "UTC")
    try:
        tz = ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise BadRequest(f"timezone: unknown time zone {zone!r}") from exc
    found = await verify(state(request).core, request.match_info["eventID"], tz=tz)
    if request.query.get("format") == "csv" or "text/csv" in request.headers.get("Accept", ""):
        return web.Response(text=to_csv(found), content_type="text/csv")
    return web.Response(text=json.dumps(to_json(found)), content_type="application/json")


_RESOURCE = "/areas/{name}/resources/{venName}/{resourceName}"
# (method, path under the 3.1 base, handler, scopes): our extension, not in the OpenADR OpenAPI.
ROUTES: tuple[tuple[str, str, Handler, frozenset[Scope]], ...] = (
    ("GET", "/areas", list_areas, READ),
    ("POST", "/areas", create_area, WRITE),
    ("GET", "/areas/{name}", get_area, READ),
    ("DELETE", "/areas/{name}", delete_area, WRITE),
    ("PUT", "/areas/{name}/vens/{venName}", _member(MemberKind.VEN, True), WRITE),
    ("DELETE", "/areas/{name}/vens/{venName}", _member(MemberKind.VEN, False), WRITE),
    ("PUT", _RESOURCE, _member(MemberKind.RESOURCE, True), WRITE),
    ("DELETE", _RESOURCE, _member(MemberKind.RESOURCE, False), WRITE),
    ("GET", "/verification/{eventID}", verification, READ),
)


def add_routes(app: web.Application) -> None:
    """Register the extension's routes and scopes on an app built by vtn.app.create_app."""
    base = app[STATE].config.base_path.rstrip("/")
    scopes = app[ROUTE_SCOPES]
    for method, path, handler, needed in ROUTES:
        scopes[app.router.add_route(method, base + path, handler)] = needed
