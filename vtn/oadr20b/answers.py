"""Per process: each VEN's last answer to oadrRequestEvent, kept while nothing it depends on moved.

A 2.0b VEN asks for its events again and again (oadrRequestEvent, often on a timer), and
the answer rarely changes: building it took ~nine statements in a read transaction (the VEN, its
client, its registration, its grants, the events, their 2.0b versions, its deliveries, the
programs) before the codec's answer memo was even asked. Here the answer is kept per (venID,
caller's client, replyLimit) as the codec's prepared payload (shared with every VEN of the same
grants) and given again with the new requestID while all of these hold:

- the change stamps read for this request (one statement, on the read path) are those read before
  the answer was built: OBJECTS (programs and events, hence also their 2.0b modification numbers,
  which only move when an event is written or deleted), GRANTS (ven and resource objects: the VEN,
  its targets, its client), OADR20B (registrations, the poll queue: a cancelled or renewed
  registration) and CLIENTS (a client's certificate fingerprint, which `check_owner` looks at).
  Another process's write moves them in its own transaction, so it shows at the next request;
- the time is within the span over which the answer cannot change by itself: from when it was
  built to the first start of a far event or end of an active one (an ended event leaves the
  list, a started one turns active);
- it was built by a read-only run: nothing was left to record (no version to count, no delivery to
  mark, no cancellation owed), so giving it again skips no write. An answer with a cancelled event
  is never kept (its delivery rows change when the VEN answers, which moves no stamp).

Bounded: cleared when it holds `max_entries`, and when the codec's answer memo was cleared (whose
entries the prepared payloads share).
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, replace
from datetime import datetime

from shared.models import Ven
from shared.oadr20b import Oadr20bCodec, Prepared
from shared.oadr20b import messages as m
from shared.oadr20b.parts import EventStatus
from vtn.core.core import Core
from vtn.core.oadr20b_records import Registration
from vtn.core.stamps import CLIENTS, GRANTS, OADR20B, OBJECTS

_KEYS = (OBJECTS, GRANTS, OADR20B, CLIENTS)
Stamps = tuple[bytes | None, ...]


@dataclass(frozen=True, slots=True)
class _Kept:
    stamps: Stamps
    since: datetime  # the answer holds from here ...
    until: datetime | None  # ... to here (None: no event of it changes with time)
    prepared: Prepared


def holds_until(msg: m.DistributeEvent, now: datetime) -> tuple[bool, datetime | None]:
    """(whether the answer may be kept, until when it holds): the first start of a far event or end
    of an active one after `now`; not kept with a cancelled, completed or otherwise odd event."""
    until: datetime | None = None
    for event in msg.events:
        start = event.active_period.dtstart
        end = start + event.active_period.duration  # open-ended events: a year, an early end is safe
        if event.event_status == EventStatus.FAR and now < start:
            moment = start
        elif event.event_status == EventStatus.ACTIVE and start <= now < end:
            moment = end
        else:
            return False, None
        until = moment if until is None else min(until, moment)
    return True, until


class RequestAnswers:
    def __init__(self, core: Core, codec: Oadr20bCodec, max_entries: int = 100_000) -> None:
        self.core = core
        self.codec = codec
        self.max_entries = max_entries
        self._kept: dict[Hashable, _Kept] = {}
        self._generation = codec.prepared_generation

    async def stamps(self) -> Stamps:
        """The change stamps as of now: read before the answer is looked up or built."""
        found = await self.core.read_stamps(_KEYS)
        return tuple(found.get(name) for name in _KEYS)

    def _current(self) -> dict[Hashable, _Kept]:
        if self._generation != self.codec.prepared_generation:
            self._kept.clear()
            self._generation = self.codec.prepared_generation
        return self._kept

    def get(self, key: Hashable, stamps: Stamps, now: datetime) -> Prepared | None:
        kept = self._current().get(key)
        if kept is None or kept.stamps != stamps or now < kept.since:
            return None
        if kept.until is not None and now >= kept.until:
            return None
        return kept.prepared

    def keep(self, key: Hashable, stamps: Stamps, now: datetime, msg: m.DistributeEvent) -> Prepared | None:
        """Keep `msg` (built as of `now` after reading `stamps`, writing nothing) for `key`; its
        prepared payload, or None if it is not to be kept or only a full build gives it."""
        keepable, until = holds_until(msg, now)
        if not keepable or msg.response is None or msg.response.code != 200:
            return None
        prepared = self.codec.prepare(msg)
        if prepared is None:
            return None
        kept = self._current()
        if len(kept) >= self.max_entries:
            kept.clear()
        kept[key] = _Kept(stamps, now, until, prepared)
        return prepared


@dataclass(frozen=True, slots=True)
class _Identity:
    stamps: Stamps
    ven: Ven
    registration: Registration
    grants: frozenset[str] | None


class KnownVens:
    """Per process: a VEN's ven object, registration and grants as its last oadrRequestEvent read
    them, for the next one built while GRANTS, OADR20B and CLIENTS hold (an event write, the usual
    reason to build an answer again, leaves them: only the events, their versions and the VEN's
    deliveries are read then). Keyed by venID and the caller's client, kept only once admitted
    (`check_owner` passed). Bounded: cleared when it holds `max_entries`."""

    def __init__(self, max_entries: int = 100_000) -> None:
        self.max_entries = max_entries
        self._known: dict[Hashable, _Identity] = {}

    def at(self, stamps: Stamps) -> StampedVens:
        """This memo as of the stamps read for one request."""
        return StampedVens(self, stamps[1:])  # not OBJECTS: no event or program is kept here


class StampedVens:
    """`KnownVens` bound to one request's stamps (what `Ctx.known` holds)."""

    def __init__(self, memo: KnownVens, stamps: Stamps) -> None:
        self._memo = memo
        self._stamps = stamps

    def _get(self, key: Hashable) -> _Identity | None:
        found = self._memo._known.get(key)
        return found if found is not None and found.stamps == self._stamps else None

    def ven(self, ven_id: str, client_id: str | None) -> tuple[Ven, Registration] | None:
        found = self._get((ven_id, client_id))
        return None if found is None else (found.ven, found.registration)

    def keep_ven(self, client_id: str | None, ven: Ven, registration: Registration) -> None:
        known = self._memo._known
        if len(known) >= self._memo.max_entries:
            known.clear()
        known[(ven.id, client_id)] = _Identity(self._stamps, ven, registration, None)

    def grants(self, ven_id: str, client_id: str | None) -> frozenset[str] | None:
        found = self._get((ven_id, client_id))
        return None if found is None else found.grants

    def keep_grants(self, ven_id: str, client_id: str | None, grants: frozenset[str]) -> None:
        found = self._get((ven_id, client_id))
        if found is not None:
            self._memo._known[(ven_id, client_id)] = replace(found, grants=grants)
