"""The OpenADR 3.0.1 API beside 3.1.0, over the same services and store: `add_routes(app)`.

Called from create_app after the 3.1 routes. Scopes follow 3.0.1: every read needs `read_all`, which
3.1 split into read_targets / read_ven_objects, so any of the three read scopes is accepted (VEN
tokens carry the two 3.1 ones); writes need the same write scopes as in 3.1.
"""

from __future__ import annotations

from aiohttp import web

from shared.enums import Scope
from vtn.core.state import STATE, Handler
from vtn.middleware import ROUTE_SCOPES
from vtn.oadr301 import auth, converted, handlers, notifications, schema, vens

BASE_301 = "/openadr3/3.0.1"
READ = frozenset({Scope.READ_ALL, Scope.READ_TARGETS, Scope.READ_VEN_OBJECTS})

_Row = tuple[str, str, Handler, frozenset[Scope] | None]


def _crud(collection: str, id_name: str, module: object, noun: str, write: Scope) -> list[_Row]:
    w = frozenset({write})
    return [
        ("GET", f"/{collection}", getattr(module, f"list_{noun}s"), READ),
        ("POST", f"/{collection}", getattr(module, f"create_{noun}"), w),
        ("GET", f"/{collection}/{{{id_name}}}", getattr(module, f"get_{noun}"), READ),
        ("PUT", f"/{collection}/{{{id_name}}}", getattr(module, f"update_{noun}"), w),
        ("DELETE", f"/{collection}/{{{id_name}}}", getattr(module, f"delete_{noun}"), w),
    ]


ROUTES_301: list[_Row] = [
    *_crud("programs", "programID", handlers, "program", Scope.WRITE_PROGRAMS),
    *_crud("events", "eventID", handlers, "event", Scope.WRITE_EVENTS),
    *_crud("reports", "reportID", handlers, "report", Scope.WRITE_REPORTS),
    *_crud("subscriptions", "subscriptionID", handlers, "subscription", Scope.WRITE_SUBSCRIPTIONS),
    *_crud("vens", "venID", vens, "ven", Scope.WRITE_VENS),
    *_crud("vens/{venID}/resources", "resourceID", vens, "resource", Scope.WRITE_VENS),
    ("POST", "/auth/token", auth.token, None),
]


def base_path(app: web.Application) -> str:
    """`/openadr3/3.0.1` beside the configured 3.1 base (`/x/3.1.0` -> `/x/3.0.1`)."""
    base = app[STATE].config.base_path.rstrip("/")
    if base.endswith("/3.1.0"):
        return base[: -len("3.1.0")] + "3.0.1"
    return BASE_301


def add_routes(app: web.Application) -> None:
    """Register the 3.0.1 routes and their scopes on an app built by vtn.app.create_app, and the
    3.0.1 notification shape for the subscriptions made through them."""
    app[STATE].core.register_renderer(notifications.API_VERSION, notifications.render)
    app[schema.SCHEMAS] = schema.RequestSchemas()
    app[converted.CONVERTED] = converted.Converted()
    base = base_path(app)
    scopes = app[ROUTE_SCOPES]
    for method, path, handler, needed in ROUTES_301:
        route = app.router.add_route(method, base + path, handler)
        if needed is not None:
            scopes[route] = needed
