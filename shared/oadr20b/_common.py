"""Encoders and decoders of the parts several messages share: responses, targets, items, periods.

Each `put_x(parent, value)` appends the element for `value`; each `get_x(element)` reads it back.
Both sides of every pair sit next to each other so they cannot drift apart; the round-trip tests
check that `get_x(put_x(v)) == v` for every message.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from shared.oadr20b.namespaces import NSMAP
from shared.oadr20b.parts import (
    ActivePeriod,
    AvailableWindow,
    EiResponse,
    ItemBase,
    PowerAttributes,
    QualifiedEventId,
    Target,
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
    namespace_of,
    need,
    opt_text,
    parse_bool,
    parse_datetime,
    parse_duration,
    parse_float,
    sub,
    text,
)

_PREFIX_OF = {uri: prefix for prefix, uri in NSMAP.items()}


def put_response(parent: El, value: EiResponse) -> None:
    el = sub(parent, "ei:eiResponse")
    sub(el, "ei:responseCode", str(value.code))
    if value.description is not None:
        sub(el, "ei:responseDescription", value.description)
    sub(el, "pyld:requestID", value.request_id)


def get_response(parent: El) -> EiResponse:
    el = need(parent, "ei:eiResponse")
    code = text(el, "ei:responseCode")
    return EiResponse(
        code=int(code) if code.isdigit() else 0,
        description=opt_text(el, "ei:responseDescription"),
        request_id=text(el, "pyld:requestID"),
    )


_TARGET_FIELDS = (
    ("group_ids", "ei:groupID"),
    ("group_names", "ei:groupName"),
    ("resource_ids", "ei:resourceID"),
    ("ven_ids", "ei:venID"),
    ("party_ids", "ei:partyID"),
)


def ids(el: El, tag: str) -> tuple[str, ...]:
    """The stripped text of every `tag` child: the ids and names the messages list one per element."""
    return tuple((c.text or "").strip() for c in find_all(el, tag))


def put_target(parent: El, value: Target, tag: str = "ei:eiTarget") -> None:
    el = sub(parent, tag)
    for attr, name in _TARGET_FIELDS:
        for item in getattr(value, attr):
            sub(el, name, item)


def get_target(el: El) -> Target:
    values = {attr: ids(el, name) for attr, name in _TARGET_FIELDS}
    return Target(**values)


def opt_target(parent: El, tag: str) -> Target | None:
    el = find(parent, tag)
    return None if el is None else get_target(el)


def put_item_base(parent: El, value: ItemBase) -> None:
    prefix = value.kind.split(":", 1)[0]
    el = sub(parent, value.kind)
    sub(el, f"{prefix}:itemDescription", value.description)
    sub(el, f"{prefix}:itemUnits", value.units)
    sub(el, "scale:siScaleCode", value.scale)
    if value.power is not None:
        attrs = sub(el, "power:powerAttributes")
        sub(attrs, "power:hertz", fmt_float(value.power.hertz))
        sub(attrs, "power:voltage", fmt_float(value.power.voltage))
        sub(attrs, "power:ac", fmt_bool(value.power.ac))


def get_item_base(el: El) -> ItemBase:
    """Read any itemBase member; children are found by local name (their namespace varies by item)."""
    by_name = {local_name(c): c for c in el}
    power = by_name.get("powerAttributes")
    attrs = None
    if power is not None:
        attrs = PowerAttributes(
            hertz=parse_float(text(power, "power:hertz")),
            voltage=parse_float(text(power, "power:voltage")),
            ac=parse_bool(text(power, "power:ac")),
        )

    def child_text(name: str, default: str) -> str:
        child = by_name.get(name)
        return default if child is None else (child.text or "").strip()

    return ItemBase(
        kind=f"{_PREFIX_OF.get(namespace_of(el), 'oadr')}:{local_name(el)}",
        description=child_text("itemDescription", ""),
        units=child_text("itemUnits", ""),
        scale=child_text("siScaleCode", "none"),
        power=attrs,
    )


def put_datetime(parent: El, tag: str, value: datetime) -> None:
    """`<tag><xcal:date-time>…</xcal:date-time></tag>` (xcal:dtstart and friends)."""
    sub(sub(parent, tag), "xcal:date-time", fmt_datetime(value))


def get_datetime(parent: El, tag: str) -> datetime:
    return parse_datetime(text(parent, f"{tag}/xcal:date-time"))


def put_duration(parent: El, tag: str, value: timedelta) -> None:
    """`<tag><xcal:duration>…</xcal:duration></tag>` (a DurationPropType)."""
    sub(sub(parent, tag), "xcal:duration", fmt_duration(value))


def get_duration(parent: El, tag: str) -> timedelta:
    return parse_duration(text(parent, f"{tag}/xcal:duration"))


def opt_duration(parent: El, tag: str) -> timedelta | None:
    raw = opt_text(parent, f"{tag}/xcal:duration")
    return None if raw is None else parse_duration(raw)


def opt_datetime(parent: El, tag: str) -> datetime | None:
    raw = opt_text(parent, f"{tag}/xcal:date-time")
    return None if raw is None else parse_datetime(raw)


def put_properties(parent: El, value: ActivePeriod) -> None:
    props = sub(parent, "xcal:properties")
    put_datetime(props, "xcal:dtstart", value.dtstart)
    put_duration(props, "xcal:duration", value.duration)
    if value.start_after is not None:
        tolerate = sub(sub(props, "xcal:tolerance"), "xcal:tolerate")
        sub(tolerate, "xcal:startafter", fmt_duration(value.start_after))
    for tag, extra in (
        ("ei:x-eiNotification", value.notification),
        ("ei:x-eiRampUp", value.ramp_up),
        ("ei:x-eiRecovery", value.recovery),
    ):
        if extra is not None:
            put_duration(props, tag, extra)


def get_properties(parent: El) -> ActivePeriod:
    props = need(parent, "xcal:properties")
    after = opt_text(props, "xcal:tolerance/xcal:tolerate/xcal:startafter")
    return ActivePeriod(
        dtstart=get_datetime(props, "xcal:dtstart"),
        duration=get_duration(props, "xcal:duration"),
        start_after=None if after is None else parse_duration(after),
        notification=opt_duration(props, "ei:x-eiNotification"),
        ramp_up=opt_duration(props, "ei:x-eiRampUp"),
        recovery=opt_duration(props, "ei:x-eiRecovery"),
    )


def put_availability(parent: El, windows: tuple[AvailableWindow, ...]) -> None:
    components = sub(sub(parent, "xcal:vavailability"), "xcal:components")
    for window in windows:
        props = sub(sub(components, "xcal:available"), "xcal:properties")
        put_datetime(props, "xcal:dtstart", window.dtstart)
        put_duration(props, "xcal:duration", window.duration)


def get_availability(el: El) -> tuple[AvailableWindow, ...]:
    return tuple(
        AvailableWindow(
            dtstart=get_datetime(props, "xcal:dtstart"), duration=get_duration(props, "xcal:duration")
        )
        for props in find_all(el, "xcal:components/xcal:available/xcal:properties")
    )


def put_qualified_event(parent: El, value: QualifiedEventId) -> None:
    el = sub(parent, "ei:qualifiedEventID")
    sub(el, "ei:eventID", value.event_id)
    sub(el, "ei:modificationNumber", str(value.modification_number))


def get_qualified_event(el: El) -> QualifiedEventId:
    return QualifiedEventId(
        event_id=text(el, "ei:eventID"), modification_number=int(text(el, "ei:modificationNumber"))
    )
