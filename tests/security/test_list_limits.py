"""Big reports cannot blow up list answers: a byte budget per answer, and per-VEN report quotas."""

from __future__ import annotations

from typing import Any

from support.api_data import create, event, ok_json, problem, program, report
from support.configured import configured
from support.harness import Api

from shared.enums import Role

PAD = "x" * 4000  # one report's document is a little over 4 KB


async def _event(bl: Api) -> str:
    prog = await create(bl, "/programs", program("p"))
    return str((await create(bl, "/events", event(prog["id"])))["id"])


def _big(event_id: str, n: int) -> dict[str, Any]:
    return report(event_id, client_name=f"gw-{n}-{PAD}"[:128], reportName=PAD)


async def test_list_answer_stops_at_the_byte_budget_and_pages_on(db_url: str) -> None:
    async with configured(db_url, list_max_bytes=10_000) as vtn:
        bl = await vtn.login("bl", Role.BL)
        ven = await vtn.login("ven", Role.VEN)
        event_id = await _event(bl)
        made = [(await create(ven, "/reports", _big(event_id, n)))["id"] for n in range(5)]
        first = await ok_json(await ven.get("/reports"))
        # 0 + 4k, 4k + 4k, 8k + 4k: the third starts under the budget, the fourth would not.
        assert [r["id"] for r in first] == made[:3]
        rest = await ok_json(await ven.get("/reports", params={"skip": "3"}))
        assert [r["id"] for r in rest] == made[3:]
        # One object over the budget on its own is still answered (paging must move on).
        one = await ok_json(await ven.get("/reports", params={"skip": "4", "limit": "1"}))
        assert [r["id"] for r in one] == made[4:]
        # 3.0.1 lists page the same way.
        old = await ok_json(
            await vtn.client.get("/openadr3/3.0.1/reports", headers={"Authorization": f"Bearer {ven.token}"})
        )
        assert [r["id"] for r in old] == made[:3]


async def test_report_quotas_per_ven(db_url: str) -> None:
    async with configured(db_url, ven_max_reports=2, ven_max_report_bytes=0) as vtn:
        bl = await vtn.login("bl", Role.BL)
        ven = await vtn.login("ven", Role.VEN)
        other = await vtn.login("ven-2", Role.VEN)
        event_id = await _event(bl)
        kept = [await create(ven, "/reports", report(event_id)) for _ in range(2)]
        doc = await problem(await ven.post("/reports", json=report(event_id)), 403)
        assert doc["title"] == "Quota Exceeded" and "2 of 2 reports" in doc["detail"]
        # Another VEN has its own quota; BL has none.
        await create(other, "/reports", report(event_id))
        await ok_json(await ven.delete(f"/reports/{kept[0]['id']}"))
        await create(ven, "/reports", report(event_id))
        for _ in range(3):
            await create(bl, "/reports", report(event_id))


async def test_report_byte_quota_per_ven(db_url: str) -> None:
    async with configured(db_url, ven_max_reports=0, ven_max_report_bytes=9_000) as vtn:
        bl = await vtn.login("bl", Role.BL)
        ven = await vtn.login("ven", Role.VEN)
        event_id = await _event(bl)
        await create(ven, "/reports", _big(event_id, 1))
        await create(ven, "/reports", _big(event_id, 2))
        doc = await problem(await ven.post("/reports", json=_big(event_id, 3)), 403)
        assert "bytes stored for this client" in doc["detail"]
        # 3.0.1 writes count against the same quota.
        old = {"programID": "x", "eventID": event_id, "clientName": "c", "reportName": PAD, "resources": []}
        resp = await vtn.client.post(
            "/openadr3/3.0.1/reports",
            json=old,
            headers={"Authorization": f"Bearer {ven.token}"},
        )
        assert resp.status == 403, await resp.text()
