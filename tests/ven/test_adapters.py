"""ven.adapters: registry, option errors, and the simulated devices' response to signals (fake clock)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from importlib.metadata import EntryPoint

import pytest

from ven.adapters import (
    ENTRY_POINT_GROUP,
    AdapterError,
    AdapterRegistry,
    DeviceAdapter,
    OperatingState,
    UnknownAdapterError,
)
from ven.adapters import registry as registry_module
from ven.timeline import Signal

NOON = datetime(2024, 6, 1, 12, tzinfo=UTC)
NIGHT = datetime(2024, 6, 1, 22, tzinfo=UTC)
BUILTINS = ["battery", "ev_charger", "heat_pump", "pv_inverter", "water_heater"]


def signals(**values: float) -> dict[str, Signal]:
    return {name: Signal(name, (value,), None, None) for name, value in values.items()}


def make(name: str, options: Mapping[str, object] | None = None) -> DeviceAdapter:
    return AdapterRegistry(discover=False).create(name, options)


def minutes(start: datetime, count: int) -> list[datetime]:
    return [start + timedelta(minutes=k) for k in range(count + 1)]


# -- registry ------------------------------------------------------------------------------------


def test_builtins_are_available_and_start_at_zero() -> None:
    registry = AdapterRegistry(discover=False)
    assert registry.names() == BUILTINS
    for name in BUILTINS:
        device = registry.create(name)
        device.step(NOON)
        assert device.resource_type.isupper()
        assert device.readings().energy_kwh == 0.0


def test_unknown_adapter_lists_the_available_ones() -> None:
    with pytest.raises(
        UnknownAdapterError, match="unknown adapter 'toaster'; available: battery, ev_charger"
    ):
        make("toaster")
    assert issubclass(UnknownAdapterError, LookupError)


def test_plugins_are_loaded_lazily_and_cannot_shadow_builtins() -> None:
    plugins = [
        EntryPoint(name="home_battery", value="ven.adapters.battery:create", group=ENTRY_POINT_GROUP),
        EntryPoint(name="battery", value="elsewhere.battery:create", group=ENTRY_POINT_GROUP),
        EntryPoint(name="ev_charger", value="ven.adapters.ev_charger:create", group=ENTRY_POINT_GROUP),
        EntryPoint(name="broken", value="no_such_module_anywhere:create", group=ENTRY_POINT_GROUP),
    ]
    registry = AdapterRegistry(plugins=plugins)
    assert registry.names() == sorted([*BUILTINS, "home_battery", "broken"])
    assert registry.shadowed == ("battery (elsewhere.battery:create)",)
    assert registry.create("home_battery", {"capacity_kwh": 13.5}).resource_type == "BATTERY"
    with pytest.raises(AdapterError, match="'broken' .* failed to load"):
        registry.create("broken")


def test_discovery_reads_the_entry_point_group(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[str] = []

    def fake_entry_points(*, group: str) -> list[EntryPoint]:
        asked.append(group)
        return [EntryPoint(name="sim_pv", value="ven.adapters.pv_inverter:create", group=group)]

    monkeypatch.setattr(registry_module, "entry_points", fake_entry_points)
    registry = AdapterRegistry(builtins=False)
    assert asked == ["energy_coordination.adapters"]
    assert registry.names() == ["sim_pv"]


def test_registries_are_independent_and_check_what_factories_return() -> None:
    first, second = AdapterRegistry(discover=False), AdapterRegistry(discover=False)
    first.register("bogus", lambda options: object())  # type: ignore[arg-type,return-value]
    assert "bogus" not in second.names()
    with pytest.raises(AdapterError, match="not a DeviceAdapter"):
        first.create("bogus")


@pytest.mark.parametrize(
    ("name", "options", "message"),
    [
        ("battery", {"capacity_kwh": -1}, "battery: option 'capacity_kwh' must be greater than 0"),
        ("battery", {"capacity_kwh": "ten"}, "option 'capacity_kwh' must be a finite number"),
        ("battery", {"efficiency": True}, "option 'efficiency' must be a finite number"),
        ("battery", {"capcity_kwh": 5}, "battery: unknown option(s) 'capcity_kwh'"),
        ("battery", {"min_soc": 80, "max_soc": 20}, "option 'min_soc' must be below max_soc"),
        ("battery", {"low_price": 0.3, "high_price": 0.1}, "option 'low_price' must not exceed high_price"),
        ("ev_charger", {"departure": "25:00"}, "ev_charger: option 'departure' must be a time of day"),
        ("ev_charger", {"arrival": "07:00", "departure": "07:00"}, "option 'departure' must differ"),
        ("ev_charger", {"target_soc": 120}, "option 'target_soc' must be at most 100"),
        ("pv_inverter", {"sunrise": "20:00", "sunset": "06:00"}, "option 'sunset' must be later"),
        ("water_heater", {"draws": {"07:00": 150}}, "option 'draws' has a 150 l draw"),
        ("water_heater", {"draws": ["07:00"]}, "option 'draws' must map 'HH:MM' to litres"),
        ("water_heater", {"min_c": 60, "setpoint_c": 55}, "option 'setpoint_c' must be at least 60"),
        ("heat_pump", {"timezone": "Mars/Olympus"}, "heat_pump: option 'timezone' is not a known IANA"),
        ("heat_pump", {"comfort_min_c": 22, "setpoint_c": 21}, "option 'setpoint_c' must be at least 22"),
    ],
)
def test_bad_options_name_the_option(name: str, options: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError) as caught:
        make(name, options)
    assert message in str(caught.value)


# -- all devices ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", BUILTINS)
async def test_every_device_understands_simple_levels_and_reports_valid_states(name: str) -> None:
    normal = make(name, {"arrival": "00:00", "departure": "23:00"} if name == "ev_charger" else {})
    shed = make(name, {"arrival": "00:00", "departure": "23:00"} if name == "ev_charger" else {})
    base = await normal.apply(signals(SIMPLE=0), NOON)
    for level in (1, 2, 3):
        answer = await shed.apply(signals(SIMPLE=level), NOON)
        assert answer.state in set(OperatingState)
        assert answer.note
        assert answer.setpoint_kw <= base.setpoint_kw  # never more load when asked to shed
    assert normal.readings().state in set(OperatingState)


@pytest.mark.parametrize("name", BUILTINS)
async def test_simulation_is_deterministic(name: str) -> None:
    runs = []
    for _ in range(2):
        device = make(name)
        for k, moment in enumerate(minutes(NOON, 600)[::60]):
            await device.apply(signals(PRICE=0.1 + 0.05 * (k % 4)), moment)
        runs.append(device.readings())
    assert runs[0] == runs[1]


# -- EV charger ----------------------------------------------------------------------------------

EV = {"arrival": "18:00", "departure": "07:00", "high_price": 0.30, "low_price": 0.10}
EVENING = datetime(2024, 6, 1, 18, tzinfo=UTC)


async def test_ev_charges_on_low_price_and_defers_on_high_price() -> None:
    cheap = await make("ev_charger", EV).apply(signals(PRICE=0.05), EVENING)
    assert (cheap.setpoint_kw, cheap.state) == (11.0, "RUNNING_NORMAL")
    dear = await make("ev_charger", EV).apply(signals(PRICE=0.50), EVENING)
    assert (dear.setpoint_kw, dear.state) == (0.0, "IDLE_CURTAILED")


async def test_ev_judges_price_against_the_running_average_without_thresholds() -> None:
    charger = make("ev_charger", {"arrival": "18:00", "departure": "07:00"})
    for hour in range(3):
        assert (await charger.apply(signals(PRICE=0.20), EVENING + timedelta(hours=hour))).setpoint_kw == 11.0
    assert (await charger.apply(signals(PRICE=0.40), EVENING + timedelta(hours=3))).setpoint_kw == 0.0


async def test_ev_deferred_all_night_still_meets_departure() -> None:
    charger = make("ev_charger", EV)
    await charger.apply(signals(PRICE=0.50), EVENING)
    powers = []
    for moment in minutes(EVENING, 13 * 60 - 1):
        charger.step(moment)
        powers.append(charger.readings().power_kw)
    assert powers[0] == 0.0 and max(powers) == 11.0  # waited, then charged at the latest start
    assert charger.readings().soc_percent == pytest.approx(80.0)
    assert charger.readings().energy_kwh == pytest.approx(0.6 * 60 / 0.9)


async def test_ev_respects_import_capacity_limit() -> None:
    capped = await make("ev_charger", EV).apply(signals(PRICE=0.05, IMPORT_CAPACITY_LIMIT=3.7), EVENING)
    assert (capped.setpoint_kw, capped.state) == (3.7, "RUNNING_CURTAILED")
    below_minimum = await make("ev_charger", EV).apply(signals(IMPORT_CAPACITY_LIMIT=1.0), EVENING)
    assert below_minimum.setpoint_kw == 0.0


async def test_ev_energy_and_soc_integrate_over_steps() -> None:
    charger = make("ev_charger", {**EV, "capacity_kwh": 50, "efficiency": 0.9})
    await charger.apply(signals(PRICE=0.05), EVENING)
    for moment in minutes(EVENING, 30)[1::7]:
        charger.step(moment)
    charger.step(EVENING + timedelta(minutes=30))
    readings = charger.readings()
    assert readings.energy_kwh == pytest.approx(5.5)
    assert readings.soc_percent == pytest.approx(20 + 5.5 * 0.9 / 50 * 100)
    charger.step(EVENING)  # time going backwards is ignored
    assert charger.readings() == readings
    assert (await charger.apply(signals(SIMPLE=1), EVENING + timedelta(minutes=30))).setpoint_kw == 5.5


async def test_ev_without_a_car_is_idle() -> None:
    answer = await make("ev_charger", EV).apply(signals(PRICE=0.05), NOON)
    assert (answer.setpoint_kw, answer.state) == (0.0, "IDLE_NORMAL")


# -- battery -------------------------------------------------------------------------------------

PRICED = {"low_price": 0.10, "high_price": 0.30}


async def test_battery_charges_on_low_and_discharges_on_high_price_within_limits() -> None:
    assert (await make("battery", PRICED).apply(signals(PRICE=0.05), NOON)).setpoint_kw == 5.0
    assert (await make("battery", PRICED).apply(signals(PRICE=0.20), NOON)).setpoint_kw == 0.0
    high = await make("battery", PRICED).apply(signals(PRICE=0.50), NOON)
    assert (high.setpoint_kw, high.state) == (-5.0, "RUNNING_CURTAILED")
    capped = await make("battery", PRICED).apply(signals(PRICE=0.05, IMPORT_CAPACITY_LIMIT=2), NOON)
    assert capped.setpoint_kw == 2.0
    limited = await make("battery", PRICED).apply(signals(PRICE=0.50, EXPORT_CAPACITY_LIMIT=1.5), NOON)
    assert limited.setpoint_kw == -1.5
    unpaid = await make("battery", PRICED).apply(signals(PRICE=0.50, EXPORT_PRICE=-0.02), NOON)
    assert unpaid.setpoint_kw == 0.0
    assert (await make("battery").apply(signals(SIMPLE=2), NOON)).setpoint_kw == -5.0


async def test_battery_energy_integrates_and_soc_stays_within_bounds() -> None:
    battery = make("battery", {**PRICED, "min_soc": 0, "max_soc": 100, "efficiency": 0.81})
    await battery.apply(signals(PRICE=0.05), NOON)
    battery.step(NOON + timedelta(hours=1))
    readings = battery.readings()
    assert readings.energy_kwh == pytest.approx(5.0)
    assert readings.soc_percent == pytest.approx(50 + 5 * 0.9 / 10 * 100)
    socs = []
    for moment in minutes(NOON + timedelta(hours=1), 300)[1:]:
        battery.step(moment)
        socs.append(battery.readings().soc_percent)
    assert max(s for s in socs if s is not None) == 100.0
    assert battery.readings().power_kw == 0.0 and battery.readings().state == "IDLE_HEIGHTENED"
    assert battery.readings().energy_kwh == pytest.approx(5 / 0.9)  # 50 % -> full, charge leg 0.9
    later = NOON + timedelta(hours=6)
    await battery.apply(signals(PRICE=0.50), later)
    for moment in minutes(later, 300)[1:]:
        battery.step(moment)
        soc = battery.readings().soc_percent
        assert soc is not None and 0.0 <= soc <= 100.0
    assert battery.readings().soc_percent == 0.0
    assert battery.readings().exported_kwh == pytest.approx(10 * 0.9)


# -- PV inverter ---------------------------------------------------------------------------------


async def test_pv_follows_the_sun_and_curtails_on_export_limit_or_negative_price() -> None:
    free = await make("pv_inverter").apply({}, datetime(2024, 6, 1, 13, tzinfo=UTC))
    assert (free.setpoint_kw, free.state) == (-5.0, "RUNNING_NORMAL")
    capped = await make("pv_inverter").apply(signals(EXPORT_CAPACITY_LIMIT=2), NOON)
    assert (capped.setpoint_kw, capped.state) == (-2.0, "RUNNING_CURTAILED")
    negative = await make("pv_inverter").apply(signals(EXPORT_PRICE=-0.01), NOON)
    assert (negative.setpoint_kw, negative.state) == (0.0, "IDLE_CURTAILED")
    night = await make("pv_inverter").apply(signals(EXPORT_CAPACITY_LIMIT=2), NIGHT)
    assert (night.setpoint_kw, night.state) == (0.0, "IDLE_NORMAL")


async def test_pv_daily_export_matches_the_sun_curve() -> None:
    pv = make("pv_inverter", {"peak_kw": 4, "sunrise": "06:00", "sunset": "18:00"})
    midnight = datetime(2024, 6, 1, tzinfo=UTC)
    await pv.apply({}, midnight)
    pv.step(midnight + timedelta(days=1))
    assert pv.readings().exported_kwh == pytest.approx(4 * 12 * 2 / math.pi, rel=1e-4)
    assert pv.readings().energy_kwh == 0.0


async def test_pv_uses_local_time() -> None:
    pv = make("pv_inverter", {"timezone": "Asia/Tokyo"})  # 13:00 UTC is 22:00 in Tokyo
    assert (await pv.apply({}, datetime(2024, 6, 1, 13, tzinfo=UTC))).setpoint_kw == 0.0


# -- water heater --------------------------------------------------------------------------------


async def test_water_heater_preheats_on_low_and_coasts_on_high_price() -> None:
    cold = {**PRICED, "temperature_c": 56.0}
    low = await make("water_heater", cold).apply(signals(PRICE=0.05), NOON)
    assert (low.setpoint_kw, low.state) == (3.0, "RUNNING_HEIGHTENED")
    high = await make("water_heater", cold).apply(signals(PRICE=0.50), NOON)
    assert (high.setpoint_kw, high.state) == (0.0, "IDLE_CURTAILED")
    limited = await make("water_heater", {"temperature_c": 40.0}).apply(
        signals(IMPORT_CAPACITY_LIMIT=2), NOON
    )
    assert limited.setpoint_kw == 2.0


async def test_water_heater_never_drops_below_min_temperature() -> None:
    heater = make("water_heater", {**PRICED, "draws": {"07:00": 45, "07:30": 20, "19:00": 40, "23:55": 30}})
    start = datetime(2024, 6, 1, tzinfo=UTC)
    await heater.apply(signals(PRICE=0.50), start)  # coast for three days
    lowest = math.inf
    for moment in minutes(start, 3 * 24 * 60)[1:]:
        heater.step(moment)
        temperature = heater.readings().temperature_c
        assert temperature is not None
        lowest = min(lowest, temperature)
    assert 45.0 <= lowest < 50.0  # it did coast down, but not below min_c


async def test_water_heater_energy_heats_the_tank() -> None:
    heater = make("water_heater", {"temperature_c": 40.0, "loss_w_per_k": 0, "draws": {}, "setpoint_c": 65})
    await heater.apply({}, NOON)
    heater.step(NOON + timedelta(hours=1))
    readings = heater.readings()
    assert readings.energy_kwh == pytest.approx(3.0)
    assert readings.temperature_c == pytest.approx(40 + 3.0 / (200 * 4.186 / 3600))


# -- heat pump -----------------------------------------------------------------------------------


async def test_heat_pump_reduces_on_high_price_within_comfort_and_preheats_on_low() -> None:
    normal = await make("heat_pump", PRICED).apply(signals(PRICE=0.20), NIGHT)
    high = await make("heat_pump", PRICED).apply(signals(PRICE=0.50), NIGHT)
    low = await make("heat_pump", PRICED).apply(signals(PRICE=0.05), NIGHT)
    assert high.setpoint_kw < normal.setpoint_kw < low.setpoint_kw
    assert (high.state, low.state) == ("IDLE_CURTAILED", "RUNNING_HEIGHTENED")
    capped = await make("heat_pump", PRICED).apply(signals(PRICE=0.05, IMPORT_CAPACITY_LIMIT=1), NIGHT)
    assert (capped.setpoint_kw, capped.state) == (1.0, "RUNNING_CURTAILED")


async def test_heat_pump_holds_the_comfort_minimum_through_a_long_curtailment() -> None:
    pump = make("heat_pump", {"outdoor_c": -5, "comfort_min_c": 19.5})
    await pump.apply(signals(SIMPLE=2), NIGHT)
    temperatures = []
    for moment in minutes(NIGHT, 12 * 60)[1:]:
        pump.step(moment)
        temperatures.append(pump.readings().temperature_c or 0.0)
    assert min(temperatures) >= 19.5 - 0.05
    assert temperatures[-1] == pytest.approx(19.5, abs=0.1)
    assert pump.readings().power_kw > 0  # holding the minimum, not switched off
