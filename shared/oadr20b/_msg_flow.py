"""Message encoders/decoders: registration, poll, events and opts (one pair per message)."""

from __future__ import annotations

from shared.oadr20b import messages as m
from shared.oadr20b._common import (
    get_availability,
    get_qualified_event,
    get_response,
    get_target,
    ids,
    opt_duration,
    put_availability,
    put_duration,
    put_qualified_event,
    put_response,
    put_target,
)
from shared.oadr20b._events import EventMemo, get_event, get_event_response, put_event, put_event_response
from shared.oadr20b.parts import OptType
from shared.oadr20b.xml import (
    El,
    find,
    find_all,
    fmt_bool,
    fmt_datetime,
    need,
    opt_text,
    parse_bool,
    parse_datetime,
    sub,
    sub_opt,
    text,
)


def _empty_none(value: str | None) -> str | None:
    return value if value else None


# ---------------------------------------------------------------- registration and poll


def put_oadr_response(el: El, msg: m.Response) -> None:
    put_response(el, msg.response)
    sub_opt(el, "ei:venID", msg.ven_id)


def get_oadr_response(el: El) -> m.Response:
    return m.Response(response=get_response(el), ven_id=opt_text(el, "ei:venID"))


def put_query(el: El, msg: m.QueryRegistration) -> None:
    sub(el, "pyld:requestID", msg.request_id)


def get_query(el: El) -> m.QueryRegistration:
    return m.QueryRegistration(request_id=text(el, "pyld:requestID"))


def put_create_party(el: El, msg: m.CreatePartyRegistration) -> None:
    sub(el, "pyld:requestID", msg.request_id)
    sub_opt(el, "ei:registrationID", msg.registration_id)
    sub_opt(el, "ei:venID", msg.ven_id)
    sub(el, "oadr:oadrProfileName", msg.profile_name)
    sub(el, "oadr:oadrTransportName", msg.transport_name)
    sub_opt(el, "oadr:oadrTransportAddress", msg.transport_address)
    sub(el, "oadr:oadrReportOnly", fmt_bool(msg.report_only))
    sub(el, "oadr:oadrXmlSignature", fmt_bool(msg.xml_signature))
    sub_opt(el, "oadr:oadrVenName", msg.ven_name)
    if msg.http_pull_model is not None:
        sub(el, "oadr:oadrHttpPullModel", fmt_bool(msg.http_pull_model))


def get_create_party(el: El) -> m.CreatePartyRegistration:
    pull = opt_text(el, "oadr:oadrHttpPullModel")
    return m.CreatePartyRegistration(
        request_id=text(el, "pyld:requestID"),
        registration_id=_empty_none(opt_text(el, "ei:registrationID")),
        ven_id=_empty_none(opt_text(el, "ei:venID")),
        profile_name=text(el, "oadr:oadrProfileName"),
        transport_name=text(el, "oadr:oadrTransportName"),
        transport_address=opt_text(el, "oadr:oadrTransportAddress"),
        report_only=parse_bool(text(el, "oadr:oadrReportOnly")),
        xml_signature=parse_bool(text(el, "oadr:oadrXmlSignature")),
        ven_name=opt_text(el, "oadr:oadrVenName"),
        http_pull_model=None if pull is None else parse_bool(pull),
    )


def put_created_party(el: El, msg: m.CreatedPartyRegistration) -> None:
    put_response(el, msg.response)
    # An unregistered VEN gets empty elements (certification expects them present).
    sub(el, "ei:registrationID", msg.registration_id or "")
    sub(el, "ei:venID", msg.ven_id or "")
    sub(el, "ei:vtnID", msg.vtn_id)
    profiles = sub(el, "oadr:oadrProfiles")
    for name, transports in msg.profiles:
        profile = sub(profiles, "oadr:oadrProfile")
        sub(profile, "oadr:oadrProfileName", name)
        listed = sub(profile, "oadr:oadrTransports")
        for transport in transports:
            sub(sub(listed, "oadr:oadrTransport"), "oadr:oadrTransportName", transport)
    if msg.poll_freq is not None:
        put_duration(el, "oadr:oadrRequestedOadrPollFreq", msg.poll_freq)


def get_created_party(el: El) -> m.CreatedPartyRegistration:
    return m.CreatedPartyRegistration(
        response=get_response(el),
        registration_id=_empty_none(opt_text(el, "ei:registrationID")),
        ven_id=_empty_none(opt_text(el, "ei:venID")),
        vtn_id=text(el, "ei:vtnID"),
        profiles=tuple(
            (
                text(p, "oadr:oadrProfileName"),
                ids(p, "oadr:oadrTransports/oadr:oadrTransport/oadr:oadrTransportName"),
            )
            for p in find_all(el, "oadr:oadrProfiles/oadr:oadrProfile")
        ),
        poll_freq=opt_duration(el, "oadr:oadrRequestedOadrPollFreq"),
    )


def put_cancel_party(el: El, msg: m.CancelPartyRegistration) -> None:
    sub(el, "pyld:requestID", msg.request_id)
    sub(el, "ei:registrationID", msg.registration_id)
    sub_opt(el, "ei:venID", msg.ven_id)


def get_cancel_party(el: El) -> m.CancelPartyRegistration:
    return m.CancelPartyRegistration(
        request_id=text(el, "pyld:requestID"),
        registration_id=text(el, "ei:registrationID"),
        ven_id=opt_text(el, "ei:venID"),
    )


def put_canceled_party(el: El, msg: m.CanceledPartyRegistration) -> None:
    put_response(el, msg.response)
    sub_opt(el, "ei:registrationID", msg.registration_id)
    sub_opt(el, "ei:venID", msg.ven_id)


def get_canceled_party(el: El) -> m.CanceledPartyRegistration:
    return m.CanceledPartyRegistration(
        response=get_response(el),
        registration_id=opt_text(el, "ei:registrationID"),
        ven_id=opt_text(el, "ei:venID"),
    )


def put_rereg(el: El, msg: m.RequestReregistration) -> None:
    sub(el, "ei:venID", msg.ven_id)


def get_rereg(el: El) -> m.RequestReregistration:
    return m.RequestReregistration(ven_id=text(el, "ei:venID"))


def put_poll(el: El, msg: m.Poll) -> None:
    sub(el, "ei:venID", msg.ven_id)


def get_poll(el: El) -> m.Poll:
    return m.Poll(ven_id=text(el, "ei:venID"))


# ---------------------------------------------------------------- events and opts


def put_request_event(el: El, msg: m.RequestEvent) -> None:
    req = sub(el, "pyld:eiRequestEvent")
    sub(req, "pyld:requestID", msg.request_id)
    sub(req, "ei:venID", msg.ven_id)
    if msg.reply_limit is not None:
        sub(req, "pyld:replyLimit", str(msg.reply_limit))


def get_request_event(el: El) -> m.RequestEvent:
    req = need(el, "pyld:eiRequestEvent")
    limit = opt_text(req, "pyld:replyLimit")
    return m.RequestEvent(
        request_id=text(req, "pyld:requestID"),
        ven_id=text(req, "ei:venID"),
        reply_limit=None if limit is None else int(limit),
    )


def put_distribute(el: El, msg: m.DistributeEvent, memo: EventMemo | None = None) -> None:
    if msg.response is not None:
        put_response(el, msg.response)
    sub(el, "pyld:requestID", msg.request_id)
    sub(el, "ei:vtnID", msg.vtn_id)
    for event in msg.events:
        if memo is None:
            put_event(el, event)
        else:
            memo.put(el, event)


def get_distribute(el: El) -> m.DistributeEvent:
    return m.DistributeEvent(
        response=None if find(el, "ei:eiResponse") is None else get_response(el),
        request_id=text(el, "pyld:requestID"),
        vtn_id=text(el, "ei:vtnID"),
        events=tuple(get_event(e) for e in find_all(el, "oadr:oadrEvent")),
    )


def put_created_event(el: El, msg: m.CreatedEvent) -> None:
    created = sub(el, "pyld:eiCreatedEvent")
    put_response(created, msg.response)
    if msg.event_responses:
        responses = sub(created, "ei:eventResponses")
        for response in msg.event_responses:
            put_event_response(responses, response)
    sub(created, "ei:venID", msg.ven_id)


def get_created_event(el: El) -> m.CreatedEvent:
    created = need(el, "pyld:eiCreatedEvent")
    return m.CreatedEvent(
        response=get_response(created),
        event_responses=tuple(
            get_event_response(r) for r in find_all(created, "ei:eventResponses/ei:eventResponse")
        ),
        ven_id=text(created, "ei:venID"),
    )


def put_create_opt(el: El, msg: m.CreateOpt) -> None:
    sub(el, "ei:optID", msg.opt_id)
    sub(el, "ei:optType", msg.opt_type.value)
    sub(el, "ei:optReason", msg.opt_reason)
    sub_opt(el, "emix:marketContext", msg.market_context)
    sub(el, "ei:venID", msg.ven_id)
    if msg.availability is not None:
        put_availability(el, msg.availability)
    sub(el, "ei:createdDateTime", fmt_datetime(msg.created_date_time))
    sub(el, "pyld:requestID", msg.request_id)
    if msg.event is not None:
        put_qualified_event(el, msg.event)
    put_target(el, msg.target)
    if msg.device_class is not None:
        put_target(el, msg.device_class, "oadr:oadrDeviceClass")


def get_create_opt(el: El) -> m.CreateOpt:
    availability = find(el, "xcal:vavailability")
    event = find(el, "ei:qualifiedEventID")
    device = find(el, "oadr:oadrDeviceClass")
    return m.CreateOpt(
        opt_id=text(el, "ei:optID"),
        opt_type=OptType(text(el, "ei:optType")),
        opt_reason=text(el, "ei:optReason"),
        market_context=opt_text(el, "emix:marketContext"),
        ven_id=text(el, "ei:venID"),
        availability=None if availability is None else get_availability(availability),
        created_date_time=parse_datetime(text(el, "ei:createdDateTime")),
        request_id=text(el, "pyld:requestID"),
        event=None if event is None else get_qualified_event(event),
        target=get_target(need(el, "ei:eiTarget")),
        device_class=None if device is None else get_target(device),
    )


def put_created_opt(el: El, msg: m.CreatedOpt) -> None:
    put_response(el, msg.response)
    sub(el, "ei:optID", msg.opt_id)


def get_created_opt(el: El) -> m.CreatedOpt:
    return m.CreatedOpt(response=get_response(el), opt_id=text(el, "ei:optID"))


def put_cancel_opt(el: El, msg: m.CancelOpt) -> None:
    sub(el, "pyld:requestID", msg.request_id)
    sub(el, "ei:optID", msg.opt_id)
    sub(el, "ei:venID", msg.ven_id)


def get_cancel_opt(el: El) -> m.CancelOpt:
    return m.CancelOpt(
        request_id=text(el, "pyld:requestID"), opt_id=text(el, "ei:optID"), ven_id=text(el, "ei:venID")
    )


def put_canceled_opt(el: El, msg: m.CanceledOpt) -> None:
    put_response(el, msg.response)
    sub_opt(el, "ei:optID", msg.opt_id)


def get_canceled_opt(el: El) -> m.CanceledOpt:
    return m.CanceledOpt(response=get_response(el), opt_id=opt_text(el, "ei:optID"))
