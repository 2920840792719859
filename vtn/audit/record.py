"""record_change: the audit row of one BL write, in the write's own transaction."""

from __future__ import annotations

from aiohttp import web

from shared.enums import Operation
from vtn.principal import Principal
from vtn.storage import Tx
from vtn.storage.audit import AuditEntry


async def record_change(
    tx: Tx,
    request: web.Request,
    who: Principal | None,
    operation: Operation,
    object_type: str,
    object_id: str,
) -> None:
    """Audit a write if a BL client made it (VEN writes are their own business, not the operator's)."""
    if who is None or not who.is_bl:
        return
    cascaded = len(tx.cascaded)
    entry = AuditEntry(
        actor=who.client_id,
        role=who.role.value,
        action=operation.value.lower(),
        object_type=object_type,
        object_id=object_id,
        address=request.remote,
        detail=f"{request.method} {request.path}" + (f"; {cascaded} dependents deleted" if cascaded else ""),
    )
    await tx.audit().add(entry)
