"""Typed building blocks shared by several 2.0b messages (targets, events, report parts).

Frozen, keyword-only dataclasses: values are checked by the XSD at the wire boundary, so these
stay plain records. Date-times are aware UTC datetimes, durations timedeltas, sequences tuples.
Only what our VTN and VEN use is modelled; elements outside it (e.g. power:pnode targets,
baselines) are left out on parse and never built.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class OptType(StrEnum):
    OPT_IN = "optIn"
    OPT_OUT = "optOut"


class EventStatus(StrEnum):
    NONE = "none"
    FAR = "far"
    NEAR = "near"
    ACTIVE = "active"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class ResponseRequired(StrEnum):
    ALWAYS = "always"
    NEVER = "never"


@dataclass(frozen=True, kw_only=True, slots=True)
class EiResponse:
    code: int = 200
    description: str | None = "OK"
    request_id: str = ""


@dataclass(frozen=True, kw_only=True, slots=True)
class Target:
    """The subset of `ei:eiTarget` we support, in schema order."""

    group_ids: tuple[str, ...] = ()
    group_names: tuple[str, ...] = ()
    resource_ids: tuple[str, ...] = ()
    ven_ids: tuple[str, ...] = ()
    party_ids: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True, slots=True)
class PowerAttributes:
    hertz: float
    voltage: float
    ac: bool


@dataclass(frozen=True, kw_only=True, slots=True)
class ItemBase:
    """An `emix:itemBase` member such as `power:powerReal` or `oadr:customUnit` (kind = prefixed name)."""

    kind: str
    description: str
    units: str
    scale: str = "none"
    power: PowerAttributes | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class ActivePeriod:
    dtstart: datetime
    duration: timedelta
    start_after: timedelta | None = None
    notification: timedelta | None = None
    ramp_up: timedelta | None = None
    recovery: timedelta | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class SignalInterval:
    uid: str
    duration: timedelta
    value: float
    dtstart: datetime | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class EventSignal:
    signal_name: str
    signal_type: str
    signal_id: str
    intervals: tuple[SignalInterval, ...]
    target: Target | None = None
    item_base: ItemBase | None = None
    current_value: float | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class Event:
    """`oadr:oadrEvent`: the event descriptor flattened, its active period, signals and target."""

    event_id: str
    modification_number: int
    market_context: str
    created_date_time: datetime
    event_status: EventStatus
    active_period: ActivePeriod
    signals: tuple[EventSignal, ...]
    target: Target = Target()
    response_required: ResponseRequired = ResponseRequired.ALWAYS
    modification_date_time: datetime | None = None
    modification_reason: str | None = None
    priority: int | None = None
    test_event: str | None = None
    vtn_comment: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class QualifiedEventId:
    event_id: str
    modification_number: int


@dataclass(frozen=True, kw_only=True, slots=True)
class EventResponse:
    """One `ei:eventResponse` of an oadrCreatedEvent: the VEN's opt for one event version."""

    code: int
    request_id: str
    event: QualifiedEventId
    opt_type: OptType
    description: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class AvailableWindow:
    dtstart: datetime
    duration: timedelta


@dataclass(frozen=True, kw_only=True, slots=True)
class SamplingRate:
    min_period: timedelta
    max_period: timedelta
    on_change: bool = False


@dataclass(frozen=True, kw_only=True, slots=True)
class ReportDescription:
    r_id: str
    report_type: str
    reading_type: str
    report_subject: Target | None = None
    report_data_source: Target | None = None
    item_base: ItemBase | None = None
    market_context: str | None = None
    sampling_rate: SamplingRate | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class ResourceStatus:
    online: bool
    manual_override: bool


@dataclass(frozen=True, kw_only=True, slots=True)
class ReportPayload:
    """`oadr:oadrReportPayload`: a float value or a resource status for one rID."""

    r_id: str
    value: float | None = None
    status: ResourceStatus | None = None
    confidence: int | None = None
    accuracy: float | None = None
    data_quality: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class ReportInterval:
    dtstart: datetime
    payloads: tuple[ReportPayload, ...]
    duration: timedelta | None = None
    uid: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class Report:
    """`oadr:oadrReport`: metadata (descriptions) in oadrRegisterReport, data (intervals) in updates."""

    report_specifier_id: str
    report_request_id: str
    created_date_time: datetime
    report_name: str | None = None
    report_id: str | None = None
    dtstart: datetime | None = None
    duration: timedelta | None = None
    descriptions: tuple[ReportDescription, ...] = ()
    intervals: tuple[ReportInterval, ...] = ()


@dataclass(frozen=True, kw_only=True, slots=True)
class SpecifierPayload:
    r_id: str
    reading_type: str
    item_base: ItemBase | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class ReportRequest:
    """`oadr:oadrReportRequest`: what the VTN wants of one registered report (granularity 0 = one-shot)."""

    report_request_id: str
    report_specifier_id: str
    granularity: timedelta
    report_back_duration: timedelta
    payloads: tuple[SpecifierPayload, ...]
    interval_start: datetime | None = None
    interval_duration: timedelta | None = None
