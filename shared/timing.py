"""When an event's intervals happen: the rule shared by the VTN (`active` filter) and the VEN timeline.

An event's `intervalPeriod` is the default of every interval. An interval without its own start
follows the previous one; without its own duration it takes the default (or PT0S). A start of
0001-01-01 means "now", which for a stored event is the moment it was last written. An event
`duration` longer than its intervals loops them; `P9999Y` (or longer) never ends.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from shared.durations import INFINITE, is_now_sentinel, parse_duration
from shared.models.common import Interval, IntervalPeriod
from shared.models.event import EventRequest


@dataclass(frozen=True, slots=True)
class IntervalSpan:
    """One interval placed on the time line (before looping and randomisation)."""

    interval: Interval
    start: datetime
    duration: timedelta
    randomize_start: timedelta

    @property
    def end(self) -> datetime:
        return self.start + self.duration


def _start_of(period: IntervalPeriod | None, now: datetime) -> datetime | None:
    if period is None or period.start is None:
        return None
    return now if is_now_sentinel(period.start) else period.start


def _duration_of(period: IntervalPeriod | None) -> timedelta | None:
    if period is None or period.duration is None:
        return None
    return parse_duration(period.duration)


def interval_spans(event: EventRequest, written_at: datetime) -> list[IntervalSpan]:
    """Place each interval of `event` on the time line; intervals with no known start are skipped."""
    default = event.interval_period
    default_start = _start_of(default, written_at)
    default_duration = _duration_of(default) or timedelta(0)
    default_random = (
        parse_duration(default.randomize_start) if default and default.randomize_start else timedelta(0)
    )
    spans: list[IntervalSpan] = []
    cursor = default_start
    for interval in event.intervals or []:
        own = interval.interval_period
        start = _start_of(own, written_at) or cursor
        duration = _duration_of(own)
        if duration is None:
            duration = default_duration
        random = parse_duration(own.randomize_start) if own and own.randomize_start else default_random
        if start is None:
            continue
        spans.append(IntervalSpan(interval, start, duration, random))
        cursor = start + duration
    return spans


def event_window(event: EventRequest, written_at: datetime) -> tuple[datetime | None, datetime | None]:
    """(start, end) of the whole event; None for an unknown start or an end that never comes."""
    spans = interval_spans(event, written_at)
    start = _start_of(event.interval_period, written_at)
    if spans:
        start = min(s.start for s in spans) if start is None else min(start, spans[0].start)
    if start is None:
        return None, None
    if event.duration is not None:
        length = parse_duration(event.duration)
        return start, None if length >= INFINITE else start + length
    if spans:
        return start, max(s.end for s in spans)
    return start, start + (_duration_of(event.interval_period) or timedelta(0))
