"""Price programs: a day-ahead price series becomes that day's PRICE event of a program.

The event carries exactly the series' intervals and values, with a PRICE payload descriptor
(currency, units). One event per program and day: publishing the day again replaces it.
"""

from __future__ import annotations

from datetime import date, tzinfo

from shared.durations import format_duration
from shared.models import EventRequest
from vtn.core.core import Core
from vtn.programs.feeds import Series, Slot
from vtn.programs.publish import Published, ensure_program, job_key, publish

PRICE = "PRICE"
DEFAULT_CURRENCY = "EUR"
DEFAULT_UNITS = "KWH"  # the price is per kWh


def intervals_doc(
    slots: tuple[Slot, ...] | list[Slot], payloads: list[list[dict[str, object]]]
) -> dict[str, object]:
    """intervalPeriod and intervals for consecutive slots: one default period when all are alike,
    an own start or duration on an interval only where it differs (a gap, another length)."""
    first = slots[0]
    lengths = {s.duration for s in slots}
    default = first.duration if len(lengths) == 1 else None
    intervals: list[dict[str, object]] = []
    cursor = first.start
    for i, (slot, values) in enumerate(zip(slots, payloads, strict=True)):
        own: dict[str, str] = {}
        if slot.start != cursor:
            own["start"] = slot.start.isoformat()
        if default is None:
            own["duration"] = format_duration(slot.duration)
        item: dict[str, object] = {"id": i, "payloads": values}
        if own:
            item["intervalPeriod"] = own
        intervals.append(item)
        cursor = slot.end
    period: dict[str, str] = {"start": first.start.isoformat()}
    if default is not None:
        period["duration"] = format_duration(default)
    return {"intervalPeriod": period, "intervals": intervals}


def price_event(
    program_id: str, program_name: str, day: date, series: Series, currency: str, units: str
) -> EventRequest:
    doc: dict[str, object] = {
        "programID": program_id,
        "eventName": f"{program_name} prices {day.isoformat()}",
        "payloadDescriptors": [
            {
                "objectType": "EVENT_PAYLOAD_DESCRIPTOR",
                "payloadType": PRICE,
                "units": units,
                "currency": currency,
            }
        ],
        **intervals_doc(series.slots, [[{"type": PRICE, "values": [s.value]}] for s in series.slots]),
    }
    return EventRequest.model_validate(doc)


async def publish_prices(
    core: Core,
    program_name: str,
    series: Series,
    tz: tzinfo,
    *,
    currency: str | None = None,
    units: str | None = None,
) -> Published:
    """Publish (or republish) the PRICE event of the day `series` covers."""
    program = await ensure_program(core, program_name)
    day = series.day(tz)
    req = price_event(
        program.id,
        program_name,
        day,
        series,
        currency or series.currency or DEFAULT_CURRENCY,
        units or series.units or DEFAULT_UNITS,
    )
    return await publish(core, job_key("prices", program.id), day, req)
