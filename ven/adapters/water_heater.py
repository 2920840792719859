"""Simulated hot-water tank: one fully mixed volume with a resistive element and daily draws.

Physics per minute: the element adds heat, the shell loses loss_w_per_k * (T - ambient), and each draw
replaces tank water by cold inlet water (T -= litres / volume * (T - inlet)).

Control: a thermostat with hysteresis chases a target that the decision sets: `setpoint_c` normally,
`max_c` on low prices (pre-heat), and the reserve floor on high prices or SIMPLE >= 2 (coast; SIMPLE 1
goes half way). The reserve floor is the lowest temperature from which the largest scheduled draw still
leaves the tank at `min_c` or above, so coasting never drops below `min_c`: the thermostat holds the floor
whatever the price. IMPORT_CAPACITY_LIMIT throttles the element (modulating power controller); the grid
limit is binding, so a limit below the tank's losses can let it cool below `min_c`.
"""

from __future__ import annotations

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

_WATER_KWH_PER_L_K = 4.186 / 3600  # specific heat of water, 1 l = 1 kg


class WaterHeater(SimulatedDevice):
    resource_type = "WATER_HEATER"

    def __init__(self, options: Options) -> None:
        super().__init__(options.zone())
        self.volume_l = options.number("volume_l", 200.0, positive=True)
        self.element_kw = options.number("element_kw", 3.0, positive=True)
        self.min_c = options.number("min_c", 45.0, minimum=0, maximum=99)
        self.max_c = options.number("max_c", 70.0, minimum=self.min_c, maximum=99)
        self.setpoint_c = options.number("setpoint_c", 55.0, minimum=self.min_c, maximum=self.max_c)
        self.temperature = options.number("temperature_c", self.setpoint_c, minimum=0, maximum=self.max_c)
        self.ambient_c = options.number("ambient_c", 20.0, minimum=-30, maximum=50)
        self.inlet_c = options.number("inlet_c", 10.0, minimum=0, maximum=self.min_c)
        self.loss_kw_per_k = options.number("loss_w_per_k", 2.0, minimum=0) / 1000
        self.hysteresis = options.number("hysteresis_c", 3.0, positive=True, maximum=20)
        self.draw_minutes = options.number("draw_minutes", 10.0, positive=True, maximum=240)
        self.draws = self._read_draws(options)
        self.judge = PriceJudge(options)
        options.done()
        largest = max((litres for _, litres in self.draws), default=0.0)
        share = largest / self.volume_l
        # Solve T * (1 - share) + inlet * share = min_c for T, plus half a kelvin for the thermostat.
        self.floor_c = max(self.min_c, (self.min_c - self.inlet_c * share) / (1 - share) + 0.5)
        if self.floor_c > self.max_c:
            raise options.error(
                "draws", f"has a {largest:g} l draw that would cool even a full tank below min_c"
            )
        self.capacity_kwh_per_k = self.volume_l * _WATER_KWH_PER_L_K
        self._target = self.setpoint_c
        self._element_kw = self.element_kw
        self._heating = False

    def _read_draws(self, options: Options) -> tuple[tuple[float, float], ...]:
        """`draws`: {'HH:MM': litres}; stored as (minute of day, litres)."""
        raw = options.raw("draws")
        if raw is None:
            raw = {"07:00": 30, "19:00": 30}
        if not isinstance(raw, Mapping):
            raise options.error("draws", f"must map 'HH:MM' to litres, got {raw!r}")
        draws = []
        for key, litres in raw.items():
            moment = options.parse_time("draws", str(key))
            if (
                isinstance(litres, bool)
                or not isinstance(litres, int | float)
                or not 0 <= litres < self.volume_l
            ):
                raise options.error("draws", f"needs litres in [0, volume_l) at {key!r}, got {litres!r}")
            draws.append((moment.hour * 60 + moment.minute, float(litres)))
        return tuple(sorted(draws))

    def _decide(self, signals: Mapping[str, Signal], now: datetime) -> tuple[Mode, str]:
        level = simple_level(signals)
        price = self.judge.judge(number(signals, "PRICE"), now)
        self._element_kw = min(self.element_kw, cap_kw(signals, "IMPORT_CAPACITY_LIMIT"))
        if level >= 2 or price is PriceLevel.HIGH:
            self._target, mode, note = self.floor_c, Mode.CURTAILED, "coasting to the reserve floor"
        elif level == 1:
            self._target = (self.setpoint_c + self.floor_c) / 2
            mode, note = Mode.CURTAILED, "SIMPLE 1: lowered target"
        elif price is PriceLevel.LOW:
            self._target, mode, note = self.max_c, Mode.HEIGHTENED, "low price: pre-heating"
        else:
            self._target, mode, note = self.setpoint_c, Mode.NORMAL, "normal"
        self._target = max(self._target, self.floor_c)
        if self._element_kw < self.element_kw:
            mode, note = Mode.CURTAILED, f"{note}; element limited to {self._element_kw:g} kW"
        self._sync(now)
        return mode, f"{note} (target {self._target:.1f} C)"

    def _sync(self, now: datetime) -> None:
        switch_on = max(self._target - self.hysteresis, self.floor_c)
        switch_off = min(max(self._target, switch_on + 0.5), self.max_c)
        if self.temperature < switch_on:
            self._heating = True
        elif self.temperature >= switch_off:
            self._heating = False

    def _power(self, now: datetime) -> float:
        return self._element_kw if self._heating and self.temperature < self.max_c else 0.0

    def _draw_litres(self, start: datetime, hours: float) -> float:
        """Hot water drawn in [start, start + hours]; each draw runs evenly over `draw_minutes`."""
        begin = self.hour_of_day(start) * 60
        end = begin + hours * 60
        litres = 0.0
        for minute, volume in self.draws:
            for day in (-1440, 0, 1440):  # windows that cross midnight
                lo, hi = minute + day, minute + day + self.draw_minutes
                litres += volume * max(0.0, min(end, hi) - max(begin, lo)) / self.draw_minutes
        return litres

    def _advance(self, start: datetime, hours: float) -> float:
        power = self._power(start)
        loss_kw = self.loss_kw_per_k * (self.temperature - self.ambient_c)
        heated = self.temperature + (power - loss_kw) * hours / self.capacity_kwh_per_k
        if heated > self.max_c:  # the thermostat cuts out at max_c: bill only what was used
            power = max(0.0, power - (heated - self.max_c) * self.capacity_kwh_per_k / hours)
            heated = self.max_c
        share = min(1.0, self._draw_litres(start, hours) / self.volume_l)
        self.temperature = heated - share * (heated - self.inlet_c)
        return power

    def _temperature(self) -> float | None:
        return round(self.temperature, 6)


def create(options: Mapping[str, object]) -> DeviceAdapter:
    """Options: volume_l, element_kw, setpoint_c, min_c, max_c, temperature_c, ambient_c, inlet_c,
    loss_w_per_k, hysteresis_c, draws ({'HH:MM': litres}), draw_minutes, timezone, low_price,
    high_price, price_band."""
    return WaterHeater(Options("water_heater", options))
