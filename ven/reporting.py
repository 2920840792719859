"""Turning device readings into OpenADR report bodies (pure; no I/O).

Telemetry reports carry, per resource, one interval with the configured payload types:
USAGE = kWh imported since the previous report, DEMAND = kW imported now (0 while exporting: the
3.1 enumeration gives DEMAND, like USAGE, a minimum of 0), READING = cumulative kWh,
STORAGE_CHARGE_LEVEL = state of charge in %, OPERATING_STATE = the device's state, and
EXPORT_USAGE = kWh exported since the previous report. A report answers one event, so telemetry
is attached to each event that is active for the VEN at that moment.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.durations import format_duration
from ven.adapters.base import Readings

UNITS = {
    "USAGE": "KWH",
    "EXPORT_USAGE": "KWH",
    "READING": "KWH",
    "DEMAND": "KW",
    "STORAGE_CHARGE_LEVEL": "PERCENT",
}


@dataclass(frozen=True, slots=True)
class Sample:
    """One resource's readings over one reporting window."""

    resource_name: str
    start: datetime
    end: datetime
    now: Readings
    previous: Readings | None


def payload_values(payload_type: str, sample: Sample) -> list[Any] | None:
    """The values of one payload type for one sample, or None when the device has no such reading."""
    now, prev = sample.now, sample.previous
    if payload_type == "USAGE":
        return [round(now.energy_kwh - (prev.energy_kwh if prev else now.energy_kwh), 6)]
    if payload_type == "EXPORT_USAGE":
        return [round(now.exported_kwh - (prev.exported_kwh if prev else now.exported_kwh), 6)]
    if payload_type == "DEMAND":
        return [round(max(now.power_kw, 0.0), 4) + 0.0]  # + 0.0 turns -0.0 into 0.0
    if payload_type == "READING":
        return [round(now.energy_kwh, 6)]
    if payload_type == "STORAGE_CHARGE_LEVEL":
        return None if now.soc_percent is None else [round(now.soc_percent, 2)]
    if payload_type == "OPERATING_STATE":
        return [now.state]
    return None


def report_body(
    *,
    event_id: str,
    client_name: str,
    report_name: str,
    interval_id: int,
    payload_types: Sequence[str],
    samples: Sequence[Sample],
) -> dict[str, Any] | None:
    """A reportRequest document, or None when no resource has any of the payload types."""
    resources = []
    used: dict[str, None] = {}
    for sample in samples:
        payloads = []
        for ptype in payload_types:
            values = payload_values(ptype, sample)
            if values is not None:
                payloads.append({"type": ptype, "values": values})
                used[ptype] = None
        if payloads:
            period = {"start": _iso(sample.start), "duration": format_duration(sample.end - sample.start)}
            resources.append(
                {
                    "resourceName": sample.resource_name,
                    "intervals": [{"id": interval_id, "intervalPeriod": period, "payloads": payloads}],
                }
            )
    if not resources:
        return None
    descriptors = [_descriptor(p) for p in used]
    return {
        "eventID": event_id,
        "clientName": client_name,
        "reportName": report_name,
        "payloadDescriptors": descriptors,
        "resources": resources,
    }


def _descriptor(payload_type: str) -> Mapping[str, Any]:
    doc: dict[str, Any] = {"objectType": "REPORT_PAYLOAD_DESCRIPTOR", "payloadType": payload_type}
    if payload_type in UNITS:
        doc["units"] = UNITS[payload_type]
    return doc


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")
