"""Verification arithmetic, free of I/O: per event hour baseline, actual and delivered kWh, summed
per resource and then per VEN and per area.

- delivered = baseline - actual, only for hours with both (a missing hour adds nothing, and is
  counted as missing; it is never filled in);
- asked: for an IMPORT_CAPACITY_LIMIT event, the energy above the limit: the area's as forecast
  when the capacity job published the event, else each site's baseline above the (per-site) limit;
  shared among resources in proportion to their baseline; None for events asking no amount (prices);
- share = delivered / asked; incentive = sum over hours of delivered x the event's PRICE there;
- an hour is late when the report covering it arrived more than `late_after` after the hour ended.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import IntEnum

from vtn.programs.verification.baseline import Baseline

HOUR = timedelta(hours=1)


class Status(IntEnum):
    """Worst first when aggregating: the highest value wins."""

    COMPLETE = 0
    LATE = 1
    PARTIAL = 2
    NO_BASELINE = 3
    MISSING = 4

    @property
    def label(self) -> str:
        return {0: "complete", 1: "late reports", 2: "partly reported", 3: "no baseline", 4: "no reports"}[
            self.value
        ]


@dataclass(frozen=True, slots=True)
class HourFigure:
    hour: datetime
    baseline: float | None
    actual: float | None
    delivered: float | None
    price: float | None
    late: bool


@dataclass(frozen=True, slots=True)
class Figures:
    baseline_kwh: float
    actual_kwh: float
    delivered_kwh: float
    asked_kwh: float | None
    incentive: float | None
    missing_hours: int
    late_hours: int
    status: Status
    verified_hours: int  # hours with both a baseline and a reported actual

    @property
    def share(self) -> float | None:
        """Delivered / asked; None when nothing was asked or nothing could be verified."""
        if self.asked_kwh is None or self.asked_kwh <= 0 or not self.verified_hours:
            return None
        return self.delivered_kwh / self.asked_kwh


def hour_figures(
    hours: Sequence[datetime],
    baseline: Baseline,
    actual: Mapping[datetime, float],
    received: Mapping[datetime, datetime],
    prices: Mapping[datetime, float],
    late_after: timedelta,
) -> list[HourFigure]:
    out = []
    for h in hours:
        b, a = baseline.values.get(h), actual.get(h)
        late = a is not None and h in received and received[h] > h + HOUR + late_after
        delivered = None if a is None or b is None else b - a
        out.append(HourFigure(h, b, a, delivered, prices.get(h), late))
    return out


def resource_figures(rows: Sequence[HourFigure], asked_kwh: float | None) -> Figures:
    reported = [r for r in rows if r.actual is not None]
    both = [r for r in rows if r.delivered is not None]
    priced = [r for r in both if r.price is not None]
    missing = len(rows) - len(reported)
    late = sum(1 for r in reported if r.late)
    if not reported:
        status = Status.MISSING
    elif len(both) < len(reported):
        status = Status.NO_BASELINE
    elif missing:
        status = Status.PARTIAL
    elif late:
        status = Status.LATE
    else:
        status = Status.COMPLETE
    return Figures(
        baseline_kwh=sum((r.baseline for r in rows if r.baseline is not None), 0.0),
        actual_kwh=sum((r.actual for r in reported if r.actual is not None), 0.0),
        delivered_kwh=sum((r.delivered for r in both if r.delivered is not None), 0.0),
        asked_kwh=asked_kwh,
        incentive=sum(
            r.delivered * r.price for r in priced if r.delivered is not None and r.price is not None
        )
        if priced
        else None,
        missing_hours=missing,
        late_hours=late,
        status=status,
        verified_hours=len(both),
    )


def total(parts: Iterable[Figures]) -> Figures:
    found = list(parts)
    asked = [f.asked_kwh for f in found if f.asked_kwh is not None]
    incentives = [f.incentive for f in found if f.incentive is not None]
    return Figures(
        baseline_kwh=sum((f.baseline_kwh for f in found), 0.0),
        actual_kwh=sum((f.actual_kwh for f in found), 0.0),
        delivered_kwh=sum((f.delivered_kwh for f in found), 0.0),
        asked_kwh=sum(asked) if asked else None,
        incentive=sum(incentives) if incentives else None,
        missing_hours=sum(f.missing_hours for f in found),
        late_hours=sum(f.late_hours for f in found),
        status=_worst({f.status for f in found}),
        verified_hours=sum(f.verified_hours for f in found),
    )


def _worst(statuses: set[Status]) -> Status:
    """A group's status: no reports only if none of its members reported; partly reported if some."""
    reported = statuses - {Status.MISSING}
    if not reported:
        return Status.MISSING
    worst = max(reported)
    return max(worst, Status.PARTIAL) if Status.MISSING in statuses else worst


def site_ask(baselines: Iterable[Baseline], limits: Mapping[datetime, float]) -> float:
    """kWh a site's baseline (the sum of its resources') exceeds the limit by, over the limited hours."""
    found = list(baselines)
    ask = 0.0
    for hour, limit in limits.items():
        load = sum(v for b in found if (v := b.values.get(hour)) is not None)
        ask += max(0.0, load - limit)
    return ask


def shares_of_ask(
    ask: float, baselines: Mapping[str, Baseline], hours: Iterable[datetime]
) -> dict[str, float]:
    """The area's ask shared among members in proportion to their baseline energy in `hours`."""
    wanted = list(hours)
    energy = {k: sum(v for h in wanted if (v := b.values.get(h)) is not None) for k, b in baselines.items()}
    whole = sum(energy.values())
    if whole <= 0:  # no baseline anywhere: in equal parts
        return {k: ask / len(energy) for k in energy}
    return {k: ask * e / whole for k, e in energy.items()}
