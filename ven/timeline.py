"""The VEN's view of time: which event intervals, and which payload values, apply at a given moment.

Pure: no I/O and no clock; every query takes `now`. Naive datetimes are read as UTC.

Placement follows `shared.timing.interval_spans` (default intervalPeriod, "follow the previous interval",
0001-01-01 = the event's modificationDateTime). On top of that (OpenADR 3.1 User Guide 7.3):

* Event origin O = the earliest of the event-level start and the interval starts; cycle C = end of the
  latest interval - O.
* Looping: `event.duration` D repeats the intervals every C over [O, O + D); the last pass is cut at O + D,
  so a D shorter than C drops the tail. No duration = one pass; D >= P9999Y = forever. Queries compute the
  loop index arithmetically ((t - O) // C), so the cost is O(intervals * (1 + 2 * randomizeStart / C)),
  whatever the year, and nothing is materialised.
* randomizeStart: the first interval and every interval carrying its own randomizeStart are "anchors"; each
  draws one shift per loop pass, and the intervals that follow an anchor move with it (UG: "all starts are
  shifted by the same amount"), so contiguous intervals stay contiguous. The shift is uniform in
  [0, randomizeStart] (or [-r, r] with `symmetric_randomize=True`, the UG wording) and comes from
  `random.Random(blake2b(event id, anchor interval id, loop, seed))`: stable across processes, unlike
  `hash()`, whose string hashing is salted per process. Truncation by D happens before the shift.
* Sub-intervals: a payload of a type in `SCALAR_PAYLOAD_TYPES` (one value per interval in the enumerations)
  carrying n > 1 values splits its interval into n equal parts, part i carrying values[i] (UG "multi-valued
  payloads"). Parts are cut at floor(L * i / n) microseconds. Payloads of one interval may have different n;
  the interval is then cut at the union of their boundaries, and every piece is an `ActiveInterval` whose
  `interval_id` is the event interval's id (what a SUB_INTERVALS report must echo). Other types (CURVE, OLS,
  DISPATCH_INSTRUCTION, ALERT_*, ...) keep all their values.
* Intervals are half-open [start, end); zero-length intervals are never active.
"""

from __future__ import annotations

import hashlib
import math
import random
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from shared.durations import INFINITE, is_now_sentinel, parse_duration
from shared.models.common import EventPayloadDescriptor, Value
from shared.models.event import Event
from shared.timing import as_utc, interval_spans

__all__ = [
    "SCALAR_PAYLOAD_TYPES",
    "ActiveInterval",
    "EventChanges",
    "Signal",
    "Timeline",
    "changed_events",
]

# Types whose enumeration allows exactly one numeric value; more values mean sub-intervals.
_CAPACITY = ("LIMIT", "SUBSCRIPTION", "RESERVATION", "RESERVATION_FEE", "AVAILABLE", "AVAILABLE_PRICE")
SCALAR_PAYLOAD_TYPES: frozenset[str] = frozenset(
    {"SIMPLE", "PRICE", "PRICE_ALTERNATE", "EXPORT_PRICE", "GHG", "CHARGE_STATE_SETPOINT"}
    | {
        "DISPATCH_SETPOINT",
        "DISPATCH_SETPOINT_RELATIVE",
        "CONTROL_LEVEL_OFFSET",
        "CONTROL_LEVEL_OFFSET_PERCENT",
    }
    | {f"{way}_CAPACITY_{kind}" for way in ("IMPORT", "EXPORT") for kind in _CAPACITY}
)

_US = timedelta(microseconds=1)
_MAX = datetime.max.replace(tzinfo=UTC)
_MIN = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Signal:
    """One payload as it applies now: values (a single one for a sub-interval) plus descriptor context."""

    payload_type: str
    values: tuple[Value, ...]
    units: str | None = None
    currency: str | None = None

    @property
    def number(self) -> float | None:
        """The first value as a float; None if absent or not numeric (bools do not count)."""
        if not self.values:
            return None
        first = self.values[0]
        if isinstance(first, bool) or not isinstance(first, int | float):
            return None
        return float(first)


@dataclass(frozen=True)
class ActiveInterval:
    """One (sub-)interval occurrence of an event, placed on the time line."""

    event_id: str
    program_id: str
    event_name: str | None
    priority: int | None  # lower = more important; None = least important
    interval_id: int
    start: datetime
    end: datetime
    signals: tuple[Signal, ...]
    loop: int = 0  # which pass of a looping event

    def signal(self, payload_type: str) -> Signal | None:
        """The first signal of `payload_type`, if any."""
        return next((s for s in self.signals if s.payload_type == payload_type), None)


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
    old, new = _by_id(old_events), _by_id(new_events)
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


def _by_id(events: Iterable[Event] | Mapping[str, Event]) -> dict[str, Event]:
    """Index by id; of duplicates, the most recently modified wins."""
    items = events.values() if isinstance(events, Mapping) else events
    out: dict[str, Event] = {}
    for event in items:
        seen = out.get(event.id)
        if seen is None or as_utc(event.modification_date_time) >= as_utc(seen.modification_date_time):
            out[event.id] = event
    return out


def _us(delta: timedelta) -> int:
    return delta // _US


def _at(origin: datetime, offset_us: int) -> datetime:
    """origin + offset, clamped to the datetime range (P9999Y ends after year 9999)."""
    try:
        return origin + timedelta(microseconds=offset_us)
    except OverflowError:
        return _MAX if offset_us > 0 else _MIN


@dataclass(frozen=True, slots=True)
class _Span:
    interval_id: int
    offset: int  # microseconds from the event origin, unshifted
    length: int  # microseconds, > 0
    anchor: int  # interval id whose random draw this span shares
    window: int  # the anchor's |randomizeStart| in microseconds
    payloads: tuple[tuple[Signal, int], ...]  # full signal, number of sub-intervals (1 = none)
    cuts: tuple[int, ...]  # piece boundaries, 0 .. length, sorted and unique


@dataclass(frozen=True, slots=True)
class _Plan:
    event: Event
    origin: datetime
    cycle: int  # microseconds, > 0
    loops: int | None  # None = forever
    end: int | None  # offset where the event stops (truncation), None = no cut
    spans: tuple[_Span, ...]
    reach: int  # the largest randomisation window


@dataclass(frozen=True, slots=True)
class _Piece:
    plan: _Plan
    span: _Span
    loop: int
    start: int  # shifted, microseconds from origin
    end: int
    signals: tuple[Signal, ...]


def _compile(event: Event) -> _Plan | None:
    """Reduce an event to offsets from its origin; None when it can never be active."""
    written = as_utc(event.modification_date_time)
    placed = interval_spans(event, written)
    if not placed:
        return None
    starts = [as_utc(s.start) for s in placed]
    origin = min(starts)
    default = event.interval_period
    if default is not None and default.start is not None:
        origin = min(origin, written if is_now_sentinel(default.start) else as_utc(default.start))
    descriptors: dict[str, EventPayloadDescriptor] = {}
    for descriptor in event.payload_descriptors or []:
        descriptors.setdefault(descriptor.payload_type, descriptor)
    spans: list[_Span] = []
    cycle = 0
    anchor, window = -1, 0
    for index, (item, start) in enumerate(zip(placed, starts, strict=True)):
        own = item.interval.interval_period
        if index == 0 or (own is not None and own.randomize_start is not None):
            anchor, window = item.interval.id, abs(_us(item.randomize_start))
        offset, length = _us(start - origin), _us(item.duration)
        cycle = max(cycle, offset + length)
        if length <= 0:
            continue
        payloads: list[tuple[Signal, int]] = []
        cuts = {0, length}
        for payload in item.interval.payloads:
            desc = descriptors.get(payload.type)
            units, currency = (desc.units, desc.currency) if desc else (None, None)
            signal = Signal(payload.type, tuple(payload.values), units, currency)
            parts = len(payload.values) if payload.type in SCALAR_PAYLOAD_TYPES and payload.values else 1
            payloads.append((signal, parts))
            cuts.update(length * i // parts for i in range(1, parts))
        spans.append(
            _Span(item.interval.id, offset, length, anchor, window, tuple(payloads), tuple(sorted(cuts)))
        )
    if not spans or cycle <= 0:
        return None
    loops: int | None = 1
    end: int | None = None
    if event.duration is not None:
        duration = parse_duration(event.duration)
        if duration >= INFINITE:
            loops = None
        else:
            end = max(0, _us(duration))
            loops = -(-end // cycle)
            if loops == 0:
                return None
    return _Plan(event, origin, cycle, loops, end, tuple(spans), max(s.window for s in spans))


class Timeline:
    """Immutable schedule of a set of events. Rebuild it when the event set changes (see `diff`).

    `seed` individualises randomizeStart: give each VEN its own (e.g. derived from its name), otherwise
    all VENs with the default seed 0 shift alike and randomisation achieves nothing.
    """

    def __init__(
        self, events: Iterable[Event], *, seed: int | None = None, symmetric_randomize: bool = False
    ) -> None:
        self._seed = 0 if seed is None else seed
        self._symmetric = symmetric_randomize
        self._events = _by_id(events)
        self._plans: list[_Plan] = []
        self._skipped: dict[str, str] = {}
        for event in self._events.values():
            try:
                plan = _compile(event)
            except (ValueError, OverflowError) as exc:  # one bad event must not take the others down
                self._skipped[event.id] = str(exc)
                continue
            if plan is not None:
                self._plans.append(plan)

    @classmethod
    def build(
        cls, events: Iterable[Event], *, seed: int | None = None, symmetric_randomize: bool = False
    ) -> Timeline:
        return cls(events, seed=seed, symmetric_randomize=symmetric_randomize)

    @property
    def events(self) -> Mapping[str, Event]:
        """The events this timeline was built from, by id."""
        return dict(self._events)

    @property
    def skipped(self) -> Mapping[str, str]:
        """Events that could not be placed (bad durations), with the reason."""
        return dict(self._skipped)

    @staticmethod
    def diff(old: Timeline, new: Timeline) -> EventChanges:
        return changed_events(old._events, new._events)

    def active_at(self, now: datetime) -> list[ActiveInterval]:
        """Every (sub-)interval covering `now`, most important first, then oldest event first."""
        now = as_utc(now)
        found: list[ActiveInterval] = []
        for plan in self._plans:
            t = _us(now - plan.origin)
            found.extend(self._interval(p) for p in self._pieces(plan, t, t + 1))
        found.sort(key=self._rank)
        return found

    def effective_at(self, now: datetime) -> dict[str, ActiveInterval]:
        """Per payload type, the interval that wins: lowest priority number, then latest modified event.

        Within one event, the later-starting interval wins (explicit overlaps by own start times).
        """
        best: dict[str, tuple[tuple[float, float, str, float, int], ActiveInterval]] = {}
        for item in self.active_at(now):
            event = self._events[item.event_id]
            key = (
                _priority(item.priority),
                -as_utc(event.modification_date_time).timestamp(),
                item.event_id,
                -item.start.timestamp(),
                -item.interval_id,
            )
            for signal in item.signals:
                held = best.get(signal.payload_type)
                if held is None or key < held[0]:
                    best[signal.payload_type] = (key, item)
        return {ptype: item for ptype, (_, item) in best.items()}

    def signals_at(self, now: datetime) -> dict[str, Signal]:
        """The winning signal per payload type: what device adapters receive."""
        winners = self.effective_at(now).items()
        return {ptype: signal for ptype, item in winners if (signal := item.signal(ptype)) is not None}

    def upcoming(self, now: datetime, horizon: timedelta) -> list[ActiveInterval]:
        """(Sub-)intervals overlapping [now, now + horizon), active ones included, by start time."""
        now = as_utc(now)
        found: list[ActiveInterval] = []
        for plan in self._plans:
            t = _us(now - plan.origin)
            found.extend(self._interval(p) for p in self._pieces(plan, t, t + max(1, _us(horizon))))
        found.sort(key=lambda a: (a.start, self._rank(a)))
        return found

    def next_change_after(self, now: datetime) -> datetime | None:
        """The first (sub-)interval start or end strictly after `now`; None if nothing is left."""
        now = as_utc(now)
        best: datetime | None = None
        for plan in self._plans:
            t = _us(now - plan.origin)
            found = self._next_boundary(plan, t)
            moment = None if found is None else _at(plan.origin, found)
            if moment is not None and moment != _MAX:  # a boundary past year 9999 never comes
                best = moment if best is None else min(best, moment)
        return best

    # -- internals -------------------------------------------------------------------------------

    def _rank(self, item: ActiveInterval) -> tuple[float, datetime, str, datetime, int]:
        created = as_utc(self._events[item.event_id].created_date_time)
        return (_priority(item.priority), created, item.event_id, item.start, item.interval_id)

    def _shift(self, plan: _Plan, span: _Span, loop: int) -> int:
        if span.window == 0:
            return 0
        key = repr((plan.event.id, span.anchor, loop, self._seed)).encode()
        rng = random.Random(int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "big"))
        return rng.randint(-span.window if self._symmetric else 0, span.window)

    def _loop_range(self, plan: _Plan, lo: int, hi: int | None) -> range:
        """Loop passes whose shifted occurrences may reach [lo, hi); hi None = open-ended."""
        first = max(0, (lo - plan.reach) // plan.cycle)
        last = None if hi is None else -(-(hi + plan.reach) // plan.cycle) - 1
        if plan.loops is not None:
            last = plan.loops - 1 if last is None else min(last, plan.loops - 1)
        if last is None:  # open-ended and forever: callers stop on their own
            last = first + 2**62
        return range(first, last + 1)

    def _occurrence(self, plan: _Plan, span: _Span, loop: int) -> tuple[int, int, int] | None:
        """(base, cut length, shift) of a span in a loop pass; None if truncated away."""
        base = loop * plan.cycle + span.offset
        length = span.length if plan.end is None else min(span.length, plan.end - base)
        if length <= 0:
            return None
        return base, length, self._shift(plan, span, loop)

    def _pieces(self, plan: _Plan, lo: int, hi: int) -> Iterator[_Piece]:
        for loop in self._loop_range(plan, lo, hi):
            for span in plan.spans:
                occ = self._occurrence(plan, span, loop)
                if occ is None:
                    continue
                base, length, shift = occ
                origin = base + shift
                if origin >= hi or origin + length <= lo:
                    continue
                cuts = span.cuts
                i = max(0, bisect_right(cuts, lo - origin) - 1)
                while i < len(cuts) - 1 and cuts[i] < min(hi - origin, length):
                    start, end = cuts[i], min(cuts[i + 1], length)
                    if end > max(start, lo - origin):
                        signals = tuple(
                            _sub_signal(sig, parts, start, span.length) for sig, parts in span.payloads
                        )
                        yield _Piece(plan, span, loop, origin + start, origin + end, signals)
                    i += 1

    def _next_boundary(self, plan: _Plan, t: int) -> int | None:
        best: int | None = None
        for loop in self._loop_range(plan, t, None):
            if best is not None and loop * plan.cycle - plan.reach > best:
                break  # every boundary of this and later passes comes after the best found
            for span in plan.spans:
                occ = self._occurrence(plan, span, loop)
                if occ is None:
                    continue
                base, length, shift = occ
                origin = base + shift
                if origin + length <= t:
                    continue
                i = bisect_right(span.cuts, t - origin)
                candidate = origin + (span.cuts[i] if span.cuts[i] < length else length)
                best = candidate if best is None else min(best, candidate)
        return best

    def _interval(self, piece: _Piece) -> ActiveInterval:
        event = piece.plan.event
        return ActiveInterval(
            event_id=event.id,
            program_id=event.program_id,
            event_name=event.event_name,
            priority=event.priority,
            interval_id=piece.span.interval_id,
            start=_at(piece.plan.origin, piece.start),
            end=_at(piece.plan.origin, piece.end),
            signals=piece.signals,
            loop=piece.loop,
        )


def _priority(value: int | None) -> float:
    return math.inf if value is None else float(value)


def _sub_signal(signal: Signal, parts: int, offset: int, length: int) -> Signal:
    """The value holding `offset`: the largest i with floor(length * i / parts) <= offset."""
    if parts == 1:
        return signal
    index = min(parts - 1, (parts * (offset + 1) - 1) // length)
    return Signal(signal.payload_type, (signal.values[index],), signal.units, signal.currency)
