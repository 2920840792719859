"""The console's routes and static assets, added to the VTN application by `add_routes`."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from aiohttp import web

from vtn.console import (
    auth,
    pages_areas,
    pages_audit,
    pages_certificates,
    pages_events,
    pages_operators,
    pages_ops,
    pages_overview,
    pages_vens,
)
from vtn.console.auth import BASE
from vtn.console.state import CONSOLE, ConsoleSettings, ConsoleState, make_templates


async def _to_console(request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound(f"{BASE}/")


def add_routes(app: web.Application, settings: ConsoleSettings | None = None) -> None:
    app[CONSOLE] = ConsoleState(settings or ConsoleSettings(), make_templates())
    r = app.router
    r.add_get(BASE, _to_console)
    r.add_get(f"{BASE}/login", auth.login_form)
    r.add_post(f"{BASE}/login", auth.login)
    r.add_post(f"{BASE}/logout", auth.logout)
    r.add_get(f"{BASE}/", pages_overview.overview)
    r.add_get(f"{BASE}/vens", pages_vens.vens)
    r.add_get(f"{BASE}/vens/{{ven_id}}", pages_vens.ven)
    r.add_get(f"{BASE}/events", pages_events.events)
    r.add_get(f"{BASE}/events/new", pages_events.new_event)
    r.add_post(f"{BASE}/events/new", pages_events.save_event)
    r.add_get(f"{BASE}/events/{{event_id}}", pages_events.event_page)
    r.add_get(f"{BASE}/events/{{event_id}}/data.json", pages_events.event_data)
    r.add_get(f"{BASE}/events/{{event_id}}/edit", pages_events.edit_event)
    r.add_post(f"{BASE}/events/{{event_id}}/edit", pages_events.save_event)
    r.add_post(f"{BASE}/events/{{event_id}}/cancel", pages_events.cancel_event)
    r.add_get(f"{BASE}/subscriptions", pages_ops.subscriptions)
    r.add_get(f"{BASE}/subscriptions/{{subscription_id}}", pages_ops.subscription)
    r.add_post(f"{BASE}/subscriptions/{{subscription_id}}/retry", pages_ops.retry_now)
    r.add_get(f"{BASE}/areas", pages_areas.areas)
    r.add_post(f"{BASE}/areas", pages_areas.add_area)
    r.add_post(f"{BASE}/areas/members", pages_areas.set_member)
    r.add_get(f"{BASE}/certificates", pages_certificates.certificate_requests)
    r.add_get(f"{BASE}/clients", pages_ops.clients)
    r.add_post(f"{BASE}/clients", pages_ops.add_client)
    r.add_post(f"{BASE}/clients/{{client_id}}/remove", pages_ops.remove_client)
    r.add_get(f"{BASE}/audit", pages_audit.audit_log)
    r.add_get(f"{BASE}/operators", pages_operators.operators)
    r.add_post(f"{BASE}/operators", pages_operators.add_operator)
    r.add_post(f"{BASE}/operators/{{name}}/unlock", pages_operators.unlock_operator)
    r.add_post(f"{BASE}/operators/{{name}}/remove", pages_operators.remove_operator)
    r.add_static(f"{BASE}/static", Path(str(files("vtn.console") / "static")), append_version=True)
