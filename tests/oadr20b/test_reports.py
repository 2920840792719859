"""EiReport: metadata registration, requests, data updates landing as 3.1 reports, cancellation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from support.oadr20b import SIDE_TABLES, Lab, bl_ven, register

from shared.oadr20b import messages as m
from shared.oadr20b.parts import (
    EiResponse,
    ItemBase,
    PowerAttributes,
    Report,
    ReportDescription,
    ReportInterval,
    ReportPayload,
    SamplingRate,
    Target,
)
from vtn.oadr20b import reports

NOW = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
POWER = ItemBase(
    kind="power:powerReal",
    description="RealPower",
    units="W",
    power=PowerAttributes(hertz=50, voltage=230, ac=True),
)


def metadata() -> Report:
    return Report(
        report_specifier_id="spec-1",
        report_request_id="0",
        report_name="METADATA_TELEMETRY_USAGE",
        created_date_time=NOW,
        duration=timedelta(hours=1),
        descriptions=(
            ReportDescription(
                r_id="rid-power",
                report_type="reading",
                reading_type="Direct Read",
                report_data_source=Target(resource_ids=("meter-1",)),
                item_base=POWER,
                sampling_rate=SamplingRate(min_period=timedelta(seconds=10), max_period=timedelta(minutes=1)),
            ),
        ),
    )


def data(request_id: str, n: int, watts: float) -> Report:
    at = NOW + timedelta(seconds=10 * n)
    return Report(
        report_specifier_id="spec-1",
        report_request_id=request_id,
        report_name="TELEMETRY_USAGE",
        report_id="",
        created_date_time=at,
        dtstart=at,
        intervals=(ReportInterval(dtstart=at, payloads=(ReportPayload(r_id="rid-power", value=watts),)),),
    )


async def _registered(lab: Lab) -> tuple[str, m.RegisteredReport]:
    ven = await bl_ven(lab, "ven-a")
    await register(lab, "ven-a")
    answer = await lab.ven.send(m.RegisterReport(request_id="rr1", reports=(metadata(),), ven_id=ven["id"]))
    assert isinstance(answer, m.RegisteredReport) and answer.response.code == 200
    return ven["id"], answer


async def _bl_reports(lab: Lab) -> list[dict[str, Any]]:
    resp = await lab.bl.get("/reports", params={"clientName": "ven-a"})
    assert resp.status == 200
    found: list[dict[str, Any]] = await resp.json()
    return found


async def test_registering_telemetry_requests_it_at_the_fastest_sampling_rate(lab: Lab) -> None:
    ven_id, answer = await _registered(lab)
    (request,) = answer.requests
    assert answer.ven_id == ven_id
    assert request.report_specifier_id == "spec-1"
    assert request.granularity == request.report_back_duration == timedelta(seconds=10)
    assert [(p.r_id, p.reading_type) for p in request.payloads] == [("rid-power", "Direct Read")]


async def test_three_updates_land_as_three_3_1_reports_in_kw(lab: Lab) -> None:
    ven_id, answer = await _registered(lab)
    request_id = answer.requests[0].report_request_id
    created = await lab.ven.send(
        m.CreatedReport(response=EiResponse(request_id="rr1"), pending=(request_id,), ven_id=ven_id)
    )
    assert isinstance(created, m.Response) and created.response.code == 200
    for n, watts in enumerate((1500.0, 1600.0, 1700.0)):
        updated = await lab.ven.send(
            m.UpdateReport(request_id=f"u{n}", reports=(data(request_id, n, watts),), ven_id=ven_id)
        )
        assert (
            isinstance(updated, m.UpdatedReport) and updated.response.code == 200 and updated.cancel is None
        )
    # A resent update is stored once.
    await lab.ven.send(
        m.UpdateReport(request_id="u-again", reports=(data(request_id, 2, 1700.0),), ven_id=ven_id)
    )
    found = await _bl_reports(lab)
    assert len(found) == 3
    values = sorted(r["resources"][0]["intervals"][0]["payloads"][0]["values"][0] for r in found)
    assert values == [1.5, 1.6, 1.7]
    first = found[0]
    assert first["clientName"] == "ven-a" and first["reportName"] == "TELEMETRY_USAGE"
    assert first["eventID"] == reports.TELEMETRY_EVENT_ID
    assert first["resources"][0]["resourceName"] == "meter-1"
    assert first["payloadDescriptors"] == [
        {
            "objectType": "REPORT_PAYLOAD_DESCRIPTOR",
            "payloadType": "DEMAND",
            "readingType": "DIRECT_READ",
            "units": "KW",
        }
    ]


async def test_update_for_an_unknown_request_gets_452_and_writes_nothing(lab: Lab) -> None:
    ven_id, _ = await _registered(lab)
    before = await lab.count("reports", *SIDE_TABLES)
    updated = await lab.ven.send(
        m.UpdateReport(request_id="u9", reports=(data("nope", 0, 1.0),), ven_id=ven_id)
    )
    assert isinstance(updated, m.UpdatedReport)
    assert (updated.response.code, updated.response.request_id) == (452, "u9")
    assert await lab.count("reports", *SIDE_TABLES) == before


async def test_vtn_cancels_a_report_through_poll_and_in_the_next_update_answer(lab: Lab) -> None:
    ven_id, answer = await _registered(lab)
    request_id = answer.requests[0].report_request_id
    await lab.service.run(lambda ctx: reports.cancel_report_request(ctx, ven_id, request_id))
    polled = await lab.ven.send(m.Poll(ven_id=ven_id))
    assert isinstance(polled, m.CancelReport) and polled.report_request_ids == (request_id,)
    updated = await lab.ven.send(
        m.UpdateReport(request_id="u1", reports=(data(request_id, 0, 1.0),), ven_id=ven_id)
    )
    assert isinstance(updated, m.UpdatedReport) and updated.cancel is not None
    assert updated.cancel.report_request_ids == (request_id,)
    canceled = await lab.ven.send(
        m.CanceledReport(response=EiResponse(request_id=polled.request_id), pending=(), ven_id=ven_id)
    )
    assert isinstance(canceled, m.Response) and canceled.response.code == 200
    assert await _bl_reports(lab) == []


async def test_vtn_requests_a_registered_report_with_create_report_by_poll(lab: Lab) -> None:
    ven_id, _ = await _registered(lab)
    request_id = await lab.service.run(lambda ctx: reports.request_report(ctx, ven_id, "spec-1"))
    polled = await lab.ven.send(m.Poll(ven_id=ven_id))
    assert isinstance(polled, m.CreateReport)
    assert [r.report_request_id for r in polled.requests] == [request_id]


async def test_ven_cancels_one_of_our_requests(lab: Lab) -> None:
    ven_id, answer = await _registered(lab)
    request_id = answer.requests[0].report_request_id
    canceled = await lab.ven.send(
        m.CancelReport(
            request_id="c1", report_request_ids=(request_id,), report_to_follow=False, ven_id=ven_id
        )
    )
    assert isinstance(canceled, m.CanceledReport) and canceled.response.code == 200
    unknown = await lab.ven.send(
        m.CancelReport(request_id="c2", report_request_ids=("nope",), report_to_follow=False, ven_id=ven_id)
    )
    assert isinstance(unknown, m.CanceledReport) and unknown.response.code == 452
