"""Encoders and decoders of `oadr:oadrReport` (metadata and data) and `oadr:oadrReportRequest`."""

from __future__ import annotations

from shared.oadr20b._common import (
    get_datetime,
    get_duration,
    get_item_base,
    opt_datetime,
    opt_duration,
    opt_target,
    put_datetime,
    put_duration,
    put_item_base,
    put_target,
)
from shared.oadr20b.parts import (
    Report,
    ReportDescription,
    ReportInterval,
    ReportPayload,
    ReportRequest,
    ResourceStatus,
    SamplingRate,
    SpecifierPayload,
)
from shared.oadr20b.xml import (
    El,
    find,
    find_all,
    fmt_bool,
    fmt_datetime,
    fmt_duration,
    fmt_float,
    local_name,
    need,
    opt_text,
    parse_bool,
    parse_datetime,
    parse_duration,
    parse_float,
    sub,
    sub_opt,
    text,
)

_DESCRIPTION_PARTS = {
    "rID",
    "reportSubject",
    "reportDataSource",
    "reportType",
    "readingType",
    "marketContext",
    "oadrSamplingRate",
}
_SPECIFIER_PARTS = {"rID", "readingType"}


def put_report(parent: El, report: Report) -> None:
    el = sub(parent, "oadr:oadrReport")
    if report.dtstart is not None:
        put_datetime(el, "xcal:dtstart", report.dtstart)
    if report.duration is not None:
        put_duration(el, "xcal:duration", report.duration)
    if report.intervals:
        intervals = sub(el, "strm:intervals")
        for interval in report.intervals:
            _put_interval(intervals, interval)
    sub_opt(el, "ei:eiReportID", report.report_id)
    for description in report.descriptions:
        _put_description(el, description)
    sub(el, "ei:reportRequestID", report.report_request_id)
    sub(el, "ei:reportSpecifierID", report.report_specifier_id)
    sub_opt(el, "ei:reportName", report.report_name)
    sub(el, "ei:createdDateTime", fmt_datetime(report.created_date_time))


def get_report(el: El) -> Report:
    return Report(
        dtstart=opt_datetime(el, "xcal:dtstart"),
        duration=opt_duration(el, "xcal:duration"),
        intervals=tuple(_get_interval(iv) for iv in find_all(el, "strm:intervals/ei:interval")),
        report_id=opt_text(el, "ei:eiReportID"),
        descriptions=tuple(_get_description(d) for d in find_all(el, "oadr:oadrReportDescription")),
        report_request_id=text(el, "ei:reportRequestID"),
        report_specifier_id=text(el, "ei:reportSpecifierID"),
        report_name=opt_text(el, "ei:reportName"),
        created_date_time=parse_datetime(text(el, "ei:createdDateTime")),
    )


def _put_description(parent: El, value: ReportDescription) -> None:
    el = sub(parent, "oadr:oadrReportDescription")
    sub(el, "ei:rID", value.r_id)
    if value.report_subject is not None:
        put_target(el, value.report_subject, "ei:reportSubject")
    if value.report_data_source is not None:
        put_target(el, value.report_data_source, "ei:reportDataSource")
    sub(el, "ei:reportType", value.report_type)
    if value.item_base is not None:
        put_item_base(el, value.item_base)
    sub(el, "ei:readingType", value.reading_type)
    sub_opt(el, "emix:marketContext", value.market_context)
    if value.sampling_rate is not None:
        rate = sub(el, "oadr:oadrSamplingRate")
        sub(rate, "oadr:oadrMinPeriod", fmt_duration(value.sampling_rate.min_period))
        sub(rate, "oadr:oadrMaxPeriod", fmt_duration(value.sampling_rate.max_period))
        sub(rate, "oadr:oadrOnChange", fmt_bool(value.sampling_rate.on_change))


def _get_description(el: El) -> ReportDescription:
    item = next((c for c in el if local_name(c) not in _DESCRIPTION_PARTS), None)
    rate = find(el, "oadr:oadrSamplingRate")
    return ReportDescription(
        r_id=text(el, "ei:rID"),
        report_subject=opt_target(el, "ei:reportSubject"),
        report_data_source=opt_target(el, "ei:reportDataSource"),
        report_type=text(el, "ei:reportType"),
        item_base=None if item is None else get_item_base(item),
        reading_type=text(el, "ei:readingType"),
        market_context=opt_text(el, "emix:marketContext"),
        sampling_rate=None
        if rate is None
        else SamplingRate(
            min_period=parse_duration(text(rate, "oadr:oadrMinPeriod")),
            max_period=parse_duration(text(rate, "oadr:oadrMaxPeriod")),
            on_change=parse_bool(text(rate, "oadr:oadrOnChange")),
        ),
    )


def _put_interval(parent: El, value: ReportInterval) -> None:
    el = sub(parent, "ei:interval")
    put_datetime(el, "xcal:dtstart", value.dtstart)
    if value.duration is not None:
        put_duration(el, "xcal:duration", value.duration)
    if value.uid is not None:
        sub(sub(el, "xcal:uid"), "xcal:text", value.uid)
    for payload in value.payloads:
        p = sub(el, "oadr:oadrReportPayload")
        sub(p, "ei:rID", payload.r_id)
        if payload.confidence is not None:
            sub(p, "ei:confidence", str(payload.confidence))
        if payload.accuracy is not None:
            sub(p, "ei:accuracy", fmt_float(payload.accuracy))
        if payload.status is not None:
            status = sub(p, "oadr:oadrPayloadResourceStatus")
            sub(status, "oadr:oadrOnline", fmt_bool(payload.status.online))
            sub(status, "oadr:oadrManualOverride", fmt_bool(payload.status.manual_override))
        else:
            value_text = fmt_float(payload.value if payload.value is not None else 0.0)
            sub(sub(p, "ei:payloadFloat"), "ei:value", value_text)
        sub_opt(p, "oadr:oadrDataQuality", payload.data_quality)


def _get_interval(el: El) -> ReportInterval:
    return ReportInterval(
        dtstart=get_datetime(el, "xcal:dtstart"),
        duration=opt_duration(el, "xcal:duration"),
        uid=opt_text(el, "xcal:uid/xcal:text"),
        payloads=tuple(_get_payload(p) for p in find_all(el, "oadr:oadrReportPayload")),
    )


def _get_payload(el: El) -> ReportPayload:
    confidence = opt_text(el, "ei:confidence")
    accuracy = opt_text(el, "ei:accuracy")
    value = opt_text(el, "ei:payloadFloat/ei:value")
    status = find(el, "oadr:oadrPayloadResourceStatus")
    return ReportPayload(
        r_id=text(el, "ei:rID"),
        confidence=None if confidence is None else int(confidence),
        accuracy=None if accuracy is None else parse_float(accuracy),
        value=None if value is None else parse_float(value),
        status=None
        if status is None
        else ResourceStatus(
            online=parse_bool(text(status, "oadr:oadrOnline")),
            manual_override=parse_bool(text(status, "oadr:oadrManualOverride")),
        ),
        data_quality=opt_text(el, "oadr:oadrDataQuality"),
    )


def put_report_request(parent: El, value: ReportRequest) -> None:
    el = sub(parent, "oadr:oadrReportRequest")
    sub(el, "ei:reportRequestID", value.report_request_id)
    spec = sub(el, "ei:reportSpecifier")
    sub(spec, "ei:reportSpecifierID", value.report_specifier_id)
    put_duration(spec, "xcal:granularity", value.granularity)
    put_duration(spec, "ei:reportBackDuration", value.report_back_duration)
    if value.interval_start is not None:
        props = sub(sub(spec, "ei:reportInterval"), "xcal:properties")
        put_datetime(props, "xcal:dtstart", value.interval_start)
        put_duration(props, "xcal:duration", value.interval_duration or parse_duration("PT0S"))
    for payload in value.payloads:
        p = sub(spec, "ei:specifierPayload")
        sub(p, "ei:rID", payload.r_id)
        if payload.item_base is not None:
            put_item_base(p, payload.item_base)
        sub(p, "ei:readingType", payload.reading_type)


def get_report_request(el: El) -> ReportRequest:
    spec = need(el, "ei:reportSpecifier")
    interval = find(spec, "ei:reportInterval/xcal:properties")
    return ReportRequest(
        report_request_id=text(el, "ei:reportRequestID"),
        report_specifier_id=text(spec, "ei:reportSpecifierID"),
        granularity=get_duration(spec, "xcal:granularity"),
        report_back_duration=get_duration(spec, "ei:reportBackDuration"),
        interval_start=None if interval is None else get_datetime(interval, "xcal:dtstart"),
        interval_duration=None if interval is None else get_duration(interval, "xcal:duration"),
        payloads=tuple(_get_specifier(p) for p in find_all(spec, "ei:specifierPayload")),
    )


def _get_specifier(el: El) -> SpecifierPayload:
    item = next((c for c in el if local_name(c) not in _SPECIFIER_PARTS), None)
    return SpecifierPayload(
        r_id=text(el, "ei:rID"),
        reading_type=text(el, "ei:readingType"),
        item_base=None if item is None else get_item_base(item),
    )
