"""ven.timeline: interval placement, loops, randomisation, priorities, sub-intervals, diffs (fake clock)."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from shared.models import Event
from ven.timeline import ActiveInterval, Timeline, changed_events

T0 = datetime(2024, 1, 1, tzinfo=UTC)
H = timedelta(hours=1)
M = timedelta(minutes=1)


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def make_event(event_id: str = "e1", **fields: Any) -> Event:
    created = fields.pop("created", T0 - timedelta(days=1))
    modified = fields.pop("modified", created)
    doc: dict[str, Any] = {
        "id": event_id,
        "createdDateTime": iso(created),
        "modificationDateTime": iso(modified),
        "programID": "p1",
        "payloadDescriptors": [{"payloadType": "PRICE", "units": "KWH", "currency": "EUR"}],
    }
    doc.update(fields)
    return Event.from_wire(doc)


def prices(*values: float) -> list[dict[str, Any]]:
    return [{"id": i, "payloads": [{"type": "PRICE", "values": [v]}]} for i, v in enumerate(values)]


def only(items: list[ActiveInterval]) -> ActiveInterval:
    assert len(items) == 1, items
    return items[0]


def price_at(timeline: Timeline, moment: datetime) -> float | None:
    signal = timeline.signals_at(moment).get("PRICE")
    return None if signal is None else signal.number


def test_single_interval_is_half_open() -> None:
    event = make_event(intervalPeriod={"start": iso(T0), "duration": "PT1H"}, intervals=prices(0.25))
    timeline = Timeline([event])
    assert timeline.active_at(T0 - M) == []
    item = only(timeline.active_at(T0))
    assert (item.event_id, item.program_id, item.interval_id) == ("e1", "p1", 0)
    assert (item.start, item.end) == (T0, T0 + H)
    signal = item.signal("PRICE")
    assert signal is not None
    assert (signal.values, signal.units, signal.currency) == ((0.25,), "KWH", "EUR")
    assert timeline.active_at(T0 + H) == []


def test_intervals_follow_each_other_with_own_durations() -> None:
    intervals = prices(0.1, 0.2, 0.3)
    intervals[1]["intervalPeriod"] = {"duration": "PT2H"}
    event = make_event(intervalPeriod={"start": iso(T0), "duration": "PT1H"}, intervals=intervals)
    timeline = Timeline([event])
    assert [price_at(timeline, T0 + k * H) for k in range(5)] == [0.1, 0.2, 0.2, 0.3, None]
    assert only(timeline.active_at(T0 + 3 * H)).start == T0 + 3 * H


def test_interval_with_its_own_start_leaves_a_gap_and_later_ones_follow_it() -> None:
    intervals = prices(0.1, 0.2, 0.3)
    intervals[1]["intervalPeriod"] = {"start": iso(T0 + 5 * H)}
    event = make_event(intervalPeriod={"start": iso(T0), "duration": "PT1H"}, intervals=intervals)
    timeline = Timeline([event])
    assert price_at(timeline, T0 + 30 * M) == 0.1
    assert timeline.active_at(T0 + 2 * H) == []
    assert price_at(timeline, T0 + 5 * H) == 0.2
    assert price_at(timeline, T0 + 6 * H) == 0.3
    assert timeline.next_change_after(T0 + 2 * H) == T0 + 5 * H


def test_now_sentinel_starts_at_modification_time() -> None:
    modified = T0 + 3 * H
    event = make_event(
        modified=modified,
        intervalPeriod={"start": "0001-01-01", "duration": "P9999Y"},
        intervals=[{"id": 0, "payloads": [{"type": "SIMPLE", "values": [2]}]}],
    )
    timeline = Timeline([event])
    assert timeline.active_at(modified - M) == []
    item = only(timeline.active_at(modified + timedelta(days=365 * 100)))
    assert item.start == modified
    assert item.end == datetime.max.replace(tzinfo=UTC)  # clamped, not overflowing
    assert timeline.next_change_after(modified + H) is None  # the end lies beyond year 9999


def test_event_duration_loops_and_truncates_the_last_pass() -> None:
    event = make_event(
        duration="PT7H", intervalPeriod={"start": iso(T0), "duration": "PT1H"}, intervals=prices(1, 2, 3)
    )
    timeline = Timeline([event])
    assert [price_at(timeline, T0 + k * H + M) for k in range(8)] == [1, 2, 3, 1, 2, 3, 1, None]
    item = only(timeline.active_at(T0 + 6 * H + M))
    assert (item.interval_id, item.loop, item.start) == (0, 2, T0 + 6 * H)
    assert timeline.next_change_after(T0 + 6 * H + M) == T0 + 7 * H
    assert timeline.next_change_after(T0 + 7 * H) is None


def test_event_duration_shorter_than_intervals_drops_the_tail() -> None:
    event = make_event(
        duration="PT12H", intervalPeriod={"start": iso(T0), "duration": "PT1H"}, intervals=prices(*range(24))
    )
    timeline = Timeline([event])
    assert price_at(timeline, T0 + 11 * H) == 11
    assert timeline.active_at(T0 + 12 * H) == []


def test_forever_loop_fifty_years_later_is_computed_not_iterated() -> None:
    event = make_event(
        duration="P9999Y", intervalPeriod={"start": iso(T0), "duration": "PT1H"}, intervals=prices(*range(24))
    )
    timeline = Timeline([event])
    later = datetime(2074, 3, 15, 17, 20, tzinfo=UTC)
    began = time.perf_counter()
    item = only(timeline.active_at(later))
    change = timeline.next_change_after(later)
    assert time.perf_counter() - began < 0.5
    assert item.interval_id == 17
    assert item.loop == (later - T0).days
    assert (item.start, item.end) == (
        datetime(2074, 3, 15, 17, tzinfo=UTC),
        datetime(2074, 3, 15, 18, tzinfo=UTC),
    )
    assert change == datetime(2074, 3, 15, 18, tzinfo=UTC)


def test_zero_duration_event_is_cancelled() -> None:
    event = make_event(
        duration="PT0S", intervalPeriod={"start": "0001-01-01", "duration": "PT1H"}, intervals=prices(1)
    )
    timeline = Timeline([event])
    assert timeline.active_at(T0) == [] and timeline.next_change_after(T0 - timedelta(days=2)) is None


def randomized(randomize: str = "PT10M", **fields: Any) -> Event:
    return make_event(
        intervalPeriod={"start": iso(T0), "duration": "PT1H", "randomizeStart": randomize},
        intervals=prices(1, 2, 3),
        **fields,
    )


def starts(timeline: Timeline) -> list[datetime]:
    return [a.start for a in timeline.upcoming(T0 - H, 6 * H)]


def test_randomize_start_is_bounded_shared_by_following_intervals_and_seeded() -> None:
    shifts = set()
    for seed in range(30):
        timeline = Timeline([randomized()], seed=seed)
        first, second, third = starts(timeline)
        shift = first - T0
        assert timedelta(0) <= shift <= 10 * M
        assert (second - first, third - second) == (H, H)  # contiguous intervals stay contiguous
        assert starts(Timeline([randomized()], seed=seed)) == [first, second, third]
        shifts.add(shift)
    assert len(shifts) > 20


def test_symmetric_randomize_may_shift_earlier() -> None:
    shifts = {
        starts(Timeline([randomized()], seed=seed, symmetric_randomize=True))[0] - T0 for seed in range(30)
    }
    assert all(-10 * M <= s <= 10 * M for s in shifts)
    assert min(shifts) < timedelta(0) < max(shifts)


def test_randomize_start_is_drawn_per_loop_and_per_own_window() -> None:
    timeline = Timeline([randomized(duration="P9999Y")], seed=7)
    later = [a for a in timeline.upcoming(T0 + timedelta(days=3), timedelta(days=1)) if a.interval_id == 0]
    assert len({(a.start - T0) % (3 * H) for a in later}) > 1  # each pass has its own shift
    intervals = prices(1, 2)
    intervals[1]["intervalPeriod"] = {"start": iso(T0 + 5 * H), "randomizeStart": "PT30M"}
    event = make_event(intervalPeriod={"start": iso(T0), "duration": "PT1H"}, intervals=intervals)
    own = [a.start for a in Timeline([event], seed=3).upcoming(T0, timedelta(days=1))]
    assert own[0] == T0 and T0 + 5 * H <= own[1] <= T0 + 5 * H + 30 * M


def test_randomize_start_does_not_depend_on_the_process_hash_seed() -> None:
    code = (
        "from datetime import datetime, timezone\n"
        "from shared.models import Event\n"
        "from ven.timeline import Timeline\n"
        "e = Event.from_wire({'id': 'ev-x', 'createdDateTime': '2024-01-01T00:00:00Z',"
        " 'modificationDateTime': '2024-01-01T00:00:00Z', 'programID': 'p', 'intervalPeriod':"
        " {'start': '2024-01-01T00:00:00Z', 'duration': 'PT1H', 'randomizeStart': 'PT1H'},"
        " 'intervals': [{'id': 0, 'payloads': []}]})\n"
        "print(Timeline([e], seed=5).next_change_after(datetime(2023, 1, 1, tzinfo=timezone.utc)))\n"
    )
    root = Path(__file__).resolve().parents[2]
    outputs = {
        subprocess.run(
            [sys.executable, "-c", code],
            cwd=root,
            env={"PYTHONHASHSEED": str(hash_seed), "PYTHONPATH": str(root)},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for hash_seed in (1, 2, 3)
    }
    assert len(outputs) == 1 and "2024-01-01" in outputs.pop()


def test_overlapping_events_most_important_priority_then_latest_modification_wins() -> None:
    period = {"start": iso(T0), "duration": "PT4H"}
    low = make_event("low", priority=5, intervalPeriod=period, intervals=prices(0.10))
    both = make_event(
        "both",
        priority=1,
        created=T0 - timedelta(days=3),
        intervalPeriod=period,
        intervals=[
            {"id": 0, "payloads": [{"type": "PRICE", "values": [0.30]}, {"type": "SIMPLE", "values": [1]}]}
        ],
    )
    newer = make_event(
        "newer",
        priority=1,
        created=T0 - timedelta(days=2),
        modified=T0 - H,
        intervalPeriod=period,
        intervals=prices(0.50),
    )
    unranked = make_event("unranked", intervalPeriod=period, intervals=prices(0.90))
    timeline = Timeline([unranked, low, newer, both])
    assert [a.event_id for a in timeline.active_at(T0 + H)] == ["both", "newer", "low", "unranked"]
    effective = timeline.effective_at(T0 + H)
    assert effective["PRICE"].event_id == "newer"  # same priority as "both", modified later
    assert effective["SIMPLE"].event_id == "both"
    assert price_at(Timeline([unranked, low]), T0 + H) == 0.10  # None is the least important


def test_modified_and_deleted_events_show_up_in_diff_and_new_timeline() -> None:
    period = {"start": iso(T0), "duration": "PT1H"}
    kept = make_event("kept", intervalPeriod=period, intervals=prices(0.1))
    edited = make_event("edited", priority=0, intervalPeriod=period, intervals=prices(0.2))
    gone = make_event("gone", priority=0, intervalPeriod=period, intervals=prices(0.3))
    old = Timeline([kept, edited, gone])
    edited_v2 = make_event("edited", priority=0, modified=T0, intervalPeriod=period, intervals=prices(0.7))
    fresh = make_event("fresh", intervalPeriod=period, intervals=prices(0.4))
    new = Timeline([kept, edited_v2, fresh])
    changes = Timeline.diff(old, new)
    assert (changes.added, changes.changed, changes.removed) == (
        frozenset({"fresh"}),
        frozenset({"edited"}),
        frozenset({"gone"}),
    )
    assert changes == changed_events([kept, edited, gone], {e.id: e for e in (kept, edited_v2, fresh)})
    assert price_at(new, T0) == 0.7
    assert "gone" not in {a.event_id for a in new.active_at(T0)}
    assert not changed_events([kept], [kept])


def test_next_change_after_walks_starts_ends_and_sub_intervals() -> None:
    intervals = [{"id": 0, "payloads": [{"type": "PRICE", "values": [1, 2]}]}, *prices(3)[:1]]
    intervals[1]["id"] = 1
    intervals[1]["intervalPeriod"] = {"start": iso(T0 + 4 * H)}
    event = make_event(intervalPeriod={"start": iso(T0), "duration": "PT2H"}, intervals=intervals)
    timeline = Timeline([event])
    moments = [T0 - timedelta(days=1)]
    while (step := timeline.next_change_after(moments[-1])) is not None:
        moments.append(step)
    assert moments[1:] == [T0, T0 + H, T0 + 2 * H, T0 + 4 * H, T0 + 6 * H]
    assert Timeline([]).next_change_after(T0) is None


def test_multi_valued_price_splits_into_sub_intervals() -> None:
    event = make_event(
        intervalPeriod={"start": iso(T0), "duration": "PT3H"},
        intervals=[
            {
                "id": 0,
                "payloads": [
                    {"type": "PRICE", "values": [0.17, 0.03, 0.11]},
                    {"type": "GHG", "values": [100, 200]},
                    {"type": "DISPATCH_INSTRUCTION", "values": ["a", "b"]},
                ],
            }
        ],
    )
    pieces = Timeline([event]).upcoming(T0, 3 * H)
    assert [(p.start - T0, p.end - T0) for p in pieces] == [
        (timedelta(0), H),
        (H, 90 * M),
        (90 * M, 2 * H),
        (2 * H, 3 * H),
    ]
    assert all(p.interval_id == 0 for p in pieces)
    table = [tuple(s.values for s in p.signals) for p in pieces]
    assert table == [
        ((0.17,), (100,), ("a", "b")),
        ((0.03,), (100,), ("a", "b")),
        ((0.03,), (200,), ("a", "b")),
        ((0.11,), (200,), ("a", "b")),
    ]


def test_upcoming_includes_active_and_orders_by_start() -> None:
    first = make_event("a", intervalPeriod={"start": iso(T0), "duration": "PT1H"}, intervals=prices(1, 2, 3))
    second = make_event(
        "b", intervalPeriod={"start": iso(T0 + 90 * M), "duration": "PT1H"}, intervals=prices(9)
    )
    found = Timeline([second, first]).upcoming(T0 + 30 * M, 2 * H)
    assert [(a.event_id, a.interval_id) for a in found] == [("a", 0), ("a", 1), ("b", 0), ("a", 2)]


def test_naive_times_read_as_utc_and_bad_events_are_skipped() -> None:
    good = make_event(
        intervalPeriod={"start": "2024-01-01T00:00:00", "duration": "PT1H"}, intervals=prices(5)
    )
    bad = make_event("bad", intervalPeriod={"start": iso(T0), "duration": "one hour"}, intervals=prices(6))
    timeline = Timeline.build([good, bad])
    assert price_at(timeline, datetime(2024, 1, 1, 0, 30)) == 5
    assert set(timeline.skipped) == {"bad"}


def test_sentinel_start_on_a_later_interval_follows_the_previous_one() -> None:
    intervals = prices(1, 2)
    intervals[1]["intervalPeriod"] = {"start": "0001-01-01"}
    event = make_event(
        modified=T0 + timedelta(days=1),
        intervalPeriod={"start": iso(T0), "duration": "PT1H"},
        intervals=intervals,
    )
    assert price_at(Timeline([event]), T0 + H) == 2  # UG 7.3: "immediately after the previous interval"
