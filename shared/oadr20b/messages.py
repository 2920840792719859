"""The 23 OpenADR 2.0b messages as frozen dataclasses, named after their element without `oadr`.

`TAG` is the element inside `oadr:oadrSignedObject`; `SERVICE` the simpleHttp endpoint a VEN posts
it to (VTN-originated messages name the service whose answer or poll carries them). Encoding and
decoding live in `shared.oadr20b.codec`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import ClassVar

from shared.oadr20b.parts import (
    AvailableWindow,
    EiResponse,
    Event,
    EventResponse,
    OptType,
    QualifiedEventId,
    Report,
    ReportRequest,
    Target,
)

REGISTER = "EiRegisterParty"
EVENT = "EiEvent"
OPT = "EiOpt"
REPORT = "EiReport"
POLL = "OadrPoll"
SERVICES = (REGISTER, EVENT, OPT, REPORT, POLL)


@dataclass(frozen=True, kw_only=True, slots=True)
class Response:
    TAG: ClassVar[str] = "oadrResponse"
    SERVICE: ClassVar[str] = POLL
    response: EiResponse
    ven_id: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class QueryRegistration:
    TAG: ClassVar[str] = "oadrQueryRegistration"
    SERVICE: ClassVar[str] = REGISTER
    request_id: str


@dataclass(frozen=True, kw_only=True, slots=True)
class CreatePartyRegistration:
    TAG: ClassVar[str] = "oadrCreatePartyRegistration"
    SERVICE: ClassVar[str] = REGISTER
    request_id: str
    registration_id: str | None = None
    ven_id: str | None = None
    profile_name: str = "2.0b"
    transport_name: str = "simpleHttp"
    transport_address: str | None = None
    report_only: bool = False
    xml_signature: bool = False
    ven_name: str | None = None
    http_pull_model: bool | None = True


@dataclass(frozen=True, kw_only=True, slots=True)
class CreatedPartyRegistration:
    TAG: ClassVar[str] = "oadrCreatedPartyRegistration"
    SERVICE: ClassVar[str] = REGISTER
    response: EiResponse
    vtn_id: str
    registration_id: str | None = None
    ven_id: str | None = None
    profiles: tuple[tuple[str, tuple[str, ...]], ...] = (("2.0b", ("simpleHttp",)),)
    poll_freq: timedelta | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class CancelPartyRegistration:
    TAG: ClassVar[str] = "oadrCancelPartyRegistration"
    SERVICE: ClassVar[str] = REGISTER
    request_id: str
    registration_id: str
    ven_id: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class CanceledPartyRegistration:
    TAG: ClassVar[str] = "oadrCanceledPartyRegistration"
    SERVICE: ClassVar[str] = REGISTER
    response: EiResponse
    registration_id: str | None = None
    ven_id: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class RequestReregistration:
    TAG: ClassVar[str] = "oadrRequestReregistration"
    SERVICE: ClassVar[str] = POLL
    ven_id: str


@dataclass(frozen=True, kw_only=True, slots=True)
class Poll:
    TAG: ClassVar[str] = "oadrPoll"
    SERVICE: ClassVar[str] = POLL
    ven_id: str


@dataclass(frozen=True, kw_only=True, slots=True)
class RequestEvent:
    TAG: ClassVar[str] = "oadrRequestEvent"
    SERVICE: ClassVar[str] = EVENT
    request_id: str
    ven_id: str
    reply_limit: int | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class DistributeEvent:
    TAG: ClassVar[str] = "oadrDistributeEvent"
    SERVICE: ClassVar[str] = EVENT
    request_id: str
    vtn_id: str
    events: tuple[Event, ...] = ()
    response: EiResponse | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class CreatedEvent:
    TAG: ClassVar[str] = "oadrCreatedEvent"
    SERVICE: ClassVar[str] = EVENT
    response: EiResponse
    ven_id: str
    event_responses: tuple[EventResponse, ...] = ()


@dataclass(frozen=True, kw_only=True, slots=True)
class CreateOpt:
    TAG: ClassVar[str] = "oadrCreateOpt"
    SERVICE: ClassVar[str] = OPT
    opt_id: str
    opt_type: OptType
    opt_reason: str
    ven_id: str
    created_date_time: datetime
    request_id: str
    target: Target
    market_context: str | None = None
    availability: tuple[AvailableWindow, ...] | None = None
    event: QualifiedEventId | None = None
    device_class: Target | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class CreatedOpt:
    TAG: ClassVar[str] = "oadrCreatedOpt"
    SERVICE: ClassVar[str] = OPT
    response: EiResponse
    opt_id: str


@dataclass(frozen=True, kw_only=True, slots=True)
class CancelOpt:
    TAG: ClassVar[str] = "oadrCancelOpt"
    SERVICE: ClassVar[str] = OPT
    request_id: str
    opt_id: str
    ven_id: str


@dataclass(frozen=True, kw_only=True, slots=True)
class CanceledOpt:
    TAG: ClassVar[str] = "oadrCanceledOpt"
    SERVICE: ClassVar[str] = OPT
    response: EiResponse
    opt_id: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class RegisterReport:
    TAG: ClassVar[str] = "oadrRegisterReport"
    SERVICE: ClassVar[str] = REPORT
    request_id: str
    reports: tuple[Report, ...] = ()
    ven_id: str | None = None
    report_request_id: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class RegisteredReport:
    TAG: ClassVar[str] = "oadrRegisteredReport"
    SERVICE: ClassVar[str] = REPORT
    response: EiResponse
    requests: tuple[ReportRequest, ...] = ()
    ven_id: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class CreateReport:
    TAG: ClassVar[str] = "oadrCreateReport"
    SERVICE: ClassVar[str] = REPORT
    request_id: str
    requests: tuple[ReportRequest, ...]
    ven_id: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class CreatedReport:
    TAG: ClassVar[str] = "oadrCreatedReport"
    SERVICE: ClassVar[str] = REPORT
    response: EiResponse
    pending: tuple[str, ...] = ()
    ven_id: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class UpdateReport:
    TAG: ClassVar[str] = "oadrUpdateReport"
    SERVICE: ClassVar[str] = REPORT
    request_id: str
    reports: tuple[Report, ...] = ()
    ven_id: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class CancelReport:
    TAG: ClassVar[str] = "oadrCancelReport"
    SERVICE: ClassVar[str] = REPORT
    request_id: str
    report_request_ids: tuple[str, ...]
    report_to_follow: bool = False
    ven_id: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class UpdatedReport:
    TAG: ClassVar[str] = "oadrUpdatedReport"
    SERVICE: ClassVar[str] = REPORT
    response: EiResponse
    cancel: CancelReport | None = None
    ven_id: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class CanceledReport:
    TAG: ClassVar[str] = "oadrCanceledReport"
    SERVICE: ClassVar[str] = REPORT
    response: EiResponse
    pending: tuple[str, ...] = ()
    ven_id: str | None = None


Message = (
    Response
    | QueryRegistration
    | CreatePartyRegistration
    | CreatedPartyRegistration
    | CancelPartyRegistration
    | CanceledPartyRegistration
    | RequestReregistration
    | Poll
    | RequestEvent
    | DistributeEvent
    | CreatedEvent
    | CreateOpt
    | CreatedOpt
    | CancelOpt
    | CanceledOpt
    | RegisterReport
    | RegisteredReport
    | CreateReport
    | CreatedReport
    | UpdateReport
    | UpdatedReport
    | CancelReport
    | CanceledReport
)
