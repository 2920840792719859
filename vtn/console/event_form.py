"""The event form: what an operator types <-> an eventRequest validated by the API's own schema.

The form is flat (one signal, equal intervals); it becomes an eventRequest document that goes
through `oadr3_json.decode_doc` with the `eventRequest` schema, exactly as an API request body does.
A schema error's JSON pointer is mapped back to the form field it came from, so the page shows it there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.durations import format_duration, parse_duration
from shared.errors import OadrError
from shared.models import Event, EventRequest
from shared.validation import SchemaRegistry
from shared.wire import oadr3_json

# Signals the console offers: a price program and capacity limits (OpenADR 3 payload types).
SIGNALS = ("PRICE", "IMPORT_CAPACITY_LIMIT", "EXPORT_CAPACITY_LIMIT", "SIMPLE")
_POINTER_FIELDS = (
    ("/programID", "program_id"),
    ("/eventName", "event_name"),
    ("/targets", "targets"),
    ("/intervalPeriod/start", "start"),
    ("/intervalPeriod/duration", "minutes"),
    ("/intervals", "values"),
    ("/payloadDescriptors", "signal"),
)


@dataclass
class EventForm:
    program_id: str = ""
    event_name: str = ""
    signal: str = "PRICE"
    units: str = ""
    start: str = ""  # datetime-local, UTC
    minutes: str = "60"
    values: str = ""  # comma separated, one per interval
    targets: str = ""  # comma separated
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, form: Any) -> EventForm:
        def get(name: str) -> str:
            return str(form.get(name, "")).strip()

        return cls(
            program_id=get("program_id"),
            event_name=get("event_name"),
            signal=get("signal"),
            units=get("units"),
            start=get("start"),
            minutes=get("minutes"),
            values=get("values"),
            targets=get("targets"),
        )

    @classmethod
    def of_event(cls, event: Event) -> EventForm:
        period = event.interval_period
        signal = (
            event.intervals[0].payloads[0].type
            if event.intervals and event.intervals[0].payloads
            else "PRICE"
        )
        units = ""
        if event.payload_descriptors:
            units = event.payload_descriptors[0].units or ""
        values = [
            str(i.payloads[0].values[0]) if i.payloads and i.payloads[0].values else ""
            for i in event.intervals or []
        ]
        return cls(
            program_id=event.program_id,
            event_name=event.event_name or "",
            signal=signal,
            units=units,
            start=period.start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M") if period and period.start else "",
            minutes=str(int(parse_duration(period.duration).total_seconds() // 60))
            if period and period.duration
            else "60",
            values=", ".join(values),
            targets=", ".join(event.targets or []),
        )

    def document(self) -> dict[str, Any]:
        """The eventRequest document; fields that cannot even be read are noted in `errors`."""
        doc: dict[str, Any] = {"programID": self.program_id, "eventName": self.event_name or None}
        if self.targets:
            doc["targets"] = [t.strip() for t in self.targets.split(",") if t.strip()]
        period: dict[str, Any] = {}
        try:
            start = datetime.fromisoformat(self.start).replace(tzinfo=UTC) if self.start else None
            if start is not None:
                period["start"] = start.isoformat().replace("+00:00", "Z")
        except ValueError:
            self.errors["start"] = "a date and time, e.g. 2026-12-05T17:00"
        try:
            minutes = int(self.minutes)
            if minutes <= 0:
                raise ValueError
            period["duration"] = format_duration(timedelta(minutes=minutes))
        except ValueError:
            self.errors["minutes"] = "a whole number of minutes above 0"
        if period:
            doc["intervalPeriod"] = period
        values: list[float] = []
        try:
            values = [float(v) for v in self.values.split(",") if v.strip()]
        except ValueError:
            self.errors["values"] = "numbers separated by commas, one per interval"
        if not values and "values" not in self.errors:
            self.errors["values"] = "at least one value"
        doc["intervals"] = [
            {"id": i, "payloads": [{"type": self.signal, "values": [v]}]} for i, v in enumerate(values)
        ]
        descriptor: dict[str, Any] = {"objectType": "EVENT_PAYLOAD_DESCRIPTOR", "payloadType": self.signal}
        if self.units:
            descriptor["units"] = self.units
        doc["payloadDescriptors"] = [descriptor]
        return {k: v for k, v in doc.items() if v is not None}

    def request(self, registry: SchemaRegistry) -> EventRequest | None:
        """The validated eventRequest, or None with `errors` filled in per field."""
        if self.signal not in SIGNALS:
            self.errors["signal"] = f"one of {', '.join(SIGNALS)}"
        doc = self.document()
        if self.errors:
            return None
        try:
            return oadr3_json.decode_doc(registry, "eventRequest", EventRequest, doc)
        except OadrError as exc:
            self.errors[field_of(exc.pointer)] = exc.detail or exc.title
            return None


def field_of(pointer: str | None) -> str:
    """The form field a JSON pointer into the eventRequest came from ("form" if none matches)."""
    for prefix, name in _POINTER_FIELDS:
        if pointer and pointer.startswith(prefix):
            return name
    return "form"


def span(event: Event) -> tuple[datetime | None, datetime | None]:
    """When an event starts and ends (end None: open-ended), from its period and interval count."""
    period = event.interval_period
    if period is None or period.start is None:
        return None, None
    if not period.duration:
        return period.start, None
    length = parse_duration(period.duration)
    if length <= timedelta(0):
        return period.start, None
    return period.start, period.start + length * max(1, len(event.intervals or []))


def curve(event: Event) -> tuple[list[float], list[float | None]]:
    """The event's signal as (seconds since epoch, value) steps, for the chart."""
    start, _ = span(event)
    period = event.interval_period
    step = parse_duration(period.duration).total_seconds() if period and period.duration else 3600.0
    if start is None:
        return [], []
    xs: list[float] = []
    ys: list[float | None] = []
    for i, interval in enumerate(event.intervals or []):
        value = interval.payloads[0].values[0] if interval.payloads and interval.payloads[0].values else None
        xs.append(start.timestamp() + i * step)
        ys.append(float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None)
    if xs:
        xs.append(xs[-1] + step)
        ys.append(ys[-1])
    return xs, ys
