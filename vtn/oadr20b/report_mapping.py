"""2.0b report metadata and data as 3.1 objects (pure; no I/O).

- A registered report's descriptions become `DataPoint`s: the rID's resource is its
  reportDataSource (or reportSubject) resourceID, else the rID itself.
- An `oadrUpdateReport` report becomes one 3.1 report: clientName = venName, one `resources` entry
  per resource, one interval per (dtstart, duration) with one payload per rID.
- Payload types: power items (powerReal/Apparent/Reactive) or reportType `demand` -> DEMAND in
  KW/KVA/KVAR; energy items or reportType `usage` -> USAGE in KWH/KVAH/KVARH; voltage -> READING in
  VOLTS; anything else READING without units. Values are rescaled from the item's siScaleCode to
  kilo-units (W with scale `none` is divided by 1000). Resource-status payloads have no 3.1
  payload type and are skipped.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from shared.models import Report as Report31
from shared.models.common import Interval, IntervalPeriod, ReportPayloadDescriptor, ValuesMap
from shared.models.report import ReportResource
from shared.oadr20b.parts import Report, ReportDescription
from shared.oadr20b.xml import fmt_duration
from vtn.core.oadr20b_records import DataPoint

_SCALE = {
    "p": 1e-12,
    "n": 1e-9,
    "micro": 1e-6,
    "m": 1e-3,
    "c": 1e-2,
    "d": 1e-1,
    "none": 1.0,
    "k": 1e3,
    "M": 1e6,
    "G": 1e9,
    "T": 1e12,
}
_KILO_UNITS = {
    "powerReal": ("DEMAND", "KW"),
    "powerApparent": ("DEMAND", "KVA"),
    "powerReactive": ("DEMAND", "KVAR"),
    "energyReal": ("USAGE", "KWH"),
    "energyApparent": ("USAGE", "KVAH"),
    "energyReactive": ("USAGE", "KVARH"),
}
_READING_TYPES = {
    "Direct Read": "DIRECT_READ",
    "Estimated": "ESTIMATED",
    "Summed": "SUMMED",
    "Mean": "MEAN",
    "Peak": "PEAK",
    "Projected": "FORECAST",
}


def data_point(description: ReportDescription) -> DataPoint:
    source = description.report_data_source or description.report_subject
    resource = source.resource_ids[0] if source is not None and source.resource_ids else description.r_id
    item = description.item_base
    rate = description.sampling_rate
    return DataPoint(
        r_id=description.r_id,
        resource_name=resource or description.r_id,
        report_type=description.report_type,
        reading_type=description.reading_type,
        item_kind=None if item is None else item.kind,
        units=None if item is None else item.units,
        scale=None if item is None else item.scale,
        min_period_s=None if rate is None else rate.min_period.total_seconds(),
    )


def classify(point: DataPoint | None) -> tuple[str, str | None, float]:
    """(3.1 payload type, 3.1 units, factor to multiply 2.0b values by)."""
    if point is None:
        return "READING", None, 1.0
    local = (point.item_kind or "").split(":")[-1]
    scale = _SCALE.get(point.scale or "none", 1.0)
    if local in _KILO_UNITS:
        kind, units = _KILO_UNITS[local]
        return kind, units, scale / 1e3
    if local == "voltage":
        return "READING", "VOLTS", scale
    if point.report_type == "usage":
        return "USAGE", None, 1.0
    if point.report_type == "demand":
        return "DEMAND", None, 1.0
    return "READING", None, 1.0


def to_report31(
    report: Report,
    points: Sequence[DataPoint],
    *,
    report_id: str,
    event_id: str,
    client_id: str,
    client_name: str,
    now: datetime,
) -> Report31 | None:
    """The 3.1 report for one 2.0b data report; None when it carries no numeric payload."""
    by_rid = {p.r_id: p for p in points}
    resources: dict[str, dict[tuple[datetime, timedelta | None], list[ValuesMap]]] = {}
    descriptors: dict[str, ReportPayloadDescriptor] = {}
    for interval in report.intervals:
        for payload in interval.payloads:
            if payload.value is None:
                continue
            point = by_rid.get(payload.r_id)
            kind, units, factor = classify(point)
            reading = _READING_TYPES.get(point.reading_type) if point is not None else None
            descriptors.setdefault(
                kind, ReportPayloadDescriptor(payload_type=kind, units=units, reading_type=reading)
            )
            resource = point.resource_name if point is not None else payload.r_id
            slot = resources.setdefault(resource, {}).setdefault((interval.dtstart, interval.duration), [])
            slot.append(ValuesMap(type=kind, values=[payload.value * factor]))
    if not resources:
        return None
    return Report31(
        id=report_id,
        created_date_time=now,
        modification_date_time=now,
        event_id=event_id,
        client_id=client_id,
        client_name=client_name,
        report_name=report.report_name,
        payload_descriptors=list(descriptors.values()),
        resources=[
            ReportResource(
                resource_name=name,
                intervals=[
                    Interval(
                        id=i,
                        interval_period=IntervalPeriod(
                            start=start, duration=None if duration is None else fmt_duration(duration)
                        ),
                        payloads=payloads,
                    )
                    for i, ((start, duration), payloads) in enumerate(
                        sorted(slots.items(), key=lambda kv: kv[0][0])
                    )
                ],
            )
            for name, slots in resources.items()
        ],
    )
