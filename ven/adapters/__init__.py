"""Device adapters: the interface a VEN uses to drive resources, and simulated devices."""

from ven.adapters.base import DeviceAdapter, Mode, OperatingState, Readings, Response, SimulatedDevice
from ven.adapters.registry import (
    BUILTIN_ADAPTERS,
    ENTRY_POINT_GROUP,
    AdapterError,
    AdapterRegistry,
    UnknownAdapterError,
)

__all__ = [
    "BUILTIN_ADAPTERS",
    "ENTRY_POINT_GROUP",
    "AdapterError",
    "AdapterRegistry",
    "DeviceAdapter",
    "Mode",
    "OperatingState",
    "Readings",
    "Response",
    "SimulatedDevice",
    "UnknownAdapterError",
]
