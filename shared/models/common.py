"""Value types shared by every OpenADR 3 object: interval periods, values maps, intervals, descriptors."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal, NewType

from pydantic import Field, StrictBool, StrictFloat, StrictInt, StrictStr

from shared.enums import ReportIntervals
from shared.models.base import WireModel

# Ids are plain strings on the wire; as distinct types, one kind of id is never passed for another.
ProgramId = NewType("ProgramId", str)
EventId = NewType("EventId", str)
ReportId = NewType("ReportId", str)
SubscriptionId = NewType("SubscriptionId", str)
VenId = NewType("VenId", str)
ResourceId = NewType("ResourceId", str)
ClientId = NewType("ClientId", str)


class Point(WireModel):
    x: float
    y: float


# Strict members so that 1 stays an int and never becomes True.
Value = Annotated[StrictBool | StrictInt | StrictFloat | StrictStr | Point, Field(union_mode="left_to_right")]


class ValuesMap(WireModel):
    type: str
    values: list[Value]


class IntervalPeriod(WireModel):
    start: datetime | None = None
    duration: str | None = None
    randomize_start: str | None = Field(default=None, alias="randomizeStart")


class Interval(WireModel):
    id: int
    interval_period: IntervalPeriod | None = Field(default=None, alias="intervalPeriod")
    payloads: list[ValuesMap]


class EventPayloadDescriptor(WireModel):
    object_type: Literal["EVENT_PAYLOAD_DESCRIPTOR"] = Field(
        default="EVENT_PAYLOAD_DESCRIPTOR", alias="objectType"
    )
    payload_type: str = Field(alias="payloadType")
    units: str | None = None
    currency: str | None = None


class ReportPayloadDescriptor(WireModel):
    object_type: Literal["REPORT_PAYLOAD_DESCRIPTOR"] = Field(
        default="REPORT_PAYLOAD_DESCRIPTOR", alias="objectType"
    )
    payload_type: str = Field(alias="payloadType")
    reading_type: str | None = Field(default=None, alias="readingType")
    units: str | None = None
    accuracy: float | None = None
    confidence: int | None = None


PayloadDescriptor = Annotated[
    EventPayloadDescriptor | ReportPayloadDescriptor, Field(discriminator="object_type")
]


class ReportDescriptor(WireModel):
    payload_type: str = Field(alias="payloadType")
    reading_type: str | None = Field(default=None, alias="readingType")
    units: str | None = None
    targets: list[str] | None = None
    aggregate: bool = False
    start_interval: int = Field(default=-1, alias="startInterval")
    num_intervals: int = Field(default=-1, alias="numIntervals")
    historical: bool = True
    frequency: int = -1
    repeat: int = 1
    report_intervals: ReportIntervals = Field(default=ReportIntervals.INTERVALS, alias="reportIntervals")


class ProgramDescription(WireModel):
    url: str = Field(alias="URL")
