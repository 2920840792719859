"""Device adapter interface, and the helpers the simulated devices share.

An adapter drives one resource. The agent calls `apply(signals, now)` whenever the effective signals
change (see `Timeline.next_change_after`) and `step(now)` / `readings()` on its reporting tick.
`apply` first integrates up to `now` with the previous decision, so a new decision takes effect at
`now` and never rewrites the past. Power is signed at the grid connection: positive = import.

Simulated devices split `step` into sub-steps of at most one minute: their local controllers (thermostat,
deadline charging, sun curve) act inside a step, as the real device would between two VEN decisions.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from shared.timing import as_utc
from ven.timeline import Signal

__all__ = [
    "AdapterFactory",
    "DeviceAdapter",
    "Mode",
    "OperatingState",
    "Options",
    "PriceJudge",
    "PriceLevel",
    "Readings",
    "Response",
    "SimulatedDevice",
    "cap_kw",
    "number",
    "simple_level",
]


class OperatingState(StrEnum):
    """Report payload OPERATING_STATE values (3.1 enumerations)."""

    NORMAL = "NORMAL"
    ERROR = "ERROR"
    IDLE_NORMAL = "IDLE_NORMAL"
    RUNNING_NORMAL = "RUNNING_NORMAL"
    RUNNING_CURTAILED = "RUNNING_CURTAILED"
    RUNNING_HEIGHTENED = "RUNNING_HEIGHTENED"
    IDLE_CURTAILED = "IDLE_CURTAILED"
    SGD_ERROR_CONDITION = "SGD_ERROR_CONDITION"
    IDLE_HEIGHTENED = "IDLE_HEIGHTENED"
    IDLE_OPTED_OUT = "IDLE_OPTED_OUT"
    RUNNING_OPTED_OUT = "RUNNING_OPTED_OUT"


class Mode(StrEnum):
    """How a decision changes consumption; with running/idle it gives the OPERATING_STATE."""

    NORMAL = "NORMAL"
    CURTAILED = "CURTAILED"
    HEIGHTENED = "HEIGHTENED"


@dataclass(frozen=True)
class Response:
    """A device's decision: the power it aims for now (+ import, - export), its state, and why."""

    setpoint_kw: float
    state: str
    note: str = ""


@dataclass(frozen=True)
class Readings:
    power_kw: float  # + import, - export
    energy_kwh: float  # cumulative import
    state: str
    exported_kwh: float = 0.0  # cumulative export
    soc_percent: float | None = None
    temperature_c: float | None = None


class DeviceAdapter(ABC):
    """Driver of one resource; `resource_type` names the kind of device (e.g. "BATTERY")."""

    resource_type: str

    @abstractmethod
    async def apply(self, signals: Mapping[str, Signal], now: datetime) -> Response:
        """Decide how to run from `now` on, given the effective signal per payload type."""

    @abstractmethod
    def step(self, now: datetime) -> None:
        """Advance to `now` (energy, state of charge, temperatures); earlier times are ignored."""

    @abstractmethod
    def readings(self) -> Readings:
        """The device's state as of the last `step`/`apply`."""


AdapterFactory = Callable[[Mapping[str, object]], DeviceAdapter]


# -- options ------------------------------------------------------------------------------------


class Options:
    """Typed reads from a config mapping; errors name the adapter and the option. Call `done()` last."""

    def __init__(self, adapter: str, options: Mapping[str, object]) -> None:
        self._adapter = adapter
        self._options = options
        self._read: set[str] = set()

    def error(self, name: str, problem: str) -> ValueError:
        return ValueError(f"{self._adapter}: option {name!r} {problem}")

    def number(
        self,
        name: str,
        default: float,
        *,
        minimum: float | None = None,
        maximum: float | None = None,
        positive: bool = False,
    ) -> float:
        value = self.optional_number(name, minimum=minimum, maximum=maximum, positive=positive)
        return default if value is None else value

    def optional_number(
        self, name: str, *, minimum: float | None = None, maximum: float | None = None, positive: bool = False
    ) -> float | None:
        self._read.add(name)
        raw = self._options.get(name)
        if raw is None:
            return None
        if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw):
            raise self.error(name, f"must be a finite number, got {raw!r}")
        if positive and raw <= 0:
            raise self.error(name, f"must be greater than 0, got {raw!r}")
        if minimum is not None and raw < minimum:
            raise self.error(name, f"must be at least {minimum:g}, got {raw!r}")
        if maximum is not None and raw > maximum:
            raise self.error(name, f"must be at most {maximum:g}, got {raw!r}")
        return float(raw)

    def time_of_day(self, name: str, default: str) -> time:
        self._read.add(name)
        raw = self._options.get(name, default)
        if not isinstance(raw, str):
            raise self.error(name, f"must be a time of day 'HH:MM', got {raw!r}")
        return self.parse_time(name, raw)

    def parse_time(self, name: str, raw: str) -> time:
        try:
            return time.fromisoformat(raw)
        except ValueError:
            raise self.error(name, f"must be a time of day 'HH:MM', got {raw!r}") from None

    def zone(self, name: str = "timezone") -> tzinfo:
        self._read.add(name)
        raw = self._options.get(name, "UTC")
        if not isinstance(raw, str):
            raise self.error(name, f"must be an IANA zone name such as 'Europe/Berlin', got {raw!r}")
        try:
            return ZoneInfo(raw)
        except (ZoneInfoNotFoundError, ValueError):
            raise self.error(name, f"is not a known IANA time zone: {raw!r}") from None

    def raw(self, name: str) -> object:
        self._read.add(name)
        return self._options.get(name)

    def done(self) -> None:
        """Reject options nobody read: a typo must not silently fall back to a default."""
        unknown = sorted(set(self._options) - self._read)
        if unknown:
            raise ValueError(f"{self._adapter}: unknown option(s) {', '.join(map(repr, unknown))}")


# -- signals ------------------------------------------------------------------------------------


def number(signals: Mapping[str, Signal], payload_type: str) -> float | None:
    """The numeric value of a payload type, if present."""
    signal = signals.get(payload_type)
    return None if signal is None else signal.number


def cap_kw(signals: Mapping[str, Signal], payload_type: str) -> float:
    """A capacity limit in kW (IMPORT_/EXPORT_CAPACITY_LIMIT); absent = unlimited, negative = 0."""
    limit = number(signals, payload_type)
    return math.inf if limit is None else max(0.0, limit)


def simple_level(signals: Mapping[str, Signal]) -> int:
    """SIMPLE level 0 normal, 1 moderate, 2 high, 3 special; absent or malformed = 0."""
    level = number(signals, "SIMPLE")
    return 0 if level is None else min(3, max(0, int(level)))


class PriceLevel(StrEnum):
    LOW = "LOW"
    NORMAL = "NORMAL"
    HIGH = "HIGH"


class PriceJudge:
    """Classifies a price against fixed thresholds or, where none is set, the trailing 24 h average.

    The average is time-weighted over the prices seen by `apply`, so it needs no forecast.
    """

    WINDOW = timedelta(hours=24)

    def __init__(self, options: Options) -> None:
        self.low = options.optional_number("low_price")
        self.high = options.optional_number("high_price")
        self.band = options.number("price_band", 0.15, minimum=0, maximum=10)
        if self.low is not None and self.high is not None and self.low > self.high:
            raise options.error("low_price", "must not exceed high_price")
        self._seen: list[tuple[datetime, float]] = []

    def average(self, now: datetime) -> float | None:
        """Time-weighted mean over the last 24 h before `now`; None without history."""
        if not self._seen:
            return None
        total = weight = 0.0
        for (at, price), nxt in zip(self._seen, [*self._seen[1:], (now, 0.0)], strict=True):
            span = (min(nxt[0], now) - max(at, now - self.WINDOW)).total_seconds()
            if span > 0:
                total, weight = total + price * span, weight + span
        return total / weight if weight > 0 else None

    def judge(self, price: float | None, now: datetime) -> PriceLevel:
        if price is None:
            return PriceLevel.NORMAL
        average = self.average(now)
        if not self._seen or self._seen[-1][1] != price:
            self._seen.append((now, price))
        while len(self._seen) > 1 and self._seen[1][0] <= now - self.WINDOW:
            self._seen.pop(0)
        if price < 0 or (self.low is not None and price <= self.low):
            return PriceLevel.LOW
        if self.high is not None and price >= self.high:
            return PriceLevel.HIGH
        if average is None:
            return PriceLevel.NORMAL
        margin = self.band * abs(average)
        if self.high is None and price > average + margin:
            return PriceLevel.HIGH
        if self.low is None and price < average - margin:
            return PriceLevel.LOW
        return PriceLevel.NORMAL


# -- simulation base ----------------------------------------------------------------------------


def _tidy(power_kw: float) -> float:
    return round(power_kw, 6) + 0.0  # + 0.0 turns -0.0 into 0.0


class SimulatedDevice(DeviceAdapter):
    """Shared clock, energy meters and state mapping; subclasses supply the physics and the decision."""

    MAX_STEP = timedelta(minutes=1)

    def __init__(self, zone: tzinfo) -> None:
        self.zone = zone
        self._clock: datetime | None = None
        self._import_kwh = 0.0
        self._export_kwh = 0.0
        self._power_kw = 0.0
        self._mode = Mode.NORMAL

    async def apply(self, signals: Mapping[str, Signal], now: datetime) -> Response:
        now = as_utc(now)
        self.step(now)
        self._mode, note = self._decide(signals, now)
        self._power_kw = self._power(now)
        return Response(_tidy(self._power_kw), self._state(), note)

    def step(self, now: datetime) -> None:
        now = as_utc(now)
        if self._clock is None:
            self._clock = now
        while self._clock < now:
            dt = min(self.MAX_STEP, now - self._clock)
            self._sync(self._clock)
            mean_kw = self._advance(self._clock, dt.total_seconds() / 3600)
            hours = dt.total_seconds() / 3600
            self._import_kwh += max(mean_kw, 0.0) * hours
            self._export_kwh += max(-mean_kw, 0.0) * hours
            self._clock += dt
        self._sync(self._clock)
        self._power_kw = self._power(self._clock)

    def readings(self) -> Readings:
        return Readings(
            power_kw=_tidy(self._power_kw),
            energy_kwh=self._import_kwh,
            state=self._state(),
            exported_kwh=self._export_kwh,
            soc_percent=self._soc(),
            temperature_c=self._temperature(),
        )

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.zone)

    def hour_of_day(self, moment: datetime) -> float:
        local = self.local(moment)
        return local.hour + local.minute / 60 + local.second / 3600

    # Subclass hooks.

    @abstractmethod
    def _decide(self, signals: Mapping[str, Signal], now: datetime) -> tuple[Mode, str]:
        """Store the plan for the signals; return the mode and a human-readable reason."""

    @abstractmethod
    def _power(self, now: datetime) -> float:
        """Instantaneous power the local controller draws now under the current plan (no side effects)."""

    @abstractmethod
    def _advance(self, start: datetime, hours: float) -> float:
        """Integrate the physics over [start, start + hours]; return the mean power actually drawn."""

    def _sync(self, now: datetime) -> None:
        """Apply discrete events due at `now` (a car arriving); default: none."""

    def _state(self) -> str:
        running = "RUNNING" if abs(self._power_kw) > 1e-9 else "IDLE"
        return f"{running}_{self._mode}"

    def _soc(self) -> float | None:
        return None

    def _temperature(self) -> float | None:
        return None
