"""Telemetry over 2.0b: the report we offer and the updates the VTN asked for (pure; no I/O).

Offer: one METADATA_TELEMETRY_USAGE report (reportSpecifierID `TELEMETRY_USAGE`) with, per
resource, rID `<resource id>:demand` (power:powerReal, kW: W with siScaleCode k) and/or
`<resource id>:usage` (power:energyReal, kWh), as the [[telemetry]] payload types ask (DEMAND,
USAGE; both by default). reportDataSource names the resource as the 3.1 agent names it in its
reports, so a 2.0b VTN that maps to 3.1 (ours) shows the same resource names.

Requests (oadrRegisteredReport or oadrCreateReport): every granularity the requested rIDs are
sampled (DEMAND = power now, USAGE = kWh since the previous sample), one interval per rID with the
same dtstart (the schema allows several payloads per interval, but OpenLEADR reads one); every
reportBackDuration the collected intervals go out in one oadrUpdateReport. Granularity 0 is a
one-shot report; unknown rIDs are left out (a request naming none of ours is refused: 452).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from shared.oadr20b.parts import (
    ItemBase,
    PowerAttributes,
    Report,
    ReportDescription,
    ReportInterval,
    ReportPayload,
    ReportRequest,
    SamplingRate,
    Target,
)
from ven.adapters.base import Readings

SPECIFIER_ID = "TELEMETRY_USAGE"
_MAX_PERIOD = timedelta(hours=1)
_ITEMS = {
    "DEMAND": (
        "demand",
        ItemBase(
            kind="power:powerReal",
            description="RealPower",
            units="W",
            scale="k",
            power=PowerAttributes(hertz=50.0, voltage=230.0, ac=True),
        ),
    ),
    "USAGE": ("usage", ItemBase(kind="power:energyReal", description="RealEnergy", units="Wh", scale="k")),
}


@dataclass(frozen=True, slots=True)
class Point:
    """One offered rID: which resource and what it measures."""

    r_id: str
    resource_id: str
    resource_name: str
    kind: str  # DEMAND | USAGE


def offered_points(resources: Iterable[tuple[str, str]], payload_types: Iterable[str]) -> tuple[Point, ...]:
    """rIDs for (resource id, resource name) pairs and the payload types asked for (default: both)."""
    kinds = [k for k in dict.fromkeys(payload_types) if k in _ITEMS] or list(_ITEMS)
    return tuple(
        Point(r_id=f"{rid}:{_ITEMS[kind][0]}", resource_id=rid, resource_name=name, kind=kind)
        for rid, name in resources
        for kind in kinds
    )


def metadata(points: Sequence[Point], min_period: timedelta, now: datetime) -> Report:
    return Report(
        report_specifier_id=SPECIFIER_ID,
        report_request_id="0",
        created_date_time=now,
        report_name="METADATA_TELEMETRY_USAGE",
        duration=_MAX_PERIOD,
        descriptions=tuple(
            ReportDescription(
                r_id=p.r_id,
                report_data_source=Target(resource_ids=(p.resource_name,)),
                report_type=_ITEMS[p.kind][0],
                item_base=_ITEMS[p.kind][1],
                reading_type="Direct Read",
                sampling_rate=SamplingRate(min_period=min_period, max_period=max(min_period, _MAX_PERIOD)),
            )
            for p in points
        ),
    )


@dataclass
class _Active:
    request: ReportRequest
    points: tuple[Point, ...]
    next_sample: datetime
    next_send: datetime
    intervals: list[ReportInterval] = field(default_factory=list)
    energy: dict[str, float] = field(default_factory=dict)  # rID -> kWh at the previous sample
    last_sample: datetime | None = None


class Reporter:
    """The report requests in force and their buffered intervals."""

    def __init__(self, points: Sequence[Point]) -> None:
        self.points = {p.r_id: p for p in points}
        self._active: dict[str, _Active] = {}

    @property
    def request_ids(self) -> tuple[str, ...]:
        return tuple(self._active)

    def accept(self, request: ReportRequest, now: datetime) -> bool:
        """Start serving a request; False when it names none of our rIDs."""
        points = tuple(self.points[p.r_id] for p in request.payloads if p.r_id in self.points)
        if request.report_specifier_id != SPECIFIER_ID or not points:
            return False
        start = request.interval_start if request.interval_start and request.interval_start > now else now
        back = (
            request.report_back_duration
            if request.report_back_duration > timedelta(0)
            else request.granularity
        )
        self._active[request.report_request_id] = _Active(
            request=request, points=points, next_sample=start, next_send=start + back
        )
        return True

    def cancel(self, report_request_ids: Iterable[str]) -> None:
        for request_id in report_request_ids:
            self._active.pop(request_id, None)

    def clear(self) -> None:
        self._active.clear()

    def wants_sample(self, now: datetime) -> bool:
        return any(a.next_sample <= now for a in self._active.values())

    def tick(self, now: datetime, readings: Mapping[str, Readings]) -> list[Report]:
        """Sample what is due, and return the data reports due to be sent (one per request)."""
        out: list[Report] = []
        for request_id, active in list(self._active.items()):
            granularity = active.request.granularity
            if active.next_sample <= now:
                active.intervals.extend(self._sample(active, now, readings))
                if granularity <= timedelta(0):  # one-shot
                    out.append(self._report(active, now))
                    del self._active[request_id]
                    continue
                while active.next_sample <= now:
                    active.next_sample += granularity
            if active.next_send <= now and active.intervals:
                out.append(self._report(active, now))
                back = active.request.report_back_duration
                step = back if back > timedelta(0) else granularity
                while active.next_send <= now:
                    active.next_send += step
        return out

    def _sample(
        self, active: _Active, now: datetime, readings: Mapping[str, Readings]
    ) -> list[ReportInterval]:
        """One interval per rID (OpenLEADR reads only one oadrReportPayload per interval)."""
        start = active.last_sample or (now - active.request.granularity)
        payloads: list[ReportPayload] = []
        for point in active.points:
            reading = readings.get(point.resource_id)
            if reading is None:
                continue
            if point.kind == "DEMAND":
                value = round(reading.power_kw, 4) + 0.0
            else:
                before = active.energy.get(point.r_id, reading.energy_kwh)
                value = round(reading.energy_kwh - before, 6) + 0.0
                active.energy[point.r_id] = reading.energy_kwh
            payloads.append(ReportPayload(r_id=point.r_id, value=value))
        active.last_sample = now
        duration = now - start if now > start else active.request.granularity
        return [ReportInterval(dtstart=start, duration=duration, payloads=(p,)) for p in payloads]

    def _report(self, active: _Active, now: datetime) -> Report:
        intervals, active.intervals = tuple(active.intervals), []
        first = intervals[0]
        return Report(
            report_specifier_id=active.request.report_specifier_id,
            report_request_id=active.request.report_request_id,
            created_date_time=now,
            report_name="TELEMETRY_USAGE",
            report_id=uuid.uuid4().hex,
            dtstart=first.dtstart,
            duration=now - first.dtstart if now > first.dtstart else None,
            intervals=intervals,
        )
