"""GET {base}/audit (our extension, BL only): the audit log, newest first, paged with skip/limit.

Filters: `actor` (a client id, or "operator") and `action` (create, update, delete, login_refused,
client_add, client_remove, client_rotate). Each entry: id, at, actor, role, action, objectType,
objectID, address, detail.
"""

from __future__ import annotations

from aiohttp import web

from vtn.core.state import state
from vtn.handlers.http_io import _int_param

MAX_LIMIT = 500


async def list_audit(request: web.Request) -> web.StreamResponse:
    skip = _int_param(request, "skip", 0, 0, 2**31 - 1)
    limit = _int_param(request, "limit", 50, 0, MAX_LIMIT)
    async with state(request).core.read() as tx:
        records = await tx.audit().page(
            skip=skip,
            limit=limit,
            actor=request.query.get("actor") or None,
            action=request.query.get("action") or None,
        )
    return web.json_response([r.to_doc() for r in records])
