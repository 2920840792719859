"""Subscriptions (health, delivery log, retry now); OAuth clients (list, add: secret shown once, remove)."""

from __future__ import annotations

from aiohttp import web

from shared.durations import to_us
from shared.enums import OperatorRole, Role
from shared.errors import Conflict
from vtn.console import audit
from vtn.console.auth import BASE, Session, guarded
from vtn.console.view import render
from vtn.core.core import Changes
from vtn.core.queries import NewClient, Tx
from vtn.core.state import state

LISTED = 200


@guarded(OperatorRole.VIEWER)
async def subscriptions(request: web.Request, session: Session) -> web.StreamResponse:
    core = state(request).core
    async with core.read() as tx:
        rows = await tx.console().subscriptions(LISTED)
    return render(request, session, "subscriptions.html", page="subscriptions", rows=rows)


@guarded(OperatorRole.VIEWER)
async def subscription(request: web.Request, session: Session) -> web.StreamResponse:
    core = state(request).core
    sub_id = request.match_info["subscription_id"]
    async with core.read() as tx:
        health = await tx.outbox.health_of(sub_id)
        attempts = await tx.outbox.attempts_for(sub_id, 50)
    return render(
        request,
        session,
        "subscription.html",
        page="subscriptions",
        sub_id=sub_id,
        health=health,
        attempts=attempts,
        retried=request.query.get("retried"),
    )


@guarded(OperatorRole.OPERATOR)
async def retry_now(request: web.Request, session: Session) -> web.StreamResponse:
    core = state(request).core
    sub_id = request.match_info["subscription_id"]

    async def retry(tx: Tx, changes: Changes) -> int:
        n = await tx.console().retry_now(sub_id, to_us(core.clock()))
        changes.queued += n  # wakes the delivery worker after the commit
        await audit.record(tx, session, "subscription.retry", sub_id)
        return n

    n = await core.run(retry)
    raise web.HTTPFound(f"{BASE}/subscriptions/{sub_id}?retried={n}")


@guarded(OperatorRole.VIEWER)
async def clients(request: web.Request, session: Session) -> web.StreamResponse:
    return await _clients_page(request, session, None, None)


async def _clients_page(
    request: web.Request, session: Session, new: NewClient | None, error: str | None
) -> web.Response:
    after = request.query.get("after") or None
    async with state(request).core.read() as tx:
        found, next_after = await tx.console().client_page(after, LISTED)
    return render(
        request,
        session,
        "clients.html",
        status=200 if error is None else 422,
        page="clients",
        clients=found,
        next_after=next_after,
        new=new,
        error=error,
        roles=list(Role),
    )


@guarded(OperatorRole.ADMIN)
async def add_client(request: web.Request, session: Session) -> web.StreamResponse:
    core = state(request).core
    form = await request.post()
    name, role = str(form.get("name", "")).strip(), str(form.get("role", ""))
    error = None
    new = None
    if not name or role not in {r.value for r in Role}:
        error = "a name and a role (bl or ven) are needed"
    else:

        async def add(tx: Tx, changes: Changes) -> NewClient:
            # The client store audits its own changes: the row names the operator (one row, not two).
            return await tx.clients.add(name, Role(role), actor=audit.actor(session), address=session.address)

        try:
            new = await core.run(add)
        except Conflict as exc:
            error = exc.detail
    return await _clients_page(request, session, new, error)


@guarded(OperatorRole.ADMIN)
async def remove_client(request: web.Request, session: Session) -> web.StreamResponse:
    client_id = request.match_info["client_id"]

    async def remove(tx: Tx, changes: Changes) -> bool:
        return await tx.clients.remove(client_id, actor=audit.actor(session), address=session.address)

    await state(request).core.run(remove)
    raise web.HTTPFound(f"{BASE}/clients")
