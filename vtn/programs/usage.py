"""The usage VENs report (USAGE payloads, kWh), as complete hours per resource.

A report interval's kWh is spread over the clock hours it overlaps, in proportion; an hour counts
only once reports cover all of it (a partly reported hour is missing, never filled in). When two
reports give the same interval, the later one wins. `received` keeps, per hour, when the last
report covering it arrived, so verification can tell a late report from a timely one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from shared.models import Report
from shared.models.common import ClientId
from shared.models.event import EventRequest
from shared.timing import interval_spans
from vtn.core.core import Core
from vtn.core.queries import Page, ReportFilter
from vtn.programs.areas import Members

USAGE = "USAGE"
HOUR = timedelta(hours=1)
_PAGE = 500


@dataclass(frozen=True, slots=True, order=True)
class ResourceKey:
    client_id: str
    resource_name: str


@dataclass
class ResourceUsage:
    key: ResourceKey
    kwh: dict[datetime, float] = field(default_factory=dict)  # complete UTC hours only
    received: dict[datetime, datetime] = field(default_factory=dict)


def hour_of(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _readings(report: Report) -> Iterable[tuple[str, datetime, timedelta, float]]:
    """(resource name, start, duration, kWh) of every USAGE value in a report."""
    for res in report.resources:
        # The report interval rule is the event one: reuse it through a stand-in event request.
        stand_in = EventRequest.model_validate(
            {
                "programID": "-",
                "intervalPeriod": None
                if res.interval_period is None
                else res.interval_period.model_dump(by_alias=True, exclude_none=True),
                "intervals": [i.model_dump(by_alias=True, exclude_none=True) for i in res.intervals],
            }
        )
        for span in interval_spans(stand_in, report.modification_date_time):
            for payload in span.interval.payloads:
                if payload.type == USAGE and payload.values and isinstance(payload.values[0], int | float):
                    yield res.resource_name, span.start, span.duration, float(payload.values[0])


def bucket(reports: Iterable[Report], client_id: str) -> dict[ResourceKey, ResourceUsage]:
    """Complete hours of USAGE per resource of one client's reports."""
    latest: dict[tuple[str, datetime, timedelta], tuple[datetime, float]] = {}
    for report in sorted(reports, key=lambda r: r.modification_date_time):
        for name, start, length, kwh in _readings(report):
            if length > timedelta(0):
                latest[(name, start, length)] = (report.modification_date_time, kwh)
    out: dict[ResourceKey, ResourceUsage] = {}
    covered: dict[tuple[ResourceKey, datetime], float] = {}
    for (name, start, length), (at, kwh) in latest.items():
        key = ResourceKey(client_id, name)
        usage = out.setdefault(key, ResourceUsage(key))
        end, hour = start + length, hour_of(start)
        while hour < end:
            overlap = (min(end, hour + HOUR) - max(start, hour)).total_seconds()
            if overlap > 0:
                usage.kwh[hour] = usage.kwh.get(hour, 0.0) + kwh * overlap / length.total_seconds()
                covered[(key, hour)] = covered.get((key, hour), 0.0) + overlap
                usage.received[hour] = max(at, usage.received.get(hour, at))
            hour += HOUR
    for (key, hour), seconds in covered.items():
        if seconds < 3600 - 1e-6:
            del out[key].kwh[hour]
            del out[key].received[hour]
    return out


async def usage_of_clients(core: Core, client_ids: Iterable[str]) -> dict[ResourceKey, ResourceUsage]:
    out: dict[ResourceKey, ResourceUsage] = {}
    for client_id in sorted(set(client_ids)):
        reports: list[Report] = []
        async with core.read() as tx:
            while batch := await tx.reports.list(
                ReportFilter(owner=ClientId(client_id), page=Page(len(reports), _PAGE))
            ):
                reports.extend(batch)
        out.update(bucket(reports, client_id))
    return out


async def usage_by_resource(core: Core, found: Members) -> dict[ResourceKey, ResourceUsage]:
    """The reported usage of an area's members: all resources of a member ven, member resources."""
    usage = await usage_of_clients(
        core, [v.client_id for v in found.vens] + [r.client_id for r in found.resources]
    )
    whole = {v.client_id for v in found.vens}
    single = {ResourceKey(r.client_id, r.resource_name) for r in found.resources}
    return {k: u for k, u in usage.items() if k.client_id in whole or k in single}
