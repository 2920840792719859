"""Which events appeared, changed or disappeared between two event sets (a VEN's two polls)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from shared.models.event import Event
from shared.timing import as_utc


@dataclass(frozen=True)
class EventChanges:
    """Event ids that appeared, changed (modificationDateTime or content) or disappeared."""

    added: frozenset[str]
    changed: frozenset[str]
    removed: frozenset[str]

    def __bool__(self) -> bool:
        return bool(self.added or self.changed or self.removed)


def changed_events(
    old_events: Iterable[Event] | Mapping[str, Event], new_events: Iterable[Event] | Mapping[str, Event]
) -> EventChanges:
    """Compare two event sets by id; content is compared too, for VTNs that forget to bump the timestamp."""
    old, new = events_by_id(old_events), events_by_id(new_events)
    changed = {
        eid
        for eid in old.keys() & new.keys()
        if old[eid].modification_date_time != new[eid].modification_date_time or old[eid] != new[eid]
    }
    return EventChanges(
        added=frozenset(new.keys() - old.keys()),
        changed=frozenset(changed),
        removed=frozenset(old.keys() - new.keys()),
    )


def events_by_id(events: Iterable[Event] | Mapping[str, Event]) -> dict[str, Event]:
    """Index by id; of duplicates, the most recently modified wins."""
    items = events.values() if isinstance(events, Mapping) else events
    out: dict[str, Event] = {}
    for event in items:
        seen = out.get(event.id)
        if seen is None or as_utc(event.modification_date_time) >= as_utc(seen.modification_date_time):
            out[event.id] = event
    return out
