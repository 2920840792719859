"""Rendering a console page: the template, the session's CSRF token and the navigation."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from shared.enums import OperatorRole
from vtn.console.auth import BASE, Session
from vtn.console.state import CONSOLE

NAV = (
    ("overview", "Overview", ""),
    ("vens", "VENs", "vens"),
    ("events", "Programs & events", "events"),
    ("subscriptions", "Subscriptions", "subscriptions"),
    ("areas", "Areas", "areas"),
    ("clients", "Clients", "clients"),
    ("audit", "Audit log", "audit"),
)
ADMIN_NAV = (
    ("operators", "Operators", "operators"),
    ("certificates", "Certificate requests", "certificates"),
)


def render(
    request: web.Request, session: Session, template: str, status: int = 200, **ctx: Any
) -> web.Response:
    html = (
        request.app[CONSOLE]
        .templates.get_template(template)
        .render(
            base=BASE,
            session=session,
            csrf=session.csrf,
            nav=NAV + ADMIN_NAV if session.may(OperatorRole.ADMIN) else NAV,
            when=when,
            can_write=session.may(OperatorRole.OPERATOR),
            is_admin=session.may(OperatorRole.ADMIN),
            **ctx,
        )
    )
    response = web.Response(text=html, content_type="text/html", status=status)
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'"
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def when(moment: datetime | int | None) -> str:
    """A moment for people: UTC, to the second."""
    if moment is None:
        return "—"
    if isinstance(moment, int):
        moment = datetime.fromtimestamp(moment / 1_000_000, UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
