"""The audit log (viewers and up): who did what, when, from where; newest first, keyset-paged by row id,
filtered by an actor prefix (e.g. `operator:` for console operators, a client id for a BL client)."""

from __future__ import annotations

from aiohttp import web

from shared.enums import OperatorRole
from vtn.console.auth import Session, guarded
from vtn.console.view import render
from vtn.core.state import state

LISTED = 100


@guarded(OperatorRole.VIEWER)
async def audit_log(request: web.Request, session: Session) -> web.StreamResponse:
    raw_before = request.query.get("before", "")
    if raw_before and not raw_before.isdigit():
        raise web.HTTPBadRequest(text=f"'before' must be an audit row id (a number), not {raw_before!r}")
    actor = request.query.get("actor", "").strip()
    async with state(request).core.read() as tx:
        rows = await tx.audit().newest(
            before_id=int(raw_before) if raw_before else None, limit=LISTED + 1, actor_prefix=actor or None
        )
    more = len(rows) > LISTED
    rows = rows[:LISTED]
    return render(
        request,
        session,
        "audit.html",
        page="audit",
        rows=rows,
        actor=actor,
        next_before=rows[-1].id if more else None,
    )
