"""Capacity programs: an area's load forecast (a feed, or the usage its VENs report) against its
import capacity becomes one event per (program, area, day), targeted at the area.

The event has an interval per hour at risk with an IMPORT_CAPACITY_LIMIT (kW; OpenADR defines it
per site, so each member site gets an equal share of the area's import capacity) and a PRICE (the
incentive to shift out of those hours). It is updated when the
hours change and withdrawn (deleted) when the forecast recovers. The decision is capacity.py's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo

from shared.errors import NotFound
from shared.models import EventRequest
from vtn.core.core import Core
from vtn.programs.areas import get_area, members
from vtn.programs.capacity import DEFAULT_RULE, Hysteresis, excess_kwh, slots_at_risk
from vtn.programs.feeds import Series, Slot
from vtn.programs.jobs import ProgramJob
from vtn.programs.prices import PRICE, intervals_doc
from vtn.programs.publish import day_event, ensure_program, job_key, publish, withdraw
from vtn.programs.usage import usage_by_resource

LIMIT = "IMPORT_CAPACITY_LIMIT"
FORECAST_DAYS = 10


@dataclass(frozen=True, slots=True)
class DecisionState:
    """What a capacity run remembers with its day (program_runs.state): the hours at risk, for
    hysteresis on the next run, and the forecast energy above capacity per clock hour, which is
    what the event asks of the area (verification's "asked")."""

    hours: list[datetime]
    excess_kwh: dict[datetime, float]

    def dump(self) -> str:
        return json.dumps(
            {
                "hours": [h.isoformat() for h in self.hours],
                "excessKWh": {h.isoformat(): round(v, 6) for h, v in self.excess_kwh.items()},
            }
        )


def decision_state(text: str | None) -> DecisionState:
    if not text:
        return DecisionState([], {})
    doc = json.loads(text)
    return DecisionState(
        [datetime.fromisoformat(h) for h in doc.get("hours", [])],
        {datetime.fromisoformat(h): float(v) for h, v in doc.get("excessKWh", {}).items()},
    )


def excess_by_hour(slots: list[Slot], capacity_kw: float) -> dict[datetime, float]:
    out: dict[datetime, float] = {}
    for s in slots:
        hour = s.start.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        out[hour] = out.get(hour, 0.0) + excess_kwh([s], capacity_kw)
    return out


@dataclass(frozen=True, slots=True)
class Decision:
    at_risk: list[Slot]
    excess_kwh: float
    event_id: str | None
    summary: str


def capacity_event(
    program_id: str,
    area: str,
    day: date,
    slots: list[Slot],
    capacity_kw: float,
    incentive: float,
    currency: str,
) -> EventRequest:
    payloads: list[list[dict[str, object]]] = [
        [{"type": LIMIT, "values": [capacity_kw]}, {"type": PRICE, "values": [incentive]}] for _ in slots
    ]
    return EventRequest.model_validate(
        {
            "programID": program_id,
            "eventName": f"{area} capacity {day.isoformat()}",
            "targets": [area],
            "payloadDescriptors": [
                {"objectType": "EVENT_PAYLOAD_DESCRIPTOR", "payloadType": LIMIT, "units": "KW"},
                {
                    "objectType": "EVENT_PAYLOAD_DESCRIPTOR",
                    "payloadType": PRICE,
                    "units": "KWH",
                    "currency": currency,
                },
            ],
            "reportDescriptors": [{"payloadType": "USAGE", "readingType": "DIRECT_READ", "units": "KWH"}],
            **intervals_doc(slots, payloads),
        }
    )


async def site_limit_kw(core: Core, area: str, import_kw: float) -> float:
    """The IMPORT_CAPACITY_LIMIT each member site receives: OpenADR defines it as "the maximum
    import level for the site", so the area's capacity is shared equally among its sites (VENs)."""
    found = await members(core, area)
    sites = {v.id for v in found.vens} | {r.ven_id for r in found.resources}
    return round(import_kw / max(1, len(sites)), 3)


async def forecast_from_usage(core: Core, area: str, day: date, tz: tzinfo) -> Series:
    """Without a forecast feed: per hour of `day`, the members' mean reported usage at that hour over
    the last FORECAST_DAYS days (kWh in an hour = mean kW), summed over the members."""
    found = await members(core, area)
    usage = await usage_by_resource(core, found)
    start = datetime.combine(day, datetime.min.time(), tz)
    slots: list[Slot] = []
    for h in range(24):
        hour = (start + timedelta(hours=h)).astimezone(UTC)
        total = 0.0
        for series in usage.values():
            past = [series.kwh.get(hour - timedelta(days=k)) for k in range(1, FORECAST_DAYS + 1)]
            known = [v for v in past if v is not None]
            total += sum(known) / len(known) if known else 0.0
        slots.append(Slot(hour, timedelta(hours=1), total))
    return Series(tuple(slots))


async def run_capacity(
    core: Core, job: ProgramJob, day: date, forecast: Series | None, rule: Hysteresis = DEFAULT_RULE
) -> Decision:
    if job.area is None:
        raise NotFound("a capacity job names its area")
    area = await get_area(core, job.area)
    if forecast is None:
        forecast = await forecast_from_usage(core, area.name, day, job.tz)
    program = await ensure_program(core, job.program)
    key = job_key("capacity", program.id, area.name)
    _, state = await day_event(core, key, day)
    previously = decision_state(state).hours
    at_risk = slots_at_risk(forecast.slots, area.import_kw, rule, previously)
    new_state = DecisionState([s.start for s in at_risk], excess_by_hour(at_risk, area.import_kw)).dump()
    excess = excess_kwh(at_risk, area.import_kw)
    if not at_risk:
        gone = await withdraw(core, key, day, new_state)
        note = "event withdrawn" if gone is not None else "no event"
        return Decision([], 0.0, None, f"{area.name} {day}: no hours at risk, {note}")
    req = capacity_event(
        program.id,
        area.name,
        day,
        at_risk,
        await site_limit_kw(core, area.name, area.import_kw),
        job.price_incentive,
        job.currency or "EUR",
    )
    done = await publish(core, key, day, req, new_state)
    event_id = done.event.id if done.event is not None else None
    return Decision(
        at_risk,
        excess,
        event_id,
        f"{area.name} {day}: {len(at_risk)} h at risk ({excess:.1f} kWh above {area.import_kw:g} kW), "
        f"{done.operation.value} event {event_id}",
    )
