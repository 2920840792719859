"""3.x check of the report round trip: a VEN reports on an event; BL reads it; update; delete."""

from __future__ import annotations

from typing import Any

from ven.check.ctx3 import Ctx3, visible_event
from ven.check.http3 import expect_list, expect_object
from ven.check.model import Fail, Skip
from ven.check.runner import Check


def _values(doc: dict[str, Any]) -> list[Any]:
    try:
        return list(doc["resources"][0]["intervals"][0]["payloads"][0]["values"])
    except (KeyError, IndexError, TypeError):
        return []


async def roundtrip(ctx: Ctx3) -> str:
    event = await visible_event(ctx)
    client_name = ctx.name("reporter")
    report = await ctx.create(ctx.ven, "/reports", ctx.dialect.report(event, client_name, 1.5), "report")
    ctx.remember("report", report)
    rid = report["id"]
    if report.get("eventID") != event["id"] or _values(report) != [1.5]:
        raise Fail(f"POST /reports: the stored report differs from the one sent ({_values(report)})")
    if ctx.dialect.is_310 and report.get("clientID") in (None, ""):
        raise Fail("POST /reports: the VTN did not write the VEN's clientID into the report")
    got = expect_object(await ctx.ven.get(f"/reports/{rid}"), 200)
    ctx.shape("report", got, f"GET /reports/{rid}")
    answer = await ctx.ven.put(f"/reports/{rid}", ctx.dialect.report(event, client_name, 2.5))
    updated = expect_object(answer, 200)
    ctx.shape("report", updated, answer.what)
    if updated["id"] != rid or _values(updated) != [2.5]:
        raise Fail(f"{answer.what}: the update was not applied ({_values(updated)})")
    seen_by = "the VEN"
    if ctx.bl_client is not None:
        listed = expect_list(await ctx.bl.get("/reports", [("eventID", event["id"])]))
        mine = [r for r in listed if r.get("id") == rid]
        if not mine or _values(mine[0]) != [2.5]:
            raise Fail(f"GET /reports?eventID={event['id']} as BL does not show the updated report {rid}")
        seen_by = "the VEN and BL"
    return f"report {rid}: created (201), read, updated (200) and read back by {seen_by}"


async def delete(ctx: Ctx3) -> str:
    report = ctx.made("report")
    if report is None:
        raise Skip("no report was created (see reports.roundtrip)")
    answer = await ctx.ven.delete(f"/reports/{report['id']}")
    expect_object(answer, 200)
    gone = await ctx.ven.get(f"/reports/{report['id']}")
    if gone.status != 404:
        raise Fail(f"GET /reports/{report['id']} after DELETE answered {gone.status}, expected 404")
    return "DELETE /reports/{id}: 200 with the report, then 404"


CHECKS: tuple[Check[Ctx3], ...] = (
    Check(
        "reports.roundtrip",
        "report round trip",
        "User Guide, 7.5 Report Management; createReport, updateReport, searchAllReports",
        roundtrip,
    ),
)
CHECKS_LAST: tuple[Check[Ctx3], ...] = (
    Check(
        "reports.delete",
        "VEN deletes its report",
        "deleteReport; Definition, Response Codes and Errors",
        delete,
    ),
)
