"""Finds device adapters by name: the built-ins plus plugins from the `energy_coordination.adapters`
entry-point group. Every registry is its own object; nothing is cached at module level.

An entry point must load to a factory `(options: Mapping[str, object]) -> DeviceAdapter`. Loading is
lazy, so a broken plugin fails only when it is used. On a name clash the built-in wins (a plugin cannot
silently replace a device model the operator configured) and the plugin is listed in `shadowed`;
`register()` is explicit and does replace.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from importlib.metadata import EntryPoint, entry_points
from types import MappingProxyType

from ven.adapters.base import AdapterFactory, DeviceAdapter

__all__ = ["BUILTIN_ADAPTERS", "ENTRY_POINT_GROUP", "AdapterError", "AdapterRegistry", "UnknownAdapterError"]

ENTRY_POINT_GROUP = "energy_coordination.adapters"

BUILTIN_ADAPTERS: Mapping[str, str] = MappingProxyType(
    {
        "battery": "ven.adapters.battery:create",
        "ev_charger": "ven.adapters.ev_charger:create",
        "heat_pump": "ven.adapters.heat_pump:create",
        "pv_inverter": "ven.adapters.pv_inverter:create",
        "water_heater": "ven.adapters.water_heater:create",
    }
)


class AdapterError(Exception):
    """An adapter could not be loaded or did not produce a DeviceAdapter."""


class UnknownAdapterError(AdapterError, LookupError):
    """No adapter of that name; the message lists the available ones."""


class AdapterRegistry:
    def __init__(
        self, *, builtins: bool = True, discover: bool = True, plugins: Iterable[EntryPoint] | None = None
    ) -> None:
        """`plugins` replaces entry-point discovery (tests, frozen deployments); `discover=False` skips it."""
        self._sources: dict[str, EntryPoint | AdapterFactory] = {}
        self._shadowed: list[str] = []
        if builtins:
            for name, target in BUILTIN_ADAPTERS.items():
                self._sources[name] = EntryPoint(name=name, value=target, group=ENTRY_POINT_GROUP)
        found = plugins if plugins is not None else entry_points(group=ENTRY_POINT_GROUP) if discover else ()
        for point in found:
            held = self._sources.get(point.name)
            if held is None:
                self._sources[point.name] = point
            elif not (isinstance(held, EntryPoint) and held.value == point.value):
                self._shadowed.append(f"{point.name} ({point.value})")

    @property
    def shadowed(self) -> tuple[str, ...]:
        """Plugins ignored because a built-in of the same name exists."""
        return tuple(self._shadowed)

    def names(self) -> list[str]:
        return sorted(self._sources)

    def register(self, name: str, factory: AdapterFactory) -> None:
        self._sources[name] = factory

    def factory(self, name: str) -> AdapterFactory:
        source = self._sources.get(name)
        if source is None:
            available = ", ".join(self.names()) or "none"
            raise UnknownAdapterError(f"unknown adapter {name!r}; available: {available}")
        if not isinstance(source, EntryPoint):
            return source
        try:
            loaded = source.load()
        except Exception as exc:  # any import-time failure of third-party code
            raise AdapterError(f"adapter {name!r} ({source.value}) failed to load: {exc}") from exc
        if not callable(loaded):
            raise AdapterError(f"adapter {name!r} ({source.value}) is not callable")
        factory: AdapterFactory = loaded
        self._sources[name] = factory
        return factory

    def create(self, name: str, options: Mapping[str, object] | None = None) -> DeviceAdapter:
        """Build adapter `name`; bad options raise ValueError from the adapter, naming the option."""
        adapter = self.factory(name)(options or {})
        if not isinstance(adapter, DeviceAdapter):
            raise AdapterError(f"adapter {name!r} returned {type(adapter).__name__}, not a DeviceAdapter")
        return adapter
