"""Encoders and decoders of `oadr:oadrEvent` and `ei:eventResponse` (see _common for the pattern)."""

from __future__ import annotations

import copy

from shared.oadr20b._common import (
    get_datetime,
    get_item_base,
    get_properties,
    get_qualified_event,
    get_target,
    opt_target,
    put_datetime,
    put_duration,
    put_item_base,
    put_properties,
    put_qualified_event,
    put_target,
)
from shared.oadr20b.parts import (
    Event,
    EventResponse,
    EventSignal,
    EventStatus,
    OptType,
    ResponseRequired,
    SignalInterval,
)
from shared.oadr20b.xml import (
    El,
    find,
    find_all,
    fmt_datetime,
    fmt_float,
    get_duration_text,
    local_name,
    need,
    opt_text,
    parse_datetime,
    parse_float,
    sub,
    text,
)

_SIGNAL_PARTS = {"intervals", "eiTarget", "signalName", "signalType", "signalID", "currentValue"}


class SignalMemo:
    """Built `ei:eiEventSignal` elements by signal (a distribute repeats the same signals for every
    VEN and request; each is built once and copied). Bounded: cleared when full."""

    def __init__(self, limit: int = 2_000) -> None:
        self._limit = limit
        self._built: dict[EventSignal, El] = {}

    def put(self, parent: El, signal: EventSignal) -> None:
        found = self._built.get(signal)
        if found is not None:
            parent.append(copy.deepcopy(found))
            return
        if len(self._built) >= self._limit:
            self._built.clear()
        self._built[signal] = copy.deepcopy(_put_signal(parent, signal))


def event_key(event: Event) -> tuple[object, ...]:
    """Everything of `event` but its target, its signals by identity (see EventMemo)."""
    return (
        id(event.signals),
        event.event_id,
        event.modification_number,
        event.modification_date_time,
        event.modification_reason,
        event.priority,
        event.market_context,
        event.created_date_time,
        event.event_status,
        event.test_event,
        event.vtn_comment,
        event.active_period,
        event.response_required,
    )


class EventMemo:
    """Built `oadr:oadrEvent` elements without their `ei:eiTarget`, by everything else in the event
    (a distribute sends each event version to every VEN, only the target differs): a hit is a copy
    of the built element and the VEN's target put after the signals, where put_event puts it, so the
    bytes are those put_event makes. Signals are built through a SignalMemo on a miss. Bounded
    (an event of 24 intervals is some 30 KB built): cleared when full.

    The signals are keyed by identity, not value (hashing 24 intervals per event per request cost
    more than the copy saves): the VTN maps each event version's signals once (vtn/oadr20b
    mapping.Shapes) and hands the same tuple to every distribute. An entry holds its tuple, so its
    id is not reused while the entry lives; signals built anew for each message simply miss.
    """

    def __init__(self, limit: int = 500) -> None:
        self._limit = limit
        self._built: dict[tuple[object, ...], tuple[tuple[EventSignal, ...], El]] = {}
        self.signals = SignalMemo()

    def put(self, parent: El, event: Event) -> None:
        key = event_key(event)
        found = self._built.get(key)
        if found is None or found[0] is not event.signals:
            put_event(parent, event, self.signals)
            built = copy.deepcopy(parent[-1])
            ei_event = built[0]
            ei_event.remove(ei_event[-1])  # the eiTarget: put_event puts it last in eiEvent
            if len(self._built) >= self._limit:
                self._built.clear()
            self._built[key] = (event.signals, built)
            return
        el = copy.deepcopy(found[1])
        parent.append(el)
        put_target(el[0], event.target)


def put_event(parent: El, event: Event, memo: SignalMemo | None = None) -> None:
    oadr_event = sub(parent, "oadr:oadrEvent")
    ei_event = sub(oadr_event, "ei:eiEvent")
    desc = sub(ei_event, "ei:eventDescriptor")
    sub(desc, "ei:eventID", event.event_id)
    sub(desc, "ei:modificationNumber", str(event.modification_number))
    if event.modification_date_time is not None:
        sub(desc, "ei:modificationDateTime", fmt_datetime(event.modification_date_time))
    if event.modification_reason is not None:
        sub(desc, "ei:modificationReason", event.modification_reason)
    if event.priority is not None:
        sub(desc, "ei:priority", str(event.priority))
    sub(sub(desc, "ei:eiMarketContext"), "emix:marketContext", event.market_context)
    sub(desc, "ei:createdDateTime", fmt_datetime(event.created_date_time))
    sub(desc, "ei:eventStatus", event.event_status.value)
    if event.test_event is not None:
        sub(desc, "ei:testEvent", event.test_event)
    if event.vtn_comment is not None:
        sub(desc, "ei:vtnComment", event.vtn_comment)
    period = sub(ei_event, "ei:eiActivePeriod")
    put_properties(period, event.active_period)
    sub(period, "xcal:components")
    signals = sub(ei_event, "ei:eiEventSignals")
    for signal in event.signals:
        if memo is None:
            _put_signal(signals, signal)
        else:
            memo.put(signals, signal)
    put_target(ei_event, event.target)
    sub(oadr_event, "oadr:oadrResponseRequired", event.response_required.value)


def _put_signal(parent: El, signal: EventSignal) -> El:
    el = sub(parent, "ei:eiEventSignal")
    intervals = sub(el, "strm:intervals")
    for interval in signal.intervals:
        iv = sub(intervals, "ei:interval")
        if interval.dtstart is not None:
            put_datetime(iv, "xcal:dtstart", interval.dtstart)
        put_duration(iv, "xcal:duration", interval.duration)
        sub(sub(iv, "xcal:uid"), "xcal:text", interval.uid)
        payload = sub(sub(iv, "ei:signalPayload"), "ei:payloadFloat")
        sub(payload, "ei:value", fmt_float(interval.value))
    if signal.target is not None:
        put_target(el, signal.target)
    sub(el, "ei:signalName", signal.signal_name)
    sub(el, "ei:signalType", signal.signal_type)
    sub(el, "ei:signalID", signal.signal_id)
    if signal.item_base is not None:
        put_item_base(el, signal.item_base)
    if signal.current_value is not None:
        sub(sub(sub(el, "ei:currentValue"), "ei:payloadFloat"), "ei:value", fmt_float(signal.current_value))
    return el


def get_event(el: El) -> Event:
    ei_event = need(el, "ei:eiEvent")
    desc = need(ei_event, "ei:eventDescriptor")
    modified = opt_text(desc, "ei:modificationDateTime")
    priority = opt_text(desc, "ei:priority")
    return Event(
        event_id=text(desc, "ei:eventID"),
        modification_number=int(text(desc, "ei:modificationNumber")),
        modification_date_time=None if modified is None else parse_datetime(modified),
        modification_reason=opt_text(desc, "ei:modificationReason"),
        priority=None if priority is None else int(priority),
        market_context=text(desc, "ei:eiMarketContext/emix:marketContext"),
        created_date_time=parse_datetime(text(desc, "ei:createdDateTime")),
        event_status=EventStatus(text(desc, "ei:eventStatus")),
        test_event=opt_text(desc, "ei:testEvent"),
        vtn_comment=opt_text(desc, "ei:vtnComment"),
        active_period=get_properties(need(ei_event, "ei:eiActivePeriod")),
        signals=tuple(_get_signal(s) for s in find_all(ei_event, "ei:eiEventSignals/ei:eiEventSignal")),
        target=get_target(need(ei_event, "ei:eiTarget")),
        response_required=ResponseRequired(text(el, "oadr:oadrResponseRequired")),
    )


def _get_signal(el: El) -> EventSignal:
    item = next((c for c in el if local_name(c) not in _SIGNAL_PARTS), None)
    current = opt_text(el, "ei:currentValue/ei:payloadFloat/ei:value")
    return EventSignal(
        signal_name=text(el, "ei:signalName"),
        signal_type=text(el, "ei:signalType"),
        signal_id=text(el, "ei:signalID"),
        intervals=tuple(
            _get_interval(iv, i) for i, iv in enumerate(find_all(el, "strm:intervals/ei:interval"))
        ),
        target=opt_target(el, "ei:eiTarget"),
        item_base=None if item is None else get_item_base(item),
        current_value=None if current is None else parse_float(current),
    )


def _get_interval(el: El, index: int) -> SignalInterval:
    start = find(el, "xcal:dtstart")
    uid = opt_text(el, "xcal:uid/xcal:text")
    return SignalInterval(
        uid=str(index) if uid is None else uid,
        dtstart=None if start is None else get_datetime(el, "xcal:dtstart"),
        duration=get_duration_text(opt_text(el, "xcal:duration/xcal:duration")),
        value=parse_float(text(el, "ei:signalPayload/ei:payloadFloat/ei:value")),
    )


def put_event_response(parent: El, value: EventResponse) -> None:
    el = sub(parent, "ei:eventResponse")
    sub(el, "ei:responseCode", str(value.code))
    if value.description is not None:
        sub(el, "ei:responseDescription", value.description)
    sub(el, "pyld:requestID", value.request_id)
    put_qualified_event(el, value.event)
    sub(el, "ei:optType", value.opt_type.value)


def get_event_response(el: El) -> EventResponse:
    code = text(el, "ei:responseCode")
    return EventResponse(
        code=int(code) if code.isdigit() else 0,
        description=opt_text(el, "ei:responseDescription"),
        request_id=text(el, "pyld:requestID"),
        event=get_qualified_event(need(el, "ei:qualifiedEventID")),
        opt_type=OptType(text(el, "ei:optType")),
    )
