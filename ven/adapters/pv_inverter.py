"""Simulated PV inverter: a clear-sky sine curve between `sunrise` and `sunset` (local time).

Available power = peak_kw * sin(pi * (h - sunrise) / (sunset - sunrise)) during daylight, 0 at night.
Curtailment: EXPORT_CAPACITY_LIMIT caps the export; a negative EXPORT_PRICE curtails to zero (exporting
would cost money; this model has no house load to self-consume). SIMPLE levels ask for less load, and
curtailing generation would do the opposite, so they are acknowledged but change nothing.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime, timedelta

from ven.adapters.base import DeviceAdapter, Mode, Options, SimulatedDevice, cap_kw, number, simple_level
from ven.timeline import Signal


class PvInverter(SimulatedDevice):
    resource_type = "PV_INVERTER"

    def __init__(self, options: Options) -> None:
        super().__init__(options.zone())
        self.peak_kw = options.number("peak_kw", 5.0, positive=True)
        rise, down = options.time_of_day("sunrise", "06:00"), options.time_of_day("sunset", "20:00")
        self.sunrise = rise.hour + rise.minute / 60
        self.sunset = down.hour + down.minute / 60
        if self.sunset <= self.sunrise:
            raise options.error("sunset", "must be later in the day than sunrise")
        options.done()
        self._cap_kw = math.inf

    def available_kw(self, moment: datetime) -> float:
        hour = self.hour_of_day(moment)
        if not self.sunrise <= hour < self.sunset:
            return 0.0
        return self.peak_kw * math.sin(math.pi * (hour - self.sunrise) / (self.sunset - self.sunrise))

    def _decide(self, signals: Mapping[str, Signal], now: datetime) -> tuple[Mode, str]:
        export_price = number(signals, "EXPORT_PRICE")
        self._cap_kw = cap_kw(signals, "EXPORT_CAPACITY_LIMIT")
        level = simple_level(signals)
        suffix = f"; SIMPLE {level} does not apply to generation" if level else ""
        if export_price is not None and export_price < 0:
            self._cap_kw = 0.0
            return Mode.CURTAILED, f"negative EXPORT_PRICE: curtailed to 0 kW{suffix}"
        if self._cap_kw < self.peak_kw:
            return Mode.CURTAILED, f"export capped at {self._cap_kw:g} kW{suffix}"
        return Mode.NORMAL, f"unconstrained{suffix}"

    def _power(self, now: datetime) -> float:
        return -min(self.available_kw(now), self._cap_kw)

    def _advance(self, start: datetime, hours: float) -> float:
        return self._power(start + timedelta(hours=hours / 2))  # midpoint rule on the sun curve

    def _state(self) -> str:
        running = "RUNNING" if self._power_kw < -1e-9 else "IDLE"
        clock = self._clock
        # Curtailed only while the cap actually bites; at night an idle inverter is simply idle.
        biting = clock is not None and self.available_kw(clock) > self._cap_kw + 1e-9
        return f"{running}_{Mode.CURTAILED if biting else Mode.NORMAL}"


def create(options: Mapping[str, object]) -> DeviceAdapter:
    """Options: peak_kw, sunrise, sunset ('HH:MM' local), timezone."""
    return PvInverter(Options("pv_inverter", options))
