"""The one hook every console change passes: who did what to which object, in the change's transaction.

The audit log (branch `hardening`: table audit_log, vtn/storage/audit.py `AuditRepo.add(AuditEntry)`)
is not on this branch. Until it is merged, `record` writes one line on the `vtn.console.audit`
logger; at the merge its body becomes `AuditRepo.add(AuditEntry(actor=operator, role="operator",
action=action, object_id=subject))` on `tx`, so the row commits with the change. Event writes also
pass the core's write path as BL client `console:<operator>`, which that branch's write-path hook
records too: keep one of the two for events (this one names the operator role).
"""

from __future__ import annotations

import logging

from vtn.core.queries import Tx

log = logging.getLogger("vtn.console.audit")


async def record(tx: Tx, operator: str, action: str, subject: str) -> None:
    """Note that `operator` did `action` (e.g. "event.create") to `subject` (an id or name)."""
    del tx  # the audit_log row goes here once the table exists (see module docstring)
    log.info("console: %s %s %s", operator, action, subject)
