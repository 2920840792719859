"""Simulated heat pump heating a house (single thermal mass, 1R1C model).

House: C dT/dt = COP * P_el - UA * (T_in - T_out). Outdoor temperature follows a daily sine around
`outdoor_c` (coldest at 04:00 local, warmest at 16:00). COP falls as it gets colder: 3% per kelvin below
the rated point of 7 C, bounded to [1.5, 7].

Control: an inverter heat pump; its power covers the losses at the target plus a correction that closes the
gap in about an hour, between 0 and `rated_kw`. The decision moves the target inside the comfort band:
`setpoint_c` normally, `comfort_max_c` on low prices (pre-heat into the thermal mass), `comfort_min_c` on
high prices or SIMPLE >= 2 (SIMPLE 1 goes half way). IMPORT_CAPACITY_LIMIT caps the electrical power.
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

_CATCH_UP_H = 1.0  # time constant of the indoor-temperature correction


class HeatPump(SimulatedDevice):
    resource_type = "HEAT_PUMP"

    def __init__(self, options: Options) -> None:
        super().__init__(options.zone())
        self.rated_kw = options.number("rated_kw", 3.0, positive=True)
        self.cop_rated = options.number("cop", 3.5, minimum=1, maximum=10)
        self.ua_kw_per_k = options.number("house_ua_kw_per_k", 0.15, positive=True)
        self.capacity_kwh_per_k = options.number("house_capacity_kwh_per_k", 8.0, positive=True)
        self.comfort_min = options.number("comfort_min_c", 19.5, minimum=5, maximum=30)
        self.comfort_max = options.number("comfort_max_c", 23.0, minimum=self.comfort_min, maximum=35)
        self.setpoint = options.number("setpoint_c", 21.0, minimum=self.comfort_min, maximum=self.comfort_max)
        self.indoor = options.number("indoor_c", self.setpoint, minimum=-20, maximum=40)
        self.outdoor_mean = options.number("outdoor_c", 2.0, minimum=-40, maximum=40)
        self.outdoor_swing = options.number("outdoor_swing_c", 4.0, minimum=0, maximum=20)
        self.judge = PriceJudge(options)
        options.done()
        self._target = self.setpoint
        self._cap_kw = self.rated_kw

    def outdoor_at(self, moment: datetime) -> float:
        hour = self.hour_of_day(moment)
        return self.outdoor_mean - self.outdoor_swing * math.cos(2 * math.pi * (hour - 4) / 24)

    def cop_at(self, outdoor: float) -> float:
        return min(7.0, max(1.5, self.cop_rated * (1 + 0.03 * (outdoor - 7))))

    def _decide(self, signals: Mapping[str, Signal], now: datetime) -> tuple[Mode, str]:
        level = simple_level(signals)
        price = self.judge.judge(number(signals, "PRICE"), now)
        self._cap_kw = min(self.rated_kw, cap_kw(signals, "IMPORT_CAPACITY_LIMIT"))
        if level >= 2 or price is PriceLevel.HIGH:
            self._target, mode, note = self.comfort_min, Mode.CURTAILED, "reduced to the comfort minimum"
        elif level == 1:
            self._target = (self.setpoint + self.comfort_min) / 2
            mode, note = Mode.CURTAILED, "SIMPLE 1: slightly reduced"
        elif price is PriceLevel.LOW:
            self._target, mode, note = self.comfort_max, Mode.HEIGHTENED, "low price: pre-heating"
        else:
            self._target, mode, note = self.setpoint, Mode.NORMAL, "normal"
        if self._cap_kw < self.rated_kw:
            mode, note = Mode.CURTAILED, f"{note}; capped at {self._cap_kw:g} kW"
        return mode, f"{note} (target {self._target:.1f} C)"

    def _power(self, now: datetime) -> float:
        outdoor = self.outdoor_at(now)
        heat_kw = self.ua_kw_per_k * (self._target - outdoor)
        heat_kw += self.capacity_kwh_per_k * (self._target - self.indoor) / _CATCH_UP_H
        return min(self._cap_kw, max(0.0, heat_kw / self.cop_at(outdoor)))

    def _advance(self, start: datetime, hours: float) -> float:
        power = self._power(start)
        outdoor = self.outdoor_at(start + timedelta(hours=hours / 2))
        heat_kw = power * self.cop_at(outdoor) - self.ua_kw_per_k * (self.indoor - outdoor)
        self.indoor += heat_kw * hours / self.capacity_kwh_per_k
        return power

    def _temperature(self) -> float | None:
        return round(self.indoor, 6)


def create(options: Mapping[str, object]) -> DeviceAdapter:
    """Options: rated_kw, cop, house_ua_kw_per_k, house_capacity_kwh_per_k, comfort_min_c, comfort_max_c,
    setpoint_c, indoor_c, outdoor_c, outdoor_swing_c, timezone, low_price, high_price, price_band."""
    return HeatPump(Options("heat_pump", options))
