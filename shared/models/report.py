"""Report: what a VEN tells the VTN about its resources, answering one event."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from shared.models.base import ObjectMetadata, WireModel
from shared.models.common import ClientId, EventId, Interval, IntervalPeriod, ReportPayloadDescriptor

AGGREGATED_REPORT = "AGGREGATED_REPORT"


class ReportResource(WireModel):
    resource_name: str = Field(alias="resourceName")
    interval_period: IntervalPeriod | None = Field(default=None, alias="intervalPeriod")
    intervals: list[Interval]


class ReportRequest(WireModel):
    """Writable body of POST/PUT /reports. `id` is our extension: a client-chosen id de-duplicates
    retries (BL's is kept, a VEN's is a key the VTN assigns the id from: vtn/core/ids.py)."""

    id: str | None = None
    event_id: EventId = Field(alias="eventID")
    client_name: str = Field(alias="clientName")
    report_name: str | None = Field(default=None, alias="reportName")
    payload_descriptors: list[ReportPayloadDescriptor] | None = Field(
        default=None, alias="payloadDescriptors"
    )
    resources: list[ReportResource]


class Report(ReportRequest, ObjectMetadata):
    id: str  # always set on a stored report (optional only in the request)
    object_type: Literal["REPORT"] = Field(default="REPORT", alias="objectType")
    client_id: ClientId = Field(alias="clientID")
