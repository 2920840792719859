"""The query types front-ends fill in: filters and pages, in domain terms (vtn/storage/filters.py).

Re-exported here so that a front-end builds a query without reaching into storage; a `Permission`
is never built by a front-end, it comes from `Core.permission` (the visibility rule).
"""

from __future__ import annotations

from vtn.storage import NewClient, Reads, Tx
from vtn.storage.areas import AreaRecord, RunRecord
from vtn.storage.audit import AuditEntry, AuditRecord
from vtn.storage.filters import (
    MAX_LIMIT,
    EventFilter,
    Page,
    Permission,
    ProgramFilter,
    ReportFilter,
    ResourceFilter,
    SubscriptionFilter,
    VenFilter,
)
from vtn.storage.oadr20b.store import NeedsWrite, Oadr20bStore
from vtn.storage.reads import ReportRow, VenResources, VenRow
from vtn.storage.reports import PreparedReport

__all__ = [
    "MAX_LIMIT",
    "AreaRecord",
    "AuditEntry",
    "AuditRecord",
    "EventFilter",
    "NeedsWrite",
    "NewClient",
    "Oadr20bStore",
    "Page",
    "Permission",
    "PreparedReport",
    "ProgramFilter",
    "Reads",
    "ReportFilter",
    "ReportRow",
    "ResourceFilter",
    "RunRecord",
    "SubscriptionFilter",
    "Tx",
    "VenFilter",
    "VenResources",
    "VenRow",
]
