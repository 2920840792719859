"""The 2.0b part of the endpoint sweep (bench/sweep.py): registered VENs and their request bodies.

Setup (outside the measured window, over HTTP like a real VEN, lab admission by oadrVenName): each
of the first `count` seeded VENs registers (oadrCreatePartyRegistration), registers a telemetry
report and confirms the VTN's report request (oadrRegisterReport, oadrCreatedReport), and asks for
its events (oadrRequestEvent), so that every measured message is one a registered VEN may send.
Answers are HTTP 200 with the outcome in responseCode: the sweep counts an answer without
`EXPECT` in its body as an error (bench.load.run_load's `expect`).
"""

from __future__ import annotations

import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from bench.load import Request
from shared.oadr20b import Oadr20bCodec, Oadr20bSchema
from shared.oadr20b import messages as m
from shared.oadr20b.parts import (
    AvailableWindow,
    EiResponse,
    EventResponse,
    ItemBase,
    OptType,
    PowerAttributes,
    QualifiedEventId,
    Report,
    ReportDescription,
    ReportInterval,
    ReportPayload,
    SamplingRate,
    Target,
)
from vtn.oadr20b.settings import PREFIX

EXPECT = "responseCode>200<"
START = datetime(2030, 1, 1, tzinfo=UTC)
POWER = ItemBase(
    kind="power:powerReal",
    description="RealPower",
    units="W",
    power=PowerAttributes(hertz=50, voltage=230, ac=True),
)


@dataclass
class Ven20b:
    """One registered 2.0b VEN: its ids, its report request, and the events it was sent."""

    ven_name: str
    ven_id: str
    registration_id: str
    report_request_id: str
    events: list[tuple[str, int]] = field(default_factory=list)  # (eventID, modificationNumber)


class Client20b:
    """Builds single-line oadrPayload bodies and sends setup messages to one VTN."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.codec = Oadr20bCodec(Oadr20bSchema())

    def body(self, msg: m.Message) -> str:
        raw = self.codec.build(msg).replace(b"?>\n", b"?>", 1)
        if b"\n" in raw or b"\t" in raw:
            raise ValueError("2.0b body is not single-line")
        return raw.decode()

    def request(self, service: str, msg: m.Message) -> Request:
        return ("POST", f"{PREFIX}/{service}", "", self.body(msg))

    def send(self, service: str, msg: m.Message) -> m.Message:
        req = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{PREFIX}/{service}",
            data=self.body(msg).encode(),
            method="POST",
            headers={"Content-Type": "application/xml"},
        )
        with urllib.request.urlopen(req, timeout=30) as resp:
            return self.codec.parse(resp.read())


def metadata() -> Report:
    return Report(
        report_specifier_id="sweep-spec",
        report_request_id="0",
        report_name="METADATA_TELEMETRY_USAGE",
        created_date_time=START,
        duration=timedelta(hours=1),
        descriptions=(
            ReportDescription(
                r_id="rid-power",
                report_type="reading",
                reading_type="Direct Read",
                report_data_source=Target(resource_ids=("res-00",)),
                item_base=POWER,
                sampling_rate=SamplingRate(min_period=timedelta(seconds=10), max_period=timedelta(minutes=1)),
            ),
        ),
    )


def _code(msg: m.Message) -> int | None:
    response = getattr(msg, "response", None)
    return None if response is None else int(response.code)


def register(client: Client20b, ven_names: list[str], parallel: int = 8) -> list[Ven20b]:
    """Register each VEN, its telemetry report, and fetch its events, `parallel` VENs at a time
    (each VEN's own messages in order); raise on any refusal."""
    with ThreadPoolExecutor(max_workers=parallel) as pool:
        return list(pool.map(lambda job: _register_one(client, *job), enumerate(ven_names)))


def _register_one(client: Client20b, i: int, name: str) -> Ven20b:
    reg = client.send(m.REGISTER, m.CreatePartyRegistration(request_id=f"reg-{i}", ven_name=name))
    if not isinstance(reg, m.CreatedPartyRegistration) or _code(reg) != 200 or not reg.ven_id:
        raise RuntimeError(f"2.0b setup: registration of {name} refused: {reg}")
    ven_id, registration_id = reg.ven_id, reg.registration_id or ""
    rr = client.send(m.REPORT, m.RegisterReport(request_id=f"rr-{i}", reports=(metadata(),), ven_id=ven_id))
    if not isinstance(rr, m.RegisteredReport) or _code(rr) != 200 or not rr.requests:
        raise RuntimeError(f"2.0b setup: oadrRegisterReport of {name} refused: {rr}")
    request_id = rr.requests[0].report_request_id
    created = client.send(
        m.REPORT,
        m.CreatedReport(response=EiResponse(request_id=f"rr-{i}"), pending=(request_id,), ven_id=ven_id),
    )
    if _code(created) != 200:
        raise RuntimeError(f"2.0b setup: oadrCreatedReport of {name} refused: {created}")
    dist = client.send(m.EVENT, m.RequestEvent(request_id=f"re-{i}", ven_id=ven_id))
    if not isinstance(dist, m.DistributeEvent) or not dist.events:
        raise RuntimeError(f"2.0b setup: oadrRequestEvent of {name} got no events: {dist}")
    events = [(e.event_id, e.modification_number) for e in dist.events]
    return Ven20b(name, ven_id, registration_id, request_id, events)


def _update(v: Ven20b, n: int) -> m.UpdateReport:
    at = START + timedelta(seconds=10 * n)  # a new reading each time (a resent one is stored once)
    report = Report(
        report_specifier_id="sweep-spec",
        report_request_id=v.report_request_id,
        report_name="TELEMETRY_USAGE",
        report_id="",
        created_date_time=at,
        dtstart=at,
        intervals=(
            ReportInterval(dtstart=at, payloads=(ReportPayload(r_id="rid-power", value=1000.0 + n % 500),)),
        ),
    )
    return m.UpdateReport(request_id=f"u{n}", reports=(report,), ven_id=v.ven_id)


def _opt(v: Ven20b, n: int) -> m.CreateOpt:
    return m.CreateOpt(
        opt_id=f"sweep-opt-{n}",
        opt_type=OptType.OPT_OUT,
        opt_reason="x-schedule",
        ven_id=v.ven_id,
        created_date_time=START,
        request_id=f"o{n}",
        target=Target(resource_ids=("res-00",)),
        availability=(AvailableWindow(dtstart=START + timedelta(hours=n % 24), duration=timedelta(hours=1)),),
    )


def _created_event(v: Ven20b, n: int) -> m.CreatedEvent:
    event_id, number = v.events[n % len(v.events)]
    answer = EventResponse(
        code=200,
        request_id=f"d{n}",
        event=QualifiedEventId(event_id=event_id, modification_number=number),
        opt_type=OptType.OPT_IN,
    )
    return m.CreatedEvent(response=EiResponse(request_id=f"d{n}"), ven_id=v.ven_id, event_responses=(answer,))


Build = Callable[[Ven20b, int], m.Message]
# label: (2.0b service, the n-th request as VEN v, bounded: each request is new and sent once)
MESSAGES: dict[str, tuple[str, Build, bool]] = {
    "oadrPoll": (m.POLL, lambda v, n: m.Poll(ven_id=v.ven_id), False),
    "oadrQueryRegistration": (m.REGISTER, lambda v, n: m.QueryRegistration(request_id=f"q{n}"), False),
    "oadrRequestEvent": (m.EVENT, lambda v, n: m.RequestEvent(request_id=f"e{n}", ven_id=v.ven_id), False),
    "oadrCreatedEvent": (m.EVENT, _created_event, False),
    "oadrRegisterReport": (
        m.REPORT,
        lambda v, n: m.RegisterReport(request_id=f"r{n}", reports=(metadata(),), ven_id=v.ven_id),
        False,
    ),
    "oadrUpdateReport": (m.REPORT, _update, True),
    "oadrCreateOpt": (m.OPT, _opt, True),
    # Registering again by name (each answer names a new registrationID, so no request names one).
    "oadrCreatePartyRegistration": (
        m.REGISTER,
        lambda v, n: m.CreatePartyRegistration(request_id=f"rg{n}", ven_name=v.ven_name),
        False,
    ),
}


def requests(client: Client20b, vens: list[Ven20b], label: str, first: int, count: int) -> list[Request]:
    """Requests `first`..`first+count` of a service, rotating over the VENs."""
    service, build, _ = MESSAGES[label]
    return [client.request(service, build(vens[n % len(vens)], n)) for n in range(first, first + count)]


def bounded(label: str) -> bool:
    return MESSAGES[label][2]
