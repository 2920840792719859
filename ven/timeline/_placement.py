"""Where a plan's (sub-)intervals fall in a window of time: loop passes, randomizeStart shifts
(one draw per anchor and pass), truncation by the event's duration, and sub-interval cuts."""

from __future__ import annotations

import hashlib
import random
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass

from ven.timeline._plan import Plan, Span
from ven.timeline.intervals import Signal


@dataclass(frozen=True, slots=True)
class Piece:
    plan: Plan
    span: Span
    loop: int
    start: int  # shifted, microseconds from origin
    end: int
    signals: tuple[Signal, ...]


@dataclass(frozen=True, slots=True)
class Placement:
    """Places plans for one VEN: `seed` individualises its shifts, `symmetric` draws them in [-r, r]."""

    seed: int
    symmetric: bool

    def _shift(self, plan: Plan, span: Span, loop: int) -> int:
        if span.window == 0:
            return 0
        key = repr((plan.event.id, span.anchor, loop, self.seed)).encode()
        rng = random.Random(int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "big"))
        return rng.randint(-span.window if self.symmetric else 0, span.window)

    @staticmethod
    def _loop_range(plan: Plan, lo: int, hi: int | None) -> range:
        """Loop passes whose shifted occurrences may reach [lo, hi); hi None = open-ended."""
        first = max(0, (lo - plan.reach) // plan.cycle)
        last = None if hi is None else -(-(hi + plan.reach) // plan.cycle) - 1
        if plan.loops is not None:
            last = plan.loops - 1 if last is None else min(last, plan.loops - 1)
        if last is None:  # open-ended and forever: callers stop on their own
            last = first + 2**62
        return range(first, last + 1)

    def _placed(self, plan: Plan, loop: int) -> Iterator[tuple[Span, int, int]]:
        """(span, shifted start, cut length) of each span of a loop pass not truncated away."""
        for span in plan.spans:
            base = loop * plan.cycle + span.offset
            length = span.length if plan.end is None else min(span.length, plan.end - base)
            if length > 0:
                yield span, base + self._shift(plan, span, loop), length

    def pieces(self, plan: Plan, lo: int, hi: int) -> Iterator[Piece]:
        """The plan's (sub-)interval pieces overlapping [lo, hi), offsets from its origin."""
        for loop in self._loop_range(plan, lo, hi):
            for span, origin, length in self._placed(plan, loop):
                if origin >= hi or origin + length <= lo:
                    continue
                cuts = span.cuts
                i = max(0, bisect_right(cuts, lo - origin) - 1)
                while i < len(cuts) - 1 and cuts[i] < min(hi - origin, length):
                    start, end = cuts[i], min(cuts[i + 1], length)
                    if end > max(start, lo - origin):
                        signals = tuple(
                            sub_signal(sig, parts, start, span.length) for sig, parts in span.payloads
                        )
                        yield Piece(plan, span, loop, origin + start, origin + end, signals)
                    i += 1

    def next_boundary(self, plan: Plan, t: int) -> int | None:
        """The first piece start or end strictly after offset `t`; None if nothing is left."""
        best: int | None = None
        for loop in self._loop_range(plan, t, None):
            if best is not None and loop * plan.cycle - plan.reach > best:
                break  # every boundary of this and later passes comes after the best found
            for span, origin, length in self._placed(plan, loop):
                if origin + length <= t:
                    continue
                i = bisect_right(span.cuts, t - origin)
                candidate = origin + (span.cuts[i] if span.cuts[i] < length else length)
                best = candidate if best is None else min(best, candidate)
        return best


def sub_signal(signal: Signal, parts: int, offset: int, length: int) -> Signal:
    """The value holding `offset`: the largest i with floor(length * i / parts) <= offset."""
    if parts == 1:
        return signal
    index = min(parts - 1, (parts * (offset + 1) - 1) // length)
    return Signal(signal.payload_type, (signal.values[index],), signal.units, signal.currency)
