"""2.0b `oadrEvent`s as the 3.1 Events our timeline and device adapters already understand (pure).

- Each understood signal becomes 3.1 intervals of one payload type, one per 2.0b interval, with
  explicit start (the first at the signal's dtstart or the active period's, the next where the
  previous ended) and duration; values are the interval's payloadFloat. The signal map is the
  inverse of the VTN's (vtn/oadr20b/mapping.py): SIMPLE -> SIMPLE, ELECTRICITY_PRICE/ENERGY_PRICE
  price -> PRICE, LOAD_CONTROL x-loadControlCapacity -> IMPORT_CAPACITY_LIMIT (level/percent
  offsets -> CONTROL_LEVEL_OFFSET[_PERCENT]), LOAD_DISPATCH setpoint/delta -> DISPATCH_SETPOINT
  [_RELATIVE], CHARGE_STATE setpoint -> CHARGE_STATE_SETPOINT. Other signals are ignored.
- The active period's `startafter` tolerance becomes the event's randomizeStart.
- Cancelled events (and events missing from a distribute: an implied cancel) leave the timeline.
- Opt: optIn when at least one signal is understood, else optOut with 460 (signal not supported).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from shared.durations import format_duration
from shared.models import Event as Event31
from shared.models.common import Interval, IntervalPeriod, ValuesMap
from shared.oadr20b.errors import ResponseCode
from shared.oadr20b.parts import Event, EventSignal, EventStatus, OptType

_BY_NAME_AND_TYPE: dict[tuple[str, str], str] = {
    ("ELECTRICITY_PRICE", "price"): "PRICE",
    ("ENERGY_PRICE", "price"): "PRICE",
    ("LOAD_CONTROL", "x-loadControlCapacity"): "IMPORT_CAPACITY_LIMIT",
    ("LOAD_CONTROL", "x-loadControlLevelOffset"): "CONTROL_LEVEL_OFFSET",
    ("LOAD_CONTROL", "x-loadControlPercentOffset"): "CONTROL_LEVEL_OFFSET_PERCENT",
    ("LOAD_DISPATCH", "setpoint"): "DISPATCH_SETPOINT",
    ("LOAD_DISPATCH", "delta"): "DISPATCH_SETPOINT_RELATIVE",
    ("CHARGE_STATE", "setpoint"): "CHARGE_STATE_SETPOINT",
}


def payload_type(signal: EventSignal) -> str | None:
    """The 3.1 payload type of a 2.0b signal, or None when we do not act on it."""
    if signal.signal_name == "SIMPLE":
        return "SIMPLE"
    return _BY_NAME_AND_TYPE.get((signal.signal_name, signal.signal_type))


def to_event31(event: Event) -> Event31 | None:
    """The 3.1 view of a 2.0b event; None when it is cancelled or carries no understood signal."""
    if event.event_status == EventStatus.CANCELLED:
        return None
    period = event.active_period
    intervals: list[Interval] = []
    for signal in event.signals:
        kind = payload_type(signal)
        if kind is None:
            continue
        cursor = period.dtstart
        for item in signal.intervals:
            start = item.dtstart or cursor
            intervals.append(
                Interval(
                    id=len(intervals),
                    interval_period=IntervalPeriod(start=start, duration=_duration(item.duration)),
                    payloads=[ValuesMap(type=kind, values=[item.value])],
                )
            )
            cursor = start + item.duration
    if not intervals:
        return None
    randomize = None if period.start_after is None else _duration(period.start_after)
    return Event31(
        id=event.event_id,
        created_date_time=event.created_date_time,
        modification_date_time=event.modification_date_time or event.created_date_time,
        program_id=event.market_context,
        event_name=event.vtn_comment or event.event_id,
        priority=event.priority,
        interval_period=IntervalPeriod(
            start=period.dtstart, duration=_duration(period.duration), randomize_start=randomize
        ),
        intervals=intervals,
    )


def opt_for(event: Event) -> tuple[OptType, int, str]:
    """How we answer an event: (optIn/optOut, response code, description)."""
    understood = [s.signal_name for s in event.signals if payload_type(s) is not None]
    if understood or event.event_status == EventStatus.CANCELLED:
        return OptType.OPT_IN, int(ResponseCode.OK), "OK"
    names = ", ".join(sorted({s.signal_name for s in event.signals})) or "none"
    return OptType.OPT_OUT, int(ResponseCode.SIGNAL_NOT_SUPPORTED), f"signals not supported: {names}"


def _duration(value: timedelta) -> str:
    return format_duration(value)


def active_end(event: Event) -> datetime:
    return event.active_period.dtstart + event.active_period.duration
