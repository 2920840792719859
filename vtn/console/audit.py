"""The one hook every console change passes: who did what to which object, in the change's transaction.

`record` writes one audit_log row (docs/security.md) on the change's own `tx`, so the row commits or
rolls back with the change. The actor is `operator:<name>` with role `operator` (the CLI's rows say
plain `operator`); the operator's console role, and that the change came from the console, go in
`detail`; the address is the request's remote address. Console event writes pass the core's write
path as BL client `console:<operator>` too, but the write-path audit hook sits in the JSON API
front-ends (`mutate`), not in `Core.write`, so this is the only row a console change leaves. Client
changes are the exception: the client store audits every client change itself (CLI and console alike,
actions `client_add`/`client_remove`), so the console passes it `actor(session)` instead of calling
`record`, again one row per change.
"""

from __future__ import annotations

from vtn.console.auth import Session
from vtn.core.queries import AuditEntry, Tx

ACTOR_PREFIX = "operator:"
ROLE = "operator"  # the audit_log role of every operator row (bl | ven | operator | unknown)


def actor(session: Session) -> str:
    """How the audit log names the operator of `session`."""
    return f"{ACTOR_PREFIX}{session.operator}"


async def record(tx: Tx, session: Session, action: str, subject: str) -> None:
    """Note that the operator of `session` did `action` (e.g. "event.create") to `subject` (an id or name)."""
    await tx.audit().add(
        AuditEntry(
            actor=actor(session),
            role=ROLE,
            action=action,
            object_type=action.partition(".")[0],
            object_id=subject,
            address=session.address,
            detail=f"console, role {session.role.value}",
        )
    )
