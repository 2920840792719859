"""Operator login, sessions, CSRF and roles.

- A session is a random token in an HttpOnly, SameSite=Strict cookie (Secure over TLS) scoped to the
  console's path; the store keeps its SHA-256 and the session's CSRF token (vtn/storage/operators.py).
- Every POST carries the session's CSRF token in a form field `csrf`; the login form, before any
  session exists, uses a double-submit cookie.
- Roles rank viewer < operator < admin; a page names the least role it needs.
- After `max_failed_logins` consecutive failures an account is locked for `lock_seconds`; an
  unknown name costs the same hash time as a known one and gets the same answer.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from shared.durations import to_us
from shared.enums import OperatorRole, Role, Scope
from shared.models.common import ClientId
from vtn.auth.passwords import dummy_verify, verify_password
from vtn.console.state import CONSOLE
from vtn.core.core import Changes
from vtn.core.queries import Tx
from vtn.core.state import state
from vtn.principal import Principal

log = logging.getLogger("vtn.console")

SESSION_COOKIE = "vtn_console"
LOGIN_CSRF_COOKIE = "vtn_console_login"
BASE = "/console"


@dataclass(frozen=True, slots=True)
class Session:
    operator: str
    role: OperatorRole
    csrf: str
    address: str | None = None  # the remote address of the request, for the audit log

    def may(self, role: OperatorRole) -> bool:
        return self.role.rank >= role.rank

    @property
    def principal(self) -> Principal:
        """Who the core sees: BL, named after the operator so notifications and logs tell them apart."""
        return Principal(ClientId(f"console:{self.operator}"), Role.BL, frozenset(Scope))


SESSION_KEY = web.RequestKey("vtn_console_session", Session)
ConsoleHandler = Callable[[web.Request, Session], Awaitable[web.StreamResponse]]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def cookie_options(request: web.Request) -> dict[str, object]:
    return {"httponly": True, "samesite": "Strict", "secure": request.secure, "path": f"{BASE}/"}


async def current_session(request: web.Request) -> Session | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    core = state(request).core
    async with core.read() as tx:
        found = await tx.operators().session(token, to_us(core.clock()))
    if found is None:
        return None
    return Session(found.operator.name, found.operator.role, found.csrf_token, request.remote)


def guarded(role: OperatorRole) -> Callable[[ConsoleHandler], Handler]:
    """A console page for operators of at least `role`; POSTs must carry the session's CSRF token."""

    def wrap(handler: ConsoleHandler) -> Handler:
        async def page(request: web.Request) -> web.StreamResponse:
            session = await current_session(request)
            if session is None:
                raise web.HTTPFound(f"{BASE}/login?next={request.path_qs}")
            if request.method == "POST":
                form = await request.post()
                if not hmac.compare_digest(str(form.get("csrf", "")), session.csrf):
                    return web.Response(status=403, text="refused: missing or wrong CSRF token")
            if not session.may(role):
                return web.Response(status=403, text=f"refused: this needs the {role.value} role")
            request[SESSION_KEY] = session
            return await handler(request, session)

        return page

    return wrap


def _login_page(request: web.Request, error: str | None, status: int = 200) -> web.Response:
    token = secrets.token_urlsafe(24)
    html = (
        request.app[CONSOLE]
        .templates.get_template("login.html")
        .render(csrf=token, error=error, next=request.query.get("next", f"{BASE}/"), base=BASE)
    )
    response = web.Response(text=html, content_type="text/html", status=status)
    response.set_cookie(LOGIN_CSRF_COOKIE, token, **cookie_options(request))  # type: ignore[arg-type]
    return response


async def login_form(request: web.Request) -> web.StreamResponse:
    return _login_page(request, None)


async def login(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not hmac.compare_digest(str(form.get("csrf", "")), expected):
        return web.Response(status=403, text="refused: missing or wrong CSRF token (reload the login page)")
    name, password = str(form.get("name", "")), str(form.get("password", ""))
    core = state(request).core
    settings = request.app[CONSOLE].settings
    now_us = to_us(core.clock())
    async with core.read() as tx:
        operator = await tx.operators().get(name)
    if operator is None:
        await asyncio.to_thread(dummy_verify, password)
        return _login_page(request, "wrong name or password", 401)
    if operator.locked_until_us is not None and operator.locked_until_us > now_us:
        log.warning("console login refused: operator %r is locked", name)
        return _login_page(request, "this account is locked after repeated failures; try again later", 429)
    # scrypt takes ~50-100 ms of CPU (releasing the GIL): off the event loop, so a burst of logins
    # does not stall the API's VENs.
    if not await asyncio.to_thread(verify_password, password, operator.password_hash):
        lock_until = now_us + settings.lock_seconds * 1_000_000

        async def failed(tx: Tx, changes: Changes) -> bool:
            return await tx.operators().login_failed(name, settings.max_failed_logins, lock_until)

        locked = await core.run(failed)
        log.warning("console login refused: wrong password for operator %r%s", name, " (now locked)" * locked)
        if locked:
            return _login_page(
                request, "this account is locked after repeated failures; try again later", 429
            )
        return _login_page(request, "wrong name or password", 401)
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
    expires = now_us + settings.session_seconds * 1_000_000

    async def opened(tx: Tx, changes: Changes) -> None:
        await tx.operators().login_succeeded(name)
        await tx.operators().open_session(token, name, csrf, now_us, expires)

    await core.run(opened)
    target = str(form.get("next", "")) or f"{BASE}/"
    if not target.startswith(f"{BASE}/") or "//" in target:
        target = f"{BASE}/"  # no open redirect
    response = web.HTTPFound(target)
    response.set_cookie(SESSION_COOKIE, token, max_age=settings.session_seconds, **cookie_options(request))  # type: ignore[arg-type]
    response.del_cookie(LOGIN_CSRF_COOKIE, path=f"{BASE}/")
    raise response


@guarded(OperatorRole.VIEWER)
async def logout(request: web.Request, session: Session) -> web.StreamResponse:
    token = request.cookies.get(SESSION_COOKIE, "")

    async def closed(tx: Tx, changes: Changes) -> None:
        await tx.operators().close_session(token)

    await state(request).core.run(closed)
    response = web.HTTPFound(f"{BASE}/login")
    response.del_cookie(SESSION_COOKIE, path=f"{BASE}/")
    raise response
