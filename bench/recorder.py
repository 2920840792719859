"""A run's rows on their way to bench/results.json: ratios against the baseline, written as they
come, and the end of a run that is stopped (bench/run.py)."""

from __future__ import annotations

import copy
import signal
from typing import Any

from bench import report
from bench.load import LoadResult
from bench.report import Row


def finalize(rows: list[Row], baseline: float) -> None:
    """Ratios against the run's baseline, or the one measured beside the row where there is one
    (`extra["baseline_beside"]`, bench/context.baseline_beside), and targets stated as minimum
    throughput/ratio."""
    for row in rows:
        if row.throughput is None or row.scenario == "fanout" or row.extra.get("own_load"):
            continue  # no like-for-like baseline: other units, or a load generator of their own
        base = row.extra.get("baseline_beside") or baseline
        row.baseline_rps = round(base, 1)
        row.ratio = round(row.throughput / base, 3) if base else None
        checks = []
        if "min_rps" in row.extra:
            checks.append(row.throughput >= row.extra["min_rps"])
        if "min_ratio" in row.extra and row.ratio is not None:
            checks.append(row.ratio >= row.extra["min_ratio"])
        if checks and row.met is None:
            row.met = all(checks) and row.errors == 0


class Stopped(BaseException):
    """SIGTERM: end the run as Ctrl-C does (servers stopped, rows kept, the page rendered)."""


def stop(signum: int, _frame: object) -> None:
    raise Stopped(f"signal {signal.Signals(signum).name}")


class Recorder:
    """Writes the run's rows to bench/results.json as they come (ctx.on_row)."""

    def __init__(self, run: dict[str, Any], rows: list[Row], partial: bool, write: bool) -> None:
        self.run, self.rows, self.partial, self.write = run, rows, partial, write
        self.before: LoadResult | None = None  # the baseline before the scenarios
        self.after: LoadResult | None = None  # and after them

    @property
    def baseline(self) -> float | None:
        """What ratios are taken against while the run goes: the baseline measured before."""
        return self.before.rps if self.before is not None else None

    def row(self, row: Row) -> None:
        row.run = self.run["started"]
        self.save(final=False)

    def save(self, final: bool) -> dict[str, Any]:
        rows = self.rows
        if not final and self.baseline is not None:  # provisional ratios, on copies
            rows = [copy.copy(r) for r in rows]
            finalize(rows, self.baseline)
        self.run["rows"] = [r.as_dict() for r in rows]
        if not self.write:
            return {}
        return report.merge(self.run, self.partial, final=final)
