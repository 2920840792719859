"""EiReport: report registration, requests, data updates and cancellation.

- oadrRegisterReport: each offered report's descriptions are stored (replacing an earlier offer
  with the same reportSpecifierID). TELEMETRY_USAGE / TELEMETRY_STATUS reports are requested right
  away in the oadrRegisteredReport answer (all rIDs, granularity = the fastest sampling period
  offered, reportBackDuration = granularity), as deployed VENs expect.
- `request_report` (VTN side) queues an oadrCreateReport for the VEN's next poll instead.
- oadrCreatedReport marks the pending requests active.
- oadrUpdateReport: each data report becomes one 3.1 report (report_mapping.py), id derived from
  venID, reportRequestID and the report's createdDateTime so a resent update is stored once. Its
  eventID is the event the request was made for, or TELEMETRY_EVENT_ID for requests made at
  registration (3.1 reports must name an event; 2.0b telemetry belongs to none).
  An update for an unknown reportRequestID gets 452; one for a cancelled request is answered with
  an oadrCancelReport inside oadrUpdatedReport.
- `cancel_report_request` (VTN side) queues an oadrCancelReport; oadrCanceledReport confirms it.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import timedelta

from shared.enums import Operation
from shared.models import Ven
from shared.oadr20b import messages as m
from shared.oadr20b.errors import Oadr20bError, ResponseCode
from shared.oadr20b.parts import EiResponse, Report, ReportRequest, SpecifierPayload
from shared.oadr20b.xml import fmt_datetime
from vtn.core.oadr20b_records import ReportMetadata, StoredRequest
from vtn.oadr20b.context import Ctx, registered_ven
from vtn.oadr20b.report_mapping import data_point, to_report31

TELEMETRY_EVENT_ID = "oadr20b-telemetry"
_AUTO_REQUESTED = ("METADATA_TELEMETRY_USAGE", "METADATA_TELEMETRY_STATUS")
_DEFAULT_GRANULARITY = timedelta(seconds=60)


def _request_for(meta: ReportMetadata, report_request_id: str) -> ReportRequest:
    periods = [p.min_period_s for p in meta.points if p.min_period_s]
    granularity = timedelta(seconds=min(periods)) if periods else _DEFAULT_GRANULARITY
    return ReportRequest(
        report_request_id=report_request_id,
        report_specifier_id=meta.report_specifier_id,
        granularity=granularity,
        report_back_duration=granularity,
        payloads=tuple(SpecifierPayload(r_id=p.r_id, reading_type=p.reading_type) for p in meta.points),
    )


async def _store_request(ctx: Ctx, ven: Ven, request: ReportRequest, event_id: str | None) -> None:
    await ctx.st.save_request(
        StoredRequest(
            report_request_id=request.report_request_id,
            ven_id=ven.id,
            report_specifier_id=request.report_specifier_id,
            r_ids=tuple(p.r_id for p in request.payloads),
            granularity_s=request.granularity.total_seconds(),
            report_back_s=request.report_back_duration.total_seconds(),
            status="requested",
            event_id=event_id,
        )
    )


async def register_report(ctx: Ctx, msg: m.RegisterReport) -> m.RegisteredReport:
    ven, _ = await registered_ven(ctx, msg.ven_id)
    requests: list[ReportRequest] = []
    for report in msg.reports:
        meta = ReportMetadata(
            ven_id=ven.id,
            report_specifier_id=report.report_specifier_id,
            report_name=report.report_name or "",
            points=tuple(data_point(d) for d in report.descriptions),
        )
        await ctx.st.save_metadata(meta)
        if ctx.settings.request_telemetry and meta.report_name in _AUTO_REQUESTED and meta.points:
            request = _request_for(meta, str(uuid.uuid4()))
            await _store_request(ctx, ven, request, None)
            requests.append(request)
    return m.RegisteredReport(
        response=EiResponse(request_id=msg.request_id), requests=tuple(requests), ven_id=ven.id
    )


async def request_report(ctx: Ctx, ven_id: str, report_specifier_id: str, event_id: str | None = None) -> str:
    """VTN side: queue oadrCreateReport for a registered report; returns the reportRequestID."""
    ven, _ = await registered_ven(ctx, ven_id)
    meta = await ctx.st.metadata(ven.id, report_specifier_id)
    if meta is None:
        raise Oadr20bError(
            ResponseCode.INVALID_ID, f"no report {report_specifier_id!r} registered by {ven_id}"
        )
    request = _request_for(meta, str(uuid.uuid4()))
    await _store_request(ctx, ven, request, event_id)
    msg = m.CreateReport(request_id=str(uuid.uuid4()), requests=(request,), ven_id=ven.id)
    await ctx.st.enqueue(ven.id, msg.TAG, ctx.codec.build(msg))
    return request.report_request_id


async def created_report(ctx: Ctx, msg: m.CreatedReport) -> m.Response:
    ven, _ = await registered_ven(ctx, msg.ven_id)
    for request_id in msg.pending:
        stored = await ctx.st.request(request_id)
        if stored is not None and stored.ven_id == ven.id and stored.status == "requested":
            await ctx.st.set_request_status(request_id, "active")
    return m.Response(response=EiResponse(request_id=msg.response.request_id), ven_id=ven.id)


def _report_id(ven_id: str, report: Report) -> str:
    key = f"{ven_id}|{report.report_request_id}|{fmt_datetime(report.created_date_time)}"
    return "oadr20b-" + hashlib.sha256(key.encode()).hexdigest()[:40]


async def update_report(ctx: Ctx, msg: m.UpdateReport) -> m.UpdatedReport:
    ven, _ = await registered_ven(ctx, msg.ven_id)
    cancelled: list[str] = []
    for report in msg.reports:
        stored = await ctx.st.request(report.report_request_id)
        if stored is None or stored.ven_id != ven.id:
            raise Oadr20bError(
                ResponseCode.INVALID_ID,
                f"unknown reportRequestID {report.report_request_id!r}",
                request_id=msg.request_id,
            )
        if stored.status == "cancelled":
            cancelled.append(stored.report_request_id)
            continue
        meta = await ctx.st.metadata(ven.id, stored.report_specifier_id)
        converted = to_report31(
            report,
            meta.points if meta is not None else (),
            report_id=_report_id(ven.id, report),
            event_id=stored.event_id or TELEMETRY_EVENT_ID,
            client_id=ven.client_id,
            client_name=ven.ven_name,
            now=ctx.tx.reports.clock(),
        )
        if converted is None or await ctx.tx.reports.get(converted.id) is not None:
            continue
        program_id = await ctx.tx.events.program_of(converted.event_id)
        await ctx.tx.reports.insert(converted, {"program_id": program_id})
        await ctx.notify(Operation.CREATE, converted)
        if stored.status == "requested":
            await ctx.st.set_request_status(stored.report_request_id, "active")
    cancel = None
    if cancelled:
        cancel = m.CancelReport(
            request_id=str(uuid.uuid4()),
            report_request_ids=tuple(cancelled),
            report_to_follow=False,
            ven_id=ven.id,
        )
    return m.UpdatedReport(response=EiResponse(request_id=msg.request_id), cancel=cancel, ven_id=ven.id)


async def cancel_report_request(ctx: Ctx, ven_id: str, report_request_id: str) -> None:
    """VTN side: stop a report; the VEN hears it on its next poll (or its next update's answer)."""
    stored = await ctx.st.request(report_request_id)
    if stored is None or stored.ven_id != ven_id:
        raise Oadr20bError(ResponseCode.INVALID_ID, f"unknown reportRequestID {report_request_id!r}")
    await ctx.st.set_request_status(report_request_id, "cancelled")
    msg = m.CancelReport(
        request_id=str(uuid.uuid4()),
        report_request_ids=(report_request_id,),
        report_to_follow=False,
        ven_id=ven_id,
    )
    await ctx.st.enqueue(ven_id, msg.TAG, ctx.codec.build(msg))


async def cancel_report(ctx: Ctx, msg: m.CancelReport) -> m.CanceledReport:
    """The VEN cancels requests: ours to it (we offer no VTN reports of our own)."""
    ven, _ = await registered_ven(ctx, msg.ven_id)
    for request_id in msg.report_request_ids:
        stored = await ctx.st.request(request_id)
        if stored is None or stored.ven_id != ven.id:
            raise Oadr20bError(
                ResponseCode.INVALID_ID, f"unknown reportRequestID {request_id!r}", request_id=msg.request_id
            )
        await ctx.st.set_request_status(request_id, "cancelled")
    return m.CanceledReport(response=EiResponse(request_id=msg.request_id), ven_id=ven.id)


async def canceled_report(ctx: Ctx, msg: m.CanceledReport) -> m.Response:
    ven, _ = await registered_ven(ctx, msg.ven_id)
    return m.Response(response=EiResponse(request_id=msg.response.request_id), ven_id=ven.id)


async def registered_report(ctx: Ctx, msg: m.RegisteredReport) -> m.Response:
    """The VEN answers a VTN report offer; we make none, so there is nothing to record."""
    ven, _ = await registered_ven(ctx, msg.ven_id)
    return m.Response(response=EiResponse(request_id=msg.response.request_id), ven_id=ven.id)
