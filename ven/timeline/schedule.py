"""`Timeline`: the schedule of a set of events, answering what applies at a moment and what comes."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

from shared.models.event import Event
from shared.timing import as_utc
from ven.timeline._placement import Piece, Placement
from ven.timeline._plan import END_OF_TIME, Plan, at_offset, compile_plan, micros
from ven.timeline.changes import EventChanges, changed_events, events_by_id
from ven.timeline.intervals import ActiveInterval, Signal


class Timeline:
    """Immutable schedule of a set of events. Rebuild it when the event set changes (see `diff`).

    `seed` individualises randomizeStart: give each VEN its own (e.g. derived from its name), otherwise
    all VENs with the default seed 0 shift alike and randomisation achieves nothing.
    """

    def __init__(
        self, events: Iterable[Event], *, seed: int | None = None, symmetric_randomize: bool = False
    ) -> None:
        self._placement = Placement(0 if seed is None else seed, symmetric_randomize)
        self._events = events_by_id(events)
        self._plans: list[Plan] = []
        self._skipped: dict[str, str] = {}
        for event in self._events.values():
            try:
                plan = compile_plan(event)
            except (ValueError, OverflowError) as exc:  # one bad event must not take the others down
                self._skipped[event.id] = str(exc)
                continue
            if plan is not None:
                self._plans.append(plan)

    @classmethod
    def build(
        cls, events: Iterable[Event], *, seed: int | None = None, symmetric_randomize: bool = False
    ) -> Timeline:
        return cls(events, seed=seed, symmetric_randomize=symmetric_randomize)

    @property
    def events(self) -> Mapping[str, Event]:
        """The events this timeline was built from, by id."""
        return dict(self._events)

    @property
    def skipped(self) -> Mapping[str, str]:
        """Events that could not be placed (bad durations), with the reason."""
        return dict(self._skipped)

    @staticmethod
    def diff(old: Timeline, new: Timeline) -> EventChanges:
        return changed_events(old._events, new._events)

    def active_at(self, now: datetime) -> list[ActiveInterval]:
        """Every (sub-)interval covering `now`, most important first, then oldest event first."""
        now = as_utc(now)
        found: list[ActiveInterval] = []
        for plan in self._plans:
            t = micros(now - plan.origin)
            found.extend(self._interval(p) for p in self._placement.pieces(plan, t, t + 1))
        found.sort(key=self._rank)
        return found

    def effective_at(self, now: datetime) -> dict[str, ActiveInterval]:
        """Per payload type, the interval that wins: lowest priority number, then latest modified event.

        Within one event, the later-starting interval wins (explicit overlaps by own start times).
        """
        best: dict[str, tuple[tuple[float, float, str, float, int], ActiveInterval]] = {}
        for item in self.active_at(now):
            event = self._events[item.event_id]
            key = (
                _priority(item.priority),
                -as_utc(event.modification_date_time).timestamp(),
                item.event_id,
                -item.start.timestamp(),
                -item.interval_id,
            )
            for signal in item.signals:
                held = best.get(signal.payload_type)
                if held is None or key < held[0]:
                    best[signal.payload_type] = (key, item)
        return {ptype: item for ptype, (_, item) in best.items()}

    def signals_at(self, now: datetime) -> dict[str, Signal]:
        """The winning signal per payload type: what device adapters receive."""
        winners = self.effective_at(now).items()
        return {ptype: signal for ptype, item in winners if (signal := item.signal(ptype)) is not None}

    def upcoming(self, now: datetime, horizon: timedelta) -> list[ActiveInterval]:
        """(Sub-)intervals overlapping [now, now + horizon), active ones included, by start time."""
        now = as_utc(now)
        found: list[ActiveInterval] = []
        for plan in self._plans:
            t = micros(now - plan.origin)
            found.extend(
                self._interval(p) for p in self._placement.pieces(plan, t, t + max(1, micros(horizon)))
            )
        found.sort(key=lambda a: (a.start, self._rank(a)))
        return found

    def next_change_after(self, now: datetime) -> datetime | None:
        """The first (sub-)interval start or end strictly after `now`; None if nothing is left."""
        now = as_utc(now)
        best: datetime | None = None
        for plan in self._plans:
            t = micros(now - plan.origin)
            found = self._placement.next_boundary(plan, t)
            moment = None if found is None else at_offset(plan.origin, found)
            if moment is not None and moment != END_OF_TIME:  # a boundary past year 9999 never comes
                best = moment if best is None else min(best, moment)
        return best

    # -- internals -------------------------------------------------------------------------------

    def _rank(self, item: ActiveInterval) -> tuple[float, datetime, str, datetime, int]:
        created = as_utc(self._events[item.event_id].created_date_time)
        return (_priority(item.priority), created, item.event_id, item.start, item.interval_id)

    def _interval(self, piece: Piece) -> ActiveInterval:
        event = piece.plan.event
        return ActiveInterval(
            event_id=event.id,
            program_id=event.program_id,
            event_name=event.event_name,
            priority=event.priority,
            interval_id=piece.span.interval_id,
            start=at_offset(piece.plan.origin, piece.start),
            end=at_offset(piece.plan.origin, piece.end),
            signals=piece.signals,
            loop=piece.loop,
        )


def _priority(value: int | None) -> float:
    return math.inf if value is None else float(value)
