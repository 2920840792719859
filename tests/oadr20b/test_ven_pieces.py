"""The 2.0b VEN's pure parts: events as 3.1 events, opt answers, telemetry requests, configuration."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.oadr20b.parts import (
    ActivePeriod,
    Event,
    EventSignal,
    EventStatus,
    OptType,
    ReportRequest,
    SignalInterval,
    SpecifierPayload,
)
from ven.adapters.base import Readings
from ven.config import ConfigError, VenConfig
from ven.oadr20b.events import opt_for, to_event31
from ven.oadr20b.reports import SPECIFIER_ID, Reporter, metadata, offered_points
from ven.timeline import Timeline

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def _signal(name: str, kind: str, values: tuple[float, ...], gap: timedelta | None = None) -> EventSignal:
    intervals = [
        SignalInterval(uid=str(i), duration=timedelta(minutes=10), value=v) for i, v in enumerate(values)
    ]
    if gap is not None:  # the second interval starts later than where the first ended
        intervals[1] = SignalInterval(
            uid="1", duration=timedelta(minutes=10), value=values[1], dtstart=T0 + gap
        )
    return EventSignal(signal_name=name, signal_type=kind, signal_id=name, intervals=tuple(intervals))


def _event(*signals: EventSignal, status: EventStatus = EventStatus.FAR, **kw: Any) -> Event:
    return Event(
        event_id="e-1",
        modification_number=2,
        market_context="http://market.example/p1",
        created_date_time=T0 - timedelta(hours=1),
        event_status=status,
        active_period=ActivePeriod(dtstart=T0, duration=timedelta(minutes=30), **kw),
        signals=signals,
    )


def test_signals_become_payloads_on_the_timeline() -> None:
    event = _event(
        _signal("SIMPLE", "level", (1.0, 3.0)),
        _signal("ELECTRICITY_PRICE", "price", (0.2, 0.4), gap=timedelta(minutes=20)),
        _signal("BID_LOAD", "setpoint", (5.0,)),
    )
    converted = to_event31(event)
    assert converted is not None
    assert converted.program_id == "http://market.example/p1"
    timeline = Timeline([converted])
    at = {m: timeline.signals_at(T0 + timedelta(minutes=m)) for m in (1, 11, 21)}
    assert {k: s.values for k, s in at[1].items()} == {"SIMPLE": (1.0,), "PRICE": (0.2,)}
    assert {k: s.values for k, s in at[11].items()} == {"SIMPLE": (3.0,)}  # price gap at 10..20 min
    assert {k: s.values for k, s in at[21].items()} == {"PRICE": (0.4,)}
    assert opt_for(event) == (OptType.OPT_IN, 200, "OK")


def test_randomized_start_and_cancellation() -> None:
    converted = to_event31(_event(_signal("SIMPLE", "level", (1.0,)), start_after=timedelta(minutes=5)))
    assert converted is not None and converted.interval_period is not None
    assert converted.interval_period.randomize_start == "PT5M"
    assert to_event31(_event(_signal("SIMPLE", "level", (1.0,)), status=EventStatus.CANCELLED)) is None


def test_an_event_without_understood_signals_is_opted_out_with_460() -> None:
    event = _event(_signal("BID_ENERGY", "price", (1.0,)))
    assert to_event31(event) is None
    opt, code, text = opt_for(event)
    assert (opt, code) == (OptType.OPT_OUT, 460) and "BID_ENERGY" in text


def _reading(kw: float, kwh: float) -> Readings:
    return Readings(power_kw=kw, energy_kwh=kwh, state="RUNNING_NORMAL")


def test_reporter_samples_per_granularity_and_sends_per_report_back() -> None:
    points = offered_points([("h-1", "heater-1")], ["DEMAND", "USAGE"])
    assert [p.r_id for p in points] == ["h-1:demand", "h-1:usage"]
    offer = metadata(points, timedelta(seconds=10), T0)
    assert offer.report_name == "METADATA_TELEMETRY_USAGE" and offer.report_specifier_id == SPECIFIER_ID
    assert [d.item_base.kind for d in offer.descriptions if d.item_base] == [
        "power:powerReal",
        "power:energyReal",
    ]
    reporter = Reporter(points)
    request = ReportRequest(
        report_request_id="rr-1",
        report_specifier_id=SPECIFIER_ID,
        granularity=timedelta(seconds=10),
        report_back_duration=timedelta(seconds=20),
        payloads=(
            SpecifierPayload(r_id="h-1:demand", reading_type="x"),
            SpecifierPayload(r_id="h-1:usage", reading_type="x"),
        ),
    )
    assert reporter.accept(request, T0)
    assert reporter.tick(T0, {"h-1": _reading(2.0, 10.0)}) == []
    assert reporter.tick(T0 + timedelta(seconds=5), {"h-1": _reading(2.0, 10.0)}) == []  # not due
    (report,) = reporter.tick(T0 + timedelta(seconds=20), {"h-1": _reading(3.0, 10.5)})
    assert (report.report_request_id, report.report_name) == ("rr-1", "TELEMETRY_USAGE")
    # Two samples (T0, T0+20s), one interval per rID each: OpenLEADR reads one payload per interval.
    values = [(iv.dtstart, p.r_id, p.value) for iv in report.intervals for p in iv.payloads]
    assert [v[1:] for v in values] == [
        ("h-1:demand", 2.0),
        ("h-1:usage", 0.0),
        ("h-1:demand", 3.0),
        ("h-1:usage", 0.5),
    ]
    reporter.cancel(["rr-1"])
    assert reporter.tick(T0 + timedelta(minutes=5), {"h-1": _reading(1.0, 11.0)}) == []


def test_reporter_one_shot_and_unknown_requests() -> None:
    reporter = Reporter(offered_points([("h-1", "heater-1")], ["DEMAND"]))
    unknown = ReportRequest(
        report_request_id="x",
        report_specifier_id=SPECIFIER_ID,
        granularity=timedelta(0),
        report_back_duration=timedelta(0),
        payloads=(SpecifierPayload(r_id="other:demand", reading_type="x"),),
    )
    assert not reporter.accept(unknown, T0)
    once = ReportRequest(
        report_request_id="once",
        report_specifier_id=SPECIFIER_ID,
        granularity=timedelta(0),
        report_back_duration=timedelta(0),
        payloads=(SpecifierPayload(r_id="h-1:demand", reading_type="x"),),
    )
    assert reporter.accept(once, T0)
    (report,) = reporter.tick(T0, {"h-1": _reading(1.5, 1.0)})
    assert [p.value for iv in report.intervals for p in iv.payloads] == [1.5]
    assert reporter.request_ids == ()


def _config(**vtn: Any) -> dict[str, Any]:
    return {
        "vtn": {"protocol": "2.0b", "url": "https://vtn.example/OpenADR2/Simple/2.0b", **vtn},
        "ven": {"name": "v"},
    }


def test_config_for_2_0b() -> None:
    config = VenConfig.from_dict(
        _config(
            sign=True,
            require_signatures=True,
            vtn_id="VTN-1",
            tls={"cert_file": "c.pem", "key_file": "k.pem"},
        ),
        {},
    )
    assert config.protocol == "2.0b" and config.client_id == ""
    assert config.oadr20b is not None
    assert (config.oadr20b.sign_cert_file, config.oadr20b.vtn_id) == ("c.pem", "VTN-1")


@pytest.mark.parametrize(
    ("vtn", "where"),
    [
        ({"sign": True}, "vtn.sign"),
        ({"vtn_fingerprint": "AB:CD"}, "vtn.vtn_fingerprint"),
        ({"require_signatures": "yes"}, "vtn.require_signatures"),
        ({"report_seconds": 0}, "vtn.report_seconds"),
        ({"protocol": "2.0a"}, "vtn.protocol"),
    ],
)
def test_config_errors_name_the_key(vtn: dict[str, Any], where: str) -> None:
    with pytest.raises(ConfigError, match=where.replace(".", r"\.")):
        VenConfig.from_dict(_config(**vtn), {})
