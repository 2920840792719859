"""Simulated EV charger: a car plugged in daily from `arrival` to `departure` (local time).

Each arrival brings the car at `arrival_soc`; charging stops at `target_soc`. Decision:
* low or normal price, SIMPLE 0: full power;
* SIMPLE 1: half power;
* high price or SIMPLE 2: defer, but start at full power once the remaining time only just suffices
  to reach `target_soc` by departure (latest start), so the driver's deadline still holds;
* SIMPLE 3: stop, deadline or not.
IMPORT_CAPACITY_LIMIT (kW) always caps the power; below `min_power_kw` the charger cannot run.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime, timedelta

from ven.adapters.base import (
    DeviceAdapter,
    Mode,
    Options,
    PriceJudge,
    PriceLevel,
    SimulatedDevice,
    cap_kw,
    number,
    simple_level,
)
from ven.timeline import Signal

# Start the deadline charge a little early: the limit may change and sub-steps are a minute long.
_DEADLINE_MARGIN = timedelta(minutes=5)


class EvCharger(SimulatedDevice):
    resource_type = "EV_CHARGER"

    def __init__(self, options: Options) -> None:
        super().__init__(options.zone())
        self.max_kw = options.number("max_power_kw", 11.0, positive=True)
        self.min_kw = options.number("min_power_kw", 1.4, minimum=0, maximum=self.max_kw)
        self.capacity_kwh = options.number("capacity_kwh", 60.0, positive=True)
        self.arrival_soc = options.number("arrival_soc", 20.0, minimum=0, maximum=100)
        self.target_soc = options.number("target_soc", 80.0, minimum=0, maximum=100)
        self.efficiency = options.number("efficiency", 0.9, positive=True, maximum=1)
        self.arrival = options.time_of_day("arrival", "18:00")
        self.departure = options.time_of_day("departure", "07:00")
        if self.arrival == self.departure:
            raise options.error("departure", "must differ from arrival")
        self.judge = PriceJudge(options)
        options.done()
        self.soc = self.arrival_soc
        self._plugged = False
        self._share = 1.0  # fraction of max power the plan allows
        self._defer = False
        self._cap_kw = math.inf

    def plugged_at(self, moment: datetime) -> bool:
        clock = self.local(moment).time()
        if self.arrival < self.departure:
            return self.arrival <= clock < self.departure
        return clock >= self.arrival or clock < self.departure

    def next_departure(self, moment: datetime) -> datetime:
        local = self.local(moment)
        leave = datetime.combine(local.date(), self.departure, tzinfo=self.zone)
        if leave <= local:
            leave = datetime.combine(local.date() + timedelta(days=1), self.departure, self.zone)
        return leave

    def _sync(self, now: datetime) -> None:
        plugged = self.plugged_at(now)
        if plugged and not self._plugged:
            self.soc = self.arrival_soc  # a new visit
        self._plugged = plugged

    def _decide(self, signals: Mapping[str, Signal], now: datetime) -> tuple[Mode, str]:
        level = simple_level(signals)
        price = self.judge.judge(number(signals, "PRICE"), now)
        self._cap_kw = cap_kw(signals, "IMPORT_CAPACITY_LIMIT")
        self._share, self._defer = 1.0, False
        mode, note = Mode.NORMAL, f"price {price.lower()}, SIMPLE {level}: full power"
        if level >= 3:
            self._share, mode, note = 0.0, Mode.CURTAILED, "SIMPLE 3: charging suspended"
        elif level == 2 or price is PriceLevel.HIGH:
            self._defer, mode = True, Mode.CURTAILED
            note = "deferred; charging at the latest start that still meets departure"
        elif level == 1:
            self._share, mode, note = 0.5, Mode.CURTAILED, "SIMPLE 1: half power"
        if self._cap_kw < self.max_kw * self._share:
            mode, note = Mode.CURTAILED, f"{note}; capped at {self._cap_kw:g} kW by IMPORT_CAPACITY_LIMIT"
        if not self._plugged:  # the plan stands for a car arriving before the next decision
            return Mode.NORMAL, f"no vehicle; on arrival: {note}"
        return mode, note

    def _needed_kwh(self) -> float:
        """Grid energy still needed to reach the target."""
        return max(0.0, self.target_soc - self.soc) / 100 * self.capacity_kwh / self.efficiency

    def _power(self, now: datetime) -> float:
        if not self._plugged or self._needed_kwh() <= 1e-9:
            return 0.0
        power = self.max_kw * self._share
        if self._defer:
            left_h = (self.next_departure(now) - now - _DEADLINE_MARGIN).total_seconds() / 3600
            power = self.max_kw if self._needed_kwh() >= min(self.max_kw, self._cap_kw) * left_h else 0.0
        power = min(power, self._cap_kw)
        return power if power >= self.min_kw and power > 0 else 0.0

    def _advance(self, start: datetime, hours: float) -> float:
        needed = self._needed_kwh()
        drawn = min(self._power(start) * hours, needed)
        if drawn > 0:  # landing exactly on the target avoids a float residue that keeps it charging
            reached = drawn >= needed
            self.soc = (
                self.target_soc if reached else self.soc + drawn * self.efficiency / self.capacity_kwh * 100
            )
        return drawn / hours

    def _soc(self) -> float | None:
        return round(self.soc, 6) if self._plugged else None


def create(options: Mapping[str, object]) -> DeviceAdapter:
    """Options: max_power_kw, min_power_kw, capacity_kwh, arrival_soc, target_soc, efficiency, arrival,
    departure ('HH:MM' local), timezone, low_price, high_price, price_band."""
    return EvCharger(Options("ev_charger", options))
