"""Gathering what verification needs through the core: the event's hours and signals, its
participants (members of the areas it targets, or every VEN for an untargeted event), their
reported usage and the days to leave out of baselines (days with an event of the same program)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo

from shared.errors import NotFound
from shared.models import Event, Ven
from shared.models.common import ProgramId, VenId
from shared.timing import interval_spans
from vtn.core.core import Core
from vtn.core.queries import EventFilter, Page, ResourceFilter, Tx, VenFilter
from vtn.programs.areas import members_in
from vtn.programs.capacity_job import LIMIT, decision_state
from vtn.programs.prices import PRICE
from vtn.programs.usage import HOUR, ResourceKey, hour_of, usage_of_clients
from vtn.programs.verification.baseline import Baseline, BaselineMethod, TenOfTen
from vtn.programs.verification.figures import (
    Figures,
    HourFigure,
    hour_figures,
    resource_figures,
    shares_of_ask,
    site_ask,
    total,
)

_PAGE = 500
EVERYONE = "(untargeted)"


@dataclass(frozen=True, slots=True)
class Participant:
    key: ResourceKey
    ven_name: str
    area: str


@dataclass(frozen=True, slots=True)
class Row:
    level: str  # resource | ven | area | total
    area: str
    ven: str
    resource: str
    figures: Figures


@dataclass(frozen=True, slots=True)
class Verification:
    event: Event
    method: str
    hours: list[datetime]
    rows: list[Row]
    hourly: dict[ResourceKey, list[HourFigure]]
    baselines: dict[ResourceKey, Baseline]


def signals(event: Event) -> tuple[list[datetime], dict[datetime, float], dict[datetime, float]]:
    """The event's clock hours, and its PRICE and IMPORT_CAPACITY_LIMIT value per hour."""
    hours: list[datetime] = []
    prices: dict[datetime, float] = {}
    limits: dict[datetime, float] = {}
    for span in interval_spans(event, event.modification_date_time):
        end, hour = span.start + span.duration, hour_of(span.start)
        while hour < end:
            if hour not in hours:
                hours.append(hour)
            for p in span.interval.payloads:
                v = p.values[0] if p.values else None
                if isinstance(v, int | float) and not isinstance(v, bool):
                    if p.type == PRICE:
                        prices[hour] = float(v)
                    elif p.type == LIMIT:
                        limits[hour] = float(v)
            hour += HOUR
    return sorted(hours), prices, limits


def event_days(events: Iterable[Event], tz: tzinfo) -> frozenset[date]:
    days: set[date] = set()
    for e in events:
        for span in interval_spans(e, e.modification_date_time):
            moment = span.start
            while moment < span.start + span.duration:
                days.add(moment.astimezone(tz).date())
                moment += HOUR
    return frozenset(days)


async def _all_vens(tx: Tx, targets: frozenset[str] | None) -> list[Ven]:
    found: list[Ven] = []
    while batch := await tx.vens.list(VenFilter(targets=targets, page=Page(len(found), _PAGE))):
        found.extend(batch)
    return found


async def _participants(tx: Tx, event: Event) -> list[Participant]:
    groups: list[tuple[str, list[Ven], list[tuple[str, str]]]] = []
    if event.targets:
        for target in event.targets:
            m = await members_in(tx, target)
            groups.append((target, m.vens, [(r.client_id, r.resource_name) for r in m.resources]))
    else:
        groups.append((EVERYONE, await _all_vens(tx, None), []))
    names: dict[str, str] = {}
    out: dict[ResourceKey, Participant] = {}
    for area, vens, resources in groups:
        for ven in vens:
            names[ven.client_id] = ven.ven_name
            res = await tx.resources.list(ResourceFilter(ven_id=VenId(ven.id), page=Page(0, _PAGE)))
            for r in res:
                key = ResourceKey(ven.client_id, r.resource_name)
                out.setdefault(key, Participant(key, ven.ven_name, area))
            if not res:  # a ven without resource objects: its reports name the resources
                key = ResourceKey(ven.client_id, "")
                out.setdefault(key, Participant(key, ven.ven_name, area))
        for client_id, name in resources:
            key = ResourceKey(client_id, name)
            out.setdefault(key, Participant(key, names.get(client_id, client_id), area))
    return sorted(out.values(), key=lambda p: (p.area, p.ven_name, p.key.resource_name))


def _asks(
    found: list[Participant],
    baselines: dict[ResourceKey, Baseline],
    limits: dict[datetime, float],
    forecast_ask: dict[datetime, float],
) -> dict[ResourceKey, float]:
    """What the event asked of each resource (kWh), for an IMPORT_CAPACITY_LIMIT event.

    Published by a capacity job: the forecast energy above the area's capacity, shared among the
    area's resources by baseline energy. Written by hand: the limit is per site (OpenADR: "the
    maximum import level for the site"), so each VEN's ask is its baseline energy above it, shared
    among its resources by baseline energy.
    """
    if not limits:
        return {}

    def label(k: ResourceKey) -> str:
        return f"{k.client_id}\0{k.resource_name}"

    groups: dict[tuple[str, str], list[ResourceKey]] = {}
    for p in found:
        group = (p.area, "") if forecast_ask else (p.area, p.ven_name)
        groups.setdefault(group, []).append(p.key)
    asks: dict[ResourceKey, float] = {}
    for keys in groups.values():
        ask = sum(forecast_ask.values()) if forecast_ask else site_ask([baselines[k] for k in keys], limits)
        shared = shares_of_ask(ask, {label(k): baselines[k] for k in keys}, limits)
        asks.update({k: shared[label(k)] for k in keys})
    return asks


async def verify(
    core: Core,
    event_id: str,
    *,
    tz: tzinfo = UTC,
    method: BaselineMethod | None = None,
    late_after: timedelta = timedelta(hours=1),
) -> Verification:
    how: BaselineMethod = method or TenOfTen()
    async with core.read() as tx:
        event = await tx.events.get(event_id)
        if event is None:
            raise NotFound(f"no event with id {event_id!r}")
        participants = await _participants(tx, event)
        run = await tx.runs().of_event(event.id)
        forecast_ask = decision_state(run.state).excess_kwh if run is not None else {}
        same_program: list[Event] = []
        program_id = ProgramId(event.program_id)
        while batch := await tx.events.list(
            EventFilter(program_id=program_id, page=Page(len(same_program), _PAGE))
        ):
            same_program.extend(batch)
    hours, prices, limits = signals(event)
    usage = await usage_of_clients(core, {p.key.client_id for p in participants})
    # A ven without resource objects stands for every resource its reports name.
    expanded: list[Participant] = []
    for p in participants:
        if p.key.resource_name:
            expanded.append(p)
            continue
        named = sorted(k for k in usage if k.client_id == p.key.client_id)
        expanded.extend([Participant(k, p.ven_name, p.area) for k in named] or [p])
    excluded = event_days(same_program, tz)
    baselines: dict[ResourceKey, Baseline] = {}
    hourly: dict[ResourceKey, list[HourFigure]] = {}
    for p in expanded:
        found = usage.get(p.key)
        kwh = found.kwh if found is not None else {}
        received = found.received if found is not None else {}
        baselines[p.key] = how.baseline(kwh, hours, excluded, tz)
        hourly[p.key] = hour_figures(hours, baselines[p.key], kwh, received, prices, late_after)
    asks = _asks(expanded, baselines, limits, forecast_ask)
    rows: list[Row] = []
    per_resource = {
        p.key: resource_figures(hourly[p.key], asks.get(p.key) if limits else None) for p in expanded
    }
    for area in sorted({p.area for p in expanded}):
        in_area = [p for p in expanded if p.area == area]
        for ven in sorted({p.ven_name for p in in_area}):
            mine = [p for p in in_area if p.ven_name == ven]
            for p in mine:
                rows.append(
                    Row("resource", area, ven, p.key.resource_name or "(none reported)", per_resource[p.key])
                )
            rows.append(Row("ven", area, ven, "", total(per_resource[p.key] for p in mine)))
        rows.append(Row("area", area, "", "", total(per_resource[p.key] for p in in_area)))
    rows.append(Row("total", "", "", "", total(per_resource.values())))
    return Verification(event, how.name, hours, rows, hourly, baselines)
