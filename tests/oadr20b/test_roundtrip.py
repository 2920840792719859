"""Every 2.0b message type: build (XSD-validated), parse (XSD-validated) and get the same value back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.oadr20b import MESSAGE_TYPES, Oadr20bCodec, SchemaInvalid
from shared.oadr20b import messages as m
from shared.oadr20b.parts import (
    ActivePeriod,
    AvailableWindow,
    EiResponse,
    Event,
    EventResponse,
    EventSignal,
    EventStatus,
    ItemBase,
    OptType,
    PowerAttributes,
    QualifiedEventId,
    Report,
    ReportDescription,
    ReportInterval,
    ReportPayload,
    ReportRequest,
    ResourceStatus,
    ResponseRequired,
    SamplingRate,
    SignalInterval,
    SpecifierPayload,
    Target,
)

T0 = datetime(2026, 11, 26, 7, 16, 19, 900573, tzinfo=UTC)
T1 = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
OK = EiResponse(code=200, description="OK", request_id="req-1")
POWER = ItemBase(
    kind="power:powerReal",
    description="RealPower",
    units="W",
    scale="k",
    power=PowerAttributes(hertz=50.0, voltage=230.0, ac=True),
)
EVENT = Event(
    event_id="ev-1",
    modification_number=2,
    modification_date_time=T0,
    modification_reason="moved",
    priority=1,
    market_context="http://market.example/prices",
    created_date_time=T0,
    event_status=EventStatus.NEAR,
    test_event="false",
    vtn_comment="evening peak",
    active_period=ActivePeriod(
        dtstart=T1,
        duration=timedelta(hours=1),
        start_after=timedelta(minutes=5),
        notification=timedelta(days=1),
        ramp_up=timedelta(minutes=10),
        recovery=timedelta(minutes=15),
    ),
    signals=(
        EventSignal(
            signal_name="ELECTRICITY_PRICE",
            signal_type="price",
            signal_id="PRICE",
            intervals=(
                SignalInterval(uid="0", dtstart=T1, duration=timedelta(minutes=30), value=0.25),
                SignalInterval(uid="1", duration=timedelta(minutes=30), value=0.3),
            ),
            target=Target(resource_ids=("meter-1",)),
            item_base=ItemBase(kind="oadr:currency", description="currency", units="EUR", scale="none"),
            current_value=0.0,
        ),
        EventSignal(
            signal_name="LOAD_CONTROL",
            signal_type="x-loadControlCapacity",
            signal_id="cap",
            intervals=(SignalInterval(uid="0", duration=timedelta(hours=1), value=5.5),),
        ),
    ),
    target=Target(
        group_ids=("g1",), group_names=("North",), resource_ids=("r1",), ven_ids=("ven-1",), party_ids=("p1",)
    ),
    response_required=ResponseRequired.ALWAYS,
)
METADATA = Report(
    report_specifier_id="spec-1",
    report_request_id="0",
    report_name="METADATA_TELEMETRY_USAGE",
    created_date_time=T0,
    duration=timedelta(hours=1),
    descriptions=(
        ReportDescription(
            r_id="rid-1",
            report_type="reading",
            reading_type="Direct Read",
            report_subject=Target(resource_ids=("meter-1",)),
            report_data_source=Target(resource_ids=("meter-1",)),
            item_base=POWER,
            market_context="http://market.example/prices",
            sampling_rate=SamplingRate(
                min_period=timedelta(seconds=10), max_period=timedelta(minutes=1), on_change=False
            ),
        ),
        ReportDescription(r_id="rid-2", report_type="x-resourceStatus", reading_type="x-notApplicable"),
    ),
)
DATA = Report(
    report_specifier_id="spec-1",
    report_request_id="rr-1",
    report_name="TELEMETRY_USAGE",
    report_id="rep-1",
    created_date_time=T1,
    dtstart=T1,
    duration=timedelta(minutes=1),
    intervals=(
        ReportInterval(
            dtstart=T1,
            duration=timedelta(seconds=10),
            uid="0",
            payloads=(
                ReportPayload(
                    r_id="rid-1",
                    value=1.5,
                    confidence=90,
                    accuracy=0.5,
                    data_quality="Quality Good - Non Specific",
                ),
                ReportPayload(r_id="rid-2", status=ResourceStatus(online=True, manual_override=False)),
            ),
        ),
    ),
)
REQUEST = ReportRequest(
    report_request_id="rr-1",
    report_specifier_id="spec-1",
    granularity=timedelta(seconds=10),
    report_back_duration=timedelta(minutes=1),
    interval_start=T1,
    interval_duration=timedelta(hours=2),
    payloads=(SpecifierPayload(r_id="rid-1", reading_type="Direct Read", item_base=POWER),),
)
CANCEL = m.CancelReport(
    request_id="req-9", report_request_ids=("rr-1", "rr-2"), report_to_follow=True, ven_id="ven-1"
)

SAMPLES: list[m.Message] = [
    m.Response(response=OK, ven_id="ven-1"),
    m.QueryRegistration(request_id="req-1"),
    m.CreatePartyRegistration(
        request_id="req-1",
        registration_id="reg-1",
        ven_id="ven-1",
        transport_address="http://ven.example",
        report_only=False,
        xml_signature=False,
        ven_name="ven one",
        http_pull_model=True,
    ),
    m.CreatedPartyRegistration(
        response=OK, vtn_id="VTN-1", registration_id="reg-1", ven_id="ven-1", poll_freq=timedelta(seconds=10)
    ),
    m.CancelPartyRegistration(request_id="req-1", registration_id="reg-1", ven_id="ven-1"),
    m.CanceledPartyRegistration(response=OK, registration_id="reg-1", ven_id="ven-1"),
    m.RequestReregistration(ven_id="ven-1"),
    m.Poll(ven_id="ven-1"),
    m.RequestEvent(request_id="req-1", ven_id="ven-1", reply_limit=5),
    m.DistributeEvent(response=OK, request_id="req-1", vtn_id="VTN-1", events=(EVENT,)),
    m.CreatedEvent(
        response=OK,
        ven_id="ven-1",
        event_responses=(
            EventResponse(
                code=200,
                description="OK",
                request_id="req-1",
                event=QualifiedEventId(event_id="ev-1", modification_number=2),
                opt_type=OptType.OPT_IN,
            ),
        ),
    ),
    m.CreateOpt(
        opt_id="opt-1",
        opt_type=OptType.OPT_OUT,
        opt_reason="x-schedule",
        market_context="http://market.example/prices",
        ven_id="ven-1",
        created_date_time=T0,
        request_id="req-1",
        target=Target(resource_ids=("r1",)),
        availability=(AvailableWindow(dtstart=T1, duration=timedelta(hours=2)),),
        event=QualifiedEventId(event_id="ev-1", modification_number=2),
        device_class=Target(ven_ids=("ven-1",)),
    ),
    m.CreatedOpt(response=OK, opt_id="opt-1"),
    m.CancelOpt(request_id="req-1", opt_id="opt-1", ven_id="ven-1"),
    m.CanceledOpt(response=OK, opt_id="opt-1"),
    m.RegisterReport(request_id="req-1", reports=(METADATA,), ven_id="ven-1", report_request_id="0"),
    m.RegisteredReport(response=OK, requests=(REQUEST,), ven_id="ven-1"),
    m.CreateReport(request_id="req-1", requests=(REQUEST,), ven_id="ven-1"),
    m.CreatedReport(response=OK, pending=("rr-1", "rr-2"), ven_id="ven-1"),
    m.UpdateReport(request_id="req-1", reports=(DATA,), ven_id="ven-1"),
    m.UpdatedReport(response=OK, cancel=CANCEL, ven_id="ven-1"),
    CANCEL,
    m.CanceledReport(response=OK, pending=("rr-2",), ven_id="ven-1"),
]


def test_samples_cover_every_message_type() -> None:
    assert {type(s) for s in SAMPLES} == set(MESSAGE_TYPES)
    assert len(MESSAGE_TYPES) == 23


@pytest.mark.parametrize("msg", SAMPLES, ids=lambda s: s.TAG)
def test_round_trip(codec: Oadr20bCodec, msg: m.Message) -> None:
    data = codec.build(msg)
    assert codec.schema.is_valid(codec.parser.parse(data))
    assert codec.parse(data) == msg


@pytest.mark.parametrize(
    "msg",
    [
        m.Response(response=EiResponse(description=None)),
        m.CreatedPartyRegistration(response=OK, vtn_id="VTN-1"),
        m.DistributeEvent(request_id="None", vtn_id="VTN-1"),
        m.CreatedEvent(response=OK, ven_id="ven-1"),
        m.RegisterReport(request_id=""),
        m.UpdatedReport(response=OK),
        m.CanceledOpt(response=OK),
    ],
    ids=lambda s: s.TAG,
)
def test_round_trip_minimal(codec: Oadr20bCodec, msg: m.Message) -> None:
    assert codec.parse(codec.build(msg)) == msg


def test_poll_wire_document(codec: Oadr20bCodec) -> None:
    """The envelope declares only `oadr`; the signed object declares the rest (inclusive C14N)."""
    wire = codec.build(m.Poll(ven_id="ven-1")).decode()
    assert '<oadr:oadrPayload xmlns:oadr="http://openadr.org/oadr-2.0b/2012/07">' in wire
    assert wire.endswith(
        'oadr:Id="oadrSignedObject">'
        '<oadr:oadrPoll ei:schemaVersion="2.0b"><ei:venID>ven-1</ei:venID></oadr:oadrPoll>'
        "</oadr:oadrSignedObject></oadr:oadrPayload>"
    )
    assert (
        'xmlns:ei="http://docs.oasis-open.org/ns/energyinterop/201110"' in wire.split("oadrSignedObject")[1]
    )


def test_building_an_invalid_message_is_refused(codec: Oadr20bCodec) -> None:
    bad_signal = EventSignal(
        signal_name="SIMPLE", signal_type="bogus", signal_id="s", intervals=EVENT.signals[1].intervals
    )
    bad = m.DistributeEvent(
        request_id="r", vtn_id="V", events=(Event(**{**_fields(EVENT), "signals": (bad_signal,)}),)
    )
    with pytest.raises(SchemaInvalid):
        codec.build(bad)


def _fields(event: Event) -> dict[str, object]:
    return {name: getattr(event, name) for name in Event.__dataclass_fields__}
