"""An event reduced to offsets from its origin, in microseconds: its intervals as spans (each with
the randomizeStart anchor it moves with and its sub-interval cuts), its loop cycle and its end."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from shared.durations import INFINITE, is_now_sentinel, parse_duration
from shared.models.common import EventPayloadDescriptor
from shared.models.event import Event
from shared.timing import as_utc, interval_spans
from ven.timeline.intervals import Signal

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
END_OF_TIME = datetime.max.replace(tzinfo=UTC)
_START_OF_TIME = datetime.min.replace(tzinfo=UTC)


def micros(delta: timedelta) -> int:
    return delta // _US


def at_offset(origin: datetime, offset_us: int) -> datetime:
    """origin + offset, clamped to the datetime range (P9999Y ends after year 9999)."""
    try:
        return origin + timedelta(microseconds=offset_us)
    except OverflowError:
        return END_OF_TIME if offset_us > 0 else _START_OF_TIME


@dataclass(frozen=True, slots=True)
class Span:
    interval_id: int
    offset: int  # microseconds from the event origin, unshifted
    length: int  # microseconds, > 0
    anchor: int  # interval id whose random draw this span shares
    window: int  # the anchor's |randomizeStart| in microseconds
    payloads: tuple[tuple[Signal, int], ...]  # full signal, number of sub-intervals (1 = none)
    cuts: tuple[int, ...]  # piece boundaries, 0 .. length, sorted and unique


@dataclass(frozen=True, slots=True)
class Plan:
    event: Event
    origin: datetime
    cycle: int  # microseconds, > 0
    loops: int | None  # None = forever
    end: int | None  # offset where the event stops (truncation), None = no cut
    spans: tuple[Span, ...]
    reach: int  # the largest randomisation window


def compile_plan(event: Event) -> Plan | None:
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
    spans: list[Span] = []
    cycle = 0
    anchor, window = -1, 0
    for index, (item, start) in enumerate(zip(placed, starts, strict=True)):
        own = item.interval.interval_period
        if index == 0 or (own is not None and own.randomize_start is not None):
            anchor, window = item.interval.id, abs(micros(item.randomize_start))
        offset, length = micros(start - origin), micros(item.duration)
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
            Span(item.interval.id, offset, length, anchor, window, tuple(payloads), tuple(sorted(cuts)))
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
            end = max(0, micros(duration))
            loops = -(-end // cycle)
            if loops == 0:
                return None
    return Plan(event, origin, cycle, loops, end, tuple(spans), max(s.window for s in spans))
