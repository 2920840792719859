"""What a query asks for, in domain terms (not the API's query-string shape).

`owner` restricts VEN-private objects (ven, resource, report, subscription) to one clientID; None
means BL, which sees everything. A `Permission` is what a caller may see of programs and events;
the repositories apply it in SQL. It is built in one place only, the core's visibility rule
(vtn/core/visibility.py), from the caller and the targets it asked for.

Named tuples, not frozen dataclasses: one page and one filter are built per list request (and the
page is part of the read cache's key), and a frozen dataclass's __init__ and dataclasses.replace
cost several times a tuple's.
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from shared.enums import ObjectType
from shared.models.common import ClientId, EventId, ProgramId, VenId

DEFAULT_LIMIT = 50
MAX_LIMIT = 50


class Page(NamedTuple):
    skip: int = 0
    limit: int = DEFAULT_LIMIT
    # Byte budget of one answer: objects are added while the documents so far stay under it (at
    # least one is always returned), so a client pages on with skip; None: no budget.
    max_bytes: int | None = None


class Permission(NamedTuple):
    """What one caller may see of programs and events.

    A named tuple, not a dataclass: it is part of the read cache's key of every poll, and a tuple
    hashes and compares in C.

    `access`: the targets a VEN may match on (those it asked for AND was granted); untargeted
    objects stay visible, other targets are hidden from it. None: no targeting restriction (BL).
    `targets`: a plain target filter (BL's `targets` query): objects with any of them.
    `sandbox`: the sandbox client whose sandbox objects (vtn/sandbox) the caller sees besides the
    real ones; None: no sandbox object at all (everyone else, BL and program automation included).
    """

    access: frozenset[str] | None = None
    targets: frozenset[str] | None = None
    sandbox: ClientId | None = None

    @property
    def hides_targets(self) -> bool:
        return self.access is not None


# BL without a `targets` query: everything, nothing hidden.
EVERYTHING = Permission()


class ProgramFilter(NamedTuple):
    permission: Permission = EVERYTHING
    page: Page = Page()


class EventFilter(NamedTuple):
    program_id: ProgramId | None = None
    permission: Permission = EVERYTHING
    # Only events that have not fully transpired at this moment.
    active_at: datetime | None = None
    page: Page = Page()


class ReportFilter(NamedTuple):
    owner: ClientId | None = None
    program_id: ProgramId | None = None
    event_id: EventId | None = None
    client_name: str | None = None
    page: Page = Page()


class SubscriptionFilter(NamedTuple):
    owner: ClientId | None = None
    program_id: ProgramId | None = None
    client_name: str | None = None
    objects: frozenset[ObjectType] | None = None
    page: Page = Page()


class VenFilter(NamedTuple):
    owner: ClientId | None = None
    ven_name: str | None = None
    targets: frozenset[str] | None = None
    page: Page = Page()


class ResourceFilter(NamedTuple):
    owner: ClientId | None = None
    resource_name: str | None = None
    ven_id: VenId | None = None
    targets: frozenset[str] | None = None
    page: Page = Page()
