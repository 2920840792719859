"""Capacity decisions, free of I/O: which hours of a load forecast put an area at risk.

Hysteresis keeps a noisy forecast from flapping events: a run of hours at risk starts only where
the forecast rises above `enter` x capacity, and ends only where it falls below `leave` x capacity
after at least `min_run` hours. An hour that was at risk in the previous decision stays at risk
while the forecast is at least `leave` x capacity, so re-running on a slightly changed forecast
does not withdraw and re-publish the event.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from vtn.programs.feeds import Slot


@dataclass(frozen=True, slots=True)
class Hysteresis:
    enter: float = 1.0  # a run starts above this share of capacity
    leave: float = 0.9  # and ends only below this share
    min_run: int = 2  # hours (slots) a run lasts at least


DEFAULT_RULE = Hysteresis()


def slots_at_risk(
    forecast: Sequence[Slot],
    capacity_kw: float,
    rule: Hysteresis = DEFAULT_RULE,
    previously: Iterable[datetime] = (),
) -> list[Slot]:
    """The slots of `forecast` at risk of exceeding `capacity_kw`, in order."""
    before = set(previously)
    high, low = capacity_kw * rule.enter, capacity_kw * rule.leave
    at_risk: list[Slot] = []
    on, run = False, 0
    for slot in sorted(forecast, key=lambda s: s.start):
        if not on and (slot.value > high or (slot.start in before and slot.value >= low)):
            on, run = True, 0
        elif on and slot.value < low and run >= rule.min_run:
            on = False
        if on:
            at_risk.append(slot)
            run += 1
    return at_risk


def excess_kwh(slots: Iterable[Slot], capacity_kw: float) -> float:
    """Energy above capacity over `slots` (kW x hours): what a capacity event asks to shift."""
    return sum(max(0.0, s.value - capacity_kw) * s.duration.total_seconds() / 3600 for s in slots)
