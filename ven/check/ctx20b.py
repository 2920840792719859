"""The state of one 2.0b run: the link to the VTN and what registration and polling taught us."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from shared.oadr20b import messages as m
from shared.oadr20b.parts import (
    EiResponse,
    Event,
    ItemBase,
    PowerAttributes,
    Report,
    ReportDescription,
    ReportInterval,
    ReportPayload,
    ReportRequest,
    SamplingRate,
    Target,
)
from ven.check.link20b import Link20b
from ven.check.model import Skip
from ven.check.options import CheckOptions

SPECIFIER_ID = "VEN_CHECK_TELEMETRY"
RESOURCE = "ven-check-meter"
R_DEMAND, R_USAGE = f"{RESOURCE}:demand", f"{RESOURCE}:usage"
_DEMAND = ItemBase(
    kind="power:powerReal",
    description="RealPower",
    units="W",
    scale="k",
    power=PowerAttributes(hertz=50.0, voltage=230.0, ac=True),
)
_USAGE = ItemBase(kind="power:energyReal", description="RealEnergy", units="Wh", scale="k")


def rid() -> str:
    return uuid.uuid4().hex


def now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Ctx20b:
    options: CheckOptions
    link: Link20b
    vtn_id: str | None = None
    ven_id: str | None = None
    registration_id: str | None = None
    poll_freq: timedelta | None = None
    events: tuple[Event, ...] = ()
    requests: list[ReportRequest] = field(default_factory=list)
    answered: set[tuple[str, int]] = field(default_factory=set)  # (eventID, modificationNumber) opted

    @property
    def ven_name(self) -> str:
        return self.options.ven_name or self.options.client_id

    def registered(self) -> str:
        if self.ven_id is None:
            raise Skip("not registered (see 2.0b.registration)")
        return self.ven_id

    def ok(self, request_id: str = "") -> EiResponse:
        return EiResponse(code=200, description="OK", request_id=request_id)

    def metadata(self) -> Report:
        """One METADATA_TELEMETRY_USAGE report: demand (kW) and usage (kWh) of one meter."""
        rate = SamplingRate(min_period=timedelta(seconds=1), max_period=timedelta(hours=1))
        return Report(
            report_specifier_id=SPECIFIER_ID,
            report_request_id="0",
            created_date_time=now(),
            report_name="METADATA_TELEMETRY_USAGE",
            duration=timedelta(hours=1),
            descriptions=tuple(
                ReportDescription(
                    r_id=r_id,
                    report_data_source=Target(resource_ids=(RESOURCE,)),
                    report_type=kind,
                    item_base=item,
                    reading_type="Direct Read",
                    sampling_rate=rate,
                )
                for r_id, kind, item in ((R_DEMAND, "demand", _DEMAND), (R_USAGE, "usage", _USAGE))
            ),
        )

    def data(self, request: ReportRequest) -> Report:
        """One update for `request`: an interval per requested rID we offer (OpenLEADR reads one each)."""
        at = now().replace(microsecond=0)
        ours = [p.r_id for p in request.payloads if p.r_id in (R_DEMAND, R_USAGE)]
        return Report(
            report_specifier_id=request.report_specifier_id,
            report_request_id=request.report_request_id,
            created_date_time=at,
            report_name="TELEMETRY_USAGE",
            report_id=rid(),
            dtstart=at,
            duration=request.granularity,
            intervals=tuple(
                ReportInterval(
                    dtstart=at,
                    duration=request.granularity,
                    uid=str(i),
                    payloads=(ReportPayload(r_id=r_id, value=1.5 if r_id == R_DEMAND else 0.25),),
                )
                for i, r_id in enumerate(ours)
            ),
        )

    def take(self, msg: m.Message | None) -> None:
        """Remember what a VTN message tells us (events, report requests)."""
        if isinstance(msg, m.DistributeEvent):
            self.events = msg.events
        elif isinstance(msg, m.CreateReport | m.RegisteredReport):
            self.requests.extend(msg.requests)
