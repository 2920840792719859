"""Simulated home battery: charges on low prices, discharges on high prices or grid stress.

Decision (first match): SIMPLE >= 2 -> discharge at full power (support the grid); SIMPLE 1 -> hold;
high price -> discharge, unless EXPORT_PRICE is negative (exporting would cost money); low price ->
charge; otherwise idle. Charging is capped by IMPORT_CAPACITY_LIMIT, discharging by
EXPORT_CAPACITY_LIMIT (there is no house load in this model, so discharged power is exported).
State of charge stays within [min_soc, max_soc] (a subset of [0, 100]); the round-trip efficiency is
split evenly between charging and discharging.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime

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


class Battery(SimulatedDevice):
    resource_type = "BATTERY"

    def __init__(self, options: Options) -> None:
        super().__init__(options.zone())
        self.capacity_kwh = options.number("capacity_kwh", 10.0, positive=True)
        power = options.number("max_power_kw", 5.0, positive=True)
        self.max_charge_kw = options.number("max_charge_kw", power, positive=True)
        self.max_discharge_kw = options.number("max_discharge_kw", power, positive=True)
        self.min_soc = options.number("min_soc", 10.0, minimum=0, maximum=100)
        self.max_soc = options.number("max_soc", 100.0, minimum=0, maximum=100)
        if self.min_soc >= self.max_soc:
            raise options.error("min_soc", f"must be below max_soc ({self.max_soc:g})")
        self.soc = options.number("soc", 50.0, minimum=self.min_soc, maximum=self.max_soc)
        self.leg_efficiency = math.sqrt(options.number("efficiency", 0.9, positive=True, maximum=1))
        self.judge = PriceJudge(options)
        options.done()
        self._target_kw = 0.0

    def _decide(self, signals: Mapping[str, Signal], now: datetime) -> tuple[Mode, str]:
        level = simple_level(signals)
        price = self.judge.judge(number(signals, "PRICE"), now)
        export_price = number(signals, "EXPORT_PRICE")
        import_cap = cap_kw(signals, "IMPORT_CAPACITY_LIMIT")
        export_cap = cap_kw(signals, "EXPORT_CAPACITY_LIMIT")
        if level >= 2:
            self._target_kw = -min(self.max_discharge_kw, export_cap)
            return Mode.CURTAILED, f"SIMPLE {level}: discharging"
        if level == 1:
            self._target_kw = 0.0
            return Mode.CURTAILED, "SIMPLE 1: holding charge"
        if price is PriceLevel.HIGH:
            if export_price is not None and export_price < 0:
                self._target_kw = 0.0
                return Mode.NORMAL, "high price but negative EXPORT_PRICE: holding"
            self._target_kw = -min(self.max_discharge_kw, export_cap)
            return Mode.CURTAILED, "high price: discharging"
        if price is PriceLevel.LOW:
            self._target_kw = min(self.max_charge_kw, import_cap)
            return Mode.HEIGHTENED, "low price: charging"
        self._target_kw = 0.0
        return Mode.NORMAL, "normal price: idle"

    def _power(self, now: datetime) -> float:
        if self._target_kw > 0 and self.soc >= self.max_soc:
            return 0.0
        if self._target_kw < 0 and self.soc <= self.min_soc:
            return 0.0
        return self._target_kw

    def _advance(self, start: datetime, hours: float) -> float:
        power = self._power(start)
        if power > 0:  # charging: stop exactly at max_soc
            room_kwh = (self.max_soc - self.soc) / 100 * self.capacity_kwh / self.leg_efficiency
            drawn = min(power * hours, room_kwh)
            self.soc = min(self.max_soc, self.soc + drawn * self.leg_efficiency / self.capacity_kwh * 100)
            return drawn / hours
        if power < 0:  # discharging: stop exactly at min_soc
            stored_kwh = (self.soc - self.min_soc) / 100 * self.capacity_kwh * self.leg_efficiency
            delivered = min(-power * hours, stored_kwh)
            self.soc = max(self.min_soc, self.soc - delivered / self.leg_efficiency / self.capacity_kwh * 100)
            return -delivered / hours
        return 0.0

    def _soc(self) -> float | None:
        return round(self.soc, 6)


def create(options: Mapping[str, object]) -> DeviceAdapter:
    """Options: capacity_kwh, max_power_kw, max_charge_kw, max_discharge_kw, soc, min_soc, max_soc,
    efficiency (round trip), timezone, low_price, high_price, price_band."""
    return Battery(Options("battery", options))
