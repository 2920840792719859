"""When an event's intervals happen: the rule shared by the VTN (`active` filter) and the VEN timeline.

An event's `intervalPeriod` is the default of every interval. An interval without its own start
follows the previous one; without its own duration it takes the default (or PT0S). A start of
0001-01-01 means "now", which for a stored event is the moment it was last written. An event
`duration` longer than its intervals loops them; `P9999Y` (or longer) never ends.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

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
        """The end, clamped to the far future for "forever" (P9999Y) durations."""
        return add_clamped(self.start, self.duration)


_FAR_FUTURE = datetime.max.replace(tzinfo=UTC)


def as_utc(value: datetime) -> datetime:
    """`value` in UTC; a naive datetime is read as UTC (the VEN's rule for every `now` it is given)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def add_clamped(start: datetime, length: timedelta) -> datetime:
    """start + length without overflowing: P9999Y from now is past datetime.max."""
    if length >= INFINITE:
        return _FAR_FUTURE
    try:
        return start + length
    except OverflowError:
        return _FAR_FUTURE


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
        start: datetime | None
        if own is not None and own.start is not None and is_now_sentinel(own.start):
            # UG 7.3: on an interval, 0001-01-01 means the event start (first interval) or "right after
            # the previous one" (later intervals); only when neither exists is it "now".
            start = cursor if cursor is not None else written_at
        else:
            start = _start_of(own, written_at) or cursor
        duration = _duration_of(own)
        if duration is None:
            duration = default_duration
        random = parse_duration(own.randomize_start) if own and own.randomize_start else default_random
        if start is None:
            continue
        spans.append(IntervalSpan(interval, start, duration, random))
        cursor = add_clamped(start, duration)
    return spans


def event_window(event: EventRequest, written_at: datetime) -> tuple[datetime | None, datetime | None]:
    """(start, end) of the whole event; None for an unknown start or an end that never comes."""
    spans = interval_spans(event, written_at)
    start = _start_of(event.interval_period, written_at)
    if spans:
        first = min(s.start for s in spans)  # not spans[0]: a later interval may start earlier
        start = first if start is None else min(start, first)
    if start is None:
        return None, None
    if event.duration is not None:
        length = parse_duration(event.duration)
        end = add_clamped(start, length)
        return start, None if end == _FAR_FUTURE else end
    end = (
        max(s.end for s in spans)
        if spans
        else add_clamped(start, _duration_of(event.interval_period) or timedelta(0))
    )
    return start, None if end == _FAR_FUTURE else end
