"""The VEN's view of time: which event intervals, and which payload values, apply at a given moment.

Pure: no I/O and no clock; every query takes `now`. Naive datetimes are read as UTC.

Placement follows `shared.timing.interval_spans` (default intervalPeriod, "follow the previous interval",
0001-01-01 = the event's modificationDateTime). On top of that (OpenADR 3.1 User Guide 7.3):

* Event origin O = the earliest of the event-level start and the interval starts; cycle C = end of the
  latest interval - O.
* Looping: `event.duration` D repeats the intervals every C over [O, O + D); the last pass is cut at O + D,
  so a D shorter than C drops the tail. No duration = one pass; D >= P9999Y = forever. Queries compute the
  loop index arithmetically ((t - O) // C), so the cost is O(intervals * (1 + 2 * randomizeStart / C)),
  whatever the year, and nothing is materialised.
* randomizeStart: the first interval and every interval carrying its own randomizeStart are "anchors"; each
  draws one shift per loop pass, and the intervals that follow an anchor move with it (UG: "all starts are
  shifted by the same amount"), so contiguous intervals stay contiguous. The shift is uniform in
  [0, randomizeStart] (or [-r, r] with `symmetric_randomize=True`, the UG wording) and comes from
  `random.Random(blake2b(event id, anchor interval id, loop, seed))`: stable across processes, unlike
  `hash()`, whose string hashing is salted per process. Truncation by D happens before the shift.
* Sub-intervals: a payload of a type in `SCALAR_PAYLOAD_TYPES` (one value per interval in the enumerations)
  carrying n > 1 values splits its interval into n equal parts, part i carrying values[i] (UG "multi-valued
  payloads"). Parts are cut at floor(L * i / n) microseconds. Payloads of one interval may have different n;
  the interval is then cut at the union of their boundaries, and every piece is an `ActiveInterval` whose
  `interval_id` is the event interval's id (what a SUB_INTERVALS report must echo). Other types (CURVE, OLS,
  DISPATCH_INSTRUCTION, ALERT_*, ...) keep all their values.
* Intervals are half-open [start, end); zero-length intervals are never active.

Where it lives: `Timeline` (schedule.py) answers the queries; an event is first reduced to offsets
from its origin (_plan.py), then placed in a window of time, loops, shifts and sub-intervals included
(_placement.py); intervals.py holds what the queries answer (`ActiveInterval`, `Signal`) and
changes.py compares two event sets (`changed_events`).
"""

from ven.timeline._plan import SCALAR_PAYLOAD_TYPES
from ven.timeline.changes import EventChanges, changed_events
from ven.timeline.intervals import ActiveInterval, Signal
from ven.timeline.schedule import Timeline

__all__ = [
    "SCALAR_PAYLOAD_TYPES",
    "ActiveInterval",
    "EventChanges",
    "Signal",
    "Timeline",
    "changed_events",
]
