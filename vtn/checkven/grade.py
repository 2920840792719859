"""Grading: what the VEN must have done in a run, one `Verdict` per check (pure functions).

Times are `time.monotonic()` seconds; `unit` is the scenario's time unit (scenario.py): a VEN that
polls and reports at least once a unit passes, with a margin of a few units for each reaction.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from shared.models import Report
from vtn.checkven.watch import Seen


@dataclass(frozen=True)
class Verdict:
    name: str
    title: str
    passed: bool
    detail: str


@dataclass(frozen=True)
class Timeline:
    """When the script did what (monotonic seconds), and the ids it used."""

    unit: float
    published: float
    changed: float  # price event modified, capacity event cancelled
    outage_from: float
    outage_to: float
    ended: float
    price_event: str
    capacity_event: str


@dataclass(frozen=True)
class StoredReport:
    at: float  # when the VTN stored it (monotonic, from its createdDateTime)
    report: Report


def _reads_events(s: Seen) -> bool:
    return s.method == "GET" and s.path.startswith("/events") and s.status == 200


def _first_after(seen: list[Seen], at: float) -> Seen | None:
    return next((s for s in seen if s.at >= at and _reads_events(s)), None)


def grade(t: Timeline, seen: list[Seen], reports: list[StoredReport], has_ven: bool) -> list[Verdict]:
    """Every check of the scenario, in order."""
    u = t.unit
    out: list[Verdict] = []

    def check(name: str, title: str, passed: bool, detail: str) -> None:
        out.append(Verdict(name, title, passed, detail))

    authed = [s for s in seen if s.status < 400]
    check(
        "onboard.token",
        "logs in with the printed credentials",
        bool(authed),
        f"{len(authed)} authenticated requests" if authed else "no request with a valid token",
    )
    check(
        "onboard.ven",
        "creates (or finds) its ven object",
        has_ven,
        "ven object stored for the client" if has_ven else "no ven object for the client (POST /vens)",
    )
    read = _first_after(seen, t.published)
    check(
        "events.read",
        "reads the published events",
        read is not None and read.at - t.published <= 3 * u,
        "no GET /events after publication"
        if read is None
        else f"GET {read.path} {read.at - t.published:.1f} s after publication",
    )
    price = sorted((r for r in reports if r.report.event_id == t.price_event), key=lambda r: r.at)
    first = price[0].at - t.published if price else None
    check(
        "reports.on-time",
        "first report on the price event within 3 units",
        first is not None and first <= 3 * u,
        "no report on the price event" if first is None else f"first report {first:.1f} s after publication",
    )
    times = [t.published] + [r.at for r in price if not t.outage_from <= r.at <= t.outage_to + 3 * u]
    gaps = [b - a for a, b in zip(times, times[1:], strict=False) if b <= t.ended]
    worst = max(gaps, default=None)
    check(
        "reports.cadence",
        "reports at least every 3 units while the event runs (outside the outage)",
        worst is not None and worst <= 3 * u,
        "no reports" if worst is None else f"{len(price)} reports, longest gap {worst:.1f} s",
    )
    keys = Counter(key for r in reports for key in _keys(r.report))
    twice = sum(1 for n in keys.values() if n > 1)
    check(
        "reports.exactly-once",
        "each reading reported once (no duplicates after retries)",
        bool(keys) and twice == 0,
        "no reports" if not keys else f"{len(keys)} readings, {twice} reported more than once",
    )
    reread = _first_after(seen, t.changed)
    check(
        "events.modification",
        "re-reads the events after a modification",
        reread is not None and reread.at - t.changed <= 3 * u,
        "no GET /events after the modification"
        if reread is None
        else f"GET {reread.path} {reread.at - t.changed:.1f} s after the modification",
    )
    late = [s for s in seen if s.event_id == t.capacity_event and s.at > t.changed + 2 * u]
    check(
        "events.cancellation",
        "stops reporting on a cancelled event within 2 units",
        not late,
        "no report on it after the cancellation" if not late else f"{len(late)} reports sent after it",
    )
    during = [s for s in seen if s.status == 503]
    back = next((s for s in seen if s.at >= t.outage_to and s.status < 400), None)
    check(
        "outage.retry",
        "retries during a 503 outage and comes back after it",
        bool(during) and back is not None and back.at - t.outage_to <= 3 * u,
        f"{len(during)} requests refused with 503; "
        + (
            "no successful request after it"
            if back is None
            else f"back {back.at - t.outage_to:.1f} s after it"
        ),
    )
    after = [r for r in price if r.at > t.outage_to]
    check(
        "outage.reports-resume",
        "reports reach the VTN again after the outage",
        bool(after),
        f"{len(after)} reports on the price event stored after the outage",
    )
    return out


def _keys(report: Report) -> list[tuple[str, str, str, str]]:
    """One key per reported reading: event, report name, resource, interval (start, else id)."""
    keys: list[tuple[str, str, str, str]] = []
    for resource in report.resources:
        for interval in resource.intervals:
            period = interval.interval_period
            when = (
                period.start.isoformat()
                if period is not None and period.start is not None
                else str(interval.id)
            )
            keys.append((report.event_id, report.report_name or "", resource.resource_name, when))
    return keys
