"""Operators (admin only): list, add with a password, unlock, remove; through the core, audited."""

from __future__ import annotations

import asyncio

from aiohttp import web

from shared.durations import to_us
from shared.enums import OperatorRole
from shared.errors import Conflict
from vtn.auth.passwords import MIN_LENGTH, hash_password
from vtn.console import audit
from vtn.console.auth import BASE, Session, guarded
from vtn.console.view import render
from vtn.core.core import Changes
from vtn.core.queries import Tx
from vtn.core.state import state


async def _page(request: web.Request, session: Session, error: str | None, done: str | None) -> web.Response:
    core = state(request).core
    async with core.read() as tx:
        found = await tx.operators().list()
    now_us = to_us(core.clock())
    return render(
        request,
        session,
        "operators.html",
        status=200 if error is None else 422,
        page="operators",
        operators=found,
        now_us=now_us,
        roles=list(OperatorRole),
        error=error,
        done=done,
    )


@guarded(OperatorRole.ADMIN)
async def operators(request: web.Request, session: Session) -> web.StreamResponse:
    return await _page(request, session, None, None)


@guarded(OperatorRole.ADMIN)
async def add_operator(request: web.Request, session: Session) -> web.StreamResponse:
    form = await request.post()
    name, role, password = (str(form.get(k, "")).strip() for k in ("name", "role", "password"))
    if not name or role not in {r.value for r in OperatorRole}:
        return await _page(request, session, "a name and a role are needed", None)
    if len(password) < MIN_LENGTH:
        return await _page(request, session, f"the password must have at least {MIN_LENGTH} characters", None)
    hashed = await asyncio.to_thread(hash_password, password)  # ~0.1 s of CPU: off the event loop
    core = state(request).core
    now_us = to_us(core.clock())

    async def add(tx: Tx, changes: Changes) -> None:
        await tx.operators().add(name, OperatorRole(role), hashed, now_us)
        await audit.record(tx, session, "operator.add", f"{name} ({role})")

    try:
        await core.run(add)
    except Conflict as exc:
        return await _page(request, session, exc.detail, None)
    return await _page(request, session, None, f"operator {name} added")


@guarded(OperatorRole.ADMIN)
async def unlock_operator(request: web.Request, session: Session) -> web.StreamResponse:
    name = request.match_info["name"]

    async def unlock(tx: Tx, changes: Changes) -> None:
        await tx.operators().login_succeeded(name)
        await audit.record(tx, session, "operator.unlock", name)

    await state(request).core.run(unlock)
    raise web.HTTPFound(f"{BASE}/operators")


@guarded(OperatorRole.ADMIN)
async def remove_operator(request: web.Request, session: Session) -> web.StreamResponse:
    name = request.match_info["name"]
    if name == session.operator:
        return await _page(request, session, "you cannot remove yourself", None)

    async def remove(tx: Tx, changes: Changes) -> None:
        await tx.operators().remove(name)
        await audit.record(tx, session, "operator.remove", name)

    await state(request).core.run(remove)
    raise web.HTTPFound(f"{BASE}/operators")
