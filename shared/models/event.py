"""Event: what BL asks of VENs, as intervals of typed payloads."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from shared.models.base import ObjectMetadata, WireModel
from shared.models.common import (
    EventPayloadDescriptor,
    Interval,
    IntervalPeriod,
    ProgramId,
    ReportDescriptor,
)


class EventRequest(WireModel):
    """Writable body of POST/PUT /events."""

    program_id: ProgramId = Field(alias="programID")
    event_name: str | None = Field(default=None, alias="eventName")
    duration: str | None = None
    priority: int | None = None
    targets: list[str] | None = None
    report_descriptors: list[ReportDescriptor] | None = Field(default=None, alias="reportDescriptors")
    payload_descriptors: list[EventPayloadDescriptor] | None = Field(default=None, alias="payloadDescriptors")
    interval_period: IntervalPeriod | None = Field(default=None, alias="intervalPeriod")
    intervals: list[Interval] | None = None


class Event(EventRequest, ObjectMetadata):
    object_type: Literal["EVENT"] = Field(default="EVENT", alias="objectType")
