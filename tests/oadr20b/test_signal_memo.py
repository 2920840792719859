"""A distribute built with the codec's signal memo is the same document as one built without it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shared.oadr20b import Oadr20bCodec, Oadr20bSchema
from shared.oadr20b import messages as m
from shared.oadr20b.parts import (
    ActivePeriod,
    EiResponse,
    Event,
    EventSignal,
    EventStatus,
    SignalInterval,
    Target,
)

START = datetime(2030, 1, 1, tzinfo=UTC)


def _event(event_id: str, ven_id: str, value: float) -> Event:
    signal = EventSignal(
        signal_name="SIMPLE",
        signal_type="level",
        signal_id="SIMPLE",
        intervals=tuple(
            SignalInterval(uid=str(i), duration=timedelta(hours=1), value=value + i, dtstart=None)
            for i in range(24)
        ),
    )
    return Event(
        event_id=event_id,
        modification_number=0,
        market_context="http://example.com/market",
        created_date_time=START,
        event_status=EventStatus.FAR,
        active_period=ActivePeriod(dtstart=START, duration=timedelta(hours=24)),
        signals=(signal,),
        target=Target(ven_ids=(ven_id,)),
    )


def _distribute(*events: Event) -> m.DistributeEvent:
    return m.DistributeEvent(response=EiResponse(request_id="r"), request_id="r", vtn_id="vtn", events=events)


def test_memo_gives_the_same_bytes_on_first_and_later_builds() -> None:
    schema = Oadr20bSchema()
    memo_codec = Oadr20bCodec(schema)
    for msg in (
        _distribute(_event("e1", "v1", 1.0), _event("e2", "v1", 2.0)),
        _distribute(_event("e1", "v2", 1.0), _event("e2", "v2", 2.0)),  # same signals, other VEN
        _distribute(_event("e2", "v3", 5.0)),  # same event id, other values: not the memo's copy
    ):
        built = memo_codec.build(msg)
        assert built == Oadr20bCodec(schema).build(msg)  # a fresh codec builds every signal
        assert memo_codec.build(msg) == built
        assert memo_codec.parse(built) == msg


def test_event_memo_puts_each_vens_target_where_a_fresh_build_does() -> None:
    """The event memo keeps an event without its target: every VEN's copy carries its own target
    (venID and groupIDs) and nothing of another VEN's, byte for byte as a fresh codec builds it."""
    schema = Oadr20bSchema()
    memo_codec = Oadr20bCodec(schema)
    base = _event("e1", "v1", 1.0)

    def for_ven(ven_id: str, groups: tuple[str, ...] = (), **changes: object) -> Event:
        fields = {f: getattr(base, f) for f in base.__dataclass_fields__}
        fields |= {"target": Target(group_ids=groups, ven_ids=(ven_id,))} | changes
        return Event(**fields)  # type: ignore[arg-type]

    msgs = [
        _distribute(for_ven("v1", ("g1",)), _event("e2", "v1", 2.0)),
        _distribute(for_ven("v2")),
        _distribute(for_ven("v3", ("g1", "g2")), _event("e2", "v3", 2.0)),
        _distribute(for_ven("v2", event_status=EventStatus.ACTIVE)),
        _distribute(for_ven("v2", modification_number=1, event_status=EventStatus.CANCELLED)),
        _distribute(for_ven("v1", ("g1",)), _event("e2", "v1", 2.0)),
    ]
    for msg in msgs * 2:
        built = memo_codec.build(msg)
        assert built == Oadr20bCodec(schema).build(msg)
        assert memo_codec.parse(built) == msg
