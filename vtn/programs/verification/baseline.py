"""Customer baselines, free of I/O: what a resource would have used had there been no event.

The standard method (`TenOfTen`, the "10 of 10" baseline CAISO, NYISO and PJM use in variants):
for each event hour, the mean of the same clock hour on the last 10 comparable days before the
event day (weekdays for a weekday, weekend days for a weekend day), leaving out event days and
days with that hour unreported, looking back at most `lookback_days`. A same-day adjustment then
scales it by the ratio of actual to baseline usage in the `adjust_hours` hours that end `adjust_gap`
hours before the event starts, capped to [`cap_low`, `cap_high`]. Other methods implement
`BaselineMethod`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Protocol

Hourly = Mapping[datetime, float]  # UTC hour start -> kWh, complete hours only


@dataclass(frozen=True, slots=True)
class Baseline:
    values: dict[datetime, float | None]  # per event hour; None: no comparable day had it
    days: tuple[date, ...]  # the comparable days used (for the first event hour)
    adjustment: float | None  # the capped same-day ratio applied; None: none could be computed
    notes: tuple[str, ...] = field(default=())


class BaselineMethod(Protocol):
    @property
    def name(self) -> str: ...

    def baseline(
        self, usage: Hourly, hours: Sequence[datetime], excluded: frozenset[date], tz: tzinfo
    ) -> Baseline: ...


def _same_time(hour: datetime, day: date, tz: tzinfo) -> datetime:
    local = hour.astimezone(tz)
    return datetime.combine(day, local.time().replace(tzinfo=None)).replace(tzinfo=tz).astimezone(UTC)


def weekend(day: date) -> bool:
    return day.weekday() >= 5


@dataclass(frozen=True, slots=True)
class TenOfTen:
    name: str = "10-of-10 with same-day adjustment"
    days: int = 10
    lookback_days: int = 45
    adjust_hours: int = 3
    adjust_gap: int = 1
    cap_low: float = 0.8
    cap_high: float = 1.2

    def comparable_days(
        self, usage: Hourly, hour: datetime, excluded: frozenset[date], tz: tzinfo
    ) -> list[date]:
        event_day = hour.astimezone(tz).date()
        found: list[date] = []
        for back in range(1, self.lookback_days + 1):
            day = event_day - timedelta(days=back)
            if weekend(day) != weekend(event_day) or day in excluded:
                continue
            if _same_time(hour, day, tz) in usage:
                found.append(day)
                if len(found) == self.days:
                    break
        return found

    def unadjusted(
        self, usage: Hourly, hour: datetime, excluded: frozenset[date], tz: tzinfo
    ) -> tuple[float | None, list[date]]:
        days = self.comparable_days(usage, hour, excluded, tz)
        if not days:
            return None, days
        return sum(usage[_same_time(hour, d, tz)] for d in days) / len(days), days

    def baseline(
        self, usage: Hourly, hours: Sequence[datetime], excluded: frozenset[date], tz: tzinfo
    ) -> Baseline:
        if not hours:
            return Baseline({}, (), None)
        first = min(hours)
        raw = {h: self.unadjusted(usage, h, excluded, tz) for h in hours}
        # Same-day adjustment window: adjust_hours hours ending adjust_gap hours before the event.
        window = [first - timedelta(hours=self.adjust_gap + k) for k in range(self.adjust_hours, 0, -1)]
        actual = [usage.get(h) for h in window]
        expected = [self.unadjusted(usage, h, excluded, tz)[0] for h in window]
        ratio: float | None = None
        notes: list[str] = []
        if all(a is not None for a in actual) and all(e is not None for e in expected):
            total = sum(e for e in expected if e is not None)
            if total > 0:
                ratio = min(self.cap_high, max(self.cap_low, sum(a for a in actual if a is not None) / total))
        if ratio is None:
            notes.append("no same-day adjustment (hours before the event unreported or no baseline)")
        factor = 1.0 if ratio is None else ratio
        values = {h: None if v is None else v * factor for h, (v, _) in raw.items()}
        return Baseline(values, tuple(raw[first][1]), ratio, tuple(notes))
