"""The capacity decision (pure): hysteresis turns a noisy forecast into steady runs of hours at risk."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from vtn.programs.capacity import Hysteresis, excess_kwh, slots_at_risk
from vtn.programs.feeds import Slot

T0 = datetime(2026, 12, 7, tzinfo=UTC)


def _slots(loads: list[float]) -> list[Slot]:
    return [Slot(T0 + timedelta(hours=h), timedelta(hours=1), kw) for h, kw in enumerate(loads)]


def _hours(slots: list[Slot]) -> list[int]:
    return [s.start.hour for s in slots]


def test_nothing_at_risk_below_capacity() -> None:
    assert slots_at_risk(_slots([50, 99, 100, 99]), 100) == []


def test_a_noisy_forecast_around_the_limit_is_one_run_not_many() -> None:
    noisy = [80, 101, 98, 102, 97, 101, 95, 91, 89, 80]
    # Without hysteresis every crossing would start or end an event: 4 separate hours.
    assert [h for h, kw in enumerate(noisy) if kw > 100] == [1, 3, 5]
    assert _hours(slots_at_risk(_slots(noisy), 100)) == [1, 2, 3, 4, 5, 6, 7]


def test_a_single_spike_lasts_the_minimum_run() -> None:
    assert _hours(slots_at_risk(_slots([50, 120, 50, 50]), 100, Hysteresis(min_run=2))) == [1, 2]
    assert _hours(slots_at_risk(_slots([50, 120, 50, 50]), 100, Hysteresis(min_run=1))) == [1]


def test_hours_at_risk_before_stay_while_above_the_leave_level() -> None:
    before = [T0 + timedelta(hours=h) for h in (2, 3)]
    assert _hours(slots_at_risk(_slots([50, 50, 95, 93, 85]), 100, previously=before)) == [2, 3]
    assert slots_at_risk(_slots([50, 50, 85, 85, 85]), 100, previously=before) == []


def test_excess_is_the_energy_above_capacity() -> None:
    assert excess_kwh(_slots([110, 130, 95]), 100) == 40
    half_hours = [Slot(T0, timedelta(minutes=30), 140.0)]
    assert excess_kwh(half_hours, 100) == 20
