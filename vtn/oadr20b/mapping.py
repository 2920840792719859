"""3.1 events as 2.0b `oadrEvent`s (pure; no I/O).

- Time: the event's intervals are placed with shared.timing (the same rule as the 3.1 `active`
  filter and our VEN); the active period runs from the first start to the end, and a signal interval
  carries `dtstart` only where it does not directly follow the previous one.
- Signals: one `eiEventSignal` per mapped payload type, values taken from the payload's first number.
  PRICE -> ELECTRICITY_PRICE/price, SIMPLE -> SIMPLE/level, IMPORT_CAPACITY_LIMIT ->
  LOAD_CONTROL/x-loadControlCapacity, DISPATCH_SETPOINT -> LOAD_DISPATCH/setpoint,
  CHARGE_STATE_SETPOINT -> CHARGE_STATE/setpoint. Other payload types have no 2.0b signal and are
  left out; an event with no mapped signal (or no known start) is not offered to 2.0b VENs at all.
- Target: the recipient's venID plus, as groupIDs, the event's targets that the VEN holds (the
  same target hiding as in 3.1).
- Status: far before the start, active during, completed after, cancelled once deleted in 3.1.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Generic, TypeVar
from urllib.parse import quote

from shared.durations import parse_duration
from shared.models import Event as Event31
from shared.models import Program, Resource
from shared.models.base import ObjectMetadata
from shared.oadr20b.parts import (
    ActivePeriod,
    Event,
    EventSignal,
    EventStatus,
    ResponseRequired,
    SignalInterval,
    Target,
)
from shared.timing import event_window, interval_spans

D = TypeVar("D", bound=ObjectMetadata)

SIGNALS: dict[str, tuple[str, str]] = {
    "SIMPLE": ("SIMPLE", "level"),
    "PRICE": ("ELECTRICITY_PRICE", "price"),
    "IMPORT_CAPACITY_LIMIT": ("LOAD_CONTROL", "x-loadControlCapacity"),
    "DISPATCH_SETPOINT": ("LOAD_DISPATCH", "setpoint"),
    "CHARGE_STATE_SETPOINT": ("CHARGE_STATE", "setpoint"),
}
# An event that never ends is given the longest duration 2.0b peers handle comfortably (one year).
_OPEN_ENDED = timedelta(days=365)


def market_context(program: Program | None) -> str:
    if program is not None and program.program_descriptions:
        return program.program_descriptions[0].url
    name = program.program_name if program is not None else "unknown"
    return f"urn:openadr3:program:{quote(name, safe='')}"


def _number(values: Sequence[object]) -> float | None:
    for value in values:
        if isinstance(value, bool):
            continue
        if isinstance(value, int | float):
            return float(value)
    return None


@dataclass(frozen=True)
class Shape:
    """What an event version maps to before any VEN or time comes in: its window and signals."""

    start: datetime | None
    end: datetime | None
    signals: tuple[EventSignal, ...]


class Shapes:
    """Per process: each event version's Shape, by event id and modificationDateTime (which every
    3.1 write moves; the 2.0b modificationNumber counts on it too), so a distribute to many VENs
    maps each event's intervals once. Bounded: cleared when full."""

    def __init__(self, limit: int = 10_000) -> None:
        self._limit = limit
        self._by: dict[tuple[str, datetime], Shape] = {}

    def of(self, event: Event31) -> Shape:
        key = (event.id, event.modification_date_time)
        found = self._by.get(key)
        if found is None:
            if len(self._by) >= self._limit:
                self._by.clear()
            found = self._by[key] = shape(event)
        return found


class Decoded(Generic[D]):
    """Per process: stored documents of one kind (3.1 events, resources) decoded once, by their text
    (a distribute reads every event and the VEN's resources for each request; decoding them was a
    fifth of its CPU). The objects are shared between requests: read them, never change them.
    Bounded by the documents' length (the decoded objects take a few times that): cleared when full."""

    def __init__(self, model: type[D], max_chars: int = 4_000_000) -> None:
        self._model: type[D] = model
        self._max_chars = max_chars
        self._chars = 0
        self._by_text: dict[str, D] = {}

    def of(self, docs: Sequence[str]) -> list[D]:
        known = self._by_text
        out: list[D] = []
        for doc in docs:
            found = known.get(doc)
            if found is None:
                found = self._model.model_validate_json(doc)
                if self._chars + len(doc) > self._max_chars:
                    known.clear()
                    self._chars = 0
                known[doc] = found
                self._chars += len(doc)
            out.append(found)
        return out


class DecodedDocs:
    """The service's memos of decoded events and resources (one per application)."""

    def __init__(self) -> None:
        self.events = Decoded(Event31)
        self.resources = Decoded(Resource)


def shape(event: Event31) -> Shape:
    written = event.modification_date_time
    start, end = event_window(event, written)
    spans = interval_spans(event, written)
    if start is None or not spans:
        return Shape(start, end, ())
    signals: list[EventSignal] = []
    for payload_type in dict.fromkeys(p.type for s in spans for p in s.interval.payloads):
        mapped = SIGNALS.get(payload_type)
        if mapped is None:
            continue
        intervals: list[SignalInterval] = []
        cursor: datetime | None = None
        for span in spans:
            value = next(
                (
                    v
                    for p in span.interval.payloads
                    if p.type == payload_type
                    if (v := _number(p.values)) is not None
                ),
                None,
            )
            if value is None:
                continue
            intervals.append(
                SignalInterval(
                    uid=str(len(intervals)),
                    duration=span.duration,
                    value=value,
                    dtstart=None if span.start == cursor else span.start,
                )
            )
            cursor = span.end
        if intervals:
            signals.append(
                EventSignal(
                    signal_name=mapped[0],
                    signal_type=mapped[1],
                    signal_id=payload_type,
                    intervals=tuple(intervals),
                )
            )
    return Shape(start, end, tuple(signals))


def to_oadr20b(
    event: Event31,
    *,
    modification_number: int,
    market: str,
    ven_id: str,
    shown_targets: Sequence[str],
    now: datetime,
    cancelled: bool = False,
    shapes: Shapes | None = None,
) -> Event | None:
    """`shapes`: a memo of the VEN-independent part (else it is computed here)."""
    found = shape(event) if shapes is None else shapes.of(event)
    start, end, signals = found.start, found.end, found.signals
    if start is None or not signals:
        return None
    randomize = event.interval_period.randomize_start if event.interval_period else None
    if cancelled:
        status = EventStatus.CANCELLED
    elif now < start:
        status = EventStatus.FAR
    elif end is not None and now >= end:
        status = EventStatus.COMPLETED
    else:
        status = EventStatus.ACTIVE
    return Event(
        event_id=event.id,
        modification_number=modification_number,
        modification_date_time=event.modification_date_time,
        priority=event.priority if event.priority is not None and event.priority >= 0 else None,
        market_context=market,
        created_date_time=event.created_date_time,
        event_status=status,
        vtn_comment=event.event_name,
        active_period=ActivePeriod(
            dtstart=start,
            duration=(end - start) if end is not None else _OPEN_ENDED,
            start_after=parse_duration(randomize) if randomize else None,
        ),
        signals=signals,
        target=Target(group_ids=tuple(shown_targets), ven_ids=(ven_id,)),
        response_required=ResponseRequired.ALWAYS,
    )
