"""How long a benchmark run will take, and how far it is: the estimate printed before a run starts,
and "row k of N, elapsed, ETA" while the endpoint sweep measures.

The estimates are for a quiet 2-core machine. A measurement's wall time is fixed by the load
generator (wrk runs whole seconds: `wrk_seconds`); what varies is the work around it (request files,
the preflight request, starting wrk, reading /proc, looking up what a POST created), which a busy
machine slows down. A run records what each scenario took (`timings` in bench/results.json) and the
next estimate of the same mode and settings uses those figures instead of the built-in ones.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# Measured on the shared 2-core machine of 2026-12-05 (load average 8-15: a sweep row took 3.1-4.3 s
# at 1 s + 2 s; quiet the work around the measurement is shorter) and the run of 2026-11-26 (866 s
# for polling, scale, ingest, fan-out, scale-out, mTLS and 2.0b at 10 s + 2 s per measurement).
SWEEP_ROW_OVERHEAD_S = 0.5  # around each sweep row: request file, preflight, wrk starts, /proc reads
SWEEP_PASS_SETUP_S = 15.0  # a pass: working copy, subscriptions, tokens, VTN start, 2.0b registration
SWEEP_SEED_S = 20.0  # the sweep's database, the first time (cached in bench/.data afterwards)
BASELINE_START_S = 1.5  # starting bare aiohttp (each of the two baseline measurements)

# Other scenarios, full run at 10 s + 2 s per measurement, quiet machine, data already seeded
# (the first run also seeds 100,000 VENs and 1,000,000 resources: several minutes more).
FULL_SECONDS = {
    "polling": 270.0,  # 3 sizes each with bare aiohttp beside it, 3 alternating rounds of 1,000 vs 100,000
    "scale": 190.0,  # 5 lookups at 3 sizes, and 3 alternating rounds of both sizes
    "ingest": 200.0,  # 5 SQLite and 5 PostgreSQL runs
    "fanout": 40.0,
    "mqtt": 15.0,  # 8 s at load average 14, seeding 10,000 subscriptions included
    "mixed": 35.0,  # 31 s at load average 14
    "scaleout": 90.0,
    "mtls": 120.0,  # 5 alternating rounds of 10 s per mode, and the handshake probe
    "oadr20b": 120.0,
}
QUICK_SECONDS = {"polling": 17.0, "ingest": 30.0, "fanout": 10.0}  # 8, 28, 7 s at load average 9
REFERENCE_MEASURE_S = 12.0  # duration + warm-up the figures above were taken with (full run)
QUICK_MEASURE_S = 5.0


def wrk_seconds(seconds: float) -> int:
    """What wrk runs for `seconds` (-d takes whole seconds, at least one)."""
    return max(1, round(seconds))


def sweep_row_seconds(duration: float, warmup: float, overhead: float = SWEEP_ROW_OVERHEAD_S) -> float:
    return (wrk_seconds(warmup) if warmup > 0 else 0) + wrk_seconds(duration) + overhead


def sweep_seconds(
    rows_per_pass: list[int],
    duration: float,
    warmup: float,
    *,
    seeded: bool = True,
    overhead: float | None = None,
) -> float:
    """The sweep: its passes' setup and rows (a pass without rows is not started)."""
    per_row = sweep_row_seconds(duration, warmup, SWEEP_ROW_OVERHEAD_S if overhead is None else overhead)
    passes = sum(1 for n in rows_per_pass if n)
    return (0.0 if seeded else SWEEP_SEED_S) + passes * SWEEP_PASS_SETUP_S + sum(rows_per_pass) * per_row


def baseline_seconds(duration: float, warmup: float) -> float:
    """The two baseline measurements (before and after the scenarios)."""
    return 2 * (BASELINE_START_S + wrk_seconds(warmup) + wrk_seconds(duration))


def scenario_seconds(
    name: str, quick: bool, duration: float, warmup: float, recorded: dict[str, Any]
) -> float:
    """A scenario other than the sweep: its time in the last run of this mode and settings if one
    was recorded, else the built-in figure scaled by the time per measurement."""
    if name in recorded:
        return float(recorded[name])
    table, reference = (QUICK_SECONDS, QUICK_MEASURE_S) if quick else (FULL_SECONDS, REFERENCE_MEASURE_S)
    base = table.get(name, FULL_SECONDS.get(name, 60.0))
    return base * (wrk_seconds(duration) + wrk_seconds(warmup)) / reference


def fmt(seconds: float) -> str:
    """`m:ss` (or `h:mm:ss`)."""
    s = max(0, round(seconds))
    h, rest = divmod(s, 3600)
    m, sec = divmod(rest, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


@dataclass
class Progress:
    """Counts rows of a long piece of work and says how far it is: `[k/N] what, elapsed, ETA`.

    The ETA is the rows left times the mean time of the rows done so far (before the first row
    ends: the planned time per row), plus the setup still to come (`pending_setup_s`)."""

    total: int
    planned_row_s: float
    log: Callable[[str], None] = print
    clock: Callable[[], float] = time.monotonic
    pending_setup_s: float = 0.0
    done: int = 0
    row_seconds: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.started = self.clock()
        self._row_started: float | None = None

    def elapsed(self) -> float:
        return self.clock() - self.started

    def eta(self) -> float:
        per_row = sum(self.row_seconds) / len(self.row_seconds) if self.row_seconds else self.planned_row_s
        return (self.total - self.done) * per_row + self.pending_setup_s

    def begin(self, what: str) -> None:
        """A row starts: say which, how long the work has run and how long is left."""
        self._row_started = self.clock()
        self.log(
            f"  [{self.done + 1}/{self.total}] {what} (elapsed {fmt(self.elapsed())}, ETA {fmt(self.eta())})"
        )

    def end(self) -> float:
        """The row begun last is done (measured or failed); its wall time in seconds."""
        now = self.clock()
        took = now - (self._row_started if self._row_started is not None else now)
        self._row_started = None
        self.done += 1
        self.row_seconds.append(took)
        return took

    def setup_done(self, planned_s: float) -> None:
        """A setup step counted in `pending_setup_s` has finished."""
        self.pending_setup_s = max(0.0, self.pending_setup_s - planned_s)
