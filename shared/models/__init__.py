"""Typed OpenADR 3.1 message model shared by the VTN and the VEN."""

from shared.models.base import ObjectMetadata, WireModel
from shared.models.common import (
    EventPayloadDescriptor,
    Interval,
    IntervalPeriod,
    Point,
    ProgramDescription,
    ReportDescriptor,
    ReportPayloadDescriptor,
    ValuesMap,
)
from shared.models.event import Event, EventRequest
from shared.models.notification import Notification
from shared.models.program import Program, ProgramRequest
from shared.models.report import AGGREGATED_REPORT, Report, ReportRequest, ReportResource
from shared.models.subscription import ObjectOperation, Subscription, SubscriptionRequest
from shared.models.ven import Resource, ResourceRequest, Ven, VenRequest

__all__ = [
    "AGGREGATED_REPORT",
    "Event",
    "EventPayloadDescriptor",
    "EventRequest",
    "Interval",
    "IntervalPeriod",
    "Notification",
    "ObjectMetadata",
    "ObjectOperation",
    "Point",
    "Program",
    "ProgramDescription",
    "ProgramRequest",
    "Report",
    "ReportDescriptor",
    "ReportPayloadDescriptor",
    "ReportRequest",
    "ReportResource",
    "Resource",
    "ResourceRequest",
    "Subscription",
    "SubscriptionRequest",
    "ValuesMap",
    "Ven",
    "VenRequest",
    "WireModel",
]
