"""Message encoders/decoders: reports (one pair per message)."""

from __future__ import annotations

from shared.oadr20b import messages as m
from shared.oadr20b._common import get_response, ids, put_response
from shared.oadr20b._reports import get_report, get_report_request, put_report, put_report_request
from shared.oadr20b.xml import (
    El,
    find,
    find_all,
    fmt_bool,
    opt_text,
    parse_bool,
    sub,
    sub_opt,
    text,
)

# ---------------------------------------------------------------- reports


def put_register_report(el: El, msg: m.RegisterReport) -> None:
    sub(el, "pyld:requestID", msg.request_id)
    for report in msg.reports:
        put_report(el, report)
    sub_opt(el, "ei:venID", msg.ven_id)
    sub_opt(el, "ei:reportRequestID", msg.report_request_id)


def get_register_report(el: El) -> m.RegisterReport:
    return m.RegisterReport(
        request_id=text(el, "pyld:requestID"),
        reports=tuple(get_report(r) for r in find_all(el, "oadr:oadrReport")),
        ven_id=opt_text(el, "ei:venID"),
        report_request_id=opt_text(el, "ei:reportRequestID"),
    )


def put_registered_report(el: El, msg: m.RegisteredReport) -> None:
    put_response(el, msg.response)
    for request in msg.requests:
        put_report_request(el, request)
    sub_opt(el, "ei:venID", msg.ven_id)


def get_registered_report(el: El) -> m.RegisteredReport:
    return m.RegisteredReport(
        response=get_response(el),
        requests=tuple(get_report_request(r) for r in find_all(el, "oadr:oadrReportRequest")),
        ven_id=opt_text(el, "ei:venID"),
    )


def put_create_report(el: El, msg: m.CreateReport) -> None:
    sub(el, "pyld:requestID", msg.request_id)
    for request in msg.requests:
        put_report_request(el, request)
    sub_opt(el, "ei:venID", msg.ven_id)


def get_create_report(el: El) -> m.CreateReport:
    return m.CreateReport(
        request_id=text(el, "pyld:requestID"),
        requests=tuple(get_report_request(r) for r in find_all(el, "oadr:oadrReportRequest")),
        ven_id=opt_text(el, "ei:venID"),
    )


def put_pending(el: El, pending: tuple[str, ...]) -> None:
    listed = sub(el, "oadr:oadrPendingReports")
    for request_id in pending:
        sub(listed, "ei:reportRequestID", request_id)


def put_created_report(el: El, msg: m.CreatedReport) -> None:
    put_response(el, msg.response)
    put_pending(el, msg.pending)
    sub_opt(el, "ei:venID", msg.ven_id)


def get_created_report(el: El) -> m.CreatedReport:
    return m.CreatedReport(
        response=get_response(el),
        pending=ids(el, "oadr:oadrPendingReports/ei:reportRequestID"),
        ven_id=opt_text(el, "ei:venID"),
    )


def put_update_report(el: El, msg: m.UpdateReport) -> None:
    sub(el, "pyld:requestID", msg.request_id)
    for report in msg.reports:
        put_report(el, report)
    sub_opt(el, "ei:venID", msg.ven_id)


def get_update_report(el: El) -> m.UpdateReport:
    return m.UpdateReport(
        request_id=text(el, "pyld:requestID"),
        reports=tuple(get_report(r) for r in find_all(el, "oadr:oadrReport")),
        ven_id=opt_text(el, "ei:venID"),
    )


def put_cancel_report_body(el: El, msg: m.CancelReport) -> None:
    sub(el, "pyld:requestID", msg.request_id)
    for request_id in msg.report_request_ids:
        sub(el, "ei:reportRequestID", request_id)
    sub(el, "pyld:reportToFollow", fmt_bool(msg.report_to_follow))
    sub_opt(el, "ei:venID", msg.ven_id)


def get_cancel_report(el: El) -> m.CancelReport:
    return m.CancelReport(
        request_id=text(el, "pyld:requestID"),
        report_request_ids=ids(el, "ei:reportRequestID"),
        report_to_follow=parse_bool(text(el, "pyld:reportToFollow")),
        ven_id=opt_text(el, "ei:venID"),
    )


def put_updated_report(el: El, msg: m.UpdatedReport) -> None:
    put_response(el, msg.response)
    if msg.cancel is not None:
        put_cancel_report_body(sub(el, "oadr:oadrCancelReport"), msg.cancel)
    sub_opt(el, "ei:venID", msg.ven_id)


def get_updated_report(el: El) -> m.UpdatedReport:
    cancel = find(el, "oadr:oadrCancelReport")
    return m.UpdatedReport(
        response=get_response(el),
        cancel=None if cancel is None else get_cancel_report(cancel),
        ven_id=opt_text(el, "ei:venID"),
    )


def put_canceled_report(el: El, msg: m.CanceledReport) -> None:
    put_response(el, msg.response)
    put_pending(el, msg.pending)
    sub_opt(el, "ei:venID", msg.ven_id)


def get_canceled_report(el: El) -> m.CanceledReport:
    return m.CanceledReport(
        response=get_response(el),
        pending=ids(el, "oadr:oadrPendingReports/ei:reportRequestID"),
        ven_id=opt_text(el, "ei:venID"),
    )
