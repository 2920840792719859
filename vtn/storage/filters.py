"""What a list query asks for, in domain terms (not the API's query-string shape).

`owner` restricts VEN-private objects (ven, resource, report, subscription) to one clientID; None
means BL, which sees everything. `access` is the targeting rule for programs and events read by a
VEN: the set of targets the VEN both asked for and was granted; untargeted objects stay visible.
None means no targeting restriction (BL).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shared.enums import ObjectType

DEFAULT_LIMIT = 50
MAX_LIMIT = 50


@dataclass(frozen=True, slots=True)
class Page:
    skip: int = 0
    limit: int = DEFAULT_LIMIT


@dataclass(frozen=True, slots=True)
class ProgramFilter:
    targets: frozenset[str] | None = None
    access: frozenset[str] | None = None
    page: Page = Page()


@dataclass(frozen=True, slots=True)
class EventFilter:
    program_id: str | None = None
    targets: frozenset[str] | None = None
    access: frozenset[str] | None = None
    # Only events that have not fully transpired at this moment.
    active_at: datetime | None = None
    page: Page = Page()


@dataclass(frozen=True, slots=True)
class ReportFilter:
    owner: str | None = None
    program_id: str | None = None
    event_id: str | None = None
    client_name: str | None = None
    page: Page = Page()


@dataclass(frozen=True, slots=True)
class SubscriptionFilter:
    owner: str | None = None
    program_id: str | None = None
    client_name: str | None = None
    objects: frozenset[ObjectType] | None = None
    page: Page = Page()


@dataclass(frozen=True, slots=True)
class VenFilter:
    owner: str | None = None
    ven_name: str | None = None
    targets: frozenset[str] | None = None
    page: Page = Page()


@dataclass(frozen=True, slots=True)
class ResourceFilter:
    owner: str | None = None
    resource_name: str | None = None
    ven_id: str | None = None
    targets: frozenset[str] | None = None
    page: Page = Page()
