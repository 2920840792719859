"""What the timeline answers: (sub-)intervals placed on the time line and the signals they carry."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shared.models.common import Value


@dataclass(frozen=True)
class Signal:
    """One payload as it applies now: values (a single one for a sub-interval) plus descriptor context."""

    payload_type: str
    values: tuple[Value, ...]
    units: str | None = None
    currency: str | None = None

    @property
    def number(self) -> float | None:
        """The first value as a float; None if absent or not numeric (bools do not count)."""
        if not self.values:
            return None
        first = self.values[0]
        if isinstance(first, bool) or not isinstance(first, int | float):
            return None
        return float(first)


@dataclass(frozen=True)
class ActiveInterval:
    """One (sub-)interval occurrence of an event, placed on the time line."""

    event_id: str
    program_id: str
    event_name: str | None
    priority: int | None  # lower = more important; None = least important
    interval_id: int
    start: datetime
    end: datetime
    signals: tuple[Signal, ...]
    loop: int = 0  # which pass of a looping event

    def signal(self, payload_type: str) -> Signal | None:
        """The first signal of `payload_type`, if any."""
        return next((s for s in self.signals if s.payload_type == payload_type), None)
