"""The one hook every console change passes: who did what to which object.

Until the audit log (branch `hardening`, table audit_log) is on this branch, the record goes to the
`vtn.console.audit` logger; when it lands, `record` becomes a write of an audit row in the same
unit of work (it is given the transaction for that reason).
"""

from __future__ import annotations

import logging

from vtn.core.queries import Tx

log = logging.getLogger("vtn.console.audit")


async def record(tx: Tx, operator: str, action: str, subject: str) -> None:
    """Note that `operator` did `action` (e.g. "event.create") to `subject` (an id or name)."""
    del tx  # the audit_log row goes here once the table exists (see module docstring)
    log.info("console: %s %s %s", operator, action, subject)
