"""Verification figures equal figures computed by hand for a fixture data set.

Feeder `feeder-12` (three houses, one resource each) had a capacity event on Monday 2026-12-07,
17:00-19:00 UTC: IMPORT_CAPACITY_LIMIT 6 kW and PRICE 0.30. History: hourly USAGE reports on the
weekdays before it; 2026-12-02 had an event of the same program (left out of baselines, with a
usage of 9.9 kWh that would show if it were not). Weekends are left out for a weekday event.

By hand (10 of 10, same-day adjustment on 13:00-16:00, capped 0.8-1.2):
- r1: 17:00 mean of 10 days = 2.0, 18:00 = 3.0; the event morning ran 1.1 vs 1.0 -> x1.1:
  baseline 2.2 + 3.3 = 5.5; actual 1.2 + 2.3 = 3.5; delivered 2.0 kWh; incentive 0.60.
  The report of the event hours arrived at 19:30: hour 17 (due 19:00) late, hour 18 on time.
- r2: baseline 4.0 per hour; the morning ran 1.5 vs 1.0 -> capped x1.2: 4.8 + 4.8 = 9.6;
  17:00 actual 4.0 (delivered 0.8), 18:00 never reported (missing, not filled in); incentive 0.24.
- r3: baseline 1.0 per hour, no report on the event day at all (no adjustment either): missing.
- Ask: the limit is per site (OpenADR: "the maximum import level for the site"), 2 kW; each
  house's baseline above it: r1 0.2 + 1.3 = 1.5, r2 2.8 + 2.8 = 5.6, r3 0; the area 7.1 kWh.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from support.api_data import bl_ven, create
from support.harness import Api, Vtn

from shared.enums import Role
from shared.models import Event, Program, Report
from vtn.core.state import STATE
from vtn.programs.areas import AreaKind, MemberKind, add_area, set_member
from vtn.programs.verification.baseline import TenOfTen
from vtn.programs.verification.collect import verify
from vtn.programs.verification.figures import Status
from vtn.programs.verification.render import to_csv

EVENT_DAY = date(2026, 12, 7)  # a Monday
H = timedelta(hours=1)
R1_17 = [2.0, 2.2, 1.8, 2.0, 2.4, 1.6, 2.0, 2.0, 2.2, 1.8]  # the 10 comparable days, newest first


def _weekdays_before(day: date, count: int) -> list[date]:
    out, d = [], day
    while len(out) < count:
        d -= timedelta(days=1)
        if d.weekday() < 5:
            out.append(d)
    return out


def at(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


# 11 weekdays back: 2026-12-02 is the excluded event day, so 10 remain.
DAYS = _weekdays_before(EVENT_DAY, 11)
EXCLUDED = date(2026, 12, 2)
BASELINE_DAYS = [d for d in DAYS if d != EXCLUDED]


def _history(resource: str, day: date) -> dict[int, float]:
    if day == EXCLUDED:
        return dict.fromkeys(range(13, 19), 9.9)
    i = BASELINE_DAYS.index(day)
    morning = dict.fromkeys(range(13, 17), 1.0)
    return {
        "r1": {**morning, 17: R1_17[i], 18: 3.0},
        "r2": {**morning, 17: 4.0, 18: 4.0},
        "r3": {**morning, 17: 1.0, 18: 1.0},
    }[resource]


def test_ten_of_ten_by_hand() -> None:
    usage = {}
    for d in DAYS:
        usage.update({at(d, h): v for h, v in _history("r1", d).items()})
    # Weekend days with huge usage must not count for a weekday.
    usage.update({at(date(2026, 12, 5), 17): 50.0, at(date(2026, 12, 6), 17): 50.0})
    usage.update({at(EVENT_DAY, h): 1.1 for h in (13, 14, 15)})
    method = TenOfTen()
    hours = [at(EVENT_DAY, 17), at(EVENT_DAY, 18)]
    found = method.baseline(usage, hours, frozenset({EXCLUDED}), UTC)
    assert found.days == tuple(BASELINE_DAYS)
    assert found.adjustment == pytest.approx(1.1)
    assert found.values == {hours[0]: pytest.approx(2.2), hours[1]: pytest.approx(3.3)}
    # Without leaving the event day out, its 9.9 would enter the means (pushing out the oldest day):
    # the morning baseline becomes (9.9 + 9 x 1.0) / 10 = 1.89, the ratio 1.1 / 1.89 is capped at 0.8.
    unexcluded = method.baseline(usage, hours, frozenset(), UTC)
    assert unexcluded.adjustment == 0.8
    assert unexcluded.values[hours[0]] == pytest.approx((9.9 + sum(R1_17[:9])) / 10 * 0.8)
    # Capped: a morning at 2x the baseline scales it by 1.2 only.
    usage.update({at(EVENT_DAY, h): 2.0 for h in (13, 14, 15)})
    assert method.baseline(usage, hours, frozenset({EXCLUDED}), UTC).adjustment == 1.2


def _report(client_id: str, event_id: str, name: str, rows: dict[datetime, float], sent: datetime) -> Report:
    return Report.model_validate(
        {
            "id": f"{client_id}-{name}-{sent.isoformat()}",
            "createdDateTime": sent,
            "modificationDateTime": sent,
            "eventID": event_id,
            "clientID": client_id,
            "clientName": client_id,
            "resources": [
                {
                    "resourceName": name,
                    "intervals": [
                        {
                            "id": i,
                            "intervalPeriod": {"start": start.isoformat(), "duration": "PT1H"},
                            "payloads": [{"type": "USAGE", "values": [kwh]}],
                        }
                        for i, (start, kwh) in enumerate(sorted(rows.items()))
                    ],
                }
            ],
        }
    )


def _event(
    program_id: str, name: str, start: datetime, targets: list[str] | None, **payloads: float
) -> Event:
    now = datetime(2026, 11, 1, tzinfo=UTC)
    return Event.model_validate(
        {
            "id": name,
            "createdDateTime": now,
            "modificationDateTime": now,
            "programID": program_id,
            "eventName": name,
            "targets": targets,
            "intervalPeriod": {"start": start.isoformat(), "duration": "PT1H"},
            "intervals": [
                {"id": i, "payloads": [{"type": k, "values": [v]} for k, v in payloads.items()]}
                for i in range(2)
            ],
        }
    )


async def test_verification_equals_the_hand_computed_figures(vtn: Vtn, bl: Api) -> None:
    core = vtn.client.server.app[STATE].core
    houses = {}
    for name in ("house-a", "house-b", "house-c"):
        houses[name] = await vtn.login(name, Role.VEN)
        await create(bl, "/vens", bl_ven(name, houses[name].client_id, None))
    await add_area(core, "feeder-12", AreaKind.FEEDER, 6.0, 0.0)
    for name in houses:
        await set_member(core, "feeder-12", MemberKind.VEN, name, member=True)
    now = datetime(2026, 11, 1, tzinfo=UTC)
    stamp = {"createdDateTime": now, "modificationDateTime": now}
    async with vtn.store.transaction() as tx:
        for pid in ("capacity", "telemetry"):
            await tx.programs.insert(Program.model_validate({"id": pid, "programName": pid, **stamp}))
        await tx.events.insert(_event("telemetry", "telemetry", now, None))
        await tx.events.insert(_event("capacity", "earlier", at(EXCLUDED, 17), ["feeder-12"], PRICE=0.3))
        event = _event(
            "capacity", "evening", at(EVENT_DAY, 17), ["feeder-12"], IMPORT_CAPACITY_LIMIT=2.0, PRICE=0.3
        )
        await tx.events.insert(event)
        clients = {"r1": houses["house-a"], "r2": houses["house-b"], "r3": houses["house-c"]}
        for res, api in clients.items():
            for d in DAYS:
                rows = {at(d, h): v for h, v in _history(res, d).items()}
                await tx.reports.insert(
                    _report(api.client_id, "telemetry", res, rows, at(d, 20)), {"program_id": "telemetry"}
                )
        ev = at(EVENT_DAY, 0)
        await tx.reports.insert(
            _report(
                houses["house-a"].client_id,
                "telemetry",
                "r1",
                {ev + 13 * H: 1.1, ev + 14 * H: 1.1, ev + 15 * H: 1.1},
                ev + 16 * H,
            ),
            {"program_id": "telemetry"},
        )
        await tx.reports.insert(
            _report(
                houses["house-a"].client_id,
                "evening",
                "r1",
                {ev + 17 * H: 1.2, ev + 18 * H: 2.3},
                ev + 19.5 * H,
            ),
            {"program_id": "capacity"},
        )
        await tx.reports.insert(
            _report(
                houses["house-b"].client_id,
                "evening",
                "r2",
                {ev + 13 * H: 1.5, ev + 14 * H: 1.5, ev + 15 * H: 1.5, ev + 17 * H: 4.0},
                ev + 18 * H,
            ),
            {"program_id": "capacity"},
        )

    found = await verify(core, "evening")
    rows = {(r.level, r.ven, r.resource): r.figures for r in found.rows}
    ask = 7.1
    share = {"r1": 1.5, "r2": 5.6, "r3": 0.0}
    r1 = rows[("resource", "house-a", "r1")]
    assert (r1.baseline_kwh, r1.actual_kwh, r1.delivered_kwh) == pytest.approx((5.5, 3.5, 2.0))
    assert r1.asked_kwh == pytest.approx(share["r1"])
    assert r1.share == pytest.approx(2.0 / share["r1"])
    assert r1.incentive == pytest.approx(0.60)
    assert (r1.missing_hours, r1.late_hours, r1.status) == (0, 1, Status.LATE)
    r2 = rows[("resource", "house-b", "r2")]
    assert (r2.baseline_kwh, r2.actual_kwh, r2.delivered_kwh) == pytest.approx((9.6, 4.0, 0.8))
    assert r2.incentive == pytest.approx(0.24)
    assert (r2.missing_hours, r2.status) == (1, Status.PARTIAL)
    r3 = rows[("resource", "house-c", "r3")]
    assert (r3.baseline_kwh, r3.actual_kwh, r3.delivered_kwh, r3.incentive) == (2.0, 0.0, 0.0, None)
    assert (r3.missing_hours, r3.status, r3.asked_kwh, r3.share) == (2, Status.MISSING, 0.0, None)
    assert r2.share == pytest.approx(0.8 / 5.6)
    assert found.baselines[next(k for k in found.baselines if k.resource_name == "r3")].adjustment is None
    area = rows[("area", "", "")]
    assert (area.baseline_kwh, area.actual_kwh, area.delivered_kwh) == pytest.approx((17.1, 7.5, 2.8))
    assert area.asked_kwh == pytest.approx(ask)
    assert area.share == pytest.approx(2.8 / 7.1)
    assert area.incentive == pytest.approx(0.84)
    assert (area.missing_hours, area.late_hours, area.status) == (3, 1, Status.PARTIAL)
    assert rows[("ven", "house-c", "")].status == Status.MISSING
    assert rows[("ven", "house-b", "")].delivered_kwh == pytest.approx(0.8)

    # The BL API extension and the CSV export carry the same figures.
    body = await (await bl.get("/verification/evening")).json()
    r1_json = next(r for r in body["rows"] if r["resource"] == "r1")
    assert (r1_json["deliveredKWh"], r1_json["incentive"], r1_json["status"]) == (2.0, 0.6, "late reports")
    csv_text = await (await bl.get("/verification/evening", params={"format": "csv"})).text()
    assert csv_text == to_csv(found)
    assert "resource,feeder-12,house-c,r3,2.0,0.0,0.0,0.0,,,2,0,no reports\n" in csv_text
    assert (await bl.get("/verification/nope")).status == 404
