"""Grading a 2.0b VEN: the same `Verdict`s as 3.1 (grade.py), from the messages it sent (watch20b).

A 2.0b VEN acknowledges every version of every event with oadrCreatedEvent (optIn or optOut): the
price event at modificationNumber 0 and 1 (after its modification), the capacity event at 0 and at
its cancelled version (1). Telemetry is checked when the VEN registered reports (oadrRegisterReport).
"""

from __future__ import annotations

from vtn.checkven.grade import Timeline, Verdict
from vtn.checkven.watch import Seen


def _ok(s: Seen, kind: str) -> bool:
    return s.status == 200 and s.message is not None and s.message.kind == kind


def _acked(seen: list[Seen], event_id: str, mod: int) -> Seen | None:
    return next(
        (
            s
            for s in seen
            if _ok(s, "oadrCreatedEvent")
            and s.message is not None
            and any(a.event_id == event_id and a.modification == mod and a.opt for a in s.message.acks)
        ),
        None,
    )


def grade_20b(t: Timeline, seen: list[Seen]) -> list[Verdict]:
    """Every check of the 2.0b scenario, in order."""
    u = t.unit
    out: list[Verdict] = []

    def check(name: str, title: str, passed: bool, detail: str) -> None:
        out.append(Verdict(name, title, passed, detail))

    registered = next((s for s in seen if _ok(s, "oadrCreatePartyRegistration")), None)
    check(
        "register",
        "registers (oadrCreatePartyRegistration) as the printed venName",
        registered is not None,
        "registered" if registered else "no successful oadrCreatePartyRegistration",
    )
    polls = [s.at for s in seen if _ok(s, "oadrPoll") or _ok(s, "oadrRequestEvent")]
    start = registered.at if registered is not None else t.published
    times = [start] + [a for a in polls if not t.outage_from <= a <= t.outage_to + 3 * u]
    gaps = [b - a for a, b in zip(times, times[1:], strict=False) if b <= t.ended]
    worst_poll = max(gaps, default=None)
    check(
        "poll",
        "polls the VTN (oadrPoll) at least every 3 units (outside the outage)",
        worst_poll is not None and worst_poll <= 3 * u and polls[-1] >= t.ended - 3 * u,
        "no oadrPoll answered"
        if not polls
        else f"{len(polls)} polls answered, longest gap {worst_poll or 0:.1f} s",
    )

    def ack_check(name: str, title: str, event_id: str, mod: int, since: float) -> None:
        ack = _acked(seen, event_id, mod)
        check(
            name,
            title,
            ack is not None and ack.at - since <= 3 * u,
            f"no oadrCreatedEvent for modificationNumber {mod}"
            if ack is None
            else f"acknowledged {ack.at - since:.1f} s after that version was published",
        )

    ack_check("events.ack", "acknowledges the price event (optIn/optOut)", t.price_event, 0, t.published)
    ack_check("events.ack-capacity", "acknowledges the capacity event", t.capacity_event, 0, t.published)
    ack_check(
        "events.modification",
        "acknowledges the modified price event (new modificationNumber)",
        t.price_event,
        1,
        t.changed,
    )
    ack_check(
        "events.cancellation", "acknowledges the cancelled capacity event", t.capacity_event, 1, t.changed
    )
    registers = [s for s in seen if _ok(s, "oadrRegisterReport")]
    updates = [s.at for s in seen if _ok(s, "oadrUpdateReport")]
    if not registers:
        check(
            "reports.cadence",
            "sends telemetry on cadence (when it registered reports)",
            True,
            "registered no reports: nothing to check",
        )
    else:
        start = registers[0].at
        times = [start] + [a for a in updates if not t.outage_from <= a <= t.outage_to + 3 * u]
        gaps = [b - a for a, b in zip(times, times[1:], strict=False) if b <= t.ended]
        worst = max(gaps, default=None)
        check(
            "reports.cadence",
            "sends telemetry (oadrUpdateReport) at least every 3 units (outside the outage)",
            bool(updates) and worst is not None and worst <= 3 * u,
            "registered reports but sent no oadrUpdateReport"
            if not updates
            else f"{len(updates)} updates, longest gap {worst or 0:.1f} s",
        )
    during = [s for s in seen if s.status == 503]
    back = next((s for s in seen if s.at >= t.outage_to and s.status == 200), None)
    check(
        "outage.retry",
        "keeps polling during a 503 outage and comes back after it",
        bool(during) and back is not None and back.at - t.outage_to <= 3 * u,
        f"{len(during)} requests refused with 503; "
        + (
            "no successful request after it"
            if back is None
            else f"back {back.at - t.outage_to:.1f} s after it"
        ),
    )
    return out
