"""The codec's answer memo (shared/oadr20b/_answers.py) gives, for every unsigned distribute, the
bytes a full build gives: first and later builds, other requestIDs and VENs spliced into a kept
answer (escaped as the serialiser escapes them), and messages of other forms built in full."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

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
SCHEMA = Oadr20bSchema()
SIGNAL = EventSignal(
    signal_name="SIMPLE",
    signal_type="level",
    signal_id="SIMPLE",
    intervals=tuple(
        SignalInterval(uid=str(i), duration=timedelta(hours=1), value=1.0 + i, dtstart=None)
        for i in range(24)
    ),
)

SIGNALS = (SIGNAL,)


def _event(event_id: str, ven_ids: tuple[str, ...], groups: tuple[str, ...] = (), number: int = 0) -> Event:
    return Event(
        event_id=event_id,
        modification_number=number,
        market_context="http://example.com/market",
        created_date_time=START,
        event_status=EventStatus.FAR,
        active_period=ActivePeriod(dtstart=START, duration=timedelta(hours=24)),
        signals=SIGNALS,  # one tuple: the VTN hands out each event version's signals once
        target=Target(group_ids=groups, ven_ids=ven_ids),
    )


def _distribute(
    request_id: str, *events: Event, response: EiResponse | None = None, vtn_id: str = "vtn"
) -> m.DistributeEvent:
    if response is None:
        response = EiResponse(request_id=request_id)
    return m.DistributeEvent(response=response, request_id=request_id, vtn_id=vtn_id, events=events)


ODD = ["r&1", "<r>", "q\"u'ote", "é-ü-✓", "a\rb", " spaced ", "zzREQUESTzz"]


def _messages() -> list[m.DistributeEvent]:
    msgs = []
    for i, rid in enumerate(["r1", "r2", *ODD]):
        ven = ["v1", "v2", "v&<3>", "vé"][i % 4]
        msgs.append(_distribute(rid, _event("e1", (ven,), ("g1",)), _event("e2", (ven,))))
        msgs.append(_distribute(rid, _event("e1", (ven,), ("g1", "g2"), number=1)))
        msgs.append(_distribute(rid))  # no events
    msgs += [
        _distribute("", _event("e1", ("v1",))),  # empty requestID: <pyld:requestID/>
        _distribute("r", _event("e1", ("v1",)), response=EiResponse(request_id="other")),
        _distribute("r", _event("e1", ("v",)), response=EiResponse(code=463, request_id="r")),
        _distribute("r", _event("e1", ("v1",)), _event("e2", ("v2",))),  # two VENs
        _distribute("r", _event("e1", ("v1", "v2"))),
        _distribute("r", _event("e1", ())),
        _distribute("r", _event("e1", ("v1",)), vtn_id="vtn&2"),
    ]
    return msgs


@pytest.mark.parametrize("rounds", [1, 3])
def test_every_build_is_the_full_build(rounds: int) -> None:
    codec = Oadr20bCodec(SCHEMA)
    for _ in range(rounds):
        for msg in _messages():
            built = codec.build(msg)
            assert built == Oadr20bCodec(SCHEMA)._build(msg), msg
            parsed = codec.parse(built)
            assert isinstance(parsed, m.DistributeEvent)
            assert parsed.request_id == msg.request_id.strip()


def test_a_kept_answer_is_reused_for_other_requests_and_vens() -> None:
    codec = Oadr20bCodec(SCHEMA)
    first = codec.build(_distribute("r1", _event("e1", ("v1",), ("g",)), _event("e2", ("v1",))))
    assert len(codec._answers._entries) == 1
    again = codec.build(_distribute("r&2", _event("e1", ("v9",), ("g",)), _event("e2", ("v9",))))
    assert len(codec._answers._entries) == 1  # same content, another requestID and VEN
    assert again == Oadr20bCodec(SCHEMA)._build(
        _distribute("r&2", _event("e1", ("v9",), ("g",)), _event("e2", ("v9",)))
    )
    assert first != again
    codec.build(_distribute("r1", _event("e1", ("v1",), ("other",)), _event("e2", ("v1",))))
    assert len(codec._answers._entries) == 2  # another group shown: another answer
