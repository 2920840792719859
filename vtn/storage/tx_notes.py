"""Notes shared by the units of work of one transaction (a group-commit batch runs several)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class TxNotes:
    """What the units of work sharing one transaction (a group-commit batch) learn once for all."""

    # The subscriptions change stamp as this transaction read it (None: not read yet).
    subscription_stamp: bytes | None = None
    # This transaction wrote a subscription: its fan-out candidates are not the committed ones.
    wrote_subscriptions: bool = False
    # The subscriptions it wrote: id -> (object kinds, programID) as written, None once deleted.
    written_subscriptions: dict[str, tuple[frozenset[str], str | None] | None] = field(default_factory=dict)
    # The grants change stamp as this transaction read it (None: not read yet).
    grants_stamp: bytes | None = None
    # This transaction changed what VENs are granted (ven or resource objects): their grants are
    # not the committed ones (set by the core's write path before it notifies).
    wrote_grants: bool = False
    # Reports whose inserts group commit ran ahead of their units (reports.insert_ahead): report id
    # -> the programID written with it, or None if its event is not visible (nothing was written).
    reports_ahead: dict[str, str | None] = field(default_factory=dict)
